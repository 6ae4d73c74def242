#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin.h"
#include "metrics.h"
#include "unit.h"

static struct metric_series *hot;

static char *
render(void)
{
	struct buf b;

	buf_init(&b);
	CHECK(metric_render(&b) == 0);
	return buf_steal(&b);
}

static void
test_counter_labels(void)
{
	struct metric *m = metric_counter("t_requests_total", "Requests.",
	    "route,status");
	struct metric_series *a = metric_with(m, "current", "200");
	char *out;

	CHECK(a != NULL);
	CHECK(metric_with(m, "current", "200") == a);
	metric_inc(a);
	metric_add(a, 2);
	metric_inc(metric_with(m, "history", "400"));
	CHECK_DBL(metric_value(a), 3, 0);
	out = render();
	CHECK(strstr(out, "# TYPE t_requests_total counter\n") != NULL);
	CHECK(strstr(out,
	    "t_requests_total{route=\"current\",status=\"200\"} 3\n") != NULL);
	CHECK(strstr(out,
	    "t_requests_total{route=\"history\",status=\"400\"} 1\n") != NULL);
	free(out);
}

static void
test_same_name_same_family(void)
{
	struct metric *a = metric_gauge("t_same", "x", NULL);

	CHECK(a == metric_gauge("t_same", "x", NULL));
}

static void
test_unlabelled_rendered_at_zero(void)
{
	char *out;

	metric_counter("t_plain_total", "Plain.", NULL);
	out = render();
	CHECK(strstr(out, "\nt_plain_total 0\n") != NULL);
	free(out);
}

static void
test_escaping(void)
{
	struct metric *m = metric_gauge("t_esc", "Help with \\ and\nnewline.",
	    "v");
	char *out;

	metric_set(metric_with(m, "a\"b\\c\nd"), -1.5);
	out = render();
	CHECK(strstr(out, "# HELP t_esc Help with \\\\ and\\nnewline.\n") !=
	    NULL);
	CHECK(strstr(out, "t_esc{v=\"a\\\"b\\\\c\\nd\"} -1.5\n") != NULL);
	free(out);
}

static void
test_histogram(void)
{
	static const double bounds[] = { 0.1, 1, 10 };
	struct metric *m = metric_histogram("t_latency_seconds", "Latency.",
	    "route", bounds, 3);
	struct metric_series *s = metric_with(m, "x");
	char *out;

	metric_observe(s, 0.05);
	metric_observe(s, 0.1);	/* le is inclusive */
	metric_observe(s, 5);
	metric_observe(s, 100);
	CHECK_INT(metric_count(s), 4);
	out = render();
	CHECK(strstr(out, "t_latency_seconds_bucket{route=\"x\",le=\"0.1\"} 2\n")
	    != NULL);
	CHECK(strstr(out, "t_latency_seconds_bucket{route=\"x\",le=\"1\"} 2\n")
	    != NULL);
	CHECK(strstr(out, "t_latency_seconds_bucket{route=\"x\",le=\"10\"} 3\n")
	    != NULL);
	CHECK(strstr(out,
	    "t_latency_seconds_bucket{route=\"x\",le=\"+Inf\"} 4\n") != NULL);
	CHECK(strstr(out, "t_latency_seconds_sum{route=\"x\"} 105.15\n") !=
	    NULL);
	CHECK(strstr(out, "t_latency_seconds_count{route=\"x\"} 4\n") != NULL);
	free(out);
}

static double
answer(void *arg)
{
	return *(double *)arg;
}

static void
test_gauge_fn(void)
{
	static double v = 42;
	char *out;

	CHECK(metric_gauge_fn("t_fn", "Computed.", answer, &v) == 0);
	out = render();
	CHECK(strstr(out, "\nt_fn 42\n") != NULL);
	free(out);
}

static void
test_counter_fn(void)
{
	static double v = 7;
	char *out;

	CHECK(metric_counter_fn("t_fn_total", "Computed.", answer, &v) == 0);
	out = render();
	CHECK(strstr(out, "# TYPE t_fn_total counter\nt_fn_total 7\n") != NULL);
	free(out);
}

static void
test_process_metrics_types(void)
{
	char *out;

	metric_process("test_metrics");
	out = render();
	CHECK(strstr(out, "# TYPE process_cpu_seconds_total counter\n") !=
	    NULL);
	CHECK(strstr(out, "# TYPE process_resident_memory_bytes gauge\n") !=
	    NULL);
	CHECK(strstr(out, "# TYPE process_start_time_seconds gauge\n") !=
	    NULL);
	free(out);
}

/* Observations landing during a scrape: +Inf and _count must agree. */
static atomic_bool		 observing;
static struct metric_series	*busy;

static void *
observer(void *arg)
{
	while (atomic_load(&observing))
		metric_observe(busy, 0.5);
	return NULL;
}

static unsigned long long
sample(const char *out, const char *series)
{
	const char *p = strstr(out, series);

	return p != NULL ? strtoull(p + strlen(series), NULL, 10) : 0;
}

static void
test_histogram_count_is_inf_bucket(void)
{
	static const double bounds[] = { 1 };
	struct metric *m = metric_histogram("t_busy_seconds", "Busy.", NULL,
	    bounds, 1);
	pthread_t th;
	int bad = 0;

	busy = metric_with(m);
	atomic_store(&observing, true);
	pthread_create(&th, NULL, observer, NULL);
	for (int i = 0; i < 200; i++) {
		char *out = render();

		if (sample(out, "t_busy_seconds_bucket{le=\"+Inf\"} ") !=
		    sample(out, "t_busy_seconds_count "))
			bad++;
		free(out);
	}
	atomic_store(&observing, false);
	pthread_join(th, NULL);
	CHECK_INT(bad, 0);
}

/*
 * Memory runs out in the middle of a scrape: metric_render() says so and
 * leaves the buffer as it was, rather than serve a cut exposition. The
 * child process runs under an address-space limit; the sanitizers' own
 * allocators do not live with one, so they skip it.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_RLIMIT_AS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NO_RLIMIT_AS 1
#endif
#endif

static void
test_render_out_of_memory(void)
{
#ifndef NO_RLIMIT_AS
	struct metric *m = metric_gauge("t_wide", "Wide.", "v");
	char value[1024];
	pid_t pid;
	int status;

	memset(value, 'x', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	for (int i = 0; i < 1000; i++) {
		snprintf(value, 16, "%04d", i);
		value[4] = 'x';
		metric_set(metric_with(m, value), i);
	}
	if ((pid = fork()) == 0) {
		struct rlimit rl;
		struct buf b;
		unsigned long vm = 0;
		FILE *fp = fopen("/proc/self/statm", "r");

		/* Room for about 256 KiB more; the scrape needs 1 MiB. */
		if (fp == NULL || fscanf(fp, "%lu", &vm) != 1)
			_exit(3);
		fclose(fp);
		rl.rlim_cur = rl.rlim_max = vm * (rlim_t)getpagesize() +
		    256 * 1024;
		if (setrlimit(RLIMIT_AS, &rl) == -1)
			_exit(3);
		buf_init(&b);
		buf_puts(&b, "kept");
		if (metric_render(&b) != -1)
			_exit(1);
		_exit(strcmp(b.data, "kept") == 0 && b.len == 4 ? 0 : 2);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), 0);
#endif
}

static void
test_series_bounded(void)
{
	struct metric *m = metric_counter("t_many_total", "Many.", "id");
	struct metric_series *last = NULL;
	char id[32];

	for (int i = 0; i < METRIC_SERIES_MAX + 50; i++) {
		snprintf(id, sizeof(id), "%d", i);
		last = metric_with(m, id);
		CHECK(last != NULL);
		metric_inc(last);
	}
	/* Past the bound every new series folds into one overflow series. */
	CHECK_DBL(metric_value(last), 50, 0);
	CHECK(metric_with(m, "another") == last);
}

static void *
hammer(void *arg)
{
	struct metric *m = arg;
	char id[16];

	for (int i = 0; i < 100000; i++) {
		metric_inc(hot);
		if (i % 1000 == 0) {
			snprintf(id, sizeof(id), "%d", i / 1000);
			metric_inc(metric_with(m, id));
		}
	}
	return NULL;
}

static void
test_threads(void)
{
	struct metric *m = metric_counter("t_threads_total", "T.", "id");
	pthread_t th[4];

	hot = metric_with(metric_counter("t_hot_total", "Hot.", NULL));
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, hammer, m);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK_DBL(metric_value(hot), 400000, 0);
	CHECK_DBL(metric_value(metric_with(m, "7")), 4, 0);
}

int
main(void)
{
	UNIT_RUN(test_counter_labels);
	UNIT_RUN(test_same_name_same_family);
	UNIT_RUN(test_unlabelled_rendered_at_zero);
	UNIT_RUN(test_escaping);
	UNIT_RUN(test_histogram);
	UNIT_RUN(test_gauge_fn);
	UNIT_RUN(test_counter_fn);
	UNIT_RUN(test_process_metrics_types);
	UNIT_RUN(test_histogram_count_is_inf_bucket);
	UNIT_RUN(test_render_out_of_memory);
	UNIT_RUN(test_series_bounded);
	UNIT_RUN(test_threads);
	return unit_done();
}
