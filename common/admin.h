/*
 * admin: the HTTP endpoints every daemon serves for operators and
 * orchestrators, on civetweb.
 *
 *   GET /metrics       Prometheus text (the process registry, plus
 *                      process_* and grilld_build_info)
 *   GET /health/live   200 while the daemon's main loop beats
 *                      (daemon_heartbeat), 503 when it has stalled
 *   GET /health/ready  200 when the daemon's ready callback says so,
 *                      503 otherwise; both answer JSON with the reason
 *
 * The poller, the ingester and the simulator run admin_start() on their
 * admin_listen address; the API and the stream add the same handlers to
 * their own server with admin_register(). Answers are JSON errors for
 * anything else (404, and 405 with Allow for other methods).
 *
 * The ready callback runs on a civetweb worker thread: it must be
 * thread-safe and quick. It writes a JSON object (without braces) of
 * details into its buffer, e.g. "\"redis\":\"up\"".
 */
#ifndef GRILLD_ADMIN_H
#define GRILLD_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct mg_context;
struct mg_connection;

typedef bool (*admin_ready_fn)(void *, struct buf *);

struct admin;

struct admin	*admin_start(const char *, admin_ready_fn, void *, char *,
		    size_t);
void		 admin_stop(struct admin *);
void		 admin_register(struct mg_context *, admin_ready_fn, void *);

/* Helpers for every civetweb handler of grilld. */
int	admin_send(struct mg_connection *, int, const char *, const char *,
	    size_t, const char *);
int	admin_send_error(struct mg_connection *, int, const char *,
	    const char *);
const char *admin_status_text(int);
/* Starts civetweb with grilld's logging; options as for mg_start. */
struct mg_context *admin_mg_start(const char **, char *, size_t);

#endif
