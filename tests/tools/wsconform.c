/*
 * wsconform: a WebSocket conformance run against grilld-stream, in the
 * manner of the Autobahn test suite's server cases (framing, pings,
 * reserved bits and opcodes, fragmentation, UTF-8, close handling,
 * limits), written here so that `make test` needs nothing from outside.
 *
 *   wsconform -a HOST:PORT [-p PATH] [-c CASE]          the run, as TAP
 *   wsconform -l                                        the table, as
 *                                                       Markdown
 *
 * Each case opens a connection on PATH (default
 * /api/temperature/ws?snapshot=0&protocol=grilld: grilld's protocol, whose
 * messages case 8.5 sends), sends its frames (masked unless the
 * case says otherwise) and checks what comes back: a pong with the
 * ping's payload, a close frame with a given code followed by the
 * server closing the connection (FIN, never a reset), or a session that
 * is still alive (a ping after the frames is answered). Text frames the
 * server sends meanwhile (grilld's JSON answers) are skipped. The table
 * below is docs/stream.md's; -l prints it. The limits assume
 * stream.max_message at its default, 16 KiB.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"
#include "util.h"

#define MAXF		17
#define WAIT_MS		4000

enum expect {
	E_ALIVE,	/* no close; a ping afterwards gets its pong */
	E_PONG,		/* a pong with the last ping's payload, then alive */
	E_CLOSE,	/* a close frame with code, then EOF */
	E_CLOSE_EMPTY,	/* a close frame with no code or 1000, then EOF */
};

/* Frame flags. */
#define F_UNMASKED	0x01
#define F_LEN64		0x02	/* 64-bit length, even when short */
#define F_HEADONLY	0x04	/* the header only (a length claimed) */
#define F_TEXTFILL	0x08	/* len bytes of 'a', not p */

struct frame {
	uint8_t		 b0;	/* FIN, RSV, opcode */
	const char	*p;
	int		 len;	/* -1: strlen(p) */
	int		 flags;
};

struct wcase {
	const char	*id;
	const char	*what;
	struct frame	 f[MAXF];
	enum expect	 expect;
	int		 code;
	const char	*why;	/* the rule, for the table */
};

#define FIN	0x80
/* The end of a case's frames: every frame has bytes or a flag. */
#define FRAME_SET(f)	((f)->p != NULL || (f)->flags != 0)
#define TEXT(s)		{ FIN | 1, s, -1, 0 }
#define PING(s)		{ FIN | 9, s, -1, 0 }
#define CLOSE(s, n)	{ FIN | 8, s, n, 0 }
#define FILL(op, n)	{ op, NULL, n, F_TEXTFILL }
#define PJSON	"{\"type\":\"ping\"}"

static const struct wcase cases[] = {
	/* 1: framing */
	{ "1.1", "a text message (JSON)", { TEXT(PJSON) }, E_ALIVE, 0,
	  "answered, session goes on" },
	{ "1.2", "text of 125 bytes (7-bit length)", { FILL(FIN | 1, 125) },
	  E_ALIVE, 0, "accepted" },
	{ "1.3", "text of 126 bytes (16-bit length)", { FILL(FIN | 1, 126) },
	  E_ALIVE, 0, "accepted" },
	{ "1.4", "text of 8000 bytes", { FILL(FIN | 1, 8000) }, E_ALIVE, 0,
	  "accepted" },
	{ "1.5", "an empty text message", { TEXT("") }, E_ALIVE, 0,
	  "accepted (an error answer)" },
	{ "1.6", "a 64-bit length for 5 bytes (not minimal)",
	  { { FIN | 1, "hello", 5, F_LEN64 } }, E_CLOSE, 1002,
	  "5.2: the minimal length encoding" },
	/* 2: pings and pongs */
	{ "2.1", "a ping without payload", { PING("") }, E_PONG, 0,
	  "5.5.2: pong with the same payload" },
	{ "2.2", "a ping of 125 bytes", { FILL(FIN | 9, 125) }, E_PONG, 0,
	  "pong with the same payload" },
	{ "2.3", "a ping with binary payload",
	  { { FIN | 9, "\x00\xff\xfe\xfd\xfc", 5, 0 } }, E_PONG, 0,
	  "pong with the same payload" },
	{ "2.4", "a ping of 126 bytes", { FILL(FIN | 9, 126) }, E_CLOSE,
	  1002, "5.5: control frames carry at most 125 bytes" },
	{ "2.5", "an unsolicited pong", { { FIN | 10, "x", 1, 0 } }, E_ALIVE,
	  0, "5.5.3: ignored" },
	{ "2.6", "ten pings in a row", { PING("1"), PING("2"), PING("3"),
	  PING("4"), PING("5"), PING("6"), PING("7"), PING("8"), PING("9"),
	  PING("10") }, E_PONG, 0, "a pong for (at least) the last" },
	{ "2.7", "an unmasked ping", { { FIN | 9, "x", 1, F_UNMASKED } },
	  E_CLOSE, 1002, "5.1: a client masks every frame" },
	/* 3: reserved bits */
	{ "3.1", "RSV1 on a text frame", { { FIN | 0x40 | 1, PJSON, -1, 0 } },
	  E_CLOSE, 1002, "5.2: no extension negotiated" },
	{ "3.2", "RSV2 on a text frame", { { FIN | 0x20 | 1, PJSON, -1, 0 } },
	  E_CLOSE, 1002, "5.2" },
	{ "3.3", "RSV3 on a ping", { { FIN | 0x10 | 9, "x", 1, 0 } },
	  E_CLOSE, 1002, "5.2" },
	{ "3.4", "RSV1-3 after a valid message", { TEXT(PJSON),
	  { FIN | 0x70 | 1, PJSON, -1, 0 } }, E_CLOSE, 1002, "5.2" },
	/* 4: opcodes */
	{ "4.1", "reserved data opcode 3", { { FIN | 3, "x", 1, 0 } },
	  E_CLOSE, 1002, "5.2: unknown opcode" },
	{ "4.2", "reserved data opcode 7", { { FIN | 7, "", 0, 0 } },
	  E_CLOSE, 1002, "5.2" },
	{ "4.3", "reserved control opcode 11", { { FIN | 11, "", 0, 0 } },
	  E_CLOSE, 1002, "5.2" },
	{ "4.4", "reserved control opcode 15 after a message",
	  { TEXT(PJSON), { FIN | 15, "x", 1, 0 } }, E_CLOSE, 1002, "5.2" },
	{ "4.5", "a binary message", { { FIN | 2, "\x01\x02", 2, 0 } },
	  E_CLOSE, 1003, "grilld speaks text" },
	/* 5: fragmentation */
	{ "5.1", "text in two fragments", { { 1, "{\"type\":", -1, 0 },
	  { FIN | 0, "\"ping\"}", -1, 0 } }, E_ALIVE, 0, "5.4: reassembled" },
	{ "5.2", "text in 1-byte fragments", { { 1, "{", 1, 0 },
	  { 0, "\"", 1, 0 }, { 0, "t", 1, 0 }, { 0, "\"", 1, 0 },
	  { 0, ":", 1, 0 }, { 0, "1", 1, 0 }, { FIN, "}", 1, 0 } }, E_ALIVE,
	  0, "reassembled" },
	{ "5.3", "a ping between two fragments", { { 1, "{\"type\":", -1, 0 },
	  PING("between"), { FIN, "\"ping\"}", -1, 0 } }, E_PONG, 0,
	  "5.4: control frames may be interleaved" },
	{ "5.4", "a fragmented ping", { { 9, "x", 1, 0 }, { FIN, "y", 1, 0 } },
	  E_CLOSE, 1002, "5.5: control frames are not fragmented" },
	{ "5.5", "a continuation with nothing to continue",
	  { { FIN | 0, "x", 1, 0 } }, E_CLOSE, 1002, "5.4" },
	{ "5.6", "a new text message inside a fragmented one",
	  { { 1, "{", 1, 0 }, TEXT(PJSON) }, E_CLOSE, 1002, "5.4" },
	{ "5.7", "a fragmented message with empty fragments",
	  { { 1, "", 0, 0 }, { 0, PJSON, -1, 0 }, { FIN, "", 0, 0 } }, E_ALIVE,
	  0, "reassembled" },
	/* 6: UTF-8 */
	{ "6.1", "valid multi-byte text", { TEXT("\"\xce\xba\xe1\xbd\xb9\xcf"
	  "\x83\xce\xbc\xce\xb5 \xf0\x9f\x94\xa5\"") }, E_ALIVE, 0,
	  "accepted" },
	{ "6.2", "a character cut across two fragments",
	  { { 1, "\"\xe2\x82", -1, 0 }, { FIN, "\xac\"", -1, 0 } }, E_ALIVE, 0,
	  "accepted" },
	{ "6.3", "invalid UTF-8 in one frame", { TEXT("\"\xce\xba\xff\"") },
	  E_CLOSE, 1007, "8.1: close 1007" },
	{ "6.4", "invalid UTF-8 in the first fragment, nothing after",
	  { { 1, "\"\xc0\xaf", -1, 0 } }, E_CLOSE, 1007,
	  "fails at the fragment, not at the message's end" },
	{ "6.5", "invalid UTF-8 in a later fragment",
	  { { 1, "\"ok", -1, 0 }, { 0, "\xed\xa0\x80", -1, 0 } }, E_CLOSE, 1007,
	  "a surrogate, fails at once" },
	{ "6.6", "a message ending inside a character",
	  { { 1, "\"", -1, 0 }, { FIN, "\xe2\x82", -1, 0 } }, E_CLOSE, 1007,
	  "8.1" },
	{ "6.7", "a code point above U+10FFFF", { TEXT("\xf4\x90\x80\x80") },
	  E_CLOSE, 1007, "RFC 3629" },
	{ "6.8", "an overlong encoding", { TEXT("\xe0\x80\xaf") }, E_CLOSE,
	  1007, "RFC 3629" },
	/* 7: close */
	{ "7.1", "a close without payload", { CLOSE("", 0) }, E_CLOSE_EMPTY,
	  0, "5.5.1: answered, then the TCP close" },
	{ "7.2", "close 1000 with a reason", { CLOSE("\x03\xe8" "bye", 5) },
	  E_CLOSE, 1000, "the code echoed" },
	{ "7.3", "close 1001", { CLOSE("\x03\xe9", 2) }, E_CLOSE, 1001,
	  "7.4.1: a valid code is echoed" },
	{ "7.3.1", "close 1011", { CLOSE("\x03\xf3", 2) }, E_CLOSE, 1011,
	  "echoed" },
	{ "7.3.2", "close 1014", { CLOSE("\x03\xf6", 2) }, E_CLOSE, 1014,
	  "echoed" },
	{ "7.3.3", "close 3000", { CLOSE("\x0b\xb8", 2) }, E_CLOSE, 3000,
	  "echoed" },
	{ "7.3.4", "close 4999", { CLOSE("\x13\x87", 2) }, E_CLOSE, 4999,
	  "echoed" },
	{ "7.4", "a close payload of 1 byte", { CLOSE("\x03", 1) }, E_CLOSE,
	  1002, "5.5.1: a code is 2 bytes" },
	{ "7.5.1", "close 0", { CLOSE("\x00\x00", 2) }, E_CLOSE, 1002,
	  "7.4: not a valid code" },
	{ "7.5.2", "close 999", { CLOSE("\x03\xe7", 2) }, E_CLOSE, 1002,
	  "7.4" },
	{ "7.5.3", "close 1004 (reserved)", { CLOSE("\x03\xec", 2) }, E_CLOSE,
	  1002, "7.4.1" },
	{ "7.5.4", "close 1005 (never sent)", { CLOSE("\x03\xed", 2) },
	  E_CLOSE, 1002, "7.4.1" },
	{ "7.5.5", "close 1006 (never sent)", { CLOSE("\x03\xee", 2) },
	  E_CLOSE, 1002, "7.4.1" },
	{ "7.5.6", "close 1015 (never sent)", { CLOSE("\x03\xf7", 2) },
	  E_CLOSE, 1002, "7.4.1" },
	{ "7.5.7", "close 1016 (unassigned)", { CLOSE("\x03\xf8", 2) },
	  E_CLOSE, 1002, "7.4.2" },
	{ "7.5.8", "close 1100", { CLOSE("\x04\x4c", 2) }, E_CLOSE, 1002,
	  "7.4.2" },
	{ "7.5.9", "close 2000", { CLOSE("\x07\xd0", 2) }, E_CLOSE, 1002,
	  "7.4.2" },
	{ "7.5.10", "close 2999", { CLOSE("\x0b\xb7", 2) }, E_CLOSE, 1002,
	  "7.4.2" },
	{ "7.5.11", "close 5000", { CLOSE("\x13\x88", 2) }, E_CLOSE, 1002,
	  "7.4.2" },
	{ "7.5.12", "close 65535", { CLOSE("\xff\xff", 2) }, E_CLOSE, 1002,
	  "7.4.2" },
	{ "7.6", "a close reason that is not UTF-8",
	  { CLOSE("\x03\xe8\xce\xba\xff", 5) }, E_CLOSE, 1007,
	  "5.5.1: the reason is UTF-8" },
	{ "7.7", "a close reason of 123 bytes",
	  { CLOSE("\x03\xe8" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aa", 125) }, E_CLOSE, 1000, "echoed" },
	{ "7.8", "frames after the close", { CLOSE("\x03\xe8", 2),
	  PING("after"), TEXT(PJSON), FILL(FIN | 1, 5000) }, E_CLOSE, 1000,
	  "ignored; the close frame still arrives (no reset)" },
	{ "7.9", "a close inside a fragmented message",
	  { { 1, "{", 1, 0 }, CLOSE("\x03\xe8", 2) }, E_CLOSE, 1000,
	  "echoed" },
	/* 8: limits */
	{ "8.1", "an unmasked text frame", { { FIN | 1, PJSON, -1,
	  F_UNMASKED } }, E_CLOSE, 1002, "5.1" },
	{ "8.2", "a frame claiming more than stream.max_message",
	  { { FIN | 1, NULL, 20000, F_HEADONLY } }, E_CLOSE, 1009,
	  "refused from its header, before the payload" },
	{ "8.3", "fragments adding up to more than stream.max_message",
	  { FILL(1, 9000), FILL(0, 9000) }, E_CLOSE, 1009,
	  "the message counts, not the frame" },
	{ "8.4", "a 64-bit length with the top bit set",
	  { { FIN | 1, NULL, -2, F_HEADONLY } }, E_CLOSE, 1002, "5.2" },
	{ "8.5", "16 unusable messages in a row", { TEXT("x"), TEXT("x"),
	  TEXT("x"), TEXT("x"), TEXT("x"), TEXT("x"), TEXT("x"), TEXT("x"),
	  TEXT("x"), TEXT("x"), TEXT("x"), TEXT("x"), TEXT("x"), TEXT("x"),
	  TEXT("x"), TEXT("x") },
	  E_CLOSE, 1008, "policy (STREAM_BAD_MSGS_MAX)" },
};
#define NCASES	(sizeof(cases) / sizeof(cases[0]))

static const char *addr = "127.0.0.1:8081";
static const char *path = "/api/temperature/ws?snapshot=0&protocol=grilld";

struct conn {
	int		 fd;
	uint8_t		 in[65536];
	size_t		 inlen;
	bool		 eof, reset;
};

/* Reads more, waiting up to the deadline; false at EOF, error or time. */
static bool
more(struct conn *c, int64_t deadline)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	int64_t left = deadline - util_mono_ms();
	ssize_t n;

	if (left <= 0 || poll(&p, 1, (int)left) <= 0)
		return false;
	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	if (n == 0)
		c->eof = true;
	else if (n < 0)
		c->reset = errno == ECONNRESET;
	if (n <= 0)
		return false;
	c->inlen += (size_t)n;
	return true;
}

static bool
handshake(struct conn *c)
{
	char req[512];
	int64_t end = util_mono_ms() + WAIT_MS;
	uint8_t *e;
	int n;

	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", path, addr);
	if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		return false;
	while ((e = memmem(c->in, c->inlen, "\r\n\r\n", 4)) == NULL)
		if (!more(c, end))
			return false;
	if (c->inlen < 12 || memcmp(c->in, "HTTP/1.1 101", 12) != 0)
		return false;
	c->inlen -= (size_t)(e + 4 - c->in);
	memmove(c->in, e + 4, c->inlen);
	return true;
}

/* A server frame: 1 with it, 0 on EOF or time-out, -1 malformed. */
static int
next_frame(struct conn *c, int64_t deadline, int *op, uint8_t *p,
    size_t *len)
{
	for (;;) {
		size_t hl = 2, plen;

		if (c->inlen >= 2) {
			if (c->in[1] & 0x80)
				return -1;	/* servers do not mask */
			plen = c->in[1] & 0x7f;
			if (plen == 126)
				hl = 4;
			else if (plen == 127)
				hl = 10;
			if (c->inlen >= hl) {
				if (plen == 126)
					plen = (size_t)c->in[2] << 8 | c->in[3];
				else if (plen == 127) {
					plen = 0;
					for (int i = 0; i < 8; i++)
						plen = plen << 8 | c->in[2 + i];
				}
				if (plen > sizeof(c->in) - hl)
					return -1;
				if (c->inlen >= hl + plen) {
					*op = c->in[0] & 0x0f;
					memcpy(p, c->in + hl, plen);
					*len = plen;
					c->inlen -= hl + plen;
					memmove(c->in, c->in + hl + plen,
					    c->inlen);
					return 1;
				}
			}
		}
		if (!more(c, deadline))
			return 0;
	}
}

static int
send_frame(int fd, const struct frame *f)
{
	static uint8_t buf[70000];
	static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	size_t len, hl = 2;
	const char *p = f->p;
	bool masked = !(f->flags & F_UNMASKED);
	uint64_t claim;

	len = f->len == -2 ? 0 : f->len < 0 ? strlen(p) : (size_t)f->len;
	claim = f->len == -2 ? UINT64_C(1) << 63 : len;
	if (f->flags & F_HEADONLY)
		len = 0;
	buf[0] = f->b0;
	if (claim < 126 && !(f->flags & F_LEN64))
		buf[1] = (uint8_t)claim;
	else if (claim < 65536 && !(f->flags & F_LEN64)) {
		buf[1] = 126;
		buf[2] = (uint8_t)(claim >> 8);
		buf[3] = (uint8_t)claim;
		hl = 4;
	} else {
		buf[1] = 127;
		for (int i = 0; i < 8; i++)
			buf[2 + i] = (uint8_t)(claim >> (56 - 8 * i));
		hl = 10;
	}
	if (masked) {
		buf[1] |= 0x80;
		memcpy(buf + hl, mask, 4);
		hl += 4;
	}
	for (size_t i = 0; i < len; i++) {
		uint8_t b = (f->flags & F_TEXTFILL) ? 'a' : (uint8_t)p[i];

		buf[hl + i] = masked ? b ^ mask[i & 3] : b;
	}
	return send(fd, buf, hl + len, MSG_NOSIGNAL) == (ssize_t)(hl + len) ?
	    0 : -1;
}

/* The payload of the last ping the case sends, for E_PONG. */
static const struct frame *
last_ping(const struct wcase *w)
{
	const struct frame *pf = NULL;

	for (int i = 0; i < MAXF && FRAME_SET(&w->f[i]); i++)
		if ((w->f[i].b0 & 0x0f) == 9)
			pf = &w->f[i];
	return pf;
}

static bool
same_payload(const struct frame *f, const uint8_t *p, size_t len)
{
	size_t want = f->len < 0 ? strlen(f->p) : (size_t)f->len;

	if (want != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] != ((f->flags & F_TEXTFILL) ? 'a' : (uint8_t)f->p[i]))
			return false;
	return true;
}

/* Waits for a pong with that payload; skips text frames. */
static bool
await_pong(struct conn *c, const struct frame *pf, char *why, size_t wl)
{
	static uint8_t p[65536];
	int64_t end = util_mono_ms() + WAIT_MS;
	size_t len;
	int op, rc;

	while ((rc = next_frame(c, end, &op, p, &len)) == 1) {
		if (op == 10 && same_payload(pf, p, len))
			return true;
		if (op == 8) {
			snprintf(why, wl, "closed with %d", len >= 2 ?
			    p[0] << 8 | p[1] : 0);
			return false;
		}
	}
	snprintf(why, wl, "%s", rc == -1 ? "a malformed frame" : c->reset ?
	    "connection reset" : c->eof ? "closed without a close frame" :
	    "no pong in time");
	return false;
}

static bool
await_close(struct conn *c, const struct wcase *w, char *why, size_t wl)
{
	static uint8_t p[65536];
	int64_t end = util_mono_ms() + WAIT_MS;
	size_t len;
	int op, rc, code;

	while ((rc = next_frame(c, end, &op, p, &len)) == 1) {
		if (op != 8)
			continue;
		code = len >= 2 ? p[0] << 8 | p[1] : 0;
		if (w->expect == E_CLOSE_EMPTY ? (code != 0 && code != 1000) :
		    code != w->code) {
			snprintf(why, wl, "closed with %d", code);
			return false;
		}
		/* Then the server closes the TCP connection, cleanly. */
		while (more(c, end))
			c->inlen = 0;
		if (!c->eof) {
			snprintf(why, wl, "%s after the close frame", c->reset ?
			    "a reset" : "no TCP close");
			return false;
		}
		return true;
	}
	snprintf(why, wl, "%s", rc == -1 ? "a malformed frame" : c->reset ?
	    "connection reset before a close frame" : c->eof ?
	    "closed without a close frame" : "no close frame in time");
	return false;
}

static bool
run_case(const struct wcase *w, char *why, size_t wl)
{
	static const struct frame probe = PING("alive?");
	struct conn *c;
	bool ok = false;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return false;
	if ((c->fd = tool_dial(addr)) == -1 || !handshake(c)) {
		snprintf(why, wl, "no WebSocket handshake on %s%s", addr, path);
		goto out;
	}
	for (int i = 0; i < MAXF && FRAME_SET(&w->f[i]); i++)
		if (send_frame(c->fd, &w->f[i]) == -1 &&
		    w->expect != E_CLOSE) {
			snprintf(why, wl, "send: %s", strerror(errno));
			goto out;
		}
	switch (w->expect) {
	case E_PONG:
		if (!await_pong(c, last_ping(w), why, wl))
			goto out;
		/* FALLTHROUGH */
	case E_ALIVE:
		if (send_frame(c->fd, &probe) == -1 ||
		    !await_pong(c, &probe, why, wl))
			goto out;
		ok = true;
		break;
	case E_CLOSE:
	case E_CLOSE_EMPTY:
		ok = await_close(c, w, why, wl);
		break;
	}
out:
	if (c->fd != -1)
		close(c->fd);
	free(c);
	return ok;
}

static const char *
expect_text(const struct wcase *w, char *buf, size_t len)
{
	switch (w->expect) {
	case E_ALIVE:
		return "open";
	case E_PONG:
		return "pong";
	case E_CLOSE_EMPTY:
		return "close (1000 or none)";
	case E_CLOSE:
		snprintf(buf, len, "close %d", w->code);
		return buf;
	}
	return "?";
}

int
main(int argc, char *argv[])
{
	const char *only = NULL;
	bool list = false;
	char why[160], tmp[32];
	int opt, failed = 0;

	while ((opt = getopt(argc, argv, "a:c:p:l")) != -1) {
		switch (opt) {
		case 'c': only = optarg; break;
		case 'a': addr = optarg; break;
		case 'p': path = optarg; break;
		case 'l': list = true; break;
		default:
			fprintf(stderr, "usage: wsconform -a HOST:PORT [-p PATH]"
			    " | -l\n");
			return 2;
		}
	}
	if (list) {
		printf("| case | the client sends | expected | why |\n"
		    "| --- | --- | --- | --- |\n");
		for (size_t i = 0; i < NCASES; i++)
			printf("| %s | %s | %s | %s |\n", cases[i].id,
			    cases[i].what, expect_text(&cases[i], tmp,
			    sizeof(tmp)), cases[i].why);
		return 0;
	}
	for (size_t i = 0; i < NCASES; i++) {
		if (only != NULL && strcmp(only, cases[i].id) != 0)
			continue;
		why[0] = '\0';
		if (run_case(&cases[i], why, sizeof(why)))
			printf("ok %zu - ws %s %s: %s\n", i + 1, cases[i].id,
			    cases[i].what, expect_text(&cases[i], tmp,
			    sizeof(tmp)));
		else {
			failed++;
			printf("not ok %zu - ws %s %s: %s\n#   %s\n", i + 1,
			    cases[i].id, cases[i].what, expect_text(&cases[i],
			    tmp, sizeof(tmp)), why);
		}
		fflush(stdout);
	}
	printf("# %zu cases, %d failed\n", NCASES, failed);
	return failed ? 1 : 0;
}
