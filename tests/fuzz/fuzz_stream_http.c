/*
 * libFuzzer: a request to grilld-stream as it parses it: the request
 * line and headers (http_parse), then what the router reads from it:
 * the query (devices, probes, probe_id, since, token), the filter, the
 * resume point of SSE (Last-Event-ID or ?since=), a WebSocket key, and
 * a stream token.
 *
 * Invariants: a request parsed whole says how long it was (no more than
 * the input), query values are NUL-terminated, an event id that parses
 * formats and parses back to itself, and a request gets the same verdict
 * whether it arrives whole or in two pieces parsed on the same buffer,
 * as the server parses it (the first byte of the input says where the
 * cut is). A request parsed whole has no framing two readers could read
 * two ways: at most one Content-Length, one Transfer-Encoding, never
 * both, at most one Host (exactly one in HTTP/1.1).
 */
#include <stdlib.h>
#include <string.h>

#include "../../stream/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
query(const struct http_req *r)
{
	static const char *const names[] = { "devices", "probes", "probe_id",
		"since", "token", "unit" };
	char v[512];

	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (http_query(r->query, names[i], v, sizeof(v)) == 0 &&
		    memchr(v, '\0', sizeof(v)) == NULL)
			abort();
}

static void
resume(const struct http_req *r)
{
	struct sev_id id, back;
	char s[STREAM_ID_LEN];

	if (sse_resume_point(r, &id) != 1)
		return;
	sev_id_format(id, s, sizeof(s));
	if (sev_id_parse(s, &back) != 0 || sev_id_cmp(id, back) != 0)
		abort();
}

/* Parsed as it comes: the first cut bytes, then all, in one buffer. */
static void
pieces(const uint8_t *data, size_t len, size_t cut)
{
	char *whole = malloc(len + 1), *buf = malloc(len + 1);
	struct http_req r, w;
	int status, ws, a, b;

	if (whole != NULL && buf != NULL) {
		memcpy(whole, data, len);
		memcpy(buf, data, len);
		a = http_parse(whole, len, &w, &ws);
		if (http_parse(buf, cut, &r, &status) == 0) {
			memcpy(buf + cut, data + cut, len - cut);
			b = http_parse(buf, len, &r, &status);
			if (a != b || (a == 1 && (r.len != w.len ||
			    strcmp(r.path, w.path) != 0)) ||
			    (a == -1 && status != ws))
				abort();
		}
	}
	free(whole);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct http_req r;
	struct filter f;
	const char *key, *device = NULL;
	char *buf, accept[64], err[128];
	int status;

	if (len > 1)
		pieces(data + 1, len - 1, data[0] % (len - 1));
	if ((buf = malloc(len + 1)) == NULL)
		return 0;
	memcpy(buf, data, len);
	buf[len] = '\0';
	memset(&r, 0, sizeof(r));
	if (http_parse(buf, len, &r, &status) == 1) {
		if (r.len > len)
			abort();
		if (http_header_count(&r, "Content-Length") > 1 ||
		    http_header_count(&r, "Transfer-Encoding") > 0 ||
		    http_header_count(&r, "Host") > 1 ||
		    (r.minor >= 1 && http_header_count(&r, "Host") != 1))
			abort();
		query(&r);
		resume(&r);
		http_header_has(&r, "Connection", "upgrade");
		if ((key = http_header(&r, "Sec-WebSocket-Key")) != NULL)
			ws_accept_key(key, accept, sizeof(accept));
		if (strncmp(r.path, "/api/temperature/stream/", 24) == 0)
			device = r.path + 24;
		filter_init(&f);
		if (filter_from_query(&f, device, r.query, 64, err,
		    sizeof(err)) == 0)
			filter_match(&f, "SIG-1", "1");
		filter_free(&f);
		limits_token_check("fuzz-key", http_header(&r,
		    "Authorization") ? http_header(&r, "Authorization") : "",
		    1700000000);
	}
	free(buf);
	return 0;
}
