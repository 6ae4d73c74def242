/*
 * http: the HTTP/1.1 the stream needs, and no more: GET and HEAD
 * requests (a request line and headers, no body) parsed in place, query
 * parameters, and responses with a length.
 *
 * A request is refused before it is routed when its line or headers are
 * malformed (400), its target too long (414), its headers too many or too
 * large (431, STREAM_REQ_MAX in all), or its version not 1.x (505). No
 * leniency where two readers could see two requests (RFC 9112): a
 * Content-Length given twice, or with Transfer-Encoding, is a 400; an
 * HTTP/1.1 request needs exactly one Host (400), an HTTP/1.0 one at
 * most one. Each refusal closes the connection.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "stream.h"

static bool
is_tchar(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

int
http_urldecode(const char *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int h, l;

			if (i + 2 >= len || (h = util_hexval(s[i + 1])) < 0 ||
			    (l = util_hexval(s[i + 2])) < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		} else if (c == '+')
			c = ' ';
		if (c == '\0' || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static char *
find_crlf(char *p, char *end)
{
	for (; p + 1 < end; p++)
		if (p[0] == '\r' && p[1] == '\n')
			return p;
	return NULL;
}

static int
parse_line(char *line, struct http_req *r, int *status)
{
	char *sp1, *sp2, *q;

	*status = 400;
	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' '))
		return -1;
	*sp1 = *sp2 = '\0';
	r->method = line;
	r->target = sp1 + 1;
	for (char *m = line; *m; m++)
		if (!is_tchar((unsigned char)*m))
			return -1;
	if (strncmp(sp2 + 1, "HTTP/1.", 7) || !isdigit((unsigned char)sp2[8]) ||
	    sp2[9] != '\0') {
		*status = strncmp(sp2 + 1, "HTTP/", 5) ? 400 : 505;
		return -1;
	}
	r->minor = sp2[8] - '0';
	if (r->target[0] != '/')
		return -1;
	for (char *t = r->target; *t; t++)
		if ((unsigned char)*t <= ' ' || *t == 0x7f)
			return -1;
	if ((q = strchr(r->target, '?')) != NULL) {
		r->query = q + 1;
		*status = 414;
		if ((size_t)(q - r->target) >= sizeof(r->path))
			return -1;
		*status = 400;
		if (http_urldecode(r->target, (size_t)(q - r->target), r->path,
		    sizeof(r->path)) == -1)
			return -1;
	} else {
		r->query = "";
		*status = 414;
		if (strlen(r->target) >= sizeof(r->path))
			return -1;
		*status = 400;
		if (http_urldecode(r->target, strlen(r->target), r->path,
		    sizeof(r->path)) == -1)
			return -1;
	}
	/* No way out of the tree, whatever the encoding was. */
	if (strstr(r->path, "/../") || strstr(r->path, "/./") ||
	    (strlen(r->path) >= 3 && strcmp(r->path + strlen(r->path) - 3,
	    "/..") == 0))
		return -1;
	return 0;
}

static int
parse_header(char *line, struct http_req *r, int *status)
{
	char *colon, *v, *end;

	*status = 400;
	if ((colon = strchr(line, ':')) == NULL || colon == line)
		return -1;
	for (char *p = line; p < colon; p++)
		if (!is_tchar((unsigned char)*p))
			return -1;
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	for (char *p = v; *p; p++)
		if (((unsigned char)*p < ' ' && *p != '\t') || *p == 0x7f)
			return -1;
	*status = 431;
	if (r->nhdrs == HTTP_HDRS_MAX)
		return -1;
	r->hdrs[r->nhdrs].name = line;
	r->hdrs[r->nhdrs].value = v;
	r->nhdrs++;
	return 0;
}

int
http_parse(char *buf, size_t len, struct http_req *r, int *status)
{
	char *p = buf, *end = buf + len, *eol;
	const char *conn;
	bool first = true;
	size_t ncl, nte, nhost;

	memset(r, 0, sizeof(*r));
	*status = 400;
	/* Tolerate blank lines before a request (RFC 9112, 2.2). */
	while (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		p += 2;
	/*
	 * Lines are cut in place: nothing is touched until the whole head
	 * is here, so that a request arriving in pieces parses once, whole.
	 */
	if (memmem(p, (size_t)(end - p), "\r\n\r\n", 4) == NULL) {
		if (len < STREAM_REQ_MAX)
			return 0;
		*status = find_crlf(p, end) == NULL ? 414 : 431;
		return -1;
	}
	for (;;) {
		if ((eol = find_crlf(p, end)) == NULL) {
			if (len >= STREAM_REQ_MAX) {
				*status = first ? 414 : 431;
				return -1;
			}
			return 0;
		}
		*eol = '\0';
		if (memchr(p, '\0', (size_t)(eol - p)) != NULL)
			return -1;
		if (first) {
			if (parse_line(p, r, status) == -1)
				return -1;
			first = false;
		} else if (eol == p) {
			p = eol + 2;
			break;
		} else if (parse_header(p, r, status) == -1)
			return -1;
		p = eol + 2;
	}
	r->len = (size_t)(p - buf);
	*status = 400;
	ncl = http_header_count(r, "Content-Length");
	nte = http_header_count(r, "Transfer-Encoding");
	nhost = http_header_count(r, "Host");
	if (ncl > 1 || nte > 1 || (ncl > 0 && nte > 0))
		return -1;		/* smuggling: which length? */
	if (nhost > 1 || (r->minor >= 1 && nhost == 0))
		return -1;
	/* A request with a body is not one the stream answers. */
	if (nte > 0 || ((conn = http_header(r, "Content-Length")) != NULL &&
	    strcmp(conn, "0") != 0)) {
		*status = 413;
		return -1;
	}
	r->keepalive = r->minor >= 1 ?
	    !http_header_has(r, "Connection", "close") :
	    http_header_has(r, "Connection", "keep-alive");
	return 1;
}

const char *
http_header(const struct http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nhdrs; i++)
		if (strcasecmp(r->hdrs[i].name, name) == 0)
			return r->hdrs[i].value;
	return NULL;
}

size_t
http_header_count(const struct http_req *r, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nhdrs; i++)
		if (strcasecmp(r->hdrs[i].name, name) == 0)
			n++;
	return n;
}

/* Whether a comma-separated header holds a token (any case). */
bool
http_header_has(const struct http_req *r, const char *name,
    const char *token)
{
	size_t tl = strlen(token);

	for (size_t i = 0; i < r->nhdrs; i++) {
		const char *v = r->hdrs[i].value;

		if (strcasecmp(r->hdrs[i].name, name) != 0)
			continue;
		while (*v) {
			size_t n;

			while (*v == ' ' || *v == '\t' || *v == ',')
				v++;
			n = strcspn(v, ", \t");
			if (n == tl && strncasecmp(v, token, tl) == 0)
				return true;
			v += n;
		}
	}
	return false;
}

int
http_query(const char *query, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);
	const char *p = query;

	while (p != NULL && *p) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);

		if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == '=')
			return http_urldecode(p + kl + 1, n - kl - 1, out,
			    outlen) == 0 ? 0 : -2;
		if (n == kl && strncmp(p, key, kl) == 0) {
			if (outlen == 0)
				return -1;
			out[0] = '\0';
			return 0;
		}
		p = amp ? amp + 1 : NULL;
	}
	return -1;
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

int
http_response(struct buf *b, int status, const char *type, const char *body,
    size_t len, const char *extra, bool head_only)
{
	if (buf_printf(b, "HTTP/1.1 %d %s\r\nServer: grilld-stream\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", status,
	    http_status_text(status), type, len, extra ? extra : "") == -1)
		return -1;
	if (!head_only && len > 0 && buf_append(b, body, len) == -1)
		return -1;
	return 0;
}

/* grilld's error body: {"status":"error","code":...,"message":...}. */
int
http_error(struct buf *b, int status, const char *code, const char *msg,
    const char *extra, bool head_only)
{
	struct buf body;
	int rc;

	buf_init(&body);
	if (buf_puts(&body, "{\"status\":\"error\",\"code\":\"") == -1 ||
	    buf_json_escape(&body, code) == -1 ||
	    buf_puts(&body, "\",\"message\":\"") == -1 ||
	    buf_json_escape(&body, msg) == -1 || buf_puts(&body, "\"}\n") == -1) {
		buf_free(&body);
		return -1;
	}
	rc = http_response(b, status, "application/json", body.data, body.len,
	    extra, head_only);
	buf_free(&body);
	return rc;
}
