/*
 * libFuzzer: what a WebSocket client sends grilld-stream after the
 * handshake: frames (ws_frame_parse, unmasked as ws_input does), and the
 * JSON messages in text frames: subscribe and unsubscribe (hub_change,
 * on a real hub and filter, max_subscriptions enforced), resume (an
 * event id), ping.
 *
 * Messages are handled here the way ws.c's on_message() dispatches them
 * (that function is static and needs a live connection); everything it
 * dispatches to is the daemon's own code.
 *
 * Close frames as ws.c checks them: the code (ws_close_code_valid) and
 * the reason's UTF-8; text as it is checked fragment by fragment
 * (ws_utf8_check from where the last fragment stopped).
 *
 * Invariants: a frame header is 2 to 14 bytes and a control frame holds
 * at most 125; a filter never holds more than max_subscriptions; UTF-8
 * checked in pieces agrees with UTF-8 checked whole (util_utf8_valid).
 */
#include <stdlib.h>
#include <string.h>

#include "../../stream/stream.h"
#include "conf.h"

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct grilld_conf g;
static struct conf cf;
static struct stream st;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct conf_errs errs;

	setenv("GRILLD_STREAM_MAX_SUBSCRIPTIONS", "8", 1);
	conf_init(&cf, grilld_options, grilld_noptions, &g, sizeof(g));
	if (conf_load(&cf, NULL, &errs) == -1)
		abort();
	st.cf = &g;
	return 0;
}

static void
message(struct hub *h, struct client *c, const char *text, size_t len)
{
	const cJSON *type;
	struct sev_id id;
	char err[128];
	cJSON *m;

	if ((m = cJSON_ParseWithLength(text, len)) == NULL)
		return;
	type = cJSON_GetObjectItemCaseSensitive(m, "type");
	if (cJSON_IsString(type) && (strcmp(type->valuestring,
	    "subscribe") == 0 || strcmp(type->valuestring,
	    "unsubscribe") == 0)) {
		hub_change(h, c, type->valuestring[0] == 's',
		    cJSON_GetObjectItemCaseSensitive(m, "devices"),
		    cJSON_GetObjectItemCaseSensitive(m, "probes"), err,
		    sizeof(err));
		if (filter_count(&c->filter) > (size_t)g.stream.max_subscriptions)
			abort();
		filter_match(&c->filter, "SIG-1", "1");
	} else if (cJSON_IsString(type) && strcmp(type->valuestring,
	    "resume") == 0) {
		const cJSON *since = cJSON_GetObjectItemCaseSensitive(m,
		    "since");

		if (cJSON_IsString(since))
			sev_id_parse(since->valuestring, &id);
	}
	cJSON_Delete(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct hub *h = hub_new();
	struct client c;
	struct buf msg;
	uint8_t *p;
	size_t off = 0, checked = 0;

	if (h == NULL || (p = malloc(len ? len : 1)) == NULL) {
		hub_free(h);
		return 0;
	}
	memcpy(p, data, len);
	memset(&c, 0, sizeof(c));
	c.st = &st;
	filter_init(&c.filter);
	buf_init(&msg);
	while (off < len) {
		struct ws_frame f;
		int code, rc;

		if ((rc = ws_frame_parse(p + off, len - off, &f, &code)) != 1)
			break;
		if (f.hdrlen < 2 || f.hdrlen > 14 || (f.op >= WS_CLOSE &&
		    f.len > 125))
			abort();
		if (f.len > (uint64_t)g.stream.max_message ||
		    len - off - f.hdrlen < f.len)
			break;
		ws_unmask(p + off + f.hdrlen, f.len, f.mask);
		if (f.op == WS_CLOSE && f.len >= 2) {
			const uint8_t *q = p + off + f.hdrlen;
			size_t done = 0;
			bool ok;

			ws_close_code_valid(q[0] << 8 | q[1]);
			ok = ws_utf8_check(q + 2, f.len - 2, &done) == 0 &&
			    done == f.len - 2;
			if (ok != util_utf8_valid((const char *)q + 2,
			    f.len - 2))
				abort();
		}
		if (f.op == WS_TEXT || f.op == WS_CONT) {
			buf_append(&msg, p + off + f.hdrlen, f.len);
			if (msg.data != NULL && ws_utf8_check(
			    (const uint8_t *)msg.data, msg.len, &checked) == -1) {
				/* Fails early only where the whole fails. */
				if (util_utf8_valid(msg.data, msg.len))
					abort();
				buf_free(&msg);
				checked = 0;
			} else if (f.fin) {
				bool whole = msg.data == NULL ||
				    util_utf8_valid(msg.data, msg.len);

				if (whole != (checked == msg.len))
					abort();
				if (msg.data != NULL && whole)
					message(h, &c, msg.data, msg.len);
				buf_free(&msg);
				checked = 0;
			}
		}
		off += f.hdrlen + f.len;
	}
	buf_free(&msg);
	hub_detach(h, &c);		/* frees the filter and the links */
	hub_free(h);
	free(p);
	return 0;
}
