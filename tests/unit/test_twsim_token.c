/*
 * The simulator's tokens: JWT-shaped id tokens that expire, refresh
 * tokens, tampering, revocation and its refresh answers.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "../../twsim/twsim.h"
#include "unit.h"

#define NOW 1767225600000LL

static struct tw_world *w;
static struct tw_account *acct;

static void
setup(void)
{
	char err[256];

	w = scenario_new(1, 1, NOW, 60000, "k");	/* 60-s tokens */
	acct = scenario_account(w, "cook@example.com", "pw", "uid1");
	scenario_account(w, "other@example.com", "pw", "uid2");
	CHECK(scenario_finish(w, err, sizeof(err)) == 0);
}

static void
test_jwt_shape(void)
{
	struct buf t;
	uint8_t payload[1024];
	const char *dot1, *dot2;
	size_t n;
	cJSON *claims;

	buf_init(&t);
	CHECK(token_id_make(w, acct, NOW, NOW / 1000, &t) == 0);
	if (t.data == NULL || (dot1 = strchr(t.data, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL) {
		CHECK(!"a token of three parts");
		return;
	}
	CHECK(strncmp(t.data, "eyJ", 3) == 0);	/* base64url of '{"' */
	CHECK(hash_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1),
	    payload, sizeof(payload) - 1, &n) == 0);
	payload[n] = '\0';
	CHECK((claims = cJSON_Parse((char *)payload)) != NULL);
	CHECK_STR(cJSON_GetObjectItem(claims, "user_id")->valuestring, "uid1");
	CHECK_STR(cJSON_GetObjectItem(claims, "aud")->valuestring,
	    "thermoworks-cloud-production");
	CHECK_INT(cJSON_GetObjectItem(claims, "exp")->valuedouble -
	    cJSON_GetObjectItem(claims, "iat")->valuedouble, 60);
	cJSON_Delete(claims);
	buf_free(&t);
}

static void
test_id_token_expires(void)
{
	struct tw_account *a = NULL;
	const char *why;
	struct buf t;

	buf_init(&t);
	CHECK(token_id_make(w, acct, NOW, NOW / 1000, &t) == 0);
	CHECK(token_id_check(w, t.data, NOW, &a, &why) == 0);
	CHECK(a == acct);
	CHECK(token_id_check(w, t.data, NOW + 59999, &a, &why) == 0);
	CHECK(token_id_check(w, t.data, NOW + 60000, &a, &why) == -1);
	CHECK_STR(why, "EXPIRED");
	buf_free(&t);
}

static void
test_tampered_tokens(void)
{
	struct tw_account *a;
	const char *why;
	struct buf t;
	char *p;

	buf_init(&t);
	CHECK(token_id_make(w, acct, NOW, NOW / 1000, &t) == 0);
	p = strchr(t.data, '.') + 5;
	*p = *p == 'A' ? 'B' : 'A';		/* one character of the claims */
	CHECK(token_id_check(w, t.data, NOW, &a, &why) == -1);
	CHECK_STR(why, "BAD_SIGNATURE");
	CHECK(token_id_check(w, "abc", NOW, &a, &why) == -1);
	CHECK_STR(why, "MALFORMED");
	CHECK(token_id_check(w, "a.b.c.d", NOW, &a, &why) == -1);
	CHECK(token_id_check(w, "", NOW, &a, &why) == -1);
	buf_free(&t);
}

static void
test_refresh_round_trip(void)
{
	struct tw_account *a = NULL;
	struct buf r, id;
	const char *why;
	int64_t auth;

	buf_init(&r);
	buf_init(&id);
	CHECK(token_refresh_make(w, acct, 1234, &r) == 0);
	CHECK(strncmp(r.data, "AMf-vB", 6) == 0);
	CHECK(token_refresh_check(w, r.data, &a, &auth, &why) == 0);
	CHECK(a == acct);
	CHECK_INT(auth, 1234);
	/* A refreshed id token is good at its own time, for its lifetime. */
	CHECK(token_id_make(w, a, NOW + 3600000, auth, &id) == 0);
	CHECK(token_id_check(w, id.data, NOW + 3600000 + 30000, &a, &why) ==
	    0);
	r.data[10] ^= 1;
	CHECK(token_refresh_check(w, r.data, &a, &auth, &why) == -1);
	CHECK_STR(why, "INVALID_REFRESH_TOKEN");
	CHECK(token_refresh_check(w, "nonsense", &a, &auth, &why) == -1);
	CHECK_STR(why, "INVALID_REFRESH_TOKEN");
	buf_free(&r);
	buf_free(&id);
}

static void
test_revocation(void)
{
	struct tw_account *a, *other = scenario_find_uid(w, "uid2");
	struct buf id, r, id2;
	const char *why;
	int64_t auth;

	buf_init(&id);
	buf_init(&r);
	buf_init(&id2);
	CHECK(token_id_make(w, acct, NOW, NOW / 1000, &id) == 0);
	CHECK(token_refresh_make(w, acct, NOW / 1000, &r) == 0);
	CHECK(token_id_make(w, other, NOW, NOW / 1000, &id2) == 0);
	token_revoke(acct, REVOKE_TOKEN_EXPIRED);
	CHECK(token_id_check(w, id.data, NOW, &a, &why) == -1);
	CHECK_STR(why, "REVOKED");
	CHECK(token_refresh_check(w, r.data, &a, &auth, &why) == -1);
	CHECK_STR(why, "TOKEN_EXPIRED");
	/* Other accounts are untouched. */
	CHECK(token_id_check(w, id2.data, NOW, &a, &why) == 0);
	/* A new sign-in works again. */
	CHECK(token_id_make(w, acct, NOW, NOW / 1000, &id) == 0);
	CHECK(token_id_check(w, id.data, NOW, &a, &why) == 0);
	CHECK(token_refresh_make(w, acct, NOW / 1000, &r) == 0);
	token_revoke(acct, REVOKE_INVALID_REFRESH_TOKEN);
	CHECK(token_refresh_check(w, r.data, &a, &auth, &why) == -1);
	CHECK_STR(why, "INVALID_REFRESH_TOKEN");
	buf_free(&id);
	buf_free(&r);
	buf_free(&id2);
}

/* Same seed, same secret: tokens outlive a restart; another seed not. */
static void
test_restart(void)
{
	struct tw_world *again = scenario_new(1, 1, NOW, 60000, "k");
	struct tw_world *other = scenario_new(2, 1, NOW, 60000, "k");
	struct tw_account *a;
	const char *why;
	struct buf id;
	char err[64];

	scenario_account(again, "cook@example.com", "pw", "uid1");
	scenario_account(other, "cook@example.com", "pw", "uid1");
	CHECK(scenario_finish(again, err, sizeof(err)) == 0);
	CHECK(scenario_finish(other, err, sizeof(err)) == 0);
	buf_init(&id);
	CHECK(token_id_make(w, acct, NOW, NOW / 1000, &id) == 0);
	CHECK(token_id_check(again, id.data, NOW, &a, &why) == 0);
	CHECK(token_id_check(other, id.data, NOW, &a, &why) == -1);
	buf_free(&id);
	scenario_free(again);
	scenario_free(other);
}

static void
test_base64url(void)
{
	uint8_t out[16];
	char enc[32];
	size_t n;

	CHECK_INT(hash_b64url("\xfb\xff", 2, enc, sizeof(enc)), 3);
	CHECK_STR(enc, "-_8");
	CHECK(hash_b64url_decode("-_8", 3, out, sizeof(out), &n) == 0);
	CHECK_INT(n, 2);
	CHECK(out[0] == 0xfb && out[1] == 0xff);
	CHECK(hash_b64url_decode("a+b", 3, out, sizeof(out), &n) == -1);
	CHECK(hash_b64url_decode("a", 1, out, sizeof(out), &n) == -1);
	CHECK_INT(hash_b64url("abc", 3, enc, 4), 0);	/* no room */
}

/*
 * The seeded string hash picks every world's cooks: the same seed and
 * name must keep giving the same value (a world's state file and the
 * chaos oracles depend on it), whichever FNV-1a code computes it.
 */
static void
test_hash_str_pinned(void)
{
	CHECK(hash_str(42, "dev-7") == UINT64_C(0xa462431478afdc17));
	CHECK(hash_str(0, "") == UINT64_C(0x5b21f68ffa77f14c));
	CHECK(hash_str(43, "dev-7") != hash_str(42, "dev-7"));
}

int
main(void)
{
	setup();
	UNIT_RUN(test_jwt_shape);
	UNIT_RUN(test_id_token_expires);
	UNIT_RUN(test_tampered_tokens);
	UNIT_RUN(test_refresh_round_trip);
	UNIT_RUN(test_revocation);
	UNIT_RUN(test_restart);
	UNIT_RUN(test_base64url);
	UNIT_RUN(test_hash_str_pinned);
	scenario_free(w);
	return unit_done();
}
