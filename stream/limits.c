/*
 * limits: admission. Streams per address, and tokens.
 *
 * Tokens are asked for only with api.read_auth on (the API's switch for
 * reads, so one setting protects both). A client shows one as
 * "Authorization: Bearer T" or, since browsers' EventSource and
 * WebSocket cannot set headers, as ?token=T. Two kinds are accepted:
 *
 *   an API key (api.keys, api.keys_file: common/keys.c reads them as
 *	the API does), compared in constant time;
 *   a signed short-lived token "<exp>.<hex>", where exp is a Unix time in
 *	seconds at most STREAM_TOKEN_MAX_S ahead and hex is
 *	HMAC-SHA256(key, "grilld-stream:<exp>") (common/hmac.h) with any
 *	API key: a page can be handed one without ever holding a key. It
 *	is checked when the client connects. Made by limits_token_sign()
 *	(and by `openssl dgst -sha256 -hmac KEY` from the shell).
 *
 * The per-address table holds one entry per address with connections
 * open: its streams (stream.per_address) and its plain HTTP connections
 * (stream.per_address_conns; a connection that becomes a stream moves
 * from one count to the other), so its size is bounded by the number of
 * connections; the loops share it under a mutex.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hmac.h"
#include "keys.h"
#include "netaddr.h"
#include "log.h"
#include "stream.h"

#define STREAM_TOKEN_MAX_S	(24 * 3600)
#define ADDR_BUCKETS		1024

struct addr_ent {
	struct addr_ent	*next;
	int64_t		 n;		/* streams */
	int64_t		 nconn;		/* plain connections */
	char		 addr[64];
};

struct limits {
	int64_t		 per_address;
	int64_t		 per_address_conns;
	bool		 auth;
	struct keylist	 keys;
	struct cidrlist	 proxies;	/* api.trusted_proxies */
	pthread_mutex_t	 mtx;
	struct addr_ent	*buckets[ADDR_BUCKETS];
};

static uint32_t
hash(const char *s)
{
	return util_fnv1a32(s, strlen(s));
}

struct limits *
limits_new(const struct grilld_conf *cf, char *err, size_t errlen)
{
	struct limits *l;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&l->mtx, NULL);
	l->per_address = cf->stream.per_address;
	l->per_address_conns = cf->stream.per_address_conns;
	l->auth = cf->api.read_auth;
	if (keys_load(&l->keys, cf->api.keys, cf->api.keys_file, err,
	    errlen) == -1 || netaddr_cidrs_parse(&l->proxies,
	    cf->api.trusted_proxies, err, errlen) == -1)
		goto fail;
	if (l->auth && l->keys.n == 0) {
		snprintf(err, errlen, "api.read_auth is on but no API key is "
		    "set (api.keys or api.keys_file)");
		goto fail;
	}
	return l;
fail:
	limits_free(l);
	return NULL;
}

void
limits_free(struct limits *l)
{
	if (l == NULL)
		return;
	keys_clear(&l->keys);
	for (size_t i = 0; i < ADDR_BUCKETS; i++) {
		struct addr_ent *e, *next;

		for (e = l->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&l->mtx);
	free(l);
}

/* Counts one more stream (conn false) or connection of an address. */
static bool
addr_take(struct limits *l, const char *addr, bool conn)
{
	struct addr_ent **pp = &l->buckets[hash(addr) % ADDR_BUCKETS], *e;
	bool ok = false;

	pthread_mutex_lock(&l->mtx);
	for (e = *pp; e != NULL; e = e->next)
		if (strcmp(e->addr, addr) == 0)
			break;
	if (e == NULL && (e = calloc(1, sizeof(*e))) != NULL) {
		util_strlcpy(e->addr, addr, sizeof(e->addr));
		e->next = *pp;
		*pp = e;
	}
	if (e != NULL && !conn && e->n < l->per_address) {
		e->n++;
		ok = true;
	} else if (e != NULL && conn && e->nconn < l->per_address_conns) {
		e->nconn++;
		ok = true;
	}
	pthread_mutex_unlock(&l->mtx);
	return ok;
}

static void
addr_give(struct limits *l, const char *addr, bool conn)
{
	struct addr_ent **pp = &l->buckets[hash(addr) % ADDR_BUCKETS], *e;

	pthread_mutex_lock(&l->mtx);
	for (; (e = *pp) != NULL; pp = &e->next) {
		if (strcmp(e->addr, addr) != 0)
			continue;
		if (conn)
			e->nconn--;
		else
			e->n--;
		if (e->n <= 0 && e->nconn <= 0) {
			*pp = e->next;
			free(e);
		}
		break;
	}
	pthread_mutex_unlock(&l->mtx);
}

bool
limits_addr_take(struct limits *l, const char *addr)
{
	return addr_take(l, addr, false);
}

void
limits_addr_give(struct limits *l, const char *addr)
{
	addr_give(l, addr, false);
}

bool
limits_conn_take(struct limits *l, const char *addr)
{
	return addr_take(l, addr, true);
}

void
limits_conn_give(struct limits *l, const char *addr)
{
	addr_give(l, addr, true);
}

bool
limits_trusted(const struct limits *l, const char *peer)
{
	return netaddr_in(&l->proxies, peer);
}

/* Every value of a header, joined by commas. */
static void
header_all(const struct http_req *r, const char *name, struct buf *b)
{
	for (size_t i = 0; i < r->nhdrs; i++)
		if (strcasecmp(r->hdrs[i].name, name) == 0)
			buf_printf(b, "%s%s", b->len ? "," : "",
			    r->hdrs[i].value);
}

void
limits_client(const struct limits *l, const char *peer,
    const struct http_req *r, char *out, size_t len)
{
	struct buf fw, xff;

	buf_init(&fw);
	buf_init(&xff);
	header_all(r, "Forwarded", &fw);
	header_all(r, "X-Forwarded-For", &xff);
	netaddr_client(&l->proxies, peer, fw.data, xff.data, out, len);
	buf_free(&fw);
	buf_free(&xff);
}

bool
limits_auth_needed(const struct limits *l)
{
	return l->auth;
}

static void
token_mac(const char *key, int64_t exp, char hex[HMAC_SHA256_HEX_LEN + 1])
{
	char msg[64];
	int n;

	n = snprintf(msg, sizeof(msg), "grilld-stream:%lld", (long long)exp);
	hmac_sha256_hex(key, strlen(key), msg, (size_t)n, hex);
}

int
limits_token_sign(const char *key, int64_t exp, char *out, size_t len)
{
	char hex[HMAC_SHA256_HEX_LEN + 1];

	token_mac(key, exp, hex);
	return snprintf(out, len, "%lld.%s", (long long)exp, hex) < (int)len ?
	    0 : -1;
}

/* 0: a valid signed token for that key at now_s; -1 otherwise. */
int
limits_token_check(const char *key, const char *tok, int64_t now_s)
{
	char hex[HMAC_SHA256_HEX_LEN + 1], num[24];
	const char *dot = strchr(tok, '.');
	int64_t exp;

	if (dot == NULL || (size_t)(dot - tok) >= sizeof(num) ||
	    strlen(dot + 1) != HMAC_SHA256_HEX_LEN)
		return -1;
	memcpy(num, tok, (size_t)(dot - tok));
	num[dot - tok] = '\0';
	if (util_parse_int(num, &exp) == -1 || exp <= now_s ||
	    exp > now_s + STREAM_TOKEN_MAX_S)
		return -1;
	token_mac(key, exp, hex);
	return util_streq_ct(hex, dot + 1) ? 0 : -1;
}

int
limits_auth(struct limits *l, const char *tok, int64_t now_ns)
{
	bool ok = false;

	if (tok == NULL || tok[0] == '\0')
		return 401;
	/* Every key is tried, so the time taken says nothing of which. */
	ok = keys_match(&l->keys, tok);
	for (size_t i = 0; i < l->keys.n; i++)
		ok |= limits_token_check(l->keys.key[i], tok,
		    now_ns / NS_PER_S) == 0;
	return ok ? 0 : 403;
}
