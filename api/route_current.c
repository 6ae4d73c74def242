/*
 * GET /api/temperature/current/{device_id}?probe_id=&unit=F|C
 *
 * The latest reading, from the ingester's `latest` hash (field
 * "device_id/probe_id"): one HGET on this worker's open Redis
 * connection, or none while the in-memory copy Redis keeps current
 * holds it (latest_cache.c), so the answer costs a fraction of a
 * millisecond. grill-stats' answer
 *
 *	{"status": "success", "data": {device_id, probe_id, temperature,
 *	 unit, timestamp, battery_level, signal_strength, ..., name,
 *	 stale, age_s}, "source": "cache"}
 *
 * where source, at the top as in grill-stats, says where the answer came
 * from ("cache", or "influxdb" when the cache missed or Redis is down;
 * the reading's own origin, "thermoworks" or "api", is in data.origin),
 * stale is true past api.stale_after, age_s is the reading's age in
 * seconds and name the probe's label.
 *
 * Without probe_id: the device's most recent reading, and every probe's
 * in "probes", a map keyed by probe id: the shape grill-stats' Home
 * Assistant component reads (it iterates probes.items()). A probe the
 * ingester follows as a cook (a target or stall rule) carries its "cook"
 * block (rate, target, eta, stall) as in the stream's events, when the
 * answer is in the reading's own unit.
 *
 * 404 when neither the cache nor InfluxDB's raw points know the device
 * (or the probe); 503 when both are down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "reading.h"

#define PROBES_MAX	64

struct latest {
	struct reading	 r[PROBES_MAX];
	char		*cook[PROBES_MAX];	/* the ingester's "cook", or NULL */
	size_t		 n;
};

static void
latest_clear(struct latest *l)
{
	for (size_t i = 0; i < l->n; i++) {
		reading_clear(&l->r[i]);
		cJSON_free(l->cook[i]);
		l->cook[i] = NULL;
	}
	l->n = 0;
}

/* The "cook" block the ingester adds to a followed probe's reading. */
static char *
cook_of(const char *json, size_t len)
{
	cJSON *o = cJSON_ParseWithLength(json, len), *c;
	char *s = NULL;

	if (o != NULL && cJSON_IsObject(c = cJSON_GetObjectItemCaseSensitive(o,
	    "cook")))
		s = cJSON_PrintUnformatted(c);
	cJSON_Delete(o);
	return s;
}

/* Adds a cached reading; one the ingester wrote is always well formed. */
static void
latest_add(struct latest *l, const char *json, size_t len)
{
	struct reading_errs errs;
	struct reading_limits lim;

	if (l->n == PROBES_MAX)
		return;
	reading_limits_default(&lim);
	lim.max_future_ns = INT64_MAX / 4;	/* as stored, whatever the clock */
	reading_errs_init(&errs);
	if (reading_parse(json, len, &l->r[l->n], &lim, &errs) == 0) {
		l->cook[l->n] = memmem(json, len, "\"cook\"", 6) != NULL ?
		    cook_of(json, len) : NULL;
		l->n++;
	} else
		reading_clear(&l->r[l->n]);
}

/* 0 (l filled, perhaps empty) or -1 (Redis failed). */
static int
from_cache(struct req *r, const char *device, const char *probe,
    struct latest *l)
{
	struct buf field;
	const char *argv[7];
	size_t lens[7];
	char cursor[32] = "0";
	redisReply *rep;
	struct buf hit;
	uint64_t gen;
	int rc = -1, rounds = 0;

	buf_init(&field);
	buf_init(&hit);
	if (probe[0] != '\0') {
		rkey_latest_put(&field, device, probe);
		if (field.data != NULL && latest_cache_get(r->api->lcache,
		    field.data, &hit, &gen)) {
			latest_add(l, hit.data, hit.len);
			rc = 0;
			goto done;
		}
		argv[0] = "HGET";
		argv[1] = r->api->key_latest;
		argv[2] = field.data;
		if ((rep = api_redis_cmd(r, "HGET", 3, argv, NULL)) == NULL ||
		    api_redis_ok(r, rep) == -1)
			goto done;
		if (rep->type == REDIS_REPLY_STRING) {
			latest_add(l, rep->str, rep->len);
			latest_cache_put(r->api->lcache, field.data, rep->str,
			    rep->len, gen);
		}
		freeReplyObject(rep);
		rc = 0;
		goto done;
	}
	rkey_field_glob(&field, device);
	do {
		argv[0] = "HSCAN";
		argv[1] = r->api->key_latest;
		argv[2] = cursor;
		argv[3] = "MATCH";
		argv[4] = field.data;
		argv[5] = "COUNT";
		argv[6] = "1000";
		for (int i = 0; i < 7; i++)
			lens[i] = strlen(argv[i]);
		if ((rep = api_redis_cmd(r, "HSCAN", 7, argv, lens)) == NULL ||
		    api_redis_ok(r, rep) == -1)
			goto done;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			api_dep_fail(r, 502, "REDIS_ERROR", 0, "HSCAN: an "
			    "answer of the wrong shape");
			goto done;
		}
		util_strlcpy(cursor, rep->element[0]->str, sizeof(cursor));
		for (size_t i = 1; i < rep->element[1]->elements; i += 2) {
			const redisReply *v = rep->element[1]->element[i];

			if (v->type == REDIS_REPLY_STRING)
				latest_add(l, v->str, v->len);
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0 && ++rounds < 1000);
	rc = 0;
done:
	buf_free(&field);
	buf_free(&hit);
	return rc;
}

struct fill {
	const char	*device;
	struct latest	*l;
};

static int
on_row(const struct iql_row *row, void *arg)
{
	struct fill *f = arg;
	struct reading *rd;
	const char *s;
	int64_t us;
	double v;

	if (f->l->n == PROBES_MAX || !iql_time_us(row->cells[0], &us))
		return 0;
	f->l->cook[f->l->n] = NULL;
	rd = &f->l->r[f->l->n++];
	reading_init(rd);
	util_strlcpy(rd->device_id, f->device, sizeof(rd->device_id));
	rd->ts_ns = us * 1000;
	if ((rd->has_value = iql_num(row->cells[1], &v)))
		rd->value = v;
	s = iql_str(row->cells[2]);
	rd->unit = s && s[0] && !s[1] ? s[0] : 'F';
	if ((s = iql_str(row->cells[3])) != NULL)
		util_strlcpy(rd->probe_id, s, sizeof(rd->probe_id));
	if (iql_num(row->cells[4], &v))
		rd->battery = (int)v;
	if (iql_num(row->cells[5], &v))
		rd->signal = (int)v;
	if ((s = iql_str(row->cells[6])) != NULL)
		reading_status_parse(s, &rd->status);
	if (iql_num(row->cells[7], &v))
		rd->flags = (uint32_t)v;
	if ((s = iql_str(row->cells[8])) != NULL)
		util_strlcpy(rd->source, s, sizeof(rd->source));
	return 0;
}

/* The last raw point of each probe. 0, or -1 (InfluxDB failed). */
static int
from_influx(struct req *r, const char *device, const char *probe,
    struct latest *l)
{
	static const char *const cols[] = { "time", "value", "unit",
		"probe_id", "battery", "signal", "status", "flags", "source" };
	struct fill f = { device, l };
	struct iql_query iq = { NULL, cols, ARRAY_LEN(cols), on_row, &f };
	struct buf q, answer;
	int rc;

	buf_init(&q);
	buf_init(&answer);
	buf_puts(&q, "SELECT last(\"value\") AS \"value\", \"unit\", "
	    "\"battery\", \"signal\", \"status\", \"flags\", \"source\" FROM "
	    "\"raw\".\"temperature\" WHERE \"device_id\" = ");
	iql_string(&q, device);
	if (probe[0] != '\0') {
		buf_puts(&q, " AND \"probe_id\" = ");
		iql_string(&q, probe);
	}
	buf_printf(&q, " GROUP BY \"probe_id\" SLIMIT %d", PROBES_MAX);
	iq.q = q.data;
	rc = q.data ? api_influx_query(r, &iq, &answer) : -1;
	buf_free(&q);
	buf_free(&answer);
	return rc;
}

/* One reading with the fields current adds, and its cook block. */
static void
current_json(struct buf *b, struct reading *rd, const char *cook, char unit,
    int64_t now, int64_t stale_ms)
{
	char origin[READING_SOURCE_LEN];
	double age = (double)(now - rd->ts_ns) / 1e9;
	size_t mark = b->len;

	util_strlcpy(origin, rd->source, sizeof(origin));
	rd->source[0] = '\0';	/* the answer's source is another thing */
	if (reading_write_json(b, rd, unit) == -1 || b->len == mark)
		return;
	b->len--;		/* reopen the object */
	if (rd->label[0] != '\0') {
		buf_puts(b, ",\"name\":\"");
		buf_json_escape(b, rd->label);
		buf_putc(b, '"');
	}
	buf_printf(b, ",\"stale\":%s,\"age_s\":%.3f",
	    age * 1000 > (double)stale_ms ? "true" : "false", age);
	/* As the ingester computed it, in the reading's own unit. */
	if (cook != NULL && (unit == 0 || unit == rd->unit))
		buf_printf(b, ",\"cook\":%s", cook);
	if (origin[0] != '\0') {
		buf_puts(b, ",\"origin\":\"");
		buf_json_escape(b, origin);
		buf_putc(b, '"');
	}
	buf_putc(b, '}');
}

/* By probe id, each reading with its cook block (at most PROBES_MAX). */
static void
sort_by_probe(struct latest *l)
{
	struct reading t;
	char *c;

	for (size_t i = 1; i < l->n; i++)
		for (size_t j = i; j > 0 && strcmp(l->r[j - 1].probe_id,
		    l->r[j].probe_id) > 0; j--) {
			t = l->r[j];
			l->r[j] = l->r[j - 1];
			l->r[j - 1] = t;
			c = l->cook[j];
			l->cook[j] = l->cook[j - 1];
			l->cook[j - 1] = c;
		}
}

int
api_route_current(struct req *r)
{
	struct latest l;
	struct buf b;
	const char *src = "cache";
	char probe[API_ID_MAX], unit;
	size_t newest = 0;
	int64_t now;

	if (api_param_id(r, "probe_id", probe, sizeof(probe)) == -1 ||
	    api_param_unit(r, 'F', &unit) == -1)
		return -1;
	l.n = 0;
	if (from_cache(r, r->arg, probe, &l) == -1 || l.n == 0) {
		src = "influxdb";
		if (from_influx(r, r->arg, probe, &l) == -1) {
			latest_clear(&l);
			return api_error_dep(r);
		}
	}
	if (l.n == 0) {
		if (probe[0] != '\0')
			return api_error_details(r, 404, "PROBE_NOT_FOUND",
			    cJSON_CreateString(probe), "no reading of device "
			    "%s, probe %s is known", r->arg, probe);
		return api_error_details(r, 404, "DEVICE_NOT_FOUND",
		    cJSON_CreateString(r->arg), "no reading of device %s is "
		    "known", r->arg);
	}
	sort_by_probe(&l);
	for (size_t i = 1; i < l.n; i++)
		if (l.r[i].ts_ns > l.r[newest].ts_ns ||
		    (l.r[i].ts_ns == l.r[newest].ts_ns &&
		    strcmp(l.r[i].probe_id, l.r[newest].probe_id) < 0))
			newest = i;
	now = util_now_ns();
	buf_init(&b);
	buf_puts(&b, "{\"status\":\"success\",\"data\":");
	if (probe[0] == '\0') {
		struct reading first;

		/* The newest, with every probe's reading inside it. */
		reading_copy(&first, &l.r[newest]);
		current_json(&b, &first, l.cook[newest], unit, now,
		    r->api->cf->api.stale_after);
		reading_clear(&first);
		b.len--;
		buf_puts(&b, ",\"probes\":{");
		for (size_t i = 0; i < l.n; i++) {
			if (i > 0)
				buf_putc(&b, ',');
			buf_putc(&b, '"');
			buf_json_escape(&b, l.r[i].probe_id);
			buf_puts(&b, "\":");
			current_json(&b, &l.r[i], l.cook[i], unit, now,
			    r->api->cf->api.stale_after);
		}
		buf_puts(&b, "}}");
	} else
		current_json(&b, &l.r[0], l.cook[0], unit, now,
		    r->api->cf->api.stale_after);
	buf_printf(&b, ",\"source\":\"%s\"}\n", src);
	latest_clear(&l);
	api_reply_json(r, 200, &b);
	buf_free(&b);
	return 0;
}
