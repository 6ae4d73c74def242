/*
 * grilld-twsim: the ThermoWorks cloud simulator. See twsim.h for the
 * model and docs/twsim.md for configuring it and driving faults.
 *
 * Start-up: the configuration (and the account and fault trees, also
 * for -n), the world, the admin server, then the public one. SIGHUP
 * re-reads twsim.faults; the world itself is fixed for the life of the
 * process. SIGTERM stops the public server first (in-flight answers
 * finish), then the admin one.
 */
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "twsim.h"

static int
check(const struct grilld_conf *cf, char *err, size_t len)
{
	size_t used;
	int rc = 0;

	err[0] = '\0';
	if (cf->twsim.accounts != NULL &&
	    scenario_check(cf->twsim.accounts, err, len) == -1)
		rc = -1;
	used = strlen(err);
	if (cf->twsim.faults != NULL && used + 1 < len &&
	    fault_check_tree(cf->twsim.faults, err + used + (used ? 1 : 0),
	    len - used - 1) == -1) {
		if (used)
			err[used] = '\n';
		rc = -1;
	}
	return rc;
}

/*
 * The start of the sessions: now, or the one twsim.state_file kept (a
 * restart goes on with the sessions that were running).
 */
static int64_t
session_start(const struct grilld_conf *cf)
{
	const char *path = cf->twsim.state_file;
	uint64_t seed = (uint64_t)cf->twsim.seed;
	int64_t t0 = util_now_ns() / NS_PER_MS;
	char err[512];
	int rc;

	if (path == NULL || path[0] == '\0')
		return t0;
	if ((rc = state_load(path, seed, &t0, err, sizeof(err))) == -1)
		fatalx("twsim.state_file: %s", err);
	if (rc == 1) {
		log_info("%s: going on with the sessions that began %lld s ago",
		    path, (long long)(util_now_ns() / NS_PER_MS - t0) / 1000);
		return t0;
	}
	if (state_save(path, seed, t0, err, sizeof(err)) == -1)
		fatalx("twsim.state_file: %s", err);
	return t0;
}

static struct tw_world *
build(const struct grilld_conf *cf)
{
	struct tw_world *w;
	char err[4096];

	w = scenario_new((uint64_t)cf->twsim.seed, cf->twsim.speed,
	    session_start(cf), cf->twsim.token_lifetime, cf->twsim.api_key);
	if ((w->faults = fault_new((uint64_t)cf->twsim.seed)) == NULL)
		fatalx("out of memory");
	if (cf->twsim.accounts != NULL &&
	    scenario_load(w, cf->twsim.accounts, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (demo_build(w, cf->twsim.devices, cf->twsim.time_scale, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	/* The pauses of the sessions going on (session_start() read it). */
	w->state_file = cf->twsim.state_file;
	if (w->state_file != NULL && w->state_file[0] != '\0' &&
	    state_load(w->state_file, w->seed, &(int64_t){ 0 }, err,
	    sizeof(err)) == 1 && state_load_pauses(w->state_file, w, err,
	    sizeof(err)) == -1)
		fatalx("twsim.state_file: %s", err);
	if (cf->twsim.faults != NULL &&
	    fault_add_tree(w, cf->twsim.faults, true, err, sizeof(err)) == -1)
		fatalx("%s", err);
	return w;
}

int
main(int argc, char *argv[])
{
	struct daemon d;
	struct tw_world *w;
	struct mg_context *http, *control;
	char err[256];

	daemon_set_check(check);
	daemon_setup(&d, "grilld-twsim", CONF_TWSIM, argc, argv);
	w = build(&d.cf);
	if ((control = control_start(w, d.cf.twsim.admin_listen, err,
	    sizeof(err))) == NULL)
		fatalx("admin server on %s: %s", d.cf.twsim.admin_listen, err);
	if ((http = serve_start(w, d.cf.twsim.listen, (int)d.cf.twsim.threads,
	    err, sizeof(err))) == NULL)
		fatalx("server on %s: %s", d.cf.twsim.listen, err);
	log_info("%zu account(s), %zu device(s), %zu channel(s), seed %lld, "
	    "speed %g", w->naccounts, w->ndevices, w->nchannels,
	    (long long)w->seed, w->speed);
	log_info("cloud on http://%s, admin on http://%s", d.cf.twsim.listen,
	    d.cf.twsim.admin_listen);
	while (!daemon_stopping()) {
		daemon_heartbeat();
		if (daemon_reload_pending() && daemon_reload(&d) == 0) {
			char why[1024];

			if (d.cf.twsim.faults == NULL)
				fault_clear(w->faults, false);
			else if (fault_add_tree(w, d.cf.twsim.faults, true, why,
			    sizeof(why)) == -1)
				log_warnx("reload: %s", why);
		}
		daemon_sleep(1000);
	}
	log_info("stopping");
	mg_stop(http);
	mg_stop(control);
	scenario_free(w);
	daemon_teardown(&d);
	return 0;
}
