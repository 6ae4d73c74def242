/*
 * influx_query: InfluxQL over HTTP (InfluxDB 1.x /query), with safe
 * quoting, time-outs, a circuit breaker and a span per query.
 *
 * Queries are built only with iql_ident() and iql_string() for anything
 * that came from outside (ids, names) and integers for times (ns), so no
 * input can change a query's meaning; regular expressions are never
 * built from input.
 *
 * Each worker thread reuses its own curl handle (worker.c), so the TCP
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
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "breaker.h"
#include "log.h"
#include "metrics.h"

#define INFLUX_BODY_MAX		(256 * 1024 * 1024)
#define INFLUX_CONNECT_MS	2000

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

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (b->len + size * n > INFLUX_BODY_MAX)
		return 0;
	if (buf_append(b, data, size * n) == -1)
		return 0;
	return size * n;
}

static int64_t
influx_timeout_ms(const struct api *a)
{
	int64_t t = a->cf->influx.timeout;

	if (a->cf->api.request_timeout < t)
		t = a->cf->api.request_timeout;
	return t;
}

/* Sets what every request of this handle needs. */
static void
influx_setup(CURL *c, struct req *r, struct buf *body,
    struct curl_slist **hdrs, int64_t timeout_ms)
{
	char tp[80];

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(timeout_ms < INFLUX_CONNECT_MS ? timeout_ms :
	    INFLUX_CONNECT_MS));
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	if (r->api->cf->influx.ca_file != NULL &&
	    r->api->cf->influx.ca_file[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, r->api->cf->influx.ca_file);
	if (r->api->cf->influx.username != NULL) {
		curl_easy_setopt(c, CURLOPT_USERNAME,
		    r->api->cf->influx.username);
		curl_easy_setopt(c, CURLOPT_PASSWORD,
		    r->api->cf->influx.password ? r->api->cf->influx.password :
		    "");
	}
	if (r->traceparent[0] != '\0') {
		snprintf(tp, sizeof(tp), "traceparent: %s", r->traceparent);
		*hdrs = curl_slist_append(NULL, tp);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
	}
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
	struct curl_slist *hdrs = NULL;
	struct buf url;
	const char *e, *why;
	struct span *sp;
	char *qe = NULL, *dbe = NULL;
	long code = 0;
	CURL *c;
	CURLcode cc;
	int64_t t0;
	int rc = -1;

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
	buf_init(&url);
	sp = span_start("influxdb query", r->span ? span_ctx(r->span) : NULL,
	    SPAN_KIND_CLIENT);
	span_set_str(sp, "db.system", "influxdb");
	span_set_str(sp, "db.statement", q->q);
	if ((c = api_curl()) == NULL ||
	    (qe = curl_easy_escape(c, q->q, 0)) == NULL ||
	    (dbe = curl_easy_escape(c, r->api->cf->influx.database, 0)) ==
	    NULL || buf_printf(&url, "%s/query?db=%s&epoch=u&q=%s",
	    r->api->cf->influx.url, dbe, qe) == -1) {
		breaker_success(br);	/* not InfluxDB's fault */
		api_dep_fail(r, 500, "INTERNAL", 0, "out of memory");
		goto done;
	}
	influx_setup(c, r, body, &hdrs, influx_timeout_ms(r->api));
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	t0 = util_mono_ns();
	cc = curl_easy_perform(c);
	metric_observe(m_query_seconds, (double)(util_mono_ns() - t0) / 1e9);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK || code >= 500 || code == 0) {
		breaker_failure(br);
		if (cc == CURLE_OPERATION_TIMEDOUT)
			api_dep_fail(r, 504, "INFLUXDB_TIMEOUT", 1000,
			    "InfluxDB did not answer within %lld ms",
			    (long long)influx_timeout_ms(r->api));
		else
			api_dep_fail(r, 503, "INFLUXDB_UNAVAILABLE", 1000,
			    "InfluxDB: %s", cc != CURLE_OK ?
			    curl_easy_strerror(cc) : "server error");
		goto done;
	}
	breaker_success(br);
	if (iql_walk(body, q->want, q->nwant, q->fn, q->arg, &e, &why) == -1) {
		if (strcmp(why, "out of memory") == 0)
			api_dep_fail(r, 500, "INTERNAL", 0, "out of memory");
		else
			api_dep_fail(r, 502, "INFLUXDB_ERROR", 0, "InfluxDB "
			    "answered %ld with what is not a query answer: %s",
			    code, why);
		goto done;
	}
	if (e != NULL && !no_data_yet(e)) {
		log_warnx("influxdb refused a query (%ld): %s", code, e);
		api_dep_fail(r, 502, "INFLUXDB_ERROR", 0, "InfluxDB: %.200s",
		    e);
		goto done;
	}
	rc = 0;
done:
	if (rc == -1)
		span_set_error(sp, r->dep_msg);
	span_end(sp);
	curl_slist_free_all(hdrs);
	curl_free(qe);
	curl_free(dbe);
	buf_free(&url);
	return rc;
}

/* GET /ping for /health: 0 with the latency, or -1 with the reason. */
int
api_influx_ping(struct req *r, int64_t *latency_us)
{
	struct curl_slist *hdrs = NULL;
	struct buf url, body;
	long code = 0;
	CURL *c;
	CURLcode cc;
	int64_t t0;
	int rc = -1;

	buf_init(&url);
	buf_init(&body);
	if ((c = api_curl()) == NULL ||
	    buf_printf(&url, "%s/ping", r->api->cf->influx.url) == -1) {
		api_dep_fail(r, 500, "INTERNAL", 0, "out of memory");
		goto done;
	}
	influx_setup(c, r, &body, &hdrs, r->api->cf->nng.timeout);
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	t0 = util_mono_ns();
	cc = curl_easy_perform(c);
	*latency_us = (util_mono_ns() - t0) / 1000;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK)
		api_dep_fail(r, 503, "INFLUXDB_UNAVAILABLE", 0, "%s",
		    curl_easy_strerror(cc));
	else if (code != 204 && code != 200)
		api_dep_fail(r, 503, "INFLUXDB_UNAVAILABLE", 0, "/ping "
		    "answered %ld", code);
	else
		rc = 0;
done:
	curl_slist_free_all(hdrs);
	buf_free(&url);
	buf_free(&body);
	return rc;
}
