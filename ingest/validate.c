/*
 * Validation of the readings stream's entries: the layout (v, r), then
 * reading_parse() (the same checks as the API's batch route), then what
 * only the ingester knows: the physical range of the probe's type
 * (ingest.ranges), how far ahead of the clock a device may be
 * (ingest.future_skew) and how old a point the raw retention policy
 * still keeps (ingest.retention_raw).
 *
 * Every rejection has one reason (the first in enum reject order when a
 * reading has several problems), counted in
 * grilld_ingest_rejected_total{reason} and written with the detail to
 * the dead-letter stream by the caller.
 *
 * The probe type: metadata.probe_type when the producer names one that
 * ingest.ranges knows, else "humidity" for unit H, else "temperature".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "ingest.h"

static const char *const reason_names[REJECT_NREASONS] = {
	[REJECT_NONE] = "none",
	[REJECT_BAD_LAYOUT] = "bad_layout",
	[REJECT_BAD_UTF8] = "bad_utf8",
	[REJECT_BAD_JSON] = "bad_json",
	[REJECT_MISSING_ID] = "missing_id",
	[REJECT_BAD_ID] = "bad_id",
	[REJECT_BAD_VALUE] = "bad_value",
	[REJECT_BAD_UNIT] = "bad_unit",
	[REJECT_BAD_TIMESTAMP] = "bad_timestamp",
	[REJECT_FUTURE] = "future",
	[REJECT_TOO_OLD] = "too_old",
	[REJECT_OUT_OF_RANGE] = "out_of_range",
	[REJECT_BAD_FIELD] = "bad_field",
	[REJECT_MAX_DELIVERIES] = "max_deliveries",
	[REJECT_INFLUX] = "influx_rejected",
	[REJECT_LOST] = "lost",
};

const char *
validate_reason_name(enum reject r)
{
	return (unsigned)r < REJECT_NREASONS ? reason_names[r] : "unknown";
}

void
validate_count(struct validate *v, enum reject r)
{
	if ((unsigned)r < REJECT_NREASONS && v->m_rejected[r] != NULL)
		metric_inc(v->m_rejected[r]);
}

/*
 * InfluxDB durations as retention policies take them: "7d", "168h",
 * "1w2d", "INF". 0 for INF; -1 when not a duration.
 */
int
validate_parse_retention(const char *s, int64_t *ns)
{
	static const struct { const char *u; int64_t mul; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "ms", NS_PER_MS },
		{ "s", NS_PER_S }, { "m", 60 * NS_PER_S },
		{ "h", 3600 * NS_PER_S }, { "d", 86400 * NS_PER_S },
		{ "w", 7 * 86400 * NS_PER_S },
	};
	int64_t total = 0;

	if (s == NULL || *s == '\0')
		return -1;
	if (strcasecmp(s, "INF") == 0) {
		*ns = 0;
		return 0;
	}
	while (*s) {
		char *end;
		long long n = strtoll(s, &end, 10);
		size_t i, best = ARRAY_LEN(units), blen = 0;

		if (end == s || n < 0)
			return -1;
		for (i = 0; i < ARRAY_LEN(units); i++) {
			size_t l = strlen(units[i].u);

			if (strncmp(end, units[i].u, l) == 0 && l > blen) {
				best = i;
				blen = l;
			}
		}
		if (best == ARRAY_LEN(units) || n > INT64_MAX / units[best].mul ||
		    total > INT64_MAX - n * units[best].mul)
			return -1;
		total += n * units[best].mul;
		s = end + blen;
	}
	if (total <= 0)
		return -1;
	*ns = total;
	return 0;
}

static int
range_add(struct validate *v, const char *type, double min, double max)
{
	struct range *r = NULL;

	for (size_t i = 0; i < v->nranges; i++)
		if (strcmp(v->ranges[i].type, type) == 0)
			r = &v->ranges[i];
	if (r == NULL) {
		if (v->nranges == VALIDATE_RANGES_MAX)
			return -1;
		r = &v->ranges[v->nranges++];
		util_strlcpy(r->type, type, sizeof(r->type));
	}
	r->min = min;
	r->max = max;
	return 0;
}

/* ingest.ranges: {type: {min, max, unit}}, unit F, C (default) or H. */
static int
ranges_load(struct validate *v, const struct cnode *root, char *err,
    size_t errlen)
{
	const struct cnode *n;
	char where[128];

	if (root == NULL)
		return 0;
	cnode_where(root, where, sizeof(where));
	if (root->kind != CNODE_MAP) {
		snprintf(err, errlen, "%s: ingest.ranges must be a map of probe "
		    "type to {min, max, unit}", where);
		return -1;
	}
	for (n = root->child; n != NULL; n = n->next) {
		const char *smin = cnode_str(n, "min", NULL);
		const char *smax = cnode_str(n, "max", NULL);
		const char *unit = cnode_str(n, "unit", "C");
		double min, max;

		cnode_where(n, where, sizeof(where));
		if (n->kind != CNODE_MAP || smin == NULL || smax == NULL ||
		    util_parse_double(smin, &min) == -1 ||
		    util_parse_double(smax, &max) == -1 || !(min < max)) {
			snprintf(err, errlen, "%s: ingest.ranges.%s needs numbers "
			    "min < max", where, n->key);
			return -1;
		}
		if (strlen(n->key) >= sizeof(v->ranges[0].type)) {
			snprintf(err, errlen, "%s: probe type %s is too long",
			    where, n->key);
			return -1;
		}
		if (strcmp(unit, "F") == 0 || strcmp(unit, "f") == 0) {
			min = reading_convert(min, 'F', 'C');
			max = reading_convert(max, 'F', 'C');
		} else if (strcmp(unit, "C") != 0 && strcmp(unit, "c") != 0 &&
		    strcmp(unit, "H") != 0 && strcmp(unit, "h") != 0) {
			snprintf(err, errlen, "%s: ingest.ranges.%s.unit must be "
			    "F, C or H", where, n->key);
			return -1;
		}
		if (range_add(v, n->key, min, max) == -1) {
			snprintf(err, errlen, "%s: more than %d probe types",
			    where, VALIDATE_RANGES_MAX);
			return -1;
		}
	}
	return 0;
}

int
validate_init(struct validate *v, const struct grilld_conf *cf, char *err,
    size_t errlen)
{
	struct metric *rej;

	memset(v, 0, sizeof(*v));
	range_add(v, "temperature", READING_TEMP_MIN_C, READING_TEMP_MAX_C);
	range_add(v, "humidity", 0, 100);
	if (ranges_load(v, cf->ingest.ranges, err, errlen) == -1)
		return -1;
	v->future_ns = cf->ingest.future_skew * NS_PER_MS;
	if (validate_parse_retention(cf->ingest.retention_raw,
	    &v->retention_ns) == -1) {
		snprintf(err, errlen, "ingest.retention_raw: \"%s\" is not an "
		    "InfluxDB duration (7d, 168h, INF)", cf->ingest.retention_raw);
		return -1;
	}
	v->m_in = metric_with(metric_counter("grilld_ingest_readings_in_total",
	    "Entries read from the readings stream.", NULL));
	rej = metric_counter("grilld_ingest_rejected_total", "Entries "
	    "dead-lettered, by reason.", "reason");
	for (int i = 1; i < REJECT_NREASONS; i++)
		v->m_rejected[i] = metric_with(rej, reason_names[i]);
	return 0;
}

const struct range *
validate_range(const struct validate *v, const struct reading *r)
{
	const char *type = r->unit == 'H' ? "humidity" : "temperature";
	const cJSON *t;

	if (r->metadata != NULL &&
	    (t = cJSON_GetObjectItemCaseSensitive(r->metadata,
	    "probe_type")) != NULL && cJSON_IsString(t))
		for (size_t i = 0; i < v->nranges; i++)
			if (strcmp(v->ranges[i].type, t->valuestring) == 0)
				return &v->ranges[i];
	for (size_t i = 0; i < v->nranges; i++)
		if (strcmp(v->ranges[i].type, type) == 0)
			return &v->ranges[i];
	return NULL;
}

/* The reason for the errors of reading_parse(), most basic first. */
static enum reject
classify(const struct reading_errs *errs)
{
	enum reject best = REJECT_BAD_FIELD, r;

	for (size_t i = 0; i < errs->n; i++) {
		const struct reading_err *e = &errs->e[i];

		if (strcmp(e->field, "reading") == 0)
			r = strstr(e->msg, "UTF-8") ? REJECT_BAD_UTF8 :
			    REJECT_BAD_JSON;
		else if (strcmp(e->field, "device_id") == 0)
			r = strcmp(e->msg, "is required") == 0 ?
			    REJECT_MISSING_ID : REJECT_BAD_ID;
		else if (strcmp(e->field, "probe_id") == 0)
			r = REJECT_BAD_ID;
		else if (strcmp(e->field, "temperature") == 0)
			r = REJECT_BAD_VALUE;
		else if (strcmp(e->field, "unit") == 0)
			r = REJECT_BAD_UNIT;
		else if (strcmp(e->field, "timestamp") == 0)
			r = REJECT_BAD_TIMESTAMP;
		else
			r = REJECT_BAD_FIELD;
		if (r < best)
			best = r;
	}
	return best;
}

enum reject
validate_entry(struct validate *v, const char *ver, size_t verlen,
    const char *json, size_t len, struct reading *out, int64_t now,
    char *why, size_t whylen)
{
	struct reading_limits lim;
	struct reading_errs errs;
	const struct range *rg;
	char t[UTIL_TIME_LEN];
	struct buf b;
	double c;

	metric_inc(v->m_in);
	why[0] = '\0';
	reading_init(out);
	if (ver == NULL || verlen != strlen(RKEY_LAYOUT) ||
	    memcmp(ver, RKEY_LAYOUT, verlen) != 0) {
		snprintf(why, whylen, ver ? "unknown layout version \"%.*s\"" :
		    "no layout version (field " RKEY_F_LAYOUT ")", (int)(verlen > 16 ? 16 :
		    verlen), ver ? ver : "");
		return REJECT_BAD_LAYOUT;
	}
	if (json == NULL) {
		snprintf(why, whylen, "no reading (field " RKEY_F_READING ")");
		return REJECT_BAD_LAYOUT;
	}
	/* Wide limits: time and range are judged below, with their reasons. */
	lim.now_ns = now;
	lim.min_ts_ns = INT64_MIN;
	lim.max_future_ns = INT64_MAX;
	lim.temp_min_c = -INFINITY;
	lim.temp_max_c = INFINITY;
	lim.hum_min = -INFINITY;
	lim.hum_max = INFINITY;
	if (reading_parse(json, len, out, &lim, &errs) == -1) {
		buf_init(&b);
		if (reading_errs_format(&errs, &b) == 0 && b.data != NULL)
			util_strlcpy(why, b.data, whylen);
		buf_free(&b);
		return classify(&errs);
	}
	if (v->future_ns >= 0 && out->ts_ns > now + v->future_ns) {
		util_time_format(out->ts_ns, t, sizeof(t));
		snprintf(why, whylen, "timestamp %s is more than %lld s ahead of "
		    "the clock", t, (long long)(v->future_ns / NS_PER_S));
		return REJECT_FUTURE;
	}
	if (v->retention_ns > 0 && out->ts_ns < now - v->retention_ns) {
		util_time_format(out->ts_ns, t, sizeof(t));
		snprintf(why, whylen, "timestamp %s is older than the raw "
		    "retention (%lld h)", t,
		    (long long)(v->retention_ns / (3600 * NS_PER_S)));
		return REJECT_TOO_OLD;
	}
	if (out->has_value && (rg = validate_range(v, out)) != NULL) {
		c = reading_canonical(out);
		if (!(c >= rg->min && c <= rg->max)) {
			snprintf(why, whylen, "%g %c is outside the %s range "
			    "%g..%g %s", out->value, out->unit, rg->type,
			    rg->min, rg->max, out->unit == 'H' ? "%" : "C");
			return REJECT_OUT_OF_RANGE;
		}
	}
	return REJECT_NONE;
}
