/*
 * lpcheck: tricky points for tests/integration/01-lp-roundtrip.sh.
 *
 *	lpcheck          the points as line protocol, written by lp
 *	lpcheck expect   what influxd must give back, one JSON object a
 *	                 line: {"time":"<ns>","measurement","tags","fields",
 *	                 "types"} (time as text: jq would round it)
 *	lpcheck ints     "<ns> <measurement> <field> <value>" for every
 *	                 integer field, to be compared as text (jq would
 *	                 round those too); these names have no spaces
 *
 * Every point has its own timestamp. Points made from a struct reading
 * go through lp_point_reading(); their expected tags and fields are
 * written out by hand here, so the mapping is checked too.
 */
#include <float.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lp.h"
#include "reading.h"

#define BASE_NS	INT64_C(1767323045000000000)

enum ftype { FT_F64, FT_I64, FT_STR, FT_BOOL };

struct fld {
	const char	*k;
	enum ftype	 t;
	double		 f;
	int64_t		 i;
	const char	*s;
};

struct pt {
	int		 reading;	/* 0, or which reading to encode */
	const char	*m;
	const char	*tags[8][2];
	struct fld	 fields[12];
};

#define F(k, v)	{ (k), FT_F64, (v), 0, NULL }
#define I(k, v)	{ (k), FT_I64, 0, (v), NULL }
#define S(k, v)	{ (k), FT_STR, 0, 0, (v) }
#define B(k, v)	{ (k), FT_BOOL, 0, (v), NULL }

static const struct pt points[] = {
	{ 0, "my meas,ure", { { "t k,=", "v a,l=ue" } }, { F("f k,=", 1.5) } },
	{ 0, " lead,comma", { { "t", " lead" } }, { F("v", 1) } },
	{ 0, ",lead", { { ",k", ",v" } }, { F("v", 2) } },
	{ 0, "eq=and\"quote", { { "q\"", "\"v\"" } }, { F("x\"y", 3) } },
	{ 0, "caf\xc3\xa9 \xe2\x98\x83",
	    { { "emoji", "\xf0\x9f\x94\xa5 hot" }, { "\xc3\xbc", "\xc3\xa9" } },
	    { S("s", "say \"hi\" \\ there"), S("\xe2\x98\x83", "snow") } },
	{ 0, "back\\slash",
	    { { "path", "C:\\temp\\new" }, { "k\\=", "x" },
	      { "c", "a\\,b" }, { "sp", "f\\ g" }, { "e", "h\\=i" },
	      { "qq", "q\\\"r" } },
	    { F("o\\p", 4), S("s", "a\\b") } },
	{ 0, "strings", { { "t", "s" } },
	    { S("quote_bs", "\\\""), S("ends", "ends\\"), S("punct", "a, b=c"),
	      S("empty", ""), S("tab", "tab\there"), S("cr", "c\rr"),
	      S("uni", "\xe2\x82\xac \xf0\x9f\x8c\xa1\xef\xb8\x8f"),
	      S("json", "{\"a\": [1, \"x\"]}") } },
	{ 0, "floats", { { "t", "f" } },
	    { F("tiny", 1e-7), F("sum", 0.1 + 0.2),
	      F("f32", -5.1999998092651367), F("big", 1e21),
	      F("max", DBL_MAX), F("negmax", -DBL_MAX),
	      F("denorm", 4.9406564584124654e-324), F("third", 70.0 / 3),
	      F("neg", -123456.789), F("whole", 100), F("small", -1e-300) } },
	{ 0, "ints", { { "t", "i" } },
	    { I("min", INT64_MIN), I("max", INT64_MAX), I("zero", 0),
	      I("neg", -42), I("big", INT64_C(9007199254740993)) } },
	{ 0, "bools", { { "t", "b" } }, { B("yes", 1), B("no", 0) } },
	{ 0, "unsorted", { { "zone", "z" }, { "alpha", "a" }, { "mid", "m" } },
	    { F("v", 5) } },
	{ 0, "skipped", { { "empty", "" }, { "kept", "k" } }, { F("v", 6) } },
	/* Readings: the expectation is lp_point_reading()'s contract. */
	{ 1, "temperature", { { "device_id", "grill 1" }, { "probe_id", "p,1" },
	      { "source", "thermoworks" }, { "unit", "F" } },
	    { F("value", 225.5), F("value_c", 107.5), I("battery", 87),
	      I("signal", -61), S("status", "NORMAL"), I("flags", 6),
	      S("label", "Brisket \"flat\"") } },
	{ 2, "temperature", { { "device_id", "hygro" }, { "unit", "H" } },
	    { F("value", 55.5), F("humidity", 55.5), S("status", "UNKNOWN"),
	      I("flags", 0) } },
	{ 3, "temperature", { { "device_id", "grill 1" }, { "probe_id", "p2" },
	      { "unit", "C" } },
	    { S("status", "NO PROBE"), I("flags", 0) } },
};

static void
make_reading(int which, struct reading *r)
{
	reading_init(r);
	switch (which) {
	case 1:
		util_strlcpy(r->device_id, "grill 1", sizeof(r->device_id));
		util_strlcpy(r->probe_id, "p,1", sizeof(r->probe_id));
		util_strlcpy(r->source, "thermoworks", sizeof(r->source));
		util_strlcpy(r->label, "Brisket \"flat\"", sizeof(r->label));
		r->value = 225.5;
		r->has_value = true;
		r->battery = 87;
		r->signal = -61;
		r->status = PROBE_NORMAL;
		r->flags = READING_F_RATE | READING_F_STUCK;
		break;
	case 2:
		util_strlcpy(r->device_id, "hygro", sizeof(r->device_id));
		r->unit = 'H';
		r->value = 55.5;
		r->has_value = true;
		break;
	case 3:
		util_strlcpy(r->device_id, "grill 1", sizeof(r->device_id));
		util_strlcpy(r->probe_id, "p2", sizeof(r->probe_id));
		r->unit = 'C';
		r->status = PROBE_NO_PROBE;
		break;
	}
}

static int64_t
ts_of(size_t i)
{
	return BASE_NS + (int64_t)i * 1000003;
}

static int
write_lp(struct buf *b)
{
	struct reading r;
	struct lp lp;
	size_t i;

	for (i = 0; i < ARRAY_LEN(points); i++) {
		const struct pt *p = &points[i];

		if (p->reading) {
			make_reading(p->reading, &r);
			r.ts_ns = ts_of(i);
			if (lp_point_reading(&lp, b, &r, p->m) == -1)
				goto fail;
			continue;
		}
		lp_begin(&lp, b, p->m);
		for (size_t t = 0; t < ARRAY_LEN(p->tags) && p->tags[t][0]; t++)
			lp_tag(&lp, p->tags[t][0], p->tags[t][1]);
		for (size_t f = 0; f < ARRAY_LEN(p->fields) && p->fields[f].k;
		    f++) {
			const struct fld *fl = &p->fields[f];

			switch (fl->t) {
			case FT_F64:
				lp_field_f64(&lp, fl->k, fl->f);
				break;
			case FT_I64:
				lp_field_i64(&lp, fl->k, fl->i);
				break;
			case FT_STR:
				lp_field_str(&lp, fl->k, fl->s);
				break;
			case FT_BOOL:
				lp_field_bool(&lp, fl->k, fl->i != 0);
				break;
			}
		}
		if (lp_end(&lp, ts_of(i)) == -1)
			goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "lpcheck: point %zu: %s\n", i, lp.errstr);
	return -1;
}

static int
put_jstr(struct buf *b, const char *s)
{
	return buf_putc(b, '"') | buf_json_escape(b, s) | buf_putc(b, '"');
}

static int
write_expect(struct buf *b)
{
	static const char *const types[] = { "float", "integer", "string",
		"boolean" };
	int rc = 0;

	for (size_t i = 0; i < ARRAY_LEN(points); i++) {
		const struct pt *p = &points[i];
		size_t t, f;

		rc |= buf_printf(b, "{\"time\":\"%" PRId64 "\",", ts_of(i));
		rc |= buf_puts(b, "\"measurement\":");
		rc |= put_jstr(b, p->m);
		rc |= buf_puts(b, ",\"tags\":{");
		for (t = 0; t < ARRAY_LEN(p->tags) && p->tags[t][0]; t++) {
			if (p->tags[t][1][0] == '\0')
				continue;	/* lp skips empty tags */
			if (b->data[b->len - 1] != '{')
				rc |= buf_putc(b, ',');
			rc |= put_jstr(b, p->tags[t][0]);
			rc |= buf_putc(b, ':');
			rc |= put_jstr(b, p->tags[t][1]);
		}
		rc |= buf_puts(b, "},\"fields\":{");
		for (f = 0; f < ARRAY_LEN(p->fields) && p->fields[f].k; f++) {
			const struct fld *fl = &p->fields[f];

			rc |= buf_puts(b, f ? "," : "");
			rc |= put_jstr(b, fl->k);
			switch (fl->t) {
			case FT_F64:
				rc |= buf_printf(b, ":%.17g", fl->f);
				break;
			case FT_I64:
				rc |= buf_printf(b, ":%" PRId64, fl->i);
				break;
			case FT_STR:
				rc |= buf_putc(b, ':') | put_jstr(b, fl->s);
				break;
			case FT_BOOL:
				rc |= buf_puts(b, fl->i ? ":true" : ":false");
				break;
			}
		}
		rc |= buf_puts(b, "},\"types\":{");
		for (f = 0; f < ARRAY_LEN(p->fields) && p->fields[f].k; f++) {
			rc |= buf_puts(b, f ? "," : "");
			rc |= put_jstr(b, p->fields[f].k);
			rc |= buf_printf(b, ":\"%s\"", types[p->fields[f].t]);
		}
		rc |= buf_puts(b, "}}\n");
	}
	return rc;
}

static int
write_ints(struct buf *b)
{
	int rc = 0;

	for (size_t i = 0; i < ARRAY_LEN(points); i++) {
		const struct fld *fl = points[i].fields;

		for (; fl < points[i].fields + ARRAY_LEN(points[i].fields) &&
		    fl->k != NULL; fl++)
			if (fl->t == FT_I64)
				rc |= buf_printf(b, "%" PRId64 " %s %s %" PRId64
				    "\n", ts_of(i), points[i].m, fl->k, fl->i);
	}
	return rc;
}

int
main(int argc, char *argv[])
{
	const char *mode = argc > 1 ? argv[1] : "lp";
	struct buf b;
	int rc;

	buf_init(&b);
	if (strcmp(mode, "lp") == 0)
		rc = write_lp(&b);
	else if (strcmp(mode, "expect") == 0)
		rc = write_expect(&b);
	else if (strcmp(mode, "ints") == 0)
		rc = write_ints(&b);
	else {
		fprintf(stderr, "usage: lpcheck [lp | expect | ints]\n");
		return 2;
	}
	if (rc != 0 || fwrite(b.data, 1, b.len, stdout) != b.len ||
	    fflush(stdout) != 0) {
		buf_free(&b);
		return 1;
	}
	buf_free(&b);
	return 0;
}
