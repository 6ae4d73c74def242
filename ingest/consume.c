/*
 * The consumer group on the readings stream.
 *
 * Reading: XREADGROUP ... STREAMS readings >, new entries only. An entry
 * stays pending in this consumer until the batch that holds it is
 * stored (consume_append_ack()); while InfluxDB is down
 * the pending entries are touched (XCLAIM JUSTID, which resets their
 * idle time without counting a delivery) so no other replica takes
 * work this one still does.
 *
 * Claiming: entries pending longer than ingest.claim_idle belong to a
 * replica that died (or hangs): XPENDING IDLE finds them with their
 * delivery counts, XCLAIM takes them. One delivered more than
 * ingest.max_deliveries times is poison (it killed every replica that
 * read it): it goes to the dead-letter stream with reason
 * max_deliveries instead of into a batch.
 *
 * Trimming: entries every group has processed are of no more use:
 * XTRIM MINID ~ below the oldest entry any group still has pending or
 * has not yet been delivered, so Redis memory stays bounded by what is
 * in flight, not by what went through.
 *
 * Redis restarted empty: the group is gone (NOGROUP). It is created
 * again, and what could not be recovered is said: readings that were in
 * the stream but not yet read are lost with it; batches in flight are
 * still stored, their acknowledgements are moot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ingest.h"

#define CLAIM_MAX	1000	/* entries claimed per round */
#define CLAIM_PAGES	8	/* XPENDING pages looked at per round */

static struct log_limit	ll_redis;

/* A Redis key or stream name under redis.prefix. */
void
consume_key(const struct grilld_conf *cf, enum rkey k, char *out, size_t len)
{
	rkey(out, len, cf->redis.prefix, k);
}

int
consume_init(struct consume *c, struct rds *rds, const struct grilld_conf *cf)
{
	char host[64];

	memset(c, 0, sizeof(*c));
	c->rds = rds;
	consume_key(cf, RKEY_READINGS, c->stream, sizeof(c->stream));
	consume_key(cf, RKEY_DEADLETTER, c->deadletter, sizeof(c->deadletter));
	util_strlcpy(c->group, cf->ingest.group, sizeof(c->group));
	if (cf->ingest.consumer != NULL && cf->ingest.consumer[0] != '\0')
		util_strlcpy(c->consumer, cf->ingest.consumer,
		    sizeof(c->consumer));
	else {
		if (gethostname(host, sizeof(host)) == -1)
			util_strlcpy(host, "ingest", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		snprintf(c->consumer, sizeof(c->consumer), "%s-%ld", host,
		    (long)getpid());
	}
	c->claim_idle_ms = cf->ingest.claim_idle;
	c->max_deliveries = cf->ingest.max_deliveries;
	c->deadletter_max = cf->ingest.deadletter_max;
	c->lag = -1;
	c->m_read = metric_with(metric_counter("grilld_ingest_entries_read_total",
	    "Entries delivered to this consumer (new and claimed).", "how"),
	    "new");
	c->m_claimed = metric_with(metric_counter(
	    "grilld_ingest_entries_read_total", NULL, "how"), "claimed");
	c->m_dead = metric_with(metric_counter("grilld_ingest_deadlettered_total",
	    "Entries written to the dead-letter stream.", NULL));
	c->m_trimmed = metric_with(metric_counter("grilld_ingest_trimmed_total",
	    "Entries trimmed from the readings stream after every group "
	    "processed them.", NULL));
	c->m_resets = metric_with(metric_counter(
	    "grilld_ingest_redis_resets_total", "Times the consumer group had "
	    "vanished (Redis restarted empty) and was created again.", NULL));
	c->m_lost = metric_with(metric_counter("grilld_ingest_lost_total",
	    "Pending entries that were deleted from the stream before they "
	    "were processed.", NULL));
	return 0;
}

static bool
is_error(const redisReply *r, const char *prefix)
{
	return r != NULL && r->type == REDIS_REPLY_ERROR && r->str != NULL &&
	    strncmp(r->str, prefix, strlen(prefix)) == 0;
}

int
consume_group(struct consume *c)
{
	redisReply *r;
	int rc = 0;

	r = rds_command(c->rds, "XGROUP CREATE %s %s 0 MKSTREAM", c->stream,
	    c->group);
	if (r == NULL) {
		log_limited(&ll_redis, 10000, LOG_LVL_WARN, "redis %s: %s",
		    rds_addr(c->rds), c->rds->errstr);
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR && !is_error(r, "BUSYGROUP")) {
		log_warnx("XGROUP CREATE %s %s: %s", c->stream, c->group, r->str);
		rc = -1;
	} else if (r->type != REDIS_REPLY_ERROR)
		log_info("consumer group %s created on %s", c->group, c->stream);
	freeReplyObject(r);
	return rc;
}

/* The group vanished: Redis lost its data. Create it again, say so. */
static void
recover(struct consume *c)
{
	c->resets++;
	metric_inc(c->m_resets);
	log_warnx("redis lost the stream %s or its group %s (restarted "
	    "without persistence?): creating them again. Lost: readings "
	    "added after %s that no replica had read yet. Batches in flight "
	    "are still stored; their acknowledgements are moot.", c->stream,
	    c->group, c->last_id[0] ? c->last_id : "the last one read");
	c->last_id[0] = '\0';
	consume_group(c);
}

struct walk {
	struct consume	*c;
	consume_fn	 fn;
	void		*arg;
	unsigned	 deliveries;
};

static int
walk_new(const struct rds_entry *e, void *arg)
{
	struct walk *w = arg;

	util_strlcpy(w->c->last_id, e->id, sizeof(w->c->last_id));
	metric_inc(w->c->m_read);
	w->fn(e, 1, w->arg);
	return 0;
}

int
consume_read(struct consume *c, int count, int64_t block_ms, consume_fn fn,
    void *arg)
{
	struct walk w = { c, fn, arg, 1 };
	char scount[24], sblock[24];
	const char *argv[12];
	redisReply *r;
	int argc = 0, n;

	snprintf(scount, sizeof(scount), "%d", count);
	snprintf(sblock, sizeof(sblock), "%lld", (long long)block_ms);
	argv[argc++] = "XREADGROUP";
	argv[argc++] = "GROUP";
	argv[argc++] = c->group;
	argv[argc++] = c->consumer;
	argv[argc++] = "COUNT";
	argv[argc++] = scount;
	if (block_ms > 0) {
		argv[argc++] = "BLOCK";
		argv[argc++] = sblock;
	}
	argv[argc++] = "STREAMS";
	argv[argc++] = c->stream;
	argv[argc++] = ">";
	if ((r = rds_commandargv(c->rds, argc, argv, NULL)) == NULL) {
		log_limited(&ll_redis, 10000, LOG_LVL_WARN, "redis %s: %s",
		    rds_addr(c->rds), c->rds->errstr);
		return -1;
	}
	if (is_error(r, "NOGROUP")) {
		freeReplyObject(r);
		recover(c);
		return 0;
	}
	n = rds_stream_entries(r, walk_new, &w);
	if (n == -1)
		log_warnx("XREADGROUP %s: unexpected reply%s%s", c->stream,
		    r->type == REDIS_REPLY_ERROR ? ": " : "",
		    r->type == REDIS_REPLY_ERROR ? r->str : "");
	freeReplyObject(r);
	return n;
}

/*
 * Pipelined: XADD deadletter MAXLEN ~ N * reason R src ID r RAW error
 * WHY consumer C.
 */
int
consume_append_dead(struct consume *c, const char *reason, const char *id,
    const char *raw, size_t rawlen, const char *why)
{
	char max[24];
	const char *argv[16];
	size_t lens[16];
	int n = 0;

	snprintf(max, sizeof(max), "%lld", (long long)c->deadletter_max);
#define A(s, l) do { argv[n] = (s); lens[n] = (l); n++; } while (0)
	A("XADD", 4);
	A(c->deadletter, strlen(c->deadletter));
	A("MAXLEN", 6);
	A("~", 1);
	A(max, strlen(max));
	A("*", 1);
	A(RKEY_F_REASON, strlen(RKEY_F_REASON));
	A(reason, strlen(reason));
	A(RKEY_F_SRC, strlen(RKEY_F_SRC));
	A(id, strlen(id));
	A(RKEY_F_READING, strlen(RKEY_F_READING));
	A(raw ? raw : "", raw ? rawlen : 0);
	A(RKEY_F_ERROR, strlen(RKEY_F_ERROR));
	A(why ? why : "", why ? strlen(why) : 0);
	A(RKEY_F_CONSUMER, strlen(RKEY_F_CONSUMER));
	A(c->consumer, strlen(c->consumer));
#undef A
	metric_inc(c->m_dead);
	return rds_append_argv(c->rds, n, argv, lens) == 0 ? 1 : -1;
}

static int
append_xack(struct consume *c, const char *const *ids, size_t n)
{
	const char **argv;
	int rc;

	if (n == 0)
		return 0;
	if ((argv = calloc(n + 3, sizeof(*argv))) == NULL)
		return -1;
	argv[0] = "XACK";
	argv[1] = c->stream;
	argv[2] = c->group;
	memcpy(argv + 3, ids, n * sizeof(*ids));
	rc = rds_append_argv(c->rds, (int)(n + 3), argv, NULL);
	free(argv);
	return rc == 0 ? 1 : -1;
}

/* Reads n pipelined replies; -1 when the connection failed. */
static int
drain(struct consume *c, int n)
{
	redisReply *r;
	int rc = 0;

	for (int i = 0; i < n; i++) {
		if ((r = rds_get_reply(c->rds)) == NULL)
			return -1;
		if (r->type == REDIS_REPLY_ERROR) {
			log_warnx("redis: %s", r->str);
			rc = -1;
		}
		freeReplyObject(r);
	}
	return rc;
}

int
consume_reject(struct consume *c, const char *reason, const char *id,
    const char *raw, size_t rawlen, const char *why)
{
	const char *ids[1] = { id };

	if (consume_append_dead(c, reason, id, raw, rawlen, why) == -1)
		return -1;
	if (append_xack(c, ids, 1) == -1) {
		drain(c, 1);
		return -1;
	}
	return drain(c, 2);
}

int
consume_append_ack(struct consume *c, const struct batch *b)
{
	const char **ids;
	int rc;

	if (b->n == 0)
		return 0;
	if ((ids = calloc(b->n, sizeof(*ids))) == NULL)
		return -1;
	for (size_t i = 0; i < b->n; i++)
		ids[i] = b->it[i].id;
	rc = append_xack(c, ids, b->n);
	free(ids);
	return rc;
}

int
consume_touch(struct consume *c, struct batch *const *b, size_t nb)
{
	const char **argv;
	redisReply *r;
	size_t n = 0, total = 0;

	for (size_t k = 0; k < nb; k++)
		total += b[k] != NULL ? b[k]->n : 0;
	if (total == 0)
		return 0;
	if ((argv = calloc(total + 6, sizeof(*argv))) == NULL)
		return -1;
	argv[n++] = "XCLAIM";
	argv[n++] = c->stream;
	argv[n++] = c->group;
	argv[n++] = c->consumer;
	argv[n++] = "0";
	for (size_t k = 0; k < nb; k++)
		for (size_t i = 0; b[k] != NULL && i < b[k]->n; i++)
			argv[n++] = b[k]->it[i].id;
	argv[n++] = "JUSTID";
	r = rds_commandargv(c->rds, (int)n, argv, NULL);
	free(argv);
	if (r == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}

struct pend {
	char		 id[INGEST_ID_LEN];
	unsigned	 deliveries;
};

struct claim_walk {
	struct consume	*c;
	struct pend	*p;
	size_t		 np;
	consume_fn	 fn;
	void		*arg;
	int		 n;
};

static unsigned
deliveries_of(const struct claim_walk *cw, const char *id)
{
	for (size_t i = 0; i < cw->np; i++)
		if (strcmp(cw->p[i].id, id) == 0)
			return cw->p[i].deliveries;
	return 1;
}

static int
walk_claimed(const struct rds_entry *e, void *arg)
{
	struct claim_walk *cw = arg;
	struct consume *c = cw->c;
	unsigned d = deliveries_of(cw, e->id) + 1;
	const char *raw;
	size_t rawlen = 0;
	char why[128];

	metric_inc(c->m_claimed);
	if (e->nfields == 0) {
		metric_inc(c->m_lost);
		log_warnx("entry %s was deleted from %s while pending: lost",
		    e->id, c->stream);
		if (c->val != NULL)
			validate_count(c->val, REJECT_LOST);
		consume_reject(c, "lost", e->id, NULL, 0, "deleted from the "
		    "stream while pending");
		return 0;
	}
	if ((int64_t)d > c->max_deliveries) {
		raw = rds_entry_get(e, RKEY_F_READING, &rawlen);
		snprintf(why, sizeof(why), "delivered %u times (limit %lld): "
		    "it failed every replica that read it", d - 1,
		    (long long)c->max_deliveries);
		log_warnx("entry %s: %s: dead-lettered", e->id, why);
		if (c->val != NULL)
			validate_count(c->val, REJECT_MAX_DELIVERIES);
		consume_reject(c, "max_deliveries", e->id, raw, rawlen, why);
		return 0;
	}
	cw->fn(e, d, cw->arg);
	cw->n++;
	return 0;
}

/*
 * One page of XPENDING IDLE from start; the entries worth claiming go
 * into cw->p (and their ids into cargv). Returns the number of entries
 * in the page, or -1 (Redis down, or the group is gone: recovered).
 */
static int
pending_page(struct consume *c, bool own, const char *idle, const char *start,
    int count, struct claim_walk *cw, const char **cargv, size_t *n,
    char *last, size_t lastlen)
{
	char scount[24];
	const char *argv[12];
	redisReply *r;
	int argc = 0, got;

	snprintf(scount, sizeof(scount), "%d", count);
	argv[argc++] = "XPENDING";
	argv[argc++] = c->stream;
	argv[argc++] = c->group;
	argv[argc++] = "IDLE";
	argv[argc++] = idle;
	argv[argc++] = start;
	argv[argc++] = "+";
	argv[argc++] = scount;
	if (own)
		argv[argc++] = c->consumer;
	if ((r = rds_commandargv(c->rds, argc, argv, NULL)) == NULL)
		return -1;
	if (is_error(r, "NOGROUP")) {
		freeReplyObject(r);
		recover(c);
		return -1;
	}
	if (r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return -1;
	}
	got = (int)r->elements;
	for (size_t i = 0; i < r->elements && cw->np < (size_t)count; i++) {
		const redisReply *e = r->element[i];

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 4 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    e->element[1]->type != REDIS_REPLY_STRING ||
		    e->element[3]->type != REDIS_REPLY_INTEGER)
			continue;
		snprintf(last, lastlen, "(%s", e->element[0]->str);
		/*
		 * Never from ourselves: what this consumer holds is in a
		 * batch on its way (its idle time is kept fresh), and taking
		 * it again would copy it into a second batch and count a
		 * delivery each time until it is poisoned.
		 */
		if (!own && strcmp(e->element[1]->str, c->consumer) == 0)
			continue;
		if (own && c->held != NULL &&
		    c->held(e->element[0]->str, c->held_arg))
			continue;
		util_strlcpy(cw->p[cw->np].id, e->element[0]->str,
		    sizeof(cw->p[cw->np].id));
		cw->p[cw->np].deliveries = (unsigned)e->element[3]->integer;
		cargv[(*n)++] = cw->p[cw->np].id;
		cw->np++;
	}
	freeReplyObject(r);
	return got;
}

int
consume_claim(struct consume *c, bool own, int count, consume_fn fn,
    void *arg)
{
	struct claim_walk cw = { c, NULL, 0, fn, arg, 0 };
	char idle[24], start[INGEST_ID_LEN + 1] = "-";
	const char **cargv = NULL;
	redisReply *x = NULL;
	size_t n = 0;
	int got;

	if (count > CLAIM_MAX)
		count = CLAIM_MAX;
	if (count <= 0)
		return 0;
	snprintf(idle, sizeof(idle), "%lld", own ? 0LL :
	    (long long)c->claim_idle_ms);
	cw.p = calloc((size_t)count, sizeof(*cw.p));
	cargv = calloc((size_t)count + 6, sizeof(*cargv));
	if (cw.p == NULL || cargv == NULL)
		goto done;
	cargv[n++] = "XCLAIM";
	cargv[n++] = c->stream;
	cargv[n++] = c->group;
	cargv[n++] = c->consumer;
	cargv[n++] = idle;
	/* Page on past what is skipped, a bounded number of pages. */
	for (int page = 0; page < CLAIM_PAGES && cw.np < (size_t)count;
	    page++) {
		got = pending_page(c, own, idle, start, count, &cw, cargv, &n,
		    start, sizeof(start));
		if (got < count)
			break;
	}
	if (cw.np == 0)
		goto done;
	if ((x = rds_commandargv(c->rds, (int)n, cargv, NULL)) == NULL)
		goto done;
	if (!own)
		log_info("claimed %zu entries idle for more than %lld ms from "
		    "another consumer", cw.np, (long long)c->claim_idle_ms);
	if (rds_stream_entries(x, walk_claimed, &cw) == -1)
		log_warnx("XCLAIM %s: unexpected reply", c->stream);
done:
	freeReplyObject(x);
	free(cw.p);
	free(cargv);
	return cw.n;
}

/* Stream ids as (ms, seq), for comparisons. */
static int
id_cmp(const char *a, const char *b)
{
	unsigned long long am, as = 0, bm, bs = 0;
	const char *d;

	am = strtoull(a, NULL, 10);
	if ((d = strchr(a, '-')) != NULL)
		as = strtoull(d + 1, NULL, 10);
	bm = strtoull(b, NULL, 10);
	if ((d = strchr(b, '-')) != NULL)
		bs = strtoull(d + 1, NULL, 10);
	if (am != bm)
		return am < bm ? -1 : 1;
	return as < bs ? -1 : as > bs;
}

static const redisReply *
map_get(const redisReply *m, const char *key)
{
	if (m == NULL || m->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < m->elements; i += 2)
		if (m->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(m->element[i]->str, key) == 0)
			return m->element[i + 1];
	return NULL;
}

int
consume_trim(struct consume *c)
{
	redisReply *g, *p, *t;
	char min[INGEST_ID_LEN] = "";
	size_t i;

	if ((g = rds_command(c->rds, "XINFO GROUPS %s", c->stream)) == NULL)
		return -1;
	if (g->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(g);
		return 0;
	}
	for (i = 0; i < g->elements; i++) {
		const redisReply *grp = g->element[i];
		const redisReply *name = map_get(grp, "name");
		const redisReply *pend = map_get(grp, "pending");
		const redisReply *last = map_get(grp, "last-delivered-id");
		const redisReply *lag = map_get(grp, "lag");
		char low[INGEST_ID_LEN];

		if (name == NULL || pend == NULL || last == NULL ||
		    last->type != REDIS_REPLY_STRING)
			goto out;
		util_strlcpy(low, last->str, sizeof(low));
		if (strcmp(name->str, c->group) == 0) {
			c->pending = pend->integer;
			c->lag = lag && lag->type == REDIS_REPLY_INTEGER ?
			    lag->integer : -1;
		}
		if (pend->integer > 0) {
			p = rds_command(c->rds, "XPENDING %s %s", c->stream,
			    name->str);
			if (p == NULL)
				goto out;
			if (p->type == REDIS_REPLY_ARRAY && p->elements >= 2 &&
			    p->element[1]->type == REDIS_REPLY_STRING &&
			    id_cmp(p->element[1]->str, low) < 0)
				util_strlcpy(low, p->element[1]->str, sizeof(low));
			freeReplyObject(p);
		}
		if (min[0] == '\0' || id_cmp(low, min) < 0)
			util_strlcpy(min, low, sizeof(min));
	}
	if (min[0] != '\0' && strcmp(min, "0-0") != 0) {
		t = rds_command(c->rds, "XTRIM %s MINID ~ %s", c->stream, min);
		if (t != NULL && t->type == REDIS_REPLY_INTEGER && t->integer > 0)
			metric_add(c->m_trimmed, (double)t->integer);
		freeReplyObject(t);
	}
out:
	freeReplyObject(g);
	return 0;
}
