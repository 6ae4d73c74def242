/*
 * Backfill: the points a device recorded between two uploads, filled in
 * from its session archives once they exist. Live first: the point a
 * channel document shows is emitted as soon as it is read (cycle.c);
 * nothing here ever holds it back.
 *
 * The real cloud keeps one archive per *ended* session (the device's
 * lastArchive says when the newest was made, often hours after the
 * session's end; there are no rolling archives of a live session). An
 * archive document (devices/{serial}/archive, listed with
 * orderBy=createdOn and paged by pageToken) has `filename`, `start`,
 * `end`, `createdOn`, `count`, `channels`, ...; the file, from Firebase
 * Storage, is served as text/json with `readings` rows ["1", epoch_ms,
 * value, "F"] (the channel number as a string).
 *
 * Gaps. A live point more than one and a half recording intervals
 * after the one before leaves a gap between them (both ends excluded:
 * they were emitted live); a channel seen for the first time has a gap
 * back to its session's start. Each channel keeps its gaps, and only
 * rows strictly inside one are emitted, so a point goes out once.
 * Backfilled points go to Redis under "serial/n@b", whose mark in
 * grilld:poller:seen (bf_us) moves with them.
 *
 * Gaps are durable: the live point that ends one carries it to Redis
 * (handoff.c), whose script appends it to the channel's field of
 * grilld:poller:gaps in the same step as the point ("from-to from-to",
 * microseconds), dropping the ones the "@b" mark passed and the ones
 * given up; a spooled point carries it in its spool record. A poller
 * that starts, or takes an account over, loads those gaps (and the
 * spool's) with the seen marks and goes on from the "@b" mark: the live
 * points were sent once and are never inside a gap, and only what was
 * never sent is filled.
 *
 * A device with a gap lists its archives when its lastArchive moved
 * (and once after start-up), fetches the files that overlap a gap, and
 * emits their rows inside the gaps as backfilled points
 * (READING_F_BACKFILL: stored, not published as new), each channel's
 * in time order once every file is in: after a device clock stepped,
 * files taken by their start are not in the order of their rows (the
 * file spanning a step back ends before it starts, its rows lie on both
 * clocks), and a gap's rows must go out in order, each one shrinking
 * the gap it is in. Then every run of a file's rows on one clock (a
 * span: a step cuts a file in two) is known complete, and the gaps'
 * parts inside it are filled. Only the files overlapping a gap are
 * fetched. A gap
 * still open after BACKFILL_GIVE_UP_NS (no archive ever covered it, or
 * the archives cannot be read) is given up and counted, with why.
 * Backfill runs beside the poll cycle, with its own deadlines: a
 * Storage outage delays no live point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poller.h"

#define BACKFILL_FIRST_NS	(INT64_C(24) * 3600 * NS_PER_S)
#define BACKFILL_REQ_MS		60000	/* deadline of one request */
#define BACKFILL_RETRY_MS	30000	/* after a failure, doubling */
#define BACKFILL_RETRY_MAX_MS	(10 * 60 * 1000)
#define BACKFILL_RELIST_MS	(10 * 60 * 1000) /* no lastArchive field */
#define ARCHIVE_PAGES_MAX	100
#define GAPS_MAX		1024	/* per channel; then they merge */
#define ARCHIVE_FILES_MAX	1000

struct archive_file {
	char		*name;
	int64_t		 start_ns;
	int64_t		 end_ns;
};

struct archive_job {
	struct tw_device *dev;
	struct archive_row *rows;	/* inside a gap, of every file */
	size_t		 nrows, rcap;
	struct archive_span *spans;	/* of every file */
	size_t		 nspans, scap;
	int64_t		 lower_ns;	/* rows after this are wanted */
	int64_t		 upper_ns;	/* ... up to this */
	int64_t		 last_archive_ns; /* lastArchive when it began */
	struct archive_file *files;
	size_t		 nfiles, cap;
	size_t		 next;		/* next file to fetch */
	int		 pages;
	bool		 blocked;	/* the hand-off queue refused */
};

/* "serial/n@b": a serial fits TW_SERIAL_LEN, so this TW_KEY_LEN. */
size_t
archive_bf_key(const struct tw_channel *ch, char *out, size_t len)
{
	size_t n = strlen(ch->key);

	if (n + 3 > len) {
		out[0] = '\0';
		return 0;
	}
	memcpy(out, ch->key, n);
	memcpy(out + n, RKEY_SEEN_BACKFILL, sizeof(RKEY_SEEN_BACKFILL));
	return n + 2;
}

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

static void
count_gaps(struct poller *p, struct tw_device *d)
{
	int n = 0;

	for (int i = 0; i < d->nch; i++)
		if (d->ch[i].ngaps > 0)
			n++;
	p->ngaps += n - d->ngaps;
	d->ngaps = n;
	metric_set(p->m.gaps_open, p->ngaps);
}

void
archive_chan_free(struct tw_channel *ch)
{
	free(ch->gaps);
	ch->gaps = NULL;
	ch->ngaps = 0;
}

/*
 * Adds the gap (from, to) after the others, merging it into the last
 * one when it touches it, or when there are GAPS_MAX already (the live
 * point between them is sent again then: a duplicate, never a loss).
 */
int
archive_gap_add(struct tw_channel *ch, int64_t from, int64_t to)
{
	struct tw_gap *g;

	if (to - from < 2)
		return 0;		/* nothing fits between */
	if (ch->ngaps > 0) {
		g = &ch->gaps[ch->ngaps - 1];
		if (from < g->to_us) {
			if (to > g->to_us)
				g->to_us = to;
			return 0;
		}
		if (ch->ngaps == GAPS_MAX) {
			g->to_us = to;
			return 0;
		}
	}
	if ((g = reallocarray(ch->gaps, ch->ngaps + 1, sizeof(*g))) == NULL)
		return -1;
	ch->gaps = g;
	g[ch->ngaps].from_us = from;
	g[ch->ngaps].to_us = to;
	ch->ngaps++;
	return 0;
}

/*
 * Every point in [lo, hi] was had (an archive file's span, whose ends
 * are points): the parts of the gaps inside it are filled, a gap around
 * it is cut in two. A part left beside it no wider than rec_us (the
 * recording interval) holds no point: the one between two sessions'
 * files. Returns how many gaps were filled entirely, or -1 when out of
 * memory.
 */
int
archive_gaps_cover(struct tw_channel *ch, int64_t lo, int64_t hi,
    int64_t rec_us)
{
	int64_t min = rec_us > 1 ? rec_us : 1;
	int filled = 0;

	for (int i = 0; i < ch->ngaps; i++) {
		struct tw_gap *g = &ch->gaps[i];
		bool left = lo - g->from_us > min, right = g->to_us - hi > min;

		if (g->to_us <= lo || g->from_us >= hi)
			continue;	/* no point of it inside */
		if (left && right) {
			struct tw_gap *n = reallocarray(ch->gaps,
			    (size_t)ch->ngaps + 1, sizeof(*n));

			if (n == NULL)
				return -1;
			ch->gaps = n;
			g = &ch->gaps[i];
			memmove(g + 1, g, (size_t)(ch->ngaps - i) * sizeof(*g));
			g[1].from_us = hi;
			g->to_us = lo;
			ch->ngaps++;
			i++;
		} else if (left) {
			g->to_us = lo;
		} else if (right) {
			g->from_us = hi;
		} else {
			memmove(g, g + 1, (size_t)(ch->ngaps - i - 1) *
			    sizeof(*g));
			ch->ngaps--;
			i--;
			filled++;
		}
	}
	return filled;
}

/*
 * The point at t, inside a gap, went out: the gap now starts there (a
 * gap's points go out in time order).
 */
void
archive_gap_passed(struct tw_channel *ch, int64_t t)
{
	for (int i = 0; i < ch->ngaps; i++) {
		struct tw_gap *g = &ch->gaps[i];

		if (g->from_us >= t || g->to_us <= t)
			continue;
		g->from_us = t;
		if (g->to_us - t < 2) {
			memmove(g, g + 1, (size_t)(ch->ngaps - i - 1) *
			    sizeof(*g));
			ch->ngaps--;
		}
		return;
	}
}

/* True when a point at t is missing: strictly inside a gap. */
bool
archive_in_gap(const struct tw_channel *ch, int64_t t)
{
	int lo = 0, hi = ch->ngaps;

	while (lo < hi) {		/* the first gap ending after t */
		int mid = (lo + hi) / 2;

		if (ch->gaps[mid].to_us <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ch->ngaps && ch->gaps[lo].from_us < t;
}

/* Every point up to t was had: gaps end there. */
void
archive_gaps_done(struct tw_channel *ch, int64_t t)
{
	int i = 0;

	while (i < ch->ngaps && ch->gaps[i].to_us - 1 <= t)
		i++;
	if (i > 0) {
		memmove(ch->gaps, ch->gaps + i, (size_t)(ch->ngaps - i) *
		    sizeof(*ch->gaps));
		ch->ngaps -= i;
	}
	if (ch->ngaps > 0 && ch->gaps[0].from_us < t)
		ch->gaps[0].from_us = t;
}

/*
 * Adds a sorted list of gaps to another (both sorted): gaps that
 * overlap merge; gaps that only touch stay apart (the live point
 * between them was sent). 0, or -1 when out of memory (nothing moved).
 */
int
archive_gaps_union(struct tw_gap **gaps, int *n, const struct tw_gap *add,
    int nadd)
{
	struct tw_gap *out;
	int i = 0, k = 0, m = 0;

	if (nadd == 0)
		return 0;
	if ((out = calloc((size_t)(*n + nadd), sizeof(*out))) == NULL)
		return -1;
	while (i < *n || k < nadd) {
		const struct tw_gap *g = k == nadd || (i < *n &&
		    (*gaps)[i].from_us <= add[k].from_us) ? &(*gaps)[i++] :
		    &add[k++];

		if (m > 0 && g->from_us < out[m - 1].to_us) {
			if (g->to_us > out[m - 1].to_us)
				out[m - 1].to_us = g->to_us;
		} else
			out[m++] = *g;
	}
	free(*gaps);
	*gaps = out;
	*n = m;
	return 0;
}

static int
gap_cmp(const void *a, const void *b)
{
	const struct tw_gap *x = a, *y = b;

	return x->from_us < y->from_us ? -1 : x->from_us > y->from_us;
}

/*
 * A field of grilld:poller:gaps, "from-to from-to ...", into a set.
 * Pairs that cannot be read are skipped. 0, or -1 when out of memory.
 */
int
archive_gaps_parse(const char *s, struct tw_gapset *set)
{
	struct tw_gap *g = NULL;
	int n = 0, rc;
	long long a, b;
	size_t len;
	int used;

	for (; *s != '\0'; s += len) {
		struct tw_gap *grown;

		s += strspn(s, " ");
		if ((len = strcspn(s, " ")) == 0)
			break;
		if (sscanf(s, "%lld-%lld%n", &a, &b, &used) != 2 ||
		    (size_t)used != len || a < 0 || b - a < 2)
			continue;
		if ((grown = reallocarray(g, (size_t)n + 1, sizeof(*g))) ==
		    NULL) {
			free(g);
			return -1;
		}
		g = grown;
		g[n].from_us = a;
		g[n++].to_us = b;
	}
	if (n == 0)
		return 0;
	qsort(g, (size_t)n, sizeof(*g), gap_cmp);
	rc = archive_gaps_union(&set->g, &set->n, g, n);	/* merges */
	free(g);
	return rc;
}

/* Adds the gap (from, to) to key's set in a map of seen marks. */
int
archive_gapset_add(struct strmap *m, const char *key, int64_t from,
    int64_t to)
{
	struct strmap_entry *e;
	struct tw_gapset *set;
	struct tw_gap g = { from, to };

	if (to - from < 2)
		return 0;
	if ((e = strmap_put(m, key)) == NULL)
		return -1;
	if ((set = e->ptr) == NULL) {
		if ((set = calloc(1, sizeof(*set))) == NULL)
			return -1;
		e->ptr = set;
	}
	return archive_gaps_union(&set->g, &set->n, &g, 1);
}

/* Frees a map of seen marks and the gaps it holds. */
void
archive_seen_free(struct strmap *m)
{
	struct strmap_entry *e;
	size_t i = 0;

	while ((e = strmap_next(m, &i)) != NULL) {
		struct tw_gapset *set = e->ptr;

		if (set != NULL) {
			free(set->g);
			free(set);
			e->ptr = NULL;
		}
	}
	strmap_free(m);
}

/*
 * A channel leaves (its device left, or its document is gone): its marks
 * and gaps go back to p->seen, for it to start from if it comes back.
 */
void
archive_chan_keep(struct poller *p, const struct tw_channel *ch)
{
	char key[TW_KEY_LEN];
	struct strmap_entry *e;
	struct tw_gapset *set;

	archive_bf_key(ch, key, sizeof(key));
	if (ch->bf_us > 0 && (e = strmap_put(&p->seen, key)) != NULL &&
	    ch->bf_us > e->num)
		e->num = ch->bf_us;
	if ((e = strmap_put(&p->seen, ch->key)) == NULL)
		return;
	if (ch->seen_us > e->num)
		e->num = ch->seen_us;
	if ((set = e->ptr) == NULL &&
	    (set = e->ptr = calloc(1, sizeof(*set))) == NULL)
		return;
	free(set->g);
	set->g = NULL;
	set->n = 0;
	if (archive_gaps_union(&set->g, &set->n, ch->gaps, ch->ngaps) == -1)
		log_warnx("%s: out of memory for its gaps", ch->key);
}

/*
 * A channel's gaps, when its seen marks are known (discovery, a lease
 * taken, another poller's marks merged): the durable ones of p->seen
 * added to its own, less what the "@b" mark passed.
 */
void
archive_chan_init(struct poller *p, struct tw_device *d, struct tw_channel *ch)
{
	char key[TW_KEY_LEN];
	struct strmap_entry *e;
	const struct tw_gapset *set;

	archive_bf_key(ch, key, sizeof(key));
	if ((e = strmap_get(&p->seen, key)) != NULL && e->num > ch->bf_us)
		ch->bf_us = e->num;
	if (p->cf->poller.backfill &&
	    (e = strmap_get(&p->seen, ch->key)) != NULL &&
	    (set = e->ptr) != NULL &&
	    archive_gaps_union(&ch->gaps, &ch->ngaps, set->g, set->n) == -1)
		log_warnx("%s: out of memory for its gaps", ch->key);
	if (ch->bf_us > 0)
		archive_gaps_done(ch, ch->bf_us);
	count_gaps(p, d);
}

/*
 * Where the gap a live point at ts_us opens begins, the channel's mark
 * at prev_us (0: never seen), or 0 when it opens none: a gap opens when
 * the jump is longer than the device records, or the channel was never
 * seen (back to its session's start, at most a day).
 */
int64_t
archive_gap_from(struct poller *p, const struct tw_device *d,
    const struct tw_channel *ch, int64_t prev_us, int64_t ts_us)
{
	int64_t rec_us = d->doc.recording_s * 1000000, from = prev_us;

	if (!p->cf->poller.backfill || ts_us <= prev_us)
		return 0;
	if (prev_us == 0) {
		/* No mark: from the session's start, or from when grilld
		 * first polled the account (or the start of a cook going on
		 * then) if that is earlier: a poller that died before the
		 * device's first point, sessions that ended since. At most
		 * a day back. */
		int64_t since = atomic_load(&d->acct->since_us);

		from = d->doc.session_start_ns / 1000 - 1;
		if (since > 0 && (from <= 0 || since < from))
			from = since;
		if (ts_us - from > BACKFILL_FIRST_NS / 1000)
			from = ts_us - BACKFILL_FIRST_NS / 1000;
		if (from <= 0 || from >= ts_us)
			return 0;
	} else if (rec_us > 0 && ts_us - prev_us <= rec_us + rec_us / 2) {
		return 0;		/* nothing recorded in between */
	}
	return ts_us - from < 2 ? 0 : from;
}

/* The live point at to_us went out with the gap (from_us, to_us). */
void
archive_gap_open(struct poller *p, struct tw_device *d, struct tw_channel *ch,
    int64_t from_us, int64_t to_us)
{
	struct tw_gap g = { from_us, to_us };
	int rc;

	/* After a clock step, gaps open below the last one. */
	if (ch->ngaps == 0 || from_us >= ch->gaps[ch->ngaps - 1].from_us)
		rc = archive_gap_add(ch, from_us, to_us);
	else
		rc = archive_gaps_union(&ch->gaps, &ch->ngaps, &g, 1);
	if (rc == 0)
		metric_inc(p->m.gaps_opened);
	count_gaps(p, d);
}

void
archive_free(struct archive_job *j)
{
	if (j == NULL)
		return;
	for (size_t i = 0; i < j->nfiles; i++)
		free(j->files[i].name);
	free(j->files);
	free(j->rows);
	free(j->spans);
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

/* A channel number: "1" as the real files have it, or 1. */
static bool
row_channel(const cJSON *c, int *out)
{
	int64_t n;

	if (cJSON_IsString(c) && util_parse_int(c->valuestring, &n) == 0 &&
	    n >= 1 && n <= 1000) {
		*out = (int)n;
		return true;
	}
	if (cJSON_IsNumber(c) && c->valuedouble >= 1 &&
	    c->valuedouble <= 1000) {
		*out = (int)c->valuedouble;
		return true;
	}
	return false;
}

/*
 * The rows of an archive file: {"readings": [["1", epoch_ms, value,
 * "F"], ...], ...}. Rows of another shape are skipped and counted in
 * *bad. Returns the rows (the caller frees them), sorted by channel and
 * time, and their number in *n, or NULL with *n 0 when the file is not
 * such a document.
 */
struct archive_row *
archive_parse_rows(const char *text, size_t len, size_t *n, size_t *bad)
{
	return archive_parse_file(text, len, n, bad, NULL, NULL);
}

/*
 * Rows further apart than this, or going back, in a file's own order
 * are on two clocks: a span ends (a session records every few seconds,
 * a few minutes at most).
 */
#define SPAN_JUMP_NS		(EMIT_STEP_BACK_US * 1000)

/*
 * Adds the row at ts to the spans: it extends the last one, or (a step
 * between them) starts another. -1 when out of memory.
 */
static int
span_add(struct archive_span **spans, size_t *n, size_t *cap, int64_t ts)
{
	struct archive_span *s = *n > 0 ? &(*spans)[*n - 1] : NULL;

	if (s != NULL && ts >= s->lo_ns && ts <= s->hi_ns + SPAN_JUMP_NS) {
		if (ts > s->hi_ns)
			s->hi_ns = ts;
		return 0;
	}
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 4;

		if ((s = reallocarray(*spans, c, sizeof(*s))) == NULL)
			return -1;
		*spans = s;
		*cap = c;
	}
	(*spans)[*n].lo_ns = (*spans)[*n].hi_ns = ts;
	(*n)++;
	return 0;
}

/*
 * archive_parse_rows(), and when spans is not NULL the file's spans
 * (rows in the file's order, before they are sorted: a step cuts them;
 * the caller frees them) in *spans and their number in *nspans.
 */
struct archive_row *
archive_parse_file(const char *text, size_t len, size_t *n, size_t *bad,
    struct archive_span **spans, size_t *nspans)
{
	cJSON *root = cJSON_ParseWithLength(text ? text : "", len);
	const cJSON *rows, *row;
	struct archive_row *out = NULL;
	size_t cap, scap = 0;

	*n = *bad = 0;
	if (spans != NULL) {
		*spans = NULL;
		*nspans = 0;
	}
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
		const cJSON *t = cJSON_GetArrayItem(row, 1);
		const cJSON *v = cJSON_GetArrayItem(row, 2);
		const cJSON *u = cJSON_GetArrayItem(row, 3);
		struct archive_row *r = &out[*n];

		if (!cJSON_IsArray(row) || !row_channel(cJSON_GetArrayItem(row,
		    0), &r->channel) || !cJSON_IsNumber(t) ||
		    t->valuedouble < 1 || t->valuedouble > 9.2e12 ||
		    (v != NULL && !cJSON_IsNumber(v) && !cJSON_IsNull(v))) {
			(*bad)++;
			continue;
		}
		r->ts_ns = (int64_t)t->valuedouble * NS_PER_MS;
		r->has_value = cJSON_IsNumber(v);
		r->value = r->has_value ? v->valuedouble : 0;
		r->unit = cJSON_IsString(u) ? fs_unit(u->valuestring) : 0;
		if (spans != NULL && span_add(spans, nspans, &scap,
		    r->ts_ns) == -1) {
			free(*spans);
			*spans = NULL;
			*nspans = 0;
			free(out);
			cJSON_Delete(root);
			*n = 0;
			return NULL;
		}
		(*n)++;
	}
	cJSON_Delete(root);
	qsort(out, *n, sizeof(*out), row_cmp);
	return out;
}

/*
 * An archive document: its file's name, its span and when it was made.
 * 0, or -1 when it names no file. An unknown start is 0, an unknown end
 * INT64_MAX (the file is fetched to see).
 */
int
archive_parse_doc(const cJSON *doc, char *name, size_t len, int64_t *start,
    int64_t *end, int64_t *created)
{
	const cJSON *f = fs_fields(doc);

	if (fs_string(fs_field(f, "filename"), name, len) != FS_OK ||
	    name[0] == '\0')
		return -1;
	if (fs_time(fs_field(f, "start"), start) != FS_OK)
		*start = 0;
	if (fs_time(fs_field(f, "end"), end) != FS_OK)
		*end = INT64_MAX;
	if (fs_time(fs_field(f, "createdOn"), created) != FS_OK)
		*created = 0;
	return 0;
}

/* ---- finishing ---- */

/* Gaps no archive will fill: given up, counted with why. */
static void
give_up_old(struct poller *p, struct tw_device *d, bool error)
{
	int64_t limit_us = (util_now_ns() - BACKFILL_GIVE_UP_NS) / 1000;

	for (int i = 0; i < d->nch; i++) {
		struct tw_channel *ch = &d->ch[i];
		int n = 0;

		while (n < ch->ngaps && ch->gaps[n].to_us < limit_us)
			n++;
		if (n == 0)
			continue;
		log_warnx("%s: device %s: channel %d: %d gaps between uploads "
		    "older than %lld h are in no archive%s; given up",
		    d->acct->email, d->serial, ch->number, n,
		    (long long)(BACKFILL_GIVE_UP_NS / NS_PER_S / 3600),
		    error ? " that can be read" : "");
		for (int k = 0; k < n; k++)
			metric_inc(error ? p->m.gaps_given_up_error :
			    p->m.gaps_given_up_no_archive);
		archive_gaps_done(ch, ch->gaps[n - 1].to_us);
	}
	count_gaps(p, d);
}

static void
finish(struct poller *p, struct tw_device *d, bool ok)
{
	struct archive_job *j = d->job;
	int64_t now = util_mono_ms(), wait;

	if (ok) {
		metric_inc(p->m.backfills_ok);
		d->bf_failures = 0;
		if (j != NULL && !j->blocked) {
			d->archive_seen_ns = j->last_archive_ns;
			d->archive_listed = true;
		}
		d->bf_retry_ms = now + (j != NULL && j->blocked ? 1000 : 0);
	} else {
		metric_inc(p->m.backfills_failed);
		wait = BACKFILL_RETRY_MS << (d->bf_failures < 5 ?
		    d->bf_failures : 5);
		d->bf_failures++;
		d->bf_retry_ms = now + (wait < BACKFILL_RETRY_MAX_MS ? wait :
		    BACKFILL_RETRY_MAX_MS);
	}
	if (!d->removed)
		give_up_old(p, d, !ok);
	archive_free(j);
	d->job = NULL;
	device_unref(d);	/* the job's own */
}

static void	fetch_next(struct poller *, struct tw_device *);
static void	list_page(struct poller *, struct tw_device *, const char *);

static struct tw_channel *
channel_by_number(struct tw_device *d, int n)
{
	for (int i = 0; i < d->nch; i++)
		if (d->ch[i].number == n)
			return &d->ch[i];
	return NULL;
}

/*
 * Keeps a file's rows that are inside a gap of their channel, and its
 * spans, for the end of the job. A file whose rows are on one clock
 * (it starts before it ends) covers its whole session: its spans reach
 * its start and its end. -1 when out of memory.
 */
static int
job_take(struct archive_job *j, struct tw_device *d,
    const struct archive_row *rows, size_t n, struct archive_span *spans,
    size_t nspans, const struct archive_file *f)
{
	struct tw_channel *ch;
	struct archive_span whole = { f->start_ns, f->end_ns };

	if (f->start_ns <= f->end_ns && f->end_ns != INT64_MAX) {
		if (nspans == 0 && f->start_ns > 0) {
			spans = &whole;
			nspans = 1;
		} else if (nspans > 0) {
			if (f->start_ns > 0 && f->start_ns < spans[0].lo_ns)
				spans[0].lo_ns = f->start_ns;
			if (f->end_ns > spans[nspans - 1].hi_ns)
				spans[nspans - 1].hi_ns = f->end_ns;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if ((ch = channel_by_number(d, rows[i].channel)) == NULL ||
		    !archive_in_gap(ch, rows[i].ts_ns / 1000))
			continue;
		if (j->nrows == j->rcap) {
			size_t c = j->rcap ? j->rcap * 2 : 64;
			struct archive_row *a = reallocarray(j->rows, c,
			    sizeof(*a));

			if (a == NULL)
				return -1;
			j->rows = a;
			j->rcap = c;
		}
		j->rows[j->nrows++] = rows[i];
	}
	for (size_t i = 0; i < nspans; i++) {
		if (j->nspans == j->scap) {
			size_t c = j->scap ? j->scap * 2 : 8;
			struct archive_span *a = reallocarray(j->spans, c,
			    sizeof(*a));

			if (a == NULL)
				return -1;
			j->spans = a;
			j->scap = c;
		}
		j->spans[j->nspans++] = spans[i];
	}
	return 0;
}

/*
 * Every file is in: the rows inside each channel's gap, in time order,
 * as backfilled points, each shrinking its gap; then the gaps' parts
 * inside the files' spans are filled.
 */
static void
job_emit(struct poller *p, struct tw_device *d)
{
	struct archive_job *j = d->job;
	struct tw_channel *ch;

	qsort(j->rows, j->nrows, sizeof(*j->rows), row_cmp);
	for (size_t i = 0; i < j->nrows && !j->blocked; i++) {
		const struct archive_row *r = &j->rows[i];
		struct emit_point pt;

		if ((ch = channel_by_number(d, r->channel)) == NULL ||
		    !archive_in_gap(ch, r->ts_ns / 1000))
			continue;	/* a row twice, or its gap given up */
		pt.ts_ns = r->ts_ns;
		pt.has_value = r->has_value;
		pt.value = r->value;
		pt.unit = r->unit;
		pt.status = r->has_value ? PROBE_UNKNOWN : PROBE_NO_PROBE;
		if (emit_point(p, d, ch, &pt, true) == -1)
			j->blocked = true;
		else
			archive_gap_passed(ch, r->ts_ns / 1000);
	}
	if (j->blocked)
		return;
	/* In a span, nothing more will come. */
	for (int i = 0; i < d->nch; i++)
		for (size_t k = 0; k < j->nspans; k++) {
			int filled = archive_gaps_cover(&d->ch[i],
			    j->spans[k].lo_ns / 1000, j->spans[k].hi_ns / 1000,
			    d->doc.recording_s * 1000000);

			if (filled == -1)
				log_warnx("%s: out of memory for its gaps",
				    d->ch[i].key);
			for (; filled > 0; filled--)
				metric_inc(p->m.gaps_filled);
		}
	count_gaps(p, d);
}

static void
file_done(struct fetch_req *r, void *arg)
{
	struct tw_device *d = arg;
	struct poller *p = d->acct->poller;
	struct archive_job *j = d->job;
	struct archive_row *rows;
	struct archive_span *spans;
	size_t n, bad, nspans;
	int rc;

	if (d->removed || !d->acct->active) {
		finish(p, d, false);
		goto out;
	}
	if (r->result != FETCH_DONE || r->status != 200 || (rows =
	    archive_parse_file(r->resp.data, r->resp.len, &n, &bad, &spans,
	    &nspans)) == NULL) {
		log_limited(&p->archive_log, 10000, LOG_LVL_WARN, "%s: device "
		    "%s: archive file: %s", d->acct->email, d->serial,
		    r->result != FETCH_DONE ? r->errstr : r->status != 200 ?
		    "unexpected status" : "malformed file");
		finish(p, d, false);
		goto out;
	}
	if (bad > 0)
		log_limited(&p->archive_log, 10000, LOG_LVL_WARN, "%s: device "
		    "%s: archive file: skipped %zu malformed rows",
		    d->acct->email, d->serial, bad);
	rc = job_take(j, d, rows, n, spans, nspans, &j->files[j->next - 1]);
	free(rows);
	free(spans);
	if (rc == -1) {
		log_warnx("%s: device %s: out of memory for its archive rows",
		    d->acct->email, d->serial);
		finish(p, d, false);
	} else {
		fetch_next(p, d);
	}
out:
	device_unref(d);
}

static void
fetch_next(struct poller *p, struct tw_device *d)
{
	struct archive_job *j = d->job;
	struct fetch_req *r;
	char *name;

	if (j->next >= j->nfiles) {
		job_emit(p, d);
		finish(p, d, true);
		return;
	}
	if ((name = curl_easy_escape(NULL, j->files[j->next].name, 0)) ==
	    NULL) {
		finish(p, d, false);
		return;
	}
	j->next++;
	r = fetch_req_new(TW_EP_STORAGE, d->acct, util_strdupf("%s/v0/b/%s/o/%s"
	    "?alt=media", p->cf->thermoworks.storage_url, p->bucket, name),
	    file_done, d);
	curl_free(name);
	if (r == NULL) {
		finish(p, d, false);
		return;
	}
	r->deadline_ms = util_mono_ms() + BACKFILL_REQ_MS;
	d->refs++;
	fetch_submit(&p->fetch, r);
}

/* The lowest time a file may hold: a step back ends it before it starts. */
static int64_t
file_lo(const struct archive_file *f)
{
	return f->end_ns < f->start_ns ? f->end_ns : f->start_ns;
}

static int
file_cmp(const void *a, const void *b)
{
	int64_t x = file_lo(a), y = file_lo(b);

	return x < y ? -1 : x > y;
}

/*
 * Whether a file holding points in [lo, hi] (microseconds) may fill a
 * gap of one of the device's channels: only those are fetched, not
 * every file between the first gap and the last.
 */
static bool
file_wanted(const struct tw_device *d, int64_t lo, int64_t hi)
{
	for (int i = 0; i < d->nch; i++) {
		const struct tw_channel *ch = &d->ch[i];
		int a = 0, b = ch->ngaps;

		while (a < b) {		/* the first gap ending after lo */
			int mid = (a + b) / 2;

			if (ch->gaps[mid].to_us <= lo)
				a = mid + 1;
			else
				b = mid;
		}
		if (a < ch->ngaps && ch->gaps[a].from_us < hi)
			return true;
	}
	return false;
}

/* Keeps an archive document when its span overlaps a gap. */
static int
take_doc(struct archive_job *j, const cJSON *doc)
{
	struct archive_file *af;
	char name[512];
	int64_t start, end, created;

	if (archive_parse_doc(doc, name, sizeof(name), &start, &end,
	    &created) == -1)
		return -1;
	/*
	 * A file that ends before it starts spans a device clock stepped
	 * back: its rows lie between its end and its start.
	 */
	if ((start <= end ? end : start) <= j->lower_ns ||
	    (start <= end ? start : end) > j->upper_ns ||
	    !file_wanted(j->dev, (start <= end ? start : end) / 1000,
	    end == INT64_MAX ? INT64_MAX : (start <= end ? end : start) /
	    1000 + 1))
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
list_done(struct fetch_req *r, void *arg)
{
	struct tw_device *d = arg;
	struct poller *p = d->acct->poller;
	struct archive_job *j = d->job;
	const cJSON *docs, *doc, *tok;
	cJSON *root = NULL;

	if (d->removed || !d->acct->active) {
		finish(p, d, false);
		goto out;
	}
	if (r->result == FETCH_DONE && r->status == 404) {
		finish(p, d, true);		/* no archives at all */
		goto out;
	}
	if (r->result != FETCH_DONE || r->status != 200 || (root =
	    cJSON_ParseWithLength(r->resp.data, r->resp.len)) == NULL ||
	    !cJSON_IsObject(root)) {
		log_limited(&p->archive_log, 10000, LOG_LVL_WARN, "%s: device "
		    "%s: archive list: %s", d->acct->email, d->serial,
		    r->result != FETCH_DONE ? r->errstr : r->status != 200 ?
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
	struct fetch_req *r;
	char *tok = NULL;

	if (token != NULL && (tok = curl_easy_escape(NULL, token, 0)) == NULL) {
		finish(p, d, false);
		return;
	}
	snprintf(path, sizeof(path), "/devices/%s/archive", d->esc_serial);
	r = discovery_req(p, d->acct, path, list_done, d);
	if (r != NULL) {
		char *url = util_strdupf("%s&orderBy=createdOn%s%s", r->url,
		    tok ? "&pageToken=" : "", tok ? tok : "");

		free(r->url);
		r->url = url;
		if (url == NULL) {
			fetch_req_free(r);
			r = NULL;
		}
	}
	curl_free(tok);
	if (r == NULL) {
		finish(p, d, false);
		return;
	}
	r->deadline_ms = util_mono_ms() + BACKFILL_REQ_MS;
	d->refs++;
	fetch_submit(&p->fetch, r);
}

/*
 * After a poll: a device with a gap lists its archives when a new one
 * was made since it last looked (or never looked), beside the poll
 * cycle. Old gaps are given up meanwhile.
 */
void
archive_after_poll(struct poller *p, struct tw_device *d)
{
	struct archive_job *j;
	int64_t lower = INT64_MAX, upper = 0, now = util_mono_ms();

	if (d->ngaps == 0 || d->job != NULL || d->removed ||
	    !d->acct->active || !p->cf->poller.backfill)
		return;
	give_up_old(p, d, false);
	if (d->ngaps == 0 || now < d->bf_retry_ms)
		return;
	if (d->archive_listed && (d->doc.last_archive_ns != 0 ?
	    d->doc.last_archive_ns == d->archive_seen_ns :
	    now - d->bf_retry_ms < BACKFILL_RELIST_MS))
		return;		/* nothing new archived since */
	for (int i = 0; i < d->nch; i++) {
		const struct tw_channel *ch = &d->ch[i];

		if (ch->ngaps == 0)
			continue;
		if (ch->gaps[0].from_us * 1000 < lower)
			lower = ch->gaps[0].from_us * 1000;
		if (ch->gaps[ch->ngaps - 1].to_us * 1000 > upper)
			upper = ch->gaps[ch->ngaps - 1].to_us * 1000;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->dev = d;
	j->lower_ns = lower;
	j->upper_ns = upper;
	j->last_archive_ns = d->doc.last_archive_ns;
	d->job = j;
	d->refs++;		/* the job's own, until finish() */
	list_page(p, d, NULL);
}

/* The device leaves: its backfill stops where it is. */
void
archive_forget(struct poller *p, struct tw_device *d)
{
	for (int i = 0; i < d->nch; i++)
		archive_chan_keep(p, &d->ch[i]);
	p->ngaps -= d->ngaps;
	d->ngaps = 0;
	metric_set(p->m.gaps_open, p->ngaps);
	for (int i = 0; i < d->nch; i++)
		archive_chan_free(&d->ch[i]);
}
