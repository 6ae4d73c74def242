/*
 * token: Firebase-shaped id tokens and refresh tokens.
 *
 * An id token is a JWT (header.payload.signature, base64url) carrying the
 * claims Firebase puts in one (iss, aud, auth_time, user_id, sub, iat,
 * exp, email, firebase{...}) plus tw_gen, the account's token generation
 * when it was issued. The signature is SipHash-2-4 under a secret drawn
 * from twsim.seed, so tokens survive a restart with the same seed, as
 * real ones survive Google's. A refresh token is "AMf-vB" and base64url
 * of (version, generation, auth time, nonce, uid, signature).
 *
 * Revoking an account's tokens (a fault) bumps its generation: every id
 * token issued before is refused (401) and every refresh token too, with
 * the reason the fault chose (TOKEN_EXPIRED by default), so the client
 * has to sign in again.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "twsim.h"

#define JWT_HEADER	"{\"alg\":\"RS256\",\"kid\":\"twsim1\",\"typ\":\"JWT\"}"
#define REFRESH_PREFIX	"AMf-vB"
#define UID_MAX		128
#define SIG_LEN		32

static _Atomic uint64_t nonce_counter;

/* A 32-byte signature of data: four SipHash lanes. */
static void
sign(const struct tw_world *w, const void *data, size_t len, uint8_t *sig,
    size_t siglen)
{
	uint8_t key[16];

	for (size_t i = 0; i * 8 < siglen; i++) {
		uint64_t h;

		memcpy(key, w->secret, sizeof(key));
		key[0] ^= (uint8_t)(i + 1);
		h = hash_siphash(key, data, len);
		memcpy(sig + i * 8, &h, siglen - i * 8 < 8 ? siglen - i * 8 : 8);
	}
}

static int
b64_append(struct buf *b, const void *data, size_t len)
{
	size_t need = (len * 4 + 2) / 3 + 1;

	if (buf_reserve(b, need) == -1)
		return -1;
	b->len += hash_b64url(data, len, b->data + b->len, need);
	return 0;
}

int
token_id_make(const struct tw_world *w, const struct tw_account *a,
    int64_t now_ms, int64_t auth_s, struct buf *out)
{
	struct buf payload;
	struct jw j;
	uint8_t sig[SIG_LEN];
	int64_t iat = now_ms / 1000;
	int rc = -1;

	buf_init(&payload);
	jw_init(&j, &payload, false);
	jw_obj(&j);
	jw_kstr(&j, "iss", "https://securetoken.google.com/" TW_PROJECT_ID);
	jw_kstr(&j, "aud", TW_PROJECT_ID);
	jw_kint(&j, "auth_time", auth_s);
	jw_kstr(&j, "user_id", a->uid);
	jw_kstr(&j, "sub", a->uid);
	jw_kint(&j, "iat", iat);
	jw_kint(&j, "exp", iat + (w->token_ms + 999) / 1000);
	jw_kstr(&j, "email", a->email);
	jw_key(&j, "email_verified");
	jw_bool(&j, true);
	jw_key(&j, "firebase");
	jw_obj(&j);
	jw_key(&j, "identities");
	jw_obj(&j);
	jw_key(&j, "email");
	jw_arr(&j);
	jw_str(&j, a->email);
	jw_arr_end(&j);
	jw_obj_end(&j);
	jw_kstr(&j, "sign_in_provider", "password");
	jw_obj_end(&j);
	jw_kint(&j, "tw_gen", atomic_load(&a->token_gen));
	jw_obj_end(&j);
	if (j.err)
		goto done;
	buf_reset(out);
	if (b64_append(out, JWT_HEADER, strlen(JWT_HEADER)) == -1 ||
	    buf_putc(out, '.') == -1 ||
	    b64_append(out, payload.data, payload.len) == -1)
		goto done;
	sign(w, out->data, out->len, sig, sizeof(sig));
	if (buf_putc(out, '.') == -1 || b64_append(out, sig, sizeof(sig)) == -1)
		goto done;
	rc = 0;
done:
	buf_free(&payload);
	return rc;
}

/*
 * Checks an id token at now_ms. Returns 0 with its account, or -1 with
 * why: "MALFORMED", "BAD_SIGNATURE", "UNKNOWN_USER", "REVOKED",
 * "EXPIRED" or "USER_DISABLED".
 */
int
token_id_check(const struct tw_world *w, const char *tok, int64_t now_ms,
    struct tw_account **ap, const char **why)
{
	const char *dot1, *dot2;
	uint8_t sig[SIG_LEN], want[SIG_LEN], payload[2048];
	size_t n;
	cJSON *root = NULL;
	const cJSON *uid, *exp, *gen;
	struct tw_account *a;
	int rc = -1;

	*why = "MALFORMED";
	if ((dot1 = strchr(tok, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL || strchr(dot2 + 1, '.'))
		return -1;
	if (hash_b64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig),
	    &n) == -1 || n != sizeof(sig))
		return -1;
	sign(w, tok, (size_t)(dot2 - tok), want, sizeof(want));
	if (memcmp(sig, want, sizeof(sig)) != 0) {
		*why = "BAD_SIGNATURE";
		return -1;
	}
	if (hash_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), payload,
	    sizeof(payload) - 1, &n) == -1)
		return -1;
	if ((root = cJSON_ParseWithLength((const char *)payload, n)) == NULL)
		return -1;
	uid = cJSON_GetObjectItemCaseSensitive(root, "user_id");
	exp = cJSON_GetObjectItemCaseSensitive(root, "exp");
	gen = cJSON_GetObjectItemCaseSensitive(root, "tw_gen");
	if (!cJSON_IsString(uid) || !cJSON_IsNumber(exp) || !cJSON_IsNumber(gen))
		goto done;
	if ((a = scenario_find_uid(w, uid->valuestring)) == NULL) {
		*why = "UNKNOWN_USER";
		goto done;
	}
	/* Older generations were revoked; a newer one is from before a
	 * restart (generations start again at 0). */
	if ((uint32_t)gen->valuedouble < atomic_load(&a->token_gen)) {
		*why = "REVOKED";
		goto done;
	}
	if ((int64_t)exp->valuedouble * 1000 <= now_ms) {
		*why = "EXPIRED";
		goto done;
	}
	if (a->disabled) {
		*why = "USER_DISABLED";
		goto done;
	}
	*ap = a;
	*why = NULL;
	rc = 0;
done:
	cJSON_Delete(root);
	return rc;
}

/* Layout: version, generation (4, BE), auth time (8, BE), nonce, uid. */
struct refresh {
	uint8_t		 raw[1 + 4 + 8 + 8 + UID_MAX + 16];
	size_t		 len;
};

static void
put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int
token_refresh_make(const struct tw_world *w, const struct tw_account *a,
    int64_t auth_s, struct buf *out)
{
	struct refresh r;
	size_t ulen = strlen(a->uid);
	uint64_t nonce = hash3(w->seed, atomic_fetch_add(&nonce_counter, 1),
	    0x6e6f6e6365);

	if (ulen > UID_MAX)
		return -1;
	r.raw[0] = 1;
	put_be(r.raw + 1, atomic_load(&a->token_gen), 4);
	put_be(r.raw + 5, (uint64_t)auth_s, 8);
	put_be(r.raw + 13, nonce, 8);
	memcpy(r.raw + 21, a->uid, ulen);
	r.len = 21 + ulen;
	sign(w, r.raw, r.len, r.raw + r.len, 16);
	r.len += 16;
	buf_reset(out);
	if (buf_puts(out, REFRESH_PREFIX) == -1)
		return -1;
	return b64_append(out, r.raw, r.len);
}

/*
 * Checks a refresh token. Returns 0 with its account and the time of
 * the sign-in it came from, or -1 with the Secure Token error to answer:
 * INVALID_REFRESH_TOKEN, TOKEN_EXPIRED, USER_DISABLED, USER_NOT_FOUND.
 */
int
token_refresh_check(const struct tw_world *w, const char *tok,
    struct tw_account **ap, int64_t *auth_s, const char **why)
{
	struct refresh r;
	uint8_t want[16];
	char uid[UID_MAX + 1];
	struct tw_account *a;
	size_t plen = strlen(REFRESH_PREFIX);

	*why = "INVALID_REFRESH_TOKEN";
	if (strncmp(tok, REFRESH_PREFIX, plen) != 0 ||
	    hash_b64url_decode(tok + plen, strlen(tok + plen), r.raw,
	    sizeof(r.raw), &r.len) == -1 || r.len < 21 + 1 + 16 ||
	    r.raw[0] != 1)
		return -1;
	sign(w, r.raw, r.len - 16, want, sizeof(want));
	if (memcmp(want, r.raw + r.len - 16, sizeof(want)) != 0)
		return -1;
	memcpy(uid, r.raw + 21, r.len - 16 - 21);
	uid[r.len - 16 - 21] = '\0';
	if ((a = scenario_find_uid(w, uid)) == NULL) {
		*why = "USER_NOT_FOUND";
		return -1;
	}
	if ((uint32_t)get_be(r.raw + 1, 4) < atomic_load(&a->token_gen)) {
		switch (atomic_load(&a->revoke_reason)) {
		case REVOKE_INVALID_REFRESH_TOKEN:
			*why = "INVALID_REFRESH_TOKEN";
			break;
		case REVOKE_USER_DISABLED:
			*why = "USER_DISABLED";
			break;
		default:
			*why = "TOKEN_EXPIRED";
			break;
		}
		return -1;
	}
	if (a->disabled) {
		*why = "USER_DISABLED";
		return -1;
	}
	*ap = a;
	*auth_s = (int64_t)get_be(r.raw + 5, 8);
	*why = NULL;
	return 0;
}

/* Every token of the account issued so far stops working. */
void
token_revoke(struct tw_account *a, enum tw_revoke reason)
{
	atomic_store(&a->revoke_reason, (int)reason);
	atomic_fetch_add(&a->token_gen, 1);
}
