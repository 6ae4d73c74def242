/*
 * jw: a small streaming JSON writer over struct buf.
 *
 * Google's APIs pretty-print their answers unless asked not to
 * (?prettyPrint=false): two spaces a level, "key": value, one member a
 * line. jw writes either form. Errors (memory) stick in err; jw_end()
 * adds the final newline of a pretty answer.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "twsim.h"

#define JW_MAXDEPTH 62

void
jw_init(struct jw *j, struct buf *b, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->b = b;
	j->pretty = pretty;
}

static void
jw_put(struct jw *j, const char *s, size_t n)
{
	if (buf_append(j->b, s, n) == -1)
		j->err = -1;
}

static void
jw_newline(struct jw *j, int depth)
{
	static const char spaces[] = "                                ";

	jw_put(j, "\n", 1);
	for (int n = depth * 2; n > 0; n -= 32)
		jw_put(j, spaces, n < 32 ? (size_t)n : 32);
}

/* Before a value or a key: the comma and the line break. */
static void
jw_sep(struct jw *j)
{
	if (j->key) {
		j->key = false;
		return;
	}
	if (j->comma)
		jw_put(j, ",", 1);
	if (j->pretty && j->depth > 0)
		jw_newline(j, j->depth);
	j->comma = true;
}

static void
jw_open(struct jw *j, char c)
{
	jw_sep(j);
	jw_put(j, &c, 1);
	if (j->depth < JW_MAXDEPTH)
		j->depth++;
	else
		j->err = -1;
	j->comma = false;
}

static void
jw_close(struct jw *j, char c)
{
	bool had = j->comma;

	j->depth--;
	if (j->pretty && had)
		jw_newline(j, j->depth);
	jw_put(j, &c, 1);
	j->comma = true;
}

void
jw_obj(struct jw *j)
{
	jw_open(j, '{');
}

void
jw_obj_end(struct jw *j)
{
	jw_close(j, '}');
}

void
jw_arr(struct jw *j)
{
	jw_open(j, '[');
}

void
jw_arr_end(struct jw *j)
{
	jw_close(j, ']');
}

static void
jw_quoted(struct jw *j, const char *s)
{
	jw_put(j, "\"", 1);
	if (buf_json_escape(j->b, s) == -1)
		j->err = -1;
	jw_put(j, "\"", 1);
}

void
jw_key(struct jw *j, const char *k)
{
	jw_sep(j);
	jw_quoted(j, k);
	jw_put(j, j->pretty ? ": " : ":", j->pretty ? 2 : 1);
	j->key = true;
}

void
jw_str(struct jw *j, const char *s)
{
	jw_sep(j);
	jw_quoted(j, s);
}

void
jw_raw(struct jw *j, const char *s)
{
	jw_sep(j);
	jw_put(j, s, strlen(s));
}

void
jw_int(struct jw *j, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	jw_raw(j, num);
}

void
jw_double(struct jw *j, double v)
{
	char num[32];

	jw_format_double(v, num, sizeof(num));
	jw_raw(j, num);
}

void
jw_bool(struct jw *j, bool v)
{
	jw_raw(j, v ? "true" : "false");
}

void
jw_null(struct jw *j)
{
	jw_raw(j, "null");
}

void
jw_kstr(struct jw *j, const char *k, const char *v)
{
	jw_key(j, k);
	jw_str(j, v);
}

void
jw_kint(struct jw *j, const char *k, int64_t v)
{
	jw_key(j, k);
	jw_int(j, v);
}

void
jw_end(struct jw *j)
{
	if (j->pretty)
		jw_put(j, "\n", 1);
}

/*
 * A double as Firestore prints one: 17 significant digits, so a value
 * that went through float32 shows its noise (225.10000610351562).
 * Whole numbers print without a fraction. Not finite: null.
 */
void
jw_format_double(double v, char *out, size_t len)
{
	if (!isfinite(v))
		snprintf(out, len, "null");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(out, len, "%.0f", v);
	else
		snprintf(out, len, "%.17g", v);
}

/*
 * Unix nanoseconds as RFC 3339 UTC with 3, 6 or 9 fraction digits
 * ("2026-01-02T03:04:05.123456Z"), the precisions Firestore sends.
 */
void
jw_format_time(int64_t ns, int digits, char *out, size_t len)
{
	int64_t s = ns / NS_PER_S, frac = ns % NS_PER_S;
	time_t t;
	struct tm tm;
	char date[32];

	if (frac < 0) {
		frac += NS_PER_S;
		s--;
	}
	t = (time_t)s;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	switch (digits) {
	case 9:
		snprintf(out, len, "%s.%09" PRId64 "Z", date, frac);
		break;
	case 6:
		snprintf(out, len, "%s.%06" PRId64 "Z", date, frac / 1000);
		break;
	default:
		snprintf(out, len, "%s.%03" PRId64 "Z", date, frac / 1000000);
		break;
	}
}
