/*
 * timeline: when a device records, uploads and archives.
 *
 * Sample k of a device is recorded at t0 + k * rec (real wall-clock
 * time, so InfluxDB takes the timestamps) and stands for cook time
 * cook_offset + k * rec * speed. Upload j happens at t0 + j * upl and
 * carries every sample recorded by then: the channel documents show the
 * last uploaded sample. Session n holds the samples recorded in [t0 +
 * n * span, t0 + (n+1) * span); its archive (one document and one file)
 * appears only once the session ended, never while it runs.
 *
 * A device's clock can be stepped (POST /admin/clock, for the fault
 * suite): from the next sample on, its timestamps are off the real
 * time by the step, as after an RTC reset or a DST change; a second
 * step sets it right again. Only the timestamps move: which sample is
 * recorded and uploaded when stays on the real clock.
 *
 * A device can be paused (POST /admin/pause, for the fault suite's low
 * traffic without a restart): from the next sample on it records
 * nothing until it is resumed, as a device switched off. Its sessions
 * go on (their archives hold the samples recorded), its documents show
 * the last sample uploaded, and the oracle lists only what was recorded.
 * The pauses are kept in twsim.state_file (state.c).
 */
#include "twsim.h"

static pthread_mutex_t step_mu = PTHREAD_MUTEX_INITIALIZER;

/*
 * An RFX Meat probe uploads on its heartbeat (upload_interval) and, in
 * between, as soon as a channel moved by TW_DELTA_TRIGGER since the last
 * upload (temperatureDeltaTrigger): the samples after the heartbeat are
 * scanned, a heartbeat's worth at most.
 */
static void
delta_uploads(const struct tw_world *w, const struct tw_device *d,
    struct tw_clock *c)
{
	double last[TW_MAX_CHANNELS];
	bool had[TW_MAX_CHANNELS];
	struct tw_sample s;

	for (int ch = 0; ch < d->nchannels; ch++) {
		cook_sample(w, d, ch, c->upl_k, &s);
		last[ch] = s.value;
		had[ch] = s.present;
	}
	for (int64_t k = c->upl_k + 1; k <= c->rec_k; k++) {
		bool moved = false;

		if (!timeline_recorded(d, k))
			continue;
		for (int ch = 0; ch < d->nchannels && !moved; ch++) {
			cook_sample(w, d, ch, k, &s);
			moved = s.present != had[ch] || (s.present &&
			    (s.value - last[ch] >= TW_DELTA_TRIGGER ||
			    last[ch] - s.value >= TW_DELTA_TRIGGER));
		}
		if (!moved)
			continue;
		for (int ch = 0; ch < d->nchannels; ch++) {
			cook_sample(w, d, ch, k, &s);
			last[ch] = s.value;
			had[ch] = s.present;
		}
		c->upl_k = k;
		c->upl_ms = timeline_sample_ms(w, d, k);
	}
}

void
timeline_at(const struct tw_world *w, const struct tw_device *d,
    int64_t now_ms, struct tw_clock *c)
{
	int64_t el = now_ms - w->t0_ms, j;

	if (el < 0) {
		c->rec_k = c->upl_k = -1;
		c->upl_ms = w->t0_ms;
		return;
	}
	c->rec_k = el / d->rec_ms;
	j = el / d->upl_ms;
	c->upl_ms = w->t0_ms + j * d->upl_ms;
	c->upl_k = timeline_last_recorded(d, j * d->upl_ms / d->rec_ms);
	if (d->model == MODEL_RFX_MEAT && c->upl_k >= 0)
		delta_uploads(w, d, c);
	c->rec_k = timeline_last_recorded(d, c->rec_k);
}

/* Whether sample k was recorded: it is in no pause. */
bool
timeline_recorded(const struct tw_device *d, int64_t k)
{
	int n = atomic_load_explicit(&d->npauses, memory_order_acquire);

	for (int i = n - 1; i >= 0; i--)
		if (k >= d->pause_k[i])
			return k >= atomic_load_explicit(&d->pause_end[i],
			    memory_order_acquire);
	return true;
}

/* The last sample recorded at or before k; -1: none. */
int64_t
timeline_last_recorded(const struct tw_device *d, int64_t k)
{
	int n = atomic_load_explicit(&d->npauses, memory_order_acquire);

	for (int i = n - 1; i >= 0 && k >= 0; i--) {
		if (k < d->pause_k[i])
			continue;
		if (k >= atomic_load_explicit(&d->pause_end[i],
		    memory_order_acquire))
			return k;
		k = d->pause_k[i] - 1;	/* before the pause */
	}
	return k;
}

/* How many samples first..last were recorded. */
int64_t
timeline_recorded_between(const struct tw_device *d, int64_t first,
    int64_t last)
{
	int n = atomic_load_explicit(&d->npauses, memory_order_acquire);
	int64_t count = last >= first ? last - first + 1 : 0;

	for (int i = 0; i < n; i++) {
		int64_t lo = d->pause_k[i], hi = atomic_load_explicit(
		    &d->pause_end[i], memory_order_acquire) - 1;

		if (lo < first)
			lo = first;
		if (hi > last)
			hi = last;
		if (hi >= lo)
			count -= hi - lo + 1;
	}
	return count;
}

/* Whether the device is paused now. */
bool
timeline_paused(const struct tw_device *d)
{
	int n = atomic_load_explicit(&d->npauses, memory_order_acquire);

	return n > 0 && atomic_load_explicit(&d->pause_end[n - 1],
	    memory_order_acquire) == INT64_MAX;
}

/*
 * Pauses the device (on) from the first sample recorded after now_ms,
 * or resumes it from there. 1 when that changed it, 0 when it already
 * was so, -1 when it was paused too often.
 */
int
timeline_pause(const struct tw_world *w, struct tw_device *d, int64_t now_ms,
    bool on)
{
	int64_t el = now_ms - w->t0_ms, next = el < 0 ? 0 : el / d->rec_ms + 1;
	int n, rc = 0;

	pthread_mutex_lock(&step_mu);
	n = atomic_load_explicit(&d->npauses, memory_order_relaxed);
	if (n > 0 && next < d->pause_k[n - 1])
		next = d->pause_k[n - 1];	/* our clock went back */
	if (on && (n == 0 || d->pause_end[n - 1] != INT64_MAX)) {
		if (n > 0 && next < d->pause_end[n - 1])
			next = d->pause_end[n - 1];
		if (n == TW_PAUSES) {
			rc = -1;
		} else {
			d->pause_k[n] = next;
			atomic_store_explicit(&d->pause_end[n], INT64_MAX,
			    memory_order_relaxed);
			atomic_store_explicit(&d->npauses, n + 1,
			    memory_order_release);
			rc = 1;
		}
	} else if (!on && n > 0 && d->pause_end[n - 1] == INT64_MAX) {
		atomic_store_explicit(&d->pause_end[n - 1], next,
		    memory_order_release);
		rc = 1;
	}
	pthread_mutex_unlock(&step_mu);
	return rc;
}

/*
 * A pause kept in the state file, samples k to end - 1 (INT64_MAX:
 * open), after the others. -1 when it does not follow them or there are
 * too many.
 */
int
timeline_pause_load(struct tw_device *d, int64_t k, int64_t end)
{
	int n = atomic_load_explicit(&d->npauses, memory_order_relaxed);

	if (n == TW_PAUSES || k < 0 || end < k || (n > 0 &&
	    (d->pause_end[n - 1] == INT64_MAX || k < d->pause_end[n - 1])))
		return -1;
	d->pause_k[n] = k;
	atomic_store_explicit(&d->pause_end[n], end, memory_order_relaxed);
	atomic_store_explicit(&d->npauses, n + 1, memory_order_release);
	return 0;
}

int64_t
timeline_sample_ms(const struct tw_world *w, const struct tw_device *d,
    int64_t k)
{
	int n = atomic_load_explicit(&d->nsteps, memory_order_acquire);
	int64_t off = 0;

	for (int i = 0; i < n && d->step_k[i] <= k; i++)
		off = d->step_ms[i];
	return w->t0_ms + k * d->rec_ms + off;
}

/* Whether the device's clock was ever stepped. */
bool
timeline_stepped(const struct tw_device *d)
{
	return atomic_load_explicit(&d->nsteps, memory_order_acquire) > 0;
}

/*
 * Steps the device's clock by step_ms from the first sample recorded
 * after now_ms. Its offset from the real time afterwards in *offset_ms,
 * the sample's real time in *from_ms. -1 when it was stepped too often.
 */
int
timeline_step(const struct tw_world *w, struct tw_device *d,
    int64_t now_ms, int64_t step_ms, int64_t *from_ms, int64_t *offset_ms)
{
	struct tw_clock c;
	int n, rc = -1;

	pthread_mutex_lock(&step_mu);
	n = atomic_load_explicit(&d->nsteps, memory_order_relaxed);
	if (n < TW_CLOCK_STEPS) {
		timeline_at(w, d, now_ms, &c);
		d->step_k[n] = c.rec_k + 1;
		d->step_ms[n] = (n > 0 ? d->step_ms[n - 1] : 0) + step_ms;
		/* Two steps before the same sample: the later one wins. */
		*from_ms = w->t0_ms + d->step_k[n] * d->rec_ms;
		*offset_ms = d->step_ms[n];
		atomic_store_explicit(&d->nsteps, n + 1, memory_order_release);
		rc = 0;
	}
	pthread_mutex_unlock(&step_mu);
	return rc;
}

double
timeline_cook_s(const struct tw_world *w, const struct tw_device *d,
    int64_t k)
{
	return d->cook_offset_s + (double)k * (double)d->rec_ms / 1000.0 *
	    w->speed;
}

/* The first sample recorded at or after ms. */
int64_t
timeline_first_after(const struct tw_world *w, const struct tw_device *d,
    int64_t ms)
{
	if (ms <= w->t0_ms)
		return 0;
	return (ms - w->t0_ms + d->rec_ms - 1) / d->rec_ms;
}

/* The archive window of sample k. */
int64_t
timeline_window(const struct tw_device *d, int64_t k)
{
	return k * d->rec_ms / d->archive_ms;
}

/* The first sample of archive window n. */
int64_t
timeline_window_first(const struct tw_device *d, int64_t n)
{
	return (n * d->archive_ms + d->rec_ms - 1) / d->rec_ms;
}

/*
 * The minimum and maximum of channel ch over samples 0..upto (NO PROBE
 * samples left out), folded in incrementally under the device's lock so
 * that each sample is computed once. Two requests racing across an
 * upload may see the extremes of the later one: the cache never goes
 * back.
 */
void
timeline_extremes(const struct tw_world *w, struct tw_device *d, int ch,
    int64_t upto, struct tw_extremes *out)
{
	struct tw_extremes *e = &d->ch[ch].ext;
	struct tw_sample s;

	pthread_mutex_lock(&d->ext_mu);
	for (int64_t k = e->upto + 1; k <= upto; k++) {
		e->upto = k;
		if (!timeline_recorded(d, k))
			continue;
		cook_sample(w, d, ch, k, &s);
		if (!s.present)
			continue;
		if (!e->any || s.value < e->min) {
			e->min = s.value;
			e->min_k = k;
		}
		if (!e->any || s.value > e->max) {
			e->max = s.value;
			e->max_k = k;
		}
		e->any = true;
	}
	*out = *e;
	pthread_mutex_unlock(&d->ext_mu);
}

/*
 * When the archive of session n is created: the session ends at t0 +
 * (n+1) * span, its last sample is uploaded by the next upload at the
 * latest, and the cloud writes the archive archive_delay after that
 * (the published test data shows createdOn hours after end).
 */
int64_t
timeline_archive_created(const struct tw_world *w, const struct tw_device *d,
    int64_t n)
{
	return w->t0_ms + (n + 1) * d->archive_ms + d->upl_ms +
	    d->archive_delay_ms;
}

/* How many sessions have an archive at now: sessions 0 .. that - 1. */
int64_t
timeline_archived(const struct tw_world *w, const struct tw_device *d,
    int64_t now_ms)
{
	int64_t el = now_ms - w->t0_ms - d->upl_ms - d->archive_delay_ms;

	return el < d->archive_ms ? 0 : el / d->archive_ms;
}

/* The index of channel document number n, or -1 (a hole, or past). */
int
timeline_channel_index(const struct tw_device *d, int n)
{
	for (int i = 0; i < d->nchannels; i++)
		if (d->ch[i].number == n)
			return i;
	return -1;
}
