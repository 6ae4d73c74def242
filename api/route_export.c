/*
 * GET /api/temperature/export/{device_id}?format=csv|jsonl
 *
 * Every stored point of a range (default the last 24 h; probe_id and
 * unit as for history) as CSV with a header line, or as JSON lines (one
 * history point per line). The answer is streamed with chunked transfer
 * encoding: the range is read from InfluxDB a page at a time (the
 * history cursor), each page written out as one chunk and freed, so a
 * month of raw points never sits in memory, and a client that goes away
 * stops the reading.
 *
 * Errors found before the first byte (bad parameters, unknown device,
 * InfluxDB down) are ordinary JSON errors. One that happens mid-stream
 * can no longer change the status: CSV gets a last "# error: ..." line
 * saying why, and the stream is broken off (api_chunked_abort()), which
 * an HTTP client reports as a failed transfer, never as a whole answer.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "metrics.h"

#define EXPORT_PAGE	5000

enum { FMT_CSV, FMT_JSONL };

static const char csv_header[] = "timestamp,device_id,probe_id,"
    "temperature,unit,battery_level,signal_strength,status,flags\r\n";

/*
 * A CSV field: quoted when it holds a comma, quote or line break, and
 * prefixed with ' when it starts like a spreadsheet formula.
 */
static void
csv_field(struct buf *b, const char *s)
{
	bool quote = strpbrk(s, ",\"\r\n") != NULL;

	if (*s == '=' || *s == '+' || *s == '-' || *s == '@') {
		quote = true;
		buf_puts(b, "\"'");
	} else if (quote)
		buf_putc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			buf_putc(b, '"');
		buf_putc(b, *s);
	}
	if (quote)
		buf_putc(b, '"');
}

static void
csv_point(struct buf *b, const char *device, const struct point *p)
{
	point_put_time(b, p->t_us);
	buf_putc(b, ',');
	csv_field(b, device);
	buf_putc(b, ',');
	csv_field(b, p->probe_id);
	buf_putc(b, ',');
	if (p->has_value)
		point_put_num(b, p->value);
	buf_putc(b, ',');
	if (p->unit != 0)
		buf_putc(b, p->unit);
	buf_putc(b, ',');
	if (p->battery >= 0)
		point_put_int(b, p->battery);
	buf_putc(b, ',');
	if (p->has_signal)
		point_put_int(b, (int64_t)llround(p->signal));
	buf_putc(b, ',');
	if (p->status != NULL)
		csv_field(b, p->status);
	buf_putc(b, ',');
	point_put_int(b, p->flags);
	buf_puts(b, "\r\n");
}

static void
page_out(struct buf *b, const struct hquery *q, const struct pointvec *pv,
    int fmt)
{
	for (size_t i = 0; i < pv->n; i++) {
		if (fmt == FMT_CSV)
			csv_point(b, q->device, &pv->v[i]);
		else {
			point_json(b, q->device, &pv->v[i],
			    q->plan.rp == RP_RAW);
			buf_putc(b, '\n');
		}
	}
}

int
api_route_export(struct req *r)
{
	static struct metric_series *m_points;
	struct hquery q;
	struct pointvec pv;
	struct buf b;
	char disp[160];
	int fmt, rc = 0;
	bool more;

	if (m_points == NULL)
		m_points = metric_with(metric_counter(
		    "grilld_api_export_points_total",
		    "Points streamed by /export.", NULL));
	if (history_params(r, &q) == -1 ||
	    api_param_enum(r, "format", "csv|jsonl", FMT_CSV, &fmt) == -1)
		return -1;
	q.agg = AGG_NONE;
	q.limit = EXPORT_PAGE;
	if (history_plan(r, &q, 0) == -1)
		return -1;
	history_init(&pv);
	if (history_fetch(r, &q, &pv, &more) == -1) {
		history_free(&pv);
		return api_error_dep(r);
	}
	if (pv.n == 0 && history_not_found(r, q.device) == -1) {
		history_free(&pv);
		return -1;
	}
	snprintf(disp, sizeof(disp), "Content-Disposition: attachment; "
	    "filename=\"grilld-export.%s\"\r\n", fmt == FMT_CSV ? "csv" :
	    "jsonl");
	if (api_chunked_start(r, fmt == FMT_CSV ? "text/csv; charset=utf-8" :
	    "application/x-ndjson", disp) == -1) {
		history_free(&pv);
		return -1;
	}
	buf_init(&b);
	if (fmt == FMT_CSV)
		buf_puts(&b, csv_header);
	for (;;) {
		page_out(&b, &q, &pv, fmt);
		metric_add(m_points, (double)pv.n);
		if (b.data == NULL || api_chunk(r, b.data, b.len) == -1) {
			rc = -1;	/* the client went away */
			break;
		}
		buf_reset(&b);
		if (!more || pv.n == 0)
			break;
		q.after.set = true;
		q.after.t_us = pv.v[pv.n - 1].t_us;
		util_strlcpy(q.after.probe_id, pv.v[pv.n - 1].probe_id,
		    sizeof(q.after.probe_id));
		q.offset = 0;
		history_free(&pv);
		if (history_fetch(r, &q, &pv, &more) == -1) {
			if (fmt == FMT_CSV) {
				buf_printf(&b, "# error: %s\r\n", r->dep_msg);
				api_chunk(r, b.data, b.len);
			}
			api_chunked_abort(r);
			rc = -1;
			break;
		}
	}
	if (rc == 0)
		api_chunked_end(r);
	history_free(&pv);
	buf_free(&b);
	return rc;
}
