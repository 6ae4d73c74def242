/*
 * influx_answer: the JSON answer of InfluxDB's /query, walked once, in
 * place, without building a tree.
 *
 *	{"results": [{"statement_id": 0, "series": [{"name": ...,
 *	  "tags": {...}, "columns": [...], "values": [[...], ...]}],
 *	  "error": "..."}], "error": "..."}
 *
 * For every row of every series the caller's function gets the cells of
 * the columns it asked for by name (or the series' tag of that name
 * when there is no such column), as struct iql_cell: a number, a string
 * (decoded in place in the answer's buffer and NUL-terminated there, so
 * it lives as long as the buffer: the walk reads each part of the text
 * once, except the values of a series that come before its columns,
 * which it first passes over without decoding), a boolean or null. A day of points is
 * 20,000 cells; a tree of cJSON nodes for them cost more than the rest
 * of a history request together.
 *
 * Errors InfluxDB reports (at the top or per statement) are handed back
 * to the caller (iql_walk's err), the first one only. Members of any
 * other name are skipped, nesting at most IQL_DEPTH_MAX deep; anything
 * that is not JSON fails the walk.
 *
 * Numbers with no exponent and either no decimals and at most 18
 * digits (all of InfluxDB's times) or a mantissa below 2^53 (nearly all
 * values) are read exactly without strtod; the others go through
 * strtod.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define IQL_DEPTH_MAX	32
#define IQL_COLS_MAX	32
#define IQL_TAGS_MAX	16

struct walk {
	char		*p, *end;
	const char *const *want;
	size_t		 nwant;
	iql_row_fn	 fn;
	void		*arg;
	int		 statement;
	int		 stop;		/* what fn returned, when not 0 */
	const char	*error;		/* the first error InfluxDB reported */
	const char	*why;		/* why the text is not what we read */
};

static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
	1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18 };

static void
ws(struct walk *w)
{
	while (w->p < w->end && (*w->p == ' ' || *w->p == '\n' ||
	    *w->p == '\r' || *w->p == '\t'))
		w->p++;
}

static int
fail(struct walk *w, const char *why)
{
	if (w->why == NULL)
		w->why = why;
	return -1;
}

static bool
eat(struct walk *w, char c)
{
	ws(w);
	if (w->p < w->end && *w->p == c) {
		w->p++;
		return true;
	}
	return false;
}

static int
hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

static char *
utf8_put(char *o, unsigned cp)
{
	if (cp < 0x80)
		*o++ = (char)cp;
	else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* A string, decoded in place and NUL-terminated; *s its start. */
static int
string(struct walk *w, const char **s)
{
	char *o;
	unsigned cp, lo;

	if (!eat(w, '"'))
		return fail(w, "a string was expected");
	*s = o = w->p;
	while (w->p < w->end && *w->p != '"') {
		if ((unsigned char)*w->p < 0x20)
			return fail(w, "a control character in a string");
		if (*w->p != '\\') {
			*o++ = *w->p++;
			continue;
		}
		if (++w->p >= w->end)
			break;
		switch (*w->p++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (w->end - w->p < 4 || hex4(w->p, &cp) == -1)
				return fail(w, "a bad \\u escape");
			w->p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && w->end - w->p >= 6 &&
			    w->p[0] == '\\' && w->p[1] == 'u' &&
			    hex4(w->p + 2, &lo) == 0 && lo >= 0xdc00 &&
			    lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				w->p += 6;
			}
			if (cp == 0 || (cp >= 0xd800 && cp < 0xe000))
				cp = 0xfffd;	/* NUL, lone surrogate */
			o = utf8_put(o, cp);
			break;
		default:
			return fail(w, "a bad escape");
		}
	}
	if (w->p >= w->end)
		return fail(w, "a string does not end");
	w->p++;			/* the closing quote */
	*o = '\0';		/* o <= the quote: in place */
	return 0;
}

static int
number(struct walk *w, double *v)
{
	char *start = w->p, tmp[64], *end;
	uint64_t m = 0;
	int ndig = 0, frac = 0, all = 0;
	bool neg = false, simple = true, dot = false;

	if (w->p < w->end && *w->p == '-') {
		neg = true;
		w->p++;
	}
	for (; w->p < w->end; w->p++) {
		char c = *w->p;

		if (c >= '0' && c <= '9') {
			all++;
			if (m == 0 && c == '0') {
				frac += dot;	/* a leading zero */
				continue;
			}
			if (ndig == 18) {
				simple = false;	/* more than exact: strtod */
				continue;
			}
			m = m * 10 + (uint64_t)(c - '0');
			ndig++;
			frac += dot;
		} else if (c == '.' && !dot)
			dot = true;
		else if (c == 'e' || c == 'E' || c == '+' || c == '-')
			simple = false;
		else
			break;
	}
	if (all == 0)
		return fail(w, "a number was expected");
	/*
	 * m / 10^frac rounds once, exactly as strtod, only when m itself
	 * is held exactly: a longer mantissa with decimals would round
	 * twice, one unit in the last place off about one time in ten.
	 */
	if (simple && (frac == 0 || m <= UINT64_C(1) << 53) &&
	    frac < (int)ARRAY_LEN(pow10)) {
		*v = (double)m / pow10[frac];
		if (neg)
			*v = -*v;
		return 0;
	}
	if ((size_t)(w->p - start) >= sizeof(tmp))
		return fail(w, "a number too long");
	memcpy(tmp, start, (size_t)(w->p - start));
	tmp[w->p - start] = '\0';
	errno = 0;
	*v = strtod(tmp, &end);
	if (*end != '\0')
		return fail(w, "a bad number");
	return 0;
}

static int skip(struct walk *, int);

/* A string passed over, the text left as it is (it may be read again). */
static int
skip_string(struct walk *w)
{
	if (!eat(w, '"'))
		return fail(w, "a string was expected");
	while (w->p < w->end && *w->p != '"') {
		if ((unsigned char)*w->p < 0x20)
			return fail(w, "a control character in a string");
		if (*w->p == '\\')
			w->p++;
		w->p++;
	}
	if (w->p >= w->end)
		return fail(w, "a string does not end");
	w->p++;
	return 0;
}

static int
literal(struct walk *w, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(w->end - w->p) < n || memcmp(w->p, word, n) != 0)
		return fail(w, "an unknown literal");
	w->p += n;
	return 0;
}

/* A scalar into a cell; arrays and objects are skipped as null. */
static int
cell(struct walk *w, struct iql_cell *c, int depth)
{
	ws(w);
	if (w->p >= w->end)
		return fail(w, "the answer ends early");
	c->str = NULL;
	c->num = 0;
	switch (*w->p) {
	case '"':
		c->type = IQL_STR;
		return string(w, &c->str);
	case 't':
		c->type = IQL_BOOL;
		c->num = 1;
		return literal(w, "true");
	case 'f':
		c->type = IQL_BOOL;
		return literal(w, "false");
	case 'n':
		c->type = IQL_NULL;
		return literal(w, "null");
	case '[':
	case '{':
		c->type = IQL_NULL;
		return skip(w, depth);
	default:
		c->type = IQL_NUM;
		return number(w, &c->num);
	}
}

/*
 * Any value, passed over without changing the text: the values of a
 * series are passed over once, then read.
 */
static int
skip(struct walk *w, int depth)
{
	char close, *start;

	ws(w);
	if (w->p >= w->end)
		return fail(w, "the answer ends early");
	switch (*w->p) {
	case '"':
		return skip_string(w);
	case 't':
		return literal(w, "true");
	case 'f':
		return literal(w, "false");
	case 'n':
		return literal(w, "null");
	case '[':
	case '{':
		break;
	default:
		for (start = w->p; w->p < w->end && strchr("0123456789.eE+-",
		    *w->p) != NULL; w->p++)
			;
		return w->p > start ? 0 : fail(w, "a value was expected");
	}
	if (depth >= IQL_DEPTH_MAX)
		return fail(w, "nested too deep");
	close = *w->p == '[' ? ']' : '}';
	w->p++;
	if (eat(w, close))
		return 0;
	do {
		if (close == '}' && (skip_string(w) == -1 || !eat(w, ':')))
			return fail(w, "a member was expected");
		if (skip(w, depth + 1) == -1)
			return -1;
	} while (eat(w, ','));
	return eat(w, close) ? 0 : fail(w, "a list does not end");
}

struct series {
	const char	*col[IQL_COLS_MAX];
	size_t		 ncols;
	const char	*tagk[IQL_TAGS_MAX], *tagv[IQL_TAGS_MAX];
	size_t		 ntags;
	char		*values;	/* where "values" began */
};

static int
strings(struct walk *w, const char **out, size_t max, size_t *n)
{
	*n = 0;
	if (!eat(w, '['))
		return fail(w, "a list was expected");
	if (eat(w, ']'))
		return 0;
	do {
		const char *s;

		if (string(w, &s) == -1)
			return -1;
		if (*n < max)
			out[(*n)++] = s;
	} while (eat(w, ','));
	return eat(w, ']') ? 0 : fail(w, "a list does not end");
}

static int
tags(struct walk *w, struct series *s)
{
	s->ntags = 0;
	if (!eat(w, '{'))
		return fail(w, "tags: an object was expected");
	if (eat(w, '}'))
		return 0;
	do {
		const char *k, *v;

		if (string(w, &k) == -1 || !eat(w, ':') || string(w, &v) == -1)
			return fail(w, "tags: a string was expected");
		if (s->ntags < IQL_TAGS_MAX) {
			s->tagk[s->ntags] = k;
			s->tagv[s->ntags++] = v;
		}
	} while (eat(w, ','));
	return eat(w, '}') ? 0 : fail(w, "tags: the object does not end");
}

/* The rows of a series, now that its columns and tags are known. */
static int
rows(struct walk *w, const struct series *s)
{
	struct iql_cell cells[IQL_COLS_MAX], tagcell[IQL_ROW_MAX];
	struct iql_row row;
	int map[IQL_ROW_MAX];

	memset(&row, 0, sizeof(row));
	row.statement = w->statement;
	row.ncells = w->nwant;
	for (size_t i = 0; i < w->nwant; i++) {
		map[i] = -1;
		for (size_t j = 0; j < s->ncols; j++)
			if (strcmp(s->col[j], w->want[i]) == 0)
				map[i] = (int)j;
		tagcell[i].type = IQL_NULL;
		tagcell[i].str = NULL;
		for (size_t j = 0; map[i] == -1 && j < s->ntags; j++) {
			if (strcmp(s->tagk[j], w->want[i]) == 0) {
				tagcell[i].type = IQL_STR;
				tagcell[i].str = s->tagv[j];
			}
		}
	}
	if (!eat(w, '['))
		return fail(w, "values: a list was expected");
	if (eat(w, ']'))
		return 0;
	do {
		size_t n = 0;

		if (!eat(w, '['))
			return fail(w, "values: a row was expected");
		if (!eat(w, ']')) {
			do {
				struct iql_cell dummy;

				if (cell(w, n < IQL_COLS_MAX ? &cells[n] :
				    &dummy, 2) == -1)
					return -1;
				n++;
			} while (eat(w, ','));
			if (!eat(w, ']'))
				return fail(w, "values: a row does not end");
		}
		for (size_t i = 0; i < w->nwant; i++) {
			if (map[i] >= 0)
				row.cells[i] = (size_t)map[i] < n ?
				    &cells[map[i]] : NULL;
			else
				row.cells[i] = tagcell[i].str ? &tagcell[i] :
				    NULL;
		}
		if (w->fn != NULL && w->stop == 0 &&
		    (w->stop = w->fn(&row, w->arg)) < 0)
			return -1;
	} while (eat(w, ','));
	return eat(w, ']') ? 0 : fail(w, "values: the list does not end");
}

static int
series(struct walk *w)
{
	struct series s;
	const char *key;
	char *after;

	memset(&s, 0, sizeof(s));
	if (!eat(w, '{'))
		return fail(w, "a series was expected");
	if (!eat(w, '}')) {
		do {
			if (string(w, &key) == -1 || !eat(w, ':'))
				return fail(w, "a member was expected");
			if (strcmp(key, "columns") == 0) {
				if (strings(w, s.col, IQL_COLS_MAX, &s.ncols) ==
				    -1)
					return -1;
			} else if (strcmp(key, "tags") == 0) {
				if (tags(w, &s) == -1)
					return -1;
			} else if (strcmp(key, "values") == 0 && s.ncols > 0) {
				/* Columns first, as InfluxDB writes them. */
				if (rows(w, &s) == -1)
					return -1;
			} else if (strcmp(key, "values") == 0) {
				/* Read once columns and tags are known. */
				ws(w);
				s.values = w->p;
				if (skip(w, 2) == -1)
					return -1;
			} else if (skip(w, 2) == -1)
				return -1;
		} while (eat(w, ','));
		if (!eat(w, '}'))
			return fail(w, "a series does not end");
	}
	if (s.values == NULL)
		return 0;
	after = w->p;
	w->p = s.values;
	if (rows(w, &s) == -1)
		return -1;
	w->p = after;
	return 0;
}

static int
result(struct walk *w)
{
	const char *key, *e;

	if (!eat(w, '{'))
		return fail(w, "a result was expected");
	if (eat(w, '}'))
		return 0;
	do {
		if (string(w, &key) == -1 || !eat(w, ':'))
			return fail(w, "a member was expected");
		if (strcmp(key, "series") == 0) {
			if (!eat(w, '['))
				return fail(w, "series: a list was expected");
			if (!eat(w, ']')) {
				do {
					if (series(w) == -1)
						return -1;
				} while (eat(w, ','));
				if (!eat(w, ']'))
					return fail(w, "series: the list does "
					    "not end");
			}
		} else if (strcmp(key, "error") == 0) {
			if (string(w, &e) == -1)
				return -1;
			if (w->error == NULL)
				w->error = e;
		} else if (skip(w, 2) == -1)
			return -1;
	} while (eat(w, ','));
	return eat(w, '}') ? 0 : fail(w, "a result does not end");
}

/*
 * Walks the answer in b (modified: strings are decoded in place). 0 when
 * it is well formed, with *err the first error InfluxDB reported (or
 * NULL); -1 when it is not JSON of that shape (*why says what), or fn
 * returned a negative value. fn returning a positive value stops the
 * calls, not the walk.
 */
int
iql_walk(struct buf *b, const char *const *want, size_t nwant,
    iql_row_fn fn, void *arg, const char **err, const char **why)
{
	struct walk w;
	const char *key, *e;

	memset(&w, 0, sizeof(w));
	*err = NULL;
	*why = NULL;
	if (nwant > IQL_ROW_MAX) {
		*why = "too many columns asked";
		return -1;
	}
	w.p = b->data;
	w.end = b->data + b->len;
	w.want = want;
	w.nwant = nwant;
	w.fn = fn;
	w.arg = arg;
	if (b->data == NULL || !eat(&w, '{'))
		goto bad;
	if (!eat(&w, '}')) {
		do {
			if (string(&w, &key) == -1 || !eat(&w, ':'))
				goto bad;
			if (strcmp(key, "results") == 0) {
				if (!eat(&w, '['))
					goto bad;
				if (!eat(&w, ']')) {
					do {
						if (result(&w) == -1)
							goto bad;
						w.statement++;
					} while (eat(&w, ','));
					if (!eat(&w, ']'))
						goto bad;
				}
			} else if (strcmp(key, "error") == 0) {
				if (string(&w, &e) == -1)
					goto bad;
				if (w.error == NULL)
					w.error = e;
			} else if (skip(&w, 1) == -1)
				goto bad;
		} while (eat(&w, ','));
		if (!eat(&w, '}'))
			goto bad;
	}
	ws(&w);
	if (w.p != w.end && w.why == NULL)
		w.why = "text after the answer";
	if (w.why != NULL)
		goto bad;
	*err = w.error;
	return 0;
bad:
	*why = w.why ? w.why : w.stop < 0 ? "out of memory" :
	    "not the JSON of a query answer";
	return -1;
}

bool
iql_num(const struct iql_cell *c, double *v)
{
	if (c == NULL || c->type != IQL_NUM || !isfinite(c->num))
		return false;
	*v = c->num;
	return true;
}

/*
 * InfluxDB's times are int64_t nanoseconds (1677 to 2262): in the
 * microseconds the queries ask for (epoch=u), under 9.2e15 either way, so
 * that every time taken here is one util_time_put() can write (us * 1000).
 */
bool
iql_time_us(const struct iql_cell *c, int64_t *us)
{
	if (c == NULL || c->type != IQL_NUM || !(fabs(c->num) < 9.2e15))
		return false;
	*us = (int64_t)c->num;
	return true;
}

const char *
iql_str(const struct iql_cell *c)
{
	return c != NULL && c->type == IQL_STR ? c->str : NULL;
}
