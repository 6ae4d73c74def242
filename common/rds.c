#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "log.h"
#include "rds.h"
#include "util.h"

/* Field arrays of entries this small live on the stack. */
#define RDS_STACK_FIELDS	32

static void	rds_seterr(struct rds *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	rds_ctxerr(struct rds *, const redisContext *, const char *);
static int	rds_open(struct rds *);
static int	rds_setup_reply(struct rds *, redisContext *, redisReply *,
		    const char *);
static int	rds_reconnect(struct rds *);
static int	rds_ready(struct rds *);
static void	rds_schedule(struct rds *);
static void	rds_lost(struct rds *);
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

static int
url_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
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

			if (len - i < 3 || (hi = url_hex(s[i + 1])) == -1 ||
			    (lo = url_hex(s[i + 2])) == -1)
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
			if (url_hex(*p) == -1 && *p != ':' && *p != '.')
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
	else if (strncmp(url, "unix://", 7) == 0) {
		p = url + 7;
		u->is_unix = true;
	} else if (strncmp(url, "rediss://", 9) == 0)
		return url_err(err, errlen, "TLS (rediss://) is not "
		    "supported");
	else
		return url_err(err, errlen, "scheme is not redis:// or "
		    "unix://");

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
	for (q = p; q < auth_end; q++)
		if (*q == '@')
			at = q;
	if (at != NULL) {
		if (url_userinfo(p, (size_t)(at - p), u, err, errlen) == -1)
			return -1;
		p = at + 1;
	}
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

/* A hiredis failure, with a time-out said as such. */
static void
rds_ctxerr(struct rds *r, const redisContext *c, const char *what)
{
	const char *s = c->errstr;
	char tmo[64];

	if (c->err == REDIS_ERR_IO && (strcmp(s, strerror(EAGAIN)) == 0 ||
	    strcmp(s, strerror(EWOULDBLOCK)) == 0)) {
		snprintf(tmo, sizeof(tmo), "timed out after %lld ms",
		    (long long)r->opts.command_timeout_ms);
		s = tmo;
	}
	rds_seterr(r, c->err ? c->err : REDIS_ERR_OTHER, "%s%s%s: %s",
	    what, *what ? " " : "", r->addr, s);
}

static int
rds_setup_reply(struct rds *r, redisContext *c, redisReply *rep,
    const char *what)
{
	if (rep == NULL) {
		rds_ctxerr(r, c, what);
		return -1;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		rds_seterr(r, REDIS_ERR_OTHER, "%s %s: %s", what, r->addr,
		    rep->str);
		freeReplyObject(rep);
		return -1;
	}
	freeReplyObject(rep);
	return 0;
}

static int
rds_open(struct rds *r)
{
	const struct rds_url *u = &r->url;
	redisContext *c;
	redisReply *rep;

	if (u->is_unix)
		c = redisConnectUnixWithTimeout(u->path,
		    rds_tv(r->opts.connect_timeout_ms));
	else
		c = redisConnectWithTimeout(u->host, u->port,
		    rds_tv(r->opts.connect_timeout_ms));
	if (c == NULL) {
		rds_seterr(r, REDIS_ERR_OOM, "connect %s: out of memory",
		    r->addr);
		return -1;
	}
	if (c->err) {
		rds_ctxerr(r, c, "connect");
		goto fail_free;
	}
	if (redisSetTimeout(c, rds_tv(r->opts.command_timeout_ms)) !=
	    REDIS_OK) {
		rds_ctxerr(r, c, "set time-out");
		goto fail_free;
	}
	if (!u->is_unix)
		(void)redisEnableKeepAlive(c);
	if (u->password[0] != '\0') {
		if (u->user[0] != '\0')
			rep = redisCommand(c, "AUTH %s %s", u->user,
			    u->password);
		else
			rep = redisCommand(c, "AUTH %s", u->password);
		if (rds_setup_reply(r, c, rep, "AUTH") == -1)
			goto fail_free;
	}
	if (u->db != 0) {
		rep = redisCommand(c, "SELECT %d", u->db);
		if (rds_setup_reply(r, c, rep, "SELECT") == -1)
			goto fail_free;
	}
	r->ctx = c;
	return 0;

fail_free:
	redisFree(c);
	return -1;
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
	rds_ctxerr(r, r->ctx, "");
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
	if (rep == NULL) {
		rds_lost(r);
		return NULL;
	}
	r->err = 0;
	r->errstr[0] = '\0';
	if (backoff_tries(&r->backoff) > 0)
		backoff_reset(&r->backoff);
	return rep;
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
	if (r->url.is_unix)
		snprintf(r->addr, sizeof(r->addr), "unix://%s?db=%d",
		    r->url.path, r->url.db);
	else
		snprintf(r->addr, sizeof(r->addr), strchr(r->url.host, ':') ?
		    "redis://[%s]:%d/%d" : "redis://%s:%d/%d", r->url.host,
		    r->url.port, r->url.db);
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
