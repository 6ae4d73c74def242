/*
 * grilld-stream's HTTP request parser and query helpers (stream/http.c):
 * what a browser sends, what a proxy sends, and what nobody should.
 */
#include <stdio.h>
#include <string.h>

#include "../../stream/stream.h"
#include "unit.h"

static int
parse(const char *text, struct http_req *r, int *status)
{
	static char buf[STREAM_REQ_MAX + 64];

	util_strlcpy(buf, text, sizeof(buf));
	return http_parse(buf, strlen(buf), r, status);
}

static void
test_browser_request(void)
{
	struct http_req r;
	int status;

	CHECK_INT(parse("GET /api/temperature/stream/dev%201?devices=a,b&x "
	    "HTTP/1.1\r\nHost: h\r\nLast-Event-ID:  17-2 \r\n"
	    "Connection: keep-alive, Upgrade\r\n\r\nleftover", &r, &status), 1);
	CHECK_STR(r.method, "GET");
	CHECK_STR(r.path, "/api/temperature/stream/dev 1");
	CHECK_STR(r.query, "devices=a,b&x");
	CHECK_STR(http_header(&r, "last-event-id"), "17-2");
	CHECK(http_header_has(&r, "Connection", "upgrade"));
	CHECK(!http_header_has(&r, "Connection", "close"));
	CHECK(r.keepalive);
	CHECK_INT(r.len, 127);	/* up to the blank line, not "leftover" */
}

static void
test_incomplete_and_versions(void)
{
	struct http_req r;
	int status;

	CHECK_INT(parse("GET / HTTP/1.1\r\nHost: x\r\n", &r, &status), 0);
	CHECK_INT(parse("GET / HTTP/1.0\r\n\r\n", &r, &status), 1);
	CHECK(!r.keepalive);
	CHECK_INT(parse("GET / HTTP/2.0\r\n\r\n", &r, &status), -1);
	CHECK_INT(status, 505);
	CHECK_INT(parse("GET / FTP/1.1\r\n\r\n", &r, &status), -1);
	CHECK_INT(status, 400);
}

/* A request that comes in pieces (a slow link, a proxy, slowloris). */
static void
test_request_in_pieces(void)
{
	static const char whole[] = "GET /api/temperature/stream/d1 HTTP/1.1"
	    "\r\nHost: h\r\nLast-Event-ID: 17-2\r\n\r\n";
	static char buf[STREAM_REQ_MAX + 64];
	struct http_req r;
	int status;
	size_t n;

	/* Fed a byte more at a time, as the server does, on one buffer. */
	for (n = 1; n < sizeof(whole) - 1; n++) {
		memcpy(buf, whole, n);
		if (http_parse(buf, n, &r, &status) != 0)
			break;
	}
	CHECK_INT(n, sizeof(whole) - 1);
	memcpy(buf, whole, n);
	CHECK_INT(http_parse(buf, n, &r, &status), 1);
	CHECK_STR(r.path, "/api/temperature/stream/d1");
	CHECK_STR(http_header(&r, "Last-Event-ID"), "17-2");

	/* Found by 08-hostile-stream: the same buffer, parsed twice. */
	util_strlcpy(buf, "GET / HTTP/1.1\r\nHost: x\r\n", sizeof(buf));
	CHECK_INT(http_parse(buf, strlen(buf), &r, &status), 0);
	util_strlcpy(buf + strlen(buf), "Connection: close\r\n\r\n",
	    sizeof(buf) - strlen(buf));
	CHECK_INT(http_parse(buf, strlen(buf), &r, &status), 1);
	CHECK(!r.keepalive);

	/* A header too long, whatever the pieces: 431, not 414. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX: ");
	memset(buf + n, 'b', 100);
	CHECK_INT(http_parse(buf, n + 100, &r, &status), 0);
	memset(buf + n, 'b', STREAM_REQ_MAX);
	CHECK_INT(http_parse(buf, STREAM_REQ_MAX, &r, &status), -1);
	CHECK_INT(status, 431);
}

static void
test_malformed(void)
{
	static const char *const bad[] = {
		"GET\r\n\r\n",
		"GET  / HTTP/1.1\r\n\r\n",
		"GET nope HTTP/1.1\r\n\r\n",
		"G(T / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nNo colon\r\n\r\n",
		"GET / HTTP/1.1\r\n: empty name\r\n\r\n",
		"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
		"GET /a/../etc HTTP/1.1\r\n\r\n",
		"GET /a/%2e%2e/etc HTTP/1.1\r\n\r\n",
		"GET /%00 HTTP/1.1\r\n\r\n",
		"GET /%zz HTTP/1.1\r\n\r\n",
		"GET /%4 HTTP/1.1\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
		"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	struct http_req r;
	int status;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		if (parse(bad[i], &r, &status) != -1)
			unit_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
		CHECK(status >= 400 && status < 600);
	}
}

static void
test_limits(void)
{
	static char big[STREAM_REQ_MAX + 64];
	struct http_req r;
	int status;
	size_t n;

	n = (size_t)snprintf(big, sizeof(big), "GET /");
	memset(big + n, 'a', STREAM_REQ_MAX);
	big[STREAM_REQ_MAX] = '\0';
	CHECK_INT(http_parse(big, STREAM_REQ_MAX, &r, &status), -1);
	CHECK_INT(status, 414);
	n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_HDRS_MAX + 1; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X-%d: y\r\n", i);
	snprintf(big + n, sizeof(big) - n, "\r\n");
	CHECK_INT(parse(big, &r, &status), -1);
	CHECK_INT(status, 431);
	n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: ");
	memset(big + n, 'b', STREAM_REQ_MAX);
	CHECK_INT(http_parse(big, STREAM_REQ_MAX, &r, &status), -1);
	CHECK_INT(status, 431);
}

static void
test_query(void)
{
	char v[16];

	CHECK_INT(http_query("a=1&devices=x%2Cy&b", "devices", v, sizeof(v)), 0);
	CHECK_STR(v, "x,y");
	CHECK_INT(http_query("a=1&b", "b", v, sizeof(v)), 0);
	CHECK_STR(v, "");
	CHECK_INT(http_query("ab=1", "a", v, sizeof(v)), -1);
	CHECK_INT(http_query("", "a", v, sizeof(v)), -1);
	CHECK_INT(http_query("a=%zz", "a", v, sizeof(v)), -2);
	CHECK_INT(http_query("a=0123456789abcdefg", "a", v, sizeof(v)), -2);
	CHECK_INT(http_query("a=x+y", "a", v, sizeof(v)), 0);
	CHECK_STR(v, "x y");
}

static void
test_responses(void)
{
	struct buf b;

	buf_init(&b);
	CHECK_INT(http_error(&b, 429, "TOO_MANY", "a \"quote\"",
	    "Retry-After: 5\r\n", false), 0);
	CHECK(strncmp(b.data, "HTTP/1.1 429 Too Many Requests\r\n", 32) == 0);
	CHECK(strstr(b.data, "Retry-After: 5\r\n") != NULL);
	CHECK(strstr(b.data, "{\"status\":\"error\",\"code\":\"TOO_MANY\","
	    "\"message\":\"a \\\"quote\\\"\"}\n") != NULL);
	buf_reset(&b);
	CHECK_INT(http_response(&b, 200, "text/plain", "body", 4, NULL, true), 0);
	CHECK(strstr(b.data, "Content-Length: 4\r\n\r\n") != NULL);
	CHECK(strstr(b.data, "body") == NULL);	/* HEAD */
	buf_free(&b);
}

int
main(void)
{
	UNIT_RUN(test_browser_request);
	UNIT_RUN(test_incomplete_and_versions);
	UNIT_RUN(test_request_in_pieces);
	UNIT_RUN(test_malformed);
	UNIT_RUN(test_limits);
	UNIT_RUN(test_query);
	UNIT_RUN(test_responses);
	return unit_done();
}
