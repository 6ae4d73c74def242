/*
 * Live data does not wait for InfluxDB. As readings are read, what they
 * change goes out at once (publish_live(), one Redis pipeline, then
 * nng), and the batch that holds them waits for the writer on its own:
 *
 *   latest       "device/probe" -> the reading's event JSON, for the
 *                newest reading of each probe (the API marks it stale by
 *                its timestamp; ingest.stale_after), set by a script
 *                only when the reading is newer than the one there (its
 *                time kept in latest:ts), so that with several replicas
 *                `latest` never goes back in time; staged per probe in
 *                a backlog and written at most every PUBLISH_LATEST_MS
 *                (the script's arguments were half of Redis's work)
 *   events       XADD MAXLEN ~ ingest.events_max * t reading|device|alert
 *                d <device> j <JSON>; the entry id is the event id
 *   alerts       XADD MAXLEN ~ ingest.alerts_max, the alert events again
 *                (history), by the script that also writes each webhook
 *                delivery of the alert into its receiver's stream
 *                (webhooks:q:<hash>, webhook.c) in the same atomic step
 *   alertstate   HSET of every alert instance that changed (and HDEL of
 *                the acknowledgement of an alert that cleared)
 *
 * Then every event goes out on nng (MSG_READING, MSG_DEVICE, MSG_ALERT,
 * body JSON with "event_id"), and the alerts' deliveries, already kept,
 * into the webhook threads' queues. A Redis
 * failure in the middle of the pipeline may repeat some events when the
 * step is tried again (at least once).
 *
 * Once InfluxDB stored the batch (publish_stored()): an XADD to the
 * dead-letter stream for each point InfluxDB refused (reason
 * influx_rejected), then the XACK of every entry, last, so nothing is
 * acknowledged before it is stored or dead-lettered. A point InfluxDB
 * refuses was published live already.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "nngx.h"
#include "ingest.h"

static struct log_limit ll_pub;

/*
 * A staged `latest`: its reading's time, its JSON in p->lbuf, in a slot
 * of cap bytes that the probe's next reading reuses when it fits (the
 * buffer holds about one JSON per probe, not one per reading).
 */
struct lstage {
	int64_t		 ts_ns;
	size_t		 off, len, cap;
};
#define LSTAGE_SLACK	32

/*
 * KEYS[1] latest, KEYS[2] latest:ts; ARGV: "device/probe", the reading's
 * time in ns, its event JSON, for each. Set only when newer than what is
 * there (or as new: the same reading published again). Nanoseconds
 * (1.7e18) are past Lua's exact doubles: compared as decimal strings,
 * which have no leading zeros. Answers how many were set.
 */
static const char latest_lua[] =
    "local n = 0\n"
    "for i = 1, #ARGV, 3 do\n"
    "  local cur, t = redis.call('HGET', KEYS[2], ARGV[i]), ARGV[i + 1]\n"
    "  if not cur or #cur < #t or (#cur == #t and cur <= t) then\n"
    "    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])\n"
    "    redis.call('HSET', KEYS[2], ARGV[i], t)\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return n\n";

/*
 * One announced alert, in one step: KEYS[1] events, KEYS[2] alerts, then
 * the stream of each webhook receiver to notify; ARGV[1] and ARGV[2]
 * the two streams' bounds, ARGV[3] the device, ARGV[4] the event JSON,
 * then a delivery id per receiver. The event goes into both streams and
 * the webhook body (the JSON with its event id, as on nng) into every
 * receiver's stream in the same script, so that a crash never leaves an
 * alert in `events` whose deliveries were not kept (issue 15). Answers
 * {event id, the receivers' entry ids}.
 */
static const char alert_lua[] =
    "local e = {'" RKEY_F_TYPE "', 'alert', '" RKEY_F_DEVICE "', ARGV[3], '"
    RKEY_F_JSON "', ARGV[4]}\n"
    "local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',\n"
    "    unpack(e))\n"
    "redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(e))\n"
    "local out = {id}\n"
    "if #KEYS > 2 then\n"
    "  local body = string.sub(ARGV[4], 1, -2) .. ',\"event_id\":\"' .. id\n"
    "      .. '\"}'\n"
    "  for i = 3, #KEYS do\n"
    "    out[#out + 1] = redis.call('XADD', KEYS[i], '*', '" RKEY_F_DELIVERY
    "', ARGV[i + 2],\n"
    "        '" RKEY_F_BODY "', body)\n"
    "  end\n"
    "end\n"
    "return out\n";

/*
 * Subscribers connected to the pub socket, kept by nng's pipe events
 * (on nng's threads): with none, events are not encoded for nng at all.
 */
static void
on_pipe(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	struct publish *p = arg;

	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&p->subscribers, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&p->subscribers, 1);
}

int
publish_init(struct publish *p, struct rds *rds, const struct grilld_conf *cf,
    struct webhooks *wh, char *err, size_t errlen)
{
	struct metric *fired;
	char nerr[NNGX_ERRLEN];

	memset(p, 0, sizeof(*p));
	p->rds = rds;
	p->webhooks = wh;
	consume_key(cf, RKEY_LATEST, p->latest, sizeof(p->latest));
	consume_key(cf, RKEY_LATEST_TS, p->latest_ts, sizeof(p->latest_ts));
	consume_key(cf, RKEY_EVENTS, p->events, sizeof(p->events));
	consume_key(cf, RKEY_ALERTS, p->alerts, sizeof(p->alerts));
	consume_key(cf, RKEY_ALERTSTATE, p->state, sizeof(p->state));
	p->events_max = cf->ingest.events_max;
	p->alerts_max = cf->ingest.alerts_max;
	util_fmt_i64(p->events_maxs, p->events_max);
	util_fmt_i64(p->alerts_maxs, p->alerts_max);
	buf_init(&p->scratch);
	buf_init(&p->out);
	buf_init(&p->lbuf);
	/* Past PUBLISH_LATEST_MAX it is written: never full, never evicts. */
	if ((p->lstage = table_new(sizeof(struct lstage),
	    2 * PUBLISH_LATEST_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (nngx_listen(&p->pub, "pub", cf->nng.events_url, nerr,
	    sizeof(nerr)) == -1) {
		snprintf(err, errlen, "%s", nerr);
		return -1;
	}
	p->pub_open = true;
	nng_pipe_notify(p->pub, NNG_PIPE_EV_ADD_POST, on_pipe, p);
	nng_pipe_notify(p->pub, NNG_PIPE_EV_REM_POST, on_pipe, p);
	if (nng_aio_alloc(&p->aio, NULL, NULL) != 0) {
		snprintf(err, errlen, "nng_aio_alloc failed");
		nng_close(p->pub);
		p->pub_open = false;
		return -1;
	}
	buf_init(&p->msg);
	p->m_events = metric_with(metric_counter("grilld_ingest_events_total",
	    "Events published (events stream and nng).", NULL));
	fired = metric_counter("grilld_ingest_alerts_total", "Alert events "
	    "announced, by rule kind and state.", "kind,state");
	for (int k = 0; k < ALERTRULE_NKINDS; k++)
		p->m_alerts_fired[k] = metric_with(fired,
		    alertrule_kind_name((enum alertrule_kind)k), "firing");
	p->m_pub_errors = metric_with(metric_counter(
	    "grilld_ingest_publish_errors_total", "Publish steps that failed "
	    "and were tried again.", NULL));
	return 0;
}

void
publish_close(struct publish *p)
{
	if (p->pub_open)
		nng_close(p->pub);
	p->pub_open = false;
	if (p->aio != NULL)
		nng_aio_free(p->aio);
	p->aio = NULL;
	buf_free(&p->scratch);
	buf_free(&p->msg);
	buf_free(&p->out);
	buf_free(&p->lbuf);
	table_free(p->lstage);
	p->lstage = NULL;
	free(p->ids);
	free(p->alert_rep);
	free(p->hrefs);
	p->hrefs = NULL;
	p->ids = NULL;
	p->alert_rep = NULL;
}

/* One command of the live pipeline, formatted into p->out. */
static int
out_cmd(struct publish *p, int argc, const char **argv, const size_t *lens)
{
	if (rds_format_argc(&p->out, argc) == -1)
		return -1;
	for (int i = 0; i < argc; i++)
		if (rds_format_arg(&p->out, argv[i], lens ? lens[i] :
		    strlen(argv[i])) == -1)
			return -1;
	p->ncmds++;
	return 0;
}

/* XADD stream MAXLEN ~ max * t type d device j json */
static int
out_event(struct publish *p, const char *type, const char *dev,
    size_t devlen, const char *j, size_t jlen, const char *stream,
    const char *max)
{
	const char *argv[12] = { "XADD", stream, "MAXLEN", "~", max, "*",
		RKEY_F_TYPE, type, RKEY_F_DEVICE, dev, RKEY_F_JSON, j };
	size_t lens[12];

	for (int i = 0; i < 12; i++)
		lens[i] = i == 9 ? devlen : i == 11 ? jlen : strlen(argv[i]);
	return out_cmd(p, 12, argv, lens);
}

static int
device_json(struct buf *b, const struct devev *d)
{
	char t[UTIL_TIME_LEN];
	int rc;

	util_time_format(d->ts_ns, t, sizeof(t));
	buf_reset(b);
	rc = buf_puts(b, "{\"device_id\":\"");
	rc = rc ? rc : buf_json_escape(b, d->device_id);
	rc = rc ? rc : buf_printf(b, "\",\"state\":\"%s\",\"timestamp\":\"%s\","
	    "\"reason\":\"", d->online ? "online" : "offline", t);
	rc = rc ? rc : buf_json_escape(b, d->reason);
	rc = rc ? rc : buf_puts(b, "\"}");
	return rc;
}

/* Sends an object with "event_id" added before its closing brace. */
static void
pub_event(struct publish *p, enum msg_type type, const char *j, size_t len,
    const char *id)
{
	struct buf *b = &p->scratch;
	nng_msg *m = NULL;
	int rv;

	if (!p->pub_open || atomic_load(&p->subscribers) <= 0 || len < 2 ||
	    j[len - 1] != '}')
		return;
	buf_reset(b);
	if (buf_append(b, j, len - 1) == -1 ||
	    buf_printf(b, "%s\"event_id\":\"%s\"}", len > 2 ? "," : "",
	    id ? id : "") == -1)
		return;
	buf_reset(&p->msg);
	if (msg_encode(&p->msg, type, b->data, b->len) == -1) {
		log_limited(&ll_pub, 10000, LOG_LVL_WARN, "nng: cannot encode "
		    "a %s event", msg_type_name(type));
		return;
	}
	/*
	 * One aio, reused: a pub socket completes a send at once (it drops
	 * for slow subscribers rather than wait), and nng_sendmsg() would
	 * allocate an aio for every message.
	 */
	if ((rv = nng_msg_alloc(&m, 0)) != 0 ||
	    (rv = nng_msg_append(m, p->msg.data, p->msg.len)) != 0) {
		if (rv != 0 && m != NULL)
			nng_msg_free(m);
		log_limited(&ll_pub, 10000, LOG_LVL_WARN, "nng: %s",
		    nng_strerror(rv));
		return;
	}
	nng_aio_set_msg(p->aio, m);
	nng_send_aio(p->pub, p->aio);
	nng_aio_wait(p->aio);
	if ((rv = nng_aio_result(p->aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(p->aio));
		log_limited(&ll_pub, 10000, LOG_LVL_WARN, "nng publish: %s",
		    nng_strerror(rv));
	}
}

/*
 * A live publication, in stages: live_latest(), live_readings(),
 * live_devices() and live_alerts() format one pipeline into p->out (the
 * reply of the command at index i of the pipeline is ids[i] later);
 * live_send() writes it and keeps the ids the XADDs gave;
 * live_announce() sends every event on nng and the alerts to the
 * webhooks. Each formatting stage returns 0, or -1 when memory ran out.
 */

/*
 * The newest reading of each probe the batch gained joins the staged
 * ones (a newer one of a probe replaces it; the same one staged again,
 * when a publication is tried again, changes nothing). -1: no memory.
 */
static int
latest_stage(struct publish *p, const struct batch *b)
{
	struct lstage *ls;
	bool created;

	for (size_t i = b->live_n; i < b->n; i++) {
		const struct bitem *it = &b->it[i];

		if (!it->latest)
			continue;
		if ((ls = table_put(p->lstage, b->keys.data + it->key_off,
		    &created)) == NULL)
			return -1;
		if (!created && ls->ts_ns >= it->ts_ns)
			continue;
		if (!created && it->ev_len <= ls->cap) {
			memcpy(p->lbuf.data + ls->off, b->ev.data + it->ev_off,
			    it->ev_len);
			ls->ts_ns = it->ts_ns;
			ls->len = it->ev_len;
			continue;
		}
		if (buf_reserve(&p->lbuf, it->ev_len + LSTAGE_SLACK) == -1) {
			table_del_value(p->lstage, ls);
			return -1;
		}
		ls->ts_ns = it->ts_ns;
		ls->off = p->lbuf.len;
		ls->len = it->ev_len;
		ls->cap = it->ev_len + LSTAGE_SLACK;
		memcpy(p->lbuf.data + ls->off, b->ev.data + it->ev_off,
		    it->ev_len);
		p->lbuf.len += ls->cap;
	}
	return 0;
}

/* Whether the staged `latest` is written with this publication. */
static bool
latest_due(const struct publish *p, int64_t now)
{
	size_t n = table_count(p->lstage);

	return n > 0 && (!p->backlog || n >= PUBLISH_LATEST_MAX ||
	    now - p->latest_ms >= PUBLISH_LATEST_MS);
}

/* Written: the stage starts again empty. */
static void
latest_clear(struct publish *p, int64_t now)
{
	void *v, *next;

	for (v = table_first(p->lstage); v != NULL; v = next) {
		next = table_next(p->lstage, v);
		table_del_value(p->lstage, v);
	}
	buf_reset(&p->lbuf);
	p->latest_ms = now;
}

/* latest: one script call for every staged probe. */
static int
live_latest(struct publish *p)
{
	size_t nlatest = table_count(p->lstage);
	const struct lstage *ls;
	char ts[24];
	int n;

	if (rds_format_argc(&p->out, (int)(5 + 3 * nlatest)) == -1 ||
	    rds_format_arg(&p->out, "EVAL", 4) == -1 ||
	    rds_format_arg(&p->out, latest_lua, sizeof(latest_lua) - 1) == -1 ||
	    rds_format_arg(&p->out, "2", 1) == -1 ||
	    rds_format_arg(&p->out, p->latest, strlen(p->latest)) == -1 ||
	    rds_format_arg(&p->out, p->latest_ts, strlen(p->latest_ts)) == -1)
		return -1;
	for (ls = table_first(p->lstage); ls != NULL;
	    ls = table_next(p->lstage, (void *)(uintptr_t)ls)) {
		const char *key = table_key(ls);

		n = util_fmt_i64(ts, ls->ts_ns);
		if (rds_format_arg(&p->out, key, strlen(key)) == -1 ||
		    rds_format_arg(&p->out, ts, (size_t)n) == -1 ||
		    rds_format_arg(&p->out, p->lbuf.data + ls->off,
		    ls->len) == -1)
			return -1;
	}
	p->ncmds++;
	return 0;
}

/* events: an XADD per reading, its device as d. */
static int
live_readings(struct publish *p, const struct batch *b)
{
	for (size_t i = b->live_n; i < b->n; i++) {
		const struct bitem *it = &b->it[i];

		if (it->backfill)	/* stored, not news */
			continue;
		if (out_event(p, "reading", b->keys.data + it->key_off,
		    it->dev_len, b->ev.data + it->ev_off, it->ev_len,
		    p->events, p->events_maxs) == -1)
			return -1;
	}
	return 0;
}

static int
live_devices(struct publish *p, const struct batch *b, struct buf *j)
{
	for (size_t i = b->live_ndevs; i < b->ndevs; i++) {
		const struct devev *d = &b->devs[i];

		if (device_json(j, d) == -1 || out_event(p, "device",
		    d->device_id, strlen(d->device_id), j->data, j->len,
		    p->events, p->events_maxs) == -1)
			return -1;
	}
	return 0;
}

/*
 * An announced alert: alert_lua with its JSON, and when it notifies, a
 * receiver's stream and a new delivery id for each webhook (p->hrefs).
 */
static int
out_alert(struct publish *p, const struct alert_event *ev,
    const struct buf *j)
{
	size_t nh = ev->notify ? webhooks_count(p->webhooks) : 0;
	const char *key;
	char nkeys[24];
	int n;

	n = util_fmt_i64(nkeys, (int64_t)(2 + nh));
	if (rds_format_argc(&p->out, (int)(9 + 2 * nh)) == -1 ||
	    rds_format_arg(&p->out, "EVAL", 4) == -1 ||
	    rds_format_arg(&p->out, alert_lua, sizeof(alert_lua) - 1) == -1 ||
	    rds_format_arg(&p->out, nkeys, (size_t)n) == -1 ||
	    rds_format_arg(&p->out, p->events, strlen(p->events)) == -1 ||
	    rds_format_arg(&p->out, p->alerts, strlen(p->alerts)) == -1)
		return -1;
	for (size_t k = 0; k < nh; k++) {
		key = webhooks_key(p->webhooks, k);
		if (rds_format_arg(&p->out, key, strlen(key)) == -1)
			return -1;
	}
	if (rds_format_arg(&p->out, p->events_maxs,
	    strlen(p->events_maxs)) == -1 ||
	    rds_format_arg(&p->out, p->alerts_maxs,
	    strlen(p->alerts_maxs)) == -1 ||
	    rds_format_arg(&p->out, ev->device_id,
	    strlen(ev->device_id)) == -1 ||
	    rds_format_arg(&p->out, j->data, j->len) == -1)
		return -1;
	for (size_t k = 0; k < nh; k++) {
		struct hookref *h = &p->hrefs[p->nhrefs++];

		webhooks_delivery_id(p->webhooks, ev->alert_id, h->did,
		    sizeof(h->did));
		h->sid[0] = '\0';
		if (rds_format_arg(&p->out, h->did, strlen(h->did)) == -1)
			return -1;
	}
	p->ncmds++;
	return 0;
}

/*
 * alerts: the announced ones into the events and alerts streams (their
 * reply index in alert_rep, SIZE_MAX for a state change only), and the
 * state of every instance into alertstate, its acknowledgement dropped
 * once it cleared.
 */
static int
live_alerts(struct publish *p, const struct batch *b, struct buf *j,
    int64_t now)
{
	const char *argv[4];

	for (size_t i = b->live_nalerts; i < b->nalerts; i++) {
		const struct alert_event *ev = &b->alerts[i];

		p->alert_rep[i] = SIZE_MAX;
		if (ev->publish) {
			buf_reset(j);
			if (alert_event_json(j, ev, NULL) == -1)
				return -1;
			p->alert_rep[i] = (size_t)p->ncmds;
			if (out_alert(p, ev, j) == -1)
				return -1;
		}
		buf_reset(j);
		if (alert_state_json(j, ev, now) == -1)
			return -1;
		argv[0] = "HSET";
		argv[1] = p->state;
		argv[2] = ev->key;
		argv[3] = j->data;
		if (out_cmd(p, 4, argv, NULL) == -1)
			return -1;
		if (!ev->firing) {
			char ack[ALERT_KEY_LEN + 8];

			snprintf(ack, sizeof(ack), "%s" RKEY_ACK, ev->key);
			argv[0] = "HDEL";
			argv[2] = ack;
			if (out_cmd(p, 3, argv, NULL) == -1)
				return -1;
		}
	}
	return 0;
}

/* alert_lua's answer: the event id, then the receivers' entry ids. */
static void
live_alert_reply(struct publish *p, int i, const redisReply *r)
{
	for (size_t k = 0; k < r->elements; k++) {
		const redisReply *e = r->element[k];

		if (e->type != REDIS_REPLY_STRING)
			continue;
		if (k == 0)
			util_strlcpy(p->ids[i], e->str, sizeof(p->ids[i]));
		else if (p->hrefs_got < p->nhrefs)
			util_strlcpy(p->hrefs[p->hrefs_got++].sid, e->str,
			    sizeof(p->hrefs[0].sid));
	}
}

/* Writes the pipeline and reads its replies, keeping the XADDs' ids. */
static int
live_send(struct publish *p)
{
	redisReply *r;
	bool broken = false;

	if (rds_send(p->rds, p->out.data, p->out.len, p->ncmds) == -1)
		return -1;
	for (int i = 0; i < p->ncmds; i++) {
		if ((r = rds_get_reply(p->rds)) == NULL)
			return -1;
		p->ids[i][0] = '\0';
		if (r->type == REDIS_REPLY_STRING)
			util_strlcpy(p->ids[i], r->str, sizeof(p->ids[i]));
		else if (r->type == REDIS_REPLY_ARRAY)
			live_alert_reply(p, i, r);
		else if (r->type == REDIS_REPLY_ERROR) {
			log_limited(&ll_pub, 10000, LOG_LVL_WARN, "publish: "
			    "redis: %s", r->str);
			broken = true;
		}
		freeReplyObject(r);
	}
	return broken ? -1 : 0;
}

/* nng for every event, then the alerts' kept deliveries to the webhooks. */
static void
live_announce(struct publish *p, const struct batch *b, size_t ev_first,
    size_t dev_first, struct buf *j, struct buf *state)
{
	size_t i, e = ev_first, h = 0;

	for (i = b->live_n; i < b->n; i++) {
		const struct bitem *it = &b->it[i];

		if (it->backfill)
			continue;
		pub_event(p, MSG_READING, b->ev.data + it->ev_off, it->ev_len,
		    p->ids[e++]);
	}
	metric_add(p->m_events, (double)(e - ev_first));
	for (i = b->live_ndevs; i < b->ndevs; i++) {
		if (device_json(j, &b->devs[i]) == 0)
			pub_event(p, MSG_DEVICE, j->data, j->len,
			    p->ids[dev_first + i - b->live_ndevs]);
	}
	metric_add(p->m_events, (double)(b->ndevs - b->live_ndevs));
	for (i = b->live_nalerts; i < b->nalerts; i++) {
		const struct alert_event *ev = &b->alerts[i];

		if (!ev->publish)
			continue;
		buf_reset(j);
		if (alert_event_json(j, ev, p->ids[p->alert_rep[i]]) == -1)
			continue;
		if (ev->firing && (unsigned)ev->kind < ALERTRULE_NKINDS)
			metric_inc(p->m_alerts_fired[ev->kind]);
		metric_inc(p->m_events);
		buf_reset(state);
		alert_event_json(state, ev, NULL);
		pub_event(p, MSG_ALERT, state->data, state->len,
		    p->ids[p->alert_rep[i]]);
		/* Kept already, by the script: now queued in memory too. */
		for (size_t k = 0; ev->notify && k < webhooks_count(p->webhooks);
		    k++, h++)
			if (h < p->hrefs_got)
				webhooks_queue_kept(p->webhooks, k,
				    p->hrefs[h].did, p->hrefs[h].sid, j->data,
				    j->len);
	}
}

/* Room for the replies of up to n commands and for the batch's alerts. */
static int
live_room(struct publish *p, const struct batch *b)
{
	/* latest, a reading each, a device each, four per alert at most */
	size_t n = 1 + b->n + b->ndevs + 4 * b->nalerts;
	void *np;

	if (n > p->ids_cap) {
		if ((np = realloc(p->ids, n * sizeof(*p->ids))) == NULL)
			return -1;
		p->ids = np;
		p->ids_cap = n;
	}
	n = b->nalerts * webhooks_count(p->webhooks);
	if (n > p->hrefs_cap) {
		if ((np = realloc(p->hrefs, n * sizeof(*p->hrefs))) == NULL)
			return -1;
		p->hrefs = np;
		p->hrefs_cap = n;
	}
	p->nhrefs = p->hrefs_got = 0;
	if (b->nalerts > p->alert_rep_cap) {
		if ((np = realloc(p->alert_rep, b->nalerts *
		    sizeof(*p->alert_rep))) == NULL)
			return -1;
		p->alert_rep = np;
		p->alert_rep_cap = b->nalerts;
	}
	return 0;
}

/*
 * Live: what the batch gained since its last live publication (items,
 * device events, alert events past its cursors) goes out now, before
 * InfluxDB has it: `latest`, the `events` and `alerts` streams,
 * `alertstate`, in one pipeline, then nng and webhooks. 0, or -1 to try
 * again later (the cursors stay; events are at least once).
 */
int
publish_live(struct publish *p, struct batch *b)
{
	struct buf j, state;
	size_t ev_first, dev_first;
	int64_t now = util_mono_ms();
	redisReply *r;
	bool latest;
	int rc = -1;

	if (latest_stage(p, b) == -1) {
		log_limited(&ll_pub, 10000, LOG_LVL_WARN, "live publish: out "
		    "of memory staging `latest`: will try again");
		return -1;
	}
	latest = latest_due(p, now);
	if (b->live_n == b->n && b->live_ndevs == b->ndevs &&
	    b->live_nalerts == b->nalerts && !latest)
		return 0;
	buf_init(&j);
	buf_init(&state);
	buf_reset(&p->out);
	p->ncmds = 0;
	if (live_room(p, b) == -1 || (latest && live_latest(p) == -1))
		goto fail;
	ev_first = (size_t)p->ncmds;
	if (live_readings(p, b) == -1)
		goto fail;
	dev_first = (size_t)p->ncmds;
	if (live_devices(p, b, &j) == -1 ||
	    live_alerts(p, b, &j, util_now_ns()) == -1 || live_send(p) == -1)
		goto fail;
	if (latest)
		latest_clear(p, now);
	live_announce(p, b, ev_first, dev_first, &j, &state);
	b->live_n = b->n;
	b->live_ndevs = b->ndevs;
	b->live_nalerts = b->nalerts;
	rc = 0;
	goto done;
fail:
	/* Replies still due are read and dropped; the step runs again. */
	while (rds_pending(p->rds) > 0 && (r = rds_get_reply(p->rds)) != NULL)
		freeReplyObject(r);
	metric_inc(p->m_pub_errors);
	log_limited(&ll_pub, 10000, LOG_LVL_WARN, "live publish of %zu "
	    "readings failed (%s): will try again", b->n - b->live_n,
	    p->rds->errstr[0] ? p->rds->errstr : "memory");
done:
	buf_free(&j);
	buf_free(&state);
	return rc;
}

/*
 * Stored: the points InfluxDB refused go to the dead-letter stream, then
 * every entry of the batch is acknowledged, in one pipeline. 0, or -1 to
 * try again later (nothing acknowledged before the dead letters went).
 */
int
publish_stored(struct publish *p, struct consume *c, struct batch *b)
{
	redisReply *r;
	size_t i, nrep = 0;
	bool broken = false;
	int k;

	for (i = 0; i < b->n; i++) {
		const struct bitem *it = &b->it[i];

		if (!it->dead)
			continue;
		if ((k = consume_append_dead(c, "influx_rejected", it->id,
		    b->raw.data + it->raw_off, it->raw_len,
		    it->why_off == UINT32_MAX ? "" : b->why.data +
		    it->why_off)) == -1)
			goto fail;
		nrep += (size_t)k;
	}
	if ((k = consume_append_ack(c, b)) == -1)
		goto fail;
	nrep += (size_t)k;
	for (i = 0; i < nrep; i++) {
		if ((r = rds_get_reply(p->rds)) == NULL) {
			broken = true;
			break;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			log_limited(&ll_pub, 10000, LOG_LVL_WARN, "publish: "
			    "redis: %s", r->str);
			if (strncmp(r->str, "NOGROUP", 7) != 0)
				broken = true;
		}
		freeReplyObject(r);
	}
	if (!broken)
		return 0;
fail:
	while (rds_pending(p->rds) > 0 && (r = rds_get_reply(p->rds)) != NULL)
		freeReplyObject(r);
	metric_inc(p->m_pub_errors);
	log_limited(&ll_pub, 10000, LOG_LVL_WARN, "acknowledging a stored "
	    "batch of %zu failed (%s): will try again", b->n,
	    p->rds->errstr[0] ? p->rds->errstr : "memory");
	return -1;
}
