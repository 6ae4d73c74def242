/*
 * What the writer learns from InfluxDB's answers (partial writes name
 * the lines they could not parse), retention durations, and the
 * reasons validation gives each kind of bad entry.
 */
#include <stdio.h>
#include <string.h>

#include "../../ingest/ingest.h"
#include "unit.h"

struct seen {
	char	 line[8][256];
	char	 reason[8][160];
	int	 n;
};

static void
on_line(const char *line, size_t len, const char *reason, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->line[s->n], sizeof(s->line[0]), "%.*s", (int)len,
		    line);
		snprintf(s->reason[s->n], sizeof(s->reason[0]), "%s", reason);
	}
	s->n++;
}

static void
test_partial_write(void)
{
	/* As influxd 1.6 answers a batch with two bad lines. */
	const char *msg = "partial write: unable to parse 'm,t=b "
	    "v=bad-line 1795793430000000000': invalid boolean\nunable to "
	    "parse 'm v=\"x y 1795793430000000000\nm,t=a v=1i "
	    "1795793430000000000': unbalanced quotes dropped=0";
	struct seen s = { .n = 0 };

	CHECK_INT(influx_parse_rejects(msg, on_line, &s), 2);
	CHECK_STR(s.line[0], "m,t=b v=bad-line 1795793430000000000");
	CHECK_STR(s.reason[0], "invalid boolean");
	CHECK_STR(s.line[1], "m v=\"x y 1795793430000000000\nm,t=a v=1i "
	    "1795793430000000000");
	CHECK_STR(s.reason[1], "unbalanced quotes");
}

static void
test_partial_write_quotes_in_line(void)
{
	const char *msg = "unable to parse 'temperature,device_id=a\\ b "
	    "label=\"it's': here\" 1': bad timestamp dropped=1";
	struct seen s = { .n = 0 };

	CHECK_INT(influx_parse_rejects(msg, on_line, &s), 1);
	CHECK_STR(s.line[0], "temperature,device_id=a\\ b label=\"it's': "
	    "here\" 1");
	CHECK_STR(s.reason[0], "bad timestamp");
}

static void
test_no_line_named(void)
{
	struct seen s = { .n = 0 };

	CHECK_INT(influx_parse_rejects("partial write: field type conflict: "
	    "input field \"value\" on measurement \"temperature\" is type "
	    "integer, already exists as type float dropped=1", on_line, &s), 0);
	CHECK_INT(influx_parse_rejects("partial write: points beyond "
	    "retention policy dropped=2", on_line, &s), 0);
	CHECK_INT(influx_parse_rejects("", on_line, &s), 0);
	CHECK_INT(influx_parse_rejects("unable to parse 'no end", on_line, &s),
	    0);
	CHECK_INT(s.n, 0);
}

static void
test_retention(void)
{
	int64_t ns;

	CHECK_INT(validate_parse_retention("7d", &ns), 0);
	CHECK_INT(ns, 7 * 86400 * NS_PER_S);
	CHECK_INT(validate_parse_retention("1w2d3h", &ns), 0);
	CHECK_INT(ns, (9 * 86400 + 3 * 3600) * NS_PER_S);
	CHECK_INT(validate_parse_retention("INF", &ns), 0);
	CHECK_INT(ns, 0);
	CHECK_INT(validate_parse_retention("90m", &ns), 0);
	CHECK_INT(ns, 90 * 60 * NS_PER_S);
	CHECK_INT(validate_parse_retention("", &ns), -1);
	CHECK_INT(validate_parse_retention("7", &ns), -1);
	CHECK_INT(validate_parse_retention("7x", &ns), -1);
	CHECK_INT(validate_parse_retention("0d", &ns), -1);
	CHECK_INT(validate_parse_retention("-1d", &ns), -1);
}

static enum reject
check_entry(struct validate *v, const char *ver, const char *json)
{
	struct reading r;
	enum reject why;
	char detail[256];

	why = validate_entry(v, ver, ver ? strlen(ver) : 0, json,
	    json ? strlen(json) : 0, &r, INT64_C(1800000000) * NS_PER_S,
	    detail, sizeof(detail));
	if (why != REJECT_NONE && detail[0] == '\0')
		unit_fail(__FILE__, __LINE__, "no detail for %s", json);
	reading_clear(&r);
	return why;
}

static void
test_reasons(void)
{
	static struct grilld_conf cf;
	struct validate v;
	char err[256];

	cf.ingest.future_skew = 300000;
	cf.ingest.retention_raw = "7d";
	CHECK_INT(validate_init(&v, &cf, err, sizeof(err)), 0);
#define OK_AT	"\"timestamp\":1800000000"
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"d\",\"temperature\":"
	    "70," OK_AT "}"), REJECT_NONE);
	CHECK_INT(check_entry(&v, "2", "{}"), REJECT_BAD_LAYOUT);
	CHECK_INT(check_entry(&v, NULL, "{}"), REJECT_BAD_LAYOUT);
	CHECK_INT(check_entry(&v, "1", NULL), REJECT_BAD_LAYOUT);
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"\xff\"}"),
	    REJECT_BAD_UTF8);
	CHECK_INT(check_entry(&v, "1", "garbage{"), REJECT_BAD_JSON);
	CHECK_INT(check_entry(&v, "1", "[1,2]"), REJECT_BAD_JSON);
	CHECK_INT(check_entry(&v, "1", "{\"temperature\":70}"),
	    REJECT_MISSING_ID);
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"a\\u0001b\","
	    "\"temperature\":70}"), REJECT_BAD_ID);
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"d\",\"temperature\":"
	    "NaN}"), REJECT_BAD_JSON);
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"d\",\"temperature\":"
	    "\"NaN\"}"), REJECT_BAD_VALUE);
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"d\",\"temperature\":"
	    "1e999}"), REJECT_BAD_VALUE);
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"d\"}"),
	    REJECT_BAD_VALUE);
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"d\",\"temperature\":"
	    "70,\"unit\":\"X\"}"), REJECT_BAD_UNIT);
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"d\",\"temperature\":"
	    "70,\"timestamp\":\"yesterday\"}"), REJECT_BAD_TIMESTAMP);
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"d\",\"temperature\":"
	    "70,\"timestamp\":1800000400}"), REJECT_FUTURE);
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"d\",\"temperature\":"
	    "70,\"timestamp\":1799000000}"), REJECT_TOO_OLD);
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"d\",\"temperature\":"
	    "1200," OK_AT "}"), REJECT_OUT_OF_RANGE);
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"d\",\"temperature\":"
	    "101,\"unit\":\"H\"," OK_AT "}"), REJECT_OUT_OF_RANGE);
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"d\",\"temperature\":"
	    "70,\"battery_level\":300," OK_AT "}"), REJECT_BAD_FIELD);
	/* A probe type from ingest.ranges, named in the metadata. */
	snprintf(v.ranges[2].type, sizeof(v.ranges[2].type), "food");
	v.ranges[2].min = -20;
	v.ranges[2].max = 120;
	v.nranges = 3;
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"d\",\"temperature\":"
	    "130,\"unit\":\"C\",\"metadata\":{\"probe_type\":\"food\"},"
	    OK_AT "}"), REJECT_OUT_OF_RANGE);
	CHECK_INT(check_entry(&v, "1", "{\"device_id\":\"d\",\"temperature\":"
	    "130,\"unit\":\"C\"," OK_AT "}"), REJECT_NONE);
	CHECK_STR(validate_reason_name(REJECT_INFLUX), "influx_rejected");
#undef OK_AT
}

int
main(void)
{
	UNIT_RUN(test_partial_write);
	UNIT_RUN(test_partial_write_quotes_in_line);
	UNIT_RUN(test_no_line_named);
	UNIT_RUN(test_retention);
	UNIT_RUN(test_reasons);
	return unit_done();
}
