/*
 * Discovery: which devices an account has, and which channels each has.
 *
 * Once signed in: the user document gives the accountId; a runQuery on
 * devices by accountId lists the devices, streamed element by element
 * (fs_split) so that 10,000 devices never sit in memory as one tree.
 * The query is run again every ten cycles (at least every minute) to see
 * devices come and go. There is no listing of a device's channels, and
 * their numbers can have holes (a real Node has 1 and 3): channels/1 to
 * channels/9 are tried, each 404 remembered as a hole, paced by the
 * HTTP queue (chan_pump()); a device takes part in the poll cycle from
 * then on. Channels change: a known one that answers 404 to a poll
 * leaves, and the holes are tried again then and every hour, while the
 * device keeps being polled.
 *
 * Devices are freed only when no request refers to them any more
 * (refs), so a device that leaves while a request is out is safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poller.h"

#define DISCOVERY_CYCLES	10
#define DISCOVERY_MIN_MS	60000
#define REPROBE_MS		(60 * 60 * 1000)

static void	query_start(struct poller *, struct tw_account *);
static void	chan_start(struct poller *, struct tw_device *);

static const char query_fmt[] =
    "{\"structuredQuery\":{\"from\":[{\"collectionId\":\"devices\"}],"
    "\"where\":{\"fieldFilter\":{\"field\":{\"fieldPath\":\"accountId\"},"
    "\"op\":\"EQUAL\",\"value\":{\"stringValue\":\"%s\"}}},"
    "\"orderBy\":[{\"field\":{\"fieldPath\":\"__name__\"},"
    "\"direction\":\"ASCENDING\"}]}}";

/*
 * A Firestore request of the account: {firestore_url}/documents{path},
 * path "/users/..." or ":runQuery".
 */
struct fetch_req *
discovery_req(struct poller *p, struct tw_account *a, const char *path,
    fetch_done_fn done, void *arg)
{
	char *key = curl_easy_escape(NULL, a->api_key, 0);
	struct fetch_req *r;

	if (key == NULL)
		return NULL;
	r = fetch_req_new(TW_EP_FIRESTORE, a,
	    util_strdupf("%s/documents%s?key=%s",
	    p->cf->thermoworks.firestore_url, path, key), done, arg);
	curl_free(key);
	return r;
}

void
device_free(struct tw_device *d)
{
	if (d == NULL)
		return;
	archive_free(d->job);
	curl_free(d->esc_serial);
	for (int i = 0; i < d->nch; i++)
		archive_chan_free(&d->ch[i]);
	free(d->ch);
	free(d);
}

/* Drops a reference; frees a removed device with the last. */
bool
device_unref(struct tw_device *d)
{
	if (--d->refs > 0 || !d->removed)
		return false;
	device_free(d);
	return true;
}

static void
count_devices(struct poller *p, int ddev, int dch)
{
	p->ndevices += ddev;
	p->nchannels += dch;
	metric_set(p->m.devices, p->ndevices);
	metric_set(p->m.channels, p->nchannels);
}

static struct tw_device *
device_new(struct poller *p, struct tw_account *a, const char *serial)
{
	struct strmap_entry *e;
	struct tw_device *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->acct = a;
	util_strlcpy(d->serial, serial, sizeof(d->serial));
	if ((d->esc_serial = curl_easy_escape(NULL, serial, 0)) == NULL ||
	    (d->reg = registry_add(p, serial)) == NULL ||
	    (e = strmap_put(&a->by_serial, serial)) == NULL) {
		registry_remove(p, d->reg, false);
		device_free(d);
		return NULL;
	}
	e->ptr = d;
	d->disc = DISC_CHANNELS;
	d->probe_next = 1;
	TAILQ_INSERT_TAIL(&a->devices, d, entry);
	count_devices(p, 1, 0);
	return d;
}

/* purge: it left the account (delete it from Redis too). */
static void
device_remove(struct poller *p, struct tw_device *d, bool purge)
{
	struct tw_account *a = d->acct;

	cycle_forget(p, d);
	if (a->chan_cursor == d)
		a->chan_cursor = TAILQ_NEXT(d, entry);
	TAILQ_REMOVE(&a->devices, d, entry);
	strmap_del(&a->by_serial, d->serial);
	registry_remove(p, d->reg, purge);
	d->reg = NULL;
	archive_forget(p, d);
	count_devices(p, -1, -d->nch);
	d->removed = true;
	if (d->refs == 0)
		device_free(d);
}

/* ---- the device query ---- */

static int
query_elem(const char *text, size_t len, void *arg)
{
	struct tw_account *a = arg;
	struct poller *p = a->poller;
	struct tw_dev_doc doc;
	struct strmap_entry *e;
	struct tw_device *d;
	cJSON *root;
	const cJSON *document;

	if ((root = cJSON_ParseWithLength(text, len)) == NULL)
		return -1;
	document = cJSON_GetObjectItemCaseSensitive(root, "document");
	if (document == NULL) {			/* only a readTime */
		cJSON_Delete(root);
		return 0;
	}
	if (fs_decode_device(document, &doc) == -1 || (doc.account_id[0] &&
	    strcmp(doc.account_id, a->account_id) != 0)) {
		log_limited(&p->odd_log, 10000, LOG_LVL_WARN, "%s: device "
		    "query: skipped a document without a serial or of another "
		    "account", a->email);
		cJSON_Delete(root);
		return 0;
	}
	cJSON_Delete(root);
	if ((e = strmap_get(&a->by_serial, doc.serial)) != NULL)
		d = e->ptr;
	else if ((d = device_new(p, a, doc.serial)) == NULL)
		return -1;
	d->doc = doc;
	d->has_doc = true;
	d->listed = a->query_gen;
	return 0;
}

static int
query_sink(struct fetch_req *r, const char *data, size_t len)
{
	struct tw_account *a = r->arg;

	return fs_split_feed(&a->split, data, len);
}

static void
query_done(struct fetch_req *r, void *arg)
{
	struct tw_account *a = arg;
	struct poller *p = a->poller;
	struct tw_device *d, *next;
	int64_t every = DISCOVERY_CYCLES * p->cf->poller.interval;
	bool first = !a->discovered;

	a->discovering = false;
	if (r->result != FETCH_DONE || r->status != 200 || r->sink_failed ||
	    fs_split_finish(&a->split) == -1) {
		log_warnx("%s: device query failed: %s", a->email,
		    r->sink_failed ? "malformed answer" : r->errstr ?
		    r->errstr : "unexpected status");
		if (r->result == FETCH_DONE)
			log_debug("device query: HTTP %ld", r->status);
		fs_split_free(&a->split);
		a->discover_at_ms = util_mono_ms() + p->cf->poller.interval;
		return;
	}
	fs_split_free(&a->split);
	for (d = TAILQ_FIRST(&a->devices); d != NULL; d = next) {
		next = TAILQ_NEXT(d, entry);
		if (d->listed != a->query_gen) {
			log_info("%s: device %s is gone from the account",
			    a->email, d->serial);
			device_remove(p, d, true);
		}
	}
	/* A cook going on when grilld first polled the account is wanted
	 * from its start, by whichever poller first gets its points. */
	TAILQ_FOREACH(d, &a->devices, entry)
		lease_since_lower(a, d->doc.session_start_ns / 1000 - 1);
	a->discovered = true;
	a->discover_at_ms = util_mono_ms() + (every > DISCOVERY_MIN_MS ?
	    every : DISCOVERY_MIN_MS);
	if (first)
		log_info("%s: %zu devices", a->email, a->by_serial.len);
	a->chan_cursor = TAILQ_FIRST(&a->devices);	/* chan_pump() */
}

static void
query_start(struct poller *p, struct tw_account *a)
{
	struct fetch_req *r;
	char *body;

	if ((body = util_strdupf(query_fmt, a->account_id)) == NULL)
		return;
	if ((r = discovery_req(p, a, ":runQuery", query_done, a)) == NULL) {
		free(body);
		return;
	}
	r->post = true;
	r->body = body;
	r->sink = query_sink;
	a->query_gen++;
	fs_split_free(&a->split);
	fs_split_init(&a->split, TW_ELEM_MAX, query_elem, a);
	a->discovering = true;
	fetch_submit(&p->fetch, r);
}

static void
user_done(struct fetch_req *r, void *arg)
{
	struct tw_account *a = arg;
	struct poller *p = a->poller;
	cJSON *root = NULL;
	char id[TW_TEXT_LEN] = "";

	a->discovering = false;
	if (r->result == FETCH_DONE && r->status == 200 &&
	    (root = cJSON_ParseWithLength(r->resp.data, r->resp.len)) != NULL)
		fs_string(fs_field(fs_fields(root), "accountId"), id,
		    sizeof(id));
	cJSON_Delete(root);
	if (id[0] == '\0') {
		log_warnx("%s: cannot read the user document: %s", a->email,
		    r->result != FETCH_DONE ? r->errstr : r->status != 200 ?
		    "unexpected status" : "no accountId");
		a->discover_at_ms = util_mono_ms() + p->cf->poller.interval;
		return;
	}
	util_strlcpy(a->account_id, id, sizeof(a->account_id));
	query_start(p, a);
}

/* ---- channels 1..N ---- */

static struct tw_channel *
chan_find(struct tw_device *d, int number)
{
	for (int i = 0; i < d->nch; i++)
		if (d->ch[i].number == number)
			return &d->ch[i];
	return NULL;
}

static int
chan_add(struct poller *p, struct tw_device *d, int number,
    const struct tw_chan_doc *c)
{
	struct tw_channel *ch, *grown;
	struct strmap_entry *e;
	int n;

	if ((grown = reallocarray(d->ch, d->nch + 1, sizeof(*d->ch))) == NULL)
		return -1;
	d->ch = grown;
	ch = &d->ch[d->nch];
	memset(ch, 0, sizeof(*ch));
	ch->number = number;
	n = snprintf(ch->key, sizeof(ch->key), "%s/%d", d->serial,
	    ch->number % 1000);
	if (n < 0 || (size_t)n >= sizeof(ch->key))
		return -1;
	if ((e = strmap_get(&p->seen, ch->key)) != NULL)
		ch->seen_us = e->num;
	ch->doc = *c;
	d->nch++;
	archive_chan_init(p, d, ch);
	if (d->disc == DISC_DONE)
		count_devices(p, 0, 1);
	return 0;
}

/* The numbers are tried; the device is polled from now on. */
static void
chan_finished(struct poller *p, struct tw_device *d)
{
	if (d->reprobe) {
		d->reprobe = false;
	} else {
		d->disc = DISC_DONE;
		count_devices(p, 0, d->nch);
		log_debug("%s: device %s has %d channels", d->acct->email,
		    d->serial, d->nch);
		cycle_kick(p);
	}
	d->reprobe_at_ms = util_mono_ms() + REPROBE_MS;
}

static void
chan_done(struct fetch_req *r, void *arg)
{
	struct tw_device *d = arg;
	struct poller *p = d->acct->poller;
	struct tw_chan_doc doc;
	cJSON *root;
	int rc = -1;

	d->disc_busy = false;
	if (d->removed)
		goto out;
	if (r->result == FETCH_DONE && r->status == 404) {
		rc = 0;			/* a hole, or past the last */
	} else if (r->result == FETCH_DONE && r->status == 200 &&
	    (root = cJSON_ParseWithLength(r->resp.data, r->resp.len)) !=
	    NULL) {
		if ((rc = fs_decode_channel(root, &doc)) == 0 &&
		    chan_find(d, r->tag) == NULL)
			rc = chan_add(p, d, r->tag, &doc);
		cJSON_Delete(root);
	}
	if (rc == 0) {
		d->probe_next = r->tag + 1;
		if (d->probe_next > TW_CHANNELS_PROBE ||
		    d->nch >= TW_CHANNELS_MAX)
			chan_finished(p, d);
		else
			chan_start(p, d);
		goto out;
	}
	log_limited(&p->odd_log, 10000, LOG_LVL_WARN, "%s: device %s: "
	    "channel %d: %s; trying again later", d->acct->email, d->serial,
	    r->tag, r->result != FETCH_DONE ? r->errstr :
	    r->status != 200 ? "unexpected status" : "malformed document");
	if (d->reprobe) {
		d->reprobe = false;
		d->reprobe_at_ms = util_mono_ms() + REPROBE_MS / 4;
	}
out:
	device_unref(d);
}

static void
chan_start(struct poller *p, struct tw_device *d)
{
	struct fetch_req *r;
	char path[TW_SERIAL_LEN * 3 + 48];

	/* Known channels are polled anyway: only the holes are tried. */
	while (d->reprobe && d->probe_next <= TW_CHANNELS_PROBE &&
	    chan_find(d, d->probe_next) != NULL)
		d->probe_next++;
	if (d->probe_next > TW_CHANNELS_PROBE) {
		chan_finished(p, d);
		return;
	}
	snprintf(path, sizeof(path), "/devices/%s/channels/%d", d->esc_serial,
	    d->probe_next);
	if ((r = discovery_req(p, d->acct, path, chan_done, d)) == NULL)
		return;
	r->tag = d->probe_next;
	d->disc_busy = true;
	d->refs++;
	fetch_submit(&p->fetch, r);
}

/*
 * A known channel answered 404 to a poll: it left the device (the
 * caller is past every request of the device, so indexes may move).
 * The holes are tried again at once.
 */
void
discovery_channel_gone(struct poller *p, struct tw_device *d, int idx)
{
	log_info("%s: device %s: channel %d is gone", d->acct->email,
	    d->serial, d->ch[idx].number);
	archive_chan_keep(p, &d->ch[idx]);
	archive_chan_free(&d->ch[idx]);
	memmove(&d->ch[idx], &d->ch[idx + 1], (size_t)(d->nch - idx - 1) *
	    sizeof(*d->ch));
	d->nch--;
	count_devices(p, 0, -1);
	d->reprobe_at_ms = 0;
}

/* Every hour (or when a channel left), the holes are tried again. */
void
discovery_reprobe(struct poller *p, struct tw_device *d, int64_t now)
{
	if (d->disc != DISC_DONE || d->disc_busy || d->reprobe ||
	    now < d->reprobe_at_ms || d->removed)
		return;
	d->reprobe = true;
	d->probe_next = 1;
	chan_start(p, d);
}

/*
 * Starts the channel discovery of new devices as the HTTP queue drains,
 * so that 10,000 new devices are not 10,000 requests in memory at once.
 */
static void
chan_pump(struct poller *p, struct tw_account *a)
{
	size_t high = 2 * (size_t)p->cf->poller.concurrency + 16;
	struct tw_device *d;

	while ((d = a->chan_cursor) != NULL &&
	    fetch_backlog(&p->fetch) < high) {
		a->chan_cursor = TAILQ_NEXT(d, entry);
		if (d->disc == DISC_CHANNELS && !d->disc_busy)
			chan_start(p, d);
		else
			discovery_reprobe(p, d, util_mono_ms());
	}
}

/* Starts the account's discovery when it is due, and paces it. */
void
discovery_tick(struct poller *p, struct tw_account *a, int64_t now)
{
	struct fetch_req *r;
	char path[400];
	char *uid;

	if (!a->active || !auth_has_token(a))
		return;
	chan_pump(p, a);
	if (a->discovering || now < a->discover_at_ms)
		return;
	if (a->account_id[0] != '\0') {
		query_start(p, a);
		return;
	}
	if ((uid = curl_easy_escape(NULL, a->uid, 0)) == NULL)
		return;
	snprintf(path, sizeof(path), "/users/%s", uid);
	curl_free(uid);
	if ((r = discovery_req(p, a, path, user_done, a)) == NULL)
		return;
	a->discovering = true;
	fetch_submit(&p->fetch, r);
}

/* The lease went elsewhere: forget the devices, find them again later. */
void
discovery_forget(struct poller *p, struct tw_account *a)
{
	struct tw_device *d;

	while ((d = TAILQ_FIRST(&a->devices)) != NULL)
		device_remove(p, d, false);
	a->chan_cursor = NULL;
	a->discovered = false;
	a->discover_at_ms = 0;
}
