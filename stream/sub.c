/*
 * sub: the live feed. Each event loop has its own nng SUB socket dialled
 * to the feed (feed.c, reading the Redis events stream) or, with
 * stream.feed nng, to nng.events_url (the ingester publishes there); the
 * pub socket hands every message to each of them, subscribed to MSG_READING, MSG_DEVICE
 * and MSG_ALERT of this build's message version. The loop polls the
 * socket's NNG_OPT_RECVFD with its other descriptors and, when it is
 * readable, takes every waiting message without blocking (sub_drain):
 * from the ingester's socket to a client's socket with no thread
 * hand-off of ours on the way.
 *
 * A malformed message from the ingester is a bug there: logged (rate
 * limited), counted in grilld_stream_events_invalid_total, dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "nngx.h"
#include "stream.h"

#define SUB_RECVBUF	8192	/* messages nng may hold for us (its max) */
#define SUB_BATCH	256	/* messages per turn of the loop, at most */

struct sub {
	struct stream	*st;
	struct hub	*hub;
	nng_socket	 sock;
	int		 fd;
	_Atomic int	 pipes;		/* connected publishers */
	bool		 counts;	/* the first loop's counts events in */
	struct log_limit ll;
};

static void
on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct sub *s = arg;

	atomic_fetch_add(&s->pipes, ev == NNG_PIPE_EV_ADD_POST ? 1 : -1);
}

bool
sub_connected(struct sub *s)
{
	return s != NULL && atomic_load(&s->pipes) > 0;
}

struct sub *
sub_start(struct stream *st, struct hub *hub, bool counts, char *err,
    size_t errlen)
{
	static const enum msg_type types[] = { MSG_READING, MSG_DEVICE,
		MSG_ALERT };
	struct sub *s;
	int rv;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->st = st;
	s->hub = hub;
	s->counts = counts;
	/* Counting publishers needs the callbacks before the dial. */
	if (nngx_open(&s->sock, "sub", err, errlen) == -1) {
		free(s);
		return NULL;
	}
	nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_POST, on_pipe, s);
	nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, on_pipe, s);
	for (size_t i = 0; i < ARRAY_LEN(types); i++)
		if (nngx_sub_subscribe(s->sock, types[i], err, errlen) == -1)
			goto fail;
	if ((rv = nng_dial(s->sock, st->feed_url, NULL,
	    NNG_FLAG_NONBLOCK)) != 0) {
		snprintf(err, errlen, "dial %s: %s", st->feed_url,
		    nng_strerror(rv));
		goto fail;
	}
	nng_socket_set_int(s->sock, NNG_OPT_RECVBUF, SUB_RECVBUF);
	if ((rv = nng_socket_get_int(s->sock, NNG_OPT_RECVFD, &s->fd)) != 0) {
		snprintf(err, errlen, "%s: %s", NNG_OPT_RECVFD,
		    nng_strerror(rv));
		goto fail;
	}
	return s;
fail:
	nng_close(s->sock);
	free(s);
	return NULL;
}

int
sub_fd(struct sub *s)
{
	return s->fd;
}

void
sub_stop(struct sub *s)
{
	if (s == NULL)
		return;
	nng_close(s->sock);
	free(s);
}

static void
one(struct sub *s, nng_msg *m)
{
	char err[MSG_ERRLEN], serr[96];
	enum msg_type type;
	enum sev_type et;
	cJSON *body = NULL;
	struct sev *e;

	if (msg_decode(nng_msg_body(m), nng_msg_len(m), &type, &body, err,
	    sizeof(err)) == -1) {
		if (s->counts)
			metric_inc(s->st->stats.events_bad);
		log_limited(&s->ll, 10000, LOG_LVL_WARN, "bad event message "
		    "from the ingester, dropped: %s", err);
		return;
	}
	et = type == MSG_READING ? SEV_READING : type == MSG_DEVICE ?
	    SEV_DEVICE : SEV_ALERT;
	if ((e = sev_new(et, body, NULL, serr, sizeof(serr))) == NULL) {
		if (s->counts)
			metric_inc(s->st->stats.events_bad);
		log_limited(&s->ll, 10000, LOG_LVL_WARN, "bad %s event from "
		    "the ingester, dropped: %s", msg_type_name(type), serr);
	} else {
		if (s->counts)
			metric_inc(s->st->stats.events_in[et]);
		hub_publish(s->hub, e);
		sev_unref(e);
	}
	cJSON_Delete(body);
}

/* Fans out what is waiting; on the loop that owns the hub. */
void
sub_drain(struct sub *s)
{
	nng_msg *m;
	int rv;

	for (int i = 0; i < SUB_BATCH; i++) {
		if ((rv = nng_recvmsg(s->sock, &m, NNG_FLAG_NONBLOCK)) != 0) {
			if (rv != NNG_EAGAIN)
				log_limited(&s->ll, 10000, LOG_LVL_WARN,
				    "events: %s", nng_strerror(rv));
			return;
		}
		one(s, m);
		nng_msg_free(m);
	}
}
