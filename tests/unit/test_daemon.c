#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "daemon.h"
#include "unit.h"

static struct daemon	 d;
static char		 path[512];

static void
write_conf(const char *text)
{
	FILE *fp = fopen(path, "w");

	fputs(text, fp);
	fclose(fp);
	chmod(path, 0600);
}

/* The daemon's own check of its trees: here, no faults at all. */
static int
check(const struct grilld_conf *cf, char *why, size_t len)
{
	if (cf->twsim.faults == NULL)
		return 0;
	snprintf(why, len, "twsim.faults: refused by the test\n");
	return -1;
}

static void
test_reload_runs_check(void)
{
	CHECK_INT(d.cf.twsim.seed, 5);
	write_conf("twsim:\n  seed: 6\n  faults:\n    - kind: slow\n");
	CHECK(daemon_reload(&d) == -1);
	CHECK_INT(d.cf.twsim.seed, 5);		/* the running one stays */
	CHECK(d.cf.twsim.faults == NULL);
	write_conf("twsim:\n  seed: 7\n");
	CHECK(daemon_reload(&d) == 0);
	CHECK_INT(d.cf.twsim.seed, 7);
}

/* A reload refuses what the start refuses: URLs no client could use. */
static void
test_reload_checks_urls(void)
{
	unsigned who = d.who;

	d.who = CONF_INGEST;
	write_conf("twsim:\n  seed: 7\nredis:\n  url: ftp://x\n");
	CHECK(daemon_reload(&d) == -1);
	CHECK_STR(d.cf.redis.url, "redis://127.0.0.1:6379/0");
	write_conf("twsim:\n  seed: 7\ninflux:\n  url: redis://x:1\n");
	CHECK(daemon_reload(&d) == -1);
	CHECK_STR(d.cf.influx.url, "http://127.0.0.1:8086");
	write_conf("twsim:\n  seed: 7\nredis:\n  url: redis://h:1/2\n");
	CHECK(daemon_reload(&d) == 0);
	CHECK_STR(d.cf.redis.url, "redis://h:1/2");
	d.who = who;
}

static void
test_flags(void)
{
	CHECK(!daemon_reload_pending());
	raise(SIGHUP);
	CHECK(daemon_reload_pending());
	CHECK(!daemon_reload_pending());	/* cleared by the read */
}

/* Worker threads wait for the stop another thread asks for. */
static void *
worker(void *arg)
{
	while (!daemon_stopping())
		daemon_sleep(1);
	return NULL;
}

/* No core file and no ptrace: memory holds the secrets. */
static void
test_no_core_dumps(void)
{
	struct rlimit rl;

	CHECK_INT(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	CHECK(getrlimit(RLIMIT_CORE, &rl) == 0);
	CHECK_INT((long long)rl.rlim_cur, 0);
}

static void
test_stop_seen_by_threads(void)
{
	pthread_t th[2];

	CHECK(!daemon_stopping());
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	daemon_sleep(20);
	daemon_request_stop();
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK(daemon_stopping());
}

int
main(void)
{
	char *argv[] = { "test_daemon", "-d", "-f", path, NULL };

	snprintf(path, sizeof(path), "%s/grilld.yaml", unit_tmpdir());
	write_conf("twsim:\n  seed: 5\n");
	daemon_set_check(check);
	daemon_setup(&d, "test_daemon", CONF_TWSIM, 4, argv);
	UNIT_RUN(test_reload_runs_check);
	UNIT_RUN(test_reload_checks_urls);
	UNIT_RUN(test_flags);
	UNIT_RUN(test_no_core_dumps);
	UNIT_RUN(test_stop_seen_by_threads);
	daemon_teardown(&d);
	return unit_done();
}
