/*
 * GET /api/temperature/stream[/{device_id}], /api/temperature/ws/{device_id}
 *
 * The seed served its live feeds on the same port as the rest; grilld
 * serves them from grilld-stream on stream.listen (CONTRACT.md), and
 * the API relays them (ws_proxy.c: WebSocket upgrades never reach this
 * handler, an SSE request does). When it cannot (every relay session
 * taken, the stream unreachable) the client is sent there with 307
 * Temporary Redirect, which EventSource follows by itself: the Location
 * keeps the path and query and takes the host the client used with the
 * stream's port.
 */
#include <civetweb.h>
#include <stdio.h>
#include <string.h>

#include "api.h"

static void
put_segment(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) != NULL)
			buf_putc(b, (char)c);
		else
			buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
}

int
api_route_stream(struct req *r)
{
	const char *host = mg_get_header(r->conn, "Host");
	char name[256] = "127.0.0.1", listen_host[256];
	struct buf loc, body, hdr;
	int port = 0;
	size_t n;

	if (strcmp(r->seg[2], "stream") == 0 && api_sse_proxy(r) == 0)
		return 0;
	if (util_split_hostport(r->api->cf->stream.listen, listen_host,
	    sizeof(listen_host), &port) == -1 || port == 0)
		return api_error(r, 404, "NOT_FOUND", "the live feeds are "
		    "served by grilld-stream (stream.listen)");
	if (host != NULL && *host != '\0' && strpbrk(host, "\r\n /@") == NULL) {
		/* The host the client used, without its port. */
		n = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":");
		if (n < sizeof(name))
			snprintf(name, sizeof(name), "%.*s", (int)n, host);
	}
	buf_init(&loc);
	buf_init(&body);
	buf_init(&hdr);
	buf_printf(&loc, "http://%s:%d/api/temperature/%s", name, port,
	    strcmp(r->seg[2], "ws") == 0 ? "ws" : "stream");
	if (r->arg != NULL) {
		buf_putc(&loc, '/');
		put_segment(&loc, r->arg);
	}
	if (r->ri->query_string != NULL && *r->ri->query_string != '\0' &&
	    strpbrk(r->ri->query_string, "\r\n") == NULL)
		buf_printf(&loc, "?%s", r->ri->query_string);
	buf_puts(&body, "{\"status\":\"redirect\",\"message\":\"the live "
	    "feeds are served by grilld-stream\",\"location\":\"");
	buf_json_escape(&body, loc.data);
	buf_puts(&body, "\"}\n");
	buf_printf(&hdr, "Location: %s\r\n", loc.data);
	api_reply(r, 307, "application/json", body.data, body.len, hdr.data);
	buf_free(&loc);
	buf_free(&body);
	buf_free(&hdr);
	return 0;
}
