#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin.h"
#include "daemon.h"
#include "metrics.h"
#include "unit.h"

static int	 port;
static bool	 ready_answer;

/* One request on its own connection; the whole answer, or NULL. */
static char *
http(int p, const char *method, const char *path)
{
	struct sockaddr_in sin;
	char req[256], chunk[4096];
	struct buf b;
	ssize_t n;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)p);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return NULL;
	}
	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: test\r\n"
	    "Connection: close\r\n\r\n", method, path);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return NULL;
	}
	buf_init(&b);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	close(fd);
	return buf_steal(&b);
}

static const char *
body_of(const char *answer)
{
	const char *p = strstr(answer, "\r\n\r\n");

	return p != NULL ? p + 4 : "";
}

static long
content_length(const char *answer)
{
	const char *p = strstr(answer, "Content-Length: ");

	return p != NULL ? strtol(p + 16, NULL, 10) : -1;
}

static bool
ready(void *arg, struct buf *why)
{
	buf_puts(why, "\"redis\":\"down\"");
	return ready_answer;
}

static void
test_metrics_get_and_head(void)
{
	char *get = http(port, "GET", "/metrics");
	char *head = http(port, "HEAD", "/metrics");

	CHECK(get != NULL && head != NULL);
	CHECK(strncmp(get, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(strstr(get, "Content-Type: text/plain; version=0.0.4") != NULL);
	CHECK_INT(content_length(get), (long)strlen(body_of(get)));
	CHECK(strstr(get, "# TYPE process_cpu_seconds_total counter\n") !=
	    NULL);
	CHECK(strncmp(head, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(content_length(head) > 0);
	CHECK_STR(body_of(head), "");
	free(get);
	free(head);
}

static void
test_method_and_path_errors(void)
{
	char *post = http(port, "POST", "/metrics");
	char *none = http(port, "GET", "/nope");

	CHECK(strncmp(post, "HTTP/1.1 405 ", 13) == 0);
	CHECK(strstr(post, "Allow: GET, HEAD\r\n") != NULL);
	CHECK_INT(content_length(post), (long)strlen(body_of(post)));
	CHECK(strncmp(none, "HTTP/1.1 404 ", 13) == 0);
	CHECK(strstr(body_of(none), "\"code\":\"NOT_FOUND\"") != NULL);
	free(post);
	free(none);
}

static void
test_health(void)
{
	char *live, *r;

	daemon_heartbeat();
	live = http(port, "GET", "/health/live");
	CHECK(strncmp(live, "HTTP/1.1 200 ", 13) == 0);
	ready_answer = false;
	r = http(port, "GET", "/health/ready");
	CHECK(strncmp(r, "HTTP/1.1 503 ", 13) == 0);
	CHECK_STR(body_of(r), "{\"status\":\"not_ready\",\"redis\":\"down\"}\n");
	free(r);
	ready_answer = true;
	r = http(port, "GET", "/health/ready");
	CHECK(strncmp(r, "HTTP/1.1 200 ", 13) == 0);
	free(live);
	free(r);
}

static int
no_content(struct mg_connection *c, void *arg)
{
	return admin_send(c, 204, "text/plain", "", 0, NULL);
}

/* A 204 carries no Content-Length (RFC 9110, 8.6). */
static void
test_send_204(void)
{
	char listen[32], err[256], *a;
	const char *opts[] = { "listening_ports", listen, "num_threads", "1",
		NULL };
	struct mg_context *ctx;
	int p = unit_free_port();

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", p);
	ctx = admin_mg_start(opts, err, sizeof(err));
	CHECK(ctx != NULL);
	if (ctx == NULL)
		return;
	mg_set_request_handler(ctx, "/empty$", no_content, NULL);
	a = http(p, "DELETE", "/empty");
	CHECK(a != NULL && strncmp(a, "HTTP/1.1 204 No Content\r\n", 25) == 0);
	CHECK(a != NULL && strstr(a, "Content-Length") == NULL);
	free(a);
	mg_stop(ctx);
}

int
main(void)
{
	char listen[32], err[256];
	struct admin *a;

	metric_process("test_admin");
	port = unit_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	if ((a = admin_start(listen, ready, NULL, err, sizeof(err))) == NULL) {
		printf("not ok 1 - admin_start: %s\n", err);
		return 1;
	}
	UNIT_RUN(test_metrics_get_and_head);
	UNIT_RUN(test_method_and_path_errors);
	UNIT_RUN(test_health);
	UNIT_RUN(test_send_204);
	admin_stop(a);
	return unit_done();
}
