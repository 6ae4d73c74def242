/*
 * api ratelimit: the token bucket on a clock the test moves, and a table
 * that never grows past its size.
 */
#include <stdlib.h>

#include "../../api/api.h"
#include "unit.h"

static int64_t	 now_ns;

static int64_t
fake_clock(void)
{
	return now_ns;
}

static void
test_burst_then_wait(void)
{
	struct ratelimit *rl = ratelimit_new(1024, fake_clock);
	int64_t wait;

	now_ns = 1000 * NS_PER_S;
	for (int i = 0; i < 5; i++)
		CHECK(ratelimit_take(rl, 42, 2.0, 5.0, &wait));
	CHECK(!ratelimit_take(rl, 42, 2.0, 5.0, &wait));
	CHECK_INT(wait, 500);			/* one token at 2/s */
	now_ns += 250 * NS_PER_MS;
	CHECK(!ratelimit_take(rl, 42, 2.0, 5.0, &wait));
	CHECK_INT(wait, 250);
	now_ns += 250 * NS_PER_MS;
	CHECK(ratelimit_take(rl, 42, 2.0, 5.0, &wait));
	CHECK(!ratelimit_take(rl, 42, 2.0, 5.0, &wait));
	/* Idle long enough, the bucket is full again, never fuller. */
	now_ns += 3600 * NS_PER_S;
	for (int i = 0; i < 5; i++)
		CHECK(ratelimit_take(rl, 42, 2.0, 5.0, &wait));
	CHECK(!ratelimit_take(rl, 42, 2.0, 5.0, &wait));
	ratelimit_free(rl);
}

static void
test_buckets_apart(void)
{
	struct ratelimit *rl = ratelimit_new(1024, fake_clock);
	int64_t wait;

	now_ns = 5 * NS_PER_S;
	CHECK(ratelimit_take(rl, 1, 1.0, 1.0, &wait));
	CHECK(!ratelimit_take(rl, 1, 1.0, 1.0, &wait));
	CHECK(ratelimit_take(rl, 2, 1.0, 1.0, &wait));
	CHECK(ratelimit_take(rl, 1 + 16, 1.0, 1.0, &wait));	/* same shard */
	/* No rate: no limit. */
	for (int i = 0; i < 100; i++)
		CHECK(ratelimit_take(rl, 1, 0, 1.0, &wait));
	/* A clock that goes back takes nothing away. */
	now_ns -= NS_PER_S;
	CHECK(!ratelimit_take(rl, 1, 1.0, 1.0, &wait));
	CHECK(wait > 0);
	ratelimit_free(rl);
}

static void
test_bounded(void)
{
	struct ratelimit *rl = ratelimit_new(256, fake_clock);
	int64_t wait;
	uint64_t who;

	now_ns = 7 * NS_PER_S;
	/* A flood of addresses: the table stays at its size. */
	for (who = 1; who < 100000; who++) {
		now_ns += 1000;
		ratelimit_take(rl, api_auth_hash((const char *)&who,
		    sizeof(who)), 1.0, 1.0, &wait);
	}
	CHECK(ratelimit_size(rl) <= 256);
	CHECK(ratelimit_size(rl) > 128);
	/* The latest client still has its own bucket. */
	who = api_auth_hash("me", 2);
	CHECK(ratelimit_take(rl, who, 1.0, 1.0, &wait));
	CHECK(!ratelimit_take(rl, who, 1.0, 1.0, &wait));
	ratelimit_free(rl);
}

int
main(void)
{
	UNIT_RUN(test_burst_then_wait);
	UNIT_RUN(test_buckets_apart);
	UNIT_RUN(test_bounded);
	return unit_done();
}
