/*
 * Firestore typed values and documents as the poller reads them: golden
 * documents in the shapes the real cloud sends, then the same documents
 * with their types drifted, then the streamed runQuery splitter.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../poller/poller.h"
#include "unit.h"

static cJSON *
parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	if (j == NULL)
		unit_fail(__FILE__, __LINE__, "golden JSON does not parse");
	return j;
}

/* A Signals channel as the cloud sends it, float32 noise included. */
static const char channel_golden[] =
    "{\"name\":\"projects/thermoworks-cloud-production/databases/(default)"
    "/documents/devices/S2A4C6E8/channels/1\",\"fields\":{"
    "\"number\":{\"stringValue\":\"1\"},"
    "\"label\":{\"stringValue\":\"Pit\"},"
    "\"type\":{\"stringValue\":\"pit\"},"
    "\"value\":{\"doubleValue\":225.10000610351562},"
    "\"units\":{\"stringValue\":\"F\"},"
    "\"status\":{\"stringValue\":\"NORMAL\"},"
    "\"lastSeen\":{\"timestampValue\":\"2026-01-01T00:00:10.123456789Z\"},"
    "\"lastTelemetrySaved\":{\"timestampValue\":"
    "\"2026-01-01T00:00:10.000000Z\"},"
    "\"alarmHigh\":{\"mapValue\":{\"fields\":{"
    "\"enabled\":{\"booleanValue\":true},"
    "\"alarming\":{\"booleanValue\":false},"
    "\"value\":{\"integerValue\":\"275\"},"
    "\"units\":{\"stringValue\":\"F\"}}}},"
    "\"alarmLow\":{\"mapValue\":{\"fields\":{"
    "\"enabled\":{\"booleanValue\":false},"
    "\"alarming\":{\"booleanValue\":false},"
    "\"value\":{\"integerValue\":\"200\"},"
    "\"units\":{\"stringValue\":\"F\"}}}},"
    "\"minimum\":{\"mapValue\":{\"fields\":{\"reading\":{\"mapValue\":{"
    "\"fields\":{\"value\":{\"doubleValue\":-5.1999998092651367},"
    "\"units\":{\"stringValue\":\"F\"}}}},"
    "\"dateReading\":{\"timestampValue\":\"2026-01-01T00:00:00.000Z\"}}}}"
    "},\"createTime\":\"2025-12-01T00:00:00.000000Z\","
    "\"updateTime\":\"2026-01-01T00:00:10.000977Z\"}";

static void
t_channel_golden(void)
{
	cJSON *j = parse(channel_golden);
	struct tw_chan_doc c;
	int64_t ts;

	CHECK_INT(fs_decode_channel(j, &c), 0);
	CHECK_INT(c.number, 1);
	CHECK_STR(c.label, "Pit");
	CHECK_STR(c.type, "pit");
	CHECK(c.has_value);
	CHECK_DBL(c.value, 225.10000610351562, 0);
	CHECK_INT(c.unit, 'F');
	CHECK_INT(c.status, PROBE_NORMAL);
	util_time_parse("2026-01-01T00:00:10Z", &ts);
	CHECK_INT(c.last_telemetry_ns, ts);
	CHECK_INT(c.last_seen_ns, ts + 123456789);
	CHECK(c.alarm_high.present && c.alarm_high.enabled);
	CHECK(!c.alarm_high.alarming);
	CHECK(c.alarm_high.has_value);
	CHECK_DBL(c.alarm_high.value, 275, 0);
	CHECK_INT(c.alarm_high.unit, 'F');
	CHECK(c.alarm_low.present && !c.alarm_low.enabled);
	cJSON_Delete(j);
}

/* The same channel with every drift the wild shows at once. */
static void
t_channel_drifted(void)
{
	cJSON *j = parse("{\"name\":\".../documents/devices/M1/channels/3\","
	    "\"fields\":{"
	    "\"value\":{\"integerValue\":\"226\"},"
	    "\"units\":{\"stringValue\":\"c\"},"
	    "\"status\":{\"stringValue\":\"HIGH\"},"
	    "\"lastTelemetrySaved\":{\"timestampValue\":"
	    "\"2026-01-01T00:00:10.5Z\"},"
	    "\"alarmHigh\":{\"mapValue\":{\"fields\":{"
	    "\"enabled\":{\"integerValue\":\"1\"},"
	    "\"alarming\":{\"integerValue\":\"0\"},"
	    "\"value\":{\"doubleValue\":275.0}}}}}}");
	struct tw_chan_doc c;
	int64_t ts;

	CHECK_INT(fs_decode_channel(j, &c), 0);
	CHECK_INT(c.number, 3);		/* from the name: no "number" */
	CHECK_STR(c.label, "");
	CHECK(c.has_value);
	CHECK_DBL(c.value, 226, 0);
	CHECK_INT(c.unit, 'C');
	CHECK_INT(c.status, PROBE_HIGH);
	util_time_parse("2026-01-01T00:00:10.500Z", &ts);
	CHECK_INT(c.last_telemetry_ns, ts);
	CHECK_INT(c.last_seen_ns, 0);
	CHECK(c.alarm_high.enabled && !c.alarm_high.alarming);
	CHECK(!c.alarm_low.present);
	cJSON_Delete(j);
}

static void
t_channel_no_probe(void)
{
	cJSON *j = parse("{\"fields\":{\"number\":{\"integerValue\":2},"
	    "\"value\":{\"nullValue\":null},\"units\":{\"stringValue\":\"F\"},"
	    "\"status\":{\"stringValue\":\"NO PROBE\"},"
	    "\"lastTelemetrySaved\":{\"timestampValue\":"
	    "\"2026-01-01T00:00:10.000001Z\"}}}");
	cJSON *k = parse("{\"fields\":{\"number\":{\"stringValue\":\"4\"},"
	    "\"value\":{\"doubleValue\":-40.0},"
	    "\"status\":{\"stringValue\":\"NO PROBE\"}}}");
	struct tw_chan_doc c;

	CHECK_INT(fs_decode_channel(j, &c), 0);
	CHECK_INT(c.number, 2);			/* integerValue as a number */
	CHECK(!c.has_value);
	CHECK_INT(c.status, PROBE_NO_PROBE);
	CHECK_INT(c.last_telemetry_ns % 1000000000, 1000);	/* the us */
	CHECK_INT(fs_decode_channel(k, &c), 0);
	CHECK(!c.has_value);		/* unplugged: a value means nothing */
	CHECK_INT(c.unit, 0);
	CHECK_INT(c.last_telemetry_ns, 0);
	cJSON_Delete(j);
	cJSON_Delete(k);
}

static void
t_channel_garbage(void)
{
	cJSON *j = parse("{\"fields\":{\"number\":{\"stringValue\":\"x\"},"
	    "\"value\":{\"doubleValue\":\"NaN\"},"
	    "\"label\":{\"booleanValue\":true},"
	    "\"lastTelemetrySaved\":{\"timestampValue\":\"yesterday\"},"
	    "\"alarmHigh\":{\"stringValue\":\"on\"}}}");
	cJSON *arr = parse("[1,2]");
	struct tw_chan_doc c;

	CHECK_INT(fs_decode_channel(j, &c), 0);	/* read what can be read */
	CHECK_INT(c.number, 0);
	CHECK(!c.has_value);
	CHECK_STR(c.label, "");
	CHECK_INT(c.last_telemetry_ns, 0);
	CHECK(!c.alarm_high.present);
	CHECK_INT(fs_decode_channel(arr, &c), -1);
	CHECK_INT(fs_decode_channel(NULL, &c), -1);
	cJSON_Delete(j);
	cJSON_Delete(arr);
}

static const char signals_golden[] =
    "{\"name\":\"projects/p/databases/(default)/documents/devices/S2A4C6E8\","
    "\"fields\":{\"serial\":{\"stringValue\":\"S2A4C6E8\"},"
    "\"deviceId\":{\"stringValue\":\"12:34:56:78:90:AB\"},"
    "\"label\":{\"stringValue\":\"Backyard Signals\"},"
    "\"type\":{\"stringValue\":\"bbq\"},"
    "\"device\":{\"stringValue\":\"signals\"},"
    "\"accountId\":{\"stringValue\":\"acct1\"},"
    "\"firmware\":{\"stringValue\":\"1.2.3\"},"
    "\"status\":{\"stringValue\":\"NORMAL\"},"
    "\"battery\":{\"integerValue\":\"84\"},"
    "\"batteryState\":{\"stringValue\":\"discharging\"},"
    "\"wifi_stength\":{\"integerValue\":\"-72\"},"
    "\"deviceDisplayUnits\":{\"stringValue\":\"F\"},"
    "\"recordingIntervalInSeconds\":{\"integerValue\":\"30\"},"
    "\"transmitIntervalInSeconds\":{\"integerValue\":\"60\"},"
    "\"lastSeen\":{\"timestampValue\":\"2026-01-01T00:01:00.000123456Z\"},"
    "\"lastTelemetrySaved\":{\"timestampValue\":\"2026-01-01T00:01:00Z\"},"
    "\"sessionStart\":{\"timestampValue\":\"2026-01-01T00:00:00.000Z\"},"
    "\"fan\":{\"mapValue\":{\"fields\":{"
    "\"setTemp\":{\"integerValue\":\"250\"},"
    "\"state\":{\"stringValue\":\"on\"},"
    "\"connected\":{\"booleanValue\":true}}}}}}";

static void
t_device_golden(void)
{
	cJSON *j = parse(signals_golden);
	struct tw_dev_doc d;
	int64_t ts;

	CHECK_INT(fs_decode_device(j, &d), 0);
	CHECK_STR(d.serial, "S2A4C6E8");
	CHECK_STR(d.mac, "12:34:56:78:90:AB");
	CHECK_STR(d.label, "Backyard Signals");
	CHECK_STR(d.model, "signals");
	CHECK_STR(d.type, "bbq");
	CHECK_STR(d.account_id, "acct1");
	CHECK_INT(d.battery, 84);
	CHECK_STR(d.battery_state, "discharging");
	CHECK_INT(d.wifi_rssi, -72);
	CHECK_INT(d.gateway_rssi, READING_NO_SIGNAL);
	CHECK_INT(d.units, 'F');
	CHECK_INT(d.recording_s, 30);
	CHECK_INT(d.transmit_s, 60);
	util_time_parse("2026-01-01T00:01:00Z", &ts);
	CHECK_INT(d.last_telemetry_ns, ts);
	CHECK_INT(d.last_seen_ns, ts + 123456);
	CHECK(d.fan.present && d.fan.has_set_temp && d.fan.has_connected);
	CHECK_DBL(d.fan.set_temp, 250, 0);
	CHECK_STR(d.fan.state, "on");
	CHECK(d.fan.connected);
	cJSON_Delete(j);
}

/* An RFX meat probe, drifted: doubles, 0/1 booleans, fields missing. */
static void
t_device_drifted(void)
{
	cJSON *j = parse("{\"name\":\"x/documents/devices/M1A2B3C4\",\"fields\":{"
	    "\"battery\":{\"doubleValue\":83.6},"
	    "\"gatewayRSSI\":{\"doubleValue\":-61.0},"
	    "\"recordingIntervalInSeconds\":{\"doubleValue\":2},"
	    "\"lastTelemetrySaved\":{\"integerValue\":\"1767225600000\"},"
	    "\"fan\":{\"mapValue\":{\"fields\":{"
	    "\"connected\":{\"integerValue\":\"0\"}}}}}}");
	cJSON *bad = parse("{\"fields\":{\"battery\":{\"integerValue\":\"140\"},"
	    "\"wifi_stength\":{\"stringValue\":\"strong\"}}}");
	struct tw_dev_doc d;

	CHECK_INT(fs_decode_device(j, &d), 0);
	CHECK_STR(d.serial, "M1A2B3C4");	/* from the name */
	CHECK_STR(d.mac, "");
	CHECK_INT(d.battery, 84);
	CHECK_INT(d.wifi_rssi, READING_NO_SIGNAL);
	CHECK_INT(d.gateway_rssi, -61);
	CHECK_INT(d.recording_s, 2);
	CHECK_INT(d.transmit_s, 0);
	CHECK_INT(d.last_telemetry_ns, INT64_C(1767225600000) * NS_PER_MS);
	CHECK(d.fan.present && !d.fan.has_set_temp && d.fan.has_connected);
	CHECK(!d.fan.connected);
	CHECK_INT(fs_decode_device(bad, &d), -1);	/* no serial at all */
	cJSON_Delete(j);
	cJSON_Delete(bad);
}

/*
 * Documents composed from the fields the public sources document
 * (THERMOWORKS.md): a Node whose serial is its MAC, with colons, in the
 * document name too; its humidity channel is number 3 (a hole at 2),
 * type HumidityHumidity, alarms in F, minimum as doubleValue; a Signals
 * fan with an integer state; an RFX Meat probe with its gateway fields;
 * lastArchive; millisecond timestamps.
 */
static void
t_real_shapes(void)
{
	cJSON *node = parse("{\"name\":\"projects/thermoworks-cloud-production/"
	    "databases/(default)/documents/devices/10:06:1C:6F:47:70\","
	    "\"fields\":{\"serial\":{\"stringValue\":\"10:06:1C:6F:47:70\"},"
	    "\"deviceId\":{\"stringValue\":\"10:06:1C:6F:47:70\"},"
	    "\"device\":{\"stringValue\":\"node\"},"
	    "\"type\":{\"stringValue\":\"datalogger\"},"
	    "\"recordingIntervalInSeconds\":{\"integerValue\":\"600\"},"
	    "\"transmitIntervalInSeconds\":{\"integerValue\":\"7200\"},"
	    "\"lastTelemetrySaved\":{\"timestampValue\":"
	    "\"2026-01-01T02:00:00.123Z\"},"
	    "\"sessionStart\":{\"timestampValue\":\"2026-01-01T00:00:00.000Z\"},"
	    "\"lastArchive\":{\"timestampValue\":\"2025-12-31T20:00:00.000Z\"},"
	    "\"exportVersion\":{\"doubleValue\":2.1},"
	    "\"bigQuery\":{\"mapValue\":{\"fields\":{\"tableId\":"
	    "{\"stringValue\":\"t_10061C6F4770\"}}}}}}");
	cJSON *humid = parse("{\"name\":\"x/documents/devices/"
	    "10:06:1C:6F:47:70/channels/3\",\"fields\":{"
	    "\"number\":{\"stringValue\":\"3\"},"
	    "\"type\":{\"stringValue\":\"HumidityHumidity\"},"
	    "\"value\":{\"integerValue\":\"48\"},"
	    "\"units\":{\"stringValue\":\"H\"},"
	    "\"status\":{\"stringValue\":\"NORMAL\"},"
	    "\"lastTelemetrySaved\":{\"timestampValue\":"
	    "\"2026-01-01T02:00:00.123Z\"},"
	    "\"alarmHigh\":{\"mapValue\":{\"fields\":{"
	    "\"value\":{\"integerValue\":\"80\"},"
	    "\"units\":{\"stringValue\":\"F\"}}}},"
	    "\"minimum\":{\"mapValue\":{\"fields\":{\"reading\":{"
	    "\"mapValue\":{\"fields\":{\"value\":{\"doubleValue\":41.0}}}}}}}"
	    "}}");
	cJSON *unplugged = parse("{\"name\":\"x/documents/devices/S/channels/4\","
	    "\"fields\":{\"number\":{\"stringValue\":\"4\"},"
	    "\"type\":{\"stringValue\":\"Pro-Series\"},"
	    "\"value\":{\"doubleValue\":-5.1999998092651367},"
	    "\"status\":{\"stringValue\":\"NO PROBE\"}}}");
	cJSON *nulled = parse("{\"name\":\"x/documents/devices/S/channels/2\","
	    "\"fields\":{\"value\":{\"nullValue\":null}}}");
	cJSON *sig = parse("{\"fields\":{\"serial\":{\"stringValue\":"
	    "\"24:0A:C4:1F:6E:10\"},\"fan\":{\"mapValue\":{\"fields\":{"
	    "\"connection\":{\"stringValue\":\"connected\"},"
	    "\"connected\":{\"booleanValue\":true},"
	    "\"setTemp\":{\"integerValue\":\"250\"},"
	    "\"fan_channel\":{\"stringValue\":\"1\"},"
	    "\"state\":{\"integerValue\":\"3\"}}}}}}");
	cJSON *meat = parse("{\"fields\":{\"serial\":{\"stringValue\":"
	    "\"M100051731\"},\"gatewayId\":{\"stringValue\":"
	    "\"24:0A:C4:3B:90:5C\"},\"heartbeatInterval\":{\"integerValue\":"
	    "\"300\"},\"readInterval\":{\"integerValue\":\"30\"},"
	    "\"temperatureDeltaTrigger\":{\"doubleValue\":1.5},"
	    "\"transmitIntervalInSeconds\":{\"integerValue\":\"60\"}}}");
	struct tw_dev_doc d;
	struct tw_chan_doc c;
	int64_t ts;

	CHECK_INT(fs_decode_device(node, &d), 0);
	CHECK_STR(d.serial, "10:06:1C:6F:47:70");
	CHECK_STR(d.mac, d.serial);
	CHECK_INT(d.recording_s, 600);
	CHECK_INT(d.transmit_s, 7200);
	util_time_parse("2026-01-01T02:00:00.123Z", &ts);
	CHECK_INT(d.last_telemetry_ns, ts);	/* milliseconds kept */
	util_time_parse("2025-12-31T20:00:00Z", &ts);
	CHECK_INT(d.last_archive_ns, ts);

	CHECK_INT(fs_decode_channel(humid, &c), 0);
	CHECK_INT(c.number, 3);			/* past the hole */
	CHECK_STR(c.type, "HumidityHumidity");
	CHECK(c.has_value);
	CHECK_DBL(c.value, 48, 0);		/* integer for a double */
	CHECK_INT(c.unit, 'H');
	CHECK(c.alarm_high.present && c.alarm_high.unit == 'F');

	CHECK_INT(fs_decode_channel(unplugged, &c), 0);
	CHECK_INT(c.number, 4);
	CHECK(!c.has_value);			/* NO PROBE: no value */
	CHECK_INT(c.status, PROBE_NO_PROBE);

	CHECK_INT(fs_decode_channel(nulled, &c), 0);
	CHECK_INT(c.number, 2);			/* from the document id */
	CHECK(!c.has_value);

	CHECK_INT(fs_decode_device(sig, &d), 0);
	CHECK(d.fan.present && d.fan.connected && d.fan.has_set_temp);
	CHECK_STR(d.fan.state, "3");		/* an integer state */

	CHECK_INT(fs_decode_device(meat, &d), 0);
	CHECK_STR(d.serial, "M100051731");
	CHECK_STR(d.mac, "");
	CHECK_INT(d.heartbeat_s, 300);
	CHECK_INT(d.transmit_s, 60);
	cJSON_Delete(node);
	cJSON_Delete(humid);
	cJSON_Delete(unplugged);
	cJSON_Delete(nulled);
	cJSON_Delete(sig);
	cJSON_Delete(meat);
}

static void
t_values(void)
{
	cJSON *j = parse("{\"i\":{\"integerValue\":\"9007199254740993\"},"
	    "\"d\":{\"doubleValue\":\"1.5\"},\"b\":{\"booleanValue\":true},"
	    "\"n\":{\"nullValue\":null},\"s\":{\"stringValue\":\"17\"},"
	    "\"t\":{\"integerValue\":\"1767225600\"},"
	    "\"tu\":{\"integerValue\":\"1767225600000001\"},"
	    "\"tms\":{\"integerValue\":\"99999999999999\"},"
	    "\"ts\":{\"integerValue\":\"99999999999\"},"
	    "\"b2\":{\"doubleValue\":2},"
	    "\"a\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"x\"}]}},"
	    "\"ea\":{\"arrayValue\":{}},\"em\":{\"mapValue\":{}}}");
	int64_t i;
	double d;
	bool b;
	char s[8];

	CHECK_INT(fs_int(fs_field(j, "i"), &i), FS_OK);
	CHECK(i == INT64_C(9007199254740993));	/* exact, not via double */
	CHECK_INT(fs_number(fs_field(j, "d"), &d), FS_OK);
	CHECK_DBL(d, 1.5, 0);
	CHECK_INT(fs_number(fs_field(j, "b"), &d), FS_OK);
	CHECK_DBL(d, 1, 0);
	CHECK_INT(fs_number(fs_field(j, "n"), &d), FS_NULL);
	CHECK_INT(fs_number(fs_field(j, "missing"), &d), FS_ABSENT);
	CHECK_INT(fs_number(fs_field(j, "s"), &d), FS_OK);
	CHECK_INT(fs_string(fs_field(j, "n"), s, sizeof(s)), FS_NULL);
	CHECK_INT(fs_string(fs_field(j, "d"), s, sizeof(s)), FS_BAD);
	CHECK_INT(fs_bool(fs_field(j, "b2"), &b), FS_BAD);
	CHECK_INT(fs_bool(fs_field(j, "n"), &b), FS_NULL);
	CHECK_INT(fs_time(fs_field(j, "t"), &i), FS_OK);
	CHECK_INT(i, INT64_C(1767225600) * NS_PER_S);
	CHECK_INT(fs_time(fs_field(j, "tu"), &i), FS_OK);
	CHECK_INT(i, INT64_C(1767225600000001) * 1000);
	/* Found by fuzz_poller_firestore: past int64 in nanoseconds. */
	CHECK_INT(fs_time(fs_field(j, "tms"), &i), FS_BAD);
	CHECK_INT(fs_time(fs_field(j, "ts"), &i), FS_BAD);
	CHECK(cJSON_GetArraySize(fs_array(fs_field(j, "a"))) == 1);
	CHECK(fs_array(fs_field(j, "ea")) != NULL);
	CHECK(fs_map(fs_field(j, "em")) != NULL);
	CHECK(fs_map(fs_field(j, "a")) == NULL);
	cJSON_Delete(j);
}

static void
t_error_message(void)
{
	const char *signin = "{\"error\":{\"code\":400,\"message\":"
	    "\"TOO_MANY_ATTEMPTS_TRY_LATER : Access disabled\",\"errors\":[]}}";
	const char *token = "{\"error\":\"invalid_grant\"}";
	char m[64];

	CHECK_INT(fs_error_message(signin, strlen(signin), m, sizeof(m)), 0);
	CHECK(strncmp(m, "TOO_MANY_ATTEMPTS_TRY_LATER", 27) == 0);
	CHECK_INT(fs_error_message(token, strlen(token), m, sizeof(m)), 0);
	CHECK_STR(m, "invalid_grant");
	CHECK_INT(fs_error_message("<html>", 6, m, sizeof(m)), -1);
	CHECK_INT(fs_error_message(NULL, 0, m, sizeof(m)), -1);
}

struct collect {
	int	 n;
	char	 last[256];
};

static int
collect(const char *p, size_t n, void *arg)
{
	struct collect *c = arg;
	cJSON *j = cJSON_ParseWithLength(p, n);

	if (j == NULL)
		return -1;
	cJSON_Delete(j);
	c->n++;
	snprintf(c->last, sizeof(c->last), "%.*s", (int)n, p);
	return 0;
}

static void
t_split(void)
{
	const char *text = " [ {\"document\":{\"name\":\"a]}\\\"[{\","
	    "\"fields\":{}},\"readTime\":\"t\"},\n {\"readTime\":\"u\"} ]\n";
	struct fs_split s;
	struct collect c = { 0 };

	/* Byte by byte: elements cross every chunk boundary. */
	fs_split_init(&s, 1024, collect, &c);
	for (size_t i = 0; i < strlen(text); i++)
		CHECK_INT(fs_split_feed(&s, text + i, 1), 0);
	CHECK_INT(fs_split_finish(&s), 0);
	CHECK_INT(c.n, 2);
	CHECK_STR(c.last, "{\"readTime\":\"u\"}");
	fs_split_free(&s);

	memset(&c, 0, sizeof(c));
	fs_split_init(&s, 1024, collect, &c);
	CHECK_INT(fs_split_feed(&s, "[]", 2), 0);
	CHECK_INT(fs_split_finish(&s), 0);
	CHECK_INT(c.n, 0);
	fs_split_free(&s);
}

static void
t_split_malformed(void)
{
	static const char *bad[] = {
		"{\"error\":{}}",		/* not an array */
		"[{\"a\":1}] x",		/* trailing garbage */
		"[1, 2]",			/* not objects */
		"[{\"a\":1",			/* truncated (finish fails) */
		"[{\"a\":\"<not json>\"}{x}]",	/* fn refuses {x} */
	};
	struct fs_split s;
	struct collect c;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		int rc;

		memset(&c, 0, sizeof(c));
		fs_split_init(&s, 1024, collect, &c);
		rc = fs_split_feed(&s, bad[i], strlen(bad[i]));
		if (rc == 0)
			rc = fs_split_finish(&s);
		if (rc != -1)
			unit_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
		fs_split_free(&s);
	}
	/* An element past the bound is refused, not buffered. */
	fs_split_init(&s, 16, collect, &c);
	CHECK_INT(fs_split_feed(&s, "[{\"aaaaaaaaaaaaaaaaaaaa\":1}]", 27), -1);
	fs_split_free(&s);
}

int
main(void)
{
	UNIT_RUN(t_channel_golden);
	UNIT_RUN(t_channel_drifted);
	UNIT_RUN(t_channel_no_probe);
	UNIT_RUN(t_channel_garbage);
	UNIT_RUN(t_device_golden);
	UNIT_RUN(t_device_drifted);
	UNIT_RUN(t_real_shapes);
	UNIT_RUN(t_values);
	UNIT_RUN(t_error_message);
	UNIT_RUN(t_split);
	UNIT_RUN(t_split_malformed);
	return unit_done();
}
