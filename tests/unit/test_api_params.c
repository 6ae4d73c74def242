/*
 * api params: the query string and the path, decoded strictly; cursors;
 * the route table.
 */
#include <stdio.h>
#include <string.h>

#include "../../api/api.h"
#include "unit.h"

static int
parse(struct params *p, const char *qs, char *err)
{
	err[0] = '\0';
	return api_params_parse(p, qs, false, err, 128);
}

static void
test_query(void)
{
	struct params p;
	char err[128];

	CHECK_INT(parse(&p, NULL, err), 0);
	CHECK_INT(p.n, 0);
	CHECK_INT(parse(&p, "a=1&b=x+y&&c=%41%62&d", err), 0);
	CHECK_INT(p.n, 4);
	CHECK_STR(p.name[0], "a");
	CHECK_STR(p.value[0], "1");
	CHECK_STR(p.value[1], "x y");
	CHECK_STR(p.value[2], "Ab");
	CHECK_STR(p.name[3], "d");
	CHECK_STR(p.value[3], "");
	CHECK_INT(parse(&p, "t=2026-01-01T00%3A00%3A00%2B02%3A00", err), 0);
	CHECK_STR(p.value[0], "2026-01-01T00:00:00+02:00");
	CHECK_INT(parse(&p, "s=%C3%A9t%C3%A9", err), 0);
	CHECK_STR(p.value[0], "\xc3\xa9t\xc3\xa9");
}

static void
test_query_refused(void)
{
	struct params p;
	char err[128], many[1024];
	size_t o = 0;

	CHECK_INT(parse(&p, "a=1&a=2", err), -1);
	CHECK(strstr(err, "more than once") != NULL);
	CHECK_INT(parse(&p, "a=%zz", err), -1);
	CHECK(strstr(err, "percent") != NULL);
	CHECK_INT(parse(&p, "a=1%", err), -1);
	CHECK_INT(parse(&p, "a=%4", err), -1);
	CHECK_INT(parse(&p, "a=x%00y", err), -1);
	CHECK(strstr(err, "NUL") != NULL);
	CHECK_INT(parse(&p, "a=%0a", err), -1);
	CHECK_INT(parse(&p, "a=%ff", err), -1);
	CHECK(strstr(err, "UTF-8") != NULL);
	CHECK_INT(parse(&p, "a=%c0%af", err), -1);
	CHECK_INT(parse(&p, "%00=1", err), -1);
	for (int i = 0; i < API_PARAMS_MAX + 1; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "p%d=1&", i);
	CHECK_INT(parse(&p, many, err), -1);
	CHECK(strstr(err, "too many") != NULL);
	memset(many, 'v', sizeof(many) - 1);
	many[0] = 'a';
	many[1] = '=';
	many[sizeof(many) - 1] = '\0';
	CHECK_INT(parse(&p, many, err), -1);
	CHECK(strstr(err, "too long") != NULL);
}

static int
split(const char *raw, char **seg, int *n, char *out, char *err)
{
	return api_path_split(raw, out, API_PATH_MAX, seg, n, err, 128);
}

static void
test_path(void)
{
	char out[API_PATH_MAX], err[128], *seg[API_SEGS_MAX];
	int n;

	CHECK_INT(split("/api/temperature/current/SIG-1", seg, &n, out, err), 4);
	CHECK_STR(seg[3], "SIG-1");
	CHECK_INT(split("/api/devices/", seg, &n, out, err), 2);
	CHECK_INT(split("//api//devices", seg, &n, out, err), 2);
	CHECK_INT(split("/", seg, &n, out, err), 0);
	CHECK_INT(split("/a/b%2Fc", seg, &n, out, err), 2);
	CHECK_STR(seg[1], "b/c");
	CHECK_INT(split("/a/we%22ird%27", seg, &n, out, err), 2);
	CHECK_STR(seg[1], "we\"ird'");
	CHECK_INT(split("/a/../etc", seg, &n, out, err), -1);
	CHECK(strstr(err, "dot") != NULL);
	CHECK_INT(split("/a/%2e%2E/etc", seg, &n, out, err), -1);
	CHECK_INT(split("/a/./b", seg, &n, out, err), -1);
	CHECK_INT(split("/a/b%00c", seg, &n, out, err), -1);
	CHECK_INT(split("/a/%ff", seg, &n, out, err), -1);
	CHECK_INT(split("/a/%g0", seg, &n, out, err), -1);
	CHECK_INT(split("/a/%4", seg, &n, out, err), -1);
	CHECK_INT(split("a/b", seg, &n, out, err), -1);
	CHECK_INT(split(NULL, seg, &n, out, err), -1);
	CHECK_INT(split("/1/2/3/4/5/6/7/8/9", seg, &n, out, err), -2);
	/* "..." is a name, not a dot segment. */
	CHECK_INT(split("/a/...", seg, &n, out, err), 2);
}

static void
test_routes(void)
{
	char out[API_PATH_MAX], err[128], *seg[API_SEGS_MAX];
	const struct route *rt;
	const char *arg;
	unsigned m;
	int n;

	CHECK_INT(api_router_init(NULL), 0);
	split("/api/temperature/history/SIG-1", seg, &n, out, err);
	rt = api_route_match(seg, n, &arg, &m);
	CHECK(rt != NULL && strcmp(rt->name, "history") == 0);
	CHECK_STR(arg, "SIG-1");
	CHECK_INT(m, M_GET);
	split("/api/alerts/rules/r1/snooze", seg, &n, out, err);
	rt = api_route_match(seg, n, &arg, &m);
	CHECK(rt != NULL && strcmp(rt->name, "rule_snooze") == 0);
	CHECK_STR(arg, "r1");
	split("/api/alerts/rules/r1", seg, &n, out, err);
	rt = api_route_match(seg, n, &arg, &m);
	CHECK_INT(m, M_GET | M_PUT | M_DELETE);
	split("/health", seg, &n, out, err);
	CHECK(api_route_match(seg, n, &arg, &m) != NULL);
	split("/api/temperature", seg, &n, out, err);
	CHECK(api_route_match(seg, n, &arg, &m) == NULL);
	split("/api/temperature/current", seg, &n, out, err);
	CHECK(api_route_match(seg, n, &arg, &m) == NULL);
}

static void
test_cursor(void)
{
	struct cursor c = { true, INT64_C(1781526896123456), "probe 1" }, d;
	char text[2 * (32 + API_ID_MAX) + 1];

	cursor_format(&c, text, sizeof(text));
	CHECK_INT(cursor_parse(text, &d), 0);
	CHECK(d.set);
	CHECK_INT(d.t_us, c.t_us);
	CHECK_STR(d.probe_id, "probe 1");
	c.probe_id[0] = '\0';
	cursor_format(&c, text, sizeof(text));
	CHECK_INT(cursor_parse(text, &d), 0);
	CHECK_STR(d.probe_id, "");
	CHECK_INT(cursor_parse("", &d), -1);
	CHECK_INT(cursor_parse("abc", &d), -1);
	CHECK_INT(cursor_parse("zz", &d), -1);
	CHECK_INT(cursor_parse("3132", &d), -1);		/* "12" */
	CHECK_INT(cursor_parse("2d313a61", &d), -1);		/* "-1:a" */
	CHECK_INT(cursor_parse("313a00", &d), -1);		/* NUL */
	CHECK_INT(cursor_parse("313aff", &d), -1);		/* not UTF-8 */
	CHECK_INT(cursor_parse("31323a", &d), 0);		/* "12:" */
	CHECK_INT(d.t_us, 12);
	/* "57672256000000000:000:1": past int64 once in nanoseconds. */
	CHECK_INT(cursor_parse("35373637323235363030303030303030303a3030303a31",
	    &d), -1);
	/* "9223372036854775:1", the last microsecond that fits. */
	CHECK_INT(cursor_parse("393232333337323033363835343737353a31", &d), 0);
}

static void
test_points_order(void)
{
	struct point a, b;
	struct cursor c = { true, 100, "2" };

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.t_us = 100;
	b.t_us = 100;
	util_strlcpy(a.probe_id, "1", sizeof(a.probe_id));
	util_strlcpy(b.probe_id, "3", sizeof(b.probe_id));
	CHECK(point_cmp(&a, &b) < 0);
	CHECK(!point_after(&a, &c));
	CHECK(point_after(&b, &c));
	b.t_us = 99;
	CHECK(point_cmp(&a, &b) > 0);
	CHECK(!point_after(&b, &c));
	c.set = false;
	CHECK(point_after(&b, &c));
}

static void
test_ids(void)
{
	char s[API_ID_MAX + 1];

	CHECK(api_id_valid("SIG-1"));
	CHECK(api_id_valid("we\"ird' i\\d"));
	CHECK(!api_id_valid(""));
	CHECK(!api_id_valid("a\tb"));
	CHECK(!api_id_valid("a\x7f"));
	memset(s, 'x', API_ID_MAX);
	s[API_ID_MAX] = '\0';
	CHECK(!api_id_valid(s));
	s[API_ID_MAX - 1] = '\0';
	CHECK(api_id_valid(s));
}

/* The fast writers say exactly what the common formatters say. */
static void
test_formatters(void)
{
	static const int64_t us[] = { 0, 1, 999, 1000, 1781526896123456,
		1781526896000000, 946684800000000, -1, -86400000001,
		951782400000000, 4107542399999000, 68169600000000 };
	static const double nums[] = { 225.5, 0, -0.0, -12.25, 100, 1e-4,
		0.0005, 99.9999, -40, 1234567.125, 3.14159, 1e13, -2.5e15 };
	char want[UTIL_TIME_LEN];
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < ARRAY_LEN(us); i++) {
		buf_reset(&b);
		point_put_time(&b, us[i]);
		util_time_format(us[i] * 1000, want, sizeof(want));
		CHECK_STR(b.data, want);
	}
	/* The microseconds written as such (and as milliseconds when whole). */
	buf_reset(&b);
	point_put_time(&b, 1781526896123456);
	CHECK_STR(b.data, "2026-06-15T12:34:56.123456Z");
	buf_reset(&b);
	point_put_time(&b, -1);
	CHECK_STR(b.data, "1969-12-31T23:59:59.999999Z");
	buf_reset(&b);
	point_put_time(&b, 4107542399999000);
	CHECK_STR(b.data, "2100-02-28T23:59:59.999Z");
	for (size_t i = 0; i < ARRAY_LEN(nums); i++) {
		double back;

		buf_reset(&b);
		point_put_num(&b, nums[i]);
		CHECK(util_parse_double(b.data, &back) == 0);
		CHECK_DBL(back, nums[i], 0.0005);
	}
	buf_reset(&b);
	point_put_num(&b, 107.50000000000001);
	CHECK_STR(b.data, "107.5");
	buf_reset(&b);
	point_put_num(&b, -0.0004);
	CHECK_STR(b.data, "0");
	buf_reset(&b);
	point_put_int(&b, INT64_MIN);
	CHECK_STR(b.data, "-9223372036854775808");
	buf_free(&b);
}

int
main(void)
{
	UNIT_RUN(test_query);
	UNIT_RUN(test_query_refused);
	UNIT_RUN(test_path);
	UNIT_RUN(test_routes);
	UNIT_RUN(test_cursor);
	UNIT_RUN(test_points_order);
	UNIT_RUN(test_ids);
	UNIT_RUN(test_formatters);
	return unit_done();
}
