/*
 * The InfluxDB side of grilld, set up at start-up and whenever InfluxDB
 * says it is missing, idempotently: the database, the retention
 * policies raw (default), hourly, daily, monthly, and the continuous
 * queries that roll each into the next. Policies that exist with
 * another duration are altered; continuous queries whose text differs
 * (another cq_interval) are dropped and created again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ingest.h"

/* The statement error of a /query answer, if any, into msg. */
static bool
statement_error(const struct buf *ans, char *msg, size_t len)
{
	cJSON *j, *res, *e;
	bool bad = false;

	msg[0] = '\0';
	if (ans->data == NULL || (j = cJSON_ParseWithLength(ans->data,
	    ans->len)) == NULL)
		return false;
	res = cJSON_GetObjectItemCaseSensitive(j, "results");
	e = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(res, 0),
	    "error");
	if (e == NULL)
		e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (cJSON_IsString(e)) {
		snprintf(msg, len, "%s", e->valuestring);
		bad = true;
	}
	cJSON_Delete(j);
	return bad;
}

static int
run(struct influx *in, const char *q, char *err, size_t errlen)
{
	struct buf ans;
	int status, rc;

	buf_init(&ans);
	rc = influx_query(in, q, NULL, &ans, &status);
	if (statement_error(&ans, err, errlen))
		rc = -1;
	else if (rc == -1)
		snprintf(err, errlen, "HTTP %d: %.200s", status,
		    ans.data ? ans.data : "");
	buf_free(&ans);
	return rc;
}

/* Identifiers in double quotes, with quotes and backslashes escaped. */
static void
quote(char *out, size_t len, const char *s)
{
	size_t o = 0;

	if (len < 3)
		return;
	out[o++] = '"';
	for (; *s && o + 3 < len; s++) {
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o++] = '"';
	out[o] = '\0';
}

static int
setup_rp(struct influx *in, const char *name, const char *duration,
    bool def, char *err, size_t errlen)
{
	char q[512], db[300], msg[256];

	quote(db, sizeof(db), influx_db(in));
	snprintf(q, sizeof(q), "CREATE RETENTION POLICY \"%s\" ON %s DURATION "
	    "%s REPLICATION 1%s", name, db, duration, def ? " DEFAULT" : "");
	if (run(in, q, msg, sizeof(msg)) == 0)
		return 0;
	if (strstr(msg, "already exists") == NULL) {
		snprintf(err, errlen, "%s: %s", q, msg);
		return -1;
	}
	snprintf(q, sizeof(q), "ALTER RETENTION POLICY \"%s\" ON %s DURATION "
	    "%s%s", name, db, duration, def ? " DEFAULT" : "");
	if (run(in, q, msg, sizeof(msg)) == -1) {
		snprintf(err, errlen, "%s: %s", q, msg);
		return -1;
	}
	log_info("influx: retention policy %s changed to %s", name, duration);
	return 0;
}

/*
 * The roll-up chain. hourly from raw (mean, min, max, count of each
 * field), daily from hourly, monthly (30 d buckets: InfluxQL has no
 * calendar month) from daily. RESAMPLE FOR reaches back far enough
 * that late points (catch-up after an outage, back-filled archives)
 * and a long run interval still land in their bucket.
 */
static const struct cq {
	const char	*name;
	const char	*from, *into;
	const char	*group;
	int64_t		 group_ms;
	int64_t		 for_ms;
	bool		 first;		/* from raw: count, else sum counts */
} cqs[] = {
	{ "grilld_hourly", "raw", "hourly", "1h", 3600000, 6 * 3600000, true },
	{ "grilld_daily", "hourly", "daily", "1d", 86400000,
	    2 * 86400000, false },
	{ "grilld_monthly", "daily", "monthly", "30d", 30 * INT64_C(86400000),
	    60 * INT64_C(86400000), false },
};

static int
cq_text(struct influx *in, const struct cq *c, struct buf *q)
{
	char db[300], every[32], forr[32];
	int64_t for_ms = c->for_ms;

	if (for_ms < influx_conf(in)->ingest.cq_interval + c->group_ms)
		for_ms = influx_conf(in)->ingest.cq_interval + c->group_ms;
	quote(db, sizeof(db), influx_db(in));
	util_format_duration(influx_conf(in)->ingest.cq_interval, every, sizeof(every));
	util_format_duration(for_ms, forr, sizeof(forr));
	buf_reset(q);
	if (c->first)
		return buf_printf(q, "CREATE CONTINUOUS QUERY %s ON %s RESAMPLE "
		    "EVERY %s FOR %s BEGIN SELECT mean(value) AS value, "
		    "min(value) AS value_min, max(value) AS value_max, "
		    "count(value) AS value_count, mean(value_c) AS value_c, "
		    "min(value_c) AS value_c_min, max(value_c) AS value_c_max, "
		    "mean(humidity) AS humidity, min(humidity) AS humidity_min, "
		    "max(humidity) AS humidity_max, mean(battery) AS battery "
		    "INTO %s.%s.temperature FROM %s.%s.temperature GROUP BY "
		    "time(%s), * END", c->name, db, every, forr, db, c->into, db,
		    c->from, c->group);
	return buf_printf(q, "CREATE CONTINUOUS QUERY %s ON %s RESAMPLE EVERY "
	    "%s FOR %s BEGIN SELECT mean(value) AS value, min(value_min) AS "
	    "value_min, max(value_max) AS value_max, sum(value_count) AS "
	    "value_count, mean(value_c) AS value_c, min(value_c_min) AS "
	    "value_c_min, max(value_c_max) AS value_c_max, mean(humidity) AS "
	    "humidity, min(humidity_min) AS humidity_min, max(humidity_max) AS "
	    "humidity_max, mean(battery) AS battery INTO %s.%s.temperature "
	    "FROM %s.%s.temperature GROUP BY time(%s), * END", c->name, db,
	    every, forr, db, c->into, db, c->from, c->group);
}

/* Equal but for double quotes, which SHOW CONTINUOUS QUERIES drops. */
static bool
same_query(const char *a, const char *b)
{
	for (;;) {
		while (*a == '"')
			a++;
		while (*b == '"')
			b++;
		if (*a != *b)
			return false;
		if (*a == '\0')
			return true;
		a++;
		b++;
	}
}

/* The text of an existing continuous query, or NULL. Caller frees. */
static char *
cq_existing(const cJSON *shown, const char *db, const char *name)
{
	const cJSON *series, *s, *vals, *row;

	series = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(shown, "results"), 0), "series");
	cJSON_ArrayForEach(s, series) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(s, "name");

		if (!cJSON_IsString(n) || strcmp(n->valuestring, db) != 0)
			continue;
		vals = cJSON_GetObjectItemCaseSensitive(s, "values");
		cJSON_ArrayForEach(row, vals) {
			const cJSON *rn = cJSON_GetArrayItem(row, 0);
			const cJSON *rq = cJSON_GetArrayItem(row, 1);

			if (cJSON_IsString(rn) && cJSON_IsString(rq) &&
			    strcmp(rn->valuestring, name) == 0)
				return strdup(rq->valuestring);
		}
	}
	return NULL;
}

static int
setup_cqs(struct influx *in, char *err, size_t errlen)
{
	struct buf ans, q;
	char msg[256], db[300], drop[512];
	cJSON *shown = NULL;
	int rc = -1, status;

	buf_init(&ans);
	buf_init(&q);
	quote(db, sizeof(db), influx_db(in));
	if (influx_query(in, "SHOW CONTINUOUS QUERIES", NULL, &ans,
	    &status) == -1) {
		snprintf(err, errlen, "SHOW CONTINUOUS QUERIES: HTTP %d",
		    status);
		goto done;
	}
	shown = cJSON_ParseWithLength(ans.data ? ans.data : "", ans.len);
	for (size_t i = 0; i < ARRAY_LEN(cqs); i++) {
		char *have;

		if (cq_text(in, &cqs[i], &q) == -1) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
		have = cq_existing(shown, influx_db(in), cqs[i].name);
		if (have != NULL && same_query(have, q.data)) {
			free(have);
			continue;
		}
		if (have != NULL) {
			snprintf(drop, sizeof(drop), "DROP CONTINUOUS QUERY %s "
			    "ON %s", cqs[i].name, db);
			free(have);
			if (run(in, drop, msg, sizeof(msg)) == -1) {
				snprintf(err, errlen, "%s: %s", drop, msg);
				goto done;
			}
			log_info("influx: continuous query %s replaced",
			    cqs[i].name);
		}
		if (run(in, q.data, msg, sizeof(msg)) == -1 &&
		    strstr(msg, "already exists") == NULL) {
			snprintf(err, errlen, "%s: %s", cqs[i].name, msg);
			goto done;
		}
	}
	rc = 0;
done:
	cJSON_Delete(shown);
	buf_free(&ans);
	buf_free(&q);
	return rc;
}

int
influx_setup(struct influx *in, char *err, size_t errlen)
{
	const struct grilld_conf *cf = influx_conf(in);
	char q[512], db[300], msg[256];

	quote(db, sizeof(db), influx_db(in));
	snprintf(q, sizeof(q), "CREATE DATABASE %s", db);
	if (run(in, q, msg, sizeof(msg)) == -1) {
		snprintf(err, errlen, "%s: %s", q, msg);
		return -1;
	}
	if (setup_rp(in, "raw", cf->ingest.retention_raw, true, err,
	    errlen) == -1 ||
	    setup_rp(in, "hourly", cf->ingest.retention_hourly, false, err,
	    errlen) == -1 ||
	    setup_rp(in, "daily", cf->ingest.retention_daily, false, err,
	    errlen) == -1 ||
	    setup_rp(in, "monthly", cf->ingest.retention_monthly, false, err,
	    errlen) == -1)
		return -1;
	return setup_cqs(in, err, errlen);
}

