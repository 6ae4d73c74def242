/*
 * plan: which retention policy answers a query over a time range, at
 * what interval, and the InfluxQL that asks it.
 *
 * The ingester keeps raw points (raw, ingest.retention_raw) and rolls
 * them up with continuous queries into hourly, daily and monthly means,
 * minima, maxima and counts (see ingest/influx.c: value_c, value_c_min,
 * value_c_max, value_count; humidity has its own fields and no value_c,
 * so every aggregate here is of temperatures only).
 *
 * While raw points still reach back to the start of the range, the
 * query reads them: exact, and fresh to the last second (the rollups lag
 * by up to ingest.cq_interval). Further back, it reads the coarsest
 * rollup whose resolution divides the interval and that reaches back
 * that far, raising the interval to the rollup's resolution when it must
 * (the plan then says why), and reads the tail still held raw, from an
 * interval boundary inside the raw retention, from raw points
 * aggregated at the same interval: a year of history is 365 daily rows
 * and one week of raw points, not 30 million raw points.
 *
 * With no interval asked, the plan picks the smallest "nice" interval
 * (at least 1 minute, grill-stats' default) that keeps the answer within
 * api.max_points buckets. An interval asked explicitly that would need
 * more buckets than that is refused (PLAN_TOO_MANY) with a suggestion,
 * never silently cut.
 *
 * aggregation none returns the stored points: raw ones while raw still
 * holds the start of the range, else the means of the finest rollup
 * that does (and raw means at its resolution for the raw tail).
 *
 * Pure functions of their input: unit-tested in tests/unit/
 * test_api_plan.c.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"

#define S_MS	INT64_C(1000)
#define M_MS	(60 * S_MS)
#define H_MS	(60 * M_MS)
#define D_MS	(24 * H_MS)

#define DEFAULT_INTERVAL_MS	M_MS	/* grill-stats' 1m */
#define SPLIT_MARGIN_MS		H_MS	/* raw tail starts this far inside */

/*
 * The policies and the fields the ingester's continuous queries write
 * into them. raw holds value (as measured), value_c (Celsius) and the
 * rest of the reading; the rollups hold aggregates of value_c.
 */
static const struct rp_def {
	const char	*name;
	int64_t		 resolution_ms;
	const char	*mean, *min, *max, *count;
} rps[RP_COUNT] = {
	{ "raw", 0, "value_c", "value_c", "value_c", "value_c" },
	{ "hourly", H_MS, "value_c", "value_c_min", "value_c_max",
	  "value_count" },
	{ "daily", D_MS, "value_c", "value_c_min", "value_c_max",
	  "value_count" },
	{ "monthly", 30 * D_MS, "value_c", "value_c_min", "value_c_max",
	  "value_count" },
};

static const char *const agg_names[] = { "none", "mean", "min", "max",
	"sum", "count", "median" };

static const int64_t nice_ms[] = {
	S_MS, 5 * S_MS, 10 * S_MS, 15 * S_MS, 30 * S_MS,
	M_MS, 2 * M_MS, 5 * M_MS, 10 * M_MS, 15 * M_MS, 30 * M_MS,
	H_MS, 2 * H_MS, 3 * H_MS, 6 * H_MS, 12 * H_MS,
	D_MS, 2 * D_MS, 7 * D_MS, 14 * D_MS, 30 * D_MS,
};

const char *
plan_rp_name(enum rp rp)
{
	return rp < RP_COUNT ? rps[rp].name : "?";
}

int64_t
plan_rp_resolution_ms(enum rp rp)
{
	return rp < RP_COUNT ? rps[rp].resolution_ms : 0;
}

const char *
plan_agg_name(enum agg a)
{
	return (size_t)a < ARRAY_LEN(agg_names) ? agg_names[a] : "?";
}

int
plan_agg_parse(const char *s, enum agg *a)
{
	for (size_t i = 0; i < ARRAY_LEN(agg_names); i++) {
		if (strcasecmp(s, agg_names[i]) == 0) {
			*a = (enum agg)i;
			return 0;
		}
	}
	return -1;
}

/*
 * An InfluxDB retention duration ("7d", "90d", "2h30m", "INF") into
 * ms; 0 means forever.
 */
int
plan_retention_parse(const char *s, int64_t *ms)
{
	int64_t total = 0;

	if (s == NULL || *s == '\0')
		return -1;
	if (strcasecmp(s, "INF") == 0 || strcmp(s, "0") == 0 ||
	    strcmp(s, "0s") == 0) {
		*ms = 0;
		return 0;
	}
	while (*s != '\0') {
		int64_t n = 0, mul;

		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (n > INT64_C(1000000000))
				return -1;
			n = n * 10 + (*s - '0');
		}
		switch (*s++) {
		case 's': mul = S_MS; break;
		case 'm': mul = M_MS; break;
		case 'h': mul = H_MS; break;
		case 'd': mul = D_MS; break;
		case 'w': mul = 7 * D_MS; break;
		default: return -1;
		}
		total += n * mul;
	}
	*ms = total;
	return 0;
}

/* The retentions of the four policies, from the ingester's options. */
void
plan_retentions(const struct grilld_conf *cf, int64_t *ret)
{
	const char *text[RP_COUNT] = { cf->ingest.retention_raw,
		cf->ingest.retention_hourly, cf->ingest.retention_daily,
		cf->ingest.retention_monthly };

	for (int i = 0; i < RP_COUNT; i++)
		if (plan_retention_parse(text[i], &ret[i]) == -1)
			ret[i] = 0;
}

static bool
covers(const struct plan_in *in, enum rp rp)
{
	int64_t ret = in->retention_ms[rp];

	return ret == 0 || in->start_ns >= in->now_ns - ret * NS_PER_MS;
}

static int64_t
nice_interval(int64_t want_ms)
{
	for (size_t i = 0; i < ARRAY_LEN(nice_ms); i++)
		if (nice_ms[i] >= want_ms)
			return nice_ms[i];
	return (want_ms + 30 * D_MS - 1) / (30 * D_MS) * (30 * D_MS);
}

static int64_t
buckets_of(const struct plan_in *in, int64_t interval_ms)
{
	int64_t span_ms = (in->end_ns - in->start_ns + NS_PER_MS - 1) /
	    NS_PER_MS;

	/* A range that starts mid-bucket touches one more. */
	return span_ms / interval_ms + 1;
}

/*
 * Where the raw tail of a rollup plan begins: past the raw retention's
 * edge by a margin (points there expire while the query runs), on an
 * interval boundary so that no bucket is split between the two.
 */
static int64_t
split_at(const struct plan_in *in, int64_t interval_ms)
{
	int64_t edge, iv = interval_ms * NS_PER_MS;

	if (in->retention_ms[RP_RAW] == 0 || iv <= 0)
		return 0;
	edge = in->now_ns - (in->retention_ms[RP_RAW] - SPLIT_MARGIN_MS) *
	    NS_PER_MS;
	edge = (edge / iv + (edge % iv != 0)) * iv;
	return edge > in->start_ns && edge < in->end_ns ? edge : 0;
}

/* The finest rollup that reaches back to the start (monthly at worst). */
static enum rp
finest_covering(const struct plan_in *in)
{
	enum rp rp;

	for (rp = RP_HOURLY; rp < RP_MONTHLY && !covers(in, rp); rp++)
		;
	return rp;
}

/*
 * 0 with the plan; PLAN_TOO_MANY when an interval asked would need more
 * than max_points buckets (why then says what would do); -1 for input
 * that makes no sense (end before start).
 */
int
plan_make(const struct plan_in *in, struct plan *p)
{
	int64_t want = in->interval_ms, res, span_ms;
	enum rp rp;
	char iv[32], ret[32];

	memset(p, 0, sizeof(*p));
	if (in->end_ns <= in->start_ns || in->max_points <= 0)
		return -1;
	span_ms = (in->end_ns - in->start_ns) / NS_PER_MS;
	util_format_duration(in->retention_ms[RP_RAW], ret, sizeof(ret));
	if (in->agg == AGG_NONE) {
		if (covers(in, RP_RAW))
			return 0;	/* raw points, interval 0 */
		p->rp = rp = finest_covering(in);
		p->interval_ms = rps[rp].resolution_ms;
		p->buckets = buckets_of(in, p->interval_ms);
		p->split_ns = split_at(in, p->interval_ms);
		p->coarsened = true;
		snprintf(p->why, sizeof(p->why), "raw points are kept for %s: "
		    "older ones are %s means", ret, rps[rp].name);
		return 0;
	}
	if (want == 0) {
		want = nice_interval(span_ms / in->max_points + 1);
		if (want < DEFAULT_INTERVAL_MS)
			want = DEFAULT_INTERVAL_MS;
	}
	if (covers(in, RP_RAW))
		p->rp = RP_RAW;
	else {
		/* The coarsest rollup that fits the interval and reaches back,
		 * else the finest that reaches back, the interval raised. */
		p->rp = finest_covering(in);
		for (rp = RP_MONTHLY; rp > p->rp; rp--) {
			res = rps[rp].resolution_ms;
			if (want >= res && want % res == 0 && covers(in, rp))
				break;
		}
		p->rp = rp;
		res = rps[rp].resolution_ms;
		if (want % res != 0) {
			want = (want + res - 1) / res * res;
			p->coarsened = in->interval_ms != 0;
			util_format_duration(want, iv, sizeof(iv));
			snprintf(p->why, sizeof(p->why), "raw points are kept "
			    "for %s: the interval is %s, from %s before that",
			    ret, iv, rps[rp].name);
		}
		p->split_ns = split_at(in, want);
	}
	p->interval_ms = want;
	p->buckets = buckets_of(in, want);
	if (p->buckets > in->max_points) {
		util_format_duration(nice_interval(span_ms / in->max_points +
		    1), iv, sizeof(iv));
		snprintf(p->why, sizeof(p->why), "%lld points at this interval; "
		    "at most %lld are answered (api.max_points): ask for "
		    "interval=%s or more, or a shorter range",
		    (long long)p->buckets, (long long)in->max_points, iv);
		return PLAN_TOO_MANY;
	}
	return 0;
}

static const char *
agg_fn(enum agg a)
{
	switch (a) {
	case AGG_MIN: return "min";
	case AGG_MAX: return "max";
	case AGG_SUM: return "sum";
	case AGG_COUNT: return "count";
	case AGG_MEDIAN: return "median";
	default: return "mean";
	}
}

/*
 * SELECT ... FROM "rp"."temperature": the columns time, value (Celsius
 * for aggregates and rollups; as measured for raw points, with unit),
 * probe_id, unit, and for raw points battery, signal, status and flags.
 */
int
plan_select(struct buf *b, const struct plan *p, enum agg a)
{
	const struct rp_def *d = &rps[p->rp];
	const char *field;

	if (a == AGG_NONE && p->rp == RP_RAW)
		buf_puts(b, "SELECT \"value\", \"unit\", \"probe_id\", "
		    "\"battery\", \"signal\", \"status\", \"flags\"");
	else if (a == AGG_NONE)
		buf_printf(b, "SELECT \"%s\" AS \"value_c\", \"probe_id\"",
		    d->mean);
	else {
		switch (a) {
		case AGG_MIN: field = d->min; break;
		case AGG_MAX: field = d->max; break;
		case AGG_COUNT: field = d->count; break;
		default: field = d->mean; break;
		}
		/* Counts of a rollup add up; everything else aggregates. */
		buf_printf(b, "SELECT %s(\"%s\") AS \"value_c\"",
		    a == AGG_COUNT && p->rp != RP_RAW ? "sum" : agg_fn(a),
		    field);
		/* A sum converts to Fahrenheit only knowing its count. */
		if (a == AGG_SUM)
			buf_printf(b, ", count(\"%s\") AS \"n\"", field);
	}
	return buf_printf(b, " FROM \"%s\".\"temperature\"", d->name);
}

/* The field of a policy holding an aggregate: 'm'ean, mi'n', ma'x', 'c'ount. */
const char *
plan_field(enum rp rp, int which)
{
	const struct rp_def *d = &rps[rp < RP_COUNT ? rp : RP_RAW];

	switch (which) {
	case 'n': return d->min;
	case 'x': return d->max;
	case 'c': return d->count;
	default: return d->mean;
	}
}

/*
 * WHERE device [AND probe] AND the time range, in ns; temps: leave out
 * humidity (for aggregates, whose counts would otherwise include it).
 */
int
plan_where(struct buf *b, const char *device, const char *probe,
    int64_t start_ns, int64_t end_ns, bool temps)
{
	buf_puts(b, " WHERE \"device_id\" = ");
	if (iql_string(b, device) == -1)
		return -1;
	if (probe != NULL && *probe != '\0') {
		buf_puts(b, " AND \"probe_id\" = ");
		if (iql_string(b, probe) == -1)
			return -1;
	}
	if (temps)
		buf_puts(b, " AND \"unit\" != 'H'");
	return buf_printf(b, " AND time >= %lld AND time < %lld",
	    (long long)start_ns, (long long)end_ns);
}
