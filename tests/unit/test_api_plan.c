/*
 * api plan: which retention policy answers which range, at what
 * interval, with what raw tail, and the InfluxQL of it.
 */
#include <stdio.h>
#include <string.h>

#include "../../api/api.h"
#include "unit.h"

#define MIN_MS	INT64_C(60000)
#define H_MS	(60 * MIN_MS)
#define D_MS	(24 * H_MS)
#define D_NS	(D_MS * NS_PER_MS)
/* A fixed now: 2026-06-15T12:34:56Z. */
#define NOW	(INT64_C(1781526896) * NS_PER_S)

static void
in_init(struct plan_in *in, int64_t span_ns, enum agg a, int64_t iv_ms)
{
	memset(in, 0, sizeof(*in));
	in->now_ns = NOW;
	in->end_ns = NOW;
	in->start_ns = NOW - span_ns;
	in->agg = a;
	in->interval_ms = iv_ms;
	in->max_points = 10000;
	in->retention_ms[RP_RAW] = 7 * D_MS;
	in->retention_ms[RP_HOURLY] = 90 * D_MS;
	in->retention_ms[RP_DAILY] = 730 * D_MS;
	in->retention_ms[RP_MONTHLY] = 0;
}

static void
test_retention_parse(void)
{
	int64_t ms;

	CHECK_INT(plan_retention_parse("7d", &ms), 0);
	CHECK_INT(ms, 7 * D_MS);
	CHECK_INT(plan_retention_parse("2h30m", &ms), 0);
	CHECK_INT(ms, 150 * MIN_MS);
	CHECK_INT(plan_retention_parse("INF", &ms), 0);
	CHECK_INT(ms, 0);
	CHECK_INT(plan_retention_parse("1w", &ms), 0);
	CHECK_INT(ms, 7 * D_MS);
	CHECK_INT(plan_retention_parse("", &ms), -1);
	CHECK_INT(plan_retention_parse("7", &ms), -1);
	CHECK_INT(plan_retention_parse("7y", &ms), -1);
	CHECK_INT(plan_retention_parse("d", &ms), -1);
	CHECK_INT(plan_retention_parse("99999999999999999d", &ms), -1);
}

static void
test_raw_points(void)
{
	struct plan_in in;
	struct plan p;

	in_init(&in, D_NS, AGG_NONE, 0);
	CHECK_INT(plan_make(&in, &p), 0);
	CHECK_INT(p.rp, RP_RAW);
	CHECK_INT(p.interval_ms, 0);
	CHECK_INT(p.split_ns, 0);
	CHECK(!p.coarsened);
	/* Still raw at the edge of the retention. */
	in_init(&in, 7 * D_NS - NS_PER_S, AGG_NONE, 0);
	CHECK_INT(plan_make(&in, &p), 0);
	CHECK_INT(p.rp, RP_RAW);
}

static void
test_none_past_raw(void)
{
	struct plan_in in;
	struct plan p;

	in_init(&in, 30 * D_NS, AGG_NONE, 0);
	CHECK_INT(plan_make(&in, &p), 0);
	CHECK_INT(p.rp, RP_HOURLY);
	CHECK_INT(p.interval_ms, H_MS);
	CHECK(p.coarsened);
	CHECK(strstr(p.why, "kept for 7d") != NULL);
	/* The raw tail: inside the raw retention, on an hour. */
	CHECK(p.split_ns > NOW - 7 * D_NS);
	CHECK(p.split_ns < NOW);
	CHECK_INT(p.split_ns % (H_MS * NS_PER_MS), 0);
	/* Older than hourly keeps: daily. */
	in_init(&in, 200 * D_NS, AGG_NONE, 0);
	CHECK_INT(plan_make(&in, &p), 0);
	CHECK_INT(p.rp, RP_DAILY);
	in_init(&in, 3000 * D_NS, AGG_NONE, 0);
	CHECK_INT(plan_make(&in, &p), 0);
	CHECK_INT(p.rp, RP_MONTHLY);
}

static void
test_auto_interval(void)
{
	struct plan_in in;
	struct plan p;

	/* A day: raw, grill-stats' 1m. */
	in_init(&in, D_NS, AGG_MEAN, 0);
	CHECK_INT(plan_make(&in, &p), 0);
	CHECK_INT(p.rp, RP_RAW);
	CHECK_INT(p.interval_ms, MIN_MS);
	CHECK_INT(p.buckets, 24 * 60 + 1);
	/* Six days: raw, still within max_points. */
	in_init(&in, 6 * D_NS, AGG_MEAN, 0);
	CHECK_INT(plan_make(&in, &p), 0);
	CHECK_INT(p.rp, RP_RAW);
	CHECK(p.buckets <= 10000);
	CHECK_INT(p.interval_ms, MIN_MS);
	/* Ten days past raw: hourly at least, and a raw tail. */
	in_init(&in, 10 * D_NS, AGG_MEAN, 0);
	CHECK_INT(plan_make(&in, &p), 0);
	CHECK_INT(p.rp, RP_HOURLY);
	CHECK_INT(p.interval_ms, H_MS);
	CHECK(p.split_ns != 0);
	/* A year: daily, with a raw tail. */
	in_init(&in, 365 * D_NS, AGG_MEAN, 0);
	CHECK_INT(plan_make(&in, &p), 0);
	CHECK_INT(p.rp, RP_DAILY);
	CHECK_INT(p.interval_ms, D_MS);
	CHECK(p.buckets <= 367);
	CHECK(p.split_ns != 0);
	CHECK_INT(p.split_ns % (D_MS * NS_PER_MS), 0);
	/* A fewer max_points: a coarser nice interval. */
	in_init(&in, D_NS, AGG_MAX, 0);
	in.max_points = 100;
	CHECK_INT(plan_make(&in, &p), 0);
	CHECK_INT(p.interval_ms, 15 * MIN_MS);
}

static void
test_asked_interval(void)
{
	struct plan_in in;
	struct plan p;

	/* 90 minutes over a month: hourly, raised to 2h, and said. */
	in_init(&in, 30 * D_NS, AGG_MEAN, 90 * MIN_MS);
	CHECK_INT(plan_make(&in, &p), 0);
	CHECK_INT(p.rp, RP_HOURLY);
	CHECK_INT(p.interval_ms, 2 * H_MS);
	CHECK(p.coarsened);
	CHECK(strstr(p.why, "2h") != NULL);
	/* 1d over a year prefers daily to hourly. */
	in_init(&in, 60 * D_NS, AGG_MIN, D_MS);
	CHECK_INT(plan_make(&in, &p), 0);
	CHECK_INT(p.rp, RP_DAILY);
	CHECK(!p.coarsened);
	/* 30s over a week is 20,161 buckets: refused, with a suggestion. */
	in_init(&in, 7 * D_NS - NS_PER_S, AGG_MEAN, 30000);
	CHECK_INT(plan_make(&in, &p), PLAN_TOO_MANY);
	CHECK(strstr(p.why, "interval=") != NULL);
	CHECK(strstr(p.why, "10000") != NULL);
	/* An empty range. */
	in_init(&in, 0, AGG_MEAN, 0);
	CHECK_INT(plan_make(&in, &p), -1);
}

static void
test_select(void)
{
	struct plan p;
	struct buf b;

	memset(&p, 0, sizeof(p));
	buf_init(&b);
	p.rp = RP_RAW;
	plan_select(&b, &p, AGG_NONE);
	CHECK_STR(b.data, "SELECT \"value\", \"unit\", \"probe_id\", "
	    "\"battery\", \"signal\", \"status\", \"flags\" FROM "
	    "\"raw\".\"temperature\"");
	buf_reset(&b);
	plan_select(&b, &p, AGG_MEDIAN);
	CHECK_STR(b.data, "SELECT median(\"value_c\") AS \"value_c\" FROM "
	    "\"raw\".\"temperature\"");
	buf_reset(&b);
	plan_select(&b, &p, AGG_SUM);
	CHECK_STR(b.data, "SELECT sum(\"value_c\") AS \"value_c\", "
	    "count(\"value_c\") AS \"n\" FROM \"raw\".\"temperature\"");
	buf_reset(&b);
	p.rp = RP_DAILY;
	plan_select(&b, &p, AGG_COUNT);
	CHECK_STR(b.data, "SELECT sum(\"value_count\") AS \"value_c\" FROM "
	    "\"daily\".\"temperature\"");
	buf_reset(&b);
	plan_select(&b, &p, AGG_MAX);
	CHECK_STR(b.data, "SELECT max(\"value_c_max\") AS \"value_c\" FROM "
	    "\"daily\".\"temperature\"");
	buf_reset(&b);
	p.rp = RP_HOURLY;
	plan_select(&b, &p, AGG_NONE);
	CHECK_STR(b.data, "SELECT \"value_c\" AS \"value_c\", \"probe_id\" "
	    "FROM \"hourly\".\"temperature\"");
	buf_free(&b);
}

static void
test_where(void)
{
	struct buf b;

	buf_init(&b);
	CHECK_INT(plan_where(&b, "SIG-1", "", 1, 2, false), 0);
	CHECK_STR(b.data, " WHERE \"device_id\" = 'SIG-1' AND time >= 1 AND "
	    "time < 2");
	buf_reset(&b);
	CHECK_INT(plan_where(&b, "x' OR '1'='1", "p\\", 5, 6, true), 0);
	CHECK_STR(b.data, " WHERE \"device_id\" = 'x\\' OR \\'1\\'=\\'1' AND "
	    "\"probe_id\" = 'p\\\\' AND \"unit\" != 'H' AND time >= 5 AND "
	    "time < 6");
	buf_free(&b);
}

static void
test_names(void)
{
	enum agg a;

	CHECK_INT(plan_agg_parse("MEDIAN", &a), 0);
	CHECK_INT(a, AGG_MEDIAN);
	CHECK_INT(plan_agg_parse("avg", &a), -1);
	CHECK_STR(plan_agg_name(AGG_COUNT), "count");
	CHECK_STR(plan_rp_name(RP_MONTHLY), "monthly");
	CHECK_INT(plan_rp_resolution_ms(RP_DAILY), D_MS);
}

int
main(void)
{
	UNIT_RUN(test_retention_parse);
	UNIT_RUN(test_raw_points);
	UNIT_RUN(test_none_past_raw);
	UNIT_RUN(test_auto_interval);
	UNIT_RUN(test_asked_interval);
	UNIT_RUN(test_select);
	UNIT_RUN(test_where);
	UNIT_RUN(test_names);
	return unit_done();
}
