/*
 * The ThermoWorks accounts to poll: thermoworks.email with its password
 * (thermoworks.password, which GRILLD_THERMOWORKS_PASSWORD overrides, or
 * the first line of thermoworks.password_file) or, for an account made
 * with Google or Apple sign-in (it has no password), a Firebase refresh
 * token (the first line of thermoworks.refresh_token_file), plus every
 * entry of thermoworks.accounts: {email, password | password_file |
 * refresh_token_file, api_key}. Each account's api_key defaults to
 * thermoworks.api_key.
 *
 * Every password is handed to log_secret() as soon as it is read, so no
 * log line can show it.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poller.h"
#include "rkeys.h"

/*
 * The first line of a file, without its end of line. A file that group or
 * others may read is refused, as every *_file option is (common/conf.c).
 */
char *
account_read_secret(const char *path, char *err, size_t errlen)
{
	char line[1024];
	struct stat st;
	FILE *f;
	size_t n;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s is readable by others (mode %03o); "
		    "chmod 600 it", path, (unsigned)(st.st_mode & 0777));
		fclose(f);
		return NULL;
	}
	if (fgets(line, sizeof(line), f) == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s: empty", path);
		return NULL;
	}
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n == 0) {
		snprintf(err, errlen, "%s: the first line is empty", path);
		return NULL;
	}
	log_secret(line);
	{
		char *copy = strdup(line);

		explicit_bzero(line, sizeof(line));
		if (copy == NULL)
			snprintf(err, errlen, "%s: out of memory", path);
		return copy;
	}
}

static int
account_add(struct poller *p, const char *email, const char *password,
    const char *password_file, const char *refresh_file, const char *api_key,
    const char *where, char *err, size_t errlen)
{
	char *token;
	struct tw_account *a, *x;
	struct buf key;
	char why[256];

	if (email == NULL || email[0] == '\0') {
		snprintf(err, errlen, "%s: an account needs an email", where);
		return -1;
	}
	TAILQ_FOREACH(x, &p->accounts, entry)
		if (strcasecmp(x->email, email) == 0) {
			snprintf(err, errlen, "%s: account %s is configured "
			    "twice", where, email);
			return -1;
		}
	if (api_key == NULL || api_key[0] == '\0') {
		snprintf(err, errlen, "%s: account %s has no api_key (set "
		    "thermoworks.api_key)", where, email);
		return -1;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto oom;
	a->poller = p;
	a->idx = p->naccounts;
	TAILQ_INIT(&a->waiting);
	TAILQ_INIT(&a->devices);
	strmap_init(&a->by_serial);
	if ((password == NULL || password[0] == '\0') &&
	    password_file != NULL && password_file[0] != '\0') {
		if ((a->password = account_read_secret(password_file, why,
		    sizeof(why))) == NULL) {
			snprintf(err, errlen, "%s: account %s: %s", where,
			    email, why);
			account_free(a);
			return -1;
		}
	} else if (password != NULL && password[0] != '\0') {
		log_secret(password);
		a->password = strdup(password);
	} else if (refresh_file != NULL && refresh_file[0] != '\0') {
		/* Read now to report a bad file at start (and -n); kept as
		 * a path, read again at every sign-in. */
		if ((token = account_read_secret(refresh_file, why,
		    sizeof(why))) == NULL ||
		    (a->refresh_file = strdup(refresh_file)) == NULL) {
			snprintf(err, errlen, "%s: account %s: %s", where,
			    email, token == NULL ? why : "out of memory");
			if (token != NULL)
				explicit_bzero(token, strlen(token));
			free(token);
			account_free(a);
			return -1;
		}
		explicit_bzero(token, strlen(token));
		free(token);
	} else {
		snprintf(err, errlen, "%s: account %s has no password (set "
		    "password or password_file, or GRILLD_THERMOWORKS_PASSWORD; "
		    "or refresh_token_file for an account made with Google or "
		    "Apple)", where, email);
		account_free(a);
		return -1;
	}
	log_secret(api_key);
	a->email = strdup(email);
	a->api_key = strdup(api_key);
	buf_init(&key);
	buf_printf(&key, "%s%s", p->cf->redis.prefix,
	    rkey_name(RKEY_LEASE_POLLER));
	for (const char *c = email; *c != '\0'; c++)
		buf_putc(&key, tolower((unsigned char)*c));
	a->lease_key = buf_steal(&key);
	if ((a->password == NULL && a->refresh_file == NULL) ||
	    a->email == NULL || a->api_key == NULL || a->lease_key == NULL) {
		account_free(a);
		goto oom;
	}
	backoff_init(&a->signin_bo, &(struct backoff_conf){
	    .base_ms = 1000, .cap_ms = 5 * 60 * 1000 });
	TAILQ_INSERT_TAIL(&p->accounts, a, entry);
	p->naccounts++;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Every configured account; 0, or -1 with what is wrong in err. */
int
account_load_all(struct poller *p, const struct grilld_conf *cf, char *err,
    size_t errlen)
{
	const struct cnode *list = cf->thermoworks.accounts, *n;
	char where[256];

	if (cf->thermoworks.email != NULL && cf->thermoworks.email[0] != '\0' &&
	    account_add(p, cf->thermoworks.email, cf->thermoworks.password,
	    cf->thermoworks.password_file, cf->thermoworks.refresh_token_file,
	    cf->thermoworks.api_key, "thermoworks.email", err, errlen) == -1)
		return -1;
	if (list == NULL)
		return 0;
	if (list->kind != CNODE_SEQ) {
		cnode_where(list, where, sizeof(where));
		snprintf(err, errlen, "%s: thermoworks.accounts must be a list "
		    "of {email, password or password_file, api_key}", where);
		return -1;
	}
	for (n = list->child; n != NULL; n = n->next) {
		cnode_where(n, where, sizeof(where));
		if (n->kind != CNODE_MAP) {
			snprintf(err, errlen, "%s: an account is a map of "
			    "email, password or password_file, api_key",
			    where);
			return -1;
		}
		for (const struct cnode *k = n->child; k != NULL; k = k->next)
			if (strcmp(k->key, "email") != 0 &&
			    strcmp(k->key, "password") != 0 &&
			    strcmp(k->key, "password_file") != 0 &&
			    strcmp(k->key, "refresh_token_file") != 0 &&
			    strcmp(k->key, "api_key") != 0) {
				cnode_where(k, where, sizeof(where));
				snprintf(err, errlen, "%s: unknown account key "
				    "'%s' (email, password, password_file, "
				    "refresh_token_file, api_key)", where,
				    k->key);
				return -1;
			}
		if (account_add(p, cnode_str(n, "email", NULL),
		    cnode_str(n, "password", NULL),
		    cnode_str(n, "password_file", NULL),
		    cnode_str(n, "refresh_token_file", NULL),
		    cnode_str(n, "api_key", cf->thermoworks.api_key), where,
		    err, errlen) == -1)
			return -1;
	}
	return 0;
}

void
account_free(struct tw_account *a)
{
	struct tw_device *d;

	if (a == NULL)
		return;
	while ((d = TAILQ_FIRST(&a->devices)) != NULL) {
		TAILQ_REMOVE(&a->devices, d, entry);
		device_free(d);
	}
	strmap_free(&a->by_serial);
	fs_split_free(&a->split);
	if (a->password != NULL) {
		explicit_bzero(a->password, strlen(a->password));
		free(a->password);
	}
	if (a->id_token != NULL) {
		explicit_bzero(a->id_token, strlen(a->id_token));
		free(a->id_token);
	}
	if (a->refresh_token != NULL) {
		explicit_bzero(a->refresh_token, strlen(a->refresh_token));
		free(a->refresh_token);
	}
	free(a->refresh_file);
	free(a->email);
	free(a->api_key);
	free(a->lease_key);
	free(a);
}

/* Frees every account of p. */
void
account_free_all(struct poller *p)
{
	struct tw_account *a;

	while ((a = TAILQ_FIRST(&p->accounts)) != NULL) {
		TAILQ_REMOVE(&p->accounts, a, entry);
		account_free(a);
	}
	p->naccounts = 0;
}

/*
 * The daemon's check (daemon_set_check: -n, and every reload before it is
 * installed): the accounts load as they would at start-up, into a
 * scratch poller, so that a missing password, an unreadable password
 * file or a malformed thermoworks.accounts is reported by -n rather than
 * at the next start.
 */
int
account_check(const struct grilld_conf *cf, char *err, size_t errlen)
{
	struct poller *scratch;
	int rc;

	if ((scratch = calloc(1, sizeof(*scratch))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	scratch->cf = cf;
	TAILQ_INIT(&scratch->accounts);
	rc = account_load_all(scratch, cf, err, errlen);
	account_free_all(scratch);
	free(scratch);
	return rc;
}
