/*
 * page: everything the stream serves that is not a stream: the live
 * page from stream.page_dir, its charting library, and the endpoints
 * every grilld daemon answers (/metrics, /health/live, /health/ready),
 * with the same bodies as common/admin.c gives the civetweb daemons.
 *
 *	/			page_dir/index.html
 *	/<file>			page_dir/<file> (letters, digits, . _ -)
 *	/vendor/uplot/<file>	page_dir/node_modules/uplot/dist/<file>,
 *				installed by stream/www/deps.sh (npm)
 *
 * Files are read when asked for (they are few and small): an edited page
 * shows on the next load.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "stream.h"

#define PAGE_FILE_MAX	(4 * 1024 * 1024)

static const struct {
	const char	*ext;
	const char	*type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".webmanifest", "application/manifest+json" },
};

static bool
safe_name(const char *s)
{
	if (*s == '\0' || *s == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		    *s == '-'))
			return false;
	return true;
}

static const char *
type_of(const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		size_t el = strlen(types[i].ext);

		if (nl > el && strcmp(name + nl - el, types[i].ext) == 0)
			return types[i].type;
	}
	return NULL;
}

static int
serve_file(const char *path, const char *type, struct buf *out, bool head)
{
	struct buf body;
	char chunk[8192];
	size_t n;
	FILE *fp;
	int rc;

	if ((fp = fopen(path, "rb")) == NULL)
		return http_error(out, 404, "NOT_FOUND", errno == ENOENT ?
		    "no such file (is the page installed? make deps)" :
		    "cannot read that file", NULL, head);
	buf_init(&body);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (body.len + n > PAGE_FILE_MAX ||
		    buf_append(&body, chunk, n) == -1) {
			fclose(fp);
			buf_free(&body);
			return http_error(out, 500, "INTERNAL", "file too large",
			    NULL, head);
		}
	}
	fclose(fp);
	rc = http_response(out, 200, type, body.data, body.len,
	    "Cache-Control: no-cache\r\n", head);
	buf_free(&body);
	return rc;
}

bool
page_ready(struct stream *st, struct buf *why)
{
	bool redis = replay_redis_ok(st->replay), nng = st->nloops > 0;

	/* Subscribed: every loop's socket is connected to the feed, and
	 * the feed reads the events stream (or, with stream.feed nng, the
	 * loops are connected to the ingester). */
	for (int i = 0; i < st->nloops; i++)
		nng = nng && loop_subscribed(st->loops[i]);
	if (st->feed != NULL)
		nng = nng && feed_ok(st->feed);
	buf_printf(why, "\"feed\":\"%s\",\"nng\":\"%s\",\"redis\":\"%s\","
	    "\"clients\":%zu", st->feed != NULL ? "redis" : "nng",
	    nng ? "subscribed" : "not connected", redis ? "up" : "down",
	    stream_count(st));
	return nng && redis && !daemon_stopping();
}

static int
serve_health(struct stream *st, const char *path, struct buf *out,
    bool head)
{
	struct buf body, why;
	int64_t age;
	int status, rc;

	buf_init(&body);
	buf_init(&why);
	if (strcmp(path, "/health/live") == 0) {
		age = daemon_heartbeat_age_ms();
		status = age < DAEMON_STALL_MS ? 200 : 503;
		buf_printf(&body, "{\"status\":\"%s\",\"loop_age_ms\":%lld}\n",
		    status == 200 ? "ok" : "stalled", (long long)age);
	} else {
		bool ready = page_ready(st, &why);

		status = ready ? 200 : 503;
		buf_printf(&body, "{\"status\":\"%s\",%s}\n", ready ? "ready" :
		    "not_ready", why.data ? why.data : "");
	}
	rc = http_response(out, status, "application/json",
	    body.data ? body.data : "", body.len,
	    "Cache-Control: no-store\r\n", head);
	buf_free(&body);
	buf_free(&why);
	return rc;
}

int
page_serve(struct stream *st, struct http_req *r, struct buf *out, bool head)
{
	const char *dir = st->cf->stream.page_dir, *name, *type;
	char path[1024];
	struct buf m;
	int rc;

	if (strcmp(r->path, "/metrics") == 0) {
		buf_init(&m);
		if (metric_render(&m) == -1) {
			buf_free(&m);
			return http_error(out, 500, "INTERNAL", "out of memory",
			    NULL, head);
		}
		rc = http_response(out, 200, "text/plain; version=0.0.4; "
		    "charset=utf-8", m.data ? m.data : "", m.len,
		    "Cache-Control: no-store\r\n", head);
		buf_free(&m);
		return rc;
	}
	if (strcmp(r->path, "/health/live") == 0 ||
	    strcmp(r->path, "/health/ready") == 0)
		return serve_health(st, r->path, out, head);
	if (strcmp(r->path, "/") == 0)
		name = "index.html";
	else if (strncmp(r->path, "/vendor/uplot/", 14) == 0 &&
	    safe_name(r->path + 14)) {
		name = r->path + 14;
		if ((type = type_of(name)) == NULL)
			goto notfound;
		snprintf(path, sizeof(path), "%s/node_modules/uplot/dist/%s",
		    dir, name);
		return serve_file(path, type, out, head);
	} else if (safe_name(r->path + 1))
		name = r->path + 1;
	else
		goto notfound;
	if ((type = type_of(name)) == NULL)
		goto notfound;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return serve_file(path, type, out, head);
notfound:
	return http_error(out, 404, "NOT_FOUND", "no such route", NULL, head);
}
