/*
 * What the ingester tells about itself: /health/ready (admin.h) and
 * MSG_STATUS_REQ over nng at nng.ingest_url. Both read a snapshot the
 * main thread updates (status_update) and the writer's health, under
 * a mutex: they run on civetweb's and nng's threads.
 *
 * Ready means something measurable: Redis answered lately, InfluxDB is
 * set up and the last write succeeded (or none was needed yet), and the
 * circuit breaker is not open. The details name the age of the oldest
 * unacknowledged reading and the last write result.
 */
#include <stdio.h>
#include <string.h>

#include "msg.h"
#include "nngx.h"
#include "ingest.h"

struct status ingest_status = { .mtx = PTHREAD_MUTEX_INITIALIZER };
static struct nngx_rep *rep;

void
status_update(bool redis_up, int64_t oldest_ms, int64_t lag, int64_t pending,
    size_t rules)
{
	pthread_mutex_lock(&ingest_status.mtx);
	ingest_status.redis_up = redis_up;
	ingest_status.oldest_unacked_ms = oldest_ms;
	ingest_status.lag = lag;
	ingest_status.pending = pending;
	ingest_status.rules = rules;
	pthread_mutex_unlock(&ingest_status.mtx);
}

/* The members shared by both answers, without braces. */
static bool
describe(struct buf *b)
{
	struct writer_health h;
	struct status s;
	char at[UTIL_TIME_LEN] = "";
	int64_t now = util_now_ns();
	double age = 0;
	bool ready, wrote_ok;

	pthread_mutex_lock(&ingest_status.mtx);
	s = ingest_status;
	pthread_mutex_unlock(&ingest_status.mtx);
	memset(&h, 0, sizeof(h));
	if (s.writer)
		writer_health(s.writer, &h);
	if (s.oldest_unacked_ms > 0)
		age = (double)(now / NS_PER_MS - s.oldest_unacked_ms) / 1000.0;
	if (age < 0)
		age = 0;
	if (h.last_at)
		util_time_format(h.last_at, at, sizeof(at));
	wrote_ok = h.last_at == 0 || h.last_ok;
	ready = s.redis_up && h.setup_done && wrote_ok &&
	    h.breaker != BREAKER_OPEN;
	buf_printf(b, "\"redis\":\"%s\",\"influxdb\":\"%s\",\"breaker\":\"%s\","
	    "\"oldest_unacked_age_s\":%.3f,\"lag\":%lld,\"pending\":%lld,"
	    "\"rules\":%zu,\"stored\":%llu,\"batches\":%llu,"
	    "\"last_write\":{\"result\":\"%s\",\"status\":%d,\"at\":%s%s%s,"
	    "\"latency_s\":%.4f,\"error\":\"",
	    s.redis_up ? "up" : "down",
	    !h.setup_done ? "not set up" : wrote_ok ? "up" : "failing",
	    breaker_state_name(h.breaker), age, (long long)s.lag,
	    (long long)s.pending, s.rules, (unsigned long long)h.points,
	    (unsigned long long)h.batches,
	    h.last_at == 0 ? "none" : h.last_ok ? "ok" : "failed",
	    h.last_status, at[0] ? "\"" : "null", at, at[0] ? "\"" : "",
	    h.last_latency_s);
	buf_json_escape(b, h.last_error);
	buf_puts(b, "\"}");
	return ready;
}

bool
status_ready(void *arg, struct buf *why)
{
	return describe(why);
}

static bool
fill(struct buf *body, void *arg)
{
	return describe(body);
}

static int
on_request(const void *req, size_t len, struct buf *reply, void *arg)
{
	return msg_status_answer(req, len, reply, "grilld-ingest",
	    ingest_status.started_ns, fill, NULL);
}

int
status_start(const char *url, char *err, size_t errlen)
{
	ingest_status.started_ns = util_now_ns();
	if ((rep = nngx_rep_serve(url, on_request, NULL, 4, err,
	    errlen)) == NULL)
		return -1;
	return 0;
}

void
status_stop(void)
{
	nngx_rep_stop(rep);
	rep = NULL;
}
