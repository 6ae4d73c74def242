/*
 * Alert webhooks (ingest.webhooks: a list of {url, secret}), delivered
 * by a thread of their own so that a slow or dead receiver never holds
 * up ingestion.
 *
 *   POST <url>
 *   Content-Type: application/json
 *   X-Grilld-Event: alert
 *   X-Grilld-Delivery: <alert_id>-<n>          unique per delivery
 *   X-Grilld-Signature: sha256=<hex HMAC-SHA256 of the body under secret>
 *
 * A 2xx answer is a delivery; anything else is retried with exponential
 * backoff and full jitter (1 s to 5 min) for up to WEBHOOK_TRIES tries
 * or WEBHOOK_BUDGET_MS, then dropped, counted and logged. The queue is
 * bounded in items and bytes; webhooks_send() never blocks: when the
 * queue is full the alert is dropped for webhooks (it is still in the
 * alerts stream and on the live feed) and counted.
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

struct hook {
	char		*url;
	char		*secret;
};

struct delivery {
	char		*body;
	size_t		 len;
	size_t		 hook;
	struct backoff	 bo;
	int64_t		 due;		/* monotonic ms */
	unsigned	 seq;
};

struct webhooks {
	struct hook	 hooks[WEBHOOKS_MAX];
	size_t		 nhooks;
	pthread_t	 thr;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	struct delivery	 q[WEBHOOK_QUEUE_MAX];
	size_t		 nq;
	size_t		 bytes;
	unsigned	 seq;
	bool		 stop;
	bool		 started;
	struct log_limit ll;
	struct metric_series *m_ok, *m_failed, *m_dropped, *m_retries;
};

static void
hooks_free(struct webhooks *w)
{
	for (size_t i = 0; i < w->nhooks; i++) {
		free(w->hooks[i].url);
		free(w->hooks[i].secret);
	}
	for (size_t i = 0; i < w->nq; i++)
		free(w->q[i].body);
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
		w->hooks[w->nhooks].url = strdup(url);
		w->hooks[w->nhooks].secret = strdup(secret);
		if (w->hooks[w->nhooks].url == NULL ||
		    w->hooks[w->nhooks].secret == NULL) {
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

/* One POST; the HTTP status, or 0 for a transport error. */
static long
deliver(CURL *curl, const struct hook *h, const struct delivery *d,
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
remove_at(struct webhooks *w, size_t i)
{
	w->bytes -= w->q[i].len;
	free(w->q[i].body);
	w->q[i] = w->q[--w->nq];
}

static void *
webhooks_main(void *arg)
{
	struct webhooks *w = arg;
	char err[CURL_ERROR_SIZE];
	CURL *curl;

	if ((curl = curl_easy_init()) == NULL) {
		log_warnx("webhooks: curl_easy_init failed: no webhooks");
		return NULL;
	}
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)WEBHOOK_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "grilld-ingest");

	pthread_mutex_lock(&w->mtx);
	while (!w->stop) {
		int64_t now = util_mono_ms(), next = INT64_MAX;
		struct delivery d;
		size_t i, pick = SIZE_MAX;
		long status;

		for (i = 0; i < w->nq; i++) {
			if (w->q[i].due <= now && (pick == SIZE_MAX ||
			    w->q[i].due < w->q[pick].due))
				pick = i;
			if (w->q[i].due < next)
				next = w->q[i].due;
		}
		if (pick == SIZE_MAX) {
			int64_t wait = next == INT64_MAX ? 1000 : next - now;

			util_cond_wait_ms(&w->cv, &w->mtx, wait);
			continue;
		}
		/* Deliver outside the lock; the slot stays reserved. */
		d = w->q[pick];
		w->q[pick].due = INT64_MAX;
		pthread_mutex_unlock(&w->mtx);
		status = deliver(curl, &w->hooks[d.hook], &d, err);
		pthread_mutex_lock(&w->mtx);
		for (i = 0; i < w->nq; i++)
			if (w->q[i].body == d.body)
				break;
		if (i == w->nq)
			continue;
		if (status >= 200 && status < 300) {
			metric_inc(w->m_ok);
			remove_at(w, i);
			continue;
		}
		{
			int64_t ms = backoff_next(&w->q[i].bo, -1);

			if (ms < 0) {
				metric_inc(w->m_failed);
				log_limited(&w->ll, 10000, LOG_LVL_WARN, "webhook "
				    "%s: giving up after %u tries (last: %s%ld)",
				    w->hooks[d.hook].url,
				    backoff_tries(&w->q[i].bo),
				    status ? "HTTP " : "", status ? status : 0L);
				remove_at(w, i);
				continue;
			}
			metric_inc(w->m_retries);
			log_limited(&w->ll, 10000, LOG_LVL_WARN, "webhook %s: %s "
			    "%ld, retrying in %lld ms", w->hooks[d.hook].url,
			    status ? "HTTP" : err, status, (long long)ms);
			w->q[i].due = util_mono_ms() + ms;
		}
	}
	pthread_mutex_unlock(&w->mtx);
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
	pthread_mutex_init(&w->mtx, NULL);
	util_cond_init(&w->cv);
	if (w->nhooks == 0)
		return w;
	if (pthread_create(&w->thr, NULL, webhooks_main, w) != 0) {
		snprintf(err, errlen, "cannot start the webhook thread");
		hooks_free(w);
		return NULL;
	}
	w->started = true;
	log_info("webhooks: %zu configured", w->nhooks);
	return w;
}

size_t
webhooks_count(const struct webhooks *w)
{
	return w ? w->nhooks : 0;
}

void
webhooks_send(struct webhooks *w, const char *body, size_t len)
{
	struct backoff_conf bc = { .base_ms = 1000, .cap_ms = 300000,
		.max_tries = WEBHOOK_TRIES, .budget_ms = WEBHOOK_BUDGET_MS };

	if (w == NULL || w->nhooks == 0)
		return;
	pthread_mutex_lock(&w->mtx);
	for (size_t i = 0; i < w->nhooks; i++) {
		struct delivery *d;

		if (w->nq == WEBHOOK_QUEUE_MAX ||
		    w->bytes + len > WEBHOOK_QUEUE_BYTES) {
			metric_inc(w->m_dropped);
			log_limited(&w->ll, 10000, LOG_LVL_WARN, "webhooks: queue "
			    "full, alert dropped for %s", w->hooks[i].url);
			continue;
		}
		d = &w->q[w->nq];
		if ((d->body = malloc(len + 1)) == NULL)
			continue;
		memcpy(d->body, body, len);
		d->body[len] = '\0';
		d->len = len;
		d->hook = i;
		d->due = 0;
		d->seq = ++w->seq;
		backoff_init(&d->bo, &bc);
		w->nq++;
		w->bytes += len;
	}
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mtx);
}

void
webhooks_stop(struct webhooks *w)
{
	if (w == NULL)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mtx);
		w->stop = true;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mtx);
		pthread_join(w->thr, NULL);
	}
	if (w->nq > 0)
		log_warnx("webhooks: %zu deliveries still queued at exit are "
		    "dropped", w->nq);
	pthread_mutex_destroy(&w->mtx);
	pthread_cond_destroy(&w->cv);
	hooks_free(w);
}
