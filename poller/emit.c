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
 * With backfill on, the points recorded around a step are not lost
 * either: emit_step_gaps() opens the gaps they lie in, on both clocks,
 * and the archives fill them (archive.c). The gaps of a step lie below
 * the "@b" mark, which moves down to the lowest of them (here and in
 * the Redis script), so that the archive rows inside them go out.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poller.h"
#include "trace.h"

static int	emitted(struct poller *, bool);

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
 * The gaps a live point at ts_us opens around a device clock step, its
 * channel marked at mark_us, now now_us, the device recording every
 * rec_us; reset: the point follows the clock back (EMIT_STEPPED_BACK).
 * true when a step decided them (*g set, *st moved on), false when the
 * usual gap applies (archive_gap_from()).
 *
 * Back: the points recorded between the last poll and the step are on
 * the old clock after the mark, up to now at the latest (the old clock
 * was ours, or the mark would have been ignored); those recorded after
 * the step are on the new clock before the point, at most the time
 * since the mark (plus a recording) before it. st->hi_us notes how far
 * the old clock is accounted for, st->back_us how far back it went at
 * least. Forward again (a point past hi_us, the mark below it): the
 * new clock's last points after the mark, up to now less the step, and
 * the right clock's after hi_us. Nothing between them: the old clock's
 * points there went out before the step.
 */
bool
emit_step_gaps(int64_t ts_us, int64_t mark_us, int64_t now_us,
    int64_t rec_us, bool reset, struct emit_step *st, struct emit_gaps *g)
{
	int64_t slack = rec_us + 1000000, lo, hi;

	memset(g, 0, sizeof(*g));
	if (reset) {
		lo = ts_us - (now_us > mark_us ? now_us - mark_us : 0) - slack;
		g->from_us = lo > 0 ? lo : 0;
		if (now_us - mark_us >= 2) {
			g->x.from_us = mark_us;
			g->x.to_us = now_us;
		}
		hi = now_us > mark_us ? now_us : mark_us;
		if (hi > st->hi_us)
			st->hi_us = hi;
		st->back_us = mark_us - ts_us;
		return true;
	}
	if (st->hi_us == 0 || ts_us <= st->hi_us)
		return false;
	if (mark_us >= st->hi_us) {
		st->hi_us = st->back_us = 0;	/* passed on its own */
		return false;
	}
	hi = now_us - st->back_us + slack;
	if (hi > st->hi_us)
		hi = st->hi_us;
	if (hi - mark_us >= 2) {
		g->x.from_us = mark_us;
		g->x.to_us = hi;
	}
	g->from_us = ts_us - st->hi_us >= 2 ? st->hi_us : 0;
	st->hi_us = st->back_us = 0;
	return true;
}

/*
 * Emits one point of a channel unless it is not newer than the seen
 * mark. 0 when emitted or not new; -1 when it was not taken (the account
 * is not ours now, or the hand-off queue is full): the caller stops
 * emitting this channel for this cycle, so order is kept.
 *
 * archived: a point filled in from a session archive (archive.c), older
 * than the live mark. It goes by the channel's backfill mark instead,
 * under the key "serial/n@b" (so the Redis script keeps that mark apart
 * from the live one), flagged READING_F_BACKFILL.
 */
int
emit_point(struct poller *p, struct tw_device *d, struct tw_channel *ch,
    const struct emit_point *pt, bool archived)
{
	int64_t ts_us = pt->ts_ns / 1000, now_us = util_now_ns() / 1000;
	int64_t skew_us = p->cf->ingest.future_skew * 1000;
	int64_t *mark = archived ? &ch->bf_us : &ch->seen_us, low;
	char bkey[TW_KEY_LEN];
	const char *key = ch->key;
	struct emit_step step = ch->step;
	struct emit_gaps g = { 0 };
	struct reading r;
	struct buf b;
	bool reset = false;
	int rc;

	switch (emit_judge(ts_us, *mark, now_us, skew_us, !archived)) {
	case EMIT_OLD:
		if (!archived || ts_us == *mark)
			return 0;
		/*
		 * A row inside a gap (the caller's test) below the "@b"
		 * mark: a gap of a clock step, filled after later ones.
		 */
		reset = true;
		break;
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
		    (long long)((*mark - ts_us) / 1000000));
		return 0;
	case EMIT_STEPPED_BACK:
		reset = true;
		break;
	case EMIT_NEW:
		break;
	}
	if (archived) {
		archive_bf_key(ch, bkey, sizeof(bkey));
		key = bkey;
	} else if (!p->cf->poller.backfill || !emit_step_gaps(ts_us, *mark,
	    now_us, d->doc.recording_s * 1000000, reset, &step, &g)) {
		/* The gap goes with the point that ends it (archive.c). */
		if (!reset)
			g.from_us = archive_gap_from(p, d, ch, *mark, ts_us);
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
	if (archived)
		r.flags = READING_F_BACKFILL;
	if (util_utf8_valid(ch->doc.label, strlen(ch->doc.label)))
		util_strlcpy(r.label, ch->doc.label, sizeof(r.label));
	set_trace(p, d, ch, &r);
	buf_init(&b);
	rc = reading_write_json(&b, &r, 0);
	reading_clear(&r);
	if (rc == -1 || handoff_push(p, key, ts_us, g.from_us, &g.x, reset,
	    &b) == -1) {
		buf_free(&b);
		metric_inc(p->m.deferred);
		return -1;
	}
	if (reset && !archived) {
		metric_inc(p->m.clock_back);
		log_warnx("%s: the device clock went back %lld s: following it "
		    "(its seen mark moves back%s)", ch->key,
		    (long long)((*mark - ts_us) / 1000000),
		    g.from_us > 0 || g.x.to_us > 0 ? "; the points around the "
		    "step are read from the archives" : "");
	}
	*mark = ts_us;
	if (archived)
		return emitted(p, archived);
	ch->step = step;
	/* The gaps of a step lie below the "@b" mark: it moves down. */
	low = g.x.to_us > 0 && (g.from_us == 0 || g.x.from_us < g.from_us) ?
	    g.x.from_us : g.from_us;
	if (low > 0 && ch->bf_us > low)
		ch->bf_us = low;
	if (g.x.to_us > 0)
		archive_gap_open(p, d, ch, g.x.from_us, g.x.to_us);
	if (g.from_us > 0)
		archive_gap_open(p, d, ch, g.from_us, ts_us);
	return emitted(p, archived);
}

static int
emitted(struct poller *p, bool archived)
{
	metric_inc(archived ? p->m.emitted_archive : p->m.emitted_poll);
	atomic_fetch_add(&p->emitted, 1);
	return 0;
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
 * Seen marks loaded from Redis, with their gaps: each mark only ever
 * moves forward and gaps add up, in the table new channels start from
 * and in every channel already known (another poller may have moved
 * them: its gaps come with its marks).
 */
void
emit_seen_merge(struct poller *p, struct strmap *m)
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
		if ((mine = strmap_put(&p->seen, e->key)) == NULL)
			continue;
		if (e->num > mine->num)
			mine->num = e->num;
		if (e->ptr != NULL && mine->ptr == NULL) {
			mine->ptr = e->ptr;	/* taken */
			e->ptr = NULL;
		} else if (e->ptr != NULL) {
			struct tw_gapset *to = mine->ptr;
			const struct tw_gapset *from = e->ptr;

			if (archive_gaps_union(&to->g, &to->n, from->g,
			    from->n) == -1)
				log_warnx("%s: out of memory for its gaps",
				    e->key);
		}
	}
	TAILQ_FOREACH(a, &p->accounts, entry)
		TAILQ_FOREACH(d, &a->devices, entry)
			for (int c = 0; c < d->nch; c++) {
				/* Another poller moved it: its gaps came. */
				if ((e = strmap_get(m, d->ch[c].key)) != NULL &&
				    e->num <= max && e->num > d->ch[c].seen_us) {
					d->ch[c].seen_us = e->num;
					archive_chan_init(p, d, &d->ch[c]);
				}
			}
}
