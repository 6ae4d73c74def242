/*
 * libFuzzer: one HTTP request to grilld-api, through the real router
 * (path decoding, route match, CORS, API keys, query parameters) and
 * handlers (parameter getters, JSON bodies of batches and rules,
 * cursors, time ranges), with civetweb replaced by tests/fuzz/mgfake.h.
 *
 * Redis, InfluxDB and the peer daemons are configured where nothing
 * answers, so that a request that gets that far fails over to its
 * dependency error (503) quickly, as it would in an outage; everything
 * before that point sees the fuzzer's bytes. The keys are "fuzz-key-1"
 * and "fuzz-key-2"; the request comes from 127.0.0.1.
 *
 * Invariants: every request is answered exactly once with a status the
 * API may give, and a status of 500 (a bug, not a refusal) aborts.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/api.h"
#include "breaker.h"
#include "conf.h"
#include "log.h"
#include "mgfake.h"

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct api a;
static struct grilld_conf g;
static struct conf cf;

static const char *const env[] = {
	"GRILLD_API_KEYS", "fuzz-key-1,fuzz-key-2",
	"GRILLD_API_RATE", "0",
	"GRILLD_API_LATEST_CACHE", "false",
	"GRILLD_API_CORS_ORIGINS", "https://grill.example",
	"GRILLD_API_MAX_BODY", "64KiB",
	"GRILLD_REDIS_URL", "unix:///nonexistent/grilld-fuzz.sock",
	"GRILLD_REDIS_CONNECT_TIMEOUT", "10ms",
	"GRILLD_INFLUX_URL", "http://127.0.0.1:1",
	"GRILLD_INFLUX_TIMEOUT", "100ms",
	"GRILLD_NNG_TIMEOUT", "10ms",
	"GRILLD_NNG_POLLER_URL", "inproc://fuzz-poller",
	"GRILLD_NNG_INGEST_URL", "inproc://fuzz-ingest",
	"GRILLD_NNG_STREAM_URL", "inproc://fuzz-stream",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct conf_errs errs;
	char err[256];

	log_init(true, "fuzz");
	log_setlevel(LOG_LVL_ERROR);
	for (size_t i = 0; i < ARRAY_LEN(env); i += 2)
		setenv(env[i], env[i + 1], 1);
	conf_init(&cf, grilld_options, grilld_noptions, &g, sizeof(g));
	if (conf_load(&cf, NULL, &errs) == -1) {
		for (int i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		abort();
	}
	a.cf = &g;
	a.loopback = true;
	a.started_ns = util_now_ns();
	rds_opts_conf(&a.redis_opts, &g);
	util_strlcpy(a.key_readings, "grilld:readings", sizeof(a.key_readings));
	util_strlcpy(a.key_latest, "grilld:latest", sizeof(a.key_latest));
	util_strlcpy(a.key_devices, "grilld:devices", sizeof(a.key_devices));
	util_strlcpy(a.key_alerts, "grilld:alerts", sizeof(a.key_alerts));
	util_strlcpy(a.key_rules, "grilld:rules", sizeof(a.key_rules));
	util_strlcpy(a.key_rules_version, "grilld:rules:version",
	    sizeof(a.key_rules_version));
	util_strlcpy(a.key_alertstate, "grilld:alertstate",
	    sizeof(a.key_alertstate));
	if (api_auth_init(&a, err, sizeof(err)) == -1 ||
	    api_deadline_init() == -1)
		abort();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	a.influx_breaker = breaker_new(&(struct breaker_conf){
	    .name = "fuzz_influx", .failure_threshold = 1, .window = 1,
	    .min_calls = 1, .failure_rate = 0.5, .open_ms = 600000 });
	a.redis_breaker = breaker_new(&(struct breaker_conf){
	    .name = "fuzz_redis", .failure_threshold = 1, .window = 1,
	    .min_calls = 1, .failure_rate = 0.5, .open_ms = 600000 });
	if (a.influx_breaker == NULL || a.redis_breaker == NULL ||
	    (a.rl = ratelimit_new(1024, NULL)) == NULL ||
	    api_router_init(&a) == -1 || api_peers_start(&a) == -1 ||
	    api_openapi_init() == -1)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct mg_connection c;

	if (mgfake_conn(&c, data, len, "127.0.0.1") == 0) {
		api_dispatch(&c, &a);
		/* 500 is a bug, but on the health routes (however the path
		 * is spelled, "//health" too): grill-stats' answer when Redis
		 * and InfluxDB are down, as they are here. */
		if (c.status < 200 || c.status > 599 || (c.status == 500 &&
		    strstr(c.local, "health") == NULL))
			abort();
	}
	mgfake_conn_free(&c);
	return 0;
}
