/*
 * A bounded map from string keys to fixed-size values, least recently
 * used first out: the per-probe, per-device and per-alert state of the
 * ingester lives in these, so its memory stays bounded however many
 * devices a stream names.
 *
 * Chained hashing (FNV-1a) over a power-of-two bucket array sized for
 * the bound, an intrusive LRU list, one allocation per entry (the value,
 * then the key). Used by the main thread only.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"

struct tent {
	struct tent	*hnext;		/* bucket chain */
	struct tent	*prev, *next;	/* LRU: head is the most recent */
	uint32_t	 hash;
	char		*key;
	alignas(max_align_t) unsigned char val[];
};

struct table {
	struct tent	**bucket;
	size_t		 mask;
	struct tent	*head, *tail;
	size_t		 n, max, valsize;
	uint64_t	 evicted;
};

static uint32_t
fnv1a(const char *s)
{
	return util_fnv1a32(s, strlen(s));
}

static struct tent *
ent_of(void *val)
{
	return (struct tent *)((unsigned char *)val - offsetof(struct tent,
	    val));
}

struct table *
table_new(size_t valsize, size_t max)
{
	struct table *t;
	size_t nb = 16;

	if (max == 0 || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	while (nb < max && nb < ((size_t)1 << 30))
		nb <<= 1;
	if ((t->bucket = calloc(nb, sizeof(*t->bucket))) == NULL) {
		free(t);
		return NULL;
	}
	t->mask = nb - 1;
	t->max = max;
	t->valsize = valsize;
	return t;
}

static void
lru_unlink(struct table *t, struct tent *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		t->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		t->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push(struct table *t, struct tent *e)
{
	e->prev = NULL;
	e->next = t->head;
	if (t->head)
		t->head->prev = e;
	t->head = e;
	if (t->tail == NULL)
		t->tail = e;
}

static void
ent_remove(struct table *t, struct tent *e)
{
	struct tent **pp = &t->bucket[e->hash & t->mask];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(t, e);
	t->n--;
	free(e);
}

void
table_free(struct table *t)
{
	struct tent *e, *next;

	if (t == NULL)
		return;
	for (e = t->head; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	free(t->bucket);
	free(t);
}

static struct tent *
lookup(struct table *t, const char *key, uint32_t h)
{
	struct tent *e;

	for (e = t->bucket[h & t->mask]; e != NULL; e = e->hnext)
		if (e->hash == h && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

void *
table_get(struct table *t, const char *key)
{
	struct tent *e = lookup(t, key, fnv1a(key));

	if (e == NULL)
		return NULL;
	if (t->head != e) {
		lru_unlink(t, e);
		lru_push(t, e);
	}
	return e->val;
}

void *
table_put(struct table *t, const char *key, bool *created)
{
	uint32_t h = fnv1a(key);
	struct tent *e;
	size_t klen;

	if (created)
		*created = false;
	if ((e = lookup(t, key, h)) != NULL) {
		if (t->head != e) {
			lru_unlink(t, e);
			lru_push(t, e);
		}
		return e->val;
	}
	if (t->n >= t->max) {
		ent_remove(t, t->tail);
		t->evicted++;
	}
	klen = strlen(key);
	if ((e = calloc(1, sizeof(*e) + t->valsize + klen + 1)) == NULL)
		return NULL;
	e->hash = h;
	e->key = (char *)e->val + t->valsize;
	memcpy(e->key, key, klen + 1);
	e->hnext = t->bucket[h & t->mask];
	t->bucket[h & t->mask] = e;
	lru_push(t, e);
	t->n++;
	if (created)
		*created = true;
	return e->val;
}

void
table_del(struct table *t, const char *key)
{
	struct tent *e = lookup(t, key, fnv1a(key));

	if (e != NULL)
		ent_remove(t, e);
}

void
table_del_value(struct table *t, void *val)
{
	ent_remove(t, ent_of(val));
}

const char *
table_key(const void *val)
{
	return ent_of((void *)(uintptr_t)val)->key;
}

size_t
table_count(const struct table *t)
{
	return t->n;
}

uint64_t
table_evicted(const struct table *t)
{
	return t->evicted;
}

void *
table_first(struct table *t)
{
	return t->head ? t->head->val : NULL;
}

void *
table_next(struct table *t, void *val)
{
	struct tent *e = ent_of(val)->next;

	return e ? e->val : NULL;
}
