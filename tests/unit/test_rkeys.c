/*
 * test_rkeys: the Redis layout every daemon shares (common/rkeys.c):
 * key names under a prefix, the latest and alertstate field formats, the
 * glob of a device's probes, and a readings entry written the one way
 * both the poller's script and the API's batch write it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rkeys.h"
#include "unit.h"

static void
test_rkeys_names(void)
{
	char k[64], tiny[8];
	char *d;

	CHECK_INT(rkey(k, sizeof(k), "grilld:", RKEY_READINGS), 0);
	CHECK_STR(k, "grilld:readings");
	CHECK_INT(rkey(k, sizeof(k), NULL, RKEY_RULES_VERSION), 0);
	CHECK_STR(k, "rules:version");
	CHECK_INT(rkey(k, sizeof(k), "p:", RKEY_LEASE_POLLER), 0);
	CHECK_STR(k, "p:lease:poller:");
	/* Too long: said, never a key cut short silently. */
	CHECK_INT(rkey(tiny, sizeof(tiny), "grilld:", RKEY_LATEST_TS), -1);
	CHECK((d = rkey_dup("x:", RKEY_POLLER_SEEN)) != NULL);
	CHECK_STR(d, "x:poller:seen");
	free(d);
	/* Every key has a name, and no two the same. */
	for (int i = 0; i < RKEY_COUNT; i++) {
		CHECK(rkey_name((enum rkey)i)[0] != '\0');
		for (int j = 0; j < i; j++)
			CHECK(strcmp(rkey_name((enum rkey)i),
			    rkey_name((enum rkey)j)) != 0);
	}
	CHECK_STR(rkey_name(RKEY_COUNT), "");
}

static void
test_rkeys_fields(void)
{
	char f[64];
	struct buf b;

	CHECK_INT(rkey_latest_field(f, sizeof(f), "SB42", "2"), 0);
	CHECK_STR(f, "SB42/2");
	CHECK_INT(rkey_alert_field(f, sizeof(f), "r1", "SB42", "2"), 0);
	CHECK_STR(f, "r1/SB42/2");
	CHECK_INT(rkey_alert_side(f, sizeof(f), "r1/SB42/2", RKEY_ACK), 0);
	CHECK_STR(f, "r1/SB42/2#ack");
	CHECK_INT(rkey_alert_side(f, sizeof(f), "r1/SB42/2", RKEY_SNOOZE), 0);
	CHECK_STR(f, "r1/SB42/2#snooze");
	CHECK_INT(rkey_latest_field(f, 4, "SB42", "2"), -1);
	buf_init(&b);
	CHECK_INT(rkey_latest_put(&b, "SB42", "10"), 0);
	CHECK_STR(b.data, "SB42/10");
	buf_reset(&b);
	/* A device named like a glob matches itself alone. */
	CHECK_INT(rkey_field_glob(&b, "a*b?[c]\\"), 0);
	CHECK_STR(b.data, "a\\*b\\?\\[c\\]\\\\/*");
	buf_free(&b);
}

static void
test_rkeys_readings_entry(void)
{
	const char *argv[RKEY_XADD_ARGC];
	size_t lens[RKEY_XADD_ARGC];
	char want[128];

	rkey_readings_xadd(argv, lens, "g:readings", "{\"a\":1}xx", 7);
	CHECK_STR(argv[0], "XADD");
	CHECK_STR(argv[1], "g:readings");
	CHECK_STR(argv[2], "*");
	CHECK_STR(argv[3], "v");
	CHECK_STR(argv[4], "1");
	CHECK_STR(argv[5], "r");
	CHECK_INT(lens[6], 7);
	CHECK_INT(lens[3], 1);
	/* The poller's script writes the very same fields and version. */
	snprintf(want, sizeof(want), "redis.call('XADD', KEYS[1], '*', "
	    "'%s', '%s', '%s', ARGV[i + 3])", argv[3], argv[4], argv[5]);
	CHECK(strstr(rkey_emit_lua, want) != NULL);
}

int
main(void)
{
	UNIT_RUN(test_rkeys_names);
	UNIT_RUN(test_rkeys_fields);
	UNIT_RUN(test_rkeys_readings_entry);
	return unit_done();
}
