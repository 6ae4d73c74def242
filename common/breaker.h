/*
 * breaker: a circuit breaker in front of one dependency.
 *
 * Closed: every call goes ahead; each result is recorded. The breaker
 * trips (opens) after failure_threshold consecutive failures, or when
 * the failure rate over the last `window` results reaches failure_rate
 * once at least min_calls results are in that window. Either rule may
 * be off (0), not both.
 *
 * Open: no call goes ahead for open_ms. After that the breaker is
 * half-open.
 *
 * Half-open: at most half_open_max trial calls at a time; each
 * breaker_allow() that returns true reserves a trial slot, which the
 * next breaker_success() or breaker_failure() gives back. Any trial
 * failure reopens the breaker for another open_ms; success_threshold
 * trial successes close it. A trial that never reports does not wedge
 * the breaker: when every slot has been held for trial_timeout_ms
 * (default open_ms) the trials are presumed failed and it reopens, so a
 * breaker always tries again after a bounded time.
 *
 * Results carry no ticket, so they are attributed by state: in closed
 * they are recorded; in open and half-open, a result reported while no
 * trial slot is held comes from a call allowed before the breaker
 * tripped and is ignored (a late success of an old call does not close
 * the breaker). Slots stay held across half-open -> open -> half-open,
 * so slow trials keep counting against the bound until they report or
 * trial_timeout_ms passes (a trial slower than that may overlap the
 * next ones). Every breaker_allow() that returned true must be followed
 * by exactly one breaker_success() or breaker_failure().
 *
 * Changes that time alone makes (open -> half-open, trials presumed
 * lost) happen lazily, in the next call on the breaker; until then the
 * gauge shows the old state.
 *
 * State changes are exported as the gauge grilld_breaker_state{breaker}
 * (0 closed, 1 open, 2 half-open) and the counter
 * grilld_breaker_transitions_total{breaker,to}, and logged. Breakers
 * with the same name share those series.
 *
 * Thread-safety: every function may be called from any thread; each
 * breaker has its own mutex and the clock is called with it held.
 * Ownership: breaker_new() copies what it needs from the conf (the name
 * included); the caller owns the breaker and frees it with
 * breaker_free() once no other thread uses it.
 */
#ifndef GRILLD_BREAKER_H
#define GRILLD_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#define BREAKER_NAME_MAX	64	/* longer names are refused */
#define BREAKER_WINDOW_MAX	4096

enum breaker_state {
	BREAKER_CLOSED = 0,
	BREAKER_OPEN = 1,
	BREAKER_HALF_OPEN = 2
};

struct breaker_conf {
	const char	*name;			/* label value, required */
	unsigned	 failure_threshold;	/* consecutive; 0: rule off */
	unsigned	 window;		/* last N results; 0: rate off */
	unsigned	 min_calls;		/* 0: window */
	double		 failure_rate;		/* (0, 1], with window */
	int64_t		 open_ms;		/* > 0 */
	unsigned	 half_open_max;		/* concurrent trials; 0: 1 */
	unsigned	 success_threshold;	/* to close; 0: 1 */
	int64_t		 trial_timeout_ms;	/* 0: open_ms */
	int64_t		(*clock_ms)(void);	/* NULL: util_mono_ms */
};

struct breaker;

/* Returns NULL when the conf is invalid or memory ran out. */
struct breaker	*breaker_new(const struct breaker_conf *);
void		 breaker_free(struct breaker *);		/* NULL ok */

/* true: make the call, then report it. false: fail fast. */
bool		 breaker_allow(struct breaker *);
void		 breaker_success(struct breaker *);
void		 breaker_failure(struct breaker *);

enum breaker_state breaker_state(struct breaker *);
/* "closed", "open", "half-open" */
const char	*breaker_state_name(enum breaker_state);
/*
 * 0 when breaker_allow() would return true now; else the ms until it
 * may: exact when open; when half-open with every slot taken, a hint
 * (the time until the trials would be presumed lost, at most open_ms).
 * For error messages and Retry-After.
 */
int64_t		 breaker_retry_in_ms(struct breaker *);
const char	*breaker_name(const struct breaker *);

#endif
