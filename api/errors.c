/*
 * errors: every error the API answers, in the original's shape
 *
 *	{"status": "error", "message": "...", "code": 404,
 *	 "reason": "MACHINE_CODE", "details": ... or null}
 *
 * code is the HTTP status as an integer, as grill-stats' FastAPI handler
 * sends it; grilld's machine-readable reason and details are additions.
 * Request body validation on grill-stats' routes answers FastAPI's own 422
 * {"detail": [...]} instead (api_error_validation).
 *
 * with the headers its status calls for: WWW-Authenticate on 401, Allow
 * on 405, Retry-After on 429 and on a 503 that knows when to come back.
 * api_http_error() is civetweb's http_error callback, so that even what
 * civetweb refuses before any handler runs (a malformed request line,
 * oversized headers, an unsupported HTTP version) is answered in JSON
 * rather than with the library's HTML page.
 */
#include <civetweb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "api.h"
#include "log.h"

void
api_error_body(struct buf *b, int status, const char *code, const char *msg,
    const cJSON *details)
{
	char *d = NULL;

	buf_puts(b, "{\"status\":\"error\",\"message\":\"");
	buf_json_escape(b, msg);
	buf_printf(b, "\",\"code\":%d,\"reason\":\"", status);
	buf_json_escape(b, code);
	buf_puts(b, "\",\"details\":");
	if (details != NULL && (d = cJSON_PrintUnformatted(details)) != NULL)
		buf_puts(b, d);
	else
		buf_puts(b, "null");
	buf_puts(b, "}\n");
	cJSON_free(d);
}

static void
allow_header(const struct req *r, struct buf *h)
{
	unsigned m = r->route ? r->route->methods : M_GET;

	buf_puts(h, "Allow: ");
	api_methods_list(h, m);
	buf_puts(h, "\r\n");
}

int
api_error_details(struct req *r, int status, const char *code,
    cJSON *details, const char *fmt, ...)
{
	struct buf b, h;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_init(&b);
	buf_init(&h);
	api_error_body(&b, status, code, msg, details);
	cJSON_Delete(details);
	switch (status) {
	case 401:
		buf_puts(&h, "WWW-Authenticate: Bearer realm=\"grilld\"\r\n");
		break;
	case 405:
		allow_header(r, &h);
		break;
	case 429:
	case 503:
		if (r->dep_retry_ms > 0 || status == 429)
			buf_printf(&h, "Retry-After: %lld\r\n",
			    (long long)(r->dep_retry_ms + 999) / 1000 +
			    (r->dep_retry_ms <= 0));
		break;
	}
	if (status >= 500)
		span_set_error(r->span, msg);
	api_reply(r, status, "application/json", b.data ? b.data : "", b.len,
	    h.data);
	buf_free(&b);
	buf_free(&h);
	return -1;
}

int
api_error(struct req *r, int status, const char *code, const char *fmt,
    ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return api_error_details(r, status, code, NULL, "%s", msg);
}

/*
 * FastAPI's request validation answer, 422 {"detail": [{loc, msg,
 * type}, ...]}, which grill-stats' clients know; status, message and code
 * are added in grilld's shape. Takes detail.
 */
int
api_error_validation(struct req *r, cJSON *detail, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || detail == NULL) {
		cJSON_Delete(o);
		cJSON_Delete(detail);
		return api_error(r, 500, "INTERNAL", "out of memory");
	}
	cJSON_AddItemToObject(o, "detail", detail);
	cJSON_AddStringToObject(o, "status", "error");
	cJSON_AddStringToObject(o, "message", msg);
	cJSON_AddNumberToObject(o, "code", 422);
	cJSON_AddStringToObject(o, "reason", "VALIDATION_ERROR");
	api_reply_cjson(r, 422, o);
	cJSON_Delete(o);
	return -1;
}

/* One item of a FastAPI detail list; loc is "body" then the path. */
cJSON *
api_validation_item(cJSON *list, const char *msg, const char *type,
    int index, const char *field)
{
	cJSON *it = cJSON_CreateObject(), *loc = cJSON_CreateArray();

	cJSON_AddItemToArray(loc, cJSON_CreateString("body"));
	if (index >= 0) {
		cJSON_AddItemToArray(loc, cJSON_CreateString("readings"));
		cJSON_AddItemToArray(loc, cJSON_CreateNumber(index));
	}
	if (field != NULL && *field != '\0')
		cJSON_AddItemToArray(loc, cJSON_CreateString(field));
	cJSON_AddItemToObject(it, "loc", loc);
	cJSON_AddStringToObject(it, "msg", msg);
	cJSON_AddStringToObject(it, "type", type);
	cJSON_AddItemToArray(list, it);
	return list;
}

/* 400 naming the parameter, its value and what is wrong with it. */
int
api_error_param(struct req *r, const char *name, const char *fmt, ...)
{
	const char *value = api_param(r, name);
	char why[384];
	cJSON *d;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if ((d = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(d, "parameter", name);
		if (value != NULL)
			cJSON_AddStringToObject(d, "value", value);
		else if (strcmp(name, "path") == 0 && r->arg != NULL)
			cJSON_AddStringToObject(d, "value", r->arg);
		cJSON_AddStringToObject(d, "reason", why);
	}
	return api_error_details(r, 400, "INVALID_PARAMETER", d, "%s: %s",
	    name, why);
}

/* Remembers why a dependency failed, for api_error_dep(). */
void
api_dep_fail(struct req *r, int status, const char *code, int64_t retry_ms,
    const char *fmt, ...)
{
	va_list ap;

	r->dep_status = status;
	util_strlcpy(r->dep_code, code, sizeof(r->dep_code));
	r->dep_retry_ms = retry_ms;
	va_start(ap, fmt);
	vsnprintf(r->dep_msg, sizeof(r->dep_msg), fmt, ap);
	va_end(ap);
}

int
api_error_dep(struct req *r)
{
	if (r->dep_status == 0)
		api_dep_fail(r, 503, "UNAVAILABLE", 1000,
		    "a dependency is unavailable");
	return api_error(r, r->dep_status, r->dep_code, "%s", r->dep_msg);
}

/*
 * When this worker began to wait for the headers of its connection's
 * next request: civetweb calls api_conn_start() when it takes a new
 * connection and api_request_end() after each request, on the worker
 * that serves the connection.
 */
static __thread int64_t wait_since_ms;
static int64_t header_wait_ms;		/* the shorter of the two waits */

void
api_http_timeouts(const struct grilld_conf *cf)
{
	header_wait_ms = cf->api.io_timeout;
	if (cf->api.keep_alive > 0 && cf->api.keep_alive < header_wait_ms)
		header_wait_ms = cf->api.keep_alive;
}

int
api_conn_start(const struct mg_connection *c, void **data)
{
	wait_since_ms = util_mono_ms();
	return 0;
}

void
api_request_end(const struct mg_connection *c, int status)
{
	wait_since_ms = util_mono_ms();
}

/*
 * civetweb's http_error callback: errors civetweb finds itself. The
 * connection is closed afterwards, since what it sent may not have been
 * read to its end.
 */
int
api_http_error(struct mg_connection *c, int status, const char *errmsg)
{
	struct buf b;
	const char *code;

	/*
	 * civetweb calls both a request with a control character in its
	 * headers and one whose headers stopped coming "Malformed": the
	 * second has waited out its time-out (slowloris), and is late.
	 */
	if (status == 400 && errmsg != NULL &&
	    strcmp(errmsg, "Malformed message") == 0 && wait_since_ms > 0 &&
	    util_mono_ms() - wait_since_ms >= header_wait_ms / 2) {
		status = 408;
		errmsg = "the request headers did not arrive in time "
		    "(api.io_timeout)";
	}
	switch (status) {
	case 400: code = "BAD_REQUEST"; break;
	case 408: code = "REQUEST_TIMEOUT"; break;
	case 404: code = "NOT_FOUND"; break;
	case 405: code = "METHOD_NOT_ALLOWED"; break;
	case 411: code = "LENGTH_REQUIRED"; break;
	case 413: code = "PAYLOAD_TOO_LARGE"; break;
	case 414: code = "URI_TOO_LONG"; break;
	case 431: code = "HEADERS_TOO_LARGE"; break;
	case 505: code = "HTTP_VERSION_NOT_SUPPORTED"; break;
	default: code = status >= 500 ? "INTERNAL" : "BAD_REQUEST"; break;
	}
	buf_init(&b);
	api_error_body(&b, status, code, errmsg ? errmsg : admin_status_text(status),
	    NULL);
	mg_printf(c, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "Connection: close\r\n\r\n", status, admin_status_text(status),
	    b.len);
	if (b.len > 0)
		mg_write(c, b.data, b.len);
	buf_free(&b);
	api_count(NULL, status, 0);
	return 0;
}
