/*
 * test_netaddr: trusted proxies, and the client behind them: the
 * rightmost untrusted hop of Forwarded or X-Forwarded-For, never what
 * the client wrote itself.
 */
#include <string.h>

#include "netaddr.h"
#include "unit.h"

static void
test_cidrs(void)
{
	struct cidrlist cl;
	char err[160];

	CHECK_INT(netaddr_cidrs_parse(&cl, "10.0.0.0/8, 192.168.1.5 ,::1,"
	    "fd00::/8", err, sizeof(err)), 0);
	CHECK_INT(cl.n, 4);
	CHECK(netaddr_in(&cl, "10.200.3.4"));
	CHECK(!netaddr_in(&cl, "11.0.0.1"));
	CHECK(netaddr_in(&cl, "192.168.1.5"));
	CHECK(!netaddr_in(&cl, "192.168.1.6"));
	CHECK(netaddr_in(&cl, "::1"));
	CHECK(netaddr_in(&cl, "fdab::1"));
	CHECK(netaddr_in(&cl, "::ffff:10.1.1.1"));	/* mapped */
	CHECK(!netaddr_in(&cl, "garbage"));
	CHECK_INT(netaddr_cidrs_parse(&cl, "10.0.0.0/33", err, sizeof(err)),
	    -1);
	CHECK(strstr(err, "10.0.0.0/33") != NULL);
	CHECK_INT(netaddr_cidrs_parse(&cl, "example.com", err, sizeof(err)),
	    -1);
	CHECK_INT(netaddr_cidrs_parse(&cl, "", err, sizeof(err)), 0);
	CHECK_INT(cl.n, 0);
	CHECK(netaddr_loopback("127.0.0.2"));
	CHECK(netaddr_loopback("::1"));
	CHECK(!netaddr_loopback("10.0.0.1"));
}

static void
test_client(void)
{
	struct cidrlist cl;
	char err[160], out[NETADDR_LEN];

	CHECK_INT(netaddr_cidrs_parse(&cl, "127.0.0.1, 10.0.0.0/8", err,
	    sizeof(err)), 0);
	/* Not from a trusted proxy: the header is the client's own words. */
	CHECK(!netaddr_client(&cl, "203.0.113.9", NULL, "1.2.3.4", out,
	    sizeof(out)));
	CHECK_STR(out, "203.0.113.9");
	/* Rightmost untrusted hop; what the client wrote left of it is
	 * ignored. */
	CHECK(netaddr_client(&cl, "127.0.0.1", NULL, "6.6.6.6, 198.51.100.7, "
	    "10.1.2.3", out, sizeof(out)));
	CHECK_STR(out, "198.51.100.7");
	/* Forwarded wins, quoted, with ports and IPv6. */
	CHECK(netaddr_client(&cl, "127.0.0.1", "for=6.6.6.6, for=\"[2001:db8::"
	    "17]:4711\";proto=https, for=10.0.0.2:80", "9.9.9.9", out,
	    sizeof(out)));
	CHECK_STR(out, "2001:db8::17");
	CHECK(netaddr_client(&cl, "127.0.0.1", "proto=http;For=192.0.2.60",
	    NULL, out, sizeof(out)));
	CHECK_STR(out, "192.0.2.60");
	/* A hop that is no address: the peer stays the client. */
	CHECK(!netaddr_client(&cl, "127.0.0.1", "for=unknown", NULL, out,
	    sizeof(out)));
	CHECK_STR(out, "127.0.0.1");
	CHECK(!netaddr_client(&cl, "127.0.0.1", NULL, "1.2.3.4, not-an-ip",
	    out, sizeof(out)));
	CHECK_STR(out, "127.0.0.1");
	/* No list: nobody is trusted. */
	cl.n = 0;
	CHECK(!netaddr_client(&cl, "127.0.0.1", NULL, "1.2.3.4", out,
	    sizeof(out)));
	CHECK_STR(out, "127.0.0.1");
}

int
main(void)
{
	UNIT_RUN(test_cidrs);
	UNIT_RUN(test_client);
	return unit_done();
}
