#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static int	 unit_num;
static int	 unit_failed_total;
static bool	 unit_cur_failed;
static char	 unit_dir[256];

void
unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	unit_cur_failed = true;
	fprintf(stdout, "#   %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

void
unit_run(const char *name, void (*fn)(void))
{
	unit_cur_failed = false;
	fn();
	unit_num++;
	if (unit_cur_failed)
		unit_failed_total++;
	printf("%s %d - %s\n", unit_cur_failed ? "not ok" : "ok", unit_num,
	    name);
	fflush(stdout);
}

const char *
unit_tmpdir(void)
{
	if (unit_dir[0] == '\0') {
		const char *base = getenv("TMPDIR");

		snprintf(unit_dir, sizeof(unit_dir), "%s/grilld-unit.XXXXXX",
		    base ? base : "/tmp");
		if (mkdtemp(unit_dir) == NULL) {
			perror("mkdtemp");
			exit(2);
		}
	}
	return unit_dir;
}

static int
unit_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

int
unit_done(void)
{
	if (unit_dir[0] != '\0')
		nftw(unit_dir, unit_rm, 16, FTW_DEPTH | FTW_PHYS);
	printf("1..%d\n", unit_num);
	return unit_failed_total == 0 ? 0 : 1;
}

int
unit_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port = -1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}
