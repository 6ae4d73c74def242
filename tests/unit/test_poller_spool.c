/*
 * The spool: records written are read back in order, across a reopen;
 * a torn tail or a CRC mismatch is cut off (and kept in .bad); the
 * bound is reported, counting only what is not replayed yet; the
 * replay's place survives a restart (and a damaged head file only means
 * replaying from the start); compaction keeps what is left; an alien
 * file is refused; the hand-off's record format reads back.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../poller/poller.h"
#include "unit.h"

static char path[512];

static const char *
fresh(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", unit_tmpdir(), name);
	unlink(path);
	return path;
}

static int64_t
file_size(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? st.st_size : -1;
}

static void
write_n(struct spool *s, int from, int n)
{
	char rec[64];

	for (int i = from; i < from + n; i++) {
		int len = snprintf(rec, sizeof(rec), "S1/1\t%d\n{\"n\":%d}",
		    1000 + i, i);

		CHECK_INT(spool_append(s, rec, len), 0);
	}
	CHECK_INT(spool_sync(s), 0);
}

/* Reads every record from the head, checking they count up from first. */
static int
read_all(struct spool *s, int first, bool consume)
{
	struct buf b;
	int64_t off = spool_head(s), next;
	int n = 0;

	buf_init(&b);
	while (spool_read(s, off, &b, &next) == 1) {
		char want[64];

		snprintf(want, sizeof(want), "S1/1\t%d\n{\"n\":%d}",
		    1000 + first + n, first + n);
		CHECK_STR(b.data, want);
		if (consume)
			spool_consumed(s, next);
		off = next;
		n++;
	}
	buf_free(&b);
	return n;
}

static void
t_crc32(void)
{
	CHECK(spool_crc32("123456789", 9) == 0xcbf43926u);	/* IEEE */
	CHECK(spool_crc32("", 0) == 0);
}

static void
t_write_replay(void)
{
	struct spool s;
	char err[256];

	CHECK_INT(spool_open(&s, fresh("a.spool"), 1 << 20, err,
	    sizeof(err)), 0);
	CHECK(spool_empty(&s));
	CHECK_INT(file_size(path), SPOOL_HDR_LEN);
	write_n(&s, 0, 100);
	CHECK(!spool_empty(&s));
	CHECK_INT(s.records, 100);
	CHECK_INT(read_all(&s, 0, false), 100);	/* peeking consumes nothing */
	spool_close(&s);

	/* A new process finds them all, in order. */
	CHECK_INT(spool_open(&s, path, 1 << 20, err, sizeof(err)), 0);
	CHECK_INT(s.records, 100);
	CHECK_INT(read_all(&s, 0, true), 100);
	CHECK(spool_empty(&s));
	CHECK_INT(s.records, 0);
	CHECK_INT(spool_reset(&s), 0);
	CHECK_INT(file_size(path), SPOOL_HDR_LEN);
	write_n(&s, 7, 3);			/* usable after a reset */
	CHECK_INT(read_all(&s, 7, true), 3);
	spool_close(&s);
}

static void
t_partial_replay(void)
{
	struct spool s;
	char err[256];
	struct buf b;
	int64_t next;

	CHECK_INT(spool_open(&s, fresh("p.spool"), 1 << 20, err,
	    sizeof(err)), 0);
	write_n(&s, 0, 10);
	buf_init(&b);
	for (int i = 0; i < 4; i++) {
		CHECK_INT(spool_read(&s, spool_head(&s), &b, &next), 1);
		spool_consumed(&s, next);
	}
	buf_free(&b);
	write_n(&s, 10, 5);		/* appended while replaying */
	CHECK_INT(read_all(&s, 4, true), 11);
	spool_close(&s);
}

static void
t_torn_tail(void)
{
	struct spool s;
	char err[256], bad[600];
	int64_t whole;

	CHECK_INT(spool_open(&s, fresh("t.spool"), 1 << 20, err,
	    sizeof(err)), 0);
	write_n(&s, 0, 5);
	whole = file_size(path);
	spool_close(&s);
	/* A crash in the middle of the sixth record. */
	{
		int fd = open(path, O_WRONLY | O_APPEND);
		const unsigned char half[] = { 0, 0, 0, 40, 1, 2, 3, 4, '{' };

		CHECK(fd != -1 && write(fd, half, sizeof(half)) ==
		    (ssize_t)sizeof(half));
		close(fd);
	}
	snprintf(bad, sizeof(bad), "%s.bad", path);
	unlink(bad);
	CHECK_INT(spool_open(&s, path, 1 << 20, err, sizeof(err)), 0);
	CHECK_INT(s.records, 5);
	CHECK_INT(s.dropped_bytes, 9);
	CHECK_INT(file_size(path), whole);
	CHECK_INT(file_size(bad), 9);		/* kept for inspection */
	CHECK_INT(read_all(&s, 0, true), 5);
	write_n(&s, 5, 1);			/* appends after the cut */
	CHECK_INT(read_all(&s, 5, true), 1);
	spool_close(&s);

	/* A header cut short is torn too. */
	CHECK_INT(spool_open(&s, fresh("h.spool"), 1 << 20, err,
	    sizeof(err)), 0);
	write_n(&s, 0, 2);
	whole = file_size(path);
	spool_close(&s);
	CHECK_INT(truncate(path, whole - 20), 0);
	CHECK_INT(spool_open(&s, path, 1 << 20, err, sizeof(err)), 0);
	CHECK_INT(s.records, 1);
	spool_close(&s);
}

static void
t_crc_mismatch(void)
{
	struct spool s;
	char err[256];
	int64_t after3;

	CHECK_INT(spool_open(&s, fresh("c.spool"), 1 << 20, err,
	    sizeof(err)), 0);
	write_n(&s, 0, 3);
	after3 = file_size(path);
	write_n(&s, 3, 3);
	spool_close(&s);
	/* Flip one payload byte of the fourth record. */
	{
		int fd = open(path, O_RDWR);
		char c;

		CHECK(pread(fd, &c, 1, after3 + SPOOL_REC_HDR_LEN + 2) == 1);
		c ^= 0x20;
		CHECK(pwrite(fd, &c, 1, after3 + SPOOL_REC_HDR_LEN + 2) == 1);
		close(fd);
	}
	CHECK_INT(spool_open(&s, path, 1 << 20, err, sizeof(err)), 0);
	CHECK_INT(s.records, 3);	/* everything from the bad one is cut */
	CHECK_INT(file_size(path), after3);
	CHECK_INT(read_all(&s, 0, true), 3);
	spool_close(&s);

	/* An impossible length is no better. */
	CHECK_INT(spool_open(&s, fresh("l.spool"), 1 << 20, err,
	    sizeof(err)), 0);
	spool_close(&s);
	{
		int fd = open(path, O_WRONLY | O_APPEND);
		const unsigned char hdr[] = { 0x7f, 0xff, 0xff, 0xff, 0, 0, 0,
		    0 };

		CHECK(write(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr));
		close(fd);
	}
	CHECK_INT(spool_open(&s, path, 1 << 20, err, sizeof(err)), 0);
	CHECK_INT(s.records, 0);
	CHECK_INT(file_size(path), SPOOL_HDR_LEN);
	spool_close(&s);
}

static void
t_bound(void)
{
	struct spool s;
	char err[256];
	char big[1000];

	memset(big, 'x', sizeof(big));
	CHECK_INT(spool_open(&s, fresh("b.spool"), 4096, err, sizeof(err)),
	    0);
	for (int i = 0; i < 4; i++) {
		CHECK(!spool_full(&s));
		CHECK_INT(spool_append(&s, big, sizeof(big)), 0);
	}
	CHECK(!spool_full(&s));		/* 4032 bytes of 4096 */
	CHECK_INT(spool_append(&s, big, sizeof(big)), 0);
	CHECK(spool_full(&s));		/* past it: the poller pauses */
	CHECK_INT(spool_append(&s, big, 0), -1);
	CHECK_INT(spool_append(&s, big, SPOOL_REC_MAX + 1), -1);
	spool_close(&s);
}

static void
t_alien_file(void)
{
	struct spool s;
	char err[256];
	FILE *f;

	fresh("alien.spool");
	f = fopen(path, "w");
	fputs("important notes, not a spool\n", f);
	fclose(f);
	CHECK_INT(spool_open(&s, path, 1 << 20, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a grilld spool") != NULL);
	CHECK_INT(file_size(path), 29);		/* left alone */
	snprintf(path, sizeof(path), "%s/no/such/dir/x.spool", unit_tmpdir());
	CHECK_INT(spool_open(&s, path, 1 << 20, err, sizeof(err)), -1);
}

static void
t_record_format(void)
{
	const char rec[] = "S2A4C6E8/4\t1767225600123456\n{\"device_id\":1}";
	const char gap[] = "S1/1\t1767225600123456\t1767225500000000\n{}";
	struct handoff_item it;

	CHECK_INT(handoff_parse_record(rec, strlen(rec), &it), 0);
	CHECK_STR(it.key, "S2A4C6E8/4");
	CHECK(it.ts_us == INT64_C(1767225600123456));
	CHECK_INT(it.len, 15);
	CHECK(strncmp(it.json, "{\"device_id\":1}", it.len) == 0);
	CHECK_INT(handoff_parse_record("S1\t12", 5, &it), -1);
	CHECK_INT(handoff_parse_record("S1\tx\n{}", 7, &it), -1);
	CHECK_INT(handoff_parse_record("\t1\n{}", 5, &it), -1);
	CHECK_INT(handoff_parse_record("S1\t1\n", 5, &it), -1);
	/* After a device clock went back: the time negative, a flag. */
	CHECK_INT(handoff_parse_record("S1/1\t-1767225600123456\n{}", 25, &it),
	    0);
	CHECK(it.reset);
	CHECK(it.ts_us == INT64_C(1767225600123456));
	CHECK_INT(handoff_parse_record(rec, strlen(rec), &it), 0);
	CHECK(!it.reset);
	CHECK(it.gap_us == 0);		/* older records carry no gap */
	/* A live point that ends a gap carries the gap's start. */
	CHECK_INT(handoff_parse_record(gap, strlen(gap), &it), 0);
	CHECK(it.ts_us == INT64_C(1767225600123456));
	CHECK(it.gap_us == INT64_C(1767225500000000));
	CHECK_INT(it.len, 2);
	CHECK_INT(handoff_parse_record("S1/1\t1767225600123456\tx\n{}", 26,
	    &it), -1);
	CHECK_INT(handoff_parse_record("S1/1\t1767225600123456\t-5\n{}", 27,
	    &it), -1);
	CHECK(it.xgap.to_us == 0);
	/* A clock step's point carries another gap too. */
	CHECK_INT(handoff_parse_record("S1/1\t-1000\t900\t5000-7000\n{}", 26,
	    &it), 0);
	CHECK(it.reset && it.ts_us == 1000 && it.gap_us == 900);
	CHECK(it.xgap.from_us == 5000 && it.xgap.to_us == 7000);
	CHECK_INT(handoff_parse_record("S1/1\t-1000\t0\t5000-7000\n{}", 24,
	    &it), 0);
	CHECK(it.gap_us == 0 && it.xgap.to_us == 7000);
	CHECK_INT(handoff_parse_record("S1/1\t-1000\t0\t5000-5001\n{}", 24,
	    &it), -1);
	CHECK_INT(handoff_parse_record("S1/1\t-1000\t0\t5000-7000x\n{}", 25,
	    &it), -1);
}

/* Replayed bytes leave the bound at once, not when the file empties. */
static void
t_bound_replayed(void)
{
	char big[1000];
	struct spool s;
	struct buf b;
	int64_t next;
	char err[256];

	memset(big, 'x', sizeof(big));
	buf_init(&b);
	CHECK_INT(spool_open(&s, fresh("r.spool"), 4096, err, sizeof(err)),
	    0);
	for (int i = 0; i < 5; i++)
		CHECK_INT(spool_append(&s, big, sizeof(big)), 0);
	CHECK(spool_full(&s));
	for (int i = 0; i < 3; i++) {
		CHECK_INT(spool_read(&s, spool_head(&s), &b, &next), 1);
		spool_consumed(&s, next);
	}
	CHECK_INT(spool_pending(&s), 2 * (1000 + SPOOL_REC_HDR_LEN));
	CHECK(!spool_full(&s));
	buf_free(&b);
	spool_close(&s);
}

/* A restart resumes the replay where it stopped. */
static void
t_head_persisted(void)
{
	struct spool s;
	struct buf b;
	int64_t next;
	char err[256], head[600];
	FILE *f;

	buf_init(&b);
	CHECK_INT(spool_open(&s, fresh("k.spool"), 1 << 20, err,
	    sizeof(err)), 0);
	write_n(&s, 0, 10);
	for (int i = 0; i < 4; i++) {
		CHECK_INT(spool_read(&s, spool_head(&s), &b, &next), 1);
		spool_consumed(&s, next);
	}
	CHECK_INT(spool_save_head(&s), 0);
	spool_close(&s);
	CHECK_INT(spool_open(&s, path, 1 << 20, err, sizeof(err)), 0);
	CHECK_INT(s.records, 6);
	CHECK_INT(read_all(&s, 4, false), 6);
	spool_close(&s);

	/* A damaged head file: from the start again, nothing skipped. */
	snprintf(head, sizeof(head), "%s.head", path);
	f = fopen(head, "r+");
	fputc('!', f);
	fclose(f);
	CHECK_INT(spool_open(&s, path, 1 << 20, err, sizeof(err)), 0);
	CHECK_INT(s.records, 10);
	CHECK_INT(read_all(&s, 0, false), 10);
	spool_close(&s);
	buf_free(&b);
}

/* Compaction keeps exactly what was not replayed, across a restart. */
static void
t_compact(void)
{
	struct spool s;
	struct buf b;
	int64_t next, before;
	char err[256];

	buf_init(&b);
	CHECK_INT(spool_open(&s, fresh("m.spool"), 1 << 20, err,
	    sizeof(err)), 0);
	write_n(&s, 0, 10);
	for (int i = 0; i < 6; i++) {
		CHECK_INT(spool_read(&s, spool_head(&s), &b, &next), 1);
		spool_consumed(&s, next);
	}
	before = spool_pending(&s);
	CHECK_INT(spool_compact(&s), 0);
	CHECK_INT(spool_head(&s), SPOOL_HDR_LEN);
	CHECK_INT(spool_pending(&s), before);
	CHECK_INT(file_size(path), SPOOL_HDR_LEN + before);
	write_n(&s, 10, 2);		/* appends go to the new file */
	CHECK_INT(read_all(&s, 6, false), 6);
	spool_close(&s);
	CHECK_INT(spool_open(&s, path, 1 << 20, err, sizeof(err)), 0);
	CHECK_INT(s.records, 6);
	CHECK_INT(read_all(&s, 6, false), 6);
	spool_close(&s);
	buf_free(&b);
}

/* A batch whose sync failed is taken back out, whole; the rest stays. */
static void
t_undo(void)
{
	struct spool s;
	int64_t size, records;
	char err[256];

	CHECK_INT(spool_open(&s, fresh("u.spool"), 1 << 20, err,
	    sizeof(err)), 0);
	write_n(&s, 0, 3);
	size = s.size;
	records = s.records;
	write_n(&s, 3, 2);
	CHECK_INT(spool_undo(&s, size, records), 0);
	CHECK_INT(s.records, 3);
	CHECK_INT(file_size(path), size);
	write_n(&s, 3, 2);		/* sent again, once */
	CHECK_INT(read_all(&s, 0, false), 5);
	spool_close(&s);
}

int
main(void)
{
	UNIT_RUN(t_crc32);
	UNIT_RUN(t_write_replay);
	UNIT_RUN(t_partial_replay);
	UNIT_RUN(t_torn_tail);
	UNIT_RUN(t_crc_mismatch);
	UNIT_RUN(t_bound);
	UNIT_RUN(t_bound_replayed);
	UNIT_RUN(t_head_persisted);
	UNIT_RUN(t_compact);
	UNIT_RUN(t_undo);
	UNIT_RUN(t_alien_file);
	UNIT_RUN(t_record_format);
	return unit_done();
}
