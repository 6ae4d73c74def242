/*
 * cook: the deterministic cook model.
 *
 * Every value is a pure function of (seed, device, channel, cook time):
 * the same seed gives the same readings, in any order, on any thread.
 * Temperatures are modelled in Fahrenheit and converted at the end.
 *
 * Cook time runs in cycles of 16 h (one cook a cycle; the meat goes back
 * in cold, the pit lights again). Within a cycle:
 *
 *   pit      warms from ambient to its set point (225, 250 or 275 F),
 *            then oscillates around it as its controller cycles the fan;
 *            the lid opens every ~90 min (a fast dip of 30-70 F and a
 *            recovery of a few minutes); the fire dies in the last hour.
 *   meat     Newtonian heating towards the pit, then the stall (large
 *            cuts plateau at ~150-170 F for hours while moisture
 *            evaporates), then the climb to done (203 F brisket, 198
 *            pork, 195 ribs, 165 chicken), then the rest (carry-over,
 *            then a slow decline).
 *   ambient  a daily swing with slow drift; fridge: compressor cycles;
 *   humidity a daily swing with drift, always within 0-100 %.
 *
 * A channel marked `unplugs` reads NO PROBE for 5-15 min in every 2 h of
 * cook time, one with no probe plugged in (`plugged: false`) always.
 * Batteries drain through a cycle; Wi-Fi and gateway signal strengths
 * drift. Sample noise is hashed from the sample index, and
 * every value is rounded to 0.1 and stored as float32, as the devices do.
 */
#include <math.h>
#include <string.h>

#include "twsim.h"

#define CYCLE_S		(16 * 3600.0)
#define FIRE_OUT_S	(CYCLE_S - 3600.0)
#define LID_EVERY_S	5400.0
#define UNPLUG_EVERY_S	7200.0

/* Lanes: independent streams of hashed randomness per device. */
enum lane {
	LANE_PIT = 1, LANE_LID, LANE_MEAT, LANE_AMBIENT, LANE_NOISE,
	LANE_UNPLUG, LANE_BATTERY, LANE_RSSI, LANE_HUMID
};

static const char *const cook_names[COOK_COUNT] = {
	"pit", "brisket", "pork", "ribs", "chicken", "ambient", "fridge",
	"humidity",
};

const char *
cook_name(enum tw_cook c)
{
	return c < COOK_COUNT ? cook_names[c] : "?";
}

int
cook_parse(const char *s, enum tw_cook *c)
{
	for (int i = 0; i < COOK_COUNT; i++)
		if (strcmp(s, cook_names[i]) == 0) {
			*c = (enum tw_cook)i;
			return 0;
		}
	return -1;
}

static double
u01(uint64_t seed, const struct tw_device *d, uint64_t lane, uint64_t i)
{
	return hash_unit(seed ^ d->key, lane, i);
}

static int64_t
cycle_of(double t)
{
	return (int64_t)floor(t / CYCLE_S);
}

int
cook_set_temp_f(uint64_t seed, const struct tw_device *d, double t)
{
	static const int choices[] = { 225, 250, 275 };

	if (d->set_temp_f > 0)
		return d->set_temp_f;
	return choices[(int)(u01(seed, d, LANE_PIT,
	    (uint64_t)cycle_of(t)) * 3)];
}

static double
ambient_f(uint64_t seed, const struct tw_device *d, double t)
{
	double base = 62 + 14 * u01(seed, d, LANE_AMBIENT, 0);
	double phase = 86400 * u01(seed, d, LANE_AMBIENT, 1);

	return base + 6 * sin(2 * M_PI * (t + phase) / 86400) +
	    1.5 * hash_smooth(seed ^ d->key, LANE_AMBIENT, t / 900);
}

/* The dip of one lid opening x seconds after it, depth D. */
static double
lid_dip(double x, double depth)
{
	if (x < 0)
		return 0;
	if (x < 45)
		return depth * x / 45;
	return depth * exp(-(x - 45) / 300);
}

static double
pit_f(uint64_t seed, const struct tw_device *d, double t)
{
	int64_t c = cycle_of(t);
	double tc = t - (double)c * CYCLE_S;
	double a = ambient_f(seed, d, t), s = cook_set_temp_f(seed, d, t);
	double tau = 600 + 600 * u01(seed, d, LANE_PIT, 10);
	double amp1 = 4 + 4 * u01(seed, d, LANE_PIT, 11);
	double per1 = 300 + 300 * u01(seed, d, LANE_PIT, 12);
	double amp2 = 1.5 + u01(seed, d, LANE_PIT, 13);
	double per2 = 80 + 40 * u01(seed, d, LANE_PIT, 14);
	double ph = 2 * M_PI * u01(seed, d, LANE_PIT, 15);
	double live = tc < FIRE_OUT_S ? tc : FIRE_OUT_S;
	double warm = 1 - exp(-live / tau), v, dip = 0;
	int64_t i0, i1;

	v = a + (s - a) * warm + warm * (amp1 * sin(2 * M_PI * live / per1 +
	    ph) + amp2 * sin(2 * M_PI * live / per2 + 2 * ph));
	/* Lid openings near tc: event i at about 3000 + i * LID_EVERY_S. */
	i0 = (int64_t)floor((tc - 3000 - 4200) / LID_EVERY_S);
	i1 = (int64_t)floor((tc - 3000 + 1200) / LID_EVERY_S);
	for (int64_t i = i0 < 0 ? 0 : i0; i <= i1; i++) {
		uint64_t ev = (uint64_t)c * 64 + (uint64_t)i;
		double at = 3000 + (double)i * LID_EVERY_S +
		    (u01(seed, d, LANE_LID, ev * 2) - 0.5) * 2400;
		double depth = 30 + 40 * u01(seed, d, LANE_LID, ev * 2 + 1);

		if (at < FIRE_OUT_S)
			dip += lid_dip(tc - at, depth);
	}
	v -= dip;
	if (tc > FIRE_OUT_S)
		v = a + (v - a) * exp(-(tc - FIRE_OUT_S) / 1200);
	return v;
}

struct meat {
	double	 start, stall, stall_rise, stall_s, tau1, tau2, done;
};

static void
meat_params(uint64_t seed, const struct tw_device *d, int ch,
    enum tw_cook cook, int64_t c, struct meat *m)
{
	uint64_t i = (uint64_t)c * 16 + (uint64_t)ch * 256;
	double u[6];

	for (int n = 0; n < 6; n++)
		u[n] = u01(seed, d, LANE_MEAT, i + (uint64_t)n);
	m->start = 36 + 6 * u[0];
	switch (cook) {
	case COOK_BRISKET:
		m->tau1 = 9000 + 3600 * u[1];
		m->stall = 148 + 10 * u[2];
		m->stall_rise = 2 + 3 * u[3];
		m->stall_s = 10800 + 7200 * u[4];
		m->tau2 = 7200 + 3600 * u[5];
		m->done = 203;
		break;
	case COOK_PORK:
		m->tau1 = 8000 + 3000 * u[1];
		m->stall = 150 + 8 * u[2];
		m->stall_rise = 2 + 3 * u[3];
		m->stall_s = 7200 + 5400 * u[4];
		m->tau2 = 6000 + 3000 * u[5];
		m->done = 198;
		break;
	case COOK_RIBS:
		m->tau1 = 4200 + 1800 * u[1];
		m->stall = 152 + 8 * u[2];
		m->stall_rise = 1 + 3 * u[3];
		m->stall_s = 2400 + 2400 * u[4];
		m->tau2 = 3600 + 1800 * u[5];
		m->done = 195;
		break;
	default:		/* chicken: no stall */
		m->tau1 = 2400 + 900 * u[1];
		m->stall = 0;
		m->stall_rise = 0;
		m->stall_s = 0;
		m->tau2 = m->tau1;
		m->done = 165;
		break;
	}
}

/* Time to go from a to b approaching the asymptote top with constant tau. */
static double
time_to(double top, double a, double b, double tau)
{
	if (b <= a)
		return 0;
	return tau * log((top - a) / (top - b));
}

static double
meat_f(uint64_t seed, const struct tw_device *d, int ch, enum tw_cook cook,
    double t)
{
	int64_t c = cycle_of(t);
	double tc = t - (double)c * CYCLE_S, top, t1, t2, td, v2, x;
	struct meat m;

	/* The sensors of an RFX Meat probe sit in one piece of meat. */
	meat_params(seed, d, d->model == MODEL_RFX_MEAT ? 0 : ch, cook, c, &m);
	top = fmax(cook_set_temp_f(seed, d, t), m.done + 20);
	if (m.stall_s > 0) {
		/* Heating, then the stall: the climb slows over ~10 min. */
		double slope, ease = 600, rise;

		t1 = time_to(top, m.start, m.stall, m.tau1);
		if (tc < t1)
			return top - (top - m.start) * exp(-tc / m.tau1);
		slope = (top - m.stall) / m.tau1;
		rise = slope * ease;
		x = fmin(tc - t1, m.stall_s);
		v2 = m.stall + rise * (1 - exp(-x / ease)) +
		    m.stall_rise * (x / m.stall_s) * (x / m.stall_s);
		t2 = t1 + m.stall_s;
		if (tc < t2)
			return v2;
	} else {
		t2 = 0;
		v2 = m.start;
		m.tau2 = m.tau1;
	}
	td = t2 + time_to(top, v2, m.done, m.tau2);
	if (tc < td)
		return top - (top - v2) * exp(-(tc - t2) / m.tau2);
	/* Resting: a few degrees of carry-over, then ~8 F an hour down. */
	x = tc - td;
	return fmax(m.done + 5 * (1 - exp(-x / 600)) - 8 * x / 3600, 140);
}

static double
fridge_f(uint64_t seed, const struct tw_device *d, double t)
{
	double per = 1500 + 600 * u01(seed, d, LANE_AMBIENT, 20);
	double x = t / per - floor(t / per);

	/* Warms while the compressor rests, cools while it runs. */
	return 35.5 + 3 * (x < 0.7 ? x / 0.7 : (1 - x) / 0.3);
}

static double
humidity_pct(uint64_t seed, const struct tw_device *d, double t)
{
	double phase = 86400 * u01(seed, d, LANE_HUMID, 0);

	return 48 + 14 * sin(2 * M_PI * (t + phase) / 86400) +
	    6 * hash_smooth(seed ^ d->key, LANE_HUMID, t / 1800);
}

/* The noiseless curve of a channel at cook time t, in F (or % for H). */
double
cook_curve_f(uint64_t seed, const struct tw_device *d, int ch, double t)
{
	const struct tw_channel *c = &d->ch[ch];
	double v;

	switch (c->cook) {
	case COOK_PIT:
		v = pit_f(seed, d, t);
		break;
	case COOK_BRISKET:
	case COOK_PORK:
	case COOK_RIBS:
	case COOK_CHICKEN:
		v = meat_f(seed, d, ch, c->cook, t);
		break;
	case COOK_FRIDGE:
		v = fridge_f(seed, d, t);
		break;
	case COOK_HUMIDITY:
		v = humidity_pct(seed, d, t);
		break;
	default:
		v = ambient_f(seed, d, t);
		break;
	}
	return v + c->offset_f;
}

bool
cook_unplugged(uint64_t seed, const struct tw_device *d, int ch, double t)
{
	double w, start, len, x;
	uint64_t lane = LANE_UNPLUG + (uint64_t)ch * 16;

	if (d->ch[ch].absent)
		return true;
	if (!d->ch[ch].unplugs)
		return false;
	w = floor(t / UNPLUG_EVERY_S);
	x = t - w * UNPLUG_EVERY_S;
	start = 900 + 3000 * u01(seed, d, lane, (uint64_t)(int64_t)w * 2);
	len = 300 + 600 * u01(seed, d, lane, (uint64_t)(int64_t)w * 2 + 1);
	return x >= start && x < start + len;
}

static double
to_units(double f, char units)
{
	return units == 'C' ? (f - 32) * 5 / 9 : f;
}

/* High and low alarms of a channel, in its units. */
void
cook_alarms(uint64_t seed, const struct tw_device *d, int ch, double t,
    struct tw_alarm *hi, struct tw_alarm *lo)
{
	const struct tw_channel *c = &d->ch[ch];
	double s = cook_set_temp_f(seed, d, t);

	hi->enabled = lo->enabled = false;
	switch (c->cook) {
	case COOK_PIT:
		hi->enabled = lo->enabled = true;
		hi->value = s + 40;
		lo->value = s - 40;
		break;
	case COOK_BRISKET:
		hi->enabled = true;
		hi->value = 203;
		lo->value = 32;
		break;
	case COOK_PORK:
		hi->enabled = true;
		hi->value = 198;
		lo->value = 32;
		break;
	case COOK_RIBS:
		hi->enabled = true;
		hi->value = 195;
		lo->value = 32;
		break;
	case COOK_CHICKEN:
		hi->enabled = true;
		hi->value = 165;
		lo->value = 32;
		break;
	case COOK_FRIDGE:
		hi->enabled = lo->enabled = true;
		hi->value = 41;
		lo->value = 33;
		break;
	case COOK_HUMIDITY:
		hi->value = 90;
		lo->value = 20;
		return;		/* percent: no conversion */
	default:
		hi->value = 100;
		lo->value = 32;
		break;
	}
	hi->value = round(to_units(hi->value, d->units));
	lo->value = round(to_units(lo->value, d->units));
}

void
cook_sample(const struct tw_world *w, const struct tw_device *d, int ch,
    int64_t k, struct tw_sample *s)
{
	const struct tw_channel *c = &d->ch[ch];
	double t = timeline_cook_s(w, d, k), v, noise;
	struct tw_alarm hi, lo;

	if (cook_unplugged(w->seed, d, ch, t)) {
		s->present = false;
		s->value = 0;
		s->status = "NO PROBE";
		return;
	}
	noise = hash_unit(w->seed ^ d->key, LANE_NOISE + (uint64_t)ch * 16,
	    (uint64_t)k) - 0.5;
	v = cook_curve_f(w->seed, d, ch, t);
	if (c->cook == COOK_HUMIDITY)
		v = fmin(fmax(v + 0.6 * noise, 0), 100);
	else
		v = to_units(v + (c->cook == COOK_PIT ? 1.0 : 0.3) * noise,
		    d->units);
	/* 0.1 resolution, stored as float32: 225.10000610351562. */
	s->value = (double)(float)(round(v * 10) / 10);
	s->present = true;
	cook_alarms(w->seed, d, ch, t, &hi, &lo);
	if (hi.enabled && s->value >= hi.value)
		s->status = "HIGH";
	else if (lo.enabled && s->value <= lo.value)
		s->status = "LOW";
	else
		s->status = "NORMAL";
}

/* Battery percent: charged at the start of a cook, drained through it. */
int
cook_battery(uint64_t seed, const struct tw_device *d, double t)
{
	static const double per_hour[MODEL_COUNT] = {
		[MODEL_SIGNALS] = 5, [MODEL_SMOKE] = 4, [MODEL_NODE] = 1.5,
		[MODEL_RFX_GATEWAY] = 0, [MODEL_RFX_MEAT] = 5,
		[MODEL_THERMADATA] = 0.2,
	};
	int64_t c = cycle_of(t);
	double tc = t - (double)c * CYCLE_S;
	double start = 88 + 12 * u01(seed, d, LANE_BATTERY, (uint64_t)c);

	return (int)fmax(5, floor(start - per_hour[d->model] * tc / 3600));
}

/* Signal strength in dBm; lane 0 Wi-Fi, 1 the RFX gateway's radio. */
int
cook_rssi(uint64_t seed, const struct tw_device *d, double t, int lane)
{
	uint64_t l = LANE_RSSI + (uint64_t)lane * 16;
	double base = -52 - 20 * u01(seed, d, l, 0);

	return (int)lround(base + 7 * hash_smooth(seed ^ d->key, l, t / 1200) +
	    hash_unit(seed ^ d->key, l + 1, (uint64_t)(int64_t)(t / 60)) -
	    0.5);
}
