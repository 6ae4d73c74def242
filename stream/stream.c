/*
 * grilld-stream: live fan-out over Server-Sent Events and WebSocket, with
 * replay from Redis and the live page. See stream.h for the threads and
 * locks, docs/stream.md for the formats, limits and the choice of server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "admin.h"
#include "daemon.h"
#include "log.h"
#include "stream.h"

#define REDIS_WORKERS	2
/* Descriptors kept from clients: Redis, nng, epoll, files, accept. */
#define FD_RESERVE	64

/* Connections in all: below the descriptor limit, whatever is set. */
static size_t
conns_max(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return SIZE_MAX;
	return rl.rlim_cur > 2 * FD_RESERVE ? (size_t)rl.rlim_cur - FD_RESERVE :
	    (size_t)rl.rlim_cur / 2;
}

int
main(int argc, char *argv[])
{
	struct status *status;
	struct stream st;
	int nloops;
	struct daemon d;
	const struct grilld_conf *cf;
	char err[256];

	daemon_setup(&d, "grilld-stream", CONF_STREAM, argc, argv);
	memset(&st, 0, sizeof(st));
	cf = daemon_conf_hold(&d);
	st.cf = cf;
	st.conf = &d.conf;
	util_strlcpy(st.prefix, cf->redis.prefix ? cf->redis.prefix : "",
	    sizeof(st.prefix));
	metric_process("grilld-stream");
	stats_init(&st.stats);
	st.conns_max = conns_max();
	if ((st.limits = limits_new(cf, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	st.nloops = cf->stream.threads > 0 ? (int)cf->stream.threads :
	    (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (st.nloops < 1)
		st.nloops = 1;
	if (st.nloops > STREAM_LOOPS_MAX)
		st.nloops = STREAM_LOOPS_MAX;
	if ((st.lfd = loop_listen(cf->stream.listen, err, sizeof(err))) == -1)
		fatalx("%s", err);
	if (strcmp(cf->stream.feed, "redis") == 0) {
		if ((st.feed = feed_start(&st, st.feed_url, sizeof(st.feed_url),
		    err, sizeof(err))) == NULL)
			fatalx("feed: %s", err);
	} else
		util_strlcpy(st.feed_url, cf->nng.events_url,
		    sizeof(st.feed_url));
	nloops = st.nloops;
	st.nloops = 0;		/* loop_new() counts them */
	for (int i = 0; i < nloops; i++, st.nloops++)
		if ((st.loops[i] = loop_new(&st, st.lfd, err,
		    sizeof(err))) == NULL)
			fatalx("%s", err);
	if ((st.replay = replay_start(&st, REDIS_WORKERS, err,
	    sizeof(err))) == NULL)
		fatalx("redis: %s", err);
	for (int i = 0; i < st.nloops; i++)
		if (loop_start(st.loops[i]) == -1)
			fatalx("cannot start an event loop");
	if ((status = status_start(&st, cf->nng.stream_url, err,
	    sizeof(err))) == NULL)
		fatalx("status: %s", err);
	log_info("listening on http://%s (%d event loops, at most %zu "
	    "connections), events from %s", cf->stream.listen, st.nloops,
	    st.conns_max, st.feed != NULL ? "the Redis events stream" :
	    cf->nng.events_url);
	while (!daemon_stopping()) {
		daemon_heartbeat();
		/* Time-outs, heartbeat and sizes apply at once; the
		 * listen address, keys and URLs at the next start. */
		if (daemon_reload_pending() && daemon_reload(&d) == 0)
			atomic_fetch_add(&st.conf_gen, 1);
		daemon_sleep(1000);
	}
	log_info("stopping: closing %zu streams", stream_count(&st));
	status_stop(status);
	for (int i = 0; i < st.nloops; i++)
		loop_stop(st.loops[i]);
	replay_stop(st.replay);
	for (int i = 0; i < st.nloops; i++)
		loop_free(st.loops[i]);
	feed_stop(st.feed);
	close(st.lfd);
	limits_free(st.limits);
	daemon_conf_drop(cf);
	daemon_teardown(&d);
	return 0;
}
