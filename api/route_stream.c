/*
 * GET /api/temperature/stream[/{device_id}], /api/temperature/ws/{device_id}
 *
 * grill-stats served its live feeds on the same port as the rest; grilld
 * serves them from grilld-stream on stream.listen (CONTRACT.md), and
 * the API relays them (ws_proxy.c: WebSocket upgrades never reach this
 * handler, an SSE request does). When it cannot (every relay session
 * taken, the stream unreachable) the client is sent there with 307
 * Temporary Redirect, which EventSource follows by itself: the Location
 * is stream.public_url (or stream.listen) with the path and query kept,
 * never the client's Host.
 */
#include <civetweb.h>
#include <stdio.h>
#include <string.h>

#include "api.h"

/*
 * The stream's base URL, without a trailing '/': stream.public_url when
 * set (checked at start-up by api_stream_url_check), else stream.listen,
 * https when the API speaks TLS. Never the client's Host: a Location
 * that names whatever host a client (or a poisoned cache) sent is an
 * open redirect.
 */
static int
stream_base(const struct grilld_conf *cf, struct buf *b)
{
	const char *pub = cf->stream.public_url;
	char host[256];
	int port = 0;

	if (pub != NULL && *pub != '\0') {
		size_t n = strlen(pub);

		while (n > 0 && pub[n - 1] == '/')
			n--;
		return buf_printf(b, "%.*s", (int)n, pub);
	}
	if (util_split_hostport(cf->stream.listen, host, sizeof(host),
	    &port) == -1 || port == 0)
		return -1;
	/* A wildcard listens everywhere; loopback is one place it is. */
	if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0)
		util_strlcpy(host, "127.0.0.1", sizeof(host));
	else if (strcmp(host, "::") == 0)
		util_strlcpy(host, "::1", sizeof(host));
	return buf_printf(b, "%s://%s%s%s:%d", api_tls_on(cf) ? "https" :
	    "http", strchr(host, ':') ? "[" : "", host,
	    strchr(host, ':') ? "]" : "", port);
}

/* stream.public_url: an http(s) URL without query, fragment or spaces. */
int
api_stream_url_check(const struct grilld_conf *cf, char *err, size_t errlen)
{
	const char *u = cf->stream.public_url;

	if (u == NULL || *u == '\0')
		return 0;
	if ((strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) ||
	    strpbrk(u, "?# \t\r\n") != NULL || u[strcspn(u, ":") + 3] == '\0') {
		snprintf(err, errlen, "stream.public_url: not an http:// or "
		    "https:// URL: %s", u);
		return -1;
	}
	return 0;
}

int
api_route_stream(struct req *r)
{
	struct buf loc, body, hdr;

	if (strcmp(r->seg[2], "stream") == 0 && api_sse_proxy(r) == 0)
		return 0;
	buf_init(&loc);
	if (stream_base(r->api->cf, &loc) == -1) {
		buf_free(&loc);
		return api_error(r, 404, "NOT_FOUND", "the live feeds are "
		    "served by grilld-stream (stream.listen)");
	}
	buf_init(&body);
	buf_init(&hdr);
	buf_printf(&loc, "/api/temperature/%s",
	    strcmp(r->seg[2], "ws") == 0 ? "ws" : "stream");
	if (r->arg != NULL) {
		buf_putc(&loc, '/');
		util_pct_encode(&loc, r->arg);
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
