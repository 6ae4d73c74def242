/*
 * influx: InfluxDB 1.x over HTTP (influx.h). Before this file the
 * ingester and the API each set up curl for InfluxDB their own way.
 *
 * A write's answer is kept up to INFLUX_ERR_MAX bytes, for its error
 * text; a query's answer goes whole to the caller's buffer, up to
 * answer_max bytes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <zlib.h>

#include "backoff.h"
#include "influx.h"

#define INFLUX_GZIP_MIN		4096

struct influx {
	CURL		*curl;
	char		*base;		/* influx.url, no trailing '/' */
	char		*write_url;
	char		*dbq;		/* db=<escaped database> */
	char		*db;
	const struct grilld_conf *cf;
	struct influx_opts o;
	int64_t		 timeout_ms;
	char		 traceparent[80];
	struct buf	 body;		/* a write's answer */
	struct buf	*sink;		/* where the answer goes */
	size_t		 sink_max;
	bool		 sink_fail;	/* past sink_max: fail, not cut */
	bool		 timed_out;
	struct buf	 gz;		/* the compressed request */
	char		 retry_after[64];
	char		 errhdr[256];	/* X-Influxdb-Error */
	char		 curlerr[CURL_ERROR_SIZE];
	bool		(*cancel)(void *);
	void		*cancel_arg;
};

static const char *const result_names[] = {
	[INFLUX_OK] = "ok",
	[INFLUX_REJECTED] = "rejected",
	[INFLUX_TOO_LARGE] = "too_large",
	[INFLUX_RETRY] = "retry",
	[INFLUX_NO_DB] = "no_database",
	[INFLUX_DENIED] = "denied",
};

const char *
influx_result_name(enum influx_result r)
{
	return (unsigned)r < ARRAY_LEN(result_names) ? result_names[r] : "?";
}

/* A write's answer is cut at its bound; a query's fails past it. */
static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct influx *in = arg;
	struct buf *b = in->sink;
	size_t len = size * n, room;

	room = b->len < in->sink_max ? in->sink_max - b->len : 0;
	if (in->sink_fail)
		return len <= room && buf_append(b, p, len) == 0 ? len : 0;
	if (room > 0)
		buf_append(b, p, len < room ? len : room);
	return len;
}

static void
header_value(const char *p, size_t len, const char *name, char *out,
    size_t outlen)
{
	size_t nl = strlen(name), i;

	if (len <= nl || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
		return;
	p += nl + 1;
	len -= nl + 1;
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n' ||
	    p[len - 1] == ' '))
		len--;
	i = len < outlen - 1 ? len : outlen - 1;
	memcpy(out, p, i);
	out[i] = '\0';
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct influx *in = arg;

	header_value(p, size * n, "Retry-After", in->retry_after,
	    sizeof(in->retry_after));
	header_value(p, size * n, "X-Influxdb-Error", in->errhdr,
	    sizeof(in->errhdr));
	return size * n;
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct influx *in = arg;

	return in->cancel != NULL && in->cancel(in->cancel_arg) ? 1 : 0;
}

void
influx_set_cancel(struct influx *in, bool (*fn)(void *), void *arg)
{
	in->cancel = fn;
	in->cancel_arg = arg;
	curl_easy_setopt(in->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(in->curl, CURLOPT_XFERINFODATA, in);
	curl_easy_setopt(in->curl, CURLOPT_NOPROGRESS, fn ? 0L : 1L);
}

void
influx_set_timeout(struct influx *in, int64_t ms)
{
	in->timeout_ms = ms;
}

void
influx_set_traceparent(struct influx *in, const char *tp)
{
	util_strlcpy(in->traceparent, tp ? tp : "", sizeof(in->traceparent));
}

static bool
host_is_loopback(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	bool lo = false;

	if (u == NULL)
		return false;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		lo = strcmp(host, "localhost") == 0 ||
		    strncmp(host, "127.", 4) == 0 || strcmp(host, "[::1]") == 0;
	curl_free(host);
	curl_url_cleanup(u);
	return lo;
}

bool
influx_gzip_wanted(const char *mode, const char *url)
{
	if (mode == NULL || strcmp(mode, "off") == 0)
		return false;
	if (strcmp(mode, "on") == 0)
		return true;
	return strcmp(mode, "auto") == 0 && !host_is_loopback(url);
}

struct influx *
influx_new(const struct grilld_conf *cf, const struct influx_opts *o,
    char *err, size_t errlen)
{
	struct influx *in;
	char *db = NULL;
	struct buf b;
	const char *base = cf->influx.url;
	size_t blen = strlen(base);

	if ((in = calloc(1, sizeof(*in))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	in->cf = cf;
	in->o = *o;
	in->timeout_ms = cf->influx.timeout;
	buf_init(&in->body);
	buf_init(&in->gz);
	buf_init(&b);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if ((in->curl = curl_easy_init()) == NULL ||
	    (db = curl_easy_escape(in->curl, cf->influx.database, 0)) == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		goto fail;
	}
	if ((in->base = strndup(base, blen)) == NULL ||
	    buf_printf(&b, "%s/write?db=%s&rp=raw&precision=ns", in->base,
	    db) == -1)
		goto nomem;
	in->write_url = buf_steal(&b);
	if (buf_printf(&b, "db=%s", db) == -1)
		goto nomem;
	in->dbq = buf_steal(&b);
	if ((in->db = strdup(cf->influx.database)) == NULL)
		goto nomem;
	curl_free(db);
	db = NULL;
	curl_easy_setopt(in->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(in->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(in->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(in->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(in->curl, CURLOPT_WRITEDATA, in);
	curl_easy_setopt(in->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(in->curl, CURLOPT_HEADERDATA, in);
	curl_easy_setopt(in->curl, CURLOPT_ERRORBUFFER, in->curlerr);
	if (o->agent != NULL)
		curl_easy_setopt(in->curl, CURLOPT_USERAGENT, o->agent);
	if (cf->influx.ca_file != NULL && cf->influx.ca_file[0] != '\0')
		curl_easy_setopt(in->curl, CURLOPT_CAINFO, cf->influx.ca_file);
	if (cf->influx.username != NULL) {
		curl_easy_setopt(in->curl, CURLOPT_USERNAME, cf->influx.username);
		curl_easy_setopt(in->curl, CURLOPT_PASSWORD,
		    cf->influx.password ? cf->influx.password : "");
	}
	return in;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	curl_free(db);
	buf_free(&b);
	influx_free(in);
	return NULL;
}

void
influx_free(struct influx *in)
{
	if (in == NULL)
		return;
	if (in->curl)
		curl_easy_cleanup(in->curl);
	free(in->base);
	free(in->write_url);
	free(in->dbq);
	free(in->db);
	buf_free(&in->body);
	buf_free(&in->gz);
	free(in);
}

static int
gzip_body(struct influx *in, const char *p, size_t len)
{
	z_stream z;
	int rc;

	buf_reset(&in->gz);
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	if (buf_reserve(&in->gz, deflateBound(&z, len)) == -1) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)in->gz.data;
	z.avail_out = (uInt)in->gz.cap;
	rc = deflate(&z, Z_FINISH);
	in->gz.len = z.total_out;
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

/*
 * One request (a POST when body is not NULL) whose answer goes to sink;
 * returns the HTTP status, 0 for a transport error.
 */
static int
request(struct influx *in, const char *url, const char *body, size_t len,
    bool gz, const char *ctype, struct buf *sink, bool fail_past)
{
	struct curl_slist *h = NULL;
	char tp[96];
	long status = 0;
	CURLcode cc;

	in->sink = sink;
	in->sink_max = fail_past ? in->o.answer_max : INFLUX_ERR_MAX;
	in->sink_fail = fail_past;
	buf_reset(sink);
	in->retry_after[0] = '\0';
	in->errhdr[0] = '\0';
	in->curlerr[0] = '\0';
	in->timed_out = false;
	if (ctype != NULL)
		h = curl_slist_append(h, ctype);
	if (gz)
		h = curl_slist_append(h, "Content-Encoding: gzip");
	if (in->traceparent[0] != '\0') {
		snprintf(tp, sizeof(tp), "traceparent: %s", in->traceparent);
		h = curl_slist_append(h, tp);
	}
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(in->curl, CURLOPT_URL, url);
	curl_easy_setopt(in->curl, CURLOPT_TIMEOUT_MS, (long)in->timeout_ms);
	curl_easy_setopt(in->curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(in->timeout_ms < INFLUX_CONNECT_MS ? in->timeout_ms :
	    INFLUX_CONNECT_MS));
	if (body != NULL) {
		curl_easy_setopt(in->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(in->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(in->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	} else
		curl_easy_setopt(in->curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(in->curl, CURLOPT_HTTPHEADER, h);
	cc = curl_easy_perform(in->curl);
	curl_easy_setopt(in->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	if (cc != CURLE_OK) {
		in->timed_out = cc == CURLE_OPERATION_TIMEDOUT;
		if (cc == CURLE_WRITE_ERROR && fail_past)
			snprintf(in->curlerr, sizeof(in->curlerr), "an answer "
			    "larger than %zu bytes", in->o.answer_max);
		else if (in->curlerr[0] == '\0')
			util_strlcpy(in->curlerr, curl_easy_strerror(cc),
			    sizeof(in->curlerr));
		return 0;
	}
	curl_easy_getinfo(in->curl, CURLINFO_RESPONSE_CODE, &status);
	return (int)status;
}

/* The "error" of a JSON answer, else the header, else the body. */
static void
error_text(struct influx *in, int status, char *msg, size_t len)
{
	cJSON *j, *e;

	if (status == 0) {
		snprintf(msg, len, "%s", in->curlerr);
		return;
	}
	if (in->body.len > 0 && (j = cJSON_ParseWithLength(in->body.data,
	    in->body.len)) != NULL) {
		e = cJSON_GetObjectItemCaseSensitive(j, "error");
		if (cJSON_IsString(e)) {
			snprintf(msg, len, "%s", e->valuestring);
			cJSON_Delete(j);
			return;
		}
		cJSON_Delete(j);
	}
	if (in->errhdr[0] != '\0')
		snprintf(msg, len, "%s", in->errhdr);
	else
		snprintf(msg, len, "HTTP %d %.*s", status,
		    (int)(in->body.len > 200 ? 200 : in->body.len),
		    in->body.data ? in->body.data : "");
}

enum influx_result
influx_write(struct influx *in, const char *body, size_t len, int *status,
    char *msg, size_t msglen, int64_t *retry_after_ms)
{
	bool gz = false;
	int st;

	*retry_after_ms = -1;
	msg[0] = '\0';
	if (in->o.gzip && len >= INFLUX_GZIP_MIN && gzip_body(in, body,
	    len) == 0 && in->gz.len < len) {
		body = in->gz.data;
		len = in->gz.len;
		gz = true;
	}
	st = request(in, in->write_url, body, len, gz,
	    "Content-Type: text/plain; charset=utf-8", &in->body, false);
	*status = st;
	if (st == 204 || st == 200)
		return INFLUX_OK;
	error_text(in, st, msg, msglen);
	if (in->retry_after[0] != '\0')
		*retry_after_ms = backoff_parse_retry_after(in->retry_after,
		    util_now_ns() / NS_PER_S);
	return influx_classify(st, msg);
}

/* A write's answer by its status and error text. */
enum influx_result
influx_classify(int st, const char *msg)
{
	if (st == 204 || st == 200)
		return INFLUX_OK;
	switch (st) {
	case 400:
		return INFLUX_REJECTED;
	case 413:
		return INFLUX_TOO_LARGE;
	case 401:
	case 403:
		return INFLUX_DENIED;
	case 404:
		return strstr(msg, "database not found") ? INFLUX_NO_DB :
		    INFLUX_RETRY;
	case 500:
		return strstr(msg, "retention policy not found") ?
		    INFLUX_NO_DB : INFLUX_RETRY;
	default:
		return INFLUX_RETRY;
	}
}

int
influx_query(struct influx *in, const char *q, const char *params,
    struct buf *out, int *status)
{
	struct buf url, form, answer;
	char *esc;
	int st = 0;

	buf_init(&url);
	buf_init(&form);
	buf_init(&answer);
	if ((esc = curl_easy_escape(in->curl, q, 0)) == NULL ||
	    buf_printf(&form, "q=%s", esc) == -1 ||
	    buf_printf(&url, "%s/query?%s%s%s", in->base, in->dbq,
	    params ? "&" : "", params ? params : "") == -1) {
		snprintf(in->curlerr, sizeof(in->curlerr), "out of memory");
		st = -1;
	} else
		st = request(in, url.data, form.data, form.len,
		    false, "Content-Type: application/x-www-form-urlencoded",
		    out ? out : &answer, true);
	curl_free(esc);
	buf_free(&url);
	buf_free(&form);
	buf_free(&answer);
	if (st == -1)
		st = 0;
	if (status)
		*status = st;
	if (out != NULL && out->len == 0 && st == 0)
		buf_puts(out, in->curlerr);
	return st == 200 ? 0 : -1;
}

int
influx_ping(struct influx *in, int *status)
{
	char url[1024];
	int st;

	snprintf(url, sizeof(url), "%s/ping", in->base);
	st = request(in, url, NULL, 0, false, NULL, &in->body, false);
	if (status)
		*status = st;
	return st == 204 || st == 200 ? 0 : -1;
}

const char *
influx_error(const struct influx *in)
{
	return in->curlerr;
}

bool
influx_timed_out(const struct influx *in)
{
	return in->timed_out;
}

const char *
influx_db(const struct influx *in)
{
	return in->db;
}

const struct grilld_conf *
influx_conf(const struct influx *in)
{
	return in->cf;
}

/*
 * "partial write: unable to parse '<line>': <reason>\nunable to parse
 * '<line>': <reason> dropped=N". The line itself may hold quotes; it
 * ends at the last "': " before the next "unable to parse '" (or the
 * end).
 */
int
influx_parse_rejects(const char *msg,
    void (*fn)(const char *, size_t, const char *, void *), void *arg)
{
	static const char tag[] = "unable to parse '";
	const char *p = msg, *next, *end, *q, *rend;
	char reason[160];
	int n = 0;

	while ((p = strstr(p, tag)) != NULL) {
		p += sizeof(tag) - 1;
		next = strstr(p, tag);
		end = next ? next : p + strlen(p);
		/* The last "': " before the end of this part. */
		rend = NULL;
		for (q = p; q + 3 <= end; q++)
			if (q[0] == '\'' && q[1] == ':' && q[2] == ' ')
				rend = q;
		if (rend == NULL)
			break;
		q = rend + 3;
		end = next ? next : q + strlen(q);
		while (end > q && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		/* The final part carries " dropped=N". */
		if (next == NULL) {
			const char *d = strstr(q, " dropped=");

			if (d != NULL && d < end)
				end = d;
		}
		snprintf(reason, sizeof(reason), "%.*s", (int)(end - q), q);
		if (fn)
			fn(p, (size_t)(rend - p), reason, arg);
		n++;
		p = next ? next : end;
		if (next == NULL)
			break;
	}
	return n;
}
