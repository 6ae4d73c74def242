/*
 * grilld-poller: see poller.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "admin.h"
#include "daemon.h"
#include "log.h"
#include "poller.h"

static bool
poller_ready(void *arg, struct buf *why)
{
	return true;
}

int
main(int argc, char *argv[])
{
	struct daemon d;
	struct admin *admin;
	char err[256];

	daemon_setup(&d, "grilld-poller", CONF_POLLER, argc, argv);
	if ((admin = admin_start(d.cf.poller.admin_listen, poller_ready, NULL, err,
	    sizeof(err))) == NULL)
		fatalx("admin server on %s: %s", d.cf.poller.admin_listen, err);
	log_info("admin on http://%s", d.cf.poller.admin_listen);
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
