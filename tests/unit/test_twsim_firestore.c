/*
 * The simulator's Firestore encoding: golden documents, every typed
 * value, Google's pretty-printing, type drift, and the archive files.
 *
 * The goldens pin the encoding and the cook model together: a change to
 * either must be deliberate (regenerate them and say why).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "../../twsim/twsim.h"
#include "unit.h"

#define T0 1767225600000LL	/* 2026-01-01T00:00:00Z */

static struct tw_world *w;
static struct tw_device *sig;

static void
setup(void)
{
	char err[256];
	struct tw_account *a;

	w = scenario_new(1, 1, T0, 3600000, "k");
	a = scenario_account(w, "Cook@Example.com", "pw", "uid1");
	sig = scenario_device(w, a, "S1", MODEL_SIGNALS, 4);
	sig->rec_ms = 30000;
	sig->upl_ms = 60000;
	sig->set_temp_f = 250;
	scenario_device(w, a, "MX1", MODEL_RFX_MEAT, 0);
	CHECK(scenario_finish(w, err, sizeof(err)) == 0);
}

/* Renders with fn into a string the caller frees with buf_free. */
#define RENDER(b, pretty, call)                                          \
	do {                                                              \
		struct jw j_;                                             \
		buf_init(&(b));                                           \
		jw_init(&j_, &(b), (pretty));                             \
		call;                                                     \
		jw_end(&j_);                                              \
		CHECK(j_.err == 0);                                       \
	} while (0)

static void
test_golden_channel(void)
{
	struct buf b;

	RENDER(b, false, fsdoc_channel(&j_, w, sig, 0, T0 + 90000,
	    DRIFT_MISSING));
	CHECK_STR(b.data, "{\"name\":\"projects/thermoworks-cloud-production/"
	    "databases/(default)/documents/devices/S1/channels/1\","
	    "\"fields\":{\"number\":{\"stringValue\":\"1\"},"
	    "\"value\":{\"doubleValue\":84.699996948242188},"
	    "\"units\":{\"stringValue\":\"F\"},"
	    "\"status\":{\"stringValue\":\"LOW\"},"
	    "\"lastTelemetrySaved\":{\"timestampValue\":"
	    "\"2026-01-01T00:01:00.000Z\"}},"
	    "\"createTime\":\"2025-12-02T00:00:00.000000Z\","
	    "\"updateTime\":\"2026-01-01T00:01:00.000259Z\"}");
	buf_free(&b);
}

static void
test_golden_device(void)
{
	struct buf b;

	RENDER(b, false, fsdoc_device(&j_, w, sig, T0 + 90000,
	    DRIFT_MISSING));
	CHECK_STR(b.data, "{\"name\":\"projects/thermoworks-cloud-production/"
	    "databases/(default)/documents/devices/S1\","
	    "\"fields\":{\"serial\":{\"stringValue\":\"S1\"},"
	    "\"type\":{\"stringValue\":\"bbq\"},"
	    "\"device\":{\"stringValue\":\"signals\"},"
	    "\"accountId\":{\"stringValue\":\"2eq4yk9SYAbcIkLqlJTX\"},"
	    "\"status\":{\"stringValue\":\"NORMAL\"},"
	    "\"lastTelemetrySaved\":{\"timestampValue\":"
	    "\"2026-01-01T00:01:00.000Z\"}},"
	    "\"createTime\":\"2025-12-02T00:00:00.000000Z\","
	    "\"updateTime\":\"2026-01-01T00:01:00.000259Z\"}");
	buf_free(&b);
}

static void
test_golden_archive_file(void)
{
	struct buf b;

	buf_init(&b);
	CHECK(storage_render(w, sig, 0, 2, &b) == 0);
	CHECK_STR(b.data, "{\"serial\":\"S1\",\"type\":\"signals\","
	    "\"label\":\"Signals\",\"notes\":\"\",\"deviceLabel\":\"Signals\","
	    "\"start\":\"2026-01-01T00:00:00.000Z\","
	    "\"end\":\"2026-01-01T00:01:00.000Z\",\"channels\":["
	    "{\"number\":\"1\",\"label\":\"Pit\",\"units\":\"F\"},"
	    "{\"number\":\"2\",\"label\":\"Brisket\",\"units\":\"F\"},"
	    "{\"number\":\"3\",\"label\":\"Brisket 2\",\"units\":\"F\"},"
	    "{\"number\":\"4\",\"label\":\"Brisket 3\",\"units\":\"F\"}],"
	    "\"events\":[],\"deviceData\":{\"serial\":\"S1\","
	    "\"type\":\"signals\"},\"readings\":["
	    "[\"1\",1767225600000,68.699996948242188,\"F\"],"
	    "[\"2\",1767225600000,36.200000762939453,\"F\"],"
	    "[\"3\",1767225600000,45.200000762939453,\"F\"],"
	    "[\"4\",1767225600000,35.200000762939453,\"F\"],"
	    "[\"1\",1767225630000,77.400001525878906,\"F\"],"
	    "[\"2\",1767225630000,37,\"F\"],"
	    "[\"3\",1767225630000,45.799999237060547,\"F\"],"
	    "[\"4\",1767225630000,35.900001525878906,\"F\"],"
	    "[\"1\",1767225660000,84.699996948242188,\"F\"],"
	    "[\"2\",1767225660000,37.700000762939453,\"F\"],"
	    "[\"3\",1767225660000,46.5,\"F\"],"
	    "[\"4\",1767225660000,36.299999237060547,\"F\"]]}");
	buf_free(&b);
}

static void
test_pretty_like_google(void)
{
	struct buf b;
	struct jw j;

	buf_init(&b);
	jw_init(&j, &b, true);
	jw_obj(&j);
	jw_kstr(&j, "a", "x");
	jw_key(&j, "b");
	jw_obj(&j);
	jw_key(&j, "c");
	jw_arr(&j);
	jw_int(&j, 1);
	jw_bool(&j, false);
	jw_arr_end(&j);
	jw_key(&j, "d");
	jw_obj(&j);
	jw_obj_end(&j);
	jw_obj_end(&j);
	jw_obj_end(&j);
	jw_end(&j);
	CHECK_STR(b.data, "{\n  \"a\": \"x\",\n  \"b\": {\n    \"c\": [\n"
	    "      1,\n      false\n    ],\n    \"d\": {}\n  }\n}\n");
	buf_free(&b);
}

static const cJSON *
field(const cJSON *doc, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(doc, "fields"), name);
}

static const char *
typed(const cJSON *v, const char *type)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, type);

	if (t == NULL)
		return NULL;
	if (cJSON_IsString(t))
		return t->valuestring;
	return cJSON_IsNull(t) ? "null" : cJSON_IsBool(t) ?
	    (cJSON_IsTrue(t) ? "true" : "false") : "number";
}

/* Every field of a full document has exactly one Firestore type. */
static void
test_typed_values(void)
{
	struct buf b;
	cJSON *doc;
	const cJSON *fan, *ts;

	RENDER(b, true, fsdoc_device(&j_, w, sig, T0 + 3600000, 0));
	CHECK((doc = cJSON_Parse(b.data)) != NULL);
	CHECK_STR(typed(field(doc, "serial"), "stringValue"), "S1");
	CHECK_STR(typed(field(doc, "recordingIntervalInSeconds"),
	    "integerValue"), "30");
	CHECK(typed(field(doc, "battery"), "integerValue") != NULL);
	CHECK(typed(field(doc, "wifi_stength"), "integerValue") != NULL);
	CHECK(field(doc, "gatewayRSSI") == NULL);
	CHECK(typed(field(doc, "deviceId"), "stringValue") != NULL);
	/* Nanoseconds, microseconds, milliseconds. */
	ts = field(doc, "lastSeen");
	CHECK(strlen(typed(ts, "timestampValue")) == 30);
	ts = field(doc, "lastTelemetrySaved");
	CHECK_STR(typed(ts, "timestampValue"), "2026-01-01T01:00:00.000Z");
	/* The session running (the second hour), the first one archived. */
	ts = field(doc, "sessionStart");
	CHECK_STR(typed(ts, "timestampValue"), "2026-01-01T01:00:00.000Z");
	CHECK(field(doc, "lastArchive") == NULL);	/* not yet: 1 min */
	fan = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    field(doc, "fan"), "mapValue"), "fields");
	CHECK_STR(typed(cJSON_GetObjectItemCaseSensitive(fan, "setTemp"),
	    "integerValue"), "250");
	CHECK_STR(typed(cJSON_GetObjectItemCaseSensitive(fan, "connected"),
	    "booleanValue"), "true");
	CHECK(typed(cJSON_GetObjectItemCaseSensitive(fan, "state"),
	    "integerValue") != NULL);
	CHECK_STR(typed(cJSON_GetObjectItemCaseSensitive(fan, "fan_channel"),
	    "stringValue"), "1");
	cJSON_Delete(doc);
	buf_free(&b);
	RENDER(b, false, fsdoc_device(&j_, w, sig, T0 + 3600000 + 120000, 0));
	CHECK((doc = cJSON_Parse(b.data)) != NULL);
	CHECK_STR(typed(field(doc, "lastArchive"), "timestampValue"),
	    "2026-01-01T01:02:00.000Z");	/* end + upload + 1 min */
	cJSON_Delete(doc);
	buf_free(&b);

	/* An RFX Meat probe: no deviceId, a gateway RSSI, no Wi-Fi. */
	RENDER(b, false, fsdoc_device(&j_, w, scenario_find_device(w, "MX1"),
	    T0, 0));
	CHECK((doc = cJSON_Parse(b.data)) != NULL);
	CHECK(field(doc, "deviceId") == NULL);
	CHECK(field(doc, "wifi_stength") == NULL);
	CHECK(typed(field(doc, "gatewayRSSI"), "integerValue") != NULL);
	CHECK_STR(typed(field(doc, "device"), "stringValue"), "rfx meat");
	CHECK_STR(typed(field(doc, "transmitIntervalInSeconds"),
	    "integerValue"), "60");
	CHECK(typed(field(doc, "heartbeatInterval"), "integerValue") != NULL);
	CHECK(typed(field(doc, "readInterval"), "integerValue") != NULL);
	CHECK(field(doc, "temperatureDeltaTrigger") != NULL);
	CHECK(field(doc, "gatewayLastSeen") != NULL);
	cJSON_Delete(doc);
	buf_free(&b);
}

static void
test_drift(void)
{
	struct buf b;
	cJSON *doc;
	const cJSON *hi;

	RENDER(b, false, fsdoc_channel(&j_, w, sig, 0, T0 + 90000,
	    DRIFT_INTEGER | DRIFT_BOOLEAN));
	CHECK((doc = cJSON_Parse(b.data)) != NULL);
	CHECK_STR(typed(field(doc, "value"), "integerValue"), "85");
	hi = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    field(doc, "alarmHigh"), "mapValue"), "fields");
	CHECK_STR(typed(cJSON_GetObjectItemCaseSensitive(hi, "enabled"),
	    "integerValue"), "1");
	CHECK_STR(typed(cJSON_GetObjectItemCaseSensitive(hi, "alarming"),
	    "integerValue"), "0");
	CHECK(field(doc, "label") != NULL);
	cJSON_Delete(doc);
	buf_free(&b);
}

/*
 * Whole numbers come as integerValue; NO PROBE as nullValue. Uploads
 * carry the even samples (30 s recording, 60 s upload): find one of each.
 */
static void
test_integer_and_null_values(void)
{
	struct tw_sample s;
	int64_t whole = -1, none = -1;
	struct buf b;
	cJSON *doc;

	for (int64_t k = 0; k < 40000 && (whole < 0 || none < 0); k += 2) {
		cook_sample(w, sig, 3, k, &s);
		if (!s.present && none < 0)
			none = k;
		cook_sample(w, sig, 1, k, &s);
		if (s.present && s.value == (double)(int64_t)s.value &&
		    whole < 0)
			whole = k;
	}
	CHECK(whole >= 0 && none >= 0);
	RENDER(b, false, fsdoc_channel(&j_, w, sig, 1, T0 + whole *
	    sig->rec_ms, 0));
	CHECK((doc = cJSON_Parse(b.data)) != NULL);
	CHECK(typed(field(doc, "value"), "integerValue") != NULL);
	cJSON_Delete(doc);
	buf_free(&b);
	RENDER(b, false, fsdoc_channel(&j_, w, sig, 3, T0 + none *
	    sig->rec_ms, 0));
	CHECK((doc = cJSON_Parse(b.data)) != NULL);
	CHECK_STR(typed(field(doc, "value"), "nullValue"), "null");
	CHECK_STR(typed(field(doc, "status"), "stringValue"), "NO PROBE");
	cJSON_Delete(doc);
	buf_free(&b);
}

static void
test_user_document(void)
{
	struct buf b;
	cJSON *doc;
	const cJSON *order;

	RENDER(b, false, fsdoc_user(&j_, w, w->accounts[0], T0, 0));
	CHECK((doc = cJSON_Parse(b.data)) != NULL);
	CHECK_STR(typed(field(doc, "email"), "stringValue"),
	    "cook@example.com");
	CHECK_STR(typed(field(doc, "uid"), "stringValue"), "uid1");
	/* deviceOrder: {accountId: [{deviceId, order}, ...]} */
	order = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    field(doc, "deviceOrder"), "mapValue"), "fields");
	order = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(order, w->accounts[0]->account_id),
	    "arrayValue"), "values");
	CHECK_INT(cJSON_GetArraySize(order), 2);
	CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(field(doc,
	    "notificationSettings"), "mapValue")));
	cJSON_Delete(doc);
	buf_free(&b);
	RENDER(b, false, fsdoc_user(&j_, w, w->accounts[0], T0,
	    DRIFT_MISSING));
	CHECK((doc = cJSON_Parse(b.data)) != NULL);
	CHECK(field(doc, "deviceOrder") == NULL);
	CHECK(field(doc, "accountId") != NULL);
	cJSON_Delete(doc);
	buf_free(&b);
}

static void
test_archive_document(void)
{
	char id[24], file[160];
	struct buf b;
	cJSON *doc;

	fsdoc_archive_id(w, sig, 0, id, sizeof(id));
	CHECK_INT(strlen(id), 20);
	fsdoc_archive_file(w, sig, 0, file, sizeof(file));
	CHECK(strncmp(file, "archives/S1/", 12) == 0);
	RENDER(b, false, fsdoc_archive(&j_, w, sig, 0, T0 + 7200000, 0));
	CHECK((doc = cJSON_Parse(b.data)) != NULL);
	CHECK_STR(typed(field(doc, "filename"), "stringValue"), file);
	CHECK_STR(typed(field(doc, "start"), "timestampValue"),
	    "2026-01-01T00:00:00.000Z");
	CHECK_STR(typed(field(doc, "end"), "timestampValue"),
	    "2026-01-01T00:59:30.000Z");
	CHECK_STR(typed(field(doc, "createdOn"), "timestampValue"),
	    "2026-01-01T01:02:00.000Z");
	CHECK_STR(typed(field(doc, "count"), "integerValue"), "480");
	CHECK_STR(typed(field(doc, "type"), "stringValue"), "auto");
	CHECK_STR(typed(field(doc, "public"), "booleanValue"), "false");
	CHECK(field(doc, "deviceData") != NULL && field(doc, "events") != NULL);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(field(doc, "channels"),
	    "arrayValue"), "values")), 4);
	cJSON_Delete(doc);
	buf_free(&b);
}

static void
test_formats(void)
{
	char s[64];

	jw_format_double(-5.1999998092651367, s, sizeof(s));
	CHECK_STR(s, "-5.1999998092651367");
	jw_format_double(225, s, sizeof(s));
	CHECK_STR(s, "225");
	jw_format_double(0.0 / 0.0, s, sizeof(s));
	CHECK_STR(s, "null");
	jw_format_time(1767225600123456789LL, 9, s, sizeof(s));
	CHECK_STR(s, "2026-01-01T00:00:00.123456789Z");
	jw_format_time(1767225600123456789LL, 6, s, sizeof(s));
	CHECK_STR(s, "2026-01-01T00:00:00.123456Z");
	jw_format_time(1767225600123456789LL, 3, s, sizeof(s));
	CHECK_STR(s, "2026-01-01T00:00:00.123Z");
}

int
main(void)
{
	setup();
	UNIT_RUN(test_golden_channel);
	UNIT_RUN(test_golden_device);
	UNIT_RUN(test_golden_archive_file);
	UNIT_RUN(test_pretty_like_google);
	UNIT_RUN(test_typed_values);
	UNIT_RUN(test_drift);
	UNIT_RUN(test_integer_and_null_values);
	UNIT_RUN(test_user_document);
	UNIT_RUN(test_archive_document);
	UNIT_RUN(test_formats);
	scenario_free(w);
	return unit_done();
}
