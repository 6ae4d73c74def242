#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "version.h"

struct admin {
	struct mg_context	*ctx;
};

struct ready_cb {
	admin_ready_fn	 fn;
	void		*arg;
};

const char *
admin_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 411: return "Length Required";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

int
admin_send(struct mg_connection *c, int status, const char *type,
    const char *body, size_t len, const char *extra_headers)
{
	char length[48] = "";

	/* A 204 has no body and no Content-Length (RFC 9110, 8.6). */
	if (status == 204)
		len = 0;
	else
		snprintf(length, sizeof(length), "Content-Length: %zu\r\n",
		    len);
	mg_printf(c, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "%s"
	    "Cache-Control: no-store\r\n"
	    "%s"
	    "\r\n", status, admin_status_text(status), type, length,
	    extra_headers ? extra_headers : "");
	if (len > 0 && strcmp(mg_get_request_info(c)->request_method, "HEAD"))
		mg_write(c, body, len);
	return status;
}

int
admin_send_error(struct mg_connection *c, int status, const char *code,
    const char *message)
{
	struct buf b;
	int rc;

	buf_init(&b);
	buf_puts(&b, "{\"status\":\"error\",\"code\":\"");
	buf_json_escape(&b, code);
	buf_puts(&b, "\",\"message\":\"");
	buf_json_escape(&b, message);
	buf_puts(&b, "\"}\n");
	rc = admin_send(c, status, "application/json", b.data ? b.data : "",
	    b.len, status == 405 ? "Allow: GET, HEAD\r\n" : NULL);
	buf_free(&b);
	return rc;
}

static bool
admin_method_ok(struct mg_connection *c)
{
	const char *m = mg_get_request_info(c)->request_method;

	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
		return true;
	admin_send_error(c, 405, "METHOD_NOT_ALLOWED",
	    "this endpoint answers GET and HEAD");
	return false;
}

static int
admin_metrics(struct mg_connection *c, void *arg)
{
	struct buf b;

	if (!admin_method_ok(c))
		return 405;
	buf_init(&b);
	if (metric_render(&b) == -1) {
		buf_free(&b);
		return admin_send_error(c, 500, "INTERNAL",
		    "out of memory rendering metrics");
	}
	admin_send(c, 200, "text/plain; version=0.0.4; charset=utf-8",
	    b.data ? b.data : "", b.len, NULL);
	buf_free(&b);
	return 200;
}

static int
admin_live(struct mg_connection *c, void *arg)
{
	int64_t age = daemon_heartbeat_age_ms();
	char body[160];
	int n, status = age < DAEMON_STALL_MS ? 200 : 503;

	if (!admin_method_ok(c))
		return 405;
	n = snprintf(body, sizeof(body), "{\"status\":\"%s\",\"loop_age_ms\":"
	    "%lld}\n", status == 200 ? "ok" : "stalled", (long long)age);
	return admin_send(c, status, "application/json", body, (size_t)n,
	    NULL);
}

static int
admin_ready(struct mg_connection *c, void *arg)
{
	struct ready_cb *rc = arg;
	bool ready = !daemon_stopping();
	struct buf why, body;
	int status;

	if (!admin_method_ok(c))
		return 405;
	buf_init(&why);
	buf_init(&body);
	if (ready && rc->fn != NULL)
		ready = rc->fn(rc->arg, &why);
	else if (!ready)
		buf_puts(&why, "\"reason\":\"shutting down\"");
	status = ready ? 200 : 503;
	buf_printf(&body, "{\"status\":\"%s\"%s%s}\n",
	    ready ? "ready" : "not_ready", why.len ? "," : "",
	    why.data ? why.data : "");
	admin_send(c, status, "application/json", body.data ? body.data : "",
	    body.len, NULL);
	buf_free(&why);
	buf_free(&body);
	return status;
}

static int
admin_log(const struct mg_connection *c, const char *msg)
{
	log_debug("http: %s", msg);
	return 1;
}

struct mg_context *
admin_mg_start(const char **options, char *err, size_t errlen)
{
	struct mg_callbacks cb;
	struct mg_init_data init;
	struct mg_error_data e;
	struct mg_context *ctx;
	char text[256] = "";

	memset(&cb, 0, sizeof(cb));
	cb.log_message = admin_log;
	memset(&init, 0, sizeof(init));
	init.callbacks = &cb;
	init.configuration_options = options;
	memset(&e, 0, sizeof(e));
	e.text = text;
	e.text_buffer_size = sizeof(text);
	if ((ctx = mg_start2(&init, &e)) == NULL)
		snprintf(err, errlen, "%s", text[0] ? text : "cannot start");
	return ctx;
}

void
admin_register(struct mg_context *ctx, admin_ready_fn fn, void *arg)
{
	static struct ready_cb cbs[4];
	static int ncbs;
	struct ready_cb *rc;

	/* One registration per server; a daemon has at most a few. */
	if (ncbs == (int)ARRAY_LEN(cbs))
		return;
	rc = &cbs[ncbs++];
	rc->fn = fn;
	rc->arg = arg;
	mg_set_request_handler(ctx, "/metrics$", admin_metrics, NULL);
	mg_set_request_handler(ctx, "/health/live$", admin_live, NULL);
	mg_set_request_handler(ctx, "/health/ready$", admin_ready, rc);
}

static int
admin_notfound(struct mg_connection *c, void *arg)
{
	return admin_send_error(c, 404, "NOT_FOUND",
	    "this admin server answers /metrics, /health/live and "
	    "/health/ready");
}

struct admin *
admin_start(const char *listen, admin_ready_fn fn, void *arg, char *err,
    size_t errlen)
{
	const char *opts[] = { "listening_ports", listen, "num_threads", "4",
		"request_timeout_ms", "10000", "enable_keep_alive", "yes",
		NULL };
	struct admin *a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((a->ctx = admin_mg_start(opts, err, errlen)) == NULL) {
		free(a);
		return NULL;
	}
	/* civetweb takes the first handler whose pattern matches. */
	admin_register(a->ctx, fn, arg);
	mg_set_request_handler(a->ctx, "/", admin_notfound, NULL);
	return a;
}

void
admin_stop(struct admin *a)
{
	if (a == NULL)
		return;
	mg_stop(a->ctx);
	free(a);
}
