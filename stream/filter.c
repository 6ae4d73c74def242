/*
 * filter: the devices and probes one client follows.
 *
 * all, or a set of devices; then, optionally, a set of probes, each
 * written "device/probe" (that probe of that device) or "probe" (a probe
 * of that name on any followed device). Device events have no probe and
 * pass whenever their device does. Names follow reading.h: 1 to 63
 * bytes, no control characters, and here no ',' either (the separator of
 * the query form).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

#define NAME2_LEN (2 * STREAM_NAME_LEN)

void
filter_init(struct filter *f)
{
	memset(f, 0, sizeof(*f));
}

void
filter_free(struct filter *f)
{
	free(f->devices);
	free(f->probes);
	filter_init(f);
}

static bool
name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f || *p == ',')
			return false;
	return util_utf8_valid(s, n);
}

static ssize_t
find(const char *arr, size_t n, size_t width, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(arr + i * width, s) == 0)
			return (ssize_t)i;
	return -1;
}

static int
add(char **arr, size_t *n, size_t width, const char *s)
{
	char *na;

	if (find(*arr, *n, width, s) >= 0)
		return 0;
	if ((na = realloc(*arr, (*n + 1) * width)) == NULL)
		return -1;
	*arr = na;
	util_strlcpy(na + *n * width, s, width);
	(*n)++;
	return 0;
}

static int
del(char *arr, size_t *n, size_t width, const char *s)
{
	ssize_t i = find(arr, *n, width, s);

	if (i < 0)
		return -1;
	memmove(arr + (size_t)i * width, arr + ((size_t)i + 1) * width,
	    (*n - (size_t)i - 1) * width);
	(*n)--;
	return 0;
}

int
filter_add_device(struct filter *f, const char *s)
{
	if (!name_ok(s, STREAM_NAME_LEN))
		return -1;
	return add((char **)&f->devices, &f->ndevices, STREAM_NAME_LEN, s);
}

int
filter_del_device(struct filter *f, const char *s)
{
	return del((char *)f->devices, &f->ndevices, STREAM_NAME_LEN, s);
}

int
filter_add_probe(struct filter *f, const char *s)
{
	const char *slash = strchr(s, '/');

	if (!name_ok(s, NAME2_LEN) || (slash != NULL &&
	    (slash == s || slash[1] == '\0' || strchr(slash + 1, '/') ||
	    (size_t)(slash - s) >= STREAM_NAME_LEN ||
	    strlen(slash + 1) >= STREAM_NAME_LEN)) ||
	    (slash == NULL && strlen(s) >= STREAM_NAME_LEN))
		return -1;
	return add((char **)&f->probes, &f->nprobes, NAME2_LEN, s);
}

int
filter_del_probe(struct filter *f, const char *s)
{
	return del((char *)f->probes, &f->nprobes, NAME2_LEN, s);
}

bool
filter_has_device(const struct filter *f, const char *dev)
{
	return find((const char *)f->devices, f->ndevices, STREAM_NAME_LEN,
	    dev) >= 0;
}

size_t
filter_count(const struct filter *f)
{
	return f->ndevices + f->nprobes;
}

bool
filter_match(const struct filter *f, const char *dev, const char *probe)
{
	size_t dl = strlen(dev);

	if (!f->all && !filter_has_device(f, dev))
		return false;
	if (f->nprobes == 0 || probe[0] == '\0')
		return true;
	for (size_t i = 0; i < f->nprobes; i++) {
		const char *p = f->probes[i], *slash = strchr(p, '/');

		if (slash == NULL) {
			if (strcmp(p, probe) == 0)
				return true;
		} else if ((size_t)(slash - p) == dl &&
		    memcmp(p, dev, dl) == 0 && strcmp(slash + 1, probe) == 0)
			return true;
	}
	return false;
}

/* Adds each name of a comma-separated list. */
static int
add_list(struct filter *f, const char *list, bool probes, char *err,
    size_t errlen)
{
	char name[NAME2_LEN];

	while (*list) {
		size_t n = strcspn(list, ",");

		if (n == 0 || n >= sizeof(name)) {
			snprintf(err, errlen, "empty or too long name in the "
			    "%s list", probes ? "probes" : "devices");
			return -1;
		}
		memcpy(name, list, n);
		name[n] = '\0';
		if ((probes ? filter_add_probe(f, name) :
		    filter_add_device(f, name)) == -1) {
			snprintf(err, errlen, "bad %s name \"%.64s\"",
			    probes ? "probe" : "device", name);
			return -1;
		}
		list += n;
		if (*list == ',')
			list++;
	}
	return 0;
}

int
filter_from_query(struct filter *f, const char *device, const char *query,
    size_t max, char *err, size_t errlen)
{
	static const char *const keys[] = { "devices", "probes", "probe_id" };
	char v[4096];

	filter_init(f);
	if (device != NULL && filter_add_device(f, device) == -1) {
		snprintf(err, errlen, "bad device id");
		goto fail;
	}
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		int rc = http_query(query, keys[i], v, sizeof(v));

		if (rc == -2) {
			snprintf(err, errlen, "bad or too long %s", keys[i]);
			goto fail;
		}
		if (rc == 0 && add_list(f, v, i > 0, err, errlen) == -1)
			goto fail;
	}
	f->all = f->ndevices == 0;
	if (filter_count(f) > max) {
		snprintf(err, errlen, "%zu subscriptions, at most %zu allowed",
		    filter_count(f), max);
		goto fail;
	}
	return 0;
fail:
	filter_free(f);
	return -1;
}
