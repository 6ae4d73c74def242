/*
 * connhold: many hostile HTTP connections from one process (poll), for
 * the abuse tests: connections that say nothing, or dribble a request a
 * byte at a time (slowloris), held until the server gives up on them.
 *
 *   connhold -a HOST:PORT -n CONNECTIONS [-b SOURCE] [-s TEXT] [-d MS] [-H]
 *	[-t SECONDS]
 *
 *   -b SOURCE	connect from that local address (127.0.0.2, ...)
 *   -s TEXT	what each connection sends ("\r\n" and "\n" escapes are
 *		understood); nothing by default: idle connections
 *   -d MS	send TEXT one byte every MS milliseconds instead of at once
 *   -H		with -d: the headers (up to the empty line) at once, then
 *		the body a byte at a time
 *   -t S	give up after S seconds (default 30); SIGTERM also ends it
 *
 * Once no connection is still being made it prints "ready connected=N"
 * to standard error. It raises its own limit of open files to what it
 * needs. The summary is
 * key=value lines: connected, failed (refused or timed out connecting),
 * closed (by the server), open (still open at the end), sent (bytes),
 * and status_NNN=count for the status lines the server answered with.
 * Exits 0 when at least one connection was made.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"
#include "util.h"

#define CONNECT_MS	5000

enum cstate { C_CONNECTING, C_OPEN, C_DONE };

struct conn {
	int		 fd;
	enum cstate	 state;
	size_t		 sent;		/* bytes of the text sent */
	int64_t		 next_ms;	/* next byte (dribble) */
	char		 head[16];	/* first bytes of the answer */
	size_t		 nhead;
};

static volatile sig_atomic_t stop;
static char text[65536];
static size_t textlen, at_once;	/* bytes sent whole before dribbling */
static uint64_t nconnected, nfailed, nclosed, nsent;
static uint64_t statuses[600];

static void
on_term(int sig)
{
	stop = 1;
}

static void
unescape(const char *s)
{
	for (; *s != '\0' && textlen < sizeof(text); s++) {
		if (s[0] == '\\' && (s[1] == 'r' || s[1] == 'n')) {
			text[textlen++] = s[1] == 'r' ? '\r' : '\n';
			s++;
		} else
			text[textlen++] = *s;
	}
}

static void
raise_nofile(long n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < (rlim_t)n + 64) {
		rl.rlim_cur = (rlim_t)n + 64;
		if (rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
finish(struct conn *c, bool by_peer)
{
	if (by_peer)
		nclosed++;
	if (c->nhead >= 12 && memcmp(c->head, "HTTP/1.", 7) == 0) {
		int st = atoi(c->head + 9);

		if (st >= 100 && st < 600)
			statuses[st]++;
	}
	close(c->fd);
	c->state = C_DONE;
}

/* Sends what is due: all of the text, or its next byte. */
static void
send_due(struct conn *c, int64_t dribble_ms, int64_t now)
{
	size_t n;
	ssize_t w;

	if (c->sent == textlen || (dribble_ms > 0 && c->sent >= at_once &&
	    now < c->next_ms))
		return;
	n = dribble_ms == 0 ? textlen - c->sent :
	    c->sent < at_once ? at_once - c->sent : 1;
	if ((w = send(c->fd, text + c->sent, n, MSG_NOSIGNAL)) > 0) {
		c->sent += (size_t)w;
		nsent += (uint64_t)w;
		c->next_ms = now + dribble_ms;
	}
}

static void
readable(struct conn *c)
{
	char buf[4096];
	ssize_t r;

	while ((r = recv(c->fd, buf, sizeof(buf), 0)) > 0) {
		size_t take = (size_t)r;

		if (take > sizeof(c->head) - c->nhead)
			take = sizeof(c->head) - c->nhead;
		memcpy(c->head + c->nhead, buf, take);
		c->nhead += take;
	}
	if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR))
		finish(c, true);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sa, src;
	bool bind_src = false;
	struct conn *cs;
	struct pollfd *pfd;
	long *idx;		/* pfd[k] watches cs[idx[k]] */
	char host[64] = "", *colon;
	long n = 0, secs = 30, dribble = 0;
	int64_t end, started;
	int ch, open_now;
	bool ready = false, headers_whole = false;
	const char *eoh;

	while ((ch = getopt(argc, argv, "a:b:n:s:d:Ht:")) != -1) {
		switch (ch) {
		case 'b':
			memset(&src, 0, sizeof(src));
			src.sin_family = AF_INET;
			if (inet_pton(AF_INET, optarg, &src.sin_addr) != 1)
				goto usage;
			bind_src = true;
			break;
		case 'a':
			snprintf(host, sizeof(host), "%s", optarg);
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 's':
			unescape(optarg);
			break;
		case 'd':
			dribble = atol(optarg);
			break;
		case 'H':
			headers_whole = true;
			break;
		case 't':
			secs = atol(optarg);
			break;
		default:
			goto usage;
		}
	}
	if ((colon = strrchr(host, ':')) == NULL || n <= 0)
		goto usage;
	if (headers_whole && (eoh = memmem(text, textlen, "\r\n\r\n", 4)) != NULL)
		at_once = (size_t)(eoh + 4 - text);
	if (tool_addr(host, &sa) == -1)
		goto usage;
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	raise_nofile(n);
	if ((cs = calloc((size_t)n, sizeof(*cs))) == NULL ||
	    (pfd = calloc((size_t)n, sizeof(*pfd))) == NULL ||
	    (idx = calloc((size_t)n, sizeof(*idx))) == NULL)
		return 1;
	started = util_mono_ms();
	end = started + secs * 1000;
	for (long i = 0; i < n; i++) {
		struct conn *c = &cs[i];

		c->state = C_DONE;
		if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK,
		    0)) == -1) {
			nfailed++;
			continue;
		}
		if ((bind_src && bind(c->fd, (struct sockaddr *)&src,
		    sizeof(src)) == -1) || (connect(c->fd,
		    (struct sockaddr *)&sa, sizeof(sa)) == -1 &&
		    errno != EINPROGRESS)) {
			close(c->fd);
			nfailed++;
			continue;
		}
		c->state = C_CONNECTING;
	}
	while (!stop && util_mono_ms() < end) {
		int64_t now = util_mono_ms();
		int nfds = 0, connecting = 0;

		for (long i = 0; i < n; i++) {
			struct conn *c = &cs[i];

			if (c->state == C_DONE)
				continue;
			if (c->state == C_CONNECTING &&
			    now - started > CONNECT_MS) {
				close(c->fd);
				c->state = C_DONE;
				nfailed++;
				continue;
			}
			if (c->state == C_OPEN)
				send_due(c, dribble, now);
			else
				connecting++;
			pfd[nfds].fd = c->fd;
			pfd[nfds].events = c->state == C_CONNECTING ? POLLOUT :
			    POLLIN;
			idx[nfds++] = i;
		}
		if (nfds == 0)
			break;
		if (!ready && connecting == 0) {
			fprintf(stderr, "ready connected=%llu\n",
			    (unsigned long long)nconnected);
			ready = true;
		}
		if (poll(pfd, (nfds_t)nfds, dribble > 0 ? (int)dribble : 100) <= 0)
			continue;
		for (int k = 0; k < nfds; k++) {
			struct conn *c = &cs[idx[k]];

			if (pfd[k].revents == 0)
				continue;
			if (c->state == C_CONNECTING) {
				int err = 0;
				socklen_t len = sizeof(err);

				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err,
				    &len);
				if (err != 0) {
					close(c->fd);
					c->state = C_DONE;
					nfailed++;
					continue;
				}
				c->state = C_OPEN;
				nconnected++;
				send_due(c, dribble, util_mono_ms());
				continue;
			}
			readable(c);
		}
	}
	open_now = 0;
	for (long i = 0; i < n; i++)
		if (cs[i].state == C_OPEN) {
			open_now++;
			finish(&cs[i], false);
		} else if (cs[i].state == C_CONNECTING)
			close(cs[i].fd);
	printf("connected=%llu\nfailed=%llu\nclosed=%llu\nopen=%d\nsent=%llu\n",
	    (unsigned long long)nconnected, (unsigned long long)nfailed,
	    (unsigned long long)nclosed, open_now, (unsigned long long)nsent);
	for (int st = 100; st < 600; st++)
		if (statuses[st] > 0)
			printf("status_%d=%llu\n", st,
			    (unsigned long long)statuses[st]);
	free(cs);
	free(pfd);
	free(idx);
	return nconnected > 0 ? 0 : 1;
usage:
	fprintf(stderr, "usage: connhold -a HOST:PORT -n CONNECTIONS [-b SRC] "
	    "[-s TEXT] "
	    "[-d MS] [-H] [-t SECONDS]\n");
	return 2;
}
