/*
 * spansink: the smallest OTLP/HTTP JSON collector, for bench/e2e.sh.
 * The daemons export their spans to tracing.otlp_url; this one takes
 * POST /v1/traces (common/trace.c's JSON: resourceSpans, scopeSpans,
 * spans with hex ids and times in Unix nanoseconds as strings) and
 * writes one tab-separated line per span:
 *
 *	service  name  trace_id  span_id  parent_span_id  start_ns  end_ns
 *
 * (parent "-" for a root). It answers 200 "{}" (an OTLP full success),
 * 400 to a body that is not OTLP JSON, and GET /health 200.
 *
 *   spansink ADDR:PORT OUTFILE
 *
 * SIGTERM or SIGINT: stop, and print "spans N requests N" on stderr.
 */
#include <civetweb.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BODY_MAX	(32 * 1024 * 1024)

static FILE		*out;
static pthread_mutex_t	 out_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long	 nspans, nrequests;
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	stop = 1;
}

static void
reply(struct mg_connection *c, int status, const char *body)
{
	mg_printf(c, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", status, status == 200 ? "OK" :
	    "Bad Request", strlen(body), body);
}

static const char *
str(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(it) && it->valuestring[0] != '\0' ?
	    it->valuestring : "-";
}

static const char *
service_of(const cJSON *rs)
{
	const cJSON *attrs, *a;

	attrs = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(rs, "resource"), "attributes");
	cJSON_ArrayForEach(a, attrs) {
		if (strcmp(str(a, "key"), "service.name") == 0)
			return str(cJSON_GetObjectItemCaseSensitive(a, "value"),
			    "stringValue");
	}
	return "-";
}

/* Writes the spans of one request; -1 when it is not OTLP JSON. */
static int
record(const cJSON *root)
{
	const cJSON *rss, *rs, *ss, *sp;
	unsigned long n = 0;

	rss = cJSON_GetObjectItemCaseSensitive(root, "resourceSpans");
	if (!cJSON_IsArray(rss))
		return -1;
	pthread_mutex_lock(&out_mu);
	cJSON_ArrayForEach(rs, rss) {
		const char *svc = service_of(rs);

		cJSON_ArrayForEach(ss, cJSON_GetObjectItemCaseSensitive(rs,
		    "scopeSpans")) {
			cJSON_ArrayForEach(sp,
			    cJSON_GetObjectItemCaseSensitive(ss, "spans")) {
				fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				    svc, str(sp, "name"), str(sp, "traceId"),
				    str(sp, "spanId"), str(sp, "parentSpanId"),
				    str(sp, "startTimeUnixNano"),
				    str(sp, "endTimeUnixNano"));
				n++;
			}
		}
	}
	fflush(out);
	nspans += n;
	nrequests++;
	pthread_mutex_unlock(&out_mu);
	return 0;
}

static int
on_traces(struct mg_connection *c, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	long long len = ri->content_length;
	cJSON *root = NULL;
	char *body;
	int got = 0, k;

	if (strcmp(ri->request_method, "POST") != 0 || len < 0 ||
	    len > BODY_MAX) {
		reply(c, 400, "{\"error\":\"POST an OTLP JSON body\"}");
		return 400;
	}
	if ((body = malloc((size_t)len + 1)) == NULL) {
		reply(c, 400, "{\"error\":\"out of memory\"}");
		return 400;
	}
	while (got < len && (k = mg_read(c, body + got, (size_t)(len - got)))
	    > 0)
		got += k;
	body[got] = '\0';
	if (got == len)
		root = cJSON_ParseWithLength(body, (size_t)len);
	free(body);
	if (root == NULL || record(root) == -1) {
		cJSON_Delete(root);
		reply(c, 400, "{\"error\":\"not OTLP JSON\"}");
		return 400;
	}
	cJSON_Delete(root);
	reply(c, 200, "{}");
	return 200;
}

static int
on_health(struct mg_connection *c, void *arg)
{
	reply(c, 200, "{\"status\":\"ok\"}");
	return 200;
}

int
main(int argc, char *argv[])
{
	const char *opts[] = { "listening_ports", NULL, "num_threads", "4",
		"enable_keep_alive", "yes", NULL };
	struct mg_callbacks cb;
	struct mg_context *ctx;

	if (argc != 3) {
		fprintf(stderr, "usage: spansink addr:port outfile\n");
		return 2;
	}
	if ((out = fopen(argv[2], "w")) == NULL) {
		perror(argv[2]);
		return 1;
	}
	opts[1] = argv[1];
	memset(&cb, 0, sizeof(cb));
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if ((ctx = mg_start(&cb, NULL, opts)) == NULL) {
		fprintf(stderr, "spansink: cannot listen on %s\n", argv[1]);
		return 1;
	}
	mg_set_request_handler(ctx, "/v1/traces", on_traces, NULL);
	mg_set_request_handler(ctx, "/health", on_health, NULL);
	while (!stop)
		usleep(100000);
	mg_stop(ctx);
	fclose(out);
	fprintf(stderr, "spans %lu requests %lu\n", nspans, nrequests);
	return 0;
}
