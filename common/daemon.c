#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "rds.h"
#include "util.h"
#include "version.h"

static daemon_check_fn		 check_fn;
static struct rlimit		 core_limit;	/* as the daemon was started */
/* Set by handlers, read by every thread: lock-free atomics (C11 7.14.1.1). */
static atomic_int		 quit_flag;
static atomic_int		 hup_flag;
static _Atomic int64_t		 beat_ms;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		atomic_store(&hup_flag, 1);
	else
		atomic_store(&quit_flag, 1);
}

bool
daemon_stopping(void)
{
	return atomic_load(&quit_flag) != 0;
}

void
daemon_request_stop(void)
{
	atomic_store(&quit_flag, 1);
}

bool
daemon_reload_pending(void)
{
	return atomic_exchange(&hup_flag, 0) != 0;
}

/*
 * systemd's readiness protocol (sd_notify(3)): one datagram to the socket
 * named by $NOTIFY_SOCKET. A few lines, so no libsystemd dependency.
 */
static void
notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, state, strlen(state), 0, (struct sockaddr *)&sun,
	    len) == -1)
		log_debug("sd_notify %s: %s", state, strerror(errno));
	close(fd);
}

void
daemon_heartbeat(void)
{
	static atomic_bool told;

	atomic_store(&beat_ms, util_mono_ms());
	/* The main loop's first beat: the daemon has finished starting. */
	if (!atomic_exchange(&told, true))
		notify("READY=1");
}

int64_t
daemon_heartbeat_age_ms(void)
{
	return util_mono_ms() - atomic_load(&beat_ms);
}

void
daemon_sleep(int64_t ms)
{
	int64_t end = util_mono_ms() + ms;

	while (!daemon_stopping()) {
		int64_t left = end - util_mono_ms();

		if (left <= 0)
			break;
		util_sleep_ms(left < 100 ? left : 100);
	}
}

/* -h: the usage on stdout, status 0; a wrong command line: stderr, 1. */
static void __attribute__((noreturn))
usage(const char *name, int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: %s [-dhnvV] [-f file]\n"
	    "  -d       stay in the foreground and log to stderr\n"
	    "  -f file  YAML configuration (default: none, built-in defaults\n"
	    "           and the environment GRILLD_SECTION_KEY)\n"
	    "  -h       this help (also --help)\n"
	    "  -n       check the configuration, print \"configuration OK\"\n"
	    "  -v       more verbose; with -n, print the configuration\n"
	    "  -V       print the version (also --version)\n",
	    name);
	exit(status);
}

static void
apply_logging(const struct daemon *d)
{
	enum log_level lvl = LOG_LVL_INFO;
	enum log_format fmt = LOG_FMT_TEXT;

	log_level_parse(d->cf.log.level, &lvl);
	log_format_parse(d->cf.log.format, &fmt);
	if (d->verbose > 0)
		lvl = LOG_LVL_DEBUG;
	log_setlevel(lvl);
	log_setformat(fmt);
}

void
daemon_set_check(daemon_check_fn fn)
{
	check_fn = fn;
}

/*
 * What the daemons refuse when they start beyond the option table's types
 * and bounds, checked here so that -n and a reload refuse it as well: the
 * Redis URL as the Redis client reads it, and the InfluxDB URL's scheme.
 */
static int
check_common(const struct conf *conf, const struct grilld_conf *cf,
    unsigned who, char *errs, size_t len)
{
	const struct conf_opt *o;
	struct rds_url u;
	char why[256];
	size_t n = strlen(errs);
	int rc = 0;

	if ((o = conf_find(conf, "redis.url")) != NULL && (o->who & who) &&
	    cf->redis.url != NULL &&
	    rds_url_parse(cf->redis.url, &u, why, sizeof(why)) == -1) {
		snprintf(errs + n, len - n, "redis.url: %s\n", why);
		rc = -1;
	}
	explicit_bzero(&u, sizeof(u));	/* a password in the URL */
	n = strlen(errs);
	if ((o = conf_find(conf, "influx.url")) != NULL && (o->who & who) &&
	    cf->influx.url != NULL &&
	    strncmp(cf->influx.url, "http://", 7) != 0 &&
	    strncmp(cf->influx.url, "https://", 8) != 0) {
		snprintf(errs + n, len - n, "influx.url: the scheme is not "
		    "http:// or https://\n");
		rc = -1;
	}
	return rc;
}

/* Runs the common and the daemon's own checks; one problem a line. */
static int
check_trees(struct daemon *d)
{
	char errs[4096] = "", *line, *nl;
	int rc;

	rc = check_common(&d->conf, &d->cf, d->who, errs, sizeof(errs));
	if (check_fn != NULL) {
		size_t n = strlen(errs);

		if (check_fn(&d->cf, errs + n, sizeof(errs) - n) == -1)
			rc = -1;
	}
	if (rc == 0)
		return 0;
	for (line = errs; line != NULL && *line != '\0'; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		fprintf(stderr, "%s: %s\n", d->name, line);
	}
	return -1;
}

static int
load(struct daemon *d)
{
	struct conf_errs errs;

	conf_env_unknown(&d->conf, &errs);
	for (int i = 0; i < errs.n; i++)
		log_warnx("%s", errs.msg[i]);
	if (conf_load(&d->conf, d->file, &errs) == 0)
		return check_trees(d);
	for (int i = 0; i < errs.n; i++)
		fprintf(stderr, "%s: %s\n", d->name, errs.msg[i]);
	if (errs.n == CONF_ERRS_MAX)
		fprintf(stderr, "%s: (more errors not shown)\n", d->name);
	return -1;
}

/*
 * Memory holds the secrets (passwords, tokens, API keys): no core file,
 * and no ptrace or /proc/PID/mem for other processes of the same user,
 * from before the configuration is read. log.core_dumps gives both back
 * for debugging.
 */
static void
protect_memory(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_CORE, &core_limit) == 0) {
		rl = core_limit;
		rl.rlim_cur = 0;	/* the hard limit stays: may be undone */
		if (setrlimit(RLIMIT_CORE, &rl) == -1)
			log_warn("setrlimit RLIMIT_CORE");
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_warn("prctl PR_SET_DUMPABLE");
}

static void
allow_core_dumps(void)
{
	if (setrlimit(RLIMIT_CORE, &core_limit) == -1)
		log_warn("setrlimit RLIMIT_CORE");
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1)
		log_warn("prctl PR_SET_DUMPABLE");
	log_warnx("log.core_dumps: core dumps and ptrace allowed; they "
	    "expose the secrets in memory");
}

void
daemon_setup(struct daemon *d, const char *name, unsigned who, int argc,
    char **argv)
{
	struct sigaction sa;
	bool check = false;
	int ch;
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL,	'h' },
		{ "version",	no_argument,	NULL,	'V' },
		{ NULL,		0,		NULL,	0 },
	};

	d->name = name;
	d->who = who;
	d->file = NULL;
	d->foreground = false;
	d->verbose = 0;
	while ((ch = getopt_long(argc, argv, "df:hnvV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'd':
			d->foreground = true;
			break;
		case 'f':
			d->file = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'v':
			d->verbose++;
			break;
		case 'V':
			printf("%s %s\n", name, GRILLD_VERSION);
			exit(0);
		case 'h':
			usage(name, 0);
		default:
			usage(name, 1);
		}
	}
	if (optind != argc)
		usage(name, 1);

	log_init(true, name);
	protect_memory();
	conf_init(&d->conf, grilld_options, grilld_noptions, &d->cf,
	    sizeof(d->cf));
	if (load(d) == -1) {
		conf_free(&d->conf);
		exit(1);
	}
	if (check) {
		if (d->verbose > 0)
			conf_print(&d->conf, who, stdout);
		printf("configuration OK\n");
		conf_free(&d->conf);
		exit(0);
	}
	apply_logging(d);
	/*
	 * The first configuration stays until teardown whatever the reloads:
	 * what a daemon built from d->cf at start-up (the simulator's world)
	 * may point into its strings and trees.
	 */
	d->boot = conf_hold(&d->conf);
	if (d->cf.log.core_dumps)
		allow_core_dumps();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	if (!d->foreground) {
		if (daemon(1, 0) == -1)
			fatal("daemon");
		log_init(false, name);
	}
	metric_process(name);
	atomic_store(&beat_ms, util_mono_ms());
	log_info("starting (pid %d%s%s)", (int)getpid(),
	    d->file ? ", configuration " : "", d->file ? d->file : "");
}

/*
 * The daemon's checker, on a scratch copy of the new configuration, so
 * that a reload installs nothing the checker would refuse at start-up.
 * A file conf_load() refuses passes here: daemon_reload() reports it.
 */
static int
reload_check(struct daemon *d)
{
	struct grilld_conf cf;
	struct conf scratch;
	struct conf_errs errs;
	char why[4096] = "", *line, *nl;
	int rc = 0;

	conf_init(&scratch, grilld_options, grilld_noptions, &cf, sizeof(cf));
	if (conf_load(&scratch, d->file, &errs) == 0 &&
	    (check_common(&scratch, &cf, d->who, why, sizeof(why)) == -1 ||
	    (check_fn != NULL && check_fn(&cf, why + strlen(why),
	    sizeof(why) - strlen(why)) == -1))) {
		for (line = why; line != NULL && *line != '\0'; line = nl) {
			if ((nl = strchr(line, '\n')) != NULL)
				*nl++ = '\0';
			log_warnx("reload: %s", line);
		}
		rc = -1;
	}
	conf_free(&scratch);
	return rc;
}

int
daemon_reload(struct daemon *d)
{
	struct conf_errs errs;

	if (reload_check(d) == -1) {
		log_warnx("reload: keeping the running configuration");
		return -1;
	}
	if (conf_load(&d->conf, d->file, &errs) == -1) {
		for (int i = 0; i < errs.n; i++)
			log_warnx("reload: %s", errs.msg[i]);
		log_warnx("reload: keeping the running configuration");
		return -1;
	}
	apply_logging(d);
	log_info("configuration reloaded");
	return 0;
}

const struct grilld_conf *
daemon_conf_hold(struct daemon *d)
{
	return conf_hold(&d->conf);
}

void
daemon_conf_drop(const struct grilld_conf *cf)
{
	conf_drop(cf);
}

void
daemon_teardown(struct daemon *d)
{
	notify("STOPPING=1");
	conf_drop(d->boot);
	d->boot = NULL;
	conf_free(&d->conf);
}
