/*
 * GET /health (and grill-stats' /api/temperature/health)
 *
 * grill-stats' shape, {status, timestamp, components: {influxdb, redis,
 * thermoworks_api}}, each component a string as grill-stats has it
 * ("healthy", "unhealthy", "degraded" when unknown), and the same in
 * "dependencies" (the Flask service's name, which its health_check.py
 * reads). grilld's detail is in component_details: each component's
 * status ("up", "down", "unknown"), the latency of a probe made now and
 * the state of the API's breaker in front of it; then each grilld daemon
 * asked over nng (MSG_STATUS_REQ) with its latency, breaker and what it
 * says of itself. thermoworks_api is what the poller says of its
 * accounts: up while every one is signed in.
 *
 * status: "unhealthy" (500, grill-stats' code) when neither Redis nor
 * InfluxDB answers, since then no route can answer; "degraded" when
 * anything else is down; "healthy" otherwise. /health/live and /health/ready are
 * common/admin.c's, for Kubernetes.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "breaker.h"
#include "rds.h"
#include "version.h"

#define HEALTH_TIMEOUT_MS	1000

static cJSON *
component(const char *status, int64_t latency_us, struct breaker *br,
    const char *error)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "status", status);
	if (latency_us >= 0)
		cJSON_AddNumberToObject(c, "latency_ms",
		    (double)latency_us / 1000.0);
	else
		cJSON_AddNullToObject(c, "latency_ms");
	if (br != NULL)
		cJSON_AddStringToObject(c, "breaker",
		    breaker_state_name(breaker_state(br)));
	if (error != NULL)
		cJSON_AddStringToObject(c, "error", error);
	return c;
}

static bool
check_redis(struct req *r, cJSON *comps)
{
	struct rds *rds = api_redis(r->api);
	redisReply *rep = NULL;
	int64_t t0 = util_mono_ns(), us;
	bool up;

	if (rds != NULL)
		rep = rds_command(rds, "PING");
	us = (util_mono_ns() - t0) / 1000;
	up = rep != NULL && rep->type == REDIS_REPLY_STATUS;
	cJSON_AddItemToObject(comps, "redis", component(up ? "up" : "down",
	    rep ? us : -1, r->api->redis_breaker, up ? NULL : rep ?
	    rep->str : rds ? rds->errstr : "out of memory"));
	if (rep != NULL)
		freeReplyObject(rep);
	return up;
}

static bool
check_influx(struct req *r, cJSON *comps)
{
	int64_t us = -1;
	bool up = api_influx_ping(r, &us) == 0;

	cJSON_AddItemToObject(comps, "influxdb", component(up ? "up" : "down",
	    up ? us : -1, r->api->influx_breaker, up ? NULL : r->dep_msg));
	return up;
}

/* A daemon's status; its thermoworks member is kept for the caller. */
static bool
check_peer(struct req *r, struct peer *pe, cJSON *daemons, cJSON **tw)
{
	cJSON *body = NULL, *c, *it;
	int64_t us;
	bool up;

	up = api_peer_request(r, pe, MSG_STATUS_REQ, NULL,
	    r->api->cf->nng.timeout <
	    HEALTH_TIMEOUT_MS ? r->api->cf->nng.timeout : HEALTH_TIMEOUT_MS,
	    &body, &us) == 0;
	c = component(up ? "up" : "down", up ? us : -1, pe->breaker,
	    up ? NULL : r->dep_msg);
	while (body != NULL && (it = body->child) != NULL) {
		cJSON_DetachItemViaPointer(body, it);
		if (tw != NULL && strcmp(it->string, "accounts") == 0) {
			*tw = it;
			continue;
		}
		if (cJSON_GetObjectItemCaseSensitive(c, it->string) != NULL)
			cJSON_Delete(it);
		else
			cJSON_AddItemToObject(c, it->string, it);
	}
	cJSON_Delete(body);
	cJSON_AddItemToObject(daemons, pe->name, c);
	return up;
}

/*
 * The cloud as the poller sees it: up while every account is signed in
 * or polled by another poller (this one stands by: its lease is
 * "standby", and the replica holding the lease signs in), down when one
 * is not, unknown without an answer.
 */
static bool
thermoworks(cJSON *comps, cJSON *accounts, bool poller_up)
{
	const cJSON *a, *lease;
	cJSON *c;
	int n = 0, in = 0;

	cJSON_ArrayForEach(a, accounts) {
		n++;
		lease = cJSON_GetObjectItemCaseSensitive(a, "lease");
		in += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a,
		    "signed_in")) || (cJSON_IsString(lease) &&
		    strcmp(lease->valuestring, "standby") == 0);
	}
	if (!poller_up || n == 0) {
		cJSON_Delete(accounts);
		cJSON_AddItemToObject(comps, "thermoworks_api",
		    component("unknown", -1, NULL, poller_up ? "the poller "
		    "polls no account" : "grilld-poller does not answer"));
		return !poller_up;
	}
	c = component(in == n ? "up" : "down", -1, NULL, in == n ? NULL :
	    "an account is not signed in");
	cJSON_AddItemToObject(c, "accounts", accounts);
	cJSON_AddItemToObject(comps, "thermoworks_api", c);
	return in == n;
}

/* grill-stats' string for each component, in components and dependencies. */
static void
seed_components(cJSON *o, const cJSON *details)
{
	cJSON *c = cJSON_AddObjectToObject(o, "components");
	const cJSON *it, *st;
	const char *s;

	cJSON_ArrayForEach(it, details) {
		st = cJSON_GetObjectItemCaseSensitive(it, "status");
		s = cJSON_IsString(st) ? st->valuestring : "unknown";
		cJSON_AddStringToObject(c, it->string, strcmp(s, "up") == 0 ?
		    "healthy" : strcmp(s, "down") == 0 ? "unhealthy" :
		    "degraded");
	}
	cJSON_AddItemToObject(o, "dependencies", cJSON_Duplicate(c, true));
}

int
api_route_health(struct req *r)
{
	cJSON *o, *comps, *daemons, *tw = NULL, *self;
	char ts[UTIL_TIME_LEN];
	const char *status;
	bool redis, influx, poller, ok = true;
	int code;

	o = cJSON_CreateObject();
	comps = cJSON_CreateObject();
	daemons = cJSON_CreateObject();
	redis = check_redis(r, comps);
	influx = check_influx(r, comps);
	r->dep_status = 0;
	poller = check_peer(r, &r->api->peers[PEER_POLLER], daemons, &tw);
	ok &= poller;
	ok &= thermoworks(comps, tw, poller);
	ok &= check_peer(r, &r->api->peers[PEER_INGEST], daemons, NULL);
	ok &= check_peer(r, &r->api->peers[PEER_STREAM], daemons, NULL);
	if (!redis && !influx) {
		status = "unhealthy";
		code = 500;
	} else if (!redis || !influx || !ok) {
		status = "degraded";
		code = 200;
	} else {
		status = "healthy";
		code = 200;
	}
	util_time_format(util_now_ns(), ts, sizeof(ts));
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddStringToObject(o, "timestamp", ts);
	seed_components(o, comps);
	cJSON_AddItemToObject(o, "component_details", comps);
	cJSON_AddItemToObject(o, "daemons", daemons);
	self = cJSON_AddObjectToObject(o, "api");
	cJSON_AddStringToObject(self, "version", GRILLD_VERSION);
	cJSON_AddStringToObject(self, "latest_cache", r->api->lcache == NULL ?
	    "off" : latest_cache_live(r->api->lcache) ? "live" : "down");
	cJSON_AddNumberToObject(self, "uptime_s",
	    (double)((util_now_ns() - r->api->started_ns) / NS_PER_S));
	api_reply_cjson(r, code, o);
	cJSON_Delete(o);
	return 0;
}
