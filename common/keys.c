/*
 * keys: api.keys and api.keys_file, parsed once for every daemon
 * (keys.h says the format). Before this file the API and the stream
 * each read the file their own way, and the stream took a comment line
 * for a key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "util.h"

static bool
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* One key, trimmed; "" is skipped. */
static int
add_one(struct keylist *kl, const char *s, size_t len, const char *src,
    char *err, size_t errlen)
{
	while (len > 0 && blank(*s)) {
		s++;
		len--;
	}
	while (len > 0 && blank(s[len - 1]))
		len--;
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f) {
			snprintf(err, errlen, "%s: a key holds a space or a "
			    "control character", src);
			return -1;
		}
	}
	if (len >= KEY_MAX) {
		snprintf(err, errlen, "%s: a key is longer than %d bytes",
		    src, KEY_MAX - 1);
		return -1;
	}
	for (size_t i = 0; i < kl->n; i++)
		if (strlen(kl->key[i]) == len && memcmp(kl->key[i], s,
		    len) == 0)
			return 0;	/* given twice: once is enough */
	if (kl->n == KEYS_MAX) {
		snprintf(err, errlen, "%s: more than %d keys", src, KEYS_MAX);
		return -1;
	}
	if ((kl->key[kl->n] = strndup(s, len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	log_secret(kl->key[kl->n]);
	kl->n++;
	return 0;
}

static int
add_list(struct keylist *kl, const char *p, size_t len, const char *src,
    char *err, size_t errlen)
{
	const char *end = p + len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);

		if (add_one(kl, p, n, src, err, errlen) == -1)
			return -1;
		p += n + (comma != NULL);
	}
	return 0;
}

int
keys_add_list(struct keylist *kl, const char *list, char *err, size_t errlen)
{
	if (list == NULL)
		return 0;
	return add_list(kl, list, strlen(list), "api.keys", err, errlen);
}

int
keys_add_file(struct keylist *kl, const char *path, char *err, size_t errlen)
{
	char *text, src[300];
	size_t n;
	FILE *fp;
	int rc = 0;

	snprintf(src, sizeof(src), "api.keys_file %s", path);
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		return -1;
	}
	if ((text = malloc(KEYS_FILE_MAX + 1)) == NULL) {
		fclose(fp);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = fread(text, 1, KEYS_FILE_MAX + 1, fp);
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		rc = -1;
	} else if (n > KEYS_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", src,
		    KEYS_FILE_MAX);
		rc = -1;
	}
	fclose(fp);
	for (size_t off = 0; rc == 0 && off < n;) {
		const char *line = text + off, *nl;
		size_t len, skip;

		nl = memchr(line, '\n', n - off);
		len = nl ? (size_t)(nl - line) : n - off;
		off += len + (nl != NULL);
		for (skip = 0; skip < len && blank(line[skip]); skip++)
			;
		if (skip < len && line[skip] == '#')
			continue;
		if (memchr(line, '\0', len) != NULL) {
			snprintf(err, errlen, "%s: a NUL byte", src);
			rc = -1;
		} else
			rc = add_list(kl, line, len, src, err, errlen);
	}
	explicit_bzero(text, n < KEYS_FILE_MAX + 1 ? n : KEYS_FILE_MAX + 1);
	free(text);
	return rc;
}

int
keys_load(struct keylist *kl, const char *list, const char *path, char *err,
    size_t errlen)
{
	keys_clear(kl);
	if (keys_add_list(kl, list, err, errlen) == -1 ||
	    (path != NULL && *path != '\0' &&
	    keys_add_file(kl, path, err, errlen) == -1)) {
		keys_clear(kl);
		return -1;
	}
	return 0;
}

void
keys_clear(struct keylist *kl)
{
	for (size_t i = 0; i < kl->n; i++) {
		explicit_bzero(kl->key[i], strlen(kl->key[i]));
		free(kl->key[i]);
		kl->key[i] = NULL;
	}
	kl->n = 0;
}

bool
keys_match(const struct keylist *kl, const char *tok)
{
	bool match = false;

	if (tok == NULL || *tok == '\0')
		return false;
	for (size_t i = 0; i < kl->n; i++)
		match |= util_streq_ct(kl->key[i], tok);
	return match;
}
