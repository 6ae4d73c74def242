/*
 * streamload: many SSE or WebSocket clients in one process (epoll), for
 * grilld-stream's benchmark and its slow-client tests.
 *
 *   streamload -a HOST:PORT -n CLIENTS -p PATH [-w] [-d DEVICES]
 *	[-t SECONDS] [-r CONNECTS_PER_S] [-s] [-b RCVBUF] [-q]
 *
 *   PATH	the request path; "%d" in it becomes the client's device
 *		number (client i follows device i % DEVICES)
 *   -w		WebSocket instead of SSE
 *   -t		how long to stay connected once all are (default 10)
 *   -s		slow: never read (the test of a client that falls behind)
 *   -b		SO_RCVBUF of each socket, set before connecting
 *   -q		quiet: only the summary
 *
 * Every event's JSON is expected to hold "pub_ns" (evpub puts it there):
 * the client measures publish-to-receive latency from it. The summary is
 * key=value lines: connected, failed, closed, events, events_per_s,
 * p50_ms, p90_ms, p99_ms, p999_ms, max_ms, and the close codes seen.
 * Exits 0 when every client connected.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUCKETS		200000		/* of 50 us: up to 10 s */
#define BUCKET_US	50
#define INBUF		65536

struct conn {
	int	 fd;
	int	 idx;
	bool	 connected, upgraded;
	size_t	 len;
	char	*buf;
};

static uint32_t	hist[BUCKETS + 1];
static uint64_t	nevents, nconnected, nfailed, nclosed;
static uint64_t	closecodes[5000];
static bool	ws, slow, quiet;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
record(const char *json, size_t len, int64_t now)
{
	const char *p = memmem(json, len, "\"pub_ns\":", 9);
	double pub;
	int64_t us;

	nevents++;
	if (p == NULL)
		return;
	pub = strtod(p + 9, NULL);
	us = (now - (int64_t)pub) / 1000;
	if (us < 0)
		us = 0;
	hist[us / BUCKET_US < BUCKETS ? us / BUCKET_US : BUCKETS]++;
}

static double
pct(double q)
{
	uint64_t total = 0, seen = 0;

	for (int i = 0; i <= BUCKETS; i++)
		total += hist[i];
	if (total == 0)
		return 0;
	for (int i = 0; i <= BUCKETS; i++) {
		seen += hist[i];
		if ((double)seen >= q * (double)total)
			return (double)(i + 1) * BUCKET_US / 1000.0;
	}
	return 0;
}

/* SSE: every "data: " line is an event. */
static size_t
parse_sse(struct conn *c, int64_t now)
{
	size_t off = 0;

	for (;;) {
		char *nl = memchr(c->buf + off, '\n', c->len - off);

		if (nl == NULL)
			return off;
		if (c->len - off > 6 && memcmp(c->buf + off, "data: ", 6) == 0)
			record(c->buf + off + 6, (size_t)(nl - c->buf) - off - 6,
			    now);
		off = (size_t)(nl - c->buf) + 1;
	}
}

static void
ws_send(struct conn *c, int op, const void *p, size_t len)
{
	uint8_t f[2 + 4 + 125];

	if (len > 125)
		return;
	f[0] = (uint8_t)(0x80 | op);
	f[1] = (uint8_t)(0x80 | len);
	memset(f + 2, 0, 4);		/* a zero mask is a valid mask */
	memcpy(f + 6, p, len);
	if (write(c->fd, f, 6 + len) < 0)
		return;
}

/* WebSocket: unmasked server frames. */
static size_t
parse_ws(struct conn *c, int64_t now)
{
	size_t off = 0;
	const uint8_t *b = (const uint8_t *)c->buf;

	while (c->len - off >= 2) {
		uint64_t plen = b[off + 1] & 0x7f;
		size_t hl = 2;
		int op = b[off] & 0x0f;

		if (plen == 126) {
			if (c->len - off < 4)
				break;
			plen = (uint64_t)b[off + 2] << 8 | b[off + 3];
			hl = 4;
		} else if (plen == 127) {
			if (c->len - off < 10)
				break;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = plen << 8 | b[off + 2 + i];
			hl = 10;
		}
		if (c->len - off < hl + plen)
			break;
		if (op == 1)
			record(c->buf + off + hl, plen, now);
		else if (op == 9)
			ws_send(c, 10, c->buf + off + hl, plen);
		else if (op == 8 && plen >= 2) {
			int code = b[off + hl] << 8 | b[off + hl + 1];

			if (code >= 0 && code < 5000)
				closecodes[code]++;
		}
		off += hl + plen;
	}
	return off;
}

static int
open_conn(struct conn *c, struct sockaddr_in *sin, int ep, int rcvbuf)
{
	struct epoll_event ev;
	int one = 1;

	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (rcvbuf > 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)sin, sizeof(*sin)) == -1 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	ev.events = EPOLLOUT | EPOLLIN;
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	return 0;
}

static void
send_request(struct conn *c, const char *host, const char *pathfmt,
    int ndev, int ep)
{
	char path[512], req[1024];
	struct epoll_event ev;
	int n;

	const char *pct = strstr(pathfmt, "%d");

	if (pct != NULL)
		snprintf(path, sizeof(path), "%.*s%d%s", (int)(pct - pathfmt),
		    pathfmt, c->idx % ndev, pct + 2);
	else
		snprintf(path, sizeof(path), "%s", pathfmt);
	if (ws)
		n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\n\r\n", path, host);
	else
		n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
		    "Accept: text/event-stream\r\n\r\n", path, host);
	if (write(c->fd, req, (size_t)n) != n) {
		nfailed++;
		return;
	}
	ev.events = slow ? 0 : EPOLLIN;
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->connected = true;
	nconnected++;
}

static void
on_readable(struct conn *c, int64_t now)
{
	ssize_t r;
	size_t used;

	for (;;) {
		if (c->len == INBUF)
			c->len = 0;	/* an event this large: drop it */
		r = read(c->fd, c->buf + c->len, INBUF - c->len);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			nclosed++;
			close(c->fd);
			c->fd = -1;
			return;
		}
		if (r < 0)
			return;
		c->len += (size_t)r;
		if (!c->upgraded) {
			char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);

			if (end == NULL)
				continue;
			if (c->len < 12 || (memcmp(c->buf + 9, "200", 3) &&
			    memcmp(c->buf + 9, "101", 3))) {
				if (!quiet)
					fprintf(stderr, "streamload: %.40s\n",
					    c->buf);
				nfailed++;
				close(c->fd);
				c->fd = -1;
				return;
			}
			c->upgraded = true;
			used = (size_t)(end + 4 - c->buf);
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
		}
		used = ws ? parse_ws(c, now) : parse_sse(c, now);
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
}

int
main(int argc, char *argv[])
{
	const char *addr = NULL, *path = "/api/temperature/stream";
	int n = 1, ndev = 1, rcvbuf = 0, rate = 2000, ch, ep, port;
	double secs = 10;
	struct sockaddr_in sin;
	struct epoll_event evs[512];
	struct conn *conns;
	struct rlimit rl;
	char host[64];
	int64_t t0, tall = 0, events0 = 0;
	int opened = 0;

	while ((ch = getopt(argc, argv, "a:n:p:wd:t:r:sb:q")) != -1) {
		switch (ch) {
		case 'a': addr = optarg; break;
		case 'n': n = atoi(optarg); break;
		case 'p': path = optarg; break;
		case 'w': ws = true; break;
		case 'd': ndev = atoi(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'r': rate = atoi(optarg); break;
		case 's': slow = true; break;
		case 'b': rcvbuf = atoi(optarg); break;
		case 'q': quiet = true; break;
		default:
			fprintf(stderr, "usage: streamload -a HOST:PORT -n N "
			    "-p PATH [-w] [-d DEV] [-t S] [-r R] [-s] [-b B]\n");
			return 2;
		}
	}
	if (addr == NULL || n < 1 || ndev < 1 || rate < 1 ||
	    sscanf(addr, "%63[^:]:%d", host, &port) != 2)
		return 2;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &sin.sin_addr);
	if ((conns = calloc((size_t)n, sizeof(*conns))) == NULL ||
	    (ep = epoll_create1(0)) == -1)
		return 1;
	t0 = now_ns();
	for (;;) {
		int64_t now = now_ns();
		int k, due;

		/* Open connections at the given rate. */
		due = (int)((double)(now - t0) / 1e9 * rate) + 1;
		while (opened < n && opened < due) {
			conns[opened].idx = opened;
			conns[opened].buf = malloc(INBUF);
			if (open_conn(&conns[opened], &sin, ep, rcvbuf) == -1)
				nfailed++;
			opened++;
		}
		if (tall == 0 && nconnected + nfailed >= (uint64_t)n) {
			tall = now;
			events0 = (int64_t)nevents;
			memset(hist, 0, sizeof(hist));
			if (!quiet)
				fprintf(stderr, "streamload: %llu connected\n",
				    (unsigned long long)nconnected);
		}
		if (tall != 0 && now - tall >= (int64_t)(secs * 1e9))
			break;
		if (tall == 0 && now - t0 > (int64_t)(60 * 1e9))
			break;
		k = epoll_wait(ep, evs, 512, 50);
		now = now_ns();
		for (int i = 0; i < k; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c->fd == -1)
				continue;
			if (!c->connected) {
				int err = 0;
				socklen_t el = sizeof(err);

				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err,
				    &el);
				if (err != 0) {
					nfailed++;
					close(c->fd);
					c->fd = -1;
					continue;
				}
				send_request(c, addr, path, ndev, ep);
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(c, now);
		}
	}
	printf("connected=%llu\nfailed=%llu\nclosed=%llu\nevents=%llu\n",
	    (unsigned long long)nconnected, (unsigned long long)nfailed,
	    (unsigned long long)nclosed,
	    (unsigned long long)(nevents - (uint64_t)events0));
	printf("events_per_s=%.0f\n", tall ? (double)(nevents -
	    (uint64_t)events0) / secs : 0.0);
	printf("p50_ms=%.2f\np90_ms=%.2f\np99_ms=%.2f\np999_ms=%.2f\n"
	    "max_ms=%.2f\n", pct(0.5), pct(0.9), pct(0.99), pct(0.999),
	    pct(1.0));
	for (int i = 0; i < 5000; i++)
		if (closecodes[i])
			printf("close_%d=%llu\n", i,
			    (unsigned long long)closecodes[i]);
	return nconnected == (uint64_t)n && nfailed == 0 ? 0 : 1;
}
