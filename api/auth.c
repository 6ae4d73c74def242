/*
 * auth: API keys, sent as "Authorization: Bearer KEY".
 *
 * Keys come from api.keys (comma separated; GRILLD_API_KEYS in the
 * environment overrides the file, as for every option) and from
 * api.keys_file, read by common/keys.c as grilld-stream reads them.
 * Every key is handed to log_secret(), so no log line can carry one, and
 * is compared in constant time against every configured key (no early
 * exit: the time says neither which key nor how much of it matched).
 *
 * Writes and rule changes need a key (401 without, 403 with a wrong one).
 * With no keys configured, writes are accepted only from a client on
 * loopback: the client's address (behind a trusted proxy, the one it
 * forwards: router.c), not the address the API listens on, so that a
 * proxy on the same host does not make every client local. A request
 * that names a forwarded client through a proxy that is not trusted is
 * not local either. Others are refused with 403 and a message saying
 * how to set keys. A keyless write is also
 * refused (403 CROSS_ORIGIN) when a browser sends it from a page of
 * another origin (an Origin not in api.cors_origins): a form or a
 * fetch without a body needs no preflight, so without this any page
 * the user opens could acknowledge or snooze alerts on a keyless
 * install on localhost. Reads need a key only with
 * api.read_auth. /health and /openapi.json never do.
 *
 * The key set is immutable; SIGHUP builds a new one and swaps the
 * pointer. Old sets are kept until exit (reloads are rare, and a worker
 * may still be reading one), so no lock is taken per request.
 */
#include <arpa/inet.h>
#include <civetweb.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"

struct keyset {
	struct keylist	 kl;
	struct keyset	*older;		/* retired sets, freed at exit */
};

static struct metric_series *m_fail_missing, *m_fail_wrong, *m_fail_nokeys;

uint64_t
api_auth_hash(const char *s, size_t len)
{
	return util_fnv1a64(s, len);
}

static void
keyset_free(struct keyset *ks)
{
	while (ks != NULL) {
		struct keyset *older = ks->older;

		keys_clear(&ks->kl);
		free(ks);
		ks = older;
	}
}

static struct keyset *
keyset_load(const struct grilld_conf *cf, char *err, size_t errlen)
{
	struct keyset *ks;

	if ((ks = calloc(1, sizeof(*ks))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (keys_load(&ks->kl, cf->api.keys, cf->api.keys_file, err,
	    errlen) == -1) {
		keyset_free(ks);
		return NULL;
	}
	return ks;
}

/* True for 127.0.0.0/8, ::1 and localhost; "8080" alone is every address. */
bool
api_is_loopback(const char *listen)
{
	char host[256];
	struct in_addr a4;
	struct in6_addr a6;
	int port;

	if (util_split_hostport(listen, host, sizeof(host), &port) == -1 ||
	    host[0] == '\0')
		return false;
	if (strcmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

int
api_auth_init(struct api *a, char *err, size_t errlen)
{
	struct metric *m;
	struct keyset *ks;

	m = metric_counter("grilld_api_auth_failures_total",
	    "Requests refused for want of a valid API key, by reason.",
	    "reason");
	m_fail_missing = metric_with(m, "missing");
	m_fail_wrong = metric_with(m, "wrong");
	m_fail_nokeys = metric_with(m, "no_keys");
	if ((ks = keyset_load(a->cf, err, errlen)) == NULL)
		return -1;
	if (a->cf->api.read_auth && ks->kl.n == 0) {
		snprintf(err, errlen, "api.read_auth needs keys: set api.keys "
		    "or api.keys_file");
		keyset_free(ks);
		return -1;
	}
	atomic_store(&a->keys, ks);
	return 0;
}

/*
 * SIGHUP: a new set from the new configuration (the workers' a->cf is
 * the one the API started with), or the old one stays when it is wrong.
 */
int
api_auth_reload(struct api *a, const struct grilld_conf *cf, char *err,
    size_t errlen)
{
	struct keyset *ks, *old;

	if ((ks = keyset_load(cf, err, errlen)) == NULL)
		return -1;
	old = atomic_load(&a->keys);
	ks->older = old;
	atomic_store(&a->keys, ks);
	return 0;
}

void
api_auth_free(struct api *a)
{
	keyset_free(atomic_exchange(&a->keys, NULL));
}

size_t
api_auth_nkeys(struct api *a)
{
	struct keyset *ks = atomic_load(&a->keys);

	return ks ? ks->kl.n : 0;
}

/* The Bearer token of the request, or NULL. */
static const char *
bearer(struct req *r)
{
	const char *h = mg_get_header(r->conn, "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	for (h += 7; *h == ' '; h++)
		;
	return *h ? h : NULL;
}

/*
 * A browser's request from a page of another origin: an Origin header
 * (sent on every cross-origin POST, PUT, DELETE) that api.cors_origins
 * does not allow, or Sec-Fetch-Site: cross-site. Tools (curl, scripts)
 * send neither.
 */
static bool
cross_origin(struct req *r)
{
	const char *origin = mg_get_header(r->conn, "Origin");
	const char *site = mg_get_header(r->conn, "Sec-Fetch-Site");

	if (origin != NULL && !api_cors_allowed(r->api->cf->api.cors_origins,
	    origin))
		return true;
	return origin == NULL && site != NULL &&
	    strcasecmp(site, "cross-site") == 0;
}

/*
 * Whether the request may go on, and who it is: *who is a hash of the
 * valid key it carries, or 0 (the router then uses the address).
 * Answers nothing: the router rate-limits first, then calls
 * api_auth_deny() when this says no.
 */
enum auth_verdict
api_auth_check(struct req *r, enum auth_class cls, uint64_t *who)
{
	struct keyset *ks = atomic_load(&r->api->keys);
	const char *token = bearer(r);
	bool match = false, need;

	*who = 0;
	if (token != NULL && ks != NULL &&
	    (match = keys_match(&ks->kl, token)))
		*who = (api_auth_hash(token, strlen(token)) << 1) | 1;
	if (cls == AUTH_NONE)
		return AUTH_OK;
	if (cls == AUTH_READ && (r->head || strcmp(r->method, "GET") == 0))
		need = r->api->cf->api.read_auth;
	else
		need = true;	/* writes, and every other method */
	if (!need)
		return AUTH_OK;
	if (ks == NULL || ks->kl.n == 0) {
		if (!netaddr_loopback(r->client) ||
		    (r->forwarded && !r->proxied))
			return AUTH_NO_KEYS;
		return cross_origin(r) ? AUTH_CROSS_ORIGIN : AUTH_OK;
	}
	if (token == NULL)
		return AUTH_MISSING;
	return match ? AUTH_OK : AUTH_WRONG;
}

int
api_auth_deny(struct req *r, enum auth_verdict v)
{
	switch (v) {
	case AUTH_MISSING:
		metric_inc(m_fail_missing);
		return api_error(r, 401, "UNAUTHORIZED", "this request needs "
		    "an API key: send Authorization: Bearer KEY");
	case AUTH_WRONG:
		metric_inc(m_fail_wrong);
		return api_error(r, 403, "FORBIDDEN", "the API key is not "
		    "valid");
	case AUTH_NO_KEYS:
		metric_inc(m_fail_nokeys);
		return api_error(r, 403, "WRITES_DISABLED", "without API keys "
		    "only a client on loopback may write: set "
		    "api.keys (or GRILLD_API_KEYS, or api.keys_file) and "
		    "send Authorization: Bearer KEY");
	case AUTH_CROSS_ORIGIN:
		metric_inc(m_fail_nokeys);
		return api_error(r, 403, "CROSS_ORIGIN", "a write without an API "
		    "key is refused from a page of another origin; set api.keys "
		    "or add the origin to api.cors_origins");
	case AUTH_OK:
		break;
	}
	return 0;
}
