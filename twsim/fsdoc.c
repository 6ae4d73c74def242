/*
 * fsdoc: the Firestore documents, in Firestore's typed value encoding.
 *
 * A document is {"name", "fields", "createTime", "updateTime"}; each
 * field is one of {"stringValue": s}, {"integerValue": "123"} (a decimal
 * string), {"doubleValue": 225.10000610351562}, {"booleanValue": b},
 * {"timestampValue": "...Z"} (3, 6 or 9 fraction digits), {"nullValue":
 * null}, {"mapValue": {"fields": {...}}}, {"arrayValue": {"values":
 * [...]}}. A whole-number temperature comes as integerValue, as it does
 * from the real cloud (JavaScript numbers).
 *
 * Drift (a fault) changes types the way they drift in the wild: doubles
 * as integers, booleans as 0/1, optional fields missing.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "twsim.h"

#define DAY_MS (86400 * INT64_C(1000))

static void
fv_begin(struct jw *j, const char *name, const char *type)
{
	jw_key(j, name);
	jw_obj(j);
	jw_key(j, type);
}

static void
fv_string(struct jw *j, const char *name, const char *v)
{
	fv_begin(j, name, "stringValue");
	jw_str(j, v);
	jw_obj_end(j);
}

static void
fv_int(struct jw *j, const char *name, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	fv_begin(j, name, "integerValue");
	jw_str(j, num);
	jw_obj_end(j);
}

static void
fv_double(struct jw *j, const char *name, double v, unsigned drift)
{
	if ((drift & DRIFT_INTEGER) || v == floor(v)) {
		fv_int(j, name, (int64_t)llround(v));
		return;
	}
	fv_begin(j, name, "doubleValue");
	jw_double(j, v);
	jw_obj_end(j);
}

/* Always a doubleValue, as minimum and maximum readings are sent. */
static void
fv_real(struct jw *j, const char *name, double v)
{
	fv_begin(j, name, "doubleValue");
	jw_double(j, v);
	jw_obj_end(j);
}

static void
fv_bool(struct jw *j, const char *name, bool v, unsigned drift)
{
	if (drift & DRIFT_BOOLEAN) {
		fv_int(j, name, v ? 1 : 0);
		return;
	}
	fv_begin(j, name, "booleanValue");
	jw_bool(j, v);
	jw_obj_end(j);
}

static void
fv_time(struct jw *j, const char *name, int64_t ns, int digits)
{
	char ts[UTIL_TIME_LEN];

	jw_format_time(ns, digits, ts, sizeof(ts));
	fv_begin(j, name, "timestampValue");
	jw_str(j, ts);
	jw_obj_end(j);
}

static void
fv_null(struct jw *j, const char *name)
{
	fv_begin(j, name, "nullValue");
	jw_null(j);
	jw_obj_end(j);
}

static void
fv_map(struct jw *j, const char *name)
{
	fv_begin(j, name, "mapValue");
	jw_obj(j);
	jw_key(j, "fields");
	jw_obj(j);
}

static void
fv_map_end(struct jw *j)
{
	jw_obj_end(j);
	jw_obj_end(j);
	jw_obj_end(j);
}

static void
doc_begin(struct jw *j, const char *path)
{
	char name[256];

	snprintf(name, sizeof(name), TW_DOCUMENTS "/%s", path);
	jw_obj(j);
	jw_kstr(j, "name", name);
	jw_key(j, "fields");
	jw_obj(j);
}

static void
doc_end(struct jw *j, int64_t create_ns, int64_t update_ns)
{
	char ts[UTIL_TIME_LEN];

	jw_obj_end(j);
	jw_format_time(create_ns, 6, ts, sizeof(ts));
	jw_kstr(j, "createTime", ts);
	jw_format_time(update_ns, 6, ts, sizeof(ts));
	jw_kstr(j, "updateTime", ts);
	jw_obj_end(j);
}

/* Some microseconds of server time after a device's moment, fixed. */
static int64_t
server_ns(uint64_t key, int64_t ms)
{
	return ms * NS_PER_MS + (int64_t)(hash3(key, (uint64_t)ms, 5) % 997) *
	    1000 + 1000;
}

static const char *
units_text(char u)
{
	return u == 'C' ? "C" : u == 'H' ? "H" : "F";
}

void
fsdoc_user(struct jw *j, const struct tw_world *w, const struct tw_account *a,
    int64_t now_ms, unsigned drift)
{
	bool missing = drift & DRIFT_MISSING, rfx_only = a->ndevices > 0;
	char path[160];

	for (size_t i = 0; i < a->ndevices; i++)
		if (a->devices[i]->model != MODEL_RFX_GATEWAY &&
		    a->devices[i]->model != MODEL_RFX_MEAT)
			rfx_only = false;
	snprintf(path, sizeof(path), "users/%s", a->uid);
	doc_begin(j, path);
	fv_string(j, "uid", a->uid);
	fv_string(j, "accountId", a->account_id);
	fv_string(j, "email", a->email);
	if (!missing) {
		fv_string(j, "displayName", a->display_name);
		fv_string(j, "preferredUnits", units_text(a->units));
		fv_string(j, "timeZone", "America/Chicago");
		fv_string(j, "locale", "en-US");
		fv_bool(j, "notificationsEnabled", true, drift);
	}
	if (!missing) {
		/* A map of booleans, names as the app shows them. */
		fv_map(j, "notificationSettings");
		fv_bool(j, "alarms", true, drift);
		fv_bool(j, "lowBattery", true, drift);
		fv_bool(j, "connectionLost", false, drift);
		fv_bool(j, "email", false, drift);
		fv_map_end(j);
	}
	/* deviceOrder: account id -> [{deviceId, order}]; none for RFX. */
	if (!missing && !rfx_only && a->ndevices > 0) {
		fv_map(j, "deviceOrder");
		fv_begin(j, a->account_id, "arrayValue");
		jw_obj(j);
		jw_key(j, "values");
		jw_arr(j);
		for (size_t i = 0; i < a->ndevices; i++) {
			jw_obj(j);
			jw_key(j, "mapValue");
			jw_obj(j);
			jw_key(j, "fields");
			jw_obj(j);
			fv_string(j, "deviceId", a->devices[i]->serial);
			fv_int(j, "order", (int64_t)i);
			jw_obj_end(j);
			jw_obj_end(j);
			jw_obj_end(j);
		}
		jw_arr_end(j);
		jw_obj_end(j);
		jw_obj_end(j);
		fv_map_end(j);
	}
	doc_end(j, (w->t0_ms - 400 * DAY_MS) * NS_PER_MS,
	    server_ns(hash_str(w->seed, a->uid), w->t0_ms));
	(void)now_ms;
}

void
fsdoc_device(struct jw *j, const struct tw_world *w, const struct tw_device *d,
    int64_t now_ms, unsigned drift)
{
	bool missing = drift & DRIFT_MISSING;
	struct tw_clock c;
	struct tw_sample pit;
	char path[96];
	double t;
	int64_t saved;

	timeline_at(w, d, now_ms, &c);
	if (c.upl_k < 0)
		c.upl_k = 0;
	t = timeline_cook_s(w, d, c.upl_k);
	saved = timeline_sample_ms(w, d, c.upl_k);
	snprintf(path, sizeof(path), "devices/%s", d->serial);
	doc_begin(j, path);
	fv_string(j, "serial", d->serial);
	if (!missing && d->mac[0] != '\0')
		fv_string(j, "deviceId", d->mac);
	if (!missing)
		fv_string(j, "label", d->label);
	fv_string(j, "type", scenario_model_type(d->model));
	fv_string(j, "device", scenario_model_kind(d->model));
	fv_string(j, "accountId", d->account->account_id);
	fv_string(j, "status", "NORMAL");
	if (!missing) {
		fv_string(j, "firmware", d->firmware);
		fv_int(j, "battery", cook_battery(w->seed, d, t));
		fv_string(j, "batteryState", d->model == MODEL_RFX_GATEWAY ?
		    "charging" : "discharging");
		if (d->model != MODEL_RFX_MEAT)
			fv_int(j, "wifi_stength", cook_rssi(w->seed, d, t, 0));
		else
			fv_int(j, "gatewayRSSI", cook_rssi(w->seed, d, t, 1));
		fv_string(j, "deviceDisplayUnits", units_text(d->units));
		/* A gateway shows recording 0: it sends what it reads. */
		fv_int(j, "recordingIntervalInSeconds", d->model ==
		    MODEL_RFX_GATEWAY ? 0 : d->rec_ms / 1000);
		fv_int(j, "transmitIntervalInSeconds", d->upl_ms / 1000);
		fv_time(j, "lastSeen", server_ns(d->key, c.upl_ms), 9);
	}
	fv_time(j, "lastTelemetrySaved", saved * NS_PER_MS, 3);
	if (!missing) {
		int64_t el = now_ms - w->t0_ms, n = el > 0 ?
		    el / d->archive_ms : 0, done = timeline_archived(w, d,
		    now_ms);

		fv_time(j, "sessionStart", (w->t0_ms + n * d->archive_ms) *
		    NS_PER_MS, 3);
		if (done > 0)
			fv_time(j, "lastArchive", timeline_archive_created(w,
			    d, done - 1) * NS_PER_MS, 3);
	}
	if (!missing && d->model == MODEL_RFX_MEAT) {
		const struct tw_account *a = d->account;

		for (size_t i = 0; i < a->ndevices; i++)
			if (a->devices[i]->model == MODEL_RFX_GATEWAY) {
				fv_string(j, "gatewayId", a->devices[i]->serial);
				break;
			}
		fv_time(j, "gatewayLastSeen", server_ns(d->key ^ 0x6777,
		    c.upl_ms), 3);
		fv_int(j, "heartbeatInterval", d->upl_ms / 1000);
		fv_int(j, "readInterval", d->rec_ms / 1000);
		fv_double(j, "temperatureDeltaTrigger", TW_DELTA_TRIGGER, drift);
	}
	if (!missing && d->model == MODEL_SIGNALS) {
		double set = cook_set_temp_f(w->seed, d, t);
		bool has_pit = d->ch[0].cook == COOK_PIT;

		if (d->units == 'C')
			set = (set - 32) * 5 / 9;
		if (has_pit)
			cook_sample(w, d, 0, c.upl_k, &pit);
		fv_map(j, "fan");
		fv_string(j, "connection", has_pit ? "connected" :
		    "disconnected");
		fv_bool(j, "connected", has_pit, drift);
		fv_int(j, "setTemp", (int64_t)llround(set));
		fv_string(j, "fan_channel", "1");
		/* An integer: the fan's duty step, 0 when off. */
		fv_int(j, "state", has_pit && pit.present && pit.value <
		    set - 1 ? (int64_t)llround(fmin(100, (set - pit.value) *
		    4)) : 0);
		fv_map_end(j);
	}
	doc_end(j, (w->t0_ms - 30 * DAY_MS) * NS_PER_MS,
	    server_ns(d->key, c.upl_ms));
}

static void
alarm_map(struct jw *j, const char *name, const struct tw_alarm *al,
    bool alarming, char units, unsigned drift)
{
	/* A humidity channel's alarms were seen in "F". */
	if (units == 'H')
		units = 'F';
	fv_map(j, name);
	fv_bool(j, "enabled", al->enabled, drift);
	fv_bool(j, "alarming", alarming, drift);
	fv_int(j, "value", (int64_t)llround(al->value));
	fv_string(j, "units", units_text(units));
	fv_map_end(j);
}

static void
extreme_map(struct jw *j, const struct tw_world *w, const struct tw_device *d,
    const char *name, double v, int64_t k, char units, unsigned drift)
{
	fv_map(j, name);
	fv_map(j, "reading");
	fv_real(j, "value", v);
	fv_string(j, "units", units_text(units));
	fv_map_end(j);
	fv_time(j, "dateReading", timeline_sample_ms(w, d, k) * NS_PER_MS, 3);
	fv_map_end(j);
}

void
fsdoc_channel(struct jw *j, const struct tw_world *w, struct tw_device *d,
    int ch, int64_t now_ms, unsigned drift)
{
	const struct tw_channel *c = &d->ch[ch];
	bool missing = drift & DRIFT_MISSING;
	char units = c->cook == COOK_HUMIDITY ? 'H' : d->units, path[96];
	struct tw_clock clk;
	struct tw_sample s;
	struct tw_alarm hi, lo;
	struct tw_extremes ext;
	double t;

	timeline_at(w, d, now_ms, &clk);
	if (clk.upl_k < 0)
		clk.upl_k = 0;
	t = timeline_cook_s(w, d, clk.upl_k);
	cook_sample(w, d, ch, clk.upl_k, &s);
	cook_alarms(w->seed, d, ch, t, &hi, &lo);
	snprintf(path, sizeof(path), "devices/%s/channels/%d", d->serial,
	    c->number);
	doc_begin(j, path);
	snprintf(path, sizeof(path), "%d", c->number);
	fv_string(j, "number", path);
	if (!missing) {
		fv_string(j, "label", c->label);
		fv_string(j, "type", c->type);
	}
	if (s.present)
		fv_double(j, "value", s.value, drift);
	else
		fv_null(j, "value");
	fv_string(j, "units", units_text(units));
	fv_string(j, "status", s.status);
	if (!missing)
		fv_time(j, "lastSeen", server_ns(d->key, clk.upl_ms), 9);
	fv_time(j, "lastTelemetrySaved", timeline_sample_ms(w, d, clk.upl_k) *
	    NS_PER_MS, 3);
	if (!missing) {
		alarm_map(j, "alarmHigh", &hi, strcmp(s.status, "HIGH") == 0,
		    units, drift);
		alarm_map(j, "alarmLow", &lo, strcmp(s.status, "LOW") == 0,
		    units, drift);
		timeline_extremes(w, d, ch, clk.upl_k, &ext);
		if (ext.any) {
			extreme_map(j, w, d, "minimum", ext.min, ext.min_k,
			    units, drift);
			extreme_map(j, w, d, "maximum", ext.max, ext.max_k,
			    units, drift);
		}
	}
	doc_end(j, (w->t0_ms - 30 * DAY_MS) * NS_PER_MS,
	    server_ns(d->key ^ (uint64_t)ch, clk.upl_ms));
}

/* The document id of archive window n: 20 characters, like auto-ids. */
void
fsdoc_archive_id(const struct tw_world *w, const struct tw_device *d,
    int64_t n, char *out, size_t len)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	uint64_t h = hash3(w->seed ^ d->key, 0x61726368, (uint64_t)n);
	size_t i;

	for (i = 0; i < 20 && i + 1 < len; i++) {
		h = hash_mix(h + i);
		out[i] = alnum[h % 62];
	}
	out[i] = '\0';
}

/* The Storage object name of archive window n. */
void
fsdoc_archive_file(const struct tw_world *w, const struct tw_device *d,
    int64_t n, char *out, size_t len)
{
	char id[24];

	fsdoc_archive_id(w, d, n, id, sizeof(id));
	snprintf(out, len, "archives/%s/%s.json", d->serial, id);
}

/*
 * The archive of ended session n (callers check that it exists): the
 * fields the published documents carry, channels as a list with the
 * number as a string.
 */
void
fsdoc_archive(struct jw *j, const struct tw_world *w, const struct tw_device *d,
    int64_t n, int64_t now_ms, unsigned drift)
{
	char path[160], file[160], id[24], label[96], num[8], ts[UTIL_TIME_LEN];
	int64_t first = timeline_window_first(d, n);
	int64_t last = timeline_window_first(d, n + 1) - 1;
	int64_t created = timeline_archive_created(w, d, n);

	fsdoc_archive_id(w, d, n, id, sizeof(id));
	fsdoc_archive_file(w, d, n, file, sizeof(file));
	snprintf(path, sizeof(path), "devices/%s/archive/%s", d->serial, id);
	doc_begin(j, path);
	fv_string(j, "filename", file);
	fv_time(j, "start", timeline_sample_ms(w, d, first) * NS_PER_MS, 3);
	fv_time(j, "end", timeline_sample_ms(w, d, last) * NS_PER_MS, 3);
	fv_time(j, "createdOn", created * NS_PER_MS, 3);
	fv_int(j, "count", timeline_recorded_between(d, first, last) *
	    d->nchannels);
	fv_string(j, "type", "auto");
	jw_format_time(timeline_sample_ms(w, d, first) * NS_PER_MS, 0, ts,
	    sizeof(ts));
	snprintf(label, sizeof(label), "%s %.10s", d->label, ts);
	fv_string(j, "label", label);
	fv_string(j, "notes", "");
	fv_string(j, "deviceLabel", d->label);
	fv_bool(j, "public", false, drift);
	fv_string(j, "publicLink", "");
	fv_begin(j, "channels", "arrayValue");
	jw_obj(j);
	jw_key(j, "values");
	jw_arr(j);
	for (int i = 0; i < d->nchannels; i++) {
		const struct tw_channel *c = &d->ch[i];

		jw_obj(j);
		jw_key(j, "mapValue");
		jw_obj(j);
		jw_key(j, "fields");
		jw_obj(j);
		snprintf(num, sizeof(num), "%d", c->number);
		fv_string(j, "number", num);
		fv_string(j, "label", c->label);
		fv_string(j, "units", units_text(c->cook == COOK_HUMIDITY ?
		    'H' : d->units));
		jw_obj_end(j);
		jw_obj_end(j);
		jw_obj_end(j);
	}
	jw_arr_end(j);
	jw_obj_end(j);
	jw_obj_end(j);
	fv_begin(j, "events", "arrayValue");
	jw_obj(j);
	jw_obj_end(j);
	jw_obj_end(j);
	fv_map(j, "deviceData");
	fv_string(j, "serial", d->serial);
	fv_string(j, "type", scenario_model_kind(d->model));
	fv_map_end(j);
	doc_end(j, server_ns(d->key, created), server_ns(d->key, created));
	(void)now_ms;
}
