#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "log.h"
#include "options.h"
#include "rds.h"
#include "util.h"

/* Field arrays of entries this small live on the stack. */
#define RDS_STACK_FIELDS	32

static void	rds_seterr(struct rds *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	rds_open(struct rds *);
static int	rds_reconnect(struct rds *);
static int	rds_ready(struct rds *);
static void	rds_schedule(struct rds *);
static void	rds_lost(struct rds *);
static void	rds_drop(struct rds *);
static redisReply *rds_result(struct rds *, void *);

/*
 * URL parsing.
 */

static int
url_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
url_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err != NULL && errlen > 0) {
		n = snprintf(err, errlen, "bad redis URL: ");
		if (n > 0 && (size_t)n < errlen) {
			va_start(ap, fmt);
			vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -1;
}

/* Copies s[0..len) into out, decoding %XX escapes. */
static int
url_decode(const char *s, size_t len, char *out, size_t outlen,
    const char *what, char *err, size_t errlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3 || (hi = util_hexval(s[i + 1])) == -1 ||
			    (lo = util_hexval(s[i + 2])) == -1)
				return url_err(err, errlen, "bad %%-escape in "
				    "the %s", what);
			if ((c = hi << 4 | lo) == 0)
				return url_err(err, errlen, "NUL byte in the "
				    "%s", what);
			i += 2;
		}
		if (o + 1 >= outlen)
			return url_err(err, errlen, "%s longer than %zu bytes",
			    what, outlen - 1);
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* Digits only, no sign, at most max. */
static int
url_number(const char *s, size_t len, long max, long *out)
{
	long v = 0;

	if (len == 0 || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* "user:password": both decoded; a password is required. */
static int
url_userinfo(const char *s, size_t len, struct rds_url *u, char *err,
    size_t errlen)
{
	const char *colon = memchr(s, ':', len);

	if (colon == NULL)
		return url_err(err, errlen, "no ':' before '@' (write "
		    "redis://:password@host or redis://user:password@host)");
	if (url_decode(s, (size_t)(colon - s), u->user, sizeof(u->user),
	    "user", err, errlen) == -1 ||
	    url_decode(colon + 1, len - (size_t)(colon - s) - 1, u->password,
	    sizeof(u->password), "password", err, errlen) == -1)
		return -1;
	if (u->password[0] == '\0')
		return url_err(err, errlen, "empty password");
	return 0;
}

/* "[user:password@]" before end (the last '@'): parsed, *p moved past. */
static int
url_auth(const char **p, const char *end, struct rds_url *u, char *err,
    size_t errlen)
{
	const char *at = NULL;

	for (const char *q = *p; q < end; q++)
		if (*q == '@')
			at = q;
	if (at == NULL)
		return 0;
	if (url_userinfo(*p, (size_t)(at - *p), u, err, errlen) == -1)
		return -1;
	*p = at + 1;
	return 0;
}

static int
url_hostport(const char *s, size_t len, struct rds_url *u, char *err,
    size_t errlen)
{
	const char *end = s + len, *host = s, *hend, *port = NULL;
	long v;

	if (len > 0 && *s == '[') {
		host = s + 1;
		if ((hend = memchr(host, ']', (size_t)(end - host))) == NULL)
			return url_err(err, errlen, "no ']' after an IPv6 "
			    "address");
		for (const char *p = host; p < hend; p++)
			if (util_hexval(*p) == -1 && *p != ':' && *p != '.')
				return url_err(err, errlen, "invalid "
				    "character in the IPv6 address");
		if (hend + 1 < end) {
			if (hend[1] != ':')
				return url_err(err, errlen, "unexpected text "
				    "after ']'");
			port = hend + 2;
		}
	} else {
		hend = memchr(s, ':', len);
		if (hend != NULL) {
			port = hend + 1;
			if (memchr(port, ':', (size_t)(end - port)) != NULL)
				return url_err(err, errlen, "an IPv6 address "
				    "goes in brackets: redis://[::1]:6379");
		} else
			hend = end;
		for (const char *p = host; p < hend; p++)
			if (!((*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') ||
			    *p == '-' || *p == '.' || *p == '_'))
				return url_err(err, errlen, "invalid "
				    "character '%c' in the host", *p);
	}
	if (hend == host)
		return url_err(err, errlen, "no host");
	if ((size_t)(hend - host) >= sizeof(u->host))
		return url_err(err, errlen, "host longer than %zu bytes",
		    sizeof(u->host) - 1);
	memcpy(u->host, host, (size_t)(hend - host));
	u->host[hend - host] = '\0';
	if (port != NULL) {
		if (url_number(port, (size_t)(end - port), 65535, &v) == -1 ||
		    v == 0)
			return url_err(err, errlen, "port is not a number "
			    "from 1 to 65535");
		u->port = (int)v;
	}
	return 0;
}

static int
url_query(const char *q, struct rds_url *u, char *err, size_t errlen)
{
	const char *p = q, *amp, *end;
	long v;

	if (*p == '\0')
		return url_err(err, errlen, "empty query after '?'");
	while (*p != '\0') {
		amp = strchr(p, '&');
		end = amp ? amp : p + strlen(p);
		if ((size_t)(end - p) > 3 && strncmp(p, "db=", 3) == 0) {
			if (url_number(p + 3, (size_t)(end - p - 3), INT_MAX,
			    &v) == -1)
				return url_err(err, errlen, "db is not a "
				    "number from 0 to %d", INT_MAX);
			u->db = (int)v;
		} else if ((size_t)(end - p) >= 9 &&
		    strncmp(p, "password=", 9) == 0)
			return url_err(err, errlen, "the password goes before "
			    "the path: unix://:password@/path/redis.sock");
		else
			return url_err(err, errlen, "unknown parameter "
			    "\"%.*s\" (only db=N)", (int)(end - p), p);
		p = amp ? amp + 1 : end;
		if (amp != NULL && *p == '\0')
			return url_err(err, errlen, "trailing '&'");
	}
	return 0;
}

/* The master's name: what redis.conf's sentinel monitor accepts. */
static bool
url_master_ok(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '.' || s[i] == '_'))
			return false;
	return true;
}

/* After "redis-sentinel://": [userinfo@]host[:port][,...]/master[/db] */
static int
url_sentinel(const char *p, struct rds_url *u, char *err, size_t errlen)
{
	const char *slash, *h, *comma, *name, *dbs;
	struct rds_url one;
	long v;

	if (strchr(p, '?') != NULL)
		return url_err(err, errlen, "no query in a redis-sentinel:// "
		    "URL (the db goes after the master's name)");
	if ((slash = strchr(p, '/')) == NULL || slash[1] == '\0')
		return url_err(err, errlen, "no master name (write "
		    "redis-sentinel://host:26379,host:26379/mymaster)");
	if (url_auth(&p, slash, u, err, errlen) == -1)
		return -1;
	for (h = p; h <= slash; h = comma + 1) {
		comma = memchr(h, ',', (size_t)(slash - h));
		if (comma == NULL)
			comma = slash;
		if (u->nsentinels == RDS_MAX_SENTINELS)
			return url_err(err, errlen, "more than %d sentinels",
			    RDS_MAX_SENTINELS);
		memset(&one, 0, sizeof(one));
		one.port = RDS_SENTINEL_PORT;
		if (url_hostport(h, (size_t)(comma - h), &one, err,
		    errlen) == -1)
			return -1;
		memcpy(u->sentinels[u->nsentinels].host, one.host,
		    sizeof(one.host));
		u->sentinels[u->nsentinels++].port = one.port;
	}
	name = slash + 1;
	dbs = strchr(name, '/');
	if (!url_master_ok(name, dbs ? (size_t)(dbs - name) : strlen(name)))
		return url_err(err, errlen, "the master's name is empty or "
		    "has a character other than letters, digits, '-', '.' "
		    "and '_'");
	if ((dbs ? (size_t)(dbs - name) : strlen(name)) >= sizeof(u->master))
		return url_err(err, errlen, "master name longer than %zu "
		    "bytes", sizeof(u->master) - 1);
	memcpy(u->master, name, dbs ? (size_t)(dbs - name) : strlen(name));
	if (dbs != NULL && dbs[1] != '\0') {
		if (url_number(dbs + 1, strlen(dbs + 1), INT_MAX, &v) == -1)
			return url_err(err, errlen, "the db is not a number "
			    "from 0 to %d", INT_MAX);
		u->db = (int)v;
	}
	/* The master's address is the sentinels' to tell. */
	u->host[0] = '\0';
	u->port = 0;
	return 0;
}

int
rds_url_parse(const char *url, struct rds_url *u, char *err, size_t errlen)
{
	const char *p, *auth_end, *at = NULL, *q;
	long v;

	memset(u, 0, sizeof(*u));
	u->port = RDS_DEFAULT_PORT;
	if (url == NULL || *url == '\0')
		return url_err(err, errlen, "empty");
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return url_err(err, errlen, "space or control "
			    "character (escape it as %%XX)");
	if (strchr(url, '#') != NULL)
		return url_err(err, errlen, "'#' fragment (escape '#' in a "
		    "password as %%23)");
	if (strncmp(url, "redis://", 8) == 0)
		p = url + 8;
	else if (strncmp(url, "redis-sentinel://", 17) == 0)
		return url_sentinel(url + 17, u, err, errlen);
	else if (strncmp(url, "unix://", 7) == 0) {
		p = url + 7;
		u->is_unix = true;
	} else if (strncmp(url, "rediss://", 9) == 0)
		return url_err(err, errlen, "TLS (rediss://) is not "
		    "supported");
	else
		return url_err(err, errlen, "scheme is not redis://, "
		    "redis-sentinel:// or unix://");

	if (u->is_unix) {
		const char *slash = strchr(p, '/');

		if (slash == NULL)
			return url_err(err, errlen, "no socket path (write "
			    "unix:///path/redis.sock)");
		for (q = p; q < slash; q++)
			if (*q == '@')
				at = q;
		if (at != NULL) {
			if (url_userinfo(p, (size_t)(at - p), u, err,
			    errlen) == -1)
				return -1;
			if (at + 1 != slash)
				return url_err(err, errlen, "the socket path "
				    "must be absolute");
		} else if (slash != p)
			return url_err(err, errlen, "the socket path must be "
			    "absolute (unix:///path/redis.sock)");
		q = strchr(slash, '?');
		auth_end = q ? q : slash + strlen(slash);
		if ((size_t)(auth_end - slash) >= sizeof(u->path))
			return url_err(err, errlen, "socket path longer than "
			    "%zu bytes", sizeof(u->path) - 1);
		if (auth_end - slash == 1)
			return url_err(err, errlen, "no socket path");
		memcpy(u->path, slash, (size_t)(auth_end - slash));
		u->path[auth_end - slash] = '\0';
		u->port = 0;
		if (q != NULL && url_query(q + 1, u, err, errlen) == -1)
			return -1;
		return 0;
	}

	if (strchr(p, '?') != NULL)
		return url_err(err, errlen, "no query in a redis:// URL (the "
		    "db goes in the path: redis://host:6379/2)");
	auth_end = strchr(p, '/');
	if (auth_end == NULL)
		auth_end = p + strlen(p);
	if (url_auth(&p, auth_end, u, err, errlen) == -1)
		return -1;
	if (url_hostport(p, (size_t)(auth_end - p), u, err, errlen) == -1)
		return -1;
	if (*auth_end == '/' && auth_end[1] != '\0') {
		q = auth_end + 1;
		if (url_number(q, strlen(q), INT_MAX, &v) == -1)
			return url_err(err, errlen, "the path is not a db "
			    "number from 0 to %d", INT_MAX);
		u->db = (int)v;
	}
	return 0;
}

static void
url_put_host(struct buf *b, const char *host, int port)
{
	buf_printf(b, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

void
rds_url_print(const struct rds_url *u, char *out, size_t outlen)
{
	struct buf b;

	buf_init(&b);
	if (u->is_unix)
		buf_printf(&b, "unix://%s?db=%d", u->path, u->db);
	else if (u->nsentinels > 0) {
		buf_puts(&b, "redis-sentinel://");
		for (int i = 0; i < u->nsentinels; i++) {
			if (i > 0)
				buf_putc(&b, ',');
			url_put_host(&b, u->sentinels[i].host,
			    u->sentinels[i].port);
		}
		buf_printf(&b, "/%s/%d", u->master, u->db);
	} else {
		buf_puts(&b, "redis://");
		url_put_host(&b, u->host, u->port);
		buf_printf(&b, "/%d", u->db);
	}
	util_strlcpy(out, b.data != NULL ? b.data : "redis", outlen);
	buf_free(&b);
}

/*
 * The connection.
 */

static struct timeval
rds_tv(int64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

static void
rds_seterr(struct rds *r, int code, const char *fmt, ...)
{
	va_list ap;

	r->err = code;
	va_start(ap, fmt);
	vsnprintf(r->errstr, sizeof(r->errstr), fmt, ap);
	va_end(ap);
}

/* A message into a buffer that may cut it short. */
static void
say(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
}

/* An error of hiredis's context, a time-out said as such. */
static void
ctx_err(const redisContext *c, int64_t command_ms, const char *what,
    const char *addr, int *code, char *err, size_t errlen)
{
	const char *s = c->errstr;
	char tmo[64];

	if (c->err == REDIS_ERR_IO && (strcmp(s, strerror(EAGAIN)) == 0 ||
	    strcmp(s, strerror(EWOULDBLOCK)) == 0)) {
		snprintf(tmo, sizeof(tmo), "timed out after %lld ms",
		    (long long)command_ms);
		s = tmo;
	}
	*code = c->err ? c->err : REDIS_ERR_OTHER;
	say(err, errlen, "%s%s%s: %s", what, *what ? " " : "", addr, s);
}

/* A command during the set-up of a connection: 0, or -1 and why. */
static int
ctx_setup(redisContext *c, redisReply *rep, const char *what,
    const char *addr, int64_t command_ms, int *code, char *err,
    size_t errlen)
{
	if (rep == NULL) {
		ctx_err(c, command_ms, what, addr, code, err, errlen);
		return -1;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		*code = REDIS_ERR_OTHER;
		say(err, errlen, "%s %s: %s", what, addr, rep->str);
		freeReplyObject(rep);
		return -1;
	}
	freeReplyObject(rep);
	return 0;
}

static redisContext *
ctx_connect(const char *host, int port, const char *path, int64_t ms)
{
	if (path != NULL)
		return redisConnectUnixWithTimeout(path, rds_tv(ms));
	return redisConnectWithTimeout(host, port, rds_tv(ms));
}

/*
 * Asks the sentinels in turn where the master is; the one that answers
 * moves to the head of the list. 0 with u->host and u->port set, or -1.
 */
static int
sentinel_ask(struct rds_url *u, const struct rds_opts *o, int *code,
    char *err, size_t errlen)
{
	char why[RDS_ERRSTR_LEN] = "";

	for (int i = 0; i < u->nsentinels; i++) {
		struct rds_hostport sp = u->sentinels[i];
		redisContext *c;
		redisReply *rep = NULL;
		char addr[300];

		snprintf(addr, sizeof(addr), strchr(sp.host, ':') ?
		    "sentinel [%s]:%d" : "sentinel %s:%d", sp.host, sp.port);
		c = ctx_connect(sp.host, sp.port, NULL, o->connect_timeout_ms);
		if (c == NULL || c->err) {
			if (c != NULL)
				ctx_err(c, o->command_timeout_ms, "connect",
				    addr, code, why, sizeof(why));
			redisFree(c);
			continue;
		}
		if (redisSetTimeout(c, rds_tv(o->command_timeout_ms)) ==
		    REDIS_OK)
			rep = redisCommand(c, "SENTINEL get-master-addr-by-name "
			    "%s", u->master);
		if (rep == NULL)
			ctx_err(c, o->command_timeout_ms, "ask", addr, code,
			    why, sizeof(why));
		else if (rep->type == REDIS_REPLY_ERROR)
			say(why, sizeof(why), "%s: %s", addr, rep->str);
		else if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_STRING)
			say(why, sizeof(why), "%s does not know a master "
			    "named %s", addr, u->master);
		else if (util_strlcpy(u->host, rep->element[0]->str,
		    sizeof(u->host)) < sizeof(u->host) &&
		    (u->port = atoi(rep->element[1]->str)) > 0 &&
		    u->port <= 65535) {
			freeReplyObject(rep);
			redisFree(c);
			memmove(&u->sentinels[1], &u->sentinels[0],
			    (size_t)i * sizeof(u->sentinels[0]));
			u->sentinels[0] = sp;
			return 0;
		} else
			say(why, sizeof(why), "%s named a bad address",
			    addr);
		freeReplyObject(rep);
		redisFree(c);
	}
	*code = REDIS_ERR_OTHER;
	say(err, errlen, "master %s: none of %d sentinels named it (the "
	    "last: %s)", u->master, u->nsentinels, why);
	return -1;
}

/* On a sentinel URL: the server must say it is the master. */
static int
ctx_is_master(redisContext *c, const char *addr, const struct rds_opts *o,
    int *code, char *err, size_t errlen)
{
	redisReply *rep = redisCommand(c, "ROLE");
	int rc = 0;

	if (rep == NULL) {
		ctx_err(c, o->command_timeout_ms, "ROLE", addr, code, err,
		    errlen);
		return -1;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(rep->element[0]->str, "master") != 0) {
		*code = REDIS_ERR_OTHER;
		say(err, errlen, "%s is not the master (ROLE %s): a "
		    "failover in progress?", addr, rep->type ==
		    REDIS_REPLY_ARRAY && rep->elements > 0 &&
		    rep->element[0]->type == REDIS_REPLY_STRING ?
		    rep->element[0]->str : "?");
		rc = -1;
	}
	freeReplyObject(rep);
	return rc;
}

redisContext *
rds_open_ctx(struct rds_url *u, const struct rds_opts *o, int *code,
    char *err, size_t errlen)
{
	const char *pw = u->password[0] ? u->password : o->password;
	redisContext *c;
	redisReply *rep;
	char addr[300];

	if (u->nsentinels > 0 && sentinel_ask(u, o, code, err, errlen) == -1)
		return NULL;
	if (u->is_unix)
		snprintf(addr, sizeof(addr), "unix://%s", u->path);
	else
		snprintf(addr, sizeof(addr), strchr(u->host, ':') ?
		    "redis://[%s]:%d/%d" : "redis://%s:%d/%d", u->host,
		    u->port, u->db);
	c = ctx_connect(u->host, u->port, u->is_unix ? u->path : NULL,
	    o->connect_timeout_ms);
	if (c == NULL) {
		*code = REDIS_ERR_OOM;
		say(err, errlen, "connect %s: out of memory", addr);
		return NULL;
	}
	if (c->err) {
		ctx_err(c, o->command_timeout_ms, "connect", addr, code, err,
		    errlen);
		goto fail_free;
	}
	if (redisSetTimeout(c, rds_tv(o->command_timeout_ms)) != REDIS_OK) {
		ctx_err(c, o->command_timeout_ms, "set time-out", addr, code,
		    err, errlen);
		goto fail_free;
	}
	if (!u->is_unix)
		(void)redisEnableKeepAlive(c);
	if (pw != NULL && *pw != '\0') {
		if (u->user[0] != '\0')
			rep = redisCommand(c, "AUTH %s %s", u->user, pw);
		else
			rep = redisCommand(c, "AUTH %s", pw);
		if (ctx_setup(c, rep, "AUTH", addr, o->command_timeout_ms,
		    code, err, errlen) == -1)
			goto fail_free;
	}
	if (u->db != 0) {
		rep = redisCommand(c, "SELECT %d", u->db);
		if (ctx_setup(c, rep, "SELECT", addr, o->command_timeout_ms,
		    code, err, errlen) == -1)
			goto fail_free;
	}
	if (u->nsentinels > 0 && ctx_is_master(c, addr, o, code, err,
	    errlen) == -1)
		goto fail_free;
	return c;

fail_free:
	redisFree(c);
	return NULL;
}

static int
rds_open(struct rds *r)
{
	int code = 0;

	r->ctx = rds_open_ctx(&r->url, &r->opts, &code, r->errstr,
	    sizeof(r->errstr));
	if (r->ctx == NULL) {
		r->err = code;
		return -1;
	}
	return 0;
}

static void
rds_schedule(struct rds *r)
{
	int64_t d = backoff_next(&r->backoff, -1);

	if (d < 0)
		d = r->opts.backoff_cap_ms;
	r->retry_at = util_mono_ms() + d;
}

static int
rds_reconnect(struct rds *r)
{
	bool again = r->tried;

	r->tried = true;
	if (rds_open(r) == -1) {
		util_strlcpy(r->lasterr, r->errstr, sizeof(r->lasterr));
		if (r->m_errors != NULL)
			metric_inc(r->m_errors);
		rds_schedule(r);
		return -1;
	}
	if (again) {
		if (r->m_reconnects != NULL)
			metric_inc(r->m_reconnects);
		log_info("redis %s: connected", r->addr);
	}
	if (r->url.nsentinels > 0) {
		char at[sizeof(r->master_at)];

		say(at, sizeof(at), strchr(r->url.host, ':') ? "[%s]:%d" :
		    "%s:%d", r->url.host, r->url.port);
		if (strcmp(at, r->master_at) != 0) {
			log_info("redis %s: the master is %s", r->addr, at);
			util_strlcpy(r->master_at, at, sizeof(r->master_at));
		}
	}
	r->err = 0;
	r->errstr[0] = '\0';
	return 0;
}

/* Connected, or reconnected now, or failing fast until the next try. */
static int
rds_ready(struct rds *r)
{
	int64_t now;

	if (r->ctx != NULL)
		return 0;
	now = util_mono_ms();
	if (now < r->retry_at) {
		rds_seterr(r, RDS_ERR_UNAVAILABLE, "redis unavailable (retry "
		    "in %lld ms): %s", (long long)(r->retry_at - now),
		    r->lasterr);
		return -1;
	}
	return rds_reconnect(r);
}

/*
 * The connection failed under a command. Reconnect on the next command
 * at once the first time; back off when that did not help.
 */
static void
rds_lost(struct rds *r)
{
	ctx_err(r->ctx, r->opts.command_timeout_ms, "", r->addr, &r->err,
	    r->errstr, sizeof(r->errstr));
	rds_drop(r);
}

/*
 * Closes the connection after a failure said in errstr; the next command
 * reconnects at once the first time, and backs off when that did not
 * help.
 */
static void
rds_drop(struct rds *r)
{
	util_strlcpy(r->lasterr, r->errstr, sizeof(r->lasterr));
	log_warnx("redis: %s", r->errstr);
	redisFree(r->ctx);
	r->ctx = NULL;
	r->pending = 0;
	if (r->m_errors != NULL)
		metric_inc(r->m_errors);
	if (backoff_tries(&r->backoff) == 0) {
		(void)backoff_next(&r->backoff, -1);
		r->retry_at = 0;
	} else
		rds_schedule(r);
}

static redisReply *
rds_result(struct rds *r, void *rep)
{
	const redisReply *e = rep;

	if (rep == NULL) {
		rds_lost(r);
		return NULL;
	}
	r->err = 0;
	r->errstr[0] = '\0';
	/*
	 * A master demoted under this connection (a failover): the reply is
	 * the caller's, the connection is not; the next command asks the
	 * sentinels again. Pipelined replies still due are lost with it.
	 */
	if (e->type == REDIS_REPLY_ERROR && e->str != NULL &&
	    strncmp(e->str, "READONLY", 8) == 0) {
		say(r->errstr, sizeof(r->errstr), "%s: %s", r->addr, e->str);
		rds_drop(r);
		r->err = 0;
		r->errstr[0] = '\0';
		return rep;
	}
	if (backoff_tries(&r->backoff) > 0)
		backoff_reset(&r->backoff);
	return rep;
}

/* A reply that is not what tracking needs: said in err, -1. */
static int
tracking_refused(redisReply *r, int want, int *code, char *err,
    size_t errlen)
{
	if (r != NULL && r->type == want)
		return 0;
	*code = r == NULL ? REDIS_ERR_IO : REDIS_ERR_OTHER;
	say(err, errlen, "client tracking: %s", r == NULL ? "no answer" :
	    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	return -1;
}

redisContext *
rds_open_tracking(struct rds_url *u, const struct rds_opts *o,
    const char *prefix, int *code, char *err, size_t errlen)
{
	redisContext *ctx;
	redisReply *r;
	long long id;
	int rc;

	if ((ctx = rds_open_ctx(u, o, code, err, errlen)) == NULL)
		return NULL;
	r = redisCommand(ctx, "CLIENT ID");
	if ((rc = tracking_refused(r, REDIS_REPLY_INTEGER, code, err,
	    errlen)) == 0) {
		id = r->integer;
		freeReplyObject(r);
		r = redisCommand(ctx, "CLIENT TRACKING on REDIRECT %lld BCAST "
		    "PREFIX %s", id, prefix);
		rc = tracking_refused(r, REDIS_REPLY_STATUS, code, err, errlen);
	}
	if (rc == 0) {
		freeReplyObject(r);
		r = redisCommand(ctx, "SUBSCRIBE __redis__:invalidate");
		rc = tracking_refused(r, REDIS_REPLY_ARRAY, code, err, errlen);
	}
	if (r != NULL)
		freeReplyObject(r);
	if (rc == -1) {
		redisFree(ctx);
		return NULL;
	}
	return ctx;
}

void
rds_opts_conf(struct rds_opts *o, const struct grilld_conf *cf)
{
	memset(o, 0, sizeof(*o));
	o->connect_timeout_ms = cf->redis.connect_timeout;
	o->command_timeout_ms = cf->redis.command_timeout;
	o->password = cf->redis.password;
}

struct rds *
rds_connect(const char *url, const struct rds_opts *opts, char *err,
    size_t errlen)
{
	struct rds *r;
	struct backoff_conf bc = { 0 };
	struct metric *m;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "redis: out of memory");
		return NULL;
	}
	if (rds_url_parse(url, &r->url, err, errlen) == -1)
		goto fail_free;
	if (opts != NULL)
		r->opts = *opts;
	if (r->opts.connect_timeout_ms == 0)
		r->opts.connect_timeout_ms = RDS_CONNECT_TIMEOUT_MS;
	if (r->opts.command_timeout_ms == 0)
		r->opts.command_timeout_ms = RDS_COMMAND_TIMEOUT_MS;
	if (r->opts.backoff_base_ms == 0)
		r->opts.backoff_base_ms = RDS_BACKOFF_BASE_MS;
	if (r->opts.backoff_cap_ms == 0)
		r->opts.backoff_cap_ms = RDS_BACKOFF_CAP_MS;
	bc.base_ms = r->opts.backoff_base_ms;
	bc.cap_ms = r->opts.backoff_cap_ms;
	if (r->opts.connect_timeout_ms < 0 || r->opts.command_timeout_ms < 0 ||
	    backoff_init(&r->backoff, &bc) == -1) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "redis: bad options (negative "
			    "time-out, or backoff cap below its base)");
		goto fail_free;
	}
	rds_url_print(&r->url, r->addr, sizeof(r->addr));
	if (r->url.password[0] == '\0' && r->opts.password != NULL &&
	    util_strlcpy(r->url.password, r->opts.password,
	    sizeof(r->url.password)) >= sizeof(r->url.password)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "redis: password too long");
		goto fail_free;
	}
	r->opts.password = NULL;	/* not kept: the copy in url is */
	log_secret(r->url.password);

	if ((m = metric_counter("grilld_redis_reconnects_total",
	    "Connections to Redis made again after one was lost or failed.",
	    NULL)) != NULL)
		r->m_reconnects = metric_with(m);
	if ((m = metric_counter("grilld_redis_errors_total",
	    "Redis connection failures: connects, AUTH or SELECT refused, "
	    "I/O errors and time-outs.", NULL)) != NULL)
		r->m_errors = metric_with(m);

	if (rds_reconnect(r) == -1)
		log_warnx("redis: %s", r->errstr);
	return r;

fail_free:
	free(r);
	return NULL;
}

void
rds_free(struct rds *r)
{
	if (r == NULL)
		return;
	if (r->ctx != NULL)
		redisFree(r->ctx);
	explicit_bzero(r->url.password, sizeof(r->url.password));
	free(r);
}

bool
rds_connected(const struct rds *r)
{
	return r->ctx != NULL && r->ctx->err == 0;
}

const char *
rds_addr(const struct rds *r)
{
	return r->addr;
}

int
rds_pending(const struct rds *r)
{
	return r->pending;
}

redisReply *
rds_command(struct rds *r, const char *fmt, ...)
{
	va_list ap;
	void *rep;

	if (r->pending > 0) {
		rds_seterr(r, REDIS_ERR_OTHER, "%d pipelined replies not read",
		    r->pending);
		return NULL;
	}
	if (rds_ready(r) == -1)
		return NULL;
	va_start(ap, fmt);
	rep = redisvCommand(r->ctx, fmt, ap);
	va_end(ap);
	return rds_result(r, rep);
}

redisReply *
rds_commandargv(struct rds *r, int argc, const char **argv,
    const size_t *argvlen)
{
	if (r->pending > 0) {
		rds_seterr(r, REDIS_ERR_OTHER, "%d pipelined replies not read",
		    r->pending);
		return NULL;
	}
	if (rds_ready(r) == -1)
		return NULL;
	return rds_result(r, redisCommandArgv(r->ctx, argc, argv, argvlen));
}

int
rds_append_argv(struct rds *r, int argc, const char **argv,
    const size_t *argvlen)
{
	if (rds_ready(r) == -1)
		return -1;
	if (redisAppendCommandArgv(r->ctx, argc, argv, argvlen) != REDIS_OK) {
		rds_lost(r);
		return -1;
	}
	r->pending++;
	return 0;
}

int
rds_format_argc(struct buf *b, int argc)
{
	char num[24];
	int n = util_fmt_i64(num, argc);

	if (buf_reserve(b, (size_t)n + 3) == -1)
		return -1;
	b->data[b->len++] = '*';
	memcpy(b->data + b->len, num, (size_t)n);
	b->len += (size_t)n;
	b->data[b->len++] = '\r';
	b->data[b->len++] = '\n';
	return 0;
}

int
rds_format_arg(struct buf *b, const void *p, size_t len)
{
	char num[24];
	int n = util_fmt_i64(num, (int64_t)len);

	if (buf_reserve(b, (size_t)n + len + 5) == -1)
		return -1;
	b->data[b->len++] = '$';
	memcpy(b->data + b->len, num, (size_t)n);
	b->len += (size_t)n;
	b->data[b->len++] = '\r';
	b->data[b->len++] = '\n';
	if (len > 0)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len++] = '\r';
	b->data[b->len++] = '\n';
	b->data[b->len] = '\0';
	return 0;
}

int
rds_send(struct rds *r, const void *data, size_t len, int n)
{
	const char *p = data;
	int done = 0;
	ssize_t w;

	if (rds_ready(r) == -1)
		return -1;
	do {
		if (redisBufferWrite(r->ctx, &done) == REDIS_ERR) {
			rds_lost(r);
			return -1;
		}
	} while (!done);
	while (len > 0) {
		/* The command time-out is on the socket (SO_SNDTIMEO). */
		if ((w = send(r->ctx->fd, p, len, MSG_NOSIGNAL)) == -1 &&
		    errno == EINTR)
			continue;
		if (w <= 0) {
			r->err = REDIS_ERR_IO;
			if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
				say(r->errstr, sizeof(r->errstr), "%s: timed out "
				    "after %lld ms", r->addr,
				    (long long)r->opts.command_timeout_ms);
			else
				say(r->errstr, sizeof(r->errstr), "%s: %s",
				    r->addr, w == 0 ? "connection closed" :
				    strerror(errno));
			rds_drop(r);
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	r->pending += n;
	return 0;
}

redisReply *
rds_get_reply(struct rds *r)
{
	void *rep = NULL;

	if (r->pending == 0 || r->ctx == NULL) {
		rds_seterr(r, REDIS_ERR_OTHER, "no pipelined reply pending");
		return NULL;
	}
	if (redisGetReply(r->ctx, &rep) != REDIS_OK)
		rep = NULL;
	else
		r->pending--;
	return rds_result(r, rep);
}

int
rds_wait(struct rds *r, int n, int64_t ms)
{
	redisReply *rep;
	long long got;

	if (n <= 0)
		return 0;
	if ((rep = rds_command(r, "WAIT %d %lld", n, (long long)ms)) == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_INTEGER) {
		rds_seterr(r, REDIS_ERR_OTHER, "WAIT %s: %s", r->addr,
		    rep->type == REDIS_REPLY_ERROR ? rep->str :
		    "not an integer");
		freeReplyObject(rep);
		return -1;
	}
	got = rep->integer;
	freeReplyObject(rep);
	return got > INT_MAX ? INT_MAX : (int)got;
}

/*
 * Stream replies.
 */

static bool
rds_is_str(const redisReply *e)
{
	return e != NULL && e->type == REDIS_REPLY_STRING && e->str != NULL;
}

/* [id, [name, value, ...] | nil] */
static bool
rds_entry_ok(const redisReply *e)
{
	const redisReply *f;

	if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    !rds_is_str(e->element[0]) || (f = e->element[1]) == NULL)
		return false;
	if (f->type == REDIS_REPLY_NIL)
		return true;
	if (f->type != REDIS_REPLY_ARRAY || f->elements % 2 != 0)
		return false;
	for (size_t i = 0; i < f->elements; i++)
		if (!rds_is_str(f->element[i]))
			return false;
	return true;
}

static bool
rds_entries_ok(const redisReply *a)
{
	if (a == NULL || a->type != REDIS_REPLY_ARRAY)
		return false;
	for (size_t i = 0; i < a->elements; i++)
		if (!rds_entry_ok(a->element[i]))
			return false;
	return true;
}

/* [key, [entry, ...]]: an array whose second element holds arrays. */
static bool
rds_looks_stream(const redisReply *s)
{
	const redisReply *a;

	if (s == NULL || s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
	    (a = s->element[1]) == NULL || a->type != REDIS_REPLY_ARRAY)
		return false;
	return a->elements == 0 || (a->element[0] != NULL &&
	    a->element[0]->type == REDIS_REPLY_ARRAY);
}

/* Returns 1 when fn asked to stop, -1 when memory ran out, else 0. */
static int
rds_walk(const redisReply *entries, const char *stream, rds_entry_fn fn,
    void *arg, int *count)
{
	const char *sn[RDS_STACK_FIELDS], *sv[RDS_STACK_FIELDS];
	size_t snl[RDS_STACK_FIELDS], svl[RDS_STACK_FIELDS];

	for (size_t i = 0; i < entries->elements; i++) {
		const redisReply *e = entries->element[i], *f = e->element[1];
		struct rds_entry ent = { .stream = stream,
		    .id = e->element[0]->str };
		const char **names = sn, **values = sv;
		size_t *nl = snl, *vl = svl, n;
		void *heap = NULL;
		int rv;

		n = f->type == REDIS_REPLY_ARRAY ? f->elements / 2 : 0;
		if (n > RDS_STACK_FIELDS) {
			if ((heap = calloc(n, 2 * sizeof(char *) +
			    2 * sizeof(size_t))) == NULL)
				return -1;
			names = heap;
			values = names + n;
			nl = (size_t *)(void *)(values + n);
			vl = nl + n;
		}
		for (size_t j = 0; j < n; j++) {
			names[j] = f->element[2 * j]->str;
			nl[j] = f->element[2 * j]->len;
			values[j] = f->element[2 * j + 1]->str;
			vl[j] = f->element[2 * j + 1]->len;
		}
		ent.nfields = n;
		ent.names = n ? names : NULL;
		ent.namelens = n ? nl : NULL;
		ent.values = n ? values : NULL;
		ent.valuelens = n ? vl : NULL;
		rv = fn(&ent, arg);
		(*count)++;
		free(heap);
		if (rv != 0)
			return 1;
	}
	return 0;
}

int
rds_stream_entries(const redisReply *rep, rds_entry_fn fn, void *arg)
{
	int count = 0;
	size_t i;

	if (rep == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_NIL)
		return 0;
	if (rep->type != REDIS_REPLY_ARRAY)
		return -1;
	if (rep->elements == 0)
		return 0;

	/* XAUTOCLAIM: cursor, entries[, deleted ids]. */
	if (rds_is_str(rep->element[0])) {
		if (rep->elements < 2 || rep->elements > 3 ||
		    !rds_entries_ok(rep->element[1]))
			return -1;
		if (rds_walk(rep->element[1], NULL, fn, arg, &count) == -1)
			return -1;
		return count;
	}

	/* XREAD, XREADGROUP: streams; XRANGE and alike: entries. */
	if (rds_looks_stream(rep->element[0])) {
		for (i = 0; i < rep->elements; i++)
			if (!rds_looks_stream(rep->element[i]) ||
			    !rds_is_str(rep->element[i]->element[0]) ||
			    !rds_entries_ok(rep->element[i]->element[1]))
				return -1;
		for (i = 0; i < rep->elements; i++) {
			const redisReply *s = rep->element[i];
			int rv = rds_walk(s->element[1], s->element[0]->str,
			    fn, arg, &count);

			if (rv == -1)
				return -1;
			if (rv == 1)
				break;
		}
		return count;
	}
	if (!rds_entries_ok(rep))
		return -1;
	if (rds_walk(rep, NULL, fn, arg, &count) == -1)
		return -1;
	return count;
}

const char *
rds_entry_get(const struct rds_entry *e, const char *name, size_t *len)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < e->nfields; i++) {
		if (e->namelens[i] == n && memcmp(e->names[i], name, n) == 0) {
			if (len != NULL)
				*len = e->valuelens[i];
			return e->values[i];
		}
	}
	return NULL;
}
