/*
 * sse: Server-Sent Events (WHATWG HTML, 9.2).
 *
 *	GET /api/temperature/stream[/{device_id}]
 *	    [?devices=a,b][&probes=p,dev/p][&probe_id=p][&since=ID|ms|RFC3339]
 *	    [&token=...]
 *	Last-Event-ID: ID	(what a reconnecting EventSource sends)
 *
 *	    [&protocol=seed|grilld]
 *
 * The answer opens with a retry: hint (stream.retry), then every event.
 * On grill-stats' route, /stream/{device_id}, the events are grill-stats':
 * readings only, unnamed, so that EventSource.onmessage fires:
 *
 *	id: 1700000000000-0
 *	data: {...reading...,"event_id":"1700000000000-0"}
 *
 * On /stream (every device, grilld's) or with protocol=grilld, grilld's
 * named events:
 *
 *	id: 1700000000000-0
 *	event: reading | device | alert
 *	data: {...,"event_id":"1700000000000-0"}
 *
 * and a comment line (":") after stream.heartbeat without output, so
 * that proxies keep the connection. Notes have an event name and no id
 * (they do not move the resume point):
 *
 *	event: truncated	data: {"since":ID,"oldest":ID}
 *	    the events after since are older than the stream holds: replay
 *	    starts at the oldest it has
 *	event: coalesced	data: {"dropped":N}
 *	    the client was behind: N readings were replaced by newer ones
 *	    of the same probe
 *	event: disconnect	data: {"reason":"slow"|"shutdown"|...}
 *	    the last thing before the server closes the connection
 *
 * With Last-Event-ID (or since) the client is replayed what it missed
 * from Redis first (replay.c), then joins the live feed with no gap and
 * no duplicate.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "stream.h"

int
sse_note(struct client *c, const char *name, const char *json)
{
	struct buf b;
	int rc;

	buf_init(&b);
	rc = buf_printf(&b, "event: %s\ndata: %s\n\n", name, json);
	if (rc == 0)
		rc = client_send(c, b.data, b.len);
	buf_free(&b);
	return rc;
}

/*
 * The resume point: Last-Event-ID, else ?since= as an event id, Unix
 * milliseconds or an RFC 3339 time. 1 with *id set, 0 when none was
 * given, -1 when one was given and is not valid.
 */
int
sse_resume_point(const struct http_req *r, struct sev_id *id)
{
	const char *h = http_header(r, "Last-Event-ID");
	char v[64];
	int64_t ns;
	int rc;

	if (h != NULL && h[0] != '\0')
		return sev_id_parse(h, id) == 0 && sev_id_has_next(*id) ? 1 :
		    -1;
	if ((rc = http_query(r->query, "since", v, sizeof(v))) == -1)
		return 0;
	if (rc == -2 || v[0] == '\0')
		return -1;
	if (sev_id_parse(v, id) == 0)
		return sev_id_has_next(*id) ? 1 : -1;
	if (util_time_parse(v, &ns) == 0 && ns >= 0) {
		id->ms = (uint64_t)(ns / NS_PER_MS);
		id->seq = 0;
		/* Everything from that millisecond on: resume after the one
		 * before it. */
		if (id->ms > 0)
			id->ms--;
		id->seq = UINT64_MAX;
		return 1;
	}
	return -1;
}

/*
 * Whether a stream speaks grill-stats' protocol: ?protocol=seed|grilld,
 * else def. 1 or 0, -1 for another value.
 */
int
stream_seed_protocol(const struct http_req *r, bool def)
{
	char v[16];
	int rc = http_query(r->query, "protocol", v, sizeof(v));

	if (rc == -1)
		return def;
	if (rc == 0 && strcmp(v, "seed") == 0)
		return 1;
	if (rc == 0 && strcmp(v, "grilld") == 0)
		return 0;
	return -1;
}

void
sse_open(struct client *c, struct http_req *r, struct filter *f,
    const char *cors)
{
	struct sev_id since;
	int resume = sse_resume_point(r, &since);
	int seed = stream_seed_protocol(r, strncmp(r->path,
	    "/api/temperature/stream/", 24) == 0);

	if (seed == -1) {
		filter_free(f);
		metric_inc(c->st->stats.refused[STATS_REFUSED_BAD]);
		http_error(&c->pend, 400, "BAD_PROTOCOL", "protocol is seed "
		    "(unnamed reading events) or grilld (named events)", NULL,
		    false);
		return;
	}
	if (resume == -1) {
		filter_free(f);
		metric_inc(c->st->stats.refused[STATS_REFUSED_BAD]);
		http_error(&c->pend, 400, "BAD_EVENT_ID", "Last-Event-ID or "
		    "since is not an event id, a time in ms or RFC 3339",
		    NULL, false);
		return;
	}
	buf_printf(&c->pend, "HTTP/1.1 200 OK\r\nServer: grilld-stream\r\n"
	    "Content-Type: text/event-stream; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n"
	    "Connection: close\r\n%s\r\nretry: %lld\n\n", cors,
	    (long long)client_conf(c)->stream.retry);
	c->kind = CLIENT_SSE;
	c->seed = seed == 1;
	c->state = CS_STREAM;
	c->close_after = true;
	c->hold = resume ? HOLD_REPLAY : HOLD_NONE;
	c->replay_from = since;
	c->replay_first = true;
	if (hub_attach(loop_hub(c->loop), c, f) == -1)
		client_close(c, DROP_ERROR, 0);
	metric_add(c->st->stats.clients[CLIENT_SSE], 1);
	log_debug("client %llu (%s): SSE%s", (unsigned long long)c->serial,
	    c->addr, resume ? " with replay" : "");
}
