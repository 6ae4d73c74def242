/*
 * worker: what each civetweb worker thread keeps for itself, so that no
 * request connects anything: one Redis connection (common/rds.h, which
 * reconnects by itself with backoff) and one libcurl handle (its
 * connection cache keeps InfluxDB's connection open between queries).
 *
 * civetweb's init_thread and exit_thread callbacks create and free the
 * state of its worker threads; any other thread that calls in (the
 * admin ready callback runs on workers too; unit tests run on their own
 * thread) gets its state on first use and frees it with
 * api_worker_cleanup().
 *
 * Redis calls go through api_redis_cmd(): a client span around each,
 * and a breaker shared by every worker, so that a dead Redis costs each
 * request nothing once it is known dead, and /health can say so.
 */
#include <civetweb.h>
#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "breaker.h"
#include "log.h"
#include "rds.h"

struct worker {
	struct api	*api;
	struct rds	*rds;
	CURL		*curl;
};

static __thread struct worker	*self;
/*
 * For threads not civetweb's. Every civetweb worker stores it as it
 * starts, all at once (ThreadSanitizer: a data race on a plain pointer,
 * the same value written by each): atomic.
 */
static _Atomic(struct api *)	 the_api;

static struct worker *
worker_get(void)
{
	if (self == NULL && (self = calloc(1, sizeof(*self))) != NULL)
		self->api = atomic_load(&the_api);
	return self;
}

void *
api_worker_init(const struct mg_context *ctx, int type)
{
	struct api *a = mg_get_user_data(ctx);

	if (a != NULL)
		atomic_store(&the_api, a);
	if (type != 1)
		return NULL;
	return worker_get();
}

void
api_worker_cleanup(void)
{
	api_deadline_free();
	if (self == NULL)
		return;
	rds_free(self->rds);
	if (self->curl != NULL)
		curl_easy_cleanup(self->curl);
	free(self);
	self = NULL;
}

void
api_worker_exit(const struct mg_context *ctx, int type, void *ptr)
{
	api_worker_cleanup();
}

/* This thread's Redis connection, made on first use; NULL: no memory. */
struct rds *
api_redis(struct api *a)
{
	struct worker *w = worker_get();
	struct rds_opts o;
	char err[160];

	if (w == NULL)
		return NULL;
	if (w->rds == NULL) {
		o = a->redis_opts;
		if ((w->rds = rds_connect(a->cf->redis.url, &o, err,
		    sizeof(err))) == NULL)
			log_warnx("redis: %s", err);
	}
	return w->rds;
}

void *
api_curl(void)
{
	struct worker *w = worker_get();

	if (w == NULL)
		return NULL;
	if (w->curl == NULL)
		w->curl = curl_easy_init();
	return w->curl;
}

/*
 * One Redis command, as argv. Returns the reply (an error reply
 * included: Redis answered), or NULL with the failure recorded in the
 * request for api_error_dep().
 */
redisReply *
api_redis_cmd(struct req *r, const char *what, int argc, const char **argv,
    const size_t *lens)
{
	struct breaker *br = r->api->redis_breaker;
	struct span *sp;
	redisReply *rep;
	struct rds *rds;
	char name[48];

	if (!breaker_allow(br)) {
		api_dep_fail(r, 503, "REDIS_UNAVAILABLE",
		    breaker_retry_in_ms(br), "redis is unavailable (circuit "
		    "open; retry in %lld ms)",
		    (long long)breaker_retry_in_ms(br));
		return NULL;
	}
	snprintf(name, sizeof(name), "redis %s", what);
	sp = span_start(name, r->span ? span_ctx(r->span) : NULL,
	    SPAN_KIND_CLIENT);
	span_set_str(sp, "db.system", "redis");
	span_set_str(sp, "db.operation", what);
	if ((rds = api_redis(r->api)) == NULL ||
	    (rep = rds_commandargv(rds, argc, argv, lens)) == NULL) {
		breaker_failure(br);
		api_dep_fail(r, 503, "REDIS_UNAVAILABLE", 1000, "redis: %s",
		    rds ? rds->errstr : "out of memory");
		span_set_error(sp, r->dep_msg);
		span_end(sp);
		return NULL;
	}
	breaker_success(br);
	if (rep->type == REDIS_REPLY_ERROR)
		span_set_error(sp, rep->str);
	span_end(sp);
	return rep;
}

/*
 * For replies that must not be errors: 0 when rep is a reply other than
 * an error; -1 (the failure recorded, rep freed) otherwise.
 */
int
api_redis_ok(struct req *r, redisReply *rep)
{
	if (rep == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ERROR)
		return 0;
	log_warnx("redis answered: %s", rep->str);
	api_dep_fail(r, 502, "REDIS_ERROR", 0, "redis answered: %.200s",
	    rep->str);
	freeReplyObject(rep);
	return -1;
}
