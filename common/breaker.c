#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

struct breaker {
	pthread_mutex_t		 mtx;
	char			 name[BREAKER_NAME_MAX];
	struct breaker_conf	 conf;		/* defaults filled in */
	enum breaker_state	 state;

	/* Closed: the trip rules. */
	unsigned		 consec;	/* consecutive failures */
	uint8_t			*ring;		/* 1 = failure */
	unsigned		 ring_pos;
	unsigned		 ring_n;
	unsigned		 ring_fail;

	int64_t			 opened_at;
	unsigned		 trials;	/* trial slots held */
	int64_t			 trial_at;	/* last slot handed out */
	unsigned		 trial_ok;	/* successes this half-open */

	struct metric_series	*m_state;
	struct metric_series	*m_to[3];
};

static const char *const state_names[] = { "closed", "open", "half-open" };

const char *
breaker_state_name(enum breaker_state s)
{
	if ((unsigned)s >= ARRAY_LEN(state_names))
		return "unknown";
	return state_names[s];
}

const char *
breaker_name(const struct breaker *b)
{
	return b->name;
}

static int
breaker_conf_check(struct breaker_conf *c)
{
	size_t n;

	if (c->name == NULL || (n = strlen(c->name)) == 0 ||
	    n >= BREAKER_NAME_MAX)
		return -1;
	if (c->failure_threshold == 0 && c->window == 0)
		return -1;
	if (c->window > BREAKER_WINDOW_MAX)
		return -1;
	if (c->window > 0) {
		if (!(c->failure_rate > 0.0 && c->failure_rate <= 1.0))
			return -1;
		if (c->min_calls == 0)
			c->min_calls = c->window;
		if (c->min_calls > c->window)
			return -1;
	}
	if (c->open_ms <= 0 || c->trial_timeout_ms < 0)
		return -1;
	if (c->half_open_max == 0)
		c->half_open_max = 1;
	if (c->success_threshold == 0)
		c->success_threshold = 1;
	if (c->trial_timeout_ms == 0)
		c->trial_timeout_ms = c->open_ms;
	if (c->clock_ms == NULL)
		c->clock_ms = util_mono_ms;
	return 0;
}

struct breaker *
breaker_new(const struct breaker_conf *conf)
{
	struct breaker *b;
	struct metric *fam;

	if (conf == NULL || (b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->conf = *conf;
	if (breaker_conf_check(&b->conf) == -1)
		goto fail_free;
	util_strlcpy(b->name, conf->name, sizeof(b->name));
	b->conf.name = b->name;
	if (b->conf.window > 0 &&
	    (b->ring = calloc(b->conf.window, sizeof(*b->ring))) == NULL)
		goto fail_free;
	if (pthread_mutex_init(&b->mtx, NULL) != 0)
		goto fail_free_ring;
	b->state = BREAKER_CLOSED;

	fam = metric_gauge("grilld_breaker_state",
	    "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
	    "breaker");
	if (fam != NULL && (b->m_state = metric_with(fam, b->name)) != NULL)
		metric_set(b->m_state, BREAKER_CLOSED);
	fam = metric_counter("grilld_breaker_transitions_total",
	    "Circuit breaker state changes, by the state entered.",
	    "breaker,to");
	for (size_t i = 0; fam != NULL && i < ARRAY_LEN(b->m_to); i++)
		b->m_to[i] = metric_with(fam, b->name, state_names[i]);
	return b;

fail_free_ring:
	free(b->ring);
fail_free:
	free(b);
	return NULL;
}

void
breaker_free(struct breaker *b)
{
	if (b == NULL)
		return;
	pthread_mutex_destroy(&b->mtx);
	free(b->ring);
	free(b);
}

/* With the mutex held. */
static void
breaker_set(struct breaker *b, enum breaker_state to, int64_t now)
{
	enum breaker_state from = b->state;

	b->state = to;
	switch (to) {
	case BREAKER_CLOSED:
		b->consec = 0;
		b->ring_pos = b->ring_n = b->ring_fail = 0;
		b->trials = 0;
		break;
	case BREAKER_OPEN:
		b->opened_at = now;
		break;
	case BREAKER_HALF_OPEN:
		b->trial_ok = 0;
		break;
	}
	if (b->m_state != NULL)
		metric_set(b->m_state, to);
	if (b->m_to[to] != NULL)
		metric_inc(b->m_to[to]);
	if (to == BREAKER_OPEN)
		log_warnx("breaker %s: %s -> open for %lld ms", b->name,
		    breaker_state_name(from), (long long)b->conf.open_ms);
	else
		log_info("breaker %s: %s -> %s", b->name,
		    breaker_state_name(from), breaker_state_name(to));
}

/* The changes time alone makes; with the mutex held. */
static void
breaker_tick(struct breaker *b, int64_t now)
{
	const struct breaker_conf *c = &b->conf;

	if (b->state == BREAKER_OPEN && now - b->opened_at >= c->open_ms) {
		/* Slots held past the trial time-out are presumed lost. */
		if (b->trials > 0 && now - b->trial_at >= c->trial_timeout_ms)
			b->trials = 0;
		breaker_set(b, BREAKER_HALF_OPEN, now);
	}
	if (b->state == BREAKER_HALF_OPEN && b->trials >= c->half_open_max &&
	    now - b->trial_at >= c->trial_timeout_ms) {
		log_warnx("breaker %s: %u trial calls did not report within "
		    "%lld ms", b->name, b->trials,
		    (long long)c->trial_timeout_ms);
		b->trials = 0;
		breaker_set(b, BREAKER_OPEN, now);
	}
}

/* Records a result while closed; true when the breaker must trip. */
static bool
breaker_record(struct breaker *b, bool ok)
{
	const struct breaker_conf *c = &b->conf;

	b->consec = ok ? 0 : b->consec + 1;
	if (c->failure_threshold > 0 && b->consec >= c->failure_threshold)
		return true;
	if (c->window == 0)
		return false;
	if (b->ring_n == c->window)
		b->ring_fail -= b->ring[b->ring_pos];
	else
		b->ring_n++;
	b->ring[b->ring_pos] = ok ? 0 : 1;
	b->ring_fail += b->ring[b->ring_pos];
	b->ring_pos = (b->ring_pos + 1) % c->window;
	return b->ring_n >= c->min_calls &&
	    (double)b->ring_fail / b->ring_n >= c->failure_rate;
}

bool
breaker_allow(struct breaker *b)
{
	bool ok = false;
	int64_t now;

	pthread_mutex_lock(&b->mtx);
	now = b->conf.clock_ms();
	breaker_tick(b, now);
	switch (b->state) {
	case BREAKER_CLOSED:
		ok = true;
		break;
	case BREAKER_OPEN:
		break;
	case BREAKER_HALF_OPEN:
		if (b->trials < b->conf.half_open_max) {
			b->trials++;
			b->trial_at = now;
			ok = true;
		}
		break;
	}
	pthread_mutex_unlock(&b->mtx);
	return ok;
}

static void
breaker_report(struct breaker *b, bool ok)
{
	int64_t now;

	pthread_mutex_lock(&b->mtx);
	now = b->conf.clock_ms();
	breaker_tick(b, now);
	switch (b->state) {
	case BREAKER_CLOSED:
		if (breaker_record(b, ok))
			breaker_set(b, BREAKER_OPEN, now);
		break;
	case BREAKER_OPEN:
		/* A trial that ended after another one reopened it. */
		if (b->trials > 0)
			b->trials--;
		break;
	case BREAKER_HALF_OPEN:
		if (b->trials == 0)
			break;		/* allowed before it tripped */
		b->trials--;
		if (!ok)
			breaker_set(b, BREAKER_OPEN, now);
		else if (++b->trial_ok >= b->conf.success_threshold)
			breaker_set(b, BREAKER_CLOSED, now);
		break;
	}
	pthread_mutex_unlock(&b->mtx);
}

void
breaker_success(struct breaker *b)
{
	breaker_report(b, true);
}

void
breaker_failure(struct breaker *b)
{
	breaker_report(b, false);
}

enum breaker_state
breaker_state(struct breaker *b)
{
	enum breaker_state s;

	pthread_mutex_lock(&b->mtx);
	breaker_tick(b, b->conf.clock_ms());
	s = b->state;
	pthread_mutex_unlock(&b->mtx);
	return s;
}

int64_t
breaker_retry_in_ms(struct breaker *b)
{
	const struct breaker_conf *c = &b->conf;
	int64_t now, ms = 0;

	pthread_mutex_lock(&b->mtx);
	now = c->clock_ms();
	breaker_tick(b, now);
	switch (b->state) {
	case BREAKER_CLOSED:
		break;
	case BREAKER_OPEN:
		ms = b->opened_at + c->open_ms - now;
		break;
	case BREAKER_HALF_OPEN:
		if (b->trials < c->half_open_max)
			break;
		ms = b->trial_at + c->trial_timeout_ms - now;
		if (ms > c->open_ms)
			ms = c->open_ms;
		break;
	}
	pthread_mutex_unlock(&b->mtx);
	return ms > 0 ? ms : 0;
}
