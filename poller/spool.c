/*
 * The spool: an append-only file that holds readings while Redis is
 * unreachable, replayed in order when it returns.
 *
 *	offset	size	field
 *	0	8	magic "GRSPOOL1"
 *	8	...	records:
 *		4	payload length, big-endian, 1..SPOOL_REC_MAX
 *		4	CRC-32 (IEEE, as zlib) of the payload, big-endian
 *		len	payload (a reading, JSON)
 *
 * fsync policy: the hand-off thread appends a batch of records and then
 * calls spool_sync() (fdatasync) once for the batch, before it takes the
 * next one; creating the file and emptying it after a replay are synced
 * too (the file, and the folder on creation). A crash can therefore only
 * tear the last batch, and readings of a torn batch are fetched again
 * from ThermoWorks: their seen marks were never stored.
 *
 * At open every record is checked. The first one that is short (a torn
 * tail after a crash), has an impossible length or a CRC mismatch ends
 * the good part: everything from it on is copied to "<path>.bad" for
 * inspection, cut off the spool, and logged with its offset and size.
 *
 * How far the replay went is kept in "<path>.head" (8 bytes, the offset
 * of the next record to replay, big-endian, and its CRC-32), written and
 * synced after each replayed batch (spool_save_head()), so a restart
 * resumes there instead of sending the replayed records again. A head
 * file that is damaged, or names no record boundary, is ignored: the
 * replay starts from the first record (the seen marks skip what Redis
 * has).
 *
 * The bound (poller.spool_max) counts the bytes not yet replayed
 * (spool_pending()); it is not enforced here: spool_full() says when it
 * is reached and the poller stops polling until Redis drains it, so the
 * spool exceeds it by at most what was already on its way. While the
 * replay runs and new records keep coming behind it, the file is never
 * emptied: once the replayed part is as large as the bound, the rest is
 * copied to a new file that replaces it (compaction), so the disk holds
 * at most about twice the bound.
 *
 * Not thread-safe: one thread (the hand-off) owns a spool.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "poller.h"

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t
spool_crc32(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t c = 0xffffffffu;

	pthread_once(&crc_once, crc_init);
	while (n-- > 0)
		c = crc_table[(c ^ *b++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Reads exactly n bytes at off: 0, 1 at end of file (short), -1 error. */
static int
read_at(int fd, void *p, size_t n, int64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)p + got, n - got, off + got);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			return 1;
		got += r;
	}
	return 0;
}

static int
write_all(int fd, const void *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		p = (const char *)p + w;
		n -= w;
	}
	return 0;
}

/*
 * The record at off: 1 with the payload in b (when not NULL) and *next,
 * 0 at a clean end of file, -1 when it is torn or corrupt (why in
 * *why), -2 on an I/O error.
 */
static int
record_at(struct spool *s, int64_t off, struct buf *b, int64_t *next,
    const char **why)
{
	unsigned char hdr[SPOOL_REC_HDR_LEN];
	struct buf tmp;
	uint32_t len, crc;
	int rc;

	if (off == s->size)
		return 0;
	if ((rc = read_at(s->fd, hdr, sizeof(hdr), off)) != 0) {
		*why = "torn record header";
		return rc == 1 ? -1 : -2;
	}
	len = get_be32(hdr);
	crc = get_be32(hdr + 4);
	if (len == 0 || len > SPOOL_REC_MAX) {
		*why = "impossible record length";
		return -1;
	}
	if (off + SPOOL_REC_HDR_LEN + (int64_t)len > s->size) {
		*why = "torn record";
		return -1;
	}
	buf_init(&tmp);
	if (b == NULL)
		b = &tmp;
	buf_reset(b);
	if (buf_reserve(b, len + 1) == -1) {
		buf_free(&tmp);
		*why = "out of memory";
		return -2;
	}
	if ((rc = read_at(s->fd, b->data, len, off + SPOOL_REC_HDR_LEN)) != 0) {
		buf_free(&tmp);
		*why = "torn record";
		return rc == 1 ? -1 : -2;
	}
	b->len = len;
	b->data[len] = '\0';
	if (spool_crc32(b->data, len) != crc) {
		buf_reset(b);
		buf_free(&tmp);
		*why = "CRC mismatch";
		return -1;
	}
	buf_free(&tmp);
	*next = off + SPOOL_REC_HDR_LEN + len;
	return 1;
}

/* Moves the bytes from off to the end into <path>.bad, cuts them off. */
static int
cut_tail(struct spool *s, int64_t off, const char *why)
{
	char bad[4096];
	char chunk[65536];
	int64_t n = s->size - off, pos = off;
	int fd;

	snprintf(bad, sizeof(bad), "%s.bad", s->path);
	if ((fd = open(bad, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600)) != -1) {
		while (pos < s->size) {
			size_t want = s->size - pos < (int64_t)sizeof(chunk) ?
			    (size_t)(s->size - pos) : sizeof(chunk);

			if (read_at(s->fd, chunk, want, pos) != 0 ||
			    write_all(fd, chunk, want) == -1)
				break;
			pos += want;
		}
		fsync(fd);
		close(fd);
	}
	log_warnx("spool %s: %s at offset %lld: dropped %lld bytes from "
	    "there to the end (kept in %s)", s->path, why, (long long)off,
	    (long long)n, bad);
	if (ftruncate(s->fd, off) == -1 || fdatasync(s->fd) == -1)
		return -1;
	s->size = off;
	s->dropped_bytes += n;
	return 0;
}

static int
sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -1;

	if (copy == NULL)
		return -1;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
	    -1) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return rc;
}

/* Opens the file, making its folder (one level) when it is missing. */
static int
open_file(const char *path)
{
	int fd, flags = O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC;
	char *copy;

	if ((fd = open(path, flags, 0600)) != -1 || errno != ENOENT)
		return fd;
	if ((copy = strdup(path)) == NULL)
		return -1;
	if (mkdir(dirname(copy), 0700) == -1 && errno != EEXIST) {
		free(copy);
		return -1;
	}
	free(copy);
	return open(path, flags, 0600);
}

/* The replay offset the head file keeps; SPOOL_HDR_LEN when none. */
static int64_t
head_load(struct spool *s)
{
	unsigned char b[12];
	uint64_t off = 0;

	if (s->head_fd == -1 || read_at(s->head_fd, b, sizeof(b), 0) != 0 ||
	    spool_crc32(b, 8) != get_be32(b + 8))
		return SPOOL_HDR_LEN;
	for (int i = 0; i < 8; i++)
		off = off << 8 | b[i];
	return (int64_t)off;
}

int
spool_save_head(struct spool *s)
{
	unsigned char b[12];
	uint64_t off = (uint64_t)s->read_off;

	if (s->head_fd == -1 || s->read_off == s->head_saved)
		return 0;
	for (int i = 7; i >= 0; i--, off >>= 8)
		b[i] = off & 0xff;
	put_be32(b + 8, spool_crc32(b, 8));
	if (pwrite(s->head_fd, b, sizeof(b), 0) != (ssize_t)sizeof(b) ||
	    fdatasync(s->head_fd) == -1)
		return -1;
	s->head_saved = s->read_off;
	return 0;
}

/*
 * Opens (or creates) the spool and checks every record; readings left by
 * a previous run are then ready to replay, from where its replay had
 * come. 0, or -1 with err.
 */
int
spool_open(struct spool *s, const char *path, int64_t max, char *err,
    size_t errlen)
{
	char magic[SPOOL_HDR_LEN], head[4096];
	struct stat st;
	int64_t off, next, saved;
	const char *why = NULL;
	bool found = false;
	int rc;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->head_fd = -1;
	s->max = max;
	if ((s->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((s->fd = open_file(path)) == -1 || fstat(s->fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	s->size = st.st_size;
	if (s->size == 0) {
		if (write_all(s->fd, SPOOL_MAGIC, SPOOL_HDR_LEN) == -1 ||
		    fsync(s->fd) == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		sync_dir(path);
		s->size = SPOOL_HDR_LEN;
	} else if (s->size < SPOOL_HDR_LEN || read_at(s->fd, magic,
	    SPOOL_HDR_LEN, 0) != 0 || memcmp(magic, SPOOL_MAGIC,
	    SPOOL_HDR_LEN) != 0) {
		snprintf(err, errlen, "%s is not a grilld spool (no %s "
		    "header); move it away", path, SPOOL_MAGIC);
		goto fail;
	}
	snprintf(head, sizeof(head), "%s.head", path);
	if ((s->head_fd = open(head, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) ==
	    -1) {
		snprintf(err, errlen, "%s: %s", head, strerror(errno));
		goto fail;
	}
	saved = head_load(s);
	for (off = SPOOL_HDR_LEN; (rc = record_at(s, off, NULL, &next,
	    &why)) == 1; off = next) {
		if (off == saved)
			found = true;
		if (found)
			s->records++;
	}
	if (off == saved)
		found = true;		/* all of it was replayed */
	if (rc == -2) {
		snprintf(err, errlen, "%s: %s", path, why ? why :
		    strerror(errno));
		goto fail;
	}
	if (rc == -1 && cut_tail(s, off, why) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!found) {
		/* No usable head: replay all; the seen marks skip repeats. */
		s->records = 0;
		for (off = SPOOL_HDR_LEN; record_at(s, off, NULL, &next,
		    &why) == 1; off = next)
			s->records++;
		saved = SPOOL_HDR_LEN;
	}
	s->read_off = saved;
	s->head_saved = -1;
	if (s->records > 0)
		log_info("spool %s: %lld readings to replay%s", path,
		    (long long)s->records, saved > SPOOL_HDR_LEN ?
		    " (the replay resumes where it stopped)" : "");
	else if (s->size > SPOOL_HDR_LEN && spool_reset(s) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	spool_close(s);
	return -1;
}

void
spool_close(struct spool *s)
{
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	if (s->head_fd != -1)
		close(s->head_fd);
	s->head_fd = -1;
	free(s->path);
	s->path = NULL;
}

/*
 * Appends one record (not synced: call spool_sync() after a batch). On
 * -1 the file is as it was.
 */
int
spool_append(struct spool *s, const void *p, size_t len)
{
	unsigned char hdr[SPOOL_REC_HDR_LEN];

	if (len == 0 || len > SPOOL_REC_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	put_be32(hdr, (uint32_t)len);
	put_be32(hdr + 4, spool_crc32(p, len));
	if (write_all(s->fd, hdr, sizeof(hdr)) == -1 ||
	    write_all(s->fd, p, len) == -1) {
		int saved = errno;

		if (ftruncate(s->fd, s->size) == -1)
			log_warn("spool %s: cannot cut a partial record",
			    s->path);
		errno = saved;
		return -1;
	}
	s->size += SPOOL_REC_HDR_LEN + len;
	s->records++;
	return 0;
}

int
spool_sync(struct spool *s)
{
	return fdatasync(s->fd);
}

/*
 * Takes back what was appended since the file had size bytes and
 * records records (a batch whose sync failed: it is not known to be on
 * disk, and it stays with the caller).
 */
int
spool_undo(struct spool *s, int64_t size, int64_t records)
{
	if (size < s->read_off || ftruncate(s->fd, size) == -1)
		return -1;
	s->size = size;
	s->records = records;
	return 0;
}

/*
 * The record at off (spool_head() for the first not yet replayed), into
 * b: 1 with *next (the offset of the one after, to hand to
 * spool_consumed() once this one is safely elsewhere), 0 when none is
 * left, -1 on an I/O error or a record damaged since it was checked.
 */
int
spool_read(struct spool *s, int64_t off, struct buf *b, int64_t *next)
{
	const char *why = NULL;
	int rc = record_at(s, off, b, next, &why);

	if (rc < 0)
		log_warnx("spool %s: cannot read the record at offset %lld: "
		    "%s", s->path, (long long)off, why ? why :
		    strerror(errno));
	return rc < 0 ? -1 : rc;
}

int64_t
spool_head(const struct spool *s)
{
	return s->read_off;
}

/* Drops everything from the head on (damaged while running). */
int
spool_cut(struct spool *s, const char *why)
{
	if (cut_tail(s, s->read_off, why) == -1)
		return -1;
	s->records = 0;
	return 0;
}

void
spool_consumed(struct spool *s, int64_t next)
{
	if (next > s->read_off && next <= s->size) {
		s->read_off = next;
		if (s->records > 0)
			s->records--;
	}
}

/* After a whole replay: the file back to its header, synced. */
int
spool_reset(struct spool *s)
{
	if (ftruncate(s->fd, SPOOL_HDR_LEN) == -1 || fdatasync(s->fd) == -1)
		return -1;
	s->size = SPOOL_HDR_LEN;
	s->read_off = SPOOL_HDR_LEN;
	s->records = 0;
	return spool_save_head(s);
}

/*
 * The records not yet replayed, moved to a new file that replaces this
 * one. The head is set to the start first: a crash before the rename
 * replays the old file from its start (the seen marks skip repeats),
 * one after it finds the new file and the head at its start.
 */
int
spool_compact(struct spool *s)
{
	char tmp[4096], chunk[65536];
	int64_t pos = s->read_off, old_off = s->read_off;
	int fd;

	/* Its descriptor, opened for appends, becomes the spool's. */
	snprintf(tmp, sizeof(tmp), "%s.new", s->path);
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	if (write_all(fd, SPOOL_MAGIC, SPOOL_HDR_LEN) == -1)
		goto fail;
	while (pos < s->size) {
		size_t want = s->size - pos < (int64_t)sizeof(chunk) ?
		    (size_t)(s->size - pos) : sizeof(chunk);

		if (read_at(s->fd, chunk, want, pos) != 0 ||
		    write_all(fd, chunk, want) == -1)
			goto fail;
		pos += want;
	}
	if (fdatasync(fd) == -1)
		goto fail;
	s->read_off = SPOOL_HDR_LEN;
	if (spool_save_head(s) == -1 || rename(tmp, s->path) == -1) {
		s->read_off = old_off;
		spool_save_head(s);
		goto fail;
	}
	sync_dir(s->path);
	close(s->fd);
	s->fd = fd;
	s->size = SPOOL_HDR_LEN + (pos - old_off);
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return -1;
}

int64_t
spool_pending(const struct spool *s)
{
	return s->size - s->read_off;
}

bool
spool_empty(const struct spool *s)
{
	return s->read_off >= s->size;
}

bool
spool_full(const struct spool *s)
{
	return spool_pending(s) >= s->max;
}

/* Calls fn for every record not yet replayed, in order; -1 on error. */
int
spool_scan(struct spool *s, spool_rec_fn fn, void *arg)
{
	struct buf b;
	int64_t off, next;
	const char *why = NULL;
	int rc;

	buf_init(&b);
	for (off = s->read_off; (rc = record_at(s, off, &b, &next, &why)) ==
	    1; off = next)
		if (fn(b.data, b.len, arg) != 0)
			break;
	buf_free(&b);
	return rc < 0 ? -1 : 0;
}
