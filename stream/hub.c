/*
 * hub: who follows what, and fan-out.
 *
 * An index from device id to the clients that follow that device, plus
 * the list of clients that follow every device, so that an event touches
 * only its own followers however many clients are connected. A client is
 * in each list through a struct hub_link that remembers its slot: leaving
 * a list is O(1).
 *
 * The loop thread alone uses it: no lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "stream.h"

#define HUB_BUCKETS 4096

struct hub_list {
	struct hub_link	**v;
	size_t		  n, cap;
};

struct hub_dev {
	struct hub_dev	*next;
	struct hub_list	 list;
	char		 name[STREAM_NAME_LEN];
};

struct hub_link {
	struct client	*c;
	struct hub_dev	*dev;		/* NULL: the all-devices list */
	size_t		 idx;
};

struct hub {
	struct hub_dev	*buckets[HUB_BUCKETS];
	struct hub_list	 all;
};

static uint32_t
hash(const char *s)
{
	return util_fnv1a32(s, strlen(s));
}

struct hub *
hub_new(void)
{
	struct hub *h;

	return calloc(1, sizeof(*h));
}

void
hub_free(struct hub *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < HUB_BUCKETS; i++) {
		struct hub_dev *d, *next;

		for (d = h->buckets[i]; d != NULL; d = next) {
			next = d->next;
			free(d->list.v);
			free(d);
		}
	}
	free(h->all.v);
	free(h);
}

static struct hub_dev *
dev_find(struct hub *h, const char *name, bool create)
{
	uint32_t b = hash(name) % HUB_BUCKETS;
	struct hub_dev *d;

	for (d = h->buckets[b]; d != NULL; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	if (!create || (d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	util_strlcpy(d->name, name, sizeof(d->name));
	d->next = h->buckets[b];
	h->buckets[b] = d;
	return d;
}

static void
dev_drop(struct hub *h, struct hub_dev *d)
{
	struct hub_dev **pp = &h->buckets[hash(d->name) % HUB_BUCKETS];

	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			free(d->list.v);
			free(d);
			return;
		}
	}
}

static int
link_add(struct hub *h, struct client *c, struct hub_dev *d)
{
	struct hub_list *l = d ? &d->list : &h->all;
	struct hub_link *k, **nv;

	if (c->nlinks == c->linkcap) {
		size_t ncap = c->linkcap ? c->linkcap * 2 : 2;

		if ((nv = realloc(c->links, ncap * sizeof(*nv))) == NULL)
			return -1;
		c->links = nv;
		c->linkcap = ncap;
	}
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 4;

		if ((nv = realloc(l->v, ncap * sizeof(*nv))) == NULL)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	if ((k = malloc(sizeof(*k))) == NULL)
		return -1;
	k->c = c;
	k->dev = d;
	k->idx = l->n;
	l->v[l->n++] = k;
	c->links[c->nlinks++] = k;
	return 0;
}

static void
link_del(struct hub *h, struct hub_link *k)
{
	struct hub_list *l = k->dev ? &k->dev->list : &h->all;

	l->v[k->idx] = l->v[--l->n];
	l->v[k->idx]->idx = k->idx;
	if (k->dev != NULL && l->n == 0)
		dev_drop(h, k->dev);
	free(k);
}

static void
unlink_all(struct hub *h, struct client *c)
{
	for (size_t i = 0; i < c->nlinks; i++)
		link_del(h, c->links[i]);
	c->nlinks = 0;
}

/* Links the client to the lists its filter names. */
static int
relink(struct hub *h, struct client *c)
{
	unlink_all(h, c);
	if (c->filter.all)
		return link_add(h, c, NULL);
	for (size_t i = 0; i < c->filter.ndevices; i++) {
		struct hub_dev *d = dev_find(h, c->filter.devices[i], true);

		if (d == NULL || link_add(h, c, d) == -1) {
			if (d != NULL && d->list.n == 0)
				dev_drop(h, d);
			unlink_all(h, c);
			return -1;
		}
	}
	return 0;
}

int
hub_attach(struct hub *h, struct client *c, struct filter *f)
{
	int rc;

	filter_free(&c->filter);
	c->filter = *f;
	filter_init(f);
	rc = relink(h, c);
	c->linked = rc == 0;
	return rc;
}

void
hub_detach(struct hub *h, struct client *c)
{
	unlink_all(h, c);
	c->linked = false;
	filter_free(&c->filter);
	free(c->links);
	c->links = NULL;
	c->linkcap = 0;
}

/* Adds or removes the names of a JSON array of strings. */
static int
apply(struct filter *f, const cJSON *arr, bool add, bool probes, char *err,
    size_t errlen)
{
	const cJSON *v;

	if (arr == NULL)
		return 0;
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "%s must be an array of strings",
		    probes ? "probes" : "devices");
		return -1;
	}
	cJSON_ArrayForEach(v, arr) {
		int rc;

		if (!cJSON_IsString(v)) {
			snprintf(err, errlen, "%s must be an array of strings",
			    probes ? "probes" : "devices");
			return -1;
		}
		if (!probes && strcmp(v->valuestring, "*") == 0) {
			f->all = add;
			continue;
		}
		if (add)
			rc = probes ? filter_add_probe(f, v->valuestring) :
			    filter_add_device(f, v->valuestring);
		else
			rc = probes ? filter_del_probe(f, v->valuestring) :
			    filter_del_device(f, v->valuestring);
		if (rc == -1 && add) {
			snprintf(err, errlen, "bad %s name",
			    probes ? "probe" : "device");
			return -1;
		}
	}
	return 0;
}

int
filter_dup(struct filter *dst, const struct filter *src)
{
	filter_init(dst);
	dst->all = src->all;
	for (size_t i = 0; i < src->ndevices; i++)
		if (filter_add_device(dst, src->devices[i]) == -1)
			goto fail;
	for (size_t i = 0; i < src->nprobes; i++)
		if (filter_add_probe(dst, src->probes[i]) == -1)
			goto fail;
	return 0;
fail:
	filter_free(dst);
	return -1;
}

/*
 * Subscribing to devices while following all of them narrows the client
 * to those devices; the device "*" widens it to all again. Unsubscribing from the
 * last device leaves a client that follows nothing.
 */
int
hub_change(struct hub *h, struct client *c, bool add, const cJSON *devices,
    const cJSON *probes, char *err, size_t errlen)
{
	size_t max = (size_t)client_conf(c)->stream.max_subscriptions;
	struct filter nf;
	int rc = -1;

	if (filter_dup(&nf, &c->filter) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (add && nf.all && cJSON_GetArraySize(devices) > 0)
		nf.all = false;	/* "*" among them sets it again */
	if (apply(&nf, devices, add, false, err, errlen) == -1 ||
	    apply(&nf, probes, add, true, err, errlen) == -1)
		goto out;
	if (filter_count(&nf) > max) {
		snprintf(err, errlen, "%zu subscriptions, at most %zu allowed",
		    filter_count(&nf), max);
		rc = -2;
		goto out;
	}
	filter_free(&c->filter);
	c->filter = nf;
	filter_init(&nf);
	if ((rc = relink(h, c)) == -1)
		snprintf(err, errlen, "out of memory");
out:
	filter_free(&nf);
	return rc;
}

void
hub_publish(struct hub *h, struct sev *e)
{
	struct hub_dev *d;

	/* A client closing here stays linked until the loop reaps it. */
	if ((d = dev_find(h, e->device, false)) != NULL)
		for (size_t i = 0; i < d->list.n; i++)
			client_offer(d->list.v[i]->c, e);
	for (size_t i = 0; i < h->all.n; i++)
		client_offer(h->all.v[i]->c, e);
}
