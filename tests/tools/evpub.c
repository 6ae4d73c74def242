/*
 * evpub: plays the ingester's part for grilld-stream's tests and bench:
 * for each event it appends an entry to the `events` stream (XADD, fields
 * t, d, j), takes the entry id as the event id, updates `latest` for a
 * reading, and publishes the event on nng (MSG_READING, MSG_DEVICE,
 * MSG_ALERT; body = the event JSON plus "event_id"), as
 * docs/architecture.md says the ingester does after each write.
 *
 *   evpub -u NNG_URL [-r REDIS_URL] [-p PREFIX] [-o FILE]
 *	reads commands on stdin, one a line, and writes every event it
 *	made to FILE (default stdout) as "ID TYPE DEVICE PROBE" lines:
 *	    r DEV PROBE TEMP	a reading
 *	    d DEV STATE		a device change
 *	    a DEV PROBE KIND	an alert (firing)
 *	    burst N DEV PROBE	N readings as fast as it can
 *	    steady N RATE DEV PROBE	N readings, RATE a second
 *	    norepl		from now on only XADD, no nng (a missed publish)
 *	    repl		publish again
 *	    trim N		XTRIM events MAXLEN N
 *	    raw TYPE TEXT	publish TEXT as the body of a TYPE message,
 *				as is, and append it to `events` as the
 *				entry's j (bad input from an internal peer)
 *	    sync		writes "sync" to FILE
 *	    sleep MS
 *
 *   evpub -u NNG_URL [-r REDIS_URL] -R RATE -S SECONDS [-D DEVICES]
 *	[-P PROBES] [-W WARMUP_MS] [-H http://host:port/pub/]
 *	the benchmark: RATE readings a second for SECONDS, spread over
 *	DEVICES devices ("dev0".."devN-1") and PROBES probes each. Each
 *	event's JSON holds "pub_ns", the time it was published, so a client
 *	can measure delivery. With -H the same events are POSTed to an HTTP
 *	publisher (nginx + Nchan, channel = device) instead.
 *
 * The nng socket listens, as the ingester's does; commands wait for
 * -W ms (default 300) after start so that subscribers can connect, and
 * with -w N until N subscribers are connected (at most 15 s more), and
 * with -F FILE until FILE exists (the benchmark says go).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <stdatomic.h>

#include <hiredis/hiredis.h>

#include "msg.h"
#include "nngx.h"
#include "rds.h"
#include "rkeys.h"
#include "util.h"

struct pub {
	nng_socket	 sock;
	struct rds	*db;
	char		 k_events[160];
	char		 k_latest[160];
	FILE		*out;
	bool		 nopub;
	int		 httpfd;
	int64_t		 due_ns;	/* bench: the time an event was due */
	char		 httphost[128];
	char		 httppath[256];
};

static _Atomic int	npipes;

static void
on_pipe(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	npipes += ev == NNG_PIPE_EV_ADD_POST ? 1 : -1;
}

static void
die(const char *what)
{
	fprintf(stderr, "evpub: %s\n", what);
	exit(1);
}

static int
http_post(struct pub *p, const char *chan, const char *body)
{
	char req[2048], resp[4096];
	int n;
	ssize_t r;

	n = snprintf(req, sizeof(req), "POST %s%s HTTP/1.1\r\nHost: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    p->httppath, chan, p->httphost, strlen(body), body);
	if (write(p->httpfd, req, (size_t)n) != n)
		return -1;
	/* Nchan answers with a short body; read until its end. */
	r = read(p->httpfd, resp, sizeof(resp) - 1);
	return r > 0 ? 0 : -1;
}

/* Stores (unless no Redis), then publishes one event. */
static int
emit(struct pub *p, enum msg_type type, const char *dev, const char *probe,
    cJSON *obj)
{
	const char *tname = msg_type_name(type);
	char *json, id[64] = "", err[NNGX_ERRLEN];
	redisReply *rep;

	/* The time it was due, not sent: a publisher held up by a slow
	 * server counts against that server (no coordinated omission). */
	cJSON_AddNumberToObject(obj, "pub_ns", (double)(p->due_ns ? p->due_ns :
	    util_now_ns()));
	if ((json = cJSON_PrintUnformatted(obj)) == NULL)
		return -1;
	if (p->db != NULL) {
		rep = rds_command(p->db, "XADD %s * " RKEY_F_TYPE " %s "
		    RKEY_F_DEVICE " %s " RKEY_F_JSON " %s",
		    p->k_events, tname, dev, json);
		if (rep == NULL || rep->type != REDIS_REPLY_STRING) {
			fprintf(stderr, "evpub: XADD: %s\n", rep ? rep->str :
			    p->db->errstr);
			if (rep)
				freeReplyObject(rep);
			cJSON_free(json);
			return -1;
		}
		util_strlcpy(id, rep->str, sizeof(id));
		freeReplyObject(rep);
		if (type == MSG_READING) {
			char field[160];

			rkey_latest_field(field, sizeof(field), dev, probe);
			rep = rds_command(p->db, "HSET %s %s %s", p->k_latest,
			    field, json);
			if (rep)
				freeReplyObject(rep);
		}
	} else {
		static unsigned long long seq;

		snprintf(id, sizeof(id), "%lld-%llu",
		    (long long)(util_now_ns() / NS_PER_MS), seq++);
	}
	cJSON_free(json);
	cJSON_AddStringToObject(obj, "event_id", id);
	if (p->httpfd >= 0) {
		json = cJSON_PrintUnformatted(obj);
		if (json == NULL || http_post(p, dev, json) == -1)
			die("HTTP publish failed");
		cJSON_free(json);
	} else if (!p->nopub && nngx_pub_json(p->sock, type, obj, err,
	    sizeof(err)) == -1)
		fprintf(stderr, "evpub: publish: %s\n", err);
	if (p->out != NULL)
		fprintf(p->out, "%s %s %s %s\n", id, tname, dev,
		    probe[0] ? probe : "-");
	return 0;
}

static cJSON *
reading(const char *dev, const char *probe, double temp)
{
	char ts[UTIL_TIME_LEN];
	cJSON *o = cJSON_CreateObject();

	util_time_format(util_now_ns(), ts, sizeof(ts));
	cJSON_AddStringToObject(o, "device_id", dev);
	cJSON_AddStringToObject(o, "probe_id", probe);
	cJSON_AddNumberToObject(o, "temperature", temp);
	cJSON_AddStringToObject(o, "unit", "F");
	cJSON_AddStringToObject(o, "timestamp", ts);
	cJSON_AddNumberToObject(o, "battery_level", 87);
	cJSON_AddNumberToObject(o, "signal_strength", -61);
	return o;
}

static void
command(struct pub *p, char *line)
{
	char a[128], b[128], c[128];
	char ts[UTIL_TIME_LEN];
	double t;
	long n;
	cJSON *o;

	util_time_format(util_now_ns(), ts, sizeof(ts));
	if (sscanf(line, "r %127s %127s %lf", a, b, &t) == 3) {
		o = reading(a, b, t);
		emit(p, MSG_READING, a, b, o);
		cJSON_Delete(o);
	} else if (sscanf(line, "d %127s %127s", a, b) == 2) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "device_id", a);
		cJSON_AddStringToObject(o, "state", b);
		cJSON_AddStringToObject(o, "timestamp", ts);
		emit(p, MSG_DEVICE, a, "", o);
		cJSON_Delete(o);
	} else if (sscanf(line, "a %127s %127s %127s", a, b, c) == 3) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "alert_id", "rule-1");
		cJSON_AddStringToObject(o, "device_id", a);
		cJSON_AddStringToObject(o, "probe_id", b);
		cJSON_AddStringToObject(o, "kind", c);
		cJSON_AddStringToObject(o, "state", "firing");
		cJSON_AddNumberToObject(o, "temperature", 250);
		cJSON_AddNumberToObject(o, "threshold", 225);
		cJSON_AddStringToObject(o, "unit", "F");
		cJSON_AddStringToObject(o, "timestamp", ts);
		emit(p, MSG_ALERT, a, b, o);
		cJSON_Delete(o);
	} else if (sscanf(line, "burst %ld %127s %127s", &n, a, b) == 3) {
		for (long i = 0; i < n; i++) {
			o = reading(a, b, 100 + (double)(i % 100));
			emit(p, MSG_READING, a, b, o);
			cJSON_Delete(o);
		}
	} else if (sscanf(line, "steady %ld %lf %127s %127s", &n, &t, a,
	    b) == 4 && t > 0) {
		for (long i = 0; i < n; i++) {
			o = reading(a, b, 100 + (double)(i % 100));
			emit(p, MSG_READING, a, b, o);
			cJSON_Delete(o);
			if (p->out != NULL)
				fflush(p->out);
			util_sleep_ms((int64_t)(1000 / t));
		}
	} else if (strncmp(line, "norepl", 6) == 0) {
		p->nopub = true;
	} else if (strncmp(line, "repl", 4) == 0) {
		p->nopub = false;
	} else if (sscanf(line, "trim %ld", &n) == 1 && p->db != NULL) {
		redisReply *rep = rds_command(p->db, "XTRIM %s MAXLEN %ld",
		    p->k_events, n);

		if (rep)
			freeReplyObject(rep);
	} else if (sscanf(line, "raw %127s", a) == 1) {
		const char *text = line + 4 + strlen(a);
		struct buf m;

		buf_init(&m);
		while (*text == ' ')
			text++;
		/* Header by hand: the body may be anything at all. */
		buf_putc(&m, MSG_MAGIC0);
		buf_putc(&m, MSG_MAGIC1);
		buf_putc(&m, MSG_VERSION);
		buf_putc(&m, (char)(strcmp(a, "reading") == 0 ? MSG_READING :
		    strcmp(a, "device") == 0 ? MSG_DEVICE : MSG_ALERT));
		for (int i = 3; i >= 0; i--)
			buf_putc(&m, (char)((strlen(text) >> (8 * i)) & 0xff));
		buf_puts(&m, text);
		nngx_pub_send(p->sock, m.data, m.len, NULL, 0);
		/* And as an entry of the events stream, for a stream that
		 * reads its events there (stream.feed redis). */
		if (p->db != NULL) {
			redisReply *rep = rds_command(p->db, "XADD %s * "
			    RKEY_F_TYPE " %s " RKEY_F_DEVICE " raw "
			    RKEY_F_JSON " %s", p->k_events, a, text);

			if (rep)
				freeReplyObject(rep);
		}
		buf_free(&m);
	} else if (strncmp(line, "sync", 4) == 0) {
		if (p->out != NULL)
			fprintf(p->out, "sync\n");
	} else if (sscanf(line, "sleep %ld", &n) == 1) {
		util_sleep_ms(n);
	} else if (line[0] != '\n' && line[0] != '#')
		fprintf(stderr, "evpub: unknown command: %s", line);
	if (p->out != NULL)
		fflush(p->out);
}

static void
http_connect(struct pub *p, const char *url)
{
	struct sockaddr_in sin;
	char host[128];
	int port, one = 1;
	const char *slash;

	if (strncmp(url, "http://", 7) != 0 ||
	    (slash = strchr(url + 7, '/')) == NULL ||
	    (size_t)(slash - url - 7) >= sizeof(host))
		die("-H wants http://host:port/path/");
	memcpy(host, url + 7, (size_t)(slash - url - 7));
	host[slash - url - 7] = '\0';
	util_strlcpy(p->httphost, host, sizeof(p->httphost));
	util_strlcpy(p->httppath, slash, sizeof(p->httppath));
	if (util_split_hostport(host, host, sizeof(host), &port) == -1)
		die("bad host:port");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		die("-H needs an IPv4 address");
	if ((p->httpfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(p->httpfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("cannot connect to the HTTP publisher");
	setsockopt(p->httpfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void
bench(struct pub *p, double rate, double secs, int ndev, int nprobes)
{
	int64_t start = util_mono_ns(), interval = (int64_t)(1e9 / rate);
	int64_t wall = util_now_ns();
	long total = (long)(rate * secs);
	char dev[32], probe[32];

	for (long i = 0; i < total; i++) {
		int64_t due = start + i * interval, now = util_mono_ns();
		cJSON *o;

		if (due > now) {
			struct timespec ts = { .tv_sec = due / NS_PER_S,
				.tv_nsec = due % NS_PER_S };

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
			    NULL);
		}
		snprintf(dev, sizeof(dev), "dev%ld", i % ndev);
		snprintf(probe, sizeof(probe), "p%ld", (i / ndev) % nprobes);
		o = reading(dev, probe, 150 + (double)(i % 50));
		p->due_ns = wall + i * interval;
		emit(p, MSG_READING, dev, probe, o);
		cJSON_Delete(o);
	}
}

int
main(int argc, char *argv[])
{
	const char *nngurl = NULL, *redis = NULL, *prefix = "grilld:",
	    *outfile = NULL, *http = NULL, *gofile = NULL;
	double rate = 0, secs = 0;
	int ndev = 1, nprobes = 4, warmup = 300, nsubs = 0, ch;
	char err[NNGX_ERRLEN], line[65536];
	struct pub p;

	memset(&p, 0, sizeof(p));
	p.httpfd = -1;
	p.out = stdout;
	while ((ch = getopt(argc, argv, "u:r:p:o:R:S:D:P:W:H:w:F:")) != -1) {
		switch (ch) {
		case 'u': nngurl = optarg; break;
		case 'r': redis = optarg; break;
		case 'p': prefix = optarg; break;
		case 'o': outfile = optarg; break;
		case 'R': rate = atof(optarg); break;
		case 'S': secs = atof(optarg); break;
		case 'D': ndev = atoi(optarg); break;
		case 'P': nprobes = atoi(optarg); break;
		case 'W': warmup = atoi(optarg); break;
		case 'H': http = optarg; break;
		case 'w': nsubs = atoi(optarg); break;
		case 'F': gofile = optarg; break;
		default:
			die("usage: see the comment at the top of evpub.c");
		}
	}
	if ((nngurl == NULL && http == NULL) || ndev < 1 || nprobes < 1)
		die("usage: evpub -u NNG_URL [-r REDIS_URL] ...");
	if (outfile != NULL && (p.out = fopen(outfile, "a")) == NULL)
		die("cannot open the output file");
	if (rate > 0)
		p.out = NULL;
	rkey(p.k_events, sizeof(p.k_events), prefix, RKEY_EVENTS);
	rkey(p.k_latest, sizeof(p.k_latest), prefix, RKEY_LATEST);
	if (redis != NULL && (p.db = rds_connect(redis, NULL, err,
	    sizeof(err))) == NULL)
		die(err);
	if (http != NULL)
		http_connect(&p, http);
	else {
		if (nngx_open(&p.sock, "pub", err, sizeof(err)) == -1)
			die(err);
		/* nng drops what does not fit a subscriber's queue. */
		nng_socket_set_int(p.sock, NNG_OPT_SENDBUF, 8192);
		nng_pipe_notify(p.sock, NNG_PIPE_EV_ADD_POST, on_pipe, NULL);
		nng_pipe_notify(p.sock, NNG_PIPE_EV_REM_POST, on_pipe, NULL);
		if (nng_listen(p.sock, nngurl, NULL, 0) != 0)
			die("cannot listen on the nng URL");
	}
	util_sleep_ms(warmup);
	for (int i = 0; i < 1500 && npipes < nsubs; i++)
		util_sleep_ms(10);
	while (gofile != NULL && access(gofile, F_OK) != 0)
		util_sleep_ms(10);
	if (rate > 0)
		bench(&p, rate, secs, ndev, nprobes);
	else
		while (fgets(line, sizeof(line), stdin) != NULL)
			command(&p, line);
	/* Let nng hand the last messages over before closing. */
	util_sleep_ms(200);
	if (http == NULL)
		nng_close(p.sock);
	rds_free(p.db);
	if (p.out != NULL && p.out != stdout)
		fclose(p.out);
	return 0;
}
