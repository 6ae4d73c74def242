/*
 * cors: Cross-Origin Resource Sharing, for dashboards served from
 * another origin.
 *
 * api.cors_origins: a comma-separated list of origins
 * ("https://grill.example, http://localhost:3000"), or "*" for any.
 * Unset, no CORS header is ever sent and browsers keep pages of other
 * origins out. An allowed origin gets Access-Control-Allow-Origin on
 * every answer (errors included, so that a page can read why), with
 * traceparent and Retry-After exposed; a preflight (OPTIONS with
 * Access-Control-Request-Method) gets the route's methods and the
 * request headers the API reads. Keys travel in the Authorization
 * header, never in cookies, so credentials are not allowed.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"

#define CORS_MAX_AGE	600

bool
api_cors_allowed(const char *list, const char *origin)
{
	size_t n;

	if (list == NULL || *list == '\0' || origin == NULL)
		return false;
	n = strlen(origin);
	for (const char *p = list; *p != '\0';) {
		size_t len;

		while (*p == ' ' || *p == ',')
			p++;
		len = strcspn(p, ", ");
		if (len == 1 && *p == '*')
			return true;
		if (len > 0 && len == n && strncasecmp(p, origin, n) == 0)
			return true;
		p += len;
	}
	return false;
}

static bool
cors_any(const char *list)
{
	return list != NULL && strcmp(list, "*") == 0;
}

void
api_cors_headers(struct req *r, struct buf *h)
{
	if (r->origin == NULL)
		return;
	buf_printf(h, "Access-Control-Allow-Origin: %s\r\n"
	    "Access-Control-Expose-Headers: traceparent, Retry-After, "
	    "Content-Disposition\r\n",
	    cors_any(r->api->cf->api.cors_origins) ? "*" : r->origin);
	if (!cors_any(r->api->cf->api.cors_origins))
		buf_puts(h, "Vary: Origin\r\n");
}

void
api_methods_list(struct buf *h, unsigned m)
{
	if (m & M_GET)
		buf_puts(h, "GET, HEAD, ");
	if (m & M_POST)
		buf_puts(h, "POST, ");
	if (m & M_PUT)
		buf_puts(h, "PUT, ");
	if (m & M_DELETE)
		buf_puts(h, "DELETE, ");
	buf_puts(h, "OPTIONS");
}

/* OPTIONS: 204 with Allow, and the CORS answer for an allowed origin. */
int
api_cors_preflight(struct req *r, unsigned methods)
{
	struct buf h;
	int rc;

	buf_init(&h);
	buf_puts(&h, "Allow: ");
	api_methods_list(&h, methods);
	buf_puts(&h, "\r\n");
	if (r->origin != NULL) {
		buf_puts(&h, "Access-Control-Allow-Methods: ");
		api_methods_list(&h, methods);
		buf_printf(&h, "\r\nAccess-Control-Allow-Headers: "
		    "Authorization, Content-Type, traceparent, tracestate\r\n"
		    "Access-Control-Max-Age: %d\r\n", CORS_MAX_AGE);
	}
	rc = api_reply(r, 204, "text/plain", "", 0, h.data);
	buf_free(&h);
	return rc;
}
