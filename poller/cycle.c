/*
 * The poll cycle. Every poller.interval (with jitter) every known channel
 * of every device of every account this poller holds is fetched, with
 * the device document for its state, all concurrently: fetch.c bounds how
 * many are on the wire (poller.concurrency) and the pump hands it
 * devices as fast as it takes them. A device is done when all its requests came back, whatever
 * they said: one that fails holds no other up, and its channels are
 * simply fetched again next cycle (their seen marks did not move).
 *
 * A channel yields a reading when its lastTelemetrySaved moved past its
 * seen mark, emitted at once: live first. When the jump is longer than
 * the device's recording interval (or the channel was never seen), the
 * points in between are a gap, filled later from the session archives
 * once one covers it (archive.c), beside the cycle.
 *
 * Each device's own schedule (poller.schedule): once a device was polled,
 * it is polled again when its next upload is due, lastTelemetrySaved +
 * transmitIntervalInSeconds (an RFX Meat probe: its heartbeat, and at
 * most poller.interval apart, as it also uploads on a temperature step),
 * half a second late, first with its device document alone: only when
 * that moved (on, or far back: a device clock stepped back) are the
 * channels fetched. A poll that finds nothing new is tried again 1, 2,
 * 4 ... s later, up to the larger of poller.interval and the upload
 * interval. The cycle then polls only the devices with no
 * schedule yet (never polled, or no interval in their document).
 *
 * The schedule keeps a fixed cadence: tick n is due at start + n *
 * interval, moved by up to +/- jitter * interval. A tick that finds the
 * previous cycle still running is an overrun: counted, logged, skipped;
 * cycles never overlap. Requests of a cycle expire before the next tick.
 * While the spool is full (Redis away too long) ticks are skipped, and
 * said so, until it drains: polling pauses rather than drop anything.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "poller.h"

/* An offset in [-jitter * interval, +jitter * interval] from rnd. */
int64_t
sched_jitter(int64_t interval_ms, double jitter, uint64_t rnd)
{
	double u = (double)(rnd >> 11) * 0x1.0p-53;	/* [0, 1) */

	return (int64_t)llround((2 * u - 1) * jitter * (double)interval_ms);
}

/* The first cycle is due at once. */
void
sched_init(struct sched *s, int64_t interval_ms, double jitter, int64_t now)
{
	s->interval_ms = interval_ms;
	s->jitter = jitter;
	s->nominal_ms = now;
	s->next_ms = now;
}

/*
 * The next tick after the one due now: one interval on, or as many as
 * were missed when the loop fell behind, then jittered.
 */
void
sched_advance(struct sched *s, int64_t now, uint64_t rnd)
{
	s->nominal_ms += s->interval_ms;
	if (s->nominal_ms <= now)
		s->nominal_ms += ((now - s->nominal_ms) / s->interval_ms + 1) *
		    s->interval_ms;
	s->next_ms = s->nominal_ms + sched_jitter(s->interval_ms, s->jitter,
	    rnd);
	if (s->next_ms <= now)
		s->next_ms = now + 1;
}

#define SCHED_MARGIN_MS		500	/* after the upload is due */
#define SCHED_RETRY_MS		1000	/* found nothing: 1, 2, 4 ... s */
#define SCHED_PASS_MS		250	/* how often the schedules are read */

/*
 * When a device is polled next (monotonic ms), from the last telemetry
 * it showed (wall ns), how often it uploads (s), how many polls in a row
 * found nothing new, and the longest wait; 0 when it cannot be said.
 */
int64_t
sched_device_next(int64_t now_ms, int64_t now_ns, int64_t telem_ns,
    int64_t every_s, int64_t ceiling_ms, int early)
{
	int64_t due_ms, retry_ms, wait;

	if (telem_ns <= 0 || every_s <= 0)
		return 0;
	due_ms = (telem_ns - now_ns) / NS_PER_MS + every_s * 1000 +
	    SCHED_MARGIN_MS;
	retry_ms = SCHED_RETRY_MS << (early < 7 ? early : 7);
	if (early == 0 && due_ms > 0)
		wait = due_ms;
	else if (due_ms > retry_ms)
		wait = due_ms;		/* early: the upload is not due yet */
	else
		wait = retry_ms;	/* late: back off */
	if (wait > ceiling_ms)
		wait = ceiling_ms;
	if (wait < SCHED_RETRY_MS)
		wait = SCHED_RETRY_MS;
	return now_ms + wait;
}

/* How often the device uploads at the latest, and the longest wait. */
static int64_t
device_every_s(const struct tw_device *d, int64_t interval_ms,
    int64_t *ceiling_ms)
{
	int64_t every = d->doc.transmit_s;

	*ceiling_ms = interval_ms;
	if (d->doc.heartbeat_s > 0) {	/* and on a temperature step */
		if (every == 0 || d->doc.heartbeat_s < every)
			every = d->doc.heartbeat_s;
		return every;
	}
	if (every * 1000 > *ceiling_ms)
		*ceiling_ms = every * 1000;
	return every;
}

static void
schedule(struct poller *p, struct tw_device *d, bool moved)
{
	int64_t ceiling, every;

	if (!p->cf->poller.schedule || d->last_full_ms == 0) {
		d->next_poll_ms = 0;
		return;
	}
	d->early = moved ? 0 : d->early + 1;
	every = device_every_s(d, p->cf->poller.interval, &ceiling);
	d->next_poll_ms = sched_device_next(util_mono_ms(), util_now_ns(),
	    d->telem_ns, every, ceiling, d->early);
}

/* Start the next cycle now (new devices are ready), unless one runs. */
void
cycle_kick(struct poller *p)
{
	int64_t now = util_mono_ms();

	if (!p->cycle_running && p->sched.next_ms > now) {
		p->sched.nominal_ms = now;
		p->sched.next_ms = now;
	}
}

static void
cycle_end(struct poller *p)
{
	int64_t took = util_mono_ms() - p->cycle_started_ms;

	p->cycle_running = false;
	p->last_cycle_ms = took;
	p->cycles++;
	metric_inc(p->m.cycles);
	metric_observe(p->m.cycle_seconds, took / 1000.0);
	log_debug("cycle %u done in %lld ms", p->cycle_id, (long long)took);
}

/* A device finished its part of the cycle (polled, backfilled or not). */
void
cycle_device_done(struct poller *p, struct tw_device *d)
{
	d->busy = false;
	if (p->cycle_running && d->cycle_id == p->cycle_id &&
	    --p->cycle_pending == 0)
		cycle_end(p);
}

/* The documents' points (each with the gap it ends: archive.c). */
static void
emit_docs(struct poller *p, struct tw_device *d)
{
	for (int i = 0; i < d->nch; i++)
		emit_doc_point(p, d, &d->ch[i]);
}

static void	submit(struct poller *, struct tw_device *, const char *,
		    fetch_done_fn, int);
static void	channel_doc_done(struct fetch_req *, void *);

/* The newest telemetry the device's documents showed. */
static int64_t
device_telem(const struct tw_device *d)
{
	int64_t t = d->has_doc ? d->doc.last_telemetry_ns : 0;

	for (int i = 0; i < d->nch; i++)
		if (d->ch[i].fresh && d->ch[i].doc.last_telemetry_ns > t)
			t = d->ch[i].doc.last_telemetry_ns;
	return t;
}

/*
 * Whether the device's telemetry moved from was to now: on, or far
 * back (its clock stepped back: emit.c follows it, and the channels
 * must be read to see it).
 */
static bool
telem_moved(int64_t now, int64_t was)
{
	return now > was || (now > 0 && was - now > EMIT_STEP_BACK_US * 1000);
}

/* The channels, after a device document that moved. */
static void
fetch_channels(struct poller *p, struct tw_device *d)
{
	char path[TW_SERIAL_LEN * 3 + 48];
	int n;

	d->pending++;
	n = snprintf(path, sizeof(path), "/devices/%s", d->esc_serial);
	for (int i = 0; i < d->nch; i++) {
		snprintf(path + n, sizeof(path) - n, "/channels/%d",
		    d->ch[i].number);
		submit(p, d, path, channel_doc_done, i);
	}
	d->pending--;
}

/* Every request of the device came back. */
static void
device_polled(struct poller *p, struct tw_device *d)
{
	int64_t telem;
	bool moved;

	if (d->removed) {
		cycle_device_done(p, d);
		return;
	}
	if (d->probing) {
		d->probing = false;
		if (d->doc_fresh && telem_moved(d->doc.last_telemetry_ns,
		    d->telem_ns) && d->nch > 0) {
			fetch_channels(p, d);
			if (d->pending > 0)
				return;
		} else {
			registry_update(p, d, util_now_ns());
			metric_inc(d->failed ? p->m.polls_failed :
			    p->m.polls_ok);
			schedule(p, d, false);
			cycle_device_done(p, d);
			return;
		}
	}
	for (int i = d->nch - 1; i >= 0; i--)
		if (d->ch[i].gone)
			discovery_channel_gone(p, d, i);
	registry_update(p, d, util_now_ns());
	metric_inc(d->failed ? p->m.polls_failed : p->m.polls_ok);
	emit_docs(p, d);
	telem = device_telem(d);
	moved = telem_moved(telem, d->telem_ns);
	if (moved)
		d->telem_ns = telem;
	if (!d->failed)
		d->last_full_ms = util_mono_ms();
	schedule(p, d, moved);
	archive_after_poll(p, d);
	cycle_device_done(p, d);
}

static void
poll_failed(struct poller *p, struct tw_device *d, struct fetch_req *r,
    const char *what)
{
	d->failed = true;
	if (r->result == FETCH_SKIPPED && daemon_stopping())
		return;		/* cancelled at shut-down: no news */
	log_limited(&p->poll_log, 10000, LOG_LVL_WARN, "%s: device %s: %s: "
	    "%s", d->acct->email, d->serial, what, r->result != FETCH_DONE ?
	    (r->errstr ? r->errstr : "failed") : r->sink_failed ||
	    r->status == 200 ? "malformed answer" : r->status == 404 ?
	    "not found" : "unexpected status");
}

static cJSON *
parse_answer(const struct fetch_req *r)
{
	if (r->result != FETCH_DONE || r->status != 200 || r->too_large)
		return NULL;
	return cJSON_ParseWithLength(r->resp.data ? r->resp.data : "",
	    r->resp.len);
}

static void
device_doc_done(struct fetch_req *r, void *arg)
{
	struct tw_device *d = arg;
	struct poller *p = d->acct->poller;
	cJSON *root = parse_answer(r);
	struct tw_dev_doc doc;

	if (root != NULL && fs_decode_device(root, &doc) == 0) {
		d->doc = doc;
		d->has_doc = true;
		d->doc_fresh = true;
	} else {
		poll_failed(p, d, r, "device document");
	}
	cJSON_Delete(root);
	if (--d->pending == 0)
		device_polled(p, d);
	device_unref(d);
}

static void
channel_doc_done(struct fetch_req *r, void *arg)
{
	struct tw_device *d = arg;
	struct poller *p = d->acct->poller;
	struct tw_channel *ch = &d->ch[r->tag];
	cJSON *root = parse_answer(r);
	struct tw_chan_doc doc;

	if (root != NULL && fs_decode_channel(root, &doc) == 0) {
		ch->doc = doc;
		ch->fresh = true;
	} else if (r->result == FETCH_DONE && r->status == 404) {
		ch->gone = true;	/* removed in device_polled() */
	} else {
		poll_failed(p, d, r, "channel");
	}
	cJSON_Delete(root);
	if (--d->pending == 0)
		device_polled(p, d);
	device_unref(d);
}

static void
submit(struct poller *p, struct tw_device *d, const char *path,
    fetch_done_fn done, int tag)
{
	struct fetch_req *r;

	if ((r = discovery_req(p, d->acct, path, done, d)) == NULL) {
		d->failed = true;
		return;
	}
	r->tag = tag;
	/* A poll of the device's own schedule is no cycle's. */
	r->deadline_ms = d->cycle_id == 0 ? util_mono_ms() +
	    p->cf->poller.interval : p->cycle_deadline_ms;
	d->pending++;
	d->refs++;
	fetch_submit(&p->fetch, r);
}

/*
 * Polls a device: its document and its channels, or (probe) its
 * document alone, the channels following when it moved.
 */
static void
device_poll(struct poller *p, struct tw_device *d, unsigned cycle_id,
    bool probe)
{
	char path[TW_SERIAL_LEN * 3 + 48];

	d->busy = true;
	d->cycle_id = cycle_id;
	d->failed = false;
	d->doc_fresh = false;
	d->pending = 0;
	d->probing = probe;
	for (int i = 0; i < d->nch; i++)
		d->ch[i].fresh = d->ch[i].gone = false;
	/* pending counts one extra until every request is out. */
	d->pending++;
	snprintf(path, sizeof(path), "/devices/%s", d->esc_serial);
	submit(p, d, path, device_doc_done, -1);
	if (!probe)
		fetch_channels(p, d);
	if (--d->pending == 0)
		device_polled(p, d);
}

/* The devices whose own schedule says they are due. */
static void
due_pass(struct poller *p, int64_t now)
{
	size_t high = 2 * (size_t)p->cf->poller.concurrency + 16;
	struct tw_account *a;
	struct tw_device *d;

	if (!p->cf->poller.schedule || now < p->due_at_ms ||
	    handoff_throttled(p))
		return;
	p->due_at_ms = now + SCHED_PASS_MS;
	TAILQ_FOREACH(a, &p->accounts, entry) {
		if (!a->active || !auth_has_token(a))
			continue;
		TAILQ_FOREACH(d, &a->devices, entry) {
			if (d->disc != DISC_DONE || d->busy ||
			    d->next_poll_ms == 0 || now < d->next_poll_ms)
				continue;
			if (fetch_backlog(&p->fetch) >= high) {
				p->due_at_ms = now;	/* the rest soon */
				return;
			}
			device_poll(p, d, 0, true);
		}
	}
}

/*
 * The next device of the cycle, from the pump's cursor: one of an
 * active, signed-in account, with its channels known, not still busy.
 */
static struct tw_device *
pump_next(struct poller *p)
{
	struct tw_device *d;

	while (p->pump_acct != NULL) {
		struct tw_account *a = p->pump_acct;

		if (!a->active || !auth_has_token(a))
			p->pump_dev = NULL;
		while ((d = p->pump_dev) != NULL) {
			p->pump_dev = TAILQ_NEXT(d, entry);
			/* A device on its own schedule is polled then. */
			if (d->disc == DISC_DONE && !d->busy &&
			    d->next_poll_ms == 0)
				return d;
		}
		if ((p->pump_acct = TAILQ_NEXT(a, entry)) != NULL)
			p->pump_dev = TAILQ_FIRST(&p->pump_acct->devices);
	}
	return NULL;
}

/*
 * Feeds the cycle's devices to the HTTP queue as it empties, so that the
 * requests of a cycle (50,000 for 10,000 devices) never sit in memory at
 * once: about twice as many as may be on the wire are queued.
 */
void
cycle_pump(struct poller *p)
{
	size_t high = 2 * (size_t)p->cf->poller.concurrency + 16;
	struct tw_device *d;

	while (p->pumping && fetch_backlog(&p->fetch) < high) {
		if ((d = pump_next(p)) == NULL) {
			p->pumping = false;
			if (--p->cycle_pending == 0)	/* the pump's own count */
				cycle_end(p);
			return;
		}
		p->cycle_pending++;
		device_poll(p, d, p->cycle_id, false);
	}
}

/* A device leaves: the pump must not hold on to it. */
void
cycle_forget(struct poller *p, struct tw_device *d)
{
	if (p->pump_dev == d)
		p->pump_dev = TAILQ_NEXT(d, entry);
}

static void
cycle_start(struct poller *p, int64_t now)
{
	int64_t deadline;

	p->cycle_id++;
	p->cycle_running = true;
	p->cycle_started_ms = now;
	deadline = p->sched.next_ms - 50;
	if (deadline < now + 1000)
		deadline = now + 1000;
	p->cycle_deadline_ms = deadline;
	p->pump_acct = TAILQ_FIRST(&p->accounts);
	p->pump_dev = p->pump_acct ? TAILQ_FIRST(&p->pump_acct->devices) :
	    NULL;
	p->pumping = true;
	p->cycle_pending = 1;	/* the pump's, until every device is out */
	cycle_pump(p);
}

/* Starts a cycle when one is due, and the devices' own polls. */
void
cycle_tick(struct poller *p, int64_t now)
{
	due_pass(p, now);
	if (now < p->sched.next_ms)
		return;
	sched_advance(&p->sched, now, backoff_rand());
	if (p->cycle_running) {
		p->overruns++;
		metric_inc(p->m.overruns);
		log_limited(&p->overrun_log, 60000, LOG_LVL_WARN, "overrun: "
		    "cycle %u, started %lld ms ago, has not finished; this "
		    "tick is skipped", p->cycle_id,
		    (long long)(now - p->cycle_started_ms));
		return;
	}
	if (handoff_throttled(p)) {
		metric_inc(p->m.paused);
		log_limited(&p->paused_log, 60000, LOG_LVL_WARN, "polling "
		    "paused: the spool is full (%lld of %lld bytes) and Redis "
		    "is away; it resumes as soon as Redis drains it",
		    (long long)atomic_load(&p->spool_bytes),
		    (long long)p->cf->poller.spool_max);
		return;
	}
	cycle_start(p, now);
}
