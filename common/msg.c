#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "version.h"

static const char *const msg_names[] = {
	[MSG_READING] = "reading",
	[MSG_DEVICE] = "device",
	[MSG_ALERT] = "alert",
	[MSG_STATUS_REQ] = "status_req",
	[MSG_STATUS_REP] = "status_rep",
	[MSG_DEVICES_REQ] = "devices_req",
	[MSG_DEVICES_REP] = "devices_rep",
	[MSG_ERROR_REP] = "error_rep",
};

static void	msg_err(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	msg_check_text(const char *, size_t, char *, size_t);
static cJSON	*msg_parse(const char *, size_t, char *, size_t);
static int	msg_put(struct buf *, enum msg_type, const char *, size_t);

bool
msg_type_valid(int type)
{
	return type >= MSG_TYPE_FIRST && type <= MSG_TYPE_LAST;
}

const char *
msg_type_name(int type)
{
	return msg_type_valid(type) ? msg_names[type] : "unknown";
}

void
msg_topic(enum msg_type type, uint8_t out[MSG_TOPIC_LEN])
{
	out[0] = MSG_MAGIC0;
	out[1] = MSG_MAGIC1;
	out[2] = MSG_VERSION;
	out[3] = (uint8_t)type;
}

static void
msg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * The checks that need no parser: size, UTF-8, and no raw control
 * character (JSON allows only tab, newline and carriage return outside
 * strings, and none inside; this also keeps NUL bytes out).
 */
static int
msg_check_text(const char *s, size_t len, char *err, size_t errlen)
{
	if (len > MSG_BODY_MAX) {
		msg_err(err, errlen, "body of %zu bytes over the %d-byte limit",
		    len, MSG_BODY_MAX);
		return -1;
	}
	if (!util_utf8_valid(s, len)) {
		msg_err(err, errlen, "body is not valid UTF-8");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			msg_err(err, errlen, "invalid JSON: control character "
			    "0x%02x at byte %zu", c, i);
			return -1;
		}
	}
	return 0;
}

/* Parses a checked body; the copy gives cJSON the NUL it needs. */
static cJSON *
msg_parse(const char *s, size_t len, char *err, size_t errlen)
{
	const char *end = NULL;
	char *copy;
	cJSON *json;

	if ((copy = malloc(len + 1)) == NULL) {
		msg_err(err, errlen, "out of memory");
		return NULL;
	}
	if (len > 0)
		memcpy(copy, s, len);
	copy[len] = '\0';
	json = cJSON_ParseWithOpts(copy, &end, 1);
	if (json == NULL) {
		if (len == 0)
			msg_err(err, errlen, "invalid JSON: empty body");
		else
			msg_err(err, errlen, "invalid JSON at byte %zu",
			    end != NULL && end >= copy ?
			    (size_t)(end - copy) : (size_t)0);
		free(copy);
		return NULL;
	}
	free(copy);
	if (!cJSON_IsObject(json)) {
		msg_err(err, errlen, "body is JSON but not an object");
		cJSON_Delete(json);
		return NULL;
	}
	return json;
}

static int
msg_put(struct buf *b, enum msg_type type, const char *body, size_t len)
{
	uint8_t hdr[MSG_HDR_LEN];
	size_t oldlen = b->len;

	msg_topic(type, hdr);
	hdr[4] = (uint8_t)(len >> 24);
	hdr[5] = (uint8_t)(len >> 16);
	hdr[6] = (uint8_t)(len >> 8);
	hdr[7] = (uint8_t)len;
	if (buf_reserve(b, sizeof(hdr) + len) == -1)
		return -1;
	if (buf_append(b, hdr, sizeof(hdr)) == -1 ||
	    buf_append(b, body, len) == -1) {
		b->len = oldlen;	/* cannot happen after the reserve */
		if (b->data != NULL)
			b->data[oldlen] = '\0';
		return -1;
	}
	return 0;
}

int
msg_encode(struct buf *b, enum msg_type type, const char *body, size_t len)
{
	cJSON *json;

	if (!msg_type_valid(type) || (body == NULL && len > 0))
		return -1;
	if (msg_check_text(body, len, NULL, 0) == -1)
		return -1;
	if ((json = msg_parse(body, len, NULL, 0)) == NULL)
		return -1;
	cJSON_Delete(json);
	return msg_put(b, type, body, len);
}

int
msg_encode_json(struct buf *b, enum msg_type type, const cJSON *obj)
{
	char *s;
	size_t len;
	int rv = -1;

	if (!msg_type_valid(type) || !cJSON_IsObject(obj))
		return -1;
	if ((s = cJSON_PrintUnformatted(obj)) == NULL)
		return -1;
	len = strlen(s);
	/* cJSON copies strings' bytes as they are: they may not be UTF-8. */
	if (msg_check_text(s, len, NULL, 0) == 0)
		rv = msg_put(b, type, s, len);
	cJSON_free(s);
	return rv;
}

int
msg_encode_error(struct buf *b, const char *text)
{
	cJSON *obj;
	int rv;

	if ((obj = cJSON_CreateObject()) == NULL)
		return -1;
	if (cJSON_AddStringToObject(obj, "error", text) == NULL) {
		cJSON_Delete(obj);
		return -1;
	}
	rv = msg_encode_json(b, MSG_ERROR_REP, obj);
	cJSON_Delete(obj);
	return rv;
}

int
msg_decode(const void *data, size_t len, enum msg_type *type, cJSON **body,
    char *err, size_t errlen)
{
	const uint8_t *p = data;
	uint32_t blen;
	cJSON *json;

	if (body != NULL)
		*body = NULL;
	if (p == NULL || len < MSG_HDR_LEN) {
		msg_err(err, errlen, "short message: %zu bytes, header is %d",
		    p == NULL ? (size_t)0 : len, MSG_HDR_LEN);
		return -1;
	}
	if (p[0] != MSG_MAGIC0 || p[1] != MSG_MAGIC1) {
		msg_err(err, errlen, "bad magic 0x%02x%02x, not a grilld "
		    "message", p[0], p[1]);
		return -1;
	}
	if (p[2] != MSG_VERSION) {
		msg_err(err, errlen, "message version %u, this build speaks "
		    "version %d", p[2], MSG_VERSION);
		return -1;
	}
	if (!msg_type_valid(p[3])) {
		msg_err(err, errlen, "unknown message type %u", p[3]);
		return -1;
	}
	blen = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
	    (uint32_t)p[6] << 8 | (uint32_t)p[7];
	if (blen > MSG_BODY_MAX) {
		msg_err(err, errlen, "%s body of %lu bytes over the %d-byte "
		    "limit", msg_names[p[3]], (unsigned long)blen,
		    MSG_BODY_MAX);
		return -1;
	}
	if (blen != len - MSG_HDR_LEN) {
		msg_err(err, errlen, "%s body is %zu bytes, header says %lu "
		    "(%s)", msg_names[p[3]], len - MSG_HDR_LEN,
		    (unsigned long)blen,
		    blen > len - MSG_HDR_LEN ? "truncated" : "over-long");
		return -1;
	}
	if (msg_check_text((const char *)p + MSG_HDR_LEN, blen, err,
	    errlen) == -1)
		return -1;
	json = msg_parse((const char *)p + MSG_HDR_LEN, blen, err, errlen);
	if (json == NULL)
		return -1;
	if (type != NULL)
		*type = (enum msg_type)p[3];
	if (body != NULL)
		*body = json;
	else
		cJSON_Delete(json);
	return 0;
}

int
msg_status_answer(const void *req, size_t len, struct buf *reply,
    const char *daemon, int64_t started_ns, msg_status_fill_fn fill,
    void *arg)
{
	enum msg_type type;
	char err[MSG_ERRLEN];
	struct buf body;
	bool ready;
	int rc;

	if (msg_decode(req, len, &type, NULL, err, sizeof(err)) == -1) {
		log_warnx("status: bad request: %s", err);
		return msg_encode_error(reply, err);
	}
	if (type != MSG_STATUS_REQ) {
		snprintf(err, sizeof(err), "%s answers MSG_STATUS_REQ only",
		    daemon);
		return msg_encode_error(reply, err);
	}
	buf_init(&body);
	buf_printf(&body, "{\"daemon\":\"%s\",\"version\":\"%s\","
	    "\"uptime_s\":%lld,", daemon, GRILLD_VERSION,
	    (long long)((util_now_ns() - started_ns) / NS_PER_S));
	ready = fill(&body, arg);
	buf_printf(&body, ",\"ready\":%s}", ready ? "true" : "false");
	rc = body.data != NULL ? msg_encode(reply, MSG_STATUS_REP, body.data,
	    body.len) : -1;
	buf_free(&body);
	return rc;
}
