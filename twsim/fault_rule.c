/*
 * fault_rule: fault rules read from JSON (POST /admin/faults) or YAML
 * (twsim.faults), checked, and written back as JSON. A rule:
 *
 *   {"kind": "status", "status": 429, "retry_after": 5,
 *    "endpoint": "channel,device", "device": "S2A4C6E8",
 *    "probability": 0.5, "count": 3}
 *
 *   kind         status (an error answer: status 400-599, default 503;
 *                  retry_after seconds, default 1 for 429), delay
 *                  (delay_ms, default 1000), drop (close without an
 *                  answer), too_many_attempts (sign-in answers
 *                  TOO_MANY_ATTEMPTS_TRY_LATER), malformed (a body that
 *                  is not JSON), truncate (half the body), drift_integer,
 *                  drift_boolean, drift_missing (documents drift), and
 *                  revoke (an action, not a rule: every token of the
 *                  account, or of every account, stops working; refresh
 *                  answers reason: TOKEN_EXPIRED, INVALID_REFRESH_TOKEN
 *                  or USER_DISABLED).
 *   endpoint     signin token config user query device channel archive
 *                storage other, comma-separated or a list, or any (the
 *                default; drifts default to the document endpoints)
 *   device       only requests about this serial
 *   probability  0..1 (default 1): drawn from the seed, reproducibly
 *   count        the next N matching requests that fire; 0: forever
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "twsim.h"

#define EP_ALL		((1u << EP_COUNT) - 1)
#define EP_DOCS		((1u << EP_USER) | (1u << EP_QUERY) | \
			 (1u << EP_DEVICE) | (1u << EP_CHANNEL) | \
			 (1u << EP_ARCHIVE))

static const char *const kind_names[FK_COUNT] = {
	"status", "delay", "drop", "too_many_attempts", "malformed",
	"truncate", "drift_integer", "drift_boolean", "drift_missing",
	"revoke",
};

static const char *const reason_names[] = {
	"TOKEN_EXPIRED", "INVALID_REFRESH_TOKEN", "USER_DISABLED",
};

const char *
fault_kind_name(enum fault_kind k)
{
	return k < FK_COUNT ? kind_names[k] : "?";
}

const char *
fault_reason_name(enum tw_revoke r)
{
	return (size_t)r < ARRAY_LEN(reason_names) ? reason_names[r] : "?";
}

static int
parse_endpoints(const char *v, unsigned *eps)
{
	char name[32];
	enum tw_endpoint ep;
	size_t len;

	*eps = 0;
	while (*v != '\0') {
		len = strcspn(v, ", ");
		if (len > 0) {
			if (len >= sizeof(name))
				return -1;
			memcpy(name, v, len);
			name[len] = '\0';
			if (strcmp(name, "any") == 0)
				*eps |= EP_ALL;
			else if (serve_endpoint_parse(name, &ep) == 0)
				*eps |= 1u << ep;
			else
				return -1;
		}
		v += len;
		v += strspn(v, ", ");
	}
	return *eps ? 0 : -1;
}

static int
set_int(const char *key, const char *v, int64_t lo, int64_t hi, int64_t *out,
    char *why, size_t len)
{
	double d;

	/* In range first: converting a larger double is undefined. */
	if (util_parse_double(v, &d) == -1 || !(d >= (double)lo &&
	    d <= (double)hi) || d != floor(d)) {
		snprintf(why, len, "%s: '%s' is not a whole number from %lld to "
		    "%lld", key, v, (long long)lo, (long long)hi);
		return -1;
	}
	*out = (int64_t)d;
	return 0;
}

/* Sets one key of a rule from its text. 0, or -1 with why. */
static int
rule_set(struct fault_rule *f, const char *key, const char *v, char *why,
    size_t len)
{
	int64_t n;

	if (strcmp(key, "kind") == 0) {
		for (int i = 0; i < FK_COUNT; i++)
			if (strcmp(v, kind_names[i]) == 0) {
				f->kind = (enum fault_kind)i;
				return 0;
			}
		snprintf(why, len, "kind: '%s' is not one of status|delay|drop|"
		    "too_many_attempts|malformed|truncate|drift_integer|"
		    "drift_boolean|drift_missing|revoke", v);
		return -1;
	}
	if (strcmp(key, "endpoint") == 0) {
		if (parse_endpoints(v, &f->eps) == 0)
			return 0;
		snprintf(why, len, "endpoint: '%s' is not a list of signin|token|"
		    "config|user|query|device|channel|archive|storage|other|any",
		    v);
		return -1;
	}
	if (strcmp(key, "device") == 0) {
		if (strlen(v) >= sizeof(f->device) || *v == '\0') {
			snprintf(why, len, "device: '%s' is not a serial", v);
			return -1;
		}
		util_strlcpy(f->device, v, sizeof(f->device));
		return 0;
	}
	if (strcmp(key, "account") == 0) {
		util_strlcpy(f->account, v, sizeof(f->account));
		return 0;
	}
	if (strcmp(key, "reason") == 0) {
		for (size_t i = 0; i < ARRAY_LEN(reason_names); i++)
			if (strcmp(v, reason_names[i]) == 0) {
				f->reason = (enum tw_revoke)i;
				return 0;
			}
		snprintf(why, len, "reason: '%s' is not one of TOKEN_EXPIRED|"
		    "INVALID_REFRESH_TOKEN|USER_DISABLED", v);
		return -1;
	}
	if (strcmp(key, "probability") == 0) {
		if (util_parse_double(v, &f->probability) == 0 &&
		    f->probability >= 0 && f->probability <= 1)
			return 0;
		snprintf(why, len, "probability: '%s' is not a number from 0 "
		    "to 1", v);
		return -1;
	}
	if (strcmp(key, "status") == 0) {
		if (set_int(key, v, 400, 599, &n, why, len) == -1)
			return -1;
		f->status = (int)n;
		return 0;
	}
	if (strcmp(key, "retry_after") == 0) {
		if (set_int(key, v, 0, 86400, &n, why, len) == -1)
			return -1;
		f->retry_after = (int)n;
		return 0;
	}
	if (strcmp(key, "delay_ms") == 0)
		return set_int(key, v, 0, 600000, &f->delay_ms, why, len);
	if (strcmp(key, "count") == 0)
		return set_int(key, v, 0, INT64_C(1) << 40, &f->count, why, len);
	snprintf(why, len, "unknown key '%s' (kind, endpoint, device, status, "
	    "retry_after, delay_ms, probability, count, account, reason)", key);
	return -1;
}

static void
rule_init(struct fault_rule *f)
{
	memset(f, 0, sizeof(*f));
	f->kind = FK_COUNT;
	f->retry_after = -1;
	f->probability = 1;
	f->delay_ms = 1000;
}

/* Defaults that depend on the kind, and what must hold. */
static int
rule_finish(struct fault_rule *f, char *why, size_t len)
{
	if (f->kind == FK_COUNT) {
		snprintf(why, len, "kind is required");
		return -1;
	}
	if (f->kind == FK_STATUS && f->status == 0)
		f->status = 503;
	if (f->kind == FK_STATUS && f->status == 429 && f->retry_after < 0)
		f->retry_after = 1;
	if (f->kind == FK_TOO_MANY) {
		if (f->eps != 0 && f->eps != (1u << EP_SIGNIN)) {
			snprintf(why, len, "too_many_attempts is a sign-in "
			    "answer: endpoint must be signin");
			return -1;
		}
		f->eps = 1u << EP_SIGNIN;
	}
	if (f->eps == 0)
		f->eps = f->kind >= FK_DRIFT_INTEGER && f->kind <= FK_DRIFT_MISSING
		    ? EP_DOCS : EP_ALL;
	f->remaining = f->count;
	return 0;
}

/* A JSON value as the text rule_set() reads; lists joined by commas. */
static int
json_text(const cJSON *v, char *out, size_t len)
{
	const cJSON *e;
	size_t used = 0;

	if (cJSON_IsString(v))
		util_strlcpy(out, v->valuestring, len);
	else if (cJSON_IsNumber(v))
		snprintf(out, len, "%.17g", v->valuedouble);
	else if (cJSON_IsBool(v))
		util_strlcpy(out, cJSON_IsTrue(v) ? "true" : "false", len);
	else if (cJSON_IsArray(v)) {
		out[0] = '\0';
		cJSON_ArrayForEach(e, v) {
			if (!cJSON_IsString(e))
				return -1;
			used += (size_t)snprintf(out + used, used < len ?
			    len - used : 0, "%s%s", used ? "," : "",
			    e->valuestring);
		}
		if (used >= len)
			return -1;
	} else
		return -1;
	return 0;
}

static int
rule_from_json(const cJSON *o, struct fault_rule *f, char *why, size_t len)
{
	const cJSON *m;
	char text[512];

	rule_init(f);
	if (!cJSON_IsObject(o)) {
		snprintf(why, len, "a fault is a JSON object");
		return -1;
	}
	cJSON_ArrayForEach(m, o) {
		if (cJSON_IsNull(m))
			continue;
		if (json_text(m, text, sizeof(text)) == -1) {
			snprintf(why, len, "%s: not a string, number, boolean "
			    "or list of strings", m->string);
			return -1;
		}
		if (rule_set(f, m->string, text, why, len) == -1)
			return -1;
	}
	return rule_finish(f, why, len);
}

static int
rule_from_tree(const struct cnode *n, struct fault_rule *f, char *why,
    size_t len)
{
	char where[128], text[512], msg[320];
	size_t used;

	rule_init(f);
	cnode_where(n, where, sizeof(where));
	if (n->kind != CNODE_MAP) {
		snprintf(why, len, "%s: twsim.faults: a fault is a map (kind, "
		    "endpoint, ...)", where);
		return -1;
	}
	for (const struct cnode *c = n->child; c != NULL; c = c->next) {
		cnode_where(c, where, sizeof(where));
		if (c->kind == CNODE_SCALAR)
			util_strlcpy(text, c->value, sizeof(text));
		else if (c->kind == CNODE_SEQ) {
			used = 0;
			text[0] = '\0';
			for (const struct cnode *e = c->child; e; e = e->next)
				if (e->kind == CNODE_SCALAR && used <
				    sizeof(text))
					used += (size_t)snprintf(text + used,
					    sizeof(text) - used, "%s%s",
					    used ? "," : "", e->value);
		} else {
			snprintf(why, len, "%s: twsim.faults: %s: not a "
			    "value", where, c->key);
			return -1;
		}
		if (rule_set(f, c->key, text, msg, sizeof(msg)) == -1) {
			snprintf(why, len, "%s: twsim.faults: %s", where, msg);
			return -1;
		}
	}
	if (rule_finish(f, msg, sizeof(msg)) == -1) {
		cnode_where(n, where, sizeof(where));
		snprintf(why, len, "%s: twsim.faults: %s", where, msg);
		return -1;
	}
	return 0;
}

/*
 * The rules of a JSON text: one rule object or a list of them. 0, or -1
 * with why (the first problem).
 */
int
fault_rules_json(const char *text, size_t len, struct fault_rule *rules,
    int *n, char *why, size_t whylen)
{
	const cJSON *e;
	cJSON *root;
	int rc = -1;

	*n = 0;
	if ((root = cJSON_ParseWithLength(text, len)) == NULL) {
		snprintf(why, whylen, "the body is not JSON");
		return -1;
	}
	if (cJSON_IsObject(root))
		rc = rule_from_json(root, &rules[(*n)++], why, whylen);
	else if (cJSON_IsArray(root)) {
		rc = 0;
		cJSON_ArrayForEach(e, root) {
			if (*n == FAULT_MAX) {
				snprintf(why, whylen, "at most %d faults at "
				    "once", FAULT_MAX);
				rc = -1;
				break;
			}
			if ((rc = rule_from_json(e, &rules[(*n)++], why,
			    whylen)) == -1)
				break;
		}
	} else
		snprintf(why, whylen, "a fault object or a list of them");
	cJSON_Delete(root);
	return rc;
}

/* The rules of a twsim.faults tree; revoke is refused there. */
int
fault_rules_tree(const struct cnode *root, struct fault_rule *rules, int *n,
    char *why, size_t len)
{
	char where[128];

	*n = 0;
	if (root->kind != CNODE_SEQ) {
		cnode_where(root, where, sizeof(where));
		snprintf(why, len, "%s: twsim.faults: a list of faults", where);
		return -1;
	}
	for (const struct cnode *c = root->child; c != NULL; c = c->next) {
		if (*n == FAULT_MAX) {
			snprintf(why, len, "twsim.faults: at most %d faults",
			    FAULT_MAX);
			return -1;
		}
		if (rule_from_tree(c, &rules[(*n)++], why, len) == -1)
			return -1;
		if (rules[*n - 1].kind == FK_REVOKE) {
			cnode_where(c, where, sizeof(where));
			snprintf(why, len, "%s: twsim.faults: revoke is an "
			    "action: POST it to /admin/faults", where);
			return -1;
		}
	}
	return 0;
}

void
fault_rule_write(struct jw *j, const struct fault_rule *f)
{
	char eps[160] = "";
	size_t used = 0;

	if (f->eps == EP_ALL)
		util_strlcpy(eps, "any", sizeof(eps));
	else
		for (int e = 0; e < EP_COUNT; e++)
			if (f->eps & (1u << e))
				used += (size_t)snprintf(eps + used,
				    sizeof(eps) - used, "%s%s", used ? "," : "",
				    serve_endpoint_name((enum tw_endpoint)e));
	jw_obj(j);
	jw_kint(j, "id", f->id);
	jw_kstr(j, "kind", kind_names[f->kind]);
	jw_kstr(j, "endpoint", eps);
	jw_key(j, "device");
	if (f->device[0])
		jw_str(j, f->device);
	else
		jw_null(j);
	jw_key(j, "status");
	if (f->kind == FK_STATUS)
		jw_int(j, f->status);
	else
		jw_null(j);
	jw_key(j, "retry_after");
	if (f->retry_after >= 0)
		jw_int(j, f->retry_after);
	else
		jw_null(j);
	jw_key(j, "delay_ms");
	if (f->kind == FK_DELAY)
		jw_int(j, f->delay_ms);
	else
		jw_null(j);
	jw_key(j, "probability");
	jw_double(j, f->probability);
	jw_kint(j, "count", f->count);
	jw_key(j, "remaining");
	if (f->count > 0)
		jw_int(j, f->remaining);
	else
		jw_null(j);
	jw_kint(j, "injected", (int64_t)f->injected);
	jw_kstr(j, "source", f->config ? "config" : "api");
	jw_obj_end(j);
}
