/*
 * test_msg: the message layouts: round trips, every rejection, and random
 * input that must never crash the reader.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg.h"
#include "unit.h"

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64*: reproducible from the seed printed at start. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* Decodes and expects a failure whose message contains want. */
static void
expect_reject(const void *p, size_t len, const char *want, int line)
{
	char err[MSG_ERRLEN];
	enum msg_type type = 0;
	cJSON *body = (cJSON *)&type;	/* must come back NULL */

	err[0] = '\0';
	if (msg_decode(p, len, &type, &body, err, sizeof(err)) != -1) {
		unit_fail(__FILE__, line, "decode accepted (want \"%s\")", want);
		cJSON_Delete(body);
		return;
	}
	if (body != NULL)
		unit_fail(__FILE__, line, "body not NULL after a failure");
	if (strstr(err, want) == NULL)
		unit_fail(__FILE__, line, "error \"%s\" lacks \"%s\"", err,
		    want);
}
#define REJECT(p, len, want) expect_reject((p), (len), (want), __LINE__)

/* A message with a hand-made header and body. */
static void
raw(struct buf *b, int magic0, int version, int type, uint32_t blen,
    const char *body, size_t len)
{
	uint8_t h[MSG_HDR_LEN] = { (uint8_t)magic0, MSG_MAGIC1,
	    (uint8_t)version, (uint8_t)type, (uint8_t)(blen >> 24),
	    (uint8_t)(blen >> 16), (uint8_t)(blen >> 8), (uint8_t)blen };

	buf_reset(b);
	buf_append(b, h, sizeof(h));
	buf_append(b, body, len);
}

static void
test_round_trip_every_type(void)
{
	struct buf b;
	char err[MSG_ERRLEN];

	buf_init(&b);
	for (int t = MSG_TYPE_FIRST; t <= MSG_TYPE_LAST; t++) {
		cJSON *obj = cJSON_CreateObject(), *out = NULL;
		enum msg_type got = 0;
		uint8_t topic[MSG_TOPIC_LEN];

		cJSON_AddStringToObject(obj, "type", msg_type_name(t));
		cJSON_AddStringToObject(obj, "name", "Brisket \xc2\xb0" "F \xf0\x9f\x94\xa5");
		cJSON_AddNumberToObject(obj, "value", 203.25);
		cJSON_AddStringToObject(obj, "event_id", "1700000000000-0");
		cJSON_AddItemToObject(obj, "list", cJSON_CreateArray());
		buf_reset(&b);
		CHECK_INT(msg_encode_json(&b, t, obj), 0);
		msg_topic(t, topic);
		CHECK(b.len > MSG_HDR_LEN);
		CHECK(memcmp(b.data, topic, MSG_TOPIC_LEN) == 0);
		CHECK_INT(msg_decode(b.data, b.len, &got, &out, err,
		    sizeof(err)), 0);
		CHECK_INT(got, t);
		CHECK(out != NULL && cJSON_Compare(obj, out, 1));
		cJSON_Delete(out);
		cJSON_Delete(obj);

		/* The same through the raw-text builder. */
		buf_reset(&b);
		CHECK_INT(msg_encode(&b, t, "{\"a\": [1, 2, {}]}\n", 18), 0);
		out = NULL;
		CHECK_INT(msg_decode(b.data, b.len, &got, &out, err,
		    sizeof(err)), 0);
		CHECK_INT(got, t);
		CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(out, "a")), 3);
		cJSON_Delete(out);
		/* No body wanted, no type wanted: validation only. */
		CHECK_INT(msg_decode(b.data, b.len, NULL, NULL, NULL, 0), 0);
		CHECK(strcmp(msg_type_name(t), "unknown") != 0);
	}
	CHECK_STR(msg_type_name(0), "unknown");
	CHECK_STR(msg_type_name(MSG_TYPE_LAST + 1), "unknown");
	CHECK(!msg_type_valid(0) && !msg_type_valid(256));
	buf_free(&b);
}

static void
test_header_layout(void)
{
	struct buf b, body;
	uint8_t topic[MSG_TOPIC_LEN];

	buf_init(&b);
	buf_init(&body);
	buf_puts(&body, "{\"k\":\"");
	for (int i = 0; i < 300 - 8; i++)
		buf_putc(&body, 'x');
	buf_puts(&body, "\"}");
	CHECK_INT(body.len, 300);
	CHECK_INT(msg_encode(&b, MSG_ALERT, body.data, body.len), 0);
	CHECK_INT(b.len, MSG_HDR_LEN + 300);
	CHECK(memcmp(b.data, "GR\x01\x03\x00\x00\x01\x2c", 8) == 0);
	msg_topic(MSG_DEVICES_REP, topic);
	CHECK(memcmp(topic, "GR\x01\x07", 4) == 0);

	/* Builders append; an empty object is a valid body. */
	CHECK_INT(msg_encode(&b, MSG_STATUS_REQ, "{}", 2), 0);
	CHECK_INT(b.len, MSG_HDR_LEN + 300 + MSG_HDR_LEN + 2);
	CHECK(memcmp(b.data + MSG_HDR_LEN + 300, "GR\x01\x04\0\0\0\x02{}",
	    10) == 0);
	buf_free(&b);
	buf_free(&body);
}

/* b holds one MSG_ERROR_REP; its text is want (any, when want is NULL). */
static void
expect_error(const struct buf *b, const char *want, int line)
{
	enum msg_type t = 0;
	cJSON *body = NULL;
	const char *got;

	if (msg_decode(b->data, b->len, &t, &body, NULL, 0) == -1 ||
	    t != MSG_ERROR_REP) {
		unit_fail(__FILE__, line, "not an error reply (type %d)", t);
		cJSON_Delete(body);
		return;
	}
	got = cJSON_GetStringValue(cJSON_GetObjectItem(body, "error"));
	if (got == NULL || (want != NULL && strcmp(got, want) != 0))
		unit_fail(__FILE__, line, "error \"%s\", want \"%s\"",
		    got ? got : "(none)", want ? want : "(any)");
	cJSON_Delete(body);
}

static void
test_error_rep(void)
{
	struct buf b;

	buf_init(&b);
	CHECK_INT(msg_encode_error(&b, "no such device \"x\""), 0);
	expect_error(&b, "no such device \"x\"", __LINE__);
	buf_reset(&b);
	CHECK_INT(msg_encode_error(&b, "bad \xff"), -1);
	CHECK_INT(b.len, 0);
	buf_free(&b);
}

static bool
status_fill(struct buf *b, void *arg)
{
	buf_printf(b, "\"redis\":\"up\",\"n\":%d", *(int *)arg);
	return *(int *)arg > 1;
}

/* msg_status_answer: the status reply, and an error for anything else. */
static void
test_status_answer(void)
{
	struct buf req, rep;
	enum msg_type t;
	cJSON *body;
	int n = 2;

	buf_init(&req);
	buf_init(&rep);
	CHECK_INT(msg_encode(&req, MSG_STATUS_REQ, "{}", 2), 0);
	CHECK_INT(msg_status_answer(req.data, req.len, &rep, "grilld-x",
	    util_now_ns() - 3 * NS_PER_S, status_fill, &n), 0);
	CHECK_INT(msg_decode(rep.data, rep.len, &t, &body, NULL, 0), 0);
	CHECK_INT(t, MSG_STATUS_REP);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(body, "daemon")),
	    "grilld-x");
	CHECK(cJSON_IsString(cJSON_GetObjectItem(body, "version")));
	CHECK_DBL(cJSON_GetNumberValue(cJSON_GetObjectItem(body, "uptime_s")),
	    3, 1);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(body, "redis")),
	    "up");
	CHECK_DBL(cJSON_GetNumberValue(cJSON_GetObjectItem(body, "n")), 2, 0);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(body, "ready")));
	cJSON_Delete(body);

	n = 0;
	buf_reset(&rep);
	CHECK_INT(msg_status_answer(req.data, req.len, &rep, "grilld-x",
	    util_now_ns(), status_fill, &n), 0);
	CHECK_INT(msg_decode(rep.data, rep.len, &t, &body, NULL, 0), 0);
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(body, "ready")));
	cJSON_Delete(body);

	/* Another request, and a malformed one: an error, named. */
	buf_reset(&req);
	buf_reset(&rep);
	CHECK_INT(msg_encode(&req, MSG_DEVICES_REQ, "{}", 2), 0);
	CHECK_INT(msg_status_answer(req.data, req.len, &rep, "grilld-x",
	    util_now_ns(), status_fill, &n), 0);
	expect_error(&rep, "grilld-x answers MSG_STATUS_REQ only", __LINE__);
	buf_reset(&rep);
	CHECK_INT(msg_status_answer("GR", 2, &rep, "grilld-x", util_now_ns(),
	    status_fill, &n), 0);
	expect_error(&rep, NULL, __LINE__);
	buf_free(&req);
	buf_free(&rep);
}

static void
test_encode_rejects(void)
{
	struct buf b;
	cJSON *arr = cJSON_CreateArray(), *bad = cJSON_CreateObject();
	char *big;

	buf_init(&b);
	buf_puts(&b, "keep");
	CHECK_INT(msg_encode(&b, 0, "{}", 2), -1);
	CHECK_INT(msg_encode(&b, MSG_TYPE_LAST + 1, "{}", 2), -1);
	CHECK_INT(msg_encode(&b, MSG_READING, "[]", 2), -1);
	CHECK_INT(msg_encode(&b, MSG_READING, "{", 1), -1);
	CHECK_INT(msg_encode(&b, MSG_READING, "{} {}", 5), -1);
	CHECK_INT(msg_encode(&b, MSG_READING, "", 0), -1);
	CHECK_INT(msg_encode(&b, MSG_READING, NULL, 0), -1);
	CHECK_INT(msg_encode(&b, MSG_READING, "{\"a\":\"\xc0\xaf\"}", 10), -1);
	CHECK_INT(msg_encode(&b, MSG_READING, "{\"a\":1}\0", 8), -1);
	CHECK_INT(msg_encode_json(&b, MSG_READING, arr), -1);
	CHECK_INT(msg_encode_json(&b, MSG_READING, NULL), -1);
	cJSON_AddStringToObject(bad, "s", "\xed\xa0\x80");	/* surrogate */
	CHECK_INT(msg_encode_json(&b, MSG_READING, bad), -1);

	big = malloc(MSG_BODY_MAX + 2);
	memset(big, ' ', MSG_BODY_MAX + 1);
	big[0] = '{';
	big[MSG_BODY_MAX - 1] = '}';
	CHECK_INT(msg_encode(&b, MSG_READING, big, MSG_BODY_MAX + 1), -1);
	CHECK_INT(b.len, 4);
	CHECK_STR(b.data, "keep");
	/* Exactly at the limit is fine. */
	CHECK_INT(msg_encode(&b, MSG_READING, big, MSG_BODY_MAX), 0);
	CHECK_INT(b.len, 4 + MSG_HDR_LEN + MSG_BODY_MAX);
	CHECK_INT(msg_decode(b.data + 4, b.len - 4, NULL, NULL, NULL, 0), 0);
	free(big);
	cJSON_Delete(arr);
	cJSON_Delete(bad);
	buf_free(&b);
}

static void
test_decode_rejects(void)
{
	struct buf b;
	char err[MSG_ERRLEN];
	static const char *const notobj[] = { "[1,2]", "\"s\"", "42", "null",
	    "true" };
	char *big;

	buf_init(&b);
	REJECT(NULL, 0, "short message");
	REJECT("GR\x01\x01\0\0\0", 7, "short message");
	raw(&b, 'X', MSG_VERSION, MSG_READING, 2, "{}", 2);
	REJECT(b.data, b.len, "bad magic");
	raw(&b, 'G', 2, MSG_READING, 2, "{}", 2);
	REJECT(b.data, b.len, "message version 2, this build speaks "
	    "version 1");
	raw(&b, 'G', 0, MSG_READING, 2, "{}", 2);
	REJECT(b.data, b.len, "version 0");
	raw(&b, 'G', MSG_VERSION, 0, 2, "{}", 2);
	REJECT(b.data, b.len, "unknown message type 0");
	raw(&b, 'G', MSG_VERSION, MSG_TYPE_LAST + 1, 2, "{}", 2);
	REJECT(b.data, b.len, "unknown message type 9");
	raw(&b, 'G', MSG_VERSION, 255, 2, "{}", 2);
	REJECT(b.data, b.len, "unknown message type 255");
	raw(&b, 'G', MSG_VERSION, MSG_DEVICE, 3, "{}", 2);
	REJECT(b.data, b.len, "truncated");
	raw(&b, 'G', MSG_VERSION, MSG_DEVICE, 1, "{}", 2);
	REJECT(b.data, b.len, "over-long");
	raw(&b, 'G', MSG_VERSION, MSG_DEVICE, 0xffffffffu, "{}", 2);
	REJECT(b.data, b.len, "over the 1048576-byte limit");
	raw(&b, 'G', MSG_VERSION, MSG_DEVICE, MSG_BODY_MAX + 1, "{}", 2);
	REJECT(b.data, b.len, "over the");

	/* A real body one byte over the limit, length consistent. */
	big = malloc(MSG_BODY_MAX + 1);
	memset(big, ' ', MSG_BODY_MAX + 1);
	big[0] = '{';
	big[1] = '}';
	raw(&b, 'G', MSG_VERSION, MSG_DEVICE, MSG_BODY_MAX + 1, big,
	    MSG_BODY_MAX + 1);
	REJECT(b.data, b.len, "limit");
	free(big);

	raw(&b, 'G', MSG_VERSION, MSG_ALERT, 8, "{\"a\":\"\xff\"}", 8);
	REJECT(b.data, b.len, "UTF-8");
	raw(&b, 'G', MSG_VERSION, MSG_ALERT, 9, "{\"a\":\"\xe2\x82\"}", 9);
	REJECT(b.data, b.len, "UTF-8");
	raw(&b, 'G', MSG_VERSION, MSG_ALERT, 9, "{\"a\":\"\xc0\xaf\"}", 9);
	REJECT(b.data, b.len, "UTF-8");
	raw(&b, 'G', MSG_VERSION, MSG_ALERT, 5, "{\"a\":", 5);
	REJECT(b.data, b.len, "invalid JSON");
	raw(&b, 'G', MSG_VERSION, MSG_ALERT, 5, "{} {}", 5);
	REJECT(b.data, b.len, "invalid JSON");
	raw(&b, 'G', MSG_VERSION, MSG_ALERT, 3, "{}\0", 3);
	REJECT(b.data, b.len, "control character 0x00");
	raw(&b, 'G', MSG_VERSION, MSG_ALERT, 8, "{\"a\":\"\x01\"}", 8);
	REJECT(b.data, b.len, "control character 0x01");
	raw(&b, 'G', MSG_VERSION, MSG_ALERT, 0, "", 0);
	REJECT(b.data, b.len, "empty body");
	for (size_t i = 0; i < ARRAY_LEN(notobj); i++) {
		raw(&b, 'G', MSG_VERSION, MSG_ALERT, strlen(notobj[i]),
		    notobj[i], strlen(notobj[i]));
		REJECT(b.data, b.len, "not an object");
	}

	/* Nesting deeper than cJSON's limit fails cleanly. */
	buf_reset(&b);
	{
		struct buf body;

		buf_init(&body);
		buf_puts(&body, "{\"a\":");
		for (int i = 0; i < 5000; i++)
			buf_putc(&body, '[');
		for (int i = 0; i < 5000; i++)
			buf_putc(&body, ']');
		buf_putc(&body, '}');
		raw(&b, 'G', MSG_VERSION, MSG_ALERT, body.len, body.data,
		    body.len);
		REJECT(b.data, b.len, "invalid JSON");
		buf_free(&body);
	}

	/* The error buffer is optional and may be tiny. */
	raw(&b, 'G', 2, MSG_READING, 2, "{}", 2);
	CHECK_INT(msg_decode(b.data, b.len, NULL, NULL, NULL, 0), -1);
	CHECK_INT(msg_decode(b.data, b.len, NULL, NULL, err, 4), -1);
	CHECK_INT(strlen(err), 3);
	buf_free(&b);
}

static void
test_truncated_every_length(void)
{
	struct buf b;
	const char *body = "{\"device_id\":\"dev-1\",\"probe\":2,"
	    "\"temp_c\":101.5,\"ts\":\"2026-01-02T03:04:05.123Z\","
	    "\"event_id\":\"1767323045123-0\"}";
	cJSON *out;

	buf_init(&b);
	CHECK_INT(msg_encode(&b, MSG_READING, body, strlen(body)), 0);
	for (size_t n = 0; n < b.len; n++) {
		char err[MSG_ERRLEN];

		out = NULL;
		if (msg_decode(b.data, n, NULL, &out, err, sizeof(err)) != -1)
			unit_fail(__FILE__, __LINE__, "accepted %zu of %zu "
			    "bytes", n, b.len);
		CHECK(out == NULL);
		CHECK(n < MSG_HDR_LEN ? strstr(err, "short") != NULL :
		    strstr(err, "truncated") != NULL);
	}
	CHECK_INT(msg_decode(b.data, b.len, NULL, &out, NULL, 0), 0);
	cJSON_Delete(out);
	/* One byte more, whatever it is, is over-long. */
	buf_putc(&b, ' ');
	REJECT(b.data, b.len, "over-long");
	buf_free(&b);
}

static void
test_fuzz_never_crashes(void)
{
	struct buf b, valid;
	uint8_t *p = malloc(4096);
	unsigned long accepted = 0;

	rng_state = (uint64_t)time(NULL) | 1;
	printf("# fuzz seed %llu\n", (unsigned long long)rng_state);
	buf_init(&b);
	buf_init(&valid);
	{
		const char *body = "{\"devices\":[{\"device_id\":\"a\","
		    "\"name\":\"\xc3\xa9\"}]}";

		CHECK_INT(msg_encode(&valid, MSG_DEVICES_REP, body,
		    strlen(body)), 0);
	}
	for (int i = 0; i < 200000; i++) {
		size_t len;
		cJSON *out = NULL;
		char err[MSG_ERRLEN];
		enum msg_type t;

		if (i % 2 == 0) {
			/* Random bytes, often behind a plausible header. */
			len = rng() % 64;
			for (size_t j = 0; j < len; j++)
				p[j] = (uint8_t)rng();
			if (i % 4 == 0 && len >= MSG_HDR_LEN) {
				p[0] = 'G';
				p[1] = 'R';
				p[2] = MSG_VERSION;
				p[4] = p[5] = p[6] = 0;
				p[7] = (uint8_t)(len - MSG_HDR_LEN);
			}
		} else {
			/* A valid message with a few bytes changed. */
			len = valid.len;
			memcpy(p, valid.data, len);
			for (int k = 1 + (int)(rng() % 3); k > 0; k--)
				p[rng() % len] = (uint8_t)rng();
			if (rng() % 4 == 0)
				len = rng() % (len + 1);
		}
		if (msg_decode(p, len, &t, &out, err, sizeof(err)) == 0) {
			accepted++;
			CHECK(cJSON_IsObject(out));
			CHECK(msg_type_valid(t));
			cJSON_Delete(out);
		} else {
			CHECK(out == NULL);
			CHECK(err[0] != '\0');
		}
	}
	printf("# fuzz: %lu of 200000 inputs decoded\n", accepted);
	free(p);
	buf_free(&b);
	buf_free(&valid);
}

int
main(void)
{
	UNIT_RUN(test_round_trip_every_type);
	UNIT_RUN(test_header_layout);
	UNIT_RUN(test_error_rep);
	UNIT_RUN(test_status_answer);
	UNIT_RUN(test_encode_rejects);
	UNIT_RUN(test_decode_rejects);
	UNIT_RUN(test_truncated_every_length);
	UNIT_RUN(test_fuzz_never_crashes);
	return unit_done();
}
