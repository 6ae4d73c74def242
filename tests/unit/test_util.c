/*
 * util: the constant-time comparison API keys and stream tokens go
 * through (util_streq_ct): right answers for equal, shorter, longer and
 * empty strings, and no early exit on a mismatch in the first byte.
 */
#include <stdlib.h>

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

int
main(void)
{
	UNIT_RUN(test_streq_ct);
	UNIT_RUN(test_streq_ct_lengths);
	return unit_done();
}
