/*
 * deadline: a limit on the total time of a civetweb read that would
 * otherwise only be limited piece by piece.
 *
 * mg_read() waits until it has all it was asked for, and civetweb's
 * time-out (api.io_timeout) only bounds the wait for each next piece: a
 * client that dribbles its body a byte every few seconds (slowloris)
 * would hold a worker for as long as it liked. civetweb retries a poll
 * a signal interrupts, and does not say which socket is the
 * connection's; so api_deadline_arm() finds the socket (the one whose
 * peer is the client's address and port) and starts a timer of the
 * calling thread's own. Once the time is up the timer's signal handler
 * shuts the socket down for reading: civetweb's read sees the end of
 * the stream and returns what it has, and the answer (408) can still be
 * written. Until disarmed the signal repeats every 100 ms, in case the
 * first came just before the read.
 *
 * The signal is SIGRTMIN + 1, sent to one thread (SIGEV_THREAD_ID);
 * shutdown() is async-signal-safe. Installed with SA_RESTART, so that a
 * late one interrupts nothing else.
 */
#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "log.h"

#define DEADLINE_SIG	(SIGRTMIN + 1)
#define DEADLINE_REPEAT_MS 100

static __thread timer_t	 timer;
static __thread bool	 have_timer;
static __thread volatile sig_atomic_t conn_fd = -1;

static void
on_deadline(int sig)
{
	if (conn_fd >= 0)
		shutdown(conn_fd, SHUT_RD);
}

static int
sa_port(const struct sockaddr_storage *ss, char *host, size_t len)
{
	const void *addr;
	int port;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		addr = &in->sin_addr;
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		addr = &in6->sin6_addr;
		port = ntohs(in6->sin6_port);
	} else
		return -1;
	if (inet_ntop(ss->ss_family, addr, host, (socklen_t)len) == NULL)
		return -1;
	return port;
}

/* The socket connected to the client of ri; -1 when none is found. */
static int
find_conn_fd(const struct mg_request_info *ri)
{
	struct sockaddr_storage peer, self;
	char host[INET6_ADDRSTRLEN], lhost[INET6_ADDRSTRLEN];
	struct dirent *de;
	socklen_t len;
	int fd, found = -1;
	DIR *dir;

	if ((dir = opendir("/proc/self/fd")) == NULL)
		return -1;
	while (found == -1 && (de = readdir(dir)) != NULL) {
		if ((fd = atoi(de->d_name)) <= 2 || fd == dirfd(dir))
			continue;
		len = sizeof(peer);
		if (getpeername(fd, (struct sockaddr *)&peer, &len) == -1 ||
		    sa_port(&peer, host, sizeof(host)) != ri->remote_port ||
		    strcmp(host, ri->remote_addr) != 0)
			continue;
		len = sizeof(self);
		if (getsockname(fd, (struct sockaddr *)&self, &len) == 0 &&
		    sa_port(&self, lhost, sizeof(lhost)) == ri->server_port)
			found = fd;
	}
	closedir(dir);
	return found;
}

/* At start-up, before civetweb's threads: the handler. */
int
api_deadline_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_deadline;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	return sigaction(DEADLINE_SIG, &sa, NULL);
}

/* Starts the clock: the connection of ri is cut for reading after ms. */
void
api_deadline_arm(const struct mg_request_info *ri, int64_t ms)
{
	struct itimerspec its;
	struct sigevent sev;

	if ((conn_fd = find_conn_fd(ri)) == -1) {
		log_debug("deadline: no socket for %s:%d", ri->remote_addr,
		    ri->remote_port);
		return;
	}
	if (!have_timer) {
		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = SIGEV_THREAD_ID;
		sev.sigev_signo = DEADLINE_SIG;
		sev._sigev_un._tid = gettid();
		if (timer_create(CLOCK_MONOTONIC, &sev, &timer) == -1) {
			log_warn("deadline: timer_create");
			return;
		}
		have_timer = true;
	}
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (ms % 1000) * 1000000 + 1;
	its.it_interval.tv_nsec = DEADLINE_REPEAT_MS * 1000000;
	timer_settime(timer, 0, &its, NULL);
}

void
api_deadline_disarm(void)
{
	struct itimerspec its;

	if (!have_timer || conn_fd == -1)
		return;
	memset(&its, 0, sizeof(its));
	timer_settime(timer, 0, &its, NULL);
	conn_fd = -1;
}

/* When the thread ends (api_worker_cleanup). */
void
api_deadline_free(void)
{
	if (have_timer)
		timer_delete(timer);
	have_timer = false;
}
