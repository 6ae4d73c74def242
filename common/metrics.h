/*
 * metrics: counters, gauges and histograms with labels, rendered in the
 * Prometheus text exposition format (version 0.0.4).
 *
 * One registry per process. A family is declared once (usually at
 * start-up) with its label names, comma separated ("route,status"), or
 * NULL for none. metric_with() finds or creates the series for a set of
 * label values (as many as the family has names, in order) and returns a
 * pointer that stays valid for the life of the process: keep it and
 * update it on the hot path without any lock (updates are atomic). Only
 * creating a series takes the registry's mutex.
 *
 * Declaring a family twice with the same name returns the first one, so
 * modules may declare what they use without coordinating.
 * A family may hold at most METRIC_SERIES_MAX series; past that,
 * metric_with() returns a shared overflow series (label values
 * "_overflow") rather than growing without bound.
 *
 * metric_render() appends the whole exposition, or returns -1 with the
 * buffer as it was when memory ran out.
 */
#ifndef GRILLD_METRICS_H
#define GRILLD_METRICS_H

#include <stddef.h>

#include "util.h"

#define METRIC_LABELS_MAX 4
#define METRIC_SERIES_MAX 1024

struct metric;
struct metric_series;

struct metric	*metric_counter(const char *, const char *, const char *);
struct metric	*metric_gauge(const char *, const char *, const char *);
/* bounds: the upper bounds of the buckets, increasing; +Inf is implied. */
struct metric	*metric_histogram(const char *, const char *, const char *,
		    const double *, size_t);
/* A gauge whose value is computed at scrape time by fn(arg). */
int		 metric_gauge_fn(const char *, const char *,
		    double (*)(void *), void *);
/* The same for a counter (fn's value must never go down). */
int		 metric_counter_fn(const char *, const char *,
		    double (*)(void *), void *);

struct metric_series *metric_with(struct metric *, ...);
struct metric_series *metric_withv(struct metric *, const char *const *);

void	metric_inc(struct metric_series *);
void	metric_add(struct metric_series *, double);
void	metric_set(struct metric_series *, double);
void	metric_observe(struct metric_series *, double);
double	metric_value(const struct metric_series *);
/* For histograms: the number and sum of observations. */
unsigned long long metric_count(const struct metric_series *);

int	metric_render(struct buf *);

/* Latency buckets in seconds, 100 us to 10 s, for request histograms. */
extern const double metric_latency_bounds[];
extern const size_t metric_latency_nbounds;

/* Registers process_* metrics and grilld_build_info once per process. */
void	metric_process(const char *);

#endif
