/*
 * A string-keyed hash map: open addressing, linear probing, FNV-1a.
 * Each entry carries a number and a pointer the caller uses as it likes
 * (the seen marks, devices by serial). Keys are copied. Entry pointers
 * stay valid until the next strmap_put() or strmap_del().
 */
#include <stdlib.h>
#include <string.h>

#include "poller.h"

#define TOMB	((char *)&strmap_tomb)
static char	strmap_tomb;

static uint32_t
strmap_hash(const char *s)
{
	return util_fnv1a32(s, strlen(s));
}

void
strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key != NULL && m->slots[i].key != TOMB)
			free(m->slots[i].key);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static struct strmap_entry *
strmap_find(const struct strmap *m, const char *key, uint32_t h)
{
	size_t mask = m->cap - 1;

	if (m->cap == 0)
		return NULL;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct strmap_entry *e = &m->slots[i];

		if (e->key == NULL)
			return NULL;
		if (e->key != TOMB && e->hash == h && strcmp(e->key, key) == 0)
			return e;
	}
}

struct strmap_entry *
strmap_get(const struct strmap *m, const char *key)
{
	return strmap_find(m, key, strmap_hash(key));
}

static int
strmap_grow(struct strmap *m)
{
	struct strmap_entry *old = m->slots;
	size_t oldcap = m->cap;
	size_t cap = oldcap ? oldcap : 16;

	while ((m->len + 1) * 4 >= cap * 3)
		cap *= 2;
	if ((m->slots = calloc(cap, sizeof(*m->slots))) == NULL) {
		m->slots = old;
		return -1;
	}
	m->cap = cap;
	m->tombs = 0;
	for (size_t i = 0; i < oldcap; i++) {
		struct strmap_entry *e = &old[i];
		size_t j;

		if (e->key == NULL || e->key == TOMB)
			continue;
		for (j = e->hash & (cap - 1); m->slots[j].key != NULL;
		    j = (j + 1) & (cap - 1))
			;
		m->slots[j] = *e;
	}
	free(old);
	return 0;
}

/* Finds or adds the key (num 0, ptr NULL when new); NULL: out of memory. */
struct strmap_entry *
strmap_put(struct strmap *m, const char *key)
{
	uint32_t h = strmap_hash(key);
	struct strmap_entry *e;
	size_t i, mask;
	char *copy;

	if ((e = strmap_find(m, key, h)) != NULL)
		return e;
	if ((m->len + m->tombs + 1) * 4 >= m->cap * 3 && strmap_grow(m) == -1)
		return NULL;
	if ((copy = strdup(key)) == NULL)
		return NULL;
	mask = m->cap - 1;
	for (i = h & mask; m->slots[i].key != NULL && m->slots[i].key != TOMB;
	    i = (i + 1) & mask)
		;
	e = &m->slots[i];
	if (e->key == TOMB)
		m->tombs--;
	e->key = copy;
	e->hash = h;
	e->num = 0;
	e->ptr = NULL;
	m->len++;
	return e;
}

int
strmap_del(struct strmap *m, const char *key)
{
	struct strmap_entry *e = strmap_get(m, key);

	if (e == NULL)
		return -1;
	free(e->key);
	e->key = TOMB;
	e->ptr = NULL;
	m->len--;
	m->tombs++;
	return 0;
}

struct strmap_entry *
strmap_next(const struct strmap *m, size_t *i)
{
	for (; *i < m->cap; (*i)++) {
		struct strmap_entry *e = &m->slots[*i];

		if (e->key != NULL && e->key != TOMB) {
			(*i)++;
			return e;
		}
	}
	return NULL;
}
