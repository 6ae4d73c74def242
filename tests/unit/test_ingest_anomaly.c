/*
 * Anomaly flags on crafted series: a spike, an implausible jump, a
 * stuck sensor, a dropout, an unplugged probe coming back, and a normal
 * cook ramp that must stay unflagged.
 */
#include <math.h>
#include <string.h>

#include "../../ingest/ingest.h"
#include "unit.h"

#define T0	(INT64_C(1700000000) * NS_PER_S)

static struct anomaly_conf conf;

static uint32_t
feed(struct anomaly_state *s, double v, int64_t ts, char unit)
{
	struct reading r;
	uint32_t f;

	reading_init(&r);
	util_strlcpy(r.device_id, "d", sizeof(r.device_id));
	r.value = v;
	r.has_value = true;
	r.unit = unit;
	r.ts_ns = ts;
	f = anomaly_check(&conf, s, &r);
	reading_clear(&r);
	return f;
}

static void
test_ramp_is_quiet(void)
{
	struct anomaly_state s = { 0 };
	uint32_t any = 0;

	/* A brisket climbing 1 F a minute with a little noise, every 30 s. */
	for (int i = 0; i < 400; i++)
		any |= feed(&s, 40 + i * 0.5 + ((i % 3) - 1) * 0.1,
		    T0 + i * 30 * NS_PER_S, 'F');
	CHECK_INT(any, 0);
}

static void
test_spike(void)
{
	struct anomaly_state s = { 0 };
	uint32_t f;
	int i;

	for (i = 0; i < 50; i++)
		CHECK_INT(feed(&s, 100 + (i % 2) * 0.2, T0 + i * 30 * NS_PER_S,
		    'C'), 0);
	f = feed(&s, 130, T0 + i * 30 * NS_PER_S, 'C');
	CHECK(f & READING_F_ZSCORE);
	CHECK(!(f & READING_F_RATE));		/* 30 C in 30 s: 1 C/s */
}

static void
test_rate(void)
{
	struct anomaly_state s = { 0 };
	uint32_t f;

	CHECK_INT(feed(&s, 20, T0, 'C'), 0);
	/* 200 C in 5 s: 40 C/s, beyond the 10 C/s of any probe. */
	f = feed(&s, 220, T0 + 5 * NS_PER_S, 'C');
	CHECK(f & READING_F_RATE);
	/* Humidity has its own limit: 10 % in 1 s is fine, 50 % is not. */
	memset(&s, 0, sizeof(s));
	CHECK_INT(feed(&s, 40, T0, 'H'), 0);
	CHECK_INT(feed(&s, 50, T0 + NS_PER_S, 'H'), 0);
	CHECK(feed(&s, 100, T0 + 2 * NS_PER_S, 'H') & READING_F_RATE);
}

static void
test_stuck(void)
{
	struct anomaly_state s = { 0 };
	uint32_t f = 0;
	int i, first = -1;

	for (i = 0; i < 10; i++)
		feed(&s, 60 + i, T0 + i * 30 * NS_PER_S, 'C');
	/* Then the very same value every 30 s: flagged once it has been
	 * flat for 20 readings and 10 minutes. */
	for (; i < 60; i++) {
		f = feed(&s, 70.25, T0 + i * 30 * NS_PER_S, 'C');
		if ((f & READING_F_STUCK) && first < 0)
			first = i;
	}
	CHECK(f & READING_F_STUCK);
	CHECK(first >= 9 + 20);
	/* Moving again clears it. */
	CHECK(!(feed(&s, 70.5, T0 + i * 30 * NS_PER_S, 'C') & READING_F_STUCK));

	/* A probe that never moved (a constant sensor) is not stuck. */
	memset(&s, 0, sizeof(s));
	f = 0;
	for (i = 0; i < 60; i++)
		f |= feed(&s, 21.0, T0 + i * 30 * NS_PER_S, 'C');
	CHECK(!(f & READING_F_STUCK));
}

static void
test_dropout_and_reconnect(void)
{
	struct anomaly_state s = { 0 };
	struct reading r;
	int64_t ts = T0;
	uint32_t f;
	int i;

	for (i = 0; i < 20; i++, ts += 30 * NS_PER_S)
		feed(&s, 50 + i * 0.1, ts, 'C');
	/* 3 minutes of silence at a 30 s rhythm: a dropout. */
	ts += 150 * NS_PER_S;
	f = feed(&s, 52.2, ts, 'C');
	CHECK(f & READING_F_DROPOUT);
	CHECK(!(f & READING_F_RECONNECT));
	ts += 30 * NS_PER_S;
	CHECK_INT(feed(&s, 52.3, ts, 'C'), 0);
	/* Silent past reconnect_ns: the device came back. */
	ts += conf.reconnect_ns + NS_PER_S;
	f = feed(&s, 20, ts, 'C');
	CHECK(f & READING_F_RECONNECT);
	CHECK(f & READING_F_DROPOUT);
	CHECK(!(f & READING_F_ZSCORE));	/* statistics start over */

	/* Unplugged (no value), then plugged into something else. */
	ts += 30 * NS_PER_S;
	reading_init(&r);
	util_strlcpy(r.device_id, "d", sizeof(r.device_id));
	r.unit = 'C';
	r.ts_ns = ts;
	r.status = PROBE_NO_PROBE;
	CHECK_INT(anomaly_check(&conf, &s, &r), 0);
	ts += 30 * NS_PER_S;
	f = feed(&s, 95, ts, 'C');
	CHECK(f & READING_F_RECONNECT);
}

static void
test_replay_is_ignored(void)
{
	struct anomaly_state s = { 0 };

	for (int i = 0; i < 30; i++)
		feed(&s, 50, T0 + i * NS_PER_S * 30, 'C');
	/* The same timestamp again, or an older one: no flag, no learning. */
	CHECK_INT(feed(&s, 500, T0 + 29 * NS_PER_S * 30, 'C'), 0);
	CHECK_INT(feed(&s, 500, T0, 'C'), 0);
	CHECK_DBL(s.last, 50, 1e-9);
}

int
main(void)
{
	anomaly_conf_default(&conf);
	UNIT_RUN(test_ramp_is_quiet);
	UNIT_RUN(test_spike);
	UNIT_RUN(test_rate);
	UNIT_RUN(test_stuck);
	UNIT_RUN(test_dropout_and_reconnect);
	UNIT_RUN(test_replay_is_ignored);
	return unit_done();
}
