/*
 * GET /api/devices, GET /api/devices/{device_id}?unit=F|C
 *
 * Devices as the poller's registry knows them (asked over nng,
 * MSG_DEVICES_REQ; when the poller does not answer, the active pollers'
 * state in the Redis hash `devices`; when it answers that it does not
 * poll every account or every device it found yet ("complete": false:
 * a standby, or a poller just started or just taking over), that hash
 * with the poller's devices laid over it), each completed from the
 * `latest` cache:
 *
 *	{"device_id": ..., <the registry's members: name, state, ...>,
 *	 "online": bool, "last_seen": time, "battery_level": n,
 *	 "signal_strength": n, "probes": [{probe_id, label, temperature,
 *	 unit, timestamp, stale}, ...]}
 *
 * Devices that only the cache knows (readings posted to /batch) are
 * listed too. The answer's "source" says where the registry came from:
 * "poller", "redis", "poller+redis", or "readings" when neither
 * answered.
 *
 * For grill-stats' Home Assistant component, which asks a device service
 * at the same kind of URL: the list answer also holds "devices", each
 * {id, name, model, firmware, type} (the component reads "id" and
 * "name"), and GET /api/devices/{device_id}/health answers "health":
 * {battery_level, signal_strength, online, last_seen}.
 *
 * api_device_known() is the 404 test of every route that takes a
 * device id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "reading.h"

#define LATEST_MAX	100000

struct cached {
	struct reading	*r;
	size_t		 n, cap;
};

static void
cached_free(struct cached *c)
{
	for (size_t i = 0; i < c->n; i++)
		reading_clear(&c->r[i]);
	free(c->r);
}

/* Every cached reading (of one device when device is not NULL). */
static int
cached_load(struct req *r, const char *device, struct cached *c)
{
	struct reading_limits lim;
	struct buf match;
	const char *argv[7];
	char cursor[32] = "0";
	redisReply *rep;
	int rounds = 0, rc = -1;

	memset(c, 0, sizeof(*c));
	reading_limits_default(&lim);
	lim.max_future_ns = INT64_MAX / 4;
	buf_init(&match);
	if (device != NULL) {
		for (const char *s = device; *s != '\0'; s++) {
			if (strchr("*?[]\\", *s) != NULL)
				buf_putc(&match, '\\');
			buf_putc(&match, *s);
		}
		buf_puts(&match, "/*");
	} else
		buf_puts(&match, "*");
	do {
		argv[0] = "HSCAN";
		argv[1] = r->api->key_latest;
		argv[2] = cursor;
		argv[3] = "MATCH";
		argv[4] = match.data;
		argv[5] = "COUNT";
		argv[6] = "1000";
		if ((rep = api_redis_cmd(r, "HSCAN", 7, argv, NULL)) == NULL ||
		    api_redis_ok(r, rep) == -1)
			goto done;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			goto done;
		}
		util_strlcpy(cursor, rep->element[0]->str, sizeof(cursor));
		for (size_t i = 1; i < rep->element[1]->elements; i += 2) {
			const redisReply *v = rep->element[1]->element[i];

			if (v->type != REDIS_REPLY_STRING || c->n == LATEST_MAX)
				continue;
			if (c->n == c->cap) {
				size_t cap = c->cap ? c->cap * 2 : 64;
				struct reading *nr = reallocarray(c->r, cap,
				    sizeof(*nr));

				if (nr == NULL)
					break;
				c->r = nr;
				c->cap = cap;
			}
			if (reading_parse(v->str, v->len, &c->r[c->n], &lim,
			    NULL) == 0)
				c->n++;
			else
				reading_clear(&c->r[c->n]);
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0 && ++rounds < 100000);
	rc = 0;
done:
	buf_free(&match);
	return rc;
}

static int
count_row(const struct iql_row *row, void *arg)
{
	(*(int *)arg)++;
	return 1;
}

static bool
latest_has(struct req *r, const char *device)
{
	struct cached c;
	bool has;

	if (cached_load(r, device, &c) == -1)
		return false;
	has = c.n > 0;
	cached_free(&c);
	return has;
}

/* 1 known, 0 unknown, -1 cannot tell (Redis and InfluxDB both down). */
int
api_device_known(struct req *r, const char *device)
{
	static const char *const cols[] = { "key" };
	const char *argv[3] = { "HEXISTS", r->api->key_devices, device };
	int known = -1, rows = 0;
	struct iql_query iq = { NULL, cols, 1, count_row, &rows };
	struct buf q, answer;
	redisReply *rep;

	if ((rep = api_redis_cmd(r, "HEXISTS", 3, argv, NULL)) != NULL) {
		if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 1)
			known = 1;
		freeReplyObject(rep);
		if (known == 1)
			return 1;
	}
	/* Live data is published before it is stored: a device whose
	 * reading is in `latest` is known before InfluxDB has it. */
	if (latest_has(r, device))
		return 1;
	buf_init(&q);
	buf_init(&answer);
	buf_puts(&q, "SHOW SERIES FROM \"temperature\" WHERE \"device_id\" = ");
	iql_string(&q, device);
	buf_puts(&q, " LIMIT 1");
	iq.q = q.data;
	if (q.data != NULL && api_influx_query(r, &iq, &answer) == 0)
		known = rows > 0;
	buf_free(&q);
	buf_free(&answer);
	return known;
}

static cJSON *
device_find(cJSON *list, const char *id)
{
	cJSON *d;

	cJSON_ArrayForEach(d, list) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(d,
		    "device_id");

		if (cJSON_IsString(v) && strcmp(v->valuestring, id) == 0)
			return d;
	}
	return NULL;
}

/*
 * The registry from the poller, page by page (it cuts its answers below
 * MSG_BODY_MAX), or just the one device.
 */
static cJSON *
from_poller(struct req *r, const char *id, bool *complete)
{
	cJSON *list = cJSON_CreateArray(), *body, *page, *it;
	const cJSON *next;
	char text[160];
	int64_t lat, offset = 0;

	for (int pages = 0; pages < 1000; pages++) {
		if (id != NULL) {
			cJSON *q = cJSON_CreateObject();
			char *s;

			cJSON_AddStringToObject(q, "device_id", id);
			s = cJSON_PrintUnformatted(q);
			cJSON_Delete(q);
			util_strlcpy(text, s ? s : "{}", sizeof(text));
			cJSON_free(s);
		} else
			snprintf(text, sizeof(text), "{\"offset\":%lld}",
			    (long long)offset);
		if (api_peer_request(r, &r->api->peers[PEER_POLLER],
		    MSG_DEVICES_REQ, text, r->api->cf->nng.timeout, &body,
		    &lat) == -1) {
			cJSON_Delete(list);
			return NULL;
		}
		/* A standby, or a poller that has not polled every device
		 * it found yet: not the whole truth (registry() adds what
		 * the `devices` hash knows). */
		if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(body,
		    "complete")))
			*complete = false;
		page = cJSON_GetObjectItemCaseSensitive(body, "devices");
		while (cJSON_IsArray(page) && (it = page->child) != NULL) {
			cJSON_DetachItemViaPointer(page, it);
			if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it,
			    "device_id")))
				cJSON_AddItemToArray(list, it);
			else
				cJSON_Delete(it);
		}
		next = cJSON_GetObjectItemCaseSensitive(body, "next");
		if (id != NULL || !cJSON_IsNumber(next) ||
		    next->valuedouble <= (double)offset) {
			cJSON_Delete(body);
			break;
		}
		offset = (int64_t)next->valuedouble;
		cJSON_Delete(body);
	}
	return list;
}

/* The `devices` hash into list; source "redis", or "readings" if none. */
static void
registry_hash(struct req *r, const char **argv, cJSON *list,
    const char **source)
{
	redisReply *rep;
	cJSON *it;

	*source = "readings";
	if ((rep = api_redis_cmd(r, "HVALS", 2, argv, NULL)) == NULL)
		return;
	if (rep->type == REDIS_REPLY_ARRAY) {
		*source = "redis";
		for (size_t i = 0; i < rep->elements; i++) {
			if (rep->element[i]->type != REDIS_REPLY_STRING)
				continue;
			it = cJSON_ParseWithLength(rep->element[i]->str,
			    rep->element[i]->len);
			if (cJSON_IsObject(it) && cJSON_IsString(
			    cJSON_GetObjectItemCaseSensitive(it, "device_id")))
				cJSON_AddItemToArray(list, it);
			else
				cJSON_Delete(it);
		}
	}
	freeReplyObject(rep);
}

/* The poller's devices replace the hash's of the same id (fresher). */
static void
overlay(cJSON *list, cJSON *mine)
{
	cJSON *it, *old;

	while ((it = mine->child) != NULL) {
		cJSON_DetachItemViaPointer(mine, it);
		if ((old = device_find(list, cJSON_GetObjectItemCaseSensitive(it,
		    "device_id")->valuestring)) != NULL)
			cJSON_Delete(cJSON_DetachItemViaPointer(list, old));
		cJSON_AddItemToArray(list, it);
	}
	cJSON_Delete(mine);
}

/*
 * The registry: from the poller when it polls every device of every
 * account; else the `devices` hash (the active pollers' state), with
 * whatever the poller did answer laid over it ("poller+redis").
 */
static cJSON *
registry(struct req *r, const char *id, const char **source)
{
	const char *argv[2] = { "HVALS", r->api->key_devices };
	cJSON *list, *mine;
	bool complete = true;

	if ((mine = from_poller(r, id, &complete)) != NULL && complete) {
		*source = "poller";
		return mine;
	}
	list = cJSON_CreateArray();
	if (mine != NULL && cJSON_GetArraySize(mine) == 0) {
		cJSON_Delete(mine);
		mine = NULL;
	}
	registry_hash(r, argv, list, source);
	if (mine != NULL) {
		overlay(list, mine);
		*source = "poller+redis";
	}
	return list;
}

static void
set_default(cJSON *o, const char *name, cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(o, name) == NULL)
		cJSON_AddItemToObject(o, name, v);
	else
		cJSON_Delete(v);
}

/* The probe of the device's "probes" with that id, made if need be. */
static cJSON *
probe_of(cJSON *dev, const char *probe)
{
	cJSON *probes = cJSON_GetObjectItemCaseSensitive(dev, "probes"), *p;

	if (!cJSON_IsArray(probes)) {
		cJSON_DeleteItemFromObjectCaseSensitive(dev, "probes");
		probes = cJSON_AddArrayToObject(dev, "probes");
	}
	cJSON_ArrayForEach(p, probes) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(p,
		    "probe_id");

		if (cJSON_IsString(id) && strcmp(id->valuestring, probe) == 0)
			return p;
	}
	p = cJSON_CreateObject();
	cJSON_AddItemToArray(probes, p);
	return p;
}

static void
set(cJSON *o, const char *name, cJSON *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, name);
	cJSON_AddItemToObject(o, name, v);
}

/*
 * Adds a cached reading to its probe (the registry's, or a new one):
 * the reading's fields win, the registry's others (label, alarms) stay.
 */
static void
add_probe(struct req *r, cJSON *dev, const struct reading *rd, char unit,
    int64_t now)
{
	cJSON *json = reading_to_json(rd, unit), *p, *it, *newest;
	double age = (double)(now - rd->ts_ns) / 1e9;

	if (json == NULL)
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(json, "device_id");
	p = probe_of(dev, rd->probe_id);
	while ((it = json->child) != NULL) {
		cJSON_DetachItemViaPointer(json, it);
		set(p, it->string, it);
	}
	cJSON_Delete(json);
	set(p, "stale", cJSON_CreateBool(age * 1000 >
	    (double)r->api->cf->api.stale_after));
	set(p, "age_s", cJSON_CreateNumber(age));
	/* The device's own fields follow its newest reading. */
	newest = cJSON_GetObjectItemCaseSensitive(dev, "_newest");
	if (newest != NULL && newest->valuedouble >= (double)rd->ts_ns)
		return;
	set(dev, "_newest", cJSON_CreateNumber((double)rd->ts_ns));
	it = cJSON_GetObjectItemCaseSensitive(p, "timestamp");
	set(dev, "last_reading", cJSON_IsString(it) ?
	    cJSON_CreateString(it->valuestring) : cJSON_CreateNull());
	if (rd->battery != READING_NO_BATTERY)
		set(dev, "battery_level", cJSON_CreateNumber(rd->battery));
	if (rd->signal != READING_NO_SIGNAL)
		set(dev, "signal_strength", cJSON_CreateNumber(rd->signal));
}

/* online: the registry's state when it has one, else a fresh reading. */
static void
finish(struct req *r, cJSON *dev, int64_t now)
{
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(dev, "state");
	const cJSON *newest = cJSON_GetObjectItemCaseSensitive(dev, "_newest");
	bool online;

	if (cJSON_IsString(state))
		online = strcmp(state->valuestring, "online") == 0;
	else
		online = newest != NULL && ((double)now - newest->valuedouble) /
		    1e6 < (double)r->api->cf->api.stale_after;
	cJSON_DeleteItemFromObjectCaseSensitive(dev, "_newest");
	set_default(dev, "online", cJSON_CreateBool(online));
	set_default(dev, "probes", cJSON_CreateArray());
	/* grill-stats' names, from the registry's when no reading said. */
	set_default(dev, "battery_level", cJSON_Duplicate(
	    cJSON_GetObjectItemCaseSensitive(dev, "battery"), 1));
	set_default(dev, "signal_strength", cJSON_Duplicate(
	    cJSON_GetObjectItemCaseSensitive(dev, "signal"), 1));
	set_default(dev, "battery_level", cJSON_CreateNull());
	set_default(dev, "signal_strength", cJSON_CreateNull());
	set_default(dev, "last_reading", cJSON_CreateNull());
}

/* The devices (one, when id is set), completed from the cache. */
static cJSON *
devices_build(struct req *r, const char *id, char unit, const char **source)
{
	cJSON *list = registry(r, id, source), *out, *d;
	struct cached c;
	int64_t now = util_now_ns();

	if (id != NULL) {
		out = cJSON_CreateArray();
		if ((d = device_find(list, id)) != NULL)
			cJSON_AddItemToArray(out, cJSON_Duplicate(d, 1));
		cJSON_Delete(list);
		list = out;
	}
	if (cached_load(r, id, &c) == 0) {
		for (size_t i = 0; i < c.n; i++) {
			if ((d = device_find(list, c.r[i].device_id)) == NULL) {
				d = cJSON_CreateObject();
				cJSON_AddStringToObject(d, "device_id",
				    c.r[i].device_id);
				cJSON_AddItemToArray(list, d);
			}
			add_probe(r, d, &c.r[i], unit, now);
		}
	}
	cached_free(&c);
	cJSON_ArrayForEach(d, list)
		finish(r, d, now);
	return list;
}

/* The device service's list: {id, name, model, firmware, type}. */
static cJSON *
device_service_list(const cJSON *list)
{
	static const char *const keys[] = { "name", "model", "firmware",
		"type" };
	cJSON *out = cJSON_CreateArray(), *o, *it;
	const cJSON *d, *id;

	cJSON_ArrayForEach(d, list) {
		id = cJSON_GetObjectItemCaseSensitive(d, "device_id");
		if (!cJSON_IsString(id) || (o = cJSON_CreateObject()) == NULL)
			continue;
		cJSON_AddStringToObject(o, "id", id->valuestring);
		for (size_t i = 0; i < ARRAY_LEN(keys); i++)
			if ((it = cJSON_GetObjectItemCaseSensitive(d,
			    keys[i])) != NULL)
				cJSON_AddItemToObject(o, keys[i],
				    cJSON_Duplicate(it, true));
		cJSON_AddItemToArray(out, o);
	}
	return out;
}

int
api_route_devices(struct req *r)
{
	const char *source = "poller";
	cJSON *list, *extra;
	char unit;

	if (api_param_unit(r, 'F', &unit) == -1)
		return -1;
	list = devices_build(r, NULL, unit, &source);
	extra = cJSON_CreateObject();
	cJSON_AddNumberToObject(extra, "count", cJSON_GetArraySize(list));
	cJSON_AddStringToObject(extra, "source", source);
	cJSON_AddItemToObject(extra, "devices", device_service_list(list));
	return api_reply_success(r, 200, list, extra);
}

/* GET /api/devices/{device_id}/health, the device service's shape. */
int
api_route_device_health(struct req *r)
{
	static const char *const keys[] = { "battery_level", "signal_strength",
		"online", "last_seen", "state" };
	const char *source = "poller";
	cJSON *list, *dev, *h, *it;

	list = devices_build(r, r->arg, 'F', &source);
	if ((dev = cJSON_GetArrayItem(list, 0)) == NULL) {
		cJSON_Delete(list);
		return api_error_details(r, 404, "DEVICE_NOT_FOUND",
		    cJSON_CreateString(r->arg), "no device %s is known", r->arg);
	}
	h = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "device_id", r->arg);
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		if ((it = cJSON_GetObjectItemCaseSensitive(dev, keys[i])) != NULL)
			cJSON_AddItemToObject(h, keys[i], cJSON_Duplicate(it, true));
	cJSON_Delete(list);
	list = cJSON_CreateObject();
	cJSON_AddItemToObject(list, "health", cJSON_Duplicate(h, true));
	return api_reply_success(r, 200, h, list);
}

int
api_route_device(struct req *r)
{
	const char *source = "poller";
	cJSON *list, *dev, *extra;
	char unit;

	if (api_param_unit(r, 'F', &unit) == -1)
		return -1;
	list = devices_build(r, r->arg, unit, &source);
	if ((dev = cJSON_DetachItemFromArray(list, 0)) == NULL) {
		cJSON_Delete(list);
		if (api_device_known(r, r->arg) == 1) {
			dev = cJSON_CreateObject();
			cJSON_AddStringToObject(dev, "device_id", r->arg);
			finish(r, dev, util_now_ns());
		} else
			return api_error_details(r, 404, "DEVICE_NOT_FOUND",
			    cJSON_CreateString(r->arg), "no device %s is known",
			    r->arg);
	} else
		cJSON_Delete(list);
	extra = cJSON_CreateObject();
	cJSON_AddStringToObject(extra, "source", source);
	return api_reply_success(r, 200, dev, extra);
}
