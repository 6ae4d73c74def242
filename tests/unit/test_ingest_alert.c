/*
 * The alert state machine: hysteresis (a value hovering at a threshold
 * fires once), re-arm, "for", every rule kind, snooze and
 * acknowledgement through the hooks, repeats, and rule changes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../ingest/ingest.h"
#include "unit.h"

#define T0	(INT64_C(1700000000) * NS_PER_S)

static struct alert_event evs[64];
static int nev;
static int64_t snooze_until;
static bool acked;

static void
collect(void *arg, const struct alert_event *ev)
{
	if (nev < (int)ARRAY_LEN(evs))
		evs[nev] = *ev;
	nev++;
}

static int64_t
hook_snooze(void *arg, const char *key)
{
	return snooze_until;
}

static bool
hook_ack(void *arg, const char *key, const char *id)
{
	return acked;
}

static const struct alert_sink sink = { collect, NULL };
static const struct alert_hooks hooks = { hook_snooze, hook_ack, NULL };

static struct alerts *
with_rules(const char *const *json, size_t n)
{
	struct alerts *a = alerts_new(64, &hooks);
	struct alertrule *rules = calloc(n + 1, sizeof(*rules));
	struct reading_errs errs;

	for (size_t i = 0; i < n; i++)
		if (alertrule_parse(json[i], strlen(json[i]), &rules[i],
		    &errs) == -1)
			unit_fail(__FILE__, __LINE__, "rule %zu: %s: %s", i,
			    errs.e[0].field, errs.e[0].msg);
	alerts_set_rules(a, rules, n, T0, &sink);
	nev = 0;
	snooze_until = 0;
	acked = false;
	return a;
}

static void
reading(struct alerts *a, const char *dev, const char *probe, double v,
    char unit, int64_t ts, const struct cook_info *ci)
{
	struct reading r;

	reading_init(&r);
	util_strlcpy(r.device_id, dev, sizeof(r.device_id));
	util_strlcpy(r.probe_id, probe, sizeof(r.probe_id));
	r.unit = unit;
	r.ts_ns = ts;
	if (isnan(v))
		r.status = PROBE_NO_PROBE;
	else {
		r.value = v;
		r.has_value = true;
	}
	r.battery = 50;
	alerts_reading(a, &r, ci, ts, &sink);
	reading_clear(&r);
}

static void
test_above_hysteresis_rearm(void)
{
	const char *rules[] = { "{\"id\":\"hot\",\"kind\":\"above\","
	    "\"device_id\":\"d1\",\"probe_id\":\"1\",\"threshold\":225}" };
	struct alerts *a = with_rules(rules, 1);
	double hover[] = { 224.9, 225.1, 224.8, 225.3, 224.0, 225.2, 223.5 };
	int64_t ts = T0;

	for (size_t i = 0; i < ARRAY_LEN(hover); i++, ts += NS_PER_S)
		reading(a, "d1", "1", hover[i], 'F', ts, NULL);
	CHECK_INT(nev, 1);
	CHECK(evs[0].firing && evs[0].publish);
	CHECK_STR(evs[0].key, "hot/d1/1");
	CHECK_DBL(evs[0].value, 225.1, 1e-9);
	/* Back below 225 - 2: cleared, re-armed; then it fires again. */
	reading(a, "d1", "1", 222.9, 'F', ts += NS_PER_S, NULL);
	CHECK_INT(nev, 2);
	CHECK(!evs[1].firing && evs[1].publish);
	CHECK_STR(evs[1].alert_id, evs[0].alert_id);
	reading(a, "d1", "1", 226, 'F', ts += NS_PER_S, NULL);
	CHECK_INT(nev, 3);
	CHECK(evs[2].firing);
	CHECK(strcmp(evs[2].alert_id, evs[0].alert_id) != 0);
	/* Other probes and devices do not match. */
	reading(a, "d1", "2", 300, 'F', ts += NS_PER_S, NULL);
	reading(a, "d2", "1", 300, 'F', ts += NS_PER_S, NULL);
	CHECK_INT(nev, 3);
	/* A Celsius reading is compared in the rule's unit. */
	reading(a, "d1", "1", 100, 'C', ts += NS_PER_S, NULL);	/* 212 F */
	CHECK_INT(nev, 4);
	CHECK(!evs[3].firing);
	alerts_free(a);
}

static void
test_below_target_battery(void)
{
	const char *rules[] = {
		"{\"id\":\"cold\",\"kind\":\"below\",\"device_id\":\"*\","
		"\"threshold\":100,\"unit\":\"C\",\"hysteresis\":5}",
		"{\"id\":\"done\",\"kind\":\"target\",\"device_id\":\"d\","
		"\"probe_id\":\"2\",\"threshold\":203}",
		"{\"id\":\"batt\",\"kind\":\"battery_low\",\"device_id\":\"d\","
		"\"threshold\":60}",
	};
	struct alerts *a = with_rules(rules, 3);
	int64_t ts = T0;

	reading(a, "x", "1", 99, 'C', ts++, NULL);	/* cold fires (x/1) */
	CHECK_INT(nev, 1);
	CHECK_STR(evs[0].rule_id, "cold");
	reading(a, "x", "1", 104, 'C', ts++, NULL);	/* inside the band */
	CHECK_INT(nev, 1);
	reading(a, "x", "1", 105.5, 'C', ts++, NULL);	/* cleared */
	CHECK_INT(nev, 2);
	nev = 0;
	/* d/2 at 90 C: "cold" fires for d/2, battery 50 < 60 for d. */
	reading(a, "d", "2", 90, 'C', ts++, NULL);
	CHECK_INT(nev, 2);
	reading(a, "d", "2", 202.9, 'F', ts++, NULL);
	CHECK_INT(nev, 2);
	reading(a, "d", "2", 203, 'F', ts++, NULL);	/* target reached */
	CHECK_INT(nev, 3);
	CHECK_STR(evs[2].rule_id, "done");
	CHECK(evs[2].firing);
	CHECK_STR(evs[1].key, "batt/d/");
	reading(a, "d", "2", 204, 'F', ts++, NULL);
	CHECK_INT(nev, 3);
	alerts_free(a);
}

static void
test_for_duration(void)
{
	const char *rules[] = { "{\"id\":\"r\",\"kind\":\"above\","
	    "\"device_id\":\"d\",\"threshold\":100,\"for\":\"1m\"}" };
	struct alerts *a = with_rules(rules, 1);

	reading(a, "d", "1", 101, 'F', T0, NULL);
	reading(a, "d", "1", 101, 'F', T0 + 30 * NS_PER_S, NULL);
	CHECK_INT(nev, 0);
	reading(a, "d", "1", 99, 'F', T0 + 40 * NS_PER_S, NULL);  /* resets */
	reading(a, "d", "1", 101, 'F', T0 + 50 * NS_PER_S, NULL);
	reading(a, "d", "1", 101, 'F', T0 + 100 * NS_PER_S, NULL);
	CHECK_INT(nev, 0);
	reading(a, "d", "1", 101, 'F', T0 + 110 * NS_PER_S, NULL);
	CHECK_INT(nev, 1);
	alerts_free(a);
}

static void
test_rates_and_stall(void)
{
	const char *rules[] = {
		"{\"id\":\"up\",\"kind\":\"rise_rate\",\"device_id\":\"d\","
		"\"threshold\":2}",
		"{\"id\":\"st\",\"kind\":\"stall\",\"device_id\":\"d\","
		"\"probe_id\":\"1\"}",
	};
	struct alerts *a = with_rules(rules, 2);
	struct cook_info ci = { .has_rate = true, .target_c = NAN };
	double target;
	bool stall;

	CHECK(alerts_cook_wanted(a, "d", "1", &target, &stall));
	CHECK(stall);
	CHECK(isnan(target));
	ci.rate_c = 1.5;			/* 2.7 F/min > 2 */
	reading(a, "d", "1", 150, 'F', T0, &ci);
	CHECK_INT(nev, 1);
	CHECK_STR(evs[0].rule_id, "up");
	ci.rate_c = 1.0;			/* 1.8 F/min: in the band */
	reading(a, "d", "1", 151, 'F', T0 + NS_PER_S, &ci);
	CHECK_INT(nev, 1);
	ci.rate_c = 0.5;			/* 0.9 < 2 - 0.5: cleared */
	reading(a, "d", "1", 152, 'F', T0 + 2 * NS_PER_S, &ci);
	CHECK_INT(nev, 2);
	ci.rate_c = 0;
	ci.stall = true;
	reading(a, "d", "1", 152, 'F', T0 + 3 * NS_PER_S, &ci);
	CHECK_INT(nev, 3);
	CHECK_STR(evs[2].rule_id, "st");
	CHECK(evs[2].firing);
	ci.stall = false;
	reading(a, "d", "1", 155, 'F', T0 + 4 * NS_PER_S, &ci);
	CHECK_INT(nev, 4);
	CHECK(!evs[3].firing);
	alerts_free(a);
}

static void
test_disconnected_offline(void)
{
	const char *rules[] = {
		"{\"id\":\"gone\",\"kind\":\"disconnected\",\"device_id\":\"d\","
		"\"after\":\"2m\"}",
		"{\"id\":\"off\",\"kind\":\"offline\",\"device_id\":\"d\","
		"\"after\":\"5m\"}",
	};
	struct alerts *a = with_rules(rules, 2);

	reading(a, "d", "1", NAN, 'F', T0, NULL);	/* NO PROBE */
	CHECK_INT(nev, 1);
	CHECK_STR(evs[0].rule_id, "gone");
	reading(a, "d", "1", 70, 'F', T0 + NS_PER_S, NULL);
	CHECK_INT(nev, 2);
	CHECK(!evs[1].firing);
	/* Silence: the probe after 2 min, the device after 5. */
	alerts_tick(a, T0 + 60 * NS_PER_S, &sink);
	CHECK_INT(nev, 2);
	alerts_tick(a, T0 + 122 * NS_PER_S, &sink);
	CHECK_INT(nev, 3);
	CHECK_STR(evs[2].rule_id, "gone");
	alerts_tick(a, T0 + 302 * NS_PER_S, &sink);
	CHECK_INT(nev, 4);
	CHECK_STR(evs[3].rule_id, "off");
	CHECK_STR(evs[3].key, "off/d/");
	alerts_tick(a, T0 + 400 * NS_PER_S, &sink);
	CHECK_INT(nev, 4);			/* once */
	reading(a, "d", "1", 70, 'F', T0 + 401 * NS_PER_S, NULL);
	CHECK_INT(nev, 6);			/* both cleared */
	alerts_free(a);
}

static void
test_snooze_ack_repeat(void)
{
	const char *rules[] = { "{\"id\":\"hot\",\"kind\":\"above\","
	    "\"device_id\":\"d\",\"threshold\":100,\"repeat\":\"5m\"}" };
	struct alerts *a = with_rules(rules, 1);
	int64_t now = util_now_ns();

	/* Snoozed: it fires silently (state only). */
	snooze_until = now + 60 * NS_PER_S;
	reading(a, "d", "1", 120, 'F', now, NULL);
	CHECK_INT(nev, 1);
	CHECK(evs[0].firing && !evs[0].publish && !evs[0].notified);
	alerts_tick(a, now + 30 * NS_PER_S, &sink);
	CHECK_INT(nev, 1);
	/* The snooze is over and it still fires: announced now. */
	snooze_until = 0;
	alerts_tick(a, now + 61 * NS_PER_S, &sink);
	CHECK_INT(nev, 2);
	CHECK(evs[1].firing && evs[1].publish);
	/* Repeats every 5 minutes until acknowledged. */
	alerts_tick(a, now + 62 * NS_PER_S + 5 * 60 * NS_PER_S, &sink);
	CHECK_INT(nev, 3);
	CHECK_INT(evs[2].repeat, 1);
	acked = true;
	alerts_tick(a, now + 63 * NS_PER_S + 10 * 60 * NS_PER_S, &sink);
	CHECK_INT(nev, 3);
	/* Cleared while snoozed and never announced: no cleared event. */
	acked = false;
	reading(a, "d", "1", 50, 'F', now + 700 * NS_PER_S, NULL);
	CHECK_INT(nev, 4);
	CHECK(!evs[3].firing && evs[3].publish);
	snooze_until = now + 3600 * NS_PER_S;
	reading(a, "d", "1", 120, 'F', now + 701 * NS_PER_S, NULL);
	reading(a, "d", "1", 50, 'F', now + 702 * NS_PER_S, NULL);
	CHECK_INT(nev, 6);
	CHECK(!evs[4].publish && !evs[5].publish);
	alerts_free(a);
}

static void
test_rule_change_clears(void)
{
	const char *r1[] = { "{\"id\":\"hot\",\"kind\":\"above\","
	    "\"device_id\":\"d\",\"threshold\":100}" };
	struct alerts *a = with_rules(r1, 1);
	struct alertrule *nr = calloc(1, sizeof(*nr));
	const char *j = "{\"id\":\"hot\",\"kind\":\"above\",\"device_id\":"
	    "\"d\",\"threshold\":150}";
	uint64_t gen = alerts_generation(a);

	reading(a, "d", "1", 120, 'F', T0, NULL);
	CHECK_INT(nev, 1);
	CHECK_INT(alertrule_parse(j, strlen(j), nr, NULL), 0);
	alerts_set_rules(a, nr, 1, T0 + NS_PER_S, &sink);
	CHECK_INT(nev, 2);
	CHECK(!evs[1].firing);
	CHECK(alerts_generation(a) != gen);
	CHECK_INT(alerts_ninstances(a), 0);
	reading(a, "d", "1", 120, 'F', T0 + 2 * NS_PER_S, NULL);
	CHECK_INT(nev, 2);			/* 120 < 150 */
	alerts_free(a);
}

static void
test_event_json(void)
{
	const char *rules[] = { "{\"id\":\"hot\",\"kind\":\"above\","
	    "\"device_id\":\"d\\\"q\",\"threshold\":100,\"name\":\"Pit\"}" };
	struct alerts *a = with_rules(rules, 1);
	struct buf b;
	cJSON *j;

	reading(a, "d\"q", "1", 120, 'F', T0, NULL);
	CHECK_INT(nev, 1);
	buf_init(&b);
	CHECK_INT(alert_event_json(&b, &evs[0], "1-0"), 0);
	j = cJSON_Parse(b.data);
	CHECK(j != NULL);
	CHECK_STR(cJSON_GetObjectItem(j, "device_id")->valuestring, "d\"q");
	CHECK_STR(cJSON_GetObjectItem(j, "state")->valuestring, "firing");
	CHECK_STR(cJSON_GetObjectItem(j, "kind")->valuestring, "above");
	CHECK_STR(cJSON_GetObjectItem(j, "event_id")->valuestring, "1-0");
	CHECK_DBL(cJSON_GetObjectItem(j, "temperature")->valuedouble, 120, 0);
	CHECK_DBL(cJSON_GetObjectItem(j, "threshold")->valuedouble, 100, 0);
	cJSON_Delete(j);
	buf_reset(&b);
	CHECK_INT(alert_state_json(&b, &evs[0], T0), 0);
	j = cJSON_Parse(b.data);
	CHECK(j != NULL);
	CHECK_STR(cJSON_GetObjectItem(j, "state")->valuestring, "firing");
	CHECK_STR(cJSON_GetObjectItem(j, "alert_id")->valuestring,
	    evs[0].alert_id);
	cJSON_Delete(j);
	buf_free(&b);
	alerts_free(a);
}

int
main(void)
{
	UNIT_RUN(test_above_hysteresis_rearm);
	UNIT_RUN(test_below_target_battery);
	UNIT_RUN(test_for_duration);
	UNIT_RUN(test_rates_and_stall);
	UNIT_RUN(test_disconnected_offline);
	UNIT_RUN(test_snooze_ack_repeat);
	UNIT_RUN(test_rule_change_clears);
	UNIT_RUN(test_event_json);
	return unit_done();
}
