/*
 * Anomaly detection, per probe, online, in constant memory (struct
 * anomaly_state, a few dozen bytes a probe):
 *
 *   READING_F_ZSCORE     |x - mean| > z_limit * sd, mean and variance
 *                        exponentially weighted (alpha), once warmup
 *                        readings are in; sd never below min_sd, so a
 *                        quiet probe does not flag its first wiggle;
 *   READING_F_RATE       |dx/dt| above the physical limit of the quantity
 *                        (temperature in C/s, humidity in %/s);
 *   READING_F_STUCK      the same value stuck_n times in a row over at
 *                        least stuck_ns, on a probe that has moved before;
 *   READING_F_DROPOUT    the first reading after a gap longer than
 *                        dropout_factor usual intervals (and dropout_min);
 *   READING_F_RECONNECT  the first value after the probe was unplugged
 *                        (NO PROBE), or after a silence of reconnect_ns,
 *                        the time after which a device counts as offline.
 *                        The statistics start over then (new meat, new
 *                        place).
 *
 * Values are compared in the canonical unit (Celsius; humidity as is).
 * A reading not newer than the last one (a replay, a late backfill) is
 * neither flagged nor learnt from.
 */
#include <math.h>
#include <string.h>

#include "ingest.h"

void
anomaly_conf_default(struct anomaly_conf *c)
{
	c->z_limit = 4.0;
	c->alpha = 0.1;
	c->warmup = 10;
	c->min_sd = 0.5;
	c->rate_limit_c = 10.0;
	c->rate_limit_h = 20.0;
	c->stuck_n = 20;
	c->stuck_ns = 10 * 60 * NS_PER_S;
	c->dropout_factor = 5.0;
	c->dropout_min_ns = 60 * NS_PER_S;
	c->reconnect_ns = 5 * 60 * NS_PER_S;
}

static void
learn(const struct anomaly_conf *c, struct anomaly_state *s, double x)
{
	double d, incr;

	if (s->n == 0) {
		s->mean = x;
		s->var = 0;
	} else {
		d = x - s->mean;
		incr = c->alpha * d;
		s->mean += incr;
		s->var = (1 - c->alpha) * (s->var + d * incr);
	}
	if (s->n < UINT32_MAX)
		s->n++;
}

uint32_t
anomaly_check(const struct anomaly_conf *c, struct anomaly_state *s,
    const struct reading *r)
{
	uint32_t flags = 0;
	int64_t gap;
	double x, dt, sd, limit;

	if (s->last_ts != 0 && r->ts_ns <= s->last_ts)
		return 0;
	if (!r->has_value) {
		s->last_ts = r->ts_ns;
		s->absent = true;
		s->flat_n = 0;
		return 0;
	}
	x = reading_canonical(r);
	if (!isfinite(x))
		return 0;

	gap = s->last_ts ? r->ts_ns - s->last_ts : 0;
	if (s->last_ts != 0 && s->interval_s > 0 &&
	    (double)gap > c->dropout_factor * s->interval_s * NS_PER_S &&
	    gap > c->dropout_min_ns)
		flags |= READING_F_DROPOUT;
	if (s->last_ts != 0 && (s->absent || gap >= c->reconnect_ns)) {
		flags |= READING_F_RECONNECT;
		s->n = 0;
		s->flat_n = 0;
		s->moved = false;
		s->have_last = false;
	}

	if (s->have_last) {
		dt = (double)gap / NS_PER_S;
		limit = r->unit == 'H' ? c->rate_limit_h : c->rate_limit_c;
		if (fabs(x - s->last) / (dt < 1 ? 1 : dt) > limit)
			flags |= READING_F_RATE;
		if (x == s->last) {
			if (s->flat_n == 0)
				s->flat_since = s->last_ts;
			s->flat_n++;
			if (s->moved && s->flat_n + 1 >= c->stuck_n &&
			    r->ts_ns - s->flat_since >= c->stuck_ns)
				flags |= READING_F_STUCK;
		} else {
			s->flat_n = 0;
			s->moved = true;
		}
		/* The usual interval, learnt only from ordinary gaps. */
		if (!(flags & (READING_F_DROPOUT | READING_F_RECONNECT)))
			s->interval_s = s->interval_s > 0 ? s->interval_s +
			    0.2 * (dt - s->interval_s) : dt;
	}
	if (s->n >= c->warmup) {
		sd = sqrt(s->var);
		if (sd < c->min_sd)
			sd = c->min_sd;
		if (fabs(x - s->mean) > c->z_limit * sd)
			flags |= READING_F_ZSCORE;
	}
	learn(c, s, x);
	s->last = x;
	s->last_ts = r->ts_ns;
	s->have_last = true;
	s->absent = false;
	return flags;
}
