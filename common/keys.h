/*
 * keys: the API keys, read one way by every daemon that checks them
 * (grilld-api for writes and reads, grilld-stream for streams).
 *
 * Sources: api.keys (a comma-separated list) and api.keys_file. The file
 * holds keys one a line, or several on a line separated by commas;
 * blank lines and lines whose first non-blank character is '#' are
 * skipped, a CR before the newline and blanks around a key are ignored,
 * and a key given twice counts once. Several keys are how keys rotate:
 * add the new one, move the clients, remove the old one, SIGHUP (the
 * API) or restart.
 *
 * A key is 1 to KEY_MAX - 1 bytes with no space or control character;
 * anything else, or more than KEYS_MAX keys, is an error naming the
 * source (never the key). Every key is handed to log_secret(). A list
 * owns its strings; keys_clear() wipes and frees them. Matching is in
 * constant time against every key (no early exit).
 */
#ifndef GRILLD_KEYS_H
#define GRILLD_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define KEYS_MAX	256
#define KEY_MAX		256
#define KEYS_FILE_MAX	(64 * 1024)	/* bytes of api.keys_file */

struct keylist {
	size_t	 n;
	char	*key[KEYS_MAX];
};

/* Adds a comma-separated list; -1 with err. */
int	 keys_add_list(struct keylist *, const char *, char *, size_t);
/* Adds the keys of a file (the format above); -1 with err. */
int	 keys_add_file(struct keylist *, const char *, char *, size_t);
/* Both sources (either may be NULL or ""); the list is cleared first. */
int	 keys_load(struct keylist *, const char *, const char *, char *,
	    size_t);
void	 keys_clear(struct keylist *);
/* Whether tok is one of the keys, in constant time. */
bool	 keys_match(const struct keylist *, const char *);

#endif
