#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backoff.h"
#include "log.h"
#include "metrics.h"
#include "trace.h"
#include "util.h"

/*
 * Context.
 */

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

bool
trace_ctx_valid(const struct trace_ctx *c)
{
	return c != NULL && !all_zero(c->trace_id, TRACE_ID_SIZE) &&
	    !all_zero(c->span_id, TRACE_SPAN_ID_SIZE);
}

int
trace_parse(const char *s, struct trace_ctx *out)
{
	struct trace_ctx c;
	uint8_t version;
	size_t len;

	if (s == NULL)
		return -1;
	len = strnlen(s, TRACEPARENT_LEN + 1);
	if (len < TRACEPARENT_LEN || util_hex_decode(s, &version, 1) == -1)
		return -1;
	if (version == 0xff)
		return -1;
	if (version == 0x00 && len != TRACEPARENT_LEN)
		return -1;
	if (len > TRACEPARENT_LEN && s[TRACEPARENT_LEN] != '-')
		return -1;
	if (s[2] != '-' || s[35] != '-' || s[52] != '-')
		return -1;
	if (util_hex_decode(s + 3, c.trace_id, TRACE_ID_SIZE) == -1 ||
	    util_hex_decode(s + 36, c.span_id, TRACE_SPAN_ID_SIZE) == -1 ||
	    util_hex_decode(s + 53, &c.flags, 1) == -1)
		return -1;
	if (!trace_ctx_valid(&c))
		return -1;
	if (version != 0x00)
		c.flags &= TRACE_FLAG_SAMPLED;
	*out = c;
	return 0;
}

int
trace_format(const struct trace_ctx *c, char *out, size_t size)
{
	if (size <= TRACEPARENT_LEN)
		return -1;
	memcpy(out, "00-", 3);
	util_hex_encode(c->trace_id, TRACE_ID_SIZE, out + 3);
	out[35] = '-';
	util_hex_encode(c->span_id, TRACE_SPAN_ID_SIZE, out + 36);
	out[52] = '-';
	util_hex_encode(&c->flags, 1, out + 53);
	return 0;
}

static void
random_id(uint8_t *p, size_t n)
{
	do {
		for (size_t i = 0; i < n; i += 8) {
			uint64_t r = backoff_rand();
			size_t k = n - i < 8 ? n - i : 8;

			memcpy(p + i, &r, k);
		}
	} while (all_zero(p, n));
}

void
trace_new_root(struct trace_ctx *c)
{
	random_id(c->trace_id, TRACE_ID_SIZE);
	random_id(c->span_id, TRACE_SPAN_ID_SIZE);
	c->flags = TRACE_FLAG_SAMPLED;
}

/*
 * Spans.
 */

enum attr_type { ATTR_STR, ATTR_INT, ATTR_DBL };

struct span_attr {
	char		*key;
	enum attr_type	 type;
	union {
		char	*s;
		int64_t	 i;
		double	 d;
	} v;
};

enum span_status { STATUS_UNSET = 0, STATUS_OK = 1, STATUS_ERROR = 2 };

struct span {
	struct trace_ctx	 ctx;
	uint8_t			 parent_id[TRACE_SPAN_ID_SIZE];
	bool			 has_parent;
	enum span_kind		 kind;
	char			*name;
	int64_t			 start_ns;	/* Unix */
	int64_t			 start_mono_ns;
	int64_t			 end_ns;
	struct span_attr	 attrs[SPAN_ATTRS_MAX];
	unsigned		 nattrs;
	unsigned		 dropped_attrs;
	enum span_status	 status;
	char			*status_msg;
};

/* A copy of at most max bytes, cut on a UTF-8 boundary, valid UTF-8. */
static char *
str_copy(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	char *p;

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	if ((p = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	if (!util_utf8_valid(p, n))
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] >= 0x80)
				p[i] = '?';
	return p;
}

static void
span_free(struct span *sp)
{
	if (sp == NULL)
		return;
	for (unsigned i = 0; i < sp->nattrs; i++) {
		free(sp->attrs[i].key);
		if (sp->attrs[i].type == ATTR_STR)
			free(sp->attrs[i].v.s);
	}
	free(sp->name);
	free(sp->status_msg);
	free(sp);
}

struct span *
span_start(const char *name, const struct trace_ctx *parent,
    enum span_kind kind)
{
	struct span *sp;

	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return NULL;
	if ((sp->name = str_copy(name ? name : "", SPAN_NAME_MAX)) == NULL) {
		free(sp);
		return NULL;
	}
	if (parent != NULL && trace_ctx_valid(parent)) {
		memcpy(sp->ctx.trace_id, parent->trace_id, TRACE_ID_SIZE);
		memcpy(sp->parent_id, parent->span_id, TRACE_SPAN_ID_SIZE);
		sp->ctx.flags = parent->flags;
		sp->has_parent = true;
		random_id(sp->ctx.span_id, TRACE_SPAN_ID_SIZE);
	} else
		trace_new_root(&sp->ctx);
	sp->kind = (int)kind >= SPAN_KIND_UNSPECIFIED &&
	    (int)kind <= SPAN_KIND_CONSUMER ? kind : SPAN_KIND_UNSPECIFIED;
	sp->start_ns = util_now_ns();
	sp->start_mono_ns = util_mono_ns();
	return sp;
}

/* The slot for key (its old value released), or NULL when full. */
static struct span_attr *
span_attr_slot(struct span *sp, const char *key)
{
	struct span_attr *a;
	char *k;

	if (key == NULL || *key == '\0')
		return NULL;
	if ((k = str_copy(key, SPAN_KEY_MAX)) == NULL) {
		sp->dropped_attrs++;
		return NULL;
	}
	for (unsigned i = 0; i < sp->nattrs; i++) {
		a = &sp->attrs[i];
		if (strcmp(a->key, k) == 0) {
			free(k);
			if (a->type == ATTR_STR) {
				free(a->v.s);
				a->v.s = NULL;
			}
			return a;
		}
	}
	if (sp->nattrs == SPAN_ATTRS_MAX) {
		free(k);
		sp->dropped_attrs++;
		return NULL;
	}
	a = &sp->attrs[sp->nattrs++];
	a->key = k;
	a->type = ATTR_INT;
	a->v.i = 0;
	return a;
}

void
span_set_str(struct span *sp, const char *key, const char *val)
{
	struct span_attr *a;
	char *v;

	if (sp == NULL || val == NULL)
		return;
	if ((v = str_copy(val, SPAN_STR_MAX)) == NULL) {
		sp->dropped_attrs++;
		return;
	}
	if ((a = span_attr_slot(sp, key)) == NULL) {
		free(v);
		return;
	}
	a->type = ATTR_STR;
	a->v.s = v;
}

void
span_set_int(struct span *sp, const char *key, int64_t val)
{
	struct span_attr *a;

	if (sp == NULL || (a = span_attr_slot(sp, key)) == NULL)
		return;
	a->type = ATTR_INT;
	a->v.i = val;
}

void
span_set_double(struct span *sp, const char *key, double val)
{
	struct span_attr *a;

	if (sp == NULL || (a = span_attr_slot(sp, key)) == NULL)
		return;
	a->type = ATTR_DBL;
	a->v.d = val;
}

void
span_set_error(struct span *sp, const char *msg)
{
	if (sp == NULL)
		return;
	sp->status = STATUS_ERROR;
	free(sp->status_msg);
	sp->status_msg = msg != NULL ? str_copy(msg, SPAN_STR_MAX) : NULL;
}

void
span_set_ok(struct span *sp)
{
	if (sp == NULL)
		return;
	sp->status = STATUS_OK;
	free(sp->status_msg);
	sp->status_msg = NULL;
}

const struct trace_ctx *
span_ctx(const struct span *sp)
{
	return sp != NULL ? &sp->ctx : NULL;
}

/*
 * OTLP/HTTP JSON encoding.
 */

/* Round-trip exact, shortest of %.15g and %.17g; NaN and infinities as
 * the strings of the protobuf JSON mapping. */
static int
json_double(struct buf *b, double d)
{
	char tmp[32];

	if (isnan(d))
		return buf_puts(b, "\"NaN\"");
	if (isinf(d))
		return buf_puts(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
	snprintf(tmp, sizeof(tmp), "%.15g", d);
	if (strtod(tmp, NULL) != d)
		snprintf(tmp, sizeof(tmp), "%.17g", d);
	return buf_puts(b, tmp);
}

static int
json_str(struct buf *b, const char *s)
{
	int rc = 0;

	rc |= buf_putc(b, '"');
	rc |= buf_json_escape(b, s);
	rc |= buf_putc(b, '"');
	return rc;
}

static int
json_hex(struct buf *b, const uint8_t *p, size_t n)
{
	char tmp[2 * TRACE_ID_SIZE + 1];

	util_hex_encode(p, n, tmp);
	return json_str(b, tmp);
}

static int
json_attr(struct buf *b, const struct span_attr *a)
{
	int rc = 0;

	rc |= buf_puts(b, "{\"key\":");
	rc |= json_str(b, a->key);
	switch (a->type) {
	case ATTR_STR:
		rc |= buf_puts(b, ",\"value\":{\"stringValue\":");
		rc |= json_str(b, a->v.s);
		break;
	case ATTR_INT:	/* int64 is a string in the protobuf JSON mapping */
		rc |= buf_printf(b, ",\"value\":{\"intValue\":\"%lld\"",
		    (long long)a->v.i);
		break;
	case ATTR_DBL:
		rc |= buf_puts(b, ",\"value\":{\"doubleValue\":");
		rc |= json_double(b, a->v.d);
		break;
	}
	rc |= buf_puts(b, "}}");
	return rc;
}

static int
json_span(struct buf *b, const struct span *sp)
{
	int rc = 0;

	rc |= buf_puts(b, "{\"traceId\":");
	rc |= json_hex(b, sp->ctx.trace_id, TRACE_ID_SIZE);
	rc |= buf_puts(b, ",\"spanId\":");
	rc |= json_hex(b, sp->ctx.span_id, TRACE_SPAN_ID_SIZE);
	if (sp->has_parent) {
		rc |= buf_puts(b, ",\"parentSpanId\":");
		rc |= json_hex(b, sp->parent_id, TRACE_SPAN_ID_SIZE);
	}
	rc |= buf_puts(b, ",\"name\":");
	rc |= json_str(b, sp->name);
	rc |= buf_printf(b, ",\"kind\":%d,\"startTimeUnixNano\":\"%lld\","
	    "\"endTimeUnixNano\":\"%lld\",\"attributes\":[", (int)sp->kind,
	    (long long)sp->start_ns, (long long)sp->end_ns);
	for (unsigned i = 0; i < sp->nattrs; i++) {
		if (i > 0)
			rc |= buf_putc(b, ',');
		rc |= json_attr(b, &sp->attrs[i]);
	}
	rc |= buf_putc(b, ']');
	if (sp->dropped_attrs > 0)
		rc |= buf_printf(b, ",\"droppedAttributesCount\":%u",
		    sp->dropped_attrs);
	rc |= buf_printf(b, ",\"status\":{\"code\":%d", (int)sp->status);
	if (sp->status_msg != NULL) {
		rc |= buf_puts(b, ",\"message\":");
		rc |= json_str(b, sp->status_msg);
	}
	rc |= buf_puts(b, "}}");
	return rc;
}

static int
json_batch(struct buf *b, const char *service, struct span **v, size_t n)
{
	int rc = 0;

	rc |= buf_puts(b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":"
	    "[{\"key\":\"service.name\",\"value\":{\"stringValue\":");
	rc |= json_str(b, service);
	rc |= buf_puts(b, "}}]},\"scopeSpans\":[{\"scope\":{\"name\":"
	    "\"grilld\"},\"spans\":[");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			rc |= buf_putc(b, ',');
		rc |= json_span(b, v[i]);
	}
	rc |= buf_puts(b, "]}]}]}");
	return rc;
}

/*
 * Exporter: one thread, one bounded queue.
 */

enum drop_reason { DROP_FULL, DROP_FAILED, DROP_SHUTDOWN };
static const char *const drop_names[] = {
	"queue_full", "export_failed", "shutdown"
};

static struct {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	bool		 running;	/* span_end() queues */
	bool		 stopping;	/* the thread must drain and leave */
	pthread_t	 thread;
	CURL		*curl;
	struct span	**q;		/* ring */
	size_t		 qmax, qhead, qlen, batch;
	char		*url;
	char		*service;
	int64_t		 flush_ms;
	int64_t		 stop_deadline;	/* monotonic ms */
	struct log_limit full_log;
} ex = { .mtx = PTHREAD_MUTEX_INITIALIZER };

/* Serializes start and stop. */
static pthread_mutex_t		 ctl_mtx = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t		 n_dropped, n_exported;
static _Atomic int64_t		 abort_at;	/* monotonic ms; 0: none */
static struct metric_series	*m_exported;
static struct metric_series	*m_dropped[3];

uint64_t
trace_dropped(void)
{
	return atomic_load(&n_dropped);
}

uint64_t
trace_exported(void)
{
	return atomic_load(&n_exported);
}

bool
trace_exporter_running(void)
{
	bool r;

	pthread_mutex_lock(&ex.mtx);
	r = ex.running;
	pthread_mutex_unlock(&ex.mtx);
	return r;
}

static void
count_dropped(enum drop_reason why, size_t n)
{
	atomic_fetch_add(&n_dropped, n);
	if (m_dropped[why] != NULL)
		metric_add(m_dropped[why], (double)n);
}

void
span_end(struct span *sp)
{
	if (sp == NULL)
		return;
	sp->end_ns = sp->start_ns + (util_mono_ns() - sp->start_mono_ns);
	pthread_mutex_lock(&ex.mtx);
	if (!ex.running) {
		pthread_mutex_unlock(&ex.mtx);
		span_free(sp);
		return;
	}
	if (ex.qlen == ex.qmax) {
		count_dropped(DROP_FULL, 1);
		log_limited(&ex.full_log, 10000, LOG_LVL_WARN,
		    "trace: export queue full (%zu spans), span dropped",
		    ex.qmax);
		pthread_mutex_unlock(&ex.mtx);
		span_free(sp);
		return;
	}
	ex.q[(ex.qhead + ex.qlen) % ex.qmax] = sp;
	if (++ex.qlen >= ex.batch)
		pthread_cond_signal(&ex.cond);
	pthread_mutex_unlock(&ex.mtx);
}

/* With the mutex held: moves up to batch spans out of the queue. */
static size_t
queue_take(struct span **v)
{
	size_t n = 0;

	while (ex.qlen > 0 && n < ex.batch) {
		v[n++] = ex.q[ex.qhead];
		ex.qhead = (ex.qhead + 1) % ex.qmax;
		ex.qlen--;
	}
	return n;
}

struct send_ctx {
	char	retry_after[64];
	char	body[256];
	size_t	body_len;
};

static size_t
send_header(char *p, size_t size, size_t n, void *arg)
{
	struct send_ctx *sc = arg;
	size_t len = size * n;
	static const char name[] = "retry-after:";

	if (len > sizeof(name) - 1 &&
	    strncasecmp(p, name, sizeof(name) - 1) == 0) {
		size_t vlen = len - (sizeof(name) - 1);

		while (vlen > 0 && (p[sizeof(name) - 2 + vlen] == '\r' ||
		    p[sizeof(name) - 2 + vlen] == '\n'))
			vlen--;
		if (vlen >= sizeof(sc->retry_after))
			vlen = sizeof(sc->retry_after) - 1;
		memcpy(sc->retry_after, p + sizeof(name) - 1, vlen);
		sc->retry_after[vlen] = '\0';
	}
	return len;
}

static size_t
send_body(char *p, size_t size, size_t n, void *arg)
{
	struct send_ctx *sc = arg;
	size_t len = size * n, room = sizeof(sc->body) - 1 - sc->body_len;

	if (len < room)
		room = len;
	memcpy(sc->body + sc->body_len, p, room);
	sc->body_len += room;
	sc->body[sc->body_len] = '\0';
	return len;
}

/* Aborts a send in progress once the shut-down deadline has passed. */
static int
send_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	int64_t at = atomic_load(&abort_at);

	return at != 0 && util_mono_ms() >= at;
}

/*
 * POSTs the spans and frees them. Returns 0 when the collector took
 * them, else -1 with *retry_after_ms set (-1 when none was given).
 */
static int
send_batch(struct span **v, size_t n, int64_t timeout_ms,
    int64_t *retry_after_ms)
{
	static struct log_limit fail_log;
	struct curl_slist *hdrs = NULL;
	struct send_ctx sc;
	struct buf body;
	long status = 0;
	CURLcode cc = CURLE_OK;
	int rc = -1;

	*retry_after_ms = -1;
	memset(&sc, 0, sizeof(sc));
	buf_init(&body);
	if (json_batch(&body, ex.service, v, n) == -1) {
		log_limited(&fail_log, 10000, LOG_LVL_WARN,
		    "trace: out of memory encoding %zu spans", n);
		goto done;
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_reset(ex.curl);
	curl_easy_setopt(ex.curl, CURLOPT_URL, ex.url);
	curl_easy_setopt(ex.curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(ex.curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(ex.curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)TRACE_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(ex.curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(ex.curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(ex.curl, CURLOPT_POSTFIELDS, body.data);
	curl_easy_setopt(ex.curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)body.len);
	curl_easy_setopt(ex.curl, CURLOPT_HEADERFUNCTION, send_header);
	curl_easy_setopt(ex.curl, CURLOPT_HEADERDATA, &sc);
	curl_easy_setopt(ex.curl, CURLOPT_WRITEFUNCTION, send_body);
	curl_easy_setopt(ex.curl, CURLOPT_WRITEDATA, &sc);
	curl_easy_setopt(ex.curl, CURLOPT_XFERINFOFUNCTION, send_progress);
	curl_easy_setopt(ex.curl, CURLOPT_NOPROGRESS, 0L);
	if (hdrs == NULL ||
	    (cc = curl_easy_perform(ex.curl)) != CURLE_OK) {
		log_limited(&fail_log, 10000, LOG_LVL_WARN,
		    "trace: export of %zu spans to %s failed: %s", n, ex.url,
		    hdrs == NULL ? "out of memory" : curl_easy_strerror(cc));
		goto done;
	}
	curl_easy_getinfo(ex.curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		log_limited(&fail_log, 10000, LOG_LVL_WARN,
		    "trace: export of %zu spans to %s: HTTP %ld %s", n, ex.url,
		    status, sc.body);
		if (sc.retry_after[0] != '\0')
			*retry_after_ms = backoff_parse_retry_after(
			    sc.retry_after, (int64_t)time(NULL));
		goto done;
	}
	rc = 0;
done:
	if (rc == 0) {
		atomic_fetch_add(&n_exported, n);
		if (m_exported != NULL)
			metric_add(m_exported, (double)n);
	} else
		count_dropped(DROP_FAILED, n);
	for (size_t i = 0; i < n; i++)
		span_free(v[i]);
	curl_slist_free_all(hdrs);
	buf_free(&body);
	return rc;
}

static void
cond_wait_until(int64_t at_ms)
{
	struct timespec ts;

	ts.tv_sec = at_ms / 1000;
	ts.tv_nsec = (at_ms % 1000) * NS_PER_MS;
	pthread_cond_timedwait(&ex.cond, &ex.mtx, &ts);
}

static void *
exporter_main(void *arg)
{
	static const struct backoff_conf boc = {
		.base_ms = 1000, .cap_ms = 30000
	};
	struct backoff bo;
	struct span **v;
	int64_t now, next_flush, not_before = 0, ra, left;
	size_t n;
	int rc;

	backoff_init(&bo, &boc);
	v = arg;
	pthread_mutex_lock(&ex.mtx);
	next_flush = util_mono_ms() + ex.flush_ms;
	for (;;) {
		now = util_mono_ms();
		if (ex.stopping)
			break;
		if (now < not_before) {
			cond_wait_until(not_before);
			continue;
		}
		if (now >= next_flush && ex.qlen == 0)
			next_flush = now + ex.flush_ms;
		if (ex.qlen < ex.batch && now < next_flush) {
			cond_wait_until(next_flush);
			continue;
		}
		n = queue_take(v);
		pthread_mutex_unlock(&ex.mtx);
		if (send_batch(v, n, TRACE_TIMEOUT_MS, &ra) == 0) {
			backoff_reset(&bo);
			not_before = 0;
		} else {
			if ((left = backoff_next(&bo, ra)) < 0)
				left = boc.cap_ms;
			not_before = util_mono_ms() + left;
		}
		pthread_mutex_lock(&ex.mtx);
		next_flush = util_mono_ms() + ex.flush_ms;
	}

	/* Stopping: send what fits before the deadline, drop the rest. */
	while (ex.qlen > 0 &&
	    (left = ex.stop_deadline - util_mono_ms()) > 0) {
		n = queue_take(v);
		pthread_mutex_unlock(&ex.mtx);
		rc = send_batch(v, n, left, &ra);
		pthread_mutex_lock(&ex.mtx);
		if (rc == -1)
			break;
	}
	if (ex.qlen > 0) {
		log_warnx("trace: %zu spans not exported at shut-down",
		    ex.qlen);
		count_dropped(DROP_SHUTDOWN, ex.qlen);
		while (ex.qlen > 0) {
			span_free(ex.q[ex.qhead]);
			ex.qhead = (ex.qhead + 1) % ex.qmax;
			ex.qlen--;
		}
	}
	pthread_mutex_unlock(&ex.mtx);
	free(v);
	return NULL;
}

static void
exporter_metrics(void)
{
	struct metric *m;

	m = metric_counter("grilld_trace_spans_exported_total",
	    "Spans the OTLP collector accepted.", NULL);
	m_exported = metric_with(m);
	m = metric_counter("grilld_trace_spans_dropped_total",
	    "Spans dropped: queue full, export failed, or left at shut-down.",
	    "reason");
	for (size_t i = 0; i < ARRAY_LEN(m_dropped); i++)
		m_dropped[i] = metric_with(m, drop_names[i]);
}

int
trace_exporter_start(const char *otlp_url, const char *service,
    size_t queue_max, int64_t flush_ms)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	struct buf url;
	struct span **v = NULL;
	size_t n;
	int rc = -1;

	if (otlp_url == NULL || *otlp_url == '\0')
		return 0;
	if (queue_max > TRACE_QUEUE_MAX || flush_ms < 0)
		return -1;
	if (service == NULL || *service == '\0')
		service = "grilld";
	pthread_mutex_lock(&ctl_mtx);
	if (ex.running)
		goto fail_unlock;
	exporter_metrics();

	buf_init(&url);
	n = strlen(otlp_url);
	while (n > 0 && otlp_url[n - 1] == '/')
		n--;
	if (buf_append(&url, otlp_url, n) == -1 ||
	    buf_puts(&url, "/v1/traces") == -1)
		goto fail_free;
	ex.url = buf_steal(&url);
	ex.qmax = queue_max > 0 ? queue_max : TRACE_QUEUE_DEFAULT;
	ex.batch = ex.qmax < TRACE_BATCH_MAX ? ex.qmax : TRACE_BATCH_MAX;
	ex.flush_ms = flush_ms > 0 ? flush_ms : TRACE_FLUSH_DEFAULT_MS;
	ex.qhead = ex.qlen = 0;
	ex.stopping = false;
	if ((ex.service = strdup(service)) == NULL ||
	    (ex.q = calloc(ex.qmax, sizeof(*ex.q))) == NULL ||
	    (v = calloc(ex.batch, sizeof(*v))) == NULL)
		goto fail_free;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto fail_free;
	if ((ex.curl = curl_easy_init()) == NULL)
		goto fail_curl;
	if (pthread_condattr_init(&ca) != 0)
		goto fail_easy;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&ex.cond, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		goto fail_easy;
	}
	pthread_condattr_destroy(&ca);
	atomic_store(&abort_at, 0);

	/* The thread takes no signal: the main thread handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_mutex_lock(&ex.mtx);
	ex.running = true;
	if (pthread_create(&ex.thread, NULL, exporter_main, v) != 0) {
		ex.running = false;
		pthread_mutex_unlock(&ex.mtx);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_cond_destroy(&ex.cond);
		goto fail_easy;
	}
	pthread_mutex_unlock(&ex.mtx);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	log_info("trace: exporting spans to %s", ex.url);
	pthread_mutex_unlock(&ctl_mtx);
	return 0;

fail_easy:
	curl_easy_cleanup(ex.curl);
	ex.curl = NULL;
fail_curl:
	curl_global_cleanup();
fail_free:
	buf_free(&url);
	free(v);
	free(ex.q);
	free(ex.service);
	free(ex.url);
	ex.q = NULL;
	ex.service = ex.url = NULL;
fail_unlock:
	pthread_mutex_unlock(&ctl_mtx);
	return rc;
}

void
trace_exporter_stop(void)
{
	pthread_mutex_lock(&ctl_mtx);
	pthread_mutex_lock(&ex.mtx);
	if (!ex.running) {
		pthread_mutex_unlock(&ex.mtx);
		pthread_mutex_unlock(&ctl_mtx);
		return;
	}
	ex.running = false;
	ex.stopping = true;
	ex.stop_deadline = util_mono_ms() + TRACE_STOP_MS;
	atomic_store(&abort_at, ex.stop_deadline);
	pthread_cond_signal(&ex.cond);
	pthread_mutex_unlock(&ex.mtx);

	pthread_join(ex.thread, NULL);
	pthread_cond_destroy(&ex.cond);
	curl_easy_cleanup(ex.curl);
	curl_global_cleanup();
	free(ex.q);
	free(ex.service);
	free(ex.url);
	ex.curl = NULL;
	ex.q = NULL;
	ex.service = ex.url = NULL;
	ex.stopping = false;
	pthread_mutex_unlock(&ctl_mtx);
}
