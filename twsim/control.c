/*
 * control: the simulator's admin server (twsim.admin_listen), for
 * operators and tests. Besides /metrics and the health checks (admin.c):
 *
 *   GET    /admin/recorded   the oracle of recorded points (oracle.c)
 *   GET    /admin/faults     {"faults": [rule, ...]}
 *   POST   /admin/faults     a rule or a list: 201 {"faults": [...],
 *                            "revoked": N}; 400 with the reason
 *   DELETE /admin/faults     removes every rule: {"cleared": N}
 *   DELETE /admin/faults/ID  removes one: {"deleted": ID}, or 404
 *   GET    /admin/stats      request counts (see stats_json)
 *   DELETE /admin/stats      zeroes them
 *   GET    /admin/devices    the world: accounts' devices and channels
 *   POST   /admin/clock?device=SERIAL&step_ms=N
 *                            steps the device's clock by N ms (negative:
 *                            back) from its next sample (timeline.c):
 *                            {"device", "from_ms", "offset_ms"}
 *   POST   /admin/pause[?device=SERIAL|?except=SERIAL]
 *                            pauses devices (all; one; all but one)
 *                            from their next sample: they record nothing
 *                            until resumed (timeline.c); kept in
 *                            twsim.state_file: {"paused": [serial, ...]}
 *   DELETE /admin/pause[?device=SERIAL]
 *                            resumes them (all, or one), the same answer
 *
 * Errors are grilld's: {"status": "error", "code", "message"}.
 */
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "twsim.h"

#define CONTROL_MAX_BODY (64 * 1024)

static int
send_json(struct mg_connection *c, int status, struct buf *b)
{
	return admin_send(c, status, "application/json",
	    b->data ? b->data : "", b->len, NULL);
}

static int
read_body(struct mg_connection *c, struct buf *b)
{
	char chunk[4096];
	int n;

	while ((n = mg_read(c, chunk, sizeof(chunk))) > 0) {
		if (b->len + (size_t)n > CONTROL_MAX_BODY)
			return -1;
		if (buf_append(b, chunk, (size_t)n) == -1)
			return -1;
	}
	return buf_puts(b, "");
}

static int
method_not_allowed(struct mg_connection *c, const char *allow)
{
	char hdr[64], body[160];
	int n;

	snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
	n = snprintf(body, sizeof(body), "{\"status\":\"error\",\"code\":"
	    "\"METHOD_NOT_ALLOWED\",\"message\":\"this endpoint answers %s\"}\n",
	    allow);
	return admin_send(c, 405, "application/json", body, (size_t)n, hdr);
}

static int
h_faults(struct mg_connection *c, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	struct tw_world *w = arg;
	const char *path = ri->local_uri, *m = ri->request_method;
	char why[512];
	struct buf b;
	struct jw j;
	int status, id;

	buf_init(&b);
	jw_init(&j, &b, false);
	if (strcmp(path, "/admin/faults") != 0) {
		/* /admin/faults/ID */
		int64_t v;

		if (strcmp(m, "DELETE") != 0)
			return method_not_allowed(c, "DELETE");
		if (util_parse_int(path + strlen("/admin/faults/"), &v) == -1)
			return admin_send_error(c, 404, "NOT_FOUND", "no such "
			    "fault");
		id = (int)v;
		if (fault_delete(w->faults, id) == -1)
			return admin_send_error(c, 404, "NOT_FOUND", "no such "
			    "fault");
		buf_printf(&b, "{\"deleted\":%d}\n", id);
		status = send_json(c, 200, &b);
	} else if (strcmp(m, "GET") == 0) {
		fault_list(w->faults, &j);
		buf_puts(&b, "\n");
		status = send_json(c, 200, &b);
	} else if (strcmp(m, "POST") == 0) {
		struct buf body;

		buf_init(&body);
		if (read_body(c, &body) == -1)
			status = admin_send_error(c, 413, "TOO_LARGE", "a fault "
			    "body is at most 64 KiB");
		else if (fault_add_json(w, body.data, body.len, &j, why,
		    sizeof(why)) == -1)
			status = admin_send_error(c, 400, "BAD_FAULT", why);
		else {
			buf_puts(&b, "\n");
			status = send_json(c, 201, &b);
		}
		buf_free(&body);
	} else if (strcmp(m, "DELETE") == 0) {
		buf_printf(&b, "{\"cleared\":%d}\n",
		    fault_clear(w->faults, true));
		status = send_json(c, 200, &b);
	} else
		status = method_not_allowed(c, "GET, POST, DELETE");
	buf_free(&b);
	return status;
}

/*
 * {"requests": {"channel": {"total": 12, "200": 11, "429": 1}, ...},
 *  "requests_total": 40, "signins": 2, "refreshes": 1,
 *  "faults": {"active": 1, "injected": 3},
 *  "accounts": 1, "devices": 5, "channels": 12,
 *  "session_start_ms": ..., "now_ms": ...}
 * Status "0" counts connections dropped on purpose, "other" the rest.
 */
static void
stats_json(struct tw_world *w, struct buf *b)
{
	static const int statuses[] = TW_STATUSES;
	uint64_t total = 0, injected = 0, active = 0;
	struct jw j;
	char num[16];

	jw_init(&j, b, false);
	jw_obj(&j);
	jw_key(&j, "requests");
	jw_obj(&j);
	for (int e = 0; e < EP_COUNT; e++) {
		uint64_t ep_total = 0;

		jw_key(&j, serve_endpoint_name((enum tw_endpoint)e));
		jw_obj(&j);
		for (int s = 0; s < TW_NSTATUS; s++)
			ep_total += atomic_load(&w->stats.requests[e][s]);
		jw_kint(&j, "total", (int64_t)ep_total);
		for (int s = 0; s < TW_NSTATUS; s++) {
			uint64_t v = atomic_load(&w->stats.requests[e][s]);

			if (v == 0)
				continue;
			if (s < (int)ARRAY_LEN(statuses))
				snprintf(num, sizeof(num), "%d", statuses[s]);
			else
				util_strlcpy(num, "other", sizeof(num));
			jw_kint(&j, num, (int64_t)v);
		}
		jw_obj_end(&j);
		total += ep_total;
	}
	jw_obj_end(&j);
	jw_kint(&j, "requests_total", (int64_t)total);
	jw_kint(&j, "signins", (int64_t)atomic_load(&w->stats.signins));
	jw_kint(&j, "refreshes", (int64_t)atomic_load(&w->stats.refreshes));
	fault_counts(w->faults, &active, &injected);
	jw_key(&j, "faults");
	jw_obj(&j);
	jw_kint(&j, "active", (int64_t)active);
	jw_kint(&j, "injected", (int64_t)injected);
	jw_obj_end(&j);
	jw_kint(&j, "accounts", (int64_t)w->naccounts);
	jw_kint(&j, "devices", (int64_t)w->ndevices);
	jw_kint(&j, "channels", (int64_t)w->nchannels);
	jw_kint(&j, "session_start_ms", w->t0_ms);
	jw_kint(&j, "now_ms", util_now_ns() / NS_PER_MS);
	jw_obj_end(&j);
	buf_puts(b, "\n");
}

static int
h_stats(struct mg_connection *c, void *arg)
{
	const char *m = mg_get_request_info(c)->request_method;
	struct tw_world *w = arg;
	struct buf b;
	int status;

	if (strcmp(m, "DELETE") == 0) {
		for (int e = 0; e < EP_COUNT; e++)
			for (int s = 0; s < TW_NSTATUS; s++)
				atomic_store(&w->stats.requests[e][s], 0);
		atomic_store(&w->stats.signins, 0);
		atomic_store(&w->stats.refreshes, 0);
		fault_reset_counts(w->faults);
	} else if (strcmp(m, "GET") != 0)
		return method_not_allowed(c, "GET, DELETE");
	buf_init(&b);
	stats_json(w, &b);
	status = send_json(c, 200, &b);
	buf_free(&b);
	return status;
}

static int
h_recorded(struct mg_connection *c, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	char err[256];
	struct buf b;
	int status;

	if (strcmp(ri->request_method, "GET") != 0)
		return method_not_allowed(c, "GET");
	buf_init(&b);
	status = oracle_recorded(arg, ri->query_string ? ri->query_string : "",
	    &b, err, sizeof(err));
	if (status == 200)
		send_json(c, 200, &b);
	else
		admin_send_error(c, status, status == 404 ? "NOT_FOUND" :
		    status == 400 ? "BAD_QUERY" : "INTERNAL", err);
	buf_free(&b);
	return status;
}

static void
device_json(struct jw *j, const struct tw_world *w, const struct tw_device *d,
    int64_t now)
{
	struct tw_clock c;

	timeline_at(w, d, now, &c);
	jw_obj(j);
	jw_kstr(j, "serial", d->serial);
	jw_kstr(j, "model", scenario_model_name(d->model));
	jw_kstr(j, "label", d->label);
	jw_kstr(j, "account", d->account->email);
	jw_kint(j, "recording_interval_ms", d->rec_ms);
	jw_kint(j, "upload_interval_ms", d->upl_ms);
	jw_kint(j, "archive_interval_ms", d->archive_ms);
	jw_kint(j, "recorded", c.rec_k + 1);
	jw_kint(j, "uploaded", c.upl_k + 1);
	jw_kint(j, "last_upload_ms", c.upl_ms);
	jw_key(j, "paused");
	jw_bool(j, timeline_paused(d));
	jw_key(j, "channels");
	jw_arr(j);
	for (int i = 0; i < d->nchannels; i++) {
		const struct tw_channel *ch = &d->ch[i];

		jw_obj(j);
		jw_kint(j, "number", i + 1);
		jw_kstr(j, "label", ch->label);
		jw_kstr(j, "cook", cook_name(ch->cook));
		jw_kstr(j, "units", ch->cook == COOK_HUMIDITY ? "H" :
		    d->units == 'C' ? "C" : "F");
		jw_key(j, "unplugs");
		jw_bool(j, ch->unplugs);
		jw_obj_end(j);
	}
	jw_arr_end(j);
	jw_obj_end(j);
}

static int
h_devices(struct mg_connection *c, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	const char *q = ri->query_string ? ri->query_string : "";
	struct tw_world *w = arg;
	int64_t now = util_now_ns() / NS_PER_MS;
	char serial[TW_SERIAL_MAX];
	bool one;
	struct buf b;
	struct jw j;
	int status;

	if (strcmp(ri->request_method, "GET") != 0)
		return method_not_allowed(c, "GET");
	one = mg_get_var(q, strlen(q), "device", serial, sizeof(serial)) >= 0;
	buf_init(&b);
	jw_init(&j, &b, false);
	jw_obj(&j);
	jw_kint(&j, "session_start_ms", w->t0_ms);
	jw_key(&j, "devices");
	jw_arr(&j);
	for (size_t i = 0; i < w->ndevices; i++)
		if (!one || strcmp(w->devices[i]->serial, serial) == 0)
			device_json(&j, w, w->devices[i], now);
	jw_arr_end(&j);
	jw_obj_end(&j);
	buf_puts(&b, "\n");
	status = send_json(c, 200, &b);
	buf_free(&b);
	return status;
}

static int
h_clock(struct mg_connection *c, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	const char *q = ri->query_string ? ri->query_string : "";
	struct tw_world *w = arg;
	struct tw_device *d = NULL;
	char serial[TW_SERIAL_MAX], num[32];
	int64_t step, from, off;
	struct buf b;
	int status;

	if (strcmp(ri->request_method, "POST") != 0)
		return method_not_allowed(c, "POST");
	if (mg_get_var(q, strlen(q), "device", serial, sizeof(serial)) < 0 ||
	    mg_get_var(q, strlen(q), "step_ms", num, sizeof(num)) < 0 ||
	    util_parse_int(num, &step) == -1)
		return admin_send_error(c, 400, "BAD_REQUEST", "device=SERIAL "
		    "and step_ms=N (an integer, negative: back) are needed");
	for (size_t i = 0; i < w->ndevices && d == NULL; i++)
		if (strcmp(w->devices[i]->serial, serial) == 0)
			d = w->devices[i];
	if (d == NULL)
		return admin_send_error(c, 404, "NOT_FOUND", "no such device");
	if (timeline_step(w, d, util_now_ns() / NS_PER_MS, step, &from,
	    &off) == -1)
		return admin_send_error(c, 409, "TOO_MANY_STEPS", "a device's "
		    "clock steps at most 16 times");
	buf_init(&b);
	buf_printf(&b, "{\"device\":\"%s\",\"from_ms\":%lld,"
	    "\"offset_ms\":%lld}\n", d->serial, (long long)from,
	    (long long)off);
	status = send_json(c, 200, &b);
	buf_free(&b);
	return status;
}

/* One pause or resume and its state file at a time. */
static pthread_mutex_t pause_mu = PTHREAD_MUTEX_INITIALIZER;

static int
h_pause(struct mg_connection *c, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	const char *q = ri->query_string ? ri->query_string : "";
	struct tw_world *w = arg;
	char one[TW_SERIAL_MAX], but[TW_SERIAL_MAX], err[512];
	bool on = strcmp(ri->request_method, "POST") == 0, found = false;
	bool has_one, has_but, full = false;
	struct buf b;
	int status, saved;

	if (!on && strcmp(ri->request_method, "DELETE") != 0)
		return method_not_allowed(c, "POST, DELETE");
	has_one = mg_get_var(q, strlen(q), "device", one, sizeof(one)) >= 0;
	has_but = mg_get_var(q, strlen(q), "except", but, sizeof(but)) >= 0;
	if ((has_one && has_but) || (has_but && !on))
		return admin_send_error(c, 400, "BAD_REQUEST", "device=SERIAL, "
		    "or (to pause) except=SERIAL, or neither: every device");
	pthread_mutex_lock(&pause_mu);
	for (size_t i = 0; i < w->ndevices; i++) {
		struct tw_device *d = w->devices[i];

		if ((has_one && strcmp(d->serial, one) != 0) ||
		    (has_but && strcmp(d->serial, but) == 0))
			continue;
		found = true;
		if (timeline_pause(w, d, util_now_ns() / NS_PER_MS, on) == -1)
			full = true;
	}
	saved = found ? state_save_world(w, err, sizeof(err)) : 0;
	pthread_mutex_unlock(&pause_mu);
	if (has_one && !found)
		return admin_send_error(c, 404, "NOT_FOUND", "no such device");
	if (saved == -1)
		return admin_send_error(c, 500, "STATE_FILE", err);
	if (full)
		return admin_send_error(c, 409, "TOO_MANY_PAUSES", "a device "
		    "pauses at most 64 times");
	buf_init(&b);
	buf_puts(&b, "{\"paused\":[");
	for (size_t i = 0, n = 0; i < w->ndevices; i++)
		if (timeline_paused(w->devices[i]))
			buf_printf(&b, "%s\"%s\"", n++ ? "," : "",
			    w->devices[i]->serial);
	buf_puts(&b, "]}\n");
	status = send_json(c, 200, &b);
	buf_free(&b);
	return status;
}

static int
h_notfound(struct mg_connection *c, void *arg)
{
	return admin_send_error(c, 404, "NOT_FOUND", "this admin server "
	    "answers /metrics, /health/live, /health/ready and /admin/ "
	    "(recorded, faults, stats, devices, clock, pause)");
}

static bool
ready(void *arg, struct buf *why)
{
	struct tw_world *w = arg;

	buf_printf(why, "\"accounts\":%zu,\"devices\":%zu,\"channels\":%zu",
	    w->naccounts, w->ndevices, w->nchannels);
	return true;
}

struct mg_context *
control_start(struct tw_world *w, const char *listen, char *err,
    size_t errlen)
{
	const char *opts[] = { "listening_ports", listen, "num_threads", "8",
		"request_timeout_ms", "30000", "enable_keep_alive", "yes",
		NULL };
	struct mg_context *ctx;

	if ((ctx = admin_mg_start(opts, err, errlen)) == NULL)
		return NULL;
	admin_register(ctx, ready, w);
	mg_set_request_handler(ctx, "/admin/faults", h_faults, w);
	mg_set_request_handler(ctx, "/admin/stats", h_stats, w);
	mg_set_request_handler(ctx, "/admin/recorded", h_recorded, w);
	mg_set_request_handler(ctx, "/admin/devices", h_devices, w);
	mg_set_request_handler(ctx, "/admin/clock", h_clock, w);
	mg_set_request_handler(ctx, "/admin/pause", h_pause, w);
	mg_set_request_handler(ctx, "/", h_notfound, NULL);
	return ctx;
}
