/*
 * civetweb-sse: the prototype that measured civetweb for grilld-stream
 * (docs/stream.md). The smallest civetweb SSE fan-out that does the same
 * job as grilld-stream's hot path: an nng SUB socket takes evpub's
 * events, and each SSE client, served by its own civetweb worker thread
 * (civetweb's model: a thread per connection), waits on its device's
 * condition variable and writes every new event of that device.
 *
 *   civetweb-sse LISTEN_PORT NNG_URL THREADS
 *   GET /sub/{device}	(devices "dev0".."dev1023")
 *
 * Built and run by bench/stream.sh; not part of grilld.
 */
#include <civetweb.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NDEV	1024
#define RING	64

struct dev {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	unsigned long	 seq;
	char		*ring[RING];
};

static struct dev	devs[NDEV];
static volatile int	stopping;

static int
sse(struct mg_connection *c, void *arg)
{
	const char *uri = mg_get_request_info(c)->local_uri;
	int d = atoi(uri + 8) % NDEV;
	struct dev *dv = &devs[d < 0 ? 0 : d];
	unsigned long seen;

	mg_printf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
	    "Cache-Control: no-store\r\n\r\nretry: 3000\n\n");
	pthread_mutex_lock(&dv->mtx);
	seen = dv->seq;
	while (!stopping) {
		while (dv->seq == seen && !stopping)
			pthread_cond_wait(&dv->cv, &dv->mtx);
		while (seen < dv->seq) {
			char *m = dv->ring[seen % RING];
			char *copy = strdup(m);

			seen++;
			pthread_mutex_unlock(&dv->mtx);
			if (mg_printf(c, "data: %s\n\n", copy) <= 0) {
				free(copy);
				return 200;
			}
			free(copy);
			pthread_mutex_lock(&dv->mtx);
		}
	}
	pthread_mutex_unlock(&dv->mtx);
	return 200;
}

int
main(int argc, char *argv[])
{
	const char *opts[] = { "listening_ports", argv[1], "num_threads",
		argv[3], "enable_keep_alive", "yes", "listen_backlog", "4096",
		NULL };
	struct mg_context *ctx;
	nng_socket s;

	if (argc != 4)
		return 2;
	for (int i = 0; i < NDEV; i++) {
		pthread_mutex_init(&devs[i].mtx, NULL);
		pthread_cond_init(&devs[i].cv, NULL);
	}
	mg_init_library(0);
	if ((ctx = mg_start(NULL, NULL, opts)) == NULL)
		return 1;
	mg_set_request_handler(ctx, "/sub/", sse, NULL);
	if (nng_sub0_open(&s) != 0 ||
	    nng_socket_set(s, NNG_OPT_SUB_SUBSCRIBE, "", 0) != 0 ||
	    nng_dial(s, argv[2], NULL, NNG_FLAG_NONBLOCK) != 0)
		return 1;
	for (;;) {
		char *buf, *dp;
		size_t len;
		int d;

		if (nng_recv(s, &buf, &len, NNG_FLAG_ALLOC) != 0)
			break;
		/* grilld's message: 8 header bytes, then the JSON body. */
		if (len > 8 && (dp = strstr(buf + 8, "\"device_id\":\"dev")) &&
		    (d = atoi(dp + 16)) >= 0 && d < NDEV) {
			struct dev *dv = &devs[d];
			char *body = strndup(buf + 8, len - 8);

			pthread_mutex_lock(&dv->mtx);
			free(dv->ring[dv->seq % RING]);
			dv->ring[dv->seq % RING] = body;
			dv->seq++;
			pthread_cond_broadcast(&dv->cv);
			pthread_mutex_unlock(&dv->mtx);
		}
		nng_free(buf, len);
	}
	mg_stop(ctx);
	return 0;
}
