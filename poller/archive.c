/*
 * Backfill: the points a device recorded between two uploads.
 *
 * A channel document shows only the last uploaded point. When its
 * lastTelemetrySaved jumped by more than the recording interval (or the
 * channel was never seen, and its session is to be imported), the
 * device's archive documents are listed (devices/{serial}/archive,
 * paged by pageToken); each names a JSON file in Firebase Storage and
 * the span it covers (sessionStart..sessionEnd). The files overlapping
 * the gap are fetched one after the other, oldest first, and their
 * `readings` rows, [channel, epoch_ms, value, units], are emitted in
 * time order per channel up to the point the document showed; then the
 * document's own point (already emitted when a row had its time).
 *
 * When the archives cannot be had (an error, the breaker open, the cycle
 * deadline), nothing more is emitted for the device this cycle and the
 * seen marks stay where they are: the next cycle tries again from there.
 * After BACKFILL_DEFER_MAX_MS of that, the document points go out alone,
 * and the points skipped are counted: polling must not stall forever
 * behind a broken archive. A device without archives (404, or none that
 * overlaps) just emits its document points.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poller.h"

#define BACKFILL_DEFER_MAX_MS	(10 * 60 * 1000)
#define BACKFILL_FIRST_NS	(INT64_C(24) * 3600 * NS_PER_S)
#define ARCHIVE_PAGES_MAX	100
#define ARCHIVE_FILES_MAX	1000

struct archive_file {
	char		*name;
	int64_t		 start_ns;
	int64_t		 end_ns;
};

struct archive_job {
	struct tw_device *dev;
	int64_t		 lower_ns;	/* rows after this are wanted */
	int64_t		 upper_ns;	/* ... up to this */
	struct archive_file *files;
	size_t		 nfiles, cap;
	size_t		 next;		/* next file to fetch */
	int		 pages;
	bool		*blocked;	/* per channel: emission refused */
};

/* True when the points between the seen mark and the document's are
 * worth fetching: never seen, or a gap longer than one recording. */
bool
archive_needed(const struct tw_device *d, const struct tw_channel *ch)
{
	int64_t gap_us = ch->doc.last_telemetry_ns / 1000 - ch->seen_us;
	int64_t rec_us = d->doc.recording_s * 1000000;

	if (ch->seen_us == 0 || rec_us == 0)
		return gap_us > 0;
	return gap_us > rec_us + rec_us / 2;
}

void
archive_free(struct archive_job *j)
{
	if (j == NULL)
		return;
	for (size_t i = 0; i < j->nfiles; i++)
		free(j->files[i].name);
	free(j->files);
	free(j->blocked);
	free(j);
}

static int
row_cmp(const void *a, const void *b)
{
	const struct archive_row *x = a, *y = b;

	if (x->channel != y->channel)
		return x->channel < y->channel ? -1 : 1;
	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

/*
 * The rows of an archive file: {"readings": [[channel, epoch_ms, value,
 * units], ...], ...}. Rows of another shape are skipped and counted in
 * *bad. Returns the rows (the caller frees them) and their number in
 * *n, or NULL with *n 0 when the file is not such a document.
 */
struct archive_row *
archive_parse_rows(const char *text, size_t len, size_t *n, size_t *bad)
{
	cJSON *root = cJSON_ParseWithLength(text ? text : "", len);
	const cJSON *rows, *row;
	struct archive_row *out = NULL;
	size_t cap;

	*n = *bad = 0;
	rows = cJSON_GetObjectItemCaseSensitive(root, "readings");
	if (!cJSON_IsArray(rows)) {
		cJSON_Delete(root);
		return NULL;
	}
	cap = cJSON_GetArraySize(rows);
	if ((out = calloc(cap ? cap : 1, sizeof(*out))) == NULL) {
		cJSON_Delete(root);
		return NULL;
	}
	cJSON_ArrayForEach(row, rows) {
		const cJSON *c = cJSON_GetArrayItem(row, 0);
		const cJSON *t = cJSON_GetArrayItem(row, 1);
		const cJSON *v = cJSON_GetArrayItem(row, 2);
		const cJSON *u = cJSON_GetArrayItem(row, 3);
		struct archive_row *r = &out[*n];

		if (!cJSON_IsArray(row) || !cJSON_IsNumber(c) ||
		    !cJSON_IsNumber(t) || c->valuedouble < 1 ||
		    c->valuedouble > 1000 || t->valuedouble < 1 ||
		    t->valuedouble > 9.2e12 || (v != NULL &&
		    !cJSON_IsNumber(v) && !cJSON_IsNull(v))) {
			(*bad)++;
			continue;
		}
		r->channel = (int)c->valuedouble;
		r->ts_ns = (int64_t)t->valuedouble * NS_PER_MS;
		r->has_value = cJSON_IsNumber(v);
		r->value = r->has_value ? v->valuedouble : 0;
		r->unit = cJSON_IsString(u) ? fs_unit(u->valuestring) : 0;
		(*n)++;
	}
	cJSON_Delete(root);
	qsort(out, *n, sizeof(*out), row_cmp);
	return out;
}

/* ---- finishing ---- */

static void
finish(struct poller *p, struct tw_device *d, bool ok)
{
	struct archive_job *j = d->job;
	int64_t now = util_mono_ms();

	if (ok) {
		metric_inc(p->m.backfills_ok);
		d->defer_since_ms = 0;
	} else {
		metric_inc(p->m.backfills_failed);
		if (d->defer_since_ms == 0) {
			d->defer_since_ms = now;
		} else if (now - d->defer_since_ms >= BACKFILL_DEFER_MAX_MS) {
			log_warnx("%s: device %s: no archive for %d minutes; "
			    "emitting the latest points without the ones "
			    "between uploads", d->acct->email, d->serial,
			    BACKFILL_DEFER_MAX_MS / 60000);
			metric_inc(p->m.backfill_skipped);
			d->defer_since_ms = 0;
			ok = true;
		}
	}
	if (ok)
		for (int i = 0; i < d->nch; i++)
			if (j == NULL || !j->blocked[i])
				emit_doc_point(p, d, &d->ch[i]);
	archive_free(j);
	d->job = NULL;
	cycle_device_done(p, d);
}

/* The device left its account meanwhile: its part of the cycle ends. */
static void
abandon(struct poller *p, struct tw_device *d)
{
	if (d->job == NULL)
		return;
	archive_free(d->job);
	d->job = NULL;
	cycle_device_done(p, d);
}

static void	fetch_next(struct poller *, struct tw_device *);
static void	list_page(struct poller *, struct tw_device *, const char *);

/*
 * Rows past the job's lower bound up to the document's point (emit_point
 * judges them against the channel's mark); for a channel following its
 * clock back (emit_step_back), the rows after the old mark and those on
 * the new clock before the document's point, which goes out last.
 */
static bool
row_wanted(const struct archive_job *j, const struct tw_channel *ch,
    int64_t ts_ns)
{
	if (ch->step_old_us != 0)
		return ts_ns > ch->step_old_us * 1000 ||
		    (ts_ns > ch->step_lower_us * 1000 &&
		    ts_ns < ch->doc.last_telemetry_ns);
	return ts_ns > j->lower_ns && ts_ns <= ch->doc.last_telemetry_ns;
}

static void
emit_rows(struct poller *p, struct tw_device *d, const struct archive_row *rows,
    size_t n)
{
	struct archive_job *j = d->job;

	for (size_t i = 0; i < n; i++) {
		const struct archive_row *r = &rows[i];
		int c = r->channel - 1;
		struct tw_channel *ch;
		struct emit_point pt;

		if (c < 0 || c >= d->nch || j->blocked[c])
			continue;
		ch = &d->ch[c];
		if (!ch->fresh || !row_wanted(j, ch, r->ts_ns))
			continue;
		pt.ts_ns = r->ts_ns;
		pt.has_value = r->has_value;
		pt.value = r->value;
		pt.unit = r->unit;
		pt.status = r->has_value ? PROBE_UNKNOWN : PROBE_NO_PROBE;
		/*
		 * The document's point itself: its status from the document,
		 * its value from the file, which holds it as recorded (a
		 * document's number may have drifted to an integer).
		 */
		if (r->ts_ns == ch->doc.last_telemetry_ns && r->has_value)
			pt.status = ch->doc.status;
		if (emit_point(p, d, ch, &pt, true) == -1)
			j->blocked[c] = true;
	}
}

static void
file_done(struct http_req *r, void *arg)
{
	struct tw_device *d = arg;
	struct poller *p = d->acct->poller;
	struct archive_row *rows;
	size_t n, bad;

	if (d->removed) {
		abandon(p, d);
		goto out;
	}
	if (r->result != HTTP_DONE || r->status != 200 || (rows =
	    archive_parse_rows(r->resp.data, r->resp.len, &n, &bad)) ==
	    NULL) {
		log_limited(&p->archive_log, 10000, LOG_LVL_WARN, "%s: device "
		    "%s: archive file: %s", d->acct->email, d->serial,
		    r->result != HTTP_DONE ? r->errstr : r->status != 200 ?
		    "unexpected status" : "malformed file");
		finish(p, d, false);
		goto out;
	}
	if (bad > 0)
		log_limited(&p->archive_log, 10000, LOG_LVL_WARN, "%s: device "
		    "%s: archive file: skipped %zu malformed rows",
		    d->acct->email, d->serial, bad);
	emit_rows(p, d, rows, n);
	free(rows);
	fetch_next(p, d);
out:
	device_unref(d);
}

static void
fetch_next(struct poller *p, struct tw_device *d)
{
	struct archive_job *j = d->job;
	struct http_req *r;
	char *name;

	if (j->next >= j->nfiles) {
		finish(p, d, true);
		return;
	}
	if ((name = curl_easy_escape(NULL, j->files[j->next].name, 0)) ==
	    NULL) {
		finish(p, d, false);
		return;
	}
	j->next++;
	r = http_req_new(TW_EP_STORAGE, d->acct, http_url("%s/v0/b/%s/o/%s"
	    "?alt=media", p->cf->thermoworks.storage_url, p->bucket, name),
	    file_done, d);
	curl_free(name);
	if (r == NULL) {
		finish(p, d, false);
		return;
	}
	r->deadline_ms = p->cycle_deadline_ms;
	d->refs++;
	http_submit(&p->http, r);
}

static int
file_cmp(const void *a, const void *b)
{
	const struct archive_file *x = a, *y = b;

	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

/* Keeps an archive document when its span overlaps the gap. */
static int
take_doc(struct archive_job *j, const cJSON *doc)
{
	const cJSON *f = fs_fields(doc);
	struct archive_file *af;
	char name[512];
	int64_t start, end;

	if (fs_string(fs_field(f, "file"), name, sizeof(name)) != FS_OK ||
	    name[0] == '\0')
		return -1;
	if (fs_time(fs_field(f, "sessionStart"), &start) != FS_OK)
		start = 0;
	if (fs_time(fs_field(f, "sessionEnd"), &end) != FS_OK)
		end = INT64_MAX;	/* unknown: fetch it */
	/*
	 * A file that ends before it starts spans a device clock stepped
	 * back: its rows lie on both sides of the step, so it is fetched
	 * whatever the gap (there is one per step).
	 */
	if (start <= end && (end <= j->lower_ns || start > j->upper_ns))
		return 0;
	if (j->nfiles == ARCHIVE_FILES_MAX)
		return -1;
	if (j->nfiles == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 8;
		struct archive_file *a = reallocarray(j->files, cap,
		    sizeof(*a));

		if (a == NULL)
			return -1;
		j->files = a;
		j->cap = cap;
	}
	af = &j->files[j->nfiles];
	if ((af->name = strdup(name)) == NULL)
		return -1;
	af->start_ns = start;
	af->end_ns = end;
	j->nfiles++;
	return 0;
}

static void
list_done(struct http_req *r, void *arg)
{
	struct tw_device *d = arg;
	struct poller *p = d->acct->poller;
	struct archive_job *j = d->job;
	const cJSON *docs, *doc, *tok;
	cJSON *root = NULL;

	if (d->removed) {
		abandon(p, d);
		goto out;
	}
	if (r->result == HTTP_DONE && r->status == 404) {
		finish(p, d, true);		/* no archives at all */
		goto out;
	}
	if (r->result != HTTP_DONE || r->status != 200 || (root =
	    cJSON_ParseWithLength(r->resp.data, r->resp.len)) == NULL ||
	    !cJSON_IsObject(root)) {
		log_limited(&p->archive_log, 10000, LOG_LVL_WARN, "%s: device "
		    "%s: archive list: %s", d->acct->email, d->serial,
		    r->result != HTTP_DONE ? r->errstr : r->status != 200 ?
		    "unexpected status" : "malformed answer");
		finish(p, d, false);
		goto out;
	}
	docs = cJSON_GetObjectItemCaseSensitive(root, "documents");
	cJSON_ArrayForEach(doc, docs)
		if (take_doc(j, doc) == -1)
			log_limited(&p->archive_log, 10000, LOG_LVL_WARN,
			    "%s: device %s: skipped an archive document "
			    "without a file", d->acct->email, d->serial);
	tok = cJSON_GetObjectItemCaseSensitive(root, "nextPageToken");
	if (cJSON_IsString(tok) && tok->valuestring[0] != '\0' &&
	    ++j->pages < ARCHIVE_PAGES_MAX) {
		list_page(p, d, tok->valuestring);
	} else {
		qsort(j->files, j->nfiles, sizeof(*j->files), file_cmp);
		fetch_next(p, d);
	}
out:
	cJSON_Delete(root);
	device_unref(d);
}

static void
list_page(struct poller *p, struct tw_device *d, const char *token)
{
	char path[TW_SERIAL_LEN * 3 + 600];
	struct http_req *r;
	char *tok = NULL;

	if (token != NULL && (tok = curl_easy_escape(NULL, token, 0)) == NULL) {
		finish(p, d, false);
		return;
	}
	snprintf(path, sizeof(path), "/devices/%s/archive", d->esc_serial);
	r = discovery_req(p, d->acct, path, list_done, d);
	if (r != NULL && tok != NULL) {
		char *url = http_url("%s&pageToken=%s", r->url, tok);

		free(r->url);
		r->url = url;
		if (url == NULL) {
			http_req_free(r);
			r = NULL;
		}
	}
	curl_free(tok);
	if (r == NULL) {
		finish(p, d, false);
		return;
	}
	r->deadline_ms = p->cycle_deadline_ms;
	d->refs++;
	http_submit(&p->http, r);
}

/*
 * Starts the backfill of a polled device; it ends with
 * cycle_device_done(), at once or from a callback.
 */
void
archive_start(struct poller *p, struct tw_device *d)
{
	struct archive_job *j;
	int64_t lower = INT64_MAX, upper = 0;

	for (int i = 0; i < d->nch; i++) {
		const struct tw_channel *ch = &d->ch[i];
		int64_t t = ch->doc.last_telemetry_ns, from;

		if (ch->fresh && ch->step_old_us != 0) {
			/* Both clocks: every file up to now may hold rows. */
			if (ch->step_lower_us * 1000 < lower)
				lower = ch->step_lower_us * 1000;
			if (util_now_ns() > upper)
				upper = util_now_ns();
			continue;
		}
		if (!ch->fresh || t / 1000 <= ch->seen_us)
			continue;
		from = ch->seen_us > 0 ? ch->seen_us * 1000 :
		    t - BACKFILL_FIRST_NS;
		if (from < lower)
			lower = from;
		if (t > upper)
			upper = t;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->blocked = calloc(d->nch ? d->nch : 1, sizeof(bool))) == NULL) {
		archive_free(j);
		finish(p, d, false);
		return;
	}
	j->dev = d;
	j->lower_ns = lower;
	j->upper_ns = upper;
	d->job = j;
	list_page(p, d, NULL);
}
