/*
 * freeport: prints N free TCP ports on 127.0.0.1 (default 1), for the
 * integration tests to give to the servers they start.
 *
 * The ports are picked at random below the kernel's ephemeral range
 * (net.ipv4.ip_local_port_range), and each is bound once to see that it
 * is free. A port the kernel hands out itself (bind to port 0) lies in
 * that range, where every outgoing connection of the test (curl, Redis
 * clients, nng dials) also takes its local port: between freeport and
 * the server's start, one of them could take it. Below the range only a
 * server can.
 *
 * Scenarios that run side by side (tests/run's lanes) could still pick
 * the same port between one's freeport and its server's start, or while
 * a fault has a server down and its port unbound. With FREEPORT_DIR set
 * to a folder, a port is only handed out once per folder: a file named
 * after it, created exclusively, reserves it for the rest of the run.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PORT_MIN	10000	/* above the well-known and registered few */
#define TRIES		1000

/* The first port of the ephemeral range; 32768 when it cannot be read. */
static int
ephemeral_low(void)
{
	FILE *fp = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int lo = 32768, hi;

	if (fp != NULL) {
		if (fscanf(fp, "%d %d", &lo, &hi) != 2)
			lo = 32768;
		fclose(fp);
	}
	return lo;
}

/* A socket bound to 127.0.0.1:port, or -1 when the port is taken. */
static int
try_port(int port)
{
	struct sockaddr_in sin = { 0 };
	int fd;

	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * 1 when port is ours for the run (or nothing reserves ports), 0 when
 * another scenario took it first, -1 on an error of the folder.
 */
static int
reserve(const char *dir, int port)
{
	char path[4096];
	int fd;

	if (dir == NULL || *dir == '\0')
		return 1;
	if (snprintf(path, sizeof(path), "%s/%d", dir, port) >=
	    (int)sizeof(path))
		return -1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		return errno == EEXIST ? 0 : -1;
	close(fd);
	return 1;
}

int
main(int argc, char *argv[])
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	int fds[64], lo = ephemeral_low(), span, got = 0, r;
	const char *dir = getenv("FREEPORT_DIR");
	struct timespec ts;

	if (n < 1 || n > 64)
		return 2;
	span = lo - PORT_MIN;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	srandom((unsigned)(ts.tv_nsec ^ ts.tv_sec ^ (getpid() << 16)));
	/* Held bound until all are chosen: no port is printed twice. */
	for (int t = 0; t < TRIES && got < n; t++) {
		int port = span > 1000 ? PORT_MIN + (int)(random() % span) : 0;
		struct sockaddr_in sin = { 0 };
		socklen_t len = sizeof(sin);

		if ((fds[got] = try_port(port)) == -1)
			continue;
		if (getsockname(fds[got], (struct sockaddr *)&sin, &len) == -1) {
			perror("freeport");
			return 1;
		}
		if ((r = reserve(dir, ntohs(sin.sin_port))) != 1) {
			close(fds[got]);
			if (r == 0)
				continue;
			fprintf(stderr, "freeport: %s: %s\n", dir,
			    strerror(errno));
			return 1;
		}
		printf("%u\n", ntohs(sin.sin_port));
		got++;
	}
	for (int i = 0; i < got; i++)
		close(fds[i]);
	if (got < n) {
		fprintf(stderr, "freeport: found %d free ports of %d\n", got, n);
		return 1;
	}
	return 0;
}
