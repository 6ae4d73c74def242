/*
 * Leases: one active poller per account.
 *
 * Each account has a Redis key lease:poller:<email> holding the id of
 * the poller that polls it (SET NX PX poller.lease_ttl). The holder
 * renews it every third of the TTL, only while the key still holds its
 * id; the others try to take it as often, so a poller that died is
 * replaced within about 1.3 TTLs. A poller that stops releases its
 * leases at once.
 *
 * Taking a lease loads grilld:poller:seen, the marks of what every
 * poller emitted, with grilld:poller:gaps, the points between uploads
 * still to be filled (archive.c), and hands them to the main thread
 * before the account becomes active (lease_epoch), so the new holder
 * resumes exactly where the last one stopped. It also reads, writing it
 * the first time, grilld:poller:since, when grilld first polled the
 * account: a device the new holder has no mark of (the last one died
 * before any of its points came) is filled in from there, not just from
 * its current session's start, which may be a later one.
 *
 * A holder that cannot reach Redis keeps polling (the spool takes the
 * readings) only while the lease is surely still its own: until the
 * monotonic time the last successful SET or renewal was sent plus the
 * TTL. Past that, Redis may have let the key expire and another poller
 * may be polling (a holder cut off from Redis alone): it stops, says
 * so, and takes the lease again, or stands by, when Redis answers. The
 * seen marks keep the readings of both from being doubled.
 *
 * Runs on the hand-off thread (the Redis connection's owner).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poller.h"
#include "rds.h"

static const char renew_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
/* The first acquisition ever of an account writes the time; every
 * acquisition reads it. */
static const char since_lua[] =
    "redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) "
    "return redis.call('HGET', KEYS[1], ARGV[1])";
/* A session found going on when the account was first polled moves the
 * time back to its start; never forward. */
static const char lower_lua[] =
    "local v = tonumber(redis.call('HGET', KEYS[1], ARGV[1])) "
    "if v == nil or v > tonumber(ARGV[2]) then "
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return 1";
static const char release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) else return 0 end";

/*
 * grilld:poller:seen into a new map, each channel's gaps from
 * grilld:poller:gaps in its entry (archive.c); NULL when Redis failed.
 */
struct strmap *
lease_load_seen(struct rds *db, const char *key, const char *gaps_key)
{
	redisReply *r = rds_command(db, "HGETALL %s", key), *g = NULL;
	struct strmap *m = NULL;
	struct strmap_entry *e;
	int64_t v;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY)
		g = rds_command(db, "HGETALL %s", gaps_key);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || g == NULL ||
	    g->type != REDIS_REPLY_ARRAY || (m = calloc(1, sizeof(*m))) ==
	    NULL) {
		const redisReply *bad = r != NULL && r->type !=
		    REDIS_REPLY_ARRAY ? r : g;

		if (bad != NULL)
			log_warnx("redis: HGETALL %s: %s", bad == r ? key :
			    gaps_key, bad->type == REDIS_REPLY_ERROR ?
			    bad->str : "unexpected reply");
		goto fail;
	}
	strmap_init(m);
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i], *val = r->element[i + 1];

		if (k->type != REDIS_REPLY_STRING ||
		    val->type != REDIS_REPLY_STRING ||
		    util_parse_int(val->str, &v) == -1)
			continue;
		if ((e = strmap_put(m, k->str)) == NULL)
			goto fail;
		e->num = v;
	}
	for (size_t i = 0; i + 1 < g->elements; i += 2) {
		const redisReply *k = g->element[i], *val = g->element[i + 1];

		if (k->type != REDIS_REPLY_STRING ||
		    val->type != REDIS_REPLY_STRING)
			continue;
		if ((e = strmap_put(m, k->str)) == NULL)
			goto fail;
		if (e->ptr == NULL &&
		    (e->ptr = calloc(1, sizeof(struct tw_gapset))) == NULL)
			goto fail;
		if (archive_gaps_parse(val->str, e->ptr) == -1)
			goto fail;
	}
	freeReplyObject(r);
	freeReplyObject(g);
	return m;
fail:
	if (m != NULL) {
		archive_seen_free(m);
		free(m);
	}
	if (r != NULL)
		freeReplyObject(r);
	if (g != NULL)
		freeReplyObject(g);
	return NULL;
}

/* When grilld first polled the account, in microseconds; 0 on failure. */
static int64_t
load_since(struct poller *p, struct rds *db, const struct tw_account *a)
{
	char now[32];
	redisReply *r;
	int64_t v = 0;

	snprintf(now, sizeof(now), "%lld", (long long)(util_now_ns() / 1000));
	if ((r = rds_command(db, "EVAL %s 1 %s %s %s", since_lua, p->k_since,
	    a->email, now)) == NULL)
		return 0;
	if (r->type != REDIS_REPLY_STRING || util_parse_int(r->str, &v) == -1)
		v = 0;
	freeReplyObject(r);
	return v;
}

static void
set_lease(struct tw_account *a, enum lease_state s, const char *holder)
{
	int old = atomic_exchange(&a->lease, s);

	if (old == (int)s)
		return;
	if (s == LEASE_STANDBY)
		log_info("%s: polled by another poller (%s); standing by",
		    a->email, holder ? holder : "?");
	else if (s == LEASE_HELD && old == LEASE_STANDBY)
		log_info("%s: lease taken over; polling", a->email);
	else if (s == LEASE_HELD)
		log_info("%s: lease taken; polling", a->email);
}

/*
 * The lease is ours (new, or found ours and renewed), from the time the
 * command was sent: load the marks, activate.
 */
static void
acquired(struct poller *p, struct rds *db, struct tw_account *a,
    int64_t sent_ms)
{
	struct strmap *m = lease_load_seen(db, p->k_seen, p->k_gaps);

	if (m == NULL)
		return;		/* tried again next tick */
	lease_since_flush(p, db);
	atomic_store(&a->since_us, load_since(p, db, a));
	a->lease_until_ms = sent_ms + p->cf->poller.lease_ttl;
	handoff_post_seen(p, m);
	atomic_fetch_add(&a->lease_epoch, 1);
	set_lease(a, LEASE_HELD, NULL);
}

static void
try_acquire(struct poller *p, struct rds *db, struct tw_account *a,
    const char *ttl)
{
	int64_t sent = util_mono_ms();
	redisReply *r = rds_command(db, "SET %s %s NX PX %s", a->lease_key,
	    p->id, ttl);

	if (r == NULL)
		return;			/* Redis is away: nothing changes */
	if (r->type == REDIS_REPLY_STATUS) {
		freeReplyObject(r);
		acquired(p, db, a, sent);
		return;
	}
	freeReplyObject(r);
	sent = util_mono_ms();
	if ((r = rds_command(db, "EVAL %s 1 %s %s %s", renew_lua,
	    a->lease_key, p->id, ttl)) == NULL)
		return;
	if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
		/* Ours already (renewed now): marks not loaded yet. */
		freeReplyObject(r);
		acquired(p, db, a, sent);
		return;
	}
	freeReplyObject(r);
	if ((r = rds_command(db, "GET %s", a->lease_key)) == NULL)
		return;
	if (r->type == REDIS_REPLY_STRING && strcmp(r->str, p->id) != 0)
		set_lease(a, LEASE_STANDBY, r->str);
	freeReplyObject(r);
}

static void
renew(struct poller *p, struct rds *db, struct tw_account *a, const char *ttl)
{
	int64_t sent = util_mono_ms();
	redisReply *r = rds_command(db, "EVAL %s 1 %s %s %s", renew_lua,
	    a->lease_key, p->id, ttl);

	if (r == NULL)
		return;		/* keep polling until lease_until_ms */
	if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
		a->lease_until_ms = sent + p->cf->poller.lease_ttl;
		freeReplyObject(r);
		return;
	}
	if (r->type == REDIS_REPLY_ERROR)
		log_warnx("%s: lease renewal: %s", a->email, r->str);
	freeReplyObject(r);
	/* Expired (Redis was away) or taken: take it again if free. */
	try_acquire(p, db, a, ttl);
}

/*
 * A lease not renewed within its TTL may be another poller's by now:
 * stop polling its account. Cheap; called at every turn of the hand-off
 * thread, so a Redis that stays away is noticed on time.
 */
void
lease_expire(struct poller *p)
{
	struct tw_account *a;
	int64_t now = util_mono_ms();

	TAILQ_FOREACH(a, &p->accounts, entry) {
		if (atomic_load(&a->lease) != LEASE_HELD ||
		    now < a->lease_until_ms)
			continue;
		log_warnx("%s: lease not renewed for poller.lease_ttl (%lld ms; "
		    "Redis unreachable): another poller may hold it now; "
		    "polling stops until Redis answers", a->email,
		    (long long)p->cf->poller.lease_ttl);
		atomic_store(&a->lease, LEASE_WAIT);
	}
}

/* Takes, renews or watches every account's lease. */
void
lease_tick(struct poller *p, struct rds *db, int64_t now)
{
	struct tw_account *a;
	char ttl[24];

	snprintf(ttl, sizeof(ttl), "%lld", (long long)p->cf->poller.lease_ttl);
	lease_expire(p);
	TAILQ_FOREACH(a, &p->accounts, entry) {
		if (atomic_load(&a->lease) == LEASE_HELD)
			renew(p, db, a, ttl);
		else
			try_acquire(p, db, a, ttl);
	}
}

/* At shut-down: another poller may take over at once. */
void
lease_release_all(struct poller *p, struct rds *db)
{
	struct tw_account *a;
	redisReply *r;

	TAILQ_FOREACH(a, &p->accounts, entry) {
		if (atomic_load(&a->lease) != LEASE_HELD)
			continue;
		if ((r = rds_command(db, "EVAL %s 1 %s %s", release_lua,
		    a->lease_key, p->id)) != NULL)
			freeReplyObject(r);
		atomic_store(&a->lease, LEASE_WAIT);
	}
}

/*
 * The main thread found a device whose session began before the account
 * was first polled, at from_us: what it records from then on is wanted
 * too (archive_gap_from()). Main thread.
 */
void
lease_since_lower(struct tw_account *a, int64_t from_us)
{
	int64_t since = atomic_load(&a->since_us), want;

	if (from_us <= 0 || since <= 0 || from_us >= since)
		return;
	atomic_store(&a->since_us, from_us);
	want = atomic_load(&a->since_want_us);
	while ((want == 0 || from_us < want) &&
	    !atomic_compare_exchange_weak(&a->since_want_us, &want, from_us))
		;
}

/* Writes the lowered times to poller:since (hand-off thread, each turn). */
void
lease_since_flush(struct poller *p, struct rds *db)
{
	struct tw_account *a;
	redisReply *r;
	int64_t want, zero;
	char v[32];

	TAILQ_FOREACH(a, &p->accounts, entry) {
		if ((want = atomic_exchange(&a->since_want_us, 0)) == 0)
			continue;
		snprintf(v, sizeof(v), "%lld", (long long)want);
		if ((r = rds_command(db, "EVAL %s 1 %s %s %s", lower_lua,
		    p->k_since, a->email, v)) != NULL &&
		    r->type != REDIS_REPLY_ERROR) {
			freeReplyObject(r);
			continue;
		}
		if (r != NULL) {
			log_warnx("redis: %s: %s", p->k_since, r->str);
			freeReplyObject(r);
		}
		zero = 0;	/* again next turn, unless lowered meanwhile */
		atomic_compare_exchange_strong(&a->since_want_us, &zero, want);
	}
}
