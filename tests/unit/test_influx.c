/*
 * test_influx: the InfluxDB transport every daemon shares
 * (common/influx.c), against a small HTTP server of its own on a
 * loopback port: a write classified by its answer, a query posted as a
 * form with its parameters and the traceparent, an answer past its
 * bound refused, a ping, a time-out said as one, gzip when it helps.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "influx.h"
#include "unit.h"

struct srv {
	int		 fd, port;
	pthread_t	 th;
	const char	*answer;	/* the whole HTTP answer */
	int		 stall_ms;	/* before answering */
	char		 req[16384];	/* the request as received */
	size_t		 reqlen;
};

/* Reads headers and a Content-Length body, answers, closes. */
static void *
serve_one(void *arg)
{
	struct srv *s = arg;
	int c;
	ssize_t n;
	const char *end, *cl;
	size_t want = 0;

	if ((c = accept(s->fd, NULL, NULL)) == -1)
		return NULL;
	s->reqlen = 0;
	for (;;) {
		n = read(c, s->req + s->reqlen, sizeof(s->req) - 1 - s->reqlen);
		if (n <= 0)
			break;
		s->reqlen += (size_t)n;
		s->req[s->reqlen] = '\0';
		if ((end = strstr(s->req, "\r\n\r\n")) == NULL)
			continue;
		cl = strcasestr(s->req, "Content-Length: ");
		want = (size_t)(end + 4 - s->req) + (cl ? strtoul(cl + 16,
		    NULL, 10) : 0);
		if (s->reqlen >= want)
			break;
	}
	if (s->stall_ms > 0)
		usleep((useconds_t)s->stall_ms * 1000);
	if (write(c, s->answer, strlen(s->answer)) < 0)
		(void)0;
	close(c);
	return NULL;
}

static void
srv_start(struct srv *s, const char *answer)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->answer = answer;
	if (s->fd <= 0) {
		s->fd = socket(AF_INET, SOCK_STREAM, 0);
		bind(s->fd, (struct sockaddr *)&sa, sizeof(sa));
		listen(s->fd, 4);
		getsockname(s->fd, (struct sockaddr *)&sa, &len);
		s->port = ntohs(sa.sin_port);
	}
	pthread_create(&s->th, NULL, serve_one, s);
}

static void
srv_wait(struct srv *s)
{
	pthread_join(s->th, NULL);
}

static struct influx *
client(struct grilld_conf *cf, struct srv *s, bool gzip, size_t max)
{
	static char url[64];
	char err[128];
	struct influx *in;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s->port);
	cf->influx.url = url;
	cf->influx.database = "grill d";
	cf->influx.timeout = 2000;
	cf->influx.username = "u";
	cf->influx.password = "p";
	in = influx_new(cf, &(struct influx_opts){ .agent = "test",
	    .gzip = gzip, .answer_max = max }, err, sizeof(err));
	CHECK(in != NULL);
	return in;
}

static void
test_influx_write(void)
{
	static struct grilld_conf cf;
	struct srv s = { 0 };
	struct influx *in;
	char msg[256], big[8192];
	int st;
	int64_t ra;

	srv_start(&s, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
	in = client(&cf, &s, false, 1024);
	CHECK_INT(influx_write(in, "m v=1 1", 7, &st, msg, sizeof(msg), &ra),
	    INFLUX_OK);
	srv_wait(&s);
	CHECK_INT(st, 204);
	CHECK(strstr(s.req, "POST /write?db=grill%20d&rp=raw&precision=ns "
	    "HTTP/1.1") != NULL);
	CHECK(strstr(s.req, "Authorization: Basic dTpw") != NULL);
	CHECK(strstr(s.req, "\r\n\r\nm v=1 1") != NULL);

	srv_start(&s, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
	    "Content-Type: application/json\r\nContent-Length: 47\r\n\r\n"
	    "{\"error\":\"partial write: unable to parse 'x'\"}\n");
	CHECK_INT(influx_write(in, "x", 1, &st, msg, sizeof(msg), &ra),
	    INFLUX_REJECTED);
	srv_wait(&s);
	CHECK_STR(msg, "partial write: unable to parse 'x'");

	srv_start(&s, "HTTP/1.1 503 Unavailable\r\nConnection: close\r\n"
	    "Retry-After: 7\r\nContent-Length: 0\r\n\r\n");
	CHECK_INT(influx_write(in, "x", 1, &st, msg, sizeof(msg), &ra),
	    INFLUX_RETRY);
	srv_wait(&s);
	CHECK_INT(ra, 7000);

	/* Compressed only when asked and worth it. */
	influx_free(in);
	in = client(&cf, &s, true, 1024);
	memset(big, 'a', sizeof(big));
	srv_start(&s, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
	CHECK_INT(influx_write(in, big, sizeof(big), &st, msg, sizeof(msg),
	    &ra), INFLUX_OK);
	srv_wait(&s);
	CHECK(strstr(s.req, "Content-Encoding: gzip") != NULL);
	influx_free(in);
	close(s.fd);
}

static void
test_influx_classify(void)
{
	CHECK_INT(influx_classify(204, ""), INFLUX_OK);
	CHECK_INT(influx_classify(400, "bad"), INFLUX_REJECTED);
	CHECK_INT(influx_classify(413, ""), INFLUX_TOO_LARGE);
	CHECK_INT(influx_classify(401, ""), INFLUX_DENIED);
	CHECK_INT(influx_classify(403, ""), INFLUX_DENIED);
	CHECK_INT(influx_classify(404, "database not found: \"g\""),
	    INFLUX_NO_DB);
	CHECK_INT(influx_classify(404, "page not found"), INFLUX_RETRY);
	CHECK_INT(influx_classify(500, "retention policy not found: raw"),
	    INFLUX_NO_DB);
	CHECK_INT(influx_classify(500, "oops"), INFLUX_RETRY);
	CHECK_INT(influx_classify(0, "refused"), INFLUX_RETRY);
	CHECK_INT(influx_classify(429, ""), INFLUX_RETRY);
	CHECK(influx_gzip_wanted("on", "http://127.0.0.1:8086"));
	CHECK(!influx_gzip_wanted("off", "http://db.example:8086"));
	CHECK(!influx_gzip_wanted("auto", "http://localhost:8086"));
	CHECK(!influx_gzip_wanted("auto", "http://127.0.0.1:8086"));
	CHECK(influx_gzip_wanted("auto", "http://db.example:8086"));
}

static void
test_influx_query_ping(void)
{
	static struct grilld_conf cf;
	static const char ans[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	    "Content-Length: 14\r\n\r\n{\"results\":[]}";
	struct srv s = { 0 };
	struct influx *in;
	struct buf out;
	int st;

	buf_init(&out);
	srv_start(&s, ans);
	in = client(&cf, &s, false, 1024);
	influx_set_traceparent(in, "00-4bf92f3577b34da6a3ce929d0e0e4736-"
	    "00f067aa0ba902b7-01");
	CHECK_INT(influx_query(in, "SELECT \"v\" FROM m", "epoch=u", &out,
	    &st), 0);
	srv_wait(&s);
	CHECK_INT(st, 200);
	CHECK_STR(out.data, "{\"results\":[]}");
	CHECK(strstr(s.req, "POST /query?db=grill%20d&epoch=u HTTP") != NULL);
	CHECK(strstr(s.req, "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736"
	    "-00f067aa0ba902b7-01\r\n") != NULL);
	CHECK(strstr(s.req, "\r\n\r\nq=SELECT%20%22v%22%20FROM%20m") != NULL);

	/* Past its bound an answer fails the query, whole or not at all. */
	influx_free(in);
	in = client(&cf, &s, false, 8);
	srv_start(&s, ans);
	CHECK_INT(influx_query(in, "SHOW DATABASES", NULL, &out, &st), -1);
	srv_wait(&s);
	CHECK_INT(st, 0);
	CHECK(strstr(influx_error(in), "larger than 8 bytes") != NULL);

	srv_start(&s, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
	CHECK_INT(influx_ping(in, &st), 0);
	srv_wait(&s);
	CHECK(strncmp(s.req, "GET /ping HTTP/1.1", 18) == 0);
	CHECK(!influx_timed_out(in));

	/* A server that does not answer in time: a time-out, said so. */
	s.stall_ms = 600;
	influx_set_timeout(in, 200);
	srv_start(&s, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
	CHECK_INT(influx_ping(in, &st), -1);
	CHECK_INT(st, 0);
	CHECK(influx_timed_out(in));
	srv_wait(&s);
	influx_free(in);
	buf_free(&out);
	close(s.fd);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	UNIT_RUN(test_influx_write);
	UNIT_RUN(test_influx_classify);
	UNIT_RUN(test_influx_query_ping);
	curl_global_cleanup();
	return unit_done();
}
