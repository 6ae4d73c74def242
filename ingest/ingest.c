/*
 * grilld-ingest: reads the readings stream as one of a consumer group,
 * validates, flags anomalies, follows cooks, evaluates alert rules,
 * stores in InfluxDB and fans out what it stored. See ingest.h for the
 * threads and docs/ingest.md for the whole story.
 *
 * The main loop, one pass:
 *   1. collect the batch the writer finished and publish it (events,
 *      latest, alerts, XACK); a publish that fails is tried again and
 *      nothing new is read meanwhile;
 *   2. hand the batch being filled to the writer when it is full or has
 *      waited ingest.batch_wait, and the writer is free;
 *   3. once a second: rules, alert and device ticks, claims of entries
 *      a dead replica left, trimming, health;
 *   4. read more entries while the batch has room; when it is full and
 *      the writer is busy, wait for the writer (the input slows down,
 *      the stream is the buffer).
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
	uint64_t		 gen;		/* of the cached rule lookup */
	double			 target_c;
	bool			 want_cook;
	bool			 want_stall;
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
	struct batch		 b[3];
	struct batch		*spare[3];	/* free batches */
	size_t			 nspare;
	struct batch		*filling;	/* being filled */
	struct batch		*inflight;	/* with the writer */
	struct batch		*stored;	/* stored: to publish */
	bool			 group_ok;
	bool			 rules_ok;
	bool			 own_claimed;
	bool			 redis_up;
	int64_t			 next_tick, next_claim, next_trim;
	struct alert_sink	 sink;
	struct log_limit	 ll_reject;
	struct metric_series	*m_lag, *m_pending, *m_oldest, *m_probes;
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

static struct probe *
probe_of(struct ingest *in, const struct reading *r, char *key, size_t len)
{
	struct probe *p;
	bool created;

	snprintf(key, len, "%s/%s", r->device_id, r->probe_id);
	if ((p = table_put(in->probes, key, &created)) == NULL)
		return NULL;
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
	if (!backfill && r->ts_ns > p->latest_ts) {
		it->latest = true;
		p->latest_ts = r->ts_ns;
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

	v = rds_entry_get(e, "v", &vlen);
	raw = rds_entry_get(e, "r", &rawlen);
	why = validate_entry(&in->val, v, vlen, raw, rawlen, &r, util_now_ns(),
	    detail, sizeof(detail));
	if (why != REJECT_NONE)
		reject(in, why, e->id, raw, rawlen, detail);
	else
		take(in, &r, e->id, raw, rawlen);
	reading_clear(&r);
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

static struct batch *
batch_get(struct ingest *in)
{
	struct batch *b = in->spare[--in->nspare];

	batch_reset(b);
	return b;
}

static void
batch_put(struct ingest *in, struct batch *b)
{
	batch_reset(b);
	in->spare[in->nspare++] = b;
}

/* The batch being filled goes to the writer; a fresh one is filled. */
static bool
submit(struct ingest *in)
{
	if (in->inflight != NULL || in->nspare == 0 ||
	    !writer_submit(in->writer, in->filling))
		return false;
	in->inflight = in->filling;
	in->filling = batch_get(in);
	return true;
}

/*
 * Collects a finished write, hands the next batch over at once (so the
 * writer never waits for a publish), then publishes the stored one.
 * Returns false while a stored batch could not be published.
 */
static bool
settle(struct ingest *in, int64_t wait_ms, bool due)
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
		}
	}
	if (due)
		submit(in);
	if (in->stored == NULL)
		return true;
	if (publish_batch(&in->pub, &in->cons, in->stored) == -1) {
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
	int64_t oldest = 0;

	if (in->inflight && in->inflight->oldest_ms)
		oldest = in->inflight->oldest_ms;
	if (in->stored && in->stored->oldest_ms && (oldest == 0 ||
	    in->stored->oldest_ms < oldest))
		oldest = in->stored->oldest_ms;
	if (in->filling->oldest_ms && (oldest == 0 ||
	    in->filling->oldest_ms < oldest))
		oldest = in->filling->oldest_ms;
	status_update(in->redis_up && in->group_ok, oldest, in->cons.lag,
	    in->cons.pending, alerts_nrules(in->alerts));
	metric_set(in->m_lag, (double)in->cons.lag);
	metric_set(in->m_pending, (double)in->cons.pending);
	metric_set(in->m_oldest, oldest ? (double)(util_now_ns() / NS_PER_MS -
	    oldest) / 1000.0 : 0);
	metric_set(in->m_probes, (double)table_count(in->probes));
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
		if (in->inflight && util_mono_ms() - in->inflight->first_ms >=
		    claim_every)
			consume_touch(&in->cons, in->inflight);
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
		if (!settle(in, 0, batch_due(in, now))) {
			/* Redis is down: publish later, read nothing meanwhile. */
			periodic(in, now);
			daemon_sleep(200);
			continue;
		}
		periodic(in, now);
		room = (int)(cf->ingest.batch_size - (int64_t)in->filling->n);
		if (room <= 0 || !in->group_ok) {
			/* Full: wait for the writer; the stream buffers. */
			if (in->inflight != NULL)
				settle(in, 100, true);
			else
				daemon_sleep(100);
			continue;
		}
		if (in->inflight != NULL)
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
		n = consume_read(&in->cons, room < INGEST_READ_MAX ? room :
		    INGEST_READ_MAX, block, on_entry, in);
		if (n == -1) {
			in->redis_up = false;
			daemon_sleep(200);
		} else
			in->redis_up = true;
		if (daemon_reload_pending() && daemon_reload(in->d) == 0)
			log_info("SIGHUP: configuration reloaded (the log level "
			    "applies now; addresses and sizes at the next start; "
			    "alert rules reload by themselves)");
	}
}

static size_t
held(struct ingest *in)
{
	return in->filling->n + (in->inflight ? in->inflight->n : 0) +
	    (in->stored ? in->stored->n : 0);
}

/* SIGTERM: stop reading, store and publish what is held, then go. */
static void
drain(struct ingest *in)
{
	int64_t deadline = util_mono_ms() + INGEST_STOP_MS;

	log_info("stopping: storing the %zu readings in hand", held(in));
	while (util_mono_ms() < deadline) {
		daemon_heartbeat();
		if (held(in) == 0)
			break;	/* nothing in hand: nothing to wait for */
		if (!settle(in, 100, !batch_empty(in->filling))) {
			util_sleep_ms(100);
			continue;
		}
		if (batch_empty(in->filling) && in->inflight == NULL &&
		    in->stored == NULL)
			break;
	}
	writer_stop(in->writer, deadline);
	if (in->inflight != NULL || in->stored != NULL)
		settle(in, 0, false);
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
	struct rds_opts ro = { .connect_timeout_ms = cf->redis.connect_timeout,
		.command_timeout_ms = cf->redis.command_timeout,
		.password = cf->redis.password };
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
	if ((in->wh = webhooks_start(cf->ingest.webhooks, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((in->rds = rds_connect(cf->redis.url, &ro, err, sizeof(err))) ==
	    NULL)
		fatalx("redis.url: %s", err);
	if (!rds_connected(in->rds))
		log_warnx("redis %s: %s (retrying)", rds_addr(in->rds),
		    in->rds->errstr);
	consume_init(&in->cons, in->rds, cf);
	alertstore_init(&in->store, in->rds, cf);
	in->alerts = alerts_new(INGEST_ALERTS_MAX, &hooks);
	in->devices = devices_new(INGEST_PROBES_MAX, cf->ingest.stale_after);
	in->probes = table_new(sizeof(struct probe), INGEST_PROBES_MAX);
	if (in->alerts == NULL || in->devices == NULL || in->probes == NULL)
		fatalx("out of memory");
	in->sink.emit = on_alert;
	in->sink.arg = in;
	for (int i = 0; i < 3; i++) {
		batch_init(&in->b[i]);
		in->spare[in->nspare++] = &in->b[i];
	}
	in->filling = batch_get(in);
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
	webhooks_stop(in->wh);
	publish_close(&in->pub);
	for (int i = 0; i < 3; i++)
		batch_free(&in->b[i]);
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
	char err[256];

	daemon_setup(&d, "grilld-ingest", CONF_INGEST, argc, argv);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	in.d = &d;
	setup(&in, &d.cf);
	if ((admin = admin_start(d.cf.ingest.admin_listen, status_ready, NULL,
	    err, sizeof(err))) == NULL)
		fatalx("admin server on %s: %s", d.cf.ingest.admin_listen, err);
	log_info("admin on http://%s", d.cf.ingest.admin_listen);
	run(&in);
	drain(&in);
	log_info("stopping");
	admin_stop(admin);
	teardown(&in);
	curl_global_cleanup();
	daemon_teardown(&d);
	return 0;
}
