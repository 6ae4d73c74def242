/*
 * The device registry: the state of every device this poller polls, as
 * one JSON object each (battery, Wi-Fi or gateway RSSI, online or stale
 * by the age of lastTelemetrySaved against poller.stale_after, alarm
 * settings, fan state on Signals, the probes).
 *
 * The main thread updates it after each device's poll; the hand-off
 * thread writes what changed to the Redis hash `devices` (field: device
 * id) and deletes devices that left their account; nng's threads answer
 * MSG_DEVICES_REQ and MSG_STATUS_REQ on nng.poller_url from it. One mutex
 * guards it; nothing slow happens while it is held.
 *
 * MSG_DEVICES_REQ may carry {"device_id": id} for one device, or
 * {"offset": n, "limit": m} for a page; the reply is {"devices": [...],
 * "total": N, "offset": n, "next": n + count or null}, cut short so that
 * it stays below MSG_BODY_MAX.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "nngx.h"
#include "poller.h"
#include "rds.h"

#define REG_FLUSH_BATCH		256	/* fields per HSET */
#define REG_REPLY_MAX		(MSG_BODY_MAX - 4096)

struct reg_entry {
	char		 id[TW_SERIAL_LEN];
	char		*json;		/* NULL until first polled */
	bool		 dirty;		/* to write to Redis */
	size_t		 idx;
};

struct registry {
	pthread_mutex_t	 mu;
	struct reg_entry **e;
	size_t		 n, cap;
	char		**gone;		/* ids to delete from Redis */
	size_t		 ngone, capgone;
	struct nngx_rep	*rep;
};

static struct registry *
reg(struct poller *p)
{
	if (p->registry == NULL) {
		if ((p->registry = calloc(1, sizeof(*p->registry))) == NULL)
			return NULL;
		pthread_mutex_init(&p->registry->mu, NULL);
	}
	return p->registry;
}

struct reg_entry *
registry_add(struct poller *p, const char *id)
{
	struct registry *r = reg(p);
	struct reg_entry *e;

	if (r == NULL || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	util_strlcpy(e->id, id, sizeof(e->id));
	pthread_mutex_lock(&r->mu);
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct reg_entry **a = reallocarray(r->e, cap, sizeof(*a));

		if (a == NULL) {
			pthread_mutex_unlock(&r->mu);
			free(e);
			return NULL;
		}
		r->e = a;
		r->cap = cap;
	}
	e->idx = r->n;
	r->e[r->n++] = e;
	pthread_mutex_unlock(&r->mu);
	return e;
}

/* Queues an id (taken) for HDEL; false when memory ran out. */
static bool
gone_push(struct registry *r, char *id)
{
	if (r->ngone == r->capgone) {
		size_t cap = r->capgone ? r->capgone * 2 : 16;
		char **a = reallocarray(r->gone, cap, sizeof(*a));

		if (a == NULL)
			return false;
		r->gone = a;
		r->capgone = cap;
	}
	r->gone[r->ngone++] = id;
	return true;
}

/*
 * Forgets a device; purge also deletes it from Redis (it left its
 * account), else the hash keeps it (another poller took the account).
 */
void
registry_remove(struct poller *p, struct reg_entry *e, bool purge)
{
	struct registry *r = p->registry;
	char *id;

	if (e == NULL || r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->e[e->idx] = r->e[--r->n];
	r->e[e->idx]->idx = e->idx;
	if (purge && (id = strdup(e->id)) != NULL && !gone_push(r, id))
		free(id);
	pthread_mutex_unlock(&r->mu);
	free(e->json);
	free(e);
}

static void
put_time(struct buf *b, const char *key, int64_t ns)
{
	char ts[UTIL_TIME_LEN];

	if (ns <= 0) {
		buf_printf(b, ",\"%s\":null", key);
		return;
	}
	util_time_format(ns, ts, sizeof(ts));
	buf_printf(b, ",\"%s\":\"%s\"", key, ts);
}

static void
put_str(struct buf *b, const char *key, const char *v)
{
	buf_printf(b, ",\"%s\":", key);
	if (v == NULL || v[0] == '\0') {
		buf_puts(b, "null");
		return;
	}
	buf_putc(b, '"');
	buf_json_escape(b, v);
	buf_putc(b, '"');
}

static void
put_unit(struct buf *b, const char *key, char u)
{
	char s[2] = { u, '\0' };

	put_str(b, key, u ? s : NULL);
}

static void
put_alarm(struct buf *b, const char *key, const struct tw_alarm *a)
{
	if (!a->present) {
		buf_printf(b, ",\"%s\":null", key);
		return;
	}
	buf_printf(b, ",\"%s\":{\"enabled\":%s,\"alarming\":%s", key,
	    a->enabled ? "true" : "false", a->alarming ? "true" : "false");
	if (a->has_value)
		buf_printf(b, ",\"value\":%.17g", a->value);
	else
		buf_puts(b, ",\"value\":null");
	put_unit(b, "unit", a->unit);
	buf_putc(b, '}');
}

/* The newest lastTelemetrySaved the device or any channel showed. */
static int64_t
last_telemetry(const struct tw_device *d)
{
	int64_t t = d->has_doc ? d->doc.last_telemetry_ns : 0;

	for (int i = 0; i < d->nch; i++)
		if (d->ch[i].doc.last_telemetry_ns > t)
			t = d->ch[i].doc.last_telemetry_ns;
	return t;
}

/* The state of a device as JSON, appended to b. */
int
registry_device_json(struct buf *b, const struct tw_device *d, int64_t now_ns,
    int64_t stale_after_ms)
{
	const struct tw_dev_doc *doc = &d->doc;
	int64_t last = last_telemetry(d);
	const char *state;
	int signal = doc->wifi_rssi != READING_NO_SIGNAL ? doc->wifi_rssi :
	    doc->gateway_rssi;

	if (last == 0)
		state = "unknown";
	else if (now_ns - last > stale_after_ms * NS_PER_MS)
		state = "stale";
	else
		state = "online";
	buf_puts(b, "{\"device_id\":\"");
	buf_json_escape(b, d->serial);
	buf_putc(b, '"');
	put_str(b, "name", doc->label);
	put_str(b, "model", doc->model);
	put_str(b, "type", doc->type);
	put_str(b, "mac", doc->mac);
	put_str(b, "firmware", doc->firmware);
	put_str(b, "account_id", d->acct->account_id);
	put_str(b, "state", state);
	put_time(b, "last_telemetry", last);
	put_time(b, "last_seen", doc->last_seen_ns);
	put_time(b, "session_start", doc->session_start_ns);
	if (doc->battery != READING_NO_BATTERY)
		buf_printf(b, ",\"battery\":%d", doc->battery);
	else
		buf_puts(b, ",\"battery\":null");
	put_str(b, "battery_state", doc->battery_state);
	if (signal != READING_NO_SIGNAL)
		buf_printf(b, ",\"signal\":%d,\"signal_source\":\"%s\"", signal,
		    doc->wifi_rssi != READING_NO_SIGNAL ? "wifi" : "gateway");
	else
		buf_puts(b, ",\"signal\":null,\"signal_source\":null");
	put_unit(b, "units", doc->units);
	buf_printf(b, ",\"recording_interval_s\":%lld,\"upload_interval_s\":"
	    "%lld", (long long)doc->recording_s, (long long)doc->transmit_s);
	if (doc->fan.present) {
		buf_puts(b, ",\"fan\":{");
		if (doc->fan.has_set_temp)
			buf_printf(b, "\"set_temp\":%.17g", doc->fan.set_temp);
		else
			buf_puts(b, "\"set_temp\":null");
		put_str(b, "state", doc->fan.state);
		buf_printf(b, ",\"connected\":%s}", !doc->fan.has_connected ?
		    "null" : doc->fan.connected ? "true" : "false");
	}
	buf_puts(b, ",\"probes\":[");
	for (int i = 0; i < d->nch; i++) {
		const struct tw_chan_doc *c = &d->ch[i].doc;

		buf_printf(b, "%s{\"probe_id\":\"%d\"", i ? "," : "",
		    d->ch[i].number);
		put_str(b, "label", c->label);
		put_str(b, "type", c->type);
		put_unit(b, "unit", c->unit);
		put_str(b, "status", reading_status_name(c->status));
		if (c->has_value && isfinite(c->value))
			buf_printf(b, ",\"temperature\":%.17g", c->value);
		else
			buf_puts(b, ",\"temperature\":null");
		put_time(b, "timestamp", c->last_telemetry_ns);
		put_alarm(b, "alarm_high", &c->alarm_high);
		put_alarm(b, "alarm_low", &c->alarm_low);
		buf_putc(b, '}');
	}
	return buf_puts(b, "]}");
}

/* After a poll: the device's state, marked for Redis when it changed. */
void
registry_update(struct poller *p, struct tw_device *d, int64_t now_ns)
{
	struct registry *r = p->registry;
	struct reg_entry *e = d->reg;
	struct buf b;

	if (r == NULL || e == NULL)
		return;
	buf_init(&b);
	if (registry_device_json(&b, d, now_ns, p->cf->poller.stale_after) ==
	    -1) {
		buf_free(&b);
		return;
	}
	pthread_mutex_lock(&r->mu);
	if (e->json == NULL || strcmp(e->json, b.data) != 0) {
		free(e->json);
		e->json = buf_steal(&b);
		e->dirty = true;
	}
	pthread_mutex_unlock(&r->mu);
	buf_free(&b);
}

/* ---- Redis (hand-off thread) ---- */

struct flush_set {
	char		*ids[REG_FLUSH_BATCH];
	char		*json[REG_FLUSH_BATCH];
	size_t		 n;
};

static void
flush_set_clear(struct flush_set *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->ids[i]);
		free(f->json[i]);
	}
	f->n = 0;
}

/*
 * Copies up to a batch of changed devices from *pos on, clearing their
 * marks; the lock is held for one batch at a time. A device removed
 * meanwhile may shift one past the cursor: it stays marked for the next
 * flush.
 */
static void
flush_collect(struct registry *r, size_t *pos, struct flush_set *f)
{
	pthread_mutex_lock(&r->mu);
	for (; *pos < r->n && f->n < REG_FLUSH_BATCH; (*pos)++) {
		struct reg_entry *e = r->e[*pos];

		if (e->json == NULL || !e->dirty)
			continue;
		f->ids[f->n] = strdup(e->id);
		f->json[f->n] = strdup(e->json);
		if (f->ids[f->n] == NULL || f->json[f->n] == NULL) {
			free(f->ids[f->n]);
			free(f->json[f->n]);
			continue;	/* stays marked */
		}
		e->dirty = false;
		f->n++;
	}
	pthread_mutex_unlock(&r->mu);
}

static int
run_argv(struct rds *db, const char **argv, size_t argc)
{
	redisReply *rep = rds_commandargv(db, (int)argc, argv, NULL);
	int rc = rep != NULL && rep->type != REDIS_REPLY_ERROR ? 0 : -1;

	if (rep != NULL && rep->type == REDIS_REPLY_ERROR)
		log_warnx("registry: redis: %s", rep->str);
	if (rep != NULL)
		freeReplyObject(rep);
	return rc;
}

/* A write failed: every device is written again next time. */
static void
mark_all(struct registry *r)
{
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->n; i++)
		r->e[i]->dirty = true;
	pthread_mutex_unlock(&r->mu);
}

static int
flush_gone(struct registry *r, struct rds *db, const char *key)
{
	const char *argv[2 + REG_FLUSH_BATCH];
	char **gone;
	size_t n, i = 0, argc;
	int rc = 0;

	pthread_mutex_lock(&r->mu);
	gone = r->gone;
	n = r->ngone;
	r->gone = NULL;
	r->ngone = r->capgone = 0;
	pthread_mutex_unlock(&r->mu);
	while (i < n && rc == 0) {
		argv[0] = "HDEL";
		argv[1] = key;
		for (argc = 2; i < n && argc < ARRAY_LEN(argv); i++)
			argv[argc++] = gone[i];
		rc = run_argv(db, argv, argc);
	}
	pthread_mutex_lock(&r->mu);
	for (i = 0; i < n; i++)
		if (rc == 0 || !gone_push(r, gone[i]))
			free(gone[i]);		/* deleted, or given up */
	pthread_mutex_unlock(&r->mu);
	free(gone);
	return rc;
}

/*
 * Writes the devices that changed to the `devices` hash and deletes the
 * ones that left, in batches; -1 when Redis failed (all is written again
 * next time).
 */
int
registry_flush(struct poller *p, struct rds *db, const char *key)
{
	struct registry *r = p->registry;
	const char *argv[2 + 2 * REG_FLUSH_BATCH];
	struct flush_set f;
	size_t pos = 0, argc;
	int rc = 0;

	if (r == NULL)
		return 0;
	f.n = 0;
	while (rc == 0) {
		flush_collect(r, &pos, &f);
		if (f.n == 0)
			break;
		argv[0] = "HSET";
		argv[1] = key;
		for (argc = 2; argc < 2 + 2 * f.n; argc += 2) {
			argv[argc] = f.ids[(argc - 2) / 2];
			argv[argc + 1] = f.json[(argc - 2) / 2];
		}
		rc = run_argv(db, argv, argc);
		flush_set_clear(&f);
	}
	if (rc == 0)
		rc = flush_gone(r, db, key);
	if (rc == -1)
		mark_all(r);
	return rc;
}

/* ---- nng: MSG_DEVICES_REQ, MSG_STATUS_REQ ---- */

/*
 * Whether this poller polls every account: a standby's registry is
 * empty or stale, and the API then reads the active poller's state from
 * the `devices` hash instead. An account whose lease was just taken
 * over is not polled yet either until its device list has been read:
 * until then its registry is empty, and an empty answer called complete
 * would list no device at all. devices_reply() also calls an answer
 * incomplete while a device found is not polled yet.
 */
static bool
polls_all(struct poller *p)
{
	struct tw_account *a;
	bool all = p->naccounts > 0;

	pthread_mutex_lock(&p->status_mu);
	TAILQ_FOREACH(a, &p->accounts, entry)
		if (atomic_load(&a->lease) != LEASE_HELD || !a->st_discovered)
			all = false;
	pthread_mutex_unlock(&p->status_mu);
	return all;
}

static int
devices_reply(struct registry *r, const cJSON *req, bool complete,
    struct buf *out)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "device_id");
	const cJSON *off = cJSON_GetObjectItemCaseSensitive(req, "offset");
	const cJSON *lim = cJSON_GetObjectItemCaseSensitive(req, "limit");
	size_t start = 0, limit = SIZE_MAX, i, count = 0, total;
	struct buf body;
	int rc;

	if (cJSON_IsNumber(off) && off->valuedouble > 0)
		start = (size_t)off->valuedouble;
	if (cJSON_IsNumber(lim) && lim->valuedouble >= 1)
		limit = (size_t)lim->valuedouble;
	buf_init(&body);
	buf_puts(&body, "{\"devices\":[");
	pthread_mutex_lock(&r->mu);
	total = r->n;
	/* Found but not polled yet (a lease just taken over): the hash
	 * still has what the last active poller knew of it. */
	for (i = 0; i < r->n && complete; i++)
		complete = r->e[i]->json != NULL;
	for (i = start; i < r->n && count < limit; i++) {
		const struct reg_entry *e = r->e[i];

		if (e->json == NULL || (cJSON_IsString(id) &&
		    strcmp(id->valuestring, e->id) != 0))
			continue;
		if (body.len + strlen(e->json) + 64 > REG_REPLY_MAX)
			break;
		if (count++ > 0)
			buf_putc(&body, ',');
		buf_puts(&body, e->json);
	}
	pthread_mutex_unlock(&r->mu);
	buf_printf(&body, "],\"complete\":%s,\"total\":%zu,\"offset\":%zu,"
	    "\"next\":", complete ? "true" : "false", total, start);
	if (i < total && !cJSON_IsString(id))
		buf_printf(&body, "%zu}", i);
	else
		buf_puts(&body, "null}");
	rc = msg_encode(out, MSG_DEVICES_REP, body.data, body.len);
	buf_free(&body);
	return rc;
}

static int
handle(const void *data, size_t len, struct buf *out, void *arg)
{
	struct poller *p = arg;
	char err[MSG_ERRLEN];
	enum msg_type type;
	cJSON *body = NULL;
	struct buf st;
	int rc = -1;

	if (msg_decode(data, len, &type, &body, err, sizeof(err)) == -1) {
		log_warnx("nng %s: malformed request: %s",
		    p->cf->nng.poller_url, err);
		return msg_encode_error(out, err);
	}
	switch (type) {
	case MSG_DEVICES_REQ:
		rc = devices_reply(p->registry, body, polls_all(p), out);
		break;
	case MSG_STATUS_REQ:
		buf_init(&st);
		poller_status_json(p, &st);
		rc = msg_encode(out, MSG_STATUS_REP, st.data, st.len);
		buf_free(&st);
		break;
	default:
		log_warnx("nng %s: unexpected %s request",
		    p->cf->nng.poller_url, msg_type_name(type));
		rc = msg_encode_error(out, "the poller answers status and "
		    "devices requests");
		break;
	}
	cJSON_Delete(body);
	return rc;
}

int
registry_serve(struct poller *p, char *err, size_t errlen)
{
	struct registry *r = reg(p);

	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->rep = nngx_rep_serve(p->cf->nng.poller_url, handle, p, 4, err,
	    errlen);
	return r->rep != NULL ? 0 : -1;
}

void
registry_stop(struct poller *p)
{
	if (p->registry != NULL) {
		nngx_rep_stop(p->registry->rep);
		p->registry->rep = NULL;
	}
}

void
registry_free(struct poller *p)
{
	struct registry *r = p->registry;

	if (r == NULL)
		return;
	registry_stop(p);
	for (size_t i = 0; i < r->n; i++) {
		free(r->e[i]->json);
		free(r->e[i]);
	}
	for (size_t i = 0; i < r->ngone; i++)
		free(r->gone[i]);
	free(r->gone);
	free(r->e);
	pthread_mutex_destroy(&r->mu);
	free(r);
	p->registry = NULL;
}
