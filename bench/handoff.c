/*
 * handoff: grilld's hand-off through Redis, measured with the very
 * commands the daemons send, over common/rds.h (bench/handoff.sh runs it
 * beside redis-benchmark sending the same commands).
 *
 *   handoff -u REDIS_URL -k STREAM [-n N] [-b BATCH] [-d DEVICES] MODE
 *
 *   produce  the poller's side (poller/handoff.c): one EVALSHA of the
 *            emit script per BATCH readings (the poller's HANDOFF_BATCH,
 *            512): for each, XADD to the stream and HSET of the
 *            channel's seen mark, skipped when the mark is already
 *            there; one connection; the marks go to STREAM:seen (no gaps,
 *            so STREAM:gaps stays empty)
 *   preload  N entries with the ids 1-0 .. N-0 (plain XADD, pipelined),
 *            for the consume runs and for redis-benchmark's XACK
 *   consume  the ingester's side (ingest/consume.c): XREADGROUP GROUP
 *            bench c COUNT BATCH STREAMS STREAM >, then XACK of the ids
 *            read in one command, until N entries were read; the group
 *            is created at 0 first (and destroyed before, if it exists)
 *
 * The reading is the same JSON for every call (a reading as
 * reading_write_json() writes it, with a traceparent): the payload
 * redis-benchmark sends too. Prints one line: "rate N_PER_S n N secs S".
 * Exits 1 on any Redis error or an unexpected reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rds.h"
#include "reading.h"
#include "rkeys.h"
#include "util.h"

#define STREAM_MAX	"1000000"	/* ingest.stream_max's default */

struct bench {
	struct rds	*db;
	const char	*stream;
	char		 seen[256];
	char		 gaps[256];
	long		 n, batch, devices;
	struct buf	 json;
};

static void
usage(void)
{
	fprintf(stderr, "usage: handoff -u redis_url -k stream [-n count] "
	    "[-b batch] [-d devices] produce|preload|consume\n");
	exit(2);
}

static int
fail(struct bench *b, const char *what, const redisReply *r)
{
	fprintf(stderr, "handoff: %s: %s\n", what, r == NULL ? b->db->errstr :
	    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	return -1;
}

/* The reading every call carries. */
static int
make_json(struct bench *b)
{
	struct reading r;

	reading_init(&r);
	util_strlcpy(r.device_id, "SB000042", sizeof(r.device_id));
	util_strlcpy(r.probe_id, "2", sizeof(r.probe_id));
	r.value = 203.5;
	r.has_value = true;
	r.unit = 'F';
	r.ts_ns = util_now_ns();
	r.battery = 80;
	r.signal = -61;
	r.status = PROBE_NORMAL;
	util_strlcpy(r.source, "thermoworks", sizeof(r.source));
	util_strlcpy(r.label, "Brisket", sizeof(r.label));
	util_strlcpy(r.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-"
	    "00f067aa0ba902b7-01", sizeof(r.traceparent));
	buf_init(&b->json);
	return reading_write_json(&b->json, &r, 0);
}

/* Reads n pipelined replies; counts the integer replies equal to one. */
static int
drain(struct bench *b, long n, long *ones)
{
	redisReply *r;
	int rc = 0;

	for (long i = 0; i < n; i++) {
		if ((r = rds_get_reply(b->db)) == NULL)
			return fail(b, "reply", NULL);
		if (r->type == REDIS_REPLY_ERROR)
			rc = fail(b, "command", r);
		else if (ones != NULL && r->type == REDIS_REPLY_INTEGER &&
		    r->integer == 1)
			(*ones)++;
		freeReplyObject(r);
	}
	return rc;
}

static int
produce(struct bench *b)
{
	char sha[64], (*mark)[32], (*ts)[32];
	const char **argv;
	size_t *lens;
	redisReply *r;
	int64_t t0 = util_now_ns() / 1000;
	long appended = 0;
	int rc = -1;

	r = rds_command(b->db, "SCRIPT LOAD %s", rkey_emit_lua);
	if (r == NULL || r->type != REDIS_REPLY_STRING)
		return fail(b, "SCRIPT LOAD", r);
	util_strlcpy(sha, r->str, sizeof(sha));
	freeReplyObject(r);

	mark = calloc((size_t)b->batch, sizeof(*mark));
	ts = calloc((size_t)b->batch, sizeof(*ts));
	argv = calloc(9 + 4 * (size_t)b->batch, sizeof(*argv));
	lens = calloc(9 + 4 * (size_t)b->batch, sizeof(*lens));
	if (mark == NULL || ts == NULL || argv == NULL || lens == NULL)
		goto out;
	argv[0] = "EVALSHA";
	argv[1] = sha;
	argv[2] = "3";
	argv[3] = b->stream;
	argv[4] = b->seen;
	argv[5] = b->gaps;
	argv[6] = STREAM_MAX;
	argv[7] = "9000000000000000";	/* no mark is past it */
	argv[8] = "0";			/* no gap is given up */
	for (int a = 0; a < 9; a++)
		lens[a] = strlen(argv[a]);
	for (long i = 0; i < b->n; i += b->batch) {
		long k = b->n - i < b->batch ? b->n - i : b->batch;
		int na = 9;

		for (long j = i; j < i + k; j++) {
			long ch = j % (b->devices * 4), x = j - i;

			/* Each channel's time moves on by a second a round. */
			snprintf(mark[x], sizeof(mark[x]), "SB%06ld/%ld",
			    ch / 4, ch % 4 + 1);
			snprintf(ts[x], sizeof(ts[x]), "%lld", (long long)(t0 +
			    j / (b->devices * 4) * 1000000));
			argv[na] = mark[x];
			lens[na++] = strlen(mark[x]);
			argv[na] = ts[x];
			lens[na++] = strlen(ts[x]);
			argv[na] = "0";		/* no gap before it */
			lens[na++] = 1;
			argv[na] = b->json.data;
			lens[na++] = b->json.len;
		}
		r = rds_commandargv(b->db, na, argv, lens);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
		    r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_INTEGER) {
			fail(b, "EVALSHA", r);
			goto out;
		}
		appended += (long)r->element[0]->integer;
		freeReplyObject(r);
	}
	if (appended != b->n) {
		fprintf(stderr, "handoff: %ld of %ld readings appended (is the "
		    "stream fresh?)\n", appended, b->n);
		goto out;
	}
	rc = 0;
out:
	free(mark);
	free(ts);
	free(argv);
	free(lens);
	return rc;
}

static int
preload(struct bench *b)
{
	char id[32];
	const char *argv[RKEY_XADD_ARGC];
	size_t lens[RKEY_XADD_ARGC];

	for (long i = 0; i < b->n; i += b->batch) {
		long k = b->n - i < b->batch ? b->n - i : b->batch;

		for (long j = i; j < i + k; j++) {
			snprintf(id, sizeof(id), "%ld-0", j + 1);
			rkey_readings_xadd(argv, lens, b->stream, b->json.data,
			    b->json.len);
			argv[2] = id;	/* XADD stream id ...: ids known */
			lens[2] = strlen(id);
			if (rds_append_argv(b->db, RKEY_XADD_ARGC, argv, lens) == -1)
				return fail(b, "XADD", NULL);
		}
		if (drain(b, k, NULL) == -1)
			return -1;
	}
	return 0;
}

struct ids {
	const char	**v;
	size_t		  n;
};

static int
collect(const struct rds_entry *e, void *arg)
{
	struct ids *ids = arg;

	ids->v[3 + ids->n++] = e->id;
	return 0;
}

static int
consume(struct bench *b)
{
	char count[24];
	redisReply *r;
	struct ids ids;
	long got = 0;
	int rc = -1;

	r = rds_command(b->db, "XGROUP DESTROY %s bench", b->stream);
	if (r != NULL)
		freeReplyObject(r);
	r = rds_command(b->db, "XGROUP CREATE %s bench 0", b->stream);
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		return fail(b, "XGROUP CREATE", r);
	freeReplyObject(r);
	if ((ids.v = calloc((size_t)b->batch + 3, sizeof(*ids.v))) == NULL)
		return fail(b, "memory", NULL);
	ids.v[0] = "XACK";
	ids.v[1] = b->stream;
	ids.v[2] = "bench";
	snprintf(count, sizeof(count), "%ld", b->batch);
	while (got < b->n) {
		redisReply *ack;

		r = rds_command(b->db, "XREADGROUP GROUP bench c COUNT %s "
		    "STREAMS %s >", count, b->stream);
		ids.n = 0;
		if (r == NULL || rds_stream_entries(r, collect, &ids) == -1) {
			fail(b, "XREADGROUP", r);
			goto done;
		}
		if (ids.n == 0) {
			fprintf(stderr, "handoff: the stream ran dry after %ld "
			    "of %ld entries\n", got, b->n);
			goto done;
		}
		ack = rds_commandargv(b->db, (int)ids.n + 3, ids.v, NULL);
		freeReplyObject(r);
		r = NULL;
		if (ack == NULL || ack->type != REDIS_REPLY_INTEGER ||
		    (size_t)ack->integer != ids.n) {
			fail(b, "XACK", ack);
			if (ack != NULL)
				freeReplyObject(ack);
			goto done;
		}
		freeReplyObject(ack);
		got += (long)ids.n;
	}
	rc = 0;
done:
	if (r != NULL)
		freeReplyObject(r);
	free(ids.v);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct bench b;
	const char *url = NULL, *mode;
	char err[256];
	int64_t t0, t1;
	int ch, rc;

	memset(&b, 0, sizeof(b));
	b.n = 100000;
	b.batch = 512;
	b.devices = 10000;
	while ((ch = getopt(argc, argv, "u:k:n:b:d:")) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 'k': b.stream = optarg; break;
		case 'n': b.n = atol(optarg); break;
		case 'b': b.batch = atol(optarg); break;
		case 'd': b.devices = atol(optarg); break;
		default: usage();
		}
	}
	if (url == NULL || b.stream == NULL || optind != argc - 1 ||
	    b.n < 1 || b.batch < 1 || b.devices < 1)
		usage();
	mode = argv[optind];
	snprintf(b.seen, sizeof(b.seen), "%s:seen", b.stream);
	snprintf(b.gaps, sizeof(b.gaps), "%s:gaps", b.stream);
	if ((b.db = rds_connect(url, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "handoff: %s\n", err);
		return 1;
	}
	if (make_json(&b) == -1) {
		fprintf(stderr, "handoff: cannot encode the reading\n");
		return 1;
	}
	t0 = util_mono_ns();
	if (strcmp(mode, "produce") == 0)
		rc = produce(&b);
	else if (strcmp(mode, "preload") == 0)
		rc = preload(&b);
	else if (strcmp(mode, "consume") == 0)
		rc = consume(&b);
	else
		usage();
	t1 = util_mono_ns();
	if (rc == 0)
		printf("rate %.0f n %ld secs %.3f\n", (double)b.n * 1e9 /
		    (double)(t1 - t0), b.n, (double)(t1 - t0) / 1e9);
	buf_free(&b.json);
	rds_free(b.db);
	return rc == 0 ? 0 : 1;
}
