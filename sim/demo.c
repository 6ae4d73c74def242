/*
 * demo: the world served when twsim.accounts is not configured, and the
 * generated devices of twsim.devices (benchmarks).
 *
 * The demo account (CONTRACT.md): demo@grilld.example, password demo,
 * API key twsim-demo-key (twsim.api_key), with a Signals in the middle of
 * a brisket cook (pit, brisket, ribs, and a chicken probe that gets
 * unplugged now and then; Billows fan), a Node (internal sensor and
 * humidity), an RFX gateway (air probe) and two RFX Meat probes. Every
 * device records every few seconds, so data flows at once.
 */
#include <stdio.h>

#include "twsim.h"

#define DEMO_EMAIL	"demo@grilld.example"
#define DEMO_PASSWORD	"demo"
#define DEMO_UID	"grilldDemoUser00000000000001"

static struct tw_device *
demo_device(struct tw_world *w, struct tw_account *a, const char *serial,
    enum tw_model model, const char *label, int64_t rec_s, int64_t upl_s,
    double offset_h)
{
	struct tw_device *d = scenario_device(w, a, serial, model, 0);

	util_strlcpy(d->label, label, sizeof(d->label));
	d->rec_ms = rec_s * 1000;
	d->upl_ms = upl_s * 1000;
	d->archive_ms = 10 * 60 * 1000;
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
demo_build(struct tw_world *w, int64_t n, char *err, size_t errlen)
{
	struct tw_account *a;
	struct tw_device *d;

	if (w->naccounts == 0) {
		a = scenario_account(w, DEMO_EMAIL, DEMO_PASSWORD, DEMO_UID);
		scenario_set(&a->display_name, "Demo Pitmaster");

		d = demo_device(w, a, "S2A4C6E8", MODEL_SIGNALS,
		    "Backyard Signals", 2, 10, 3);
		d->set_temp_f = 250;
		scenario_layout(d, COOK_BRISKET);
		util_strlcpy(d->ch[2].label, "Ribs", sizeof(d->ch[2].label));
		d->ch[2].cook = COOK_RIBS;
		d->ch[2].offset_f = 0;
		util_strlcpy(d->ch[3].label, "Chicken", sizeof(d->ch[3].label));
		d->ch[3].cook = COOK_CHICKEN;
		d->ch[3].offset_f = 0;
		d->ch[3].unplugs = true;

		demo_device(w, a, "N1B3D5F7", MODEL_NODE, "Pantry Node", 5, 15,
		    0);
		d = demo_device(w, a, "G0F1E2D3", MODEL_RFX_GATEWAY,
		    "RFX Gateway", 5, 5, 2);
		d->set_temp_f = 275;
		d = demo_device(w, a, "M1A2B3C4", MODEL_RFX_MEAT,
		    "Brisket RFX", 2, 10, 5);
		d->set_temp_f = 275;
		d = demo_device(w, a, "M5D6E7F8", MODEL_RFX_MEAT, "Pork RFX",
		    2, 10, 1);
		scenario_layout(d, COOK_PORK);
		d->set_temp_f = 275;
	}
	if (n > 0)
		demo_generate(w, w->accounts[0], n);
	return scenario_finish(w, err, errlen);
}
