/*
 * Alert events and alert states as JSON: the shapes docs/alerts.md
 * promises the API, the stream service and webhook receivers.
 */
#include <stdio.h>
#include <string.h>

#include "ingest.h"

const char *
alert_state_name(enum alert_state s)
{
	switch (s) {
	case ALERT_ARMED:
		return "armed";
	case ALERT_PENDING:
		return "pending";
	case ALERT_FIRING:
		return "firing";
	}
	return "unknown";
}

/* The event as JSON (events and alerts streams, live feed, webhooks). */
int
alert_event_json(struct buf *b, const struct alert_event *ev,
    const char *event_id)
{
	char t[UTIL_TIME_LEN], s[UTIL_TIME_LEN];
	size_t start = b->len;
	int rc;

	util_time_format(ev->ts_ns, t, sizeof(t));
	util_time_format(ev->since_ns, s, sizeof(s));
	rc = buf_printf(b, "{\"alert_id\":\"%s\",\"rule_id\":\"%s\","
	    "\"kind\":\"%s\",\"state\":\"%s\",\"device_id\":\"",
	    ev->alert_id, ev->rule_id, alertrule_kind_name(ev->kind),
	    ev->firing ? "firing" : "cleared");
	rc = rc ? rc : buf_json_escape(b, ev->device_id);
	rc = rc ? rc : buf_puts(b, "\",\"probe_id\":\"");
	rc = rc ? rc : buf_json_escape(b, ev->probe_id);
	rc = rc ? rc : buf_puts(b, "\",\"name\":\"");
	rc = rc ? rc : buf_json_escape(b, ev->name);
	rc = rc ? rc : buf_puts(b, "\",\"message\":\"");
	rc = rc ? rc : buf_json_escape(b, ev->message);
	rc = rc ? rc : buf_puts(b, "\",\"state_key\":\"");
	rc = rc ? rc : buf_json_escape(b, ev->key);
	rc = rc ? rc : buf_printf(b, "\",\"timestamp\":\"%s\",\"since\":\"%s\","
	    "\"repeat\":%u", t, s, ev->repeat);
	if (rc == 0 && ev->has_value) {
		rc = buf_printf(b, ",\"value\":%.6g", ev->value);
		if (rc == 0 && ev->kind <= ALERTRULE_TARGET)
			rc = buf_printf(b, ",\"temperature\":%.6g", ev->value);
	}
	if (rc == 0 && ev->kind != ALERTRULE_STALL &&
	    ev->kind != ALERTRULE_DISCONNECTED && ev->kind != ALERTRULE_OFFLINE)
		rc = buf_printf(b, ",\"threshold\":%.6g,\"unit\":\"%s\"",
		    ev->threshold, ev->kind == ALERTRULE_BATTERY_LOW ? "%" :
		    ev->unit == 'C' ? "C" : ev->unit == 'H' ? "H" : "F");
	if (rc == 0 && event_id != NULL)
		rc = buf_printf(b, ",\"event_id\":\"%s\"", event_id);
	rc = rc ? rc : buf_putc(b, '}');
	if (rc == -1) {
		b->len = start;
		if (b->data)
			b->data[start] = '\0';
	}
	return rc;
}

/* The instance's state as kept in `alertstate` (see docs/alerts.md). */
int
alert_state_json(struct buf *b, const struct alert_event *ev, int64_t now)
{
	char t[UTIL_TIME_LEN], u[UTIL_TIME_LEN];
	size_t start = b->len;
	int rc;

	util_time_format(ev->since_ns, t, sizeof(t));
	util_time_format(now, u, sizeof(u));
	rc = buf_printf(b, "{\"rule_id\":\"%s\",\"kind\":\"%s\","
	    "\"device_id\":\"", ev->rule_id, alertrule_kind_name(ev->kind));
	rc = rc ? rc : buf_json_escape(b, ev->device_id);
	rc = rc ? rc : buf_puts(b, "\",\"probe_id\":\"");
	rc = rc ? rc : buf_json_escape(b, ev->probe_id);
	if (rc == 0 && ev->firing)
		rc = buf_printf(b, "\",\"state\":\"firing\",\"alert_id\":\"%s\","
		    "\"since\":\"%s\",\"notified\":%s", ev->alert_id, t,
		    ev->notified ? "true" : "false");
	else if (rc == 0)
		rc = buf_puts(b, "\",\"state\":\"armed\"");
	if (rc == 0 && ev->has_value)
		rc = buf_printf(b, ",\"value\":%.6g", ev->value);
	rc = rc ? rc : buf_printf(b, ",\"updated\":\"%s\"}", u);
	if (rc == -1) {
		b->len = start;
		if (b->data)
			b->data[start] = '\0';
	}
	return rc;
}
