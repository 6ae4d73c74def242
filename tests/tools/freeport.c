/*
 * freeport: prints N free TCP ports on 127.0.0.1 (default 1), chosen by
 * the kernel, for the integration tests to give to the servers they start.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	int fds[64];

	if (n < 1 || n > 64)
		return 2;
	for (int i = 0; i < n; i++) {
		struct sockaddr_in sin = { 0 };
		socklen_t len = sizeof(sin);

		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    bind(fds[i], (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    getsockname(fds[i], (struct sockaddr *)&sin, &len) == -1) {
			perror("freeport");
			return 1;
		}
		printf("%u\n", ntohs(sin.sin_port));
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}
