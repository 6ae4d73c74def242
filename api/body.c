/*
 * body: a request's JSON body, read and parsed with every check the
 * outside world calls for, answering the error itself when one fails:
 *
 *	415 unless Content-Type is application/json (any parameters);
 *	413 past api.max_body bytes, said or found;
 *	400 for a body that is not UTF-8, holds a NUL (raw or \u0000, which
 *	    C strings would silently cut at), nests deeper than
 *	    JSON_DEPTH_MAX (checked before parsing, so no parser recursion
 *	    depends on input), or is not JSON.
 *
 * On grill-stats' routes (route->seed) the body is read as JSON whatever
 * its Content-Type, as FastAPI does when the header is missing and the
 * seed's scripts rely on (requests' data=, curl -d), and a body that is
 * not JSON is FastAPI's 422 {"detail": [...]}.
 */
#include <civetweb.h>
#include <string.h>
#include <strings.h>

#include "api.h"

#define JSON_DEPTH_MAX	32

static bool
json_type(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* The deepest nesting of a JSON text, counted without recursion. */
int
api_json_depth(const char *s, size_t len)
{
	int depth = 0, max = 0;
	bool str = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				str = false;
		} else if (c == '"')
			str = true;
		else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if (c == '}' || c == ']')
			depth--;
	}
	return max;
}

/* An escaped NUL (\u0000) that a C string would silently cut at. */
static bool
has_escaped_nul(const char *s, size_t len)
{
	for (size_t i = 0; i + 6 <= len; i++) {
		size_t bs = 0;

		if (memcmp(s + i, "\\u0000", 6) != 0)
			continue;
		while (bs < i && s[i - 1 - bs] == '\\')
			bs++;
		if (bs % 2 == 0)
			return true;
	}
	return false;
}

/*
 * The parsed body (the caller's to cJSON_Delete), or NULL after an
 * error answer. An empty body is NULL with 400 when required, else an
 * empty object.
 */
cJSON *
api_read_json(struct req *r, bool required)
{
	const char *ct = mg_get_header(r->conn, "Content-Type");
	const char *end = NULL;
	bool seed = r->route != NULL && r->route->seed;
	struct buf body;
	cJSON *doc = NULL;

	if (!required && r->ri->content_length <= 0 &&
	    mg_get_header(r->conn, "Transfer-Encoding") == NULL)
		return cJSON_CreateObject();
	if (!seed && !json_type(ct)) {
		api_error(r, 415, "UNSUPPORTED_MEDIA_TYPE", "the body must be "
		    "application/json, not %.64s", ct ? ct : "(none)");
		return NULL;
	}
	buf_init(&body);
	if (api_read_body(r, &body, r->api->cf->api.max_body) == -1)
		goto done;
	if (body.len == 0) {
		if (required)
			api_error(r, 400, "INVALID_JSON", "the body is empty");
		else
			doc = cJSON_CreateObject();
		goto done;
	}
	if (!util_utf8_valid(body.data, body.len) ||
	    memchr(body.data, '\0', body.len) != NULL)
		api_error(r, 400, "INVALID_JSON", "the body is not valid UTF-8 "
		    "without NUL");
	else if (has_escaped_nul(body.data, body.len))
		api_error(r, 400, "INVALID_JSON", "\\u0000 is not accepted in "
		    "strings");
	else if (api_json_depth(body.data, body.len) > JSON_DEPTH_MAX)
		api_error(r, 400, "INVALID_JSON", "the body nests deeper than "
		    "%d levels", JSON_DEPTH_MAX);
	else if ((doc = cJSON_ParseWithLengthOpts(body.data, body.len, &end,
	    0)) == NULL && seed)
		api_error_validation(r, api_validation_item(cJSON_CreateArray(),
		    "JSON decode error", "value_error.jsondecode", -1, NULL),
		    "the body is not valid JSON");
	else if (doc == NULL)
		api_error(r, 400, "INVALID_JSON", "the body is not valid JSON "
		    "(near byte %zu)", (size_t)(end ? end - body.data : 0));
done:
	buf_free(&body);
	return doc;
}
