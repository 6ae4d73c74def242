/*
 * serve: the simulator's public server, routing and answering.
 *
 * One civetweb server on twsim.listen takes every path (auth_url,
 * token_url, firestore_url and storage_url all point at it). A request
 * is routed to an endpoint first, so that the fault rules can be scoped
 * by endpoint and device; then the faults decide (delay, drop, an error
 * status, or drift); then the handler renders its answer into a buffer,
 * which may be spoilt (malformed, truncated) and goes out in one write
 * with its headers. Every answer is JSON.
 *
 * Nothing here blocks but the injected delays; every document is
 * computed from the world on the worker thread that asks for it.
 */
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "twsim.h"

#define SIGNIN_PATH	"/v1/accounts:signInWithPassword"
#define TOKEN_PATH	"/v1/token"
#define CONFIG_PREFIX	"/v1alpha/projects/-/apps/"
#define CONFIG_SUFFIX	"/webConfig"

static const char *const endpoint_names[EP_COUNT] = {
	"signin", "token", "config", "user", "query", "device", "channel",
	"archive", "storage", "other",
};

static const int counted[] = TW_STATUSES;

static struct metric *requests_metric, *latency_metric;
static _Atomic(struct metric_series *) request_series[EP_COUNT][TW_NSTATUS];
static struct metric_series *latency_series[EP_COUNT];

const char *
serve_endpoint_name(enum tw_endpoint ep)
{
	return ep < EP_COUNT ? endpoint_names[ep] : "?";
}

int
serve_endpoint_parse(const char *s, enum tw_endpoint *ep)
{
	for (int i = 0; i < EP_COUNT; i++)
		if (strcmp(s, endpoint_names[i]) == 0) {
			*ep = (enum tw_endpoint)i;
			return 0;
		}
	return -1;
}

/* The slot of a status in the counters; the last one is "other". */
int
serve_status_slot(int status)
{
	for (size_t i = 0; i < ARRAY_LEN(counted); i++)
		if (counted[i] == status)
			return (int)i;
	return TW_NSTATUS - 1;
}

/* Counts a request; status 0 is a connection dropped on purpose. */
void
serve_count(struct tw_world *w, enum tw_endpoint ep, int status)
{
	int slot = serve_status_slot(status);
	struct metric_series *s;
	char label[8];

	atomic_fetch_add(&w->stats.requests[ep][slot], 1);
	if ((s = atomic_load(&request_series[ep][slot])) == NULL) {
		if (slot == TW_NSTATUS - 1)
			util_strlcpy(label, "other", sizeof(label));
		else
			snprintf(label, sizeof(label), "%d", status);
		s = metric_with(requests_metric, endpoint_names[ep], label);
		atomic_store(&request_series[ep][slot], s);
	}
	metric_inc(s);
}

static const char *
status_text(int status)
{
	return status == 411 ? "Length Required" : admin_status_text(status);
}

/* Finds the endpoint of a request; handler NULL: not ours (404). */
static int (*route(struct tw_req *r))(struct tw_req *)
{
	size_t plen = strlen(CONFIG_PREFIX), slen = strlen(CONFIG_SUFFIX);
	size_t len = strlen(r->path);

	r->ep = EP_OTHER;
	if (strcmp(r->path, SIGNIN_PATH) == 0) {
		r->ep = EP_SIGNIN;
		return auth_signin;
	}
	if (strcmp(r->path, TOKEN_PATH) == 0) {
		r->ep = EP_TOKEN;
		return auth_token;
	}
	if (strncmp(r->path, CONFIG_PREFIX, plen) == 0 && len > plen + slen &&
	    strcmp(r->path + len - slen, CONFIG_SUFFIX) == 0 &&
	    len - plen - slen < sizeof(r->arg)) {
		r->ep = EP_CONFIG;
		memcpy(r->arg, r->path + plen, len - plen - slen);
		r->arg[len - plen - slen] = '\0';
		if (strchr(r->arg, '/') == NULL)
			return auth_webconfig;
		r->ep = EP_OTHER;
		return NULL;
	}
	if (firestore_route(r) == 0)
		return firestore_documents;
	if (storage_route(r) == 0)
		return storage_get;
	return NULL;
}

static int
unknown(struct tw_req *r)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "The requested URL %.200s was not found on "
	    "this server.", r->path);
	return req_google_error(r, 404, "NOT_FOUND", msg);
}

static void
fault_answer(struct tw_req *r, const struct fault_decision *fd)
{
	static const char *const messages[] = {
		[429 - 400] = "Quota exceeded for quota metric 'Read "
		    "requests' and limit 'Read requests per minute'.",
	};
	const char *msg = NULL;

	if (fd->status >= 400 && fd->status < 500 &&
	    (size_t)(fd->status - 400) < ARRAY_LEN(messages))
		msg = messages[fd->status - 400];
	if (msg == NULL)
		msg = fd->status == 503 ? "The service is currently unavailable." :
		    fd->status == 504 ? "Deadline exceeded." :
		    fd->status >= 500 ? "Internal error encountered." :
		    "The request was refused.";
	if (r->ep == EP_STORAGE)
		req_storage_error(r, fd->status, msg);
	else
		req_google_error(r, fd->status, NULL, msg);
	if (fd->retry_after > 0)
		req_header(r, "Retry-After: %d\r\n", fd->retry_after);
}

static void
send_answer(struct tw_req *r)
{
	struct buf b;

	buf_init(&b);
	if (buf_printf(&b, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: private\r\n"
	    "Vary: Origin, X-Origin, Referer\r\n"
	    "Server: ESF\r\n"
	    "%s\r\n", r->status, status_text(r->status),
	    r->media ? "text/json" : "application/json; charset=UTF-8",
	    r->out.len, r->headers) == -1 ||
	    buf_append(&b, r->out.data ? r->out.data : "", r->out.len) == -1) {
		mg_disable_connection_keep_alive(r->conn);
	} else
		mg_write(r->conn, b.data, b.len);
	buf_free(&b);
}

static int
serve_handle(struct mg_connection *conn, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	int (*handler)(struct tw_req *);
	struct fault_decision fd;
	struct tw_req r;
	char pretty[8];
	int64_t start = util_mono_ns();

	memset(&r, 0, sizeof(r));
	r.conn = conn;
	r.w = arg;
	r.method = ri->request_method;
	r.path = ri->local_uri ? ri->local_uri : "/";
	r.query = ri->query_string ? ri->query_string : "";
	r.now_ms = util_now_ns() / NS_PER_MS;
	r.pretty = !(req_query(&r, "prettyPrint", pretty, sizeof(pretty)) &&
	    strcmp(pretty, "false") == 0);
	buf_init(&r.body);
	buf_init(&r.out);

	handler = route(&r);
	fault_decide(r.w->faults, r.ep, r.serial, &fd);
	if (fd.delay_ms > 0)
		daemon_sleep(fd.delay_ms);
	switch (fd.action) {
	case FAULT_DROP:
		mg_disable_connection_keep_alive(conn);
		r.status = 0;
		break;
	case FAULT_STATUS:
		fault_answer(&r, &fd);
		break;
	case FAULT_TOO_MANY:
		req_auth_error(&r, "TOO_MANY_ATTEMPTS_TRY_LATER : Access to "
		    "this account has been temporarily disabled due to many "
		    "failed login attempts. You can immediately restore it by "
		    "resetting your password or you can try again later.");
		break;
	default:
		r.drift = fd.drift;
		if (handler != NULL)
			handler(&r);
		else
			unknown(&r);
		fault_apply_body(&fd, &r.out);
		break;
	}
	if (r.status != 0)
		send_answer(&r);
	serve_count(r.w, r.ep, r.status);
	metric_observe(latency_series[r.ep],
	    (double)(util_mono_ns() - start) / 1e9);
	log_debug("%s %s%s%s -> %d", r.method, r.path, *r.query ? "?" : "",
	    r.query, r.status);
	buf_free(&r.body);
	buf_free(&r.out);
	/* A dropped connection answered nothing: 444, as nginx logs it. */
	return r.status != 0 ? r.status : 444;
}

/* Errors civetweb answers itself (a malformed request): JSON too. */
static int
serve_error(struct mg_connection *conn, int status, const char *msg)
{
	char body[512];
	int n;

	n = snprintf(body, sizeof(body), "{\"error\":{\"code\":%d,\"message\":"
	    "\"%s\",\"status\":\"%s\"}}\n", status, status_text(status),
	    req_status_name(status));
	mg_printf(conn, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json; charset=UTF-8\r\n"
	    "Content-Length: %d\r\n"
	    "Connection: close\r\n\r\n", status, status_text(status), n);
	mg_write(conn, body, (size_t)n);
	log_debug("refused a malformed request: %d %s", status, msg);
	return 0;
}

static int
serve_log(const struct mg_connection *conn, const char *msg)
{
	log_debug("http: %s", msg);
	return 1;
}

struct mg_context *
serve_start(struct tw_world *w, const char *listen, int threads, char *err,
    size_t errlen)
{
	struct mg_callbacks cb;
	struct mg_init_data init;
	struct mg_error_data e;
	char text[256] = "";
	char nthreads[16];
	const char *opts[] = { "listening_ports", listen,
		"num_threads", nthreads,
		"request_timeout_ms", "60000",
		"keep_alive_timeout_ms", "30000",
		"enable_keep_alive", "yes",
		"tcp_nodelay", "1",
		"listen_backlog", "1024",
		"connection_queue", "1024",
		NULL };
	struct mg_context *ctx;

	snprintf(nthreads, sizeof(nthreads), "%d", threads);
	requests_metric = metric_counter("twsim_requests_total",
	    "Requests the simulator answered, by endpoint and status "
	    "(0: dropped on purpose).", "endpoint,status");
	latency_metric = metric_histogram("twsim_request_duration_seconds",
	    "Time to answer a request, injected delays included.", "endpoint",
	    metric_latency_bounds, metric_latency_nbounds);
	for (int i = 0; i < EP_COUNT; i++)
		latency_series[i] = metric_with(latency_metric,
		    endpoint_names[i]);
	memset(&cb, 0, sizeof(cb));
	cb.log_message = serve_log;
	cb.http_error = serve_error;
	memset(&init, 0, sizeof(init));
	init.callbacks = &cb;
	init.configuration_options = opts;
	memset(&e, 0, sizeof(e));
	e.text = text;
	e.text_buffer_size = sizeof(text);
	if ((ctx = mg_start2(&init, &e)) == NULL) {
		snprintf(err, errlen, "%s", text[0] ? text : "cannot start");
		return NULL;
	}
	mg_set_request_handler(ctx, "/", serve_handle, w);
	return ctx;
}
