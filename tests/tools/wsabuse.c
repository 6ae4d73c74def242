/*
 * wsabuse: one connection that writes as fast as it can and never reads,
 * for the hostile tests and the before/after figures of docs/security.md.
 *
 *   wsabuse -a HOST:PORT -m ping|pipeline [-p PATH] [-t SECONDS]
 *
 *   ping	a WebSocket handshake on PATH (default
 *		/api/temperature/ws?snapshot=0), then masked 125-byte ping
 *		frames, without ever reading a pong
 *   pipeline	pipelined "GET PATH HTTP/1.1" requests (default
 *		/health/live), without ever reading an answer
 *
 * It stops after SECONDS (default 10), when the server closes, or on
 * SIGTERM, and prints "sent=BYTES closed=0|1".
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"
#include "util.h"

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char *argv[])
{
	const char *addr = NULL, *mode = "ping", *path = NULL;
	char unit[512], head[1024];
	size_t unitlen = 0, off = 0;
	uint64_t sent = 0;
	int64_t end;
	int opt, secs = 10, fd, closed = 0;

	while ((opt = getopt(argc, argv, "a:m:p:t:")) != -1) {
		switch (opt) {
		case 'a': addr = optarg; break;
		case 'm': mode = optarg; break;
		case 'p': path = optarg; break;
		case 't': secs = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (addr == NULL)
		goto usage;
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	if ((fd = tool_dial(addr)) == -1) {
		fprintf(stderr, "wsabuse: cannot connect to %s\n", addr);
		return 1;
	}
	if (strcmp(mode, "ping") == 0) {
		ssize_t n;

		snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\nHost: x\r\n"
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\n\r\n", path ? path :
		    "/api/temperature/ws?snapshot=0");
		if (write(fd, head, strlen(head)) != (ssize_t)strlen(head) ||
		    (n = read(fd, head, sizeof(head) - 1)) <= 0) {
			fprintf(stderr, "wsabuse: no handshake\n");
			return 1;
		}
		head[n] = '\0';
		if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
			fprintf(stderr, "wsabuse: refused: %.40s\n", head);
			return 1;
		}
		/* A masked ping with 125 bytes of payload (mask 0: as sent). */
		unit[0] = (char)0x89;
		unit[1] = (char)(0x80 | 125);
		memset(unit + 2, 0, 4);
		memset(unit + 6, 'p', 125);
		unitlen = 6 + 125;
	} else if (strcmp(mode, "pipeline") == 0) {
		unitlen = (size_t)snprintf(unit, sizeof(unit), "GET %s HTTP/1.1"
		    "\r\nHost: x\r\n\r\n", path ? path : "/health/live");
	} else
		goto usage;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	end = util_mono_ms() + (int64_t)secs * 1000;
	while (!stop && util_mono_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (p.revents & (POLLERR | POLLHUP)) {
			closed = 1;
			break;
		}
		n = send(fd, unit + off, unitlen - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			closed = 1;
			break;
		}
		sent += (uint64_t)n;
		off = (off + (size_t)n) % unitlen;
	}
	printf("sent=%llu closed=%d\n", (unsigned long long)sent, closed);
	close(fd);
	return 0;
usage:
	fprintf(stderr, "usage: wsabuse -a HOST:PORT -m ping|pipeline "
	    "[-p PATH] [-t SECONDS]\n");
	return 2;
}
