/*
 * The simulator's cook model and timeline: deterministic, physically
 * sane, with the stall, the NO PROBE windows, bounded humidity, and the
 * upload cycle that hides points between uploads.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../twsim/twsim.h"
#include "unit.h"

#define H 3600.0

static struct tw_world *
world(uint64_t seed)
{
	char err[256];
	struct tw_world *w = scenario_new(seed, 1, 1767225600000LL, 3600000,
	    "key");

	CHECK(demo_build(w, 0, 1, err, sizeof(err)) == 0);
	return w;
}

static struct tw_device *
device(struct tw_world *w, const char *serial)
{
	struct tw_device *d = scenario_find_device(w, serial);

	CHECK(d != NULL);
	return d;
}

static void
test_same_seed_same_readings(void)
{
	struct tw_world *a = world(7), *b = world(7), *c = world(8);
	struct tw_device *da = device(a, "24:0A:C4:1F:6E:10");
	struct tw_device *db = device(b, "24:0A:C4:1F:6E:10");
	struct tw_device *dc = device(c, "24:0A:C4:1F:6E:10");
	struct tw_sample sa, sb, sc;
	int differ = 0;

	for (int64_t k = 0; k < 5000; k += 7)
		for (int ch = 0; ch < da->nchannels; ch++) {
			cook_sample(a, da, ch, k, &sa);
			cook_sample(b, db, ch, k, &sb);
			cook_sample(c, dc, ch, k, &sc);
			CHECK(sa.present == sb.present);
			CHECK(sa.value == sb.value);
			CHECK(strcmp(sa.status, sb.status) == 0);
			differ += sa.value != sc.value;
		}
	/* Computed in another order, the same answer (no hidden state). */
	cook_sample(a, da, 1, 4991, &sa);
	cook_sample(a, da, 1, 3, &sb);
	cook_sample(a, da, 1, 4991, &sc);
	CHECK(sa.value == sc.value);
	CHECK(differ > 1000);	/* another seed, another cook */
	scenario_free(a);
	scenario_free(b);
	scenario_free(c);
}

static void
test_float32_noise(void)
{
	struct tw_world *w = world(1);
	struct tw_device *d = device(w, "24:0A:C4:1F:6E:10");
	struct tw_sample s;
	int noisy = 0;

	for (int64_t k = 0; k < 200; k++) {
		cook_sample(w, d, 0, k, &s);
		/* Every value is a float32 of a tenth. */
		CHECK(s.value == (double)(float)s.value);
		CHECK(fabs(s.value * 10 - round(s.value * 10)) < 1e-3);
		noisy += s.value != round(s.value * 10) / 10;
	}
	CHECK(noisy > 100);
	scenario_free(w);
}

/* The highest a channel gets in one cook, and when. */
static double
peak(struct tw_world *w, struct tw_device *d, int ch)
{
	double hi = -1e9;

	for (double t = 0; t < 16 * H; t += 60)
		hi = fmax(hi, cook_curve_f(w->seed, d, ch, t));
	return hi;
}

/* A brisket stays within 150-175 F for at least two hours. */
static void
test_brisket_stalls(void)
{
	struct tw_world *w = world(1);
	struct tw_device *d = device(w, "24:0A:C4:1F:6E:10");
	double longest = 0, start = -1;

	CHECK(d->ch[1].cook == COOK_BRISKET);
	for (double t = 0; t < 16 * H; t += 60) {
		double v = cook_curve_f(w->seed, d, 1, t);

		if (v >= 148 && v <= 175) {
			if (start < 0)
				start = t;
			if (t - start > longest)
				longest = t - start;
		} else
			start = -1;
	}
	CHECK(longest >= 2 * H);
	CHECK(peak(w, d, 1) >= 203);	/* done by the end of the cook */
	scenario_free(w);
}

/* Ribs and chicken rise faster; chicken has no stall. */
static void
test_meat_rises(void)
{
	struct tw_world *w = world(3);
	struct tw_device *d = device(w, "24:0A:C4:1F:6E:10");
	double chicken_1h = cook_curve_f(w->seed, d, 3, 1 * H);
	double brisket_1h = cook_curve_f(w->seed, d, 1, 1 * H);

	CHECK(d->ch[3].cook == COOK_CHICKEN);
	CHECK(chicken_1h > brisket_1h);
	CHECK(peak(w, d, 3) >= 165);
	CHECK(peak(w, d, 3) < 175);
	CHECK(cook_curve_f(w->seed, d, 1, 0) < 45);	/* from the fridge */
	scenario_free(w);
}

/* The pit oscillates around its set point, dips when the lid opens. */
static void
test_pit_control(void)
{
	struct tw_world *w = world(1);
	struct tw_device *d = device(w, "24:0A:C4:1F:6E:10");
	double sum = 0, lo = 1e9, hi = -1e9;
	int n = 0, crossings = 0, above = -1;

	for (double t = 2 * H; t < 14 * H; t += 30) {
		double v = cook_curve_f(w->seed, d, 0, t);

		sum += v;
		n++;
		lo = fmin(lo, v);
		hi = fmax(hi, v);
		if (above != -1 && (v > 250) != above)
			crossings++;
		above = v > 250;
	}
	CHECK_INT(cook_set_temp_f(w->seed, d, 5 * H), 250);
	CHECK(fabs(sum / n - 250) < 8);
	CHECK(crossings > 50);		/* a controller, not a line */
	CHECK(lo < 225);		/* lid openings */
	CHECK(hi < 275);
	/* Cold at the start of the cook, cooling in its last hour. */
	CHECK(cook_curve_f(w->seed, d, 0, 0) < 100);
	CHECK(cook_curve_f(w->seed, d, 0, 15.9 * H) < 200);
	scenario_free(w);
}

/* The chicken probe is out (NO PROBE, no value) now and then. */
static void
test_no_probe_window(void)
{
	struct tw_world *w = world(1);
	struct tw_device *d = device(w, "24:0A:C4:1F:6E:10");
	struct tw_sample s;
	int out = 0, in = 0;

	CHECK(d->ch[3].unplugs);
	CHECK(!d->ch[0].unplugs);
	for (int64_t k = 0; k < 12 * 3600 / 2; k++) {
		cook_sample(w, d, 3, k, &s);
		if (!s.present) {
			out++;
			CHECK_STR(s.status, "NO PROBE");
		} else
			in++;
		cook_sample(w, d, 0, k, &s);
		CHECK(s.present);
	}
	/* 5-15 min in every 2 h: between 4 % and 13 %. */
	CHECK(out > in / 25);
	CHECK(out < in / 7);
	scenario_free(w);
}

static void
test_humidity_bounded(void)
{
	struct tw_world *w = world(5);
	struct tw_device *d = device(w, "10:06:1C:6F:47:70");
	struct tw_sample s;
	double lo = 1e9, hi = -1e9;

	CHECK(d->ch[1].cook == COOK_HUMIDITY);
	for (int64_t k = 0; k < 3 * 86400 / 5; k += 3) {
		cook_sample(w, d, 1, k, &s);
		CHECK(s.present);
		CHECK(s.value >= 0 && s.value <= 100);
		lo = fmin(lo, s.value);
		hi = fmax(hi, s.value);
	}
	CHECK(hi - lo > 10);	/* it moves */
	scenario_free(w);
}

/* Every channel of every demo device, a day long: nothing absurd. */
static void
test_values_sane(void)
{
	struct tw_world *w = world(11);

	for (size_t i = 0; i < w->ndevices; i++) {
		struct tw_device *d = w->devices[i];
		double t;

		for (int64_t k = 0; k < 86400 * 1000 / d->rec_ms; k += 5) {
			struct tw_sample s;

			t = timeline_cook_s(w, d, k);
			for (int ch = 0; ch < d->nchannels; ch++) {
				cook_sample(w, d, ch, k, &s);
				if (!s.present)
					continue;
				CHECK(isfinite(s.value));
				CHECK(s.value > 20 && s.value < 400);
			}
			CHECK(cook_battery(w->seed, d, t) >= 5);
			CHECK(cook_battery(w->seed, d, t) <= 100);
			CHECK(cook_rssi(w->seed, d, t, 0) < -35);
			CHECK(cook_rssi(w->seed, d, t, 0) > -95);
		}
	}
	scenario_free(w);
}

static void
test_battery_drains(void)
{
	struct tw_world *w = world(1);
	struct tw_device *d = device(w, "24:0A:C4:1F:6E:10");

	CHECK(cook_battery(w->seed, d, 1 * H) > cook_battery(w->seed, d,
	    10 * H));
	scenario_free(w);
}

static void
test_celsius(void)
{
	struct tw_world *w = world(1);
	struct tw_device *d = device(w, "24:0A:C4:1F:6E:10");
	struct tw_sample f, c;

	cook_sample(w, d, 0, 3000, &f);
	d->units = 'C';
	cook_sample(w, d, 0, 3000, &c);
	CHECK(fabs((f.value - 32) * 5 / 9 - c.value) < 0.1);
	scenario_free(w);
}

/*
 * An RFX Meat probe uploads on its heartbeat, and in between as soon as
 * a channel moved by the delta trigger since its last upload.
 */
static void
test_timeline_delta_trigger(void)
{
	struct tw_world *w = world(1);
	struct tw_device *d = device(w, "M100051731");
	struct tw_clock c;
	struct tw_sample a, b;
	bool moved = false;

	d->rec_ms = 10000;		/* a sample every 10 s */
	d->upl_ms = 3600000;		/* a heartbeat an hour */
	timeline_at(w, d, w->t0_ms + 1800000, &c);
	CHECK_INT(c.rec_k, 180);
	CHECK(c.upl_k > 0 && c.upl_k <= c.rec_k);	/* uploaded since */
	CHECK_INT(c.upl_ms, timeline_sample_ms(w, d, c.upl_k));
	/* The sample uploaded moved from the one uploaded before it. */
	for (int ch = 0; ch < d->nchannels; ch++) {
		cook_sample(w, d, ch, c.upl_k, &a);
		cook_sample(w, d, ch, c.upl_k - 1, &b);
		if (a.present != b.present || fabs(a.value - b.value) > 0)
			moved = true;
	}
	CHECK(moved);
	scenario_free(w);
}

/* Points recorded between uploads show only at the next upload. */
static void
test_timeline_uploads(void)
{
	struct tw_world *w = world(1);
	struct tw_device *d = device(w, "24:0A:C4:1F:6E:10");
	struct tw_clock c;

	d->rec_ms = 2000;
	d->upl_ms = 10000;
	d->archive_ms = 600000;
	d->archive_delay_ms = 60000;

	timeline_at(w, d, w->t0_ms, &c);
	CHECK_INT(c.rec_k, 0);
	CHECK_INT(c.upl_k, 0);
	timeline_at(w, d, w->t0_ms + 9999, &c);
	CHECK_INT(c.rec_k, 4);
	CHECK_INT(c.upl_k, 0);
	CHECK_INT(c.upl_ms, w->t0_ms);
	timeline_at(w, d, w->t0_ms + 10000, &c);
	CHECK_INT(c.rec_k, 5);
	CHECK_INT(c.upl_k, 5);
	CHECK_INT(c.upl_ms, w->t0_ms + 10000);
	CHECK_INT(timeline_sample_ms(w, d, 5), w->t0_ms + 10000);
	CHECK_INT(timeline_first_after(w, d, w->t0_ms + 1), 1);
	CHECK_INT(timeline_first_after(w, d, w->t0_ms + 2000), 1);
	/* Archive windows of 10 min: 300 samples each. */
	CHECK_INT(timeline_window(d, 299), 0);
	CHECK_INT(timeline_window(d, 300), 1);
	CHECK_INT(timeline_window_first(d, 2), 600);
	/* A session's archive only after it ended, uploaded, and a delay. */
	CHECK_INT(timeline_archived(w, d, w->t0_ms + 600000), 0);
	CHECK_INT(timeline_archive_created(w, d, 0), w->t0_ms + 670000);
	CHECK_INT(timeline_archived(w, d, w->t0_ms + 669999), 0);
	CHECK_INT(timeline_archived(w, d, w->t0_ms + 670000), 1);
	CHECK_INT(timeline_archived(w, d, w->t0_ms + 1270000), 2);
	/* Speed scales cook time, not timestamps. */
	w->speed = 60;
	CHECK_INT(timeline_sample_ms(w, d, 5), w->t0_ms + 10000);
	CHECK(fabs(timeline_cook_s(w, d, 5) - (d->cook_offset_s + 600)) <
	    1e-9);
	scenario_free(w);
}

static void
test_extremes(void)
{
	struct tw_world *w = world(1);
	struct tw_device *d = device(w, "24:0A:C4:1F:6E:10");
	struct tw_extremes e;
	struct tw_sample s;
	double lo = 1e9, hi = -1e9;

	for (int64_t k = 0; k <= 500; k++) {
		cook_sample(w, d, 0, k, &s);
		lo = fmin(lo, s.value);
		hi = fmax(hi, s.value);
	}
	timeline_extremes(w, d, 0, 200, &e);
	timeline_extremes(w, d, 0, 500, &e);
	CHECK(e.any);
	CHECK(e.min == lo);
	CHECK(e.max == hi);
	cook_sample(w, d, 0, e.max_k, &s);
	CHECK(s.value == hi);
	scenario_free(w);
}

int
main(void)
{
	UNIT_RUN(test_same_seed_same_readings);
	UNIT_RUN(test_float32_noise);
	UNIT_RUN(test_brisket_stalls);
	UNIT_RUN(test_meat_rises);
	UNIT_RUN(test_pit_control);
	UNIT_RUN(test_no_probe_window);
	UNIT_RUN(test_humidity_bounded);
	UNIT_RUN(test_values_sane);
	UNIT_RUN(test_battery_drains);
	UNIT_RUN(test_celsius);
	UNIT_RUN(test_timeline_uploads);
	UNIT_RUN(test_timeline_delta_trigger);
	UNIT_RUN(test_extremes);
	return unit_done();
}
