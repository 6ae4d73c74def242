/*
 * Readings out: one point of one channel becomes a reading (JSON,
 * common/reading.h) with the device's own timestamp and a new W3C trace
 * context, and goes to the hand-off queue.
 *
 * A point is emitted only when its device time is past the channel's
 * seen mark; the mark moves when the hand-off queue took the reading, so
 * a reading is never emitted twice by this process and never skipped: a
 * point the queue refused (full) is simply fetched again next cycle.
 * The marks start from grilld:poller:seen (lease.c), merged with what
 * the spool still holds, whenever this poller takes an account.
 *
 * Device clocks step (emit_judge()). A point further ahead than now +
 * ingest.future_skew is skipped, counted and logged, and moves no mark:
 * one bad timestamp must not hide every later point (nor poison
 * poller:seen across restarts, and marks that far ahead are ignored
 * when loaded). A document point behind its channel's mark by more than
 * EMIT_STEP_BACK_US means the device clock went back (an RTC reset, a
 * local clock at a DST change): the mark follows it down, the point is
 * emitted with the reset flag (the Redis script moves poller:seen back
 * too), and readings flow again at once instead of being dropped until
 * the old mark is passed. A smaller step back is skipped and counted.
 *
 * With backfill on, the points the device recorded between the last
 * poll and the document's point must not be lost either: the ones
 * stamped on the old clock after the old mark (recorded before the
 * step) and the ones on the new clock before the document's point.
 * emit_step_back() notes the step in the channel; the archive job then
 * takes both ranges (archive.c), emitted with the reset flag whatever
 * their order, and the document's point goes last, so that the mark
 * ends on it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poller.h"
#include "trace.h"

static void
set_trace(struct poller *p, const struct tw_device *d,
    const struct tw_channel *ch, struct reading *r)
{
	struct trace_ctx ctx;
	struct span *sp;
	double ratio = p->cf->tracing.sample_ratio;

	trace_new_root(&ctx);
	if (ratio < 1 && (double)(backoff_rand() >> 11) * 0x1.0p-53 >= ratio)
		ctx.flags &= ~TRACE_FLAG_SAMPLED;
	if ((ctx.flags & TRACE_FLAG_SAMPLED) && trace_exporter_running() &&
	    (sp = span_start("poller.reading", NULL,
	    SPAN_KIND_PRODUCER)) != NULL) {
		span_set_str(sp, "device_id", d->serial);
		span_set_int(sp, "probe_id", ch->number);
		span_set_int(sp, "timestamp_ns", r->ts_ns);
		ctx = *span_ctx(sp);
		span_end(sp);
	}
	trace_format(&ctx, r->traceparent, sizeof(r->traceparent));
}

static char
unit_of(const struct tw_device *d, const struct tw_channel *ch, char unit)
{
	if (unit != 0)
		return unit;
	if (ch->doc.unit != 0)
		return ch->doc.unit;
	return d->doc.units != 0 ? d->doc.units : 'F';
}

/*
 * What to do with a point at ts_us for a channel marked at seen_us, now
 * now_us: document points (doc) may follow a clock stepped back.
 */
enum emit_verdict
emit_judge(int64_t ts_us, int64_t seen_us, int64_t now_us, int64_t skew_us,
    bool doc)
{
	if (ts_us > now_us + skew_us)
		return EMIT_FUTURE;
	if (seen_us > now_us + skew_us)
		return EMIT_NEW;	/* a poisoned mark: ignored */
	if (ts_us > seen_us)
		return EMIT_NEW;
	if (!doc || ts_us == seen_us)
		return EMIT_OLD;
	return seen_us - ts_us > EMIT_STEP_BACK_US ? EMIT_STEPPED_BACK :
	    EMIT_BEHIND;
}

/*
 * Emits one point of a channel unless it is not newer than the seen
 * mark. 0 when emitted or not new; -1 when it was not taken (the account
 * is not ours now, or the hand-off queue is full): the caller stops
 * emitting this channel for this cycle, so order is kept.
 */
int
emit_point(struct poller *p, struct tw_device *d, struct tw_channel *ch,
    const struct emit_point *pt, bool archived)
{
	int64_t ts_us = pt->ts_ns / 1000, now_us = util_now_ns() / 1000;
	int64_t skew_us = p->cf->ingest.future_skew * 1000;
	struct reading r;
	struct buf b;
	bool reset = false;
	int rc;

	enum emit_verdict v = emit_judge(ts_us, ch->seen_us, now_us, skew_us,
	    !archived);
	bool stepping = ch->step_old_us != 0;

	if (stepping && v != EMIT_FUTURE)
		v = EMIT_STEPPED_BACK;	/* archive.c chose the point */
	switch (v) {
	case EMIT_OLD:
		return 0;
	case EMIT_FUTURE:
		metric_inc(p->m.skipped_future);
		log_limited(&p->odd_log, 60000, LOG_LVL_WARN, "%s: device time "
		    "%lld s ahead of ours (more than ingest.future_skew): "
		    "point skipped, its seen mark stays", ch->key,
		    (long long)((ts_us - now_us) / 1000000));
		return 0;
	case EMIT_BEHIND:
		metric_inc(p->m.skipped_behind);
		log_limited(&p->odd_log, 60000, LOG_LVL_WARN, "%s: a new point "
		    "%lld s behind the last one emitted: skipped", ch->key,
		    (long long)((ch->seen_us - ts_us) / 1000000));
		return 0;
	case EMIT_STEPPED_BACK:
		reset = true;
		break;
	case EMIT_NEW:
		break;
	}
	if (!d->acct->active)
		return -1;
	reading_init(&r);
	util_strlcpy(r.device_id, d->serial, sizeof(r.device_id));
	snprintf(r.probe_id, sizeof(r.probe_id), "%d", ch->number);
	r.has_value = pt->has_value && isfinite(pt->value);
	r.value = r.has_value ? pt->value : 0;
	r.unit = unit_of(d, ch, pt->unit);
	r.ts_ns = pt->ts_ns;
	r.battery = d->doc.battery;
	r.signal = d->doc.wifi_rssi != READING_NO_SIGNAL ? d->doc.wifi_rssi :
	    d->doc.gateway_rssi;
	r.status = pt->status;
	if (!r.has_value && r.status == PROBE_UNKNOWN)
		r.status = PROBE_NO_PROBE;
	util_strlcpy(r.source, "thermoworks", sizeof(r.source));
	if (util_utf8_valid(ch->doc.label, strlen(ch->doc.label)))
		util_strlcpy(r.label, ch->doc.label, sizeof(r.label));
	set_trace(p, d, ch, &r);
	buf_init(&b);
	rc = reading_write_json(&b, &r, 0);
	reading_clear(&r);
	if (rc == -1 || handoff_push(p, ch->key, ts_us, reset, &b) == -1) {
		buf_free(&b);
		metric_inc(p->m.deferred);
		return -1;
	}
	if (stepping) {
		if (!archived)		/* the document's point: the last */
			ch->step_old_us = ch->step_lower_us = 0;
	} else if (reset) {
		metric_inc(p->m.clock_back);
		log_warnx("%s: the device clock went back %lld s: following it "
		    "(its seen mark moves back)", ch->key,
		    (long long)((ch->seen_us - ts_us) / 1000000));
	}
	ch->seen_us = ts_us;
	metric_inc(archived ? p->m.emitted_archive : p->m.emitted_poll);
	atomic_fetch_add(&p->emitted, 1);
	return 0;
}

/*
 * Before the cycle's archive job: whether the channel's document point
 * says its device clock went back. Then the step is noted (see the top
 * of this file), counted and logged, and the channel wants its
 * archives. The rows since the step are stamped at most the time since
 * the old mark (on our clock), plus a recording, before the document's
 * point.
 */
bool
emit_step_back(struct poller *p, struct tw_device *d, struct tw_channel *ch)
{
	int64_t doc_us = ch->doc.last_telemetry_ns / 1000;
	int64_t now_us = util_now_ns() / 1000, gap_us;
	int64_t skew_us = p->cf->ingest.future_skew * 1000;

	if (ch->step_old_us != 0)
		return true;		/* a step not followed to its end yet */
	if (!ch->fresh || ch->seen_us == 0 || doc_us <= 0 ||
	    emit_judge(doc_us, ch->seen_us, now_us, skew_us, true) !=
	    EMIT_STEPPED_BACK)
		return false;
	gap_us = now_us > ch->seen_us ? now_us - ch->seen_us : 0;
	ch->step_old_us = ch->seen_us;
	ch->step_lower_us = doc_us - gap_us - (d->doc.recording_s + 1) *
	    INT64_C(1000000);
	metric_inc(p->m.clock_back);
	log_warnx("%s: the device clock went back %lld s: following it (its "
	    "seen mark moves back; the points since are read from the "
	    "archives)", ch->key,
	    (long long)((ch->seen_us - doc_us) / 1000000));
	return true;
}

/* The channel document's own point, when it is new. */
int
emit_doc_point(struct poller *p, struct tw_device *d, struct tw_channel *ch)
{
	struct emit_point pt = {
		.ts_ns = ch->doc.last_telemetry_ns,
		.has_value = ch->doc.has_value,
		.value = ch->doc.value,
		.unit = ch->doc.unit,
		.status = ch->doc.status,
	};

	if (!ch->fresh || pt.ts_ns <= 0)
		return 0;
	return emit_point(p, d, ch, &pt, false);
}

/*
 * Seen marks loaded from Redis (or the spool): each mark only ever moves
 * forward, in the table new channels start from and in every channel
 * already known.
 */
void
emit_seen_merge(struct poller *p, const struct strmap *m)
{
	struct strmap_entry *e, *mine;
	struct tw_account *a;
	struct tw_device *d;
	int64_t max = util_now_ns() / 1000 + p->cf->ingest.future_skew * 1000;
	size_t i = 0;

	while ((e = strmap_next(m, &i)) != NULL) {
		if (e->num > max) {
			/* A mark from a clock far ahead: it would hide all. */
			metric_inc(p->m.marks_ignored);
			log_warnx("%s: seen mark %lld s ahead of now: ignored",
			    e->key, (long long)((e->num - max) / 1000000));
			continue;
		}
		if ((mine = strmap_put(&p->seen, e->key)) != NULL &&
		    e->num > mine->num)
			mine->num = e->num;
	}
	TAILQ_FOREACH(a, &p->accounts, entry)
		TAILQ_FOREACH(d, &a->devices, entry)
			for (int c = 0; c < d->nch; c++)
				if ((e = strmap_get(m, d->ch[c].key)) != NULL &&
				    e->num <= max && e->num > d->ch[c].seen_us)
					d->ch[c].seen_us = e->num;
}
