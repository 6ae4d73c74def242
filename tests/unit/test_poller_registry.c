/*
 * The device registry: a device's state as JSON (online or stale by the
 * age of its last telemetry, signal source, fan, probes, alarms), and
 * the nng req/rep server that answers MSG_DEVICES_REQ (whole, one
 * device, by pages) and MSG_STATUS_REQ, and refuses anything else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../poller/poller.h"
#include "msg.h"
#include "nngx.h"
#include "unit.h"

#define NOW_NS	(INT64_C(1767225600) * NS_PER_S)

static struct grilld_conf cf;
static struct poller p;
static struct tw_account acct;
static char url[300];

static void
fake_device(struct tw_device *d, struct tw_channel *ch, const char *serial,
    int64_t age_s, bool gateway)
{
	memset(d, 0, sizeof(*d));
	d->acct = &acct;
	util_strlcpy(d->serial, serial, sizeof(d->serial));
	fs_decode_device(NULL, &d->doc);	/* the "unknown" markers */
	util_strlcpy(d->doc.serial, serial, sizeof(d->doc.serial));
	util_strlcpy(d->doc.label, "Backyard \"Signals\"",
	    sizeof(d->doc.label));
	util_strlcpy(d->doc.model, gateway ? "rfx meat" : "signals",
	    sizeof(d->doc.model));
	d->doc.battery = 84;
	if (gateway)
		d->doc.gateway_rssi = -61;
	else
		d->doc.wifi_rssi = -72;
	d->doc.last_telemetry_ns = NOW_NS - age_s * NS_PER_S;
	if (!gateway) {
		d->doc.fan.present = d->doc.fan.has_set_temp = true;
		d->doc.fan.set_temp = 250;
		util_strlcpy(d->doc.fan.state, "on", sizeof(d->doc.fan.state));
	}
	d->has_doc = true;
	memset(ch, 0, 2 * sizeof(*ch));
	ch[0].number = 1;
	ch[0].doc.has_value = true;
	ch[0].doc.value = 225.10000610351562;
	ch[0].doc.unit = 'F';
	ch[0].doc.status = PROBE_NORMAL;
	ch[0].doc.alarm_high.present = ch[0].doc.alarm_high.enabled = true;
	ch[0].doc.alarm_high.has_value = true;
	ch[0].doc.alarm_high.value = 275;
	ch[1].number = 2;
	ch[1].doc.status = PROBE_NO_PROBE;
	d->ch = ch;
	d->nch = 2;
}

static void
t_device_json(void)
{
	struct tw_device d;
	struct tw_channel ch[2];
	struct buf b;
	cJSON *j;

	fake_device(&d, ch, "S1", 10, false);
	buf_init(&b);
	CHECK_INT(registry_device_json(&b, &d, NOW_NS, 300000), 0);
	j = cJSON_Parse(b.data);
	CHECK(j != NULL);
	CHECK_STR(cJSON_GetObjectItem(j, "device_id")->valuestring, "S1");
	CHECK_STR(cJSON_GetObjectItem(j, "name")->valuestring,
	    "Backyard \"Signals\"");
	CHECK_STR(cJSON_GetObjectItem(j, "state")->valuestring, "online");
	CHECK_INT(cJSON_GetObjectItem(j, "battery")->valueint, 84);
	CHECK_INT(cJSON_GetObjectItem(j, "signal")->valueint, -72);
	CHECK_STR(cJSON_GetObjectItem(j, "signal_source")->valuestring,
	    "wifi");
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "fan"),
	    "state")->valuestring, "on");
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "probes")), 2);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(j, "probes"), 1), "temperature")));
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(j, "probes"), 0),
	    "alarm_high"), "enabled")));
	cJSON_Delete(j);

	/* Older than stale_after: stale; an RFX probe: gateway RSSI. */
	fake_device(&d, ch, "M1", 301, true);
	buf_reset(&b);
	registry_device_json(&b, &d, NOW_NS, 300000);
	CHECK(strstr(b.data, "\"state\":\"stale\"") != NULL);
	CHECK(strstr(b.data, "\"signal\":-61,\"signal_source\":\"gateway\"")
	    != NULL);
	CHECK(strstr(b.data, "\"fan\"") == NULL);
	buf_free(&b);
}

static cJSON *
ask(enum msg_type type, const char *body, enum msg_type *got)
{
	struct buf req;
	void *rep = NULL;
	size_t len;
	char err[NNGX_ERRLEN];
	cJSON *j = NULL;

	buf_init(&req);
	msg_encode(&req, type, body, strlen(body));
	if (nngx_request(url, req.data, req.len, &rep, &len, 2000, err,
	    sizeof(err)) == -1)
		unit_fail(__FILE__, __LINE__, "request: %s", err);
	else if (msg_decode(rep, len, got, &j, err, sizeof(err)) == -1)
		unit_fail(__FILE__, __LINE__, "reply: %s", err);
	free(rep);
	buf_free(&req);
	return j;
}

static void
t_nng(void)
{
	struct tw_device d[3];
	struct tw_channel ch[3][2];
	enum msg_type type;
	char err[NNGX_ERRLEN], serial[16];
	cJSON *j;
	void *rep = NULL;
	size_t len;

	for (int i = 0; i < 3; i++) {
		snprintf(serial, sizeof(serial), "S%d", i);
		fake_device(&d[i], ch[i], serial, 10, false);
		CHECK((d[i].reg = registry_add(&p, serial)) != NULL);
		registry_update(&p, &d[i], util_now_ns());
	}
	CHECK_INT(registry_serve(&p, err, sizeof(err)), 0);

	j = ask(MSG_DEVICES_REQ, "{}", &type);
	CHECK_INT(type, MSG_DEVICES_REP);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "devices")), 3);
	CHECK_INT(cJSON_GetObjectItem(j, "total")->valueint, 3);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "next")));
	cJSON_Delete(j);

	j = ask(MSG_DEVICES_REQ, "{\"device_id\":\"S1\"}", &type);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "devices")), 1);
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(
	    j, "devices"), 0), "device_id")->valuestring, "S1");
	cJSON_Delete(j);

	j = ask(MSG_DEVICES_REQ, "{\"offset\":1,\"limit\":1}", &type);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "devices")), 1);
	CHECK_INT(cJSON_GetObjectItem(j, "next")->valueint, 2);
	cJSON_Delete(j);

	j = ask(MSG_STATUS_REQ, "{}", &type);
	CHECK_INT(type, MSG_STATUS_REP);
	CHECK_STR(cJSON_GetObjectItem(j, "daemon")->valuestring,
	    "grilld-poller");
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "ready")));
	CHECK(strstr(cJSON_GetObjectItem(j, "reason")->valuestring,
	    "no ThermoWorks account") != NULL);
	cJSON_Delete(j);

	/* Another daemon's message, and bytes that are no message. */
	j = ask(MSG_READING, "{}", &type);
	CHECK_INT(type, MSG_ERROR_REP);
	cJSON_Delete(j);
	CHECK_INT(nngx_request(url, "GRxx", 4, &rep, &len, 2000, err,
	    sizeof(err)), 0);
	CHECK(msg_decode(rep, len, &type, &j, err, sizeof(err)) == 0 &&
	    type == MSG_ERROR_REP);
	cJSON_Delete(j);
	free(rep);

	/* A device removed from the account leaves the registry. */
	registry_remove(&p, d[1].reg, true);
	j = ask(MSG_DEVICES_REQ, "{}", &type);
	CHECK_INT(cJSON_GetObjectItem(j, "total")->valueint, 2);
	cJSON_Delete(j);
	registry_free(&p);
}

int
main(void)
{
	snprintf(url, sizeof(url), "ipc://%s/poller.ipc", unit_tmpdir());
	cf.nng.poller_url = url;
	cf.poller.stale_after = 300000;
	cf.poller.spool_max = 1 << 20;
	p.cf = &cf;
	TAILQ_INIT(&p.accounts);
	pthread_mutex_init(&p.status_mu, NULL);
	acct.email = "pit@grilld.example";
	util_strlcpy(acct.account_id, "acct1", sizeof(acct.account_id));
	UNIT_RUN(t_device_json);
	UNIT_RUN(t_nng);
	return unit_done();
}
