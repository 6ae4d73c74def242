/*
 * Events (stream/event.c), filters (stream/filter.c) and tokens
 * (stream/limits.c) of grilld-stream.
 */
#include <string.h>

#include "../../stream/stream.h"
#include "unit.h"

static void
test_ids(void)
{
	struct sev_id a, b;
	char s[STREAM_ID_LEN];

	CHECK_INT(sev_id_parse("1700000000000-3", &a), 0);
	CHECK_INT(a.ms, 1700000000000);
	CHECK_INT(a.seq, 3);
	CHECK_INT(sev_id_parse("1700000000000", &b), 0);
	CHECK_INT(b.seq, 0);
	CHECK_INT(sev_id_cmp(a, b), 1);
	CHECK_INT(sev_id_cmp(b, a), -1);
	CHECK_INT(sev_id_cmp(a, a), 0);
	CHECK_INT(sev_id_parse("18446744073709551615-18446744073709551615",
	    &a), 0);
	/* Nothing comes after the largest id: not a resume point. */
	CHECK(!sev_id_has_next(a));
	CHECK(sev_id_has_next(b));
	sev_id_format(a, s, sizeof(s));
	CHECK_STR(s, "18446744073709551615-18446744073709551615");
	CHECK_INT(sev_id_parse("18446744073709551616-0", &a), -1);
	CHECK_INT(sev_id_parse("", &a), -1);
	CHECK_INT(sev_id_parse("12-", &a), -1);
	CHECK_INT(sev_id_parse("-1", &a), -1);
	CHECK_INT(sev_id_parse("1-2-3", &a), -1);
	CHECK_INT(sev_id_parse("12a", &a), -1);
	CHECK_INT(sev_id_parse(NULL, &a), -1);
}

static void
test_render(void)
{
	cJSON *o = cJSON_Parse("{\"device_id\":\"d1\",\"probe_id\":\"p1\","
	    "\"temperature\":225.5}");
	struct sev *e;
	const char *json;
	char err[96];
	size_t len;

	e = sev_new(SEV_READING, o, "1700000000000-1", err, sizeof(err));
	CHECK(e != NULL);
	if (e == NULL)
		return;
	CHECK_STR(e->device, "d1");
	CHECK_STR(e->probe, "p1");
	CHECK_STR(e->sse, "id: 1700000000000-1\nevent: reading\ndata: "
	    "{\"device_id\":\"d1\",\"probe_id\":\"p1\",\"temperature\":225.5,"
	    "\"event_id\":\"1700000000000-1\"}\n\n");
	CHECK_INT(e->ws[0], (char)0x81);
	CHECK_INT((uint8_t)e->ws[1], 126);	/* a 16-bit length follows */
	CHECK_INT((uint8_t)e->ws[2] << 8 | (uint8_t)e->ws[3], e->wslen - 4);
	CHECK(strncmp(e->ws + 4, "{\"type\":\"reading\",\"id\":"
	    "\"1700000000000-1\",\"data\":{\"device_id\"", 55) == 0);
	CHECK_INT(e->ws[e->wslen - 1], '}');
	json = sev_json(e, &len);
	CHECK(len > 0 && json[0] == '{' && json[len - 1] == '}');
	sev_unref(sev_ref(e));
	sev_unref(e);
	cJSON_Delete(o);
}

static void
test_refused(void)
{
	static const char *const bad[] = {
		"{\"probe_id\":\"p\",\"event_id\":\"1-0\"}",
		"{\"device_id\":\"\",\"event_id\":\"1-0\"}",
		"{\"device_id\":7,\"event_id\":\"1-0\"}",
		"{\"device_id\":\"d\"}",
		"{\"device_id\":\"d\",\"event_id\":\"yesterday\"}",
		"[1,2]",
	};
	char err[96];

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		cJSON *o = cJSON_Parse(bad[i]);
		struct sev *e = sev_new(SEV_DEVICE, o, NULL, err, sizeof(err));

		if (e != NULL) {
			unit_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
			sev_unref(e);
		}
		cJSON_Delete(o);
	}
}

static void
test_filters(void)
{
	struct filter f;
	char err[160];

	CHECK_INT(filter_from_query(&f, NULL, "", 4, err, sizeof(err)), 0);
	CHECK(f.all);
	CHECK(filter_match(&f, "any", "p"));
	filter_free(&f);
	CHECK_INT(filter_from_query(&f, "d1", "probes=p1,d2/p2", 4, err,
	    sizeof(err)), 0);
	CHECK(!f.all);
	CHECK(filter_match(&f, "d1", "p1"));
	CHECK(!filter_match(&f, "d1", "p2"));
	CHECK(filter_match(&f, "d1", ""));	/* device events */
	CHECK(!filter_match(&f, "d2", "p2"));	/* d2 is not followed */
	filter_free(&f);
	CHECK_INT(filter_from_query(&f, NULL, "devices=d1,d2&probes=d2/p2", 4,
	    err, sizeof(err)), 0);
	CHECK(filter_match(&f, "d2", "p2"));
	CHECK(!filter_match(&f, "d1", "p1"));
	filter_free(&f);
	CHECK_INT(filter_from_query(&f, NULL, "devices=a,b,c&probes=x,y", 4,
	    err, sizeof(err)), -1);
	CHECK(strstr(err, "at most 4") != NULL);
	CHECK_INT(filter_from_query(&f, NULL, "devices=a,,b", 4, err,
	    sizeof(err)), -1);
	CHECK_INT(filter_from_query(&f, NULL, "probes=/p", 4, err,
	    sizeof(err)), -1);
	CHECK_INT(filter_from_query(&f, NULL, "probes=a/b/c", 4, err,
	    sizeof(err)), -1);
	CHECK_INT(filter_from_query(&f, NULL, "devices=%01", 4, err,
	    sizeof(err)), -1);
	CHECK_INT(filter_from_query(&f, NULL, "devices=%ff", 4, err,
	    sizeof(err)), -1);	/* not UTF-8 */
}

static void
test_tokens(void)
{
	char tok[128];

	CHECK_INT(limits_token_sign("k", 2000, tok, sizeof(tok)), 0);
	CHECK_INT(limits_token_check("k", tok, 1999), 0);
	CHECK_INT(limits_token_check("k", tok, 2000), -1);	/* expired */
	CHECK_INT(limits_token_check("other", tok, 1999), -1);
	CHECK_INT(limits_token_check("k", tok, 2000 - 2 * 86400), -1);
	tok[strlen(tok) - 1] ^= 1;
	CHECK_INT(limits_token_check("k", tok, 1999), -1);
	CHECK_INT(limits_token_check("k", "2000.", 1999), -1);
	CHECK_INT(limits_token_check("k", "nonsense", 1999), -1);
}

int
main(void)
{
	UNIT_RUN(test_ids);
	UNIT_RUN(test_render);
	UNIT_RUN(test_refused);
	UNIT_RUN(test_filters);
	UNIT_RUN(test_tokens);
	return unit_done();
}
