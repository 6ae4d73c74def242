/*
 * netaddr: CIDR lists and the client behind trusted proxies (see
 * netaddr.h for the rules).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "netaddr.h"
#include "util.h"

/* A textual address into family and bytes; IPv4-mapped IPv6 as IPv4. */
static bool
parse_ip(const char *s, int *family, uint8_t out[16])
{
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(out, a6.s6_addr + 12, 4);
		*family = AF_INET;
	} else {
		memcpy(out, a6.s6_addr, 16);
		*family = AF_INET6;
	}
	return true;
}

int
netaddr_cidrs_parse(struct cidrlist *cl, const char *list, char *err,
    size_t errlen)
{
	const char *p = list;

	cl->n = 0;
	while (p != NULL && *p != '\0') {
		char item[NETADDR_LEN + 8], *slash;
		size_t n;
		struct cidr *c;
		long bits;

		p += strspn(p, ", \t");
		if ((n = strcspn(p, ", \t")) == 0)
			break;
		if (n >= sizeof(item) || cl->n == NETADDR_CIDRS_MAX) {
			snprintf(err, errlen, "api.trusted_proxies: at most %d "
			    "CIDRs of at most %d bytes", NETADDR_CIDRS_MAX,
			    NETADDR_LEN);
			return -1;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		p += n;
		c = &cl->v[cl->n];
		memset(c, 0, sizeof(*c));
		if ((slash = strchr(item, '/')) != NULL)
			*slash = '\0';
		if (!parse_ip(item, &c->family, c->addr))
			goto bad;
		c->bits = c->family == AF_INET ? 32 : 128;
		if (slash != NULL) {
			char *end;

			bits = strtol(slash + 1, &end, 10);
			if (end == slash + 1 || *end != '\0' || bits < 0 ||
			    bits > c->bits)
				goto bad;
			c->bits = (int)bits;
		}
		cl->n++;
		continue;
bad:
		snprintf(err, errlen, "api.trusted_proxies: not an address "
		    "or CIDR: %s%s%s", item, slash ? "/" : "", slash ?
		    slash + 1 : "");
		return -1;
	}
	return 0;
}

static bool
cidr_has(const struct cidr *c, int family, const uint8_t a[16])
{
	int full = c->bits / 8, rest = c->bits % 8;

	if (c->family != family || memcmp(c->addr, a, (size_t)full) != 0)
		return false;
	return rest == 0 || ((c->addr[full] ^ a[full]) &
	    (uint8_t)(0xff << (8 - rest))) == 0;
}

bool
netaddr_in(const struct cidrlist *cl, const char *addr)
{
	uint8_t a[16];
	int family;

	if (cl == NULL || cl->n == 0 || !parse_ip(addr, &family, a))
		return false;
	for (size_t i = 0; i < cl->n; i++)
		if (cidr_has(&cl->v[i], family, a))
			return true;
	return false;
}

bool
netaddr_loopback(const char *addr)
{
	uint8_t a[16];
	int family;

	if (!parse_ip(addr, &family, a))
		return false;
	if (family == AF_INET)
		return a[0] == 127;
	return memcmp(a, in6addr_loopback.s6_addr, 16) == 0;
}

/*
 * One hop of Forwarded (its for= value) or X-Forwarded-For, trimmed, into
 * out as a bare address: quotes, "[...]" and a port removed. false when
 * it is not an address.
 */
static bool
hop_addr(const char *s, size_t n, bool forwarded, char *out, size_t outlen)
{
	char tmp[NETADDR_LEN + 16];
	uint8_t a[16];
	int family;
	size_t i = 0;

	if (forwarded) {
		/* for=... among ;-separated pairs */
		const char *p = s, *end = s + n, *v = NULL;

		while (p < end) {
			const char *semi = memchr(p, ';', (size_t)(end - p));
			const char *pe = semi ? semi : end;

			while (p < pe && (*p == ' ' || *p == '\t'))
				p++;
			if (pe - p > 4 && strncasecmp(p, "for=", 4) == 0) {
				v = p + 4;
				n = (size_t)(pe - v);
				break;
			}
			p = semi ? semi + 1 : end;
		}
		if (v == NULL)
			return false;
		s = v;
	}
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (tmp[0] == '[') {		/* [v6] or [v6]:port */
		char *close = strchr(tmp, ']');

		if (close == NULL)
			return false;
		*close = '\0';
		i = 1;
	} else if (strchr(tmp, ':') == strrchr(tmp, ':') &&
	    strchr(tmp, ':') != NULL)
		*strchr(tmp, ':') = '\0';	/* v4:port */
	if (!parse_ip(tmp + i, &family, a))
		return false;
	util_strlcpy(out, tmp + i, outlen);
	return true;
}

bool
netaddr_client(const struct cidrlist *trusted, const char *peer,
    const char *forwarded, const char *xff, char *out, size_t outlen)
{
	const char *list = forwarded != NULL && *forwarded != '\0' ?
	    forwarded : xff;
	bool fw = list == forwarded;
	char hop[NETADDR_LEN];
	size_t end;

	util_strlcpy(out, peer, outlen);
	if (list == NULL || *list == '\0' || !netaddr_in(trusted, peer))
		return false;
	/* From the right: the hop the trusted proxy appended comes last. */
	for (end = strlen(list); end > 0;) {
		size_t start = end;

		while (start > 0 && list[start - 1] != ',')
			start--;
		if (!hop_addr(list + start, end - start, fw, hop, sizeof(hop)))
			return false;	/* not an address: keep the peer */
		if (!netaddr_in(trusted, hop)) {
			util_strlcpy(out, hop, outlen);
			return true;
		}
		end = start > 0 ? start - 1 : 0;
	}
	return false;
}
