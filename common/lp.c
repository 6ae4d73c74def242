/*
 * lp: the InfluxDB 1.x line protocol encoder. See lp.h for the rules;
 * tests/unit/test_lp.c holds a golden line for each of them.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp.h"
#include "reading.h"

enum lp_state { LP_S_TAGS, LP_S_FIELDS, LP_S_DONE };
enum lp_elem { LP_E_MEASUREMENT, LP_E_TAGKEY, LP_E_TAGVAL, LP_E_FIELDKEY };

static const char *const elem_names[] = {
	"measurement", "tag key", "tag value", "field key",
};

static void
lp_rollback(struct lp *lp)
{
	if (lp->state == LP_S_DONE)
		return;
	lp->b->len = lp->start;
	if (lp->b->data != NULL)
		lp->b->data[lp->start] = '\0';
	lp->state = LP_S_DONE;
}

/* Records the first error and rolls the line back. */
static int __attribute__((format(printf, 2, 3)))
lp_fail(struct lp *lp, const char *fmt, ...)
{
	va_list ap;

	if (lp->err != 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(lp->errstr, sizeof(lp->errstr), fmt, ap);
	va_end(ap);
	lp->err = -1;
	lp_rollback(lp);
	return -1;
}

/* The current length of the line, as a 32-bit offset. */
static int
lp_mark(struct lp *lp, uint32_t *off)
{
	size_t n = lp->b->len - lp->start;

	if (n > UINT32_MAX - 1)
		return lp_fail(lp, "line too long");
	*off = (uint32_t)n;
	return 0;
}

static int
lp_putc(struct lp *lp, char c)
{
	if (buf_putc(lp->b, c) == -1)
		return lp_fail(lp, "out of memory");
	return 0;
}

/* Checks a name or tag value against what InfluxDB reads back exactly. */
static int
lp_check_name(struct lp *lp, const char *s, enum lp_elem kind)
{
	const char *what = elem_names[kind];
	const unsigned char *p;
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0)
		return lp_fail(lp, "empty %s", what);
	if (!util_utf8_valid(s, n))
		return lp_fail(lp, "%s is not valid UTF-8", what);
	if (kind == LP_E_MEASUREMENT && s[0] == '#')
		return lp_fail(lp, "measurement starts with '#' (a comment)");
	if ((kind == LP_E_TAGKEY || kind == LP_E_FIELDKEY) &&
	    strcmp(s, "time") == 0)
		return lp_fail(lp, "%s \"time\" is reserved by InfluxDB", what);
	if (s[n - 1] == '\\')
		return lp_fail(lp, "%s ends with a backslash", what);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return lp_fail(lp, "control character in %s", what);
		if (*p == '\\' &&
		    (kind == LP_E_MEASUREMENT || kind == LP_E_FIELDKEY) &&
		    (p[1] == ',' || p[1] == ' ' || p[1] == '=' || p[1] == '"'))
			return lp_fail(lp, "backslash before '%c' in %s cannot "
			    "be read back", p[1], what);
	}
	return 0;
}

/* Appends a checked name with its element's escapes. */
static int
lp_put_name(struct lp *lp, const char *s, enum lp_elem kind)
{
	struct buf *b = lp->b;
	size_t n = strlen(s);
	char *w;

	if (buf_reserve(b, 2 * n) == -1)
		return lp_fail(lp, "out of memory");
	w = b->data + b->len;
	for (; *s != '\0'; s++) {
		if (*s == ',' || *s == ' ' ||
		    (*s == '=' && kind != LP_E_MEASUREMENT))
			*w++ = '\\';
		*w++ = *s;
	}
	b->len = (size_t)(w - b->data);
	b->data[b->len] = '\0';
	return 0;
}

static int
lp_key_cmp(const struct lp *lp, uint32_t a_off, uint32_t a_len,
    uint32_t b_off, uint32_t b_len)
{
	const char *base = lp->b->data + lp->start;
	uint32_t n = a_len < b_len ? a_len : b_len;
	int c = memcmp(base + a_off, base + b_off, n);

	if (c != 0)
		return c;
	return a_len < b_len ? -1 : a_len > b_len;
}

static uint32_t
lp_tag_len(const struct lp *lp, uint32_t i)
{
	return (i + 1 < lp->ntags ? lp->tag[i + 1] : lp->key_end) - lp->tag[i];
}

/*
 * Sorts the tags written so far by escaped key (an insertion sort of at
 * most LP_TAGS_MAX indices) and refuses duplicates. When the order
 * changes, the tags are rebuilt in the buffer's spare room and copied
 * back, so no other allocation is needed.
 */
static int
lp_close_tags(struct lp *lp)
{
	uint8_t idx[LP_TAGS_MAX];
	uint32_t tag[LP_TAGS_MAX], key[LP_TAGS_MAX];
	uint32_t i, j, w, region;
	bool moved = false;
	char *base, *scratch;

	lp->state = LP_S_FIELDS;
	for (i = 0; i < lp->ntags; i++) {
		idx[i] = (uint8_t)i;
		for (j = i; j > 0; j--) {
			uint8_t a = idx[j - 1], c = idx[j];
			int cmp = lp_key_cmp(lp, lp->tag[a] + 1,
			    lp->tagkey[a] - 1, lp->tag[c] + 1,
			    lp->tagkey[c] - 1);

			if (cmp == 0)
				return lp_fail(lp, "duplicate tag key");
			if (cmp < 0)
				break;
			idx[j - 1] = c;
			idx[j] = a;
			moved = true;
		}
	}
	if (!moved)
		return 0;
	region = lp->key_end - lp->tag[0];
	if (buf_reserve(lp->b, region) == -1)
		return lp_fail(lp, "out of memory");
	base = lp->b->data + lp->start;
	scratch = lp->b->data + lp->b->len;
	for (i = 0, w = 0; i < lp->ntags; i++) {
		uint32_t len = lp_tag_len(lp, idx[i]);

		memcpy(scratch + w, base + lp->tag[idx[i]], len);
		tag[i] = lp->tag[0] + w;
		key[i] = lp->tagkey[idx[i]];
		w += len;
	}
	memcpy(base + lp->tag[0], scratch, region);
	lp->b->data[lp->b->len] = '\0';
	memcpy(lp->tag, tag, sizeof(tag[0]) * lp->ntags);
	memcpy(lp->tagkey, key, sizeof(key[0]) * lp->ntags);
	return 0;
}

int
lp_begin(struct lp *lp, struct buf *b, const char *measurement)
{
	lp->b = b;
	lp->start = b->len;
	lp->state = LP_S_TAGS;
	lp->err = 0;
	lp->errstr[0] = '\0';
	lp->ntags = lp->nfields = 0;
	lp->key_end = 0;
	if (lp_check_name(lp, measurement, LP_E_MEASUREMENT) == -1 ||
	    lp_put_name(lp, measurement, LP_E_MEASUREMENT) == -1)
		return -1;
	return lp_mark(lp, &lp->key_end);
}

int
lp_tag(struct lp *lp, const char *key, const char *value)
{
	uint32_t off = 0, keyend = 0;

	if (lp->err != 0)
		return -1;
	if (lp->state != LP_S_TAGS)
		return lp_fail(lp, "tag after the first field");
	if (lp_check_name(lp, key, LP_E_TAGKEY) == -1)
		return -1;
	if (value == NULL || *value == '\0')
		return 0;	/* InfluxDB drops empty tags: so do we */
	if (lp_check_name(lp, value, LP_E_TAGVAL) == -1)
		return -1;
	if (lp->ntags == LP_TAGS_MAX)
		return lp_fail(lp, "more than %d tags", LP_TAGS_MAX);
	if (lp_mark(lp, &off) == -1 || lp_putc(lp, ',') == -1 ||
	    lp_put_name(lp, key, LP_E_TAGKEY) == -1 ||
	    lp_mark(lp, &keyend) == -1 || lp_putc(lp, '=') == -1 ||
	    lp_put_name(lp, value, LP_E_TAGVAL) == -1)
		return -1;
	lp->tag[lp->ntags] = off;
	lp->tagkey[lp->ntags] = keyend - off;
	lp->ntags++;
	return lp_mark(lp, &lp->key_end);
}

/* Writes the separator and "key=" of a field. */
static int
lp_field_key(struct lp *lp, const char *key)
{
	uint32_t off = 0, end = 0, i;

	if (lp->err != 0)
		return -1;
	if (lp->state == LP_S_DONE)
		return lp_fail(lp, "field after the end of the line");
	if (lp_check_name(lp, key, LP_E_FIELDKEY) == -1)
		return -1;
	if (lp->nfields == LP_FIELDS_MAX)
		return lp_fail(lp, "more than %d fields", LP_FIELDS_MAX);
	if (lp->state == LP_S_TAGS) {
		if (lp_close_tags(lp) == -1 || lp_putc(lp, ' ') == -1)
			return -1;
	} else if (lp_putc(lp, ',') == -1)
		return -1;
	if (lp_mark(lp, &off) == -1 ||
	    lp_put_name(lp, key, LP_E_FIELDKEY) == -1 ||
	    lp_mark(lp, &end) == -1)
		return -1;
	for (i = 0; i < lp->nfields; i++)
		if (lp_key_cmp(lp, lp->field[i], lp->fieldkey[i], off,
		    end - off) == 0)
			return lp_fail(lp, "duplicate field key \"%.40s\"",
			    key);
	if ((size_t)lp->key_end + 4 + (end - off) > LP_KEY_MAX)
		return lp_fail(lp, "series key longer than %d bytes",
		    LP_KEY_MAX);
	lp->field[lp->nfields] = off;
	lp->fieldkey[lp->nfields] = end - off;
	lp->nfields++;
	return lp_putc(lp, '=');
}

static int
lp_put(struct lp *lp, const char *s, size_t n)
{
	if (buf_append(lp->b, s, n) == -1)
		return lp_fail(lp, "out of memory");
	return 0;
}

int
lp_field_f64(struct lp *lp, const char *key, double v)
{
	char num[UTIL_F64_LEN];
	int n;

	if (lp_field_key(lp, key) == -1)
		return -1;
	if ((n = util_fmt_f64(v, num, sizeof(num))) == -1)
		return lp_fail(lp, "field \"%.40s\" is %s", key,
		    isnan(v) ? "NaN" : "infinite");
	return lp_put(lp, num, (size_t)n);
}

int
lp_field_i64(struct lp *lp, const char *key, int64_t v)
{
	char num[32];
	int n;

	if (lp_field_key(lp, key) == -1)
		return -1;
	n = util_fmt_i64(num, v);
	num[n++] = 'i';
	return lp_put(lp, num, (size_t)n);
}

int
lp_field_bool(struct lp *lp, const char *key, bool v)
{
	if (lp_field_key(lp, key) == -1)
		return -1;
	return v ? lp_put(lp, "true", 4) : lp_put(lp, "false", 5);
}

int
lp_field_str(struct lp *lp, const char *key, const char *v)
{
	struct buf *b;
	size_t n;
	char *w;

	if (lp_field_key(lp, key) == -1)
		return -1;
	if (v == NULL)
		return lp_fail(lp, "field \"%.40s\" is NULL", key);
	n = strlen(v);
	if (!util_utf8_valid(v, n))
		return lp_fail(lp, "field \"%.40s\" is not valid UTF-8", key);
	if (memchr(v, '\n', n) != NULL)
		return lp_fail(lp, "field \"%.40s\" holds a newline", key);
	b = lp->b;
	if (n > SIZE_MAX / 2 - 2 || buf_reserve(b, 2 * n + 2) == -1)
		return lp_fail(lp, "out of memory");
	w = b->data + b->len;
	*w++ = '"';
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			*w++ = '\\';
		*w++ = *v;
	}
	*w++ = '"';
	b->len = (size_t)(w - b->data);
	b->data[b->len] = '\0';
	return 0;
}

int
lp_end(struct lp *lp, int64_t ts_ns)
{
	char num[32];
	int n;

	if (lp->err != 0)
		return -1;
	if (lp->state == LP_S_DONE)
		return lp_fail(lp, "line already ended");
	if (lp->nfields == 0)
		return lp_fail(lp, "point without fields");
	if (ts_ns < LP_TIME_MIN || ts_ns > LP_TIME_MAX)
		return lp_fail(lp, "timestamp outside InfluxDB's range");
	num[0] = ' ';
	n = 1 + util_fmt_i64(num + 1, ts_ns);
	num[n++] = '\n';
	if (lp_put(lp, num, (size_t)n) == -1)
		return -1;
	lp->state = LP_S_DONE;
	return 0;
}

void
lp_abort(struct lp *lp)
{
	if (lp->err == 0)
		lp_fail(lp, "aborted");
}

int
lp_point_reading(struct lp *lp, struct buf *b, const struct reading *r,
    const char *measurement)
{
	char unit[2] = { r->unit, '\0' };

	if (lp_begin(lp, b, measurement ? measurement : "temperature") == -1)
		return -1;
	if (r->device_id[0] == '\0')
		return lp_fail(lp, "reading without device_id");
	lp_tag(lp, "device_id", r->device_id);
	lp_tag(lp, "probe_id", r->probe_id);
	lp_tag(lp, "source", r->source);
	lp_tag(lp, "unit", unit);
	if (r->has_value) {
		lp_field_f64(lp, "value", r->value);
		if (r->unit == 'H')
			lp_field_f64(lp, "humidity", r->value);
		else
			lp_field_f64(lp, "value_c", reading_canonical(r));
	}
	if (r->battery != READING_NO_BATTERY)
		lp_field_i64(lp, "battery", r->battery);
	if (r->signal != READING_NO_SIGNAL)
		lp_field_i64(lp, "signal", r->signal);
	lp_field_str(lp, "status", reading_status_name(r->status));
	lp_field_i64(lp, "flags", r->flags);
	if (r->label[0] != '\0')
		lp_field_str(lp, "label", r->label);
	return lp_end(lp, r->ts_ns);
}
