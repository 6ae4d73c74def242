/*
 * accept: civetweb's accept loop, kept below the descriptor limit.
 *
 * civetweb 1.15's master thread polls its listening sockets and calls
 * accept(2) when one is readable; when accept fails it just polls again.
 * At the descriptor limit accept fails with EMFILE, the connection stays
 * in the backlog, the socket stays readable, and the thread spins (5
 * CPU-s in 5 s measured) while nothing is served. civetweb has no hook
 * for this, so grilld-api defines accept() itself; the Makefile exports
 * it (LDFLAGS_api), and libcivetweb's call resolves to it, as
 * SSL_get_peer_certificate does in tls.c. Nothing else in the process
 * accepts.
 *
 * It accepts as accept(2) does, but never into the last ACCEPT_RESERVE
 * descriptors (kept for Redis, InfluxDB, nng and files: a connection
 * that would take one is closed at once), and when at the limit, or
 * there, it sleeps ACCEPT_PAUSE_MS before returning, so the master
 * thread polls ten times a second instead of spinning. Descriptors are
 * allocated lowest first, so a new one numbered at or above the limit
 * less the reserve means the rest below it are taken.
 */
#include <errno.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "log.h"

#define ACCEPT_RESERVE	32
#define ACCEPT_PAUSE_MS	100

static struct log_limit ll;

static void
pause_accepting(const char *why)
{
	struct timespec ts = { 0, ACCEPT_PAUSE_MS * 1000000L };

	log_limited(&ll, 10000, LOG_LVL_WARN, "accept: %s; pausing %d ms",
	    why, ACCEPT_PAUSE_MS);
	nanosleep(&ts, NULL);
}

static long
fd_ceiling(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return -1;
	return (long)rl.rlim_cur > 2 * ACCEPT_RESERVE ?
	    (long)rl.rlim_cur - ACCEPT_RESERVE : (long)rl.rlim_cur / 2;
}

/* Named for libc's, on purpose: see the comment above. */
int
accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	long ceiling;
	int c, e;

	if ((c = accept4(fd, sa, len, 0)) == -1) {
		e = errno;
		if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
			pause_accepting("out of descriptors");
		errno = e;
		return -1;
	}
	if ((ceiling = fd_ceiling()) != -1 && c >= ceiling) {
		close(c);
		pause_accepting("descriptors kept in reserve");
		errno = EAGAIN;
		return -1;
	}
	return c;
}
