/*
 * status: the stream's answer on nng.stream_url (req/rep), for the API
 * and health checks: MSG_STATUS_REQ -> MSG_STATUS_REP
 *
 *	{"daemon":"grilld-stream","version":..,"uptime_s":..,"ready":bool,
 *	 "nng":"subscribed"|"down","redis":"up"|"down","clients":N,
 *	 "sse":N,"ws":N,"loops":N}
 *
 * Served by nngx's reply workers on nng's threads: it reads counters
 * only.
 */
#include <stdio.h>
#include <stdlib.h>

#include "msg.h"
#include "nngx.h"
#include "stream.h"

struct status {
	struct stream	*st;
	struct nngx_rep	*rep;
	int64_t		 started_ns;
};

static bool
fill(struct buf *body, void *arg)
{
	struct status *s = arg;
	bool ready = page_ready(s->st, body);

	buf_printf(body, ",\"sse\":%.0f,\"ws\":%.0f,\"loops\":%d",
	    metric_value(s->st->stats.clients[CLIENT_SSE]),
	    metric_value(s->st->stats.clients[CLIENT_WS]), s->st->nloops);
	return ready;
}

static int
on_request(const void *req, size_t len, struct buf *reply, void *arg)
{
	struct status *s = arg;

	return msg_status_answer(req, len, reply, "grilld-stream",
	    s->started_ns, fill, s);
}

struct status *
status_start(struct stream *st, const char *url, char *err, size_t errlen)
{
	struct status *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->st = st;
	s->started_ns = util_now_ns();
	if ((s->rep = nngx_rep_serve(url, on_request, s, 2, err,
	    errlen)) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

void
status_stop(struct status *s)
{
	if (s == NULL)
		return;
	nngx_rep_stop(s->rep);
	free(s);
}
