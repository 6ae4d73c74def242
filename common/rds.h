/*
 * rds: a synchronous Redis connection (hiredis) that reconnects by itself,
 * at a pace that does not hammer a Redis that is down.
 *
 * URL (rds_url_parse()), parsed strictly; a bad one is refused with the
 * reason (never echoing the password):
 *	redis://[[user]:password@]host[:port][/db]	port 6379, db 0
 *	unix://[[user]:password@]/path/to/redis.sock[?db=N]
 *	redis-sentinel://[[user]:password@]host[:port][,host[:port]]...
 *	    /master[/db]			sentinel port 26379
 * host is a name, an IPv4 address or a bracketed IPv6 one ("[::1]").
 * In user and password, %XX escapes stand for any byte ("%40" for '@').
 * A user logs in with "AUTH user password" (Redis 6 ACL), a password
 * alone with "AUTH password". rediss:// (TLS) is not supported.
 *
 * Sentinel (redis-sentinel://): up to RDS_MAX_SENTINELS sentinels, asked
 * in turn for the address of the named master (SENTINEL
 * get-master-addr-by-name); the first that answers moves to the head of
 * the list, so the next resolution asks it first. The user and password
 * are the master's; the sentinels are asked without AUTH. Every
 * connection asks the sentinels again, and a server that does not say
 * ROLE master is refused (a failover in progress, or a stale answer):
 * the connection fails, and the next try is paced as below. A -READONLY
 * error reply (the server was demoted under an open connection) drops
 * the connection as an I/O error would, so that the next command finds
 * the new master. On a plain redis:// URL ROLE is not asked.
 *
 * Connecting: connect time-out, then the command time-out on the socket
 * for every later read and write (redisConnectWithTimeout() and
 * redisSetTimeout()), then AUTH and SELECT. Host names are resolved with
 * getaddrinfo(), which the time-out does not cover.
 *
 * Errors, as in hiredis: a function that fails sets r->err (a
 * REDIS_ERR_* code, or RDS_ERR_UNAVAILABLE) and r->errstr (one line);
 * both are cleared by the next success. A command that got its reply
 * returns it even when it is a REDIS_REPLY_ERROR ("-WRONGTYPE ...",
 * "-BUSYGROUP ..."): that is Redis answering, not a failure of the
 * connection, and r->err stays 0. NULL means no reply: the connection
 * failed (or the call was misused), and err/errstr say why.
 *
 * Reconnecting: after an I/O error, a time-out or a protocol error the
 * connection is dropped. The next command reconnects, at once the first
 * time; if that fails, the following tries are spaced by exponential
 * backoff with full jitter (common/backoff.h, base and cap in struct
 * rds_opts), and until a try is due every command fails at once, without
 * touching the network, with RDS_ERR_UNAVAILABLE and errstr
 * "redis unavailable (retry in N ms): <the last error>". The backoff
 * starts over after a command succeeds. A command that failed is never
 * resent: it may or may not have run (an XADD may have been stored).
 *
 * Time-outs: a dead or hung Redis costs a call at most the connect
 * time-out (when it reconnects) plus the command time-out for each
 * command it sends (AUTH and SELECT included). A blocking command
 * (XREADGROUP ... BLOCK ms, BLPOP) must block for less than the command
 * time-out, or it times out and the connection is dropped.
 *
 * Replies: every redisReply * returned is the caller's, to free with
 * freeReplyObject().
 *
 * Metrics: grilld_redis_reconnects_total (connections re-established
 * after one was lost or failed) and grilld_redis_errors_total (failed
 * connects, AUTH/SELECT refusals, I/O errors, time-outs; not error
 * replies, and not the fail-fast refusals while waiting to retry).
 *
 * Thread-safety: a struct rds is used by one thread at a time, like a
 * redisContext; open one per thread. The process must ignore SIGPIPE
 * (grilld's daemons do): hiredis writes with write(2).
 */
#ifndef GRILLD_RDS_H
#define GRILLD_RDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "backoff.h"
#include "metrics.h"

#define RDS_ERRSTR_LEN		256
#define RDS_ERR_UNAVAILABLE	100	/* waiting for the next try */
#define RDS_DEFAULT_PORT	6379
#define RDS_SENTINEL_PORT	26379
#define RDS_MAX_SENTINELS	8

#define RDS_CONNECT_TIMEOUT_MS	2000
#define RDS_COMMAND_TIMEOUT_MS	5000
#define RDS_BACKOFF_BASE_MS	100
#define RDS_BACKOFF_CAP_MS	5000

/* Zero fields take the defaults above. */
struct rds_opts {
	int64_t	 connect_timeout_ms;
	int64_t	 command_timeout_ms;
	int64_t	 backoff_base_ms;
	int64_t	 backoff_cap_ms;
	const char *password;	/* when the URL has none (redis.password) */
};

struct grilld_conf;
/* The options of the configuration's redis section (common/options.h). */
void	rds_opts_conf(struct rds_opts *, const struct grilld_conf *);

struct rds_hostport {
	char	 host[256];		/* without brackets */
	int	 port;
};

struct rds_url {
	bool	 is_unix;
	char	 host[256];		/* without brackets; with sentinels,
					   the master they named last */
	int	 port;
	char	 path[108];		/* unix socket, sizeof(sun_path) */
	char	 user[128];		/* "" for none */
	char	 password[256];		/* "" for none */
	int	 db;
	int	 nsentinels;		/* 0: not a sentinel URL */
	struct rds_hostport sentinels[RDS_MAX_SENTINELS];
	char	 master[128];		/* the master's name */
};

/* Returns 0, or -1 with the reason in err (errlen bytes; 128 will do). */
int	rds_url_parse(const char *, struct rds_url *, char *, size_t);
/*
 * The URL without user and password, for log lines, into out (outlen
 * bytes; 300 will do for one host, more for many sentinels).
 */
void	rds_url_print(const struct rds_url *, char *, size_t);

/*
 * A connected, authenticated context on the database of u (the master
 * of the sentinels on a sentinel URL, whose address is left in u->host
 * and u->port), with the command time-out set on its socket; or NULL
 * with a REDIS_ERR_* code in *code and the reason in err (time-outs as
 * in rds_connect(); opts must have them set). For callers that need a
 * bare redisContext (client tracking, pub/sub); everything else uses
 * struct rds. The password of opts is used when the URL has none.
 */
redisContext	*rds_open_ctx(struct rds_url *, const struct rds_opts *,
		    int *, char *, size_t);
/*
 * rds_open_ctx(), then client tracking of the keys under prefix in
 * broadcast mode, its invalidations redirected to this same connection
 * (CLIENT TRACKING on REDIRECT <own id> BCAST PREFIX, SUBSCRIBE
 * __redis__:invalidate): every message that arrives afterwards means a
 * key under prefix moved. NULL as rds_open_ctx(); a Redis that refuses
 * tracking is REDIS_ERR_OTHER with its answer in err.
 */
redisContext	*rds_open_tracking(struct rds_url *, const struct rds_opts *,
		    const char *, int *, char *, size_t);

struct rds {
	int		 err;		/* 0, REDIS_ERR_*, RDS_ERR_UNAVAILABLE */
	char		 errstr[RDS_ERRSTR_LEN];

	/* Private. */
	redisContext	*ctx;		/* NULL while disconnected */
	struct rds_url	 url;
	char		 addr[2400];	/* rds_addr() */
	struct rds_opts	 opts;
	struct backoff	 backoff;
	int64_t		 retry_at;	/* monotonic ms; no try before */
	int		 pending;	/* pipelined replies not yet read */
	bool		 tried;		/* a connect was tried before */
	char		 lasterr[RDS_ERRSTR_LEN];	/* of the network */
	char		 master_at[300];	/* the master last logged */
	struct metric_series *m_reconnects;
	struct metric_series *m_errors;
};

/*
 * Parses the URL and connects once. Returns NULL only for a bad URL or
 * bad options (the reason in err) or when memory ran out. A Redis that
 * is down is no reason for NULL: the context comes back with err set,
 * rds_connected() false, and the commands reconnect as described above.
 * opts may be NULL. The password is handed to log_secret().
 */
struct rds	*rds_connect(const char *, const struct rds_opts *, char *,
		    size_t);
void		 rds_free(struct rds *);		/* NULL allowed */
/* True while a connection is up, as far as the last I/O could tell. */
bool		 rds_connected(const struct rds *);
/*
 * The URL without user and password, for log lines:
 * "redis://127.0.0.1:6379/0", "unix:///run/redis.sock?db=2".
 */
const char	*rds_addr(const struct rds *);

/*
 * A command, formatted as hiredis's redisCommand() does (%s, %b with a
 * pointer and a length, ...), or as argv (argvlen NULL: strlen of each).
 * Returns the reply (an error reply included), or NULL. Fails while
 * pipelined replies are still to be read.
 */
redisReply	*rds_command(struct rds *, const char *, ...);
redisReply	*rds_commandargv(struct rds *, int, const char **,
		    const size_t *);

/*
 * Pipelining: append n commands (nothing is sent yet; the connection is
 * made first if needed), then read exactly n replies in order. A NULL
 * from rds_get_reply() means the connection failed: the replies still
 * due are lost (their commands may or may not have run) and nothing is
 * pending any more. rds_get_reply() never reconnects; with nothing
 * pending it fails at once.
 */
int		 rds_append_argv(struct rds *, int, const char **,
		    const size_t *);
redisReply	*rds_get_reply(struct rds *);
int		 rds_pending(const struct rds *);

/*
 * Pipelining thousands of commands at once (the ingester's hot path):
 * rds_format_argc() and rds_format_arg() append one command, in the
 * protocol Redis reads, to a buffer the caller keeps and reuses (a
 * command of argc arguments is the first call, then argc of the second);
 * rds_send() writes the buffer and makes n more replies pending, read
 * with rds_get_reply() as above. hiredis would format each command
 * into a fresh string and copy it into an output buffer that it grows
 * from nothing for every pipeline and frees after writing it: a few
 * microseconds per reading of copies and page faults. Commands appended
 * with rds_append_argv() before go first. 0, or -1 (memory for the
 * format calls; for rds_send() a failed connection, dropped as any I/O
 * error drops it, err/errstr saying why, nothing pending any more).
 */
struct buf;
int		 rds_format_argc(struct buf *, int);
int		 rds_format_arg(struct buf *, const void *, size_t);
int		 rds_send(struct rds *, const void *, size_t, int);

/*
 * Redis WAIT: blocks until n replicas hold every write of this
 * connection so far, or ms pass. Returns how many do (n or more: the
 * writes survive the loss of the master), or -1 when the connection
 * failed (err/errstr say why) or Redis refused WAIT. n == 0 returns 0 at
 * once without a round trip. ms must be below the command time-out.
 */
int		 rds_wait(struct rds *, int, int64_t);

/*
 * Stream replies, so that no daemon indexes reply->element[][] itself.
 * rds_stream_entries() calls fn once per entry, in order, for the
 * replies of XREAD and XREADGROUP (streams of entries: stream is set),
 * XRANGE, XREVRANGE and XCLAIM (entries), and XAUTOCLAIM (cursor and
 * entries); a NIL reply (a BLOCK that timed out) has no entry.
 *
 * Everything in a struct rds_entry points into the reply and is valid
 * while fn runs (the strings until the reply is freed); strings are
 * NUL-terminated, but values may hold any bytes: use the lengths.
 * An entry deleted while pending (XREADGROUP history, XCLAIM) has no
 * fields: nfields is 0.
 *
 * fn returns 0 to go on, anything else to stop early. The whole reply is
 * checked first: the result is -1 when it does not have the shape of a
 * stream reply (an error reply included), and fn was then never called;
 * else the number of entries fn was called for (-1 also when memory ran
 * out for an entry of more than 32 fields, after the entries before it).
 */
struct rds_entry {
	const char		*stream;	/* NULL for XRANGE and alike */
	const char		*id;		/* "1700000000000-0" */
	size_t			 nfields;	/* name/value pairs */
	const char *const	*names;
	const size_t		*namelens;
	const char *const	*values;
	const size_t		*valuelens;
};
typedef int	(*rds_entry_fn)(const struct rds_entry *, void *);
int		 rds_stream_entries(const redisReply *, rds_entry_fn, void *);
/* The value of the first field of that name, and its length; or NULL. */
const char	*rds_entry_get(const struct rds_entry *, const char *, size_t *);

#endif
