/*
 * grilld-twsim: see twsim.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "admin.h"
#include "daemon.h"
#include "log.h"
#include "twsim.h"

static bool
twsim_ready(void *arg, struct buf *why)
{
	return true;
}

int
main(int argc, char *argv[])
{
	struct daemon d;
	struct admin *admin;
	char err[256];

	daemon_setup(&d, "grilld-twsim", CONF_TWSIM, argc, argv);
	if ((admin = admin_start(d.cf.twsim.admin_listen, twsim_ready, NULL, err,
	    sizeof(err))) == NULL)
		fatalx("admin server on %s: %s", d.cf.twsim.admin_listen, err);
	log_info("admin on http://%s", d.cf.twsim.admin_listen);
	while (!daemon_stopping()) {
		daemon_heartbeat();
		if (daemon_reload_pending())
			daemon_reload(&d);
		daemon_sleep(1000);
	}
	log_info("stopping");
	admin_stop(admin);
	daemon_teardown(&d);
	return 0;
}
