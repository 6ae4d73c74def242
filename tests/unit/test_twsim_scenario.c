/*
 * The simulator's configuration: accounts and devices from YAML, the
 * errors that name file and line, the demo world and generated devices,
 * and fault rules from YAML and JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../twsim/twsim.h"
#include "conf.h"
#include "options.h"
#include "unit.h"

static struct conf cf;
static struct grilld_conf g;

static const char *
write_file(const char *name, const char *text)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", unit_tmpdir(), name);
	fp = fopen(path, "w");
	fputs(text, fp);
	fclose(fp);
	chmod(path, 0600);
	return path;
}

static int
load(const char *name, const char *yaml)
{
	struct conf_errs errs;

	conf_free(&cf);
	conf_init(&cf, grilld_options, grilld_noptions, &g, sizeof(g));
	return conf_load(&cf, write_file(name, yaml), &errs);
}

static void
test_accounts_and_devices(void)
{
	struct tw_world *w = scenario_new(1, 1, 0, 3600000, "k");
	char err[1024];
	struct tw_device *d;
	struct tw_account *a;

	CHECK(load("ok.yaml",
	    "twsim:\n"
	    "  accounts:\n"
	    "    - email: Cook@Example.com\n"
	    "      password: s3cret\n"
	    "      api_key: other-key\n"
	    "      units: C\n"
	    "      devices:\n"
	    "        - serial: S1\n"
	    "          model: signals\n"
	    "          label: Backyard\n"
	    "          recording_interval: 5s\n"
	    "          upload_interval: 1m\n"
	    "          cook: pork\n"
	    "          cook_offset: 2h\n"
	    "          set_temp: 275\n"
	    "        - serial: N1\n"
	    "          model: node\n"
	    "          channels:\n"
	    "            - {label: Inside, cook: ambient}\n"
	    "            - {label: Damp, cook: humidity, plugged: false}\n"
	    "        - serial: M1\n"
	    "          model: rfx_meat\n"
	    "          channels: 2\n"
	    "    - email: two@example.com\n"
	    "      password: x\n"
	    "      disabled: true\n") == 0);
	CHECK(scenario_load(w, g.twsim.accounts, err, sizeof(err)) == 0);
	CHECK(scenario_finish(w, err, sizeof(err)) == 0);
	CHECK_INT(w->naccounts, 2);
	CHECK_INT(w->ndevices, 3);
	CHECK_INT(w->nchannels, 4 + 2 + 2);
	a = scenario_find_email(w, "cook@example.com");
	CHECK(a != NULL && a->units == 'C');
	CHECK(scenario_find_email(w, "two@example.com")->disabled);
	CHECK(scenario_key_ok(w, "k"));
	CHECK(scenario_key_ok(w, "other-key"));
	CHECK(!scenario_key_ok(w, "nope"));
	CHECK(!scenario_key_ok(w, ""));
	d = scenario_find_device(w, "S1");
	CHECK(d != NULL);
	CHECK_STR(d->label, "Backyard");
	CHECK_INT(d->rec_ms, 5000);
	CHECK_INT(d->upl_ms, 60000);
	CHECK_INT(d->set_temp_f, 275);
	CHECK(d->units == 'C');
	CHECK(d->cook_offset_s == 7200);
	CHECK(d->ch[0].cook == COOK_PIT);
	CHECK(d->ch[1].cook == COOK_PORK);
	CHECK_STR(d->ch[1].label, "Pork");
	d = scenario_find_device(w, "N1");
	CHECK_STR(d->ch[1].label, "Damp");
	CHECK(d->ch[1].cook == COOK_HUMIDITY);
	CHECK(d->ch[1].absent);
	CHECK(!d->ch[0].absent);
	CHECK(d->mac[0] != '\0');
	d = scenario_find_device(w, "M1");
	CHECK(d->mac[0] == '\0');
	CHECK(scenario_find_device(w, "nope") == NULL);
	scenario_free(w);
}

static bool
has(const char *err, const char *needle)
{
	if (strstr(err, needle) != NULL)
		return true;
	printf("#   errors: %s\n", err);
	return false;
}

static void
test_errors_name_file_and_line(void)
{
	char err[2048];

	CHECK(load("bad.yaml",
	    "twsim:\n"
	    "  accounts:\n"
	    "    - email: a@b.c\n"
	    "      password: x\n"
	    "      devices:\n"
	    "        - serial: S1\n"
	    "          model: toaster\n"
	    "        - serial: X1\n"
	    "          model: rfx_meat\n"
	    "        - serial: S2\n"
	    "          model: smoke\n"
	    "          channels: 3\n"
	    "          recording_interval: forever\n"
	    "          colour: red\n"
	    "        - serial: S3\n"
	    "          model: signals\n"
	    "          cook: toast\n"
	    "    - password: y\n") == 0);
	CHECK(scenario_check(g.twsim.accounts, err, sizeof(err)) == -1);
	CHECK(has(err, "bad.yaml:7: twsim.accounts[0].devices[0]: model: "
	    "'toaster' is not one of signals|smoke|node"));
	CHECK(has(err, "bad.yaml:8: twsim.accounts[0].devices[1]: serial: "
	    "an RFX Meat probe's serial starts with 'M'"));
	CHECK(has(err, "bad.yaml:12: twsim.accounts[0].devices[2]: channels: "
	    "a smoke has 1 to 2 channels"));
	CHECK(has(err, "bad.yaml:14: twsim.accounts[0].devices[2]: unknown "
	    "key 'colour'"));
	CHECK(has(err, "bad.yaml:17: twsim.accounts[0].devices[3]: cook: "
	    "'toast' is not one of"));
	CHECK(has(err, "twsim.accounts[1]: 'email' is required"));

	CHECK(load("dup.yaml",
	    "twsim:\n"
	    "  accounts:\n"
	    "    - {email: a@b.c, password: x,\n"
	    "       devices: [{serial: S1, model: node}]}\n"
	    "    - {email: b@b.c, password: x,\n"
	    "       devices: [{serial: S1, model: node}]}\n") == 0);
	CHECK(scenario_check(g.twsim.accounts, err, sizeof(err)) == -1);
	CHECK(has(err, "device serial S1 is used twice"));

	CHECK(load("notlist.yaml", "twsim:\n  accounts:\n    email: a@b.c\n")
	    == 0);
	CHECK(scenario_check(g.twsim.accounts, err, sizeof(err)) == -1);
	CHECK(has(err, "notlist.yaml:3: twsim.accounts: a list of accounts"));
}

static void
test_demo_world(void)
{
	struct tw_world *w = scenario_new(1, 1, 0, 3600000, "twsim-demo-key");
	struct tw_account *a;
	char err[256];
	int meat = 0;

	CHECK(demo_build(w, 0, 1, err, sizeof(err)) == 0);
	a = scenario_find_email(w, "demo@grilld.example");
	CHECK(a != NULL);
	CHECK_STR(a->password, "demo");
	CHECK(scenario_key_ok(w, "twsim-demo-key"));
	CHECK_INT(scenario_find_device(w, "24:0A:C4:1F:6E:10")->nchannels, 4);
	CHECK(scenario_find_device(w, "24:0A:C4:1F:6E:10")->model == MODEL_SIGNALS);
	CHECK_INT(scenario_find_device(w, "10:06:1C:6F:47:70")->nchannels, 2);
	/* The Node as real ones: 600 s / 7,200 s, channels 1 and 3. */
	CHECK_INT(scenario_find_device(w, "10:06:1C:6F:47:70")->rec_ms, 600000);
	CHECK_INT(scenario_find_device(w, "10:06:1C:6F:47:70")->upl_ms,
	    7200000);
	CHECK_INT(scenario_find_device(w, "10:06:1C:6F:47:70")->ch[1].number, 3);
	CHECK_STR(scenario_find_device(w, "10:06:1C:6F:47:70")->mac,
	    "10:06:1C:6F:47:70");
	CHECK_INT(scenario_find_device(w, "24:0A:C4:3B:90:5C")->nchannels, 1);
	for (size_t i = 0; i < w->ndevices; i++) {
		struct tw_device *d = w->devices[i];

		CHECK(d->rec_ms >= 30000);	/* as real devices */
		if (d->model == MODEL_RFX_MEAT) {
			meat++;
			CHECK(d->serial[0] == 'M');
			CHECK_INT(d->nchannels, 4);
		}
	}
	CHECK_INT(meat, 2);
	scenario_free(w);

	/* time_scale: every interval divided, whole seconds. */
	w = scenario_new(1, 1, 0, 3600000, "k");
	CHECK(demo_build(w, 0, 60, err, sizeof(err)) == 0);
	CHECK_INT(scenario_find_device(w, "10:06:1C:6F:47:70")->rec_ms, 10000);
	CHECK_INT(scenario_find_device(w, "10:06:1C:6F:47:70")->upl_ms,
	    120000);
	CHECK_INT(scenario_find_device(w, "24:0A:C4:1F:6E:10")->rec_ms, 1000);
	CHECK_INT(scenario_find_device(w, "24:0A:C4:1F:6E:10")->archive_ms,
	    240000);
	scenario_free(w);

	/* Generated devices: four channels each, on the demo account. */
	w = scenario_new(1, 1, 0, 3600000, "k");
	CHECK(demo_build(w, 1000, 1, err, sizeof(err)) == 0);
	CHECK_INT(w->ndevices, 1005);
	CHECK_INT(w->nchannels, 15 + 4000);
	CHECK_INT(w->accounts[0]->ndevices, 1005);
	CHECK(scenario_find_device(w, "MB000003") != NULL);
	CHECK(scenario_find_device(w, "SB000998") != NULL);
	scenario_free(w);
}

static int
add(struct tw_world *w, const char *json, struct jw *j, char *err)
{
	return fault_add_json(w, json, strlen(json), j, err, 512);
}

static void
test_fault_rules(void)
{
	struct tw_world *w = scenario_new(1, 1, 0, 3600000, "k");
	struct fault_decision d;
	struct buf b;
	struct jw j;
	char err[512];
	int fired = 0;

	CHECK(demo_build(w, 0, 1, err, sizeof(err)) == 0);
	w->faults = fault_new(1);
	buf_init(&b);
	jw_init(&j, &b, false);
	CHECK(add(w, "{\"kind\":\"status\",\"status\":429,"
	    "\"endpoint\":\"channel\",\"count\":2}", &j, err) == 0);
	CHECK(strstr(b.data, "\"retry_after\":1") != NULL);
	fault_decide(w->faults, EP_DEVICE, "S1", &d);
	CHECK(d.action == FAULT_NONE);
	fault_decide(w->faults, EP_CHANNEL, "S1", &d);
	CHECK(d.action == FAULT_STATUS && d.status == 429 &&
	    d.retry_after == 1);
	fault_decide(w->faults, EP_CHANNEL, "S1", &d);
	CHECK(d.action == FAULT_STATUS);
	fault_decide(w->faults, EP_CHANNEL, "S1", &d);
	CHECK(d.action == FAULT_NONE);		/* count used up */

	/* Scoped by device; delays add up; drifts combine. */
	buf_reset(&b);
	jw_init(&j, &b, false);
	CHECK(add(w, "[{\"kind\":\"drop\",\"device\":\"S2\"},"
	    "{\"kind\":\"delay\",\"delay_ms\":5},{\"kind\":\"delay\","
	    "\"delay_ms\":7},{\"kind\":\"drift_integer\"},"
	    "{\"kind\":\"drift_missing\",\"endpoint\":[\"channel\"]}]", &j,
	    err) == 0);
	fault_decide(w->faults, EP_CHANNEL, "S1", &d);
	CHECK(d.action == FAULT_NONE);
	CHECK_INT(d.delay_ms, 12);
	CHECK(d.drift == (DRIFT_INTEGER | DRIFT_MISSING));
	fault_decide(w->faults, EP_DEVICE, "S2", &d);
	CHECK(d.action == FAULT_DROP);
	CHECK(d.drift == DRIFT_INTEGER);
	CHECK_INT(fault_clear(w->faults, true), 5);

	/* A probability is drawn from the seed: reproducible, about right. */
	buf_reset(&b);
	jw_init(&j, &b, false);
	CHECK(add(w, "{\"kind\":\"status\",\"status\":503,"
	    "\"probability\":0.25}", &j, err) == 0);
	for (int i = 0; i < 4000; i++) {
		fault_decide(w->faults, EP_QUERY, "", &d);
		fired += d.action == FAULT_STATUS;
	}
	CHECK(fired > 850 && fired < 1150);
	fault_clear(w->faults, true);

	/* Bad rules: all or nothing, and a reason. */
	CHECK(add(w, "[{\"kind\":\"drop\"},{\"kind\":\"nap\"}]", NULL,
	    err) == -1);
	CHECK(has(err, "kind: 'nap' is not one of"));
	CHECK(add(w, "{\"kind\":\"status\",\"status\":200}", NULL, err) == -1);
	CHECK(has(err, "status: '200' is not a whole number from 400"));
	/* Found by fuzz_twsim_request: too large for int64, then checked. */
	CHECK(add(w, "{\"kind\":\"status\",\"retry_after\":6e95}", NULL,
	    err) == -1);
	CHECK(has(err, "is not a whole number from 0 to 86400"));
	CHECK(add(w, "{\"kind\":\"drop\",\"count\":1.5}", NULL, err) == -1);
	CHECK(add(w, "{\"kind\":\"drop\",\"endpoint\":\"moon\"}", NULL,
	    err) == -1);
	CHECK(has(err, "endpoint: 'moon'"));
	CHECK(add(w, "{\"kind\":\"too_many_attempts\","
	    "\"endpoint\":\"channel\"}", NULL, err) == -1);
	CHECK(add(w, "{nope", NULL, err) == -1);
	CHECK(has(err, "not JSON"));
	CHECK(add(w, "{\"kind\":\"drop\",\"bogus\":1}", NULL, err) == -1);
	CHECK(has(err, "unknown key 'bogus'"));
	fault_decide(w->faults, EP_QUERY, "", &d);
	CHECK(d.action == FAULT_NONE);		/* nothing was added */

	/* revoke is carried out at once. */
	buf_reset(&b);
	jw_init(&j, &b, false);
	CHECK(add(w, "{\"kind\":\"revoke\"}", &j, err) == 0);
	CHECK(strstr(b.data, "\"revoked\":1") != NULL);
	CHECK_INT(atomic_load(&w->accounts[0]->token_gen), 1);
	CHECK(add(w, "{\"kind\":\"revoke\",\"account\":\"x@y.z\"}", NULL,
	    err) == -1);
	buf_free(&b);
	scenario_free(w);
}

static void
test_fault_rules_from_yaml(void)
{
	struct tw_world *w = scenario_new(1, 1, 0, 3600000, "k");
	struct fault_decision d;
	char err[512];

	CHECK(demo_build(w, 0, 1, err, sizeof(err)) == 0);
	w->faults = fault_new(1);
	CHECK(load("faults.yaml",
	    "twsim:\n"
	    "  faults:\n"
	    "    - kind: status\n"
	    "      status: 503\n"
	    "      endpoint: [query, device]\n"
	    "      retry_after: 30\n") == 0);
	CHECK(fault_add_tree(w, g.twsim.faults, true, err, sizeof(err)) == 0);
	fault_decide(w->faults, EP_DEVICE, "S1", &d);
	CHECK(d.action == FAULT_STATUS && d.status == 503 &&
	    d.retry_after == 30);
	fault_decide(w->faults, EP_CHANNEL, "S1", &d);
	CHECK(d.action == FAULT_NONE);

	CHECK(load("badfaults.yaml",
	    "twsim:\n"
	    "  faults:\n"
	    "    - kind: status\n"
	    "      probability: 2\n") == 0);
	CHECK(fault_check_tree(g.twsim.faults, err, sizeof(err)) == -1);
	CHECK(has(err, "badfaults.yaml:4: twsim.faults: probability: '2' is "
	    "not a number from 0 to 1"));
	CHECK(load("revoke.yaml", "twsim:\n  faults:\n    - kind: revoke\n")
	    == 0);
	CHECK(fault_check_tree(g.twsim.faults, err, sizeof(err)) == -1);
	CHECK(has(err, "revoke is an action"));
	scenario_free(w);
}

static void
test_spoilt_bodies(void)
{
	struct fault_decision d = { .action = FAULT_TRUNCATE };
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "{\"a\":\"0123456789\"}");
	fault_apply_body(&d, &b);
	CHECK_STR(b.data, "{\"a\":\"012");
	buf_reset(&b);
	buf_puts(&b, "{\"a\":\"0123456789\"}");
	d.action = FAULT_MALFORMED;
	fault_apply_body(&d, &b);
	CHECK_STR(b.data, "{\"a\":\"012,,]}\n");
	buf_free(&b);
}

/*
 * twsim.state_file: the start of the sessions kept for a restart of the
 * same seed; another seed's, or none, begins new ones; a file that is
 * no state file is refused rather than overwritten.
 */
static void
test_state_file(void)
{
	char path[512], err[256];
	int64_t t0 = 0;

	snprintf(path, sizeof(path), "%s/twsim.state", unit_tmpdir());
	remove(path);
	CHECK_INT(state_load(path, 7, &t0, err, sizeof(err)), 0);
	CHECK_INT(state_save(path, 7, INT64_C(1767225600123), err,
	    sizeof(err)), 0);
	CHECK_INT(state_load(path, 7, &t0, err, sizeof(err)), 1);
	CHECK(t0 == INT64_C(1767225600123));
	t0 = 0;
	CHECK_INT(state_load(path, 8, &t0, err, sizeof(err)), 0);
	CHECK(t0 == 0);
	write_file("twsim.state", "my shopping list\n");
	CHECK_INT(state_load(path, 7, &t0, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a grilld-twsim state file") != NULL);
	snprintf(path, sizeof(path), "%s/no/such/dir/twsim.state",
	    unit_tmpdir());
	CHECK_INT(state_save(path, 7, 1, err, sizeof(err)), -1);
	CHECK(strstr(err, "No such file") != NULL);
}

/*
 * Pauses (POST /admin/pause): the samples of a pause are not recorded,
 * the documents show the last one before it, an archive counts the
 * rest, and the state file keeps them.
 */
static void
test_pauses(void)
{
	const int64_t t0 = INT64_C(1767225600000);
	struct tw_world *w = scenario_new(7, 1, t0, 3600000, "k"), *w2;
	struct tw_device *d, *d2;
	struct tw_clock c;
	char path[512], err[256];
	int64_t t;

	CHECK(demo_build(w, 0, 60, err, sizeof(err)) == 0);
	d = scenario_find_device(w, "10:06:1C:6F:47:70");	/* every 10 s */
	CHECK_INT(d->rec_ms, 10000);
	CHECK(!timeline_paused(d));
	CHECK_INT(timeline_pause(w, d, t0 + 25000, true), 1);	/* from 3 */
	CHECK_INT(timeline_pause(w, d, t0 + 26000, true), 0);
	CHECK(timeline_paused(d));
	CHECK(timeline_recorded(d, 2) && !timeline_recorded(d, 3) &&
	    !timeline_recorded(d, 100));
	CHECK(timeline_last_recorded(d, 100) == 2);
	timeline_at(w, d, t0 + 45000, &c);
	CHECK(c.rec_k == 2 && c.upl_k <= 2);
	CHECK_INT(timeline_pause(w, d, t0 + 55000, false), 1);	/* to 6 */
	CHECK_INT(timeline_pause(w, d, t0 + 56000, false), 0);
	CHECK(!timeline_paused(d));
	CHECK(!timeline_recorded(d, 5) && timeline_recorded(d, 6));
	CHECK(timeline_last_recorded(d, 5) == 2);
	CHECK(timeline_last_recorded(d, 7) == 7);
	CHECK(timeline_recorded_between(d, 0, 9) == 7);
	CHECK(timeline_recorded_between(d, 3, 5) == 0);
	CHECK(timeline_recorded_between(d, 4, 8) == 3);
	timeline_at(w, d, t0 + 75000, &c);
	CHECK(c.rec_k == 7);
	/* Paused again, open: kept, and read back into another world. */
	CHECK_INT(timeline_pause(w, d, t0 + 95000, true), 1);	/* from 10 */
	snprintf(path, sizeof(path), "%s/pauses.state", unit_tmpdir());
	remove(path);
	w->state_file = path;
	CHECK_INT(state_save_world(w, err, sizeof(err)), 0);
	CHECK_INT(state_load(path, 7, &t, err, sizeof(err)), 1);
	CHECK(t == t0);
	w2 = scenario_new(7, 1, t0, 3600000, "k");
	CHECK(demo_build(w2, 0, 60, err, sizeof(err)) == 0);
	CHECK_INT(state_load_pauses(path, w2, err, sizeof(err)), 0);
	d2 = scenario_find_device(w2, "10:06:1C:6F:47:70");
	CHECK_INT(atomic_load(&d2->npauses), 2);
	CHECK(timeline_paused(d2));
	CHECK(timeline_recorded_between(d2, 0, 19) == 7);
	CHECK(!timeline_paused(scenario_find_device(w2,
	    "24:0A:C4:1F:6E:10")));
	scenario_free(w2);
	/* A pause out of order is an error, naming the line. */
	write_file("pauses.state", "grilld-twsim-state 2 7 1767225600000\n"
	    "pause 10:06:1C:6F:47:70 5 -1\npause 10:06:1C:6F:47:70 9 12\n");
	w2 = scenario_new(7, 1, t0, 3600000, "k");
	CHECK(demo_build(w2, 0, 60, err, sizeof(err)) == 0);
	CHECK_INT(state_load_pauses(path, w2, err, sizeof(err)), -1);
	CHECK(strstr(err, ":3: a pause out of order") != NULL);
	scenario_free(w2);
	/* A file of version 1 (t0 alone) is still read. */
	write_file("pauses.state", "grilld-twsim-state 1 7 1767225600000\n");
	CHECK_INT(state_load(path, 7, &t, err, sizeof(err)), 1);
	scenario_free(w);
}

int
main(void)
{
	UNIT_RUN(test_accounts_and_devices);
	UNIT_RUN(test_errors_name_file_and_line);
	UNIT_RUN(test_demo_world);
	UNIT_RUN(test_fault_rules);
	UNIT_RUN(test_fault_rules_from_yaml);
	UNIT_RUN(test_spoilt_bodies);
	UNIT_RUN(test_state_file);
	UNIT_RUN(test_pauses);
	conf_free(&cf);
	return unit_done();
}
