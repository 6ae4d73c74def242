/*
 * grilld-stream: see stream.h.
 */
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>

#include "admin.h"
#include "daemon.h"
#include "log.h"
#include "stream.h"

static bool
stream_ready(void *arg, struct buf *why)
{
	return true;
}

static int
stream_notfound(struct mg_connection *c, void *arg)
{
	return admin_send_error(c, 404, "NOT_FOUND", "no such route");
}

int
main(int argc, char *argv[])
{
	const char *opts[] = { "listening_ports", NULL, "num_threads", "16",
		"request_timeout_ms", "30000", "enable_keep_alive", "yes",
		NULL };
	struct mg_context *ctx;
	struct daemon d;
	char err[256];

	daemon_setup(&d, "grilld-stream", CONF_STREAM, argc, argv);
	opts[1] = d.cf.stream.listen;
	if ((ctx = admin_mg_start(opts, err, sizeof(err))) == NULL)
		fatalx("listen on %s: %s", d.cf.stream.listen, err);
	admin_register(ctx, stream_ready, NULL);
	mg_set_request_handler(ctx, "/", stream_notfound, NULL);
	log_info("listening on http://%s", d.cf.stream.listen);
	while (!daemon_stopping()) {
		daemon_heartbeat();
		if (daemon_reload_pending())
			daemon_reload(&d);
		daemon_sleep(1000);
	}
	log_info("stopping");
	mg_stop(ctx);
	daemon_teardown(&d);
	return 0;
}
