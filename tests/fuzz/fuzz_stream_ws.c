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
 * Invariants: a frame header is 2 to 14 bytes and a control frame holds
 * at most 125; a filter never holds more than max_subscriptions.
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
	size_t off = 0;

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
		if (f.op == WS_TEXT || f.op == WS_CONT) {
			buf_append(&msg, p + off + f.hdrlen, f.len);
			if (f.fin) {
				if (msg.data != NULL &&
				    util_utf8_valid(msg.data, msg.len))
					message(h, &c, msg.data, msg.len);
				buf_free(&msg);
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
