/*
 * oracle: every point the simulator recorded, for tests to compare with
 * what reached Redis and InfluxDB, point by point.
 *
 *   GET /admin/recorded?device=S&channel=N&since=T&until=T&uploaded=true
 *
 * T is Unix milliseconds or RFC 3339; since defaults to the start of
 * the session, until to now (nothing later was recorded yet). uploaded
 * keeps only the points a client could have read by now (from a channel
 * document or an archive). Points come by device, time, then channel;
 * a value is printed exactly as the channel document and the archive
 * print it, null when the probe was out:
 *
 *   {"session_start_ms": 1767225600000, "now_ms": 1767225660000,
 *    "devices": [{"serial": "S2A4C6E8", "recorded": 31, "uploaded": 31,
 *                 "last_upload_ms": 1767225660000}],
 *    "count": 124, "truncated": false,
 *    "points": [{"device": "S2A4C6E8", "channel": 1, "time_ms": ...,
 *                "value": 225.10000610351562, "units": "F",
 *                "status": "NORMAL", "uploaded": true}, ...]}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "twsim.h"

#define ORACLE_LIMIT_DEFAULT	100000
#define ORACLE_LIMIT_MAX	10000000

struct oracle_q {
	const struct tw_device *only;
	int		 channel;	/* 0: all */
	int64_t		 since, until, limit;
	bool		 uploaded;
};

static int
parse_time(const char *s, int64_t *ms)
{
	int64_t ns;

	if (util_parse_int(s, ms) == 0)
		return 0;
	if (util_time_parse(s, &ns) == -1)
		return -1;
	*ms = ns / NS_PER_MS;
	return 0;
}

static int
parse(struct tw_world *w, const char *q, int64_t now, struct oracle_q *o,
    char *err, size_t errlen)
{
	char v[128];
	size_t qlen = strlen(q);
	int64_t n;

	memset(o, 0, sizeof(*o));
	o->since = INT64_MIN;	/* a stepped clock stamps before t0 */
	o->until = now;
	o->limit = ORACLE_LIMIT_DEFAULT;
	if (mg_get_var(q, qlen, "device", v, sizeof(v)) >= 0 &&
	    (o->only = scenario_find_device(w, v)) == NULL) {
		snprintf(err, errlen, "no device %s", v);
		return 404;
	}
	if (mg_get_var(q, qlen, "channel", v, sizeof(v)) >= 0) {
		if (util_parse_int(v, &n) == -1 || n < 1 ||
		    n > TW_CHANNEL_NUMBER_MAX) {
			snprintf(err, errlen, "channel: '%s' is not 1 to %d", v,
			    TW_CHANNEL_NUMBER_MAX);
			return 400;
		}
		o->channel = (int)n;
	}
	if (mg_get_var(q, qlen, "since", v, sizeof(v)) >= 0 &&
	    parse_time(v, &o->since) == -1) {
		snprintf(err, errlen, "since: '%s' is neither Unix "
		    "milliseconds nor RFC 3339", v);
		return 400;
	}
	if (mg_get_var(q, qlen, "until", v, sizeof(v)) >= 0 &&
	    parse_time(v, &o->until) == -1) {
		snprintf(err, errlen, "until: '%s' is neither Unix "
		    "milliseconds nor RFC 3339", v);
		return 400;
	}
	if (o->until > now)
		o->until = now;
	if (mg_get_var(q, qlen, "uploaded", v, sizeof(v)) >= 0)
		o->uploaded = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
	if (mg_get_var(q, qlen, "limit", v, sizeof(v)) >= 0 &&
	    (util_parse_int(v, &o->limit) == -1 || o->limit < 1 ||
	    o->limit > ORACLE_LIMIT_MAX)) {
		snprintf(err, errlen, "limit: '%s' is not 1 to %d", v,
		    ORACLE_LIMIT_MAX);
		return 400;
	}
	return 200;
}

/* Appends one point; the value as fsdoc and storage print it. */
static int
point(struct buf *b, bool first, const struct tw_device *d, int ch,
    int64_t ms, const struct tw_sample *s, bool uploaded)
{
	char num[32];
	char units = d->ch[ch].cook == COOK_HUMIDITY ? 'H' : d->units;

	if (s->present)
		jw_format_double(s->value, num, sizeof(num));
	else
		util_strlcpy(num, "null", sizeof(num));
	return buf_printf(b, "%s{\"device\":\"%s\",\"channel\":%d,\"time_ms\":"
	    "%lld,\"value\":%s,\"units\":\"%c\",\"status\":\"%s\","
	    "\"uploaded\":%s}", first ? "" : ",", d->serial,
	    d->ch[ch].number, (long long)ms, num, units, s->status, uploaded ? "true" : "false");
}

static void
devices_json(const struct tw_world *w, const struct oracle_q *o, int64_t now,
    struct buf *b)
{
	struct tw_clock c;
	bool first = true;

	buf_puts(b, "\"devices\":[");
	for (size_t i = 0; i < w->ndevices; i++) {
		const struct tw_device *d = w->devices[i];

		if (o->only != NULL && d != o->only)
			continue;
		timeline_at(w, d, now, &c);
		buf_printf(b, "%s{\"serial\":\"%s\",\"recorded\":%lld,"
		    "\"uploaded\":%lld,\"last_upload_ms\":%lld}",
		    first ? "" : ",", d->serial, (long long)(c.rec_k + 1),
		    (long long)(c.upl_k + 1), (long long)c.upl_ms);
		first = false;
	}
	buf_puts(b, "],");
}

/*
 * Renders the recorded points the query string asks for into out.
 * Returns an HTTP status: 200, or 400/404 with err.
 */
int
oracle_recorded(struct tw_world *w, const char *query, struct buf *out,
    char *err, size_t errlen)
{
	int64_t now = util_now_ns() / NS_PER_MS, count = 0;
	struct oracle_q o;
	struct tw_clock c;
	struct tw_sample s;
	struct buf pts;
	bool truncated = false;
	int status;

	if ((status = parse(w, query, now, &o, err, errlen)) != 200)
		return status;
	buf_init(&pts);
	for (size_t i = 0; i < w->ndevices && !truncated; i++) {
		const struct tw_device *d = w->devices[i];
		int64_t k, last;

		if (o.only != NULL && d != o.only)
			continue;
		timeline_at(w, d, now, &c);
		last = c.rec_k;
		if (o.uploaded && c.upl_k < last)
			last = c.upl_k;
		/*
		 * A stepped clock (timeline_step) puts samples out of time
		 * order: then every sample from since on is looked at and
		 * kept by its own timestamp.
		 */
		for (k = timeline_first_after(w, d, o.since); k <= last &&
		    !truncated; k++) {
			int64_t ms = timeline_sample_ms(w, d, k);

			if (ms > o.until && !timeline_stepped(d))
				break;
			if (ms < o.since || ms > o.until ||
			    !timeline_recorded(d, k))
				continue;
			for (int ch = 0; ch < d->nchannels; ch++) {
				if (o.channel != 0 &&
				    d->ch[ch].number != o.channel)
					continue;
				if (count == o.limit) {
					truncated = true;
					break;
				}
				cook_sample(w, d, ch, k, &s);
				if (point(&pts, count == 0, d, ch, ms, &s,
				    k <= c.upl_k) == -1) {
					buf_free(&pts);
					snprintf(err, errlen, "out of memory");
					return 500;
				}
				count++;
			}
		}
	}
	buf_reset(out);
	buf_printf(out, "{\"session_start_ms\":%lld,\"now_ms\":%lld,",
	    (long long)w->t0_ms, (long long)now);
	devices_json(w, &o, now, out);
	buf_printf(out, "\"count\":%lld,\"truncated\":%s,\"points\":[",
	    (long long)count, truncated ? "true" : "false");
	if (pts.len > 0)
		buf_append(out, pts.data, pts.len);
	status = buf_puts(out, "]}\n") == -1 ? 500 : 200;
	buf_free(&pts);
	if (status == 500)
		snprintf(err, errlen, "out of memory");
	return status;
}
