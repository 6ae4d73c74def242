/*
 * params: the query string of a request, decoded strictly, and typed
 * getters that answer 400 naming the parameter and why.
 *
 * Every route lists the parameters it knows; on grilld's own routes any
 * other is refused (UNKNOWN_PARAMETER), and so is a parameter given
 * twice, so that a typo ("start=") is an error instead of a silently
 * ignored filter. grill-stats' routes (route->seed) answer as FastAPI
 * does: unknown parameters (a browser's "?_=" cache-buster) are ignored
 * and a repeated one takes its last value. Values
 * are percent-decoded ('+' is a space), must be valid UTF-8 without
 * control characters, and are at most API_PARAM_MAX bytes.
 *
 * Getters return 0 with the value (or the default when the parameter is
 * absent), or -1 after answering the request with the error.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"

#define DAY_NS	(INT64_C(86400) * NS_PER_S)
/* Earliest and latest times a range may name. */
#define TIME_MIN_NS	INT64_C(0)				/* 1970 */
#define TIME_MAX_NS	(INT64_C(7258118400) * NS_PER_S)	/* 2200 */

/* Decodes len bytes of s into the store; NULL when they are not fit. */
static char *
decode(struct params *p, const char *s, size_t len, const char **why)
{
	char *out = p->store + p->used, *o = out;
	size_t room = sizeof(p->store) - p->used;

	if (len > API_PARAM_MAX || len + 1 > room) {
		*why = "is too long";
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i], hi, lo;

		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (i + 2 >= len ||
			    (hi = util_hexval(s[i + 1])) == -1 ||
			    (lo = util_hexval(s[i + 2])) == -1) {
				*why = "has an invalid percent escape";
				return NULL;
			}
			c = hi << 4 | lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f) {
			*why = "holds a control character or NUL";
			return NULL;
		}
		*o++ = (char)c;
	}
	*o = '\0';
	if (!util_utf8_valid(out, (size_t)(o - out))) {
		*why = "is not valid UTF-8";
		return NULL;
	}
	p->used += (size_t)(o - out) + 1;
	return out;
}

int
api_params_parse(struct params *p, const char *qs, bool lenient, char *err,
    size_t errlen)
{
	const char *s = qs, *amp, *eq, *why = NULL;
	int i;

	p->n = 0;
	p->used = 0;
	if (qs == NULL)
		return 0;
	for (; *s != '\0'; s = *amp ? amp + 1 : amp) {
		size_t len, nlen;
		char *name, *value;

		amp = s + strcspn(s, "&");
		len = (size_t)(amp - s);
		if (len == 0)
			continue;
		if (p->n == API_PARAMS_MAX) {
			snprintf(err, errlen, "too many query parameters "
			    "(at most %d)", API_PARAMS_MAX);
			return -1;
		}
		eq = memchr(s, '=', len);
		nlen = eq ? (size_t)(eq - s) : len;
		if ((name = decode(p, s, nlen, &why)) == NULL) {
			snprintf(err, errlen, "a parameter name %s", why);
			return -1;
		}
		value = eq ? decode(p, eq + 1, len - nlen - 1, &why) :
		    decode(p, "", 0, &why);
		if (value == NULL) {
			snprintf(err, errlen, "%.64s: the value %s", name, why);
			return -1;
		}
		for (i = 0; i < p->n; i++)
			if (strcmp(p->name[i], name) == 0)
				break;
		if (i < p->n) {
			if (!lenient) {
				snprintf(err, errlen, "%.64s: given more than "
				    "once", name);
				return -1;
			}
			p->value[i] = value;	/* the last one wins */
			continue;
		}
		p->name[p->n] = name;
		p->value[p->n] = value;
		p->n++;
	}
	return 0;
}

const char *
api_param(const struct req *r, const char *name)
{
	for (int i = 0; i < r->params.n; i++)
		if (strcmp(r->params.name[i], name) == 0)
			return r->params.value[i];
	return NULL;
}

static bool
listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

static cJSON *
param_details(const char *name)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "parameter", name);
	return d;
}

/* Refuses any parameter the route does not list (comma separated). */
int
api_params_check(struct req *r, const char *allowed)
{
	if (r->route != NULL && r->route->seed)
		return 0;
	for (int i = 0; i < r->params.n; i++) {
		if (listed(allowed, r->params.name[i]))
			continue;
		if (allowed == NULL || *allowed == '\0')
			api_error_details(r, 400, "UNKNOWN_PARAMETER",
			    param_details(r->params.name[i]),
			    "%.64s: this route takes no query parameters",
			    r->params.name[i]);
		else
			api_error_details(r, 400, "UNKNOWN_PARAMETER",
			    param_details(r->params.name[i]), "%.64s: unknown "
			    "parameter; this route takes %s",
			    r->params.name[i], allowed);
		return -1;
	}
	return 0;
}

bool
api_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= API_ID_MAX)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int
api_param_time(struct req *r, const char *name, int64_t def, int64_t *out)
{
	const char *v = api_param(r, name);

	*out = def;
	if (v == NULL)
		return 0;
	if (strcmp(v, "now") == 0) {
		*out = util_now_ns();
		return 0;
	}
	if (util_time_parse(v, out) == -1) {
		api_error_param(r, name, "not an ISO 8601 / RFC 3339 time "
		    "(2026-01-02T03:04:05Z, a date, or now)");
		return -1;
	}
	if (*out < TIME_MIN_NS || *out > TIME_MAX_NS) {
		api_error_param(r, name, "out of range: times go from "
		    "1970-01-01 to 2200-01-01");
		return -1;
	}
	return 0;
}

int
api_param_int(struct req *r, const char *name, int64_t def, int64_t min,
    int64_t max, int64_t *out)
{
	const char *v = api_param(r, name);

	*out = def;
	if (v == NULL)
		return 0;
	if (util_parse_int(v, out) == -1) {
		api_error_param(r, name, "not an integer");
		return -1;
	}
	if (*out < min || *out > max) {
		api_error_param(r, name, "must be from %lld to %lld",
		    (long long)min, (long long)max);
		return -1;
	}
	return 0;
}

int
api_param_double(struct req *r, const char *name, double def, double *out)
{
	const char *v = api_param(r, name);

	*out = def;
	if (v == NULL)
		return 0;
	if (util_parse_double(v, out) == -1 || !isfinite(*out) ||
	    fabs(*out) > 1e9) {
		api_error_param(r, name, "not a number (or beyond 1e9)");
		return -1;
	}
	return 0;
}

int
api_param_duration(struct req *r, const char *name, int64_t def,
    int64_t *out)
{
	const char *v = api_param(r, name);

	*out = def;
	if (v == NULL)
		return 0;
	if (util_parse_duration(v, out) == -1 || *out <= 0) {
		api_error_param(r, name, "not a duration (250ms, 30s, 5m, 2h, "
		    "7d, 1w)");
		return -1;
	}
	if (*out < 1000 || *out > INT64_C(100) * 366 * 86400 * 1000) {
		api_error_param(r, name, "must be from 1s to 100 years");
		return -1;
	}
	return 0;
}

/* choices: "a|b|c"; *out is the index of the one given, or def. */
int
api_param_enum(struct req *r, const char *name, const char *choices,
    int def, int *out)
{
	const char *v = api_param(r, name), *p = choices;
	size_t n;
	int i = 0;

	*out = def;
	if (v == NULL)
		return 0;
	n = strlen(v);
	while (*p != '\0') {
		size_t len = strcspn(p, "|");

		if (len == n && strncasecmp(p, v, n) == 0) {
			*out = i;
			return 0;
		}
		p += len;
		if (*p == '|')
			p++;
		i++;
	}
	api_error_param(r, name, "must be one of %s", choices);
	return -1;
}

int
api_param_unit(struct req *r, char def, char *unit)
{
	int i;

	if (api_param_enum(r, "unit", "F|C", def == 'C' ? 1 : 0, &i) == -1)
		return -1;
	*unit = i == 1 ? 'C' : 'F';
	return 0;
}

/* An optional id (probe_id, device_id); "" when absent. */
int
api_param_id(struct req *r, const char *name, char *out, size_t len)
{
	const char *v = api_param(r, name);

	out[0] = '\0';
	if (v == NULL)
		return 0;
	if (!api_id_valid(v)) {
		api_error_param(r, name, "must be 1 to %d bytes without "
		    "control characters", API_ID_MAX - 1);
		return -1;
	}
	util_strlcpy(out, v, len);
	return 0;
}

/*
 * start_time and end_time: end defaults to now, start to span before
 * end. start must come before end.
 */
int
api_param_range(struct req *r, int64_t span_ns, int64_t *start,
    int64_t *end)
{
	if (api_param_time(r, "end_time", util_now_ns(), end) == -1)
		return -1;
	if (api_param_time(r, "start_time", *end - span_ns, start) == -1)
		return -1;
	if (*start >= *end) {
		api_error_param(r, api_param(r, "start_time") ? "start_time" :
		    "end_time", "start_time must be before end_time");
		return -1;
	}
	return 0;
}
