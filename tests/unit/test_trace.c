#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <civetweb.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "trace.h"
#include "util.h"
#include "unit.h"

#define TP_GOOD "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static void
t_parse_good(void)
{
	static const uint8_t tid[16] = {
		0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
		0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36
	};
	static const uint8_t sid[8] = {
		0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7
	};
	struct trace_ctx c;
	char out[TRACEPARENT_LEN + 1];

	CHECK_INT(trace_parse(TP_GOOD, &c), 0);
	CHECK(memcmp(c.trace_id, tid, 16) == 0);
	CHECK(memcmp(c.span_id, sid, 8) == 0);
	CHECK_INT(c.flags, 1);
	CHECK_INT(trace_format(&c, out, sizeof(out)), 0);
	CHECK_STR(out, TP_GOOD);
	CHECK_INT(trace_format(&c, out, TRACEPARENT_LEN), -1);

	CHECK_INT(trace_parse(
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &c), 0);
	CHECK_INT(c.flags, 0);
	/* Unknown flags of version 00 are carried through. */
	CHECK_INT(trace_parse(
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09", &c), 0);
	CHECK_INT(c.flags, 9);
	/* One non-zero byte is enough. */
	CHECK_INT(trace_parse(
	    "00-00000000000000000000000000000001-0000000000000001-01", &c), 0);
}

/* A version above 00 is read from its first 55 characters. */
static void
t_parse_future_version(void)
{
	struct trace_ctx c;
	char out[TRACEPARENT_LEN + 1];

	CHECK_INT(trace_parse(
	    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &c), 0);
	CHECK_INT(trace_parse(
	    "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-"
	    "ever", &c), 0);
	CHECK_INT(c.flags, 1);		/* only the sampled bit is known */
	CHECK_INT(trace_format(&c, out, sizeof(out)), 0);
	CHECK_STR(out, TP_GOOD);	/* propagated as version 00 */
	CHECK_INT(trace_parse(
	    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", &c),
	    -1);
	CHECK_INT(trace_parse(
	    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0", &c), -1);
	CHECK_INT(trace_parse(
	    "fe-4BF92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &c),
	    -1);
}

static void
t_parse_bad(void)
{
	static const char *const bad[] = {
		"",
		"00",
		/* length */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
		"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b77-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
		" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		/* upper case */
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
		"0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		/* version */
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
		"0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"-0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		/* all-zero ids */
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"00-00000000000000000000000000000000-0000000000000000-00",
		/* not hex, wrong separators */
		"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-+1",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7- 1",
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
		"00-4bf92f35-7b34-da6a-3ce9-29d0e0e4736-00f067aa0ba90201",
		"00 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 01",
		"00-{bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-\xc3\xa9",
	};
	struct trace_ctx c, orig;

	memset(&orig, 0x5a, sizeof(orig));
	c = orig;
	CHECK_INT(trace_parse(NULL, &c), -1);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		if (trace_parse(bad[i], &c) != -1)
			unit_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
		CHECK(memcmp(&c, &orig, sizeof(c)) == 0);
	}
}

static void
t_new_root(void)
{
	struct trace_ctx a, b, z;
	char out[TRACEPARENT_LEN + 1];

	trace_new_root(&a);
	trace_new_root(&b);
	CHECK(trace_ctx_valid(&a));
	CHECK_INT(a.flags, TRACE_FLAG_SAMPLED);
	CHECK(memcmp(a.trace_id, b.trace_id, TRACE_ID_SIZE) != 0);
	CHECK(memcmp(a.span_id, b.span_id, TRACE_SPAN_ID_SIZE) != 0);
	CHECK_INT(trace_format(&a, out, sizeof(out)), 0);
	CHECK_INT(strlen(out), TRACEPARENT_LEN);
	CHECK_INT(trace_parse(out, &z), 0);
	CHECK(memcmp(&a, &z, sizeof(a)) == 0);
	memset(&z, 0, sizeof(z));
	CHECK(!trace_ctx_valid(&z));
	CHECK(!trace_ctx_valid(NULL));
}

static void
t_spans_no_exporter(void)
{
	struct trace_ctx parent;
	const struct trace_ctx *c;
	struct span *root, *child;
	char name[300];

	CHECK_INT(trace_exporter_start(NULL, "x", 0, 0), 0);
	CHECK_INT(trace_exporter_start("", "x", 0, 0), 0);
	CHECK(!trace_exporter_running());

	CHECK_INT(trace_parse(TP_GOOD, &parent), 0);
	root = span_start("root", &parent, SPAN_KIND_SERVER);
	CHECK(root != NULL);
	c = span_ctx(root);
	CHECK(memcmp(c->trace_id, parent.trace_id, TRACE_ID_SIZE) == 0);
	CHECK(memcmp(c->span_id, parent.span_id, TRACE_SPAN_ID_SIZE) != 0);
	CHECK_INT(c->flags, parent.flags);
	child = span_start(NULL, c, SPAN_KIND_INTERNAL);
	CHECK(memcmp(span_ctx(child)->trace_id, parent.trace_id,
	    TRACE_ID_SIZE) == 0);
	for (int i = 0; i < 100; i++) {		/* past the bound */
		char key[16];

		snprintf(key, sizeof(key), "k%d", i);
		span_set_str(child, key, "v");
		span_set_int(child, key, i);
		span_set_double(child, key, i / 2.0);
	}
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	span_set_str(child, name, name);
	span_set_error(child, "one");
	span_set_error(child, "two");
	span_set_ok(child);
	span_set_error(child, NULL);
	span_end(child);		/* freed: no exporter */
	span_end(root);

	/* A span of a new trace; NULL everywhere is harmless. */
	root = span_start(name, NULL, (enum span_kind)42);
	CHECK(trace_ctx_valid(span_ctx(root)));
	span_end(root);
	span_set_str(NULL, "k", "v");
	span_set_int(NULL, "k", 1);
	span_set_double(NULL, "k", 1);
	span_set_error(NULL, "e");
	span_set_ok(NULL);
	CHECK(span_ctx(NULL) == NULL);
	span_end(NULL);
	trace_exporter_stop();		/* not running: nothing to do */
}

/*
 * A tiny OTLP receiver: civetweb on a free loopback port, keeping the
 * bodies POSTed to /v1/traces.
 */

static pthread_mutex_t recv_mtx = PTHREAD_MUTEX_INITIALIZER;
static char *recv_bodies[64];
static int recv_n;
static bool recv_json_ct = true;

static int
otlp_handler(struct mg_connection *conn, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *ct = mg_get_header(conn, "Content-Type");
	struct buf body;
	char tmp[4096];
	int n;

	if (strcmp(ri->request_method, "POST") != 0) {
		mg_send_http_error(conn, 405, "POST only");
		return 405;
	}
	buf_init(&body);
	while ((n = mg_read(conn, tmp, sizeof(tmp))) > 0)
		buf_append(&body, tmp, (size_t)n);
	pthread_mutex_lock(&recv_mtx);
	if (ct == NULL || strcmp(ct, "application/json") != 0)
		recv_json_ct = false;
	if (recv_n < (int)ARRAY_LEN(recv_bodies))
		recv_bodies[recv_n++] = buf_steal(&body);
	pthread_mutex_unlock(&recv_mtx);
	buf_free(&body);
	mg_send_http_ok(conn, "application/json", 2);
	mg_write(conn, "{}", 2);
	return 200;
}

static struct mg_context *
receiver_start(int *port)
{
	const char *opts[] = {
		"listening_ports", "127.0.0.1:0", "num_threads", "2", NULL
	};
	struct mg_callbacks cb;
	struct mg_context *ctx;
	struct mg_server_port sp;

	memset(&cb, 0, sizeof(cb));
	mg_init_library(0);
	if ((ctx = mg_start(&cb, NULL, opts)) == NULL)
		return NULL;
	mg_set_request_handler(ctx, "/v1/traces", otlp_handler, NULL);
	if (mg_get_server_ports(ctx, 1, &sp) != 1 || sp.port <= 0) {
		mg_stop(ctx);
		return NULL;
	}
	*port = sp.port;
	return ctx;
}

static void
receiver_stop(struct mg_context *ctx)
{
	mg_stop(ctx);
	mg_exit_library();
	for (int i = 0; i < recv_n; i++)
		free(recv_bodies[i]);
	recv_n = 0;
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static const cJSON *
attr_value(const cJSON *span, const char *key)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(span,
	    "attributes")) {
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(a, "key");

		if (cJSON_IsString(k) && strcmp(k->valuestring, key) == 0)
			return cJSON_GetObjectItemCaseSensitive(a, "value");
	}
	return NULL;
}

static const char *
str_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
num_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Collects the spans of every body received; checks the envelope. */
static cJSON *
received_spans(cJSON **docs, int *ndocs)
{
	cJSON *all = cJSON_CreateArray();

	*ndocs = 0;
	pthread_mutex_lock(&recv_mtx);
	for (int i = 0; i < recv_n; i++) {
		cJSON *doc = cJSON_Parse(recv_bodies[i]);
		const cJSON *rs, *res, *attr, *ss;
		cJSON *sp;

		CHECK(doc != NULL);
		if (doc == NULL)
			continue;
		docs[(*ndocs)++] = doc;
		rs = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc,
		    "resourceSpans"), 0);
		res = cJSON_GetObjectItemCaseSensitive(rs, "resource");
		attr = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res,
		    "attributes"), 0);
		CHECK_STR(str_of(attr, "key"), "service.name");
		CHECK_STR(str_of(cJSON_GetObjectItemCaseSensitive(attr,
		    "value"), "stringValue"), "test-svc");
		ss = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rs,
		    "scopeSpans"), 0);
		CHECK_STR(str_of(cJSON_GetObjectItemCaseSensitive(ss, "scope"),
		    "name"), "grilld");
		cJSON_ArrayForEach(sp, cJSON_GetObjectItemCaseSensitive(ss,
		    "spans"))
			cJSON_AddItemReferenceToArray(all, sp);
	}
	pthread_mutex_unlock(&recv_mtx);
	return all;
}

static const cJSON *
span_named(const cJSON *spans, const char *name)
{
	const cJSON *sp;

	cJSON_ArrayForEach(sp, spans) {
		const char *n = str_of(sp, "name");

		if (n != NULL && strcmp(n, name) == 0)
			return sp;
	}
	return NULL;
}

static void
t_export(void)
{
	struct mg_context *mg;
	struct trace_ctx remote;
	struct span *root, *child, *odd;
	char url[64], root_tid[33], root_sid[17], child_sid[17], rem_sid[17];
	char traceparent[TRACEPARENT_LEN + 1];
	uint64_t exported0 = trace_exported(), dropped0 = trace_dropped();
	cJSON *docs[64], *spans;
	const cJSON *js, *v, *st;
	int port = 0, ndocs;
	int64_t t0;

	CHECK((mg = receiver_start(&port)) != NULL);
	if (mg == NULL)
		return;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	CHECK_INT(trace_exporter_start(url, "test-svc", 64, 100), 0);
	CHECK(trace_exporter_running());
	CHECK_INT(trace_exporter_start(url, "again", 64, 100), -1);

	/* A request that came with a traceparent. */
	CHECK_INT(trace_parse(TP_GOOD, &remote), 0);
	root = span_start("GET /api/v1/devices", &remote, SPAN_KIND_SERVER);
	span_set_str(root, "http.method", "GET");
	span_set_int(root, "http.status_code", 200);
	span_set_int(root, "big", INT64_MIN);
	span_set_double(root, "ratio", 0.1);
	span_set_ok(root);
	child = span_start("influx query", span_ctx(root), SPAN_KIND_CLIENT);
	span_set_str(child, "db", "grill \"main\"\n");
	span_set_error(child, "timeout after 5 s");
	CHECK_INT(trace_format(span_ctx(child), traceparent,
	    sizeof(traceparent)), 0);
	odd = span_start("odd", NULL, SPAN_KIND_INTERNAL);
	span_set_double(odd, "nan", NAN);
	span_set_double(odd, "inf", -INFINITY);
	span_set_str(odd, "bytes", "ok \xff\xfe bad");
	for (int i = 0; i < SPAN_ATTRS_MAX + 5; i++) {
		char key[16];

		snprintf(key, sizeof(key), "a%d", i);
		span_set_int(odd, key, i);
	}
	hex(span_ctx(root)->trace_id, TRACE_ID_SIZE, root_tid);
	hex(span_ctx(root)->span_id, TRACE_SPAN_ID_SIZE, root_sid);
	hex(span_ctx(child)->span_id, TRACE_SPAN_ID_SIZE, child_sid);
	hex(remote.span_id, TRACE_SPAN_ID_SIZE, rem_sid);
	span_end(child);
	span_end(odd);
	util_sleep_ms(2);
	span_end(root);

	/* The flush interval sends them; stop flushes whatever is left. */
	t0 = util_mono_ms();
	while (trace_exported() - exported0 < 3 && util_mono_ms() - t0 < 5000)
		util_sleep_ms(10);
	trace_exporter_stop();
	CHECK(!trace_exporter_running());
	CHECK_INT(trace_exported() - exported0, 3);
	CHECK_INT(trace_dropped() - dropped0, 0);
	CHECK(recv_json_ct);

	spans = received_spans(docs, &ndocs);
	CHECK(ndocs >= 1);
	CHECK_INT(cJSON_GetArraySize(spans), 3);

	js = span_named(spans, "GET /api/v1/devices");
	CHECK(js != NULL);
	CHECK_STR(str_of(js, "traceId"),
	    "4bf92f3577b34da6a3ce929d0e0e4736");
	CHECK_STR(str_of(js, "traceId"), root_tid);
	CHECK_STR(str_of(js, "spanId"), root_sid);
	CHECK_STR(str_of(js, "parentSpanId"), rem_sid);
	CHECK_DBL(num_of(js, "kind"), 2, 0);
	CHECK(str_of(js, "startTimeUnixNano") != NULL);
	CHECK(str_of(js, "endTimeUnixNano") != NULL);
	if (str_of(js, "startTimeUnixNano") && str_of(js, "endTimeUnixNano")) {
		long long s = atoll(str_of(js, "startTimeUnixNano"));
		long long e = atoll(str_of(js, "endTimeUnixNano"));

		CHECK(s > INT64_C(1600000000) * NS_PER_S);
		CHECK(e - s >= 2 * NS_PER_MS);
	}
	CHECK_STR(str_of(attr_value(js, "http.method"), "stringValue"), "GET");
	CHECK_STR(str_of(attr_value(js, "http.status_code"), "intValue"),
	    "200");
	CHECK_STR(str_of(attr_value(js, "big"), "intValue"),
	    "-9223372036854775808");
	CHECK_DBL(num_of(attr_value(js, "ratio"), "doubleValue"), 0.1, 0);
	st = cJSON_GetObjectItemCaseSensitive(js, "status");
	CHECK_DBL(num_of(st, "code"), 1, 0);

	js = span_named(spans, "influx query");
	CHECK(js != NULL);
	CHECK_STR(str_of(js, "traceId"), root_tid);
	CHECK_STR(str_of(js, "spanId"), child_sid);
	CHECK_STR(str_of(js, "parentSpanId"), root_sid);
	CHECK_DBL(num_of(js, "kind"), 3, 0);
	CHECK_STR(str_of(attr_value(js, "db"), "stringValue"),
	    "grill \"main\"\n");
	st = cJSON_GetObjectItemCaseSensitive(js, "status");
	CHECK_DBL(num_of(st, "code"), 2, 0);
	CHECK_STR(str_of(st, "message"), "timeout after 5 s");
	/* What the child would send downstream. */
	CHECK(strstr(traceparent, root_tid) != NULL);
	CHECK(strstr(traceparent, child_sid) != NULL);

	js = span_named(spans, "odd");
	CHECK(js != NULL);
	CHECK(cJSON_GetObjectItemCaseSensitive(js, "parentSpanId") == NULL);
	CHECK(str_of(js, "traceId") != NULL &&
	    strcmp(str_of(js, "traceId"), root_tid) != 0);
	CHECK_DBL(num_of(js, "kind"), 1, 0);
	CHECK_STR(str_of(attr_value(js, "nan"), "doubleValue"), "NaN");
	CHECK_STR(str_of(attr_value(js, "inf"), "doubleValue"), "-Infinity");
	CHECK_STR(str_of(attr_value(js, "bytes"), "stringValue"),
	    "ok ?? bad");
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(js,
	    "attributes")), SPAN_ATTRS_MAX);
	CHECK_DBL(num_of(js, "droppedAttributesCount"), 8, 0);
	CHECK(cJSON_GetObjectItemCaseSensitive(js, "status") != NULL);
	v = attr_value(js, "a28");
	CHECK_STR(str_of(v, "intValue"), "28");
	CHECK(attr_value(js, "a29") == NULL);

	cJSON_Delete(spans);
	for (int i = 0; i < ndocs; i++)
		cJSON_Delete(docs[i]);
	receiver_stop(mg);
}

/* A port that takes connections and never answers: *fd to close. */
static int
hung_port(int *fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((*fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (bind(*fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(*fd, (struct sockaddr *)&sin, &len) == -1 ||
	    listen(*fd, 16) == -1) {
		close(*fd);
		return -1;
	}
	return ntohs(sin.sin_port);
}

static double
dropped_metric(const char *reason)
{
	struct metric *m = metric_counter("grilld_trace_spans_dropped_total",
	    "x", "reason");

	return metric_value(metric_with(m, reason));
}

/*
 * Ends n spans as fast as it can: none may wait for the exporter.
 * Returns the longest span_end() in ms.
 */
static int64_t
burst(int n)
{
	int64_t worst = 0;

	for (int i = 0; i < n; i++) {
		struct span *sp = span_start("burst", NULL, SPAN_KIND_INTERNAL);
		int64_t t0;

		span_set_int(sp, "i", i);
		t0 = util_mono_ns();
		span_end(sp);
		t0 = util_mono_ns() - t0;
		worst = t0 > worst ? t0 : worst;
	}
	return worst / NS_PER_MS;
}

/* Nothing listens: the queue fills, spans are dropped and counted. */
static void
t_queue_full_dead(void)
{
	char url[64];
	uint64_t d0 = trace_dropped(), e0 = trace_exported();
	double full0 = dropped_metric("queue_full");
	int64_t t0, worst;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", unit_free_port());
	CHECK_INT(trace_exporter_start(url, "test-svc", 8, 60000), 0);
	t0 = util_mono_ms();
	worst = burst(1000);
	printf("# 1000 span_end in %lld ms, the slowest %lld ms\n",
	    (long long)(util_mono_ms() - t0), (long long)worst);
	/* Not a latency target: a span_end() that waited for the hung
	 * collector would take its whole 10-s time-out. */
	CHECK(worst < 5000);
	CHECK(trace_dropped() - d0 >= 500);
	CHECK(dropped_metric("queue_full") - full0 >= 500);
	t0 = util_mono_ms();
	trace_exporter_stop();
	CHECK(util_mono_ms() - t0 < TRACE_STOP_MS + 1500);
	/* Nothing is lost silently: each span was exported or counted. */
	CHECK_INT(trace_exported() - e0, 0);
	CHECK_INT(trace_dropped() - d0, 1000);
}

/* The collector hangs: span_end still never waits, stop is bounded. */
static void
t_queue_full_hung(void)
{
	char url[64];
	uint64_t d0 = trace_dropped(), e0 = trace_exported();
	int64_t t0, worst, took;
	int fd, port;

	CHECK((port = hung_port(&fd)) > 0);
	if (port <= 0)
		return;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	CHECK_INT(trace_exporter_start(url, "test-svc", 16, 20), 0);
	burst(1);
	util_sleep_ms(200);		/* the exporter is stuck sending it */
	worst = burst(2000);
	/* Not a latency target: a span_end() that waited for the hung
	 * collector would take its whole 10-s time-out. */
	CHECK(worst < 5000);
	CHECK(trace_dropped() - d0 >= 2000 - 16);
	t0 = util_mono_ms();
	trace_exporter_stop();
	took = util_mono_ms() - t0;
	printf("# stop took %lld ms\n", (long long)took);
	CHECK(took < TRACE_STOP_MS + 8000);	/* bounded, not hung */
	CHECK_INT(trace_exported() - e0, 0);
	CHECK_INT(trace_dropped() - d0, 2001);
	/* The queued spans are dropped at shutdown, or as failed exports
	 * when the stuck send ends just before the deadline. */
	CHECK(dropped_metric("shutdown") + dropped_metric("export_failed") >=
	    16);
	close(fd);
}

int
main(void)
{
	log_setlevel(LOG_LVL_ERROR);
	UNIT_RUN(t_parse_good);
	UNIT_RUN(t_parse_future_version);
	UNIT_RUN(t_parse_bad);
	UNIT_RUN(t_new_root);
	UNIT_RUN(t_spans_no_exporter);
	UNIT_RUN(t_export);
	UNIT_RUN(t_queue_full_dead);
	UNIT_RUN(t_queue_full_hung);
	return unit_done();
}
