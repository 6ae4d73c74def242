/*
 * peers: the other grilld daemons, asked over nng request/reply
 * (docs/architecture.md): the poller for its device registry
 * (MSG_DEVICES_REQ) and every daemon for its status (MSG_STATUS_REQ),
 * for /health and /api/devices.
 *
 * One req socket per peer, dialled at start-up without waiting (nng
 * redials in the background, so the daemons start in any order) and
 * shared by every worker thread (a context per request). A pipe counter
 * kept by nng's pipe notifications says whether the peer is connected
 * at all: a peer that is not answers at once "not connected" instead of
 * costing the request the whole nng.timeout. A breaker per peer does the
 * same for one that is connected but hangs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "breaker.h"
#include "log.h"
#include "msg.h"
#include "nngx.h"

static void
on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct peer *pe = arg;

	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&pe->pipes, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&pe->pipes, 1);
}

static int
peer_open(struct peer *pe, const char *name, const char *url)
{
	struct breaker_conf bc;
	char err[NNGX_ERRLEN], bname[BREAKER_NAME_MAX];
	int rv;

	pe->name = name;
	pe->url = url;
	atomic_store(&pe->pipes, 0);
	snprintf(bname, sizeof(bname), "api_%s", name);
	memset(&bc, 0, sizeof(bc));
	bc.name = bname;
	bc.failure_threshold = 3;
	bc.open_ms = 5000;
	if ((pe->breaker = breaker_new(&bc)) == NULL)
		return -1;
	if (url == NULL || *url == '\0')
		return 0;
	if (nngx_open(&pe->sock, "req", err, sizeof(err)) == -1) {
		log_warnx("%s: %s", name, err);
		return 0;
	}
	nng_pipe_notify(pe->sock, NNG_PIPE_EV_ADD_POST, on_pipe, pe);
	nng_pipe_notify(pe->sock, NNG_PIPE_EV_REM_POST, on_pipe, pe);
	if ((rv = nng_dial(pe->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		log_warnx("%s: dial %s: %s", name, url, nngx_strerror(rv));
		nng_close(pe->sock);
		return 0;
	}
	pe->open = true;
	return 0;
}

int
api_peers_start(struct api *a)
{
	if (peer_open(&a->peers[PEER_POLLER], "poller",
	    a->cf->nng.poller_url) == -1 ||
	    peer_open(&a->peers[PEER_INGEST], "ingest",
	    a->cf->nng.ingest_url) == -1 ||
	    peer_open(&a->peers[PEER_STREAM], "stream",
	    a->cf->nng.stream_url) == -1)
		return -1;
	return 0;
}

void
api_peers_stop(struct api *a)
{
	for (int i = 0; i < PEER_COUNT; i++) {
		struct peer *pe = &a->peers[i];

		if (pe->open)
			nng_close(pe->sock);
		pe->open = false;
		breaker_free(pe->breaker);
		pe->breaker = NULL;
	}
}

static enum msg_type
reply_type(enum msg_type req)
{
	return req == MSG_DEVICES_REQ ? MSG_DEVICES_REP : MSG_STATUS_REP;
}

/*
 * Sends a request of that type (its body JSON text, NULL for {}) and
 * waits for the reply, at most timeout_ms. 0 with *body the reply's
 * JSON (the caller's) and *latency_us, or -1 with the reason in the
 * request (api_error_dep()).
 */
int
api_peer_request(struct req *r, struct peer *pe, int type, const char *text,
    int64_t timeout_ms, cJSON **body, int64_t *latency_us)
{
	char err[NNGX_ERRLEN], name[64];
	enum msg_type got;
	struct span *sp;
	struct buf req;
	void *rep = NULL;
	size_t replen = 0;
	int64_t t0;
	int rc = -1;

	*body = NULL;
	*latency_us = 0;
	if (!pe->open) {
		api_dep_fail(r, 503, "PEER_UNAVAILABLE", 0, "grilld-%s: no "
		    "socket (nng.%s_url)", pe->name, pe->name);
		return -1;
	}
	if (atomic_load(&pe->pipes) <= 0) {
		api_dep_fail(r, 503, "PEER_UNAVAILABLE", 1000, "grilld-%s is "
		    "not connected (%s)", pe->name, pe->url);
		return -1;
	}
	if (!breaker_allow(pe->breaker)) {
		api_dep_fail(r, 503, "PEER_UNAVAILABLE",
		    breaker_retry_in_ms(pe->breaker), "grilld-%s does not "
		    "answer (circuit open)", pe->name);
		return -1;
	}
	buf_init(&req);
	snprintf(name, sizeof(name), "nng %s %s", pe->name,
	    msg_type_name(type));
	sp = span_start(name, r->span ? span_ctx(r->span) : NULL,
	    SPAN_KIND_CLIENT);
	t0 = util_mono_ns();
	if (text == NULL)
		text = "{}";
	if (msg_encode(&req, (enum msg_type)type, text, strlen(text)) == -1) {
		breaker_success(pe->breaker);
		api_dep_fail(r, 500, "INTERNAL", 0, "out of memory");
		goto done;
	}
	if (nngx_request_sock(pe->sock, req.data, req.len, &rep, &replen,
	    (int)timeout_ms, err, sizeof(err)) == -1) {
		breaker_failure(pe->breaker);
		api_dep_fail(r, 503, "PEER_UNAVAILABLE", 1000, "grilld-%s: %s",
		    pe->name, err);
		goto done;
	}
	*latency_us = (util_mono_ns() - t0) / 1000;
	breaker_success(pe->breaker);
	if (msg_decode(rep, replen, &got, body, err, sizeof(err)) == -1) {
		log_warnx("grilld-%s sent a bad reply: %s", pe->name, err);
		api_dep_fail(r, 502, "PEER_ERROR", 0, "grilld-%s: %s",
		    pe->name, err);
		goto done;
	}
	if (got != reply_type((enum msg_type)type)) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(*body,
		    "error");

		api_dep_fail(r, 502, "PEER_ERROR", 0, "grilld-%s: %s",
		    pe->name, cJSON_IsString(e) ? e->valuestring :
		    "unexpected reply");
		cJSON_Delete(*body);
		*body = NULL;
		goto done;
	}
	rc = 0;
done:
	if (rc == -1)
		span_set_error(sp, r->dep_msg);
	span_end(sp);
	free(rep);
	buf_free(&req);
	return rc;
}
