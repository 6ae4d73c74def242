/*
 * A batch: the readings of one InfluxDB write and everything that must
 * follow once it is stored (events, alerts, device changes, XACK). The
 * main thread fills it, the writer thread writes it, the main thread
 * publishes it; it is never touched by two threads at once.
 *
 * Items point into four buffers by offset, so a batch of thousands of
 * readings is a handful of allocations that are kept from one batch to
 * the next.
 */
#include <stdlib.h>
#include <string.h>

#include "ingest.h"

/* Generations, unique across batches (the main thread's only). */
static uint64_t	batch_gens;

void
batch_init(struct batch *b)
{
	memset(b, 0, sizeof(*b));
	b->gen = ++batch_gens;
	buf_init(&b->lp);
	buf_init(&b->ev);
	buf_init(&b->raw);
	buf_init(&b->keys);
	buf_init(&b->why);
}

void
batch_free(struct batch *b)
{
	free(b->it);
	free(b->alerts);
	free(b->devs);
	buf_free(&b->lp);
	buf_free(&b->ev);
	buf_free(&b->raw);
	buf_free(&b->keys);
	buf_free(&b->why);
	memset(b, 0, sizeof(*b));
}

void
batch_reset(struct batch *b)
{
	b->n = 0;
	b->nalerts = 0;
	b->ndevs = 0;
	b->ndead = 0;
	b->live_n = 0;
	b->live_ndevs = 0;
	b->live_nalerts = 0;
	b->next = NULL;
	b->first_ms = 0;
	b->touched_ms = 0;
	b->gen = ++batch_gens;
	b->oldest_ms = 0;
	buf_reset(&b->lp);
	buf_reset(&b->ev);
	buf_reset(&b->raw);
	buf_reset(&b->keys);
	buf_reset(&b->why);
}

bool
batch_empty(const struct batch *b)
{
	return b->n == 0 && b->nalerts == 0 && b->ndevs == 0;
}

/* The milliseconds part of a stream id: when Redis stored the entry. */
int64_t
batch_id_ms(const char *id)
{
	return strtoll(id, NULL, 10);
}

static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	if ((np = realloc(*p, ncap * size)) == NULL)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

struct bitem *
batch_add(struct batch *b, const char *id)
{
	struct bitem *it;
	int64_t ms;

	if (grow((void **)&b->it, &b->cap, b->n + 1, sizeof(*b->it)) == -1)
		return NULL;
	it = &b->it[b->n++];
	memset(it, 0, sizeof(*it));
	util_strlcpy(it->id, id, sizeof(it->id));
	it->lp_off = (uint32_t)b->lp.len;
	it->ev_off = (uint32_t)b->ev.len;
	it->raw_off = (uint32_t)b->raw.len;
	it->key_off = (uint32_t)b->keys.len;
	if (b->first_ms == 0)
		b->first_ms = util_mono_ms();
	ms = batch_id_ms(id);
	if (b->oldest_ms == 0 || (ms > 0 && ms < b->oldest_ms))
		b->oldest_ms = ms;
	return it;
}

/* Takes back the last item and whatever it appended. */
void
batch_drop_last(struct batch *b)
{
	struct bitem *it;

	if (b->n == 0)
		return;
	it = &b->it[--b->n];
	b->lp.len = it->lp_off;
	b->ev.len = it->ev_off;
	b->raw.len = it->raw_off;
	b->keys.len = it->key_off;
}

int
batch_add_alert(struct batch *b, const struct alert_event *ev)
{
	if (grow((void **)&b->alerts, &b->alerts_cap, b->nalerts + 1,
	    sizeof(*b->alerts)) == -1)
		return -1;
	b->alerts[b->nalerts++] = *ev;
	if (b->first_ms == 0)
		b->first_ms = util_mono_ms();
	return 0;
}

int
batch_add_device(struct batch *b, const struct devev *ev)
{
	if (grow((void **)&b->devs, &b->devs_cap, b->ndevs + 1,
	    sizeof(*b->devs)) == -1)
		return -1;
	b->devs[b->ndevs++] = *ev;
	if (b->first_ms == 0)
		b->first_ms = util_mono_ms();
	return 0;
}

/* InfluxDB refused item i: it goes to the dead-letter stream. */
void
batch_kill(struct batch *b, size_t i, const char *why)
{
	struct bitem *it = &b->it[i];

	if (it->dead)
		return;
	it->dead = true;
	b->ndead++;
	it->why_off = (uint32_t)b->why.len;
	if (buf_printf(&b->why, "%.400s", why) == -1 ||
	    buf_putc(&b->why, '\0') == -1)
		it->why_off = UINT32_MAX;
}
