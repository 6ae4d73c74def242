/*
 * api influx_answer: InfluxDB /query answers walked in place: columns,
 * tags, statements, escapes, numbers, errors, and text that is not an
 * answer.
 */
#include <stdio.h>
#include <string.h>

#include "../../api/api.h"
#include "unit.h"

struct seen {
	int	 rows;
	int	 statement[8];
	char	 text[8][128];
};

static int
on_row(const struct iql_row *row, void *arg)
{
	struct seen *s = arg;
	char *t;
	size_t n = 0;

	if (s->rows == 8)
		return 1;
	s->statement[s->rows] = row->statement;
	t = s->text[s->rows++];
	t[0] = '\0';
	for (size_t i = 0; i < row->ncells; i++) {
		const struct iql_cell *c = row->cells[i];
		double v;

		if (c == NULL)
			n += (size_t)snprintf(t + n, 128 - n, "-|");
		else if (iql_str(c) != NULL)
			n += (size_t)snprintf(t + n, 128 - n, "s:%s|", iql_str(c));
		else if (iql_num(c, &v))
			n += (size_t)snprintf(t + n, 128 - n, "n:%.17g|", v);
		else
			n += (size_t)snprintf(t + n, 128 - n, "%d|", c->type);
	}
	return 0;
}

static int
walk(const char *json, const char *const *want, size_t nwant,
    struct seen *s, const char **err, const char **why)
{
	static struct buf b;	/* err and the strings live in it */

	memset(s, 0, sizeof(*s));
	buf_free(&b);
	buf_init(&b);
	buf_puts(&b, json);
	return iql_walk(&b, want, nwant, on_row, s, err, why);
}

static void
test_rows(void)
{
	static const char *const want[] = { "time", "value", "probe_id",
		"status" };
	const char *err, *why;
	struct seen s;

	CHECK_INT(walk("{\"results\":[{\"statement_id\":0,\"series\":[{"
	    "\"name\":\"temperature\",\"columns\":[\"time\",\"value\","
	    "\"probe_id\",\"status\"],\"values\":[[1781526896123456,225.5,"
	    "\"1\",\"NORMAL\"],[1781526896123457,-0.25,\"2\",null]]}]}]}",
	    want, 4, &s, &err, &why), 0);
	CHECK(err == NULL);
	CHECK_INT(s.rows, 2);
	CHECK_STR(s.text[0], "n:1781526896123456|n:225.5|s:1|s:NORMAL|");
	CHECK_STR(s.text[1], "n:1781526896123457|n:-0.25|s:2|0|");
}

static void
test_tags_and_order(void)
{
	static const char *const want[] = { "time", "value_c", "probe_id",
		"missing" };
	const char *err, *why;
	struct seen s;

	/* values before columns, the probe a tag, two series. */
	CHECK_INT(walk("{\"results\":[{\"statement_id\":0,\"series\":["
	    "{\"name\":\"t\",\"values\":[[60000000,1.5]],\"tags\":{"
	    "\"probe_id\":\"a\"},\"columns\":[\"time\",\"value_c\"]},"
	    "{\"name\":\"t\",\"tags\":{\"probe_id\":\"b\"},\"columns\":["
	    "\"time\",\"value_c\"],\"values\":[[60000000,2]],\"partial\":true}"
	    "]}]}", want, 4, &s, &err, &why), 0);
	CHECK_INT(s.rows, 2);
	CHECK_STR(s.text[0], "n:60000000|n:1.5|s:a|-|");
	CHECK_STR(s.text[1], "n:60000000|n:2|s:b|-|");
}

static void
test_statements_and_errors(void)
{
	static const char *const want[] = { "time", "first" };
	const char *err, *why;
	struct seen s;

	CHECK_INT(walk("{\"results\":[{\"statement_id\":0,\"series\":[{"
	    "\"columns\":[\"time\",\"count\"],\"values\":[[0,3]]}]},"
	    "{\"statement_id\":1,\"series\":[{\"columns\":[\"time\","
	    "\"first\"],\"values\":[[5,7]]}]},{\"statement_id\":2,"
	    "\"error\":\"boom\"}]}", want, 2, &s, &err, &why), 0);
	CHECK_INT(s.rows, 2);
	CHECK_INT(s.statement[0], 0);
	CHECK_INT(s.statement[1], 1);
	CHECK_STR(s.text[1], "n:5|n:7|");
	CHECK_STR(err, "boom");
	CHECK_INT(walk("{\"error\":\"error parsing query: x\"}", want, 2, &s,
	    &err, &why), 0);
	CHECK_STR(err, "error parsing query: x");
	CHECK_INT(walk("{\"results\":[{\"statement_id\":0}]}", want, 2, &s,
	    &err, &why), 0);
	CHECK_INT(s.rows, 0);
	CHECK(err == NULL);
}

static void
test_strings_and_numbers(void)
{
	static const char *const want[] = { "s", "n" };
	const char *err, *why;
	struct seen s;

	CHECK_INT(walk("{\"results\":[{\"series\":[{\"columns\":[\"s\","
	    "\"n\"],\"values\":[[\"a\\\"b\\\\c\\u00e9\\ud83d\\ude00\",0.1],"
	    "[\"x\\u0000y\",1e3],[\"\",123456789012345678901],"
	    "[\"t\\n\",-0.000123]]}]}]}", want, 2, &s, &err, &why), 0);
	CHECK_INT(s.rows, 4);
	CHECK_STR(s.text[0], "s:a\"b\\c\xc3\xa9\xf0\x9f\x98\x80|n:0.10000000000000001|");
	CHECK_STR(s.text[1], "s:x\xef\xbf\xbdy|n:1000|");
	CHECK_STR(s.text[2], "s:|n:1.2345678901234568e+20|");
	CHECK_STR(s.text[3], "s:t\n|n:-0.00012300000000000001|");
}

/* Every number reads as strtod reads it, to the last bit. */
static void
test_numbers_exact(void)
{
	static const char *const want[] = { "n" };
	const char *err, *why;
	unsigned seed = 7;
	char json[160], num[40];
	struct seen s;
	int bad = 0;

	for (int i = 0; i < 20000 && bad < 3; i++) {
		unsigned long long m;
		int digits = 12 + i % 7, point = 1 + i % 4;
		double want_v, got;

		seed = seed * 1103515245u + 12345u;
		m = ((unsigned long long)seed << 32 | (seed * 2654435761u)) %
		    10000000000000000000ull;
		snprintf(num, sizeof(num), "%0*llu", digits, m);
		num[digits] = '\0';
		memmove(num + point + 1, num + point, strlen(num + point) + 1);
		num[point] = '.';
		snprintf(json, sizeof(json), "{\"results\":[{\"series\":[{"
		    "\"columns\":[\"n\"],\"values\":[[%s]]}]}]}", num);
		want_v = strtod(num, NULL);
		if (walk(json, want, 1, &s, &err, &why) != 0 || s.rows != 1 ||
		    sscanf(s.text[0], "n:%lg|", &got) != 1 || got != want_v) {
			unit_fail(__FILE__, __LINE__, "%s read as %s", num,
			    s.text[0]);
			bad++;
		}
	}
}

/* A time is one InfluxDB could store: int64_t nanoseconds, as µs. */
static void
test_time_range(void)
{
	struct iql_cell c = { .type = IQL_NUM };
	int64_t us = 7;

	c.num = 1781526896123456;
	CHECK(iql_time_us(&c, &us));
	CHECK(us == INT64_C(1781526896123456));
	c.num = -9.1e15;
	CHECK(iql_time_us(&c, &us));
	CHECK(us == INT64_C(-9100000000000000));
	c.num = 9223372036854776.0;	/* past 2262: us * 1000 would overflow */
	CHECK(!iql_time_us(&c, &us));
	c.num = -1e18;
	CHECK(!iql_time_us(&c, &us));
	c.type = IQL_STR;
	c.num = 0;
	CHECK(!iql_time_us(&c, &us));
	CHECK(!iql_time_us(NULL, &us));
}

static void
test_not_answers(void)
{
	static const char *const want[] = { "time" };
	static const char *const bad[] = { "", "[]", "{", "{\"results\":",
		"{\"results\":[{\"series\":[{\"values\":[[1,]]}]}]}",
		"{\"results\":[{\"series\":[{\"values\":[[1]]}]}]} x",
		"{\"results\":[{\"series\":[{\"values\":[[\"a\tb\"]]}]}]}",
		"{\"results\":[{\"series\":[{\"values\":[[-]]}]}]}",
		"{\"results\":[{\"series\":[{\"values\":[[\"\\x\"]]}]}]}",
		"{\"results\":[{\"series\":[{\"values\":[[nul]]}]}]}",
		"{\"a\":\"unterminated}" };
	char deep[200];
	const char *err, *why;
	struct seen s;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		why = NULL;
		CHECK_INT(walk(bad[i], want, 1, &s, &err, &why), -1);
		CHECK(why != NULL);
	}
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	memcpy(deep, "{\"x\":", 5);
	CHECK_INT(walk(deep, want, 1, &s, &err, &why), -1);
	CHECK(strstr(why, "deep") != NULL);
}

int
main(void)
{
	UNIT_RUN(test_rows);
	UNIT_RUN(test_tags_and_order);
	UNIT_RUN(test_statements_and_errors);
	UNIT_RUN(test_strings_and_numbers);
	UNIT_RUN(test_numbers_exact);
	UNIT_RUN(test_time_range);
	UNIT_RUN(test_not_answers);
	return unit_done();
}
