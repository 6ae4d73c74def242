/*
 * firestore: the Firestore REST documents under
 * /v1/projects/thermoworks-cloud-production/databases/(default)/documents
 *
 *   POST :runQuery                        devices where accountId ==
 *   GET  /users/{uid}                     the signed-in user only
 *   GET  /devices/{serial}                the account's devices only
 *   GET  /devices/{serial}/channels/{n}   1..N, then 404
 *   GET  /devices/{serial}/archive        paged: pageSize, pageToken
 *   GET  /devices/{serial}/archive/{id}
 *
 * Every call needs a valid bearer token (401 otherwise). What the
 * ThermoWorks security rules would refuse (someone else's documents,
 * listing a collection) is 403 PERMISSION_DENIED, a missing document 404
 * NOT_FOUND, both in Firestore's words.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twsim.h"

#define DOCS_PATH	"/v1/" TW_DOCUMENTS
#define PAGE_DEFAULT	100
#define PAGE_MAX	300

/* Splits the path below DOCS_PATH into the endpoint and its serial. */
int
firestore_route(struct tw_req *r)
{
	size_t n = strlen(DOCS_PATH), len;
	const char *p, *slash;

	if (strncmp(r->path, DOCS_PATH, n) != 0)
		return -1;
	p = r->path + n;
	r->rest = p;
	r->ep = EP_OTHER;
	if (strcmp(p, ":runQuery") == 0) {
		r->ep = EP_QUERY;
	} else if (strncmp(p, "/users/", 7) == 0) {
		if (strchr(p + 7, '/') == NULL) {
			r->ep = EP_USER;
			util_strlcpy(r->arg, p + 7, sizeof(r->arg));
		}
	} else if (strncmp(p, "/devices/", 9) == 0) {
		p += 9;
		slash = strchr(p, '/');
		len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || len >= sizeof(r->serial))
			return 0;
		memcpy(r->serial, p, len);
		r->serial[len] = '\0';
		r->rest = p + len;
		if (*r->rest == '\0')
			r->ep = EP_DEVICE;
		else if (strncmp(r->rest, "/channels", 9) == 0 &&
		    (r->rest[9] == '\0' || r->rest[9] == '/')) {
			r->ep = EP_CHANNEL;
			r->rest += 9;
		} else if (strncmp(r->rest, "/archive", 8) == 0 &&
		    (r->rest[8] == '\0' || r->rest[8] == '/')) {
			r->ep = EP_ARCHIVE;
			r->rest += 8;
		}
	}
	return 0;
}

static int
not_found(struct tw_req *r)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "Document \"%s\" not found.", r->path + 4);
	return req_google_error(r, 404, "NOT_FOUND", msg);
}

static int
denied(struct tw_req *r)
{
	return req_google_error(r, 403, "PERMISSION_DENIED",
	    "Missing or insufficient permissions.");
}

static struct tw_device *
own_device(struct tw_req *r)
{
	struct tw_device *d = scenario_find_device(r->w, r->serial);

	if (d == NULL)
		not_found(r);
	else if (d->account != r->account) {
		denied(r);
		d = NULL;
	}
	return d;
}

static void
ok(struct tw_req *r, struct jw *j)
{
	r->status = 200;
	buf_reset(&r->out);
	jw_init(j, &r->out, r->pretty);
}

static int
finish(struct tw_req *r, struct jw *j)
{
	jw_end(j);
	if (j->err)
		return req_google_error(r, 500, NULL, "Internal error "
		    "encountered.");
	return r->status;
}

static int
get_user(struct tw_req *r)
{
	struct jw j;

	if (strcmp(r->arg, r->account->uid) != 0)
		return denied(r);
	ok(r, &j);
	fsdoc_user(&j, r->w, r->account, r->now_ms, r->drift);
	return finish(r, &j);
}

static int
get_device(struct tw_req *r)
{
	struct tw_device *d;
	struct jw j;

	if ((d = own_device(r)) == NULL)
		return r->status;
	ok(r, &j);
	fsdoc_device(&j, r->w, d, r->now_ms, r->drift);
	return finish(r, &j);
}

/* "1".."N" exactly: a document named "01" does not exist. */
static int
channel_number(const char *s)
{
	int n = 0;

	if (*s < '1' || *s > '9' || strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		n = n * 10 + (*s - '0');
	}
	return n;
}

static int
get_channel(struct tw_req *r)
{
	struct tw_device *d;
	struct jw j;
	int n;

	if ((d = own_device(r)) == NULL)
		return r->status;
	if (*r->rest == '\0')
		return denied(r);	/* no listing: clients probe 1, 2, ... */
	n = channel_number(r->rest + 1);
	if (n < 1 || (n = timeline_channel_index(d, n)) < 0)
		return not_found(r);	/* past the last, or a hole */
	ok(r, &j);
	fsdoc_channel(&j, r->w, d, n, r->now_ms, r->drift);
	return finish(r, &j);
}

/* --- archives --------------------------------------------------------- */

struct window {
	char	 id[24];
	int64_t	 n;
};

static int
by_id(const void *a, const void *b)
{
	return strcmp(((const struct window *)a)->id,
	    ((const struct window *)b)->id);
}

static int
by_created_desc(const void *a, const void *b)
{
	int64_t x = ((const struct window *)a)->n;
	int64_t y = ((const struct window *)b)->n;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * The archives made by now (one per ended session, none for the one
 * running): by document id, as Firestore lists, or by createdOn when
 * orderBy=createdOn (created in session order), "createdOn desc" newest
 * first.
 */
static struct window *
windows(struct tw_req *r, const struct tw_device *d, size_t *count)
{
	struct window *ws;
	size_t n = (size_t)timeline_archived(r->w, d, r->now_ms);
	char order[32] = "";

	if ((ws = calloc(n ? n : 1, sizeof(*ws))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		ws[i].n = (int64_t)i;
		fsdoc_archive_id(r->w, d, (int64_t)i, ws[i].id,
		    sizeof(ws[i].id));
	}
	req_query(r, "orderBy", order, sizeof(order));
	if (strcmp(order, "createdOn desc") == 0)
		qsort(ws, n, sizeof(*ws), by_created_desc);
	else if (strcmp(order, "createdOn") != 0 &&
	    strcmp(order, "createdOn asc") != 0)
		qsort(ws, n, sizeof(*ws), by_id);
	*count = n;
	return ws;
}

static int
archive_list(struct tw_req *r, const struct tw_device *d)
{
	char size[16], token[64], after[24] = "", next[48];
	struct window *ws;
	size_t n, i = 0, shown = 0, dlen;
	int64_t page = PAGE_DEFAULT;
	struct jw j;

	if (req_query(r, "pageSize", size, sizeof(size)) && (util_parse_int(
	    size, &page) == -1 || page < 0)) {
		snprintf(token, sizeof(token), "Invalid value at 'page_size' "
		    "(TYPE_INT32), \"%.20s\"", size);
		return req_google_error(r, 400, NULL, token);
	}
	if (page == 0 || page > PAGE_MAX)
		page = page == 0 ? PAGE_DEFAULT : PAGE_MAX;
	if (req_query(r, "pageToken", token, sizeof(token)) && token[0] &&
	    (hash_b64url_decode(token, strlen(token), (uint8_t *)after,
	    sizeof(after) - 1, &dlen) == -1 || dlen != 20)) {
		return req_google_error(r, 400, NULL, "Invalid page token.");
	}
	if ((ws = windows(r, d, &n)) == NULL)
		return req_google_error(r, 500, NULL, "Internal error "
		    "encountered.");
	if (after[0] != '\0') {
		while (i < n && strcmp(ws[i].id, after) != 0)
			i++;
		i++;		/* past the last one shown; none: the end */
	}
	ok(r, &j);
	jw_obj(&j);
	if (i < n) {
		jw_key(&j, "documents");
		jw_arr(&j);
		for (; i < n && shown < (size_t)page; i++, shown++)
			fsdoc_archive(&j, r->w, d, ws[i].n, r->now_ms,
			    r->drift);
		jw_arr_end(&j);
		if (i < n) {
			hash_b64url(ws[i - 1].id, strlen(ws[i - 1].id), next,
			    sizeof(next));
			jw_kstr(&j, "nextPageToken", next);
		}
	}
	jw_obj_end(&j);
	free(ws);
	return finish(r, &j);
}

static int
archive(struct tw_req *r)
{
	struct tw_device *d;
	struct window *ws;
	size_t n;
	struct jw j;

	if ((d = own_device(r)) == NULL)
		return r->status;
	if (*r->rest == '\0')
		return archive_list(r, d);
	if ((ws = windows(r, d, &n)) == NULL)
		return req_google_error(r, 500, NULL, "Internal error "
		    "encountered.");
	for (size_t i = 0; i < n; i++)
		if (strcmp(ws[i].id, r->rest + 1) == 0) {
			ok(r, &j);
			fsdoc_archive(&j, r->w, d, ws[i].n, r->now_ms,
			    r->drift);
			free(ws);
			return finish(r, &j);
		}
	free(ws);
	return not_found(r);
}

/* --- runQuery ------------------------------------------------------- */

static const cJSON *
jget(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static const char *
jstr(const cJSON *o, const char *key)
{
	const cJSON *v = jget(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An Int32Value: a number, or {"value": n}. -1 when absent. */
static int64_t
jint(const cJSON *o, const char *key)
{
	const cJSON *v = jget(o, key);

	if (cJSON_IsObject(v))
		v = jget(v, "value");
	if (cJSON_IsNumber(v) && v->valuedouble >= 0)
		return (int64_t)v->valuedouble;
	if (cJSON_IsString(v))
		return atoll(v->valuestring);
	return -1;
}

/*
 * The one query clients send: devices where accountId == theirs,
 * ordered by __name__. A query on another collection matches nothing;
 * one not bounded to the caller's account is refused by the rules.
 */
static int
run_query(struct tw_req *r)
{
	const cJSON *q, *from, *filter, *order;
	const char *coll, *field, *op, *value, *dir;
	char ts[UTIL_TIME_LEN];
	bool desc = false;
	int64_t limit, offset;
	struct tw_account *a = r->account;
	struct jw j;
	cJSON *root;
	size_t shown = 0;

	if (req_read_body(r) == -1)
		return r->status;
	if ((root = cJSON_ParseWithLength(r->body.data, r->body.len)) == NULL ||
	    !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return req_json_error(r, "Unexpected token: the body must be a "
		    "JSON object.");
	}
	q = jget(root, "structuredQuery");
	from = cJSON_IsObject(q) ? jget(q, "from") : NULL;
	if (!cJSON_IsArray(from) || cJSON_GetArraySize(from) != 1 ||
	    (coll = jstr(cJSON_GetArrayItem(from, 0), "collectionId")) ==
	    NULL) {
		cJSON_Delete(root);
		return req_google_error(r, 400, NULL, "structuredQuery.from "
		    "must name exactly one collection.");
	}
	filter = jget(jget(q, "where"), "fieldFilter");
	if (filter == NULL)	/* an AND of one filter, as some SDKs send */
		filter = jget(cJSON_GetArrayItem(jget(jget(jget(q, "where"),
		    "compositeFilter"), "filters"), 0), "fieldFilter");
	field = jstr(jget(filter, "field"), "fieldPath");
	op = jstr(filter, "op");
	value = jstr(jget(filter, "value"), "stringValue");
	order = cJSON_GetArrayItem(jget(q, "orderBy"), 0);
	dir = jstr(order, "direction");
	desc = dir != NULL && strcmp(dir, "DESCENDING") == 0;
	limit = jint(q, "limit");
	offset = jint(q, "offset");
	if (strcmp(coll, "devices") == 0 && (field == NULL || op == NULL ||
	    value == NULL || strcmp(field, "accountId") != 0 ||
	    strcmp(op, "EQUAL") != 0 || strcmp(value, a->account_id) != 0)) {
		cJSON_Delete(root);
		return denied(r);
	}
	jw_format_time(r->now_ms * NS_PER_MS + 123000, 6, ts, sizeof(ts));
	ok(r, &j);
	jw_arr(&j);
	if (strcmp(coll, "devices") == 0) {
		for (size_t i = 0; i < a->ndevices; i++) {
			size_t at = desc ? a->ndevices - 1 - i : i;

			if (offset > 0 && (int64_t)i < offset)
				continue;
			if (limit >= 0 && (int64_t)shown >= limit)
				break;
			jw_obj(&j);
			jw_key(&j, "document");
			fsdoc_device(&j, r->w, a->devices[at], r->now_ms,
			    r->drift);
			jw_kstr(&j, "readTime", ts);
			jw_obj_end(&j);
			shown++;
		}
	}
	if (shown == 0) {
		jw_obj(&j);
		jw_kstr(&j, "readTime", ts);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	cJSON_Delete(root);
	return finish(r, &j);
}

int
firestore_documents(struct tw_req *r)
{
	const char *want = r->ep == EP_QUERY ? "POST" : "GET";

	if (strcmp(r->method, want) != 0)
		return req_method_error(r, want);
	if (req_bearer(r) == -1)
		return r->status;
	switch (r->ep) {
	case EP_QUERY:
		return run_query(r);
	case EP_USER:
		return get_user(r);
	case EP_DEVICE:
		return get_device(r);
	case EP_CHANNEL:
		return get_channel(r);
	case EP_ARCHIVE:
		return archive(r);
	default:
		if (strcmp(r->rest, "/devices") == 0 ||
		    strcmp(r->rest, "/users") == 0)
			return denied(r);
		return not_found(r);
	}
}
