#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"
#include "util.h"

/* What the log wrote to stderr while fn ran. */
static char *
capture(void (*fn)(void))
{
	static int seq;
	char path[512];
	struct buf b;
	char chunk[4096];
	ssize_t n;
	int fd, saved;

	snprintf(path, sizeof(path), "%s/stderr.%d", unit_tmpdir(), seq++);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	buf_init(&b);
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	close(fd);
	return buf_steal(&b);
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
say_secret_twice(void)
{
	log_warnx("a=%s b=%s", "t0ps3cret", "t0ps3cret");
}

static void
test_secret_masked(void)
{
	char *out;

	log_secret("t0ps3cret");
	out = capture(say_secret_twice);
	CHECK(strstr(out, "t0ps3cret") == NULL);
	CHECK_INT(count(out, "********"), 2);
	free(out);
	log_setformat(LOG_FMT_JSON);
	out = capture(say_secret_twice);
	log_setformat(LOG_FMT_TEXT);
	CHECK(strstr(out, "t0ps3cret") == NULL);
	CHECK(strstr(out, "\"msg\":\"a=******** b=********\"") != NULL);
	free(out);
}

static void
say_info(void)
{
	log_info("visible");
}

static void
test_level(void)
{
	char *out;

	log_setlevel(LOG_LVL_WARN);
	out = capture(say_info);
	CHECK_STR(out, "");
	free(out);
	log_setlevel(LOG_LVL_INFO);
	out = capture(say_info);
	CHECK(strstr(out, " info test_log: visible\n") != NULL);
	free(out);
}

/* A reload sets the level while other threads log (ThreadSanitizer). */
static void *
chatter(void *arg)
{
	for (int i = 0; i < 2000; i++)
		log_debug("chatter %d", i);
	return NULL;
}

static void
toggle(void)
{
	pthread_t th;

	pthread_create(&th, NULL, chatter, NULL);
	for (int i = 0; i < 2000; i++) {
		log_setlevel(i % 2 ? LOG_LVL_DEBUG : LOG_LVL_WARN);
		log_setformat(i % 2 ? LOG_FMT_JSON : LOG_FMT_TEXT);
	}
	pthread_join(th, NULL);
	log_setlevel(LOG_LVL_INFO);
	log_setformat(LOG_FMT_TEXT);
}

static void
test_setlevel_while_logging(void)
{
	char *out = capture(toggle);

	CHECK(count(out, "chatter") <= 2000);
	free(out);
}

static struct log_limit	 lim;

static void
flood(void)
{
	for (int i = 0; i < 6; i++)
		log_limited(&lim, 3600 * 1000, LOG_LVL_WARN, "flood %d", i);
	/*
	 * As if the hour had passed: the last line an interval ago, whatever
	 * the monotonic clock reads (a machine booted minutes ago included).
	 */
	lim.last_ms = util_mono_ms() - 3600 * 1000;
	log_limited(&lim, 3600 * 1000, LOG_LVL_WARN, "flood again");
}

static void
test_limited(void)
{
	char *out = capture(flood);

	CHECK_INT(count(out, "flood"), 2);
	CHECK(strstr(out, "flood 0\n") != NULL);
	CHECK(strstr(out, "flood again\n") != NULL);
	CHECK(strstr(out, "(5 similar lines suppressed)") != NULL);
	free(out);
}

/*
 * Many threads hit one call site at once: the interval lets one line
 * through, whichever thread it is; the others are counted.
 */
#define RACERS	4
#define ROUNDS	400
static struct log_limit	 race_lim[ROUNDS];
static pthread_barrier_t race_bar;

static void *
racer(void *arg)
{
	for (int r = 0; r < ROUNDS; r++) {
		pthread_barrier_wait(&race_bar);
		log_limited(&race_lim[r], 3600 * 1000, LOG_LVL_WARN, "race %d",
		    r);
	}
	return NULL;
}

static void
race(void)
{
	pthread_t th[RACERS];

	pthread_barrier_init(&race_bar, NULL, RACERS);
	for (int i = 0; i < RACERS; i++)
		pthread_create(&th[i], NULL, racer, NULL);
	for (int i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&race_bar);
}

static void
test_limited_threads(void)
{
	char *out = capture(race);
	unsigned long suppressed = 0;
	const char *p;

	CHECK_INT(count(out, " race "), ROUNDS);
	/* Each one counted: still pending, or told by the winner's note. */
	for (int r = 0; r < ROUNDS; r++)
		suppressed += race_lim[r].suppressed;
	for (p = out; (p = strstr(p, " info test_log: (")) != NULL; p++)
		suppressed += strtoul(p + 17, NULL, 10);
	CHECK_INT(suppressed, ROUNDS * (RACERS - 1));
	free(out);
}

int
main(void)
{
	log_init(true, "test_log");
	UNIT_RUN(test_secret_masked);
	UNIT_RUN(test_level);
	UNIT_RUN(test_setlevel_while_logging);
	UNIT_RUN(test_limited);
	UNIT_RUN(test_limited_threads);
	return unit_done();
}
