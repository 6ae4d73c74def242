/*
 * daemon: what every grilld daemon does the same way.
 *
 *   -f FILE   YAML configuration          -n  check it, print
 *   -d        foreground, log to stderr        "configuration OK", exit
 *   -v        more verbose (repeatable)   -h  usage
 *
 * daemon_setup() parses that command line, loads and validates the
 * configuration (options.h) before any socket opens, sets up logging and
 * the signal flags, and returns; on -n, -h or a bad configuration it
 * exits. Without -d the daemon detaches and logs to syslog; under
 * systemd, Kubernetes and `make run` daemons run with -d.
 *
 * Before the configuration is read it turns core dumps off and makes
 * the process non-dumpable (no ptrace, no /proc/PID/mem for the same
 * user): memory holds the secrets. log.core_dumps: true undoes both.
 *
 * Signal handlers only set flags: SIGTERM and SIGINT ask to stop
 * (daemon_stopping), SIGHUP to reload (daemon_reload_pending); SIGPIPE
 * is ignored. The main loop calls daemon_heartbeat() at least every few
 * seconds: /health/live reports a loop that stopped beating. The first
 * beat, once the daemon's servers are up, tells systemd READY=1
 * (Type=notify units); daemon_teardown() tells it STOPPING=1.
 */
#ifndef GRILLD_DAEMON_H
#define GRILLD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "options.h"

#define DAEMON_STALL_MS 30000

/*
 * d->cf is the main thread's copy of the current configuration: a reload
 * overwrites it, and its strings and trees live only until the next
 * reload. Every other thread reads a snapshot instead: the main thread
 * holds one with daemon_conf_hold() (the daemons hold the one they start
 * with for the life of their threads: settings other than the log level
 * take effect at the next start) and passes that pointer on.
 */
struct daemon {
	const char		*name;		/* "grilld-poller" */
	unsigned		 who;		/* CONF_POLLER, ... */
	struct grilld_conf	 cf;		/* main thread only */
	struct conf		 conf;
	const struct grilld_conf *boot;		/* the first, held */
	const char		*file;
	bool			 foreground;
	int			 verbose;
};

/*
 * A daemon whose tree options (CONF_TREE) need more checking than the
 * option table can do registers a checker before daemon_setup(). It runs
 * once the configuration has loaded, before -n answers; it writes what
 * is wrong (one problem a line, "file:line: key: ...") into its buffer
 * and returns -1, and the daemon then prints that and exits 1. On a
 * reload it runs on the new configuration first: if it refuses, that is
 * logged and the running configuration stays.
 */
typedef int (*daemon_check_fn)(const struct grilld_conf *, char *, size_t);
void	daemon_set_check(daemon_check_fn);

void	daemon_setup(struct daemon *, const char *, unsigned, int, char **);
/* Reloads the file; 0, or -1 (the old configuration stays, errors logged). */
int	daemon_reload(struct daemon *);
void	daemon_teardown(struct daemon *);
/*
 * The current configuration as an immutable snapshot, readable by any
 * thread until daemon_conf_drop() (which may come after teardown).
 */
const struct grilld_conf *daemon_conf_hold(struct daemon *);
void	daemon_conf_drop(const struct grilld_conf *);

bool	daemon_stopping(void);
void	daemon_request_stop(void);
bool	daemon_reload_pending(void);	/* clears the flag */
void	daemon_heartbeat(void);
int64_t	daemon_heartbeat_age_ms(void);
/* Sleeps up to ms, waking early when a stop is requested. */
void	daemon_sleep(int64_t);

#endif
