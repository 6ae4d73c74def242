/*
 * Firestore's typed values, read the way the wild sends them.
 *
 * A field is {"stringValue": s}, {"integerValue": "123"} (a decimal
 * string), {"doubleValue": 1.5}, {"booleanValue": b}, {"timestampValue":
 * "...Z"}, {"nullValue": null}, {"mapValue": {"fields": {...}}} or
 * {"arrayValue": {"values": [...]}}. Types drift: a number may come as
 * integerValue or doubleValue (and integerValue as a JSON number), a
 * boolean as 0/1, a timestamp with micro- or nanoseconds, optional
 * fields may be missing and values null. Every reader here accepts what
 * can be read without guessing, and says FS_ABSENT, FS_NULL or FS_BAD
 * otherwise; none of them fails the whole document for one odd field.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poller.h"

const cJSON *
fs_fields(const cJSON *doc)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(doc, "fields");

	return cJSON_IsObject(f) ? f : NULL;
}

/* The typed value of one field, or NULL. */
const cJSON *
fs_field(const cJSON *fields, const char *name)
{
	const cJSON *v;

	if (fields == NULL)
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(fields, name);
	return cJSON_IsObject(v) ? v : NULL;
}

/* The one member of a typed value: its type name and payload. */
static const cJSON *
fs_payload(const cJSON *v, const char *type)
{
	return v == NULL ? NULL : cJSON_GetObjectItemCaseSensitive(v, type);
}

static bool
fs_is_null(const cJSON *v)
{
	return v == NULL || cJSON_IsNull(v) ||
	    fs_payload(v, "nullValue") != NULL;
}

/* A whole decimal or floating-point text, as a double. */
static int
fs_text_number(const char *s, double *out)
{
	if (s == NULL)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (util_parse_double(s, out) == -1 || !isfinite(*out))
		return -1;
	return 0;
}

enum fs_res
fs_string(const cJSON *v, char *out, size_t size)
{
	const cJSON *p;

	if (v == NULL)
		return FS_ABSENT;
	if ((p = fs_payload(v, "stringValue")) != NULL) {
		if (!cJSON_IsString(p))
			return FS_BAD;
		util_strlcpy(out, p->valuestring, size);
		return FS_OK;
	}
	if ((p = fs_payload(v, "integerValue")) != NULL) {
		if (cJSON_IsString(p))
			util_strlcpy(out, p->valuestring, size);
		else if (cJSON_IsNumber(p))
			snprintf(out, size, "%.0f", p->valuedouble);
		else
			return FS_BAD;
		return FS_OK;
	}
	if ((p = fs_payload(v, "doubleValue")) != NULL && cJSON_IsNumber(p)) {
		snprintf(out, size, "%.17g", p->valuedouble);
		return FS_OK;
	}
	return fs_is_null(v) ? FS_NULL : FS_BAD;
}

enum fs_res
fs_number(const cJSON *v, double *out)
{
	const cJSON *p;

	if (v == NULL)
		return FS_ABSENT;
	if ((p = fs_payload(v, "doubleValue")) == NULL)
		p = fs_payload(v, "integerValue");
	if (p == NULL)
		p = fs_payload(v, "stringValue");
	if (p != NULL) {
		if (cJSON_IsNumber(p) && isfinite(p->valuedouble)) {
			*out = p->valuedouble;
			return FS_OK;
		}
		if (cJSON_IsString(p) && fs_text_number(p->valuestring,
		    out) == 0)
			return FS_OK;
		return FS_BAD;
	}
	if ((p = fs_payload(v, "booleanValue")) != NULL && cJSON_IsBool(p)) {
		*out = cJSON_IsTrue(p) ? 1 : 0;
		return FS_OK;
	}
	return fs_is_null(v) ? FS_NULL : FS_BAD;
}

enum fs_res
fs_int(const cJSON *v, int64_t *out)
{
	const cJSON *p;
	double d;
	enum fs_res r;

	/* integerValue text is exact; go through double only otherwise. */
	if ((p = fs_payload(v, "integerValue")) != NULL &&
	    cJSON_IsString(p) && util_parse_int(p->valuestring, out) == 0)
		return FS_OK;
	if ((r = fs_number(v, &d)) != FS_OK)
		return r;
	if (d < -9.2e18 || d > 9.2e18)
		return FS_BAD;
	*out = (int64_t)llround(d);
	return FS_OK;
}

enum fs_res
fs_bool(const cJSON *v, bool *out)
{
	const cJSON *p;
	double d;

	if (v == NULL)
		return FS_ABSENT;
	if ((p = fs_payload(v, "booleanValue")) != NULL) {
		if (cJSON_IsBool(p)) {
			*out = cJSON_IsTrue(p);
			return FS_OK;
		}
		if (cJSON_IsNumber(p) && (p->valuedouble == 0 ||
		    p->valuedouble == 1)) {
			*out = p->valuedouble == 1;
			return FS_OK;
		}
		return FS_BAD;
	}
	if ((p = fs_payload(v, "stringValue")) != NULL && cJSON_IsString(p)) {
		if (strcmp(p->valuestring, "true") == 0 ||
		    strcmp(p->valuestring, "false") == 0) {
			*out = p->valuestring[0] == 't';
			return FS_OK;
		}
		return FS_BAD;
	}
	switch (fs_number(v, &d)) {
	case FS_OK:
		if (d != 0 && d != 1)
			return FS_BAD;
		*out = d == 1;
		return FS_OK;
	case FS_NULL:
		return FS_NULL;
	default:
		return FS_BAD;
	}
}

/*
 * timestampValue (RFC 3339, any number of fraction digits), the same text
 * as a stringValue, or a number of Unix seconds, milliseconds,
 * microseconds or nanoseconds told apart by magnitude.
 */
enum fs_res
fs_time(const cJSON *v, int64_t *ns)
{
	const cJSON *p;
	int64_t n, unit;

	if (v == NULL)
		return FS_ABSENT;
	if ((p = fs_payload(v, "timestampValue")) == NULL)
		p = fs_payload(v, "stringValue");
	if (p != NULL) {
		if (!cJSON_IsString(p) || util_time_parse(p->valuestring,
		    ns) == -1)
			return FS_BAD;
		return *ns > 0 ? FS_OK : FS_BAD;
	}
	switch (fs_int(v, &n)) {
	case FS_OK:
		break;
	case FS_NULL:
		return FS_NULL;
	default:
		return FS_BAD;
	}
	if (n <= 0)
		return FS_BAD;
	if (n < INT64_C(100000000000))			/* seconds */
		unit = NS_PER_S;
	else if (n < INT64_C(100000000000000))		/* ms */
		unit = NS_PER_MS;
	else if (n < INT64_C(100000000000000000))	/* us */
		unit = 1000;
	else
		unit = 1;
	if (n > INT64_MAX / unit)
		return FS_BAD;		/* past 2262 in nanoseconds */
	*ns = n * unit;
	return FS_OK;
}

/* The fields of a mapValue, or NULL. */
const cJSON *
fs_map(const cJSON *v)
{
	const cJSON *m = fs_payload(v, "mapValue");
	const cJSON *f;

	if (!cJSON_IsObject(m))
		return NULL;
	f = cJSON_GetObjectItemCaseSensitive(m, "fields");
	return cJSON_IsObject(f) ? f : m;	/* an empty map has none */
}

/* The values of an arrayValue, or NULL. */
const cJSON *
fs_array(const cJSON *v)
{
	const cJSON *a = fs_payload(v, "arrayValue");
	const cJSON *vals;

	if (!cJSON_IsObject(a))
		return NULL;
	vals = cJSON_GetObjectItemCaseSensitive(a, "values");
	return cJSON_IsArray(vals) ? vals : a;	/* empty: no "values" */
}

/* The last segment of a document's "name". */
int
fs_doc_id(const cJSON *doc, char *out, size_t size)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(doc, "name");
	const char *slash;

	if (!cJSON_IsString(n) || n->valuestring[0] == '\0')
		return -1;
	slash = strrchr(n->valuestring, '/');
	slash = slash ? slash + 1 : n->valuestring;
	if (*slash == '\0')
		return -1;
	util_strlcpy(out, slash, size);
	return 0;
}

/* error.message of a Google API error body ("TOO_MANY_ATTEMPTS..."). */
int
fs_error_message(const char *body, size_t len, char *out, size_t size)
{
	cJSON *root;
	const cJSON *e, *m;
	int rc = -1;

	if (body == NULL || (root = cJSON_ParseWithLength(body, len)) == NULL)
		return -1;
	e = cJSON_GetObjectItemCaseSensitive(root, "error");
	m = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (cJSON_IsString(m)) {
		util_strlcpy(out, m->valuestring, size);
		rc = 0;
	} else if (cJSON_IsString(e)) {		/* the token service's */
		util_strlcpy(out, e->valuestring, size);
		rc = 0;
	}
	cJSON_Delete(root);
	return rc;
}

/* "F", "C", "H" (humidity), any case; 0 for anything else. */
char
fs_unit(const char *s)
{
	if (s == NULL || s[0] == '\0' || s[1] != '\0')
		return 0;
	switch (toupper((unsigned char)s[0])) {
	case 'F':
		return 'F';
	case 'C':
		return 'C';
	case 'H':
		return 'H';
	case 'K':
		return 'K';
	default:
		return 0;
	}
}

static void
get_str(const cJSON *fields, const char *name, char *out, size_t size)
{
	if (fs_string(fs_field(fields, name), out, size) != FS_OK)
		out[0] = '\0';
}

static int64_t
get_time(const cJSON *fields, const char *name)
{
	int64_t ns;

	return fs_time(fs_field(fields, name), &ns) == FS_OK ? ns : 0;
}

static int
get_signal(const cJSON *fields, const char *name)
{
	double d;

	if (fs_number(fs_field(fields, name), &d) != FS_OK ||
	    d < READING_SIGNAL_MIN || d > READING_SIGNAL_MAX)
		return READING_NO_SIGNAL;
	return (int)lround(d);
}

static void
decode_alarm(const cJSON *v, struct tw_alarm *a)
{
	const cJSON *m = fs_map(v);
	char unit[8];

	memset(a, 0, sizeof(*a));
	if (m == NULL)
		return;
	a->present = true;
	fs_bool(fs_field(m, "enabled"), &a->enabled);
	fs_bool(fs_field(m, "alarming"), &a->alarming);
	a->has_value = fs_number(fs_field(m, "value"), &a->value) == FS_OK;
	get_str(m, "units", unit, sizeof(unit));
	a->unit = fs_unit(unit);
}

/*
 * A device document. -1 only when it is not a document or names no
 * serial (neither the field nor the document name).
 */
int
fs_decode_device(const cJSON *doc, struct tw_dev_doc *d)
{
	const cJSON *f = fs_fields(doc), *fan;
	char unit[8];
	int64_t n;
	double x;

	memset(d, 0, sizeof(*d));
	d->battery = READING_NO_BATTERY;
	d->wifi_rssi = d->gateway_rssi = READING_NO_SIGNAL;
	if (!cJSON_IsObject(doc))
		return -1;
	get_str(f, "serial", d->serial, sizeof(d->serial));
	if (d->serial[0] == '\0' && fs_doc_id(doc, d->serial,
	    sizeof(d->serial)) == -1)
		return -1;
	get_str(f, "deviceId", d->mac, sizeof(d->mac));
	get_str(f, "label", d->label, sizeof(d->label));
	get_str(f, "type", d->type, sizeof(d->type));
	get_str(f, "device", d->model, sizeof(d->model));
	get_str(f, "accountId", d->account_id, sizeof(d->account_id));
	get_str(f, "firmware", d->firmware, sizeof(d->firmware));
	get_str(f, "status", d->status, sizeof(d->status));
	get_str(f, "batteryState", d->battery_state,
	    sizeof(d->battery_state));
	if (fs_number(fs_field(f, "battery"), &x) == FS_OK && x >= 0 &&
	    x <= 100)
		d->battery = (int)lround(x);
	d->wifi_rssi = get_signal(f, "wifi_stength");	/* sic */
	if (d->wifi_rssi == READING_NO_SIGNAL)
		d->wifi_rssi = get_signal(f, "wifi_strength");
	d->gateway_rssi = get_signal(f, "gatewayRSSI");
	get_str(f, "deviceDisplayUnits", unit, sizeof(unit));
	d->units = fs_unit(unit);
	if (fs_int(fs_field(f, "recordingIntervalInSeconds"), &n) == FS_OK &&
	    n > 0 && n <= 86400)
		d->recording_s = n;
	if (fs_int(fs_field(f, "transmitIntervalInSeconds"), &n) == FS_OK &&
	    n > 0 && n <= 86400)
		d->transmit_s = n;
	d->last_seen_ns = get_time(f, "lastSeen");
	d->last_telemetry_ns = get_time(f, "lastTelemetrySaved");
	d->session_start_ns = get_time(f, "sessionStart");
	d->last_archive_ns = get_time(f, "lastArchive");
	/* RFX Meat probes: uploads on a temperature step, or a heartbeat. */
	if (fs_int(fs_field(f, "heartbeatInterval"), &n) == FS_OK && n > 0 &&
	    n <= 86400)
		d->heartbeat_s = n;
	if ((fan = fs_map(fs_field(f, "fan"))) != NULL) {
		d->fan.present = true;
		d->fan.has_set_temp = fs_number(fs_field(fan, "setTemp"),
		    &d->fan.set_temp) == FS_OK;
		/* An integer on real Signals; a word in older documents. */
		if (fs_int(fs_field(fan, "state"), &n) == FS_OK)
			snprintf(d->fan.state, sizeof(d->fan.state), "%lld",
			    (long long)n);
		else
			get_str(fan, "state", d->fan.state,
			    sizeof(d->fan.state));
		d->fan.has_connected = fs_bool(fs_field(fan, "connected"),
		    &d->fan.connected) == FS_OK;
	}
	return 0;
}

/*
 * A channel document. -1 when it is not a document. A value that is null,
 * missing or unreadable, or a probe reported unplugged, has no value.
 */
int
fs_decode_channel(const cJSON *doc, struct tw_chan_doc *c)
{
	const cJSON *f = fs_fields(doc);
	char text[TW_TEXT_LEN];
	int64_t n;

	memset(c, 0, sizeof(*c));
	if (!cJSON_IsObject(doc) || f == NULL)
		return -1;
	if (fs_int(fs_field(f, "number"), &n) == FS_OK && n > 0 && n < 1000)
		c->number = (int)n;
	else if (fs_doc_id(doc, text, sizeof(text)) == 0 &&
	    util_parse_int(text, &n) == 0 && n > 0 && n < 1000)
		c->number = (int)n;
	get_str(f, "label", c->label, sizeof(c->label));
	get_str(f, "type", c->type, sizeof(c->type));
	get_str(f, "units", text, sizeof(text));
	c->unit = fs_unit(text);
	get_str(f, "status", text, sizeof(text));
	if (text[0] == '\0' || reading_status_parse(text, &c->status) == -1)
		c->status = PROBE_UNKNOWN;
	c->has_value = fs_number(fs_field(f, "value"), &c->value) == FS_OK &&
	    c->status != PROBE_NO_PROBE;
	if (!c->has_value)
		c->value = 0;
	c->last_seen_ns = get_time(f, "lastSeen");
	c->last_telemetry_ns = get_time(f, "lastTelemetrySaved");
	decode_alarm(fs_field(f, "alarmHigh"), &c->alarm_high);
	decode_alarm(fs_field(f, "alarmLow"), &c->alarm_low);
	return 0;
}

/*
 * The array splitter: a runQuery answer is one JSON array that may be
 * megabytes long (10,000 devices). It is cut into its elements as it
 * arrives, each parsed and dropped on its own, so memory stays at one
 * element. Strings are followed (with their escapes) so that brackets
 * inside them do not count.
 */
enum { SPLIT_BEFORE, SPLIT_IN, SPLIT_DONE, SPLIT_ERROR };

void
fs_split_init(struct fs_split *s, size_t max, fs_elem_fn fn, void *arg)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->elem);
	s->state = SPLIT_BEFORE;
	s->max = max;
	s->fn = fn;
	s->arg = arg;
}

void
fs_split_free(struct fs_split *s)
{
	buf_free(&s->elem);
	s->state = SPLIT_ERROR;
}

static int
split_byte(struct fs_split *s, char c)
{
	if (s->depth == 0) {		/* between elements */
		if (isspace((unsigned char)c) || c == ',')
			return 0;
		if (c == ']') {
			s->state = SPLIT_DONE;
			return 0;
		}
		if (c != '{' && c != '[')
			return -1;	/* runQuery's elements are objects */
	}
	if (buf_putc(&s->elem, c) == -1 || s->elem.len > s->max)
		return -1;
	if (s->in_str) {
		if (s->esc)
			s->esc = false;
		else if (c == '\\')
			s->esc = true;
		else if (c == '"')
			s->in_str = false;
		return 0;
	}
	switch (c) {
	case '"':
		s->in_str = true;
		break;
	case '{':
	case '[':
		s->depth++;
		break;
	case '}':
	case ']':
		if (--s->depth == 0) {
			int rc = s->fn(s->elem.data, s->elem.len, s->arg);

			buf_reset(&s->elem);
			return rc;
		}
		break;
	}
	return 0;
}

/* 0, or -1 once the text is not a JSON array of objects (or fn said so). */
int
fs_split_feed(struct fs_split *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s->state) {
		case SPLIT_BEFORE:
			if (isspace((unsigned char)p[i]))
				continue;
			if (p[i] != '[')
				goto fail;
			s->state = SPLIT_IN;
			continue;
		case SPLIT_IN:
			if (split_byte(s, p[i]) == -1)
				goto fail;
			continue;
		case SPLIT_DONE:
			if (!isspace((unsigned char)p[i]))
				goto fail;
			continue;
		default:
			return -1;
		}
	}
	return 0;
fail:
	s->state = SPLIT_ERROR;
	return -1;
}

/* 0 when the whole array arrived and closed. */
int
fs_split_finish(struct fs_split *s)
{
	return s->state == SPLIT_DONE ? 0 : -1;
}
