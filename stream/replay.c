/*
 * replay: the Redis side of the stream, on a few worker threads with a
 * connection each (rds.h is synchronous), so that the loop never waits
 * for Redis. A job carries what it needs from its client (a copy of the
 * filter, the resume point) to a worker, and its result back through the
 * loop's inbox; replay_done() applies it on the loop.
 *
 * JOB_SNAPSHOT: the latest reading of every probe the client follows
 *	(HGETALL latest), sent as one "current" WebSocket message, or to a
 *	client of grill-stats' protocol as one bare reading per message.
 * JOB_REPLAY: the next chunk of events after client->replay_from
 *	(XRANGE events (from + COUNT n), filtered, rendered for the
 *	client's transport. The first chunk of a replay checks XINFO
 *	STREAM first: when Redis has removed entries newer than the resume
 *	point, some of what the client missed is gone, and it gets a
 *	"truncated" note naming the oldest entry left (check_trimmed).
 *
 * The seam. While a client replays, live events for it collect in its
 * queue (client_offer) and are not sent. The client asks for the next
 * chunk only when the previous one has been sent (flow control). A
 * chunk shorter than asked for reached the end of the stream: the
 * client then sends its queue, skipping every event whose id is at or
 * below the last one replayed. An event is published only after it was
 * added to the stream, so anything the last XRANGE did not see was
 * published after it began and is in the queue: no gap; the skip
 * removes the overlap: no duplicate. Should the queue overflow during a
 * long replay, it is emptied and the replay simply goes on one more
 * round, since everything it held is in Redis too.
 *
 * Redis down: a replay cannot be done honestly, so the client is
 * disconnected (SSE: reason "redis"; WebSocket: 1013) and reconnects
 * with its Last-Event-ID later. A snapshot is skipped with an error
 * message instead. Workers PING Redis when idle so /health/ready knows.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rds.h"
#include "stream.h"

#define REPLAY_PING_MS	2000
#define REPLAY_LOG_MS	10000

struct job {
	struct job	*next;
	struct client	*c;
	enum job_kind	 kind;
	/* In, copied from the client. */
	struct filter	 f;
	enum client_kind ckind;
	bool		 seed;		/* grill-stats' protocol */
	struct sev_id	 from;
	bool		 first;
	uint64_t	 gen;
	/* Out. */
	struct buf	 out;		/* rendered events, or the snapshot */
	char		 note[160];	/* the truncated note, or "" */
	struct sev_id	 last;
	size_t		 seen, sent;
	bool		 failed;
	bool		 empty;		/* a seed snapshot with nothing */
	bool		 refused;	/* Redis answered with an error */
};

struct replay {
	struct stream	*st;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	struct job	*head, *tail;
	bool		 stop;
	int		 nworkers;
	pthread_t	*th;
	_Atomic bool	 redis_ok;
	struct log_limit ll;
	char		 k_events[160];
	char		 k_latest[160];
};

static int
chunk_entry(const struct rds_entry *en, void *arg)
{
	struct job *ch = arg;
	struct stream *st = ch->c->st;
	const char *t, *j, *w;
	size_t tl, jl, wl;
	enum sev_type type;
	struct sev *e;
	struct sev_id id;
	cJSON *obj;
	char err[96];

	ch->seen++;
	if (sev_id_parse(en->id, &id) == 0)
		ch->last = id;
	if ((t = rds_entry_get(en, RKEY_F_TYPE, &tl)) == NULL ||
	    (j = rds_entry_get(en, RKEY_F_JSON, &jl)) == NULL ||
	    sev_type_parse(t, tl, &type) == -1 ||
	    (obj = cJSON_ParseWithLength(j, jl)) == NULL) {
		metric_inc(st->stats.events_bad);
		return 0;
	}
	if ((e = sev_new(type, obj, en->id, err, sizeof(err))) != NULL) {
		if (filter_match(&ch->f, e->device, e->probe) &&
		    (w = sev_wire(e, ch->ckind, ch->seed, &wl)) != NULL) {
			buf_append(&ch->out, w, wl);
			ch->sent++;
		}
		sev_unref(e);
	} else
		metric_inc(st->stats.events_bad);
	cJSON_Delete(obj);
	return 0;
}

/* The "truncated" note, if Redis trimmed anything after from. */
static int
check_trimmed(struct replay *r, struct rds *db, struct sev_id from,
    char *note, size_t len)
{
	struct sev_id deleted = { 0, 0 }, oldest = { 0, 0 };
	char sfrom[STREAM_ID_LEN], soldest[STREAM_ID_LEN];
	long long added = 0, length = 0;
	redisReply *rep;
	bool have_oldest = false, trimmed;

	note[0] = '\0';
	if ((rep = rds_command(db, "XINFO STREAM %s", r->k_events)) == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i + 1 < rep->elements; i += 2) {
			const redisReply *k = rep->element[i],
			    *v = rep->element[i + 1];

			if (k->type != REDIS_REPLY_STRING &&
			    k->type != REDIS_REPLY_STATUS)
				continue;
			if (strcmp(k->str, "max-deleted-entry-id") == 0 &&
			    v->type == REDIS_REPLY_STRING)
				sev_id_parse(v->str, &deleted);
			else if (strcmp(k->str, "entries-added") == 0 &&
			    v->type == REDIS_REPLY_INTEGER)
				added = v->integer;
			else if (strcmp(k->str, "length") == 0 &&
			    v->type == REDIS_REPLY_INTEGER)
				length = v->integer;
			else if (strcmp(k->str, "first-entry") == 0 &&
			    v->type == REDIS_REPLY_ARRAY && v->elements >= 1 &&
			    v->element[0]->type == REDIS_REPLY_STRING)
				have_oldest = sev_id_parse(v->element[0]->str,
				    &oldest) == 0;
		}
	}
	freeReplyObject(rep);
	/*
	 * XDEL records the newest id it deleted; trimming does not, but it
	 * only ever removes the oldest entries, so entries are gone after
	 * from when some were trimmed and from is older than the first
	 * left (possibly a false alarm when the client had seen every one
	 * of them: Redis does not say which ids it trimmed).
	 */
	trimmed = added > length && have_oldest && sev_id_cmp(from, oldest) < 0;
	if (sev_id_cmp(deleted, from) > 0 || trimmed) {
		sev_id_format(from, sfrom, sizeof(sfrom));
		if (have_oldest)
			sev_id_format(oldest, soldest, sizeof(soldest));
		snprintf(note, len, "{\"since\":\"%s\",\"oldest\":%s%s%s}",
		    sfrom, have_oldest ? "\"" : "", have_oldest ? soldest :
		    "null", have_oldest ? "\"" : "");
		metric_inc(r->st->stats.truncated);
	}
	return 0;
}

static void
run_replay(struct replay *r, struct rds *db, struct job *j)
{
	char from[STREAM_ID_LEN + 1];
	redisReply *rep;

	j->last = j->from;
	from[0] = '(';
	sev_id_format(j->from, from + 1, sizeof(from) - 1);
	if (j->first && check_trimmed(r, db, j->from, j->note,
	    sizeof(j->note)) == -1)
		j->failed = true;
	else if ((rep = rds_command(db, "XRANGE %s %s + COUNT %d",
	    r->k_events, from, STREAM_REPLAY_CHUNK)) == NULL)
		j->failed = true;
	else {
		/*
		 * An answer, even an error, is Redis up: only a dead
		 * connection says otherwise. Errors are logged at most
		 * once in REPLAY_LOG_MS, whoever causes them.
		 */
		if (rds_stream_entries(rep, chunk_entry, j) == -1) {
			j->failed = j->refused = true;
			log_limited(&r->ll, REPLAY_LOG_MS, LOG_LVL_WARN,
			    "XRANGE %s: unexpected answer%s%s", r->k_events,
			    rep->type == REDIS_REPLY_ERROR ? ": " : "",
			    rep->type == REDIS_REPLY_ERROR ? rep->str : "");
		}
		freeReplyObject(rep);
	}
	if (!j->refused)
		atomic_store(&r->redis_ok, !j->failed);
	if (j->failed && !j->refused)
		log_limited(&r->ll, REPLAY_LOG_MS, LOG_LVL_WARN,
		    "replay for client %llu: %s",
		    (unsigned long long)j->c->serial, db->errstr);
}

/* On the loop: the next chunk of a replay goes to its client. */
static void
replay_apply(struct job *j)
{
	struct client *c = j->c;
	struct stats *s = &c->st->stats;
	char id[STREAM_ID_LEN], tmp[96];

	if (j->failed) {
		client_close(c, DROP_ERROR, WS_CLOSE_TRY_LATER);
		return;
	}
	if (j->note[0] != '\0') {
		if (c->kind == CLIENT_WS)
			ws_note(c, "truncated", j->note);
		else
			sse_note(c, "truncated", j->note);
	}
	buf_append(&c->pend, j->out.data, j->out.len);
	metric_add(s->replayed, (double)j->sent);
	c->replay_from = j->last;
	c->replay_first = false;
	if (j->seen < STREAM_REPLAY_CHUNK && c->replay_overflow)
		c->replay_overflow = false;	/* one more round */
	else if (j->seen < STREAM_REPLAY_CHUNK) {
		c->hold = HOLD_NONE;
		if (!c->skip || sev_id_cmp(c->skip_upto, j->last) < 0)
			c->skip_upto = j->last;
		c->skip = true;
		if (c->kind == CLIENT_WS) {
			sev_id_format(j->last, id, sizeof(id));
			snprintf(tmp, sizeof(tmp), "{\"last_id\":\"%s\"}", id);
			ws_note(c, "replayed", tmp);
		}
	}
}

static void
add_current(cJSON *arr, const struct filter *f, const char *json, size_t len)
{
	const cJSON *dev, *probe;
	cJSON *o;

	if ((o = cJSON_ParseWithLength(json, len)) == NULL)
		return;
	dev = cJSON_GetObjectItemCaseSensitive(o, "device_id");
	probe = cJSON_GetObjectItemCaseSensitive(o, "probe_id");
	if (cJSON_IsString(dev) && filter_match(f, dev->valuestring,
	    cJSON_IsString(probe) ? probe->valuestring : "")) {
		cJSON_AddItemToArray(arr, o);
		return;
	}
	cJSON_Delete(o);
}

static void
run_snapshot(struct replay *r, struct rds *db, struct job *j)
{
	redisReply *rep;
	cJSON *msg, *arr, *it;
	char *text;

	if ((rep = rds_command(db, "HGETALL %s", r->k_latest)) == NULL ||
	    rep->type != REDIS_REPLY_ARRAY) {
		j->failed = true;
		goto out;
	}
	if ((msg = cJSON_CreateObject()) == NULL)
		goto out;
	cJSON_AddStringToObject(msg, "type", "current");
	arr = cJSON_AddArrayToObject(msg, "data");
	for (size_t i = 0; arr && i + 1 < rep->elements; i += 2)
		if (rep->element[i + 1]->type == REDIS_REPLY_STRING)
			add_current(arr, &j->f, rep->element[i + 1]->str,
			    rep->element[i + 1]->len);
	if (j->seed) {
		/* grill-stats sent the current reading first, bare. */
		cJSON_ArrayForEach(it, arr) {
			if ((text = cJSON_PrintUnformatted(it)) == NULL)
				continue;
			ws_frame_append(&j->out, WS_TEXT, text, strlen(text));
			cJSON_free(text);
		}
		if (cJSON_GetArraySize(arr) == 0)
			j->empty = true;
	} else if ((text = cJSON_PrintUnformatted(msg)) != NULL) {
		ws_frame_append(&j->out, WS_TEXT, text, strlen(text));
		cJSON_free(text);
	}
	cJSON_Delete(msg);
out:
	atomic_store(&r->redis_ok, rep != NULL);
	if (rep != NULL)
		freeReplyObject(rep);
}

/* On the loop: the current readings go to their WebSocket client. */
static void
snapshot_apply(struct job *j)
{
	struct client *c = j->c;

	if (c->hold != HOLD_SNAPSHOT)
		return;
	if (j->out.len > 0)
		buf_append(&c->pend, j->out.data, j->out.len);
	else if (!j->empty)
		ws_note(c, "error", j->failed ?
		    "{\"code\":\"REDIS_UNAVAILABLE\",\"message\":"
		    "\"current readings are not available\"}" :
		    "{\"code\":\"INTERNAL\",\"message\":\"out of memory\"}");
	c->hold = c->want_replay ? HOLD_REPLAY : HOLD_NONE;
}

static void
job_free(struct job *j)
{
	filter_free(&j->f);
	buf_free(&j->out);
	free(j);
}

void
replay_done(struct job *j)
{
	struct client *c = j->c;

	c->jbusy = false;
	if (c->state == CS_STREAM && c->replay_gen == j->gen) {
		if (j->kind == JOB_SNAPSHOT)
			snapshot_apply(j);
		else
			replay_apply(j);
	}
	/* A stale job (a newer resume came) is dropped; flushing asks for
	 * the job now due. */
	client_flush(c);
	client_release(c);
	job_free(j);
}

static void *
worker(void *arg)
{
	struct replay *r = arg;
	struct rds_opts o;
	struct rds *db;
	struct job *j;
	char err[128];

	rds_opts_conf(&o, r->st->cf);
	if ((db = rds_connect(r->st->cf->redis.url, &o, err,
	    sizeof(err))) == NULL) {
		log_warnx("redis: %s", err);
		return NULL;
	}
	pthread_mutex_lock(&r->mtx);
	for (;;) {
		while (r->head == NULL && !r->stop) {
			redisReply *rep;

			if (util_cond_wait_ms(&r->cv, &r->mtx,
			    REPLAY_PING_MS) == 0 ||
			    r->head != NULL || r->stop)
				continue;
			pthread_mutex_unlock(&r->mtx);
			rep = rds_command(db, "PING");
			atomic_store(&r->redis_ok, rep != NULL);
			if (rep != NULL)
				freeReplyObject(rep);
			pthread_mutex_lock(&r->mtx);
		}
		if (r->stop)
			break;
		j = r->head;
		if ((r->head = j->next) == NULL)
			r->tail = NULL;
		pthread_mutex_unlock(&r->mtx);
		if (j->kind == JOB_SNAPSHOT)
			run_snapshot(r, db, j);
		else
			run_replay(r, db, j);
		if (loop_post(j->c->loop, INBOX_JOB, j) == -1)
			log_warnx("out of memory: a Redis job is lost");
		pthread_mutex_lock(&r->mtx);
	}
	pthread_mutex_unlock(&r->mtx);
	rds_free(db);
	return NULL;
}

struct replay *
replay_start(struct stream *st, int nworkers, char *err, size_t errlen)
{
	struct replay *r;
	struct rds_url u;

	if (rds_url_parse(st->cf->redis.url, &u, err, errlen) == -1)
		return NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->th = calloc((size_t)nworkers, sizeof(*r->th))) == NULL) {
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->st = st;
	pthread_mutex_init(&r->mtx, NULL);
	util_cond_init(&r->cv);
	rkey(r->k_events, sizeof(r->k_events), st->prefix, RKEY_EVENTS);
	rkey(r->k_latest, sizeof(r->k_latest), st->prefix, RKEY_LATEST);
	atomic_store(&r->redis_ok, true);
	for (r->nworkers = 0; r->nworkers < nworkers; r->nworkers++) {
		if (pthread_create(&r->th[r->nworkers], NULL, worker, r) != 0) {
			snprintf(err, errlen, "cannot start a Redis worker");
			replay_stop(r);
			return NULL;
		}
	}
	return r;
}

/* Workers finish the job in hand; jobs still queued are dropped. */
void
replay_stop(struct replay *r)
{
	struct job *j;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mtx);
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mtx);
	for (int i = 0; i < r->nworkers; i++)
		pthread_join(r->th[i], NULL);
	while ((j = r->head) != NULL) {
		r->head = j->next;
		j->c->jbusy = false;
		client_release(j->c);
		job_free(j);
	}
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mtx);
	free(r->th);
	free(r);
}

int
replay_submit(struct replay *r, struct client *c, enum job_kind kind)
{
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	if (filter_dup(&j->f, &c->filter) == -1) {
		free(j);
		return -1;
	}
	buf_init(&j->out);
	j->c = c;
	j->kind = kind;
	j->ckind = c->kind;
	j->seed = c->seed;
	j->from = c->replay_from;
	j->first = c->replay_first;
	j->gen = c->replay_gen;
	c->users++;
	c->jbusy = true;
	pthread_mutex_lock(&r->mtx);
	if (r->tail != NULL)
		r->tail->next = j;
	else
		r->head = j;
	r->tail = j;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mtx);
	return 0;
}

bool
replay_redis_ok(struct replay *r)
{
	return r != NULL && atomic_load(&r->redis_ok);
}
