/*
 * tool.h: what the test tools share, written once: an IPv4 "host:port"
 * read into an address, and a blocking TCP connection to it. Each tool
 * is one .c file linked with libgrilld.a (util_mono_ms() and the rest
 * come from there); these are static inline so that a tool that uses
 * one of them only carries that one.
 */
#ifndef GRILLD_TOOL_H
#define GRILLD_TOOL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* "127.0.0.1:8080" into sa; -1 when it is not an IPv4 address and port. */
static inline int
tool_addr(const char *hostport, struct sockaddr_in *sa)
{
	const char *colon = strrchr(hostport, ':');
	char host[64];

	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
		return -1;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* A connected TCP socket, or -1. */
static inline int
tool_dial(const char *hostport)
{
	struct sockaddr_in sa;
	int fd;

	if (tool_addr(hostport, &sa) == -1 ||
	    (fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

#endif
