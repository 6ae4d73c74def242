/*
 * Alert rules: defaults, the canonical form read back, and a clear
 * error for each mistake (the API answers 422 with these).
 */
#include <string.h>

#include "alertrule.h"
#include "unit.h"

static int
parse(const char *j, struct alertrule *r, struct reading_errs *e)
{
	return alertrule_parse(j, strlen(j), r, e);
}

static void
test_defaults_and_roundtrip(void)
{
	struct alertrule r, r2;
	struct reading_errs e;
	char *s;
	cJSON *j;

	CHECK_INT(parse("{\"id\":\"brisket-done\",\"kind\":\"target\","
	    "\"device_id\":\"SIG-1\",\"probe_id\":\"2\",\"threshold\":203}",
	    &r, &e), 0);
	CHECK_INT(r.kind, ALERTRULE_TARGET);
	CHECK_INT(r.unit, 'F');
	CHECK_DBL(r.hysteresis, 2, 0);
	CHECK_STR(r.name, "brisket-done");
	CHECK(r.enabled && r.notify);
	CHECK_INT(r.for_ms, 0);
	CHECK(alertrule_matches(&r, "SIG-1", "2"));
	CHECK(!alertrule_matches(&r, "SIG-1", "1"));
	CHECK(!alertrule_matches(&r, "SIG-2", "2"));

	j = alertrule_to_json(&r);
	CHECK(j != NULL);
	s = cJSON_PrintUnformatted(j);
	CHECK_INT(parse(s, &r2, &e), 0);
	CHECK(memcmp(&r, &r2, sizeof(r)) == 0);
	cJSON_free(s);
	cJSON_Delete(j);

	CHECK_INT(parse("{\"id\":\"b\",\"kind\":\"battery_low\","
	    "\"device_id\":\"*\"}", &r, &e), 0);
	CHECK_DBL(r.threshold, 20, 0);
	CHECK_DBL(r.hysteresis, 5, 0);
	CHECK(alertrule_matches(&r, "anything", "x"));
	CHECK_INT(parse("{\"id\":\"r\",\"kind\":\"rise_rate\","
	    "\"device_id\":\"d\",\"threshold\":4,\"unit\":\"c\","
	    "\"for\":90,\"repeat\":\"10m\",\"enabled\":false}", &r, &e), 0);
	CHECK_DBL(r.hysteresis, 1, 0);
	CHECK_INT(r.unit, 'C');
	CHECK_INT(r.for_ms, 90000);
	CHECK_INT(r.repeat_ms, 600000);
	CHECK(!r.enabled);
	CHECK_INT(parse("{\"id\":\"o\",\"kind\":\"offline\",\"device_id\":"
	    "\"d\",\"after\":\"10m\"}", &r, &e), 0);
	CHECK_INT(r.after_ms, 600000);
}

static void
check_error(const char *json, const char *field)
{
	struct alertrule r;
	struct reading_errs e;

	if (parse(json, &r, &e) != -1 || reading_errs_get(&e, field) == NULL)
		unit_fail(__FILE__, __LINE__, "%s: no error for %s", json,
		    field);
}

static void
test_errors(void)
{
	check_error("", "rule");
	check_error("[1]", "rule");
	check_error("{\"kind\":\"above\",\"device_id\":\"d\",\"threshold\":1}",
	    "id");
	check_error("{\"id\":\"a b\",\"kind\":\"above\",\"device_id\":\"d\","
	    "\"threshold\":1}", "id");
	check_error("{\"id\":\"a\",\"kind\":\"hotter\",\"device_id\":\"d\"}",
	    "kind");
	check_error("{\"id\":\"a\",\"kind\":\"above\",\"threshold\":1}",
	    "device_id");
	check_error("{\"id\":\"a\",\"kind\":\"above\",\"device_id\":\"d\"}",
	    "threshold");
	check_error("{\"id\":\"a\",\"kind\":\"above\",\"device_id\":\"d\","
	    "\"threshold\":\"hot\"}", "threshold");
	check_error("{\"id\":\"a\",\"kind\":\"stall\",\"device_id\":\"d\","
	    "\"threshold\":1}", "threshold");
	check_error("{\"id\":\"a\",\"kind\":\"rise_rate\",\"device_id\":\"d\","
	    "\"threshold\":-1}", "threshold");
	check_error("{\"id\":\"a\",\"kind\":\"battery_low\",\"device_id\":"
	    "\"d\",\"threshold\":101}", "threshold");
	check_error("{\"id\":\"a\",\"kind\":\"above\",\"device_id\":\"d\","
	    "\"threshold\":1,\"unit\":\"K\"}", "unit");
	check_error("{\"id\":\"a\",\"kind\":\"target\",\"device_id\":\"d\","
	    "\"threshold\":1,\"unit\":\"H\"}", "unit");
	check_error("{\"id\":\"a\",\"kind\":\"above\",\"device_id\":\"d\","
	    "\"threshold\":1,\"hysteresis\":-2}", "hysteresis");
	check_error("{\"id\":\"a\",\"kind\":\"above\",\"device_id\":\"d\","
	    "\"threshold\":1,\"for\":\"soon\"}", "for");
	check_error("{\"id\":\"a\",\"kind\":\"above\",\"device_id\":\"d\","
	    "\"threshold\":1,\"repeat\":\"5s\"}", "repeat");
	check_error("{\"id\":\"a\",\"kind\":\"above\",\"device_id\":\"d\","
	    "\"threshold\":1,\"after\":\"5m\"}", "after");
	check_error("{\"id\":\"a\",\"kind\":\"offline\",\"device_id\":\"d\","
	    "\"probe_id\":\"1\"}", "probe_id");
	check_error("{\"id\":\"a\",\"kind\":\"above\",\"device_id\":\"d\","
	    "\"threshold\":1,\"treshold\":2}", "treshold");
	check_error("{\"id\":\"a\",\"id\":\"b\",\"kind\":\"above\","
	    "\"device_id\":\"d\",\"threshold\":1}", "id");
	check_error("{\"id\":\"a\",\"kind\":\"above\",\"device_id\":\"d\","
	    "\"threshold\":1,\"enabled\":1}", "enabled");
}

int
main(void)
{
	UNIT_RUN(test_defaults_and_roundtrip);
	UNIT_RUN(test_errors);
	return unit_done();
}
