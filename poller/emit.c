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
	int64_t ts_us = pt->ts_ns / 1000;
	int64_t *mark = archived ? &ch->bf_us : &ch->seen_us;
	char bkey[TW_KEY_LEN];
	const char *key = ch->key;
	struct reading r;
	struct buf b;
	int rc;

	if (ts_us <= *mark)
		return 0;
	if (archived) {
		archive_bf_key(ch, bkey, sizeof(bkey));
		key = bkey;
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
	if (rc == -1 || handoff_push(p, key, ts_us, &b) == -1) {
		buf_free(&b);
		metric_inc(p->m.deferred);
		return -1;
	}
	*mark = ts_us;
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
	size_t i = 0;

	while ((e = strmap_next(m, &i)) != NULL)
		if ((mine = strmap_put(&p->seen, e->key)) != NULL &&
		    e->num > mine->num)
			mine->num = e->num;
	TAILQ_FOREACH(a, &p->accounts, entry)
		TAILQ_FOREACH(d, &a->devices, entry)
			for (int c = 0; c < d->nch; c++) {
				/* Another poller moved it: it left gaps. */
				if ((e = strmap_get(m, d->ch[c].key)) != NULL &&
				    e->num > d->ch[c].seen_us) {
					d->ch[c].seen_us = e->num;
					archive_chan_init(p, d, &d->ch[c]);
				}
			}
}
