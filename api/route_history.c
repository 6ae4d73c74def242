/*
 * GET /api/temperature/history/{device_id}
 *
 * grill-stats' parameters (probe_id, start_time, end_time: the last 24 h
 * by default, aggregation none/mean/max/min/sum plus count and median,
 * interval, limit 1000, offset 0) and its answer
 *
 *	{"status": "success", "data": [point, ...], "count": n,
 *	 "query": {...}, "next_cursor": "..." | null}
 *
 * newest first, as grill-stats' InfluxDB query (ORDER BY time DESC LIMIT
 * OFFSET) answered, so offset counts from the newest point; plus
 * order=asc for oldest first, unit=F|C and cursor, the stable
 * alternative to offset: pass the next_cursor of an answer to get the
 * page after it (older points, or newer ones with order=asc). The query object
 * says what was actually asked of InfluxDB: the retention policy, the
 * interval, and a note when the plan had to differ from the request.
 *
 * Errors: 400 naming the parameter (a bad time, start after end, a
 * limit past api.max_points, an unknown aggregation, cursor with
 * offset); 400 TOO_MANY_POINTS when the interval asked would need more
 * than api.max_points buckets; 503/504 when InfluxDB is down or slow. A
 * device without data is 200 with an empty list, as in grill-stats.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "reading.h"

#define DAY_NS		(INT64_C(86400) * NS_PER_S)
#define DEFAULT_LIMIT	1000
#define OFFSET_MAX	INT64_C(100000000)

/* Parameters every query over a device's points takes. */
int
history_params(struct req *r, struct hquery *q)
{
	memset(q, 0, sizeof(*q));
	util_strlcpy(q->device, r->arg, sizeof(q->device));
	if (api_param_id(r, "probe_id", q->probe, sizeof(q->probe)) == -1 ||
	    api_param_range(r, DAY_NS, &q->start_ns, &q->end_ns) == -1 ||
	    api_param_unit(r, 'F', &q->unit) == -1)
		return -1;
	return 0;
}

/* Plans q's range and aggregation onto a retention policy. */
int
history_plan(struct req *r, struct hquery *q, int64_t interval_ms)
{
	struct plan_in in;
	int rc;

	memset(&in, 0, sizeof(in));
	in.start_ns = q->start_ns;
	in.end_ns = q->end_ns;
	in.now_ns = util_now_ns();
	in.agg = q->agg;
	in.interval_ms = interval_ms;
	in.max_points = r->api->cf->api.max_points;
	plan_retentions(r->api->cf, in.retention_ms);
	if ((rc = plan_make(&in, &q->plan)) == PLAN_TOO_MANY) {
		cJSON *d = cJSON_CreateObject();

		cJSON_AddStringToObject(d, "parameter", "interval");
		cJSON_AddNumberToObject(d, "points", (double)q->plan.buckets);
		cJSON_AddNumberToObject(d, "max_points", (double)in.max_points);
		return api_error_details(r, 400, "TOO_MANY_POINTS", d,
		    "interval: %s", q->plan.why);
	}
	if (rc == -1)
		return api_error_param(r, "start_time", "the range is empty");
	if (q->agg == AGG_SUM && q->plan.rp != RP_RAW)
		return api_error_param(r, "aggregation", "sum is answered "
		    "from raw points only, which are kept for %s; ask for "
		    "mean or a shorter range", r->api->cf->ingest.retention_raw);
	return 0;
}


/* 404 for a device of which nothing is known (grilld's export). */
int
history_not_found(struct req *r, const char *device)
{
	if (api_device_known(r, device) != 0)
		return 0;
	return api_error_details(r, 404, "DEVICE_NOT_FOUND",
	    cJSON_CreateString(device), "no device %s is known", device);
}

static void
query_json(struct buf *b, const struct req *r, const struct hquery *q)
{
	char ts[UTIL_TIME_LEN], iv[32];

	buf_puts(b, "\"query\":{\"device_id\":\"");
	buf_json_escape(b, q->device);
	buf_puts(b, "\",\"probe_id\":");
	if (q->probe[0] != '\0') {
		buf_putc(b, '"');
		buf_json_escape(b, q->probe);
		buf_putc(b, '"');
	} else
		buf_puts(b, "null");
	util_time_format(q->start_ns, ts, sizeof(ts));
	buf_printf(b, ",\"start_time\":\"%s\"", ts);
	util_time_format(q->end_ns, ts, sizeof(ts));
	buf_printf(b, ",\"end_time\":\"%s\",\"aggregation\":\"%s\"", ts,
	    plan_agg_name(q->agg));
	if (q->plan.interval_ms > 0) {
		util_format_duration(q->plan.interval_ms, iv, sizeof(iv));
		buf_printf(b, ",\"interval\":\"%s\"", iv);
	} else
		buf_puts(b, ",\"interval\":null");
	buf_printf(b, ",\"limit\":%lld,\"offset\":%lld,\"order\":\"%s\","
	    "\"unit\":\"%c\",\"retention_policy\":\"%s\"", (long long)q->limit,
	    (long long)q->offset, q->desc ? "desc" : "asc", q->unit,
	    plan_rp_name(q->plan.rp));
	if (q->plan.why[0] != '\0') {
		buf_puts(b, ",\"note\":\"");
		buf_json_escape(b, q->plan.why);
		buf_putc(b, '"');
	}
	buf_putc(b, '}');
}

int
api_route_history(struct req *r)
{
	struct hquery q;
	struct pointvec pv;
	struct buf b;
	const char *cur;
	char next[2 * (32 + API_ID_MAX) + 1];
	int64_t interval = 0;
	int agg, order;
	bool more;

	if (history_params(r, &q) == -1 ||
	    api_param_enum(r, "aggregation", AGG_NAMES, AGG_NONE, &agg) == -1 ||
	    api_param_duration(r, "interval", 0, &interval) == -1 ||
	    api_param_int(r, "limit", DEFAULT_LIMIT < r->api->cf->api.max_points ?
	    DEFAULT_LIMIT : r->api->cf->api.max_points, 1,
	    r->api->cf->api.max_points, &q.limit) == -1 ||
	    api_param_int(r, "offset", 0, 0, OFFSET_MAX, &q.offset) == -1 ||
	    api_param_enum(r, "order", "desc|asc", 0, &order) == -1)
		return -1;
	q.agg = (enum agg)agg;
	q.desc = order == 0;
	if ((cur = api_param(r, "cursor")) != NULL) {
		if (cursor_parse(cur, &q.after) == -1)
			return api_error_param(r, "cursor", "not a cursor this "
			    "API gave (next_cursor of an answer)");
		if (q.offset != 0)
			return api_error_param(r, "offset", "give cursor or "
			    "offset, not both");
	}
	if (history_plan(r, &q, interval) == -1)
		return -1;
	history_init(&pv);
	if (history_fetch(r, &q, &pv, &more) == -1) {
		history_free(&pv);
		return api_error_dep(r);
	}
	buf_init(&b);
	buf_reserve(&b, 256 + pv.n * 200);
	buf_puts(&b, "{\"status\":\"success\",\"data\":[");
	for (size_t i = 0; i < pv.n; i++) {
		if (i > 0)
			buf_putc(&b, ',');
		point_json(&b, q.device, &pv.v[i], q.agg == AGG_NONE &&
		    q.plan.rp == RP_RAW);
	}
	buf_printf(&b, "],\"count\":%zu,", pv.n);
	query_json(&b, r, &q);
	if (more && pv.n > 0) {
		struct cursor c = { true, pv.v[pv.n - 1].t_us, "" };

		util_strlcpy(c.probe_id, pv.v[pv.n - 1].probe_id,
		    sizeof(c.probe_id));
		cursor_format(&c, next, sizeof(next));
		buf_printf(&b, ",\"next_cursor\":\"%s\"}", next);
	} else
		buf_puts(&b, ",\"next_cursor\":null}");
	history_free(&pv);
	api_reply_json(r, 200, &b);
	buf_free(&b);
	return 0;
}
