/*
 * The ingester's cook logic (ingest/cook.c, compiled in here) on the
 * simulator's brisket, sample by sample as the Signals records it (every
 * 2 s, 0.1 F, float32, with noise): the stall is seen within 17 minutes
 * of the plateau, exactly once, no ETA is given during it, and the climb
 * out ends it with an ETA again.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../twsim/twsim.h"
#include "../../ingest/cook.c"
#include "unit.h"

#define MIN	60.0

static void
test_sim_brisket_stall(void)
{
	char err[256];
	struct tw_world *w = scenario_new(1, 1, 1767225600000LL, 3600000,
	    "key");
	struct tw_device *d;
	struct cook_conf conf;
	struct cook_state s;
	struct cook_info ci;
	double t_flat = -1, t_stall = -1, t_end = -1, step, target = 95;
	int starts = 0, ends = 0, eta_in_plateau = 0, eta_after = 0;

	CHECK(demo_build(w, 0, 1, err, sizeof(err)) == 0);
	CHECK((d = scenario_find_device(w, "24:0A:C4:1F:6E:10")) != NULL);
	if (d == NULL)
		return;
	CHECK(d->ch[1].cook == COOK_BRISKET);
	d->cook_offset_s = 0;	/* the whole cook, from the fridge */
	cook_conf_default(&conf);
	memset(&s, 0, sizeof(s));
	step = (double)d->rec_ms / 1000.0 * w->speed;
	/* Where the noiseless curve flattens: under 0.18 F (0.1 C) a minute. */
	for (double t = 0; t < 16 * 3600.0 && t_flat < 0; t += MIN)
		if (cook_curve_f(w->seed, d, 1, t) > 140 &&
		    cook_curve_f(w->seed, d, 1, t + MIN) -
		    cook_curve_f(w->seed, d, 1, t) < 0.18)
			t_flat = t;
	CHECK(t_flat > 0);
	for (int64_t k = 0; d->cook_offset_s + k * step < 16 * 3600.0; k++) {
		struct tw_sample sm;
		struct reading r;
		double t = timeline_cook_s(w, d, k);

		cook_sample(w, d, 1, k, &sm);
		if (!sm.present)
			continue;
		reading_init(&r);
		util_strlcpy(r.device_id, "24:0A:C4:1F:6E:10", sizeof(r.device_id));
		r.value = sm.value;
		r.has_value = true;
		r.unit = 'F';
		r.ts_ns = (int64_t)(t * 1e9) + NS_PER_S;
		cook_update(&conf, &s, &r, target, true, &ci);
		reading_clear(&r);
		if (ci.change == COOK_STALL_STARTED) {
			starts++;
			t_stall = t;
		}
		if (ci.change == COOK_STALL_ENDED) {
			ends++;
			t_end = t;
		}
		/* From 10 min into the plateau to the stall's end: no ETA. */
		if (t >= t_flat + 10 * MIN && t_end < 0 && ci.has_eta)
			eta_in_plateau++;
		if (t_end > 0 && t < t_end + 30 * MIN && ci.has_eta)
			eta_after++;
	}
	printf("# plateau at %.0f min, stall at %.0f min, ended at %.0f min\n",
	    t_flat / MIN, t_stall / MIN, t_end / MIN);
	CHECK_INT(starts, 1);
	CHECK(t_stall >= t_flat - 5 * MIN && t_stall <= t_flat + 17 * MIN);
	CHECK_INT(eta_in_plateau, 0);
	CHECK_INT(ends, 1);
	CHECK(t_end > t_stall + 60 * MIN);
	CHECK(eta_after > 0);		/* climbing again: an ETA */
	scenario_free(w);
}

int
main(void)
{
	UNIT_RUN(test_sim_brisket_stall);
	return unit_done();
}
