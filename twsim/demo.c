/*
 * demo: the world served when twsim.accounts is not configured, and the
 * generated devices of twsim.devices (benchmarks).
 *
 * The demo account (CONTRACT.md): demo@grilld.example, password demo,
 * API key twsim-demo-key (twsim.api_key), with a Signals in the middle of
 * a brisket cook (pit, brisket, ribs, and a chicken probe that gets
 * unplugged now and then; Billows fan), a Node (internal sensor and
 * humidity, channels 1 and 3: a hole at 2), an RFX gateway (air probe)
 * and two RFX Meat probes. Every device looks like the real one: MAC
 * serials, a Node recording every 600 s and uploading every 7,200 s,
 * sessions of hours archived an hour after they end. twsim.time_scale
 * divides every interval (whole seconds, at least one) so that tests and
 * make run see data at once; the documents show the divided intervals.
 */
#include <math.h>
#include <stdio.h>

#include "twsim.h"

#define DEMO_EMAIL	"demo@grilld.example"
#define DEMO_PASSWORD	"demo"
#define DEMO_UID	"grilldDemoUser00000000000001"

static struct tw_device *
demo_device(struct tw_world *w, struct tw_account *a, const char *serial,
    enum tw_model model, const char *label, double offset_h, double scale,
    const int64_t real_s[4])
{
	struct tw_device *d = scenario_device(w, a, serial, model, 0);
	int64_t ms[4];

	/* recording, upload, session, archive delay */
	for (int i = 0; i < 4; i++) {
		ms[i] = llround((double)real_s[i] / scale) * 1000;
		if (ms[i] < 1000 && i < 3)
			ms[i] = 1000;
	}
	util_strlcpy(d->label, label, sizeof(d->label));
	d->rec_ms = ms[0];
	d->upl_ms = ms[1];
	d->archive_ms = ms[2];
	d->archive_delay_ms = ms[3];
	d->cook_offset_s = offset_h * 3600;
	return d;
}

static void
demo_generate(struct tw_world *w, struct tw_account *a, int64_t n)
{
	static const enum tw_cook cooks[] = { COOK_BRISKET, COOK_PORK,
		COOK_RIBS, COOK_CHICKEN };
	char serial[TW_SERIAL_MAX], label[TW_LABEL_MAX];
	struct tw_device *d;

	for (int64_t i = 0; i < n; i++) {
		/* Three Signals, then an RFX Meat probe: 4 channels each. */
		bool meat = i % 4 == 3;

		snprintf(serial, sizeof(serial), "%s%06lld", meat ? "MB" : "SB",
		    (long long)i);
		d = scenario_device(w, a, serial, meat ? MODEL_RFX_MEAT :
		    MODEL_SIGNALS, 4);
		scenario_layout(d, cooks[hash3(w->seed, (uint64_t)i, 7) % 4]);
		snprintf(label, sizeof(label), "Bench %lld", (long long)i);
		util_strlcpy(d->label, label, sizeof(d->label));
		d->rec_ms = 60000;
		d->upl_ms = 60000;
		d->cook_offset_s = (double)(hash3(w->seed, (uint64_t)i, 8) %
		    (12 * 3600));
	}
}

/*
 * Builds the demo account when the world has no account yet, then adds
 * the n generated devices to the first account. 0, or -1 with err.
 */
int
demo_build(struct tw_world *w, int64_t n, double scale, char *err,
    size_t errlen)
{
	static const int64_t cook[4] = { 30, 60, 4 * 3600, 3600 };
	static const int64_t node[4] = { 600, 7200, 24 * 3600, 3600 };
	static const int64_t rfx[4] = { 60, 60, 4 * 3600, 3600 };
	struct tw_account *a;
	struct tw_device *d;

	if (scale < 1)
		scale = 1;
	if (w->naccounts == 0) {
		a = scenario_account(w, DEMO_EMAIL, DEMO_PASSWORD, DEMO_UID);
		scenario_set(&a->display_name, "Demo Pitmaster");

		d = demo_device(w, a, "24:0A:C4:1F:6E:10", MODEL_SIGNALS,
		    "Backyard Signals", 3, scale, cook);
		d->set_temp_f = 250;
		scenario_layout(d, COOK_BRISKET);
		util_strlcpy(d->ch[2].label, "Ribs", sizeof(d->ch[2].label));
		d->ch[2].cook = COOK_RIBS;
		d->ch[2].offset_f = 0;
		util_strlcpy(d->ch[3].label, "Chicken", sizeof(d->ch[3].label));
		d->ch[3].cook = COOK_CHICKEN;
		d->ch[3].offset_f = 0;
		d->ch[3].unplugs = true;

		d = demo_device(w, a, "10:06:1C:6F:47:70", MODEL_NODE,
		    "Pantry Node", 0, scale, node);
		d->ch[1].number = 3;	/* a hole at 2, as real numbers have */
		d = demo_device(w, a, "24:0A:C4:3B:90:5C", MODEL_RFX_GATEWAY,
		    "RFX Gateway", 2, scale, rfx);
		d->set_temp_f = 275;
		d = demo_device(w, a, "M100051731", MODEL_RFX_MEAT,
		    "Brisket RFX", 5, scale, cook);
		d->set_temp_f = 275;
		d = demo_device(w, a, "M100051732", MODEL_RFX_MEAT, "Pork RFX",
		    1, scale, cook);
		scenario_layout(d, COOK_PORK);
		d->set_temp_f = 275;
	}
	if (n > 0)
		demo_generate(w, w->accounts[0], n);
	return scenario_finish(w, err, errlen);
}
