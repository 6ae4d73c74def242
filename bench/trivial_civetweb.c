/*
 * The ceiling for grilld-api's `current`: a civetweb server configured
 * as grilld-api is (same worker count, keep-alive, TCP_NODELAY) whose
 * one handler answers the same body grilld-api would, from memory,
 * with no Redis, no parsing and no routing. bench/api.sh runs it
 * beside grilld-api under the same wrk load.
 *
 *	trivial_civetweb ADDR:PORT THREADS BODYFILE
 */
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char	 body[65536];
static size_t	 bodylen;
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	stop = 1;
}

static int
handler(struct mg_connection *c, void *arg)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n\r\n", bodylen);
	mg_write(c, head, (size_t)n);
	mg_write(c, body, bodylen);
	return 200;
}

int
main(int argc, char *argv[])
{
	const char *opts[] = { "listening_ports", NULL, "num_threads", NULL,
		"enable_keep_alive", "yes", "keep_alive_timeout_ms", "30000",
		"tcp_nodelay", "1", NULL };
	struct mg_callbacks cb;
	struct mg_context *ctx;
	FILE *fp;

	if (argc != 4) {
		fprintf(stderr, "usage: trivial_civetweb addr:port threads "
		    "bodyfile\n");
		return 1;
	}
	if ((fp = fopen(argv[3], "r")) == NULL) {
		perror(argv[3]);
		return 1;
	}
	bodylen = fread(body, 1, sizeof(body), fp);
	fclose(fp);
	opts[1] = argv[1];
	opts[3] = argv[2];
	memset(&cb, 0, sizeof(cb));
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if ((ctx = mg_start(&cb, NULL, opts)) == NULL) {
		fprintf(stderr, "cannot listen on %s\n", argv[1]);
		return 1;
	}
	mg_set_request_handler(ctx, "/", handler, NULL);
	while (!stop)
		sleep(1);
	mg_stop(ctx);
	return 0;
}
