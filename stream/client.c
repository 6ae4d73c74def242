/*
 * client: one connection, as a state machine driven by the loop.
 *
 *   CS_REQUEST --request--> CS_RESPOND --sent--> CS_REQUEST (keep-alive)
 *        |                                 \--> CS_CLOSED (close)
 *        \--SSE or WebSocket--> CS_STREAM --> CS_CLOSING --> CS_CLOSED
 *
 * Input follows output: while a client's output is blocked it is not
 * read (the loop drops EPOLLIN until the output drains), so a client
 * that sends and never reads (pipelined requests, a ping flood) makes
 * the server hold no more than its input buffer and one round of
 * answers, and costs no CPU while it waits: a level-triggered EPOLLIN
 * that is never read would wake the loop for ever. Every byte a client
 * makes the server hold counts: input (stream.max_message), a
 * fragmented message (stream.max_message), private bytes
 * (STREAM_PEND_MAX) and its queue (stream.queue_max).
 *
 * Output. A live event is written to the socket the moment it is
 * offered, straight from its shared bytes, when nothing else is waiting;
 * only what the socket does not take is copied (into out) and the loop
 * watches for POLLOUT. While out is not empty the client is blocked and
 * what comes next waits: first the client's private bytes (pend:
 * responses, snapshot, replay, notes, pongs), then the events of its
 * queue, gathered into writes of up to STREAM_OUT_CHUNK bytes.
 *
 * The queue holds at most stream.queue_max events. When it is full the
 * client is behind: its queue is coalesced to the latest reading per
 * probe (device changes and alerts are kept), and it is told how many
 * readings it lost. A client that needs coalescing a third time before
 * its output drains is still behind and is disconnected (DROP_SLOW);
 * so is one that has not taken a byte for stream.write_timeout
 * (DROP_STALL). Either way the others never wait for it, and its memory
 * is bounded by its queue.
 *
 * Closing after an answer or a close frame lingers, as nginx does: the
 * write side is shut (FIN), then what the peer still sends is read and
 * dropped until it closes too or LINGER_MS pass. Closing a socket with
 * unread bytes makes the kernel send a reset, which destroys the last
 * answer (a 400, a close frame) before the peer has read it.
 *
 * Lifetime: users counts the connection and a Redis job in flight.
 * Closing releases the socket at once and puts the client on the loop's
 * reap list; client_finish() unlinks it and drops the connection's use;
 * the last use frees it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "stream.h"

#define IN_INITIAL	1024
#define SSE_IN_SIZE	256
#define CLOSING_MAX_MS	5000
#define LINGER_MS	2000

static const char *const drop_names[DROP_NREASONS] = {
	"client", "slow", "stall", "idle", "protocol", "too_big", "shutdown",
	"error",
};

static void	handle_requests(struct client *);
static void	jobs(struct client *);

const char *
client_drop_name(enum drop_reason r)
{
	return (unsigned)r < DROP_NREASONS ? drop_names[r] : "unknown";
}

struct client *
client_new(struct loop *l, int fd, const char *addr)
{
	static _Atomic uint64_t serial;
	struct client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->st = loop_stream(l);
	c->loop = l;
	c->fd = fd;
	c->serial = ++serial;
	c->users = 1;
	c->state = CS_REQUEST;
	c->kind = CLIENT_HTTP;
	buf_init(&c->pend);
	buf_init(&c->out);
	buf_init(&c->msg);
	filter_init(&c->filter);
	c->opened_ms = c->last_read_ms = c->last_write_ms = util_mono_ms();
	c->req_since_ms = c->opened_ms;
	util_strlcpy(c->addr, addr, sizeof(c->addr));
	util_strlcpy(c->peer, addr, sizeof(c->peer));
	return c;
}

static struct sev *
queue_pop(struct client *c)
{
	struct sev *e;

	if (c->qlen == 0)
		return NULL;
	e = c->q[c->qhead];
	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
	metric_add(c->st->stats.queued, -1);
	return e;
}

static void
queue_clear(struct client *c)
{
	struct sev *e;

	while ((e = queue_pop(c)) != NULL)
		sev_unref(e);
}

void
client_release(struct client *c)
{
	if (--c->users > 0)
		return;
	queue_clear(c);
	if (c->fd != -1)
		close(c->fd);
	free(c->q);
	free(c->in);
	free(c->links);
	buf_free(&c->pend);
	buf_free(&c->out);
	buf_free(&c->msg);
	filter_free(&c->filter);
	free(c);
}

void
client_finish(struct client *c)
{
	struct stream *st = c->st;

	hub_detach(loop_hub(c->loop), c);
	queue_clear(c);
	if (c->kind != CLIENT_HTTP) {
		metric_add(st->stats.clients[c->kind], -1);
		stream_give(st);
	}
	if (c->counted)
		limits_addr_give(st->limits, c->addr);
	if (c->conn_counted)
		limits_conn_give(st->limits, c->peer);
	atomic_fetch_sub(&st->nconns, 1);
	loop_forget(c->loop, c);
	client_release(c);
}

/* Closes the socket now; the reaper does the rest. */
void
client_abort(struct client *c)
{
	if (c->state == CS_CLOSED)
		return;
	c->state = CS_CLOSED;
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
	loop_reap(c->loop, c);
}

static int
note(struct client *c, const char *name, const char *json)
{
	return c->kind == CLIENT_WS ? ws_note(c, name, json) :
	    sse_note(c, name, json);
}

/*
 * Politely: a last note (SSE) or close frame (WebSocket) goes out after
 * what is pending, then the connection closes. A client that went away,
 * or that cannot take a byte more, is closed at once.
 */
void
client_close(struct client *c, enum drop_reason why, int code)
{
	char tmp[96];

	if (c->state == CS_CLOSING || c->state == CS_CLOSED)
		return;
	c->drop = why;
	if (c->kind != CLIENT_HTTP)
		metric_inc(c->st->stats.drops[why]);
	if (c->kind == CLIENT_HTTP || why == DROP_CLIENT || why == DROP_STALL) {
		client_abort(c);
		return;
	}
	queue_clear(c);
	if (c->kind == CLIENT_WS)
		ws_close_frame(c, code, client_drop_name(why));
	else {
		snprintf(tmp, sizeof(tmp), "{\"reason\":\"%s\"}",
		    client_drop_name(why));
		note(c, "disconnect", tmp);
	}
	c->state = CS_CLOSING;
	c->closing_ms = util_mono_ms();
	client_flush(c);
}

int
client_send(struct client *c, const void *p, size_t len)
{
	if (c->pend.len + len > STREAM_PEND_MAX)
		return -1;
	return buf_append(&c->pend, p, len);
}

int
client_send_frame(struct client *c, enum ws_op op, const void *p, size_t len)
{
	if (c->pend.len + len + 10 > STREAM_PEND_MAX)
		return -1;
	return ws_frame_append(&c->pend, op, p, len);
}

/* Moves the next bytes due into out: pend, else queued events. */
static void
refill(struct client *c)
{
	struct stats *s = &c->st->stats;
	int64_t now = util_now_ns();
	struct sev *e;
	const char *p;
	char tmp[64];
	size_t len;

	if (c->pend.len > 0) {
		struct buf t = c->out;

		c->out = c->pend;
		c->pend = t;
		buf_reset(&c->pend);
		return;
	}
	if (c->state != CS_STREAM || c->hold != HOLD_NONE)
		return;
	if (c->coalesced > 0) {
		snprintf(tmp, sizeof(tmp), "{\"dropped\":%llu}",
		    (unsigned long long)c->coalesced);
		c->coalesced = 0;
		note(c, "coalesced", tmp);
		buf_append(&c->out, c->pend.data, c->pend.len);
		buf_reset(&c->pend);
	}
	while (c->out.len < STREAM_OUT_CHUNK && (e = queue_pop(c)) != NULL) {
		if (c->skip && sev_id_cmp(e->id, c->skip_upto) <= 0) {
			sev_unref(e);
			continue;
		}
		if ((p = sev_wire(e, c->kind, c->seed, &len)) != NULL &&
		    buf_append(&c->out, p, len) == 0) {
			metric_inc(s->events_out[c->kind == CLIENT_WS]);
			metric_observe(s->latency,
			    (double)(now - (int64_t)e->id.ms * NS_PER_MS) / 1e9);
		}
		sev_unref(e);
	}
}

/* One write; 1 all taken, 0 blocked, -1 the peer is gone. */
static int
write_some(struct client *c, const char *p, size_t len, size_t *taken)
{
	ssize_t n;

	*taken = 0;
	while (*taken < len) {
		n = send(c->fd, p + *taken, len - *taken, MSG_NOSIGNAL);
		if (n >= 0) {
			*taken += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return 0;
		return -1;
	}
	return 1;
}

/* Output waits for the socket: stop reading until it drains. */
static void
blocked(struct client *c)
{
	if (c->blocked_ms == 0)
		c->blocked_ms = util_mono_ms();
	loop_watch(c->loop, c, EPOLLOUT);
}

/* Everything is sent: FIN, then drop what comes until EOF (see above). */
static void
linger(struct client *c)
{
	if (c->lingering)
		return;
	shutdown(c->fd, SHUT_WR);
	c->state = CS_CLOSING;
	c->lingering = true;
	c->closing_ms = util_mono_ms();
	loop_watch(c->loop, c, EPOLLIN | EPOLLRDHUP);
}

static void
drained(struct client *c)
{
	c->blocked_ms = 0;
	c->coalesce_runs = 0;
	c->last_write_ms = util_mono_ms();
	buf_free(&c->out);
	c->outoff = 0;
	loop_watch(c->loop, c, EPOLLIN | EPOLLRDHUP);
	switch (c->state) {
	case CS_CLOSING:
		linger(c);
		break;
	case CS_RESPOND:
		if (c->close_after) {
			linger(c);
			break;
		}
		c->state = CS_REQUEST;
		c->req_since_ms = util_mono_ms();
		handle_requests(c);
		break;
	case CS_STREAM:
		jobs(c);
		break;
	default:
		break;
	}
}

void
client_flush(struct client *c)
{
	size_t taken;
	int rc;

	if (c->state == CS_CLOSED)
		return;
	for (;;) {
		if (c->outoff == c->out.len) {
			buf_reset(&c->out);
			c->outoff = 0;
			refill(c);
			if (c->out.len == 0)
				break;
		}
		rc = write_some(c, c->out.data + c->outoff,
		    c->out.len - c->outoff, &taken);
		c->outoff += taken;
		if (rc == -1) {
			client_close(c, DROP_CLIENT, 0);
			return;
		}
		if (rc == 0) {
			blocked(c);
			return;
		}
	}
	drained(c);
}

const struct grilld_conf *
client_conf(const struct client *c)
{
	return c->loop != NULL ? loop_conf(c->loop) : c->st->cf;
}

static bool
queue_push(struct client *c, struct sev *e)
{
	if (c->qlen == c->qcap) {
		size_t max = (size_t)client_conf(c)->stream.queue_max;
		size_t ncap = c->qcap ? c->qcap * 2 : 8;
		struct sev **nq;

		if (c->qcap >= max)
			return false;
		if (ncap > max)
			ncap = max;
		if ((nq = malloc(ncap * sizeof(*nq))) == NULL)
			return false;
		for (size_t i = 0; i < c->qlen; i++)
			nq[i] = c->q[(c->qhead + i) % c->qcap];
		free(c->q);
		c->q = nq;
		c->qcap = ncap;
		c->qhead = 0;
	}
	c->q[(c->qhead + c->qlen) % c->qcap] = sev_ref(e);
	c->qlen++;
	metric_inc(c->st->stats.queued);
	return true;
}

/*
 * Keeps the latest reading of each probe and every other event, in
 * order. Returns how many readings it dropped.
 */
static size_t
queue_coalesce(struct client *c)
{
	size_t n = c->qlen, kept = 0, dropped = 0;
	struct sev **v;

	if ((v = malloc(n * sizeof(*v))) == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		v[i] = c->q[(c->qhead + i) % c->qcap];
	for (size_t i = n; i-- > 0;) {
		bool newer = false;

		if (v[i]->type != SEV_READING)
			continue;
		for (size_t j = i + 1; j < n && !newer; j++)
			newer = v[j] != NULL && v[j]->type == SEV_READING &&
			    strcmp(v[j]->device, v[i]->device) == 0 &&
			    strcmp(v[j]->probe, v[i]->probe) == 0;
		if (newer) {
			sev_unref(v[i]);
			v[i] = NULL;
			dropped++;
		}
	}
	c->qhead = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] != NULL)
			c->q[kept++] = v[i];
	c->qlen = kept;
	free(v);
	metric_add(c->st->stats.queued, -(double)dropped);
	return dropped;
}

/* The fast path: nothing waits, so the event goes out now. */
static void
send_now(struct client *c, struct sev *e)
{
	struct stats *s = &c->st->stats;
	size_t len, taken;
	const char *p = sev_wire(e, c->kind, c->seed, &len);
	int rc;

	if (p == NULL)
		return;
	rc = write_some(c, p, len, &taken);

	if (rc == -1) {
		client_close(c, DROP_CLIENT, 0);
		return;
	}
	metric_inc(s->events_out[c->kind == CLIENT_WS]);
	metric_observe(s->latency,
	    (double)(util_now_ns() - (int64_t)e->id.ms * NS_PER_MS) / 1e9);
	c->last_write_ms = util_mono_ms();
	if (rc == 0) {
		buf_append(&c->out, p + taken, len - taken);
		c->outoff = 0;
		blocked(c);
	}
}

void
client_offer(struct client *c, struct sev *e)
{
	size_t dropped;

	if (c->state != CS_STREAM ||
	    !filter_match(&c->filter, e->device, e->probe))
		return;
	if (c->hold == HOLD_NONE && c->out.len == 0 && c->pend.len == 0 &&
	    c->qlen == 0) {
		if (!c->skip || sev_id_cmp(e->id, c->skip_upto) > 0)
			send_now(c, e);
		return;
	}
	if (!queue_push(c, e)) {
		if (c->hold == HOLD_REPLAY) {
			/* All it held is in Redis too: read it there. */
			c->replay_overflow = true;
			queue_clear(c);
			queue_push(c, e);
			return;
		}
		if (c->hold != HOLD_NONE || ++c->coalesce_runs > 2 ||
		    (dropped = queue_coalesce(c)) == 0 || !queue_push(c, e)) {
			log_debug("client %llu (%s) too slow, disconnecting",
			    (unsigned long long)c->serial, c->addr);
			client_close(c, DROP_SLOW, WS_CLOSE_TRY_LATER);
			return;
		}
		c->coalesced += dropped;
		metric_add(c->st->stats.coalesced, (double)dropped);
	}
	metric_observe(c->st->stats.queue_depth, (double)c->qlen);
	if (c->out.len == 0)
		client_flush(c);
}

/* Redis work is due when the client has nothing else to send. */
static void
jobs(struct client *c)
{
	if (c->jbusy || !c->linked || c->state != CS_STREAM)
		return;
	if ((c->hold == HOLD_SNAPSHOT ||
	    (c->hold == HOLD_REPLAY && c->out.len == 0)) &&
	    replay_submit(c->st->replay, c, c->hold == HOLD_SNAPSHOT ?
	    JOB_SNAPSHOT : JOB_REPLAY) == -1)
		client_close(c, DROP_ERROR, WS_CLOSE_INTERNAL);
}

static int
in_room(struct client *c)
{
	size_t want = c->kind == CLIENT_SSE ? SSE_IN_SIZE : IN_INITIAL;
	size_t max = c->kind == CLIENT_WS ?
	    (size_t)client_conf(c)->stream.max_message + 16 :
	    STREAM_REQ_MAX;
	char *n;

	if (c->kind == CLIENT_SSE || c->state == CS_CLOSING)
		c->inlen = 0;		/* nothing more is used: discard */
	if (c->in == NULL) {
		if ((c->in = malloc(want)) == NULL)
			return -1;
		c->incap = want;
	}
	if (c->inlen < c->incap)
		return 0;
	if (c->incap >= max)
		return 1;		/* full: the parser decides */
	if ((n = realloc(c->in, c->incap * 2 > max ? max : c->incap * 2))
	    == NULL)
		return -1;
	c->in = n;
	c->incap = c->incap * 2 > max ? max : c->incap * 2;
	return 0;
}

/* Parses and serves the requests waiting in the input. */
static void
handle_requests(struct client *c)
{
	struct http_req req;
	int status, rc;

	if (c->state != CS_REQUEST || c->inlen == 0)
		return;
	rc = http_parse(c->in, c->inlen, &req, &status);
	if (rc == 0)
		return;
	c->state = CS_RESPOND;
	if (rc == -1) {
		metric_inc(c->st->stats.refused[STATS_REFUSED_BAD]);
		http_error(&c->pend, status, "BAD_REQUEST", "malformed or "
		    "oversized HTTP request", "Connection: close\r\n", false);
		c->close_after = true;
		client_flush(c);
		return;
	}
	c->close_after = !req.keepalive;
	server_request(c, &req);
	/* Pipelined bytes stay for the next request, or the WebSocket. */
	memmove(c->in, c->in + req.len, c->inlen - req.len);
	c->inlen -= req.len;
	if (c->kind == CLIENT_SSE) {
		free(c->in);
		c->in = NULL;
		c->inlen = c->incap = 0;
	}
	client_flush(c);
	if (c->kind == CLIENT_WS && c->state == CS_STREAM && c->inlen > 0)
		ws_input(c);
}

static void
on_readable(struct client *c)
{
	size_t room;
	ssize_t n;
	int rc;

	/* Blocked: not a byte more until the output drains. */
	for (int i = 0; i < 4 && c->state != CS_CLOSED && c->blocked_ms == 0;
	    i++) {
		if ((rc = in_room(c)) == -1) {
			client_close(c, DROP_ERROR, WS_CLOSE_INTERNAL);
			return;
		}
		if (rc == 1) {
			/* Full: a request too large was answered already,
			 * or a peer that sends what cannot be used. */
			if (c->state == CS_REQUEST)
				client_abort(c);
			else
				client_close(c, DROP_PROTOCOL, WS_CLOSE_TOO_BIG);
			return;
		}
		room = c->incap - c->inlen;
		n = recv(c->fd, c->in + c->inlen, room, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			if (c->state != CS_CLOSING)
				client_close(c, DROP_CLIENT, 0);
			else
				client_abort(c);
			return;
		}
		if (n < 0)
			return;
		c->inlen += (size_t)n;
		c->last_read_ms = util_mono_ms();
		switch (c->kind) {
		case CLIENT_HTTP:
			handle_requests(c);
			break;
		case CLIENT_SSE:
			break;
		case CLIENT_WS:
			ws_input(c);
			break;
		}
		if ((size_t)n < room)
			return;		/* the socket is empty */
	}
}

void
client_io(struct client *c, uint32_t events)
{
	if (c->state == CS_CLOSED)
		return;
	if (events & EPOLLOUT)
		client_flush(c);
	if (c->state == CS_CLOSED)
		return;
	if (events & (EPOLLHUP | EPOLLERR)) {
		/* Gone: nothing it sent can be answered. */
		if (c->state == CS_CLOSING)
			client_abort(c);
		else
			client_close(c, DROP_CLIENT, 0);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP))
		on_readable(c);
}

/* Heartbeats and time-outs; the loop calls it every TICK_MS. */
void
client_tick(struct client *c, int64_t now)
{
	const struct grilld_conf *cf = client_conf(c);

	switch (c->state) {
	case CS_REQUEST:
		/* The whole request, however it is dribbled (slowloris). */
		if (now - c->req_since_ms < cf->stream.request_timeout)
			break;
		if (c->inlen == 0) {		/* said nothing: just close */
			client_abort(c);
			break;
		}
		c->state = CS_RESPOND;
		c->close_after = true;
		metric_inc(c->st->stats.refused[STATS_REFUSED_BAD]);
		http_error(&c->pend, 408, "REQUEST_TIMEOUT", "the request "
		    "did not arrive within stream.request_timeout",
		    "Connection: close\r\n", false);
		client_flush(c);
		break;
	case CS_STREAM:
		if (c->blocked_ms != 0 &&
		    now - c->blocked_ms >= cf->stream.write_timeout) {
			log_debug("client %llu (%s): not reading, dropped",
			    (unsigned long long)c->serial, c->addr);
			client_close(c, DROP_STALL, 0);
			break;
		}
		if (c->kind == CLIENT_WS &&
		    now - c->last_read_ms >= cf->stream.idle_timeout) {
			client_close(c, DROP_IDLE, WS_CLOSE_IDLE);
			break;
		}
		if (c->blocked_ms == 0 &&
		    now - c->last_write_ms >= cf->stream.heartbeat) {
			if (c->kind == CLIENT_WS)
				client_send_frame(c, WS_PING, NULL, 0);
			else
				client_send(c, ":\n\n", 3);
			c->last_write_ms = now;
			client_flush(c);
		}
		break;
	case CS_RESPOND:
	case CS_CLOSING:
		if ((c->blocked_ms != 0 &&
		    now - c->blocked_ms >= cf->stream.write_timeout) ||
		    (c->state == CS_CLOSING &&
		    now - c->closing_ms >= (c->lingering ? LINGER_MS :
		    CLOSING_MAX_MS)))
			client_abort(c);
		break;
	default:
		break;
	}
}
