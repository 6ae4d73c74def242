/*
 * netaddr: who the client is behind a proxy (api.trusted_proxies).
 *
 * Every limit is keyed on the client's address. Behind a proxy the
 * socket's peer is the proxy, so the client is taken from Forwarded
 * (RFC 7239, for=) or, without it, X-Forwarded-For, but only when the
 * peer is one of the trusted proxies: the list of hops is read from the
 * right (the hop the proxy itself appended) leftwards, skipping trusted
 * proxies, and the first address that is not one is the client.
 * Anything left of it was written by the client and is never believed.
 * A hop that is not an address ("unknown", "_hidden", garbage) ends the
 * walk: the peer stays the client. Nothing is allocated; a cidrlist is
 * plain data, read-only once parsed (threads share it without a lock).
 */
#ifndef GRILLD_NETADDR_H
#define GRILLD_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETADDR_CIDRS_MAX	64
#define NETADDR_LEN		64	/* an address as text, and room */

struct cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 addr[16];
	int		 bits;
};

struct cidrlist {
	size_t		 n;
	struct cidr	 v[NETADDR_CIDRS_MAX];
};

/* "10.0.0.0/8, ::1, 192.168.1.5": -1 with err on a bad entry. */
int	 netaddr_cidrs_parse(struct cidrlist *, const char *, char *, size_t);
/* Whether a textual address is in the list (IPv4-mapped IPv6 as IPv4). */
bool	 netaddr_in(const struct cidrlist *, const char *);
bool	 netaddr_loopback(const char *);
/*
 * The client's address into out: the peer, or when the peer is trusted
 * and forwarded (Forwarded) or xff (X-Forwarded-For, every header's
 * value joined by commas; either may be NULL) name one, the rightmost
 * untrusted hop. Returns true when it came from a header.
 */
bool	 netaddr_client(const struct cidrlist *, const char *, const char *,
	    const char *, char *, size_t);

#endif
