/*
 * influx_query: InfluxQL over HTTP (InfluxDB 1.x /query), with safe
 * quoting, time-outs, a circuit breaker and a span per query.
 *
 * Queries are built only with iql_ident() and iql_string() for anything
 * that came from outside (ids, names) and integers for times (ns), so no
 * input can change a query's meaning; regular expressions are never
 * built from input.
 *
 * Each worker thread reuses its own InfluxDB handle (worker.c, over
 * common/influx.h, the transport the ingester uses too), so the TCP
 * connection to InfluxDB stays open between queries. Answers are asked
 * with epoch=u (microsecond timestamps are exact as doubles, nanoseconds
 * are not) and walked in place (influx_answer.c).
 *
 * Failures are classified for the answer: transport errors, time-outs
 * and 5xx count against the breaker and become 503/504; a query InfluxDB
 * refuses (4xx, or an error in the results) is our bug, 502. A database
 * or retention policy that does not exist yet (the ingester creates
 * them) is no error: there is simply no data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "breaker.h"
#include "log.h"
#include "metrics.h"

static struct metric_series	*m_query_seconds;

/* "name" with backslash and double quote escaped. */
int
iql_ident(struct buf *b, const char *s)
{
	if (!util_utf8_valid(s, strlen(s)))
		return -1;
	buf_putc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_putc(b, '\\');
		if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *s);
	}
	return buf_putc(b, '"');
}

/* 'text' with backslash and single quote escaped. */
int
iql_string(struct buf *b, const char *s)
{
	if (!util_utf8_valid(s, strlen(s)))
		return -1;
	buf_putc(b, '\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'' || *s == '\\')
			buf_putc(b, '\\');
		if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *s);
	}
	return buf_putc(b, '\'');
}

static int64_t
influx_timeout_ms(const struct api *a)
{
	int64_t t = a->cf->influx.timeout;

	if (a->cf->api.request_timeout < t)
		t = a->cf->api.request_timeout;
	return t;
}

/* The handle of this thread, set for this request; NULL: no memory. */
static struct influx *
handle(struct req *r, int64_t timeout_ms)
{
	struct influx *in;

	if ((in = api_influx(r->api)) != NULL) {
		influx_set_timeout(in, timeout_ms);
		influx_set_traceparent(in, r->traceparent);
	}
	return in;
}

/*
 * The ingester creates the database and its policies; until it has,
 * there is no data, which is no error. Statements after one that found
 * no data yet are "not executed": no error either.
 */
static bool
no_data_yet(const char *e)
{
	return strncmp(e, "database not found", 18) == 0 ||
	    strncmp(e, "retention policy not found", 26) == 0 ||
	    strcmp(e, "not executed") == 0;
}

/*
 * Runs one query (one or more statements) and walks its answer: q->fn
 * gets every row, with the cells of the columns q->want names. The
 * answer's text is left in body (the caller's, to buf_free), where the
 * strings of the cells live. 0, or -1 with the failure recorded in the
 * request for api_error_dep().
 */
int
api_influx_query(struct req *r, const struct iql_query *q, struct buf *body)
{
	struct breaker *br = r->api->influx_breaker;
	const char *e, *why;
	struct influx *in;
	struct span *sp;
	int64_t t0;
	int rc = -1, code = 0;

	buf_reset(body);
	if (m_query_seconds == NULL)
		m_query_seconds = metric_with(metric_histogram(
		    "grilld_api_influx_query_duration_seconds",
		    "Time InfluxDB took to answer the API's queries.", NULL,
		    metric_latency_bounds, metric_latency_nbounds));
	if (!breaker_allow(br)) {
		api_dep_fail(r, 503, "INFLUXDB_UNAVAILABLE",
		    breaker_retry_in_ms(br), "InfluxDB is unavailable (circuit "
		    "open; retry in %lld ms)",
		    (long long)breaker_retry_in_ms(br));
		return -1;
	}
	sp = span_start("influxdb query", r->span ? span_ctx(r->span) : NULL,
	    SPAN_KIND_CLIENT);
	span_set_str(sp, "db.system", "influxdb");
	span_set_str(sp, "db.statement", q->q);
	if ((in = handle(r, influx_timeout_ms(r->api))) == NULL) {
		breaker_success(br);	/* not InfluxDB's fault */
		api_dep_fail(r, 500, "INTERNAL", 0, "out of memory");
		goto done;
	}
	t0 = util_mono_ns();
	influx_query(in, q->q, "epoch=u", body, &code);
	metric_observe(m_query_seconds, (double)(util_mono_ns() - t0) / 1e9);
	if (code >= 500 || code == 0) {
		breaker_failure(br);
		if (influx_timed_out(in))
			api_dep_fail(r, 504, "INFLUXDB_TIMEOUT", 1000,
			    "InfluxDB did not answer within %lld ms",
			    (long long)influx_timeout_ms(r->api));
		else
			api_dep_fail(r, 503, "INFLUXDB_UNAVAILABLE", 1000,
			    "InfluxDB: %s", code == 0 ? influx_error(in) :
			    "server error");
		goto done;
	}
	breaker_success(br);
	if (iql_walk(body, q->want, q->nwant, q->fn, q->arg, &e, &why) == -1) {
		if (strcmp(why, "out of memory") == 0)
			api_dep_fail(r, 500, "INTERNAL", 0, "out of memory");
		else
			api_dep_fail(r, 502, "INFLUXDB_ERROR", 0, "InfluxDB "
			    "answered %d with what is not a query answer: %s",
			    code, why);
		goto done;
	}
	if (e != NULL && !no_data_yet(e)) {
		log_warnx("influxdb refused a query (%d): %s", code, e);
		api_dep_fail(r, 502, "INFLUXDB_ERROR", 0, "InfluxDB: %.200s",
		    e);
		goto done;
	}
	rc = 0;
done:
	if (rc == -1)
		span_set_error(sp, r->dep_msg);
	span_end(sp);
	return rc;
}

/* GET /ping for /health: 0 with the latency, or -1 with the reason. */
int
api_influx_ping(struct req *r, int64_t *latency_us)
{
	struct influx *in;
	int64_t t0;
	int code = 0;

	if ((in = handle(r, r->api->cf->nng.timeout)) == NULL) {
		api_dep_fail(r, 500, "INTERNAL", 0, "out of memory");
		return -1;
	}
	t0 = util_mono_ns();
	influx_ping(in, &code);
	*latency_us = (util_mono_ns() - t0) / 1000;
	if (code == 0) {
		api_dep_fail(r, 503, "INFLUXDB_UNAVAILABLE", 0, "%s",
		    influx_error(in));
		return -1;
	}
	if (code != 204 && code != 200) {
		api_dep_fail(r, 503, "INFLUXDB_UNAVAILABLE", 0, "/ping "
		    "answered %d", code);
		return -1;
	}
	return 0;
}
