/*
 * Cook intelligence, per probe: a smoothed rate of rise, the estimated
 * time to a target, and the stall, the long plateau of large cuts when
 * evaporation balances the heat (brisket and pork shoulder sit near
 * 65-75 C for hours).
 *
 * Rate: each pair of readings gives a slope; the rate is their
 * exponentially weighted mean with time constant tau_s (irregular
 * intervals weigh by their length: a = 1 - exp(-dt / tau)). In C per
 * minute (humidity is not cooked).
 *
 * ETA: (target - value) / rate from the reading's time, when the rate is
 * at least eta_min_rate; none during a stall.
 *
 * Stall: once the probe has climbed (rate >= rising_rate) and is at or
 * above stall_min_c, the stall starts when either the readings have
 * stayed within plateau_c of each other for plateau_ns (the plateau
 * itself, seen as soon as it is there: 158.8-159.3 F for ten minutes),
 * or the smoothed rate has stayed below stall_rate for stall_ns (a slow
 * creep the band would not hold); it ends when the value has climbed
 * stall_exit_c above where the plateau began and the rate is back above
 * twice stall_rate (a stall creeps up a few degrees in its hours). A
 * probe resting at or past its target is not stalled. A slow reading resets the
 * rate's clock only when the rate goes back above twice stall_rate, so
 * noise does not.
 *
 * No ETA during a stall, nor while a plateau is half way to being one:
 * the rate then falls towards zero and (target - value) / rate would
 * slide later with every reading.
 */
#include <math.h>
#include <string.h>

#include "ingest.h"

void
cook_conf_default(struct cook_conf *c)
{
	c->tau_s = 300;
	c->rising_rate = 0.3;
	c->stall_min_c = 60;
	c->stall_rate = 0.1;
	c->stall_ns = 15 * 60 * NS_PER_S;
	c->stall_exit_c = 1.5;
	c->eta_min_rate = 0.02;
	c->warmup = 3;
	c->plateau_ns = 10 * 60 * NS_PER_S;
	c->plateau_c = 1.0;	/* stall_rate over plateau_ns */
}

/* The band the readings have kept since plat_since; 1: a stall now. */
static int
plateau_update(const struct cook_conf *c, struct cook_state *s, double x,
    int64_t ts)
{
	if (s->plat_since == 0 || x > s->plat_lo + c->plateau_c ||
	    x < s->plat_hi - c->plateau_c) {
		s->plat_since = ts;
		s->plat_lo = s->plat_hi = x;
		return 0;
	}
	if (x < s->plat_lo)
		s->plat_lo = x;
	if (x > s->plat_hi)
		s->plat_hi = x;
	return ts - s->plat_since >= c->plateau_ns;
}

static void
stall_update(const struct cook_conf *c, struct cook_state *s, double x,
    int64_t ts, struct cook_info *out)
{
	if (s->rate >= c->rising_rate && !s->stall)
		s->rising = true;
	if (s->stall) {
		/* Climbing again, not creeping within the plateau. */
		if (x >= s->stall_level + c->stall_exit_c &&
		    s->rate > 2 * c->stall_rate) {
			s->stall = false;
			s->slow_since = 0;
			s->plat_since = 0;
			out->change = COOK_STALL_ENDED;
		}
		return;
	}
	/* Resting at or past the target (or cooling after it) is not a
	 * stall. */
	if (isfinite(out->target_c) && x >= out->target_c)
		s->reached = true;
	if (!s->rising || x < c->stall_min_c || s->reached ||
	    (isfinite(out->target_c) && x >= out->target_c - c->stall_exit_c)) {
		s->slow_since = 0;
		s->plat_since = 0;
		return;
	}
	if (plateau_update(c, s, x, ts)) {
		s->stall = true;
		s->stall_since = s->plat_since;
		s->stall_level = s->plat_lo;
		s->slow_since = 0;
		out->change = COOK_STALL_STARTED;
		return;
	}
	if (s->rate < c->stall_rate) {
		if (s->slow_since == 0) {
			s->slow_since = ts;
			s->stall_level = x;
		}
		if (x < s->stall_level)
			s->stall_level = x;
		if (ts - s->slow_since >= c->stall_ns) {
			s->stall = true;
			s->stall_since = s->slow_since;
			out->change = COOK_STALL_STARTED;
		}
	} else if (s->rate > 2 * c->stall_rate)
		s->slow_since = 0;
}

void
cook_update(const struct cook_conf *c, struct cook_state *s,
    const struct reading *r, double target_c, bool detect_stall,
    struct cook_info *out)
{
	double x, dt_s, slope, a;

	memset(out, 0, sizeof(*out));
	out->target_c = target_c;
	if (!r->has_value || r->unit == 'H' || (s->last_ts != 0 &&
	    r->ts_ns <= s->last_ts))
		goto report;
	x = reading_canonical(r);
	if (!isfinite(x))
		goto report;
	if (s->last_ts != 0) {
		dt_s = (double)(r->ts_ns - s->last_ts) / NS_PER_S;
		slope = (x - s->last) / (dt_s / 60);
		if (s->n <= 1)
			s->rate = slope;
		else {
			a = 1 - exp(-dt_s / c->tau_s);
			s->rate += a * (slope - s->rate);
		}
	}
	if (s->n < UINT32_MAX)
		s->n++;
	s->last = x;
	s->last_ts = r->ts_ns;
	if (detect_stall && s->n > c->warmup)
		stall_update(c, s, x, r->ts_ns, out);
report:
	if (s->n <= c->warmup)
		return;
	out->has_rate = true;
	out->rate_c = s->rate;
	out->stall = s->stall;
	/* A plateau half way to a stall: no ETA to slide. */
	if (isfinite(target_c) && !s->stall && !(s->plat_since != 0 &&
	    s->last_ts - s->plat_since >= c->plateau_ns / 2 &&
	    s->last < target_c)) {
		if (s->last >= target_c) {
			out->has_eta = true;
			out->eta_ns = s->last_ts;
		} else if (s->rate >= c->eta_min_rate) {
			out->has_eta = true;
			out->eta_ns = s->last_ts + (int64_t)((target_c -
			    s->last) / s->rate * 60 * NS_PER_S);
		}
	}
}

/* Appends ,"cook":{...} in the reading's unit (F or C; K shows C). */
int
cook_write_json(struct buf *b, const struct cook_info *ci, char unit)
{
	char t[UTIL_TIME_LEN];
	double k = unit == 'F' ? 9.0 / 5.0 : 1.0;
	size_t start = b->len;
	int rc;

	if (!ci->has_rate)
		return 0;
	rc = buf_printf(b, ",\"cook\":{\"rate\":%.3f,\"rate_unit\":\"%c/min\"",
	    ci->rate_c * k, unit == 'F' ? 'F' : 'C');
	if (rc == 0 && isfinite(ci->target_c))
		rc = buf_printf(b, ",\"target\":%.2f", unit == 'F' ?
		    reading_convert(ci->target_c, 'C', 'F') : ci->target_c);
	if (rc == 0 && ci->has_eta) {
		util_time_format(ci->eta_ns, t, sizeof(t));
		rc = buf_printf(b, ",\"eta\":\"%s\"", t);
	}
	if (rc == 0)
		rc = buf_printf(b, ",\"stall\":%s}", ci->stall ? "true" :
		    "false");
	if (rc == -1) {
		b->len = start;
		if (b->data)
			b->data[start] = '\0';
	}
	return rc;
}
