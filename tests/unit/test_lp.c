/*
 * lp: golden lines for every escaping rule, the rejections, the rollback,
 * and floats that must survive the trip.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp.h"
#include "reading.h"
#include "unit.h"

/* One point with a single tag and field; returns lp_end()'s result. */
static int
one(struct buf *b, const char *m, const char *tk, const char *tv,
    const char *fk, const char *fs)
{
	struct lp lp;

	lp_begin(&lp, b, m);
	if (tk != NULL)
		lp_tag(&lp, tk, tv);
	if (fs != NULL)
		lp_field_str(&lp, fk, fs);
	else
		lp_field_i64(&lp, fk, 1);
	return lp_end(&lp, 7);
}

/* The line one() writes, or "ERR: <errstr>". */
static const char *
line(const char *m, const char *tk, const char *tv, const char *fk,
    const char *fs)
{
	static char out[512];
	struct buf b;
	struct lp lp;

	buf_init(&b);
	lp_begin(&lp, &b, m);
	if (tk != NULL)
		lp_tag(&lp, tk, tv);
	if (fs != NULL)
		lp_field_str(&lp, fk, fs);
	else
		lp_field_i64(&lp, fk, 1);
	if (lp_end(&lp, 7) == 0)
		snprintf(out, sizeof(out), "%s", b.data);
	else {
		snprintf(out, sizeof(out), "ERR: %s", lp.errstr);
		if (b.len != 0)
			snprintf(out, sizeof(out), "NOT ROLLED BACK");
	}
	buf_free(&b);
	return out;
}

static void
test_negative_time(void)
{
	struct buf b;
	struct lp lp;

	buf_init(&b);
	lp_begin(&lp, &b, "m");
	lp_field_i64(&lp, "a", 0);
	lp_field_i64(&lp, "b", -61);
	lp_field_i64(&lp, "c", INT64_MIN);
	lp_field_i64(&lp, "d", INT64_MAX);
	lp_field_f64(&lp, "e", -0.5);
	CHECK_INT(lp_end(&lp, -1000000007), 0);
	CHECK_STR(b.data, "m a=0i,b=-61i,c=-9223372036854775808i,"
	    "d=9223372036854775807i,e=-0.5 -1000000007\n");
	buf_free(&b);
}

static void
test_basic(void)
{
	struct buf b;
	struct lp lp;

	buf_init(&b);
	CHECK_INT(lp_begin(&lp, &b, "temperature"), 0);
	CHECK_INT(lp_tag(&lp, "device_id", "dev1"), 0);
	CHECK_INT(lp_field_f64(&lp, "value", 225.5), 0);
	CHECK_INT(lp_field_i64(&lp, "battery", 80), 0);
	CHECK_INT(lp_field_str(&lp, "status", "NORMAL"), 0);
	CHECK_INT(lp_field_bool(&lp, "ok", true), 0);
	CHECK_INT(lp_field_bool(&lp, "bad", false), 0);
	CHECK_INT(lp_end(&lp, INT64_C(1767323045123456789)), 0);
	CHECK_STR(b.data, "temperature,device_id=dev1 value=225.5,battery=80i,"
	    "status=\"NORMAL\",ok=true,bad=false 1767323045123456789\n");
	CHECK_STR(lp.errstr, "");
	buf_free(&b);
}

static void
test_escape_measurement(void)
{
	CHECK_STR(line("my meas,ure", NULL, NULL, "f", NULL),
	    "my\\ meas\\,ure f=1i 7\n");
	/* '=' and '"' need nothing in a measurement. */
	CHECK_STR(line("a=b\"c", NULL, NULL, "f", NULL), "a=b\"c f=1i 7\n");
	CHECK_STR(line(" lead", NULL, NULL, "f", NULL), "\\ lead f=1i 7\n");
	CHECK_STR(line(",lead", NULL, NULL, "f", NULL), "\\,lead f=1i 7\n");
	CHECK_STR(line("x#y", NULL, NULL, "f", NULL), "x#y f=1i 7\n");
	CHECK_STR(line("caf\xc3\xa9 \xe2\x98\x83", NULL, NULL, "f", NULL),
	    "caf\xc3\xa9\\ \xe2\x98\x83 f=1i 7\n");
}

static void
test_escape_tags(void)
{
	CHECK_STR(line("m", "k ey,=", "v a,l=ue", "f", NULL),
	    "m,k\\ ey\\,\\==v\\ a\\,l\\=ue f=1i 7\n");
	/* Quotes mean nothing in tags. */
	CHECK_STR(line("m", "k\"", "\"v\"", "f", NULL),
	    "m,k\"=\"v\" f=1i 7\n");
	CHECK_STR(line("m", "t", "=", "f", NULL), "m,t=\\= f=1i 7\n");
}

static void
test_escape_field_key(void)
{
	CHECK_STR(line("m", NULL, NULL, "f k,=", NULL),
	    "m f\\ k\\,\\==1i 7\n");
	CHECK_STR(line("m", NULL, NULL, "q\"", NULL), "m q\"=1i 7\n");
}

static void
test_escape_string(void)
{
	CHECK_STR(line("m", NULL, NULL, "s", "say \"hi\" \\ there"),
	    "m s=\"say \\\"hi\\\" \\\\ there\" 7\n");
	/* Already escaped-looking text is escaped once more, not skipped. */
	CHECK_STR(line("m", NULL, NULL, "s", "\\\""),
	    "m s=\"\\\\\\\"\" 7\n");
	CHECK_STR(line("m", NULL, NULL, "s", "ends\\"), "m s=\"ends\\\\\" 7\n");
	/* Commas, spaces and equals signs are plain inside quotes. */
	CHECK_STR(line("m", NULL, NULL, "s", "a, b=c"), "m s=\"a, b=c\" 7\n");
	CHECK_STR(line("m", NULL, NULL, "s", ""), "m s=\"\" 7\n");
	CHECK_STR(line("m", NULL, NULL, "s", "tab\there"),
	    "m s=\"tab\there\" 7\n");
	CHECK_STR(line("m", NULL, NULL, "s", "\xe2\x98\x83"),
	    "m s=\"\xe2\x98\x83\" 7\n");
}

static void
test_backslash(void)
{
	/* A backslash InfluxDB reads literally is written as is. */
	CHECK_STR(line("a\\b", "k\\x", "C:\\temp", "f\\g", NULL),
	    "a\\b,k\\x=C:\\temp f\\g=1i 7\n");
	CHECK_STR(line("a\\\\b", NULL, NULL, "f", NULL), "a\\\\b f=1i 7\n");
	/* In tags, a backslash before an escaped character reads back. */
	CHECK_STR(line("m", "k", "a\\,b", "f", NULL),
	    "m,k=a\\\\,b f=1i 7\n");
	CHECK_STR(line("m", "k\\=", "x", "f", NULL), "m,k\\\\==x f=1i 7\n");
	CHECK_STR(line("m", "k", "a\\\"b", "f", NULL),
	    "m,k=a\\\"b f=1i 7\n");
	/* In a measurement or field key it does not: refused. */
	CHECK_STR(line("a\\,b", NULL, NULL, "f", NULL),
	    "ERR: backslash before ',' in measurement cannot be read back");
	CHECK_STR(line("a\\ b", NULL, NULL, "f", NULL),
	    "ERR: backslash before ' ' in measurement cannot be read back");
	CHECK_STR(line("a\\=b", NULL, NULL, "f", NULL),
	    "ERR: backslash before '=' in measurement cannot be read back");
	CHECK_STR(line("a\\\"b", NULL, NULL, "f", NULL),
	    "ERR: backslash before '\"' in measurement cannot be read back");
	CHECK_STR(line("m", NULL, NULL, "f\\,", NULL),
	    "ERR: backslash before ',' in field key cannot be read back");
	CHECK_STR(line("m", NULL, NULL, "f\\\"x", NULL),
	    "ERR: backslash before '\"' in field key cannot be read back");
	/* Nothing can end in a backslash. */
	CHECK_STR(line("m\\", NULL, NULL, "f", NULL),
	    "ERR: measurement ends with a backslash");
	CHECK_STR(line("m", "k\\", "v", "f", NULL),
	    "ERR: tag key ends with a backslash");
	CHECK_STR(line("m", "k", "v\\", "f", NULL),
	    "ERR: tag value ends with a backslash");
	CHECK_STR(line("m", NULL, NULL, "f\\", NULL),
	    "ERR: field key ends with a backslash");
}

static void
test_rejected_names(void)
{
	CHECK_STR(line("", NULL, NULL, "f", NULL), "ERR: empty measurement");
	CHECK_STR(line(NULL, NULL, NULL, "f", NULL), "ERR: empty measurement");
	CHECK_STR(line("m", "", "v", "f", NULL), "ERR: empty tag key");
	CHECK_STR(line("m", NULL, NULL, "", NULL), "ERR: empty field key");
	CHECK_STR(line("#m", NULL, NULL, "f", NULL),
	    "ERR: measurement starts with '#' (a comment)");
	CHECK_STR(line("m", "time", "v", "f", NULL),
	    "ERR: tag key \"time\" is reserved by InfluxDB");
	CHECK_STR(line("m", NULL, NULL, "time", NULL),
	    "ERR: field key \"time\" is reserved by InfluxDB");
	CHECK_STR(line("time", NULL, NULL, "f", NULL), "time f=1i 7\n");
	CHECK_STR(line("m\nx", NULL, NULL, "f", NULL),
	    "ERR: control character in measurement");
	CHECK_STR(line("m", "k", "a\nb", "f", NULL),
	    "ERR: control character in tag value");
	CHECK_STR(line("m", "k\r", "v", "f", NULL),
	    "ERR: control character in tag key");
	CHECK_STR(line("m", "k", "a\tb", "f", NULL),
	    "ERR: control character in tag value");
	CHECK_STR(line("m", NULL, NULL, "f\n", NULL),
	    "ERR: control character in field key");
	CHECK_STR(line("m", NULL, NULL, "s", "two\nlines"),
	    "ERR: field \"s\" holds a newline");
	CHECK_STR(line("m\xff", NULL, NULL, "f", NULL),
	    "ERR: measurement is not valid UTF-8");
	CHECK_STR(line("m", "k\xc0\xaf", "v", "f", NULL),
	    "ERR: tag key is not valid UTF-8");
	CHECK_STR(line("m", "k", "\xed\xa0\x80", "f", NULL),
	    "ERR: tag value is not valid UTF-8");
	CHECK_STR(line("m", NULL, NULL, "\xe2\x98", NULL),
	    "ERR: field key is not valid UTF-8");
	CHECK_STR(line("m", NULL, NULL, "s", "bad \xfe"),
	    "ERR: field \"s\" is not valid UTF-8");
}

static void
test_empty_tag_skipped(void)
{
	struct buf b;
	struct lp lp;

	buf_init(&b);
	lp_begin(&lp, &b, "m");
	CHECK_INT(lp_tag(&lp, "a", ""), 0);
	CHECK_INT(lp_tag(&lp, "b", NULL), 0);
	CHECK_INT(lp_tag(&lp, "c", "x"), 0);
	lp_field_i64(&lp, "f", 1);
	CHECK_INT(lp_end(&lp, 1), 0);
	CHECK_STR(b.data, "m,c=x f=1i 1\n");
	/* The key of a skipped tag is still checked. */
	lp_begin(&lp, &b, "m");
	CHECK_INT(lp_tag(&lp, "time", ""), -1);
	CHECK_INT(lp_end(&lp, 1), -1);
	CHECK_STR(b.data, "m,c=x f=1i 1\n");
	buf_free(&b);
}

static void
test_nan_inf_rollback(void)
{
	const double bad[] = { NAN, -NAN, INFINITY, -INFINITY };
	struct buf b;
	struct lp lp;

	buf_init(&b);
	CHECK_INT(one(&b, "m", "t", "v", "f", NULL), 0);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		lp_begin(&lp, &b, "m");
		lp_tag(&lp, "t", "v");
		lp_field_f64(&lp, "ok", 1.5);
		CHECK_INT(lp_field_f64(&lp, "x", bad[i]), -1);
		/* Sticky: later calls fail and write nothing. */
		CHECK_INT(lp_field_f64(&lp, "y", 2), -1);
		CHECK_INT(lp_end(&lp, 1), -1);
		CHECK_STR(lp.errstr, isnan(bad[i]) ? "field \"x\" is NaN" :
		    "field \"x\" is infinite");
		CHECK_STR(b.data, "m,t=v f=1i 7\n");
		CHECK_INT(b.len, strlen("m,t=v f=1i 7\n"));
	}
	CHECK_INT(one(&b, "n", NULL, NULL, "f", NULL), 0);
	CHECK_STR(b.data, "m,t=v f=1i 7\nn f=1i 7\n");
	buf_free(&b);
}

static void
test_no_field(void)
{
	struct buf b;
	struct lp lp;

	buf_init(&b);
	lp_begin(&lp, &b, "m");
	lp_tag(&lp, "t", "v");
	CHECK_INT(lp_end(&lp, 1), -1);
	CHECK_STR(lp.errstr, "point without fields");
	CHECK_INT(b.len, 0);
	buf_free(&b);
}

static void
test_order_and_abort(void)
{
	struct buf b;
	struct lp lp;

	buf_init(&b);
	lp_begin(&lp, &b, "m");
	lp_field_i64(&lp, "f", 1);
	CHECK_INT(lp_tag(&lp, "t", "v"), -1);
	CHECK_STR(lp.errstr, "tag after the first field");
	CHECK_INT(lp_end(&lp, 1), -1);
	CHECK_INT(b.len, 0);

	lp_begin(&lp, &b, "m");
	lp_field_i64(&lp, "f", 1);
	lp_abort(&lp);
	CHECK_INT(b.len, 0);
	CHECK_INT(lp_end(&lp, 1), -1);

	/* After a good lp_end(), misuse fails but keeps the line. */
	lp_begin(&lp, &b, "m");
	lp_field_i64(&lp, "f", 1);
	CHECK_INT(lp_end(&lp, 1), 0);
	CHECK_INT(lp_field_i64(&lp, "g", 1), -1);
	CHECK_INT(lp_end(&lp, 1), -1);
	lp_abort(&lp);
	CHECK_STR(b.data, "m f=1i 1\n");
	buf_free(&b);
}

static void
test_tag_sort(void)
{
	struct buf b;
	struct lp lp;

	buf_init(&b);
	lp_begin(&lp, &b, "m");
	lp_tag(&lp, "zone", "z1");
	lp_tag(&lp, "alpha", "a long value");
	lp_tag(&lp, "mid", "m");
	lp_tag(&lp, "al", "x");
	lp_field_i64(&lp, "f", 1);
	CHECK_INT(lp_end(&lp, 5), 0);
	CHECK_STR(b.data,
	    "m,al=x,alpha=a\\ long\\ value,mid=m,zone=z1 f=1i 5\n");
	buf_reset(&b);

	/* Byte order of the escaped keys, as influxd compares them. */
	lp_begin(&lp, &b, "m");
	lp_tag(&lp, "b", "1");
	lp_tag(&lp, "a b", "2");
	lp_tag(&lp, "B", "3");
	lp_tag(&lp, "a", "4");
	lp_field_i64(&lp, "f", 1);
	CHECK_INT(lp_end(&lp, 5), 0);
	CHECK_STR(b.data, "m,B=3,a=4,a\\ b=2,b=1 f=1i 5\n");
	buf_reset(&b);

	lp_begin(&lp, &b, "m");
	lp_tag(&lp, "a", "1");
	lp_tag(&lp, "b", "2");
	lp_tag(&lp, "a", "3");
	lp_field_i64(&lp, "f", 1);
	CHECK_INT(lp_end(&lp, 5), -1);
	CHECK_STR(lp.errstr, "duplicate tag key");
	CHECK_INT(b.len, 0);
	buf_free(&b);
}

static void
test_duplicate_field(void)
{
	struct buf b;
	struct lp lp;

	buf_init(&b);
	lp_begin(&lp, &b, "m");
	lp_field_i64(&lp, "f", 1);
	lp_field_f64(&lp, "g", 1);
	CHECK_INT(lp_field_str(&lp, "f", "x"), -1);
	CHECK_INT(lp_end(&lp, 5), -1);
	CHECK_STR(lp.errstr, "duplicate field key \"f\"");
	CHECK_INT(b.len, 0);
	buf_free(&b);
}

static void
test_limits(void)
{
	struct buf b;
	struct lp lp;
	char key[16], *big;

	buf_init(&b);
	lp_begin(&lp, &b, "m");
	for (int i = 0; i < LP_TAGS_MAX; i++) {
		snprintf(key, sizeof(key), "t%02d", i);
		CHECK_INT(lp_tag(&lp, key, "v"), 0);
	}
	CHECK_INT(lp_tag(&lp, "u", "v"), -1);
	CHECK_INT(lp_end(&lp, 1), -1);
	CHECK_INT(b.len, 0);

	lp_begin(&lp, &b, "m");
	for (int i = 0; i < LP_FIELDS_MAX; i++) {
		snprintf(key, sizeof(key), "f%02d", i);
		CHECK_INT(lp_field_i64(&lp, key, i), 0);
	}
	CHECK_INT(lp_field_i64(&lp, "g", 1), -1);
	CHECK_INT(lp_end(&lp, 1), -1);
	CHECK_INT(b.len, 0);

	big = malloc(LP_KEY_MAX);
	memset(big, 'x', LP_KEY_MAX - 1);
	big[LP_KEY_MAX - 1] = '\0';
	lp_begin(&lp, &b, "m");
	lp_tag(&lp, "t", big);
	CHECK_INT(lp_field_i64(&lp, "f", 1), -1);
	CHECK_STR(lp.errstr, "series key longer than 65535 bytes");
	CHECK_INT(b.len, 0);
	/* A long string value is no problem. */
	lp_begin(&lp, &b, "m");
	lp_field_str(&lp, "s", big);
	CHECK_INT(lp_end(&lp, 1), 0);
	CHECK_INT(b.len, strlen("m s=\"\" 1\n") + LP_KEY_MAX - 1);
	free(big);
	buf_free(&b);
}

static void
test_time_range(void)
{
	struct buf b;
	struct lp lp;

	buf_init(&b);
	lp_begin(&lp, &b, "m");
	lp_field_i64(&lp, "f", 1);
	CHECK_INT(lp_end(&lp, LP_TIME_MIN), 0);
	lp_begin(&lp, &b, "m");
	lp_field_i64(&lp, "f", 1);
	CHECK_INT(lp_end(&lp, LP_TIME_MAX), 0);
	CHECK_STR(b.data, "m f=1i -9223372036854775806\n"
	    "m f=1i 9223372036854775806\n");
	lp_begin(&lp, &b, "m");
	lp_field_i64(&lp, "f", 1);
	CHECK_INT(lp_end(&lp, INT64_MIN), -1);
	lp_begin(&lp, &b, "m");
	lp_field_i64(&lp, "f", 1);
	CHECK_INT(lp_end(&lp, INT64_MAX), -1);
	CHECK_STR(lp.errstr, "timestamp outside InfluxDB's range");
	CHECK_INT(b.len, 2 * strlen("m f=1i -9223372036854775806\n") - 1);
	buf_free(&b);
}

static const char *
f64(double v)
{
	static char out[UTIL_F64_LEN];

	if (util_fmt_f64(v, out, sizeof(out)) == -1)
		return "ERR";
	return out;
}

/*
 * The fast decimal path agrees with the shortest "%.*g" that reads
 * back, on values of every kind readings and aggregates give.
 */
static void
test_floats_fast_path(void)
{
	static const double scale[] = { 1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7,
		3, 7, 9 };
	char want[UTIL_F64_LEN];
	unsigned seed = 12345;
	int bad = 0;

	for (int i = 0; i < 200000 && bad < 5; i++) {
		double v;
		int prec;

		seed = seed * 1103515245u + 12345u;
		v = (double)(int)(seed >> 4) / scale[i % 11];
		if (i % 5 == 0)
			v = (v - 32) * 5 / 9;
		if (i % 7 == 0)
			v = -v / 1e9;
		for (prec = 15; prec <= 17; prec++) {
			snprintf(want, sizeof(want), "%.*g", prec, v);
			if (strtod(want, NULL) == v)
				break;
		}
		if (strcmp(f64(v), want) != 0) {
			unit_fail(__FILE__, __LINE__, "%.17g: %s, want %s", v,
			    f64(v), want);
			bad++;
		}
	}
}

static void
test_floats(void)
{
	CHECK_STR(f64(1e-7), "1e-07");
	CHECK_STR(f64(0.1 + 0.2), "0.30000000000000004");
	CHECK_STR(f64(0.3), "0.3");
	CHECK_STR(f64(-5.1999998092651367), "-5.199999809265137");
	CHECK(strtod(f64(-5.1999998092651367), NULL) == -5.1999998092651367);
	CHECK_STR(f64((double)(float)-5.2), "-5.199999809265137");
	CHECK_STR(f64(100), "100");
	CHECK_STR(f64(225.5), "225.5");
	CHECK_STR(f64(-40), "-40");
	CHECK_STR(f64(0), "0");
	CHECK_STR(f64(1e21), "1e+21");
	CHECK_STR(f64(123456789012345678.0), "1.2345678901234568e+17");
	CHECK_STR(f64(DBL_MAX), "1.7976931348623157e+308");
	CHECK_STR(f64(-DBL_MAX), "-1.7976931348623157e+308");
	CHECK(strtod(f64(DBL_MIN), NULL) == DBL_MIN);
	CHECK(strtod(f64(4.9406564584124654e-324), NULL) ==
	    4.9406564584124654e-324);
	CHECK_STR(f64(150.5), "150.5");
	CHECK_STR(f64(-0.0001), "-0.0001");
	CHECK_STR(f64(0.00012), "0.00012");
	CHECK_STR(f64(65.555), "65.555");
	CHECK_STR(f64(1.000001), "1.000001");
	CHECK_STR(f64(20.05), "20.05");
	CHECK_STR(f64(999999999999999.0), "999999999999999");
	CHECK_STR(f64(1e15), "1e+15");
	CHECK_STR(f64(NAN), "ERR");
	CHECK_STR(f64(INFINITY), "ERR");
	CHECK_STR(f64(-INFINITY), "ERR");
	{
		char small[8];

		CHECK_INT(util_fmt_f64(1.5, small, sizeof(small)), -1);
	}
	CHECK_STR(line("m", NULL, NULL, "f", NULL), "m f=1i 7\n");
}

/* Any finite double: printed, read back, the same bits. */
static void
test_floats_random(void)
{
	uint64_t x = 88172645463325252ULL;
	char out[UTIL_F64_LEN];
	int bad = 0, n = 0;

	while (n < 200000) {
		double v, back;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(&v, &x, sizeof(v));
		if (!isfinite(v))
			continue;
		n++;
		if (util_fmt_f64(v, out, sizeof(out)) < 0) {
			bad++;
			continue;
		}
		back = strtod(out, NULL);
		if (memcmp(&back, &v, sizeof(v)) != 0 || strlen(out) > 24)
			bad++;
	}
	CHECK_INT(bad, 0);
}

static void
test_integers(void)
{
	struct buf b;
	struct lp lp;

	buf_init(&b);
	lp_begin(&lp, &b, "m");
	lp_field_i64(&lp, "min", INT64_MIN);
	lp_field_i64(&lp, "max", INT64_MAX);
	lp_field_i64(&lp, "zero", 0);
	lp_field_i64(&lp, "neg", -42);
	lp_field_f64(&lp, "tiny", 1e-7);
	lp_field_f64(&lp, "sum", 0.1 + 0.2);
	CHECK_INT(lp_end(&lp, 0), 0);
	CHECK_STR(b.data, "m min=-9223372036854775808i,"
	    "max=9223372036854775807i,zero=0i,neg=-42i,tiny=1e-07,"
	    "sum=0.30000000000000004 0\n");
	buf_free(&b);
}

static void
test_batch(void)
{
	struct buf b;
	struct lp lp;

	buf_init(&b);
	CHECK_INT(one(&b, "a", "t", "1", "f", NULL), 0);
	CHECK_INT(one(&b, "b", "t", "bad\\", "f", NULL), -1);
	CHECK_INT(one(&b, "c", "t", "3", "s", "x"), 0);
	lp_begin(&lp, &b, "d");
	lp_tag(&lp, "z", "1");
	lp_tag(&lp, "a", "2");	/* forces a sort with a line before */
	lp_field_i64(&lp, "f", 1);
	CHECK_INT(lp_end(&lp, 9), 0);
	CHECK_STR(b.data, "a,t=1 f=1i 7\nc,t=3 s=\"x\" 7\nd,a=2,z=1 f=1i 9\n");
	buf_free(&b);
}

static void
reading_fixture(struct reading *r)
{
	reading_init(r);
	util_strlcpy(r->device_id, "grill 1", sizeof(r->device_id));
	util_strlcpy(r->probe_id, "p,1", sizeof(r->probe_id));
	util_strlcpy(r->source, "thermoworks", sizeof(r->source));
	util_strlcpy(r->label, "Brisket \"flat\"", sizeof(r->label));
	r->value = 212;
	r->has_value = true;
	r->unit = 'F';
	r->ts_ns = INT64_C(1767323045123456789);
	r->battery = 87;
	r->signal = -61;
	r->status = PROBE_NORMAL;
	r->flags = READING_F_RATE | READING_F_STUCK;
}

static void
test_point_reading(void)
{
	struct reading r;
	struct buf b;
	struct lp lp;

	buf_init(&b);
	reading_fixture(&r);
	CHECK_INT(lp_point_reading(&lp, &b, &r, NULL), 0);
	CHECK_STR(b.data, "temperature,device_id=grill\\ 1,probe_id=p\\,1,"
	    "source=thermoworks,unit=F value=212,value_c=100,battery=87i,"
	    "signal=-61i,status=\"NORMAL\",flags=6i,"
	    "label=\"Brisket \\\"flat\\\"\" 1767323045123456789\n");
	buf_reset(&b);

	/* Unplugged, nothing known: status and flags still make a point. */
	r.has_value = false;
	r.status = PROBE_NO_PROBE;
	r.battery = READING_NO_BATTERY;
	r.signal = READING_NO_SIGNAL;
	r.probe_id[0] = r.source[0] = r.label[0] = '\0';
	r.flags = 0;
	CHECK_INT(lp_point_reading(&lp, &b, &r, "probe"), 0);
	CHECK_STR(b.data, "probe,device_id=grill\\ 1,unit=F "
	    "status=\"NO PROBE\",flags=0i 1767323045123456789\n");
	buf_reset(&b);

	/* Humidity: no Celsius. */
	reading_fixture(&r);
	r.unit = 'H';
	r.value = 55.5;
	r.label[0] = '\0';
	CHECK_INT(lp_point_reading(&lp, &b, &r, NULL), 0);
	CHECK_STR(b.data, "temperature,device_id=grill\\ 1,probe_id=p\\,1,"
	    "source=thermoworks,unit=H value=55.5,humidity=55.5,battery=87i,"
	    "signal=-61i,status=\"NORMAL\",flags=6i 1767323045123456789\n");
	buf_reset(&b);

	/* Kelvin keeps its unit tag; value_c is canonical. */
	reading_fixture(&r);
	r.unit = 'K';
	r.value = 273.15;
	r.label[0] = '\0';
	CHECK_INT(lp_point_reading(&lp, &b, &r, NULL), 0);
	CHECK(strstr(b.data, ",unit=K value=273.15,value_c=0,") != NULL);
	buf_reset(&b);

	reading_fixture(&r);
	r.device_id[0] = '\0';
	CHECK_INT(lp_point_reading(&lp, &b, &r, NULL), -1);
	CHECK_STR(lp.errstr, "reading without device_id");
	reading_fixture(&r);
	r.value = NAN;
	CHECK_INT(lp_point_reading(&lp, &b, &r, NULL), -1);
	CHECK_STR(lp.errstr, "field \"value\" is NaN");
	reading_fixture(&r);
	r.unit = 'X';
	CHECK_INT(lp_point_reading(&lp, &b, &r, NULL), -1);
	CHECK_STR(lp.errstr, "field \"value_c\" is NaN");
	CHECK_INT(b.len, 0);
	buf_free(&b);
}

int
main(void)
{
	UNIT_RUN(test_basic);
	UNIT_RUN(test_escape_measurement);
	UNIT_RUN(test_escape_tags);
	UNIT_RUN(test_escape_field_key);
	UNIT_RUN(test_escape_string);
	UNIT_RUN(test_backslash);
	UNIT_RUN(test_rejected_names);
	UNIT_RUN(test_empty_tag_skipped);
	UNIT_RUN(test_nan_inf_rollback);
	UNIT_RUN(test_no_field);
	UNIT_RUN(test_order_and_abort);
	UNIT_RUN(test_tag_sort);
	UNIT_RUN(test_duplicate_field);
	UNIT_RUN(test_limits);
	UNIT_RUN(test_time_range);
	UNIT_RUN(test_negative_time);
	UNIT_RUN(test_floats);
	UNIT_RUN(test_floats_fast_path);
	UNIT_RUN(test_floats_random);
	UNIT_RUN(test_integers);
	UNIT_RUN(test_batch);
	UNIT_RUN(test_point_reading);
	return unit_done();
}
