/*
 * Alert webhooks (ingest.webhooks: a list of {url, secret}), delivered
 * by a thread per receiver, each with its own queue and connection, so
 * that a slow or dead receiver never holds up ingestion nor the
 * deliveries to the others.
 *
 *   POST <url>
 *   Content-Type: application/json
 *   X-Grilld-Event: alert
 *   X-Grilld-Delivery: <alert_id>-<start>-<n>  unique per delivery
 *   X-Grilld-Signature: sha256=<hex HMAC-SHA256 of the body under secret>
 *
 * A 2xx answer is a delivery; anything else is retried with exponential
 * backoff and full jitter (1 s to 5 min) for up to WEBHOOK_TRIES tries
 * or WEBHOOK_BUDGET_MS, then dropped, counted and logged. Each queue is
 * bounded in items and bytes; queueing never waits for a receiver: when
 * a receiver's queue is full the alert is dropped for it (it is still in
 * the alerts stream and on the live feed) and counted.
 *
 * Durable: every delivery is written to a Redis stream of its receiver
 * (webhooks:q:<16 hex of the url's FNV-1a hash>, fields d: the delivery
 * id, b: the body) before it is queued, and deleted from it once the
 * receiver answered 2xx or the tries ran out. An alert's deliveries are
 * written by the script that publishes the alert (publish.c: the same
 * atomic step, so a kill -9 never separates them) and then handed over
 * with webhooks_queue_kept(). Each receiver's thread first reads its
 * stream back (after a stop or a kill -9, what was not delivered goes
 * out again, with the id it had). At least once: a
 * delivery made just before a crash, or by two replicas that both read
 * the stream back at their start, may arrive twice, with the same
 * X-Grilld-Delivery id for the receiver to deduplicate by.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "backoff.h"
#include "hmac.h"
#include "log.h"
#include "ingest.h"
#include "rds.h"
#include "rkeys.h"

#define WEBHOOKS_MAX		16
#define WEBHOOK_QUEUE_MAX	1024
#define WEBHOOK_QUEUE_BYTES	(4 * 1024 * 1024)
#define WEBHOOK_TRIES		8
#define WEBHOOK_BUDGET_MS	(60 * 60 * 1000)
#define WEBHOOK_TIMEOUT_MS	10000
#define WEBHOOK_RESTORE_MS	2000	/* between tries to read back */

struct webhooks;

struct delivery {
	char		*body;
	size_t		 len;
	struct backoff	 bo;
	int64_t		 due;		/* monotonic ms */
	char		 did[INGEST_DID_LEN];	/* X-Grilld-Delivery */
	char		 sid[INGEST_ID_LEN];	/* in the stream; "" not kept */
};

/* One receiver: its thread, its queue, its connection. */
struct hook {
	char		*url;
	char		*secret;
	char		 key[300];	/* its stream in Redis */
	struct rds	*rds;		/* the thread's own connection */
	bool		 restored;	/* its stream read back */
	struct webhooks	*w;
	pthread_t	 thr;
	bool		 started;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	struct delivery	*q;		/* WEBHOOK_QUEUE_MAX */
	size_t		 nq;
	size_t		 bytes;
	bool		 stop;
	atomic_bool	 cut;		/* stop: abort the request */
	struct log_limit ll;
};

struct webhooks {
	struct hook	 hooks[WEBHOOKS_MAX];
	size_t		 nhooks;
	_Atomic unsigned seq;
	/* The senders' connection (XADD), one sender at a time. */
	pthread_mutex_t	 jmtx;
	struct rds	*jrds;
	char		 url[1024];	/* redis.url, for the hook threads */
	struct rds_opts	 ropts;
	char		 prefix[128];
	uint64_t	 boot;		/* this start: delivery ids stay unique */
	struct log_limit ll;
	struct metric_series *m_ok, *m_failed, *m_dropped, *m_retries;
};

static void
hooks_free(struct webhooks *w)
{
	for (size_t i = 0; i < w->nhooks; i++) {
		struct hook *h = &w->hooks[i];

		free(h->url);
		free(h->secret);
		rds_free(h->rds);
		for (size_t k = 0; h->q != NULL && k < h->nq; k++)
			free(h->q[k].body);
		free(h->q);
	}
	rds_free(w->jrds);
	pthread_mutex_destroy(&w->jmtx);
	free(w);
}

/* The receiver's stream: named by a hash of its url (FNV-1a, 64 bits). */
static void
hook_key(const struct webhooks *w, const char *url, char *out, size_t len)
{
	uint64_t h = util_fnv1a64(url, strlen(url));

	snprintf(out, len, "%s%s%016llx", w->prefix,
	    rkey_name(RKEY_WEBHOOKS_Q), (unsigned long long)h);
}

static int
load(struct webhooks *w, const struct cnode *list, char *err, size_t errlen)
{
	const struct cnode *n;
	char where[128];

	if (list == NULL)
		return 0;
	cnode_where(list, where, sizeof(where));
	if (list->kind != CNODE_SEQ) {
		snprintf(err, errlen, "%s: ingest.webhooks must be a list of "
		    "{url, secret}", where);
		return -1;
	}
	for (n = list->child; n != NULL; n = n->next) {
		const char *url = cnode_str(n, "url", NULL);
		const char *secret = cnode_str(n, "secret", NULL);

		cnode_where(n, where, sizeof(where));
		if (n->kind != CNODE_MAP || url == NULL ||
		    (strncmp(url, "http://", 7) != 0 &&
		    strncmp(url, "https://", 8) != 0)) {
			snprintf(err, errlen, "%s: a webhook needs an http:// or "
			    "https:// url", where);
			return -1;
		}
		if (secret == NULL || strlen(secret) < 16) {
			snprintf(err, errlen, "%s: a webhook needs a secret of "
			    "at least 16 characters to sign with", where);
			return -1;
		}
		if (w->nhooks == WEBHOOKS_MAX) {
			snprintf(err, errlen, "%s: more than %d webhooks", where,
			    WEBHOOKS_MAX);
			return -1;
		}
		log_secret(secret);
		w->hooks[w->nhooks].w = w;
		w->hooks[w->nhooks].url = strdup(url);
		w->hooks[w->nhooks].secret = strdup(secret);
		w->hooks[w->nhooks].q = calloc(WEBHOOK_QUEUE_MAX,
		    sizeof(struct delivery));
		hook_key(w, url, w->hooks[w->nhooks].key,
		    sizeof(w->hooks[0].key));
		if (w->hooks[w->nhooks].url == NULL ||
		    w->hooks[w->nhooks].secret == NULL ||
		    w->hooks[w->nhooks].q == NULL) {
			snprintf(err, errlen, "out of memory");
			w->nhooks++;
			return -1;
		}
		w->nhooks++;
	}
	return 0;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

/* libcurl's progress callback: non-zero aborts (stopping). */
static int
cut_short(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct hook *h = arg;

	return atomic_load(&h->cut) ? 1 : 0;
}

/* One POST; the HTTP status, or 0 for a transport error. */
static long
deliver(CURL *curl, struct hook *h, const struct delivery *d,
    char *err)
{
	char sig[HMAC_SHA256_HEX_LEN + 1], hdr[128], dhdr[96];
	struct curl_slist *hs = NULL;
	long status = 0;

	hmac_sha256_hex(h->secret, strlen(h->secret), d->body, d->len, sig);
	snprintf(hdr, sizeof(hdr), "X-Grilld-Signature: sha256=%s", sig);
	snprintf(dhdr, sizeof(dhdr), "X-Grilld-Delivery: %s", d->did);
	hs = curl_slist_append(hs, "Content-Type: application/json");
	hs = curl_slist_append(hs, "X-Grilld-Event: alert");
	hs = curl_slist_append(hs, hdr);
	hs = curl_slist_append(hs, dhdr);
	hs = curl_slist_append(hs, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, h->url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->len);
	err[0] = '\0';
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hs);
	return status;
}

/*
 * Done with a delivery (delivered, or given up): out of the queue, and
 * out of its stream. Called with the lock held; Redis is called without.
 */
static void
remove_at(struct hook *h, size_t i)
{
	char sid[INGEST_ID_LEN];
	redisReply *r;

	util_strlcpy(sid, h->q[i].sid, sizeof(sid));
	h->bytes -= h->q[i].len;
	free(h->q[i].body);
	h->q[i] = h->q[--h->nq];
	if (sid[0] == '\0')
		return;
	pthread_mutex_unlock(&h->mtx);
	if ((r = rds_command(h->rds, "XDEL %s %s", h->key, sid)) == NULL ||
	    r->type == REDIS_REPLY_ERROR)
		log_limited(&h->ll, 10000, LOG_LVL_WARN, "webhook %s: XDEL "
		    "%s: %s (it may be delivered again)", h->url, sid,
		    r ? r->str : h->rds->errstr);
	if (r != NULL)
		freeReplyObject(r);
	pthread_mutex_lock(&h->mtx);
}

static void
backoff_default(struct backoff *bo)
{
	struct backoff_conf bc = { .base_ms = 1000, .cap_ms = 300000,
		.max_tries = WEBHOOK_TRIES, .budget_ms = WEBHOOK_BUDGET_MS };

	backoff_init(bo, &bc);
}

/* A field of an XRANGE entry's flat field/value array, or NULL. */
static const redisReply *
entry_field(const redisReply *fv, const char *name)
{
	for (size_t i = 0; fv->type == REDIS_REPLY_ARRAY && i + 1 <
	    fv->elements; i += 2)
		if (fv->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(fv->element[i]->str, name) == 0 &&
		    fv->element[i + 1]->type == REDIS_REPLY_STRING)
			return fv->element[i + 1];
	return NULL;
}

/*
 * Reads the receiver's stream back into its queue: what an earlier run
 * (or this one, before Redis answered) kept and did not deliver. Those
 * already queued (the same stream id) are skipped. 0, or -1 to try again.
 */
static int
restore(struct hook *h)
{
	redisReply *r;
	size_t n = 0;

	if ((r = rds_command(h->rds, "XRANGE %s - + COUNT %d", h->key,
	    WEBHOOK_QUEUE_MAX)) == NULL || r->type != REDIS_REPLY_ARRAY) {
		log_limited(&h->ll, 10000, LOG_LVL_WARN, "webhook %s: reading "
		    "back %s: %s (trying again)", h->url, h->key,
		    r && r->type == REDIS_REPLY_ERROR ? r->str :
		    h->rds->errstr);
		if (r != NULL)
			freeReplyObject(r);
		return -1;
	}
	pthread_mutex_lock(&h->mtx);
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i], *did, *body;
		struct delivery *d;
		bool have = false;

		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    (did = entry_field(e->element[1], RKEY_F_DELIVERY)) ==
		    NULL ||
		    (body = entry_field(e->element[1], RKEY_F_BODY)) == NULL)
			continue;
		for (size_t k = 0; k < h->nq && !have; k++)
			have = strcmp(h->q[k].sid, e->element[0]->str) == 0;
		if (have || h->nq == WEBHOOK_QUEUE_MAX)
			continue;
		d = &h->q[h->nq];
		memset(d, 0, sizeof(*d));
		if ((d->body = malloc(body->len + 1)) == NULL)
			continue;
		memcpy(d->body, body->str, body->len);
		d->body[body->len] = '\0';
		d->len = body->len;
		util_strlcpy(d->did, did->str, sizeof(d->did));
		util_strlcpy(d->sid, e->element[0]->str, sizeof(d->sid));
		backoff_default(&d->bo);
		h->nq++;
		h->bytes += d->len;
		n++;
	}
	pthread_mutex_unlock(&h->mtx);
	freeReplyObject(r);
	if (n > 0)
		log_info("webhook %s: %zu deliveries kept from before queued "
		    "again", h->url, n);
	return 0;
}

static void *
hook_main(void *arg)
{
	struct hook *h = arg;
	struct webhooks *w = h->w;
	char err[CURL_ERROR_SIZE];
	int64_t restore_at = 0;
	CURL *curl;

	if ((curl = curl_easy_init()) == NULL) {
		log_warnx("webhook %s: curl_easy_init failed: no deliveries",
		    h->url);
		return NULL;
	}
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)WEBHOOK_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "grilld-ingest");
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, cut_short);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);

	pthread_mutex_lock(&h->mtx);
	while (!h->stop) {
		int64_t now = util_mono_ms(), next = INT64_MAX;
		struct delivery d;
		size_t i, pick = SIZE_MAX;
		long status;

		/* Redis down: what is queued goes out, reading back waits. */
		if (!h->restored && now >= restore_at) {
			pthread_mutex_unlock(&h->mtx);
			h->restored = restore(h) == 0;
			pthread_mutex_lock(&h->mtx);
			restore_at = util_mono_ms() + WEBHOOK_RESTORE_MS;
			continue;
		}
		if (!h->restored)
			next = restore_at;

		for (i = 0; i < h->nq; i++) {
			if (h->q[i].due <= now && (pick == SIZE_MAX ||
			    h->q[i].due < h->q[pick].due))
				pick = i;
			if (h->q[i].due < next)
				next = h->q[i].due;
		}
		if (pick == SIZE_MAX) {
			int64_t wait = next == INT64_MAX ? 1000 : next - now;

			util_cond_wait_ms(&h->cv, &h->mtx, wait);
			continue;
		}
		/* Deliver outside the lock; the slot stays reserved. */
		d = h->q[pick];
		h->q[pick].due = INT64_MAX;
		pthread_mutex_unlock(&h->mtx);
		status = deliver(curl, h, &d, err);
		pthread_mutex_lock(&h->mtx);
		for (i = 0; i < h->nq; i++)
			if (h->q[i].body == d.body)
				break;
		if (i == h->nq)
			continue;
		if (h->stop) {
			h->q[i].due = 0;	/* cut short: kept, not tried */
			break;
		}
		if (status >= 200 && status < 300) {
			metric_inc(w->m_ok);
			remove_at(h, i);
			continue;
		}
		{
			int64_t ms = backoff_next(&h->q[i].bo, -1);

			if (ms < 0) {
				metric_inc(w->m_failed);
				log_limited(&h->ll, 10000, LOG_LVL_WARN, "webhook "
				    "%s: giving up after %u tries (last: %s%ld)",
				    h->url, backoff_tries(&h->q[i].bo),
				    status ? "HTTP " : "", status ? status : 0L);
				remove_at(h, i);
				continue;
			}
			metric_inc(w->m_retries);
			log_limited(&h->ll, 10000, LOG_LVL_WARN, "webhook %s: %s "
			    "%ld, retrying in %lld ms", h->url,
			    status ? "HTTP" : err, status, (long long)ms);
			h->q[i].due = util_mono_ms() + ms;
		}
	}
	pthread_mutex_unlock(&h->mtx);
	curl_easy_cleanup(curl);
	return NULL;
}

struct webhooks *
webhooks_start(const struct grilld_conf *cf, char *err, size_t errlen)
{
	struct webhooks *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&w->jmtx, NULL);
	util_strlcpy(w->prefix, cf->redis.prefix ? cf->redis.prefix : "",
	    sizeof(w->prefix));
	util_strlcpy(w->url, cf->redis.url, sizeof(w->url));
	rds_opts_conf(&w->ropts, cf);
	w->boot = (uint64_t)util_now_ns();
	if (load(w, cf->ingest.webhooks, err, errlen) == -1) {
		hooks_free(w);
		return NULL;
	}
	/* A connection each: a receiver's XDEL never waits for another's. */
	for (size_t i = 0; i < w->nhooks; i++)
		if ((w->hooks[i].rds = rds_connect(w->url, &w->ropts, err,
		    errlen)) == NULL) {
			hooks_free(w);
			return NULL;
		}
	if (w->nhooks > 0 && (w->jrds = rds_connect(w->url, &w->ropts, err,
	    errlen)) == NULL) {
		hooks_free(w);
		return NULL;
	}
	w->m_ok = metric_with(metric_counter("grilld_ingest_webhooks_total",
	    "Webhook deliveries, by result.", "result"), "delivered");
	w->m_failed = metric_with(metric_counter("grilld_ingest_webhooks_total",
	    NULL, "result"), "failed");
	w->m_dropped = metric_with(metric_counter(
	    "grilld_ingest_webhooks_total", NULL, "result"), "queue_full");
	w->m_retries = metric_with(metric_counter(
	    "grilld_ingest_webhook_retries_total", "Webhook deliveries tried "
	    "again.", NULL));
	for (size_t i = 0; i < w->nhooks; i++) {
		struct hook *h = &w->hooks[i];

		pthread_mutex_init(&h->mtx, NULL);
		util_cond_init(&h->cv);
		if (pthread_create(&h->thr, NULL, hook_main, h) != 0) {
			snprintf(err, errlen, "cannot start a webhook thread");
			webhooks_stop(w, NULL, NULL);
			return NULL;
		}
		h->started = true;
	}
	if (w->nhooks > 0)
		log_info("webhooks: %zu configured, a thread each, kept in "
		    "Redis until delivered", w->nhooks);
	return w;
}

size_t
webhooks_count(const struct webhooks *w)
{
	return w ? w->nhooks : 0;
}

/*
 * Writes a delivery into the receiver's stream; its stream id into sid,
 * or "" when Redis did not take it (it is then queued in memory only).
 */
static void
keep(struct webhooks *w, struct hook *h, const char *did, const char *body,
    size_t len, char *sid, size_t sidlen)
{
	const char *argv[7] = { "XADD", h->key, "*", RKEY_F_DELIVERY, did,
	    RKEY_F_BODY, body };
	size_t lens[7] = { 4, strlen(h->key), 1, 1, strlen(did), 1, len };
	redisReply *r;

	sid[0] = '\0';
	pthread_mutex_lock(&w->jmtx);
	r = rds_commandargv(w->jrds, 7, argv, lens);
	if (r != NULL && r->type == REDIS_REPLY_STRING)
		util_strlcpy(sid, r->str, sidlen);
	else
		log_limited(&w->ll, 10000, LOG_LVL_WARN, "webhooks: XADD %s: "
		    "%s: the delivery is queued, not kept across a restart",
		    h->key, r && r->type == REDIS_REPLY_ERROR ? r->str :
		    w->jrds->errstr);
	pthread_mutex_unlock(&w->jmtx);
	if (r != NULL)
		freeReplyObject(r);
}

/* The delivery id: the alert, this start, the count; unique. */
static void
make_did(struct webhooks *w, const char *alert_id, size_t alen, char *did,
    size_t len)
{
	snprintf(did, len, "%.*s-%llx-%u", (int)(alen < 16 ? alen : 16),
	    alert_id, (unsigned long long)w->boot,
	    atomic_fetch_add(&w->seq, 1) + 1);
}

/*
 * Into the receiver's queue in memory, with its stream id (sid, "" when
 * not kept). False when the queue is full or memory ran out; a delivery
 * whose stream id is queued already (read back meanwhile) is not queued
 * twice.
 */
static bool
enqueue(struct hook *h, const char *did, const char *sid, const char *body,
    size_t len)
{
	struct delivery *d;

	pthread_mutex_lock(&h->mtx);
	for (size_t k = 0; sid[0] != '\0' && k < h->nq; k++)
		if (strcmp(h->q[k].sid, sid) == 0) {
			pthread_mutex_unlock(&h->mtx);
			return true;
		}
	if (h->nq == WEBHOOK_QUEUE_MAX ||
	    h->bytes + len > WEBHOOK_QUEUE_BYTES) {
		pthread_mutex_unlock(&h->mtx);
		return false;
	}
	d = &h->q[h->nq];
	memset(d, 0, sizeof(*d));
	if ((d->body = malloc(len + 1)) == NULL) {
		pthread_mutex_unlock(&h->mtx);
		return false;
	}
	memcpy(d->body, body, len);
	d->body[len] = '\0';
	d->len = len;
	d->due = 0;
	util_strlcpy(d->did, did, sizeof(d->did));
	util_strlcpy(d->sid, sid, sizeof(d->sid));
	backoff_default(&d->bo);
	h->nq++;
	h->bytes += len;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mtx);
	return true;
}

static void
dropped(struct webhooks *w, struct hook *h)
{
	metric_inc(w->m_dropped);
	log_limited(&h->ll, 10000, LOG_LVL_WARN, "webhooks: queue full, "
	    "alert dropped for %s", h->url);
}

/* Kept in the receiver's stream first, then queued; false when full. */
static bool
send_one(struct webhooks *w, struct hook *h, const char *body, size_t len)
{
	char did[INGEST_DID_LEN], sid[INGEST_ID_LEN];
	const char *id;
	bool full;

	pthread_mutex_lock(&h->mtx);
	full = h->nq == WEBHOOK_QUEUE_MAX ||
	    h->bytes + len > WEBHOOK_QUEUE_BYTES;
	pthread_mutex_unlock(&h->mtx);
	if (full) {
		dropped(w, h);
		return false;
	}
	id = strstr(body, "\"alert_id\":\"");
	id = id ? id + 12 : "none";
	make_did(w, id, strcspn(id, "\""), did, sizeof(did));
	keep(w, h, did, body, len, sid, sizeof(sid));
	if (!enqueue(h, did, sid, body, len)) {
		dropped(w, h);
		return false;
	}
	return true;
}

const char *
webhooks_key(const struct webhooks *w, size_t i)
{
	return w != NULL && i < w->nhooks ? w->hooks[i].key : NULL;
}

void
webhooks_delivery_id(struct webhooks *w, const char *alert_id, char *did,
    size_t len)
{
	make_did(w, alert_id, strlen(alert_id), did, len);
}

void
webhooks_queue_kept(struct webhooks *w, size_t i, const char *did,
    const char *sid, const char *body, size_t len)
{
	struct hook *h;
	redisReply *r;

	if (w == NULL || i >= w->nhooks)
		return;
	h = &w->hooks[i];
	if (enqueue(h, did, sid, body, len))
		return;
	/* Dropped as when the queue was full before: not kept either. */
	dropped(w, h);
	pthread_mutex_lock(&w->jmtx);
	if ((r = rds_command(w->jrds, "XDEL %s %s", h->key, sid)) != NULL)
		freeReplyObject(r);
	pthread_mutex_unlock(&w->jmtx);
}

int
webhooks_send_to(struct webhooks *w, const char *url, const char *body,
    size_t len)
{
	for (size_t i = 0; w != NULL && i < w->nhooks; i++)
		if (strcmp(w->hooks[i].url, url) == 0) {
			send_one(w, &w->hooks[i], body, len);
			return 0;
		}
	return -1;
}

void
webhooks_stop(struct webhooks *w,
    void (*save)(const char *, const char *, size_t, void *), void *arg)
{
	size_t left = 0, kept = 0;

	if (w == NULL)
		return;
	for (size_t i = 0; i < w->nhooks; i++) {
		struct hook *h = &w->hooks[i];

		if (!h->started)
			continue;
		atomic_store(&h->cut, true);
		pthread_mutex_lock(&h->mtx);
		h->stop = true;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mtx);
	}
	for (size_t i = 0; i < w->nhooks; i++) {
		struct hook *h = &w->hooks[i];

		if (h->started) {
			pthread_join(h->thr, NULL);
			pthread_mutex_destroy(&h->mtx);
			pthread_cond_destroy(&h->cv);
		}
		/* Those in their stream wait there for the next start. */
		for (size_t k = 0; k < h->nq; k++) {
			if (h->q[k].sid[0] != '\0')
				kept++;
			else if (save != NULL)
				save(h->url, h->q[k].body, h->q[k].len, arg);
			else
				left++;
		}
	}
	if (left > 0)
		log_warnx("webhooks: %zu deliveries still queued at exit are "
		    "dropped", left);
	if (kept > 0)
		log_info("webhooks: %zu deliveries still queued at exit stay "
		    "in Redis for the next start", kept);
	hooks_free(w);
}
