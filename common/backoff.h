/*
 * backoff: exponential backoff with full jitter, a cap, a number of
 * tries and a deadline, honouring a server's Retry-After.
 *
 * The delay before retry number n (n = 0 for the first retry) is drawn
 * uniformly from [0, min(cap_ms, base_ms * 2^n)]: it starts from zero
 * and the clients that failed together spread out. A Retry-After
 * raises the delay to at least what the server asked for. backoff_next()
 * returns -1, and the caller gives up, when max_tries tries have been
 * made or when the delay would end past the deadline (budget_ms after
 * backoff_init() or backoff_reset()); a delay that would overrun the
 * deadline is shortened to end on it, unless that is shorter than the
 * server's Retry-After.
 *
 * Usage:
 *	backoff_init(&bo, &conf);
 *	for (;;) {
 *		if (try() == 0)
 *			break;
 *		if ((ms = backoff_next(&bo, retry_after_ms)) == -1)
 *			give up;
 *		sleep ms;
 *	}
 *
 * Thread-safety: a struct backoff belongs to one thread at a time (it is
 * plain data the caller owns; no allocation). backoff_rand() uses a
 * per-thread xorshift64* state seeded on first use from getrandom(2),
 * the time and the thread; backoff_seed() fixes the calling thread's
 * sequence for tests. It is not for secrets.
 */
#ifndef GRILLD_BACKOFF_H
#define GRILLD_BACKOFF_H

#include <stdint.h>

/* Longest wait a Retry-After may impose: 1 hour. */
#define BACKOFF_RETRY_AFTER_MAX_MS	(INT64_C(3600) * 1000)

struct backoff_conf {
	int64_t		 base_ms;	/* > 0 */
	int64_t		 cap_ms;	/* >= base_ms */
	unsigned	 max_tries;	/* the first try included; 0: no limit */
	int64_t		 budget_ms;	/* 0: no deadline */
	int64_t		(*clock_ms)(void);	/* NULL: util_mono_ms */
};

struct backoff {
	struct backoff_conf	 conf;
	unsigned		 tries;		/* failed tries so far */
	int64_t			 deadline;	/* monotonic ms; 0: none */
};

/*
 * Copies the conf and starts the clock of the budget. Returns -1 when
 * the conf is invalid (base_ms <= 0, cap_ms < base_ms, budget_ms < 0).
 */
int	backoff_init(struct backoff *, const struct backoff_conf *);
/* After a success: tries back to zero, a fresh budget. */
void	backoff_reset(struct backoff *);
/*
 * Counts one failed try and returns the ms to wait before the next one,
 * or -1 when no try is left. retry_after_ms < 0 means none was given.
 */
int64_t	backoff_next(struct backoff *, int64_t);
/* Failed tries counted so far (calls to backoff_next()). */
unsigned backoff_tries(const struct backoff *);

uint64_t backoff_rand(void);
/* [0, n], uniform. */
uint64_t backoff_rand_upto(uint64_t);
void	backoff_seed(uint64_t);

/*
 * A Retry-After value: delay-seconds ("120") or an HTTP-date
 * (IMF-fixdate "Wed, 21 Oct 2015 07:28:00 GMT", or the obsolete RFC 850
 * and asctime forms, which RFC 9110 requires recipients to accept),
 * with optional surrounding white space. Returns the wait in ms: 0 for a
 * date in the past, at most BACKOFF_RETRY_AFTER_MAX_MS; or -1 when the
 * value is not valid (NULL, empty, negative, fractional, garbage).
 * now_unix_s is the current wall-clock time.
 */
int64_t	backoff_parse_retry_after(const char *, int64_t);

#endif
