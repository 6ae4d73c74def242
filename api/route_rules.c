/*
 * Alert rules (docs/alerts.md, common/alertrule.h):
 *
 *	GET    /api/alerts/rules			every rule
 *	POST   /api/alerts/rules			create (201; 409 if the id
 *							exists; an id is made when
 *							the rule has none)
 *	GET    /api/alerts/rules/{id}
 *	PUT    /api/alerts/rules/{id}			create or replace
 *	DELETE /api/alerts/rules/{id}			204
 *
 * A rule is checked with the parser the ingester uses (alertrule_parse:
 * 422 with one error per member otherwise) and stored in its canonical
 * form in the `rules` hash; every change increments `rules:version`,
 * which the ingester polls, so a rule applies within a second without a
 * restart. Acknowledging and snoozing a rule's alerts: route_ack.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertrule.h"
#include "api.h"
#include "backoff.h"
#include "reading.h"

static int
rule_errors(struct req *r, const struct reading_errs *errs)
{
	cJSON *d = cJSON_CreateArray();

	for (size_t i = 0; i < errs->n; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "field", errs->e[i].field);
		cJSON_AddStringToObject(e, "message", errs->e[i].msg);
		cJSON_AddItemToArray(d, e);
	}
	return api_error_details(r, 422, "INVALID_RULE", d, "the rule is not "
	    "valid: %s%s%s", errs->n ? errs->e[0].field : "rule",
	    errs->n ? ": " : "", errs->n ? errs->e[0].msg : "");
}

/* HSET (or HSETNX) the rule, then INCR the version. 1 new, 0 replaced. */
static int
rule_store(struct req *r, const struct alertrule *ru, bool create_only)
{
	const char *argv[4];
	redisReply *rep;
	cJSON *j = alertrule_to_json(ru);
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	int created;

	cJSON_Delete(j);
	if (text == NULL) {
		api_dep_fail(r, 500, "INTERNAL", 0, "out of memory");
		return -1;
	}
	argv[0] = create_only ? "HSETNX" : "HSET";
	argv[1] = r->api->key_rules;
	argv[2] = ru->id;
	argv[3] = text;
	rep = api_redis_cmd(r, argv[0], 4, argv, NULL);
	cJSON_free(text);
	if (api_redis_ok(r, rep) == -1)
		return -1;
	created = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
	freeReplyObject(rep);
	if (create_only && !created)
		return 0;
	argv[0] = "INCR";
	argv[1] = r->api->key_rules_version;
	if (api_redis_ok(r, rep = api_redis_cmd(r, "INCR", 2, argv, NULL)) ==
	    -1)
		return -1;
	freeReplyObject(rep);
	return created;
}

/* The stored rule; 0, 1 when there is none, -1 when Redis failed. */
int
api_rule_load(struct req *r, const char *id, struct alertrule *ru)
{
	const char *argv[3] = { "HGET", r->api->key_rules, id };
	struct reading_errs errs;
	redisReply *rep;
	int rc;

	if (api_redis_ok(r, rep = api_redis_cmd(r, "HGET", 3, argv, NULL)) ==
	    -1)
		return -1;
	if (rep->type != REDIS_REPLY_STRING)
		rc = 1;
	else
		rc = alertrule_parse(rep->str, rep->len, ru, &errs) == 0 ? 0 :
		    1;
	freeReplyObject(rep);
	return rc;
}

static int
reply_rule(struct req *r, int status, const struct alertrule *ru)
{
	char loc[128 + ALERTRULE_ID_LEN];
	cJSON *o = cJSON_CreateObject(), *j = alertrule_to_json(ru);
	char *s;
	int rc;

	cJSON_AddStringToObject(o, "status", "success");
	cJSON_AddItemToObject(o, "data", j);
	if ((s = cJSON_PrintUnformatted(o)) == NULL) {
		cJSON_Delete(o);
		return api_error(r, 500, "INTERNAL", "out of memory");
	}
	snprintf(loc, sizeof(loc), "Location: /api/alerts/rules/%s\r\n",
	    ru->id);
	rc = api_reply(r, status, "application/json", s, strlen(s),
	    status == 201 ? loc : NULL);
	cJSON_free(s);
	cJSON_Delete(o);
	return rc;
}

bool
api_rule_path_ok(struct req *r)
{
	if (alertrule_id_valid(r->arg))
		return true;
	api_error_param(r, "path", "a rule id is 1-63 bytes of "
	    "[A-Za-z0-9_.:-]");
	return false;
}

int
api_route_rules_list(struct req *r)
{
	const char *argv[2] = { "HGETALL", r->api->key_rules };
	struct reading_errs errs;
	struct alertrule ru;
	redisReply *rep;
	cJSON *list, *extra;

	if (api_redis_ok(r, rep = api_redis_cmd(r, "HGETALL", 2, argv,
	    NULL)) == -1)
		return api_error_dep(r);
	list = cJSON_CreateArray();
	for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY &&
	    i + 1 < rep->elements; i += 2) {
		const redisReply *v = rep->element[i + 1];

		if (v->type == REDIS_REPLY_STRING &&
		    alertrule_parse(v->str, v->len, &ru, &errs) == 0)
			cJSON_AddItemToArray(list, alertrule_to_json(&ru));
	}
	freeReplyObject(rep);
	extra = cJSON_CreateObject();
	cJSON_AddNumberToObject(extra, "count", cJSON_GetArraySize(list));
	return api_reply_success(r, 200, list, extra);
}

int
api_route_rule_create(struct req *r)
{
	struct reading_errs errs;
	struct alertrule ru;
	char id[ALERTRULE_ID_LEN];
	cJSON *doc;
	int rc;

	if ((doc = api_read_json(r, true)) == NULL)
		return -1;
	if (cJSON_IsObject(doc) && (cJSON_GetObjectItemCaseSensitive(doc,
	    "id") == NULL || cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
	    doc, "id")))) {
		snprintf(id, sizeof(id), "rule-%012llx",
		    (unsigned long long)(backoff_rand() & 0xffffffffffffULL));
		cJSON_DeleteItemFromObjectCaseSensitive(doc, "id");
		cJSON_AddStringToObject(doc, "id", id);
	}
	rc = alertrule_from_json(doc, &ru, &errs);
	cJSON_Delete(doc);
	if (rc == -1)
		return rule_errors(r, &errs);
	if ((rc = rule_store(r, &ru, true)) == -1)
		return api_error_dep(r);
	if (rc == 0)
		return api_error_details(r, 409, "RULE_EXISTS",
		    cJSON_CreateString(ru.id), "a rule %s exists already: PUT "
		    "/api/alerts/rules/%s replaces it", ru.id, ru.id);
	return reply_rule(r, 201, &ru);
}

int
api_route_rule_get(struct req *r)
{
	struct alertrule ru;
	int rc;

	if (!api_rule_path_ok(r))
		return -1;
	if ((rc = api_rule_load(r, r->arg, &ru)) == -1)
		return api_error_dep(r);
	if (rc == 1)
		return api_error_details(r, 404, "RULE_NOT_FOUND",
		    cJSON_CreateString(r->arg), "no rule %s", r->arg);
	return reply_rule(r, 200, &ru);
}

int
api_route_rule_put(struct req *r)
{
	struct reading_errs errs;
	struct alertrule ru;
	const cJSON *id;
	cJSON *doc;
	int rc;

	if (!api_rule_path_ok(r) || (doc = api_read_json(r, true)) == NULL)
		return -1;
	id = cJSON_GetObjectItemCaseSensitive(doc, "id");
	if (cJSON_IsObject(doc) && (id == NULL || cJSON_IsNull(id))) {
		cJSON_DeleteItemFromObjectCaseSensitive(doc, "id");
		cJSON_AddStringToObject(doc, "id", r->arg);
	} else if (cJSON_IsString(id) && strcmp(id->valuestring, r->arg) !=
	    0) {
		cJSON_Delete(doc);
		return api_error_details(r, 422, "INVALID_RULE", NULL, "id: the "
		    "body's id is not the one in the path (%s)", r->arg);
	}
	rc = alertrule_from_json(doc, &ru, &errs);
	cJSON_Delete(doc);
	if (rc == -1)
		return rule_errors(r, &errs);
	if ((rc = rule_store(r, &ru, false)) == -1)
		return api_error_dep(r);
	return reply_rule(r, rc == 1 ? 201 : 200, &ru);
}

int
api_route_rule_delete(struct req *r)
{
	const char *argv[3] = { "HDEL", r->api->key_rules, r->arg };
	redisReply *rep;
	long long n;

	if (!api_rule_path_ok(r))
		return -1;
	if (api_redis_ok(r, rep = api_redis_cmd(r, "HDEL", 3, argv, NULL)) ==
	    -1)
		return api_error_dep(r);
	n = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
	freeReplyObject(rep);
	if (n == 0)
		return api_error_details(r, 404, "RULE_NOT_FOUND",
		    cJSON_CreateString(r->arg), "no rule %s", r->arg);
	argv[0] = "INCR";
	argv[1] = r->api->key_rules_version;
	if (api_redis_ok(r, rep = api_redis_cmd(r, "INCR", 2, argv, NULL)) ==
	    -1)
		return api_error_dep(r);
	freeReplyObject(rep);
	return api_reply(r, 204, "application/json", "", 0, NULL);
}
