/*
 * loop: an event loop that owns connections (epoll, one thread each).
 *
 * stream.threads loops run side by side, each with its own clients, its
 * own hub and its own subscription to the ingester's events. They share the
 * listening socket (EPOLLEXCLUSIVE: one loop wakes per connection) and
 * deal new connections round-robin, handing a connection that is
 * another's through that loop's inbox. A client never leaves its loop.
 *
 * Each turn it waits for sockets (level-triggered: readable always,
 * writable only while a client's output is blocked), accepts, reads and
 * writes, drains its inbox, reaps closed clients, and every TICK_MS ticks
 * every client for heartbeats and time-outs.
 *
 * Live events come straight from the loop's own nng SUB socket (sub.c),
 * whose NNG_OPT_RECVFD it polls. The inbox is how other threads reach
 * the loop: a finished Redis job (replay.c), or a connection another
 * loop accepted for it, is appended under a mutex and an eventfd wakes
 * the loop.
 *
 * Closed clients are reaped at the end of a turn, not where they close:
 * a client may close in the middle of a fan-out over the list that
 * holds it.
 *
 * Accepting stops for ACCEPT_PAUSE_MS when the process runs out of
 * descriptors (the listener is not watched meanwhile). A new connection
 * is closed at once, in the whole process (not per loop), when it would
 * pass stream.max_conns plain connections (those not yet streams),
 * stream.per_address_conns from its address, or conns_max connections
 * in all: the descriptor limit less FD_RESERVE for Redis, nng, files
 * and the accept itself (stream.c).
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "stream.h"

#define TICK_MS		500
#define ACCEPT_PAUSE_MS	100
#define STOP_GRACE_MS	3000
#define NEVENTS		256

struct newconn {
	int		 fd;
	char		 addr[64];
};

struct inbox_item {
	struct inbox_item *next;
	enum inbox_kind	 kind;
	void		*p;
};

/* Tags epoll data so that the listener and the eventfds are told apart. */
static char	tag_listen, tag_wake, tag_sub;

struct loop {
	struct stream	*st;
	struct hub	*hub;
	struct sub	*sub;
	int		 ep, lfd, wfd;
	pthread_t	 th;
	bool		 running;
	_Atomic bool	 stop;
	pthread_mutex_t	 mtx;		/* the inbox */
	struct inbox_item *head, *tail;
	struct client	*clients;
	struct client	*reap;
	size_t		 nconns;
	int64_t		 accept_paused_until;
	struct log_limit ll;
	const struct grilld_conf *cf;	/* see struct stream */
	bool		 cf_held;	/* of st->conf: dropped at the end */
	unsigned	 conf_gen;
};

int
loop_listen(const char *hostport, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[256];
	int port, fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (util_split_hostport(hostport, host, sizeof(host), &port) == -1) {
		snprintf(err, errlen, "stream.listen: not host:port: %s",
		    hostport);
		return -1;
	}
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr)
	    == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in6);
	} else if (strcmp(host, "localhost") == 0 || host[0] == '\0') {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(
		    host[0] ? INADDR_LOOPBACK : INADDR_ANY);
		sl = sizeof(struct sockaddr_in);
	} else {
		snprintf(err, errlen, "stream.listen: %s is not an IP address",
		    host);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 ||
	    listen(fd, 4096) == -1) {
		snprintf(err, errlen, "listen on %s: %s", hostport,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct loop *
loop_new(struct stream *st, int lfd, char *err, size_t errlen)
{
	struct epoll_event ev;
	struct loop *l;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->st = st;
	l->ep = l->wfd = -1;
	l->cf = st->conf != NULL ? conf_hold(st->conf) : NULL;
	if ((l->cf_held = l->cf != NULL))
		l->conf_gen = atomic_load(&st->conf_gen);
	else
		l->cf = st->cf;		/* tests: a stream of their own */
	pthread_mutex_init(&l->mtx, NULL);
	if ((l->hub = hub_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		l->lfd = -1;
		goto fail;
	}
	l->lfd = lfd;
	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (l->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.ptr = &tag_listen;
	epoll_ctl(l->ep, EPOLL_CTL_ADD, l->lfd, &ev);
	ev.events = EPOLLIN;
	ev.data.ptr = &tag_wake;
	epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wfd, &ev);
	if ((l->sub = sub_start(st, l->hub, st->nloops == 0, err,
	    errlen)) == NULL)
		goto fail;
	ev.data.ptr = &tag_sub;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, sub_fd(l->sub), &ev) == -1) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	return l;
fail:
	loop_free(l);
	return NULL;
}

void
loop_free(struct loop *l)
{
	struct inbox_item *it;

	if (l == NULL)
		return;
	while ((it = l->head) != NULL) {
		l->head = it->next;
		if (it->kind == INBOX_JOB)
			replay_done(it->p);
		else {
			close(((struct newconn *)it->p)->fd);
			free(it->p);
		}
		free(it);
	}
	if (l->ep != -1)
		close(l->ep);
	if (l->wfd != -1)
		close(l->wfd);
	sub_stop(l->sub);
	hub_free(l->hub);
	pthread_mutex_destroy(&l->mtx);
	if (l->cf_held)
		conf_drop(l->cf);
	free(l);
}

int
loop_post(struct loop *l, enum inbox_kind kind, void *p)
{
	struct inbox_item *it;
	uint64_t one = 1;
	bool first;

	if ((it = malloc(sizeof(*it))) == NULL)
		return -1;
	it->next = NULL;
	it->kind = kind;
	it->p = p;
	pthread_mutex_lock(&l->mtx);
	first = l->head == NULL;
	if (l->tail != NULL)
		l->tail->next = it;
	else
		l->head = it;
	l->tail = it;
	pthread_mutex_unlock(&l->mtx);
	if (first && write(l->wfd, &one, sizeof(one)) == -1 &&
	    errno != EAGAIN)
		log_warn("eventfd");
	return 0;
}

void
loop_watch(struct loop *l, struct client *c, uint32_t events)
{
	struct epoll_event ev;

	if (c->fd == -1 || c->events == events)
		return;
	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = events;
}

void
loop_reap(struct loop *l, struct client *c)
{
	if (c->reaped)
		return;
	c->reaped = true;
	c->reap_next = l->reap;
	l->reap = c;
}

void
loop_forget(struct loop *l, struct client *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	l->nconns--;
}

struct hub *
loop_hub(struct loop *l)
{
	return l->hub;
}

const struct grilld_conf *
loop_conf(const struct loop *l)
{
	return l->cf;
}

bool
loop_subscribed(struct loop *l)
{
	return sub_connected(l->sub);
}

struct stream *
loop_stream(struct loop *l)
{
	return l->st;
}

static void
peer_name(const struct sockaddr_storage *ss, char *out, size_t len)
{
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
		    out, (socklen_t)len);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)ss)->sin6_addr, out,
		    (socklen_t)len);
	else
		util_strlcpy(out, "unknown", len);
}

/* Takes a new connection on this loop. */
static void
adopt(struct loop *l, int fd, const char *addr)
{
	struct stream *st = l->st;
	struct epoll_event ev;
	struct client *c;
	int one = 1, sndbuf = (int)l->cf->stream.sndbuf;
	size_t n = atomic_fetch_add(&st->nconns, 1);
	size_t streams = atomic_load(&st->nstreams);

	if (n >= st->conns_max || (n > streams ? n - streams : 0) >=
	    (size_t)l->cf->stream.max_conns) {
		atomic_fetch_sub(&st->nconns, 1);
		metric_inc(st->stats.refused[STATS_REFUSED_FULL]);
		close(fd);
		return;
	}
	/* A trusted proxy carries many clients: it is not one of them. */
	if (!limits_trusted(st->limits, addr) &&
	    !limits_conn_take(st->limits, addr)) {
		atomic_fetch_sub(&st->nconns, 1);
		metric_inc(st->stats.refused[STATS_REFUSED_ADDR]);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Bounds what the kernel holds for a client that stops reading. */
	if (l->cf->stream.sndbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if ((c = client_new(l, fd, addr)) == NULL) {
		if (!limits_trusted(st->limits, addr))
			limits_conn_give(st->limits, addr);
		atomic_fetch_sub(&st->nconns, 1);
		close(fd);
		return;
	}
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = c;
	c->conn_counted = !limits_trusted(st->limits, addr);
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		if (c->conn_counted)
			limits_conn_give(st->limits, addr);
		atomic_fetch_sub(&st->nconns, 1);
		client_release(c);
		return;
	}
	c->events = ev.events;
	c->next = l->clients;
	if (l->clients != NULL)
		l->clients->prev = c;
	l->clients = c;
	l->nconns++;
}

static void
do_accept(struct loop *l)
{
	struct stream *st = l->st;
	struct sockaddr_storage ss;
	struct newconn *nc;
	struct loop *to;
	char addr[64];
	socklen_t sl;
	int fd;

	for (int i = 0; i < 64; i++) {
		sl = sizeof(ss);
		fd = accept4(l->lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			log_limited(&l->ll, 10000, LOG_LVL_WARN, "accept: %s",
			    strerror(errno));
			/* Out of descriptors: stop listening a moment. */
			l->accept_paused_until = util_mono_ms() +
			    ACCEPT_PAUSE_MS;
			epoll_ctl(l->ep, EPOLL_CTL_DEL, l->lfd, NULL);
			return;
		}
		peer_name(&ss, addr, sizeof(addr));
		to = st->loops[atomic_fetch_add(&st->next_loop, 1) %
		    (unsigned)st->nloops];
		if (to == l) {
			adopt(l, fd, addr);
			continue;
		}
		if ((nc = malloc(sizeof(*nc))) == NULL) {
			close(fd);
			continue;
		}
		nc->fd = fd;
		util_strlcpy(nc->addr, addr, sizeof(nc->addr));
		if (loop_post(to, INBOX_CONN, nc) == -1) {
			close(fd);
			free(nc);
		}
	}
}

static void
drain_inbox(struct loop *l)
{
	struct inbox_item *it, *next;
	uint64_t n;

	if (read(l->wfd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("eventfd");
	pthread_mutex_lock(&l->mtx);
	it = l->head;
	l->head = l->tail = NULL;
	pthread_mutex_unlock(&l->mtx);
	for (; it != NULL; it = next) {
		next = it->next;
		if (it->kind == INBOX_JOB)
			replay_done(it->p);
		else {
			struct newconn *nc = it->p;

			adopt(l, nc->fd, nc->addr);
			free(nc);
		}
		free(it);
	}
}

static void
reap(struct loop *l)
{
	struct client *c;

	while ((c = l->reap) != NULL) {
		l->reap = c->reap_next;
		client_finish(c);
	}
}

static void
tick(struct loop *l, int64_t now)
{
	struct client *c, *next;

	for (c = l->clients; c != NULL; c = next) {
		next = c->next;
		client_tick(c, now);
	}
	if (l->accept_paused_until != 0 && now >= l->accept_paused_until) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
			.data.ptr = &tag_listen };

		l->accept_paused_until = 0;
		epoll_ctl(l->ep, EPOLL_CTL_ADD, l->lfd, &ev);
	}
}

static void *
run(void *arg)
{
	struct loop *l = arg;
	struct epoll_event evs[NEVENTS];
	int64_t next_tick = util_mono_ms() + TICK_MS, stop_at = 0, now;
	struct client *c, *next;

	for (;;) {
		int n = epoll_wait(l->ep, evs, NEVENTS, TICK_MS / 2);
		unsigned gen = atomic_load(&l->st->conf_gen);

		/* Between two passes nothing holds the old snapshot. */
		if (gen != l->conf_gen && l->cf_held) {
			const struct grilld_conf *cf = conf_hold(l->st->conf);

			if (cf != NULL) {
				conf_drop(l->cf);
				l->cf = cf;
			}
			l->conf_gen = gen;
		}

		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &tag_listen) {
				if (stop_at == 0)
					do_accept(l);
			} else if (evs[i].data.ptr == &tag_wake)
				drain_inbox(l);
			else if (evs[i].data.ptr == &tag_sub)
				sub_drain(l->sub);
			else
				client_io(evs[i].data.ptr, evs[i].events);
		}
		reap(l);
		now = util_mono_ms();
		if (now >= next_tick) {
			tick(l, now);
			reap(l);
			next_tick = now + TICK_MS;
		}
		if (atomic_load(&l->stop) && stop_at == 0) {
			/* Close politely: clients get a reason, then go. */
			stop_at = now + STOP_GRACE_MS;
			epoll_ctl(l->ep, EPOLL_CTL_DEL, l->lfd, NULL);
			for (c = l->clients; c != NULL; c = next) {
				next = c->next;
				client_close(c, DROP_SHUTDOWN,
				    WS_CLOSE_GOING_AWAY);
			}
			reap(l);
		}
		if (stop_at != 0 && (l->clients == NULL || now >= stop_at)) {
			for (c = l->clients; c != NULL; c = next) {
				next = c->next;
				client_abort(c);
			}
			reap(l);
			break;
		}
	}
	return NULL;
}

int
loop_start(struct loop *l)
{
	if (pthread_create(&l->th, NULL, run, l) != 0)
		return -1;
	l->running = true;
	return 0;
}

void
loop_stop(struct loop *l)
{
	uint64_t one = 1;

	if (l == NULL || !l->running)
		return;
	atomic_store(&l->stop, true);
	if (write(l->wfd, &one, sizeof(one)) == -1)
		log_warn("eventfd");
	pthread_join(l->th, NULL);
	l->running = false;
}

/* Streams in all the loops, against stream.max_clients. */
bool
stream_take(struct stream *st, size_t max)
{
	if (atomic_fetch_add(&st->nstreams, 1) >= max) {
		atomic_fetch_sub(&st->nstreams, 1);
		return false;
	}
	return true;
}

void
stream_give(struct stream *st)
{
	atomic_fetch_sub(&st->nstreams, 1);
}

size_t
stream_count(struct stream *st)
{
	return atomic_load(&st->nstreams);
}
