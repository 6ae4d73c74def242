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
 * The file is one line, "grilld-twsim-state 1 <seed> <t0 ms>", written
 * to a temporary file, synced and renamed over the old one. A file of
 * another seed describes another world: new sessions begin (said in the
 * log) and the file is written again.
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
#define STATE_VERSION	1

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
	    strcmp(magic, STATE_MAGIC) != 0 || version != STATE_VERSION ||
	    t0 <= 0) {
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

/* Writes the file; 0, or -1 with err. */
int
state_save(const char *path, uint64_t seed, int64_t t0_ms, char *err,
    size_t errlen)
{
	char tmp[4096], line[128];
	int fd, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	n = snprintf(line, sizeof(line), "%s %d %llu %lld\n", STATE_MAGIC,
	    STATE_VERSION, (unsigned long long)seed, (long long)t0_ms);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		goto fail;
	if (write(fd, line, (size_t)n) != n || fsync(fd) == -1) {
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
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return -1;
}
