#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "options.h"
#include "unit.h"
#include "util.h"

static struct conf cf;
static struct grilld_conf g;
static struct conf_errs errs;

static const char *
write_file(const char *name, const char *text)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", unit_tmpdir(), name);
	fp = fopen(path, "w");
	fputs(text, fp);
	fclose(fp);
	chmod(path, 0600);
	return path;
}

static bool
errs_have(const char *needle)
{
	for (int i = 0; i < errs.n; i++)
		if (strstr(errs.msg[i], needle) != NULL)
			return true;
	for (int i = 0; i < errs.n; i++)
		printf("#   error: %s\n", errs.msg[i]);
	return false;
}

static int
load(const char *file)
{
	conf_free(&cf);
	conf_init(&cf, grilld_options, grilld_noptions, &g, sizeof(g));
	return conf_load(&cf, file, &errs);
}

static void
test_defaults(void)
{
	CHECK(load(NULL) == 0);
	CHECK_STR(g.redis.url, "redis://127.0.0.1:6379/0");
	CHECK_STR(g.influx.database, "grilld");
	CHECK_STR(g.api.listen, "127.0.0.1:8080");
	CHECK_INT(g.poller.interval, 30000);
	CHECK_INT(g.poller.spool_max, 64 * 1024 * 1024);
	CHECK(g.poller.backfill);
	CHECK(g.thermoworks.password == NULL);
	CHECK(g.twsim.accounts == NULL);
}

static void
test_file_values(void)
{
	const char *f = write_file("ok.yaml",
	    "# comment\n"
	    "poller:\n"
	    "  interval: 2m\n"
	    "  spool_max: 16MiB\n"
	    "  backfill: no\n"
	    "api:\n"
	    "  keys: [one, two]\n"
	    "  rate: 12.5\n"
	    "twsim:\n"
	    "  accounts:\n"
	    "    - email: a@b.c\n"
	    "      password: x\n"
	    "stream:\n");

	CHECK(load(f) == 0);
	CHECK_INT(g.poller.interval, 120000);
	CHECK_INT(g.poller.spool_max, 16 * 1024 * 1024);
	CHECK(!g.poller.backfill);
	CHECK_STR(g.api.keys, "one,two");
	CHECK_DBL(g.api.rate, 12.5, 0);
	CHECK(g.twsim.accounts != NULL && g.twsim.accounts->kind == CNODE_SEQ);
	CHECK_STR(cnode_str(g.twsim.accounts->child, "email", NULL), "a@b.c");
	CHECK_INT(g.twsim.accounts->child->line, 11);
}

static void
test_env_overrides_file(void)
{
	const char *f = write_file("env.yaml", "redis:\n  url: redis://h:1/0\n");

	setenv("GRILLD_REDIS_URL", "redis://env:2/1", 1);
	setenv("GRILLD_POLLER_INTERVAL", "45s", 1);
	CHECK(load(f) == 0);
	CHECK_STR(g.redis.url, "redis://env:2/1");
	CHECK_INT(g.poller.interval, 45000);
	unsetenv("GRILLD_REDIS_URL");
	setenv("GRILLD_POLLER_INTERVAL", "soon", 1);
	CHECK(load(f) == -1);
	CHECK(errs_have("GRILLD_POLLER_INTERVAL"));
	unsetenv("GRILLD_POLLER_INTERVAL");
}

static void
test_errors_name_key_file_line(void)
{
	const char *f = write_file("bad.yaml",
	    "poller:\n"
	    "  interval: 2s\n"
	    "  concurency: 5\n"
	    "api:\n"
	    "  max_body: lots\n"
	    "log:\n"
	    "  level: loud\n"
	    "bogus:\n"
	    "  key: 1\n");

	CHECK(load(f) == -1);
	CHECK(errs_have("bad.yaml:2: poller.interval: 2s is below the minimum "
	    "5s"));
	CHECK(errs_have("bad.yaml:3: unknown key 'poller.concurency' (did you "
	    "mean 'poller.concurrency'?)"));
	CHECK(errs_have("bad.yaml:5: api.max_body: 'lots' is not a size"));
	CHECK(errs_have("bad.yaml:7: log.level: 'loud' is not one of"));
	CHECK(errs_have("bad.yaml:9: unknown key 'bogus.key'"));
	CHECK_INT(errs.n, 5);
}

static void
test_malformed_yaml(void)
{
	CHECK(load(write_file("m1.yaml", "poller:\n  interval: [1, 2\n")) == -1);
	CHECK(errs_have("m1.yaml:"));
	CHECK(errs_have("YAML"));
	CHECK(load(write_file("m2.yaml", "- a\n- b\n")) == -1);
	CHECK(errs_have("must be a map of sections"));
	CHECK(load(write_file("m3.yaml", "a: &x 1\nb: *x\n")) == -1);
	CHECK(errs_have("aliases"));
	CHECK(load(write_file("m4.yaml", "api:\n  listen: a\n  listen: b\n"))
	    == -1);
	CHECK(errs_have("duplicate key"));
	CHECK(load(write_file("m5.yaml", "api:\n  listen: {a: 1}\n")) == -1);
	CHECK(errs_have("must be a single value"));
	CHECK(load(write_file("m6.yaml", "\xff\xfe garbage: \x01\n")) == -1);
	CHECK(load(write_file("empty.yaml", "")) == 0);
	CHECK(load("/nonexistent/grilld.yaml") == -1);
	CHECK(errs_have("No such file"));
}

static void
test_deep_nesting_refused(void)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "twsim:\n  faults: ");
	for (int i = 0; i < 100; i++)
		buf_putc(&b, '[');
	for (int i = 0; i < 100; i++)
		buf_putc(&b, ']');
	buf_putc(&b, '\n');
	CHECK(load(write_file("deep.yaml", b.data)) == -1);
	CHECK(errs_have("nested deeper"));
	buf_free(&b);
}

static void
test_out_of_range(void)
{
	CHECK(load(write_file("r.yaml", "api:\n  max_batch: 0\n  threads: "
	    "99999\n")) == -1);
	CHECK(errs_have("api.max_batch: 0 is below the minimum 1"));
	CHECK(errs_have("api.threads: 99999 is above the maximum 1024"));
	CHECK(load(write_file("r2.yaml", "api:\n  max_batch: 1e3\n")) == -1);
	CHECK(errs_have("is not an integer"));
	CHECK(load(write_file("r3.yaml", "tracing:\n  sample_ratio: nan\n"))
	    == -1);
}

static void
test_secret_file(void)
{
	char pw[512], text[600];

	util_strlcpy(pw, write_file("pw", "s3cret-pass\nignored\n"),
	    sizeof(pw));
	snprintf(text, sizeof(text), "thermoworks:\n  password_file: %s\n", pw);
	CHECK(load(write_file("s.yaml", text)) == 0);
	CHECK_STR(g.thermoworks.password, "s3cret-pass");
	chmod(pw, 0644);
	CHECK(load(write_file("s.yaml", text)) == -1);
	CHECK(errs_have("readable by others"));
}

/* A file that sets a secret itself must be private to its owner. */
static void
test_secret_in_readable_file(void)
{
	static const char *const secret[] = {
		"api:\n  keys: k1,k2\n",
		"thermoworks:\n  password: hunter2\n",
		"redis:\n  url: redis://:pw@127.0.0.1:6379/0\n",
		"thermoworks:\n  accounts:\n    - {email: a@b.c, password: x}\n",
		"ingest:\n  webhooks:\n    - url: http://h/x\n      secret: s\n",
	};
	static const char *const harmless[] = {
		"api:\n  listen: 127.0.0.1:1\n",
		"api:\n  keys: \"\"\n",
		"redis:\n  url: redis://127.0.0.1:6379/0\n",
		"twsim:\n  accounts:\n    - {email: a@b.c, password: x}\n",
	};
	const char *f;

	for (size_t i = 0; i < ARRAY_LEN(secret); i++) {
		f = write_file("sec.yaml", secret[i]);
		CHECK(load(f) == 0);
		chmod(f, 0640);
		CHECK(load(f) == -1);
		CHECK(errs_have("readable by others (mode 640); chmod 600"));
		chmod(f, 0604);
		CHECK(load(f) == -1);
		chmod(f, 0620);		/* others may write, not read */
		CHECK(load(f) == 0);
	}
	for (size_t i = 0; i < ARRAY_LEN(harmless); i++) {
		f = write_file("harmless.yaml", harmless[i]);
		chmod(f, 0644);
		CHECK(load(f) == 0);
	}
	/* The message names where the secret is. */
	f = write_file("where.yaml", "api:\n  threads: 4\n  keys: k\n");
	chmod(f, 0644);
	CHECK(load(f) == -1);
	CHECK(errs_have("keys at "));
	CHECK(errs_have("where.yaml:3"));
}

static void
test_print_masks_secrets(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp;

	setenv("GRILLD_THERMOWORKS_PASSWORD", "hunter2", 1);
	CHECK(load(NULL) == 0);
	fp = open_memstream(&out, &len);
	conf_print(&cf, CONF_POLLER, fp);
	fclose(fp);
	CHECK(strstr(out, "hunter2") == NULL);
	CHECK(strstr(out, "thermoworks.password: \"********\"  # "
	    "GRILLD_THERMOWORKS_PASSWORD") != NULL);
	CHECK(strstr(out, "api.listen") == NULL);	/* not the poller's */
	free(out);
	unsetenv("GRILLD_THERMOWORKS_PASSWORD");
}

static void
test_reload_keeps_old_on_error(void)
{
	const char *f = write_file("rl.yaml", "api:\n  threads: 8\n");
	const struct grilld_conf *held;

	CHECK(load(f) == 0);
	held = conf_hold(&cf);
	write_file("rl.yaml", "api:\n  threads: -1\n");
	CHECK(conf_load(&cf, f, &errs) == -1);
	CHECK_INT(g.api.threads, 8);
	write_file("rl.yaml", "api:\n  threads: 4\n");
	CHECK(conf_load(&cf, f, &errs) == 0);
	CHECK_INT(g.api.threads, 4);
	CHECK_INT(held->api.threads, 8);	/* the snapshot stays */
	CHECK_STR(held->api.listen, "127.0.0.1:8080");
	conf_drop(held);
}

/* An unbounded integer option keeps all 64 bits. */
struct ints {
	int64_t	 big;
};

static const struct conf_opt int_opts[] = {
	{ "x.big", CONF_INT, "9007199254740993", 0, 0, NULL, CONF_ALL,
	    offsetof(struct ints, big), "Past 2^53." },
};

static void
test_int_exact(void)
{
	struct conf c;
	struct ints v;
	struct conf_errs e;
	char why[200];

	conf_init(&c, int_opts, ARRAY_LEN(int_opts), &v, sizeof(v));
	CHECK(conf_load(&c, NULL, &e) == 0);
	CHECK(v.big == INT64_C(9007199254740993));
	CHECK(conf_set(&c, "x.big", "9223372036854775807", why,
	    sizeof(why)) == 0);
	CHECK(v.big == INT64_MAX);
	CHECK(conf_set(&c, "x.big", "-9223372036854775807", why,
	    sizeof(why)) == 0);
	CHECK(v.big == -INT64_MAX);
	conf_free(&c);
}

/* Nodes name their file whatever becomes of the caller's string. */
static void
test_file_name_owned(void)
{
	char file[512], want[600], where[600];

	util_strlcpy(file, write_file("own.yaml",
	    "twsim:\n  accounts:\n    - email: a@b.c\n"), sizeof(file));
	snprintf(want, sizeof(want), "%s:3", file);
	CHECK(load(file) == 0);
	memcpy(file, "clobbered", 10);
	cnode_where(g.twsim.accounts, where, sizeof(where));
	CHECK_STR(where, want);
	/* Reloading the file the conf remembers. */
	CHECK(conf_load(&cf, cf.file, &errs) == 0);
	cnode_where(g.twsim.accounts, where, sizeof(where));
	CHECK_STR(where, want);
	CHECK(strcmp(cf.file, "clobbered") != 0);
}

static void
log_urls(void)
{
	log_warnx("urls %s %s", g.redis.url, g.tracing.otlp_url);
}

/* A password in a URL is kept out of conf_print() and the logs. */
static void
test_url_password_masked(void)
{
	char *out = NULL, path[512], text[512];
	size_t len = 0;
	ssize_t n;
	FILE *fp;
	int fd, saved;

	setenv("GRILLD_REDIS_URL", "redis://:hunter3@cache:6379/0", 1);
	setenv("GRILLD_TRACING_OTLP_URL", "https://bob:tok3n-abc@otel.example/x",
	    1);
	CHECK(load(NULL) == 0);
	fp = open_memstream(&out, &len);
	conf_print(&cf, CONF_POLLER, fp);
	fclose(fp);
	CHECK(strstr(out, "hunter3") == NULL);
	CHECK(strstr(out, "tok3n-abc") == NULL);
	CHECK(strstr(out, "redis.url: \"redis://:********@cache:6379/0\"") !=
	    NULL);
	CHECK(strstr(out, "tracing.otlp_url: "
	    "\"https://bob:********@otel.example/x\"") != NULL);
	free(out);

	snprintf(path, sizeof(path), "%s/log", unit_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	log_urls();
	dup2(saved, STDERR_FILENO);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	CHECK(strstr(text, "urls redis://:********@cache:6379/0 "
	    "https://bob:********@otel.example/x") != NULL);
	unsetenv("GRILLD_REDIS_URL");
	unsetenv("GRILLD_TRACING_OTLP_URL");
}

/*
 * Readers on other threads hold snapshots while the main thread reloads
 * in a loop between two files: every string a reader sees belongs to one
 * whole configuration (never a mix of two, never freed under it), and the
 * snapshots nobody holds any more are freed (ASan's leak check and
 * use-after-free, ThreadSanitizer's race report: before the snapshots,
 * the reload copied over the struct the readers read).
 */
#define READERS 3

static atomic_bool	 reading;
static atomic_int	 bad, reads;

static void *
reader(void *arg)
{
	while (atomic_load(&reading)) {
		const struct grilld_conf *c = conf_hold(&cf);
		bool a;

		if (c == NULL) {
			atomic_store(&bad, 1);
			break;
		}
		/* Each file sets both: a and a, or b and b. */
		a = strcmp(c->api.listen, "127.0.0.1:1111") == 0;
		if (strcmp(c->redis.prefix, a ? "aaaa:" : "bbbb:") != 0 ||
		    (!a && strcmp(c->api.listen, "127.0.0.1:2222") != 0) ||
		    strlen(c->influx.database) != 4)
			atomic_store(&bad, 1);
		atomic_fetch_add(&reads, 1);
		conf_drop(c);
	}
	return NULL;
}

static void
test_reload_snapshots(void)
{
	char fa[512], fb[512];
	pthread_t th[READERS];
	int64_t end;
	int n = 0;

	util_strlcpy(fa, write_file("snap-a.yaml", "api:\n  listen: "
	    "127.0.0.1:1111\nredis:\n  prefix: 'aaaa:'\ninflux:\n  "
	    "database: dbaa\n"), sizeof(fa));
	util_strlcpy(fb, write_file("snap-b.yaml", "api:\n  listen: "
	    "127.0.0.1:2222\nredis:\n  prefix: 'bbbb:'\ninflux:\n  "
	    "database: dbbb\n"), sizeof(fb));
	CHECK(load(fa) == 0);
	atomic_store(&reading, true);
	for (int i = 0; i < READERS; i++)
		pthread_create(&th[i], NULL, reader, NULL);
	while (atomic_load(&reads) == 0)
		;
	/* Half a second of reloads, or until a reader saw a mix. */
	end = util_mono_ms() + 500;
	while (util_mono_ms() < end && !atomic_load(&bad)) {
		if (conf_load(&cf, n++ % 2 ? fa : fb, &errs) == -1)
			break;
	}
	atomic_store(&reading, false);
	for (int i = 0; i < READERS; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(errs.n, 0);
	CHECK_INT(atomic_load(&bad), 0);
	CHECK(n > 10);
}

/* A snapshot outlives the reloads and the conf itself until dropped. */
static void
test_snapshot_outlives_reload(void)
{
	const char *f = write_file("out.yaml", "api:\n  listen: 127.0.0.1:1\n");
	const struct grilld_conf *held;

	CHECK(load(f) == 0);
	held = conf_hold(&cf);
	write_file("out.yaml", "api:\n  listen: 127.0.0.1:2\n");
	CHECK(conf_load(&cf, f, &errs) == 0);
	CHECK(conf_load(&cf, f, &errs) == 0);
	CHECK_STR(g.api.listen, "127.0.0.1:2");
	CHECK_STR(held->api.listen, "127.0.0.1:1");
	conf_free(&cf);
	CHECK_STR(held->api.listen, "127.0.0.1:1");
	conf_drop(held);
	CHECK(conf_hold(&cf) == NULL);
}

static void
test_env_name(void)
{
	char env[64];

	conf_env_name("thermoworks.password_file", env, sizeof(env));
	CHECK_STR(env, "GRILLD_THERMOWORKS_PASSWORD_FILE");
}

/* A GRILLD_ name of no option: a warning with the closest one. */
static void
test_env_unknown(void)
{
	struct conf_errs w;

	setenv("GRILLD_POLLER_INTERVALL", "45s", 1);
	setenv("GRILLD_RUN_VAR", "/x", 1);		/* make run's own */
	setenv("GRILLD_THERMOWORKS_ACCOUNTS", "x", 1);	/* a tree */
	CHECK(load(NULL) == 0);
	conf_env_unknown(&cf, &w);
	CHECK_INT(w.n, 2);
	for (int i = 0; i < w.n; i++)
		CHECK(strstr(w.msg[i], "did you mean GRILLD_POLLER_INTERVAL?") !=
		    NULL || strstr(w.msg[i], "is a list") != NULL);
	unsetenv("GRILLD_POLLER_INTERVALL");
	unsetenv("GRILLD_RUN_VAR");
	unsetenv("GRILLD_THERMOWORKS_ACCOUNTS");
	conf_env_unknown(&cf, &w);
	CHECK_INT(w.n, 0);
}

/* systemd's credentials fill the secrets left unset, not the others. */
static void
test_credentials(void)
{
	char dir[512];

	util_strlcpy(dir, write_file("grilld_thermoworks.password",
	    "from-cred\n"), sizeof(dir));
	*strrchr(dir, '/') = '\0';
	write_file("redis.password", "redis-cred\n");
	write_file("api.listen", "0.0.0.0:1\n");	/* not a secret */
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	CHECK(load(NULL) == 0);
	CHECK_STR(g.thermoworks.password, "from-cred");
	CHECK_STR(g.redis.password, "redis-cred");
	CHECK_STR(g.api.listen, "127.0.0.1:8080");
	setenv("GRILLD_REDIS_PASSWORD", "from-env", 1);
	CHECK(load(NULL) == 0);
	CHECK_STR(g.redis.password, "from-env");
	unsetenv("GRILLD_REDIS_PASSWORD");
	unsetenv("CREDENTIALS_DIRECTORY");
	CHECK(load(NULL) == 0);
	CHECK(g.thermoworks.password == NULL);
}

static void
test_every_default_valid(void)
{
	/* Each option's own default must pass its own checks. */
	for (size_t i = 0; i < grilld_noptions; i++) {
		const struct conf_opt *o = &grilld_options[i];

		CHECK(strchr(o->name, '.') != NULL);
		CHECK(o->help != NULL && o->help[0] != '\0');
		CHECK(o->who != 0);
	}
	CHECK(load(NULL) == 0);
	CHECK_INT(errs.n, 0);
}

int
main(void)
{
	UNIT_RUN(test_defaults);
	UNIT_RUN(test_file_values);
	UNIT_RUN(test_env_overrides_file);
	UNIT_RUN(test_errors_name_key_file_line);
	UNIT_RUN(test_malformed_yaml);
	UNIT_RUN(test_deep_nesting_refused);
	UNIT_RUN(test_out_of_range);
	UNIT_RUN(test_secret_file);
	UNIT_RUN(test_secret_in_readable_file);
	UNIT_RUN(test_print_masks_secrets);
	UNIT_RUN(test_reload_keeps_old_on_error);
	UNIT_RUN(test_int_exact);
	UNIT_RUN(test_file_name_owned);
	UNIT_RUN(test_url_password_masked);
	UNIT_RUN(test_reload_snapshots);
	UNIT_RUN(test_snapshot_outlives_reload);
	UNIT_RUN(test_env_name);
	UNIT_RUN(test_env_unknown);
	UNIT_RUN(test_credentials);
	UNIT_RUN(test_every_default_valid);
	conf_free(&cf);
	return unit_done();
}
