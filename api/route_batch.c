/*
 * POST /api/temperature/batch	{"readings": [reading, ...]}
 *
 * Each reading is checked with the very code the ingester uses
 * (reading_from_json() and reading_validate(), with the ingester's
 * limits: ingest.future_skew), and the accepted ones are handed to the
 * `readings` stream exactly as the poller hands its own (fields v = 1,
 * r = the reading's JSON), in one MULTI/EXEC so that a batch is stored
 * whole or not at all. The ingester takes them from there: nothing is
 * written to InfluxDB from here.
 *
 * As grill-stats' pydantic model did, numeric strings ("204.5") are taken
 * as numbers, and one invalid reading refuses the whole batch with
 * FastAPI's 422 {"detail": [{"loc": ["body", "readings", i, field],
 * "msg": ..., "type": ...}, ...]}: nothing is stored. With ?partial=true
 * (grilld's) the valid readings are stored and the invalid ones listed.
 *
 * The answer keeps grill-stats' status, stored_count and total_count and
 * adds one item per reading, in order:
 *	{"index": 0, "status": "accepted", "id": "<stream id>"}
 *	{"index": 1, "status": "rejected", "errors": [{"field": ...,
 *	 "message": ...}]}
 * status is "success" when every reading was stored, "partial" when
 * some were rejected (partial=true only).
 *
 * Refused whole: 413 past api.max_body bytes or api.max_batch readings
 * (the limit in the message); 422 for a body that is not JSON or has no
 * "readings" array; 400 for an empty one (grill-stats' "No readings
 * provided"), or a body nested too deep, or not UTF-8. The body is read
 * as JSON whatever its Content-Type, as FastAPI reads one without.
 */
#include <civetweb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "metrics.h"
#include "rds.h"
#include "reading.h"

static struct metric_series *m_accepted, *m_rejected;

static void
item_rejected(cJSON *items, int i, const struct reading_errs *errs)
{
	cJSON *it = cJSON_CreateObject(), *list = cJSON_CreateArray();

	cJSON_AddNumberToObject(it, "index", i);
	cJSON_AddStringToObject(it, "status", "rejected");
	for (size_t k = 0; k < errs->n; k++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "field", errs->e[k].field);
		cJSON_AddStringToObject(e, "message", errs->e[k].msg);
		cJSON_AddItemToArray(list, e);
	}
	cJSON_AddItemToObject(it, "errors", list);
	cJSON_AddItemToArray(items, it);
}

/* grill-stats' model took numeric strings as numbers (pydantic coerces). */
static void
coerce_numbers(cJSON *in)
{
	static const char *const keys[] = { "temperature", "battery_level",
		"signal_strength" };
	cJSON *v;
	double d;

	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		v = cJSON_GetObjectItemCaseSensitive(in, keys[i]);
		if (cJSON_IsString(v) && util_parse_double(v->valuestring,
		    &d) == 0 && isfinite(d))
			cJSON_ReplaceItemInObjectCaseSensitive(in, keys[i],
			    cJSON_CreateNumber(d));
	}
}

/* The rejected readings as FastAPI's detail list. */
static cJSON *
detail_of(const cJSON *items)
{
	cJSON *list = cJSON_CreateArray();
	const cJSON *it, *e;

	cJSON_ArrayForEach(it, items) {
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(it, "index");
		const cJSON *errs = cJSON_GetObjectItemCaseSensitive(it,
		    "errors");

		cJSON_ArrayForEach(e, errs) {
			const cJSON *f = cJSON_GetObjectItemCaseSensitive(e,
			    "field"), *m = cJSON_GetObjectItemCaseSensitive(e,
			    "message");

			api_validation_item(list, cJSON_IsString(m) ?
			    m->valuestring : "invalid", "value_error",
			    idx ? idx->valueint : 0, cJSON_IsString(f) &&
			    strcmp(f->valuestring, "reading") != 0 ?
			    f->valuestring : NULL);
		}
	}
	return list;
}

/* Checks one reading; 0 with its JSON in out, or -1 with errs. */
static int
check_one(struct req *r, cJSON *in, struct buf *out,
    struct reading_errs *errs)
{
	struct reading_limits lim;
	struct reading rd;
	int rc = -1;

	reading_limits_default(&lim);
	lim.max_future_ns = r->api->cf->ingest.future_skew * NS_PER_MS;
	reading_errs_init(errs);
	if (!cJSON_IsObject(in)) {
		reading_errs_add(errs, "reading", "must be a JSON object");
		return -1;
	}
	coerce_numbers(in);
	if (reading_from_json(in, &rd, &lim, errs) == 0 &&
	    reading_validate(&rd, &lim, errs) == 0) {
		if (rd.source[0] == '\0')
			util_strlcpy(rd.source, "api", sizeof(rd.source));
		/* The ingester continues this request's trace. */
		if (rd.traceparent[0] == '\0')
			util_strlcpy(rd.traceparent, r->traceparent,
			    sizeof(rd.traceparent));
		rc = reading_write_json(out, &rd, 0);
	}
	reading_clear(&rd);
	return rc;
}

/* EXEC answered one stream id per XADD. */
static bool
exec_ok(const redisReply *rep, size_t n)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (rep->element[i]->type != REDIS_REPLY_STRING)
			return false;
	return true;
}

/*
 * With redis.wait_replicas, a batch is acknowledged only once that many
 * replicas hold it, so that it survives a failover; short of them the
 * client is told to send it again (readings are idempotent).
 */
static int
replicated(struct req *r, struct rds *rds)
{
	const struct grilld_conf *cf = r->api->cf;
	int want = (int)cf->redis.wait_replicas, got;

	if (want == 0)
		return 0;
	if ((got = rds_wait(rds, want, cf->redis.wait_timeout)) >= want)
		return 0;
	api_dep_fail(r, 503, "REDIS_NOT_REPLICATED", 1000, "redis: the batch "
	    "is on the master but on %d of %d replicas after %lld ms (%s): "
	    "send it again (readings are idempotent)", got < 0 ? 0 : got,
	    want, (long long)cf->redis.wait_timeout, got < 0 ? rds->errstr :
	    "redis.wait_replicas");
	return -1;
}

/*
 * XADDs the accepted readings in one MULTI/EXEC. 0 with each stream id
 * added to its item, or -1 (nothing was stored, or Redis failed and
 * whether it was is unknown: the request says which).
 */
static int
store(struct req *r, struct buf *json, size_t *off, size_t n, cJSON **ids)
{
	const char *multi[1] = { "MULTI" }, *exec[1] = { "EXEC" };
	const char *xlen[2] = { "XLEN", r->api->key_readings };
	const char *(*argv)[RKEY_XADD_ARGC];
	struct api_cmd *cmd = NULL;
	redisReply *rep, **reps;
	size_t (*lens)[RKEY_XADD_ARGC];
	char why[sizeof(r->dep_msg)];
	int rc = -1;

	/*
	 * Never trimmed here: what no group read must stay. A stream at its
	 * bound means ingest is behind: the client waits, nothing is lost.
	 */
	if (api_redis_ok(r, rep = api_redis_cmd(r, "XLEN", 2, xlen,
	    NULL)) == -1)
		return -1;
	if (rep->type == REDIS_REPLY_INTEGER && rep->integer + (long long)n >
	    r->api->cf->ingest.stream_max) {
		freeReplyObject(rep);
		api_dep_fail(r, 503, "STREAM_FULL", 1000, "the readings stream "
		    "is full (ingest is behind): nothing was stored; send the "
		    "batch again later");
		return -1;
	}
	freeReplyObject(rep);
	argv = calloc(n, sizeof(*argv));
	lens = calloc(n, sizeof(*lens));
	if (argv == NULL || lens == NULL ||
	    (cmd = calloc(n + 2, sizeof(*cmd))) == NULL) {
		api_dep_fail(r, 500, "INTERNAL", 0, "out of memory");
		goto done;
	}
	cmd[0] = (struct api_cmd){ 1, multi, NULL };
	for (size_t i = 0; i < n; i++) {
		rkey_readings_xadd(argv[i], lens[i],
		    r->api->key_readings, json->data + off[i],
		    off[i + 1] - off[i]);
		cmd[i + 1] = (struct api_cmd){ RKEY_XADD_ARGC,
		    argv[i], lens[i] };
	}
	cmd[n + 1] = (struct api_cmd){ 1, exec, NULL };
	if ((reps = api_redis_pipe(r, "XADD readings", n + 2, cmd)) == NULL) {
		if (r->dep_status == 503) {
			util_strlcpy(why, r->dep_msg, sizeof(why));
			api_dep_fail(r, 503, "REDIS_UNAVAILABLE", 1000, "%s; "
			    "the batch may not have been stored: send it again "
			    "(readings are idempotent)", why);
		}
		goto done;
	}
	rep = reps[n + 1];
	if (!exec_ok(rep, n)) {
		api_dep_fail(r, 502, "REDIS_ERROR", 0, "redis refused the "
		    "batch: %s", rep->type == REDIS_REPLY_ERROR ? rep->str :
		    "EXEC was aborted, or an XADD failed");
	} else {
		for (size_t i = 0; i < n; i++)
			cJSON_AddStringToObject(ids[i], "id",
			    rep->element[i]->str);
		rc = replicated(r, api_redis(r->api));
	}
	api_redis_replies_free(reps, n + 2);
done:
	free(argv);
	free(lens);
	free(cmd);
	return rc;
}

int
api_route_batch(struct req *r)
{
	cJSON *doc = NULL, *list, *items = NULL, *it, **ids = NULL;
	struct reading_errs errs;
	struct buf json;
	size_t *off = NULL, nok = 0, total;
	int i = 0, status, partial;

	if (m_accepted == NULL) {
		struct metric *m = metric_counter(
		    "grilld_api_batch_readings_total",
		    "Readings posted to /batch, by result.", "result");

		m_accepted = metric_with(m, "accepted");
		m_rejected = metric_with(m, "rejected");
	}
	buf_init(&json);
	if (api_param_enum(r, "partial", "false|true", 0, &partial) == -1 ||
	    (doc = api_read_json(r, true)) == NULL)
		goto done;
	list = cJSON_GetObjectItemCaseSensitive(doc, "readings");
	if (!cJSON_IsArray(list)) {
		api_error_validation(r, api_validation_item(cJSON_CreateArray(),
		    "field required: the body must be an object with a "
		    "\"readings\" array", "value_error.missing", -1,
		    "readings"), "the body must be an object with a "
		    "\"readings\" array");
		goto done;
	}
	if ((total = (size_t)cJSON_GetArraySize(list)) == 0) {
		api_error(r, 400, "EMPTY_BATCH", "readings is empty");
		goto done;
	}
	if ((int64_t)total > r->api->cf->api.max_batch) {
		api_error(r, 413, "BATCH_TOO_LARGE", "%zu readings in one batch; "
		    "at most %lld are accepted (api.max_batch)", total,
		    (long long)r->api->cf->api.max_batch);
		goto done;
	}
	items = cJSON_CreateArray();
	off = calloc(total + 1, sizeof(*off));
	ids = calloc(total, sizeof(*ids));
	if (items == NULL || off == NULL || ids == NULL) {
		api_error(r, 500, "INTERNAL", "out of memory");
		goto done;
	}
	cJSON_ArrayForEach(it, list) {
		size_t mark = json.len;

		if (check_one(r, it, &json, &errs) == 0) {
			off[nok] = mark;
			off[nok + 1] = json.len;
			ids[nok] = cJSON_CreateObject();
			cJSON_AddNumberToObject(ids[nok], "index", i);
			cJSON_AddStringToObject(ids[nok], "status", "accepted");
			cJSON_AddItemToArray(items, ids[nok]);
			nok++;
		} else {
			json.len = mark;
			item_rejected(items, i, &errs);
		}
		i++;
	}
	metric_add(m_rejected, (double)(total - nok));
	if (nok < total && (!partial || nok == 0)) {
		api_error_validation(r, detail_of(items), nok == 0 ? "no "
		    "reading was valid: nothing was stored" : "a reading was "
		    "not valid: nothing was stored (?partial=true stores the "
		    "valid ones)");
		goto done;
	}
	if (nok > 0 && store(r, &json, off, nok, ids) == -1) {
		api_error_dep(r);
		goto done;
	}
	metric_add(m_accepted, (double)nok);
	status = 200;
	it = cJSON_CreateObject();
	cJSON_AddStringToObject(it, "status", nok == total ? "success" :
	    "partial");
	cJSON_AddNumberToObject(it, "stored_count", (double)nok);
	cJSON_AddNumberToObject(it, "total_count", (double)total);
	cJSON_AddItemToObject(it, "items", items);
	items = NULL;
	api_reply_cjson(r, status, it);
	cJSON_Delete(it);
done:
	cJSON_Delete(items);
	cJSON_Delete(doc);
	free(off);
	free(ids);
	buf_free(&json);
	return 0;
}
