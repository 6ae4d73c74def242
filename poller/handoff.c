/*
 * The hand-off: readings from the main thread to the Redis stream
 * `readings` (docs/architecture.md: fields v=1, r=reading JSON), through
 * a bounded queue and one thread that owns the Redis connection and the
 * spool.
 *
 * Each reading goes in with one script call that appends it to the
 * stream and moves its channel's mark in `poller:seen` in the same
 * step, and that skips it when the mark is already at or past its time.
 * So a reading reaches the stream once, whether it comes from the queue
 * or from the spool, from this poller or from one that took over, and
 * whether or not a reply was lost with a connection.
 *
 * While Redis is unreachable, batches are appended to the spool (and
 * synced, once per batch). While the spool holds anything, new readings
 * are appended behind it, so order is kept; when Redis answers again the
 * spool is replayed from its start, then emptied, and readings go
 * straight to Redis again. A batch that can go nowhere (Redis down and
 * the disk failing) stays here and the queue fills: the main thread then
 * stops emitting, and nothing is lost (its seen marks did not move).
 *
 * The queue holds at most HANDOFF_QUEUE_MAX readings and
 * HANDOFF_BYTES_MAX bytes; handoff_push() refuses beyond. The thread
 * also keeps the leases (lease.c) and writes the device registry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poller.h"
#include "rds.h"
#include "rkeys.h"

#define HANDOFF_QUEUE_MAX	16384
#define HANDOFF_BYTES_MAX	(8 * 1024 * 1024)
#define HANDOFF_BATCH		512
#define HANDOFF_IDLE_MS		200
#define HANDOFF_RETRY_MS	1000
#define HANDOFF_FULL_MS		200	/* again, after the stream was full */
#define HANDOFF_FLUSH_MS	1000
#define HANDOFF_STOP_MS		5000
#define HANDOFF_REPLAY_BATCHES	4	/* per turn, while catching up */

/* One call of rkey_emit_lua per batch (common/rkeys.c says how). */

struct handoff {
	struct poller	*p;
	pthread_t	 thread;
	bool		 started;

	pthread_mutex_t	 mu;		/* guards what follows */
	pthread_cond_t	 cv;
	struct handoff_item *q;		/* ring */
	size_t		 head, n, bytes;
	bool		 stopping;
	struct strmap	**seen_box;	/* seen marks for the main thread */
	size_t		 nseen;

	/* The thread's own. */
	struct handoff_item batch[HANDOFF_BATCH];
	size_t		 nbatch;
	struct spool	 spool;
	bool		 replaying;
	struct rds	*db;
	char		 sha[48];
	char		 maxlen[24];
	int64_t		 lease_at, flush_at, retry_at;
	struct log_limit err_log;
};

static void
item_free(struct handoff_item *it)
{
	free(it->json);
	it->json = NULL;
}

/*
 * Takes a reading (the buffer's memory, on success) for delivery. -1
 * when the queue is full or stopping: the caller keeps its seen mark.
 */
int
handoff_push(struct poller *p, const char *key, int64_t ts_us, int64_t gap_us,
    const struct tw_gap *xgap, bool reset, struct buf *b)
{
	struct handoff *h = p->handoff;
	struct handoff_item *it;

	pthread_mutex_lock(&h->mu);
	if (h->stopping || h->n == HANDOFF_QUEUE_MAX ||
	    h->bytes + b->len > HANDOFF_BYTES_MAX) {
		pthread_mutex_unlock(&h->mu);
		return -1;
	}
	it = &h->q[(h->head + h->n) % HANDOFF_QUEUE_MAX];
	util_strlcpy(it->key, key, sizeof(it->key));
	it->ts_us = ts_us;
	it->gap_us = gap_us;
	it->xgap = *xgap;
	it->reset = reset;
	it->len = b->len;
	it->json = buf_steal(b);
	h->n++;
	h->bytes += it->len;
	if (h->n == 1 || h->n % HANDOFF_BATCH == 0)
		pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	return 0;
}

bool
handoff_throttled(struct poller *p)
{
	return atomic_load(&p->spool_full);
}

bool
handoff_accepting(struct poller *p)
{
	return (atomic_load(&p->redis_up) && !atomic_load(&p->stream_full)) ||
	    (atomic_load(&p->spool_ok) && !atomic_load(&p->spool_full));
}

/* Seen marks loaded by lease.c, for the main thread (map taken). */
void
handoff_post_seen(struct poller *p, struct strmap *m)
{
	struct handoff *h = p->handoff;
	struct strmap **box;

	pthread_mutex_lock(&h->mu);
	if ((box = reallocarray(h->seen_box, h->nseen + 1,
	    sizeof(*box))) != NULL) {
		h->seen_box = box;
		h->seen_box[h->nseen++] = m;
		m = NULL;
	}
	pthread_mutex_unlock(&h->mu);
	if (m != NULL) {
		archive_seen_free(m);
		free(m);
	}
}

/* The next posted seen map, or NULL; the caller frees it. */
struct strmap *
handoff_take_seen(struct poller *p)
{
	struct handoff *h = p->handoff;
	struct strmap *m = NULL;

	pthread_mutex_lock(&h->mu);
	if (h->nseen > 0) {
		m = h->seen_box[0];
		memmove(h->seen_box, h->seen_box + 1, --h->nseen *
		    sizeof(*h->seen_box));
	}
	pthread_mutex_unlock(&h->mu);
	return m;
}

/* ---- Redis ---- */

static int
load_script(struct handoff *h)
{
	redisReply *r = rds_command(h->db, "SCRIPT LOAD %s",
	    rkey_emit_lua);
	int rc = -1;

	if (r != NULL && r->type == REDIS_REPLY_STRING && r->len < 48) {
		util_strlcpy(h->sha, r->str, sizeof(h->sha));
		rc = 0;
	} else if (r != NULL) {
		log_limited(&h->err_log, 10000, LOG_LVL_WARN, "redis %s: "
		    "SCRIPT LOAD: %s", rds_addr(h->db), r->type ==
		    REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	}
	if (r != NULL)
		freeReplyObject(r);
	return rc;
}

/* The stream at its bound, or with room again: said once, published. */
static void
set_full(struct handoff *h, bool full)
{
	struct poller *p = h->p;

	if (full)
		metric_inc(p->m.stream_refused);
	if (full == atomic_load(&p->stream_full))
		return;
	atomic_store(&p->stream_full, full);
	metric_set(p->m.stream_full, full ? 1 : 0);
	if (full)
		log_warnx("redis: %s holds %s entries (ingest.stream_max): "
		    "ingest is behind; readings wait in the spool until it "
		    "catches up", p->k_readings, h->maxlen);
	else
		log_info("redis: %s has room again", p->k_readings);
}

/*
 * With redis.wait_replicas, readings count as handed off only once that
 * many replicas hold them: short of it they go to the spool as if Redis
 * had failed, and the replay sends them again (the script skips what a
 * replica did get, by the seen marks that travel with the XADD).
 */
static bool
replicated(struct handoff *h)
{
	const struct grilld_conf *cf = h->p->cf;
	int want = (int)cf->redis.wait_replicas, got;

	if (want == 0 ||
	    (got = rds_wait(h->db, want, cf->redis.wait_timeout)) >= want)
		return true;
	log_limited(&h->err_log, 10000, LOG_LVL_WARN, "redis %s: readings on "
	    "%d of %d replicas after %lld ms%s%s: spooled, to send again",
	    rds_addr(h->db), got < 0 ? 0 : got, want,
	    (long long)cf->redis.wait_timeout, got < 0 ? ": " : "",
	    got < 0 ? h->db->errstr : "");
	return false;
}

/*
 * Sends items with the script, in one call. Returns how many were taken
 * (appended or found there already), from the first on; the rest are to
 * be sent again or spooled. A stream at its bound takes fewer than n.
 */
static size_t
send_items(struct handoff *h, const struct handoff_item *it, size_t n)
{
	struct poller *p = h->p;
	const char **argv;
	size_t *lens, i, k = 0, done = 0;
	char (*ts)[2][64], max[24], cutoff[24];
	redisReply *r;

	if (n == 0 || (h->sha[0] == '\0' && load_script(h) == -1))
		return 0;
	snprintf(max, sizeof(max), "%lld", (long long)(util_now_ns() / 1000 +
	    p->cf->ingest.future_skew * 1000));
	snprintf(cutoff, sizeof(cutoff), "%lld", (long long)((util_now_ns() -
	    BACKFILL_GIVE_UP_NS) / 1000));
	argv = calloc(9 + 4 * n, sizeof(*argv));
	lens = calloc(9 + 4 * n, sizeof(*lens));
	ts = calloc(n, sizeof(*ts));
	if (argv == NULL || lens == NULL || ts == NULL)
		goto out;
	argv[k++] = "EVALSHA";
	argv[k++] = h->sha;
	argv[k++] = "3";
	argv[k++] = p->k_readings;
	argv[k++] = p->k_seen;
	argv[k++] = p->k_gaps;
	argv[k++] = h->maxlen;
	argv[k++] = max;
	argv[k++] = cutoff;
	for (i = 0; i < k; i++)
		lens[i] = strlen(argv[i]);
	for (i = 0; i < n; i++) {
		snprintf(ts[i][0], sizeof(ts[i][0]), "%s%lld",
		    it[i].reset ? "-" : "", (long long)it[i].ts_us);
		if (it[i].xgap.to_us > 0)
			snprintf(ts[i][1], sizeof(ts[i][1]), "%lld %lld-%lld",
			    (long long)it[i].gap_us,
			    (long long)it[i].xgap.from_us,
			    (long long)it[i].xgap.to_us);
		else
			snprintf(ts[i][1], sizeof(ts[i][1]), "%lld",
			    (long long)it[i].gap_us);
		argv[k] = it[i].key;
		lens[k++] = strlen(it[i].key);
		argv[k] = ts[i][0];
		lens[k++] = strlen(ts[i][0]);
		argv[k] = ts[i][1];
		lens[k++] = strlen(ts[i][1]);
		argv[k] = it[i].json;
		lens[k++] = it[i].len;
	}
	if ((r = rds_commandargv(h->db, (int)k, argv, lens)) == NULL)
		goto out;	/* the connection went */
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER &&
	    r->element[1]->type == REDIS_REPLY_INTEGER &&
	    r->element[1]->integer >= 0 && (size_t)r->element[1]->integer <= n) {
		done = (size_t)r->element[1]->integer;
		metric_add(p->m.to_redis, r->element[0]->integer);
		metric_add(p->m.duplicates, (double)done -
		    (double)r->element[0]->integer);
		set_full(h, done < n);
	} else if (r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "NOSCRIPT", 8) == 0) {
		h->sha[0] = '\0';	/* Redis lost it: load it again */
	} else {
		log_limited(&h->err_log, 10000, LOG_LVL_WARN, "redis %s: "
		    "XADD %s: %s", rds_addr(h->db), p->k_readings,
		    r->type == REDIS_REPLY_ERROR ? r->str :
		    "unexpected reply");
	}
	freeReplyObject(r);
out:
	free(argv);
	free(lens);
	free(ts);
	if (done > 0 && !replicated(h))
		return 0;
	return done;
}

/* ---- the spool ---- */

/*
 * Appends items to the spool and syncs them. Returns how many are safely
 * there, from the first: when the disk fills in the middle, those before
 * stay (synced) and only the rest waits, so no reading is spooled twice;
 * when the sync fails, none of the batch is known to be on disk and it
 * is taken back out.
 */
static size_t
spool_items(struct handoff *h, const struct handoff_item *it, size_t n)
{
	struct buf rec;
	int64_t size0 = h->spool.size, records0 = h->spool.records;
	size_t done = 0;
	int saved = 0;

	buf_init(&rec);
	for (; done < n; done++) {
		buf_reset(&rec);
		if (buf_printf(&rec, "%s\t%s%lld", it[done].key,
		    it[done].reset ? "-" : "", (long long)it[done].ts_us) == -1 ||
		    ((it[done].gap_us > 0 || it[done].xgap.to_us > 0) &&
		    buf_printf(&rec, "\t%lld", (long long)it[done].gap_us) ==
		    -1) ||
		    (it[done].xgap.to_us > 0 && buf_printf(&rec, "\t%lld-%lld",
		    (long long)it[done].xgap.from_us,
		    (long long)it[done].xgap.to_us) == -1) ||
		    buf_puts(&rec, "\n") == -1 ||
		    buf_append(&rec, it[done].json, it[done].len) == -1 ||
		    spool_append(&h->spool, rec.data, rec.len) == -1) {
			saved = errno;
			break;
		}
	}
	buf_free(&rec);
	if (done > 0 && spool_sync(&h->spool) == -1) {
		saved = errno;
		if (spool_undo(&h->spool, size0, records0) == -1)
			log_warn("spool %s: cannot take back an unsynced batch",
			    h->spool.path);
		done = 0;
	}
	/* Readiness says whether the spool takes writes, not whether it
	 * opened once (a full disk fails it long after). */
	atomic_store(&h->p->spool_ok, done == n);
	if (done < n)
		log_limited(&h->err_log, 10000, LOG_LVL_WARN, "spool %s: "
		    "cannot write: %s; holding %zu readings", h->spool.path,
		    strerror(saved), n - done);
	metric_add(h->p->m.to_spool, done);
	return done;
}

/*
 * "serial/channel\tts_us[\tgap_us[\tfrom-to]]\n{json}" back into an item
 * (json borrowed); a negative time is a reading after the device clock
 * went back, gap_us the start of the gap the reading ends (records of
 * older versions have none), from-to the other gap of a clock step.
 */
int
handoff_parse_record(const char *rec, size_t len, struct handoff_item *it)
{
	const char *tab = memchr(rec, '\t', len), *nl;
	char num[80], *gap, *x;
	long long a, b;
	int used;
	size_t klen;

	if (tab == NULL || (klen = tab - rec) == 0 || klen >= sizeof(it->key))
		return -1;
	if ((nl = memchr(tab, '\n', len - klen)) == NULL ||
	    (size_t)(nl - tab - 1) >= sizeof(num))
		return -1;
	memcpy(it->key, rec, klen);
	it->key[klen] = '\0';
	memcpy(num, tab + 1, nl - tab - 1);
	num[nl - tab - 1] = '\0';
	it->gap_us = 0;
	it->xgap.from_us = it->xgap.to_us = 0;
	if ((gap = strchr(num, '\t')) != NULL) {
		*gap++ = '\0';
		if ((x = strchr(gap, '\t')) != NULL) {
			*x++ = '\0';
			if (sscanf(x, "%lld-%lld%n", &a, &b, &used) != 2 ||
			    (size_t)used != strlen(x) || a < 0 || b - a < 2)
				return -1;
			it->xgap.from_us = a;
			it->xgap.to_us = b;
		}
		if (util_parse_int(gap, &it->gap_us) == -1 || it->gap_us < 0)
			return -1;
	}
	if (util_parse_int(num, &it->ts_us) == -1 || it->ts_us == 0)
		return -1;
	if ((it->reset = it->ts_us < 0))
		it->ts_us = -it->ts_us;
	it->json = (char *)(uintptr_t)(nl + 1);
	it->len = len - (nl + 1 - rec);
	return it->len > 0 ? 0 : -1;
}

/*
 * Replays one batch from the head of the spool to Redis; the spool is
 * emptied when all of it went. A record that is no reading (it passed
 * its CRC, so a bug wrote it) is dropped with a log line.
 */
static void
replay(struct handoff *h)
{
	struct handoff_item items[HANDOFF_BATCH];
	struct buf recs[HANDOFF_BATCH];
	int64_t next[HANDOFF_BATCH], off = spool_head(&h->spool);
	size_t n, done;
	int rc = 1;

	for (n = 0; n < HANDOFF_BATCH; n++) {
		buf_init(&recs[n]);
		if ((rc = spool_read(&h->spool, off, &recs[n], &next[n])) !=
		    1)
			break;
		if (handoff_parse_record(recs[n].data, recs[n].len,
		    &items[n]) == -1) {
			if (n > 0)
				break;		/* send those before it first */
			log_warnx("spool %s: the record at offset %lld is no "
			    "reading; dropped", h->spool.path,
			    (long long)off);
			spool_consumed(&h->spool, next[n]);
			buf_free(&recs[n]);
			rc = 1;
			goto out;
		}
		off = next[n];
	}
	if (n < HANDOFF_BATCH)
		buf_free(&recs[n]);	/* the one that was not taken */
	if (rc == -1 && n == 0) {
		spool_cut(&h->spool, "damaged record");
		goto out;
	}
	done = n > 0 ? send_items(h, items, n) : 0;
	if (done > 0 && !h->replaying) {
		h->replaying = true;
		log_info("spool %s: Redis is back; replaying %lld readings",
		    h->spool.path, (long long)h->spool.records);
	}
	for (size_t i = 0; i < done; i++)
		spool_consumed(&h->spool, next[i]);
	if (done > 0 && spool_save_head(&h->spool) == -1)
		log_limited(&h->err_log, 10000, LOG_LVL_WARN, "spool %s: "
		    "cannot keep the replay's place: %s (a restart sends "
		    "again what was replayed)", h->spool.path, strerror(errno));
	metric_add(h->p->m.replayed, done);
	if (done < n)
		h->retry_at = util_mono_ms() + (atomic_load(&h->p->stream_full) ?
		    HANDOFF_FULL_MS : HANDOFF_RETRY_MS);
out:
	for (size_t i = 0; i < n; i++)
		buf_free(&recs[i]);
	if (!spool_empty(&h->spool) && spool_head(&h->spool) -
	    SPOOL_HDR_LEN >= h->spool.max && spool_compact(&h->spool) == -1)
		log_limited(&h->err_log, 10000, LOG_LVL_WARN, "spool %s: "
		    "cannot compact it: %s", h->spool.path, strerror(errno));
	if (spool_empty(&h->spool)) {
		if (spool_reset(&h->spool) == -1)
			log_warn("spool %s: cannot empty it", h->spool.path);
		else if (h->replaying)
			log_info("spool %s: replayed; readings go straight "
			    "to Redis again", h->spool.path);
		h->replaying = false;
	}
}

/*
 * Sends or spools the batch; what could go nowhere stays for later.
 * While the spool holds older readings the batch may only join it, so
 * Redis sees them in order; if that fails (disk full) the batch waits
 * without a back-off, for the replay that empties the spool paces it.
 */
static void
deliver(struct handoff *h)
{
	size_t done = 0;
	bool behind = !spool_empty(&h->spool);

	if (!behind)
		done = send_items(h, h->batch, h->nbatch);
	if (done < h->nbatch)
		done += spool_items(h, h->batch + done, h->nbatch - done);
	for (size_t i = 0; i < done; i++)
		item_free(&h->batch[i]);
	memmove(h->batch, h->batch + done, (h->nbatch - done) *
	    sizeof(*h->batch));
	h->nbatch -= done;
	if (h->nbatch > 0 && !behind)
		h->retry_at = util_mono_ms() + (atomic_load(&h->p->stream_full) ?
		    HANDOFF_FULL_MS : HANDOFF_RETRY_MS);
}

static void
publish(struct handoff *h)
{
	struct poller *p = h->p;
	int64_t bytes = spool_pending(&h->spool);
	size_t queued;

	pthread_mutex_lock(&h->mu);
	queued = h->n;
	pthread_mutex_unlock(&h->mu);
	atomic_store(&p->redis_up, rds_connected(h->db));
	atomic_store(&p->spool_bytes, bytes);
	atomic_store(&p->spool_full, spool_full(&h->spool));
	metric_set(p->m.spool_bytes, bytes);
	metric_set(p->m.spool_records, h->spool.records);
	metric_set(p->m.queue_len, queued + h->nbatch);
}

static void *
handoff_main(void *arg)
{
	struct handoff *h = arg;
	struct poller *p = h->p;
	int64_t now, stop_at = 0, lease_every = p->cf->poller.lease_ttl / 3;
	size_t queued;
	bool stopping;

	for (;;) {
		pthread_mutex_lock(&h->mu);
		if (h->n == 0 && !h->stopping)
			util_cond_wait_ms(&h->cv, &h->mu, HANDOFF_IDLE_MS);
		while (h->n > 0 && h->nbatch < HANDOFF_BATCH) {
			h->batch[h->nbatch++] = h->q[h->head];
			h->bytes -= h->q[h->head].len;
			h->head = (h->head + 1) % HANDOFF_QUEUE_MAX;
			h->n--;
		}
		stopping = h->stopping;
		queued = h->n;
		pthread_mutex_unlock(&h->mu);

		now = util_mono_ms();
		if (stopping && stop_at == 0)
			stop_at = now + HANDOFF_STOP_MS;
		if (now >= h->lease_at) {
			lease_tick(p, h->db, now);
			h->lease_at = now + lease_every;
		} else
			lease_expire(p);
		lease_since_flush(p, h->db);
		if (h->nbatch > 0 && now >= h->retry_at)
			deliver(h);
		/*
		 * Faster than readings come in, so that the spool drains;
		 * also while a batch is held because the spool cannot take
		 * it, or a full disk would stop both for good.
		 */
		for (int k = 0; k < HANDOFF_REPLAY_BATCHES &&
		    !spool_empty(&h->spool) && now >= h->retry_at && !stopping;
		    k++)
			replay(h);
		if (now >= h->flush_at) {
			registry_flush(p, h->db, p->k_devices);
			h->flush_at = now + HANDOFF_FLUSH_MS;
		}
		publish(h);
		if (stopping && queued == 0 && h->nbatch == 0)
			break;
		if (stopping && now >= stop_at) {
			log_warnx("stopping with %zu readings neither in Redis "
			    "nor in the spool; they will be fetched again",
			    queued + h->nbatch);
			break;
		}
		if (h->nbatch > 0 && now < h->retry_at)
			util_sleep_ms(h->retry_at - now < 100 ? h->retry_at -
			    now : 100);
	}
	registry_flush(p, h->db, p->k_devices);
	lease_release_all(p, h->db);
	return NULL;
}

/*
 * Seen marks and gaps of the readings a previous run left in the spool
 * (not in Redis yet: the replay sends them).
 */
static int
scan_seen(const char *rec, size_t len, void *arg)
{
	struct poller *p = arg;
	struct handoff_item it;
	struct strmap_entry *e;

	if (handoff_parse_record(rec, len, &it) == -1)
		return 0;
	if ((e = strmap_put(&p->seen, it.key)) != NULL && it.ts_us > e->num)
		e->num = it.ts_us;
	if ((it.gap_us > 0 && archive_gapset_add(&p->seen, it.key, it.gap_us,
	    it.ts_us) == -1) || (it.xgap.to_us > 0 && archive_gapset_add(
	    &p->seen, it.key, it.xgap.from_us, it.xgap.to_us) == -1))
		log_warnx("%s: out of memory for its gaps", it.key);
	return 0;
}

/*
 * Opens the spool (its marks go into p->seen), connects to Redis (a
 * Redis that is down is no error) and starts the thread. -1 with err.
 */
int
handoff_start(struct poller *p, char *err, size_t errlen)
{
	const struct grilld_conf *cf = p->cf;
	struct rds_opts opts;
	struct handoff *h;

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->q = calloc(HANDOFF_QUEUE_MAX, sizeof(*h->q))) == NULL) {
		free(h);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->p = p;
	p->handoff = h;
	pthread_mutex_init(&h->mu, NULL);
	util_cond_init(&h->cv);
	snprintf(h->maxlen, sizeof(h->maxlen), "%lld",
	    (long long)cf->ingest.stream_max);
	if (spool_open(&h->spool, cf->poller.spool_path, cf->poller.spool_max,
	    err, errlen) == -1)
		return -1;
	spool_scan(&h->spool, scan_seen, p);
	atomic_store(&p->spool_ok, true);
	atomic_store(&p->spool_bytes, spool_pending(&h->spool));
	atomic_store(&p->spool_full, spool_full(&h->spool));
	rds_opts_conf(&opts, cf);
	if ((h->db = rds_connect(cf->redis.url, &opts, err, errlen)) == NULL)
		return -1;
	if (!rds_connected(h->db))
		log_warnx("redis %s: %s; polling starts when it answers",
		    rds_addr(h->db), h->db->errstr);
	if (pthread_create(&h->thread, NULL, handoff_main, h) != 0) {
		snprintf(err, errlen, "cannot start the hand-off thread");
		return -1;
	}
	h->started = true;
	return 0;
}

/*
 * Delivers what is queued (to Redis or the spool), releases the leases,
 * joins the thread, frees everything.
 */
void
handoff_stop(struct poller *p)
{
	struct handoff *h = p->handoff;
	struct strmap *m;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->stopping = true;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	if (h->started)
		pthread_join(h->thread, NULL);
	while (h->n > 0) {
		item_free(&h->q[h->head]);
		h->head = (h->head + 1) % HANDOFF_QUEUE_MAX;
		h->n--;
	}
	for (size_t i = 0; i < h->nbatch; i++)
		item_free(&h->batch[i]);
	while ((m = handoff_take_seen(p)) != NULL) {
		archive_seen_free(m);
		free(m);
	}
	free(h->seen_box);
	spool_close(&h->spool);
	rds_free(h->db);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h->q);
	free(h);
	p->handoff = NULL;
}
