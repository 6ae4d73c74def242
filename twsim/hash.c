/*
 * hash: the deterministic randomness of the simulator, and base64url.
 *
 * Everything the cooks draw (set points, stall lengths, noise, lid
 * openings) comes from hashing (seed, device, lane, index), never from a
 * stateful generator, so any thread computes any sample in any order and
 * gets the same answer. Tokens are signed with SipHash-2-4.
 */
#include <math.h>
#include <string.h>

#include "twsim.h"

/* splitmix64's finalizer: a bijection that mixes every bit. */
uint64_t
hash_mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/*
 * FNV-1a of a string, mixed with a seed: the seed goes into the offset
 * basis, so every world's cooks differ (test_twsim_token pins a value).
 */
uint64_t
hash_str(uint64_t seed, const char *s)
{
	return hash_mix(util_fnv1a64_from(UTIL_FNV64_BASIS ^ hash_mix(seed), s,
	    strlen(s)));
}

uint64_t
hash3(uint64_t a, uint64_t b, uint64_t c)
{
	return hash_mix(a ^ hash_mix(b ^ hash_mix(c)));
}

/* A uniform double in [0, 1). */
double
hash_unit(uint64_t a, uint64_t b, uint64_t c)
{
	return (double)(hash3(a, b, c) >> 11) * 0x1.0p-53;
}

/*
 * Smooth value noise in [-1, 1]: random values at the integers,
 * smoothstep between them. Used for slow drifts (Wi-Fi, humidity).
 */
double
hash_smooth(uint64_t key, uint64_t lane, double x)
{
	double n = floor(x), f = x - n, s = f * f * (3 - 2 * f);
	double v0 = hash_unit(key, lane, (uint64_t)(int64_t)n) * 2 - 1;
	double v1 = hash_unit(key, lane, (uint64_t)(int64_t)n + 1) * 2 - 1;

	return v0 + (v1 - v0) * s;
}

/* --- SipHash-2-4 ---------------------------------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND							\
	do {								\
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;			\
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;			\
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t
load64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t
hash_siphash(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *p = data, *end = p + (len - len % 8);
	uint64_t k0 = load64(key), k1 = load64(key + 8), m, b;
	uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
	uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
	uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);

	for (; p != end; p += 8) {
		m = load64(p);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	b = (uint64_t)len << 56;
	for (size_t i = 0; i < len % 8; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* --- base64url, without padding (JWT) ------------------------------- */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Returns the length written (not counting the NUL), or 0 if no room. */
size_t
hash_b64url(const void *data, size_t len, char *out, size_t outlen)
{
	const uint8_t *p = data;
	size_t need = (len * 4 + 2) / 3, o = 0;

	if (need + 1 > outlen)
		return 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		if (i + 1 < len)
			out[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < len)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
	return o;
}

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Decodes len characters; 0, or -1 when not base64url or too long. */
int
hash_b64url_decode(const char *s, size_t len, uint8_t *out, size_t outlen,
    size_t *n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64val(s[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == outlen)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*n = o;
	return 0;
}
