/*
 * latest_cache: the `latest` entries `current` reads, kept in memory and
 * kept true by Redis itself (client-side caching, Redis 6+).
 *
 * A thread of its own holds one Redis connection that asked for
 * invalidation messages on the `latest` key (CLIENT TRACKING on, BCAST,
 * PREFIX the key, redirected to itself) and subscribed to them. Every
 * write to the hash (the ingester's HSET) makes Redis send a message,
 * and every message moves the cache's generation: every entry cached
 * before it is then stale and read from Redis again. An entry is filled
 * with the generation seen before its HGET was sent, so an invalidation
 * that crosses the HGET makes it stale at once. Redis sends the message
 * in the same turn of its event loop that answers the write, so a
 * reading is seen by the requests that come after it as soon as that
 * message arrived (well under a millisecond), never later. While the
 * tracking connection is down, nothing is answered from the cache (and
 * it is cleared when it comes back, since messages may have been lost
 * meanwhile).
 *
 * The hash is one key, so any write invalidates every entry: under a
 * steady stream of readings the cache mostly misses and costs a lookup;
 * under many reads between writes (dashboards, benchmarks) it spares
 * each read its Redis round trip.
 *
 * Bounded: CACHE_SLOTS entries of at most CACHE_VALUE_MAX bytes; a full
 * probe window replaces its oldest entry. Thread-safe: a read-write
 * lock; the generation is atomic. api.latest_cache false turns it off.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "api.h"
#include "log.h"
#include "metrics.h"
#include "rds.h"

#define CACHE_SLOTS	4096		/* a power of two */
#define CACHE_PROBE	8
#define CACHE_VALUE_MAX	4096
#define RETRY_MS	1000
#define POLL_MS		250

struct entry {
	char		*field;		/* NULL: free */
	char		*value;
	size_t		 len;
	uint64_t	 gen;
};

struct latest_cache {
	pthread_rwlock_t lock;
	struct entry	 slot[CACHE_SLOTS];
	_Atomic uint64_t gen;
	atomic_bool	 live;
	atomic_bool	 stop;
	pthread_t	 thread;
	bool		 started;
	char		 key[128];
	struct rds_url	 url;		/* the master's address is kept */
	struct rds_opts	 opts;
	struct metric_series *m_hit, *m_miss, *m_inval;
};

static struct log_limit ll_refused;

static uint64_t
hash(const char *s)
{
	return api_auth_hash(s, strlen(s));
}

/*
 * A copy of the cached value of field, appended to out: true; false
 * when it is not there or not known to be current. *gen is the
 * generation to fill with after a miss.
 */
bool
latest_cache_get(struct latest_cache *c, const char *field, struct buf *out,
    uint64_t *gen)
{
	size_t home;
	bool hit = false;

	if (c == NULL || !atomic_load(&c->live)) {
		*gen = 0;
		return false;
	}
	*gen = atomic_load(&c->gen);
	home = (size_t)hash(field) & (CACHE_SLOTS - 1);
	pthread_rwlock_rdlock(&c->lock);
	for (size_t i = 0; i < CACHE_PROBE; i++) {
		const struct entry *e = &c->slot[(home + i) & (CACHE_SLOTS - 1)];

		if (e->field != NULL && strcmp(e->field, field) == 0) {
			hit = e->gen == *gen && buf_append(out, e->value,
			    e->len) == 0;
			break;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	metric_inc(hit ? c->m_hit : c->m_miss);
	return hit;
}

/* Caches what HGET answered, if nothing was written since gen. */
void
latest_cache_put(struct latest_cache *c, const char *field,
    const char *value, size_t len, uint64_t gen)
{
	struct entry *e, *oldest = NULL;
	char *f, *v;
	size_t home;

	if (c == NULL || gen == 0 || len > CACHE_VALUE_MAX ||
	    !atomic_load(&c->live) || atomic_load(&c->gen) != gen)
		return;
	if ((f = strdup(field)) == NULL || (v = malloc(len + 1)) == NULL) {
		free(f);
		return;
	}
	memcpy(v, value, len);
	v[len] = '\0';
	home = (size_t)hash(field) & (CACHE_SLOTS - 1);
	pthread_rwlock_wrlock(&c->lock);
	for (size_t i = 0; i < CACHE_PROBE; i++) {
		e = &c->slot[(home + i) & (CACHE_SLOTS - 1)];
		if (e->field == NULL || strcmp(e->field, field) == 0) {
			oldest = e;
			break;
		}
		if (oldest == NULL || e->gen < oldest->gen)
			oldest = e;
	}
	free(oldest->field);
	free(oldest->value);
	oldest->field = f;
	oldest->value = v;
	oldest->len = len;
	oldest->gen = gen;
	pthread_rwlock_unlock(&c->lock);
}

static void
invalidate(struct latest_cache *c)
{
	atomic_fetch_add(&c->gen, 1);
	metric_inc(c->m_inval);
}

static redisContext *
track_connect(struct latest_cache *c)
{
	redisContext *ctx;
	char err[RDS_ERRSTR_LEN];
	int code;

	if ((ctx = rds_open_tracking(&c->url, &c->opts, c->key, &code, err,
	    sizeof(err))) == NULL) {
		/* Redis down is said by the workers; a refusal only here. */
		if (code != REDIS_ERR_IO && code != REDIS_ERR_EOF)
			log_limited(&ll_refused, 600000, LOG_LVL_WARN,
			    "latest cache: %s: off until Redis accepts it",
			    err);
	}
	return ctx;
}

/* Reads messages until the connection fails or the cache stops. */
static void
track_read(struct latest_cache *c, redisContext *ctx)
{
	struct pollfd pfd = { ctx->fd, POLLIN, 0 };
	void *reply;

	for (;;) {
		if (atomic_load(&c->stop))
			return;
		pfd.revents = 0;
		if (poll(&pfd, 1, POLL_MS) == -1 && errno != EINTR)
			return;
		if (pfd.revents == 0)
			continue;
		if (redisBufferRead(ctx) != REDIS_OK)
			return;
		for (;;) {
			if (redisGetReplyFromReader(ctx, &reply) != REDIS_OK)
				return;
			if (reply == NULL)
				break;
			invalidate(c);	/* any message: the key moved */
			freeReplyObject(reply);
		}
	}
}

static void *
track_main(void *arg)
{
	struct latest_cache *c = arg;
	redisContext *ctx;

	while (!atomic_load(&c->stop)) {
		if ((ctx = track_connect(c)) != NULL) {
			invalidate(c);		/* what came before is suspect */
			atomic_store(&c->live, true);
			track_read(c, ctx);
			atomic_store(&c->live, false);
			invalidate(c);
			redisFree(ctx);
		}
		for (int i = 0; i < RETRY_MS / POLL_MS &&
		    !atomic_load(&c->stop); i++)
			util_sleep_ms(POLL_MS);
	}
	return NULL;
}

struct latest_cache *
latest_cache_start(const char *url, const struct rds_opts *o,
    const char *key)
{
	struct latest_cache *c;
	struct metric *m;
	char err[RDS_ERRSTR_LEN];

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	pthread_rwlock_init(&c->lock, NULL);
	if (rds_url_parse(url, &c->url, err, sizeof(err)) == -1) {
		log_warnx("latest cache: %s", err);
		pthread_rwlock_destroy(&c->lock);
		free(c);
		return NULL;
	}
	c->opts = *o;	/* its password (redis.password) when the URL has none */
	/* One time-out for both: a read of the tracking socket is a poll. */
	c->opts.command_timeout_ms = c->opts.connect_timeout_ms;
	util_strlcpy(c->key, key, sizeof(c->key));
	atomic_store(&c->gen, 1);
	m = metric_counter("grilld_api_latest_cache_total", "current lookups "
	    "in the in-memory copy of `latest`, by result.", "result");
	c->m_hit = metric_with(m, "hit");
	c->m_miss = metric_with(m, "miss");
	c->m_inval = metric_with(metric_counter(
	    "grilld_api_latest_cache_invalidations_total", "Invalidations "
	    "Redis sent for `latest` (each clears the copy).", NULL));
	if (pthread_create(&c->thread, NULL, track_main, c) != 0) {
		latest_cache_stop(c);
		return NULL;
	}
	c->started = true;
	return c;
}

bool
latest_cache_live(struct latest_cache *c)
{
	return c != NULL && atomic_load(&c->live);
}

void
latest_cache_stop(struct latest_cache *c)
{
	if (c == NULL)
		return;
	atomic_store(&c->stop, true);
	if (c->started)
		pthread_join(c->thread, NULL);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		free(c->slot[i].field);
		free(c->slot[i].value);
	}
	pthread_rwlock_destroy(&c->lock);
	explicit_bzero(c->url.password, sizeof(c->url.password));
	free(c);
}
