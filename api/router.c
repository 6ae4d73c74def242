/*
 * router: every request of the API comes through api_dispatch().
 *
 * The raw path (civetweb runs with decode_url=no) is split into
 * segments, each decoded strictly: an invalid escape, a NUL, a control
 * character, invalid UTF-8 or a "." or ".." segment is a 400, never a
 * path that means something else once decoded. The segments are matched
 * against the route table: no route is a 404, a route without the method
 * a 405 with Allow. Then, in order: CORS preflight, authentication
 * (checked first so that the rate limit knows whose bucket to take from,
 * enforced after it so that guessing keys costs tokens), the rate limit,
 * the query parameters the route knows, and the handler.
 *
 * Around it all: a server span (traceparent accepted or created and
 * returned), and the request counter and latency histogram of the route.
 */
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "breaker.h"
#include "log.h"
#include "metrics.h"

#define SEG_ANY	"{}"
#define SMUGGLE_DRAIN_MAX	(64 * 1024)

/*
 * The routes. civetweb's own /metrics, /health/live and /health/ready
 * (common/admin.c) are registered before this table's catch-all. Keep
 * docs in openapi.c in step with it (the integration test checks).
 */
static const struct route routes[] = {
	{ "current", "/api/temperature/current/{}", M_GET, AUTH_READ,
	  api_route_current, NULL, NULL, NULL, "probe_id,unit", true },
	{ "history", "/api/temperature/history/{}", M_GET, AUTH_READ,
	  api_route_history, NULL, NULL, NULL,
	  "probe_id,start_time,end_time,aggregation,interval,limit,offset,"
	  "cursor,order,unit", true },
	{ "stats", "/api/temperature/stats/{}", M_GET, AUTH_READ,
	  api_route_stats, NULL, NULL, NULL,
	  "probe_id,start_time,end_time,low,high,unit", true },
	{ "export", "/api/temperature/export/{}", M_GET, AUTH_READ,
	  api_route_export, NULL, NULL, NULL,
	  "probe_id,start_time,end_time,format,unit", false },
	{ "batch", "/api/temperature/batch", M_POST, AUTH_WRITE,
	  NULL, api_route_batch, NULL, NULL, "partial", true },
	{ "threshold_alerts", "/api/temperature/alerts/{}", M_GET, AUTH_READ,
	  api_route_threshold, NULL, NULL, NULL,
	  "probe_id,start_time,end_time,threshold_high,threshold_low,unit,"
	  "limit,offset", true },
	{ "stream", "/api/temperature/stream", M_GET, AUTH_READ,
	  api_route_stream, NULL, NULL, NULL, "", true },
	{ "stream", "/api/temperature/stream/{}", M_GET, AUTH_READ,
	  api_route_stream, NULL, NULL, NULL, "probe_id", true },
	{ "ws", "/api/temperature/ws/{}", M_GET, AUTH_READ,
	  api_route_stream, NULL, NULL, NULL, "probe_id", true },
	{ "health", "/api/temperature/health", M_GET, AUTH_NONE,
	  api_route_health, NULL, NULL, NULL, "", true },
	{ "health", "/health", M_GET, AUTH_NONE,
	  api_route_health, NULL, NULL, NULL, "", true },
	{ "devices", "/api/devices", M_GET, AUTH_READ,
	  api_route_devices, NULL, NULL, NULL, "unit", false },
	{ "device_health", "/api/devices/{}/health", M_GET, AUTH_READ,
	  api_route_device_health, NULL, NULL, NULL, "", true },
	{ "device", "/api/devices/{}", M_GET, AUTH_READ,
	  api_route_device, NULL, NULL, NULL, "unit", false },
	{ "alerts", "/api/alerts", M_GET, AUTH_READ,
	  api_route_alert_history, NULL, NULL, NULL,
	  "device_id,limit,cursor", false },
	{ "rules", "/api/alerts/rules", M_GET | M_POST, AUTH_READ,
	  api_route_rules_list, api_route_rule_create, NULL, NULL, "", false },
	{ "rule", "/api/alerts/rules/{}", M_GET | M_PUT | M_DELETE,
	  AUTH_READ, api_route_rule_get, NULL, api_route_rule_put,
	  api_route_rule_delete, "", false },
	{ "rule_acknowledge", "/api/alerts/rules/{}/acknowledge", M_POST,
	  AUTH_WRITE, NULL, api_route_rule_ack, NULL, NULL, "", false },
	{ "rule_snooze", "/api/alerts/rules/{}/snooze", M_POST, AUTH_WRITE,
	  NULL, api_route_rule_snooze, NULL, NULL, "", false },
	{ "openapi", "/openapi.json", M_GET, AUTH_NONE,
	  api_route_openapi, NULL, NULL, NULL, "", false },
};
#define NROUTES	ARRAY_LEN(routes)

/* Each route's pattern, split, and its cached metric series. */
struct route_state {
	char			 pat[128];
	char			*seg[API_SEGS_MAX];
	int			 nseg;
	struct metric_series	*duration;
	_Atomic(struct metric_series *) count[API_STATUS_SLOTS];
};
static struct route_state	 state[NROUTES];
static struct route_state	 unmatched;
static struct metric		*m_requests, *m_duration;

static struct route_state *
route_state_of(const struct route *rt)
{
	if (rt == NULL)
		return &unmatched;
	return &state[rt - routes];
}

int
api_router_init(struct api *a)
{
	m_requests = metric_counter("grilld_api_requests_total",
	    "HTTP requests answered, by route and status.", "route,status");
	m_duration = metric_histogram("grilld_api_request_duration_seconds",
	    "Time to answer a request, by route.", "route",
	    metric_latency_bounds, metric_latency_nbounds);
	if (m_requests == NULL || m_duration == NULL)
		return -1;
	for (size_t i = 0; i < NROUTES; i++) {
		struct route_state *st = &state[i];
		char *p, *s;

		util_strlcpy(st->pat, routes[i].pattern, sizeof(st->pat));
		for (p = st->pat + 1; (s = strsep(&p, "/")) != NULL;)
			st->seg[st->nseg++] = s;
		st->duration = metric_with(m_duration, routes[i].name);
	}
	unmatched.duration = metric_with(m_duration, "unmatched");
	return 0;
}

/* Counts one answered request. */
void
api_count(const struct route *rt, int status, int64_t ns)
{
	struct route_state *st = route_state_of(rt);
	struct metric_series *s;
	char code[8];
	int slot = status - 100;

	if (slot < 0 || slot >= API_STATUS_SLOTS)
		slot = 0;
	if ((s = atomic_load_explicit(&st->count[slot],
	    memory_order_acquire)) == NULL) {
		snprintf(code, sizeof(code), "%d", status);
		s = metric_with(m_requests, rt ? rt->name : "unmatched", code);
		atomic_store_explicit(&st->count[slot], s,
		    memory_order_release);
	}
	metric_inc(s);
	metric_observe(st->duration, (double)ns / 1e9);
}


/*
 * Splits a raw path into decoded segments in out. Empty segments (a
 * trailing slash, "//") are skipped. Returns the number of segments,
 * -1 for a path that is not acceptable (err says why), -2 for one with
 * more segments than any route.
 */
int
api_path_split(const char *raw, char *out, size_t outlen, char **seg,
    int *nseg, char *err, size_t errlen)
{
	const char *p = raw;
	size_t o = 0;

	*nseg = 0;
	if (raw == NULL || *raw != '/') {
		snprintf(err, errlen, "the path must start with /");
		return -1;
	}
	while (*p != '\0') {
		size_t start;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		if (*nseg == API_SEGS_MAX)
			return -2;
		start = o;
		for (; *p != '\0' && *p != '/'; p++) {
			int c = (unsigned char)*p, hi, lo;

			if (c == '%') {
				if ((hi = util_hexval(p[1])) == -1 ||
				    (lo = util_hexval(p[2])) == -1) {
					snprintf(err, errlen, "invalid percent "
					    "escape in the path");
					return -1;
				}
				c = hi << 4 | lo;
				p += 2;
			}
			if (c < 0x20 || c == 0x7f) {
				snprintf(err, errlen, "control character or "
				    "NUL in the path");
				return -1;
			}
			if (o + 2 >= outlen) {
				snprintf(err, errlen, "path too long");
				return -1;
			}
			out[o++] = (char)c;
		}
		out[o++] = '\0';
		if (!util_utf8_valid(out + start, o - start - 1)) {
			snprintf(err, errlen, "the path is not valid UTF-8");
			return -1;
		}
		if (strcmp(out + start, ".") == 0 ||
		    strcmp(out + start, "..") == 0) {
			snprintf(err, errlen, "dot segments are not allowed "
			    "in the path");
			return -1;
		}
		seg[(*nseg)++] = out + start;
	}
	return *nseg;
}

/*
 * The route for these segments; *arg is its {} segment. NULL when no
 * route has this path. *methods is the methods of the route.
 */
const struct route *
api_route_match(char *const *seg, int nseg, const char **arg,
    unsigned *methods)
{
	for (size_t i = 0; i < NROUTES; i++) {
		const struct route_state *st = &state[i];
		const char *any = NULL;
		int j;

		if (st->nseg != nseg)
			continue;
		for (j = 0; j < nseg; j++) {
			if (strcmp(st->seg[j], SEG_ANY) == 0)
				any = seg[j];
			else if (strcmp(st->seg[j], seg[j]) != 0)
				break;
		}
		if (j == nseg) {
			*arg = any;
			*methods = routes[i].methods;
			return &routes[i];
		}
	}
	return NULL;
}

static route_fn
route_handler(const struct route *rt, const char *method)
{
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return rt->get;
	if (strcmp(method, "POST") == 0)
		return rt->post;
	if (strcmp(method, "PUT") == 0)
		return rt->put;
	if (strcmp(method, "DELETE") == 0)
		return rt->del;
	return NULL;
}

static void
req_trace(struct req *r)
{
	const char *tp = mg_get_header(r->conn, "traceparent");
	struct trace_ctx parent;
	char name[160];

	snprintf(name, sizeof(name), "%s %s", r->method,
	    r->route ? r->route->pattern : "unmatched");
	if (tp != NULL && trace_parse(tp, &parent) == 0)
		r->span = span_start(name, &parent, SPAN_KIND_SERVER);
	else
		r->span = span_start(name, NULL, SPAN_KIND_SERVER);
	if (r->span != NULL)
		trace_format(span_ctx(r->span), r->traceparent,
		    sizeof(r->traceparent));
	span_set_str(r->span, "http.method", r->method);
	span_set_str(r->span, "http.route", r->route ? r->route->pattern :
	    "unmatched");
}

static void
req_finish(struct req *r)
{
	int64_t ns = util_mono_ns() - r->t0;

	if (r->status == 0)
		api_error(r, 500, "INTERNAL", "the request was not answered");
	api_count(r->route, r->status, ns);
	span_set_int(r->span, "http.status_code", r->status);
	if (r->status >= 500)
		span_set_error(r->span, "server error");
	span_end(r->span);
	r->span = NULL;
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("%s %s %s %d %.3f ms", r->client, r->method,
		    r->ri->local_uri_raw ? r->ri->local_uri_raw : "-",
		    r->status, (double)ns / 1e6);
}

/*
 * Request smuggling: a body whose length two readers can see two ways.
 * More than one Content-Length (civetweb reads one, a proxy in front
 * may have read another), Content-Length together with
 * Transfer-Encoding (civetweb reads the chunks, a proxy may read the
 * length), or Transfer-Encoding given twice: the rest of the body would
 * be taken for the next request. RFC 9112 6.1 and 6.3: refused with
 * 400 and the connection closed. NULL when the framing is clear.
 */
static const char *
smuggling(const struct mg_request_info *ri)
{
	int cl = 0, te = 0;

	for (int i = 0; i < ri->num_headers && i < MG_MAX_HEADERS; i++) {
		if (strcasecmp(ri->http_headers[i].name, "Content-Length") == 0)
			cl++;
		else if (strcasecmp(ri->http_headers[i].name,
		    "Transfer-Encoding") == 0)
			te++;
	}
	if (cl > 1)
		return "Content-Length given more than once";
	if (te > 1)
		return "Transfer-Encoding given more than once";
	if (cl > 0 && te > 0)
		return "Content-Length and Transfer-Encoding together";
	return NULL;
}

/*
 * Reads and drops what the client sent after a request refused with
 * Connection: close, up to SMUGGLE_DRAIN_MAX bytes: closing a socket
 * with unread bytes sends a reset, which can destroy the answer before
 * the client reads it.
 */
static void
drain(struct mg_connection *c)
{
	char tmp[4096];
	size_t total = 0;
	int n;

	while (total < SMUGGLE_DRAIN_MAX &&
	    (n = mg_read(c, tmp, sizeof(tmp))) > 0)
		total += (size_t)n;
}

/* Every value of a header, joined by commas (RFC 9110 5.3). */
static void
header_all(const struct mg_request_info *ri, const char *name, struct buf *b)
{
	for (int i = 0; i < ri->num_headers && i < MG_MAX_HEADERS; i++)
		if (strcasecmp(ri->http_headers[i].name, name) == 0)
			buf_printf(b, "%s%s", b->len ? "," : "",
			    ri->http_headers[i].value);
}

/*
 * Who the client is: the peer, or behind a trusted proxy the address it
 * forwarded (common/netaddr.h). Limits and keyless writes use it.
 */
static void
client_addr(struct req *r)
{
	struct buf fw, xff;

	buf_init(&fw);
	buf_init(&xff);
	header_all(r->ri, "Forwarded", &fw);
	header_all(r->ri, "X-Forwarded-For", &xff);
	r->forwarded = fw.len > 0 || xff.len > 0;
	r->proxied = netaddr_in(&r->api->proxies, r->ri->remote_addr);
	netaddr_client(&r->api->proxies, r->ri->remote_addr, fw.data,
	    xff.data, r->client, sizeof(r->client));
	buf_free(&fw);
	buf_free(&xff);
}

/* Answers civetweb's request: everything in the file comment. */
int
api_dispatch(struct mg_connection *c, void *arg)
{
	struct req r;
	const char *origin;
	char err[128];
	const char *why;
	unsigned methods = 0;
	uint64_t who = 0;
	route_fn fn;
	int n;
	enum auth_verdict auth;

	memset(&r, 0, sizeof(r));
	r.api = arg;
	r.conn = c;
	r.ri = mg_get_request_info(c);
	r.t0 = util_mono_ns();
	r.method = r.ri->request_method;
	r.head = strcmp(r.method, "HEAD") == 0;
	client_addr(&r);
	n = api_path_split(r.ri->local_uri_raw, r.path, sizeof(r.path), r.seg,
	    &r.nseg, err, sizeof(err));
	if (n >= 0)
		r.route = api_route_match(r.seg, r.nseg, &r.arg, &methods);
	req_trace(&r);
	if ((origin = mg_get_header(c, "Origin")) != NULL &&
	    api_cors_allowed(r.api->cf->api.cors_origins, origin))
		r.origin = origin;

	if (r.ri->num_headers >= MG_MAX_HEADERS) {
		/* civetweb keeps 64 and drops the rest unseen: refuse it all. */
		api_error(&r, 431, "TOO_MANY_HEADERS", "at most %d request "
		    "headers are read", MG_MAX_HEADERS - 1);
		goto done;
	}
	if ((why = smuggling(r.ri)) != NULL) {
		mg_disable_connection_keep_alive(c);
		r.close = true;
		api_error(&r, 400, "BAD_REQUEST", "%s: the body's length is "
		    "not clear", why);
		drain(c);
		goto done;
	}
	if (n == -1) {
		api_error_details(&r, 400, "INVALID_PATH",
		    cJSON_CreateString(r.ri->local_uri_raw), "%s", err);
		goto done;
	}
	/* The live page, relayed from grilld-stream (ws_proxy.c). */
	if (r.route == NULL && strcmp(r.method, "GET") == 0 &&
	    api_page_path(r.ri->local_uri_raw) && api_sse_proxy(&r) == 0)
		goto done;
	if (r.route == NULL) {
		api_error(&r, 404, "NOT_FOUND", "no route for %s %s; "
		    "/openapi.json lists them", r.method, r.ri->local_uri_raw);
		goto done;
	}
	if (strcmp(r.method, "OPTIONS") == 0) {
		api_cors_preflight(&r, methods);
		goto done;
	}
	if ((fn = route_handler(r.route, r.method)) == NULL) {
		api_error(&r, 405, "METHOD_NOT_ALLOWED",
		    "%s is not allowed on %s", r.method, r.route->pattern);
		goto done;
	}
	/* A valid key picks the bucket; otherwise the address does. */
	auth = api_auth_check(&r, r.route->auth, &who);
	if (who == 0)
		who = api_auth_hash(r.client, strlen(r.client)) | 1;
	if (r.api->cf->api.rate > 0) {
		int64_t wait_ms = 0;

		if (!ratelimit_take(r.api->rl, who, r.api->cf->api.rate,
		    (double)r.api->cf->api.burst, &wait_ms)) {
			r.dep_retry_ms = wait_ms;
			api_error(&r, 429, "RATE_LIMITED", "too many requests: "
			    "at most %g a second (bursts of %lld); retry after "
			    "the Retry-After seconds", r.api->cf->api.rate,
			    (long long)r.api->cf->api.burst);
			goto done;
		}
	}
	if (auth != AUTH_OK) {
		api_auth_deny(&r, auth);
		goto done;
	}
	if (api_params_parse(&r.params, r.ri->query_string, r.route->seed,
	    err, sizeof(err)) == -1) {
		api_error_details(&r, 400, "INVALID_PARAMETER", NULL, "%s",
		    err);
		goto done;
	}
	if (api_params_check(&r, r.route->params) == -1)
		goto done;
	if (r.arg != NULL && !api_id_valid(r.arg)) {
		api_error_param(&r, "path", "the id must be 1 to %d bytes "
		    "without control characters", API_ID_MAX - 1);
		goto done;
	}
	fn(&r);
done:
	req_finish(&r);
	return r.status;
}
