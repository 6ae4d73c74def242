/*
 * server: routing and admission of requests.
 *
 *	/api/temperature/stream[/{device}]	SSE (sse.c)
 *	/api/temperature/ws[/{device}]		WebSocket (ws.c)
 *	anything else				page.c
 *
 * Admission, in order, for the SSE and WebSocket routes: a token when
 * api.read_auth is on (401, 403), a valid filter (400), room for another
 * stream (stream.max_clients: 503 with Retry-After), room for another
 * stream from that address (stream.per_address: 429).
 *
 * OPTIONS is a CORS preflight (fetch-based SSE clients send one for
 * Authorization or Last-Event-ID): 204, with the Access-Control-*
 * headers when api.cors_origins allows the Origin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "stream.h"

/* Access-Control-Allow-Origin for an origin api.cors_origins allows. */
static void
cors_header(struct stream *st, const struct http_req *r, char *out,
    size_t len)
{
	const char *allowed = st->cf->api.cors_origins;
	const char *origin = http_header(r, "Origin");
	size_t ol;

	out[0] = '\0';
	if (allowed == NULL || origin == NULL || strlen(origin) > 200)
		return;
	ol = strlen(origin);
	for (const char *p = allowed; *p;) {
		size_t n = strcspn(p, ",");
		const char *q = p;

		while (n > 0 && *q == ' ')
			q++, n--;
		while (n > 0 && q[n - 1] == ' ')
			n--;
		if ((n == 1 && *q == '*') || (n == ol && !memcmp(q, origin, n))) {
			snprintf(out, len, "Access-Control-Allow-Origin: %s\r\n"
			    "Vary: Origin\r\n", n == 1 && *q == '*' ? "*" :
			    origin);
			return;
		}
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
}

/* "/api/temperature/stream" or ".../stream/{device}": 1, with device. */
static int
route(const char *path, const char *base, const char **device)
{
	size_t bl = strlen(base);

	if (strncmp(path, base, bl) != 0)
		return 0;
	if (path[bl] == '\0') {
		*device = NULL;
		return 1;
	}
	if (path[bl] != '/' || path[bl + 1] == '\0' ||
	    strchr(path + bl + 1, '/') != NULL)
		return -1;
	*device = path + bl + 1;
	return 1;
}

static const char *
bearer(const struct http_req *r, char *tok, size_t len)
{
	const char *h = http_header(r, "Authorization");

	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		util_strlcpy(tok, h + 7, len);
		return tok;
	}
	if (http_query(r->query, "token", tok, len) == 0)
		return tok;
	return NULL;
}

static void
open_stream(struct client *c, struct http_req *r, bool ws,
    const char *device)
{
	struct stream *st = c->st;
	char err[160], cors[300], tok[512];
	struct filter f;
	int status;

	/* Behind a trusted proxy the limits are the client's, not its. */
	limits_client(st->limits, c->peer, r, c->addr, sizeof(c->addr));
	if (limits_auth_needed(st->limits) && (status = limits_auth(
	    st->limits, bearer(r, tok, sizeof(tok)), util_now_ns())) != 0) {
		metric_inc(st->stats.refused[STATS_REFUSED_AUTH]);
		http_error(&c->pend, status, status == 401 ? "UNAUTHORIZED" :
		    "FORBIDDEN", status == 401 ? "a token is required: "
		    "Authorization: Bearer KEY or ?token=" : "the token is "
		    "wrong or has expired", status == 401 ?
		    "WWW-Authenticate: Bearer\r\n" : NULL, false);
		return;
	}
	if (filter_from_query(&f, device, r->query,
	    (size_t)client_conf(c)->stream.max_subscriptions, err,
	    sizeof(err)) == -1) {
		metric_inc(st->stats.refused[strstr(err, "at most") ?
		    STATS_REFUSED_SUBS : STATS_REFUSED_BAD]);
		http_error(&c->pend, 400, strstr(err, "at most") ?
		    "TOO_MANY_SUBSCRIPTIONS" : "BAD_FILTER", err, NULL, false);
		return;
	}
	if (!stream_take(st,
	    (size_t)client_conf(c)->stream.max_clients)) {
		metric_inc(st->stats.refused[STATS_REFUSED_FULL]);
		http_error(&c->pend, 503, "SERVER_FULL", "too many clients; "
		    "try again later", "Retry-After: 5\r\n", false);
		filter_free(&f);
		return;
	}
	if (!limits_addr_take(st->limits, c->addr)) {
		stream_give(st);
		metric_inc(st->stats.refused[STATS_REFUSED_ADDR]);
		http_error(&c->pend, 429, "TOO_MANY_CONNECTIONS", "too many "
		    "streams from this address", "Retry-After: 5\r\n", false);
		filter_free(&f);
		return;
	}
	cors_header(st, r, cors, sizeof(cors));
	if (ws)
		ws_open(c, r, &f, cors);
	else
		sse_open(c, r, &f, cors);
	if (c->kind == CLIENT_HTTP) {
		limits_addr_give(st->limits, c->addr);
		stream_give(st);
	} else {
		/* A stream now: counted as one, no longer as a connection. */
		c->counted = true;
		if (c->conn_counted)
			limits_conn_give(st->limits, c->peer);
		c->conn_counted = false;
	}
}

static void
preflight(struct client *c, struct http_req *r)
{
	char cors[300];
	struct buf h;

	cors_header(c->st, r, cors, sizeof(cors));
	buf_init(&h);
	buf_printf(&h, "HTTP/1.1 204 No Content\r\nServer: grilld-stream\r\n"
	    "Allow: GET, HEAD, OPTIONS\r\n%s", cors);
	if (cors[0] != '\0')
		buf_puts(&h, "Access-Control-Allow-Methods: GET, HEAD, OPTIONS"
		    "\r\nAccess-Control-Allow-Headers: Authorization, "
		    "Last-Event-ID, Cache-Control\r\n"
		    "Access-Control-Max-Age: 600\r\n");
	buf_puts(&h, "\r\n");
	if (h.data != NULL)
		buf_append(&c->pend, h.data, h.len);
	buf_free(&h);
}

void
server_request(struct client *c, struct http_req *r)
{
	bool head = strcmp(r->method, "HEAD") == 0;
	const char *device;
	int sse, ws;

	if (strcmp(r->method, "OPTIONS") == 0) {
		preflight(c, r);
		return;
	}
	if (!head && strcmp(r->method, "GET") != 0) {
		http_error(&c->pend, 405, "METHOD_NOT_ALLOWED", "the stream "
		    "answers GET, HEAD and OPTIONS",
		    "Allow: GET, HEAD, OPTIONS\r\n", false);
		return;
	}
	sse = route(r->path, "/api/temperature/stream", &device);
	ws = route(r->path, "/api/temperature/ws", &device);
	if (sse == -1 || ws == -1) {
		http_error(&c->pend, 404, "NOT_FOUND", "no such route", NULL,
		    head);
		return;
	}
	if ((sse == 1 || ws == 1) && head) {
		http_error(&c->pend, 405, "METHOD_NOT_ALLOWED", "streams "
		    "answer GET", "Allow: GET\r\n", true);
		return;
	}
	if (sse == 1 || ws == 1) {
		open_stream(c, r, ws == 1, device);
		return;
	}
	if (page_serve(c->st, r, &c->pend, head) == -1)
		client_close(c, DROP_ERROR, 0);
}
