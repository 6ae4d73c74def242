/*
 * ratelimit: token buckets, one per API key or client address, in a
 * table of bounded size.
 *
 * A bucket holds up to burst tokens and gains rate tokens a second; a
 * request takes one. When none is left the caller is told how long until
 * one is (for Retry-After).
 *
 * The table never grows: it has a fixed number of slots in shards, each
 * with its own mutex, and a client is looked up by a 64-bit hash of its
 * key or address within a short probe window of its shard. When the
 * window is full the bucket idle the longest is taken over; one idle for
 * burst / rate seconds was full anyway, so under normal load nobody
 * notices, and a flood of addresses costs memory nothing and other
 * clients at most a refilled bucket.
 *
 * Thread-safe. The clock is injectable for tests (monotonic ns).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "api.h"

#define SHARDS	16
#define PROBE	8

struct bucket {
	uint64_t	 who;		/* 0: free */
	double		 tokens;
	int64_t		 last;		/* ns */
};

struct shard {
	pthread_mutex_t	 mtx;
	struct bucket	*b;
	size_t		 used;
};

struct ratelimit {
	size_t		 per_shard;
	int64_t		(*clock)(void);
	struct shard	 shard[SHARDS];
};

/* slots: the table's total size, rounded up to a multiple of SHARDS. */
struct ratelimit *
ratelimit_new(size_t slots, int64_t (*clock)(void))
{
	struct ratelimit *rl;

	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return NULL;
	rl->per_shard = slots / SHARDS < PROBE ? PROBE : slots / SHARDS;
	rl->clock = clock ? clock : util_mono_ns;
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&rl->shard[i].mtx, NULL);
		if ((rl->shard[i].b = calloc(rl->per_shard,
		    sizeof(struct bucket))) == NULL) {
			ratelimit_free(rl);
			return NULL;
		}
	}
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	for (int i = 0; i < SHARDS; i++) {
		free(rl->shard[i].b);
		pthread_mutex_destroy(&rl->shard[i].mtx);
	}
	free(rl);
}

/* Buckets in use, for tests and metrics. */
size_t
ratelimit_size(struct ratelimit *rl)
{
	size_t n = 0;

	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_lock(&rl->shard[i].mtx);
		n += rl->shard[i].used;
		pthread_mutex_unlock(&rl->shard[i].mtx);
	}
	return n;
}

static struct bucket *
lookup(struct ratelimit *rl, struct shard *sh, uint64_t who, double burst,
    int64_t now)
{
	size_t home = (size_t)((who >> 4) % rl->per_shard), oldest = home;
	struct bucket *b;

	for (size_t i = 0; i < PROBE; i++) {
		size_t slot = (home + i) % rl->per_shard;

		b = &sh->b[slot];
		if (b->who == who)
			return b;
		if (b->who == 0) {
			sh->used++;
			oldest = slot;
			goto take;
		}
		if (b->last < sh->b[oldest].last)
			oldest = slot;
	}
take:
	b = &sh->b[oldest];
	b->who = who;
	b->tokens = burst;
	b->last = now;
	return b;
}

/*
 * Takes a token from who's bucket. true: go ahead. false: *wait_ms is
 * how long until a token is there.
 */
bool
ratelimit_take(struct ratelimit *rl, uint64_t who, double rate,
    double burst, int64_t *wait_ms)
{
	struct shard *sh;
	struct bucket *b;
	int64_t now;
	bool ok;

	*wait_ms = 0;
	if (rate <= 0)
		return true;
	if (who == 0)
		who = 1;
	sh = &rl->shard[who % SHARDS];
	pthread_mutex_lock(&sh->mtx);
	now = rl->clock();
	b = lookup(rl, sh, who, burst, now);
	if (now > b->last) {
		b->tokens += (double)(now - b->last) / 1e9 * rate;
		b->last = now;
	}
	if (b->tokens > burst)
		b->tokens = burst;
	if ((ok = b->tokens >= 1.0))
		b->tokens -= 1.0;
	else
		*wait_ms = (int64_t)ceil((1.0 - b->tokens) / rate * 1000.0);
	pthread_mutex_unlock(&sh->mtx);
	return ok;
}
