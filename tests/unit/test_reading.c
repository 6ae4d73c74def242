/*
 * reading: parsing (and every way it refuses), validation, units, and
 * the two JSON writers agreeing with each other.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reading.h"
#include "unit.h"

/* 2026-01-02T03:04:05Z: every test runs at this time. */
#define NOW_NS (INT64_C(1767323045) * NS_PER_S)

static struct reading_limits lim;

static int
parse(const char *json, struct reading *r, struct reading_errs *errs)
{
	return reading_parse(json, strlen(json), r, &lim, errs);
}

/* Parses json expecting failure with an error for field. */
static const char *
bad(const char *json, const char *field)
{
	static char msg[256];
	struct reading_errs errs;
	struct reading r;
	const char *m;

	if (parse(json, &r, &errs) == 0) {
		reading_clear(&r);
		return "ACCEPTED";
	}
	reading_clear(&r);
	if ((m = reading_errs_get(&errs, field)) == NULL) {
		snprintf(msg, sizeof(msg), "NO ERROR FOR %s (first: %s: %s)",
		    field, errs.n ? errs.e[0].field : "-",
		    errs.n ? errs.e[0].msg : "-");
		return msg;
	}
	snprintf(msg, sizeof(msg), "%s", m);
	return msg;
}

static void
test_parse_full(void)
{
	const char *json = "{\"device_id\":\"grill-1\",\"probe_id\":\"p1\","
	    "\"temperature\":225.5,\"unit\":\"F\","
	    "\"timestamp\":\"2026-01-02T03:04:00.123456789Z\","
	    "\"battery_level\":87,\"signal_strength\":-61,"
	    "\"status\":\"NORMAL\",\"source\":\"thermoworks\","
	    "\"label\":\"Brisket\",\"flags\":3,"
	    "\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-"
	    "00f067aa0ba902b7-01\",\"metadata\":{\"model\":\"Signals\","
	    "\"fw\":[1,2]},\"extra\":\"ignored\"}";
	struct reading_errs errs;
	struct reading r;

	CHECK_INT(parse(json, &r, &errs), 0);
	CHECK_INT(errs.n, 0);
	CHECK_STR(r.device_id, "grill-1");
	CHECK_STR(r.probe_id, "p1");
	CHECK(r.has_value);
	CHECK(r.value == 225.5);
	CHECK_INT(r.unit, 'F');
	CHECK_INT(r.ts_ns, NOW_NS - 5 * NS_PER_S + 123456789);
	CHECK_INT(r.battery, 87);
	CHECK_INT(r.signal, -61);
	CHECK_INT(r.status, PROBE_NORMAL);
	CHECK_STR(r.source, "thermoworks");
	CHECK_STR(r.label, "Brisket");
	CHECK_INT(r.flags, READING_F_ZSCORE | READING_F_RATE);
	CHECK_STR(r.traceparent,
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	CHECK(cJSON_IsObject(r.metadata));
	CHECK_STR(cJSON_GetObjectItem(r.metadata, "model")->valuestring,
	    "Signals");
	CHECK_INT(reading_validate(&r, &lim, &errs), 0);
	reading_clear(&r);
	CHECK(r.metadata == NULL);
}

static void
test_parse_defaults(void)
{
	struct reading_errs errs;
	struct reading r;

	/* Not NUL-terminated: only len bytes count. */
	const char json[] = "{\"device_id\":\"d\",\"temperature\":70}XXXX";

	CHECK_INT(reading_parse(json, sizeof(json) - 5, &r, &lim, &errs), 0);
	CHECK_STR(r.device_id, "d");
	CHECK_STR(r.probe_id, "");
	CHECK_INT(r.unit, 'F');
	CHECK_INT(r.ts_ns, NOW_NS);
	CHECK_INT(r.battery, READING_NO_BATTERY);
	CHECK_INT(r.signal, READING_NO_SIGNAL);
	CHECK_INT(r.status, PROBE_UNKNOWN);
	CHECK_INT(r.flags, 0);
	CHECK(r.metadata == NULL);
	reading_clear(&r);

	/* null is the same as absent; whitespace around is fine. */
	CHECK_INT(parse(" {\"device_id\":\"d\",\"temperature\":70,"
	    "\"probe_id\":null,\"unit\":null,\"timestamp\":null,"
	    "\"battery_level\":null,\"signal_strength\":null,"
	    "\"status\":null,\"metadata\":null,\"flags\":null,"
	    "\"label\":null,\"source\":null,\"traceparent\":null}\n", &r,
	    &errs), 0);
	CHECK_INT(r.battery, READING_NO_BATTERY);
	CHECK_INT(r.ts_ns, NOW_NS);
	reading_clear(&r);

	/* Units in any case. */
	CHECK_INT(parse("{\"device_id\":\"d\",\"temperature\":300,"
	    "\"unit\":\"k\"}", &r, &errs), 0);
	CHECK_INT(r.unit, 'K');
	reading_clear(&r);
	CHECK_INT(parse("{\"device_id\":\"d\",\"temperature\":55,"
	    "\"unit\":\"H\"}", &r, &errs), 0);
	CHECK_INT(r.unit, 'H');
	reading_clear(&r);
}

static void
test_no_probe(void)
{
	struct reading_errs errs;
	struct reading r;

	CHECK_INT(parse("{\"device_id\":\"d\",\"temperature\":null,"
	    "\"status\":\"NO PROBE\"}", &r, &errs), 0);
	CHECK(!r.has_value);
	CHECK_INT(r.status, PROBE_NO_PROBE);
	reading_clear(&r);
	/* No temperature at all is fine when the probe is out. */
	CHECK_INT(parse("{\"device_id\":\"d\",\"status\":\"no_probe\"}", &r,
	    &errs), 0);
	CHECK(!r.has_value);
	reading_clear(&r);
	/* A placeholder value from an unplugged probe is dropped. */
	CHECK_INT(parse("{\"device_id\":\"d\",\"temperature\":-1,"
	    "\"status\":\"No Probe\"}", &r, &errs), 0);
	CHECK(!r.has_value);
	CHECK_INT(reading_validate(&r, &lim, &errs), 0);
	reading_clear(&r);
	/* null without a status means unplugged. */
	CHECK_INT(parse("{\"device_id\":\"d\",\"temperature\":null}", &r,
	    &errs), 0);
	CHECK(!r.has_value);
	CHECK_INT(r.status, PROBE_NO_PROBE);
	reading_clear(&r);
	CHECK_INT(parse("{\"device_id\":\"d\",\"temperature\":null,"
	    "\"status\":\"LOW\"}", &r, &errs), 0);
	CHECK(!r.has_value);
	CHECK_INT(r.status, PROBE_LOW);
	reading_clear(&r);
	CHECK_STR(bad("{\"device_id\":\"d\"}", "temperature"),
	    "is required (null when no probe is plugged in)");
	CHECK_STR(bad("{\"device_id\":\"d\",\"status\":\"HIGH\"}",
	    "temperature"), "is required (null when no probe is plugged in)");
}

static void
test_malformed(void)
{
	CHECK_STR(bad("", "reading"), "is empty");
	CHECK_STR(bad("{\"device_id\":", "reading"),
	    "is not valid JSON (at byte 12)");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,}", "reading"),
	    "is not valid JSON (at byte 33)");
	CHECK(strncmp(bad("{'device_id':'d'}", "reading"),
	    "is not valid JSON (at byte ", 27) == 0);
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1} x", "reading"),
	    "has data after the JSON value (at byte 34)");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1}{}", "reading"),
	    "has data after the JSON value (at byte 33)");
	CHECK_STR(bad("[{\"device_id\":\"d\",\"temperature\":1}]", "reading"),
	    "must be a JSON object");
	CHECK_STR(bad("\"d\"", "reading"), "must be a JSON object");
	CHECK_STR(bad("null", "reading"), "must be a JSON object");
	CHECK_STR(bad("42", "reading"), "must be a JSON object");
}

static void
test_bad_bytes(void)
{
	struct reading_errs errs;
	struct reading r;
	const char nul[] = "{\"device_id\":\"a\0b\",\"temperature\":1}";

	CHECK_STR(bad("{\"device_id\":\"\xff\",\"temperature\":1}", "reading"),
	    "is not valid UTF-8");
	CHECK_STR(bad("{\"device_id\":\"\xc0\xaf\",\"temperature\":1}",
	    "reading"), "is not valid UTF-8");
	CHECK_STR(bad("{\"device_id\":\"\xed\xa0\x80\",\"temperature\":1}",
	    "reading"), "is not valid UTF-8");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,\"x\":\"\xe2\x82"
	    "\"}", "reading"), "is not valid UTF-8");
	CHECK_INT(reading_parse(nul, sizeof(nul) - 1, &r, &lim, &errs), -1);
	CHECK_STR(reading_errs_get(&errs, "reading"), "contains a NUL byte");
	reading_clear(&r);
	CHECK_STR(bad("{\"device_id\":\"a\\u0000b\",\"temperature\":1}",
	    "reading"), "contains \\u0000");
	/* An escaped backslash followed by "u0000" is plain text. */
	CHECK_INT(parse("{\"device_id\":\"a\\\\u0000b\",\"temperature\":1}",
	    &r, &errs), 0);
	CHECK_STR(r.device_id, "a\\u0000b");
	reading_clear(&r);
	/* A lone surrogate escape is not text. */
	CHECK(strncmp(bad("{\"device_id\":\"\\ud800\",\"temperature\":1}",
	    "reading"), "is not valid JSON (at byte ", 27) == 0);
	/* Valid UTF-8 passes, escaped or raw. */
	CHECK_INT(parse("{\"device_id\":\"caf\xc3\xa9-\\u2603\","
	    "\"temperature\":1}", &r, &errs), 0);
	CHECK_STR(r.device_id, "caf\xc3\xa9-\xe2\x98\x83");
	reading_clear(&r);
}

static void
test_non_finite(void)
{
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":NaN}", "reading"),
	    "is not valid JSON (at byte 31)");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":nan}", "reading"),
	    "is not valid JSON (at byte 31)");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":Infinity}",
	    "reading"), "is not valid JSON (at byte 31)");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":-Infinity}",
	    "reading"), "is not valid JSON (at byte 31)");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1e999}",
	    "temperature"), "must be a finite number");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":-1e999}",
	    "temperature"), "must be a finite number");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"battery_level\":1e999}", "battery_level"),
	    "must be an integer from 0 to 100");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"signal_strength\":-1e999}", "signal_strength"),
	    "must be a number from -200 to 200");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":1e999}", "timestamp"), "is out of range");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"flags\":1e999}", "flags"),
	    "must be an integer from 0 to 4294967295");
}

static void
test_wrong_types(void)
{
	CHECK_STR(bad("{\"device_id\":5,\"temperature\":1}", "device_id"),
	    "must be a string");
	CHECK_STR(bad("{\"device_id\":[\"d\"],\"temperature\":1}",
	    "device_id"), "must be a string");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":\"70\"}",
	    "temperature"), "must be a number or null");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":true}",
	    "temperature"), "must be a number or null");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,\"probe_id\":{}}",
	    "probe_id"), "must be a string or null");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,\"unit\":1}",
	    "unit"), "must be a string");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":true}", "timestamp"), "must be an RFC 3339 string "
	    "or a number of Unix seconds or milliseconds");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"battery_level\":\"50\"}", "battery_level"),
	    "must be an integer from 0 to 100");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"battery_level\":50.5}", "battery_level"),
	    "must be an integer from 0 to 100");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"signal_strength\":\"x\"}", "signal_strength"),
	    "must be a number from -200 to 200");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,\"status\":1}",
	    "status"), "must be a string");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"metadata\":[]}", "metadata"), "must be an object or null");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"metadata\":\"x\"}", "metadata"), "must be an object or null");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,\"flags\":1.5}",
	    "flags"), "must be an integer from 0 to 4294967295");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,\"flags\":-1}",
	    "flags"), "must be an integer from 0 to 4294967295, not -1");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,\"label\":7}",
	    "label"), "must be a string or null");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,\"source\":[]}",
	    "source"), "must be a string or null");
}

static void
test_ids(void)
{
	char json[256];

	CHECK_STR(bad("{\"temperature\":1}", "device_id"), "is required");
	CHECK_STR(bad("{\"device_id\":null,\"temperature\":1}", "device_id"),
	    "is required");
	CHECK_STR(bad("{\"device_id\":\"\",\"temperature\":1}", "device_id"),
	    "is required");
	snprintf(json, sizeof(json), "{\"device_id\":\"%064d\","
	    "\"temperature\":1}", 0);
	CHECK_STR(bad(json, "device_id"), "is longer than 63 bytes");
	snprintf(json, sizeof(json), "{\"device_id\":\"%063d\","
	    "\"temperature\":1}", 0);
	CHECK_STR(bad(json, "device_id"), "ACCEPTED");
	snprintf(json, sizeof(json), "{\"device_id\":\"d\",\"probe_id\":"
	    "\"%070d\",\"temperature\":1}", 0);
	CHECK_STR(bad(json, "probe_id"), "is longer than 63 bytes");
	CHECK_STR(bad("{\"device_id\":\"d\",\"source\":\"0123456789abcdef\","
	    "\"temperature\":1}", "source"), "is longer than 15 bytes");
	CHECK_STR(bad("{\"device_id\":\"a\\nb\",\"temperature\":1}",
	    "device_id"), "must not contain control characters");
	CHECK_STR(bad("{\"device_id\":\"a\tb\",\"temperature\":1}",
	    "device_id"), "must not contain control characters");
	CHECK_STR(bad("{\"device_id\":\"d\",\"probe_id\":\"\\u007f\","
	    "\"temperature\":1}", "probe_id"),
	    "must not contain control characters");
	CHECK_STR(bad("{\"device_id\":\"d\",\"label\":\"x\\u0001\","
	    "\"temperature\":1}", "label"),
	    "must not contain control characters");
	CHECK_STR(bad("{\"device_id\":\"d\",\"device_id\":\"e\","
	    "\"temperature\":1}", "device_id"), "is given more than once");
	/* Field names are case-sensitive: DEVICE_ID is another field. */
	CHECK_STR(bad("{\"DEVICE_ID\":\"d\",\"temperature\":1}", "device_id"),
	    "is required");
}

static void
test_timestamps(void)
{
	struct reading_errs errs;
	struct reading r;

	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":\"1900-01-01T00:00:00Z\"}", "timestamp"),
	    "1900-01-01T00:00:00.000Z is before 2000-01-01T00:00:00.000Z");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":\"1999-12-31T23:59:59.999Z\"}", "timestamp"),
	    "1999-12-31T23:59:59.999Z is before 2000-01-01T00:00:00.000Z");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":\"3000-01-01T00:00:00Z\"}", "timestamp"),
	    "\"3000-01-01T00:00:00Z\" is not an RFC 3339 time from the years "
	    "1678 to 2261");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":\"2200-01-01T00:00:00Z\"}", "timestamp"),
	    "2200-01-01T00:00:00.000Z is more than 300 s in the future");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":\"2026-01-02T03:10:00Z\"}", "timestamp"),
	    "2026-01-02T03:10:00.000Z is more than 300 s in the future");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":\"2026-01-02T03:09:00Z\"}", "timestamp"),
	    "ACCEPTED");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":\"garbage\\n\"}", "timestamp"),
	    "\"garbage?\" is not an RFC 3339 time from the years 1678 to 2261");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":\"2026-13-01T00:00:00Z\"}", "timestamp"),
	    "\"2026-13-01T00:00:00Z\" is not an RFC 3339 time from the years "
	    "1678 to 2261");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":\"\"}", "timestamp"),
	    "\"\" is not an RFC 3339 time from the years 1678 to 2261");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":0}", "timestamp"),
	    "1970-01-01T00:00:00.000Z is before 2000-01-01T00:00:00.000Z");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":1e20}", "timestamp"), "is out of range");

	/* Numbers: seconds below 1e11, milliseconds above. */
	CHECK_INT(parse("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":1767323040.25}", &r, &errs), 0);
	CHECK_INT(r.ts_ns, NOW_NS - 5 * NS_PER_S + 250 * NS_PER_MS);
	reading_clear(&r);
	CHECK_INT(parse("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":1767323040250}", &r, &errs), 0);
	CHECK_INT(r.ts_ns, NOW_NS - 5 * NS_PER_S + 250 * NS_PER_MS);
	reading_clear(&r);
	/* Zones and grill-stats' naive times (UTC). */
	CHECK_INT(parse("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":\"2026-01-02T04:04:05+01:00\"}", &r, &errs), 0);
	CHECK_INT(r.ts_ns, NOW_NS);
	reading_clear(&r);
	CHECK_INT(parse("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"timestamp\":\"2026-01-02T03:04:05\"}", &r, &errs), 0);
	CHECK_INT(r.ts_ns, NOW_NS);
	reading_clear(&r);
}

static void
test_units_status_battery(void)
{
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,\"unit\":\"X\"}",
	    "unit"), "unknown unit \"X\" (use F, C, K or H)");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"unit\":\"FF\"}", "unit"),
	    "unknown unit \"FF\" (use F, C, K or H)");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,\"unit\":\"\"}",
	    "unit"), "unknown unit \"\" (use F, C, K or H)");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"unit\":\"celsius\"}", "unit"),
	    "unknown unit \"celsius\" (use F, C, K or H)");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"status\":\"BOGUS\"}", "status"),
	    "unknown status \"BOGUS\" (use NORMAL, LOW, HIGH or NO PROBE)");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"battery_level\":101}", "battery_level"),
	    "must be an integer from 0 to 100, not 101");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"battery_level\":-1}", "battery_level"),
	    "must be an integer from 0 to 100, not -1");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"battery_level\":100}", "battery_level"), "ACCEPTED");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"battery_level\":0}", "battery_level"), "ACCEPTED");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"signal_strength\":-201}", "signal_strength"),
	    "must be from -200 to 200, not -201");
	CHECK_STR(bad("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"flags\":64}", "flags"), "has unknown bits 0x40");
}

static void
test_signal_trace_meta(void)
{
	struct reading_errs errs;
	struct reading r;
	char deep[256];
	size_t n = 0;

	CHECK_INT(parse("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"signal_strength\":-67.6,\"traceparent\":\"garbage\"}", &r,
	    &errs), 0);
	CHECK_INT(r.signal, -68);
	CHECK_STR(r.traceparent, "");	/* ignored, as W3C asks */
	reading_clear(&r);
	CHECK_INT(parse("{\"device_id\":\"d\",\"temperature\":1,"
	    "\"traceparent\":\"00-00000000000000000000000000000000-"
	    "00f067aa0ba902b7-01\"}", &r, &errs), 0);
	CHECK_STR(r.traceparent, "");
	reading_clear(&r);

	n += (size_t)snprintf(deep, sizeof(deep),
	    "{\"device_id\":\"d\",\"temperature\":1,\"metadata\":");
	for (int i = 0; i < 17; i++)
		deep[n++] = '{', deep[n++] = '"', deep[n++] = 'a',
		deep[n++] = '"', deep[n++] = ':';
	deep[n++] = '1';
	for (int i = 0; i < 18; i++)
		deep[n++] = '}';
	deep[n] = '\0';
	CHECK_STR(bad(deep, "metadata"), "is nested deeper than 16 levels");
}

static void
test_many_errors(void)
{
	struct reading_errs errs;
	struct reading r;
	struct buf b;

	CHECK_INT(parse("{\"temperature\":\"hot\",\"unit\":\"X\","
	    "\"battery_level\":101,\"timestamp\":\"garbage\","
	    "\"status\":\"??\",\"flags\":-3}", &r, &errs), -1);
	CHECK_INT(errs.n, 7);
	CHECK(reading_errs_get(&errs, "device_id") != NULL);
	CHECK(reading_errs_get(&errs, "temperature") != NULL);
	CHECK(reading_errs_get(&errs, "unit") != NULL);
	CHECK(reading_errs_get(&errs, "battery_level") != NULL);
	CHECK(reading_errs_get(&errs, "timestamp") != NULL);
	CHECK(reading_errs_get(&errs, "status") != NULL);
	CHECK(reading_errs_get(&errs, "flags") != NULL);
	reading_clear(&r);

	/* One error per field: a type error is not repeated by the checks. */
	CHECK_INT(parse("{\"battery_level\":101}", &r, &errs), -1);
	CHECK_INT(errs.n, 3);
	CHECK_STR(reading_errs_get(&errs, "battery_level"),
	    "must be an integer from 0 to 100, not 101");
	buf_init(&b);
	CHECK_INT(reading_errs_format(&errs, &b), 0);
	CHECK_STR(b.data, "device_id: is required; temperature: is required "
	    "(null when no probe is plugged in); battery_level: must be an "
	    "integer from 0 to 100, not 101");
	buf_free(&b);
	reading_clear(&r);
}

static void
test_errs_bounds(void)
{
	struct reading_errs errs;
	char field[64], big[400];
	struct buf b;
	size_t i;

	reading_errs_init(&errs);
	for (i = 0; i < 20; i++) {
		snprintf(field, sizeof(field), "%zu_field_with_a_name_too_long_"
		    "to_fit", i);
		reading_errs_add(&errs, field, "bad %zu", i);
	}
	reading_errs_add(&errs, "0_field_with_a_name_too_long_to_fit",
	    "again");
	reading_errs_add(&errs, "0_field_with_a_name_too_long_to_fXX",
	    "same once cut");
	CHECK_INT(errs.n, READING_ERRS_MAX);
	CHECK_INT(errs.dropped, 4);
	CHECK_STR(errs.e[0].msg, "bad 0");
	/* Field names are cut to fit. */
	CHECK_INT(strlen(errs.e[10].field), sizeof(errs.e[10].field) - 1);

	/* Messages are cut on a character boundary, never inside one. */
	for (i = 0; i + 2 < sizeof(big); i += 2)
		big[i] = '\xc3', big[i + 1] = '\xa9';
	big[i] = '\0';
	reading_errs_init(&errs);
	reading_errs_add(&errs, "x", "%s", big);
	CHECK_INT(strlen(errs.e[0].msg), 126);
	CHECK(util_utf8_valid(errs.e[0].msg, strlen(errs.e[0].msg)));
	reading_errs_add(&errs, "y", "%s", "\xe2\x98\x83\xe2\x98\x83");
	CHECK_STR(errs.e[1].msg, "\xe2\x98\x83\xe2\x98\x83");
	buf_init(&b);
	reading_errs_init(&errs);
	for (i = 0; i < 18; i++) {
		snprintf(field, sizeof(field), "f%zu", i);
		reading_errs_add(&errs, field, "m");
	}
	CHECK_INT(reading_errs_format(&errs, &b), 0);
	CHECK(strstr(b.data, "f15: m (and 2 more)") != NULL);
	buf_free(&b);
	/* NULL errs is allowed everywhere. */
	reading_errs_add(NULL, "x", "y");
}

static void
test_validate(void)
{
	struct reading_errs errs;
	struct reading_limits l = lim;
	struct reading r;

	reading_init(&r);
	util_strlcpy(r.device_id, "d", sizeof(r.device_id));
	r.has_value = true;
	r.ts_ns = NOW_NS;

#define RANGE(u, v, ok)                                                   \
	do {                                                              \
		r.unit = (u);                                             \
		r.value = (v);                                            \
		CHECK_INT(reading_validate(&r, &lim, &errs), (ok) ? 0 : -1); \
	} while (0)
	RANGE('F', 1000, true);
	RANGE('F', 1000.1, false);
	CHECK_STR(reading_errs_get(&errs, "temperature"),
	    "1000.1 F is outside -58..1000 F");
	RANGE('F', -58, true);
	RANGE('F', -58.1, false);
	RANGE('C', -50, true);
	RANGE('C', 537.7, true);
	RANGE('C', 537.8, false);
	CHECK_STR(reading_errs_get(&errs, "temperature"),
	    "537.8 C is outside -50..537.778 C");
	RANGE('K', 223.15, true);
	RANGE('K', 223.1, false);
	CHECK_STR(reading_errs_get(&errs, "temperature"),
	    "223.1 K is outside 223.15..810.928 K");
	RANGE('H', 0, true);
	RANGE('H', 100, true);
	RANGE('H', 100.5, false);
	CHECK_STR(reading_errs_get(&errs, "temperature"),
	    "humidity 100.5 % is outside 0..100 %");
	RANGE('H', -1, false);
	RANGE('H', 1500, false);	/* humidity is never read as F */
	RANGE('F', NAN, false);
	CHECK_STR(reading_errs_get(&errs, "temperature"),
	    "must be a finite number");
	RANGE('F', INFINITY, false);
	RANGE('X', 70, false);
	CHECK_STR(reading_errs_get(&errs, "unit"), "must be F, C, K or H");
#undef RANGE

	/* Custom limits. */
	r.unit = 'C';
	r.value = 90;
	l.temp_max_c = 80;
	CHECK_INT(reading_validate(&r, &l, &errs), -1);
	CHECK_INT(reading_validate(&r, &lim, &errs), 0);
	l = lim;
	l.max_future_ns = 0;
	r.ts_ns = NOW_NS + 1;
	CHECK_INT(reading_validate(&r, &l, &errs), -1);
	r.ts_ns = NOW_NS;
	CHECK_INT(reading_validate(&r, &l, &errs), 0);
	/* NULL limits: the defaults and the clock. */
	r.ts_ns = util_now_ns();
	CHECK_INT(reading_validate(&r, NULL, NULL), 0);
	r.ts_ns = NOW_NS;

	/* Everything the struct can get wrong, reported at once. */
	memset(r.device_id, 'x', sizeof(r.device_id));
	r.probe_id[0] = '\x01';
	r.status = PROBE_NO_PROBE;
	r.battery = 150;
	r.signal = 999;
	r.flags = 0x100;
	util_strlcpy(r.traceparent, "nope", sizeof(r.traceparent));
	r.ts_ns = 0;
	CHECK_INT(reading_validate(&r, &lim, &errs), -1);
	CHECK_STR(reading_errs_get(&errs, "device_id"), "is not terminated");
	CHECK_STR(reading_errs_get(&errs, "probe_id"),
	    "must not contain control characters");
	CHECK_STR(reading_errs_get(&errs, "temperature"),
	    "must be null when status is NO PROBE");
	CHECK_STR(reading_errs_get(&errs, "battery_level"),
	    "must be an integer from 0 to 100, not 150");
	CHECK_STR(reading_errs_get(&errs, "signal_strength"),
	    "must be from -200 to 200, not 999");
	CHECK_STR(reading_errs_get(&errs, "flags"), "has unknown bits 0x100");
	CHECK_STR(reading_errs_get(&errs, "traceparent"),
	    "is not a W3C traceparent");
	CHECK(reading_errs_get(&errs, "timestamp") != NULL);
	CHECK_INT(errs.n, 8);
	r.status = (enum probe_status)42;
	CHECK_INT(reading_validate(&r, &lim, &errs), -1);
	CHECK_STR(reading_errs_get(&errs, "status"), "is not a known status");
}

static void
test_convert(void)
{
	struct reading r;

	CHECK(reading_convert(212, 'F', 'C') == 100);
	CHECK(reading_convert(100, 'C', 'F') == 212);
	CHECK(reading_convert(273.15, 'K', 'C') == 0);
	CHECK(reading_convert(-40, 'F', 'C') == -40);
	CHECK(reading_convert(-40, 'C', 'F') == -40);
	CHECK(reading_convert(32, 'F', 'C') == 0);
	CHECK_DBL(reading_convert(373.15, 'K', 'F'), 212, 1e-9);
	CHECK(reading_convert(70, 'F', 'F') == 70);
	CHECK(reading_convert(70, 'F', 0) == 70);
	CHECK(reading_convert(300, 'K', 'K') == 300);
	CHECK(reading_convert(55, 'H', 'F') == 55);
	CHECK(reading_convert(55, 'H', 'C') == 55);
	CHECK(isnan(reading_convert(1, 'F', 'K')));
	CHECK(isnan(reading_convert(1, 'X', 'C')));
	CHECK(isnan(reading_convert(1, 'C', 'X')));

	reading_init(&r);
	CHECK(isnan(reading_canonical(&r)));	/* no value */
	r.has_value = true;
	r.value = 212;
	CHECK(reading_canonical(&r) == 100);
	r.unit = 'K';
	r.value = 273.15;
	CHECK(reading_canonical(&r) == 0);
	r.unit = 'H';
	r.value = 40;
	CHECK(reading_canonical(&r) == 40);
	CHECK(reading_unit_valid('F') && reading_unit_valid('H'));
	CHECK(!reading_unit_valid('f') && !reading_unit_valid(0));
}

static void
test_status_names(void)
{
	enum probe_status s;

	CHECK_STR(reading_status_name(PROBE_NORMAL), "NORMAL");
	CHECK_STR(reading_status_name(PROBE_LOW), "LOW");
	CHECK_STR(reading_status_name(PROBE_HIGH), "HIGH");
	CHECK_STR(reading_status_name(PROBE_NO_PROBE), "NO PROBE");
	CHECK_STR(reading_status_name(PROBE_UNKNOWN), "UNKNOWN");
	CHECK_STR(reading_status_name((enum probe_status)99), "UNKNOWN");
	CHECK_INT(reading_status_parse("high", &s), 0);
	CHECK_INT(s, PROBE_HIGH);
	CHECK_INT(reading_status_parse("NO PROBE", &s), 0);
	CHECK_INT(s, PROBE_NO_PROBE);
	CHECK_INT(reading_status_parse("NOPROBE", &s), -1);
}

/*
 * Two JSON trees are the same: types, keys in order, exact numbers. The
 * roots' own names do not count.
 */
static bool
json_same_in(const cJSON *a, const cJSON *b, bool root)
{
	const cJSON *x, *y;

	if ((a->type & 0xff) != (b->type & 0xff))
		return false;
	if (!root && ((a->string == NULL) != (b->string == NULL) ||
	    (a->string != NULL && strcmp(a->string, b->string) != 0)))
		return false;
	switch (a->type & 0xff) {
	case cJSON_Number:
		return a->valuedouble == b->valuedouble;
	case cJSON_String:
		return strcmp(a->valuestring, b->valuestring) == 0;
	case cJSON_Array:
	case cJSON_Object:
		for (x = a->child, y = b->child; x && y; x = x->next,
		    y = y->next)
			if (!json_same_in(x, y, false))
				return false;
		return x == NULL && y == NULL;
	default:
		return true;
	}
}

static bool
json_same(const cJSON *a, const cJSON *b)
{
	return json_same_in(a, b, true);
}

/* reading_to_json and reading_write_json give the same JSON. */
static void
same_json(const struct reading *r, char out, bool same_text)
{
	cJSON *tree = reading_to_json(r, out), *back;
	char *text;
	struct buf b;

	buf_init(&b);
	CHECK(tree != NULL);
	CHECK_INT(reading_write_json(&b, r, out), 0);
	if (tree == NULL || b.data == NULL)
		return;
	text = cJSON_PrintUnformatted(tree);
	back = cJSON_Parse(b.data);
	CHECK(back != NULL);
	if (back != NULL)
		CHECK(json_same(tree, back));
	if (same_text)
		CHECK_STR(b.data, text);
	cJSON_Delete(back);
	cJSON_Delete(tree);
	free(text);
	buf_free(&b);
}

static void
fixture(struct reading *r)
{
	reading_init(r);
	util_strlcpy(r->device_id, "grill \"1\"\\", sizeof(r->device_id));
	util_strlcpy(r->probe_id, "p1", sizeof(r->probe_id));
	r->value = 212;
	r->has_value = true;
	r->unit = 'F';
	r->ts_ns = NOW_NS + 123 * NS_PER_MS;
	r->battery = 87;
	r->signal = -61;
	r->status = PROBE_HIGH;
	util_strlcpy(r->source, "thermoworks", sizeof(r->source));
	util_strlcpy(r->label, "Brisket \xe2\x98\x83", sizeof(r->label));
	r->flags = READING_F_DROPOUT;
	util_strlcpy(r->traceparent,
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	    sizeof(r->traceparent));
	r->metadata = cJSON_Parse("{\"model\":\"Signals\",\"n\":[1,2.5,null,"
	    "true,false,{\"x\":\"\\u0001\"}],\"e\":{}}");
}

static void
test_json_out(void)
{
	struct reading r, back;
	struct reading_errs errs;
	struct buf b;

	fixture(&r);
	buf_init(&b);
	CHECK_INT(reading_write_json(&b, &r, 0), 0);
	CHECK_STR(b.data, "{\"device_id\":\"grill \\\"1\\\"\\\\\","
	    "\"probe_id\":\"p1\",\"temperature\":212,\"unit\":\"F\","
	    "\"timestamp\":\"2026-01-02T03:04:05.123Z\",\"battery_level\":87,"
	    "\"signal_strength\":-61,\"status\":\"HIGH\","
	    "\"source\":\"thermoworks\",\"label\":\"Brisket \xe2\x98\x83\","
	    "\"flags\":8,\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-"
	    "00f067aa0ba902b7-01\",\"metadata\":{\"model\":\"Signals\","
	    "\"n\":[1,2.5,null,true,false,{\"x\":\"\\u0001\"}],\"e\":{}}}");
	same_json(&r, 0, false);
	same_json(&r, 'C', false);
	same_json(&r, 'f', false);

	/* Parse what we wrote: the same reading comes back. */
	CHECK_INT(reading_parse(b.data, b.len, &back, &lim, &errs), 0);
	CHECK_STR(back.device_id, r.device_id);
	CHECK_STR(back.probe_id, r.probe_id);
	CHECK(back.value == r.value && back.has_value);
	CHECK_INT(back.unit, r.unit);
	CHECK_INT(back.ts_ns, r.ts_ns);
	CHECK_INT(back.battery, r.battery);
	CHECK_INT(back.signal, r.signal);
	CHECK_INT(back.status, r.status);
	CHECK_STR(back.source, r.source);
	CHECK_STR(back.label, r.label);
	CHECK_INT(back.flags, r.flags);
	CHECK_STR(back.traceparent, r.traceparent);
	CHECK(json_same(back.metadata, r.metadata));
	reading_clear(&back);
	buf_reset(&b);

	/* Converted on the way out; humidity never. */
	CHECK_INT(reading_write_json(&b, &r, 'C'), 0);
	CHECK(strstr(b.data, "\"temperature\":100,\"unit\":\"C\"") != NULL);
	buf_reset(&b);
	r.unit = 'H';
	r.value = 40.5;
	CHECK_INT(reading_write_json(&b, &r, 'F'), 0);
	CHECK(strstr(b.data, "\"temperature\":40.5,\"unit\":\"H\"") != NULL);
	same_json(&r, 'F', false);
	buf_reset(&b);

	/* A bad out_unit leaves the buffer alone. */
	buf_puts(&b, "keep");
	CHECK_INT(reading_write_json(&b, &r, 'K'), -1);
	CHECK(reading_to_json(&r, 'K') == NULL);
	CHECK_STR(b.data, "keep");
	buf_free(&b);
	reading_clear(&r);
}

static void
test_json_out_nulls(void)
{
	struct reading r;
	struct buf b;

	reading_init(&r);
	util_strlcpy(r.device_id, "d", sizeof(r.device_id));
	r.ts_ns = NOW_NS;
	buf_init(&b);
	CHECK_INT(reading_write_json(&b, &r, 0), 0);
	CHECK_STR(b.data, "{\"device_id\":\"d\",\"probe_id\":null,"
	    "\"temperature\":null,\"unit\":\"F\","
	    "\"timestamp\":\"2026-01-02T03:04:05.000Z\",\"battery_level\":null,"
	    "\"signal_strength\":null}");
	same_json(&r, 0, true);
	buf_free(&b);
}

/* The cloud's 32-bit floats at their own precision; the rest as given. */
static void
test_float_precision(void)
{
	CHECK(reading_float_precision((double)158.8f) == 158.8);
	CHECK(reading_float_precision((double)-5.2f) == -5.2);
	CHECK(reading_float_precision((double)46.7f) == 46.7);
	CHECK(reading_float_precision(225.5) == 225.5);
	CHECK(reading_float_precision(100.0) == 100.0);
	CHECK(reading_float_precision(0.1) == 0.1);	/* not a float */
	CHECK(reading_float_precision(70.0 / 3) == 70.0 / 3);
	CHECK(reading_float_precision(1e21) == 1e21);
	CHECK(isnan(reading_float_precision(NAN)));
}

/*
 * The quick path of reading_float_precision() gives what the shortest
 * "%.*g" that reads back as the same float gives, across the floats
 * probes send and any bit pattern.
 */
static double
float_precision_slow(double v)
{
	char num[32];
	float f = (float)v;

	if (!isfinite(v) || (double)f != v || fabs(v) >= 1e15)
		return v;
	for (int p = 1; p <= 9; p++) {
		snprintf(num, sizeof(num), "%.*g", p, v);
		if (strtof(num, NULL) == f)
			return strtod(num, NULL);
	}
	return v;
}

static void
test_float_precision_quick(void)
{
	uint32_t u = 12345;
	long bad = 0;
	float f;

	for (long i = 0; i < 400000; i++) {
		if (i % 2 == 0)
			f = (float)((double)(i % 200001 - 100000) /
			    pow(10, (double)(i / 2 % 7)));
		else {
			u = u * 1103515245u + 12345u;
			memcpy(&f, &u, sizeof(f));
		}
		double a = float_precision_slow(f);
		double b = reading_float_precision(f);

		if (!(a == b || (isnan(a) && isnan(b))) && bad++ < 5)
			printf("# %.17g: %.17g, quick %.17g\n", (double)f, a, b);
	}
	CHECK(bad == 0);
}

static void
test_json_numbers(void)
{
	const double vals[] = { 1e-7, 0.1 + 0.2, -5.1999998092651367, 225.5,
		-0.0, 1e21, DBL_MAX, 4.9406564584124654e-324, 70.0 / 3 };
	struct reading r, back;
	struct reading_errs errs;
	struct buf b;

	buf_init(&b);
	reading_init(&r);
	util_strlcpy(r.device_id, "d", sizeof(r.device_id));
	r.ts_ns = NOW_NS;
	r.has_value = true;
	r.unit = 'C';
	for (size_t i = 0; i < ARRAY_LEN(vals); i++) {
		r.value = vals[i];
		same_json(&r, 0, false);
		buf_reset(&b);
		CHECK_INT(reading_write_json(&b, &r, 0), 0);
		CHECK_INT(reading_parse(b.data, b.len, &back, &lim, &errs), 0);
		CHECK(back.value == vals[i]);
		reading_clear(&back);
	}
	/* Simple numbers print the same both ways, to the byte. */
	r.value = 225.5;
	r.battery = 0;
	r.signal = -100;
	r.flags = READING_F_ALL;
	same_json(&r, 0, true);
	r.value = 1e-7;
	buf_reset(&b);
	CHECK_INT(reading_write_json(&b, &r, 0), 0);
	CHECK(strstr(b.data, "\"temperature\":1e-07,") != NULL);
	/* A value that is not finite is written as null, as cJSON does. */
	r.value = NAN;
	same_json(&r, 0, true);
	buf_free(&b);
}

static void
test_copy(void)
{
	struct reading a, b;

	fixture(&a);
	CHECK_INT(reading_copy(&b, &a), 0);
	CHECK(b.metadata != NULL && b.metadata != a.metadata);
	CHECK(json_same(a.metadata, b.metadata));
	CHECK_STR(b.label, a.label);
	reading_clear(&a);
	CHECK_STR(cJSON_GetObjectItem(b.metadata, "model")->valuestring,
	    "Signals");
	reading_clear(&b);
}

static void
test_from_json(void)
{
	struct reading_errs errs;
	struct reading r;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "device_id", "d");
	cJSON_AddNumberToObject(o, "temperature", NAN);
	CHECK_INT(reading_from_json(o, &r, &lim, &errs), -1);
	CHECK_STR(reading_errs_get(&errs, "temperature"),
	    "must be a finite number");
	reading_clear(&r);
	CHECK_INT(reading_from_json(NULL, &r, &lim, &errs), -1);
	CHECK_STR(reading_errs_get(&errs, "reading"), "must be a JSON object");
	reading_clear(&r);
	cJSON_ReplaceItemInObject(o, "temperature", cJSON_CreateNumber(70));
	CHECK_INT(reading_from_json(o, &r, &lim, NULL), 0);
	reading_clear(&r);
	cJSON_Delete(o);
}

int
main(void)
{
	reading_limits_default(&lim);
	lim.now_ns = NOW_NS;

	UNIT_RUN(test_parse_full);
	UNIT_RUN(test_parse_defaults);
	UNIT_RUN(test_no_probe);
	UNIT_RUN(test_malformed);
	UNIT_RUN(test_bad_bytes);
	UNIT_RUN(test_non_finite);
	UNIT_RUN(test_wrong_types);
	UNIT_RUN(test_ids);
	UNIT_RUN(test_timestamps);
	UNIT_RUN(test_units_status_battery);
	UNIT_RUN(test_signal_trace_meta);
	UNIT_RUN(test_many_errors);
	UNIT_RUN(test_errs_bounds);
	UNIT_RUN(test_validate);
	UNIT_RUN(test_convert);
	UNIT_RUN(test_status_names);
	UNIT_RUN(test_json_out);
	UNIT_RUN(test_json_out_nulls);
	UNIT_RUN(test_float_precision);
	UNIT_RUN(test_float_precision_quick);
	UNIT_RUN(test_json_numbers);
	UNIT_RUN(test_copy);
	UNIT_RUN(test_from_json);
	return unit_done();
}
