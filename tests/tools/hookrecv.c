/*
 * hookrecv: a webhook receiver for grilld-ingest's tests.
 *
 *   hookrecv -l 127.0.0.1:PORT -o FILE [-f N]
 *
 * Answers every POST; the first N with 500 (to exercise retries), the
 * rest with 204. Appends one line per request to FILE:
 *   <status answered> TAB <X-Grilld-Signature> TAB <X-Grilld-Delivery>
 *   TAB <body>
 * and flushes it at once. Runs until SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <civetweb.h>

static volatile sig_atomic_t	 quit;
static FILE			*out;
static int			 fail_first;
static int			 seen;

static void
on_signal(int sig)
{
	quit = 1;
}

static int
on_request(struct mg_connection *c, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	const char *sig = mg_get_header(c, "X-Grilld-Signature");
	const char *del = mg_get_header(c, "X-Grilld-Delivery");
	static char body[65536];	/* one request at a time: num_threads 1 */
	int n = 0, r, status;

	while (n < (int)sizeof(body) - 1 &&
	    (r = mg_read(c, body + n, sizeof(body) - 1 - (size_t)n)) > 0)
		n += r;
	body[n] = '\0';
	status = strcmp(ri->request_method, "POST") != 0 ? 405 :
	    seen++ < fail_first ? 500 : 204;
	fprintf(out, "%d\t%s\t%s\t%s\n", status, sig ? sig : "-",
	    del ? del : "-", body);
	fflush(out);
	mg_printf(c, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", status, status == 204 ? "No Content" :
	    "Error");
	return status;
}

int
main(int argc, char *argv[])
{
	const char *listen = NULL, *file = NULL;
	struct mg_callbacks cb;
	struct mg_context *ctx;
	int ch;

	while ((ch = getopt(argc, argv, "l:o:f:")) != -1) {
		switch (ch) {
		case 'l':
			listen = optarg;
			break;
		case 'o':
			file = optarg;
			break;
		case 'f':
			fail_first = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (listen == NULL || file == NULL)
		goto usage;
	if ((out = fopen(file, "a")) == NULL) {
		perror(file);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	{
		const char *opts[] = { "listening_ports", listen,
			"num_threads", "1", NULL };

		memset(&cb, 0, sizeof(cb));
		if ((ctx = mg_start(&cb, NULL, opts)) == NULL) {
			fprintf(stderr, "hookrecv: cannot listen on %s\n", listen);
			return 1;
		}
	}
	mg_set_request_handler(ctx, "/", on_request, NULL);
	while (!quit)
		usleep(50000);
	mg_stop(ctx);
	fclose(out);
	return 0;
usage:
	fprintf(stderr, "usage: hookrecv -l addr:port -o file [-f n]\n");
	return 1;
}
