/*
 * Alerts as grill-stats had them, and as grilld keeps them.
 *
 * GET /api/temperature/alerts/{device_id}
 *	?threshold_high=250&threshold_low=32&probe_id=&start_time=&end_time=
 *	 &unit=F|C&limit=&offset=
 * grill-stats' threshold query: the stored points of a range (default the
 * last 24 h) above threshold_high or below threshold_low (in unit,
 * default F; the defaults are grill-stats' 250 F and 32 F), newest first
 * as grill-stats sorted them:
 *	{timestamp, temperature, device_id, probe_id, alert_type:
 *	 high_temperature | low_temperature, threshold, severity, unit}
 * severity follows grill-stats' rule: a high point is "critical" when it
 * is more than 50 F (27.8 C) above threshold_high, else "warning"; a low
 * point is always "warning". limit (default 1000) and offset count from
 * the newest point. A device without data is 200 with an empty list.
 * Ranges past the raw retention are read from the rollups' minima and
 * maxima.
 *
 * GET /api/alerts?device_id=&limit=&cursor=
 * The history of the alerts the ingester raised from the rules (the
 * `alerts` stream), newest first; next_cursor pages back in time.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "rds.h"
#include "reading.h"

#define DAY_NS		(INT64_C(86400) * NS_PER_S)
#define SEED_HIGH_F	250.0
#define SEED_LOW_F	32.0
#define HISTORY_DEFAULT	100
#define HISTORY_MAX	1000

struct thr {
	const struct hquery *q;
	double		 high, low;	/* in q->unit */
	struct buf	*b;
	size_t		 n;
};

static const char *const thr_cols[] = { "time", "value_c", "hi", "lo",
	"probe_id" };

static void
thr_out(struct thr *t, int64_t us, const char *probe, double v, bool high)
{
	double th = high ? t->high : t->low;
	/* As grill-stats: critical past threshold_high + 50 F; low warns. */
	double crit = t->q->unit == 'C' ? 50.0 * 5.0 / 9.0 : 50.0;
	char ts[UTIL_TIME_LEN];

	util_time_format(us * 1000, ts, sizeof(ts));
	if (t->n++ > 0)
		buf_putc(t->b, ',');
	buf_printf(t->b, "{\"timestamp\":\"%s\",\"temperature\":%.3f,"
	    "\"device_id\":\"", ts, v);
	buf_json_escape(t->b, t->q->device);
	buf_puts(t->b, "\",\"probe_id\":");
	if (probe != NULL) {
		buf_putc(t->b, '"');
		buf_json_escape(t->b, probe);
		buf_putc(t->b, '"');
	} else
		buf_puts(t->b, "null");
	buf_printf(t->b, ",\"alert_type\":\"%s\",\"threshold\":%.17g,"
	    "\"severity\":\"%s\",\"unit\":\"%c\"}", high ? "high_temperature" :
	    "low_temperature", th, high && v > th + crit ? "critical" :
	    "warning", t->q->unit);
}

static int
thr_row(const struct iql_row *row, void *arg)
{
	struct thr *t = arg;
	const char *probe = iql_str(row->cells[4]);
	double v;
	int64_t us;

	if (!iql_time_us(row->cells[0], &us))
		return 0;
	if (iql_num(row->cells[1], &v)) {		/* raw */
		v = reading_convert(v, 'C', t->q->unit);
		if (v > t->high)
			thr_out(t, us, probe, v, true);
		else if (v < t->low)
			thr_out(t, us, probe, v, false);
		return 0;
	}
	if (iql_num(row->cells[2], &v) &&		/* rollup */
	    (v = reading_convert(v, 'C', t->q->unit)) > t->high)
		thr_out(t, us, probe, v, true);
	if (iql_num(row->cells[3], &v) &&
	    (v = reading_convert(v, 'C', t->q->unit)) < t->low)
		thr_out(t, us, probe, v, false);
	return 0;
}

int
api_route_threshold(struct req *r)
{
	struct hquery q;
	struct thr t;
	struct iql_query iq = { NULL, thr_cols, ARRAY_LEN(thr_cols), thr_row,
		&t };
	struct buf qb, b, answer;
	double hi_c, lo_c;
	int64_t limit, offset;
	int rc;

	if (history_params(r, &q) == -1 ||
	    api_param_double(r, "threshold_high", reading_convert(SEED_HIGH_F,
	    'F', q.unit), &t.high) == -1 ||
	    api_param_double(r, "threshold_low", reading_convert(SEED_LOW_F,
	    'F', q.unit), &t.low) == -1 ||
	    api_param_int(r, "limit", 1000, 1, r->api->cf->api.max_points,
	    &limit) == -1 ||
	    api_param_int(r, "offset", 0, 0, INT64_C(100000000), &offset) == -1)
		return -1;
	if (t.low > t.high)
		return api_error_param(r, "threshold_low", "must not be above "
		    "threshold_high");
	q.agg = AGG_NONE;
	if (history_plan(r, &q, 0) == -1)
		return -1;
	hi_c = reading_convert(t.high, q.unit, 'C');
	lo_c = reading_convert(t.low, q.unit, 'C');
	buf_init(&qb);
	if (q.plan.rp == RP_RAW)
		buf_puts(&qb, "SELECT \"value_c\", \"probe_id\" FROM "
		    "\"raw\".\"temperature\"");
	else
		buf_printf(&qb, "SELECT \"%s\" AS \"hi\", \"%s\" AS \"lo\", "
		    "\"probe_id\" FROM \"%s\".\"temperature\"",
		    plan_field(q.plan.rp, 'x'), plan_field(q.plan.rp, 'n'),
		    plan_rp_name(q.plan.rp));
	plan_where(&qb, q.device, q.probe, q.start_ns, q.end_ns, true);
	buf_printf(&qb, " AND (\"%s\" > %.17g OR \"%s\" < %.17g) ORDER BY "
	    "time DESC LIMIT %lld OFFSET %lld", plan_field(q.plan.rp, 'x'),
	    hi_c, plan_field(q.plan.rp, 'n'), lo_c, (long long)limit,
	    (long long)offset);
	buf_init(&b);
	buf_init(&answer);
	t.q = &q;
	t.b = &b;
	t.n = 0;
	buf_puts(&b, "{\"status\":\"success\",\"data\":[");
	iq.q = qb.data;
	rc = qb.data ? api_influx_query(r, &iq, &answer) : -1;
	buf_free(&qb);
	buf_free(&answer);
	if (rc == -1) {
		buf_free(&b);
		return api_error_dep(r);
	}
	buf_printf(&b, "],\"count\":%zu,\"query\":{\"threshold_high\":%.17g,"
	    "\"threshold_low\":%.17g,\"unit\":\"%c\",\"retention_policy\":"
	    "\"%s\"}}\n", t.n, t.high, t.low, q.unit, plan_rp_name(q.plan.rp));
	api_reply_json(r, 200, &b);
	buf_free(&b);
	return 0;
}

struct hist {
	const char	*device;
	cJSON		*list;
	int64_t		 limit;
	char		 last[64];
	size_t		 seen;
};

static int
on_alert(const struct rds_entry *e, void *arg)
{
	struct hist *h = arg;
	const char *d, *j;
	size_t dlen, jlen;
	cJSON *o;

	util_strlcpy(h->last, e->id, sizeof(h->last));
	h->seen++;
	if ((j = rds_entry_get(e, RKEY_F_JSON, &jlen)) == NULL)
		return 0;
	d = rds_entry_get(e, RKEY_F_DEVICE, &dlen);
	if (h->device != NULL && (d == NULL || strlen(h->device) != dlen ||
	    memcmp(d, h->device, dlen) != 0))
		return 0;
	if ((o = cJSON_ParseWithLength(j, jlen)) == NULL || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return 0;
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "event_id") == NULL)
		cJSON_AddStringToObject(o, "event_id", e->id);
	cJSON_AddItemToArray(h->list, o);
	return cJSON_GetArraySize(h->list) >= h->limit ? 1 : 0;
}

static bool
stream_id_valid(const char *s)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 20)
		return false;
	if (s[n] == '\0')
		return true;
	return s[n] == '-' && strspn(s + n + 1, "0123456789") ==
	    strlen(s + n + 1) && strlen(s + n + 1) > 0 &&
	    strlen(s + n + 1) <= 20;
}

int
api_route_alert_history(struct req *r)
{
	struct hist h;
	char device[API_ID_MAX], end[80], count[24];
	const char *cur = api_param(r, "cursor");
	const char *argv[6];
	redisReply *rep;
	cJSON *extra;
	int rounds = 0;
	bool more = true;

	memset(&h, 0, sizeof(h));
	if (api_param_id(r, "device_id", device, sizeof(device)) == -1 ||
	    api_param_int(r, "limit", HISTORY_DEFAULT, 1, HISTORY_MAX,
	    &h.limit) == -1)
		return -1;
	if (cur != NULL && !stream_id_valid(cur))
		return api_error_param(r, "cursor", "not a cursor this API gave "
		    "(next_cursor of an answer)");
	h.device = device[0] ? device : NULL;
	h.list = cJSON_CreateArray();
	snprintf(end, sizeof(end), "%s%s", cur ? "(" : "+", cur ? cur : "");
	/* Filtered by device, a page may take several reads. */
	while (more && cJSON_GetArraySize(h.list) < h.limit && rounds++ < 50) {
		snprintf(count, sizeof(count), "%lld", (long long)h.limit);
		argv[0] = "XREVRANGE";
		argv[1] = r->api->key_alerts;
		argv[2] = end;
		argv[3] = "-";
		argv[4] = "COUNT";
		argv[5] = count;
		if ((rep = api_redis_cmd(r, "XREVRANGE", 6, argv, NULL)) ==
		    NULL || api_redis_ok(r, rep) == -1) {
			cJSON_Delete(h.list);
			return api_error_dep(r);
		}
		h.seen = 0;
		rds_stream_entries(rep, on_alert, &h);
		more = rep->type == REDIS_REPLY_ARRAY &&
		    (int64_t)rep->elements == h.limit;
		freeReplyObject(rep);
		if (h.seen == 0)
			more = false;
		snprintf(end, sizeof(end), "(%s", h.last);
	}
	extra = cJSON_CreateObject();
	cJSON_AddNumberToObject(extra, "count", cJSON_GetArraySize(h.list));
	if (more && h.last[0] != '\0')
		cJSON_AddStringToObject(extra, "next_cursor", h.last);
	else
		cJSON_AddNullToObject(extra, "next_cursor");
	return api_reply_success(r, 200, h.list, extra);
}
