/*
 * Alert webhooks (ingest.webhooks: a list of {url, secret}), delivered
 * by a thread per receiver, each with its own queue and connection, so
 * that a slow or dead receiver never holds up ingestion nor the
 * deliveries to the others.
 *
 *   POST <url>
 *   Content-Type: application/json
 *   X-Grilld-Event: alert
 *   X-Grilld-Delivery: <alert_id>-<n>          unique per delivery
 *   X-Grilld-Signature: sha256=<hex HMAC-SHA256 of the body under secret>
 *
 * A 2xx answer is a delivery; anything else is retried with exponential
 * backoff and full jitter (1 s to 5 min) for up to WEBHOOK_TRIES tries
 * or WEBHOOK_BUDGET_MS, then dropped, counted and logged. Each queue is
 * bounded in items and bytes; webhooks_send() never blocks: when a
 * receiver's queue is full the alert is dropped for it (it is still in
 * the alerts stream and on the live feed) and counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "backoff.h"
#include "hmac.h"
#include "log.h"
#include "ingest.h"

#define WEBHOOKS_MAX		16
#define WEBHOOK_QUEUE_MAX	1024
#define WEBHOOK_QUEUE_BYTES	(4 * 1024 * 1024)
#define WEBHOOK_TRIES		8
#define WEBHOOK_BUDGET_MS	(60 * 60 * 1000)
#define WEBHOOK_TIMEOUT_MS	10000

struct webhooks;

struct delivery {
	char		*body;
	size_t		 len;
	struct backoff	 bo;
	int64_t		 due;		/* monotonic ms */
	unsigned	 seq;
};

/* One receiver: its thread, its queue, its connection. */
struct hook {
	char		*url;
	char		*secret;
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
	struct metric_series *m_ok, *m_failed, *m_dropped, *m_retries;
};

static void
hooks_free(struct webhooks *w)
{
	for (size_t i = 0; i < w->nhooks; i++) {
		struct hook *h = &w->hooks[i];

		free(h->url);
		free(h->secret);
		for (size_t k = 0; h->q != NULL && k < h->nq; k++)
			free(h->q[k].body);
		free(h->q);
	}
	free(w);
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
	const char *id;

	hmac_sha256_hex(h->secret, strlen(h->secret), d->body, d->len, sig);
	snprintf(hdr, sizeof(hdr), "X-Grilld-Signature: sha256=%s", sig);
	id = strstr(d->body, "\"alert_id\":\"");
	snprintf(dhdr, sizeof(dhdr), "X-Grilld-Delivery: %.16s-%u",
	    id ? id + 12 : "none", d->seq);
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

static void
remove_at(struct hook *h, size_t i)
{
	h->bytes -= h->q[i].len;
	free(h->q[i].body);
	h->q[i] = h->q[--h->nq];
}

static void *
hook_main(void *arg)
{
	struct hook *h = arg;
	struct webhooks *w = h->w;
	char err[CURL_ERROR_SIZE];
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
webhooks_start(const struct cnode *list, char *err, size_t errlen)
{
	struct webhooks *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (load(w, list, err, errlen) == -1) {
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
		log_info("webhooks: %zu configured, a thread each", w->nhooks);
	return w;
}

size_t
webhooks_count(const struct webhooks *w)
{
	return w ? w->nhooks : 0;
}

/* Queues one delivery to a receiver; false when its queue is full. */
static bool
enqueue(struct webhooks *w, struct hook *h, const char *body, size_t len)
{
	struct backoff_conf bc = { .base_ms = 1000, .cap_ms = 300000,
		.max_tries = WEBHOOK_TRIES, .budget_ms = WEBHOOK_BUDGET_MS };
	struct delivery *d;

	pthread_mutex_lock(&h->mtx);
	if (h->nq == WEBHOOK_QUEUE_MAX || h->bytes + len > WEBHOOK_QUEUE_BYTES) {
		pthread_mutex_unlock(&h->mtx);
		metric_inc(w->m_dropped);
		log_limited(&h->ll, 10000, LOG_LVL_WARN, "webhooks: queue "
		    "full, alert dropped for %s", h->url);
		return false;
	}
	d = &h->q[h->nq];
	if ((d->body = malloc(len + 1)) == NULL) {
		pthread_mutex_unlock(&h->mtx);
		return false;
	}
	memcpy(d->body, body, len);
	d->body[len] = '\0';
	d->len = len;
	d->due = 0;
	d->seq = atomic_fetch_add(&w->seq, 1) + 1;
	backoff_init(&d->bo, &bc);
	h->nq++;
	h->bytes += len;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mtx);
	return true;
}

void
webhooks_send(struct webhooks *w, const char *body, size_t len)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->nhooks; i++)
		enqueue(w, &w->hooks[i], body, len);
}

int
webhooks_send_to(struct webhooks *w, const char *url, const char *body,
    size_t len)
{
	for (size_t i = 0; w != NULL && i < w->nhooks; i++)
		if (strcmp(w->hooks[i].url, url) == 0) {
			enqueue(w, &w->hooks[i], body, len);
			return 0;
		}
	return -1;
}

void
webhooks_stop(struct webhooks *w,
    void (*keep)(const char *, const char *, size_t, void *), void *arg)
{
	size_t left = 0;

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
		for (size_t k = 0; keep != NULL && k < h->nq; k++)
			keep(h->url, h->q[k].body, h->q[k].len, arg);
		left += h->nq;
	}
	if (left > 0 && keep == NULL)
		log_warnx("webhooks: %zu deliveries still queued at exit are "
		    "dropped", left);
	else if (left > 0)
		log_info("webhooks: %zu deliveries still queued at exit are "
		    "kept for the next start", left);
	hooks_free(w);
}
