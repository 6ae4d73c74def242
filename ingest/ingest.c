/*
 * grilld-ingest: reads the readings stream as one of a consumer group,
 * validates, flags anomalies, follows cooks, evaluates alert rules,
 * publishes what it read at once and stores it in InfluxDB. See
 * ingest.h for the threads and docs/ingest.md for the whole story.
 *
 * The main loop, one pass:
 *   1. collect the batch the writer finished and acknowledge it (dead
 *      letters, XACK), and hand the next queued batch to the writer; an
 *      acknowledgement that fails is tried again and nothing new is read
 *      meanwhile;
 *   2. once a second: rules, alert and device ticks, claims of entries
 *      a dead replica left, trimming, health;
 *   3. publish live what the batch being filled gained (publish_live():
 *      latest, events, alerts, nng, webhooks), whatever InfluxDB does;
 *      queue it for the writer when it is full or has waited
 *      ingest.batch_wait;
 *   4. read more entries, and publish them live at once, while the batch
 *      has room and fewer than ingest.hold_max readings wait for
 *      InfluxDB; past that, wait (the input slows down, the stream is
 *      the buffer).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "admin.h"
#include "daemon.h"
#include "log.h"
#include "lp.h"
#include "ingest.h"

static struct anomaly_conf	 ingest_anomaly_conf;
static struct cook_conf		 ingest_cook_conf;

/* Per probe: anomaly and cook state, and what was published last. */
struct probe {
	struct anomaly_state	 an;
	struct cook_state	 cook;
	int64_t			 latest_ts;
	/* The item now marked latest, while not yet published. */
	const struct batch	*latest_b;
	uint64_t		 latest_gen;
	size_t			 latest_i;
	uint64_t		 gen;		/* of the cached rule lookup */
	double			 target_c;
	bool			 want_cook;
	bool			 want_stall;
	/* Live value and cook target on /metrics; NULL past the cap. */
	struct metric_series	*m_temp, *m_target;
};

struct ingest {
	struct daemon		*d;
	const struct grilld_conf *cf;
	struct rds		*rds;
	struct consume		 cons;
	struct validate		 val;
	struct alertstore	 store;
	struct alerts		*alerts;
	struct devices		*devices;
	struct table		*probes;
	struct publish		 pub;
	struct webhooks		*wh;
	struct writer		*writer;
	struct batch		*filling;	/* being filled, published live */
	struct batch		*queue;		/* waiting for the writer */
	struct batch		*queue_tail;
	size_t			 nqueued;	/* readings in the queue */
	struct batch		*inflight;	/* with the writer */
	struct batch		*stored;	/* stored: to acknowledge */
	struct batch		*pool;		/* free batches */
	size_t			 npool;
	bool			 group_ok;
	bool			 rules_ok;
	bool			 own_claimed;
	bool			 hooks_restored;
	char			 k_hooks[256];	/* webhooks:pending */
	bool			 redis_up;
	int64_t			 next_tick, next_claim, next_trim;
	struct alert_sink	 sink;
	struct log_limit	 ll_reject;
	struct metric_series	*m_lag, *m_pending, *m_oldest, *m_probes;
	struct metric		*m_probe_temp, *m_probe_target;
	struct metric_series	*m_probe_series_dropped;
	size_t			 nprobe_series;
	struct metric_series	*m_flags[5];
};

static void
on_alert(void *arg, const struct alert_event *ev)
{
	struct ingest *in = arg;

	if (batch_add_alert(in->filling, ev) == -1)
		log_warnx("alert %s lost: out of memory", ev->key);
}

static void
on_device(const struct devev *ev, void *arg)
{
	struct ingest *in = arg;

	batch_add_device(in->filling, ev);
}

static void
reject(struct ingest *in, enum reject why, const char *id, const char *raw,
    size_t rawlen, const char *detail)
{
	validate_count(&in->val, why);
	log_limited(&in->ll_reject, 5000, LOG_LVL_WARN, "entry %s rejected "
	    "(%s): %s", id, validate_reason_name(why), detail);
	if (consume_reject(&in->cons, validate_reason_name(why), id, raw,
	    rawlen, detail) == -1)
		log_warnx("entry %s: could not dead-letter it (redis: %s); it "
		    "stays pending", id, in->rds->errstr);
}

/*
 * The per-probe gauges (docs/ingest.md): one series per probe seen since
 * the start, for the first INGEST_PROBE_SERIES_MAX probes only, so that a
 * flood of made-up ids cannot grow /metrics; the rest are counted.
 */
static void
probe_series(struct ingest *in, struct probe *p, const struct reading *r)
{
	if (in->nprobe_series >= INGEST_PROBE_SERIES_MAX) {
		metric_inc(in->m_probe_series_dropped);
		return;
	}
	in->nprobe_series++;
	p->m_temp = metric_with(in->m_probe_temp, r->device_id, r->probe_id);
	p->m_target = metric_with(in->m_probe_target, r->device_id,
	    r->probe_id);
}

static struct probe *
probe_of(struct ingest *in, const struct reading *r, char *key, size_t len)
{
	struct probe *p;
	bool created;

	if (rkey_latest_field(key, len, r->device_id, r->probe_id) == -1)
		return NULL;
	if ((p = table_put(in->probes, key, &created)) == NULL)
		return NULL;
	if (created)
		probe_series(in, p, r);
	if (p->gen != alerts_generation(in->alerts)) {
		p->want_cook = alerts_cook_wanted(in->alerts, r->device_id,
		    r->probe_id, &p->target_c, &p->want_stall);
		p->gen = alerts_generation(in->alerts);
	}
	return p;
}

/* The event JSON: the reading as reading.h writes it, plus "cook". */
static int
event_json(struct buf *b, const struct reading *r, const struct cook_info *ci,
    bool cook)
{
	size_t start = b->len;

	if (reading_write_json(b, r, 0) == -1)
		return -1;
	if (!cook || !ci->has_rate)
		return 0;
	b->len--;		/* the closing brace */
	if (cook_write_json(b, ci, r->unit == 'F' ? 'F' : 'C') == -1 ||
	    buf_putc(b, '}') == -1) {
		b->len = start;
		return -1;
	}
	return 0;
}

/* A valid reading into the batch being filled. */
static void
take(struct ingest *in, struct reading *r, const char *id, const char *raw,
    size_t rawlen)
{
	struct batch *b = in->filling;
	char key[INGEST_KEY_LEN + 2];
	struct cook_info ci;
	struct devev dev;
	struct bitem *it;
	struct probe *p;
	struct lp lp;
	int64_t now = util_now_ns();
	uint32_t flags;
	bool backfill;

	if ((p = probe_of(in, r, key, sizeof(key))) == NULL) {
		log_warnx("entry %s: out of memory, left pending", id);
		return;
	}
	/* At the device's precision: 158.8, not 158.8000030517578. */
	if (r->has_value)
		r->value = reading_float_precision(r->value);
	/*
	 * A point the poller filled in from a session archive, after the
	 * fact: stored, but it moves none of the live state (anomalies,
	 * cook, device presence, alerts) and is not published as new.
	 */
	backfill = r->flags & READING_F_BACKFILL;
	r->flags &= ~(uint32_t)READING_F_BACKFILL;
	memset(&ci, 0, sizeof(ci));
	ci.target_c = NAN;
	if (!backfill) {
		flags = anomaly_check(&ingest_anomaly_conf, &p->an, r);
		r->flags |= flags;
		for (int i = 0; i < 5; i++)
			if (flags & (1u << i))
				metric_inc(in->m_flags[i]);
		cook_update(&ingest_cook_conf, &p->cook, r, p->want_cook ?
		    p->target_c : NAN, p->want_stall, &ci);
	}

	if ((it = batch_add(b, id)) == NULL) {
		log_warnx("entry %s: out of memory, left pending", id);
		return;
	}
	if (lp_point_reading(&lp, &b->lp, r, NULL) == -1) {
		batch_drop_last(b);
		reject(in, REJECT_BAD_FIELD, id, raw, rawlen, lp.errstr);
		return;
	}
	it->lp_len = (uint32_t)(b->lp.len - it->lp_off);
	if (event_json(&b->ev, r, &ci, p->want_cook) == -1 ||
	    buf_append(&b->raw, raw, rawlen) == -1 ||
	    buf_puts(&b->keys, key) == -1 || buf_putc(&b->keys, '\0') == -1) {
		batch_drop_last(b);
		log_warnx("entry %s: out of memory, left pending", id);
		return;
	}
	/* The reading is in: what it changes goes with it. */
	it->backfill = backfill;
	if (!backfill && devices_seen(in->devices, r, now, &dev))
		batch_add_device(b, &dev);
	if (!backfill)
		alerts_reading(in->alerts, r, &ci, now, &in->sink);
	it->ev_len = (uint32_t)(b->ev.len - it->ev_off);
	it->raw_len = (uint32_t)rawlen;
	it->key_len = (uint32_t)strlen(key);
	it->dev_len = (uint32_t)strlen(r->device_id);
	it->ts_ns = r->ts_ns;
	if (!backfill && r->ts_ns > p->latest_ts) {
		/*
		 * Only the newest reading of a probe goes to `latest` in one
		 * live publication: an older one of the same batch not yet
		 * published gives its place (four fifths of the script's
		 * work in a backlog of a few thousand probes).
		 */
		if (p->latest_b == b && p->latest_gen == b->gen &&
		    p->latest_i >= b->live_n && p->latest_i < b->n)
			b->it[p->latest_i].latest = false;
		it->latest = true;
		p->latest_b = b;
		p->latest_gen = b->gen;
		p->latest_i = (size_t)(it - b->it);
		p->latest_ts = r->ts_ns;
		if (p->m_temp != NULL && r->has_value && r->unit != 'H')
			metric_set(p->m_temp, reading_canonical(r));
		if (p->m_target != NULL && p->want_cook)
			metric_set(p->m_target, p->target_c);
	}
}

static void
on_entry(const struct rds_entry *e, unsigned deliveries, void *arg)
{
	struct ingest *in = arg;
	const char *v, *raw;
	size_t vlen = 0, rawlen = 0;
	struct reading r;
	enum reject why;
	char detail[512];

	v = rds_entry_get(e, RKEY_F_LAYOUT, &vlen);
	raw = rds_entry_get(e, RKEY_F_READING, &rawlen);
	why = validate_entry(&in->val, v, vlen, raw, rawlen, &r, util_now_ns(),
	    detail, sizeof(detail));
	if (why != REJECT_NONE)
		reject(in, why, e->id, raw, rawlen, detail);
	else
		take(in, &r, e->id, raw, rawlen);
	reading_clear(&r);
}

static bool
batch_holds(const struct batch *b, const char *id)
{
	for (size_t i = 0; b != NULL && i < b->n; i++)
		if (strcmp(b->it[i].id, id) == 0)
			return true;
	return false;
}

/* For consume_claim(): an own entry already in a batch is not taken. */
static bool
is_held(const char *id, void *arg)
{
	struct ingest *in = arg;

	for (struct batch *b = in->queue; b != NULL; b = b->next)
		if (batch_holds(b, id))
			return true;
	return batch_holds(in->filling, id) || batch_holds(in->inflight, id) ||
	    batch_holds(in->stored, id);
}

/* Readings read and not yet acknowledged. */
static size_t
held(struct ingest *in)
{
	return in->filling->n + in->nqueued + (in->inflight ?
	    in->inflight->n : 0) + (in->stored ? in->stored->n : 0);
}

static bool
batch_due(struct ingest *in, int64_t now)
{
	struct batch *b = in->filling;

	if (batch_empty(b))
		return false;
	return b->n >= (size_t)in->cf->ingest.batch_size ||
	    now - b->first_ms >= in->cf->ingest.batch_wait;
}

#define INGEST_POOL_MAX	4	/* free batches kept for reuse */

static struct batch *
batch_get(struct ingest *in)
{
	struct batch *b;

	if ((b = in->pool) != NULL) {
		in->pool = b->next;
		in->npool--;
		batch_reset(b);
		return b;
	}
	if ((b = malloc(sizeof(*b))) == NULL)
		return NULL;
	batch_init(b);
	return b;
}

static void
batch_put(struct ingest *in, struct batch *b)
{
	if (b == NULL)
		return;
	if (in->npool >= INGEST_POOL_MAX) {
		batch_free(b);
		free(b);
		return;
	}
	batch_reset(b);
	b->next = in->pool;
	in->pool = b;
	in->npool++;
}

/*
 * What was read goes out live at once, whatever InfluxDB does. False
 * while Redis does not take it (tried again).
 */
static bool
live(struct ingest *in)
{
	if (publish_live(&in->pub, in->filling) == -1) {
		in->redis_up = false;
		return false;
	}
	return true;
}

/*
 * A batch due (or, force, any batch) published live joins the queue for
 * the writer; a fresh one is filled. One with no reading (alerts and
 * device events only) is done once published.
 */
static void
cut(struct ingest *in, bool force)
{
	struct batch *b = in->filling, *nb;

	if (!force && !batch_due(in, util_mono_ms()))
		return;
	if (batch_empty(b) || b->live_n != b->n || b->live_ndevs != b->ndevs ||
	    b->live_nalerts != b->nalerts)
		return;
	if (b->n == 0) {
		batch_reset(b);
		return;
	}
	if ((nb = batch_get(in)) == NULL)
		return;		/* out of memory: this one goes on filling */
	b->next = NULL;
	if (in->queue_tail != NULL)
		in->queue_tail->next = b;
	else
		in->queue = b;
	in->queue_tail = b;
	in->nqueued += b->n;
	in->filling = nb;
}

/*
 * Collects a finished write and acknowledges it, and hands the next
 * queued batch to the writer. Returns false while a stored batch could
 * not be acknowledged (Redis).
 */
static bool
settle(struct ingest *in, int64_t wait_ms)
{
	enum write_outcome out;
	struct batch *b;

	if (in->stored == NULL && in->inflight != NULL &&
	    (b = writer_collect(in->writer, wait_ms, &out)) != NULL) {
		in->inflight = NULL;
		if (out == WRITE_STORED)
			in->stored = b;
		else {
			log_warnx("a batch of %zu readings was not stored; its "
			    "entries stay pending and will be claimed", b->n);
			batch_put(in, b);
			in->own_claimed = false;	/* take them back */
		}
	}
	/* The next batch first, so that the writer never waits for Redis. */
	if (in->inflight == NULL && in->queue != NULL &&
	    writer_submit(in->writer, in->queue)) {
		in->inflight = in->queue;
		in->queue = in->queue->next;
		if (in->queue == NULL)
			in->queue_tail = NULL;
		in->nqueued -= in->inflight->n;
	}
	if (in->stored == NULL)
		return true;
	if (publish_stored(&in->pub, &in->cons, in->stored) == -1) {
		in->redis_up = false;
		return false;
	}
	in->redis_up = true;
	batch_put(in, in->stored);
	in->stored = NULL;
	return true;
}

static void
health(struct ingest *in)
{
	struct batch *all[3] = { in->filling, in->inflight, in->stored };
	int64_t oldest = 0;

	for (int i = 0; i < 3; i++)
		if (all[i] != NULL && all[i]->oldest_ms && (oldest == 0 ||
		    all[i]->oldest_ms < oldest))
			oldest = all[i]->oldest_ms;
	for (struct batch *b = in->queue; b != NULL; b = b->next)
		if (b->oldest_ms && (oldest == 0 || b->oldest_ms < oldest))
			oldest = b->oldest_ms;
	status_update(in->redis_up && in->group_ok, oldest, in->cons.lag,
	    in->cons.pending, alerts_nrules(in->alerts));
	metric_set(in->m_lag, (double)in->cons.lag);
	metric_set(in->m_pending, (double)in->cons.pending);
	metric_set(in->m_oldest, oldest ? (double)(util_now_ns() / NS_PER_MS -
	    oldest) / 1000.0 : 0);
	metric_set(in->m_probes, (double)table_count(in->probes));
}

/*
 * Everything held, whatever its batch, stays fresh: while InfluxDB is
 * slow or down, batches wait behind a stuck write for many claim_idle
 * periods, and no replica may take them. Called every claim_every; a
 * batch read or touched less than claim_idle - 2 claim_every ago is
 * still young enough at the next call (the oldest of its entries is at
 * most claim_idle - claim_every idle then), so it is left alone: at full
 * speed every entry is acknowledged long before, and an XCLAIM of the
 * hundred thousand entries held while InfluxDB is behind is most of a
 * second of Redis's time.
 */
static void
touch_all(struct ingest *in, int64_t now, int64_t claim_every)
{
	int64_t young = in->cf->ingest.claim_idle - 2 * claim_every;
	struct batch **mine, *b;
	size_t n = 0;

	for (b = in->queue; b != NULL; b = b->next)
		n++;
	if ((mine = calloc(n + 3, sizeof(*mine))) == NULL)
		return;
	n = 0;
	mine[n++] = in->filling;
	mine[n++] = in->inflight;
	mine[n++] = in->stored;
	for (b = in->queue; b != NULL; b = b->next)
		mine[n++] = b;
	for (size_t i = 0; i < n; i++) {
		int64_t since;

		if ((b = mine[i]) == NULL || b->first_ms == 0)
			continue;
		since = b->touched_ms ? b->touched_ms : b->first_ms;
		if (now - since < young)
			mine[i] = NULL;
		else
			b->touched_ms = now;
	}
	consume_touch(&in->cons, mine, n);
	free(mine);
}

/*
 * Webhook deliveries still queued at the last stop, kept in Redis as
 * "url\nbody" (keep_hook()), go back to their receivers once.
 */
static void
restore_hooks(struct ingest *in)
{
	redisReply *r;
	size_t n = 0;

	if ((r = rds_command(in->rds, "LRANGE %s 0 -1", in->k_hooks)) == NULL)
		return;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements;
	    i++) {
		const redisReply *e = r->element[i];
		char url[2048];
		const char *nl;

		if (e->type != REDIS_REPLY_STRING ||
		    (nl = memchr(e->str, '\n', e->len)) == NULL ||
		    (size_t)(nl - e->str) >= sizeof(url))
			continue;
		memcpy(url, e->str, nl - e->str);
		url[nl - e->str] = '\0';
		if (webhooks_send_to(in->wh, url, nl + 1, e->len - (nl + 1 -
		    e->str)) == 0)
			n++;
		else
			log_warnx("webhooks: a kept delivery for %s, which is no "
			    "longer configured, is dropped", url);
	}
	freeReplyObject(r);
	if ((r = rds_command(in->rds, "DEL %s", in->k_hooks)) == NULL)
		return;
	freeReplyObject(r);
	in->hooks_restored = true;
	if (n > 0)
		log_info("webhooks: %zu deliveries kept at the last stop queued "
		    "again", n);
}

/* At stop: a delivery still queued, into Redis for the next start. */
static void
keep_hook(const char *url, const char *body, size_t len, void *arg)
{
	struct ingest *in = arg;
	const char *argv[3] = { "RPUSH", in->k_hooks, NULL };
	size_t lens[3] = { 5, strlen(in->k_hooks), 0 };
	struct buf b;
	redisReply *r;

	buf_init(&b);
	if (buf_puts(&b, url) == 0 && buf_putc(&b, '\n') == 0 &&
	    buf_append(&b, body, len) == 0) {
		argv[2] = b.data;
		lens[2] = b.len;
		if ((r = rds_commandargv(in->rds, 3, argv, lens)) != NULL &&
		    r->type == REDIS_REPLY_INTEGER) {
			freeReplyObject(r);
			buf_free(&b);
			return;
		}
		if (r != NULL)
			freeReplyObject(r);
	}
	buf_free(&b);
	log_warnx("webhooks: a delivery to %s could not be kept (redis: %s): "
	    "lost", url, in->rds->errstr);
}

/* Once a second, and claims and trims at their own pace. */
static void
periodic(struct ingest *in, int64_t now)
{
	int64_t claim_every = in->cf->ingest.claim_idle / 3;
	int room;

	if (now < in->next_tick)
		return;
	in->next_tick = now + 1000;
	if (!in->group_ok)
		in->group_ok = consume_group(&in->cons) == 0;
	if (in->group_ok && !in->hooks_restored && webhooks_count(in->wh) > 0)
		restore_hooks(in);
	if (in->group_ok && !in->rules_ok &&
	    alertstore_poll(&in->store, in->alerts, true, &in->sink) >= 0) {
		in->rules_ok = true;
		alertstore_restore(&in->store, in->alerts);
	} else if (in->rules_ok)
		alertstore_poll(&in->store, in->alerts, false, &in->sink);
	alerts_tick(in->alerts, util_now_ns(), &in->sink);
	devices_tick(in->devices, util_now_ns(), on_device, in);

	if (claim_every < 1000)
		claim_every = 1000;
	room = (int)(in->cf->ingest.batch_size - (int64_t)in->filling->n);
	if (in->group_ok && now >= in->next_claim) {
		in->next_claim = now + claim_every;
		touch_all(in, now, claim_every);
		if (room > 0 && !in->own_claimed) {
			consume_claim(&in->cons, true, room, on_entry, in);
			in->own_claimed = true;
		} else if (room > 0)
			consume_claim(&in->cons, false, room, on_entry, in);
	}
	if (in->group_ok && now >= in->next_trim) {
		in->next_trim = now + 5000;
		consume_trim(&in->cons);
	}
	in->redis_up = rds_connected(in->rds);
	health(in);
}

static void
run(struct ingest *in)
{
	const struct grilld_conf *cf = in->cf;
	int64_t now, block;
	int room, n;

	while (!daemon_stopping()) {
		daemon_heartbeat();
		now = util_mono_ms();
		if (!settle(in, 0) || !live(in)) {
			/* Redis is down: publish later, read nothing meanwhile. */
			periodic(in, now);
			daemon_sleep(200);
			continue;
		}
		periodic(in, now);
		live(in);		/* what the ticks and claims added */
		cut(in, false);
		room = (int)(cf->ingest.batch_size - (int64_t)in->filling->n);
		if ((int64_t)held(in) >= cf->ingest.hold_max)
			room = 0;	/* InfluxDB is behind: the stream buffers */
		if (room <= 0 || !in->group_ok) {
			if (in->inflight != NULL)
				settle(in, 100);
			else
				daemon_sleep(100);
			continue;
		}
		if (in->inflight != NULL || in->queue != NULL)
			block = 2;
		else if (batch_empty(in->filling))
			block = 500;
		else
			block = cf->ingest.batch_wait - (now -
			    in->filling->first_ms);
		if (block < 1)
			block = 1;
		if (block > cf->redis.command_timeout / 2)
			block = cf->redis.command_timeout / 2;
		if (room > INGEST_READ_MAX)
			room = INGEST_READ_MAX;
		n = consume_read(&in->cons, room, block, on_entry, in);
		if (n == -1) {
			in->redis_up = false;
			daemon_sleep(200);
		} else {
			in->redis_up = true;
			/* A full read: a backlog, `latest` can wait a little. */
			in->pub.backlog = n >= room;
			if (n > 0)
				live(in);
		}
		if (daemon_reload_pending() && daemon_reload(in->d) == 0)
			log_info("SIGHUP: configuration reloaded (the log level "
			    "applies now; addresses and sizes at the next start; "
			    "alert rules reload by themselves)");
	}
}

/* SIGTERM: stop reading, store and acknowledge what is held, then go. */
static void
drain(struct ingest *in)
{
	int64_t deadline = util_mono_ms() + INGEST_STOP_MS;

	log_info("stopping: storing the %zu readings in hand", held(in));
	in->pub.backlog = false;	/* `latest` written before the end */
	while (util_mono_ms() < deadline) {
		daemon_heartbeat();
		if (held(in) == 0)
			break;	/* nothing in hand: nothing to wait for */
		if (!live(in) || !settle(in, 100)) {
			util_sleep_ms(100);
			continue;
		}
		cut(in, true);
	}
	writer_stop(in->writer, deadline);
	if (in->inflight != NULL || in->stored != NULL)
		settle(in, 0);
	if (held(in) > 0)
		log_warnx("stopping with %zu readings not stored: they stay "
		    "pending in %s and will be claimed", held(in),
		    in->cons.stream);
}

static void
setup(struct ingest *in, const struct grilld_conf *cf)
{
	struct alert_hooks hooks = { alertstore_snoozed_until,
		alertstore_acked, &in->store };
	struct rds_opts ro;
	static const char *const flag_names[5] = { "zscore", "rate", "stuck",
		"dropout", "reconnect" };
	struct metric *flags;
	char err[512];

	in->cf = cf;
	anomaly_conf_default(&ingest_anomaly_conf);
	ingest_anomaly_conf.reconnect_ns = cf->ingest.stale_after * NS_PER_MS;
	cook_conf_default(&ingest_cook_conf);
	if (validate_init(&in->val, cf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if ((in->wh = webhooks_start(cf, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	rds_opts_conf(&ro, cf);
	if ((in->rds = rds_connect(cf->redis.url, &ro, err, sizeof(err))) ==
	    NULL)
		fatalx("redis.url: %s", err);
	if (!rds_connected(in->rds))
		log_warnx("redis %s: %s (retrying)", rds_addr(in->rds),
		    in->rds->errstr);
	consume_init(&in->cons, in->rds, cf);
	consume_key(cf, RKEY_WEBHOOKS_PENDING, in->k_hooks, sizeof(in->k_hooks));
	in->cons.val = &in->val;
	in->cons.held = is_held;
	in->cons.held_arg = in;
	alertstore_init(&in->store, in->rds, cf);
	in->alerts = alerts_new(INGEST_ALERTS_MAX, &hooks);
	in->devices = devices_new(INGEST_PROBES_MAX, cf->ingest.stale_after);
	in->probes = table_new(sizeof(struct probe), INGEST_PROBES_MAX);
	if (in->alerts == NULL || in->devices == NULL || in->probes == NULL)
		fatalx("out of memory");
	in->sink.emit = on_alert;
	in->sink.arg = in;
	if ((in->filling = batch_get(in)) == NULL)
		fatalx("out of memory");
	if (publish_init(&in->pub, in->rds, cf, in->wh, err,
	    sizeof(err)) == -1)
		fatalx("nng.events_url: %s", err);
	if (status_start(cf->nng.ingest_url, err, sizeof(err)) == -1)
		fatalx("nng.ingest_url: %s", err);
	if ((in->writer = writer_start(cf, err, sizeof(err))) == NULL)
		fatalx("influx: %s", err);
	ingest_status.writer = in->writer;

	in->m_lag = metric_with(metric_gauge("grilld_ingest_consumer_lag",
	    "Entries of the readings stream not yet delivered to the group "
	    "(-1: unknown).", NULL));
	in->m_pending = metric_with(metric_gauge("grilld_ingest_pending",
	    "Entries delivered to the group and not yet acknowledged.",
	    NULL));
	in->m_oldest = metric_with(metric_gauge(
	    "grilld_ingest_oldest_unacked_seconds", "Age of the oldest reading "
	    "this replica holds unacknowledged.", NULL));
	in->m_probes = metric_with(metric_gauge("grilld_ingest_probes",
	    "Probes whose state is kept.", NULL));
	in->m_probe_temp = metric_gauge("grilld_ingest_probe_temperature_celsius",
	    "Latest temperature of each probe, for as many probes as "
	    "docs/ingest.md says.", "device,probe");
	in->m_probe_target = metric_gauge("grilld_ingest_probe_target_celsius",
	    "Target of the probe's cook rule, when it has one.",
	    "device,probe");
	in->m_probe_series_dropped = metric_with(metric_counter(
	    "grilld_ingest_probe_series_dropped_total", "Probes seen past "
	    "the cap, which have no gauges of their own.",
	    NULL));
	flags = metric_counter("grilld_ingest_anomalies_total", "Readings "
	    "flagged, by anomaly.", "flag");
	for (int i = 0; i < 5; i++)
		in->m_flags[i] = metric_with(flags, flag_names[i]);
	log_info("consumer %s of group %s on %s, batches of %lld",
	    in->cons.consumer, in->cons.group, in->cons.stream,
	    (long long)cf->ingest.batch_size);
}

static void
teardown(struct ingest *in)
{
	status_stop();
	ingest_status.writer = NULL;
	writer_free(in->writer);
	webhooks_stop(in->wh, keep_hook, in);
	publish_close(&in->pub);
	struct batch *all[3] = { in->filling, in->inflight, in->stored }, *b;

	for (int i = 0; i < 3; i++)
		if (all[i] != NULL) {
			batch_free(all[i]);
			free(all[i]);
		}
	while ((b = in->queue) != NULL || (b = in->pool) != NULL) {
		if (b == in->queue)
			in->queue = b->next;
		else
			in->pool = b->next;
		batch_free(b);
		free(b);
	}
	alerts_free(in->alerts);
	devices_free(in->devices);
	table_free(in->probes);
	rds_free(in->rds);
}

int
main(int argc, char *argv[])
{
	static struct ingest in;
	struct daemon d;
	struct admin *admin;
	const struct grilld_conf *cf;
	char err[256];

	daemon_setup(&d, "grilld-ingest", CONF_INGEST, argc, argv);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	/* Its threads read the configuration it started with. */
	cf = daemon_conf_hold(&d);
	in.d = &d;
	setup(&in, cf);
	if ((admin = admin_start(cf->ingest.admin_listen, status_ready, NULL,
	    err, sizeof(err))) == NULL)
		fatalx("admin server on %s: %s", cf->ingest.admin_listen, err);
	log_info("admin on http://%s", cf->ingest.admin_listen);
	run(&in);
	drain(&in);
	log_info("stopping");
	admin_stop(admin);
	teardown(&in);
	curl_global_cleanup();
	daemon_conf_drop(cf);
	daemon_teardown(&d);
	return 0;
}
