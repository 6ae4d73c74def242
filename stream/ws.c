/*
 * ws: the WebSocket session (RFC 6455) on a connection of client.c.
 *
 *	GET /api/temperature/ws[/{device_id}]
 *	    [?devices=..&probes=..&probe_id=..][&since=ID][&snapshot=0]
 *	    [&token=...]
 *
 * Two protocols. grill-stats', the default: after the upgrade, the latest
 * reading of each followed probe, then every new reading, each message
 * one bare reading JSON, as grill-stats' web UI hook parses them; what
 * the client sends is ignored. grilld's, chosen with the subprotocol
 * "grilld.v1" (Sec-WebSocket-Protocol) or ?protocol=grilld, is below.
 *
 * Every message of grilld's protocol is one JSON object with a "type".
 *
 * Server to client:
 *	{"type":"current","data":[reading, ...]}	on connect: the latest
 *	    reading of every followed probe (the `latest` hash), unless
 *	    ?snapshot=0
 *	{"type":"reading"|"device"|"alert","id":ID,"data":{...}}
 *	{"type":"subscribed","all":bool,"devices":[..],"probes":[..]}
 *	{"type":"truncated","since":ID,"oldest":ID}
 *	{"type":"replayed","last_id":ID}	a resume caught up
 *	{"type":"coalesced","dropped":N}
 *	{"type":"pong"}
 *	{"type":"error","code":CODE,"message":text}
 *
 * Client to server:
 *	{"type":"subscribe","devices":[..],"probes":[..]}	"*" is every
 *	    device; subscribing to devices while following all narrows
 *	{"type":"unsubscribe","devices":[..],"probes":[..]}
 *	{"type":"resume","since":ID}	replay after ID, then live
 *	{"type":"ping"}
 *
 * A message the server cannot use gets an error answer and the session
 * goes on; STREAM_BAD_MSGS_MAX of them in a row close it with 1008.
 * Close codes: see WS_CLOSE_* in stream.h and docs/stream.md. Ping
 * frames are answered with pongs; the server pings after
 * stream.heartbeat without output and closes (4000) a client silent for
 * stream.idle_timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "stream.h"

static int
send_json(struct client *c, const char *json, size_t len)
{
	return client_send_frame(c, WS_TEXT, json, len);
}

/* {"type":name,<members of json>}; nothing for grill-stats' protocol. */
int
ws_note(struct client *c, const char *name, const char *json)
{
	struct buf b;
	int rc;

	if (c->seed)
		return 0;
	buf_init(&b);
	rc = buf_printf(&b, "{\"type\":\"%s\"%s%s", name,
	    strcmp(json, "{}") ? "," : "", strcmp(json, "{}") ? json + 1 : "}");
	if (rc == 0)
		rc = send_json(c, b.data, b.len);
	buf_free(&b);
	return rc;
}

static void
send_error(struct client *c, const char *code, const char *msg)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "{\"type\":\"error\",\"code\":\"");
	buf_json_escape(&b, code);
	buf_puts(&b, "\",\"message\":\"");
	buf_json_escape(&b, msg);
	if (buf_puts(&b, "\"}") == 0)
		send_json(c, b.data, b.len);
	buf_free(&b);
}

void
ws_close_frame(struct client *c, int code, const char *reason)
{
	uint8_t p[2 + 123];
	size_t rl = strlen(reason) > 123 ? 123 : strlen(reason);

	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	memcpy(p + 2, reason, rl);
	ws_frame_append(&c->pend, WS_CLOSE, p, 2 + rl);
}

static void
bad_message(struct client *c, const char *code, const char *msg)
{
	send_error(c, code, msg);
	if (++c->bad_msgs >= STREAM_BAD_MSGS_MAX)
		client_close(c, DROP_PROTOCOL, WS_CLOSE_POLICY);
}

static void
send_filter(struct client *c)
{
	const struct filter *f = &c->filter;
	cJSON *o, *d, *p;
	char *s = NULL;

	if ((o = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(o, "type", "subscribed");
	cJSON_AddBoolToObject(o, "all", f->all);
	d = cJSON_AddArrayToObject(o, "devices");
	p = cJSON_AddArrayToObject(o, "probes");
	for (size_t i = 0; d && i < f->ndevices; i++)
		cJSON_AddItemToArray(d, cJSON_CreateString(f->devices[i]));
	for (size_t i = 0; p && i < f->nprobes; i++)
		cJSON_AddItemToArray(p, cJSON_CreateString(f->probes[i]));
	if ((s = cJSON_PrintUnformatted(o)) != NULL)
		send_json(c, s, strlen(s));
	cJSON_Delete(o);
	cJSON_free(s);
}

static void
on_message(struct client *c, const char *text, size_t len)
{
	const cJSON *type, *since;
	struct sev_id id;
	char err[128];
	cJSON *m;
	int rc;

	if (c->seed)
		return;		/* grill-stats': no client messages */
	if ((m = cJSON_ParseWithLength(text, len)) == NULL ||
	    !cJSON_IsObject(m) ||
	    !cJSON_IsString(type = cJSON_GetObjectItemCaseSensitive(m,
	    "type"))) {
		bad_message(c, "BAD_MESSAGE", "a message is a JSON object "
		    "with a \"type\"");
		goto out;
	}
	if (strcmp(type->valuestring, "ping") == 0) {
		send_json(c, "{\"type\":\"pong\"}", 15);
	} else if (strcmp(type->valuestring, "subscribe") == 0 ||
	    strcmp(type->valuestring, "unsubscribe") == 0) {
		rc = hub_change(loop_hub(c->loop), c, type->valuestring[0] == 's',
		    cJSON_GetObjectItemCaseSensitive(m, "devices"),
		    cJSON_GetObjectItemCaseSensitive(m, "probes"), err,
		    sizeof(err));
		if (rc != 0) {
			if (rc == -2)
				metric_inc(c->st->stats.refused[
				    STATS_REFUSED_SUBS]);
			bad_message(c, rc == -2 ? "TOO_MANY_SUBSCRIPTIONS" :
			    "BAD_SUBSCRIPTION", err);
			goto out;
		}
		send_filter(c);
	} else if (strcmp(type->valuestring, "resume") == 0) {
		since = cJSON_GetObjectItemCaseSensitive(m, "since");
		if (!cJSON_IsString(since) ||
		    sev_id_parse(since->valuestring, &id) == -1 ||
		    !sev_id_has_next(id)) {
			bad_message(c, "BAD_EVENT_ID", "since must be an "
			    "event id");
			goto out;
		}
		c->hold = HOLD_REPLAY;
		c->replay_from = id;
		c->replay_first = true;
		c->replay_overflow = false;
		c->replay_gen++;
	} else {
		bad_message(c, "UNKNOWN_TYPE", "type is one of subscribe, "
		    "unsubscribe, resume, ping");
		goto out;
	}
	c->bad_msgs = 0;
out:
	cJSON_Delete(m);
}

/* One whole frame, unmasked, at p. */
static void
on_frame(struct client *c, const struct ws_frame *f, uint8_t *p)
{
	size_t max = (size_t)client_conf(c)->stream.max_message, mlen,
	    done;
	const char *msg;
	int code;

	switch (f->op) {
	case WS_PING:
		/* Counted like every byte the client makes us hold. */
		if (client_send_frame(c, WS_PONG, p, f->len) == -1)
			client_close(c, DROP_SLOW, WS_CLOSE_POLICY);
		return;
	case WS_PONG:
		return;
	case WS_CLOSE:
		code = f->len >= 2 ? p[0] << 8 | p[1] : WS_CLOSE_NORMAL;
		if (f->len == 1 || !ws_close_code_valid(code)) {
			client_close(c, DROP_PROTOCOL,
			    WS_CLOSE_PROTOCOL);
			return;
		}
		done = 0;
		if (f->len > 2 && (ws_utf8_check(p + 2, f->len - 2,
		    &done) == -1 || done != f->len - 2)) {
			/* The reason is text: UTF-8 or a failure (7.1.6). */
			client_close(c, DROP_PROTOCOL, WS_CLOSE_BAD_DATA);
			return;
		}
		/* Echo the code, then close (5.5.1). */
		ws_close_frame(c, code, "");
		c->state = CS_CLOSING;
		c->closing_ms = util_mono_ms();
		metric_inc(c->st->stats.drops[DROP_CLIENT]);
		c->drop = DROP_CLIENT;
		return;
	case WS_BIN:
		client_close(c, DROP_PROTOCOL, WS_CLOSE_UNSUPPORTED);
		return;
	case WS_TEXT:
		if (c->ws_frag) {
			client_close(c, DROP_PROTOCOL,
			    WS_CLOSE_PROTOCOL);
			return;
		}
		break;
	case WS_CONT:
		if (!c->ws_frag) {
			client_close(c, DROP_PROTOCOL,
			    WS_CLOSE_PROTOCOL);
			return;
		}
		break;
	}
	if (c->msg.len + f->len > max) {
		client_close(c, DROP_TOO_BIG, WS_CLOSE_TOO_BIG);
		return;
	}
	msg = (const char *)p;
	mlen = f->len;
	if (!f->fin || c->ws_frag) {
		if (buf_append(&c->msg, p, f->len) == -1) {
			client_close(c, DROP_ERROR, WS_CLOSE_INTERNAL);
			return;
		}
		c->ws_frag = !f->fin;
		/* Invalid UTF-8 fails at the fragment that holds it. */
		if (ws_utf8_check((const uint8_t *)c->msg.data, c->msg.len,
		    &c->msg_utf8) == -1) {
			client_close(c, DROP_PROTOCOL, WS_CLOSE_BAD_DATA);
			return;
		}
		if (!f->fin)
			return;
		msg = c->msg.data;
		mlen = c->msg.len;
	}
	done = msg == c->msg.data ? c->msg_utf8 : 0;
	if (ws_utf8_check((const uint8_t *)msg, mlen, &done) == -1 ||
	    done != mlen)
		client_close(c, DROP_PROTOCOL, WS_CLOSE_BAD_DATA);
	else
		on_message(c, msg, mlen);
	buf_free(&c->msg);
	c->msg_utf8 = 0;
}

void
ws_input(struct client *c)
{
	size_t max = (size_t)client_conf(c)->stream.max_message;
	uint8_t *p = (uint8_t *)c->in;
	size_t off = 0;

	while (c->state == CS_STREAM && off < c->inlen) {
		struct ws_frame f;
		int code, rc;

		rc = ws_frame_parse(p + off, c->inlen - off, &f, &code);
		if (rc == 0)
			break;
		if (rc == -1) {
			client_close(c, DROP_PROTOCOL, code);
			break;
		}
		if (f.len > max) {
			client_close(c, DROP_TOO_BIG, WS_CLOSE_TOO_BIG);
			break;
		}
		if (c->inlen - off < f.hdrlen + f.len)
			break;
		ws_unmask(p + off + f.hdrlen, f.len, f.mask);
		on_frame(c, &f, p + off + f.hdrlen);
		off += f.hdrlen + f.len;
	}
	if (c->in != NULL) {
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
	client_flush(c);
}

void
ws_open(struct client *c, struct http_req *r, struct filter *f,
    const char *cors)
{
	const char *key = http_header(r, "Sec-WebSocket-Key");
	const char *ver = http_header(r, "Sec-WebSocket-Version");
	const char *sub = http_header(r, "Sec-WebSocket-Protocol");
	struct sev_id since;
	char accept[64], v[8];
	int resume, seed;

	/* Refusals of a handshake end the connection (no second try on
	 * it, and nothing left to misread). */
	c->close_after = true;
	if (r->minor < 1) {
		http_error(&c->pend, 400, "BAD_REQUEST", "WebSocket needs "
		    "HTTP/1.1", "Connection: close\r\n", false);
		goto refuse;
	}
	if (!http_header_has(r, "Upgrade", "websocket") ||
	    !http_header_has(r, "Connection", "upgrade")) {
		http_error(&c->pend, 426, "UPGRADE_REQUIRED", "this route "
		    "speaks WebSocket", "Upgrade: websocket\r\n"
		    "Connection: close\r\n", false);
		goto refuse;
	}
	if (ver == NULL || strcmp(ver, "13") != 0) {
		http_error(&c->pend, 426, "BAD_VERSION", "WebSocket version "
		    "13 only", "Sec-WebSocket-Version: 13\r\n"
		    "Connection: close\r\n", false);
		goto refuse;
	}
	if (key == NULL || ws_accept_key(key, accept, sizeof(accept)) == -1) {
		http_error(&c->pend, 400, "BAD_KEY", "missing or malformed "
		    "Sec-WebSocket-Key", "Connection: close\r\n", false);
		goto refuse;
	}
	/* grilld's protocol when the client offers it as a subprotocol. */
	if (sub != NULL && http_header_has(r, "Sec-WebSocket-Protocol",
	    WS_SUBPROTOCOL))
		seed = 0;
	else if ((seed = stream_seed_protocol(r, true)) == -1) {
		http_error(&c->pend, 400, "BAD_PROTOCOL", "protocol is seed "
		    "(bare readings) or grilld (typed messages; or the "
		    "subprotocol " WS_SUBPROTOCOL ")", NULL, false);
		goto refuse;
	}
	if ((resume = sse_resume_point(r, &since)) == -1) {
		http_error(&c->pend, 400, "BAD_EVENT_ID", "since is not an "
		    "event id, a time in ms or RFC 3339", "Connection: close\r\n",
		    false);
		goto refuse;
	}
	buf_printf(&c->pend, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Server: grilld-stream\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s\r\n",
	    accept, sub != NULL && seed == 0 && http_header_has(r,
	    "Sec-WebSocket-Protocol", WS_SUBPROTOCOL) ?
	    "Sec-WebSocket-Protocol: " WS_SUBPROTOCOL "\r\n" : "", cors);
	c->kind = CLIENT_WS;
	c->seed = seed == 1;
	c->state = CS_STREAM;
	c->close_after = true;
	c->want_replay = resume == 1;
	c->replay_from = since;
	c->replay_first = true;
	if (http_query(r->query, "snapshot", v, sizeof(v)) == 0 &&
	    strcmp(v, "0") == 0)
		c->hold = c->want_replay ? HOLD_REPLAY : HOLD_NONE;
	else
		c->hold = HOLD_SNAPSHOT;
	if (hub_attach(loop_hub(c->loop), c, f) == -1)
		client_close(c, DROP_ERROR, WS_CLOSE_INTERNAL);
	metric_add(c->st->stats.clients[CLIENT_WS], 1);
	log_debug("client %llu (%s): WebSocket", (unsigned long long)c->serial,
	    c->addr);
	return;
refuse:
	metric_inc(c->st->stats.refused[STATS_REFUSED_BAD]);
	filter_free(f);
}
