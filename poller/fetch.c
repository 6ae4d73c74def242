/*
 * Requests to ThermoWorks on one libcurl multi handle, from the main
 * thread.
 *
 * A request waits in exactly one place: the ready queue, the retry heap
 * (ordered by the time it may go again), its endpoint's hold list (a
 * Retry-After is running), its account's list (waiting for a token), or
 * on the wire. At most poller.concurrency are on the wire; connections
 * are kept and reused by the multi handle (HTTP/2, multiplexed, where
 * TLS offers it; keep-alive otherwise) and easy handles are recycled.
 *
 * Every endpoint has a circuit breaker: a request whose breaker refuses
 * is not sent, and completes at once as FETCH_SKIPPED. Transport errors,
 * 408, 429 and 5xx count as failures and are retried with exponential
 * backoff and full jitter (common/backoff.h) within the request's
 * deadline; a Retry-After is honoured twice: the retry waits at least
 * that long, and the whole endpoint is held (nothing is sent to it) until
 * then. A 401 on a request that carried a token tells the auth module,
 * and the request waits for the next token (twice at most). Anything
 * else is an answer, handed to the request's callback.
 *
 * The callback runs once per request, from fetch_run() or from a cancel,
 * and may submit new requests; the request is freed when it returns.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "poller.h"

#define FETCH_BACKOFF_BASE_MS	250
#define FETCH_BACKOFF_CAP_MS	10000
#define FETCH_TRIES		4
#define FETCH_AUTH_RETRIES	2
#define FETCH_WAIT_MAX_MS	250

enum { AT_NONE, AT_READY, AT_DELAYED, AT_HELD, AT_WAITING, AT_WIRE };

static const char *ep_names[TW_EP_COUNT] = {
	"auth", "token", "firestore", "storage"
};

const char *
fetch_ep_name(enum tw_endpoint ep)
{
	return ep < TW_EP_COUNT ? ep_names[ep] : "?";
}

/* ---- the retry heap ---- */

static void
heap_swap(struct fetch *h, size_t i, size_t j)
{
	struct fetch_req *t = h->delayed[i];

	h->delayed[i] = h->delayed[j];
	h->delayed[j] = t;
	h->delayed[i]->heap_pos = i;
	h->delayed[j]->heap_pos = j;
}

static void
heap_up(struct fetch *h, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (h->delayed[parent]->not_before_ms <=
		    h->delayed[i]->not_before_ms)
			break;
		heap_swap(h, i, parent);
		i = parent;
	}
}

static void
heap_down(struct fetch *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->ndelayed && h->delayed[l]->not_before_ms <
		    h->delayed[m]->not_before_ms)
			m = l;
		if (r < h->ndelayed && h->delayed[r]->not_before_ms <
		    h->delayed[m]->not_before_ms)
			m = r;
		if (m == i)
			return;
		heap_swap(h, i, m);
		i = m;
	}
}

static int
heap_push(struct fetch *h, struct fetch_req *r)
{
	if (h->ndelayed == h->capdelayed) {
		size_t cap = h->capdelayed ? h->capdelayed * 2 : 64;
		struct fetch_req **a = reallocarray(h->delayed, cap,
		    sizeof(*a));

		if (a == NULL)
			return -1;
		h->delayed = a;
		h->capdelayed = cap;
	}
	r->heap_pos = h->ndelayed;
	h->delayed[h->ndelayed++] = r;
	heap_up(h, r->heap_pos);
	return 0;
}

static void
heap_remove(struct fetch *h, struct fetch_req *r)
{
	size_t i = r->heap_pos;

	if (i >= h->ndelayed || h->delayed[i] != r)
		return;
	if (i != --h->ndelayed) {
		heap_swap(h, i, h->ndelayed);
		heap_down(h, i);
		heap_up(h, i);
	}
}

/* ---- set-up ---- */

int
fetch_init(struct fetch *h, struct poller *p, char *err, size_t errlen)
{
	const struct grilld_conf *cf = p->cf;
	struct metric *latency, *retries, *skipped, *held;

	memset(h, 0, sizeof(*h));
	h->p = p;
	h->concurrency = cf->poller.concurrency;
	h->timeout_ms = cf->poller.timeout;
	TAILQ_INIT(&h->ready);
	TAILQ_INIT(&h->wire);
	if ((h->multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "curl_multi_init failed");
		return -1;
	}
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)h->concurrency);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->concurrency);

	h->m_status = metric_counter("grilld_poller_http_requests_total",
	    "Requests to ThermoWorks by endpoint and HTTP status (0: no "
	    "answer).", "endpoint,code");
	latency = metric_histogram("grilld_poller_http_request_seconds",
	    "Time of one request to ThermoWorks, answer or not.", "endpoint",
	    metric_latency_bounds, metric_latency_nbounds);
	retries = metric_counter("grilld_poller_http_retries_total",
	    "Requests sent again after a transport error, 408, 429 or 5xx.",
	    "endpoint");
	held = metric_counter("grilld_poller_http_held_total",
	    "Requests that waited for an endpoint's Retry-After to pass.",
	    "endpoint");
	skipped = metric_counter("grilld_poller_http_skipped_total",
	    "Requests not sent: breaker open, Retry-After hold past the "
	    "deadline, no token in time, or cancelled.", "endpoint,reason");
	for (int i = 0; i < TW_EP_COUNT; i++) {
		struct fetch_ep *e = &h->ep[i];
		char name[BREAKER_NAME_MAX];
		struct breaker_conf bc = {
			.name = name,
			.failure_threshold = 0,
			.window = 40,
			.min_calls = 10,
			.failure_rate = 0.5,
			.open_ms = 5000,
			.half_open_max = 2,
			.success_threshold = 2,
		};

		e->name = ep_names[i];
		snprintf(name, sizeof(name), "thermoworks_%s", e->name);
		if ((e->breaker = breaker_new(&bc)) == NULL) {
			snprintf(err, errlen, "breaker %s: out of memory",
			    name);
			return -1;
		}
		TAILQ_INIT(&e->held);
		e->m_latency = metric_with(latency, e->name);
		e->m_retries = metric_with(retries, e->name);
		e->m_skip_breaker = metric_with(skipped, e->name, "breaker");
		e->m_skip_deadline = metric_with(skipped, e->name, "deadline");
		e->m_skip_cancel = metric_with(skipped, e->name, "cancelled");
		e->m_held = metric_with(held, e->name);
	}
	return 0;
}

void
fetch_free(struct fetch *h)
{
	fetch_cancel_all(h);
	for (size_t i = 0; i < h->nidle; i++)
		curl_easy_cleanup(h->idle[i]);
	free(h->idle);
	free(h->delayed);
	for (int i = 0; i < TW_EP_COUNT; i++)
		breaker_free(h->ep[i].breaker);
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	memset(h, 0, sizeof(*h));
}

/* url is taken (freed with the request), also on failure. */
struct fetch_req *
fetch_req_new(enum tw_endpoint ep, struct tw_account *acct, char *url,
    fetch_done_fn done, void *arg)
{
	struct fetch_req *r;

	if (url == NULL || (r = calloc(1, sizeof(*r))) == NULL) {
		free(url);
		return NULL;
	}
	r->ep = ep;
	r->acct = acct;
	r->url = url;
	r->done = done;
	r->arg = arg;
	r->retry_after_ms = -1;
	r->where = AT_NONE;
	buf_init(&r->resp);
	return r;
}

void
fetch_req_free(struct fetch_req *r)
{
	if (r == NULL)
		return;
	free(r->url);
	if (r->body != NULL) {
		explicit_bzero(r->body, strlen(r->body));	/* passwords */
		free(r->body);
	}
	buf_free(&r->resp);
	curl_slist_free_all(r->hdrs);
	free(r);
}

/* ---- the ready queue, counted ---- */

static void
ready_push(struct fetch *h, struct fetch_req *r)
{
	r->where = AT_READY;
	TAILQ_INSERT_TAIL(&h->ready, r, entry);
	h->nready++;
}

static void
ready_remove(struct fetch *h, struct fetch_req *r)
{
	TAILQ_REMOVE(&h->ready, r, entry);
	h->nready--;
}

/* Requests queued to go now or on the wire: what a producer paces by. */
size_t
fetch_backlog(const struct fetch *h)
{
	return h->nready + h->inflight;
}

/* ---- completion ---- */

static void
complete(struct fetch *h, struct fetch_req *r, enum fetch_result res,
    const char *why)
{
	r->result = res;
	r->errstr = why;
	r->where = AT_NONE;
	if (r->done != NULL)
		r->done(r, r->arg);
	fetch_req_free(r);
}

static void
skip(struct fetch *h, struct fetch_req *r, struct metric_series *m,
    const char *why)
{
	metric_inc(m);
	complete(h, r, FETCH_SKIPPED, why);
}

void
fetch_submit(struct fetch *h, struct fetch_req *r)
{
	int64_t now = util_mono_ms();
	struct backoff_conf bc = {
		.base_ms = FETCH_BACKOFF_BASE_MS,
		.cap_ms = FETCH_BACKOFF_CAP_MS,
		.max_tries = FETCH_TRIES,
	};

	if (r->deadline_ms == 0)
		r->deadline_ms = now + 3 * h->timeout_ms;
	bc.budget_ms = r->deadline_ms > now ? r->deadline_ms - now : 1;
	backoff_init(&r->bo, &bc);
	ready_push(h, r);
}

/* ---- callbacks of curl ---- */

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct fetch_req *r = arg;
	size_t len = size * n;
	char value[128];
	size_t i;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		r->retry_after_ms = -1;		/* a new answer begins */
		return len;
	}
	if (len < 12 || strncasecmp(data, "retry-after:", 12) != 0)
		return len;
	for (i = 12; i < len && isblank((unsigned char)data[i]); i++)
		;
	n = len - i < sizeof(value) - 1 ? len - i : sizeof(value) - 1;
	memcpy(value, data + i, n);
	while (n > 0 && isspace((unsigned char)value[n - 1]))
		n--;
	value[n] = '\0';
	r->retry_after_ms = backoff_parse_retry_after(value,
	    util_now_ns() / NS_PER_S);
	return len;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct fetch_req *r = arg;
	size_t len = size * n;
	long code = 0;

	if (r->sink != NULL) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code == 200) {
			if (r->sink(r, data, len) == -1) {
				r->sink_failed = true;
				return 0;	/* aborts the transfer */
			}
			return len;
		}
	}
	if (r->resp.len + len > TW_RESP_MAX ||
	    buf_append(&r->resp, data, len) == -1) {
		r->too_large = true;
		return 0;
	}
	return len;
}

/* ---- sending ---- */

static CURL *
easy_get(struct fetch *h)
{
	if (h->nidle > 0) {
		CURL *e = h->idle[--h->nidle];

		curl_easy_reset(e);
		return e;
	}
	return curl_easy_init();
}

static void
easy_put(struct fetch *h, CURL *e)
{
	if (h->nidle == h->capidle) {
		size_t cap = h->capidle ? h->capidle * 2 : 16;
		CURL **a = reallocarray(h->idle, cap, sizeof(*a));

		if (a == NULL) {
			curl_easy_cleanup(e);
			return;
		}
		h->idle = a;
		h->capidle = cap;
	}
	h->idle[h->nidle++] = e;
}

static int
headers(struct fetch_req *r)
{
	struct curl_slist *l = NULL, *t;
	struct buf b;

	buf_init(&b);
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	if (r->acct != NULL && r->acct->id_token != NULL) {
		if (buf_printf(&b, "Authorization: Bearer %s",
		    r->acct->id_token) == -1)
			goto fail;
		if ((t = curl_slist_append(l, b.data)) == NULL)
			goto fail;
		l = t;
		r->token_gen = r->acct->token_gen;
		explicit_bzero(b.data, b.len);
	}
	if (r->body != NULL) {
		if ((t = curl_slist_append(l,
		    "Content-Type: application/json")) == NULL)
			goto fail;
		l = t;
		if ((t = curl_slist_append(l, "Expect:")) == NULL)
			goto fail;
		l = t;
	}
	if (r->referer) {
		if ((t = curl_slist_append(l,
		    "Referer: https://cloud.thermoworks.com/")) == NULL)
			goto fail;
		l = t;
	}
	buf_free(&b);
	r->hdrs = l;
	return 0;
fail:
	if (b.data != NULL)
		explicit_bzero(b.data, b.len);
	buf_free(&b);
	curl_slist_free_all(l);
	return -1;
}

static int
start(struct fetch *h, struct fetch_req *r)
{
	int64_t timeout;
	CURL *e;

	if (headers(r) == -1 || (e = easy_get(h)) == NULL)
		return -1;
	r->easy = e;
	r->curlerr[0] = '\0';
	r->retry_after_ms = -1;
	r->sink_failed = r->too_large = false;
	buf_reset(&r->resp);
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curlerr);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* No request outlives its deadline (the next cycle's tick). */
	timeout = r->deadline_ms - util_mono_ms();
	if (timeout > h->timeout_ms)
		timeout = h->timeout_ms;
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout > 100 ?
	    timeout : 100));
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(h->timeout_ms < 5000 ? h->timeout_ms : 5000));
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "grilld-poller");
	if (r->body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
		    (long)strlen(r->body));
	} else if (r->post) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
	}
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		r->easy = NULL;
		easy_put(h, e);
		return -1;
	}
	r->where = AT_WIRE;
	TAILQ_INSERT_TAIL(&h->wire, r, entry);
	r->started_ns = util_mono_ns();
	h->inflight++;
	h->sent++;
	return 0;
}

/*
 * Requests waiting for their account's token give up at their deadline,
 * and at once when the account's sign-in failed (it waits out a back-off
 * now): the cycle that sent them ends, and no other account's readings
 * wait for an account that cannot sign in.
 */
static void
expire_waiting(struct fetch *h, int64_t now)
{
	TAILQ_HEAD(, fetch_req) gone = TAILQ_HEAD_INITIALIZER(gone);
	struct tw_account *a;
	struct fetch_req *r, *next;

	TAILQ_FOREACH(a, &h->p->accounts, entry)
		for (r = TAILQ_FIRST(&a->waiting); r != NULL; r = next) {
			next = TAILQ_NEXT(r, entry);
			if (now < r->deadline_ms && a->auth != AUTH_FAILED)
				continue;
			TAILQ_REMOVE(&a->waiting, r, entry);
			r->where = AT_NONE;
			TAILQ_INSERT_TAIL(&gone, r, entry);
		}
	while ((r = TAILQ_FIRST(&gone)) != NULL) {
		TAILQ_REMOVE(&gone, r, entry);
		skip(h, r, h->ep[r->ep].m_skip_deadline, r->acct->auth ==
		    AUTH_FAILED ? "the account cannot sign in" :
		    "no token in time");
	}
}

/* Starts what may start now; parks what must wait. */
static void
dispatch(struct fetch *h, int64_t now)
{
	struct fetch_req *r;

	expire_waiting(h, now);

	while (h->ndelayed > 0 && h->delayed[0]->not_before_ms <= now) {
		r = h->delayed[0];
		heap_remove(h, r);
		ready_push(h, r);
	}
	for (int i = 0; i < TW_EP_COUNT; i++) {
		struct fetch_ep *e = &h->ep[i];

		if (e->hold_until_ms > now || TAILQ_EMPTY(&e->held))
			continue;
		while ((r = TAILQ_FIRST(&e->held)) != NULL) {
			TAILQ_REMOVE(&e->held, r, entry);
			ready_push(h, r);
		}
	}
	while (h->inflight < h->concurrency &&
	    (r = TAILQ_FIRST(&h->ready)) != NULL) {
		struct fetch_ep *e = &h->ep[r->ep];

		ready_remove(h, r);
		r->where = AT_NONE;
		if (now >= r->deadline_ms) {
			skip(h, r, e->m_skip_deadline, "deadline passed");
			continue;
		}
		if (e->hold_until_ms > now) {
			if (e->hold_until_ms >= r->deadline_ms) {
				skip(h, r, e->m_skip_deadline,
				    "Retry-After outlasts the deadline");
				continue;
			}
			metric_inc(e->m_held);
			r->where = AT_HELD;
			TAILQ_INSERT_TAIL(&e->held, r, entry);
			continue;
		}
		if (r->acct != NULL && !auth_has_token(r->acct)) {
			r->where = AT_WAITING;
			TAILQ_INSERT_TAIL(&r->acct->waiting, r, entry);
			continue;
		}
		if (!breaker_allow(e->breaker)) {
			skip(h, r, e->m_skip_breaker, "breaker open");
			continue;
		}
		if (start(h, r) == -1) {
			breaker_success(e->breaker);	/* never sent */
			complete(h, r, FETCH_FAILED, "out of memory");
		}
	}
}

/* ---- answers ---- */

static struct metric_series *
code_series(struct fetch *h, struct fetch_ep *e, long status)
{
	char code[8];
	int i = status >= 100 && status <= 599 ? (int)status - 99 : 0;

	if (e->m_code[i] == NULL) {
		if (i == 0)
			util_strlcpy(code, "0", sizeof(code));
		else
			snprintf(code, sizeof(code), "%ld", status);
		e->m_code[i] = metric_with(h->m_status, e->name, code);
	}
	return e->m_code[i];
}

static bool
retryable(long status)
{
	return status == 0 || status == 408 || status == 429 || status >= 500;
}

static void
retry_or_fail(struct fetch *h, struct fetch_req *r, const char *why)
{
	struct fetch_ep *e = &h->ep[r->ep];
	int64_t now = util_mono_ms(), delay;

	if (r->retry_after_ms >= 0 && (r->status == 429 || r->status == 503))
		if (now + r->retry_after_ms > e->hold_until_ms)
			e->hold_until_ms = now + r->retry_after_ms;
	if ((delay = backoff_next(&r->bo, r->retry_after_ms)) < 0 ||
	    now + delay >= r->deadline_ms) {
		complete(h, r, FETCH_FAILED, why);
		return;
	}
	metric_inc(e->m_retries);
	r->not_before_ms = now + delay;
	r->where = AT_DELAYED;
	if (heap_push(h, r) == -1)
		complete(h, r, FETCH_FAILED, "out of memory");
}

static void
finish(struct fetch *h, struct fetch_req *r, CURLcode cc)
{
	struct fetch_ep *e = &h->ep[r->ep];
	CURL *easy = r->easy;
	long status = 0;

	curl_multi_remove_handle(h->multi, easy);
	TAILQ_REMOVE(&h->wire, r, entry);
	h->inflight--;
	r->easy = NULL;
	r->where = AT_NONE;
	metric_observe(e->m_latency, (util_mono_ns() - r->started_ns) / 1e9);
	if (cc == CURLE_OK || r->sink_failed || r->too_large)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	easy_put(h, easy);
	r->status = status;
	metric_inc(code_series(h, e, status));

	if (r->sink_failed || r->too_large) {
		breaker_success(e->breaker);	/* it answered */
		complete(h, r, FETCH_DONE, r->too_large ? "answer too large" :
		    "malformed answer");
		return;
	}
	if (cc != CURLE_OK || retryable(status)) {
		breaker_failure(e->breaker);
		retry_or_fail(h, r, cc != CURLE_OK ? (r->curlerr[0] ?
		    r->curlerr : curl_easy_strerror(cc)) : "server busy or "
		    "failing");
		return;
	}
	breaker_success(e->breaker);
	if (status == 401 && r->acct != NULL &&
	    r->auth_retries < FETCH_AUTH_RETRIES) {
		r->auth_retries++;
		auth_invalidate(h->p, r->acct, r->token_gen);
		ready_push(h, r);
		return;
	}
	complete(h, r, FETCH_DONE, NULL);
}

static int64_t
next_wake(struct fetch *h, int64_t now, int64_t max)
{
	int64_t wake = now + max;

	if (h->ndelayed > 0 && h->delayed[0]->not_before_ms < wake)
		wake = h->delayed[0]->not_before_ms;
	for (int i = 0; i < TW_EP_COUNT; i++)
		if (!TAILQ_EMPTY(&h->ep[i].held) &&
		    h->ep[i].hold_until_ms < wake)
			wake = h->ep[i].hold_until_ms;
	return wake > now ? wake - now : 0;
}

/*
 * One turn: start what may start, wait for I/O up to max_ms (less when a
 * retry or a hold ends sooner), and complete what finished.
 */
void
fetch_run(struct fetch *h, int64_t max_ms)
{
	struct CURLMsg *msg;
	int64_t now = util_mono_ms();
	int running, left;
	int wait;

	dispatch(h, now);
	wait = (int)next_wake(h, now, max_ms);
	if (!TAILQ_EMPTY(&h->ready) && h->inflight < h->concurrency)
		wait = 0;
	curl_multi_poll(h->multi, NULL, 0, wait, NULL);
	curl_multi_perform(h->multi, &running);
	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		struct fetch_req *r = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &r);
		if (r != NULL)
			finish(h, r, msg->data.result);
	}
	dispatch(h, util_mono_ms());
}

/* The account has a token again: its waiting requests go. */
void
fetch_account_ready(struct fetch *h, struct tw_account *a)
{
	struct fetch_req *r;

	while ((r = TAILQ_FIRST(&a->waiting)) != NULL) {
		TAILQ_REMOVE(&a->waiting, r, entry);
		ready_push(h, r);
	}
}

static void
cancel(struct fetch *h, struct fetch_req *r)
{
	switch (r->where) {
	case AT_READY:
		ready_remove(h, r);
		break;
	case AT_DELAYED:
		heap_remove(h, r);
		break;
	case AT_HELD:
		TAILQ_REMOVE(&h->ep[r->ep].held, r, entry);
		break;
	case AT_WAITING:
		TAILQ_REMOVE(&r->acct->waiting, r, entry);
		break;
	case AT_WIRE:
		TAILQ_REMOVE(&h->wire, r, entry);
		curl_multi_remove_handle(h->multi, r->easy);
		easy_put(h, r->easy);
		r->easy = NULL;
		h->inflight--;
		breaker_success(h->ep[r->ep].breaker);	/* gives a slot back */
		break;
	}
	skip(h, r, h->ep[r->ep].m_skip_cancel, "cancelled");
}

static struct fetch_req *
first_of(struct fetch *h, struct tw_account *a)
{
	struct fetch_req *r;
	struct tw_account *acct;

	TAILQ_FOREACH(r, &h->wire, entry)
		if (a == NULL || r->acct == a)
			return r;
	TAILQ_FOREACH(r, &h->ready, entry)
		if (a == NULL || r->acct == a)
			return r;
	for (size_t i = 0; i < h->ndelayed; i++)
		if (a == NULL || h->delayed[i]->acct == a)
			return h->delayed[i];
	for (int e = 0; e < TW_EP_COUNT; e++)
		TAILQ_FOREACH(r, &h->ep[e].held, entry)
			if (a == NULL || r->acct == a)
				return r;
	TAILQ_FOREACH(acct, &h->p->accounts, entry)
		if ((a == NULL || acct == a) &&
		    (r = TAILQ_FIRST(&acct->waiting)) != NULL)
			return r;
	return NULL;
}

/*
 * Cancels every request of the account (NULL: every request), wherever
 * it waits; each completes as FETCH_SKIPPED. Callbacks may submit new
 * requests meanwhile: those are cancelled too, so the callers must not
 * resubmit on a skip (none does).
 */
void
fetch_cancel_account(struct fetch *h, struct tw_account *a)
{
	struct fetch_req *r;

	while ((r = first_of(h, a)) != NULL)
		cancel(h, r);
}

void
fetch_cancel_all(struct fetch *h)
{
	if (h->multi != NULL)
		fetch_cancel_account(h, NULL);
}

bool
fetch_idle(const struct fetch *h)
{
	return h->inflight == 0 && TAILQ_EMPTY(&h->ready) && h->ndelayed == 0;
}
