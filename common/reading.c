/*
 * reading: the reading model, its JSON form and its checks. See
 * reading.h for the rules.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reading.h"

#define DOC_FIELD	"reading"	/* errors about the whole document */
#define META_DEPTH	16
#define TS_US_MAX	9.2e15		/* |microseconds| that fit in ns */

void
reading_init(struct reading *r)
{
	memset(r, 0, sizeof(*r));
	r->unit = 'F';
	r->battery = READING_NO_BATTERY;
	r->signal = READING_NO_SIGNAL;
	r->status = PROBE_UNKNOWN;
	r->metadata = NULL;
}

void
reading_clear(struct reading *r)
{
	cJSON_Delete(r->metadata);
	reading_init(r);
}

int
reading_copy(struct reading *dst, const struct reading *src)
{
	*dst = *src;
	if (src->metadata == NULL)
		return 0;
	if ((dst->metadata = cJSON_Duplicate(src->metadata, 1)) == NULL)
		return -1;
	return 0;
}

void
reading_limits_default(struct reading_limits *lim)
{
	lim->now_ns = 0;
	lim->min_ts_ns = READING_MIN_TS_NS;
	lim->max_future_ns = READING_MAX_FUTURE_NS;
	lim->temp_min_c = READING_TEMP_MIN_C;
	lim->temp_max_c = READING_TEMP_MAX_C;
	lim->hum_min = 0;
	lim->hum_max = 100;
}

static void
limits_get(const struct reading_limits *in, struct reading_limits *out)
{
	if (in == NULL)
		reading_limits_default(out);
	else
		*out = *in;
	if (out->now_ns == 0)
		out->now_ns = util_now_ns();
}

/* Cuts a string that snprintf may have cut inside a UTF-8 sequence. */
static void
utf8_trim(char *s)
{
	size_t len = strlen(s), i = len, need;
	unsigned char c;

	while (i > 0 && len - i < 4 &&
	    ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return;
	c = (unsigned char)s[i - 1];
	if (c < 0x80)
		return;
	need = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
	if (i - 1 + need > len)
		s[i - 1] = '\0';
}

/* A short, printable copy of a client's value for a message. */
static void
snippet(char *out, size_t len, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < len && s[i] != '\0'; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		    s[i];
	out[i] = '\0';
	utf8_trim(out);
}

void
reading_errs_init(struct reading_errs *errs)
{
	errs->n = 0;
	errs->dropped = 0;
}

/* Field names are compared as stored: cut to fit. */
const char *
reading_errs_get(const struct reading_errs *errs, const char *field)
{
	size_t cap = sizeof(errs->e[0].field) - 1;
	size_t n = strnlen(field, cap);

	for (size_t i = 0; i < errs->n; i++)
		if (strncmp(errs->e[i].field, field, cap) == 0 &&
		    errs->e[i].field[n] == '\0')
			return errs->e[i].msg;
	return NULL;
}

void
reading_errs_add(struct reading_errs *errs, const char *field,
    const char *fmt, ...)
{
	struct reading_err *e;
	va_list ap;

	if (errs == NULL || reading_errs_get(errs, field) != NULL)
		return;
	if (errs->n == READING_ERRS_MAX) {
		errs->dropped++;
		return;
	}
	e = &errs->e[errs->n++];
	util_strlcpy(e->field, field, sizeof(e->field));
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	utf8_trim(e->msg);
}

int
reading_errs_format(const struct reading_errs *errs, struct buf *b)
{
	size_t start = b->len;
	int rc = 0;

	for (size_t i = 0; i < errs->n && rc == 0; i++)
		rc = buf_printf(b, "%s%s: %s", i ? "; " : "",
		    errs->e[i].field, errs->e[i].msg);
	if (rc == 0 && errs->dropped > 0)
		rc = buf_printf(b, " (and %zu more)", errs->dropped);
	if (rc == -1) {
		b->len = start;
		if (b->data != NULL)
			b->data[start] = '\0';
	}
	return rc;
}

bool
reading_unit_valid(char u)
{
	return u == 'F' || u == 'C' || u == 'K' || u == 'H';
}

double
reading_convert(double v, char from, char to)
{
	double c;

	if (from == 'H')
		return v;
	switch (from) {
	case 'F':
		c = (v - 32.0) * 5.0 / 9.0;
		break;
	case 'C':
		c = v;
		break;
	case 'K':
		c = v - 273.15;
		break;
	default:
		return NAN;
	}
	if (to == 0 || to == from)
		return v;
	if (to == 'C')
		return c;
	if (to == 'F')
		return c * 9.0 / 5.0 + 32.0;
	return NAN;
}

double
reading_canonical(const struct reading *r)
{
	if (!r->has_value)
		return NAN;
	return reading_convert(r->value, r->unit, r->unit == 'H' ? 'H' : 'C');
}

static const char *const status_names[] = {
	[PROBE_UNKNOWN] = "UNKNOWN",
	[PROBE_NORMAL] = "NORMAL",
	[PROBE_LOW] = "LOW",
	[PROBE_HIGH] = "HIGH",
	[PROBE_NO_PROBE] = "NO PROBE",
};

const char *
reading_status_name(enum probe_status s)
{
	if ((unsigned)s >= ARRAY_LEN(status_names))
		return "UNKNOWN";
	return status_names[s];
}

int
reading_status_parse(const char *s, enum probe_status *out)
{
	for (size_t i = 0; i < ARRAY_LEN(status_names); i++) {
		if (strcasecmp(s, status_names[i]) == 0) {
			*out = (enum probe_status)i;
			return 0;
		}
	}
	if (strcasecmp(s, "NO_PROBE") == 0) {
		*out = PROBE_NO_PROBE;
		return 0;
	}
	return -1;
}

/* W3C Trace Context, version 00: 00-<32 hex>-<16 hex>-<2 hex>. */
static bool
traceparent_valid(const char *s)
{
	static const char pat[] = "00-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-"
	    "xxxxxxxxxxxxxxxx-xx";
	bool trace_zero = true, parent_zero = true;

	if (strlen(s) != sizeof(pat) - 1)
		return false;
	for (size_t i = 0; pat[i] != '\0'; i++) {
		if (pat[i] != 'x') {
			if (s[i] != pat[i])
				return false;
			continue;
		}
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
		if (s[i] != '0' && i < 35)
			trace_zero = false;
		else if (s[i] != '0' && i > 35 && i < 52)
			parent_zero = false;
	}
	return !trace_zero && !parent_zero;
}

/* A text field of the struct: terminated, UTF-8, no control character. */
static void
check_text(struct reading_errs *errs, const char *field, const char *s,
    size_t cap, bool required)
{
	size_t n = strnlen(s, cap);

	if (n == cap) {
		reading_errs_add(errs, field, "is not terminated");
		return;
	}
	if (n == 0) {
		if (required)
			reading_errs_add(errs, field, "is required");
		return;
	}
	if (!util_utf8_valid(s, n)) {
		reading_errs_add(errs, field, "is not valid UTF-8");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			reading_errs_add(errs, field,
			    "must not contain control characters");
			return;
		}
	}
}

/* Every check but the physical range; lim is resolved. */
static void
check_fields(const struct reading *r, const struct reading_limits *lim,
    struct reading_errs *errs)
{
	char t[UTIL_TIME_LEN], t2[UTIL_TIME_LEN];
	int64_t latest = lim->now_ns > INT64_MAX - lim->max_future_ns ?
	    INT64_MAX : lim->now_ns + lim->max_future_ns;

	check_text(errs, "device_id", r->device_id, sizeof(r->device_id),
	    true);
	check_text(errs, "probe_id", r->probe_id, sizeof(r->probe_id), false);
	check_text(errs, "source", r->source, sizeof(r->source), false);
	check_text(errs, "label", r->label, sizeof(r->label), false);
	if (strnlen(r->traceparent, sizeof(r->traceparent)) ==
	    sizeof(r->traceparent) ||
	    (r->traceparent[0] != '\0' && !traceparent_valid(r->traceparent)))
		reading_errs_add(errs, "traceparent",
		    "is not a W3C traceparent");
	if (!reading_unit_valid(r->unit))
		reading_errs_add(errs, "unit", "must be F, C, K or H");
	if (r->has_value && !isfinite(r->value))
		reading_errs_add(errs, "temperature",
		    "must be a finite number");
	if ((unsigned)r->status >= ARRAY_LEN(status_names))
		reading_errs_add(errs, "status", "is not a known status");
	else if (r->has_value && r->status == PROBE_NO_PROBE)
		reading_errs_add(errs, "temperature",
		    "must be null when status is NO PROBE");
	if (r->battery != READING_NO_BATTERY &&
	    (r->battery < 0 || r->battery > 100))
		reading_errs_add(errs, "battery_level",
		    "must be an integer from 0 to 100, not %d", r->battery);
	if (r->signal != READING_NO_SIGNAL &&
	    (r->signal < READING_SIGNAL_MIN || r->signal > READING_SIGNAL_MAX))
		reading_errs_add(errs, "signal_strength",
		    "must be from %d to %d, not %d", READING_SIGNAL_MIN,
		    READING_SIGNAL_MAX, r->signal);
	if (r->ts_ns < lim->min_ts_ns) {
		util_time_format(r->ts_ns, t, sizeof(t));
		util_time_format(lim->min_ts_ns, t2, sizeof(t2));
		reading_errs_add(errs, "timestamp", "%s is before %s", t, t2);
	} else if (r->ts_ns > latest) {
		util_time_format(r->ts_ns, t, sizeof(t));
		reading_errs_add(errs, "timestamp",
		    "%s is more than %lld s in the future", t,
		    (long long)(lim->max_future_ns / NS_PER_S));
	}
	if (r->metadata != NULL && !cJSON_IsObject(r->metadata))
		reading_errs_add(errs, "metadata", "must be an object");
	if (r->flags & ~READING_F_ALL)
		reading_errs_add(errs, "flags", "has unknown bits 0x%x",
		    (unsigned)(r->flags & ~READING_F_ALL));
}

/* A Celsius limit in the reading's own unit, for messages. */
static double
limit_in(double c, char unit)
{
	if (unit == 'K')
		return c + 273.15;
	return reading_convert(c, 'C', unit);
}

int
reading_validate(const struct reading *r, const struct reading_limits *limp,
    struct reading_errs *errs)
{
	struct reading_errs local;
	struct reading_limits lim;
	const double eps = 1e-9;

	if (errs == NULL)
		errs = &local;
	reading_errs_init(errs);
	limits_get(limp, &lim);
	check_fields(r, &lim, errs);
	if (r->has_value && isfinite(r->value) && r->unit == 'H') {
		if (r->value < lim.hum_min || r->value > lim.hum_max)
			reading_errs_add(errs, "temperature", "humidity %g %% "
			    "is outside %g..%g %%", r->value, lim.hum_min,
			    lim.hum_max);
	} else if (r->has_value && isfinite(r->value) &&
	    reading_unit_valid(r->unit)) {
		double c = reading_canonical(r);

		if (c < lim.temp_min_c - eps || c > lim.temp_max_c + eps)
			reading_errs_add(errs, "temperature",
			    "%g %c is outside %g..%g %c", r->value, r->unit,
			    limit_in(lim.temp_min_c, r->unit),
			    limit_in(lim.temp_max_c, r->unit), r->unit);
	}
	return errs->n == 0 && errs->dropped == 0 ? 0 : -1;
}

/*
 * JSON in.
 */

enum jfield {
	J_DEVICE_ID, J_PROBE_ID, J_TEMPERATURE, J_UNIT, J_TIMESTAMP,
	J_BATTERY, J_SIGNAL, J_STATUS, J_SOURCE, J_LABEL, J_TRACEPARENT,
	J_METADATA, J_FLAGS, J_COUNT
};

static const char *const jnames[J_COUNT] = {
	[J_DEVICE_ID] = "device_id",
	[J_PROBE_ID] = "probe_id",
	[J_TEMPERATURE] = "temperature",
	[J_UNIT] = "unit",
	[J_TIMESTAMP] = "timestamp",
	[J_BATTERY] = "battery_level",
	[J_SIGNAL] = "signal_strength",
	[J_STATUS] = "status",
	[J_SOURCE] = "source",
	[J_LABEL] = "label",
	[J_TRACEPARENT] = "traceparent",
	[J_METADATA] = "metadata",
	[J_FLAGS] = "flags",
};

/* Copies an optional (or required) string member into a struct field. */
static void
take_text(struct reading_errs *errs, const char *field, const cJSON *it,
    char *dst, size_t cap, bool required)
{
	size_t n;

	if (it == NULL || cJSON_IsNull(it)) {
		if (required)
			reading_errs_add(errs, field, "is required");
		return;
	}
	if (!cJSON_IsString(it) || it->valuestring == NULL) {
		reading_errs_add(errs, field, required ? "must be a string" :
		    "must be a string or null");
		return;
	}
	if ((n = strlen(it->valuestring)) >= cap) {
		reading_errs_add(errs, field, "is longer than %zu bytes",
		    cap - 1);
		return;
	}
	memcpy(dst, it->valuestring, n + 1);
}

/* An integral number in [lo, hi], or -1 with an error. */
static int
take_int(struct reading_errs *errs, const char *field, const cJSON *it,
    double lo, double hi, double *out)
{
	double v;

	v = cJSON_IsNumber(it) ? it->valuedouble : NAN;
	if (!isfinite(v) || v != floor(v)) {
		reading_errs_add(errs, field, "must be an integer from %.0f "
		    "to %.0f", lo, hi);
		return -1;
	}
	if (v < lo || v > hi) {
		reading_errs_add(errs, field, "must be an integer from %.0f "
		    "to %.0f, not %.0f", lo, hi, v);
		return -1;
	}
	*out = v;
	return 0;
}

static int
take_timestamp(struct reading_errs *errs, const cJSON *it, int64_t *out)
{
	char s[48];
	double us;

	if (cJSON_IsString(it) && it->valuestring != NULL) {
		if (util_time_parse(it->valuestring, out) == 0)
			return 0;
		snippet(s, sizeof(s), it->valuestring);
		reading_errs_add(errs, "timestamp", "\"%s\" is not an RFC 3339 "
		    "time from the years 1678 to 2261", s);
		return -1;
	}
	if (!cJSON_IsNumber(it)) {
		reading_errs_add(errs, "timestamp", "must be an RFC 3339 "
		    "string or a number of Unix seconds or milliseconds");
		return -1;
	}
	us = it->valuedouble;
	us = fabs(us) < 1e11 ? us * 1e6 : us * 1e3;
	if (!(fabs(us) < TS_US_MAX)) {
		reading_errs_add(errs, "timestamp", "is out of range");
		return -1;
	}
	*out = (int64_t)llround(us) * 1000;
	return 0;
}

static int
json_depth(const cJSON *it)
{
	int max = 0;
	const cJSON *c;

	cJSON_ArrayForEach(c, it) {
		int d = json_depth(c);

		if (d > max)
			max = d;
		if (max > META_DEPTH)
			break;
	}
	return 1 + max;
}

static void
take_unit(struct reading_errs *errs, const cJSON *it, char *unit)
{
	char s[24];
	int u;

	if (it == NULL || cJSON_IsNull(it))
		return;
	if (!cJSON_IsString(it) || it->valuestring == NULL) {
		reading_errs_add(errs, "unit", "must be a string");
		return;
	}
	u = toupper((unsigned char)it->valuestring[0]);
	if (it->valuestring[0] != '\0' && it->valuestring[1] == '\0' &&
	    reading_unit_valid((char)u)) {
		*unit = (char)u;
		return;
	}
	snippet(s, sizeof(s), it->valuestring);
	reading_errs_add(errs, "unit", "unknown unit \"%s\" (use F, C, K or H)",
	    s);
}

static void
take_status(struct reading_errs *errs, const cJSON *it,
    enum probe_status *st)
{
	char s[24];

	if (it == NULL || cJSON_IsNull(it))
		return;
	if (!cJSON_IsString(it) || it->valuestring == NULL) {
		reading_errs_add(errs, "status", "must be a string");
		return;
	}
	if (reading_status_parse(it->valuestring, st) == 0)
		return;
	snippet(s, sizeof(s), it->valuestring);
	reading_errs_add(errs, "status", "unknown status \"%s\" (use NORMAL, "
	    "LOW, HIGH or NO PROBE)", s);
}

/* The parsing proper; r and errs are initialised, lim resolved. */
static void
from_json(const cJSON *root, struct reading *r,
    const struct reading_limits *lim, struct reading_errs *errs)
{
	const cJSON *f[J_COUNT] = { 0 }, *it;
	double v;

	if (!cJSON_IsObject(root)) {
		reading_errs_add(errs, DOC_FIELD, "must be a JSON object");
		return;
	}
	cJSON_ArrayForEach(it, root) {
		for (int i = 0; i < J_COUNT; i++) {
			if (it->string == NULL || strcmp(it->string, jnames[i]))
				continue;
			if (f[i] != NULL)
				reading_errs_add(errs, jnames[i],
				    "is given more than once");
			f[i] = it;
			break;
		}
	}

	take_text(errs, "device_id", f[J_DEVICE_ID], r->device_id,
	    sizeof(r->device_id), true);
	take_text(errs, "probe_id", f[J_PROBE_ID], r->probe_id,
	    sizeof(r->probe_id), false);
	take_text(errs, "source", f[J_SOURCE], r->source, sizeof(r->source),
	    false);
	take_text(errs, "label", f[J_LABEL], r->label, sizeof(r->label),
	    false);
	it = f[J_TRACEPARENT];
	if (cJSON_IsString(it) && it->valuestring != NULL &&
	    traceparent_valid(it->valuestring))
		util_strlcpy(r->traceparent, it->valuestring,
		    sizeof(r->traceparent));
	take_unit(errs, f[J_UNIT], &r->unit);
	take_status(errs, f[J_STATUS], &r->status);

	it = f[J_TEMPERATURE];
	if (cJSON_IsNumber(it) && isfinite(it->valuedouble)) {
		r->value = it->valuedouble;
		r->has_value = true;
	} else if (cJSON_IsNumber(it))
		reading_errs_add(errs, "temperature",
		    "must be a finite number");
	else if (cJSON_IsNull(it)) {
		if (r->status == PROBE_UNKNOWN)
			r->status = PROBE_NO_PROBE;
	} else if (it != NULL)
		reading_errs_add(errs, "temperature",
		    "must be a number or null");
	else if (r->status != PROBE_NO_PROBE)
		reading_errs_add(errs, "temperature",
		    "is required (null when no probe is plugged in)");
	if (r->status == PROBE_NO_PROBE) {
		r->has_value = false;
		r->value = 0;
	}

	it = f[J_TIMESTAMP];
	if (it == NULL || cJSON_IsNull(it))
		r->ts_ns = lim->now_ns;
	else
		take_timestamp(errs, it, &r->ts_ns);

	it = f[J_BATTERY];
	if (it != NULL && !cJSON_IsNull(it) &&
	    take_int(errs, "battery_level", it, 0, 100, &v) == 0)
		r->battery = (int)v;

	it = f[J_SIGNAL];
	if (it != NULL && !cJSON_IsNull(it)) {
		if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) ||
		    fabs(it->valuedouble) > 1e6)
			reading_errs_add(errs, "signal_strength",
			    "must be a number from %d to %d",
			    READING_SIGNAL_MIN, READING_SIGNAL_MAX);
		else
			r->signal = (int)lround(it->valuedouble);
	}

	it = f[J_FLAGS];
	if (it != NULL && !cJSON_IsNull(it) &&
	    take_int(errs, "flags", it, 0, UINT32_MAX, &v) == 0)
		r->flags = (uint32_t)v;

	it = f[J_METADATA];
	if (it != NULL && !cJSON_IsNull(it)) {
		if (!cJSON_IsObject(it))
			reading_errs_add(errs, "metadata",
			    "must be an object or null");
		else if (json_depth(it) > META_DEPTH)
			reading_errs_add(errs, "metadata",
			    "is nested deeper than %d levels", META_DEPTH);
		else if ((r->metadata = cJSON_Duplicate(it, 1)) == NULL)
			reading_errs_add(errs, "metadata", "out of memory");
	}

	check_fields(r, lim, errs);
}

static int
parse_done(struct reading *r, struct reading_errs *errs)
{
	if (errs->n == 0 && errs->dropped == 0)
		return 0;
	cJSON_Delete(r->metadata);
	r->metadata = NULL;
	return -1;
}

int
reading_from_json(const cJSON *root, struct reading *r,
    const struct reading_limits *limp, struct reading_errs *errs)
{
	struct reading_errs local;
	struct reading_limits lim;

	if (errs == NULL)
		errs = &local;
	reading_errs_init(errs);
	reading_init(r);
	limits_get(limp, &lim);
	from_json(root, r, &lim, errs);
	return parse_done(r, errs);
}

/* cJSON turns "\u0000" into the end of the string: refuse it instead. */
static bool
has_escaped_nul(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < len && s[i + 2] == '0' &&
		    s[i + 3] == '0' && s[i + 4] == '0' && s[i + 5] == '0')
			return true;
		i++;	/* skip the escaped character */
	}
	return false;
}

int
reading_parse(const char *json, size_t len, struct reading *r,
    const struct reading_limits *limp, struct reading_errs *errs)
{
	struct reading_errs local;
	struct reading_limits lim;
	const char *end = NULL;
	cJSON *root;

	if (errs == NULL)
		errs = &local;
	reading_errs_init(errs);
	reading_init(r);
	limits_get(limp, &lim);
	if (json == NULL || len == 0) {
		reading_errs_add(errs, DOC_FIELD, "is empty");
		return -1;
	}
	if (memchr(json, '\0', len) != NULL) {
		reading_errs_add(errs, DOC_FIELD, "contains a NUL byte");
		return -1;
	}
	if (!util_utf8_valid(json, len)) {
		reading_errs_add(errs, DOC_FIELD, "is not valid UTF-8");
		return -1;
	}
	if (has_escaped_nul(json, len)) {
		reading_errs_add(errs, DOC_FIELD, "contains \\u0000");
		return -1;
	}
	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (root == NULL) {
		reading_errs_add(errs, DOC_FIELD, "is not valid JSON (at byte "
		    "%zu)", end != NULL && end >= json ?
		    (size_t)(end - json) : (size_t)0);
		return -1;
	}
	while (end != NULL && end < json + len && (*end == ' ' ||
	    *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end != NULL && end < json + len)
		reading_errs_add(errs, DOC_FIELD, "has data after the JSON "
		    "value (at byte %zu)", (size_t)(end - json));
	from_json(root, r, &lim, errs);
	cJSON_Delete(root);
	return parse_done(r, errs);
}

/*
 * JSON out.
 */

/* The value and unit to show for out_unit; -1 when out_unit is bad. */
static int
out_value(const struct reading *r, char out_unit, double *v, char *unit)
{
	char to = (char)toupper((unsigned char)out_unit);

	if (to != 0 && to != 'F' && to != 'C')
		return -1;
	*v = r->value;
	*unit = r->unit;
	if (to == 0 || r->unit == 'H' || !reading_unit_valid(r->unit))
		return 0;
	*v = reading_convert(r->value, r->unit, to);
	*unit = to;
	return 0;
}

cJSON *
reading_to_json(const struct reading *r, char out_unit)
{
	char unit[2] = { 0, 0 }, ts[UTIL_TIME_LEN];
	cJSON *o, *meta;
	double v;
	bool ok = true;

	if (out_value(r, out_unit, &v, &unit[0]) == -1)
		return NULL;
	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	util_time_format(r->ts_ns, ts, sizeof(ts));
	ok &= cJSON_AddStringToObject(o, "device_id", r->device_id) != NULL;
	if (r->probe_id[0] != '\0')
		ok &= cJSON_AddStringToObject(o, "probe_id", r->probe_id) !=
		    NULL;
	else
		ok &= cJSON_AddNullToObject(o, "probe_id") != NULL;
	if (r->has_value && isfinite(v))
		ok &= cJSON_AddNumberToObject(o, "temperature",
		    v == 0 ? 0.0 : v) != NULL;
	else
		ok &= cJSON_AddNullToObject(o, "temperature") != NULL;
	ok &= cJSON_AddStringToObject(o, "unit", unit) != NULL;
	ok &= cJSON_AddStringToObject(o, "timestamp", ts) != NULL;
	if (r->battery != READING_NO_BATTERY)
		ok &= cJSON_AddNumberToObject(o, "battery_level", r->battery) !=
		    NULL;
	else
		ok &= cJSON_AddNullToObject(o, "battery_level") != NULL;
	if (r->signal != READING_NO_SIGNAL)
		ok &= cJSON_AddNumberToObject(o, "signal_strength",
		    r->signal) != NULL;
	else
		ok &= cJSON_AddNullToObject(o, "signal_strength") != NULL;
	if (r->status != PROBE_UNKNOWN)
		ok &= cJSON_AddStringToObject(o, "status",
		    reading_status_name(r->status)) != NULL;
	if (r->source[0] != '\0')
		ok &= cJSON_AddStringToObject(o, "source", r->source) != NULL;
	if (r->label[0] != '\0')
		ok &= cJSON_AddStringToObject(o, "label", r->label) != NULL;
	if (r->flags != 0)
		ok &= cJSON_AddNumberToObject(o, "flags", r->flags) != NULL;
	if (r->traceparent[0] != '\0')
		ok &= cJSON_AddStringToObject(o, "traceparent",
		    r->traceparent) != NULL;
	if (ok && r->metadata != NULL) {
		if ((meta = cJSON_Duplicate(r->metadata, 1)) == NULL)
			ok = false;
		else if (!cJSON_AddItemToObject(o, "metadata", meta)) {
			cJSON_Delete(meta);
			ok = false;
		}
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/*
 * A value that is exactly a 32-bit float, as the cloud's are, taken at
 * that precision: the double of the shortest decimal that reads back as
 * the same float (158.8000030517578 is the float nearest 158.8: 158.8).
 * Any other value is returned as it is.
 */
double
reading_float_precision(double v)
{
	char num[32];
	float f = (float)v;
	int n;

	if (!isfinite(v) || (double)f != v || fabs(v) >= 1e15)
		return v;
	/*
	 * The quick way first, for what probes send (a few decimals):
	 * m / 10^k with the fewest decimals k that reads back as the float.
	 * Both are held exactly, so the quotient is the double nearest the
	 * decimal m / 10^k, what strtod() gives for it; fewer decimals are
	 * fewer significant digits, so this is the decimal the loop below
	 * would find (or one of the same value).
	 */
	if (fabs(v) >= 1e-3 && fabs(v) < 1e6) {
		static const double p10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6 };

		for (int k = 0; k < 7; k++) {
			double m = nearbyint(v * p10[k]), d = m / p10[k];

			if (fabs(m) < 1e15 && (float)d == f)
				return d;
		}
	}
	for (int p = 1; p <= 9; p++) {
		n = snprintf(num, sizeof(num), "%.*g", p, v);
		if (n <= 0 || (size_t)n >= sizeof(num))
			return v;
		if (strtof(num, NULL) == f)
			return strtod(num, NULL);
	}
	return v;
}

static int
put_num(struct buf *b, double v)
{
	char num[UTIL_F64_LEN];
	int n;

	if (!isfinite(v))
		return buf_append(b, "null", 4);
	if ((n = util_fmt_f64(v == 0 ? 0.0 : v, num, sizeof(num))) == -1)
		return -1;
	return buf_append(b, num, (size_t)n);
}

static int
put_int(struct buf *b, int64_t v)
{
	char num[24];

	return buf_append(b, num, (size_t)util_fmt_i64(num, v));
}

static int
put_str(struct buf *b, const char *s)
{
	if (buf_putc(b, '"') == -1 || buf_json_escape(b, s) == -1)
		return -1;
	return buf_putc(b, '"');
}

/* ,"key": (every key but the first, which the caller writes) */
static int
put_key(struct buf *b, const char *key)
{
	if (buf_putc(b, ',') == -1 || put_str(b, key) == -1)
		return -1;
	return buf_putc(b, ':');
}

static int
put_item(struct buf *b, const cJSON *it, int depth)
{
	const cJSON *c;
	bool obj;

	if (depth > CJSON_NESTING_LIMIT)
		return -1;
	switch (it->type & 0xff) {
	case cJSON_NULL:
		return buf_puts(b, "null");
	case cJSON_False:
		return buf_puts(b, "false");
	case cJSON_True:
		return buf_puts(b, "true");
	case cJSON_Number:
		return put_num(b, it->valuedouble);
	case cJSON_String:
		return put_str(b, it->valuestring ? it->valuestring : "");
	case cJSON_Raw:
		return it->valuestring ? buf_puts(b, it->valuestring) : -1;
	case cJSON_Array:
	case cJSON_Object:
		obj = (it->type & 0xff) == cJSON_Object;
		if (buf_putc(b, obj ? '{' : '[') == -1)
			return -1;
		cJSON_ArrayForEach(c, it) {
			if (c != it->child && buf_putc(b, ',') == -1)
				return -1;
			if (obj && (put_str(b, c->string ? c->string : "") ==
			    -1 || buf_putc(b, ':') == -1))
				return -1;
			if (put_item(b, c, depth + 1) == -1)
				return -1;
		}
		return buf_putc(b, obj ? '}' : ']');
	default:
		return -1;
	}
}

int
reading_write_json(struct buf *b, const struct reading *r, char out_unit)
{
	char unit[2] = { 0, 0 }, ts[UTIL_TIME_LEN];
	size_t start = b->len;
	double v;
	int rc = 0;

	if (out_value(r, out_unit, &v, &unit[0]) == -1)
		return -1;
	util_time_format(r->ts_ns, ts, sizeof(ts));
	rc |= buf_puts(b, "{\"device_id\":");
	rc |= put_str(b, r->device_id);
	rc |= put_key(b, "probe_id");
	rc |= r->probe_id[0] ? put_str(b, r->probe_id) : buf_puts(b, "null");
	rc |= put_key(b, "temperature");
	rc |= r->has_value ? put_num(b, v) : buf_puts(b, "null");
	rc |= put_key(b, "unit");
	rc |= put_str(b, unit);
	rc |= put_key(b, "timestamp");
	rc |= put_str(b, ts);
	rc |= put_key(b, "battery_level");
	rc |= r->battery != READING_NO_BATTERY ?
	    put_int(b, r->battery) : buf_puts(b, "null");
	rc |= put_key(b, "signal_strength");
	rc |= r->signal != READING_NO_SIGNAL ?
	    put_int(b, r->signal) : buf_puts(b, "null");
	if (r->status != PROBE_UNKNOWN) {
		rc |= put_key(b, "status");
		rc |= put_str(b, reading_status_name(r->status));
	}
	if (r->source[0] != '\0') {
		rc |= put_key(b, "source");
		rc |= put_str(b, r->source);
	}
	if (r->label[0] != '\0') {
		rc |= put_key(b, "label");
		rc |= put_str(b, r->label);
	}
	if (r->flags != 0) {
		rc |= put_key(b, "flags");
		rc |= put_int(b, r->flags);
	}
	if (r->traceparent[0] != '\0') {
		rc |= put_key(b, "traceparent");
		rc |= put_str(b, r->traceparent);
	}
	if (r->metadata != NULL) {
		rc |= put_key(b, "metadata");
		rc |= put_item(b, r->metadata, 0);
	}
	rc |= buf_putc(b, '}');
	if (rc != 0) {
		b->len = start;
		if (b->data != NULL)
			b->data[start] = '\0';
		return -1;
	}
	return 0;
}
