/*
 * Alert rules: parsing, defaults and the canonical JSON form.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alertrule.h"

#define DOC_FIELD	"rule"

static const char *const kind_names[ALERTRULE_NKINDS] = {
	[ALERTRULE_ABOVE] = "above",
	[ALERTRULE_BELOW] = "below",
	[ALERTRULE_TARGET] = "target",
	[ALERTRULE_RISE_RATE] = "rise_rate",
	[ALERTRULE_FALL_RATE] = "fall_rate",
	[ALERTRULE_STALL] = "stall",
	[ALERTRULE_DISCONNECTED] = "disconnected",
	[ALERTRULE_BATTERY_LOW] = "battery_low",
	[ALERTRULE_OFFLINE] = "offline",
};

static const char *const members[] = { "id", "kind", "device_id",
	"probe_id", "threshold", "unit", "hysteresis", "for", "after",
	"repeat", "name", "enabled", "notify" };

const char *
alertrule_kind_name(enum alertrule_kind k)
{
	if ((unsigned)k >= ALERTRULE_NKINDS)
		return NULL;
	return kind_names[k];
}

int
alertrule_kind_parse(const char *s, enum alertrule_kind *k)
{
	for (unsigned i = 0; i < ALERTRULE_NKINDS; i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*k = (enum alertrule_kind)i;
			return 0;
		}
	return -1;
}

bool
alertrule_device_level(enum alertrule_kind k)
{
	return k == ALERTRULE_BATTERY_LOW || k == ALERTRULE_OFFLINE;
}

bool
alertrule_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= ALERTRULE_ID_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' ||
		    *s == ':' || *s == '-'))
			return false;
	return true;
}

bool
alertrule_matches(const struct alertrule *r, const char *device,
    const char *probe)
{
	if (strcmp(r->device_id, ALERTRULE_ANY) != 0 &&
	    strcmp(r->device_id, device) != 0)
		return false;
	if (alertrule_device_level(r->kind))
		return true;
	return r->probe_id[0] == '\0' || strcmp(r->probe_id, ALERTRULE_ANY) == 0 ||
	    strcmp(r->probe_id, probe) == 0;
}

static bool
has_value(const cJSON *it)
{
	return it != NULL && !cJSON_IsNull(it);
}

/* A string member into dst; "" when absent. */
static void
take_str(struct reading_errs *errs, const cJSON *it, const char *field,
    char *dst, size_t cap, bool required)
{
	size_t n;

	dst[0] = '\0';
	if (!has_value(it)) {
		if (required)
			reading_errs_add(errs, field, "is required");
		return;
	}
	if (!cJSON_IsString(it) || it->valuestring == NULL) {
		reading_errs_add(errs, field, "must be a string");
		return;
	}
	n = strlen(it->valuestring);
	if (n >= cap) {
		reading_errs_add(errs, field, "is longer than %zu bytes",
		    cap - 1);
		return;
	}
	if (!util_utf8_valid(it->valuestring, n)) {
		reading_errs_add(errs, field, "is not valid UTF-8");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)it->valuestring[i] < 0x20 ||
		    it->valuestring[i] == 0x7f) {
			reading_errs_add(errs, field,
			    "contains a control character");
			return;
		}
	if (required && n == 0) {
		reading_errs_add(errs, field, "is required");
		return;
	}
	memcpy(dst, it->valuestring, n + 1);
}

static void
take_bool(struct reading_errs *errs, const cJSON *it, const char *field,
    bool *dst)
{
	if (!has_value(it))
		return;
	if (!cJSON_IsBool(it))
		reading_errs_add(errs, field, "must be true or false");
	else
		*dst = cJSON_IsTrue(it);
}

/* A duration: "30s", "5m", or a number of seconds; -1 when absent. */
static int64_t
take_duration(struct reading_errs *errs, const cJSON *it, const char *field)
{
	int64_t ms;

	if (!has_value(it))
		return -1;
	if (cJSON_IsNumber(it) && isfinite(it->valuedouble) &&
	    it->valuedouble >= 0 && it->valuedouble <= 366.0 * 86400)
		return (int64_t)llround(it->valuedouble * 1000);
	if (cJSON_IsString(it) && it->valuestring != NULL &&
	    util_parse_duration(it->valuestring, &ms) == 0 && ms >= 0 &&
	    ms <= INT64_C(366) * 86400 * 1000)
		return ms;
	reading_errs_add(errs, field, "must be a duration such as \"30s\", "
	    "\"5m\" or \"2h\" (at most a year), or a number of seconds");
	return -1;
}

/* A finite number member; false when absent or bad (bad: an error). */
static bool
take_num(struct reading_errs *errs, const cJSON *it, const char *field,
    double *dst)
{
	if (!has_value(it))
		return false;
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble)) {
		reading_errs_add(errs, field, "must be a finite number");
		return false;
	}
	*dst = it->valuedouble;
	return true;
}

static void
defaults(struct alertrule *r, bool has_hyst)
{
	if (has_hyst)
		return;
	switch (r->kind) {
	case ALERTRULE_RISE_RATE:
	case ALERTRULE_FALL_RATE:
		r->hysteresis = r->threshold / 4;
		break;
	case ALERTRULE_BATTERY_LOW:
		r->hysteresis = 5;
		break;
	default:
		r->hysteresis = r->unit == 'C' ? 1 : 2;
		break;
	}
}

/* Checks that depend on the kind, once every member is read. */
static void
check_kind(struct alertrule *r, const cJSON *f[], bool has_thr,
    struct reading_errs *errs)
{
	bool thr_needed = false, thr_allowed = true;

	switch (r->kind) {
	case ALERTRULE_ABOVE:
	case ALERTRULE_BELOW:
		thr_needed = true;
		break;
	case ALERTRULE_TARGET:
	case ALERTRULE_RISE_RATE:
	case ALERTRULE_FALL_RATE:
		thr_needed = true;
		if (r->unit == 'H')
			reading_errs_add(errs, "unit", "H (humidity) is only "
			    "for above and below");
		break;
	case ALERTRULE_BATTERY_LOW:
		if (!has_thr)
			r->threshold = 20;
		if (r->threshold < 0 || r->threshold > 100)
			reading_errs_add(errs, "threshold",
			    "must be a percentage from 0 to 100");
		break;
	case ALERTRULE_STALL:
	case ALERTRULE_DISCONNECTED:
	case ALERTRULE_OFFLINE:
		thr_allowed = false;
		break;
	}
	if (thr_needed && !has_thr && reading_errs_get(errs, "threshold") ==
	    NULL)
		reading_errs_add(errs, "threshold", "is required for %s",
		    kind_names[r->kind]);
	if (!thr_allowed && has_value(f[4]))
		reading_errs_add(errs, "threshold", "is not used by %s",
		    kind_names[r->kind]);
	if ((r->kind == ALERTRULE_RISE_RATE || r->kind == ALERTRULE_FALL_RATE)
	    && has_thr && r->threshold <= 0)
		reading_errs_add(errs, "threshold", "must be a positive rate "
		    "(degrees per minute)");
	if (alertrule_device_level(r->kind) && r->probe_id[0] != '\0' &&
	    strcmp(r->probe_id, ALERTRULE_ANY) != 0)
		reading_errs_add(errs, "probe_id", "is not used by %s, which "
		    "concerns the whole device", kind_names[r->kind]);
	if (has_value(f[8]) && r->kind != ALERTRULE_DISCONNECTED &&
	    r->kind != ALERTRULE_OFFLINE)
		reading_errs_add(errs, "after", "is only for disconnected and "
		    "offline");
	if (alertrule_device_level(r->kind))
		r->probe_id[0] = '\0';
	else if (strcmp(r->probe_id, ALERTRULE_ANY) == 0)
		r->probe_id[0] = '\0';
}

int
alertrule_from_json(const cJSON *root, struct alertrule *r,
    struct reading_errs *errs)
{
	struct reading_errs local;
	const cJSON *f[ARRAY_LEN(members)] = { 0 }, *it;
	char kind[32], unit[4];
	bool has_thr, has_hyst;
	int64_t d;

	if (errs == NULL)
		errs = &local;
	reading_errs_init(errs);
	memset(r, 0, sizeof(*r));
	r->unit = 'F';
	r->enabled = true;
	r->notify = true;
	r->after_ms = ALERTRULE_AFTER_MS;
	if (!cJSON_IsObject(root)) {
		reading_errs_add(errs, DOC_FIELD, "must be a JSON object");
		return -1;
	}
	cJSON_ArrayForEach(it, root) {
		size_t i;

		for (i = 0; i < ARRAY_LEN(members); i++)
			if (it->string != NULL && strcmp(it->string,
			    members[i]) == 0)
				break;
		if (i == ARRAY_LEN(members)) {
			reading_errs_add(errs, it->string ? it->string : "?",
			    "is not a member of a rule");
			continue;
		}
		if (f[i] != NULL)
			reading_errs_add(errs, members[i],
			    "is given more than once");
		f[i] = it;
	}

	take_str(errs, f[0], "id", r->id, sizeof(r->id), true);
	if (r->id[0] != '\0' && !alertrule_id_valid(r->id))
		reading_errs_add(errs, "id", "must be 1-63 characters of "
		    "A-Z a-z 0-9 _ . : -");
	take_str(errs, f[1], "kind", kind, sizeof(kind), true);
	if (kind[0] != '\0' && alertrule_kind_parse(kind, &r->kind) == -1)
		reading_errs_add(errs, "kind", "unknown kind \"%s\" (use above, "
		    "below, target, rise_rate, fall_rate, stall, disconnected, "
		    "battery_low or offline)", kind);
	take_str(errs, f[2], "device_id", r->device_id, sizeof(r->device_id),
	    true);
	take_str(errs, f[3], "probe_id", r->probe_id, sizeof(r->probe_id),
	    false);
	has_thr = take_num(errs, f[4], "threshold", &r->threshold);
	take_str(errs, f[5], "unit", unit, sizeof(unit), false);
	if (unit[0] != '\0') {
		if (unit[1] == '\0' && strchr("FfCcHh", unit[0]) != NULL)
			r->unit = (char)(unit[0] & ~0x20);
		else
			reading_errs_add(errs, "unit", "must be F, C or H");
	}
	has_hyst = take_num(errs, f[6], "hysteresis", &r->hysteresis);
	if (has_hyst && r->hysteresis < 0)
		reading_errs_add(errs, "hysteresis", "must not be negative");
	if ((d = take_duration(errs, f[7], "for")) >= 0)
		r->for_ms = d;
	if ((d = take_duration(errs, f[8], "after")) >= 0)
		r->after_ms = d;
	if (r->after_ms < 1000)
		reading_errs_add(errs, "after", "must be at least 1s");
	if ((d = take_duration(errs, f[9], "repeat")) >= 0)
		r->repeat_ms = d;
	if (r->repeat_ms > 0 && r->repeat_ms < 60000)
		reading_errs_add(errs, "repeat", "must be 0 (never) or at "
		    "least 1m");
	take_str(errs, f[10], "name", r->name, sizeof(r->name), false);
	take_bool(errs, f[11], "enabled", &r->enabled);
	take_bool(errs, f[12], "notify", &r->notify);

	if (reading_errs_get(errs, "kind") == NULL && kind[0] != '\0')
		check_kind(r, f, has_thr, errs);
	defaults(r, has_hyst);
	if (r->name[0] == '\0')
		util_strlcpy(r->name, r->id, sizeof(r->name));
	return errs->n == 0 && errs->dropped == 0 ? 0 : -1;
}

int
alertrule_parse(const char *json, size_t len, struct alertrule *r,
    struct reading_errs *errs)
{
	struct reading_errs local;
	cJSON *root;
	int rc;

	if (errs == NULL)
		errs = &local;
	reading_errs_init(errs);
	memset(r, 0, sizeof(*r));
	if (json == NULL || len == 0 || len > ALERTRULE_DOC_MAX) {
		reading_errs_add(errs, DOC_FIELD, len ? "is longer than %d "
		    "bytes" : "is empty", ALERTRULE_DOC_MAX);
		return -1;
	}
	if (memchr(json, '\0', len) != NULL || !util_utf8_valid(json, len)) {
		reading_errs_add(errs, DOC_FIELD, "is not valid UTF-8 text");
		return -1;
	}
	if ((root = cJSON_ParseWithLength(json, len)) == NULL) {
		reading_errs_add(errs, DOC_FIELD, "is not valid JSON");
		return -1;
	}
	rc = alertrule_from_json(root, r, errs);
	cJSON_Delete(root);
	return rc;
}

static bool
put_duration(cJSON *o, const char *key, int64_t ms)
{
	char s[32];

	util_format_duration(ms, s, sizeof(s));
	return cJSON_AddStringToObject(o, key, s) != NULL;
}

cJSON *
alertrule_to_json(const struct alertrule *r)
{
	char unit[2] = { r->unit, '\0' };
	bool ok = true, thr, after;
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	thr = r->kind != ALERTRULE_STALL && r->kind != ALERTRULE_DISCONNECTED &&
	    r->kind != ALERTRULE_OFFLINE;
	after = r->kind == ALERTRULE_DISCONNECTED || r->kind == ALERTRULE_OFFLINE;
	ok &= cJSON_AddStringToObject(o, "id", r->id) != NULL;
	ok &= cJSON_AddStringToObject(o, "kind", kind_names[r->kind]) != NULL;
	ok &= cJSON_AddStringToObject(o, "device_id", r->device_id) != NULL;
	if (!alertrule_device_level(r->kind))
		ok &= cJSON_AddStringToObject(o, "probe_id", r->probe_id[0] ?
		    r->probe_id : ALERTRULE_ANY) != NULL;
	if (thr) {
		ok &= cJSON_AddNumberToObject(o, "threshold", r->threshold) !=
		    NULL;
		ok &= cJSON_AddNumberToObject(o, "hysteresis", r->hysteresis) !=
		    NULL;
	}
	ok &= cJSON_AddStringToObject(o, "unit", unit) != NULL;
	ok &= put_duration(o, "for", r->for_ms);
	if (after)
		ok &= put_duration(o, "after", r->after_ms);
	ok &= put_duration(o, "repeat", r->repeat_ms);
	ok &= cJSON_AddStringToObject(o, "name", r->name) != NULL;
	ok &= cJSON_AddBoolToObject(o, "enabled", r->enabled) != NULL;
	ok &= cJSON_AddBoolToObject(o, "notify", r->notify) != NULL;
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}
