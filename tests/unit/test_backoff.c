#include <pthread.h>
#include <stdio.h>

#include "backoff.h"
#include "util.h"
#include "unit.h"

static int64_t fake_now = 5000;

static int64_t
fake_clock(void)
{
	return fake_now;
}

static void
t_rand_uniform(void)
{
	unsigned long hist[10] = { 0 };
	double sum = 0;
	int n = 200000;

	backoff_seed(1);
	for (int i = 0; i < n; i++) {
		uint64_t r = backoff_rand_upto(9);

		CHECK(r <= 9);
		if (r <= 9)
			hist[r]++;
		sum += (double)(backoff_rand() >> 11) / (double)(UINT64_C(1) << 53);
	}
	for (int i = 0; i < 10; i++)
		CHECK(hist[i] > 19000 && hist[i] < 21000);
	CHECK_DBL(sum / n, 0.5, 0.01);
	for (int i = 0; i < 1000; i++)
		CHECK_INT(backoff_rand_upto(0), 0);
	for (int i = 0; i < 1000; i++)
		CHECK(backoff_rand_upto(1) <= 1);
	(void)backoff_rand_upto(UINT64_MAX);
}

static void
t_rand_seed(void)
{
	uint64_t a[8], b[8];
	bool same = true;

	backoff_seed(42);
	for (int i = 0; i < 8; i++)
		a[i] = backoff_rand();
	backoff_seed(42);
	for (int i = 0; i < 8; i++)
		b[i] = backoff_rand();
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	backoff_seed(43);
	for (int i = 0; i < 8; i++)
		same = same && backoff_rand() == a[i];
	CHECK(!same);
	backoff_seed(0);		/* a zero state would stick at zero */
	CHECK(backoff_rand() != 0 || backoff_rand() != 0);
}

static void *
rand_thread(void *arg)
{
	uint64_t *out = arg;

	out[0] = backoff_rand();	/* seeded on first use */
	backoff_seed(7);
	out[1] = backoff_rand();
	return NULL;
}

/* Each thread has its own sequence, seeded differently. */
static void
t_rand_threads(void)
{
	pthread_t th[2];
	uint64_t out[2][2], mine;

	for (int i = 0; i < 2; i++)
		CHECK_INT(pthread_create(&th[i], NULL, rand_thread, out[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK(out[0][0] != out[1][0]);
	CHECK(out[0][1] == out[1][1]);	/* the same seed, each its own */
	backoff_seed(7);
	mine = backoff_rand();
	CHECK(mine == out[0][1]);
}

static void
t_init(void)
{
	struct backoff b;
	struct backoff_conf c = { .base_ms = 100, .cap_ms = 1000 };

	CHECK_INT(backoff_init(&b, &c), 0);
	c.base_ms = 0;
	CHECK_INT(backoff_init(&b, &c), -1);
	c.base_ms = 100, c.cap_ms = 99;
	CHECK_INT(backoff_init(&b, &c), -1);
	c.cap_ms = 1000, c.budget_ms = -1;
	CHECK_INT(backoff_init(&b, &c), -1);
}

/*
 * Full jitter: retry n waits in [0, min(cap, base * 2^n)], reaching
 * both ends, with the mean in the middle.
 */
static void
t_bounds(void)
{
	struct backoff_conf c = { .base_ms = 100, .cap_ms = 3000 };
	enum { RETRIES = 8, RUNS = 4000 };
	int64_t lo[RETRIES], hi[RETRIES];
	double sum[RETRIES] = { 0 };
	struct backoff b;

	backoff_seed(99);
	for (int k = 0; k < RETRIES; k++)
		lo[k] = INT64_MAX, hi[k] = -1;
	for (int run = 0; run < RUNS; run++) {
		CHECK_INT(backoff_init(&b, &c), 0);
		for (int k = 0; k < RETRIES; k++) {
			int64_t d = backoff_next(&b, -1);

			lo[k] = d < lo[k] ? d : lo[k];
			hi[k] = d > hi[k] ? d : hi[k];
			sum[k] += (double)d;
		}
	}
	for (int k = 0; k < RETRIES; k++) {
		int64_t ceil = 100 << k;

		if (ceil > 3000)
			ceil = 3000;
		CHECK(lo[k] >= 0);
		CHECK(lo[k] <= ceil / 20);
		CHECK(hi[k] <= ceil);
		CHECK(hi[k] >= ceil - ceil / 20);
		CHECK_DBL(sum[k] / RUNS / ceil, 0.5, 0.05);
	}
}

/* Hundreds of retries: the cap holds and nothing overflows. */
static void
t_cap(void)
{
	struct backoff_conf c = { .base_ms = 7, .cap_ms = 60000 };
	struct backoff b;
	bool reached = false;

	CHECK_INT(backoff_init(&b, &c), 0);
	for (int i = 0; i < 500; i++) {
		int64_t d = backoff_next(&b, -1);

		CHECK(d >= 0 && d <= 60000);
		reached = reached || d > 50000;
	}
	CHECK(reached);
	CHECK_INT(backoff_tries(&b), 500);
	c.base_ms = INT64_MAX / 2, c.cap_ms = INT64_MAX;
	CHECK_INT(backoff_init(&b, &c), 0);
	for (int i = 0; i < 100; i++)
		CHECK(backoff_next(&b, -1) >= 0);
}

static void
t_max_tries(void)
{
	struct backoff_conf c = { .base_ms = 10, .cap_ms = 100,
	    .max_tries = 4 };
	struct backoff b;

	CHECK_INT(backoff_init(&b, &c), 0);
	for (int round = 0; round < 2; round++) {
		/* Four tries in all: three waits between them. */
		CHECK(backoff_next(&b, -1) >= 0);
		CHECK(backoff_next(&b, -1) >= 0);
		CHECK(backoff_next(&b, -1) >= 0);
		CHECK_INT(backoff_next(&b, -1), -1);
		CHECK_INT(backoff_next(&b, -1), -1);
		CHECK_INT(backoff_next(&b, 5), -1);
		CHECK_INT(backoff_tries(&b), 6);
		backoff_reset(&b);
		CHECK_INT(backoff_tries(&b), 0);
	}
	c.max_tries = 1;
	CHECK_INT(backoff_init(&b, &c), 0);
	CHECK_INT(backoff_next(&b, -1), -1);
}

static void
t_deadline(void)
{
	struct backoff_conf c = { .base_ms = 1000, .cap_ms = 100000,
	    .budget_ms = 10000, .clock_ms = fake_clock };
	struct backoff b;
	int64_t d;

	fake_now = 5000;
	CHECK_INT(backoff_init(&b, &c), 0);
	CHECK_INT(b.deadline, 15000);
	for (int i = 0; i < 6; i++)
		(void)backoff_next(&b, -1);	/* ceilings up to 32 s */
	fake_now = 14950;
	for (int i = 0; i < 50; i++) {
		d = backoff_next(&b, -1);
		CHECK(d >= 0 && d <= 50);	/* never past the deadline */
	}
	d = backoff_next(&b, 40);
	CHECK(d >= 40 && d <= 50);
	CHECK_INT(backoff_next(&b, 51), -1);	/* cannot honour it in time */
	fake_now = 15000;
	CHECK_INT(backoff_next(&b, -1), -1);
	fake_now = 20000;
	CHECK_INT(backoff_next(&b, -1), -1);
	backoff_reset(&b);			/* a fresh budget */
	CHECK_INT(b.deadline, 30000);
	d = backoff_next(&b, -1);
	CHECK(d >= 0 && d <= 1000);
}

static void
t_retry_after(void)
{
	struct backoff_conf c = { .base_ms = 10, .cap_ms = 100 };
	struct backoff b;

	CHECK_INT(backoff_init(&b, &c), 0);
	CHECK_INT(backoff_next(&b, 5000), 5000);	/* at least that */
	CHECK_INT(backoff_next(&b, 0) >= 0, 1);
	CHECK(backoff_next(&b, -1) <= 40);		/* none given */
	CHECK_INT(backoff_next(&b, INT64_MAX), BACKOFF_RETRY_AFTER_MAX_MS);
	for (int i = 0; i < 100; i++) {
		int64_t d = backoff_next(&b, 50);

		CHECK(d >= 50 && d <= 100);
	}
}

/* Wed, 21 Oct 2015 07:28:00 GMT */
#define T2015 INT64_C(1445412480)

static void
t_parse_seconds(void)
{
	CHECK_INT(backoff_parse_retry_after("120", T2015), 120000);
	CHECK_INT(backoff_parse_retry_after("0", T2015), 0);
	CHECK_INT(backoff_parse_retry_after("007", T2015), 7000);
	CHECK_INT(backoff_parse_retry_after("  5 ", T2015), 5000);
	CHECK_INT(backoff_parse_retry_after("\t9\t", T2015), 9000);
	CHECK_INT(backoff_parse_retry_after("3599", T2015), 3599000);
	CHECK_INT(backoff_parse_retry_after("3600", T2015),
	    BACKOFF_RETRY_AFTER_MAX_MS);
	CHECK_INT(backoff_parse_retry_after("86400", T2015),
	    BACKOFF_RETRY_AFTER_MAX_MS);
	CHECK_INT(backoff_parse_retry_after(
	    "999999999999999999999999999999999999", T2015),
	    BACKOFF_RETRY_AFTER_MAX_MS);
}

static void
t_parse_dates(void)
{
	const char *imf = "Wed, 21 Oct 2015 07:28:00 GMT";

	CHECK_INT(backoff_parse_retry_after(imf, T2015 - 30), 30000);
	CHECK_INT(backoff_parse_retry_after(imf, T2015), 0);
	CHECK_INT(backoff_parse_retry_after(imf, T2015 + 600), 0);  /* past */
	CHECK_INT(backoff_parse_retry_after(imf, T2015 - 86400),
	    BACKOFF_RETRY_AFTER_MAX_MS);
	CHECK_INT(backoff_parse_retry_after(" Wed, 21 Oct 2015 07:28:00 GMT ",
	    T2015 - 1), 1000);
	CHECK_INT(backoff_parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT",
	    0), 0);
	CHECK_INT(backoff_parse_retry_after("Mon, 29 Feb 2016 00:00:10 GMT",
	    INT64_C(1456704000)), 10000);	/* a leap day */
	CHECK_INT(backoff_parse_retry_after("Fri, 31 Dec 1999 23:59:60 GMT",
	    INT64_C(946684799)), 1000);		/* a leap second */
	/* The obsolete forms RFC 9110 still makes recipients accept. */
	CHECK_INT(backoff_parse_retry_after(
	    "Wednesday, 21-Oct-15 07:28:00 GMT", T2015 - 2), 2000);
	CHECK_INT(backoff_parse_retry_after("Wed Oct 21 07:28:00 2015",
	    T2015 - 3), 3000);
	CHECK_INT(backoff_parse_retry_after("Sun Nov  6 08:49:37 1994",
	    INT64_C(784111777) - 4), 4000);
	/* Two-digit years: more than 50 years ahead is the last century. */
	CHECK_INT(backoff_parse_retry_after(
	    "Sunday, 06-Nov-94 08:49:37 GMT", T2015), 0);
	CHECK_INT(backoff_parse_retry_after(
	    "Thursday, 01-Jan-65 00:00:00 GMT", T2015),
	    BACKOFF_RETRY_AFTER_MAX_MS);		/* 2065 */
	CHECK_INT(backoff_parse_retry_after(
	    "Friday, 01-Jan-66 00:00:00 GMT", T2015), 0);	/* 1966 */
}

static void
t_parse_garbage(void)
{
	static const char *const bad[] = {
		"", " ", "\t", "-5", "-0", "+5", "1.5", "5s", "5 5", "0x10",
		"abc", "1e3", "Inf",
		"Wed, 21 Oct 2015 07:28:00 UTC",
		"Wed, 21 Oct 2015 07:28:00 GMT junk",
		"Wed, 21 Oct 2015 07:28:00",
		"Wed, 21 Oct 2015 07:28 GMT",
		"Wed,21 Oct 2015 07:28:00 GMT",
		"Wed, 21 Oct 15 07:28:00 GMT",
		"Wed, 1 Oct 2015 07:28:00 GMT",
		"wed, 21 Oct 2015 07:28:00 GMT",
		"Wed, 21 oct 2015 07:28:00 GMT",
		"Wed, 21 Foo 2015 07:28:00 GMT",
		"Xyz, 21 Oct 2015 07:28:00 GMT",
		"Wed, 32 Oct 2015 07:28:00 GMT",
		"Wed, 00 Oct 2015 07:28:00 GMT",
		"Sun, 29 Feb 2015 07:28:00 GMT",
		"Sat, 31 Apr 2015 07:28:00 GMT",
		"Wed, 21 Oct 2015 24:00:00 GMT",
		"Wed, 21 Oct 2015 07:60:00 GMT",
		"Wed, 21 Oct 2015 07:28:61 GMT",
		"Wed, 21 Oct 2015 7:28:00 GMT",
		"Wed, 21 Oct 2O15 07:28:00 GMT",
		"Wednesday, 21-Oct-2015 07:28:00 GMT",
		"Wed, 21-Oct-15 07:28:00 GMT",
		"Wed Oct 21 07:28:00 2015 GMT",
		"Wed Oct 6 07:28:00 2015",
		"2015-10-21T07:28:00Z",
		"Wed, 21 Oct 2015 07:28:00 GMT                                 "
		    "          x",
	};

	CHECK_INT(backoff_parse_retry_after(NULL, T2015), -1);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		int64_t r = backoff_parse_retry_after(bad[i], T2015);

		if (r != -1)
			unit_fail(__FILE__, __LINE__, "\"%s\" gave %lld", bad[i],
			    (long long)r);
	}
}

int
main(void)
{
	UNIT_RUN(t_rand_uniform);
	UNIT_RUN(t_rand_seed);
	UNIT_RUN(t_rand_threads);
	UNIT_RUN(t_init);
	UNIT_RUN(t_bounds);
	UNIT_RUN(t_cap);
	UNIT_RUN(t_max_tries);
	UNIT_RUN(t_deadline);
	UNIT_RUN(t_retry_after);
	UNIT_RUN(t_parse_seconds);
	UNIT_RUN(t_parse_dates);
	UNIT_RUN(t_parse_garbage);
	return unit_done();
}
