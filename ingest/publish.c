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
 *                `latest` never goes back in time
 *   events       XADD MAXLEN ~ ingest.events_max * t reading|device|alert
 *                d <device> j <JSON>; the entry id is the event id
 *   alerts       XADD MAXLEN ~ ingest.alerts_max, the alert events again
 *                (history)
 *   alertstate   HSET of every alert instance that changed (and HDEL of
 *                the acknowledgement of an alert that cleared)
 *
 * Then every event goes out on nng (MSG_READING, MSG_DEVICE, MSG_ALERT,
 * body JSON with "event_id"), and alerts to the webhooks. A Redis
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
	buf_init(&p->scratch);
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
}

static int
append(struct publish *p, int argc, const char **argv, const size_t *lens)
{
	return rds_append_argv(p->rds, argc, argv, lens) == 0 ? 1 : -1;
}

/* XADD stream MAXLEN ~ max * t type d device j json */
static int
append_event(struct publish *p, const char *type, const char *dev,
    size_t devlen, const char *j, size_t jlen, const char *stream,
    int64_t max)
{
	char smax[24];
	const char *argv[12] = { "XADD", stream, "MAXLEN", "~", smax, "*",
		RKEY_F_TYPE, type, RKEY_F_DEVICE, dev, RKEY_F_JSON, j };
	size_t lens[12];

	snprintf(smax, sizeof(smax), "%lld", (long long)max);
	for (int i = 0; i < 12; i++)
		lens[i] = i == 9 ? devlen : i == 11 ? jlen : strlen(argv[i]);
	return append(p, 12, argv, lens);
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
 * Live: what the batch gained since its last live publication (items,
 * device events, alert events past its cursors) goes out now, before
 * InfluxDB has it: `latest`, the `events` and `alerts` streams,
 * `alertstate`, then nng and webhooks. 0, or -1 to try again later (the
 * cursors stay; events are at least once).
 */
int
publish_live(struct publish *p, struct batch *b)
{
	struct buf j, state;
	const char **hargv = NULL;
	size_t *hlens = NULL, nh = 0, i, nrep = 0, ev_first, dev_first;
	size_t n = b->n, ndevs = b->ndevs, nalerts = b->nalerts;
	char (*ids)[INGEST_ID_LEN] = NULL, (*ts)[24] = NULL;
	size_t *alert_rep = NULL;
	redisReply *r;
	int rc = -1, k;
	bool broken = false;
	int64_t now = util_now_ns();

	if (b->live_n == n && b->live_ndevs == ndevs &&
	    b->live_nalerts == nalerts)
		return 0;
	buf_init(&j);
	buf_init(&state);

	/* latest: one script call for the newest reading of each probe. */
	if ((hargv = calloc(3 * n + 5, sizeof(*hargv))) == NULL ||
	    (hlens = calloc(3 * n + 5, sizeof(*hlens))) == NULL ||
	    (ts = calloc(n + 1, sizeof(*ts))) == NULL)
		goto fail;
	hargv[nh] = "EVAL"; hlens[nh++] = 4;
	hargv[nh] = latest_lua; hlens[nh++] = sizeof(latest_lua) - 1;
	hargv[nh] = "2"; hlens[nh++] = 1;
	hargv[nh] = p->latest; hlens[nh++] = strlen(p->latest);
	hargv[nh] = p->latest_ts; hlens[nh++] = strlen(p->latest_ts);
	for (i = b->live_n; i < n; i++) {
		const struct bitem *it = &b->it[i];

		if (!it->latest)
			continue;
		snprintf(ts[i], sizeof(ts[i]), "%lld", (long long)it->ts_ns);
		hargv[nh] = b->keys.data + it->key_off;
		hlens[nh++] = it->key_len;
		hargv[nh] = ts[i];
		hlens[nh++] = strlen(ts[i]);
		hargv[nh] = b->ev.data + it->ev_off;
		hlens[nh++] = it->ev_len;
	}
	if (nh > 5) {
		if ((k = append(p, (int)nh, hargv, hlens)) == -1)
			goto fail;
		nrep += (size_t)k;
	}

	/* events: readings, devices, alerts. */
	ev_first = nrep;
	for (i = b->live_n; i < n; i++) {
		const struct bitem *it = &b->it[i];

		if ((k = append_event(p, "reading", b->keys.data + it->key_off,
		    it->dev_len, b->ev.data + it->ev_off, it->ev_len,
		    p->events, p->events_max)) == -1)
			goto fail;
		nrep += (size_t)k;
	}
	dev_first = nrep;
	for (i = b->live_ndevs; i < ndevs; i++) {
		if (device_json(&j, &b->devs[i]) == -1 || (k = append_event(p,
		    "device", b->devs[i].device_id,
		    strlen(b->devs[i].device_id), j.data, j.len, p->events,
		    p->events_max)) == -1)
			goto fail;
		nrep += (size_t)k;
	}
	if ((alert_rep = calloc(nalerts + 1, sizeof(*alert_rep))) == NULL)
		goto fail;
	for (i = b->live_nalerts; i < nalerts; i++) {
		const struct alert_event *ev = &b->alerts[i];
		const char *argv[5];

		alert_rep[i] = SIZE_MAX;
		if (ev->publish) {
			buf_reset(&j);
			if (alert_event_json(&j, ev, NULL) == -1)
				goto fail;
			alert_rep[i] = nrep;
			if (append_event(p, "alert", ev->device_id,
			    strlen(ev->device_id), j.data, j.len, p->events,
			    p->events_max) == -1 || append_event(p, "alert",
			    ev->device_id, strlen(ev->device_id), j.data, j.len,
			    p->alerts, p->alerts_max) == -1)
				goto fail;
			nrep += 2;
		}
		buf_reset(&state);
		if (alert_state_json(&state, ev, now) == -1)
			goto fail;
		argv[0] = "HSET";
		argv[1] = p->state;
		argv[2] = ev->key;
		argv[3] = state.data;
		if (rds_append_argv(p->rds, 4, argv, NULL) == -1)
			goto fail;
		nrep++;
		if (!ev->firing) {
			char ack[ALERT_KEY_LEN + 8];

			snprintf(ack, sizeof(ack), "%s" RKEY_ACK, ev->key);
			argv[0] = "HDEL";
			argv[2] = ack;
			if (rds_append_argv(p->rds, 3, argv, NULL) == -1)
				goto fail;
			nrep++;
		}
	}

	/* The replies, keeping the ids the XADDs gave. */
	if ((ids = calloc(nrep + 1, sizeof(*ids))) == NULL)
		goto fail;
	for (i = 0; i < nrep; i++) {
		if ((r = rds_get_reply(p->rds)) == NULL) {
			broken = true;
			break;
		}
		if (r->type == REDIS_REPLY_STRING)
			util_strlcpy(ids[i], r->str, sizeof(ids[i]));
		else if (r->type == REDIS_REPLY_ERROR) {
			log_limited(&ll_pub, 10000, LOG_LVL_WARN, "publish: "
			    "redis: %s", r->str);
			broken = true;
		}
		freeReplyObject(r);
	}
	if (broken)
		goto fail;

	/* nng, then webhooks. */
	{
		size_t e = ev_first;

		for (i = b->live_n; i < n; i++) {
			const struct bitem *it = &b->it[i];

			pub_event(p, MSG_READING, b->ev.data + it->ev_off,
			    it->ev_len, ids[e++]);
		}
		metric_add(p->m_events, (double)(e - ev_first));
		for (i = b->live_ndevs; i < ndevs; i++) {
			if (device_json(&j, &b->devs[i]) == 0)
				pub_event(p, MSG_DEVICE, j.data, j.len,
				    ids[dev_first + i - b->live_ndevs]);
		}
		metric_add(p->m_events, (double)(ndevs - b->live_ndevs));
	}
	for (i = b->live_nalerts; i < nalerts; i++) {
		const struct alert_event *ev = &b->alerts[i];

		if (!ev->publish)
			continue;
		buf_reset(&j);
		if (alert_event_json(&j, ev, ids[alert_rep[i]]) == -1)
			continue;
		if (ev->firing && (unsigned)ev->kind < ALERTRULE_NKINDS)
			metric_inc(p->m_alerts_fired[ev->kind]);
		metric_inc(p->m_events);
		buf_reset(&state);
		alert_event_json(&state, ev, NULL);
		pub_event(p, MSG_ALERT, state.data, state.len,
		    ids[alert_rep[i]]);
		if (ev->notify && p->webhooks)
			webhooks_send(p->webhooks, j.data, j.len);
	}
	b->live_n = n;
	b->live_ndevs = ndevs;
	b->live_nalerts = nalerts;
	rc = 0;
	goto done;
fail:
	/* Replies still due are read and dropped; the step runs again. */
	while (rds_pending(p->rds) > 0 && (r = rds_get_reply(p->rds)) != NULL)
		freeReplyObject(r);
	metric_inc(p->m_pub_errors);
	log_limited(&ll_pub, 10000, LOG_LVL_WARN, "live publish of %zu "
	    "readings failed (%s): will try again", n - b->live_n,
	    p->rds->errstr[0] ? p->rds->errstr : "memory");
done:
	free(hargv);
	free(hlens);
	free(ts);
	free(ids);
	free(alert_rep);
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
