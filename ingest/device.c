/*
 * Which devices are online, judged from their readings: a device is
 * online from its first reading on, offline once it has been silent
 * (by its own clock, against ours) for ingest.stale_after. Each change
 * becomes a MSG_DEVICE event. Bounded like the rest of the per-device
 * state; a device pushed out of the table comes back as "online".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"

struct dev {
	int64_t		 last_ts;	/* newest reading, device ns */
	bool		 online;
};

struct devices {
	struct table	*t;
	int64_t		 stale_ns;
};

struct devices *
devices_new(size_t max, int64_t stale_ms)
{
	struct devices *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	if ((d->t = table_new(sizeof(struct dev), max)) == NULL) {
		free(d);
		return NULL;
	}
	d->stale_ns = stale_ms * NS_PER_MS;
	return d;
}

void
devices_free(struct devices *d)
{
	if (d == NULL)
		return;
	table_free(d->t);
	free(d);
}

bool
devices_seen(struct devices *d, const struct reading *r, int64_t now,
    struct devev *ev)
{
	struct dev *v;
	bool created;

	if ((v = table_put(d->t, r->device_id, &created)) == NULL)
		return false;
	if (r->ts_ns > v->last_ts)
		v->last_ts = r->ts_ns;
	/* A reading that is itself stale does not bring a device back. */
	if (v->online || now - r->ts_ns >= d->stale_ns)
		return false;
	v->online = true;
	memset(ev, 0, sizeof(*ev));
	util_strlcpy(ev->device_id, r->device_id, sizeof(ev->device_id));
	ev->online = true;
	ev->ts_ns = r->ts_ns;
	util_strlcpy(ev->reason, created ? "first reading" : "readings again",
	    sizeof(ev->reason));
	return true;
}

void
devices_tick(struct devices *d, int64_t now,
    void (*fn)(const struct devev *, void *), void *arg)
{
	struct devev ev;
	struct dev *v;
	char s[32];

	for (v = table_first(d->t); v != NULL; v = table_next(d->t, v)) {
		if (!v->online || now - v->last_ts < d->stale_ns)
			continue;
		v->online = false;
		memset(&ev, 0, sizeof(ev));
		util_strlcpy(ev.device_id, table_key(v), sizeof(ev.device_id));
		ev.online = false;
		ev.ts_ns = now;
		util_format_duration(d->stale_ns / NS_PER_MS, s, sizeof(s));
		snprintf(ev.reason, sizeof(ev.reason), "no reading for %s", s);
		fn(&ev, arg);
	}
}
