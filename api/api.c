/*
 * grilld-api: the REST API (see api.h for how a request travels).
 *
 * Start-up, in order, every step fatal when it fails: the configuration
 * (daemon_setup), the API keys, the breakers, the rate limiter, the
 * route table and the OpenAPI document, the nng sockets to the other
 * daemons, the trace exporter, and last the civetweb server on
 * api.listen. Then the main loop beats for /health/live and reloads on
 * SIGHUP (keys, limits, rates: whatever is read per request). SIGTERM:
 * civetweb stops taking connections and finishes the requests in
 * flight, then everything is freed.
 */
#include <civetweb.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "api.h"
#include "breaker.h"
#include "daemon.h"
#include "log.h"
#include "rds.h"

#define RATELIMIT_SLOTS	65536

static void
keys(struct api *a)
{
	const char *p = a->cf->redis.prefix;

	rkey(a->key_readings, sizeof(a->key_readings), p, RKEY_READINGS);
	rkey(a->key_latest, sizeof(a->key_latest), p, RKEY_LATEST);
	rkey(a->key_devices, sizeof(a->key_devices), p, RKEY_DEVICES);
	rkey(a->key_alerts, sizeof(a->key_alerts), p, RKEY_ALERTS);
	rkey(a->key_rules, sizeof(a->key_rules), p, RKEY_RULES);
	rkey(a->key_rules_version, sizeof(a->key_rules_version), p,
	    RKEY_RULES_VERSION);
	rkey(a->key_alertstate, sizeof(a->key_alertstate), p, RKEY_ALERTSTATE);
}

static struct breaker *
breaker(const char *name, int64_t open_ms)
{
	struct breaker_conf bc;
	struct breaker *b;

	memset(&bc, 0, sizeof(bc));
	bc.name = name;
	bc.failure_threshold = 5;
	bc.window = 20;
	bc.min_calls = 10;
	bc.failure_rate = 0.5;
	bc.open_ms = open_ms;
	if ((b = breaker_new(&bc)) == NULL)
		fatalx("breaker %s: cannot create", name);
	return b;
}

/* /health/ready: ready while Redis or InfluxDB can answer. */
static bool
api_ready(void *arg, struct buf *why)
{
	struct api *a = arg;
	struct rds *rds = api_redis(a);
	redisReply *rep = rds ? rds_command(rds, "PING") : NULL;
	bool redis = rep != NULL && rep->type == REDIS_REPLY_STATUS;
	bool influx = breaker_state(a->influx_breaker) != BREAKER_OPEN;

	if (rep != NULL)
		freeReplyObject(rep);
	buf_printf(why, "\"redis\":\"%s\",\"influxdb\":\"%s\"",
	    redis ? "up" : "down", influx ? "up" : "circuit open");
	return redis || influx;
}

static int
api_log(const struct mg_connection *c, const char *msg)
{
	log_debug("http: %s", msg);
	return 1;
}

/*
 * civetweb runs a worker thread per connection (api.threads of them):
 * what bounds hostile clients is how long one may hold a worker without
 * finishing its request (api.io_timeout for the headers, in total, and
 * for each piece of a body or an answer; api_read_body() bounds a whole
 * body by api.request_timeout), how long an idle keep-alive connection
 * may wait (api.keep_alive), and the sizes (16 KiB of request line and
 * headers, api.max_body). Connections past the workers wait in
 * civetweb's queue, then the kernel's backlog. docs/security.md.
 */
static struct mg_context *
http_start(struct api *a)
{
	char threads[16], timeout[32], keep[32], ports[512], err[256] = "";
	const char *opts[] = { "listening_ports", ports,
		"num_threads", threads, "request_timeout_ms", timeout,
		"enable_keep_alive", a->cf->api.keep_alive > 0 ? "yes" : "no",
		"keep_alive_timeout_ms", keep,
		"decode_url", "no", "tcp_nodelay", "1",
		"max_request_size", "16384",
		"connection_queue", "64", "listen_backlog", "1024",
		/* ws_proxy.c: silent clients are pinged, not dropped. */
		"websocket_timeout_ms", "30000",
		"enable_websocket_ping_pong", "yes",
		/* CORS is cors.c's: civetweb must not answer preflights. */
		"access_control_allow_origin", "", NULL };
	struct mg_callbacks cb;
	struct mg_init_data init;
	struct mg_error_data e;
	struct mg_context *ctx;

	snprintf(threads, sizeof(threads), "%lld",
	    (long long)a->cf->api.threads);
	snprintf(timeout, sizeof(timeout), "%lld",
	    (long long)a->cf->api.io_timeout);
	snprintf(keep, sizeof(keep), "%lld", (long long)a->cf->api.keep_alive);
	util_strlcpy(ports, a->cf->api.listen, sizeof(ports));
	if (api_tls_on(a->cf) && api_tls_ports(a->cf->api.listen, ports,
	    sizeof(ports)) == -1)
		fatalx("api.listen: too long");
	memset(&cb, 0, sizeof(cb));
	cb.log_message = api_log;
	cb.http_error = api_http_error;
	cb.init_thread = api_worker_init;
	cb.exit_thread = api_worker_exit;
	cb.init_connection = api_conn_start;
	cb.end_request = api_request_end;
	api_http_timeouts(a->cf);
	if (api_tls_on(a->cf))
		cb.init_ssl = api_tls_init;
	memset(&init, 0, sizeof(init));
	init.callbacks = &cb;
	init.user_data = a;
	init.configuration_options = opts;
	memset(&e, 0, sizeof(e));
	e.text = err;
	e.text_buffer_size = sizeof(err);
	if ((ctx = mg_start2(&init, &e)) == NULL)
		fatalx("listen on %s: %s", a->cf->api.listen,
		    err[0] ? err : "cannot start");
	admin_register(ctx, api_ready, a);
	mg_set_request_handler(ctx, "/", api_dispatch, a);
	a->ctx = ctx;
	api_ws_proxy_register(a);
	return ctx;
}

int
main(int argc, char *argv[])
{
	static struct api a;
	struct daemon d;
	const struct grilld_conf *cf;
	struct rds_url u;
	char err[256];

	daemon_set_check(api_tls_check);
	daemon_setup(&d, "grilld-api", CONF_API, argc, argv);
	if (api_deadline_init() == -1)
		fatal("sigaction");
	/* The workers read the configuration the API started with. */
	cf = daemon_conf_hold(&d);
	a.d = &d;
	a.cf = cf;
	a.started_ns = util_now_ns();
	a.loopback = api_is_loopback(cf->api.listen);
	if (rds_url_parse(cf->redis.url, &u, err, sizeof(err)) == -1)
		fatalx("redis.url: %s", err);
	rds_opts_conf(&a.redis_opts, cf);
	if (api_stream_url_check(cf, err, sizeof(err)) == -1 ||
	    netaddr_cidrs_parse(&a.proxies, cf->api.trusted_proxies, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	keys(&a);
	if (api_auth_init(&a, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (!a.loopback && api_auth_nkeys(&a) == 0)
		log_warnx("listening on %s without api.keys: writes are "
		    "refused but from clients on loopback until keys are set",
		    cf->api.listen);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	a.influx_breaker = breaker("api_influxdb", 5000);
	a.redis_breaker = breaker("api_redis", 2000);
	if ((a.rl = ratelimit_new(RATELIMIT_SLOTS, NULL)) == NULL ||
	    api_router_init(&a) == -1 || api_peers_start(&a) == -1)
		fatalx("out of memory");
	if (api_openapi_init() == -1)
		fatalx("api/openapi.c: the OpenAPI document does not parse");
	if (trace_exporter_start(cf->tracing.otlp_url, "grilld-api",
	    (size_t)cf->tracing.queue, 0) == -1)
		log_warnx("tracing: the exporter did not start");
	if (cf->api.latest_cache && (a.lcache = latest_cache_start(
	    cf->redis.url, &a.redis_opts, a.key_latest)) == NULL)
		log_warnx("latest cache: cannot start; current reads Redis");
	metric_process("grilld-api");
	a.ctx = http_start(&a);
	log_info("listening on %s://%s%s", api_tls_on(cf) ? "https" : "http",
	    cf->api.listen, api_auth_nkeys(&a) ?
	    " (API keys required for writes)" : "");
	while (!daemon_stopping()) {
		daemon_heartbeat();
		if (daemon_reload_pending() && daemon_reload(&d) == 0 &&
		    api_auth_reload(&a, &d.cf, err, sizeof(err)) == -1)
			log_warnx("reload: %s; the old keys stay", err);
		daemon_sleep(1000);
	}
	log_info("stopping");
	mg_stop(a.ctx);
	latest_cache_stop(a.lcache);
	api_peers_stop(&a);
	trace_exporter_stop();
	api_worker_cleanup();
	api_openapi_free();
	ratelimit_free(a.rl);
	breaker_free(a.influx_breaker);
	breaker_free(a.redis_breaker);
	api_auth_free(&a);
	curl_global_cleanup();
	daemon_conf_drop(cf);
	daemon_teardown(&d);
	return 0;
}
