#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "breaker.h"
#include "log.h"
#include "metrics.h"
#include "util.h"
#include "unit.h"

static _Atomic int64_t fake_now = 1000000;

static int64_t
fake_clock(void)
{
	return atomic_load(&fake_now);
}

static void
advance(int64_t ms)
{
	atomic_fetch_add(&fake_now, ms);
}

static double
gauge_of(const char *name)
{
	struct metric *m = metric_gauge("grilld_breaker_state", "x", "breaker");

	return metric_value(metric_with(m, name));
}

static double
transitions(const char *name, const char *to)
{
	struct metric *m = metric_counter("grilld_breaker_transitions_total",
	    "x", "breaker,to");

	return metric_value(metric_with(m, name, to));
}

static struct breaker *
simple(const char *name, unsigned threshold, unsigned ho_max,
    unsigned successes)
{
	struct breaker_conf c = {
		.name = name,
		.failure_threshold = threshold,
		.open_ms = 1000,
		.half_open_max = ho_max,
		.success_threshold = successes,
		.clock_ms = fake_clock,
	};

	return breaker_new(&c);
}

static void
t_conf(void)
{
	struct breaker_conf c = { .name = "c", .failure_threshold = 1,
	    .open_ms = 10 };
	struct breaker_conf bad;
	struct breaker *b;
	char longname[BREAKER_NAME_MAX + 1];

	CHECK((b = breaker_new(&c)) != NULL);
	CHECK_INT(breaker_state(b), BREAKER_CLOSED);	/* real clock */
	CHECK_INT(breaker_retry_in_ms(b), 0);
	CHECK_STR(breaker_name(b), "c");
	breaker_free(b);
	breaker_free(NULL);

	CHECK(breaker_new(NULL) == NULL);
	bad = c, bad.name = NULL;
	CHECK(breaker_new(&bad) == NULL);
	bad = c, bad.name = "";
	CHECK(breaker_new(&bad) == NULL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	bad = c, bad.name = longname;
	CHECK(breaker_new(&bad) == NULL);
	bad = c, bad.failure_threshold = 0;		/* no rule at all */
	CHECK(breaker_new(&bad) == NULL);
	bad = c, bad.open_ms = 0;
	CHECK(breaker_new(&bad) == NULL);
	bad = c, bad.trial_timeout_ms = -1;
	CHECK(breaker_new(&bad) == NULL);
	bad = c, bad.window = 10, bad.failure_rate = 0;
	CHECK(breaker_new(&bad) == NULL);
	bad = c, bad.window = 10, bad.failure_rate = 1.5;
	CHECK(breaker_new(&bad) == NULL);
	bad = c, bad.window = 10, bad.failure_rate = 0.5, bad.min_calls = 11;
	CHECK(breaker_new(&bad) == NULL);
	bad = c, bad.window = BREAKER_WINDOW_MAX + 1, bad.failure_rate = 0.5;
	CHECK(breaker_new(&bad) == NULL);
	CHECK_STR(breaker_state_name(BREAKER_CLOSED), "closed");
	CHECK_STR(breaker_state_name(BREAKER_OPEN), "open");
	CHECK_STR(breaker_state_name(BREAKER_HALF_OPEN), "half-open");
	CHECK_STR(breaker_state_name((enum breaker_state)7), "unknown");
}

static void
t_consecutive_trip(void)
{
	struct breaker *b = simple("consec", 3, 1, 1);

	CHECK(b != NULL);
	CHECK_DBL(gauge_of("consec"), 0, 0);
	/* A success in between resets the count. */
	for (int i = 0; i < 2; i++) {
		CHECK(breaker_allow(b));
		breaker_failure(b);
	}
	CHECK(breaker_allow(b));
	breaker_success(b);
	for (int i = 0; i < 2; i++) {
		CHECK(breaker_allow(b));
		breaker_failure(b);
	}
	CHECK_INT(breaker_state(b), BREAKER_CLOSED);
	CHECK(breaker_allow(b));
	breaker_failure(b);
	CHECK_INT(breaker_state(b), BREAKER_OPEN);
	CHECK_DBL(gauge_of("consec"), 1, 0);
	CHECK_DBL(transitions("consec", "open"), 1, 0);
	CHECK(!breaker_allow(b));
	CHECK_INT(breaker_retry_in_ms(b), 1000);
	advance(400);
	CHECK(!breaker_allow(b));
	CHECK_INT(breaker_retry_in_ms(b), 600);
	advance(599);
	CHECK(!breaker_allow(b));
	CHECK_INT(breaker_retry_in_ms(b), 1);
	breaker_free(b);
}

/* open -> half-open -> closed, with two trial successes needed. */
static void
t_recover(void)
{
	struct breaker *b = simple("recover", 1, 1, 2);

	CHECK(breaker_allow(b));
	breaker_failure(b);
	CHECK_INT(breaker_state(b), BREAKER_OPEN);
	advance(1000);
	CHECK_INT(breaker_state(b), BREAKER_HALF_OPEN);
	CHECK_DBL(gauge_of("recover"), 2, 0);
	CHECK_INT(breaker_retry_in_ms(b), 0);
	CHECK(breaker_allow(b));		/* the one trial slot */
	CHECK(!breaker_allow(b));
	CHECK(breaker_retry_in_ms(b) > 0);
	breaker_success(b);
	CHECK_INT(breaker_state(b), BREAKER_HALF_OPEN);
	CHECK(breaker_allow(b));
	breaker_success(b);
	CHECK_INT(breaker_state(b), BREAKER_CLOSED);
	CHECK_DBL(gauge_of("recover"), 0, 0);
	CHECK_DBL(transitions("recover", "open"), 1, 0);
	CHECK_DBL(transitions("recover", "half-open"), 1, 0);
	CHECK_DBL(transitions("recover", "closed"), 1, 0);
	/* Closed again for good: many calls pass, the count starts over. */
	for (int i = 0; i < 100; i++) {
		CHECK(breaker_allow(b));
		breaker_success(b);
	}
	CHECK(breaker_allow(b));
	breaker_failure(b);
	CHECK_INT(breaker_state(b), BREAKER_OPEN);
	breaker_free(b);
}

/* open -> half-open -> failure -> open -> ... -> closed. */
static void
t_reopen_then_close(void)
{
	struct breaker *b = simple("reopen", 2, 1, 1);

	CHECK(breaker_allow(b));
	breaker_failure(b);
	CHECK(breaker_allow(b));
	breaker_failure(b);
	CHECK_INT(breaker_state(b), BREAKER_OPEN);
	for (int round = 0; round < 5; round++) {
		advance(999);
		CHECK(!breaker_allow(b));
		advance(1);
		CHECK_INT(breaker_state(b), BREAKER_HALF_OPEN);
		CHECK(breaker_allow(b));
		breaker_failure(b);		/* one failure reopens */
		CHECK_INT(breaker_state(b), BREAKER_OPEN);
		CHECK_INT(breaker_retry_in_ms(b), 1000);	/* a new period */
	}
	CHECK_DBL(transitions("reopen", "open"), 6, 0);
	CHECK_DBL(transitions("reopen", "half-open"), 5, 0);
	advance(1000);
	CHECK(breaker_allow(b));
	breaker_success(b);
	CHECK_INT(breaker_state(b), BREAKER_CLOSED);
	CHECK_DBL(gauge_of("reopen"), 0, 0);
	CHECK_DBL(transitions("reopen", "closed"), 1, 0);
	/* The consecutive count starts from zero after closing. */
	CHECK(breaker_allow(b));
	breaker_failure(b);
	CHECK_INT(breaker_state(b), BREAKER_CLOSED);
	breaker_free(b);
}

static void
t_rate(void)
{
	struct breaker_conf c = {
		.name = "rate",
		.window = 10,
		.min_calls = 6,
		.failure_rate = 0.5,
		.open_ms = 100,
		.clock_ms = fake_clock,
	};
	struct breaker *b = breaker_new(&c);

	CHECK(b != NULL);
	/* Five failures in a row: below min_calls, no consecutive rule. */
	for (int i = 0; i < 5; i++) {
		CHECK(breaker_allow(b));
		breaker_failure(b);
	}
	CHECK_INT(breaker_state(b), BREAKER_CLOSED);
	breaker_success(b);		/* 6 calls, 5 failed: trips */
	CHECK_INT(breaker_state(b), BREAKER_OPEN);
	advance(100);
	CHECK(breaker_allow(b));
	breaker_success(b);
	CHECK_INT(breaker_state(b), BREAKER_CLOSED);

	/* The window slides: 4 of 10 fail forever, never 50 %. */
	for (int i = 0; i < 100; i++) {
		CHECK(breaker_allow(b));
		if (i % 5 >= 3)
			breaker_failure(b);
		else
			breaker_success(b);
	}
	CHECK_INT(breaker_state(b), BREAKER_CLOSED);
	/* Then 1 of 2: trips once 5 of the last 10 failed. */
	for (int i = 0; i < 20 && breaker_state(b) == BREAKER_CLOSED; i++) {
		CHECK(breaker_allow(b));
		if (i % 2 == 0)
			breaker_failure(b);
		else
			breaker_success(b);
	}
	CHECK_INT(breaker_state(b), BREAKER_OPEN);
	breaker_free(b);
}

/* Results of calls allowed before the trip neither close nor reopen. */
static void
t_stale_results(void)
{
	struct breaker *b = simple("stale", 1, 1, 1);

	CHECK(breaker_allow(b));	/* the slow call */
	CHECK(breaker_allow(b));
	breaker_failure(b);
	CHECK_INT(breaker_state(b), BREAKER_OPEN);
	breaker_success(b);		/* the slow one, while open */
	CHECK_INT(breaker_state(b), BREAKER_OPEN);
	advance(1000);
	CHECK_INT(breaker_state(b), BREAKER_HALF_OPEN);
	breaker_success(b);		/* stale: no trial slot held */
	CHECK_INT(breaker_state(b), BREAKER_HALF_OPEN);
	breaker_failure(b);
	CHECK_INT(breaker_state(b), BREAKER_HALF_OPEN);
	CHECK(breaker_allow(b));	/* the slot is still free */
	breaker_success(b);
	CHECK_INT(breaker_state(b), BREAKER_CLOSED);
	breaker_free(b);
}

static void
t_half_open_bound(void)
{
	struct breaker *b = simple("bound", 1, 3, 5);

	CHECK(breaker_allow(b));
	breaker_failure(b);
	advance(1000);
	CHECK(breaker_allow(b));
	CHECK(breaker_allow(b));
	CHECK(breaker_allow(b));
	CHECK(!breaker_allow(b));
	CHECK(!breaker_allow(b));
	breaker_success(b);		/* gives one slot back */
	CHECK(breaker_allow(b));
	CHECK(!breaker_allow(b));
	breaker_success(b);
	breaker_success(b);
	breaker_success(b);
	CHECK_INT(breaker_state(b), BREAKER_HALF_OPEN);	/* 4 of 5 */
	CHECK(breaker_allow(b));
	breaker_success(b);
	CHECK_INT(breaker_state(b), BREAKER_CLOSED);
	breaker_free(b);
}

/* A trial that never reports must not wedge the breaker half-open. */
static void
t_lost_trial(void)
{
	struct breaker_conf c = {
		.name = "lost",
		.failure_threshold = 1,
		.open_ms = 1000,
		.half_open_max = 1,
		.trial_timeout_ms = 5000,
		.clock_ms = fake_clock,
	};
	struct breaker *b = breaker_new(&c);

	CHECK(breaker_allow(b));
	breaker_failure(b);
	advance(1000);
	CHECK(breaker_allow(b));	/* and it never reports */
	advance(4999);
	CHECK(!breaker_allow(b));
	CHECK_INT(breaker_state(b), BREAKER_HALF_OPEN);
	CHECK(breaker_retry_in_ms(b) > 0);
	CHECK(breaker_retry_in_ms(b) <= 1000);
	advance(1);
	CHECK_INT(breaker_state(b), BREAKER_OPEN);	/* presumed failed */
	CHECK_INT(breaker_retry_in_ms(b), 1000);
	advance(1000);
	CHECK(breaker_allow(b));
	breaker_success(b);
	CHECK_INT(breaker_state(b), BREAKER_CLOSED);
	breaker_free(b);
}

static void
t_metrics_render(void)
{
	struct breaker *b = simple("render", 1, 1, 1);
	struct buf out;

	CHECK(breaker_allow(b));
	breaker_failure(b);
	buf_init(&out);
	CHECK_INT(metric_render(&out), 0);
	CHECK(out.data != NULL &&
	    strstr(out.data, "grilld_breaker_state{breaker=\"render\"}") !=
	    NULL);
	CHECK(out.data != NULL && strstr(out.data,
	    "grilld_breaker_transitions_total{breaker=\"render\","
	    "to=\"open\"}") != NULL);
	buf_free(&out);
	breaker_free(b);
}

/*
 * Threads.
 */

#define NTHREADS 8

struct hammer {
	struct breaker	*b;
	unsigned	 seed;
	unsigned	 fail_pct;
	int		 iters;
	_Atomic int	*cur;		/* calls in flight */
	_Atomic int	*max_seen;
	unsigned long	 allowed;
};

static unsigned
lcg(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 16) & 0x7fff;
}

static void *
hammer_main(void *arg)
{
	struct hammer *h = arg;

	for (int i = 0; i < h->iters; i++) {
		unsigned r = lcg(&h->seed);

		if (!breaker_allow(h->b)) {
			if (r % 4 == 0)
				advance(1);
			if (r % 16 == 1)
				(void)breaker_retry_in_ms(h->b);
			continue;
		}
		h->allowed++;
		if (h->cur != NULL) {
			int n = atomic_fetch_add(h->cur, 1) + 1;
			int m = atomic_load(h->max_seen);

			while (n > m &&
			    !atomic_compare_exchange_weak(h->max_seen, &m, n))
				;
			if (r % 8 == 0)
				sched_yield();
			atomic_fetch_sub(h->cur, 1);
		}
		if ((unsigned)(r % 100) < h->fail_pct)
			breaker_failure(h->b);
		else
			breaker_success(h->b);
		if (r % 32 == 2)
			(void)breaker_state(h->b);
	}
	return NULL;
}

static void
run_hammer(struct breaker *b, unsigned fail_pct, _Atomic int *cur,
    _Atomic int *max_seen, unsigned long *allowed)
{
	pthread_t th[NTHREADS];
	struct hammer h[NTHREADS];

	*allowed = 0;
	for (int i = 0; i < NTHREADS; i++) {
		h[i] = (struct hammer){ .b = b, .seed = 77u * (unsigned)i + 1,
		    .fail_pct = fail_pct, .iters = 200000, .cur = cur,
		    .max_seen = max_seen };
		CHECK_INT(pthread_create(&th[i], NULL, hammer_main, &h[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		*allowed += h[i].allowed;
	}
}

/*
 * Never closes (success_threshold huge), so after the first trip every
 * allowed call is a half-open trial: the calls in flight must never
 * exceed half_open_max.
 */
static void
t_threads_trial_bound(void)
{
	struct breaker_conf c = {
		.name = "hammer-bound",
		.failure_threshold = 1,
		.open_ms = 5,
		.half_open_max = 3,
		.success_threshold = UINT_MAX,
		.trial_timeout_ms = INT64_C(1) << 40,
		.clock_ms = fake_clock,
	};
	struct breaker *b = breaker_new(&c);
	_Atomic int cur = 0, max_seen = 0;
	unsigned long allowed;

	CHECK(breaker_allow(b));
	breaker_failure(b);
	run_hammer(b, 10, &cur, &max_seen, &allowed);
	CHECK(atomic_load(&max_seen) <= 3);
	CHECK(atomic_load(&max_seen) >= 1);
	CHECK(allowed > 0);
	CHECK(breaker_state(b) != BREAKER_CLOSED);
	printf("# %lu trials, at most %d at once\n", allowed,
	    atomic_load(&max_seen));
	/* Every slot came back: exactly three trials fit now. */
	advance(5);
	CHECK_INT(breaker_state(b), BREAKER_HALF_OPEN);
	CHECK(breaker_allow(b));
	CHECK(breaker_allow(b));
	CHECK(breaker_allow(b));
	CHECK(!breaker_allow(b));
	breaker_free(b);
}

/* A realistic breaker under a flaky dependency, then it recovers. */
static void
t_threads_recover(void)
{
	struct breaker_conf c = {
		.name = "hammer-flaky",
		.failure_threshold = 5,
		.window = 20,
		.min_calls = 10,
		.failure_rate = 0.5,
		.open_ms = 3,
		.half_open_max = 2,
		.success_threshold = 3,
		.clock_ms = fake_clock,
	};
	struct breaker *b = breaker_new(&c);
	unsigned long allowed;
	int rounds = 0;

	run_hammer(b, 50, NULL, NULL, &allowed);
	CHECK(allowed > 0);
	CHECK(transitions("hammer-flaky", "open") >= 1);
	/* The dependency is healthy again. */
	while (breaker_state(b) != BREAKER_CLOSED && rounds++ < 100) {
		advance(3);
		while (breaker_allow(b) && breaker_state(b) != BREAKER_CLOSED)
			breaker_success(b);
	}
	CHECK_INT(breaker_state(b), BREAKER_CLOSED);
	CHECK_DBL(gauge_of("hammer-flaky"), 0, 0);
	CHECK(rounds <= 2);
	breaker_free(b);
}

int
main(void)
{
	log_setlevel(LOG_LVL_ERROR);	/* every transition is logged */
	UNIT_RUN(t_conf);
	UNIT_RUN(t_consecutive_trip);
	UNIT_RUN(t_recover);
	UNIT_RUN(t_reopen_then_close);
	UNIT_RUN(t_rate);
	UNIT_RUN(t_stale_results);
	UNIT_RUN(t_half_open_bound);
	UNIT_RUN(t_lost_trial);
	UNIT_RUN(t_metrics_render);
	UNIT_RUN(t_threads_trial_bound);
	UNIT_RUN(t_threads_recover);
	return unit_done();
}
