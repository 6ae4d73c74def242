/*
 * hmac: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), for signing
 * webhook bodies. Written out here rather than taken from OpenSSL's
 * libcrypto so that the daemons do not link a TLS library for forty
 * lines of arithmetic; tests/unit/test_hmac.c checks the FIPS 180-2 and
 * RFC 4231 vectors.
 *
 *	char sig[HMAC_SHA256_HEX_LEN + 1];
 *	hmac_sha256_hex(secret, strlen(secret), body, len, sig);
 *
 * Plain data on the caller's stack, no allocation, no state between
 * calls: every function is thread-safe. Not for passwords (no key
 * stretching) and not constant-time with respect to the message length.
 */
#ifndef GRILLD_HMAC_H
#define GRILLD_HMAC_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BLOCK_LEN	64
#define SHA256_DIGEST_LEN	32
#define HMAC_SHA256_HEX_LEN	(2 * SHA256_DIGEST_LEN)

struct sha256 {
	uint32_t	 h[8];
	uint64_t	 len;		/* bytes hashed so far */
	uint8_t		 block[SHA256_BLOCK_LEN];
	size_t		 fill;		/* bytes waiting in block */
};

void	sha256_init(struct sha256 *);
void	sha256_update(struct sha256 *, const void *, size_t);
/* Writes the digest; the context must be initialised again to reuse it. */
void	sha256_final(struct sha256 *, uint8_t [SHA256_DIGEST_LEN]);
void	sha256(const void *, size_t, uint8_t [SHA256_DIGEST_LEN]);

/* HMAC-SHA256 of msg under key (any length; longer keys are hashed). */
void	hmac_sha256(const void *, size_t, const void *, size_t,
	    uint8_t [SHA256_DIGEST_LEN]);
/* The same, as 64 lower-case hex digits and a NUL (65 bytes). */
void	hmac_sha256_hex(const void *, size_t, const void *, size_t,
	    char [HMAC_SHA256_HEX_LEN + 1]);
/* n bytes as 2n lower-case hex digits and a NUL. */
void	hmac_hex(const uint8_t *, size_t, char *);

#endif
