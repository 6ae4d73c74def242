/*
 * ws_proxy: the live routes on the API's own address, relayed to
 * grilld-stream, so that a client given one base URL gets them all.
 *
 *	GET /api/temperature/ws[/{device_id}]	(Upgrade: websocket)
 *	GET /api/temperature/stream/{device_id}	(Server-Sent Events)
 *
 * A browser follows no redirect for a WebSocket, so the 307 that sends
 * EventSource to grilld-stream cannot serve grill-stats' web UI hook,
 * which is given one base URL. civetweb takes the upgrade; each session
 * opens its own connection to grilld-stream (api.stream_upstream, by
 * default stream.listen on loopback), repeats the handshake there with
 * the same path, query, token and subprotocol, and relays whole
 * messages both ways: the client's through civetweb's data handler, the
 * stream's through a thread of the session that reads its frames. The
 * stream does all the work (filters, snapshot, resume, grill-stats' or
 * grilld's protocol); the proxy adds nothing and keeps nothing.
 *
 * An SSE request is relayed byte for byte: the stream's own answer
 * (status, headers, CORS, events), until either side goes; a client that
 * left is noticed at the next write, within stream.heartbeat.
 *
 * Each session holds one of civetweb's api.threads workers for its
 * life, which is why there are at most api.ws_proxy_max of them and
 * never more than api.threads - 2: REST requests keep their workers. A
 * WebSocket past the limit is closed; an SSE request past it gets the
 * 307 to grilld-stream (route_stream.c), which EventSource follows.
 * docs/compatibility.md has the figures.
 */
#include <civetweb.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "log.h"

#define HANDSHAKE_MAX	4096
#define FRAME_MAX	(4 * 1024 * 1024)
#define CONNECT_MS	2000

struct session {
	struct mg_connection	*conn;
	int			 fd;		/* to grilld-stream */
	pthread_t		 reader;
	bool			 reading;
	_Atomic bool		 closing;
};

static atomic_int	 sessions;
static const char	*subprotocols[] = { "grilld.v1", NULL };
static struct mg_websocket_subprotocols subs = { 1, subprotocols };

/* host:port of grilld-stream; a wildcard listen address means loopback. */
static void
upstream(const struct grilld_conf *cf, char *host, size_t hlen, int *port)
{
	const char *u = cf->api.stream_upstream != NULL &&
	    cf->api.stream_upstream[0] != '\0' ? cf->api.stream_upstream :
	    cf->stream.listen;

	*port = 0;
	if (util_split_hostport(u, host, hlen, port) == -1 || host[0] == '\0' ||
	    strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
	    strcmp(host, "*") == 0)
		util_strlcpy(host, "127.0.0.1", hlen);
}

static int
dial(const char *host, int port)
{
	struct addrinfo hints, *res, *ai;
	char ps[16];
	int fd = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(ps, sizeof(ps), "%d", port);
	if (getaddrinfo(host, ps, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
write_all(int fd, const void *p, size_t len)
{
	const char *s = p;

	while (len > 0) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes; -1 on EOF or error. */
static int
read_all(int fd, void *p, size_t len)
{
	char *s = p;

	while (len > 0) {
		ssize_t n = recv(fd, s, len, 0);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The handshake with grilld-stream, as the client asked it: 0 once it
 * answered 101, else -1 with its status (or 502) in *status.
 */
static int
handshake(int fd, const struct mg_request_info *ri, const char *proto,
    const char *auth, int *status)
{
	char req[HANDSHAKE_MAX], resp[HANDSHAKE_MAX];
	size_t got = 0;
	int n;

	n = snprintf(req, sizeof(req), "GET %s%s%s HTTP/1.1\r\nHost: grilld\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n%s%s%s%s%s%s\r\n",
	    ri->local_uri_raw, ri->query_string ? "?" : "",
	    ri->query_string ? ri->query_string : "",
	    proto ? "Sec-WebSocket-Protocol: " : "", proto ? proto : "",
	    proto ? "\r\n" : "", auth ? "Authorization: " : "",
	    auth ? auth : "", auth ? "\r\n" : "");
	*status = 502;
	if (n <= 0 || (size_t)n >= sizeof(req) || strpbrk(req + 4, "\n") ==
	    NULL || write_all(fd, req, (size_t)n) == -1)
		return -1;
	/* Byte by byte up to the blank line: what follows is frames. */
	while (got + 1 < sizeof(resp)) {
		if (recv(fd, resp + got, 1, 0) != 1)
			return -1;
		got++;
		if (got >= 4 && memcmp(resp + got - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	resp[got] = '\0';
	if (sscanf(resp, "HTTP/1.1 %d", status) != 1)
		*status = 502;
	return *status == 101 ? 0 : -1;
}

/* The stream's frames (unmasked, server to client) to the client. */
static void *
reader(void *arg)
{
	struct session *s = arg;
	unsigned char h[8];
	char *msg = NULL;
	uint64_t len;
	int op;

	while (!atomic_load(&s->closing)) {
		if (read_all(s->fd, h, 2) == -1)
			break;
		op = h[0] & 0x0f;
		len = h[1] & 0x7f;
		if (len == 126) {
			if (read_all(s->fd, h, 2) == -1)
				break;
			len = (uint64_t)h[0] << 8 | h[1];
		} else if (len == 127) {
			if (read_all(s->fd, h, 8) == -1)
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | h[i];
		}
		if (len > FRAME_MAX || (msg = malloc(len + 1)) == NULL ||
		    read_all(s->fd, msg, (size_t)len) == -1)
			break;
		if (op == MG_WEBSOCKET_OPCODE_PING) {
			/* The stream's own ping: answered here, masked. */
			unsigned char pong[6 + 125] = { 0x8a, 0x80 };

			if (len <= 125) {
				pong[1] = (unsigned char)(0x80 | len);
				memcpy(pong + 6, msg, (size_t)len);
				write_all(s->fd, pong, 6 + (size_t)len);
			}
		} else if (op != MG_WEBSOCKET_OPCODE_PONG &&
		    (mg_websocket_write(s->conn, op, msg, (size_t)len) <= 0 ||
		    op == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE))
			break;
		free(msg);
		msg = NULL;
	}
	free(msg);
	/* The stream went away: end the client's session too. */
	if (!atomic_load(&s->closing))
		mg_websocket_write(s->conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE,
		    "\x03\xe9", 2);		/* 1001 going away */
	return NULL;
}

/* A session within api.ws_proxy_max and api.threads - 2, or false. */
static bool
session_take(const struct api *a)
{
	long long max = a->cf->api.ws_proxy_max;

	if (max > a->cf->api.threads - 2)
		max = a->cf->api.threads - 2;
	if (atomic_fetch_add(&sessions, 1) >= max) {
		atomic_fetch_sub(&sessions, 1);
		log_info("stream proxy: %lld sessions (api.ws_proxy_max, at "
		    "most api.threads - 2): refused", max);
		return false;
	}
	return true;
}

/* A refused WebSocket is told by the close of its connection. */
static int
on_connect(const struct mg_connection *c, void *arg)
{
	return session_take(arg) ? 0 : 1;
}

static void
on_ready(struct mg_connection *c, void *arg)
{
	struct api *a = arg;
	const struct mg_request_info *ri = mg_get_request_info(c);
	struct session *s;
	char host[256];
	int port, status;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto fail;
	s->conn = c;
	s->fd = -1;
	mg_set_user_connection_data(c, s);
	upstream(a->cf, host, sizeof(host), &port);
	if ((s->fd = dial(host, port)) == -1) {
		log_warnx("ws proxy: cannot reach grilld-stream at %s:%d",
		    host, port);
		goto fail;
	}
	if (handshake(s->fd, ri, ri->acceptedWebSocketSubprotocol,
	    mg_get_header(c, "Authorization"), &status) == -1) {
		log_warnx("ws proxy: grilld-stream answered %d", status);
		goto fail;
	}
	if (pthread_create(&s->reader, NULL, reader, s) != 0)
		goto fail;
	s->reading = true;
	return;
fail:
	mg_websocket_write(c, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE,
	    "\x03\xf3", 2);	/* 1011: the stream is not available */
}

/* A message of the client's, masked again for the stream. */
static int
on_data(struct mg_connection *c, int bits, char *data, size_t len,
    void *arg)
{
	struct session *s = mg_get_user_connection_data(c);
	unsigned char h[14];
	size_t hl = 2;
	int op = bits & 0x0f;

	if (s == NULL || s->fd == -1)
		return 0;
	if (op == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
		return 0;
	if (op == MG_WEBSOCKET_OPCODE_PONG)
		return 1;
	h[0] = (unsigned char)(0x80 | op);
	if (len < 126)
		h[1] = (unsigned char)(0x80 | len);
	else if (len <= 0xffff) {
		h[1] = 0x80 | 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	memset(h + hl, 0, 4);	/* a zero mask: the payload as it is */
	hl += 4;
	if (write_all(s->fd, h, hl) == -1 || write_all(s->fd, data, len) == -1)
		return 0;
	return 1;
}

static void
on_close(const struct mg_connection *c, void *arg)
{
	struct session *s = mg_get_user_connection_data(c);

	if (s != NULL) {
		atomic_store(&s->closing, true);
		if (s->fd != -1)
			shutdown(s->fd, SHUT_RDWR);
		if (s->reading)
			pthread_join(s->reader, NULL);
		if (s->fd != -1)
			close(s->fd);
		free(s);
	}
	atomic_fetch_sub(&sessions, 1);
}

/* The live page's files, which the API relays too (the page then
 * reads /api/devices from the same origin). */
bool
api_page_path(const char *path)
{
	return strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 ||
	    strcmp(path, "/app.js") == 0 || strcmp(path, "/style.css") == 0 ||
	    strncmp(path, "/vendor/", 8) == 0;
}

/*
 * A GET relayed to grilld-stream (an SSE route, the page): 0 once
 * answered (the stream's answer, whatever it was), -1 when it could not
 * be (HEAD, no session left, the stream unreachable): the caller
 * redirects or answers itself.
 */
int
api_sse_proxy(struct req *r)
{
	const struct mg_request_info *ri = r->ri;
	const char *lei = mg_get_header(r->conn, "Last-Event-ID");
	const char *auth = mg_get_header(r->conn, "Authorization");
	const char *origin = mg_get_header(r->conn, "Origin");
	char host[256], req[HANDSHAKE_MAX], data[16384];
	int fd, port, n, status = 0;
	bool head = true;

	if (r->head || !session_take(r->api))
		return -1;
	upstream(r->api->cf, host, sizeof(host), &port);
	if ((fd = dial(host, port)) == -1) {
		atomic_fetch_sub(&sessions, 1);
		return -1;
	}
	n = snprintf(req, sizeof(req), "GET %s%s%s HTTP/1.1\r\nHost: grilld\r\n"
	    "Connection: close\r\n%s%s%s%s%s%s%s%s%s\r\n",
	    ri->local_uri_raw, ri->query_string ? "?" : "",
	    ri->query_string ? ri->query_string : "",
	    lei ? "Last-Event-ID: " : "", lei ? lei : "", lei ? "\r\n" : "",
	    auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "",
	    origin ? "Origin: " : "", origin ? origin : "", origin ? "\r\n" : "");
	if (n <= 0 || (size_t)n >= sizeof(req) ||
	    write_all(fd, req, (size_t)n) == -1) {
		close(fd);
		atomic_fetch_sub(&sessions, 1);
		return -1;
	}
	for (;;) {
		ssize_t got = recv(fd, data, sizeof(data), 0);

		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (head) {
			head = false;
			if (sscanf(data, "HTTP/1.1 %d", &status) != 1)
				status = 502;
		}
		if (mg_write(r->conn, data, (size_t)got) <= 0)
			break;
	}
	close(fd);
	atomic_fetch_sub(&sessions, 1);
	r->status = status ? status : 502;
	if (status == 0)
		mg_printf(r->conn, "HTTP/1.1 502 Bad Gateway\r\nContent-Type: "
		    "application/json\r\nContent-Length: 95\r\nConnection: "
		    "close\r\n\r\n{\"status\":\"error\",\"message\":\"grilld-"
		    "stream closed the stream\",\"code\":502,\"reason\":\"BAD_GATEWAY\"}\n");
	return 0;
}

void
api_ws_proxy_register(struct api *a)
{
	mg_set_websocket_handler_with_subprotocols(a->ctx,
	    "/api/temperature/ws$", &subs, on_connect, on_ready, on_data,
	    on_close, a);
	mg_set_websocket_handler_with_subprotocols(a->ctx,
	    "/api/temperature/ws/*", &subs, on_connect, on_ready, on_data,
	    on_close, a);
}

int
api_ws_proxy_sessions(void)
{
	return atomic_load(&sessions);
}
