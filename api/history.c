/*
 * history: a planned query over a device's points (plan.c) run against
 * InfluxDB, one page at a time; shared by the history, export and
 * threshold routes.
 *
 * A page is bounded before InfluxDB is asked: raw points with LIMIT and
 * OFFSET, aggregates with a LIMIT per series (a page cannot hold more of
 * one probe than that) and SLIMIT on the probes. Rows are converted to
 * the answer's unit, sorted by (time, probe), filtered past the cursor,
 * and cut to the page; one more row than the page says whether there is
 * a next one. With desc (grill-stats' history: newest first) InfluxDB is
 * asked ORDER BY time DESC, so LIMIT and OFFSET count from the newest,
 * the order is reversed, and a cursor names the points before it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "reading.h"

#define PROBES_MAX	16	/* series per aggregated page (SLIMIT) */
#define CURSOR_SLACK	64	/* rows at the cursor's time to skip */

void
history_init(struct pointvec *pv)
{
	memset(pv, 0, sizeof(*pv));
	buf_init(&pv->answer);
}

void
history_free(struct pointvec *pv)
{
	free(pv->v);
	buf_free(&pv->answer);
	memset(pv, 0, sizeof(*pv));
}

static int
pv_push(struct pointvec *pv, const struct point *p)
{
	if (pv->n == pv->cap) {
		size_t cap = pv->cap ? pv->cap * 2 : 256;
		struct point *v;

		if ((v = reallocarray(pv->v, cap, sizeof(*v))) == NULL)
			return -1;
		pv->v = v;
		pv->cap = cap;
	}
	pv->v[pv->n++] = *p;
	return 0;
}

static int
cmp(const void *a, const void *b)
{
	return point_cmp(a, b);
}

static int
cmp_desc(const void *a, const void *b)
{
	return point_cmp(b, a);
}

/* Raw points of one probe come in order; series of several do not. */
static bool
sorted(const struct pointvec *pv, bool desc)
{
	for (size_t i = 1; i < pv->n; i++) {
		int c = point_cmp(&pv->v[i - 1], &pv->v[i]);

		if (desc ? c < 0 : c > 0)
			return false;
	}
	return true;
}

/* Whether p is on the page side of the cursor. */
static bool
past_cursor(const struct hquery *q, const struct point *p)
{
	if (!q->after.set || !q->desc)
		return point_after(p, &q->after);
	if (p->t_us != q->after.t_us)
		return p->t_us < q->after.t_us;
	return strcmp(p->probe_id, q->after.probe_id) < 0;
}

struct rows {
	const struct hquery	*q;
	struct pointvec		*pv;
};

static const char *const cols[] = { "time", "value", "value_c", "unit",
	"probe_id", "battery", "signal", "status", "flags", "n" };
enum { C_TIME, C_VALUE, C_VALUE_C, C_UNIT, C_PROBE, C_BATTERY, C_SIGNAL,
	C_STATUS, C_FLAGS, C_N };

static int
on_row(const struct iql_row *row, void *arg)
{
	struct rows *rs = arg;
	const struct hquery *q = rs->q;
	const char *s;
	struct point p;
	double v, n;

	memset(&p, 0, sizeof(p));
	p.battery = -1;
	if (!iql_time_us(row->cells[C_TIME], &p.t_us))
		return 0;
	if ((s = iql_str(row->cells[C_PROBE])) != NULL)
		util_strlcpy(p.probe_id, s, sizeof(p.probe_id));
	if (iql_num(row->cells[C_VALUE], &v)) {
		/* A raw point, as measured. */
		s = iql_str(row->cells[C_UNIT]);
		p.unit = s && s[0] && !s[1] ? s[0] : 'F';
		p.has_value = true;
		p.value = v;
		if (p.unit != 'H' && reading_unit_valid(p.unit)) {
			p.value = reading_convert(v, p.unit, q->unit);
			p.unit = q->unit;
		}
	} else if (iql_num(row->cells[C_VALUE_C], &v)) {
		/* Celsius: an aggregate or a rollup. */
		p.has_value = true;
		p.unit = q->unit;
		if (q->agg == AGG_COUNT) {
			p.value = v;
			p.unit = 0;
		} else if (q->agg == AGG_SUM && q->unit == 'F') {
			n = 0;
			iql_num(row->cells[C_N], &n);
			p.value = v * 9.0 / 5.0 + 32.0 * n;
		} else
			p.value = reading_convert(v, 'C', q->unit);
	}
	if (iql_num(row->cells[C_BATTERY], &v))
		p.battery = (int)v;
	if ((p.has_signal = iql_num(row->cells[C_SIGNAL], &v)))
		p.signal = v;
	p.status = iql_str(row->cells[C_STATUS]);
	if (iql_num(row->cells[C_FLAGS], &v))
		p.flags = (int)v;
	return pv_push(rs->pv, &p);
}

/* One SELECT over [start, end) of one policy. */
static int
statement(struct buf *b, const struct hquery *q, enum rp rp, enum agg agg,
    int64_t start, int64_t end)
{
	struct plan p = q->plan;
	int64_t extra = q->after.set ? CURSOR_SLACK : 0;
	const char *order = q->desc ? " ORDER BY time DESC" : "";

	p.rp = rp;
	if (plan_select(b, &p, agg) == -1 || plan_where(b, q->device,
	    q->probe, start, end, agg != AGG_NONE || rp != RP_RAW) == -1)
		return -1;
	if (agg == AGG_NONE && rp == RP_RAW)
		return buf_printf(b, "%s LIMIT %lld OFFSET %lld", order,
		    (long long)(q->limit + 1 + extra), (long long)q->offset);
	if (agg == AGG_NONE)
		return buf_printf(b, "%s LIMIT %lld", order,
		    (long long)(q->offset + q->limit + 1 + extra));
	return buf_printf(b, " GROUP BY time(%lldms), \"probe_id\" "
	    "fill(none)%s LIMIT %lld SLIMIT %d", (long long)p.interval_ms,
	    order, (long long)(q->offset + q->limit + 2), PROBES_MAX);
}

/*
 * The InfluxQL of one page: one statement, or two when the plan reads
 * a rollup and then the raw tail (aggregated at the same interval).
 */
int
history_query(struct buf *b, const struct hquery *q)
{
	int64_t start = q->start_ns, end = q->end_ns, split = q->plan.split_ns;
	enum agg tail = q->agg == AGG_NONE ? AGG_MEAN : q->agg;

	if (q->after.set && !q->desc && q->after.t_us * 1000 > start)
		start = q->after.t_us * 1000;
	/* end is exclusive: keep the cursor's own time for its ties. */
	if (q->after.set && q->desc && q->after.t_us * 1000 + 1 < end)
		end = q->after.t_us * 1000 + 1;
	if (split == 0)
		return statement(b, q, q->plan.rp, q->agg, start, end);
	if (start < split && (statement(b, q, q->plan.rp, q->agg, start,
	    split < end ? split : end) == -1 || buf_putc(b, ';') == -1))
		return -1;
	return statement(b, q, RP_RAW, tail, start > split ? start : split,
	    end);
}

/*
 * One page: at most q->limit points after q->after (or after skipping
 * q->offset), in pv; *more when there are further points. 0, or -1 with
 * the failure recorded in the request.
 */
int
history_fetch(struct req *r, const struct hquery *q, struct pointvec *pv,
    bool *more)
{
	struct rows rs = { q, pv };
	struct iql_query iq = { NULL, cols, ARRAY_LEN(cols), on_row, &rs };
	struct buf qb;
	size_t i, o, skip;
	int rc;

	*more = false;
	buf_init(&qb);
	if (history_query(&qb, q) == -1) {
		buf_free(&qb);
		api_dep_fail(r, 400, "INVALID_PARAMETER", 0, "an id is not "
		    "valid UTF-8");
		return -1;
	}
	iq.q = qb.data;
	rc = api_influx_query(r, &iq, &pv->answer);
	buf_free(&qb);
	if (rc == -1)
		return -1;
	if (!sorted(pv, q->desc))
		qsort(pv->v, pv->n, sizeof(*pv->v), q->desc ? cmp_desc : cmp);
	/* Past the cursor; all but raw points apply the offset here. */
	skip = q->agg != AGG_NONE || q->plan.rp != RP_RAW ?
	    (size_t)q->offset : 0;
	for (i = 0, o = 0; i < pv->n; i++) {
		if (!past_cursor(q, &pv->v[i]))
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		pv->v[o++] = pv->v[i];
	}
	pv->n = o;
	if ((int64_t)pv->n > q->limit) {
		pv->n = (size_t)q->limit;
		*more = true;
	}
	return 0;
}
