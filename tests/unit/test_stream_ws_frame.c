/*
 * The WebSocket wire format (stream/ws_frame.c) and the hash under its
 * handshake (stream/sha1.c), against RFC 6455 and FIPS 180 vectors.
 */
#include <string.h>

#include "../../stream/stream.h"
#include "unit.h"

static void
hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static void
test_sha1_vectors(void)
{
	uint8_t d[SHA1_LEN];
	char h[2 * SHA1_LEN + 1];
	static char million[1000000];

	sha1("abc", 3, d);
	hex(d, SHA1_LEN, h);
	CHECK_STR(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
	sha1("", 0, d);
	hex(d, SHA1_LEN, h);
	CHECK_STR(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d);
	hex(d, SHA1_LEN, h);
	CHECK_STR(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	memset(million, 'a', sizeof(million));
	sha1(million, sizeof(million), d);
	hex(d, SHA1_LEN, h);
	CHECK_STR(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void
test_accept_key(void)
{
	char out[64];

	/* RFC 6455, 1.3 */
	CHECK_INT(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out, sizeof(out)), 0);
	CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	CHECK_INT(ws_accept_key("short", out, sizeof(out)), -1);
}

static void
test_parse_client_frames(void)
{
	/* RFC 6455, 5.7: a masked "Hello". */
	uint8_t hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f,
		0x4d, 0x51, 0x58 };
	uint8_t mid[4 + 4 + 200];
	struct ws_frame f;
	int code;

	CHECK_INT(ws_frame_parse(hello, 1, &f, &code), 0);
	CHECK_INT(ws_frame_parse(hello, 5, &f, &code), 0);
	CHECK_INT(ws_frame_parse(hello, sizeof(hello), &f, &code), 1);
	CHECK(f.fin);
	CHECK_INT(f.op, WS_TEXT);
	CHECK_INT(f.len, 5);
	CHECK_INT(f.hdrlen, 6);
	ws_unmask(hello + 6, 5, f.mask);
	CHECK(memcmp(hello + 6, "Hello", 5) == 0);
	memset(mid, 0, sizeof(mid));
	mid[0] = 0x81;
	mid[1] = 0x80 | 126;
	mid[2] = 0;
	mid[3] = 200;
	CHECK_INT(ws_frame_parse(mid, sizeof(mid), &f, &code), 1);
	CHECK_INT(f.len, 200);
	CHECK_INT(f.hdrlen, 8);
}

static void
test_parse_refuses(void)
{
	static const uint8_t bad[][10] = {
		{ 0x81, 0x05 },			/* not masked */
		{ 0xc1, 0x80 },			/* RSV1 */
		{ 0x83, 0x80 },			/* reserved opcode */
		{ 0x09, 0x80 },			/* fragmented ping */
		{ 0x89, 0xfe },			/* ping of 126+ bytes */
		{ 0x81, 0xfe, 0x00, 0x05 },	/* 16-bit length < 126 */
		{ 0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0 },	/* top bit */
		{ 0x81, 0xff, 0, 0, 0, 0, 0, 0, 0x01, 0 },	/* not shortest */
	};
	uint8_t buf[32];
	struct ws_frame f;
	int code;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf, bad[i], sizeof(bad[i]));
		if (ws_frame_parse(buf, sizeof(buf), &f, &code) != -1)
			unit_fail(__FILE__, __LINE__, "frame %zu accepted", i);
		CHECK_INT(code, WS_CLOSE_PROTOCOL);
	}
}

static void
test_server_headers(void)
{
	uint8_t h[10];
	struct buf b;

	CHECK_INT(ws_frame_header(h, WS_TEXT, 125), 2);
	CHECK_INT(h[0], 0x81);
	CHECK_INT(h[1], 125);
	CHECK_INT(ws_frame_header(h, WS_TEXT, 126), 4);
	CHECK_INT(h[1], 126);
	CHECK_INT(h[2] << 8 | h[3], 126);
	CHECK_INT(ws_frame_header(h, WS_CLOSE, 70000), 10);
	CHECK_INT(h[0], 0x88);
	CHECK_INT(h[7] << 16 | h[8] << 8 | h[9], 70000);
	buf_init(&b);
	CHECK_INT(ws_frame_append(&b, WS_PONG, "ab", 2), 0);
	CHECK_INT(b.len, 4);
	CHECK(memcmp(b.data, "\x8a\x02" "ab", 4) == 0);
	buf_free(&b);
}

static void
test_close_codes(void)
{
	static const int good[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009,
	    1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999 };
	static const int bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016, 1100,
	    2000, 2999, 5000, 65535 };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(ws_close_code_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!ws_close_code_valid(bad[i]));
}

static int
utf8(const char *s, size_t len, size_t *done)
{
	*done = 0;
	return ws_utf8_check((const uint8_t *)s, len, done);
}

static void
test_utf8_pieces(void)
{
	/* "κόσμε" and U+10FFFF: valid, whole. */
	static const char ok[] = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc"
	    "\xce\xb5\xf4\x8f\xbf\xbf";
	size_t done;

	CHECK_INT(utf8(ok, sizeof(ok) - 1, &done), 0);
	CHECK_INT(done, sizeof(ok) - 1);
	/* Cut inside the last character: valid so far, done before it. */
	CHECK_INT(utf8(ok, sizeof(ok) - 2, &done), 0);
	CHECK_INT(done, sizeof(ok) - 5);
	/* Then the rest: checked from done only. */
	CHECK_INT(ws_utf8_check((const uint8_t *)ok, sizeof(ok) - 1, &done),
	    0);
	CHECK_INT(done, sizeof(ok) - 1);
	/* Fails fast: an invalid second byte, even with more to come. */
	CHECK_INT(utf8("\xce\xba\xf4\x90", 4, &done), -1);	/* > U+10FFFF */
	CHECK_INT(utf8("\xed\xa0", 2, &done), -1);	/* surrogate */
	CHECK_INT(utf8("\xe0\x80", 2, &done), -1);	/* overlong */
	CHECK_INT(utf8("\xc0\xaf", 2, &done), -1);
	CHECK_INT(utf8("\xf5", 1, &done), -1);
	CHECK_INT(utf8("\x80", 1, &done), -1);
	CHECK_INT(utf8("a\xe2\x82", 3, &done), 0);	/* cut "€" */
	CHECK_INT(done, 1);
}

int
main(void)
{
	UNIT_RUN(test_sha1_vectors);
	UNIT_RUN(test_accept_key);
	UNIT_RUN(test_parse_client_frames);
	UNIT_RUN(test_parse_refuses);
	UNIT_RUN(test_server_headers);
	UNIT_RUN(test_close_codes);
	UNIT_RUN(test_utf8_pieces);
	return unit_done();
}
