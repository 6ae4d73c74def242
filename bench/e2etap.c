/*
 * e2etap: the two observation points of bench/e2e.sh that spans do not
 * give, on one clock (CLOCK_REALTIME, as the spans and Redis use):
 *
 *   readings  a consumer group of its own on the raw readings stream
 *             (XREADGROUP ... COUNT 1000 BLOCK 500, then XACK: trimming
 *             waits for every group, so nothing is trimmed before it is
 *             seen). For each entry, into DIR/readings.tsv:
 *		trace_id  entry_ms
 *             (entry_ms: the entry id's time, when Redis took the XADD)
 *   events    a client of grilld-stream's SSE feed. For each event, into
 *             DIR/events.tsv:
 *		trace_id  recv_ns  event_ms  device_ms  type
 *             (event_ms: the events stream id's time, when ingest
 *             appended it after InfluxDB's 204; device_ms: the reading's
 *             own timestamp). It reconnects with Last-Event-ID.
 *
 * trace_id is the 32 hex digits of the reading's traceparent, "-" when
 * it has none.
 *
 *   e2etap -s SSE_URL -u REDIS_URL -k READINGS_STREAM -o DIR
 *
 * The group ("e2etap") is created at "$" when the tap starts. SIGTERM or
 * SIGINT: stop, remove the group, print "readings N events N" on stderr.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rds.h"
#include "rkeys.h"
#include "util.h"

#define SSE_LINE_MAX	65536	/* longer SSE lines are skipped */
#define TAP_GROUP	"e2etap"

static volatile sig_atomic_t stop;
static atomic_ulong	nreadings, nevents;

static void
on_signal(int sig)
{
	stop = 1;
}

/* The trace id of a traceparent somewhere in text, or "-". */
static void
trace_of(const char *s, size_t len, char *out)
{
	static const char key[] = "\"traceparent\":\"00-";
	const char *p = memmem(s, len, key, sizeof(key) - 1);

	if (p == NULL || (size_t)(s + len - p) < sizeof(key) - 1 + 32) {
		memcpy(out, "-", 2);
		return;
	}
	memcpy(out, p + sizeof(key) - 1, 32);
	out[32] = '\0';
}

/* The milliseconds of a stream id "1700000000000-3". */
static long long
id_ms(const char *id)
{
	return strtoll(id, NULL, 10);
}

/*
 * The readings tap.
 */
struct tap {
	struct rds	*db;
	const char	*stream;
	FILE		*out;
};

struct batch {
	struct tap	*t;
	const char	*argv[3 + 1000];	/* XACK stream group ids... */
	int		 argc;
};

static int
tap_entry(const struct rds_entry *e, void *arg)
{
	struct batch *b = arg;
	char trace[40];
	size_t len;
	const char *r = rds_entry_get(e, RKEY_F_READING, &len);

	if (r == NULL)
		memcpy(trace, "-", 2);
	else
		trace_of(r, len, trace);
	fprintf(b->t->out, "%s\t%lld\n", trace, id_ms(e->id));
	if (b->argc < (int)(sizeof(b->argv) / sizeof(b->argv[0])))
		b->argv[b->argc++] = e->id;
	atomic_fetch_add(&nreadings, 1);
	return 0;
}

static void *
tap_run(void *arg)
{
	struct batch b;
	redisReply *r, *a;

	b.t = arg;
	b.argv[0] = "XACK";
	b.argv[1] = b.t->stream;
	b.argv[2] = TAP_GROUP;
	while (!stop) {
		r = rds_command(b.t->db, "XREADGROUP GROUP " TAP_GROUP " tap "
		    "COUNT 1000 BLOCK 500 STREAMS %s >", b.t->stream);
		if (r == NULL) {
			fprintf(stderr, "e2etap: XREADGROUP: %s\n",
			    b.t->db->errstr);
			util_sleep_ms(200);
			continue;
		}
		b.argc = 3;
		if (rds_stream_entries(r, tap_entry, &b) > 0) {
			fflush(b.t->out);
			a = rds_commandargv(b.t->db, b.argc, b.argv, NULL);
			if (a != NULL)
				freeReplyObject(a);
		}
		freeReplyObject(r);
	}
	return NULL;
}

/*
 * The SSE client.
 */
struct sse {
	FILE		*out;
	char		 line[SSE_LINE_MAX];
	size_t		 len;
	bool		 overlong;
	char		 id[64], type[32], last_id[64];
	struct buf	 data;
};

static long long
device_ms(const char *s, size_t len)
{
	static const char key[] = "\"timestamp\":\"";
	const char *p = memmem(s, len, key, sizeof(key) - 1), *q;
	char ts[UTIL_TIME_LEN];
	int64_t ns;

	if (p == NULL)
		return -1;
	p += sizeof(key) - 1;
	if ((q = memchr(p, '"', (size_t)(s + len - p))) == NULL ||
	    (size_t)(q - p) >= sizeof(ts))
		return -1;
	memcpy(ts, p, (size_t)(q - p));
	ts[q - p] = '\0';
	return util_time_parse(ts, &ns) == 0 ? (long long)(ns / 1000000) : -1;
}

static void
sse_dispatch(struct sse *s, int64_t now)
{
	char trace[40];

	if (s->data.len > 0) {
		trace_of(s->data.data, s->data.len, trace);
		fprintf(s->out, "%s\t%lld\t%lld\t%lld\t%s\n", trace,
		    (long long)now, s->id[0] ? id_ms(s->id) : -1LL,
		    device_ms(s->data.data, s->data.len),
		    s->type[0] ? s->type : "message");
		atomic_fetch_add(&nevents, 1);
	}
	if (s->id[0] != '\0')
		util_strlcpy(s->last_id, s->id, sizeof(s->last_id));
	s->id[0] = s->type[0] = '\0';
	buf_reset(&s->data);
}

static void
sse_line(struct sse *s, char *l, size_t len, int64_t now)
{
	char *v;

	if (len > 0 && l[len - 1] == '\r')
		l[--len] = '\0';
	if (len == 0) {
		sse_dispatch(s, now);
		return;
	}
	if (l[0] == ':')
		return;
	if ((v = strchr(l, ':')) == NULL)
		v = l + len;
	else {
		*v++ = '\0';
		if (*v == ' ')
			v++;
	}
	if (strcmp(l, "id") == 0)
		util_strlcpy(s->id, v, sizeof(s->id));
	else if (strcmp(l, "event") == 0)
		util_strlcpy(s->type, v, sizeof(s->type));
	else if (strcmp(l, "data") == 0) {
		if (s->data.len > 0)
			buf_putc(&s->data, '\n');
		buf_puts(&s->data, v);
	}
}

static size_t
sse_write(char *p, size_t size, size_t n, void *arg)
{
	struct sse *s = arg;
	int64_t now = util_now_ns();

	if (stop)
		return 0;
	for (size_t i = 0; i < size * n; i++) {
		if (p[i] != '\n') {
			if (s->len < sizeof(s->line) - 1)
				s->line[s->len++] = p[i];
			else
				s->overlong = true;
			continue;
		}
		s->line[s->len] = '\0';
		if (!s->overlong)
			sse_line(s, s->line, s->len, now);
		s->len = 0;
		s->overlong = false;
	}
	return size * n;
}

static int
sse_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	return stop ? 1 : 0;
}

static void
sse_run(struct sse *s, const char *url)
{
	char hdr[128];
	CURL *c;

	while (!stop) {
		struct curl_slist *h = NULL;

		if ((c = curl_easy_init()) == NULL)
			return;
		h = curl_slist_append(h, "Accept: text/event-stream");
		if (s->last_id[0] != '\0') {
			snprintf(hdr, sizeof(hdr), "Last-Event-ID: %s",
			    s->last_id);
			h = curl_slist_append(h, hdr);
		}
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, sse_progress);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_perform(c);
		curl_easy_cleanup(c);
		curl_slist_free_all(h);
		s->len = 0;
		buf_reset(&s->data);
		fflush(s->out);
		if (!stop) {
			fprintf(stderr, "e2etap: the feed closed; "
			    "reconnecting\n");
			util_sleep_ms(200);
		}
	}
}

static FILE *
open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		perror(path);
	return f;
}

int
main(int argc, char *argv[])
{
	const char *url = NULL, *rurl = NULL, *dir = NULL;
	struct sse s;
	struct tap t;
	pthread_t th;
	redisReply *r;
	char err[256];
	int ch;

	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	while ((ch = getopt(argc, argv, "s:u:k:o:")) != -1) {
		switch (ch) {
		case 's': url = optarg; break;
		case 'u': rurl = optarg; break;
		case 'k': t.stream = optarg; break;
		case 'o': dir = optarg; break;
		default: goto usage;
		}
	}
	if (url == NULL || rurl == NULL || t.stream == NULL || dir == NULL)
		goto usage;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if ((s.out = open_out(dir, "events.tsv")) == NULL ||
	    (t.out = open_out(dir, "readings.tsv")) == NULL)
		return 1;
	if ((t.db = rds_connect(rurl, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "e2etap: %s\n", err);
		return 1;
	}
	r = rds_command(t.db, "XGROUP CREATE %s " TAP_GROUP " $ MKSTREAM",
	    t.stream);
	if (r == NULL || (r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "BUSYGROUP", 9) != 0)) {
		fprintf(stderr, "e2etap: XGROUP CREATE: %s\n", r == NULL ?
		    t.db->errstr : r->str);
		return 1;
	}
	freeReplyObject(r);
	buf_init(&s.data);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (pthread_create(&th, NULL, tap_run, &t) != 0) {
		fprintf(stderr, "e2etap: cannot start the tap\n");
		return 1;
	}
	sse_run(&s, url);
	pthread_join(th, NULL);
	r = rds_command(t.db, "XGROUP DESTROY %s " TAP_GROUP, t.stream);
	if (r != NULL)
		freeReplyObject(r);
	fclose(s.out);
	fclose(t.out);
	buf_free(&s.data);
	rds_free(t.db);
	curl_global_cleanup();
	fprintf(stderr, "readings %lu events %lu\n",
	    (unsigned long)atomic_load(&nreadings),
	    (unsigned long)atomic_load(&nevents));
	return 0;
usage:
	fprintf(stderr, "usage: e2etap -s sse_url -u redis_url -k stream "
	    "-o dir\n");
	return 2;
}
