/*
 * The poller's timing and decisions, without a network: the schedule
 * and its jitter, when a token is refreshed, when the archives are
 * fetched, how archive rows are read, and the map behind the seen marks.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../poller/poller.h"
#include "unit.h"

static void
t_jitter_bounds(void)
{
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	double sum = 0;
	int n = 100000;

	CHECK_INT(sched_jitter(30000, 0.1, 0), -3000);
	CHECK_INT(sched_jitter(30000, 0.1, UINT64_MAX), 3000);
	CHECK_INT(sched_jitter(30000, 0, UINT64_MAX), 0);
	backoff_seed(7);
	for (int i = 0; i < n; i++) {
		int64_t j = sched_jitter(30000, 0.1, backoff_rand());

		lo = j < lo ? j : lo;
		hi = j > hi ? j : hi;
		sum += (double)j;
	}
	CHECK(lo >= -3000 && lo < -2900);	/* the whole range is used */
	CHECK(hi <= 3000 && hi > 2900);
	CHECK_DBL(sum / n, 0, 30);		/* centred: no drift */
}

static void
t_sched_cadence(void)
{
	struct sched s;
	int64_t now = 1000000;

	sched_init(&s, 5000, 0.1, now);
	CHECK_INT(s.next_ms, now);		/* the first cycle at once */
	for (int k = 1; k <= 1000; k++) {
		sched_advance(&s, s.next_ms, backoff_rand());
		/* tick k stays within jitter of start + k * interval */
		CHECK_INT(s.nominal_ms, now + k * 5000);
		CHECK(s.next_ms >= s.nominal_ms - 500 &&
		    s.next_ms <= s.nominal_ms + 500);
	}
}

static void
t_sched_fell_behind(void)
{
	struct sched s;

	sched_init(&s, 5000, 0, 0);
	/* The loop was away for 22 s: the missed ticks are not replayed. */
	sched_advance(&s, 22000, 0);
	CHECK_INT(s.nominal_ms, 25000);
	CHECK_INT(s.next_ms, 25000);
	/* Jitter never puts the next tick in the past. */
	sched_init(&s, 5000, 0.5, 0);
	sched_advance(&s, 4999, 0);
	CHECK(s.next_ms > 4999);
}

static void
t_refresh_margin(void)
{
	CHECK_INT(auth_refresh_margin_ms(3600 * 1000), 60000);
	CHECK_INT(auth_refresh_margin_ms(20000), 5000);	/* short tokens */
	CHECK_INT(auth_refresh_margin_ms(240000), 60000);
}

static void
t_archive_needed(void)
{
	struct tw_device d;
	struct tw_channel ch;

	memset(&d, 0, sizeof(d));
	memset(&ch, 0, sizeof(ch));
	d.doc.recording_s = 30;
	ch.doc.last_telemetry_ns = INT64_C(1000) * NS_PER_S;
	CHECK(archive_needed(&d, &ch));		/* never seen: the session */
	ch.seen_us = INT64_C(970) * 1000000;
	CHECK(!archive_needed(&d, &ch));	/* one recording apart */
	ch.seen_us = INT64_C(940) * 1000000;
	CHECK(archive_needed(&d, &ch));		/* one was in between */
	ch.seen_us = INT64_C(1000) * 1000000;
	CHECK(!archive_needed(&d, &ch));	/* nothing new */
	d.doc.recording_s = 0;			/* unknown interval */
	ch.seen_us = INT64_C(999) * 1000000;
	CHECK(archive_needed(&d, &ch));
}

/*
 * Durable gaps (archive.c): a field of grilld:poller:gaps read back,
 * sorted, overlapping ones merged, touching ones kept apart (the live
 * point between them was sent), unreadable pairs skipped; a set added
 * to a channel's gaps the same way, and the "@b" mark passing them.
 */
static void
t_gaps_durable(void)
{
	struct tw_gapset set = { NULL, 0 };
	struct tw_channel ch;
	struct strmap m;
	struct strmap_entry *e;

	CHECK_INT(archive_gaps_parse("300-400 100-200 x 200-250 150-180 "
	    "500-501 600-700", &set), 0);
	CHECK_INT(set.n, 4);
	CHECK(set.g[0].from_us == 100 && set.g[0].to_us == 200);
	CHECK(set.g[1].from_us == 200 && set.g[1].to_us == 250);
	CHECK(set.g[2].from_us == 300 && set.g[2].to_us == 400);
	CHECK(set.g[3].from_us == 600 && set.g[3].to_us == 700);
	CHECK_INT(archive_gaps_parse("", &set), 0);
	CHECK_INT(set.n, 4);

	memset(&ch, 0, sizeof(ch));
	CHECK_INT(archive_gap_add(&ch, 350, 380), 0);
	CHECK_INT(archive_gap_add(&ch, 400, 450), 0);
	CHECK_INT(archive_gaps_union(&ch.gaps, &ch.ngaps, set.g, set.n), 0);
	CHECK_INT(ch.ngaps, 5);
	CHECK(ch.gaps[2].from_us == 300 && ch.gaps[2].to_us == 400);
	CHECK(ch.gaps[3].from_us == 400 && ch.gaps[3].to_us == 450);
	/* The live point at 200 was sent; 201..249 were not. */
	CHECK(!archive_in_gap(&ch, 200));
	CHECK(archive_in_gap(&ch, 201));
	CHECK(!archive_in_gap(&ch, 400));
	/* Backfilled up to 320: only what is after it stays to fill. */
	archive_gaps_done(&ch, 320);
	CHECK_INT(ch.ngaps, 3);
	CHECK(ch.gaps[0].from_us == 320 && ch.gaps[0].to_us == 400);
	CHECK(!archive_in_gap(&ch, 320));
	CHECK(archive_in_gap(&ch, 321));
	archive_chan_free(&ch);
	free(set.g);

	/* Gaps of a spool's records, by key, freed with the map. */
	strmap_init(&m);
	CHECK_INT(archive_gapset_add(&m, "S1/1", 10, 20), 0);
	CHECK_INT(archive_gapset_add(&m, "S1/1", 20, 30), 0);
	CHECK_INT(archive_gapset_add(&m, "S1/1", 5, 6), 0);	/* empty */
	CHECK((e = strmap_get(&m, "S1/1")) != NULL && e->ptr != NULL);
	CHECK_INT(((struct tw_gapset *)e->ptr)->n, 2);
	archive_seen_free(&m);
}

/*
 * A device's own schedule: half a second after its next upload is due;
 * found nothing: 1, 2, 4 ... s, never past the ceiling; unknown: none.
 */
static void
t_device_schedule(void)
{
	int64_t now = 1000000, ns = INT64_C(1767225600) * NS_PER_S;

	/* Uploaded 10 s ago, every 60 s: due in 50 s, polled at 50.5. */
	CHECK_INT(sched_device_next(now, ns, ns - 10 * NS_PER_S, 60, 60000, 0),
	    now + 50500);
	/* A Node: every 7,200 s; the ceiling is its interval. */
	CHECK_INT(sched_device_next(now, ns, ns, 7200, 7200000, 0),
	    now + 7200000);
	/* An RFX Meat probe: heartbeat 300 s, but poller.interval (30 s)
	 * caps the wait: it also uploads on a temperature step. */
	CHECK_INT(sched_device_next(now, ns, ns, 300, 30000, 0), now + 30000);
	/* Due already and nothing new: 1 s, 2 s, 4 s ... */
	CHECK_INT(sched_device_next(now, ns, ns - 61 * NS_PER_S, 60, 60000, 1),
	    now + 2000);
	CHECK_INT(sched_device_next(now, ns, ns - 61 * NS_PER_S, 60, 60000, 0),
	    now + 1000);
	CHECK_INT(sched_device_next(now, ns, ns - 3600 * NS_PER_S, 60, 30000,
	    20), now + 30000);
	/* Early and the upload still ahead: wait for it. */
	CHECK_INT(sched_device_next(now, ns, ns - 10 * NS_PER_S, 60, 60000, 1),
	    now + 50500);
	/* Nothing to go by. */
	CHECK_INT(sched_device_next(now, ns, 0, 60, 60000, 0), 0);
	CHECK_INT(sched_device_next(now, ns, ns, 0, 60000, 0), 0);
}

/* An archive document as listed: filename, start, end, createdOn. */
static void
t_archive_doc(void)
{
	cJSON *doc = cJSON_Parse("{\"name\":\"x/documents/devices/"
	    "10:06:1C:6F:47:70/archive/abc\",\"fields\":{"
	    "\"filename\":{\"stringValue\":\"archives/10:06:1C:6F:47:70/abc.json\"},"
	    "\"start\":{\"timestampValue\":\"2026-01-01T00:00:00.000Z\"},"
	    "\"end\":{\"timestampValue\":\"2026-01-01T04:00:00.000Z\"},"
	    "\"createdOn\":{\"timestampValue\":\"2026-01-01T07:12:00.000Z\"},"
	    "\"count\":{\"integerValue\":\"960\"},"
	    "\"type\":{\"stringValue\":\"auto\"},"
	    "\"channels\":{\"arrayValue\":{\"values\":[{\"mapValue\":{"
	    "\"fields\":{\"number\":{\"stringValue\":\"1\"}}}}]}}}}");
	cJSON *old = cJSON_Parse("{\"fields\":{\"file\":{\"stringValue\":"
	    "\"a.json\"}}}");
	char name[128];
	int64_t start, end, created, t;

	CHECK_INT(archive_parse_doc(doc, name, sizeof(name), &start, &end,
	    &created), 0);
	CHECK_STR(name, "archives/10:06:1C:6F:47:70/abc.json");
	util_time_parse("2026-01-01T00:00:00Z", &t);
	CHECK_INT(start, t);
	util_time_parse("2026-01-01T04:00:00Z", &t);
	CHECK_INT(end, t);
	util_time_parse("2026-01-01T07:12:00Z", &t);
	CHECK_INT(created, t);
	/* The shape grilld once assumed names no file. */
	CHECK_INT(archive_parse_doc(old, name, sizeof(name), &start, &end,
	    &created), -1);
	cJSON_Delete(doc);
	cJSON_Delete(old);
}

static void
t_archive_rows(void)
{
	const char *file = "{\"serial\":\"S1\",\"sessionStart\":1,"
	    "\"readings\":[[2,1767225602000,71.5,\"F\"],"
	    "[1,1767225602000,225.10000610351562,\"F\"],"
	    "[1,1767225600000,null,\"F\"],[\"x\",1,2,\"F\"],[1],"
	    "[3,1767225600000,44,\"H\"],[1,1767225601000,\"hot\",\"F\"]]}";
	struct archive_row *r;
	size_t n, bad;

	r = archive_parse_rows(file, strlen(file), &n, &bad);
	CHECK(r != NULL);
	CHECK_INT(n, 4);
	CHECK_INT(bad, 3);
	if (r != NULL && n == 4) {
		/* by channel, then time */
		CHECK_INT(r[0].channel, 1);
		CHECK(!r[0].has_value);
		CHECK(r[0].ts_ns == INT64_C(1767225600000) * NS_PER_MS);
		CHECK_INT(r[1].channel, 1);
		CHECK_DBL(r[1].value, 225.10000610351562, 0);
		CHECK_INT(r[2].channel, 2);
		CHECK_INT(r[3].unit, 'H');
	}
	free(r);
	CHECK(archive_parse_rows("{\"rows\":[]}", 11, &n, &bad) == NULL);
	CHECK(archive_parse_rows("{\"readings\":[[1,2", 17, &n, &bad) ==
	    NULL);
	r = archive_parse_rows("{\"readings\":[]}", 15, &n, &bad);
	CHECK(r != NULL && n == 0);
	free(r);
	/* The real files: the channel number is a string. */
	r = archive_parse_rows("{\"serial\":\"10:06:1C:6F:47:70\","
	    "\"start\":\"2026-01-01T00:00:00.000Z\",\"readings\":["
	    "[\"3\",1767225600000,48,\"H\"],[\"1\",1767225600000,71.5,\"F\"],"
	    "[\"x\",1767225600000,1,\"F\"],[\"0\",1767225600000,1,\"F\"],"
	    "[\"1\",1767225000000,null,\"F\"]]}", 215, &n, &bad);
	CHECK(r != NULL && n == 3 && bad == 2);
	if (r != NULL && n == 3) {
		CHECK_INT(r[0].channel, 1);
		CHECK(!r[0].has_value);
		CHECK_INT(r[1].channel, 1);
		CHECK_INT(r[2].channel, 3);	/* a hole at 2 */
		CHECK_INT(r[2].unit, 'H');
	}
	free(r);
	/* Found by fuzz_poller_archive: half a millisecond is no time. */
	r = archive_parse_rows("{\"readings\":[[1,0.5,2,\"F\"]]}", 28, &n,
	    &bad);
	CHECK(r != NULL && n == 0 && bad == 1);
	free(r);
}

/*
 * After a device clock stepped back: a file's spans on each clock, the
 * gaps' parts inside them filled, and a gap's rows going out in order.
 */
static void
t_archive_step(void)
{
	/* An hour back after 1767225602: rows on both clocks. */
	const char *file = "{\"readings\":["
	    "[\"1\",1767225601000,70,\"F\"],[\"2\",1767225601000,71,\"F\"],"
	    "[\"1\",1767225602000,70,\"F\"],[\"2\",1767225602000,71,\"F\"],"
	    "[\"1\",1767222003000,70,\"F\"],[\"2\",1767222003000,71,\"F\"],"
	    "[\"1\",1767222004000,70,\"F\"]]}";
	struct archive_span *sp;
	struct archive_row *r;
	struct tw_channel ch;
	size_t n, bad, ns;

	r = archive_parse_file(file, strlen(file), &n, &bad, &sp, &ns);
	CHECK(r != NULL && n == 7 && bad == 0);
	CHECK_INT(ns, 2);
	if (ns == 2) {
		CHECK(sp[0].lo_ns == INT64_C(1767225601000) * NS_PER_MS);
		CHECK(sp[0].hi_ns == INT64_C(1767225602000) * NS_PER_MS);
		CHECK(sp[1].lo_ns == INT64_C(1767222003000) * NS_PER_MS);
		CHECK(sp[1].hi_ns == INT64_C(1767222004000) * NS_PER_MS);
	}
	free(r);
	free(sp);

	/* Gaps on both clocks: 100..200 (new), 1000..2000 (old). */
	memset(&ch, 0, sizeof(ch));
	CHECK_INT(archive_gap_add(&ch, 1000, 2000), 0);
	CHECK_INT(archive_gaps_union(&ch.gaps, &ch.ngaps,
	    &(struct tw_gap){ 100, 200 }, 1), 0);
	CHECK_INT(ch.ngaps, 2);
	/* A span inside a gap cuts it in two... */
	CHECK_INT(archive_gaps_cover(&ch, 1200, 1300, 1), 0);
	CHECK_INT(ch.ngaps, 3);
	CHECK(ch.gaps[1].from_us == 1000 && ch.gaps[1].to_us == 1200);
	CHECK(ch.gaps[2].from_us == 1300 && ch.gaps[2].to_us == 2000);
	CHECK(!archive_in_gap(&ch, 1250));
	CHECK(archive_in_gap(&ch, 1199) && archive_in_gap(&ch, 1301));
	/* ...across the ends shortens them, over a whole one fills it. */
	CHECK_INT(archive_gaps_cover(&ch, 50, 150, 1), 0);
	CHECK(ch.gaps[0].from_us == 150 && ch.gaps[0].to_us == 200);
	CHECK_INT(archive_gaps_cover(&ch, 1001, 1199, 1), 1);
	CHECK_INT(ch.ngaps, 2);
	CHECK_INT(archive_gaps_cover(&ch, 5000, 6000, 1), 0);
	CHECK_INT(ch.ngaps, 2);
	/* A row gone out: its gap starts there; the last one closes it. */
	archive_gap_passed(&ch, 180);
	CHECK(ch.gaps[0].from_us == 180 && ch.gaps[0].to_us == 200);
	CHECK(!archive_in_gap(&ch, 170));
	archive_gap_passed(&ch, 199);
	CHECK_INT(ch.ngaps, 1);
	CHECK(ch.gaps[0].from_us == 1300);
	archive_gap_passed(&ch, 3000);		/* in no gap */
	CHECK_INT(ch.ngaps, 1);
	/*
	 * Two sessions' files, recording every 100: between the last point
	 * of one (1500) and the first of the next (1600) none is missing.
	 */
	CHECK_INT(archive_gaps_cover(&ch, 1000, 1500, 100), 0);
	CHECK(ch.gaps[0].from_us == 1500 && ch.gaps[0].to_us == 2000);
	CHECK_INT(archive_gaps_cover(&ch, 1600, 1900, 100), 1);
	CHECK_INT(ch.ngaps, 0);
	archive_chan_free(&ch);
}

static void
t_strmap(void)
{
	struct strmap m;
	struct strmap_entry *e;
	char key[32];
	size_t i = 0, seen = 0;

	strmap_init(&m);
	CHECK(strmap_get(&m, "x") == NULL);
	for (int k = 0; k < 5000; k++) {
		snprintf(key, sizeof(key), "S%05d/%d", k / 4, k % 4 + 1);
		CHECK((e = strmap_put(&m, key)) != NULL);
		if (e != NULL)
			e->num = k;
	}
	CHECK_INT(m.len, 5000);
	CHECK((e = strmap_get(&m, "S00100/3")) != NULL && e->num == 402);
	for (int k = 0; k < 5000; k += 2) {
		snprintf(key, sizeof(key), "S%05d/%d", k / 4, k % 4 + 1);
		CHECK_INT(strmap_del(&m, key), 0);
	}
	CHECK_INT(strmap_del(&m, "S00000/1"), -1);
	CHECK_INT(m.len, 2500);
	CHECK(strmap_get(&m, "S00100/3") == NULL);
	CHECK((e = strmap_get(&m, "S00100/4")) != NULL && e->num == 403);
	/* Re-adding after deletes reuses the slots. */
	CHECK((e = strmap_put(&m, "S00100/3")) != NULL && e->num == 0);
	while ((e = strmap_next(&m, &i)) != NULL)
		seen++;
	CHECK_INT(seen, 2501);
	strmap_free(&m);
}

int
main(void)
{
	UNIT_RUN(t_jitter_bounds);
	UNIT_RUN(t_sched_cadence);
	UNIT_RUN(t_sched_fell_behind);
	UNIT_RUN(t_refresh_margin);
	UNIT_RUN(t_archive_needed);
	UNIT_RUN(t_gaps_durable);
	UNIT_RUN(t_archive_rows);
	UNIT_RUN(t_archive_doc);
	UNIT_RUN(t_archive_step);
	UNIT_RUN(t_device_schedule);
	UNIT_RUN(t_strmap);
	return unit_done();
}
