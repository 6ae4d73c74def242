/*
 * A stand-in for the parts of civetweb a request handler calls, so that
 * a fuzz target can drive a daemon's real handlers (routing, parameters,
 * bodies, errors) with no socket: one request a call, parsed from the
 * fuzzer's bytes, its answer counted and thrown away.
 *
 * The definitions below take precedence over libcivetweb's for the
 * daemon objects linked into the target (the executable defines them);
 * the pure helpers (mg_get_var, mg_url_decode) forward to the real ones.
 * mg_start2() does not listen: it hands out a context whose request
 * handlers mgfake_handler() finds again.
 *
 * Include it in exactly one file: it defines functions.
 *
 * The request format, close to HTTP/1.1 on the wire:
 *
 *	METHOD SP URI LF
 *	Name: value LF		(at most MG_MAX_HEADERS)
 *	LF
 *	body			(everything left; Content-Length is set to
 *				its length, or -1 without the empty line)
 */
#ifndef GRILLD_MGFAKE_H
#define GRILLD_MGFAKE_H

#include <civetweb.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MGFAKE_HANDLERS	16
#define MGFAKE_LINE	8192

struct mg_connection {
	struct mg_request_info	 ri;
	char			*text;		/* the parsed copy */
	char			*local;		/* the path, decoded */
	const char		*body;
	size_t			 body_len;
	size_t			 body_off;
	size_t			 written;
	int			 status;	/* first status line sent */
};

struct mg_context {
	void			*user_data;
	int			 nhandlers;
	struct {
		char			 uri[128];
		mg_request_handler	 fn;
		void			*arg;
	} h[MGFAKE_HANDLERS];
};

static struct mg_context mgfake_ctx[4];
static int mgfake_nctx;

struct mg_context *
mg_start2(struct mg_init_data *init, struct mg_error_data *error)
{
	struct mg_context *ctx;

	if (mgfake_nctx == (int)(sizeof(mgfake_ctx) / sizeof(mgfake_ctx[0])))
		return NULL;
	ctx = &mgfake_ctx[mgfake_nctx++];
	ctx->user_data = init->user_data;
	return ctx;
}

struct mg_context *
mg_start(const struct mg_callbacks *cb, void *user_data, const char **opts)
{
	struct mg_init_data init;

	memset(&init, 0, sizeof(init));
	init.callbacks = cb;
	init.user_data = user_data;
	init.configuration_options = opts;
	return mg_start2(&init, NULL);
}

void
mg_stop(struct mg_context *ctx)
{
}

void *
mg_get_user_data(const struct mg_context *ctx)
{
	return ctx ? ctx->user_data : NULL;
}

void
mg_set_request_handler(struct mg_context *ctx, const char *uri,
    mg_request_handler fn, void *arg)
{
	if (ctx == NULL || ctx->nhandlers == MGFAKE_HANDLERS)
		return;
	snprintf(ctx->h[ctx->nhandlers].uri, sizeof(ctx->h[0].uri), "%s",
	    uri);
	ctx->h[ctx->nhandlers].fn = fn;
	ctx->h[ctx->nhandlers].arg = arg;
	ctx->nhandlers++;
}

/*
 * The handler civetweb would pick on ctx for path: the longest one
 * registered for the path itself or a folder above it. NULL: none.
 */
static inline mg_request_handler
mgfake_handler(struct mg_context *ctx, const char *path, void **arg)
{
	size_t best = 0;
	int at = -1;

	for (int i = 0; ctx != NULL && i < ctx->nhandlers; i++) {
		size_t n = strlen(ctx->h[i].uri);

		if (strncmp(path, ctx->h[i].uri, n) != 0 || (path[n] != '\0' &&
		    path[n] != '/' && (n == 0 || ctx->h[i].uri[n - 1] != '/')))
			continue;
		if (at == -1 || n > best) {
			best = n;
			at = i;
		}
	}
	if (at == -1)
		return NULL;
	*arg = ctx->h[at].arg;
	return ctx->h[at].fn;
}

const struct mg_request_info *
mg_get_request_info(const struct mg_connection *c)
{
	return &c->ri;
}

const char *
mg_get_header(const struct mg_connection *c, const char *name)
{
	for (int i = 0; i < c->ri.num_headers; i++)
		if (strcasecmp(c->ri.http_headers[i].name, name) == 0)
			return c->ri.http_headers[i].value;
	return NULL;
}

int
mg_read(struct mg_connection *c, void *buf, size_t len)
{
	size_t left = c->body_len - c->body_off;

	if (len > left)
		len = left;
	memcpy(buf, c->body + c->body_off, len);
	c->body_off += len;
	return (int)len;
}

static inline void
mgfake_status(struct mg_connection *c, const char *s, size_t len)
{
	if (c->status == 0 && len > 12 && strncmp(s, "HTTP/1.1 ", 9) == 0)
		c->status = atoi(s + 9);
}

int
mg_write(struct mg_connection *c, const void *buf, size_t len)
{
	mgfake_status(c, buf, len);
	c->written += len;
	return (int)len;
}

int
mg_printf(struct mg_connection *c, const char *fmt, ...)
{
	char line[MGFAKE_LINE];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		mgfake_status(c, line, strlen(line));
	c->written += n > 0 ? (size_t)n : 0;
	return n;
}

int
mg_send_chunk(struct mg_connection *c, const char *buf, unsigned int len)
{
	c->written += len;
	return (int)len;
}

int
mg_send_http_error(struct mg_connection *c, int status, const char *fmt, ...)
{
	if (c->status == 0)
		c->status = status;
	return 0;
}

void
mg_disable_connection_keep_alive(struct mg_connection *c)
{
}

int
mg_get_var(const char *data, size_t data_len, const char *name, char *dst,
    size_t dst_len)
{
	static int (*real)(const char *, size_t, const char *, char *, size_t);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "mg_get_var");
	return real(data, data_len, name, dst, dst_len);
}

/*
 * Parses a request from data (see the top) into c. -1 when the bytes
 * hold no request line. Release with mgfake_conn_free().
 */
static inline int
mgfake_conn(struct mg_connection *c, const uint8_t *data, size_t len,
    const char *remote)
{
	char *p, *nl, *q, *sp;

	memset(c, 0, sizeof(*c));
	if ((c->text = malloc(len + 1)) == NULL)
		return -1;
	memcpy(c->text, data, len);
	c->text[len] = '\0';
	p = c->text;
	if ((nl = memchr(p, '\n', len)) == NULL)
		return -1;
	*nl = '\0';
	if ((sp = strchr(p, ' ')) == NULL)
		return -1;
	*sp = '\0';
	c->ri.request_method = p;
	c->ri.request_uri = sp + 1;
	if ((q = strchr(sp + 1, '?')) != NULL) {
		*q = '\0';
		c->ri.query_string = q + 1;
	}
	c->ri.local_uri_raw = sp + 1;
	if ((c->local = malloc(strlen(sp + 1) + 1)) == NULL)
		return -1;
	mg_url_decode(sp + 1, (int)strlen(sp + 1), c->local,
	    (int)strlen(sp + 1) + 1, 0);
	c->ri.local_uri = c->local;
	c->ri.http_version = "1.1";
	snprintf(c->ri.remote_addr, sizeof(c->ri.remote_addr), "%s", remote);
	c->ri.remote_port = 40000;
	p = nl + 1;
	while ((size_t)(p - c->text) < len && *p != '\n') {
		char *colon;

		if ((nl = strchr(p, '\n')) == NULL)
			nl = c->text + len;
		*nl = '\0';
		if ((colon = strchr(p, ':')) != NULL &&
		    c->ri.num_headers < MG_MAX_HEADERS) {
			*colon++ = '\0';
			while (*colon == ' ')
				colon++;
			c->ri.http_headers[c->ri.num_headers].name = p;
			c->ri.http_headers[c->ri.num_headers].value = colon;
			c->ri.num_headers++;
		}
		p = nl + 1;
	}
	if ((size_t)(p - c->text) < len) {
		c->body = p + 1;
		c->body_len = len - (size_t)(p + 1 - c->text);
		c->ri.content_length = (long long)c->body_len;
	} else {
		c->body = "";
		c->ri.content_length = -1;	/* no length given */
	}
	return 0;
}

/* With MGFAKE_TRACE set, prints each request and its status. */
static inline void
mgfake_conn_free(struct mg_connection *c)
{
	if (c->text != NULL && getenv("MGFAKE_TRACE") != NULL)
		fprintf(stderr, "mgfake: %s %s -> %d (%zu bytes)\n",
		    c->ri.request_method, c->ri.request_uri, c->status,
		    c->written);
	free(c->text);
	free(c->local);
	c->text = c->local = NULL;
}

#endif
