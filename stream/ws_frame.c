/*
 * ws_frame: the WebSocket wire format (RFC 6455, section 5), pure
 * functions without I/O so that test_stream_ws_frame.c can feed them
 * anything.
 *
 * A client frame must be masked (5.1) and may not set RSV bits (no
 * extension is negotiated); control frames are at most 125 bytes and
 * never fragmented (5.5); a 64-bit length has its top bit clear (5.2).
 * Any of these broken is a protocol error (1002); unknown opcodes too.
 */
#include <string.h>

#include "stream.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int
ws_frame_parse(const uint8_t *p, size_t len, struct ws_frame *f, int *code)
{
	size_t need = 2;
	uint64_t plen;

	*code = WS_CLOSE_PROTOCOL;
	if (len < 2)
		return 0;
	f->fin = (p[0] & 0x80) != 0;
	f->op = (enum ws_op)(p[0] & 0x0f);
	if (p[0] & 0x70)
		return -1;
	switch (f->op) {
	case WS_CONT: case WS_TEXT: case WS_BIN:
		break;
	case WS_CLOSE: case WS_PING: case WS_PONG:
		if (!f->fin || (p[1] & 0x7f) > 125)
			return -1;
		break;
	default:
		return -1;
	}
	if (!(p[1] & 0x80))
		return -1;		/* clients must mask */
	plen = p[1] & 0x7f;
	if (plen == 126)
		need += 2;
	else if (plen == 127)
		need += 8;
	need += 4;
	if (len < need)
		return 0;
	if (plen == 126) {
		plen = (uint64_t)p[2] << 8 | p[3];
		if (plen < 126)
			return -1;	/* not the shortest form */
	} else if (plen == 127) {
		plen = 0;
		for (int i = 0; i < 8; i++)
			plen = plen << 8 | p[2 + i];
		if (plen >> 63 || plen < 65536)
			return -1;
	}
	f->len = plen;
	f->hdrlen = need;
	memcpy(f->mask, p + need - 4, 4);
	return 1;
}

/*
 * Close codes a peer may send (RFC 6455 7.4, the IANA registry):
 * 1000-1003, 1007-1014, and 3000-4999 for libraries and applications.
 * 1004 is reserved, 1005, 1006 and 1015 never go on the wire, the rest
 * below 3000 is unassigned.
 */
bool
ws_close_code_valid(int code)
{
	return (code >= 1000 && code <= 1003) ||
	    (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/*
 * UTF-8 as it arrives, fragment by fragment: checks p[*done..len) and
 * moves *done past the last whole character, so that a message is
 * checked once however it is cut and fails on the first invalid byte
 * (not at its end). -1: invalid; 0: valid so far (a character may be
 * cut at the end: *done < len). Overlong forms, surrogates and code
 * points above U+10FFFF are invalid (RFC 3629).
 */
int
ws_utf8_check(const uint8_t *p, size_t len, size_t *done)
{
	size_t i = *done;

	while (i < len) {
		uint8_t b = p[i], lo = 0x80, hi = 0xbf;
		size_t n;

		if (b < 0x80) {
			i++;
			continue;
		}
		if (b >= 0xc2 && b <= 0xdf)
			n = 1;
		else if (b >= 0xe0 && b <= 0xef) {
			n = 2;
			if (b == 0xe0)
				lo = 0xa0;
			else if (b == 0xed)
				hi = 0x9f;
		} else if (b >= 0xf0 && b <= 0xf4) {
			n = 3;
			if (b == 0xf0)
				lo = 0x90;
			else if (b == 0xf4)
				hi = 0x8f;
		} else
			return -1;
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len) {
				*done = i;	/* cut: the rest comes later */
				return 0;
			}
			if (p[i + k] < (k == 1 ? lo : 0x80) ||
			    p[i + k] > (k == 1 ? hi : 0xbf))
				return -1;
		}
		i += n + 1;
	}
	*done = i;
	return 0;
}

void
ws_unmask(uint8_t *p, size_t len, const uint8_t mask[4])
{
	for (size_t i = 0; i < len; i++)
		p[i] ^= mask[i & 3];
}

size_t
ws_frame_header(uint8_t h[10], enum ws_op op, size_t len)
{
	h[0] = (uint8_t)(0x80 | op);
	if (len < 126) {
		h[1] = (uint8_t)len;
		return 2;
	}
	if (len < 65536) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		return 4;
	}
	h[1] = 127;
	for (int i = 0; i < 8; i++)
		h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	return 10;
}

int
ws_frame_append(struct buf *b, enum ws_op op, const void *p, size_t len)
{
	uint8_t h[10];
	size_t hl = ws_frame_header(h, op, len), old = b->len;

	if (buf_append(b, h, hl) == -1 ||
	    (len > 0 && buf_append(b, p, len) == -1)) {
		b->len = old;
		return -1;
	}
	return 0;
}

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455, 4.2.2). */
int
ws_accept_key(const char *key, char *out, size_t outlen)
{
	uint8_t raw[64 + sizeof(WS_GUID)], digest[SHA1_LEN];
	size_t kl = strlen(key);

	/*
	 * The key is 16 random bytes in base64: 22 characters of the
	 * alphabet, the last with its low 4 bits unused, and "==".
	 */
	if (kl != 24 || key[22] != '=' || key[23] != '=' ||
	    strchr("AQgw", key[21]) == NULL)
		return -1;
	for (size_t i = 0; i < 22; i++)
		if (!((key[i] >= 'A' && key[i] <= 'Z') ||
		    (key[i] >= 'a' && key[i] <= 'z') ||
		    (key[i] >= '0' && key[i] <= '9') || key[i] == '+' ||
		    key[i] == '/'))
			return -1;
	memcpy(raw, key, kl);
	memcpy(raw + kl, WS_GUID, sizeof(WS_GUID) - 1);
	sha1(raw, kl + sizeof(WS_GUID) - 1, digest);
	return base64_encode(digest, SHA1_LEN, out, outlen) > 0 ? 0 : -1;
}
