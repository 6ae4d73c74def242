/*
 * request: what every handler needs from one request (its body, its
 * query, its bearer token), and the error bodies of Google's services,
 * each in the shape the real one sends:
 *
 *   Firestore, Secure Token, any Google API
 *     {"error": {"code": 401, "message": "...", "status": "UNAUTHENTICATED"}}
 *   Identity Toolkit (sign-in)
 *     {"error": {"code": 400, "message": "INVALID_PASSWORD",
 *                "errors": [{"message": "INVALID_PASSWORD",
 *                            "domain": "global", "reason": "invalid"}],
 *                "status": "INVALID_ARGUMENT"}}
 *   a wrong API key (every service)
 *     400 {"error": {"code": 400, "message": "API key not valid. Please
 *          pass a valid API key.", "errors": [...], "status":
 *          "INVALID_ARGUMENT", "details": [{"@type": "type.googleapis.com/
 *          google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", ...}]}}
 *   Firebase Storage
 *     {"error": {"code": 404, "message": "Not Found."}}
 */
#include <civetweb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "twsim.h"

#define UNAUTHENTICATED_MSG "Request had invalid authentication " \
	"credentials. Expected OAuth 2 access token, login cookie or other " \
	"valid authentication credential. See https://developers.google." \
	"com/identity/sign-in/web/devconsole-project."
#define API_KEY_MSG "API key not valid. Please pass a valid API key."

/* The google.rpc.Code name Google's APIs put beside an HTTP status. */
const char *
req_status_name(int status)
{
	switch (status) {
	case 400: return "INVALID_ARGUMENT";
	case 401: return "UNAUTHENTICATED";
	case 403: return "PERMISSION_DENIED";
	case 404: return "NOT_FOUND";
	case 405: return "INVALID_ARGUMENT";
	case 409: return "ABORTED";
	case 411: return "INVALID_ARGUMENT";
	case 413: return "INVALID_ARGUMENT";
	case 429: return "RESOURCE_EXHAUSTED";
	case 501: return "UNIMPLEMENTED";
	case 503: return "UNAVAILABLE";
	case 504: return "DEADLINE_EXCEEDED";
	default: return status >= 500 ? "INTERNAL" : "UNKNOWN";
	}
}

void
req_header(struct tw_req *r, const char *fmt, ...)
{
	size_t used = strlen(r->headers);
	va_list ap;

	if (used >= sizeof(r->headers))
		return;
	va_start(ap, fmt);
	vsnprintf(r->headers + used, sizeof(r->headers) - used, fmt, ap);
	va_end(ap);
}

/* Starts an answer: the status and an empty body to write. */
static void
answer(struct tw_req *r, int status, struct jw *j)
{
	r->status = status;
	buf_reset(&r->out);
	jw_init(j, &r->out, r->pretty);
}

int
req_google_error(struct tw_req *r, int status, const char *grpc,
    const char *message)
{
	struct jw j;

	answer(r, status, &j);
	jw_obj(&j);
	jw_key(&j, "error");
	jw_obj(&j);
	jw_kint(&j, "code", status);
	jw_kstr(&j, "message", message);
	jw_kstr(&j, "status", grpc ? grpc : req_status_name(status));
	jw_obj_end(&j);
	jw_obj_end(&j);
	jw_end(&j);
	if (status == 401)
		req_header(r, "WWW-Authenticate: Bearer realm=\"https://"
		    "accounts.google.com/\"\r\n");
	return status;
}

static void
errors_array(struct jw *j, const char *message, const char *reason)
{
	jw_key(j, "errors");
	jw_arr(j);
	jw_obj(j);
	jw_kstr(j, "message", message);
	jw_kstr(j, "domain", "global");
	jw_kstr(j, "reason", reason);
	jw_obj_end(j);
	jw_arr_end(j);
}

/* Identity Toolkit's 400 with a machine code as the message. */
int
req_auth_error(struct tw_req *r, const char *message)
{
	struct jw j;

	answer(r, 400, &j);
	jw_obj(&j);
	jw_key(&j, "error");
	jw_obj(&j);
	jw_kint(&j, "code", 400);
	jw_kstr(&j, "message", message);
	errors_array(&j, message, "invalid");
	jw_kstr(&j, "status", "INVALID_ARGUMENT");
	jw_obj_end(&j);
	jw_obj_end(&j);
	jw_end(&j);
	return 400;
}

/* A wrong API key, as every Google service answers it. */
int
req_key_error(struct tw_req *r, const char *service)
{
	struct jw j;

	answer(r, 400, &j);
	jw_obj(&j);
	jw_key(&j, "error");
	jw_obj(&j);
	jw_kint(&j, "code", 400);
	jw_kstr(&j, "message", API_KEY_MSG);
	errors_array(&j, API_KEY_MSG, "badRequest");
	jw_kstr(&j, "status", "INVALID_ARGUMENT");
	jw_key(&j, "details");
	jw_arr(&j);
	jw_obj(&j);
	jw_kstr(&j, "@type", "type.googleapis.com/google.rpc.ErrorInfo");
	jw_kstr(&j, "reason", "API_KEY_INVALID");
	jw_kstr(&j, "domain", "googleapis.com");
	jw_key(&j, "metadata");
	jw_obj(&j);
	jw_kstr(&j, "service", service);
	jw_obj_end(&j);
	jw_obj_end(&j);
	jw_arr_end(&j);
	jw_obj_end(&j);
	jw_obj_end(&j);
	jw_end(&j);
	return 400;
}

int
req_storage_error(struct tw_req *r, int status, const char *message)
{
	struct jw j;

	answer(r, status, &j);
	jw_obj(&j);
	jw_key(&j, "error");
	jw_obj(&j);
	jw_kint(&j, "code", status);
	jw_kstr(&j, "message", message);
	jw_obj_end(&j);
	jw_obj_end(&j);
	jw_end(&j);
	return status;
}

/* Fills dst with a decoded query parameter; false when absent. */
bool
req_query(const struct tw_req *r, const char *name, char *dst, size_t len)
{
	return mg_get_var(r->query, strlen(r->query), name, dst, len) >= 0;
}

/*
 * Checks ?key= where the service requires one (sign-in, refresh): 0, or
 * -1 with the answer set (403 without a key, 400 with a wrong one).
 */
int
req_key_required(struct tw_req *r, const char *service)
{
	char key[256];

	if (!req_query(r, "key", key, sizeof(key)) || key[0] == '\0') {
		req_google_error(r, 403, "PERMISSION_DENIED", "Method doesn't "
		    "allow unregistered callers (callers without established "
		    "identity). Please use API Key or other form of API "
		    "consumer identity to call this API.");
		return -1;
	}
	if (!scenario_key_ok(r->w, key)) {
		req_key_error(r, service);
		return -1;
	}
	return 0;
}

/*
 * Checks the bearer token ("Bearer" or, for Storage, "Firebase") and a
 * ?key= when one is sent. 0 with r->account set, or -1 with the answer
 * set (401 for a missing, bad, expired or revoked token).
 */
int
req_bearer(struct tw_req *r)
{
	const char *h = mg_get_header(r->conn, "Authorization"), *why;
	char key[256];

	if (req_query(r, "key", key, sizeof(key)) &&
	    !scenario_key_ok(r->w, key)) {
		req_key_error(r, r->ep == EP_STORAGE ?
		    "firebasestorage.googleapis.com" :
		    "firestore.googleapis.com");
		return -1;
	}
	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0)
		h += 7;
	else if (h != NULL && strncasecmp(h, "Firebase ", 9) == 0)
		h += 9;
	else
		h = NULL;
	while (h != NULL && *h == ' ')
		h++;
	if (h == NULL || *h == '\0' ||
	    token_id_check(r->w, h, r->now_ms, &r->account, &why) == -1) {
		req_google_error(r, 401, "UNAUTHENTICATED", UNAUTHENTICATED_MSG);
		return -1;
	}
	return 0;
}

/*
 * Reads the body into r->body (NUL-terminated). 0, or -1 with the
 * answer set: 413 past TW_MAX_BODY (the connection is then closed, not
 * drained), 411 for a POST with neither a length nor chunks.
 */
int
req_read_body(struct tw_req *r)
{
	const struct mg_request_info *ri = mg_get_request_info(r->conn);
	const char *te = mg_get_header(r->conn, "Transfer-Encoding");
	char chunk[8192];
	int n;

	if (ri->content_length > TW_MAX_BODY) {
		mg_disable_connection_keep_alive(r->conn);
		req_google_error(r, 413, NULL, "Request payload size exceeds "
		    "the limit: 1048576 bytes.");
		return -1;
	}
	if (ri->content_length < 0 && (te == NULL ||
	    strcasecmp(te, "chunked") != 0)) {
		if (strcmp(r->method, "POST") != 0)
			return buf_puts(&r->body, "");
		mg_disable_connection_keep_alive(r->conn);
		req_google_error(r, 411, NULL, "Length Required: a POST needs "
		    "a Content-Length or chunked encoding.");
		return -1;
	}
	buf_reset(&r->body);
	while ((n = mg_read(r->conn, chunk, sizeof(chunk))) > 0) {
		if (r->body.len + (size_t)n > TW_MAX_BODY) {
			mg_disable_connection_keep_alive(r->conn);
			req_google_error(r, 413, NULL, "Request payload size "
			    "exceeds the limit: 1048576 bytes.");
			return -1;
		}
		if (buf_append(&r->body, chunk, (size_t)n) == -1) {
			req_google_error(r, 500, NULL, "Internal error "
			    "encountered.");
			return -1;
		}
	}
	return buf_puts(&r->body, "") == -1 ? -1 : 0;
}

/* A method the route does not take. */
int
req_method_error(struct tw_req *r, const char *allow)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "Method %s is not allowed here; use %s.",
	    r->method, allow);
	req_header(r, "Allow: %s\r\n", allow);
	return req_google_error(r, 405, NULL, msg);
}

/* An invalid JSON body, as Google words it. */
int
req_json_error(struct tw_req *r, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "Invalid JSON payload received. %s", what);
	return req_google_error(r, 400, "INVALID_ARGUMENT", msg);
}
