/*
 * test_keys: api.keys and api.keys_file as the API and the stream both
 * read them (common/keys.c): comments, blank lines, CRLF, duplicates,
 * several keys (rotation) and what is refused.
 */
#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "unit.h"

static const char *
write_file(const char *name, const char *text, size_t len)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", unit_tmpdir(), name);
	if ((fp = fopen(path, "w")) == NULL)
		return NULL;
	fwrite(text, 1, len, fp);
	fclose(fp);
	return path;
}

static void
test_keys_comments_blank_crlf(void)
{
	static const char text[] = "#grilld-keys\r\n\r\n   \n  # another "
	    "comment\nkey-one\r\n\tkey-two  \r\n";
	struct keylist kl = { 0 };
	char err[256];

	CHECK_INT(keys_load(&kl, NULL, write_file("k1", text,
	    sizeof(text) - 1), err, sizeof(err)), 0);
	CHECK_INT(kl.n, 2);
	CHECK(keys_match(&kl, "key-one"));
	CHECK(keys_match(&kl, "key-two"));
	/* The comment is no key, whatever way it is written. */
	CHECK(!keys_match(&kl, "#grilld-keys"));
	CHECK(!keys_match(&kl, "# another"));
	CHECK(!keys_match(&kl, ""));
	CHECK(!keys_match(&kl, NULL));
	CHECK(!keys_match(&kl, "key-one\r"));
	keys_clear(&kl);
	CHECK_INT(kl.n, 0);
}

static void
test_keys_rotation_and_duplicates(void)
{
	static const char text[] = "old-key\nnew-key\nold-key\na,b , c\n";
	struct keylist kl = { 0 };
	char err[256];

	CHECK_INT(keys_load(&kl, "new-key, env-key", write_file("k2", text,
	    sizeof(text) - 1), err, sizeof(err)), 0);
	/* new-key and old-key given twice count once. */
	CHECK_INT(kl.n, 6);
	CHECK(keys_match(&kl, "old-key"));
	CHECK(keys_match(&kl, "new-key"));
	CHECK(keys_match(&kl, "env-key"));
	CHECK(keys_match(&kl, "c"));
	CHECK(!keys_match(&kl, "a,b"));
	/* Loading again replaces: the old key is gone after rotation. */
	CHECK_INT(keys_load(&kl, NULL, write_file("k3", "new-key", 7), err,
	    sizeof(err)), 0);
	CHECK_INT(kl.n, 1);
	CHECK(!keys_match(&kl, "old-key"));
	CHECK(keys_match(&kl, "new-key"));
	keys_clear(&kl);
}

static void
test_keys_refused(void)
{
	struct keylist kl = { 0 };
	char err[256], big[KEY_MAX + 2];

	CHECK_INT(keys_load(&kl, NULL, write_file("k4", "sec ret\n", 8), err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "space") != NULL);
	CHECK(strstr(err, "sec") == NULL);	/* never the key itself */
	CHECK_INT(kl.n, 0);
	CHECK_INT(keys_load(&kl, NULL, write_file("k5", "a\0b\n", 4), err,
	    sizeof(err)), -1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(keys_load(&kl, big, NULL, err, sizeof(err)), -1);
	CHECK(strstr(err, "longer") != NULL);
	CHECK_INT(keys_load(&kl, NULL, "/nonexistent/keys", err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "/nonexistent/keys") != NULL);
	/* Empty sources: no keys, no error. */
	CHECK_INT(keys_load(&kl, "", "", err, sizeof(err)), 0);
	CHECK_INT(keys_load(&kl, NULL, write_file("k6", "# only\n\n", 8),
	    err, sizeof(err)), 0);
	CHECK_INT(kl.n, 0);
}

static void
test_keys_many(void)
{
	struct keylist kl = { 0 };
	char text[KEYS_MAX * 16], err[256];
	size_t len = 0;

	for (int i = 0; i < KEYS_MAX + 1; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "key-%d\n", i);
	CHECK_INT(keys_load(&kl, NULL, write_file("k7", text, len), err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "more than") != NULL);
	/* The last line counts even without a newline. */
	len = (size_t)snprintf(text, sizeof(text), "k-a\nk-b");
	CHECK_INT(keys_load(&kl, NULL, write_file("k8", text, len), err,
	    sizeof(err)), 0);
	CHECK(keys_match(&kl, "k-b"));
	keys_clear(&kl);
}

int
main(void)
{
	UNIT_RUN(test_keys_comments_blank_crlf);
	UNIT_RUN(test_keys_rotation_and_duplicates);
	UNIT_RUN(test_keys_refused);
	UNIT_RUN(test_keys_many);
	return unit_done();
}
