/*
 * GET /api/temperature/stats/{device_id}
 *	?probe_id=&start_time=&end_time=&unit=F|C&low=&high=
 *
 * grill-stats' statistics of a range (default the last 24 h), over every
 * probe of the device unless probe_id names one:
 *
 *	{"status": "success", "data": {count, min_temperature,
 *	 max_temperature, avg_temperature, median_temperature,
 *	 stddev_temperature, first_temperature, last_temperature,
 *	 first_timestamp, last_timestamp, unit, time_in_range?},
 *	 "query": {...}}
 *
 * With low and/or high (in the answer's unit), time_in_range says how
 * long the temperature stayed within [low, high]: between two
 * consecutive points of a probe, the time counts as observed (and in
 * range when the earlier point was); a silence longer than GAP_MAX (or
 * twice a rollup's resolution) is not observed at all. The points are
 * read a page at a time, never all at once.
 *
 * Ranges older than the raw retention are answered from the rollups;
 * count, min and max stay exact, the rest are then computed over the
 * rollup means and the answer says "approximate": true.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "reading.h"

#define GAP_MAX_US	(INT64_C(600) * 1000000)	/* 10 minutes */
#define TIR_PAGE	10000
#define TIR_PROBES	64

struct tir_probe {
	char		 id[API_ID_MAX];
	int64_t		 t_us;
	bool		 in;
};

struct tir {
	double		 low, high;
	int64_t		 gap_us;
	int64_t		 observed_us, in_us;
	struct tir_probe p[TIR_PROBES];
	size_t		 n;
};

static void
tir_point(struct tir *t, const struct point *pt)
{
	struct tir_probe *pr = NULL;
	int64_t dt;

	if (!pt->has_value)
		return;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->p[i].id, pt->probe_id) == 0)
			pr = &t->p[i];
	if (pr == NULL) {
		if (t->n == TIR_PROBES)
			return;
		pr = &t->p[t->n++];
		util_strlcpy(pr->id, pt->probe_id, sizeof(pr->id));
	} else if ((dt = pt->t_us - pr->t_us) > 0 && dt <= t->gap_us) {
		t->observed_us += dt;
		if (pr->in)
			t->in_us += dt;
	}
	pr->t_us = pt->t_us;
	pr->in = pt->value >= t->low && pt->value <= t->high;
}

/* Walks every point of the range, a page at a time. */
static int
tir_walk(struct req *r, struct hquery *q, struct tir *t)
{
	struct pointvec pv;
	bool more = true;
	int rc = 0;

	q->limit = TIR_PAGE;
	t->gap_us = GAP_MAX_US;
	if (2 * q->plan.interval_ms * 1000 > t->gap_us)
		t->gap_us = 2 * q->plan.interval_ms * 1000;
	while (more && rc == 0) {
		history_init(&pv);
		if ((rc = history_fetch(r, q, &pv, &more)) == 0) {
			for (size_t i = 0; i < pv.n; i++)
				tir_point(t, &pv.v[i]);
			if (pv.n == 0)
				more = false;
			else {
				q->after.set = true;
				q->after.t_us = pv.v[pv.n - 1].t_us;
				util_strlcpy(q->after.probe_id,
				    pv.v[pv.n - 1].probe_id,
				    sizeof(q->after.probe_id));
			}
		}
		history_free(&pv);
	}
	return rc;
}

static const char *const agg_cols[] = { "time", "count", "min", "max",
	"mean", "median", "stddev", "first", "last" };

struct stats {
	double		 v[ARRAY_LEN(agg_cols)];
	bool		 has[ARRAY_LEN(agg_cols)];
	int64_t		 first_us, last_us;
};

/* Statement 0: the aggregates; 1: the first point; 2: the last. */
static int
on_stats(const struct iql_row *row, void *arg)
{
	struct stats *st = arg;

	for (size_t i = 1; i < ARRAY_LEN(agg_cols); i++)
		if (row->cells[i] != NULL)
			st->has[i] = iql_num(row->cells[i], &st->v[i]);
	if (row->statement == 1)
		iql_time_us(row->cells[0], &st->first_us);
	else if (row->statement == 2)
		iql_time_us(row->cells[0], &st->last_us);
	return 0;
}

/*
 * Three statements in one request: the aggregates, then the first and
 * the last point alone (a selector with others loses its time).
 */
static int
stats_query(struct req *r, const struct hquery *q, struct stats *st)
{
	const char *rp = plan_rp_name(q->plan.rp);
	const char *mean = plan_field(q->plan.rp, 'm');
	bool raw = q->plan.rp == RP_RAW;
	struct iql_query iq = { NULL, agg_cols, ARRAY_LEN(agg_cols), on_stats,
		st };
	struct buf b, w, answer;
	int rc = -1;

	buf_init(&b);
	buf_init(&w);
	buf_init(&answer);
	if (plan_where(&w, q->device, q->probe, q->start_ns, q->end_ns,
	    true) == -1)
		goto done;
	buf_printf(&b, "SELECT %s(\"%s\") AS \"count\", min(\"%s\") AS "
	    "\"min\", max(\"%s\") AS \"max\", mean(\"%s\") AS \"mean\", "
	    "median(\"%s\") AS \"median\", stddev(\"%s\") AS \"stddev\" "
	    "FROM \"%s\".\"temperature\"%s;", raw ? "count" : "sum",
	    plan_field(q->plan.rp, 'c'), plan_field(q->plan.rp, 'n'),
	    plan_field(q->plan.rp, 'x'), mean, mean, mean, rp, w.data);
	buf_printf(&b, "SELECT first(\"%s\") AS \"first\" FROM "
	    "\"%s\".\"temperature\"%s;", mean, rp, w.data);
	buf_printf(&b, "SELECT last(\"%s\") AS \"last\" FROM "
	    "\"%s\".\"temperature\"%s", mean, rp, w.data);
	iq.q = b.data;
	if (b.data == NULL || api_influx_query(r, &iq, &answer) == -1)
		goto done;
	rc = 0;
done:
	if (rc == -1 && r->dep_status == 0)
		api_dep_fail(r, 400, "INVALID_PARAMETER", 0, "an id is not "
		    "valid UTF-8");
	buf_free(&answer);
	buf_free(&b);
	buf_free(&w);
	return rc;
}

static void
put_temp(struct buf *b, const char *name, const struct stats *st, int i,
    char unit, bool spread)
{
	double v;

	buf_printf(b, ",\"%s\":", name);
	if (!st->has[i] || !isfinite(st->v[i])) {
		buf_puts(b, "null");
		return;
	}
	v = spread ? (unit == 'F' ? st->v[i] * 9.0 / 5.0 : st->v[i]) :
	    reading_convert(st->v[i], 'C', unit);
	point_put_num(b, v);
}

static void
put_time(struct buf *b, const char *name, int64_t us, bool has)
{
	char ts[UTIL_TIME_LEN];

	if (!has) {
		buf_printf(b, ",\"%s\":null", name);
		return;
	}
	util_time_format(us * 1000, ts, sizeof(ts));
	buf_printf(b, ",\"%s\":\"%s\"", name, ts);
}

int
api_route_stats(struct req *r)
{
	struct hquery q;
	struct stats st;
	struct tir tir;
	struct buf b;
	char ts[UTIL_TIME_LEN];
	bool want_tir;

	memset(&st, 0, sizeof(st));
	memset(&tir, 0, sizeof(tir));
	if (history_params(r, &q) == -1 ||
	    api_param_double(r, "low", -1e9, &tir.low) == -1 ||
	    api_param_double(r, "high", 1e9, &tir.high) == -1)
		return -1;
	want_tir = api_param(r, "low") != NULL || api_param(r, "high") != NULL;
	if (tir.low > tir.high)
		return api_error_param(r, "low", "low must not be above high");
	q.agg = AGG_NONE;
	if (history_plan(r, &q, 0) == -1)
		return -1;
	if (stats_query(r, &q, &st) == -1 ||
	    (want_tir && tir_walk(r, &q, &tir) == -1))
		return api_error_dep(r);
	/* grill-stats' identifiers first; a device without data is count 0. */
	buf_init(&b);
	buf_puts(&b, "{\"status\":\"success\",\"data\":{\"device_id\":\"");
	buf_json_escape(&b, q.device);
	buf_puts(&b, "\",\"probe_id\":");
	if (q.probe[0] != '\0') {
		buf_putc(&b, '"');
		buf_json_escape(&b, q.probe);
		buf_putc(&b, '"');
	} else
		buf_puts(&b, "null");
	util_time_format(q.start_ns, ts, sizeof(ts));
	buf_printf(&b, ",\"start_time\":\"%s\"", ts);
	util_time_format(q.end_ns, ts, sizeof(ts));
	buf_printf(&b, ",\"end_time\":\"%s\",\"count\":%.0f", ts,
	    st.has[1] ? st.v[1] : 0.0);
	put_temp(&b, "min_temperature", &st, 2, q.unit, false);
	put_temp(&b, "max_temperature", &st, 3, q.unit, false);
	put_temp(&b, "avg_temperature", &st, 4, q.unit, false);
	put_temp(&b, "median_temperature", &st, 5, q.unit, false);
	put_temp(&b, "stddev_temperature", &st, 6, q.unit, true);
	put_temp(&b, "first_temperature", &st, 7, q.unit, false);
	put_temp(&b, "last_temperature", &st, 8, q.unit, false);
	put_time(&b, "first_timestamp", st.first_us, st.has[7]);
	put_time(&b, "last_timestamp", st.last_us, st.has[8]);
	buf_printf(&b, ",\"unit\":\"%c\",\"approximate\":%s", q.unit,
	    q.plan.rp == RP_RAW ? "false" : "true");
	if (want_tir) {
		buf_printf(&b, ",\"time_in_range\":{\"low\":%.17g,\"high\":"
		    "%.17g,\"unit\":\"%c\",\"seconds\":%.3f,"
		    "\"observed_seconds\":%.3f,\"ratio\":", tir.low, tir.high,
		    q.unit, (double)tir.in_us / 1e6,
		    (double)tir.observed_us / 1e6);
		if (tir.observed_us > 0)
			buf_printf(&b, "%.4f}", (double)tir.in_us /
			    (double)tir.observed_us);
		else
			buf_puts(&b, "null}");
	}
	buf_puts(&b, "},\"query\":{\"device_id\":\"");
	buf_json_escape(&b, q.device);
	buf_puts(&b, "\",\"probe_id\":");
	if (q.probe[0] != '\0') {
		buf_putc(&b, '"');
		buf_json_escape(&b, q.probe);
		buf_putc(&b, '"');
	} else
		buf_puts(&b, "null");
	util_time_format(q.start_ns, ts, sizeof(ts));
	buf_printf(&b, ",\"start_time\":\"%s\"", ts);
	util_time_format(q.end_ns, ts, sizeof(ts));
	buf_printf(&b, ",\"end_time\":\"%s\",\"retention_policy\":\"%s\"}}\n",
	    ts, plan_rp_name(q.plan.rp));
	api_reply_json(r, 200, &b);
	buf_free(&b);
	return 0;
}
