#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "util.h"
#include "version.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

#define METRIC_FAMILIES_MAX 256

struct metric_series {
	struct metric_series	*next;		/* append-only list */
	struct metric		*family;
	char			*values[METRIC_LABELS_MAX];
	_Atomic uint64_t	 bits;		/* double: counter/gauge/sum */
	_Atomic uint64_t	 count;		/* histogram observations */
	_Atomic uint64_t	*buckets;	/* histogram: nbounds + 1 */
};

struct metric {
	char			*name;
	char			*help;
	enum metric_type	 type;
	int			 nlabels;
	char			*labels[METRIC_LABELS_MAX];
	double			*bounds;
	size_t			 nbounds;
	double			(*fn)(void *);
	void			*fn_arg;
	_Atomic(struct metric_series *) head;
	int			 nseries;
	struct metric_series	*overflow;
};

static pthread_mutex_t	 reg_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct metric	*reg[METRIC_FAMILIES_MAX];
static int		 reg_n;

const double metric_latency_bounds[] = { 0.0001, 0.00025, 0.0005, 0.001,
	0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
const size_t metric_latency_nbounds = ARRAY_LEN(metric_latency_bounds);

static double
bits_dbl(uint64_t b)
{
	double d;

	memcpy(&d, &b, sizeof(d));
	return d;
}

static uint64_t
dbl_bits(double d)
{
	uint64_t b;

	memcpy(&b, &d, sizeof(b));
	return b;
}

static struct metric_series *series_new(struct metric *,
    const char *const *);

static struct metric *
family_find(const char *name)
{
	for (int i = 0; i < reg_n; i++)
		if (strcmp(reg[i]->name, name) == 0)
			return reg[i];
	return NULL;
}

static void
family_free(struct metric *m)
{
	free(m->name);
	free(m->help);
	for (int i = 0; i < m->nlabels; i++)
		free(m->labels[i]);
	free(m->bounds);
	free(m);
}

static struct metric *
family_new(const char *name, const char *help, enum metric_type type,
    const char *labels, const double *bounds, size_t nbounds)
{
	struct metric *m;

	pthread_mutex_lock(&reg_mtx);
	if ((m = family_find(name)) != NULL)
		goto out;
	if (reg_n == METRIC_FAMILIES_MAX || (m = calloc(1, sizeof(*m))) == NULL)
		goto out;
	m->type = type;
	if ((m->name = strdup(name)) == NULL ||
	    (m->help = strdup(help)) == NULL)
		goto fail;
	if (labels != NULL && *labels != '\0') {
		const char *p = labels;

		while (*p != '\0') {
			size_t n = strcspn(p, ",");

			if (m->nlabels == METRIC_LABELS_MAX ||
			    (m->labels[m->nlabels] = strndup(p, n)) == NULL)
				goto fail;
			m->nlabels++;
			p += n;
			if (*p == ',')
				p++;
		}
	}
	if (nbounds > 0) {
		if ((m->bounds = calloc(nbounds, sizeof(double))) == NULL)
			goto fail;
		memcpy(m->bounds, bounds, nbounds * sizeof(double));
		m->nbounds = nbounds;
	}
	/* A family without labels has exactly one series: make it now so
	 * that it is rendered (as 0) before its first update. */
	if (m->nlabels == 0) {
		struct metric_series *only = series_new(m, NULL);

		if (only == NULL)
			goto fail;
		atomic_store(&m->head, only);
		m->nseries = 1;
	}
	reg[reg_n++] = m;
	goto out;
fail:
	family_free(m);
	m = NULL;
out:
	pthread_mutex_unlock(&reg_mtx);
	return m;
}

struct metric *
metric_counter(const char *name, const char *help, const char *labels)
{
	return family_new(name, help, METRIC_COUNTER, labels, NULL, 0);
}

struct metric *
metric_gauge(const char *name, const char *help, const char *labels)
{
	return family_new(name, help, METRIC_GAUGE, labels, NULL, 0);
}

struct metric *
metric_histogram(const char *name, const char *help, const char *labels,
    const double *bounds, size_t nbounds)
{
	return family_new(name, help, METRIC_HISTOGRAM, labels, bounds,
	    nbounds);
}

static int
family_fn(const char *name, const char *help, enum metric_type type,
    double (*fn)(void *), void *arg)
{
	struct metric *m = family_new(name, help, type, NULL, NULL, 0);

	if (m == NULL)
		return -1;
	pthread_mutex_lock(&reg_mtx);
	m->fn = fn;
	m->fn_arg = arg;
	pthread_mutex_unlock(&reg_mtx);
	return 0;
}

int
metric_gauge_fn(const char *name, const char *help, double (*fn)(void *),
    void *arg)
{
	return family_fn(name, help, METRIC_GAUGE, fn, arg);
}

int
metric_counter_fn(const char *name, const char *help, double (*fn)(void *),
    void *arg)
{
	return family_fn(name, help, METRIC_COUNTER, fn, arg);
}

static bool
series_match(const struct metric_series *s, const char *const *vals, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(s->values[i], vals[i] ? vals[i] : "") != 0)
			return false;
	return true;
}

static struct metric_series *
series_lookup(struct metric *m, const char *const *vals)
{
	struct metric_series *s;

	for (s = atomic_load_explicit(&m->head, memory_order_acquire); s;
	    s = s->next)
		if (series_match(s, vals, m->nlabels))
			return s;
	return NULL;
}

static void
series_free(struct metric_series *s)
{
	for (int i = 0; i < METRIC_LABELS_MAX; i++)
		free(s->values[i]);
	free(s->buckets);
	free(s);
}

static struct metric_series *
series_new(struct metric *m, const char *const *vals)
{
	struct metric_series *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->family = m;
	for (int i = 0; i < m->nlabels; i++)
		if ((s->values[i] = strdup(vals[i] ? vals[i] : "")) == NULL)
			goto fail;
	if (m->type == METRIC_HISTOGRAM &&
	    (s->buckets = calloc(m->nbounds + 1, sizeof(*s->buckets))) == NULL)
		goto fail;
	return s;
fail:
	series_free(s);
	return NULL;
}

struct metric_series *
metric_withv(struct metric *m, const char *const *vals)
{
	static const char *const overflow[METRIC_LABELS_MAX] = { "_overflow",
		"_overflow", "_overflow", "_overflow" };
	struct metric_series *s;

	if (m == NULL)
		return NULL;
	if ((s = series_lookup(m, vals)) != NULL)
		return s;
	pthread_mutex_lock(&reg_mtx);
	if ((s = series_lookup(m, vals)) != NULL)
		goto out;
	if (m->nseries >= METRIC_SERIES_MAX) {
		if (m->overflow == NULL)
			m->overflow = series_new(m, overflow);
		if ((s = m->overflow) != NULL && s->next == NULL &&
		    atomic_load(&m->head) != s) {
			s->next = atomic_load(&m->head);
			atomic_store_explicit(&m->head, s,
			    memory_order_release);
		}
		goto out;
	}
	if ((s = series_new(m, vals)) != NULL) {
		s->next = atomic_load(&m->head);
		atomic_store_explicit(&m->head, s, memory_order_release);
		m->nseries++;
	}
out:
	pthread_mutex_unlock(&reg_mtx);
	return s;
}

struct metric_series *
metric_with(struct metric *m, ...)
{
	const char *vals[METRIC_LABELS_MAX] = { NULL };
	va_list ap;

	if (m == NULL)
		return NULL;
	va_start(ap, m);
	for (int i = 0; i < m->nlabels; i++)
		vals[i] = va_arg(ap, const char *);
	va_end(ap);
	return metric_withv(m, vals);
}

static void
atomic_add_dbl(_Atomic uint64_t *p, double v)
{
	uint64_t old = atomic_load_explicit(p, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(p, &old,
	    dbl_bits(bits_dbl(old) + v), memory_order_relaxed,
	    memory_order_relaxed))
		;
}

void
metric_inc(struct metric_series *s)
{
	metric_add(s, 1);
}

void
metric_add(struct metric_series *s, double v)
{
	if (s != NULL)
		atomic_add_dbl(&s->bits, v);
}

void
metric_set(struct metric_series *s, double v)
{
	if (s != NULL)
		atomic_store_explicit(&s->bits, dbl_bits(v),
		    memory_order_relaxed);
}

void
metric_observe(struct metric_series *s, double v)
{
	struct metric *m;
	size_t i;

	if (s == NULL || (m = s->family)->type != METRIC_HISTOGRAM ||
	    isnan(v))
		return;
	for (i = 0; i < m->nbounds; i++)
		if (v <= m->bounds[i])
			break;
	atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
	atomic_add_dbl(&s->bits, v);
}

double
metric_value(const struct metric_series *s)
{
	return s ? bits_dbl(atomic_load_explicit(&s->bits,
	    memory_order_relaxed)) : NAN;
}

unsigned long long
metric_count(const struct metric_series *s)
{
	return s ? atomic_load_explicit(&s->count, memory_order_relaxed) : 0;
}

/* Prometheus accepts any float text; write the shortest exact one. */
static int
put_number(struct buf *b, double v)
{
	char tmp[40];

	if (isnan(v))
		return buf_puts(b, "NaN");
	if (isinf(v))
		return buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	return buf_puts(b, tmp);
}

static int
put_escaped(struct buf *b, const char *s, bool help)
{
	int rc = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\\')
			rc |= buf_puts(b, "\\\\");
		else if (*s == '\n')
			rc |= buf_puts(b, "\\n");
		else if (*s == '"' && !help)
			rc |= buf_puts(b, "\\\"");
		else
			rc |= buf_putc(b, *s);
	}
	return rc;
}

/* name{a="x",b="y"[,le="..."]} */
static int
put_series_name(struct buf *b, const struct metric *m,
    const struct metric_series *s, const char *suffix, const char *le)
{
	bool any = false;
	int rc = 0;

	rc |= buf_puts(b, m->name);
	rc |= buf_puts(b, suffix);
	for (int i = 0; i < m->nlabels; i++) {
		rc |= buf_puts(b, any ? "," : "{");
		rc |= buf_printf(b, "%s=\"", m->labels[i]);
		rc |= put_escaped(b, s->values[i], false);
		rc |= buf_putc(b, '"');
		any = true;
	}
	if (le != NULL) {
		rc |= buf_printf(b, "%sle=\"%s\"", any ? "," : "{", le);
		any = true;
	}
	if (any)
		rc |= buf_putc(b, '}');
	rc |= buf_putc(b, ' ');
	return rc;
}

static int
render_histogram(struct buf *b, const struct metric *m,
    const struct metric_series *s)
{
	uint64_t cum = 0;
	char le[40];
	int rc = 0;

	for (size_t i = 0; i <= m->nbounds; i++) {
		cum += atomic_load_explicit(&s->buckets[i],
		    memory_order_relaxed);
		if (i < m->nbounds) {
			struct buf t;

			buf_init(&t);
			rc |= put_number(&t, m->bounds[i]);
			util_strlcpy(le, t.data ? t.data : "0", sizeof(le));
			buf_free(&t);
		} else
			util_strlcpy(le, "+Inf", sizeof(le));
		rc |= put_series_name(b, m, s, "_bucket", le);
		rc |= buf_printf(b, "%llu\n", (unsigned long long)cum);
	}
	rc |= put_series_name(b, m, s, "_sum", NULL);
	rc |= put_number(b, metric_value(s));
	rc |= buf_putc(b, '\n');
	/* The +Inf bucket, not s->count: observations may land meanwhile,
	 * and Prometheus requires the two to be equal. */
	rc |= put_series_name(b, m, s, "_count", NULL);
	rc |= buf_printf(b, "%llu\n", (unsigned long long)cum);
	return rc;
}

int
metric_render(struct buf *b)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	size_t start = b->len;
	int rc = 0;

	pthread_mutex_lock(&reg_mtx);
	for (int i = 0; i < reg_n; i++) {
		const struct metric *m = reg[i];
		const struct metric_series *s;

		rc |= buf_printf(b, "# HELP %s ", m->name);
		rc |= put_escaped(b, m->help, true);
		rc |= buf_printf(b, "\n# TYPE %s %s\n", m->name,
		    types[m->type]);
		if (m->fn != NULL) {
			rc |= buf_printf(b, "%s ", m->name);
			rc |= put_number(b, m->fn(m->fn_arg));
			rc |= buf_putc(b, '\n');
			continue;
		}
		for (s = atomic_load(&m->head); s != NULL; s = s->next) {
			if (m->type == METRIC_HISTOGRAM) {
				rc |= render_histogram(b, m, s);
				continue;
			}
			rc |= put_series_name(b, m, s, "", NULL);
			rc |= put_number(b, metric_value(s));
			rc |= buf_putc(b, '\n');
		}
	}
	pthread_mutex_unlock(&reg_mtx);
	/* A failed append leaves a gap: say so rather than serve half. */
	if (rc != 0) {
		b->len = start;
		if (b->data != NULL)
			b->data[start] = '\0';
		return -1;
	}
	return 0;
}

/* --- process metrics ------------------------------------------------ */

static double	 start_time_s;

static int
proc_stat(double *cpu_s, double *rss_bytes)
{
	char line[1024], *p;
	unsigned long utime, stime;
	long rss;
	FILE *fp;

	if ((fp = fopen("/proc/self/stat", "r")) == NULL)
		return -1;
	p = fgets(line, sizeof(line), fp);
	fclose(fp);
	/* The command name may hold spaces: parse after its ')'. */
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return -1;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu"
	    " %*d %*d %*d %*d %*d %*d %*u %*u %ld", &utime, &stime, &rss) != 3)
		return -1;
	*cpu_s = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
	*rss_bytes = (double)rss * (double)sysconf(_SC_PAGESIZE);
	return 0;
}

static double
proc_cpu(void *arg)
{
	double cpu = 0, rss = 0;

	proc_stat(&cpu, &rss);
	return cpu;
}

static double
proc_rss(void *arg)
{
	double cpu = 0, rss = 0;

	proc_stat(&cpu, &rss);
	return rss;
}

static double
proc_start(void *arg)
{
	return start_time_s;
}

void
metric_process(const char *daemon)
{
	if (start_time_s != 0)
		return;
	start_time_s = (double)util_now_ns() / 1e9;
	metric_counter_fn("process_cpu_seconds_total",
	    "User and system CPU time spent, in seconds.", proc_cpu, NULL);
	metric_gauge_fn("process_resident_memory_bytes",
	    "Resident memory size in bytes.", proc_rss, NULL);
	metric_gauge_fn("process_start_time_seconds",
	    "Start time of the process since the Unix epoch in seconds.",
	    proc_start, NULL);
	metric_set(metric_with(metric_gauge("grilld_build_info",
	    "The daemon and its version; always 1.", "daemon,version"),
	    daemon, GRILLD_VERSION), 1);
}
