/*
 * influx: InfluxDB 1.x over HTTP with libcurl, the one transport of every
 * daemon that talks to it: the ingester's writes and setup queries, the
 * API's reads and its /health ping. What a daemon makes of an answer
 * (InfluxQL quoting, the answer walker, breakers) stays with it.
 *
 * One handle per thread, reused, so the connection stays alive between
 * requests; the CA, user and password of influx.*, a connect time-out
 * (the shorter of INFLUX_CONNECT_MS and the request's) and a total
 * time-out on every request. Write bodies are gzipped when that helps
 * (influx_gzip_wanted()).
 */
#ifndef GRILLD_INFLUX_H
#define GRILLD_INFLUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "util.h"

#define INFLUX_CONNECT_MS	2000
#define INFLUX_ERR_MAX		(64 * 1024)	/* of a write's answer, kept */

/* The class of a write's answer (FIELD-LESSONS.md). */
enum influx_result {
	INFLUX_OK,		/* 204 */
	INFLUX_REJECTED,	/* 400: bad points */
	INFLUX_TOO_LARGE,	/* 413 */
	INFLUX_RETRY,		/* 408, 429, 5xx, transport */
	INFLUX_NO_DB,		/* 404 database not found */
	INFLUX_DENIED,		/* 401, 403 */
};

struct influx_opts {
	const char	*agent;		/* User-Agent */
	bool		 gzip;		/* compress large write bodies */
	size_t		 answer_max;	/* bytes of a query answer */
};

struct influx;
/* influx.url, .database, .username, .password, .ca_file, .timeout. */
struct influx	*influx_new(const struct grilld_conf *,
		    const struct influx_opts *, char *, size_t);
void		 influx_free(struct influx *);
/* A request in progress is aborted as soon as fn(arg) says true. */
void		 influx_set_cancel(struct influx *, bool (*)(void *), void *);
/* The total time-out of the requests that follow (ms). */
void		 influx_set_timeout(struct influx *, int64_t);
/* A traceparent sent with the requests that follow; NULL or "": none. */
void		 influx_set_traceparent(struct influx *, const char *);

/*
 * POSTs a body of line protocol to the raw policy. Returns the class of
 * the answer; status (0: transport error), the server's error message
 * and a Retry-After (ms, -1: none) come back through the pointers.
 */
enum influx_result influx_write(struct influx *, const char *, size_t,
		    int *, char *, size_t, int64_t *);
enum influx_result influx_classify(int, const char *);
const char	*influx_result_name(enum influx_result);
/*
 * POST /query with q (and params such as "epoch=u", NULL: none). The
 * answer goes to out (at most answer_max bytes: a longer one fails the
 * transfer); status is the HTTP status, 0 for a transport error
 * (influx_error() says which). 0 when HTTP said 200.
 */
int		 influx_query(struct influx *, const char *, const char *,
		    struct buf *, int *);
/* GET /ping: 0 when it answered 204 (or 200); status as above. */
int		 influx_ping(struct influx *, int *);
/* The transport error of the last request ("" if none). */
const char	*influx_error(const struct influx *);
/* Whether the last request failed by its time-out. */
bool		 influx_timed_out(const struct influx *);
/* on (always), off (never) or auto (when InfluxDB is not on loopback). */
bool		 influx_gzip_wanted(const char *, const char *);
/*
 * The lines a 400 names: "unable to parse '<line>': reason" (several
 * separated by newlines). Calls fn(line, len, reason, arg) for each;
 * returns how many, 0 when the message names no line (a field type
 * conflict, for one).
 */
int		 influx_parse_rejects(const char *,
		    void (*)(const char *, size_t, const char *, void *),
		    void *);
const char	*influx_db(const struct influx *);
const struct grilld_conf *influx_conf(const struct influx *);

#endif
