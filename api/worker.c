/*
 * worker: what each civetweb worker thread keeps for itself, so that no
 * request connects anything: one Redis connection (common/rds.h, which
 * reconnects by itself with backoff) and one InfluxDB handle
 * (common/influx.h, whose connection stays open between queries).
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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "breaker.h"
#include "influx.h"
#include "log.h"
#include "rds.h"

struct worker {
	struct api	*api;
	struct rds	*rds;
	struct influx	*influx;
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
	influx_free(self->influx);
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

/* This thread's InfluxDB handle, made on first use; NULL: no memory. */
struct influx *
api_influx(struct api *a)
{
	struct worker *w = worker_get();
	char err[160];

	if (w == NULL)
		return NULL;
	if (w->influx == NULL && (w->influx = influx_new(a->cf,
	    &(struct influx_opts){ .agent = "grilld-api",
	    .answer_max = API_INFLUX_ANSWER_MAX }, err, sizeof(err))) == NULL)
		log_warnx("influxdb: %s", err);
	return w->influx;
}

/*
 * Before a Redis call: NULL (the failure recorded) while the breaker is
 * open, else the call's client span.
 */
static struct span *
redis_begin(struct req *r, const char *what)
{
	struct breaker *br = r->api->redis_breaker;
	struct span *sp;
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
	return sp;
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

	if ((sp = redis_begin(r, what)) == NULL)
		return NULL;
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
 * Several commands sent at once (a pipeline) and their n replies read,
 * under one span and one breaker verdict: the replies (error replies
 * included), to free with api_redis_replies_free(), or NULL with the
 * failure recorded in the request (Redis failed: which commands ran is
 * unknown).
 */
redisReply **
api_redis_pipe(struct req *r, const char *what, size_t n,
    const struct api_cmd *cmd)
{
	struct breaker *br = r->api->redis_breaker;
	redisReply **rep = NULL;
	struct span *sp;
	struct rds *rds;
	size_t i, got = 0;

	if ((sp = redis_begin(r, what)) == NULL)
		return NULL;
	span_set_int(sp, "db.commands", (int64_t)n);
	if ((rds = api_redis(r->api)) == NULL ||
	    (rep = calloc(n, sizeof(*rep))) == NULL) {
		breaker_success(br);	/* not Redis's fault */
		api_dep_fail(r, 500, "INTERNAL", 0, "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++)
		if (rds_append_argv(rds, cmd[i].argc, cmd[i].argv,
		    cmd[i].lens) == -1)
			break;
	for (; i == n && got < n; got++)
		if ((rep[got] = rds_get_reply(rds)) == NULL)
			break;
	if (got < n) {
		redisReply *x;

		/* An append that failed leaves the earlier ones due. */
		while (rds_pending(rds) > 0 && (x = rds_get_reply(rds)) != NULL)
			freeReplyObject(x);
		breaker_failure(br);
		api_dep_fail(r, 503, "REDIS_UNAVAILABLE", 1000, "redis: %s",
		    rds->errstr);
		goto fail;
	}
	breaker_success(br);
	for (i = 0; i < n; i++)
		if (rep[i]->type == REDIS_REPLY_ERROR) {
			span_set_error(sp, rep[i]->str);
			break;
		}
	span_end(sp);
	return rep;
fail:
	span_set_error(sp, r->dep_msg);
	span_end(sp);
	api_redis_replies_free(rep, got);
	return NULL;
}

void
api_redis_replies_free(redisReply **rep, size_t n)
{
	if (rep == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if (rep[i] != NULL)
			freeReplyObject(rep[i]);
	free(rep);
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
