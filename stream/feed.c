/*
 * feed: live events read from the Redis `events` stream (stream.feed
 * redis, the default), for a stream replica to see every event of every
 * ingester. With several ingest replicas each publishes on nng only
 * what it stored itself, and a replica dialled to one of them (through a
 * Service) would miss the rest; the `events` stream has them all, in the
 * one order Redis gave their ids, which is also the order of a replay:
 * a client that moves to another replica and resumes with Last-Event-ID
 * gets neither a gap nor a duplicate.
 *
 * One thread: XREAD BLOCK from the id after the last one seen (the
 * newest entry at start, so a start sends no history: clients ask for
 * that with their Last-Event-ID), each entry re-encoded as the ingester's nng message
 * (the entry's JSON with "event_id" added) and sent on an inproc PUB
 * socket that every event loop's SUB socket dials (sub.c), so the loops
 * take events exactly as they take them from the ingester. After a Redis
 * outage the feed goes on from the last id it saw: what was added
 * meanwhile is sent then, in order.
 *
 * docs/stream.md has the figures that chose this over nng.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"
#include "nngx.h"
#include "rds.h"
#include "stream.h"

#define FEED_COUNT	512		/* entries per XREAD */
#define FEED_BLOCK_MS	1000		/* below the command time-out */
#define FEED_RETRY_MS	200		/* pause after a failed XREAD */

struct feed {
	struct stream	*st;
	pthread_t	 thread;
	nng_socket	 pub;
	_Atomic bool	 stop;
	_Atomic bool	 ok;		/* the last XREAD succeeded */
	char		 key[160];
	char		 last[48];	/* the id to read after */
	struct buf	 body, msg;
	struct log_limit ll;
};

static enum msg_type
feed_type(const char *t, size_t len)
{
	if (len == 7 && memcmp(t, "reading", 7) == 0)
		return MSG_READING;
	if (len == 6 && memcmp(t, "device", 6) == 0)
		return MSG_DEVICE;
	if (len == 5 && memcmp(t, "alert", 5) == 0)
		return MSG_ALERT;
	return 0;
}

/* One entry of the events stream, to the loops. */
static int
feed_entry(const struct rds_entry *en, void *arg)
{
	struct feed *f = arg;
	const char *t, *j;
	size_t tlen, jlen;
	enum msg_type type;
	int rv;

	util_strlcpy(f->last, en->id, sizeof(f->last));
	if ((t = rds_entry_get(en, RKEY_F_TYPE, &tlen)) == NULL ||
	    (j = rds_entry_get(en, RKEY_F_JSON, &jlen)) == NULL ||
	    (type = feed_type(t, tlen)) == 0 || jlen < 2 ||
	    j[jlen - 1] != '}') {
		metric_inc(f->st->stats.events_bad);
		log_limited(&f->ll, 10000, LOG_LVL_WARN, "events %s: entry %s "
		    "is not an event, skipped", f->key, en->id);
		return 0;
	}
	buf_reset(&f->body);
	buf_reset(&f->msg);
	if (buf_append(&f->body, j, jlen - 1) == -1 ||
	    buf_printf(&f->body, "%s\"event_id\":\"%s\"}", jlen > 2 ? "," :
	    "", en->id) == -1 ||
	    msg_encode(&f->msg, type, f->body.data, f->body.len) == -1) {
		metric_inc(f->st->stats.events_bad);
		log_limited(&f->ll, 10000, LOG_LVL_WARN, "events %s: entry %s "
		    "cannot be encoded, skipped", f->key, en->id);
		return 0;
	}
	/* A PUB socket never waits: a loop that cannot keep up drops. */
	if ((rv = nng_send(f->pub, f->msg.data, f->msg.len, 0)) != 0)
		log_limited(&f->ll, 10000, LOG_LVL_WARN, "feed: %s",
		    nng_strerror(rv));
	return 0;
}

/*
 * Where the feed starts: after the newest entry now ("$" would be asked
 * again by every XREAD, and lose what arrives between two of them), or
 * from the beginning of a stream that is empty or not there yet.
 */
static int
feed_head(struct feed *f, struct rds *db)
{
	redisReply *rep = rds_command(db, "XREVRANGE %s + - COUNT 1", f->key);
	int rc = -1;

	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY) {
		if (rep->elements == 0)
			util_strlcpy(f->last, "0-0", sizeof(f->last));
		else if (rep->element[0]->type == REDIS_REPLY_ARRAY &&
		    rep->element[0]->elements == 2 &&
		    rep->element[0]->element[0]->type == REDIS_REPLY_STRING)
			util_strlcpy(f->last, rep->element[0]->element[0]->str,
			    sizeof(f->last));
		rc = f->last[0] != '\0' ? 0 : -1;
	}
	freeReplyObject(rep);
	return rc;
}

static void *
feed_main(void *arg)
{
	struct feed *f = arg;
	struct rds_opts o;
	struct rds *db;
	redisReply *rep;
	char err[RDS_ERRSTR_LEN], count[16], block[24];

	rds_opts_conf(&o, f->st->cf);
	if ((db = rds_connect(f->st->cf->redis.url, &o, err,
	    sizeof(err))) == NULL) {
		log_warnx("feed: redis: %s", err);
		return NULL;
	}
	snprintf(count, sizeof(count), "%d", FEED_COUNT);
	snprintf(block, sizeof(block), "%lld", (long long)(o.command_timeout_ms
	    / 2 < FEED_BLOCK_MS ? o.command_timeout_ms / 2 : FEED_BLOCK_MS));
	while (!atomic_load(&f->stop)) {
		const char *argv[8] = { "XREAD", "COUNT", count, "BLOCK",
			block, "STREAMS", f->key, f->last };

		if (f->last[0] == '\0' && feed_head(f, db) == -1) {
			atomic_store(&f->ok, false);
			util_sleep_ms(FEED_RETRY_MS);
			continue;
		}
		rep = rds_commandargv(db, 8, argv, NULL);
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
			if (rep != NULL)
				log_limited(&f->ll, 10000, LOG_LVL_WARN,
				    "feed: XREAD %s: %s", f->key, rep->str);
			freeReplyObject(rep);
			atomic_store(&f->ok, false);
			util_sleep_ms(FEED_RETRY_MS);
			continue;
		}
		atomic_store(&f->ok, true);
		if (rds_stream_entries(rep, feed_entry, f) == -1 &&
		    rep->type != REDIS_REPLY_NIL)
			log_limited(&f->ll, 10000, LOG_LVL_WARN, "feed: XREAD "
			    "%s: a reply of an unexpected shape", f->key);
		freeReplyObject(rep);
	}
	rds_free(db);
	return NULL;
}

struct feed *
feed_start(struct stream *st, char *url, size_t urllen, char *err,
    size_t errlen)
{
	struct feed *f;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->st = st;
	buf_init(&f->body);
	buf_init(&f->msg);
	rkey(f->key, sizeof(f->key), st->prefix, RKEY_EVENTS);
	snprintf(url, urllen, "inproc://grilld-stream-feed-%ld",
	    (long)getpid());
	if (nngx_listen(&f->pub, "pub", url, err, errlen) == -1) {
		free(f);
		return NULL;
	}
	if (pthread_create(&f->thread, NULL, feed_main, f) != 0) {
		snprintf(err, errlen, "cannot start the feed thread");
		nng_close(f->pub);
		free(f);
		return NULL;
	}
	return f;
}

bool
feed_ok(struct feed *f)
{
	return f != NULL && atomic_load(&f->ok);
}

/* After the loops, whose SUB sockets dial the feed, have stopped. */
void
feed_stop(struct feed *f)
{
	if (f == NULL)
		return;
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
	nng_close(f->pub);
	buf_free(&f->body);
	buf_free(&f->msg);
	free(f);
}
