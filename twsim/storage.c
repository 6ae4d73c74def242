/*
 * storage: the session archive files, as Firebase Storage serves them.
 *
 *   GET /v0/b/{bucket}/o/{url-encoded name}?alt=media   the file
 *   GET /v0/b/{bucket}/o/{url-encoded name}             its metadata
 *
 * Names are archives/{serial}/{archive id}.json (the "filename" field of
 * an archive document); a file exists once its session ended. It holds
 * every row of the session, ordered by time then channel, the channel
 * number as a string, and is served as text/json:
 *
 *   {"serial": "24:0A:C4:1F:6E:10", "type": "signals", "label": ...,
 *    "notes": "", "deviceLabel": ..., "start": "2026-...Z", "end": ...,
 *    "channels": [{"number": "1", "label": "Pit", "units": "F"}, ...],
 *    "events": [], "deviceData": {"serial": ..., "type": ...},
 *    "readings": [["1", 1767225600000, 225.10000610351562, "F"],
 *                 ["2", 1767225600000, null, "F"], ...]}
 *
 * Storage takes the id token as "Authorization: Bearer" or "Firebase".
 */
#include <stdio.h>
#include <string.h>

#include "twsim.h"

#define STORAGE_PATH	"/v0/b/"

/* Splits /v0/b/{bucket}/o/{name}; the serial is the name's second part. */
int
storage_route(struct tw_req *r)
{
	const char *p, *o, *s;
	size_t len;

	if (strncmp(r->path, STORAGE_PATH, strlen(STORAGE_PATH)) != 0)
		return -1;
	p = r->path + strlen(STORAGE_PATH);
	if ((o = strstr(p, "/o/")) == NULL)
		return -1;
	r->ep = EP_STORAGE;
	r->rest = p;		/* bucket/o/name */
	util_strlcpy(r->arg, o + 3, sizeof(r->arg));
	/* archives/{serial}/{id}.json */
	if (strncmp(r->arg, "archives/", 9) == 0) {
		s = r->arg + 9;
		len = strcspn(s, "/");
		if (len > 0 && len < sizeof(r->serial)) {
			memcpy(r->serial, s, len);
			r->serial[len] = '\0';
		}
	}
	return 0;
}

static int
put_str(struct buf *out, const char *key, const char *v)
{
	struct jw j;
	struct buf tmp;
	int rc;

	buf_init(&tmp);
	jw_init(&j, &tmp, false);
	jw_str(&j, v);
	jw_end(&j);
	rc = j.err ? -1 : buf_printf(out, "\"%s\":%s,", key, tmp.data);
	buf_free(&tmp);
	return rc;
}

/* Renders the file of session n (ended: every sample uploaded). */
int
storage_render(const struct tw_world *w, const struct tw_device *d,
    int64_t n, int64_t upl_k, struct buf *out)
{
	int64_t first = timeline_window_first(d, n);
	int64_t last = timeline_window_first(d, n + 1) - 1;
	struct tw_sample s;
	char num[32], ts[UTIL_TIME_LEN];
	char units;
	size_t any = 0;

	if (last > upl_k)
		last = upl_k;
	buf_reset(out);
	if (buf_puts(out, "{") == -1 ||
	    put_str(out, "serial", d->serial) == -1 ||
	    put_str(out, "type", scenario_model_kind(d->model)) == -1 ||
	    put_str(out, "label", d->label) == -1 ||
	    put_str(out, "notes", "") == -1 ||
	    put_str(out, "deviceLabel", d->label) == -1)
		return -1;
	jw_format_time(timeline_sample_ms(w, d, first) * NS_PER_MS, 3, ts,
	    sizeof(ts));
	if (put_str(out, "start", ts) == -1)
		return -1;
	jw_format_time(timeline_sample_ms(w, d, last) * NS_PER_MS, 3, ts,
	    sizeof(ts));
	if (put_str(out, "end", ts) == -1 || buf_puts(out, "\"channels\":[") ==
	    -1)
		return -1;
	for (int ch = 0; ch < d->nchannels; ch++) {
		units = d->ch[ch].cook == COOK_HUMIDITY ? 'H' : d->units;
		snprintf(num, sizeof(num), "%d", d->ch[ch].number);
		if (buf_printf(out, "%s{", ch ? "," : "") == -1 ||
		    put_str(out, "number", num) == -1 ||
		    put_str(out, "label", d->ch[ch].label) == -1 ||
		    buf_printf(out, "\"units\":\"%c\"}", units) == -1)
			return -1;
	}
	if (buf_puts(out, "],\"events\":[],\"deviceData\":{") == -1 ||
	    put_str(out, "serial", d->serial) == -1 ||
	    buf_printf(out, "\"type\":\"%s\"},\"readings\":[",
	    scenario_model_kind(d->model)) == -1)
		return -1;
	for (int64_t k = first; k <= last; k++) {
		long long ms = (long long)timeline_sample_ms(w, d, k);

		if (!timeline_recorded(d, k))
			continue;	/* paused: off */
		for (int ch = 0; ch < d->nchannels; ch++) {
			cook_sample(w, d, ch, k, &s);
			units = d->ch[ch].cook == COOK_HUMIDITY ? 'H' : d->units;
			if (s.present)
				jw_format_double(s.value, num, sizeof(num));
			else
				util_strlcpy(num, "null", sizeof(num));
			if (buf_printf(out, "%s[\"%d\",%lld,%s,\"%c\"]",
			    any++ == 0 ? "" : ",", d->ch[ch].number,
			    ms, num, units) == -1)
				return -1;
		}
	}
	return buf_puts(out, "]}");
}

static int
metadata(struct tw_req *r, const struct tw_device *d, int64_t n,
    size_t size, int64_t upl_ms)
{
	char ts[UTIL_TIME_LEN], num[24], gen[24];
	int64_t created = timeline_archive_created(r->w, d, n);
	struct jw j;

	r->status = 200;
	buf_reset(&r->out);
	jw_init(&j, &r->out, r->pretty);
	jw_obj(&j);
	jw_kstr(&j, "name", r->arg);
	jw_kstr(&j, "bucket", TW_BUCKET);
	snprintf(gen, sizeof(gen), "%lld", (long long)upl_ms * 1000);
	jw_kstr(&j, "generation", gen);
	jw_kstr(&j, "metageneration", "1");
	jw_kstr(&j, "contentType", "text/json");
	jw_format_time(created * NS_PER_MS, 3, ts, sizeof(ts));
	jw_kstr(&j, "timeCreated", ts);
	jw_format_time(upl_ms * NS_PER_MS, 3, ts, sizeof(ts));
	jw_kstr(&j, "updated", ts);
	jw_kstr(&j, "storageClass", "STANDARD");
	snprintf(num, sizeof(num), "%zu", size);
	jw_kstr(&j, "size", num);
	jw_kstr(&j, "contentEncoding", "identity");
	jw_obj_end(&j);
	jw_end(&j);
	return 200;
}

int
storage_get(struct tw_req *r)
{
	struct tw_device *d;
	struct tw_clock c;
	char alt[16], want[160];
	int64_t nwin;

	if (strcmp(r->method, "GET") != 0)
		return req_method_error(r, "GET");
	if (req_bearer(r) == -1)
		return r->status;
	if (strncmp(r->rest, TW_BUCKET "/o/", strlen(TW_BUCKET) + 3) != 0 ||
	    (d = scenario_find_device(r->w, r->serial)) == NULL)
		return req_storage_error(r, 404, "Not Found.");
	if (d->account != r->account)
		return req_storage_error(r, 403, "Permission denied.");
	timeline_at(r->w, d, r->now_ms, &c);
	nwin = timeline_archived(r->w, d, r->now_ms);
	for (int64_t n = 0; n < nwin; n++) {
		fsdoc_archive_file(r->w, d, n, want, sizeof(want));
		if (strcmp(want, r->arg) != 0)
			continue;
		if (storage_render(r->w, d, n, c.upl_k, &r->out) == -1)
			return req_storage_error(r, 500, "Internal error.");
		if (!req_query(r, "alt", alt, sizeof(alt)) ||
		    strcmp(alt, "media") != 0) {
			size_t size = r->out.len;

			return metadata(r, d, n, size,
			    timeline_archive_created(r->w, d, n));
		}
		r->status = 200;
		r->media = true;
		return 200;
	}
	return req_storage_error(r, 404, "Not Found.");
}
