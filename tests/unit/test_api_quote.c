/*
 * api quoting and the other small predicates: InfluxQL identifiers and
 * string literals (no input may change a query's meaning), the loopback
 * rule, CORS origins, JSON depth.
 */
#include <string.h>

#include "../../api/api.h"
#include "unit.h"

static const char *
q(int (*fn)(struct buf *, const char *), const char *s)
{
	static char out[256];
	struct buf b;

	buf_init(&b);
	if (fn(&b, s) == -1)
		util_strlcpy(out, "ERR", sizeof(out));
	else
		util_strlcpy(out, b.data, sizeof(out));
	buf_free(&b);
	return out;
}

static void
test_string_literals(void)
{
	CHECK_STR(q(iql_string, "SIG-1"), "'SIG-1'");
	CHECK_STR(q(iql_string, ""), "''");
	CHECK_STR(q(iql_string, "x' OR '1'='1"), "'x\\' OR \\'1\\'=\\'1'");
	CHECK_STR(q(iql_string, "a\\"), "'a\\\\'");
	CHECK_STR(q(iql_string, "a\\'; DROP DATABASE grilld; --"),
	    "'a\\\\\\'; DROP DATABASE grilld; --'");
	CHECK_STR(q(iql_string, "two\nlines"), "'two\\nlines'");
	CHECK_STR(q(iql_string, "\"double\""), "'\"double\"'");
	CHECK_STR(q(iql_string, "caf\xc3\xa9"), "'caf\xc3\xa9'");
	CHECK_STR(q(iql_string, "bad\xff"), "ERR");
}

static void
test_identifiers(void)
{
	CHECK_STR(q(iql_ident, "temperature"), "\"temperature\"");
	CHECK_STR(q(iql_ident, "a\"b"), "\"a\\\"b\"");
	CHECK_STR(q(iql_ident, "a\\b"), "\"a\\\\b\"");
	CHECK_STR(q(iql_ident, "x\" FROM \"y"), "\"x\\\" FROM \\\"y\"");
	CHECK_STR(q(iql_ident, "\xc0\xaf"), "ERR");
}

static void
test_loopback(void)
{
	CHECK(api_is_loopback("127.0.0.1:8080"));
	CHECK(api_is_loopback("127.1.2.3:1"));
	CHECK(api_is_loopback("localhost:8080"));
	CHECK(api_is_loopback("[::1]:8080"));
	CHECK(!api_is_loopback("0.0.0.0:8080"));
	CHECK(!api_is_loopback("[::]:8080"));
	CHECK(!api_is_loopback("192.168.1.5:8080"));
	CHECK(!api_is_loopback("8080"));
	CHECK(!api_is_loopback("128.0.0.1:80"));
}

static void
test_cors(void)
{
	const char *list = "https://grill.example, http://localhost:3000";

	CHECK(api_cors_allowed(list, "https://grill.example"));
	CHECK(api_cors_allowed(list, "http://localhost:3000"));
	CHECK(!api_cors_allowed(list, "https://grill.example.evil"));
	CHECK(!api_cors_allowed(list, "https://grill"));
	CHECK(!api_cors_allowed(list, "null"));
	CHECK(api_cors_allowed("*", "https://anything"));
	CHECK(!api_cors_allowed(NULL, "https://grill.example"));
	CHECK(!api_cors_allowed("", "https://grill.example"));
	CHECK(!api_cors_allowed(list, NULL));
}

static int
depth(const char *s)
{
	return api_json_depth(s, strlen(s));
}

static void
test_json_depth(void)
{
	CHECK_INT(depth("{}"), 1);
	CHECK_INT(depth("{\"a\": [[1], {\"b\": []}]}"), 4);
	CHECK_INT(depth("\"[[[[\""), 0);
	CHECK_INT(depth("[\"\\\"[[\"]"), 1);
	CHECK_INT(depth("[[[[[[[[[["), 10);
	CHECK_INT(depth("1"), 0);
}

int
main(void)
{
	UNIT_RUN(test_string_literals);
	UNIT_RUN(test_identifiers);
	UNIT_RUN(test_loopback);
	UNIT_RUN(test_cors);
	UNIT_RUN(test_json_depth);
	return unit_done();
}
