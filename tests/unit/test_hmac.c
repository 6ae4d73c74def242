/*
 * SHA-256 against FIPS 180-2 (appendix B) and HMAC-SHA256 against
 * RFC 4231 section 4; also against the same input fed in pieces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmac.h"
#include "util.h"
#include "unit.h"

static void
hex_of_sha(const void *p, size_t n, char out[65])
{
	uint8_t d[SHA256_DIGEST_LEN];

	sha256(p, n, d);
	hmac_hex(d, sizeof(d), out);
}

static void
test_sha256_fips(void)
{
	char hex[65];
	char *a;

	hex_of_sha("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	hex_of_sha("", 0, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	hex_of_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    56, hex);
	CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1");
	a = malloc(1000000);
	CHECK(a != NULL);
	if (a == NULL)
		return;
	memset(a, 'a', 1000000);
	hex_of_sha(a, 1000000, hex);
	CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
	    "f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

static void
test_sha256_pieces(void)
{
	const char *msg = "The quick brown fox jumps over the lazy dog, "
	    "and then it jumps over the lazy dog again, and again.";
	uint8_t whole[SHA256_DIGEST_LEN], part[SHA256_DIGEST_LEN];
	size_t n = strlen(msg), step;

	sha256(msg, n, whole);
	for (step = 1; step < 70; step += 7) {
		struct sha256 s;
		size_t off;

		sha256_init(&s);
		for (off = 0; off < n; off += step)
			sha256_update(&s, msg + off, off + step > n ? n - off :
			    step);
		sha256_final(&s, part);
		CHECK(memcmp(whole, part, sizeof(whole)) == 0);
	}
}

struct vec {
	const char	*key;		/* hex */
	const char	*data;		/* hex */
	const char	*mac;		/* hex, maybe truncated */
};

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned v;

		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static void
test_hmac_rfc4231(void)
{
	static const struct vec v[] = {
		{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
		  "4869205468657265",
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
		{ "4a656665",
		  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "dddddddddddddddddddddddddddddddddddddddddddddddddd"
		  "dddddddddddddddddddddddddddddddddddddddddddddddddd",
		  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
		{ "0102030405060708090a0b0c0d0e0f10111213141516171819",
		  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
		  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
		  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
		{ "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
		  "546573742057697468205472756e636174696f6e",
		  "a3b6167473100ee06e0c796c2955552b" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaa",
		  "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
		  "65204b6579202d2048617368204b6579204669727374",
		  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaa",
		  "5468697320697320612074657374207573696e672061206c6172676572207468"
		  "616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074"
		  "68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
		  "647320746f20626520686173686564206265666f7265206265696e6720757365"
		  "642062792074686520484d414320616c676f726974686d2e",
		  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
	};
	uint8_t key[256], data[256];
	char hex[HMAC_SHA256_HEX_LEN + 1];
	size_t i;

	for (i = 0; i < ARRAY_LEN(v); i++) {
		size_t kl = unhex(v[i].key, key), dl = unhex(v[i].data, data);

		hmac_sha256_hex(key, kl, data, dl, hex);
		if (strncmp(hex, v[i].mac, strlen(v[i].mac)) != 0)
			unit_fail(__FILE__, __LINE__, "RFC 4231 case %zu: %s",
			    i + 1, hex);
	}
}

static void
test_hmac_empty(void)
{
	char hex[HMAC_SHA256_HEX_LEN + 1];

	/* A well-known value: HMAC-SHA256 with an empty key and message. */
	hmac_sha256_hex("", 0, "", 0, hex);
	CHECK_STR(hex, "b613679a0814d9ec772f95d778c35fc5"
	    "ff1697c493715653c6c712144292c5ad");
	CHECK_INT(strlen(hex), HMAC_SHA256_HEX_LEN);
}

int
main(void)
{
	UNIT_RUN(test_sha256_fips);
	UNIT_RUN(test_sha256_pieces);
	UNIT_RUN(test_hmac_rfc4231);
	UNIT_RUN(test_hmac_empty);
	return unit_done();
}
