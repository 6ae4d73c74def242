/*
 * The writer thread: takes one batch at a time from the main thread and
 * stores it in InfluxDB, whatever it takes.
 *
 *   204        stored
 *   400        the points InfluxDB names are dead-lettered (the batch
 *              item is marked; the main thread writes the record), the
 *              rest is written again (InfluxDB already kept them: the
 *              writes are idempotent); a 400 that names no line (a field
 *              type conflict) splits the range in halves until the bad
 *              point is alone
 *   413        the range is split in halves
 *   404/500 for a missing database or policy: the setup runs again
 *   408, 429, 5xx, 401/403, transport errors: the same range again
 *              after a backoff (Retry-After honoured) behind a circuit
 *              breaker; nothing is acknowledged meanwhile and the main
 *              thread stops reading: the stream is the buffer
 *
 * The hand-over is a mutex and a condition variable around three
 * pointers: todo (submitted), doing, done (to collect). One batch at a
 * time, so the main thread fills the next one while this one is
 * written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "log.h"
#include "ingest.h"

#define WRITER_ANSWER_MAX	(4 * 1024 * 1024)	/* of a setup query */

struct span_range {
	size_t		 lo, hi;		/* items [lo, hi) */
};

struct writer {
	pthread_t	 thr;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	struct batch	*todo, *doing, *done;
	enum write_outcome outcome;
	bool		 stop;
	int64_t		 deadline;		/* monotonic ms, with stop */
	struct influx	*influx;
	struct breaker	*br;
	struct backoff	 bo;
	struct writer_health h;
	const struct grilld_conf *cf;
	struct buf	 body;
	struct span_range *stack;
	size_t		 nstack, capstack;
	struct log_limit ll;
	struct metric	*m_answers;
	struct metric_series *m_latency, *m_points, *m_stored, *m_batches;
	struct metric_series *m_retries, *m_splits;
};

static bool
giving_up(struct writer *w)
{
	bool r;

	/* Stopping with no batch in hand: nothing to finish, go at once. */
	pthread_mutex_lock(&w->mtx);
	r = w->stop && (util_mono_ms() >= w->deadline ||
	    (w->todo == NULL && w->doing == NULL));
	pthread_mutex_unlock(&w->mtx);
	return r;
}

/* For libcurl: a write in progress past the stop deadline is cut. */
static bool
cancel_write(void *arg)
{
	return giving_up(arg);
}

/* Sleeps up to ms, waking early when the writer must give up. */
static void
nap(struct writer *w, int64_t ms)
{
	int64_t end = util_mono_ms() + ms;

	while (!giving_up(w)) {
		int64_t left = end - util_mono_ms();

		if (left <= 0)
			return;
		util_sleep_ms(left < 50 ? left : 50);
	}
}

static void
record(struct writer *w, bool ok, int status, const char *err, double secs)
{
	char st[16];

	snprintf(st, sizeof(st), "%d", status);
	metric_inc(metric_with(w->m_answers, status ? st : "transport"));
	metric_observe(w->m_latency, secs);
	pthread_mutex_lock(&w->mtx);
	w->h.last_ok = ok;
	w->h.last_status = status;
	w->h.last_at = util_now_ns();
	w->h.last_latency_s = secs;
	if (ok)
		w->h.last_ok_at = w->h.last_at;
	util_strlcpy(w->h.last_error, err ? err : "", sizeof(w->h.last_error));
	w->h.breaker = breaker_state(w->br);
	pthread_mutex_unlock(&w->mtx);
}

static int
push(struct writer *w, size_t lo, size_t hi)
{
	if (w->nstack == w->capstack) {
		size_t ncap = w->capstack ? w->capstack * 2 : 32;
		struct span_range *n = realloc(w->stack, ncap * sizeof(*n));

		if (n == NULL)
			return -1;
		w->stack = n;
		w->capstack = ncap;
	}
	w->stack[w->nstack].lo = lo;
	w->stack[w->nstack].hi = hi;
	w->nstack++;
	return 0;
}

/* The body for items [lo, hi) that are not dead; NULL len 0: none. */
static const char *
body_of(struct writer *w, struct batch *b, size_t lo, size_t hi, size_t *len)
{
	if (lo == 0 && hi == b->n && b->ndead == 0) {
		*len = b->lp.len;
		return b->lp.data;
	}
	buf_reset(&w->body);
	for (size_t i = lo; i < hi; i++)
		if (!b->it[i].dead && buf_append(&w->body, b->lp.data +
		    b->it[i].lp_off, b->it[i].lp_len) == -1)
			return NULL;
	*len = w->body.len;
	return w->body.data ? w->body.data : "";
}

struct reject_arg {
	struct batch	*b;
	size_t		 lo, hi;
	int		 killed;
};

static void
on_reject(const char *line, size_t len, const char *reason, void *arg)
{
	struct reject_arg *ra = arg;
	char why[256];

	for (size_t i = ra->lo; i < ra->hi; i++) {
		struct bitem *it = &ra->b->it[i];

		if (it->dead || it->lp_len != len + 1 ||
		    memcmp(ra->b->lp.data + it->lp_off, line, len) != 0)
			continue;
		snprintf(why, sizeof(why), "InfluxDB refused the point: %s",
		    reason);
		batch_kill(ra->b, i, why);
		ra->killed++;
	}
}

static void
setup(struct writer *w)
{
	char err[512];

	while (!giving_up(w)) {
		if (influx_setup(w->influx, err, sizeof(err)) == 0) {
			pthread_mutex_lock(&w->mtx);
			w->h.setup_done = true;
			pthread_mutex_unlock(&w->mtx);
			log_info("influx: database %s, retention policies and "
			    "continuous queries in place", w->cf->influx.database);
			backoff_reset(&w->bo);
			return;
		}
		record(w, false, 0, err, 0);
		log_limited(&w->ll, 10000, LOG_LVL_WARN, "influx setup: %s", err);
		nap(w, backoff_next(&w->bo, -1));
	}
}

/* One range, until it is written or split; false when giving up. */
static bool
write_range(struct writer *w, struct batch *b, size_t lo, size_t hi)
{
	enum influx_result res;
	char msg[1024];
	const char *body;
	int64_t t0, ra;
	size_t len;
	int status;

	for (;;) {
		if (giving_up(w))
			return false;
		if ((body = body_of(w, b, lo, hi, &len)) == NULL) {
			nap(w, 100);
			continue;
		}
		if (len == 0)
			return true;
		if (!breaker_allow(w->br)) {
			int64_t ms = breaker_retry_in_ms(w->br);

			nap(w, ms > 0 && ms < 1000 ? ms : 100);
			continue;
		}
		t0 = util_mono_ns();
		res = influx_write(w->influx, body, len, &status, msg,
		    sizeof(msg), &ra);
		switch (res) {
		case INFLUX_OK:
			breaker_success(w->br);
			backoff_reset(&w->bo);
			record(w, true, status, NULL,
			    (double)(util_mono_ns() - t0) / 1e9);
			return true;
		case INFLUX_REJECTED: {
			struct reject_arg rarg = { b, lo, hi, 0 };

			breaker_success(w->br);
			record(w, true, status, msg,
			    (double)(util_mono_ns() - t0) / 1e9);
			log_limited(&w->ll, 10000, LOG_LVL_WARN, "influx: 400 on "
			    "%zu points: %.300s", hi - lo, msg);
			influx_parse_rejects(msg, on_reject, &rarg);
			if (rarg.killed > 0)
				continue;	/* the rest again */
			if (hi - lo == 1) {
				char why[512];

				snprintf(why, sizeof(why), "InfluxDB refused the "
				    "point: %.400s", msg);
				batch_kill(b, lo, why);
				return true;
			}
			metric_inc(w->m_splits);
			push(w, lo + (hi - lo) / 2, hi);
			push(w, lo, lo + (hi - lo) / 2);
			return true;
		}
		case INFLUX_TOO_LARGE:
			breaker_success(w->br);
			record(w, true, status, msg,
			    (double)(util_mono_ns() - t0) / 1e9);
			if (hi - lo == 1) {
				batch_kill(b, lo, "InfluxDB refused the point as "
				    "too large (413)");
				return true;
			}
			metric_inc(w->m_splits);
			push(w, lo + (hi - lo) / 2, hi);
			push(w, lo, lo + (hi - lo) / 2);
			return true;
		case INFLUX_NO_DB:
			breaker_failure(w->br);
			record(w, false, status, msg,
			    (double)(util_mono_ns() - t0) / 1e9);
			log_warnx("influx: %s: setting up again", msg);
			setup(w);
			continue;
		case INFLUX_DENIED:
		case INFLUX_RETRY:
			breaker_failure(w->br);
			record(w, false, status, msg,
			    (double)(util_mono_ns() - t0) / 1e9);
			metric_inc(w->m_retries);
			log_limited(&w->ll, 10000, LOG_LVL_WARN, "influx: write "
			    "of %zu points failed (%s%s%d): %s; retrying, "
			    "nothing acknowledged", hi - lo,
			    influx_result_name(res), status ? " " : "", status,
			    msg);
			nap(w, backoff_next(&w->bo, ra));
			continue;
		}
	}
}

static enum write_outcome
write_batch(struct writer *w, struct batch *b)
{
	w->nstack = 0;
	if (b->n > 0 && push(w, 0, b->n) == -1)
		return WRITE_ABANDONED;
	while (w->nstack > 0) {
		struct span_range r = w->stack[--w->nstack];

		if (!write_range(w, b, r.lo, r.hi))
			return WRITE_ABANDONED;
	}
	metric_inc(w->m_batches);
	metric_observe(w->m_points, (double)b->n);
	metric_add(w->m_stored, (double)(b->n - b->ndead));
	pthread_mutex_lock(&w->mtx);
	w->h.batches++;
	w->h.points += b->n - b->ndead;
	pthread_mutex_unlock(&w->mtx);
	return WRITE_STORED;
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct batch *b;
	enum write_outcome out;

	setup(w);	/* at once: readiness waits for it */
	pthread_mutex_lock(&w->mtx);
	for (;;) {
		while (w->todo == NULL && !w->stop)
			pthread_cond_wait(&w->cv, &w->mtx);
		if (w->todo == NULL && w->stop)
			break;
		b = w->doing = w->todo;
		w->todo = NULL;
		pthread_mutex_unlock(&w->mtx);

		if (!w->h.setup_done)
			setup(w);
		out = w->h.setup_done ? write_batch(w, b) : WRITE_ABANDONED;

		pthread_mutex_lock(&w->mtx);
		w->doing = NULL;
		w->done = b;
		w->outcome = out;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mtx);
	return NULL;
}

struct writer *
writer_start(const struct grilld_conf *cf, char *err, size_t errlen)
{
	static const double sizes[] = { 1, 10, 100, 500, 1000, 2000, 5000,
		10000, 50000 };
	struct breaker_conf bc = {
		.name = "influx",
		.failure_threshold = 5,
		.open_ms = 5000,
		.half_open_max = 1,
		.success_threshold = 1,
	};
	struct backoff_conf boc = { .base_ms = 100, .cap_ms = 5000 };
	struct writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->cf = cf;
	buf_init(&w->body);
	pthread_mutex_init(&w->mtx, NULL);
	util_cond_init(&w->cv);
	backoff_init(&w->bo, &boc);
	if ((w->influx = influx_new(cf, &(struct influx_opts){
	    .agent = "grilld-ingest",
	    .gzip = influx_gzip_wanted(cf->ingest.gzip, cf->influx.url),
	    .answer_max = WRITER_ANSWER_MAX }, err, errlen)) == NULL)
		goto fail;
	influx_set_cancel(w->influx, cancel_write, w);
	if ((w->br = breaker_new(&bc)) == NULL) {
		snprintf(err, errlen, "breaker_new failed");
		goto fail;
	}
	w->m_answers = metric_counter("grilld_ingest_influx_answers_total",
	    "InfluxDB write answers, by HTTP status (transport: none).",
	    "status");
	w->m_latency = metric_with(metric_histogram(
	    "grilld_ingest_write_seconds", "Time of one InfluxDB write.", NULL,
	    metric_latency_bounds, metric_latency_nbounds));
	w->m_points = metric_with(metric_histogram("grilld_ingest_batch_points",
	    "Points per batch handed to InfluxDB.", NULL, sizes,
	    ARRAY_LEN(sizes)));
	w->m_stored = metric_with(metric_counter("grilld_ingest_stored_total",
	    "Readings stored in InfluxDB.", NULL));
	w->m_batches = metric_with(metric_counter("grilld_ingest_batches_total",
	    "Batches stored in InfluxDB.", NULL));
	w->m_retries = metric_with(metric_counter(
	    "grilld_ingest_write_retries_total", "Writes retried after an "
	    "outage answer or a transport error.", NULL));
	w->m_splits = metric_with(metric_counter(
	    "grilld_ingest_write_splits_total", "Ranges split to find a bad "
	    "point or fit InfluxDB's size limit.", NULL));
	if (pthread_create(&w->thr, NULL, writer_main, w) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		goto fail;
	}
	return w;
fail:
	influx_free(w->influx);
	breaker_free(w->br);
	buf_free(&w->body);
	free(w);
	return NULL;
}

bool
writer_submit(struct writer *w, struct batch *b)
{
	bool ok = false;

	pthread_mutex_lock(&w->mtx);
	if (w->todo == NULL && w->doing == NULL && w->done == NULL &&
	    !w->stop) {
		w->todo = b;
		ok = true;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mtx);
	return ok;
}

bool
writer_busy(struct writer *w)
{
	bool busy;

	pthread_mutex_lock(&w->mtx);
	busy = w->todo != NULL || w->doing != NULL || w->done != NULL;
	pthread_mutex_unlock(&w->mtx);
	return busy;
}

struct batch *
writer_collect(struct writer *w, int64_t wait_ms, enum write_outcome *out)
{
	struct batch *b;
	int64_t end = util_mono_ms() + wait_ms;

	pthread_mutex_lock(&w->mtx);
	if (w->done == NULL && wait_ms > 0 && (w->todo || w->doing)) {
		while (w->done == NULL && (w->todo || w->doing))
			if (util_cond_wait_ms(&w->cv, &w->mtx, end -
			    util_mono_ms()) == ETIMEDOUT)
				break;
	}
	b = w->done;
	*out = b ? w->outcome : WRITE_NONE;
	w->done = NULL;
	pthread_mutex_unlock(&w->mtx);
	return b;
}

void
writer_health(struct writer *w, struct writer_health *h)
{
	pthread_mutex_lock(&w->mtx);
	*h = w->h;
	pthread_mutex_unlock(&w->mtx);
	h->breaker = breaker_state(w->br);
}

/*
 * Stops taking batches; a batch being written is given up at the
 * deadline (monotonic ms) unless stored before. Joins the thread: the
 * last batch, stored or abandoned, is then collected with
 * writer_collect() before writer_free().
 */
void
writer_stop(struct writer *w, int64_t deadline)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mtx);
	w->stop = true;
	w->deadline = deadline;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mtx);
	pthread_join(w->thr, NULL);
}

void
writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	influx_free(w->influx);
	breaker_free(w->br);
	buf_free(&w->body);
	free(w->stack);
	pthread_mutex_destroy(&w->mtx);
	pthread_cond_destroy(&w->cv);
	free(w);
}
