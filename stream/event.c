/*
 * event: one stored event (a reading, a device change or an alert) as the
 * stream sends it, built once and shared by every client queue.
 *
 * The id is the entry id of the ingester's `events` stream, which orders
 * events and lets a client resume after any of them. Both wire forms are
 * rendered when the event is made, so fan-out only copies bytes:
 *
 *	SSE	id: 1700000000000-0
 *		event: reading
 *		data: {"device_id":"...",...,"event_id":"1700000000000-0"}
 *
 *	WS	{"type":"reading","id":"1700000000000-0","data":{...}}
 *		in one unmasked text frame.
 *
 * and, for readings, grill-stats' two forms: an unnamed SSE event (id and
 * data lines only, so that EventSource.onmessage fires) and a frame of
 * the bare reading JSON, which grill-stats' WebSocket hook parses.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "stream.h"

static const char *const type_names[] = { "reading", "device", "alert" };

const char *
sev_type_name(enum sev_type t)
{
	return (unsigned)t < ARRAY_LEN(type_names) ? type_names[t] : "unknown";
}

int
sev_type_parse(const char *s, size_t len, enum sev_type *t)
{
	for (size_t i = 0; i < ARRAY_LEN(type_names); i++) {
		if (strlen(type_names[i]) == len &&
		    memcmp(s, type_names[i], len) == 0) {
			*t = (enum sev_type)i;
			return 0;
		}
	}
	return -1;
}

static int
parse_u64(const char *s, size_t len, uint64_t *v)
{
	uint64_t n = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (n > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	*v = n;
	return 0;
}

int
sev_id_parse(const char *s, struct sev_id *id)
{
	const char *dash;

	if (s == NULL)
		return -1;
	if ((dash = strchr(s, '-')) == NULL) {
		id->seq = 0;
		return parse_u64(s, strlen(s), &id->ms);
	}
	if (parse_u64(s, (size_t)(dash - s), &id->ms) == -1)
		return -1;
	return parse_u64(dash + 1, strlen(dash + 1), &id->seq);
}

int
sev_id_cmp(struct sev_id a, struct sev_id b)
{
	if (a.ms != b.ms)
		return a.ms < b.ms ? -1 : 1;
	if (a.seq != b.seq)
		return a.seq < b.seq ? -1 : 1;
	return 0;
}

/*
 * Nothing comes after UINT64_MAX-UINT64_MAX, and Redis refuses the
 * exclusive range "(" of it: a client's resume point, refused with 400
 * before it can reach Redis (and be taken for Redis failing).
 */
bool
sev_id_has_next(struct sev_id id)
{
	return id.ms != UINT64_MAX || id.seq != UINT64_MAX;
}

void
sev_id_format(struct sev_id id, char *out, size_t len)
{
	snprintf(out, len, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
}

static int
copy_name(const cJSON *obj, const char *key, char *out, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	out[0] = '\0';
	if (v == NULL || cJSON_IsNull(v))
		return required ? -1 : 0;
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= STREAM_NAME_LEN)
		return -1;
	if (required && v->valuestring[0] == '\0')
		return -1;
	util_strlcpy(out, v->valuestring, STREAM_NAME_LEN);
	return 0;
}

static int
render(struct sev *e, const char *json, size_t len)
{
	struct buf sse, ws;
	uint8_t hdr[10];
	char head[128];
	int n;

	buf_init(&sse);
	buf_init(&ws);
	/* A JSON text printed unformatted holds no newline: one data line. */
	if (buf_printf(&sse, "id: %s\nevent: %s\ndata: ", e->idstr,
	    sev_type_name(e->type)) == -1 ||
	    buf_append(&sse, json, len) == -1 || buf_puts(&sse, "\n\n") == -1)
		goto fail;
	n = snprintf(head, sizeof(head), "{\"type\":\"%s\",\"id\":\"%s\","
	    "\"data\":", sev_type_name(e->type), e->idstr);
	e->hdrlen = ws_frame_header(hdr, WS_TEXT, (size_t)n + len + 1);
	if (buf_append(&ws, hdr, e->hdrlen) == -1 ||
	    buf_append(&ws, head, (size_t)n) == -1 ||
	    buf_append(&ws, json, len) == -1 || buf_putc(&ws, '}') == -1)
		goto fail;
	e->hdrlen += (size_t)n;
	e->sselen = sse.len;
	e->sse = buf_steal(&sse);
	e->wslen = ws.len;
	e->ws = buf_steal(&ws);
	if (e->type != SEV_READING)
		return 0;
	if (buf_printf(&sse, "id: %s\ndata: ", e->idstr) == -1 ||
	    buf_append(&sse, json, len) == -1 || buf_puts(&sse, "\n\n") == -1 ||
	    ws_frame_append(&ws, WS_TEXT, json, len) == -1)
		goto fail;
	e->seed_sselen = sse.len;
	e->seed_sse = buf_steal(&sse);
	e->seed_wslen = ws.len;
	e->seed_ws = buf_steal(&ws);
	return 0;
fail:
	buf_free(&sse);
	buf_free(&ws);
	return -1;
}

struct sev *
sev_new(enum sev_type type, cJSON *obj, const char *idstr, char *err,
    size_t errlen)
{
	const cJSON *eid;
	struct sev *e;
	char *json = NULL;

	if (!cJSON_IsObject(obj)) {
		snprintf(err, errlen, "not a JSON object");
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&e->refs, 1);
	e->type = type;
	eid = cJSON_GetObjectItemCaseSensitive(obj, "event_id");
	if (idstr == NULL)
		idstr = cJSON_IsString(eid) ? eid->valuestring : NULL;
	if (sev_id_parse(idstr, &e->id) == -1) {
		snprintf(err, errlen, "no valid event_id");
		goto fail;
	}
	sev_id_format(e->id, e->idstr, sizeof(e->idstr));
	if (copy_name(obj, "device_id", e->device, true) == -1 ||
	    copy_name(obj, "probe_id", e->probe, false) == -1) {
		snprintf(err, errlen, "no valid device_id or probe_id");
		goto fail;
	}
	/* Replayed entries do not hold their own id: every event does. */
	if (eid == NULL)
		cJSON_AddStringToObject(obj, "event_id", e->idstr);
	else if (!cJSON_IsString(eid) || strcmp(eid->valuestring, e->idstr))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, "event_id",
		    cJSON_CreateString(e->idstr));
	if ((json = cJSON_PrintUnformatted(obj)) == NULL ||
	    render(e, json, strlen(json)) == -1) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	cJSON_free(json);
	return e;
fail:
	cJSON_free(json);
	free(e);
	return NULL;
}

struct sev *
sev_ref(struct sev *e)
{
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
	return e;
}

void
sev_unref(struct sev *e)
{
	if (e == NULL)
		return;
	if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(e->sse);
	free(e->ws);
	free(e->seed_sse);
	free(e->seed_ws);
	free(e);
}

const char *
sev_json(const struct sev *e, size_t *len)
{
	*len = e->wslen - e->hdrlen - 1;
	return e->ws + e->hdrlen;
}

const char *
sev_wire(const struct sev *e, enum client_kind kind, bool seed, size_t *len)
{
	if (seed) {
		*len = kind == CLIENT_WS ? e->seed_wslen : e->seed_sselen;
		return kind == CLIENT_WS ? e->seed_ws : e->seed_sse;
	}
	*len = kind == CLIENT_WS ? e->wslen : e->sselen;
	return kind == CLIENT_WS ? e->ws : e->sse;
}
