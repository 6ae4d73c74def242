/*
 * Alert rules, snoozes and acknowledgements, kept in Redis by the API
 * (docs/alerts.md):
 *
 *   rules          hash: rule id -> rule JSON (common/alertrule.h)
 *   rules:version  integer, incremented by the API on every change;
 *                  polled every second, the rules are reloaded when it
 *                  moves (no restart, no SIGHUP)
 *   alertstate     hash: "<rule>/<device>/<probe>" -> the instance's
 *                  state, written by the ingester; "<key>#ack" and
 *                  "<key>#snooze", written by the API
 *
 * A rule that does not parse is skipped, logged and counted; the others
 * still apply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ingest.h"

void
alertstore_init(struct alertstore *s, struct rds *rds,
    const struct grilld_conf *cf)
{
	memset(s, 0, sizeof(*s));
	s->rds = rds;
	consume_key(cf, RKEY_RULES, s->rules, sizeof(s->rules));
	consume_key(cf, RKEY_RULES_VERSION, s->version, sizeof(s->version));
	consume_key(cf, RKEY_ALERTSTATE, s->state, sizeof(s->state));
	s->m_reloads = metric_with(metric_counter(
	    "grilld_ingest_rules_reloads_total", "Alert rule reloads.", NULL));
	s->m_bad = metric_with(metric_counter("grilld_ingest_rules_bad_total",
	    "Alert rules skipped because they did not parse.", NULL));
}

static int
load(struct alertstore *s, struct alerts *a, const struct alert_sink *sink)
{
	struct reading_errs errs;
	struct alertrule *rules;
	redisReply *r;
	size_t n = 0, bad = 0;
	struct buf b;

	if ((r = rds_command(s->rds, "HGETALL %s", s->rules)) == NULL)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return -1;
	}
	if ((rules = calloc(r->elements / 2 + 1, sizeof(*rules))) == NULL) {
		freeReplyObject(r);
		return -1;
	}
	buf_init(&b);
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];

		if (k->type != REDIS_REPLY_STRING || v->type !=
		    REDIS_REPLY_STRING)
			continue;
		if (n == INGEST_RULES_MAX) {
			log_warnx("rules: more than %d, the rest ignored",
			    INGEST_RULES_MAX);
			break;
		}
		if (alertrule_parse(v->str, v->len, &rules[n], &errs) == -1) {
			buf_reset(&b);
			reading_errs_format(&errs, &b);
			log_warnx("rule %s skipped: %s", k->str,
			    b.data ? b.data : "");
			bad++;
			continue;
		}
		if (strcmp(rules[n].id, k->str) != 0) {
			log_warnx("rule %s skipped: its id says %s", k->str,
			    rules[n].id);
			bad++;
			continue;
		}
		n++;
	}
	buf_free(&b);
	freeReplyObject(r);
	s->bad_rules = bad;
	metric_add(s->m_bad, (double)bad);
	alerts_set_rules(a, rules, n, util_now_ns(), sink);
	s->reloads++;
	metric_inc(s->m_reloads);
	log_info("alert rules loaded: %zu%s", n, bad ? " (some skipped)" : "");
	return 1;
}

int
alertstore_poll(struct alertstore *s, struct alerts *a, bool force,
    const struct alert_sink *sink)
{
	char ver[64] = "";
	redisReply *r;

	if ((r = rds_command(s->rds, "GET %s", s->version)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_STRING)
		snprintf(ver, sizeof(ver), "%s", r->str);
	else if (r->type == REDIS_REPLY_INTEGER)
		snprintf(ver, sizeof(ver), "%lld", r->integer);
	freeReplyObject(r);
	if (!force && s->loaded && strcmp(ver, s->loaded_version) == 0)
		return 0;
	if (load(s, a, sink) == -1)
		return -1;
	util_strlcpy(s->loaded_version, ver, sizeof(s->loaded_version));
	s->loaded = true;
	return 1;
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

int
alertstore_restore(struct alertstore *s, struct alerts *a)
{
	redisReply *r;
	int n = 0;

	if ((r = rds_command(s->rds, "HGETALL %s", s->state)) == NULL)
		return -1;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
	    i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];
		const char *st, *rule, *dev, *probe, *id, *since;
		const cJSON *nt;
		int64_t ts = 0;
		cJSON *j;

		if (k->type != REDIS_REPLY_STRING || strchr(k->str, '#') ||
		    v->type != REDIS_REPLY_STRING ||
		    (j = cJSON_ParseWithLength(v->str, v->len)) == NULL)
			continue;
		st = jstr(j, "state");
		rule = jstr(j, "rule_id");
		dev = jstr(j, "device_id");
		probe = jstr(j, "probe_id");
		id = jstr(j, "alert_id");
		since = jstr(j, "since");
		nt = cJSON_GetObjectItemCaseSensitive(j, "notified");
		if (since)
			util_time_parse(since, &ts);
		if (st && strcmp(st, "firing") == 0 && rule && dev && probe &&
		    id && alerts_restore(a, rule, dev, probe, id, ts,
		    !cJSON_IsFalse(nt)) == 0)
			n++;
		cJSON_Delete(j);
	}
	freeReplyObject(r);
	if (n > 0)
		log_info("alerts: %d firing alerts restored from %s", n,
		    s->state);
	return n;
}

/* HGET alertstate "<key><suffix>" parsed as JSON; NULL when none. */
static cJSON *
get_side(struct alertstore *s, const char *key, const char *suffix)
{
	char field[ALERT_KEY_LEN + 16];
	redisReply *r;
	cJSON *j = NULL;

	snprintf(field, sizeof(field), "%s%s", key, suffix);
	if ((r = rds_command(s->rds, "HGET %s %s", s->state, field)) == NULL)
		return NULL;
	if (r->type == REDIS_REPLY_STRING)
		j = cJSON_ParseWithLength(r->str, r->len);
	freeReplyObject(r);
	return j;
}

int64_t
alertstore_snoozed_until(void *arg, const char *key)
{
	struct alertstore *s = arg;
	const char *until;
	int64_t ns = 0;
	cJSON *j;

	if ((j = get_side(s, key, RKEY_SNOOZE)) == NULL)
		return 0;
	if ((until = jstr(j, "until")) != NULL &&
	    util_time_parse(until, &ns) == -1)
		ns = 0;
	cJSON_Delete(j);
	return ns;
}

bool
alertstore_acked(void *arg, const char *key, const char *alert_id)
{
	struct alertstore *s = arg;
	const char *id;
	bool acked;
	cJSON *j;

	if ((j = get_side(s, key, RKEY_ACK)) == NULL)
		return false;
	id = jstr(j, "alert_id");
	acked = id == NULL || strcmp(id, alert_id) == 0;
	cJSON_Delete(j);
	return acked;
}
