/*
 * killafter.so: an LD_PRELOAD shim that kills its process with SIGKILL
 * right after a given command reached Redis, so that a scenario can
 * crash a daemon at one exact point without a line of test code in the
 * daemon.
 *
 *   KILLAFTER_ARG=<text>   a RESP argument ("$<len>\r\n<text>\r\n") to
 *                          look for in what the process sends (send(),
 *                          write()) on a socket
 *   KILLAFTER_NOTE=<file>  written (one line) just before the kill
 *
 * Once a send carrying the argument returned, the shim waits (up to 5 s)
 * for the peer's first reply byte on that socket, which Redis sends only
 * once it ran the commands it read with it, and then raises SIGKILL: the
 * commands of that pipeline took effect, nothing after them did.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static char	 want[512];
static size_t	 wantlen;
static int	 armed = -1;		/* -1 not read yet, 0 off, 1 on */

static void
arm(void)
{
	const char *a = getenv("KILLAFTER_ARG");
	int n;

	armed = 0;
	if (a == NULL || *a == '\0')
		return;
	n = snprintf(want, sizeof(want), "$%zu\r\n%s\r\n", strlen(a), a);
	if (n < 0 || (size_t)n >= sizeof(want))
		return;
	wantlen = (size_t)n;
	armed = 1;
}

static void
maybe_die(int fd, const void *buf, ssize_t sent)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct stat st;
	const char *note;
	int nfd;

	if (armed == -1)
		arm();
	if (armed != 1 || sent <= 0 || fstat(fd, &st) == -1 ||
	    !S_ISSOCK(st.st_mode) ||
	    memmem(buf, (size_t)sent, want, wantlen) == NULL)
		return;
	armed = 0;
	poll(&pfd, 1, 5000);
	if ((note = getenv("KILLAFTER_NOTE")) != NULL &&
	    (nfd = open(note, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1) {
		(void)!write(nfd, "killed\n", 7);
		close(nfd);
	}
	raise(SIGKILL);
}

ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
	static ssize_t (*real)(int, const void *, size_t, int);
	ssize_t n;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "send");
	n = real(fd, buf, len, flags);
	maybe_die(fd, buf, n);
	return n;
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);
	ssize_t n;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "write");
	n = real(fd, buf, len);
	maybe_die(fd, buf, n);
	return n;
}
