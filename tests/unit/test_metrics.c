#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

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
	char id[8];

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
	UNIT_RUN(test_series_bounded);
	UNIT_RUN(test_threads);
	return unit_done();
}
