/*
 * util: the constant-time comparison API keys and stream tokens go
 * through (util_streq_ct): right answers for equal, shorter, longer and
 * empty strings, and no early exit on a mismatch in the first byte.
 * The condition variables for durations time their waits on
 * CLOCK_MONOTONIC.
 */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <time.h>

#include "unit.h"
#include "util.h"

static void
test_streq_ct(void)
{
	CHECK(util_streq_ct("api-key-1", "api-key-1"));
	CHECK(util_streq_ct("", ""));
	CHECK(!util_streq_ct("api-key-1", "api-key-2"));
	CHECK(!util_streq_ct("api-key-1", "api-key-"));	/* a prefix */
	CHECK(!util_streq_ct("api-key-", "api-key-1"));	/* longer */
	CHECK(!util_streq_ct("api-key-1", ""));
	CHECK(!util_streq_ct("", "api-key-1"));
	CHECK(!util_streq_ct("Api-key-1", "api-key-1"));	/* first byte */
	CHECK(!util_streq_ct("a\xff", "a\x7f"));
}

/* A guess of the key's length plus zeros must not match (no NUL trick). */
static void
test_streq_ct_lengths(void)
{
	char key[65], guess[65];

	for (int i = 0; i < 64; i++)
		key[i] = (char)('a' + i % 26);
	key[64] = '\0';
	for (int n = 0; n <= 64; n++) {
		memcpy(guess, key, (size_t)n);
		guess[n] = '\0';
		CHECK(util_streq_ct(key, guess) == (n == 64));
		CHECK(util_streq_ct(guess, key) == (n == 64));
	}
}

/* util_fmt_i64 writes what "%lld" writes. */
static void
test_fmt_i64(void)
{
	static const int64_t edge[] = { 0, 1, -1, 9, 10, -10, 99, 100,
		INT64_MAX, INT64_MIN, INT64_MIN + 1, 1767323045123456789 };
	char got[24], want[24];
	unsigned long long x = 88172645463325252ull;
	int bad = 0;

	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		CHECK_INT(util_fmt_i64(got, edge[i]), snprintf(want,
		    sizeof(want), "%lld", (long long)edge[i]));
		CHECK_STR(got, want);
	}
	for (int i = 0; i < 100000 && bad < 3; i++) {
		int64_t v;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = (int64_t)(x >> (i % 60));
		v = i % 2 ? -v : v;
		snprintf(want, sizeof(want), "%lld", (long long)v);
		if (util_fmt_i64(got, v) != (int)strlen(want) ||
		    strcmp(got, want) != 0) {
			unit_fail(__FILE__, __LINE__, "%s, want %s", got, want);
			bad++;
		}
	}
}

/* util_time_format's digits are strftime's, in every precision. */
static void
test_time_format(void)
{
	char got[UTIL_TIME_LEN], want[80], base[32];
	unsigned long long x = 1442695040888963407ull;
	int bad = 0;

	util_time_format(0, got, sizeof(got));
	CHECK_STR(got, "1970-01-01T00:00:00.000Z");
	util_time_format(-1, got, sizeof(got));
	CHECK_STR(got, "1969-12-31T23:59:59.999999999Z");
	util_time_format(INT64_C(1767323045123456000), got, sizeof(got));
	CHECK_STR(got, "2026-01-02T03:04:05.123456Z");
	util_time_format(INT64_C(951782400) * 1000000000, got, sizeof(got));
	CHECK_STR(got, "2000-02-29T00:00:00.000Z");
	util_time_format(INT64_MAX, got, sizeof(got));
	CHECK_STR(got, "2262-04-11T23:47:16.854775807Z");
	util_time_format(INT64_MIN, got, sizeof(got));
	CHECK_STR(got, "1677-09-21T00:12:43.145224192Z");
	util_time_format(INT64_C(1767323045123456000), got, 11);
	CHECK_STR(got, "2026-01-02");	/* cut to the room there is */
	for (int i = 0; i < 50000 && bad < 3; i++) {
		int64_t ns, frac;
		time_t secs;
		struct tm tm;

		x = x * 6364136223846793005ull + 1;
		/* anywhere in int64_t: the years 1677 to 2262 */
		ns = (int64_t)x;
		if (i % 3 == 0)
			ns -= ns % 1000000;
		else if (i % 3 == 1)
			ns -= ns % 1000;
		secs = (time_t)(ns / 1000000000);
		frac = ns % 1000000000;
		if (frac < 0) {
			frac += 1000000000;
			secs--;
		}
		gmtime_r(&secs, &tm);
		strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
		if (frac % 1000000 == 0)
			snprintf(want, sizeof(want), "%s.%03lldZ", base,
			    (long long)(frac / 1000000));
		else if (frac % 1000 == 0)
			snprintf(want, sizeof(want), "%s.%06lldZ", base,
			    (long long)(frac / 1000));
		else
			snprintf(want, sizeof(want), "%s.%09lldZ", base,
			    (long long)frac);
		util_time_format(ns, got, sizeof(got));
		if (strcmp(got, want) != 0) {
			unit_fail(__FILE__, __LINE__, "%lld: %s, want %s",
			    (long long)ns, got, want);
			bad++;
		}
	}
}

/*
 * A deadline taken from CLOCK_MONOTONIC (seconds since boot) is decades
 * in the past for a CLOCK_REALTIME condition: such a wait would end at
 * once. On a monotonic one it lasts until the deadline.
 */
/* JSON string escapes: runs of plain text, and every character that needs one. */
static void
test_json_escape(void)
{
	struct buf b;

	buf_init(&b);
	CHECK_INT(buf_json_escape(&b, ""), 0);
	CHECK_INT((int)b.len, 0);
	CHECK_INT(buf_json_escape(&b, "plain text, é \x7f"), 0);
	CHECK_STR(b.data, "plain text, é \x7f");
	buf_reset(&b);
	CHECK_INT(buf_json_escape(&b, "a\"b\\c\nd\re\tf\x01g\x1f"), 0);
	CHECK_STR(b.data, "a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001f");
	buf_reset(&b);
	CHECK_INT(buf_json_escape(&b, "\"\""), 0);
	CHECK_STR(b.data, "\\\"\\\"");
	buf_free(&b);
}

static void
test_cond_monotonic(void)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv;
	struct timespec ts;
	int64_t t0;

	CHECK_INT(util_cond_init(&cv), 0);
	pthread_mutex_lock(&mu);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += 100 * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	t0 = util_mono_ms();
	while (pthread_cond_timedwait(&cv, &mu, &ts) != ETIMEDOUT)
		;
	CHECK(util_mono_ms() - t0 >= 90);
	t0 = util_mono_ms();
	while (util_cond_wait_ms(&cv, &mu, 50) != ETIMEDOUT)
		;
	CHECK(util_mono_ms() - t0 >= 45);
	pthread_mutex_unlock(&mu);
	pthread_cond_destroy(&cv);
}

/* The helpers that used to be written once per daemon. */
static void
test_shared_helpers(void)
{
	uint8_t bytes[4];
	char hex[9];
	struct buf b;

	CHECK_INT(util_hexval('0'), 0);
	CHECK_INT(util_hexval('f'), 15);
	CHECK_INT(util_hexval('F'), 15);
	CHECK_INT(util_hexval('g'), -1);
	CHECK_INT(util_hex_decode("00ff7a10", bytes, 4), 0);
	CHECK(bytes[0] == 0 && bytes[1] == 0xff && bytes[2] == 0x7a &&
	    bytes[3] == 0x10);
	/* Ids are written in lower case: upper case is no id of ours. */
	CHECK_INT(util_hex_decode("00FF", bytes, 2), -1);
	CHECK_INT(util_hex_decode("0x", bytes, 1), -1);
	util_hex_encode(bytes, 4, hex);
	CHECK_STR(hex, "00ff7a10");
	buf_init(&b);
	CHECK_INT(util_pct_encode(&b, "a b/c~d.e_f-g%\xc3\xa9"), 0);
	CHECK_STR(b.data, "a%20b%2Fc~d.e_f-g%25%C3%A9");
	buf_free(&b);
	/* FNV-1a's published vectors. */
	CHECK(util_fnv1a32("", 0) == 2166136261u);
	CHECK(util_fnv1a32("a", 1) == 0xe40c292cu);
	CHECK(util_fnv1a64("a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
	/* Going on from a state is hashing the pieces as one. */
	CHECK(util_fnv1a64_from(util_fnv1a64("ab", 2), "cd", 2) ==
	    util_fnv1a64("abcd", 4));
	CHECK(util_fnv1a64_from(UTIL_FNV64_BASIS, "a", 1) ==
	    util_fnv1a64("a", 1));
	CHECK_INT(util_days_from_civil(1970, 1, 1), 0);
	CHECK_INT(util_days_from_civil(2000, 3, 1), 11017);
	CHECK_INT(util_days_from_civil(1969, 12, 31), -1);
	CHECK_INT(util_fmt_f64(203.5, hex, sizeof(hex)), -1);	/* too small */
}

static void
test_strdupf(void)
{
	char *s = util_strdupf("%s/v1/token?key=%s&n=%d", "http://h", "k", 7);

	CHECK(s != NULL);
	CHECK_STR(s, "http://h/v1/token?key=k&n=7");
	free(s);
	s = util_strdupf("%s", "");
	CHECK(s != NULL && s[0] == '\0');
	free(s);
}

int
main(void)
{
	UNIT_RUN(test_streq_ct);
	UNIT_RUN(test_fmt_i64);
	UNIT_RUN(test_time_format);
	UNIT_RUN(test_streq_ct_lengths);
	UNIT_RUN(test_cond_monotonic);
	UNIT_RUN(test_json_escape);
	UNIT_RUN(test_shared_helpers);
	UNIT_RUN(test_strdupf);
	return unit_done();
}
