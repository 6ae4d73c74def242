/*
 * POST /api/alerts/rules/{id}/acknowledge	{device_id?, probe_id?,
 *						 alert_id?, by?}
 * POST /api/alerts/rules/{id}/snooze		{duration | until,
 *						 device_id?, probe_id?}
 *
 * Acknowledging stops the repeats of a firing alert; snoozing keeps the
 * rule's alerts quiet until a time (duration "0" ends a snooze). Both
 * are written to `alertstate` next to the ingester's state of each
 * instance ("<rule>/<device>/<probe>", fields "#ack" and "#snooze", as
 * ingest/alertstore.c reads them), for the instances named, or else
 * every instance the rule has, or for a rule about one probe, that
 * probe's even before it ever fired; alert_id (from an alert event)
 * narrows an acknowledgement to that firing, and by (default: the
 * client's address) says who acknowledged. 409 when there is nothing
 * to act on: no firing alert to acknowledge, no instance to snooze.
 */
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertrule.h"
#include "api.h"
#include "reading.h"

#define INSTANCES_MAX	256
#define KEY_MAX		(ALERTRULE_ID_LEN + 2 * READING_ID_LEN + 8)

/* An instance of a rule: its alertstate field and what it holds. */
struct inst {
	char	 key[KEY_MAX];
	char	 alert_id[64];
	bool	 firing;
};

struct insts {
	struct inst	 v[INSTANCES_MAX];
	size_t		 n;
};

static void
inst_add(struct insts *in, const char *key, const char *json, size_t len)
{
	cJSON *j = json ? cJSON_ParseWithLength(json, len) : NULL;
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "state");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "alert_id");
	struct inst *it;

	if (in->n == INSTANCES_MAX || strlen(key) >= sizeof(it->key)) {
		cJSON_Delete(j);
		return;
	}
	it = &in->v[in->n++];
	util_strlcpy(it->key, key, sizeof(it->key));
	it->firing = cJSON_IsString(st) && strcmp(st->valuestring, "firing") ==
	    0;
	util_strlcpy(it->alert_id, cJSON_IsString(id) ? id->valuestring : "",
	    sizeof(it->alert_id));
	cJSON_Delete(j);
}

/*
 * The instances a request names: device_id and probe_id from the body,
 * each "*" or absent meaning any. Known ones come from `alertstate`; a
 * rule about one probe names its own even before it ever fired.
 */
static int
instances(struct req *r, const struct alertrule *ru, const cJSON *body,
    struct insts *in)
{
	const cJSON *dv = cJSON_GetObjectItemCaseSensitive(body, "device_id");
	const cJSON *pv = cJSON_GetObjectItemCaseSensitive(body, "probe_id");
	const char *dev = cJSON_IsString(dv) ? dv->valuestring : "*";
	const char *probe = cJSON_IsString(pv) ? pv->valuestring : "*";
	const char *argv[7];
	char cursor[32] = "0", key[KEY_MAX];
	struct buf match;
	redisReply *rep;
	int rounds = 0, rc = -1;

	in->n = 0;
	/* A rule stores "any" as "*" (device) or "" (probe: alertrule.c). */
	if (strcmp(dev, "*") == 0 && ru->device_id[0] != '\0' &&
	    strcmp(ru->device_id, ALERTRULE_ANY) != 0)
		dev = ru->device_id;
	if (strcmp(probe, "*") == 0 && ru->probe_id[0] != '\0' &&
	    strcmp(ru->probe_id, ALERTRULE_ANY) != 0)
		probe = ru->probe_id;
	if (alertrule_device_level(ru->kind))
		probe = "";
	buf_init(&match);
	rkey_field_glob(&match, ru->id);
	do {
		argv[0] = "HSCAN";
		argv[1] = r->api->key_alertstate;
		argv[2] = cursor;
		argv[3] = "MATCH";
		argv[4] = match.data;
		argv[5] = "COUNT";
		argv[6] = "1000";
		if (api_redis_ok(r, rep = api_redis_cmd(r, "HSCAN", 7, argv,
		    NULL)) == -1)
			goto done;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
			freeReplyObject(rep);
			break;
		}
		util_strlcpy(cursor, rep->element[0]->str ?
		    rep->element[0]->str : "0", sizeof(cursor));
		for (size_t i = 0; i + 1 < rep->element[1]->elements; i += 2) {
			const redisReply *k = rep->element[1]->element[i];
			const redisReply *v = rep->element[1]->element[i + 1];
			char *slash;

			if (k->type != REDIS_REPLY_STRING ||
			    strchr(k->str, '#') != NULL)
				continue;
			/* "<rule>/<device>/<probe>" */
			util_strlcpy(key, k->str + strlen(ru->id) + 1,
			    sizeof(key));
			if ((slash = strrchr(key, '/')) == NULL)
				continue;
			*slash = '\0';
			if ((strcmp(dev, "*") == 0 || strcmp(dev, key) == 0) &&
			    (strcmp(probe, "*") == 0 ||
			    strcmp(probe, slash + 1) == 0))
				inst_add(in, k->str, v->type ==
				    REDIS_REPLY_STRING ? v->str : NULL, v->len);
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0 && ++rounds < 1000);
	if (in->n == 0 && strcmp(dev, "*") != 0 && strcmp(probe, "*") != 0) {
		rkey_alert_field(key, sizeof(key), ru->id, dev, probe);
		inst_add(in, key, NULL, 0);
	}
	rc = 0;
done:
	buf_free(&match);
	return rc;
}

/* Loads the rule of the path and the body; 0, or -1 answered. */
static int
rule_and_body(struct req *r, struct alertrule *ru, cJSON **body)
{
	int rc;

	*body = NULL;
	if (!api_rule_path_ok(r))
		return -1;
	if ((rc = api_rule_load(r, r->arg, ru)) == -1)
		return api_error_dep(r);
	if (rc == 1)
		return api_error_details(r, 404, "RULE_NOT_FOUND",
		    cJSON_CreateString(r->arg), "no rule %s", r->arg);
	if ((*body = api_read_json(r, false)) == NULL)
		return -1;
	if (!cJSON_IsObject(*body)) {
		cJSON_Delete(*body);
		*body = NULL;
		return api_error(r, 400, "INVALID_BODY", "the body must be a "
		    "JSON object");
	}
	return 0;
}

static int
side_set(struct req *r, const char *key, const char *suffix,
    const char *json)
{
	char field[KEY_MAX + 16];
	const char *argv[4];
	redisReply *rep;

	rkey_alert_side(field, sizeof(field), key, suffix);
	argv[0] = json ? "HSET" : "HDEL";
	argv[1] = r->api->key_alertstate;
	argv[2] = field;
	argv[3] = json;
	if (api_redis_ok(r, rep = api_redis_cmd(r, argv[0], json ? 4 : 3,
	    argv, NULL)) == -1)
		return -1;
	freeReplyObject(rep);
	return 0;
}

int
api_route_rule_ack(struct req *r)
{
	struct alertrule ru;
	struct insts *in;
	char now[UTIL_TIME_LEN];
	cJSON *body, *list, *extra;
	const cJSON *by, *only;
	struct buf j;

	if (rule_and_body(r, &ru, &body) == -1)
		return -1;
	if ((in = calloc(1, sizeof(*in))) == NULL) {
		cJSON_Delete(body);
		return api_error(r, 500, "INTERNAL", "out of memory");
	}
	util_time_format(util_now_ns(), now, sizeof(now));
	by = cJSON_GetObjectItemCaseSensitive(body, "by");
	only = cJSON_GetObjectItemCaseSensitive(body, "alert_id");
	list = cJSON_CreateArray();
	buf_init(&j);
	if (instances(r, &ru, body, in) == -1)
		goto fail;
	for (size_t i = 0; i < in->n; i++) {
		cJSON *o;

		if (!in->v[i].firing || (cJSON_IsString(only) &&
		    strcmp(only->valuestring, in->v[i].alert_id) != 0))
			continue;
		/* docs/alerts.md: {"alert_id", "by", "at"} */
		buf_reset(&j);
		buf_printf(&j, "{\"alert_id\":\"%s\",\"by\":\"",
		    in->v[i].alert_id);
		buf_json_escape(&j, cJSON_IsString(by) && api_id_valid(
		    by->valuestring) ? by->valuestring : r->client);
		buf_printf(&j, "\",\"at\":\"%s\"}", now);
		if (side_set(r, in->v[i].key, RKEY_ACK, j.data) == -1)
			goto fail;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "instance", in->v[i].key);
		cJSON_AddStringToObject(o, "alert_id", in->v[i].alert_id);
		cJSON_AddStringToObject(o, "acknowledged_at", now);
		cJSON_AddItemToArray(list, o);
	}
	buf_free(&j);
	free(in);
	cJSON_Delete(body);
	if (cJSON_GetArraySize(list) == 0) {
		cJSON_Delete(list);
		return api_error(r, 409, "NOT_FIRING", "rule %s has no firing "
		    "alert to acknowledge", ru.id);
	}
	extra = cJSON_CreateObject();
	cJSON_AddNumberToObject(extra, "count", cJSON_GetArraySize(list));
	return api_reply_success(r, 200, list, extra);
fail:
	buf_free(&j);
	free(in);
	cJSON_Delete(body);
	cJSON_Delete(list);
	return api_error_dep(r);
}

/* The snooze's end from {duration} or {until}; 0: end the snooze. */
static int
snooze_until(struct req *r, const cJSON *body, int64_t *until)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(body, "duration");
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(body, "until");
	int64_t ms;

	if ((d != NULL) == (u != NULL))
		return api_error(r, 422, "INVALID_SNOOZE", "give duration "
		    "(\"30m\"; \"0\" ends the snooze) or until (a time), one "
		    "of them");
	if (d != NULL) {
		if (cJSON_IsNumber(d))
			ms = (int64_t)(d->valuedouble * 1000);
		else if (!cJSON_IsString(d) ||
		    util_parse_duration(d->valuestring, &ms) == -1)
			return api_error(r, 422, "INVALID_SNOOZE", "duration: "
			    "not a duration (30s, 15m, 2h, or seconds)");
		if (ms < 0 || ms > INT64_C(366) * 86400 * 1000)
			return api_error(r, 422, "INVALID_SNOOZE", "duration: "
			    "from 0 to a year");
		*until = ms == 0 ? 0 : util_now_ns() + ms * NS_PER_MS;
		return 0;
	}
	if (!cJSON_IsString(u) || util_time_parse(u->valuestring, until) ==
	    -1)
		return api_error(r, 422, "INVALID_SNOOZE", "until: not an RFC "
		    "3339 time");
	if (*until <= util_now_ns())
		*until = 0;
	return 0;
}

int
api_route_rule_snooze(struct req *r)
{
	struct alertrule ru;
	struct insts *in;
	char ts[UTIL_TIME_LEN];
	cJSON *body, *list, *extra;
	struct buf j;
	int64_t until = 0;

	if (rule_and_body(r, &ru, &body) == -1)
		return -1;
	if (snooze_until(r, body, &until) == -1) {
		cJSON_Delete(body);
		return -1;
	}
	if ((in = calloc(1, sizeof(*in))) == NULL) {
		cJSON_Delete(body);
		return api_error(r, 500, "INTERNAL", "out of memory");
	}
	util_time_format(until, ts, sizeof(ts));
	list = cJSON_CreateArray();
	buf_init(&j);
	if (instances(r, &ru, body, in) == -1)
		goto fail;
	for (size_t i = 0; i < in->n; i++) {
		buf_reset(&j);
		buf_printf(&j, "{\"until\":\"%s\"}", ts);
		if (side_set(r, in->v[i].key, RKEY_SNOOZE, until ? j.data :
		    NULL) == -1)
			goto fail;
		cJSON_AddItemToArray(list, cJSON_CreateString(in->v[i].key));
	}
	buf_free(&j);
	free(in);
	cJSON_Delete(body);
	if (cJSON_GetArraySize(list) == 0) {
		cJSON_Delete(list);
		return api_error(r, 409, "NO_INSTANCE", "rule %s has no alert "
		    "yet for any probe: name device_id and probe_id", ru.id);
	}
	extra = cJSON_CreateObject();
	if (until != 0)
		cJSON_AddStringToObject(extra, "until", ts);
	else
		cJSON_AddNullToObject(extra, "until");
	cJSON_AddNumberToObject(extra, "count", cJSON_GetArraySize(list));
	return api_reply_success(r, 200, list, extra);
fail:
	buf_free(&j);
	free(in);
	cJSON_Delete(body);
	cJSON_Delete(list);
	return api_error_dep(r);
}
