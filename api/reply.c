/*
 * reply: how the API answers: whole bodies (headers and body in one
 * write), chunked streams for exports, and request bodies read within a
 * limit.
 *
 * Every answer carries the request's traceparent, the CORS headers its
 * origin earns, and Cache-Control: no-store. A HEAD request gets the
 * headers of the GET without the body.
 */
#include <civetweb.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "api.h"

void
api_common_headers(struct req *r, struct buf *h)
{
	buf_puts(h, "Cache-Control: no-store\r\n");
	if (r->traceparent[0] != '\0')
		buf_printf(h, "traceparent: %s\r\n", r->traceparent);
	api_cors_headers(r, h);
}

int
api_reply(struct req *r, int status, const char *type, const char *body,
    size_t len, const char *extra)
{
	struct buf out;

	if (r->status != 0)
		return -1;	/* answered already: a bug, keep the first */
	r->status = status;
	buf_init(&out);
	buf_printf(&out, "HTTP/1.1 %d %s\r\n", status,
	    admin_status_text(status));
	if (status == 204)
		len = 0;	/* no body, and no Content-Length (RFC 9110) */
	else
		buf_printf(&out, "Content-Type: %s\r\nContent-Length: %zu\r\n",
		    type, len);
	api_common_headers(r, &out);
	if (r->close)
		buf_puts(&out, "Connection: close\r\n");
	if (extra != NULL)
		buf_puts(&out, extra);
	buf_puts(&out, "\r\n");
	if (!r->head && len > 0)
		buf_append(&out, body, len);
	if (out.data == NULL) {
		/* Out of memory: the shortest answer that is still true. */
		mg_printf(r->conn, "HTTP/1.1 500 Internal Server Error\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n");
		r->status = 500;
		return -1;
	}
	mg_write(r->conn, out.data, out.len);
	buf_free(&out);
	return 0;
}

int
api_reply_json(struct req *r, int status, const struct buf *b)
{
	if (b->data == NULL)
		return api_error(r, 500, "INTERNAL", "out of memory");
	return api_reply(r, status, "application/json", b->data, b->len, NULL);
}

int
api_reply_cjson(struct req *r, int status, const cJSON *o)
{
	char *s;
	int rc;

	if (o == NULL || (s = cJSON_PrintUnformatted(o)) == NULL)
		return api_error(r, 500, "INTERNAL", "out of memory");
	rc = api_reply(r, status, "application/json", s, strlen(s), NULL);
	cJSON_free(s);
	return rc;
}

/*
 * {"status": "success", "data": data, ...the members of extra}. Takes
 * both objects (either may be NULL: data is then null).
 */
int
api_reply_success(struct req *r, int status, cJSON *data, cJSON *extra)
{
	cJSON *o, *it;
	int rc;

	if ((o = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(data);
		cJSON_Delete(extra);
		return api_error(r, 500, "INTERNAL", "out of memory");
	}
	cJSON_AddStringToObject(o, "status", "success");
	if (data == NULL)
		data = cJSON_CreateNull();
	cJSON_AddItemToObject(o, "data", data);
	while (extra != NULL && (it = extra->child) != NULL) {
		cJSON_DetachItemViaPointer(extra, it);
		cJSON_AddItemToObject(o, it->string, it);
	}
	cJSON_Delete(extra);
	rc = api_reply_cjson(r, status, o);
	cJSON_Delete(o);
	return rc;
}

/* 200 with a body of unknown length, sent in chunks. */
int
api_chunked_start(struct req *r, const char *type, const char *extra)
{
	struct buf h;

	if (r->status != 0)
		return -1;
	r->status = 200;
	buf_init(&h);
	buf_printf(&h, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
	    "Transfer-Encoding: chunked\r\n", type);
	api_common_headers(r, &h);
	if (extra != NULL)
		buf_puts(&h, extra);
	buf_puts(&h, "\r\n");
	if (h.data == NULL || mg_write(r->conn, h.data, h.len) <= 0) {
		buf_free(&h);
		return -1;
	}
	buf_free(&h);
	return 0;
}

/* -1 when the client went away: stop producing. */
int
api_chunk(struct req *r, const void *data, size_t len)
{
	if (r->head || len == 0)
		return 0;
	if (mg_send_chunk(r->conn, data, (unsigned)len) <= 0)
		return -1;
	return 0;
}

/*
 * Ends a chunked answer that failed midway: what follows cannot be read
 * as a chunk, so the client reports a broken transfer (and closes the
 * connection) instead of taking a cut answer for a whole one.
 */
void
api_chunked_abort(struct req *r)
{
	static const char broken[] = "\r\n!aborted\r\n";

	if (!r->head)
		mg_write(r->conn, broken, sizeof(broken) - 1);
}

int
api_chunked_end(struct req *r)
{
	if (r->head)
		return 0;
	return mg_send_chunk(r->conn, "", 0) < 0 ? -1 : 0;
}

/* 408, and the connection closed: the rest of the body is not read. */
static int
body_late(struct req *r, const char *what)
{
	mg_disable_connection_keep_alive(r->conn);
	return api_error(r, 408, "REQUEST_TIMEOUT", "%s", what);
}

/*
 * Reads the request body into b, at most max bytes. Answers 413 (and
 * returns -1) for a longer one, whether it says so in Content-Length or
 * only by being long, and 400 for one cut short. A body dribbled in
 * (slowloris) is cut off with 408 once it has taken api.request_timeout
 * in all (deadline.c), or once a piece has not come within
 * api.io_timeout.
 */
int
api_read_body(struct req *r, struct buf *b, int64_t max)
{
	const struct grilld_conf *cf = r->api->cf;
	long long want = r->ri->content_length;
	int64_t start = util_mono_ms(), last = start;
	char chunk[16384];
	int n, rc = 0;

	if (want > max)
		return api_error(r, 413, "PAYLOAD_TOO_LARGE", "the body is "
		    "%lld bytes; at most %lld are accepted (api.max_body)",
		    want, (long long)max);
	api_deadline_arm(r->ri, cf->api.request_timeout);
	while ((n = mg_read(r->conn, chunk, sizeof(chunk))) > 0) {
		if ((int64_t)(b->len + (size_t)n) > max) {
			rc = api_error(r, 413, "PAYLOAD_TOO_LARGE", "the body "
			    "is longer than the %lld bytes accepted "
			    "(api.max_body)", (long long)max);
			goto out;
		}
		if (buf_append(b, chunk, (size_t)n) == -1) {
			rc = api_error(r, 500, "INTERNAL", "out of memory");
			goto out;
		}
		last = util_mono_ms();
		if (want >= 0 && (long long)b->len == want)
			break;
	}
	if (n < 0 || (want >= 0 && (long long)b->len != want)) {
		/* Interrupted at the deadline, silent, or gone. */
		if (util_mono_ms() - start >= cf->api.request_timeout)
			rc = body_late(r, "the body took longer than "
			    "api.request_timeout to arrive");
		else if (util_mono_ms() - last >= cf->api.io_timeout)
			rc = body_late(r, "the rest of the body did not come "
			    "within api.io_timeout");
		else
			rc = api_error(r, 400, "INCOMPLETE_BODY", "the body "
			    "ended before its Content-Length");
	}
out:
	api_deadline_disarm();
	return rc;
}
