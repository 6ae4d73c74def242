/*
 * state: what the simulated cloud keeps across its own restarts
 * (twsim.state_file).
 *
 * Every reading, upload and archive is a pure function of the seed and
 * of t0, the wall-clock start of the sessions (twsim.h), so keeping t0
 * keeps them all: a simulator killed and started again goes on with the
 * same sessions, shows what the devices uploaded while it was down with
 * their next upload, and archives each session when it ends, as the
 * real cloud does when one of its servers restarts. Without the file,
 * every start begins new sessions and the ones that were running are
 * never archived.
 *
 * The file is a line "grilld-twsim-state 2 <seed> <t0 ms>", then one
 * line "pause <serial> <first sample> <end sample, -1: open>" per pause
 * of a device (POST /admin/pause: timeline.c), written to a temporary
 * file, synced and renamed over the old one; files of version 1 (the
 * first line alone) are read too. A file of another seed describes
 * another world: new sessions begin (said in the log) and the file is
 * written again.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "twsim.h"

#define STATE_MAGIC	"grilld-twsim-state"
#define STATE_VERSION	2

/*
 * Reads the file: 1 and *t0_ms when it holds the sessions of this seed,
 * 0 when it does not exist or holds another seed's, -1 with err when it
 * cannot be read or is not a state file.
 */
int
state_load(const char *path, uint64_t seed, int64_t *t0_ms, char *err,
    size_t errlen)
{
	char line[128], magic[32];
	unsigned long long s;
	long long t0;
	int version;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	if (sscanf(line, "%31s %d %llu %lld", magic, &version, &s, &t0) != 4 ||
	    strcmp(magic, STATE_MAGIC) != 0 || version < 1 ||
	    version > STATE_VERSION || t0 <= 0) {
		snprintf(err, errlen, "%s: not a grilld-twsim state file "
		    "(remove it to begin new sessions)", path);
		return -1;
	}
	if ((uint64_t)s != seed) {
		log_warnx("%s: sessions of seed %llu, not %llu: new sessions "
		    "begin", path, s, (unsigned long long)seed);
		return 0;
	}
	*t0_ms = t0;
	return 1;
}

/*
 * The pauses the file keeps, into the world's devices (after
 * state_load() said the file is this world's). A pause of a device the
 * world does not have is skipped. 0, or -1 with err.
 */
int
state_load_pauses(const char *path, struct tw_world *w, char *err,
    size_t errlen)
{
	char line[256], serial[TW_SERIAL_MAX + 1];
	long long k, end;
	int lineno = 0, rc = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		struct tw_device *d = NULL;

		if (++lineno == 1)
			continue;
		if (sscanf(line, "pause %24s %lld %lld", serial, &k, &end) !=
		    3) {
			snprintf(err, errlen, "%s:%d: not a pause", path,
			    lineno);
			rc = -1;
			break;
		}
		for (size_t i = 0; i < w->ndevices && d == NULL; i++)
			if (strcmp(w->devices[i]->serial, serial) == 0)
				d = w->devices[i];
		if (d != NULL && timeline_pause_load(d, k, end == -1 ?
		    INT64_MAX : end) == -1) {
			snprintf(err, errlen, "%s:%d: a pause out of order",
			    path, lineno);
			rc = -1;
		}
	}
	fclose(f);
	return rc;
}

/* Writes the file, with the world's pauses when w is not NULL. */
static int
save(const char *path, uint64_t seed, int64_t t0_ms,
    const struct tw_world *w, char *err, size_t errlen)
{
	char tmp[4096];
	struct buf b;
	int fd, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	buf_init(&b);
	buf_printf(&b, "%s %d %llu %lld\n", STATE_MAGIC, STATE_VERSION,
	    (unsigned long long)seed, (long long)t0_ms);
	for (size_t i = 0; w != NULL && i < w->ndevices; i++) {
		const struct tw_device *d = w->devices[i];
		int np = atomic_load_explicit(&d->npauses,
		    memory_order_acquire);

		for (int k = 0; k < np; k++) {
			int64_t end = atomic_load_explicit(&d->pause_end[k],
			    memory_order_acquire);

			buf_printf(&b, "pause %s %lld %lld\n", d->serial,
			    (long long)d->pause_k[k], end == INT64_MAX ? -1LL :
			    (long long)end);
		}
	}
	if (b.data == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		goto fail;
	if (write(fd, b.data, b.len) != (ssize_t)b.len || fsync(fd) == -1) {
		int saved = errno ? errno : EIO;

		close(fd);
		unlink(tmp);
		errno = saved;
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		unlink(tmp);
		goto fail;
	}
	buf_free(&b);
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	buf_free(&b);
	return -1;
}

/* Writes the file; 0, or -1 with err. */
int
state_save(const char *path, uint64_t seed, int64_t t0_ms, char *err,
    size_t errlen)
{
	return save(path, seed, t0_ms, NULL, err, errlen);
}

/* Writes the world's file (twsim.state_file), pauses and all. */
int
state_save_world(const struct tw_world *w, char *err, size_t errlen)
{
	if (w->state_file == NULL || w->state_file[0] == '\0')
		return 0;
	return save(w->state_file, w->seed, w->t0_ms, w, err, errlen);
}
