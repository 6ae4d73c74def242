/*
 * Cook intelligence on a crafted brisket: a steady climb (rate and ETA),
 * a three-hour stall (started once, no ETA meanwhile), the climb out
 * (stall ended), the target reached.
 */
#include <math.h>
#include <string.h>

#include "../../ingest/ingest.h"
#include "unit.h"

#define T0	(INT64_C(1700000000) * NS_PER_S)
#define MIN_NS	(60 * NS_PER_S)

static struct cook_conf conf;

static void
feed(struct cook_state *s, double c, int64_t ts, double target,
    struct cook_info *ci)
{
	struct reading r;

	reading_init(&r);
	util_strlcpy(r.device_id, "d", sizeof(r.device_id));
	r.value = reading_convert(c, 'C', 'F');
	r.has_value = true;
	r.unit = 'F';
	r.ts_ns = ts;
	cook_update(&conf, s, &r, target, true, ci);
	reading_clear(&r);
}

static void
test_brisket(void)
{
	struct cook_state s = { 0 };
	struct cook_info ci;
	int64_t ts = T0, stall_start = 0, stall_end = 0;
	int starts = 0, ends = 0, m;
	double c = 5, target = 95;
	bool eta_in_stall = false;

	/* Climb at 0.5 C/min to 66 C, readings every minute with noise. */
	for (m = 0; c < 66; m++, ts += MIN_NS) {
		c = 5 + 0.5 * m;
		feed(&s, c + ((m % 3) - 1) * 0.05, ts, target, &ci);
		if (m == 60) {
			/* 35 C at 0.5 C/min: 60 C to go, about 120 min. */
			CHECK(ci.has_rate);
			CHECK_DBL(ci.rate_c, 0.5, 0.1);
			CHECK(ci.has_eta);
			CHECK_DBL((double)(ci.eta_ns - ts) / MIN_NS, 120, 20);
		}
		CHECK(ci.change == COOK_NONE);
	}
	/* Three hours on a plateau around 66.5 C. */
	for (int i = 0; i < 180; i++, m++, ts += MIN_NS) {
		feed(&s, 66.5 + ((i % 5) - 2) * 0.04, ts, target, &ci);
		if (ci.change == COOK_STALL_STARTED) {
			starts++;
			stall_start = ts;
		}
		if (ci.stall && ci.has_eta)
			eta_in_stall = true;
	}
	CHECK_INT(starts, 1);
	CHECK(stall_start > 0 && stall_start - (ts - 180 * MIN_NS) <=
	    40 * MIN_NS);
	CHECK(ci.stall);
	CHECK(!eta_in_stall);
	/* Out of it at 0.4 C/min up to the target. */
	for (c = 66.5; c < 96; m++, ts += MIN_NS) {
		c += 0.4;
		feed(&s, c, ts, target, &ci);
		if (ci.change == COOK_STALL_ENDED) {
			ends++;
			stall_end = ts;
		}
		CHECK(ci.change != COOK_STALL_STARTED);
	}
	CHECK_INT(ends, 1);
	CHECK(stall_end > 0 && stall_end - (ts - 75 * MIN_NS) <= 15 * MIN_NS);
	CHECK(!ci.stall);
	/* At the target the ETA is the reading's own time. */
	CHECK(ci.has_eta);
	CHECK_INT(ci.eta_ns, ts - MIN_NS);
}

static void
test_no_stall_when_cold_or_flat(void)
{
	struct cook_state s = { 0 };
	struct cook_info ci;
	int64_t ts = T0;
	int i;

	/* An ambient probe flat at 25 C for hours never stalls. */
	for (i = 0; i < 300; i++, ts += MIN_NS) {
		feed(&s, 25, ts, NAN, &ci);
		CHECK(!ci.stall);
	}
	CHECK(!ci.has_eta);		/* no target, no ETA */
	CHECK_DBL(ci.rate_c, 0, 1e-9);
}

static void
test_json(void)
{
	struct cook_info ci = { .has_rate = true, .rate_c = 1.0,
		.target_c = 100, .has_eta = true, .eta_ns = T0 };
	struct buf b;

	buf_init(&b);
	CHECK_INT(cook_write_json(&b, &ci, 'F'), 0);
	CHECK_STR(b.data, ",\"cook\":{\"rate\":1.800,\"rate_unit\":\"F/min\","
	    "\"target\":212.00,\"eta\":\"2023-11-14T22:13:20.000Z\","
	    "\"stall\":false}");
	buf_reset(&b);
	ci.has_rate = false;
	CHECK_INT(cook_write_json(&b, &ci, 'C'), 0);
	CHECK_INT(b.len, 0);
	buf_free(&b);
}

int
main(void)
{
	cook_conf_default(&conf);
	UNIT_RUN(test_brisket);
	UNIT_RUN(test_no_stall_when_cold_or_flat);
	UNIT_RUN(test_json);
	return unit_done();
}
