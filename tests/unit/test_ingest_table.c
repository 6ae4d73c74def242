/*
 * The bounded map under the per-probe state: lookups, least recently
 * used out at the bound, deletion while walking.
 */
#include <stdio.h>
#include <string.h>

#include "../../ingest/ingest.h"
#include "unit.h"

static void
test_bound_and_lru(void)
{
	struct table *t = table_new(sizeof(int), 100);
	char key[32];
	bool created;
	int *v;

	CHECK(t != NULL);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "dev-%d/1", i);
		v = table_put(t, key, &created);
		CHECK(v != NULL && created && *v == 0);
		*v = i;
	}
	CHECK_INT(table_count(t), 100);
	/* Touch dev-0: dev-1 is now the least recently used. */
	CHECK(table_get(t, "dev-0/1") != NULL);
	v = table_put(t, "new/1", &created);
	CHECK(created);
	CHECK_INT(table_count(t), 100);
	CHECK_INT(table_evicted(t), 1);
	CHECK(table_get(t, "dev-1/1") == NULL);
	CHECK(table_get(t, "dev-0/1") != NULL);
	v = table_put(t, "dev-5/1", &created);
	CHECK(!created && *v == 5);
	CHECK_STR(table_key(v), "dev-5/1");
	/* Many more keys than the bound: memory stays at the bound. */
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "flood-%d", i);
		CHECK(table_put(t, key, NULL) != NULL);
	}
	CHECK_INT(table_count(t), 100);
	table_free(t);
}

static void
test_delete_while_walking(void)
{
	struct table *t = table_new(sizeof(int), 64);
	char key[32];
	void *v, *next;
	int n = 0;

	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		*(int *)table_put(t, key, NULL) = i;
	}
	for (v = table_first(t); v != NULL; v = next) {
		next = table_next(t, v);
		if (*(int *)v % 2)
			table_del_value(t, v);
		n++;
	}
	CHECK_INT(n, 50);
	CHECK_INT(table_count(t), 25);
	table_del(t, "k0");
	CHECK(table_get(t, "k0") == NULL);
	CHECK(table_get(t, "k2") != NULL);
	table_free(t);
}

int
main(void)
{
	UNIT_RUN(test_bound_and_lru);
	UNIT_RUN(test_delete_while_walking);
	return unit_done();
}
