#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "conf.h"
#include "log.h"
#include "util.h"

#define CONF_FILE_MAX	(1 << 20)
#define CONF_DEPTH_MAX	32

static void
err_add(struct conf_errs *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
err_add(struct conf_errs *e, const char *fmt, ...)
{
	va_list ap;

	if (e->n == CONF_ERRS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg[e->n], sizeof(e->msg[0]), fmt, ap);
	va_end(ap);
	e->n++;
}

/* --- the YAML tree ------------------------------------------------ */

static void
cnode_free(struct cnode *n)
{
	while (n != NULL) {
		struct cnode *next = n->next;

		cnode_free(n->child);
		free(n->key);
		free(n->value);
		free(n);
		n = next;
	}
}

const struct cnode *
cnode_get(const struct cnode *map, const char *key)
{
	const struct cnode *c;

	if (map == NULL || map->kind != CNODE_MAP)
		return NULL;
	for (c = map->child; c != NULL; c = c->next)
		if (strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

const char *
cnode_str(const struct cnode *map, const char *key, const char *def)
{
	const struct cnode *c = cnode_get(map, key);

	return c != NULL && c->kind == CNODE_SCALAR ? c->value : def;
}

void
cnode_where(const struct cnode *n, char *out, size_t len)
{
	snprintf(out, len, "%s:%d", n && n->file ? n->file : "?",
	    n ? n->line : 0);
}

struct yparse {
	yaml_parser_t	 p;
	const char	*file;
	struct conf_errs *errs;
};

static struct cnode *yaml_node(struct yparse *, yaml_event_t *, int);

static int
yaml_next(struct yparse *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->p, ev)) {
		err_add(y->errs, "%s:%zu:%zu: YAML: %s%s%s", y->file,
		    y->p.problem_mark.line + 1, y->p.problem_mark.column + 1,
		    y->p.problem ? y->p.problem : "syntax error",
		    y->p.context ? " " : "",
		    y->p.context ? y->p.context : "");
		return -1;
	}
	return 0;
}

/* Builds the node that begins with ev (which it consumes). */
static struct cnode *
yaml_node(struct yparse *y, yaml_event_t *ev, int depth)
{
	struct cnode *n, **tail;
	yaml_event_t sub;

	if (depth > CONF_DEPTH_MAX) {
		err_add(y->errs, "%s:%zu: nested deeper than %d levels",
		    y->file, ev->start_mark.line + 1, CONF_DEPTH_MAX);
		yaml_event_delete(ev);
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		yaml_event_delete(ev);
		return NULL;
	}
	n->file = y->file;
	n->line = (int)ev->start_mark.line + 1;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n->kind = CNODE_SCALAR;
		n->value = strndup((const char *)ev->data.scalar.value,
		    ev->data.scalar.length);
		/* An unquoted ~ or null is no value at all. */
		if (n->value != NULL && ev->data.scalar.plain_implicit &&
		    (strcmp(n->value, "~") == 0 ||
		    strcmp(n->value, "null") == 0)) {
			n->value[0] = '\0';
		}
		yaml_event_delete(ev);
		if (n->value == NULL)
			goto fail;
		return n;
	case YAML_ALIAS_EVENT:
		err_add(y->errs, "%s:%d: YAML aliases are not supported",
		    y->file, n->line);
		yaml_event_delete(ev);
		goto fail;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		break;
	default:
		err_add(y->errs, "%s:%d: unexpected YAML event", y->file,
		    n->line);
		yaml_event_delete(ev);
		goto fail;
	}
	n->kind = ev->type == YAML_MAPPING_START_EVENT ? CNODE_MAP : CNODE_SEQ;
	yaml_event_delete(ev);
	tail = &n->child;
	for (;;) {
		char *key = NULL;
		struct cnode *c;

		if (yaml_next(y, &sub) == -1)
			goto fail;
		if (sub.type == YAML_SEQUENCE_END_EVENT ||
		    sub.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&sub);
			return n;
		}
		if (n->kind == CNODE_MAP) {
			if (sub.type != YAML_SCALAR_EVENT) {
				err_add(y->errs, "%s:%zu: a key must be a "
				    "plain word", y->file,
				    sub.start_mark.line + 1);
				yaml_event_delete(&sub);
				goto fail;
			}
			key = strndup((const char *)sub.data.scalar.value,
			    sub.data.scalar.length);
			yaml_event_delete(&sub);
			if (key == NULL || yaml_next(y, &sub) == -1) {
				free(key);
				goto fail;
			}
		}
		if ((c = yaml_node(y, &sub, depth + 1)) == NULL) {
			free(key);
			goto fail;
		}
		c->key = key;
		if (key != NULL && cnode_get(n, key) != NULL) {
			err_add(y->errs, "%s:%d: %s: duplicate key", y->file,
			    c->line, key);
			cnode_free(c);
			goto fail;
		}
		*tail = c;
		tail = &c->next;
	}
fail:
	cnode_free(n);
	return NULL;
}

static struct cnode *
yaml_load(const char *file, struct conf_errs *errs, mode_t *mode)
{
	struct yparse y = { .file = file, .errs = errs };
	struct cnode *root = NULL;
	yaml_event_t ev;
	struct stat st;
	FILE *fp;

	if ((fp = fopen(file, "r")) == NULL) {
		err_add(errs, "%s: %s", file, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) == -1) {
		err_add(errs, "%s: %s", file, strerror(errno));
		fclose(fp);
		return NULL;
	}
	if (st.st_size > CONF_FILE_MAX) {
		err_add(errs, "%s: larger than %d bytes", file, CONF_FILE_MAX);
		fclose(fp);
		return NULL;
	}
	*mode = st.st_mode;
	yaml_parser_initialize(&y.p);
	yaml_parser_set_input_file(&y.p, fp);
	for (;;) {
		if (yaml_next(&y, &ev) == -1)
			break;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_MAPPING_START_EVENT ||
		    ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT) {
			if (root != NULL) {
				err_add(errs, "%s:%zu: only one YAML document "
				    "is read", file, ev.start_mark.line + 1);
				yaml_event_delete(&ev);
				cnode_free(root);
				root = NULL;
				break;
			}
			if ((root = yaml_node(&y, &ev, 0)) == NULL)
				break;
			continue;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&y.p);
	fclose(fp);
	if (errs->n > 0) {
		cnode_free(root);
		return NULL;
	}
	if (root == NULL) {	/* an empty file: all defaults */
		if ((root = calloc(1, sizeof(*root))) != NULL) {
			root->kind = CNODE_MAP;
			root->file = file;
		}
	} else if (root->kind == CNODE_SCALAR && root->value[0] == '\0') {
		root->kind = CNODE_MAP;
	} else if (root->kind != CNODE_MAP) {
		err_add(errs, "%s:%d: the file must be a map of sections "
		    "(redis:, api:, ...)", file, root->line);
		cnode_free(root);
		return NULL;
	}
	return root;
}

/* --- options --------------------------------------------------------- */

void
conf_init(struct conf *cf, const struct conf_opt *opts, size_t n,
    void *target, size_t size)
{
	memset(cf, 0, sizeof(*cf));
	pthread_mutex_init(&cf->swap, NULL);
	cf->opts = opts;
	cf->nopts = n;
	cf->target = target;
	cf->target_size = size;
	memset(target, 0, size);
}

const struct conf_opt *
conf_find(const struct conf *cf, const char *name)
{
	for (size_t i = 0; i < cf->nopts; i++)
		if (strcmp(cf->opts[i].name, name) == 0)
			return &cf->opts[i];
	return NULL;
}

void
conf_env_name(const char *name, char *out, size_t len)
{
	size_t i = 0;

	i = util_strlcpy(out, "GRILLD_", len);
	for (; *name != '\0' && i + 1 < len; name++, i++)
		out[i] = *name == '.' ? '_' :
		    (char)(*name >= 'a' && *name <= 'z' ? *name - 32 : *name);
	if (i < len)
		out[i] = '\0';
}

static bool
is_stringy(enum conf_type t)
{
	return t == CONF_STR || t == CONF_SECRET;
}

/*
 * The password of a URL's userinfo, as written ("scheme://user:password@
 * host/..."): returns its offset in v and sets *len, or -1 for none.
 */
static ssize_t
url_credential(const char *v, size_t *len)
{
	const char *p, *end, *at = NULL, *colon;

	if (v == NULL || (p = strstr(v, "://")) == NULL)
		return -1;
	p += 3;
	end = p + strcspn(p, "/?#");
	for (const char *q = p; q < end; q++)
		if (*q == '@')
			at = q;
	if (at == NULL || (colon = memchr(p, ':', (size_t)(at - p))) == NULL)
		return -1;
	p = colon + 1;
	if ((*len = (size_t)(at - p)) == 0)
		return -1;
	return p - v;
}

/* Hands the password in a URL-valued option to log_secret(). */
static void
url_secret(const char *v)
{
	ssize_t off;
	size_t len;
	char *c;

	if ((off = url_credential(v, &len)) == -1 ||
	    (c = strndup(v + off, len)) == NULL)
		return;
	log_secret(c);
	explicit_bzero(c, len);
	free(c);
}

static void
fmt_bound(const struct conf_opt *o, double v, char *out, size_t len)
{
	if (o->type == CONF_DURATION)
		util_format_duration((int64_t)v, out, len);
	else if (o->type == CONF_SIZE)
		util_format_size((int64_t)v, out, len);
	else
		snprintf(out, len, "%g", v);
}

static bool
choice_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;

	while (*p != '\0') {
		size_t len = strcspn(p, "|");

		if (len == n && strncmp(p, v, n) == 0)
			return true;
		p += len;
		if (*p == '|')
			p++;
	}
	return false;
}

/*
 * Parses text for option o into the slot of target. Returns 0, or -1 with
 * a message (without the key) in why.
 */
static int
opt_parse(const struct conf_opt *o, const char *text, void *target,
    char *why, size_t wlen)
{
	char *slot = (char *)target + o->off;
	double num = 0;
	int64_t i64 = 0;
	bool b;

	switch (o->type) {
	case CONF_STR:
	case CONF_SECRET: {
		char *copy;

		if (o->choices != NULL && !choice_ok(o->choices, text)) {
			snprintf(why, wlen, "'%s' is not one of %s",
			    o->type == CONF_SECRET ? "********" : text,
			    o->choices);
			return -1;
		}
		if ((copy = strdup(text)) == NULL) {
			snprintf(why, wlen, "out of memory");
			return -1;
		}
		free(*(char **)slot);
		*(char **)slot = copy;
		return 0;
	}
	case CONF_INT:
		if (util_parse_int(text, &i64) == -1) {
			snprintf(why, wlen, "'%s' is not an integer", text);
			return -1;
		}
		num = (double)i64;
		break;
	case CONF_DOUBLE:
		if (util_parse_double(text, &num) == -1) {
			snprintf(why, wlen, "'%s' is not a number", text);
			return -1;
		}
		break;
	case CONF_BOOL:
		if (strcmp(text, "true") == 0 || strcmp(text, "yes") == 0 ||
		    strcmp(text, "on") == 0 || strcmp(text, "1") == 0)
			b = true;
		else if (strcmp(text, "false") == 0 ||
		    strcmp(text, "no") == 0 || strcmp(text, "off") == 0 ||
		    strcmp(text, "0") == 0)
			b = false;
		else {
			snprintf(why, wlen, "'%s' is not true or false", text);
			return -1;
		}
		*(bool *)slot = b;
		return 0;
	case CONF_DURATION:
		if (util_parse_duration(text, &i64) == -1) {
			snprintf(why, wlen, "'%s' is not a duration (write "
			    "250ms, 30s, 5m, 2h or 7d)", text);
			return -1;
		}
		num = (double)i64;
		break;
	case CONF_SIZE:
		if (util_parse_size(text, &i64) == -1) {
			snprintf(why, wlen, "'%s' is not a size (write 512, "
			    "64KiB, 16MiB or 1GiB)", text);
			return -1;
		}
		num = (double)i64;
		break;
	case CONF_TREE:
		snprintf(why, wlen, "must be a YAML list or map");
		return -1;
	}
	if (o->min < o->max && (num < o->min || num > o->max)) {
		char lo[32], hi[32];

		fmt_bound(o, o->min, lo, sizeof(lo));
		fmt_bound(o, o->max, hi, sizeof(hi));
		snprintf(why, wlen, "%s is %s the %s %s", text,
		    num < o->min ? "below" : "above",
		    num < o->min ? "minimum" : "maximum",
		    num < o->min ? lo : hi);
		return -1;
	}
	/* Integers as parsed: a double holds 53 bits, not 64. */
	if (o->type == CONF_DOUBLE)
		*(double *)slot = num;
	else
		*(int64_t *)slot = i64;
	return 0;
}

int
conf_set(struct conf *cf, const char *name, const char *text, char *why,
    size_t wlen)
{
	const struct conf_opt *o = conf_find(cf, name);

	if (o == NULL) {
		snprintf(why, wlen, "unknown key");
		return -1;
	}
	/* A string in the target belongs to the snapshot: not ours to free. */
	if (is_stringy(o->type)) {
		snprintf(why, wlen, "strings are set by conf_load()");
		return -1;
	}
	return opt_parse(o, text, cf->target, why, wlen);
}

static void
target_free_opts(const struct conf_opt *opts, size_t nopts, void *target)
{
	for (size_t i = 0; i < nopts; i++)
		if (is_stringy(opts[i].type)) {
			char **slot = (char **)((char *)target + opts[i].off);

			free(*slot);
			*slot = NULL;
		}
}

/* Levenshtein distance, for "did you mean". */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (lb >= ARRAY_LEN(row) || la >= 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0]++;

		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

static void
unknown_key(const struct conf *cf, const char *name, const struct cnode *n,
    struct conf_errs *errs)
{
	const char *best = NULL;
	size_t bd = 3;
	char where[300];

	for (size_t i = 0; i < cf->nopts; i++) {
		size_t d = distance(name, cf->opts[i].name);

		if (d < bd) {
			bd = d;
			best = cf->opts[i].name;
		}
	}
	cnode_where(n, where, sizeof(where));
	if (best != NULL)
		err_add(errs, "%s: unknown key '%s' (did you mean '%s'?)",
		    where, name, best);
	else
		err_add(errs, "%s: unknown key '%s'", where, name);
}

/*
 * GRILLD_* variables that name no option: a typo the environment would
 * otherwise ignore. make run's own (GRILLD_RUN_*) and the tests'
 * (GRILLD_TOP) are not options and are left alone.
 */
void
conf_env_unknown(const struct conf *cf, struct conf_errs *warns)
{
	char name[128], env[128], best[128];

	warns->n = 0;
	for (char **e = environ; *e != NULL; e++) {
		size_t n = strcspn(*e, "="), bd = 3;
		const struct conf_opt *hit = NULL;

		if (n < 8 || n >= sizeof(name) || strncmp(*e, "GRILLD_", 7) != 0)
			continue;
		memcpy(name, *e, n);
		name[n] = '\0';
		if (strncmp(name, "GRILLD_RUN_", 11) == 0 ||
		    strcmp(name, "GRILLD_TOP") == 0)
			continue;
		best[0] = '\0';
		for (size_t i = 0; i < cf->nopts && hit == NULL; i++) {
			size_t d;

			conf_env_name(cf->opts[i].name, env, sizeof(env));
			if (strcmp(env, name) == 0)
				hit = &cf->opts[i];
			else if ((d = distance(name + 7, env + 7)) < bd) {
				bd = d;
				util_strlcpy(best, env, sizeof(best));
			}
		}
		if (hit != NULL && hit->type == CONF_TREE)
			err_add(warns, "environment %s: %s is a list; it can "
			    "only be set in the file", name, hit->name);
		else if (hit == NULL && best[0] != '\0')
			err_add(warns, "environment %s names no option (did "
			    "you mean %s?)", name, best);
		else if (hit == NULL)
			err_add(warns, "environment %s names no option", name);
	}
}

/* Joins a list of scalars with commas, for list-valued string options. */
static char *
seq_join(const struct cnode *seq)
{
	struct buf b;

	buf_init(&b);
	for (const struct cnode *c = seq->child; c != NULL; c = c->next) {
		if (c->kind != CNODE_SCALAR) {
			buf_free(&b);
			return NULL;
		}
		if ((b.len > 0 && buf_putc(&b, ',') == -1) ||
		    buf_puts(&b, c->value) == -1) {
			buf_free(&b);
			return NULL;
		}
	}
	return buf_steal(&b);
}

static void
apply_file(struct conf *cf, const struct cnode *root, void *target,
    struct conf_errs *errs)
{
	char name[128], why[200], where[300];

	for (const struct cnode *sec = root->child; sec; sec = sec->next) {
		if (sec->kind != CNODE_MAP) {
			cnode_where(sec, where, sizeof(where));
			if (sec->kind == CNODE_SCALAR && sec->value[0] == '\0')
				continue;	/* "api:" with nothing under */
			err_add(errs, "%s: %s: a section must hold keys", where,
			    sec->key);
			continue;
		}
		for (const struct cnode *kv = sec->child; kv; kv = kv->next) {
			const struct conf_opt *o;
			char *joined = NULL;
			const char *text;

			snprintf(name, sizeof(name), "%s.%s", sec->key,
			    kv->key);
			cnode_where(kv, where, sizeof(where));
			if ((o = conf_find(cf, name)) == NULL) {
				unknown_key(cf, name, kv, errs);
				continue;
			}
			if (o->type == CONF_TREE) {
				*(const struct cnode **)((char *)target +
				    o->off) = kv;
				util_strlcpy(cf->origin[o - cf->opts], where, sizeof(cf->origin[0]));
				continue;
			}
			if (kv->kind == CNODE_SEQ && is_stringy(o->type))
				text = joined = seq_join(kv);
			else if (kv->kind == CNODE_SCALAR)
				text = kv->value;
			else
				text = NULL;
			if (text == NULL) {
				err_add(errs, "%s: %s: must be a single value",
				    where, name);
				continue;
			}
			if (opt_parse(o, text, target, why, sizeof(why)) == -1)
				err_add(errs, "%s: %s: %s", where, name, why);
			else
				util_strlcpy(cf->origin[o - cf->opts], where, sizeof(cf->origin[0]));
			free(joined);
		}
	}
}

/* Keys that hold a secret inside a tree option (accounts, webhooks). */
static const char *const tree_secret_keys[] = {
	"password", "secret", "api_key", "token", "keys",
};

static const struct cnode *
tree_secret(const struct cnode *n)
{
	const struct cnode *hit;

	for (; n != NULL; n = n->next) {
		if (n->kind == CNODE_SCALAR && n->key != NULL &&
		    n->value[0] != '\0')
			for (size_t i = 0; i < ARRAY_LEN(tree_secret_keys); i++)
				if (strcmp(n->key, tree_secret_keys[i]) == 0)
					return n;
		if ((hit = tree_secret(n->child)) != NULL)
			return hit;
	}
	return NULL;
}

/*
 * The first node of the file that holds a secret: the value of a secret
 * option, a password in a URL, or a password, secret, key or token in a
 * tree. The simulator's trees are test fixtures, not credentials, and
 * are not searched. NULL when the file holds none.
 */
static const struct cnode *
file_secret(const struct conf *cf, const struct cnode *root)
{
	const struct conf_opt *o;
	const struct cnode *hit;
	size_t len;
	char name[128];

	for (const struct cnode *sec = root->child; sec; sec = sec->next)
		for (const struct cnode *kv = sec->kind == CNODE_MAP ?
		    sec->child : NULL; kv; kv = kv->next) {
			snprintf(name, sizeof(name), "%s.%s", sec->key,
			    kv->key);
			if ((o = conf_find(cf, name)) == NULL)
				continue;
			if (o->type == CONF_SECRET && (kv->kind != CNODE_SCALAR ||
			    kv->value[0] != '\0'))
				return kv;
			if (o->type == CONF_STR && kv->kind == CNODE_SCALAR &&
			    url_credential(kv->value, &len) != -1)
				return kv;
			if (o->type == CONF_TREE && o->who != CONF_TWSIM &&
			    (hit = tree_secret(kv->child)) != NULL)
				return hit;
		}
	return NULL;
}

/*
 * A file that holds a secret must not be readable by others: refused
 * when group or others may read it, as the secret files are.
 */
static void
check_file_mode(const struct conf *cf, const char *file,
    const struct cnode *root, mode_t mode, struct conf_errs *errs)
{
	const struct cnode *n;
	char where[300];

	if ((mode & 044) == 0 || (n = file_secret(cf, root)) == NULL)
		return;
	cnode_where(n, where, sizeof(where));
	err_add(errs, "%s: holds a secret (%s at %s) and is readable by "
	    "others (mode %03o); chmod 600 %s, or pass the secret in the "
	    "environment or a *_file", file, n->key, where,
	    (unsigned)(mode & 0777), file);
}

static void
apply_env(struct conf *cf, void *target, struct conf_errs *errs)
{
	char env[128], why[200];

	for (size_t i = 0; i < cf->nopts; i++) {
		const struct conf_opt *o = &cf->opts[i];
		const char *v;

		if (o->type == CONF_TREE)
			continue;
		conf_env_name(o->name, env, sizeof(env));
		if ((v = getenv(env)) == NULL)
			continue;
		if (opt_parse(o, v, target, why, sizeof(why)) == -1)
			err_add(errs, "environment %s: %s: %s", env, o->name,
			    why);
		else
			util_strlcpy(cf->origin[i], env, sizeof(cf->origin[0]));
	}
}

/*
 * key_file options: when "x.y_file" names a file and "x.y" is unset, the
 * file's first line becomes the value. A file others can read is refused.
 * api.keys_file is a list that common/keys.c reads whole (comments, a key
 * a line): here its mode is checked, and nothing is copied.
 */
static void
apply_secret_files(struct conf *cf, void *target, struct conf_errs *errs)
{
	char base[128];

	for (size_t i = 0; i < cf->nopts; i++) {
		const struct conf_opt *o = &cf->opts[i], *dst;
		const char *path;
		char **slot, line[4096];
		size_t n = strlen(o->name);
		struct stat st;
		bool whole = strcmp(o->name, "api.keys_file") == 0;
		FILE *fp;

		if (n < 6 || strcmp(o->name + n - 5, "_file") != 0 ||
		    !is_stringy(o->type))
			continue;
		path = *(char **)((char *)target + o->off);
		snprintf(base, sizeof(base), "%.*s", (int)(n - 5), o->name);
		if (path == NULL || *path == '\0' ||
		    (dst = conf_find(cf, base)) == NULL)
			continue;
		slot = (char **)((char *)target + dst->off);
		if (!whole && *slot != NULL && **slot != '\0')
			continue;	/* the value itself wins */
		if ((fp = fopen(path, "r")) == NULL) {
			err_add(errs, "%s: %s: %s", o->name, path,
			    strerror(errno));
			continue;
		}
		if (fstat(fileno(fp), &st) == 0 && (st.st_mode & 077) != 0 &&
		    dst->type == CONF_SECRET) {
			err_add(errs, "%s: %s is readable by others (mode %03o);"
			    " chmod 600 it", o->name, path,
			    (unsigned)(st.st_mode & 0777));
			fclose(fp);
			continue;
		}
		if (whole) {
			fclose(fp);
			continue;
		}
		if (fgets(line, sizeof(line), fp) == NULL)
			line[0] = '\0';
		fclose(fp);
		line[strcspn(line, "\r\n")] = '\0';
		free(*slot);
		if ((*slot = strdup(line)) == NULL) {
			err_add(errs, "%s: %s: out of memory", o->name, path);
			continue;
		}
		util_strlcpy(cf->origin[dst - cf->opts], path,
		    sizeof(cf->origin[0]));
	}
}

/*
 * Secrets systemd passes with LoadCredential= (systemd.exec(5)): under
 * DynamicUser= the daemon cannot read a root-owned file, but the service
 * manager copies each credential into $CREDENTIALS_DIRECTORY, readable
 * by the service alone. A secret option still unset takes the first line
 * of the credential named after it ("thermoworks.password"), or of
 * "grilld_thermoworks.password", the name a whole folder loaded with
 * LoadCredential=grilld:/etc/grilld/credentials gives it.
 */
static void
apply_credentials(struct conf *cf, void *target, struct conf_errs *errs)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	static const char *const prefixes[] = { "", "grilld_" };

	if (dir == NULL || *dir == '\0')
		return;
	for (size_t i = 0; i < cf->nopts; i++) {
		const struct conf_opt *o = &cf->opts[i];
		char **slot, path[4096], line[4096];
		FILE *fp = NULL;

		if (o->type != CONF_SECRET)
			continue;
		slot = (char **)((char *)target + o->off);
		if (*slot != NULL && **slot != '\0')
			continue;	/* the file or the environment wins */
		for (size_t f = 0; f < ARRAY_LEN(prefixes) && fp == NULL; f++) {
			snprintf(path, sizeof(path), "%s/%s%s", dir, prefixes[f],
			    o->name);
			fp = fopen(path, "r");
		}
		if (fp == NULL)
			continue;
		if (fgets(line, sizeof(line), fp) == NULL)
			line[0] = '\0';
		fclose(fp);
		line[strcspn(line, "\r\n")] = '\0';
		free(*slot);
		*slot = strdup(line);
		explicit_bzero(line, sizeof(line));
		if (*slot == NULL) {
			err_add(errs, "%s: %s: out of memory", o->name, path);
			continue;
		}
		util_strlcpy(cf->origin[i], "credential", sizeof(cf->origin[0]));
	}
}

/* --- snapshots ---------------------------------------------------- */

/*
 * One configuration, never changed once built. Reference counts rather
 * than a reader generation scheme: readers are few and long-lived (a
 * daemon's threads hold the snapshot they started with; a reload is rare),
 * so one atomic increment and decrement per hold costs nothing, and a
 * holder needs no cooperation (no quiescent state to announce) from the
 * other threads. The mutex is held only to swap the current pointer and,
 * in conf_hold(), across reading it and counting the new holder: without
 * it a reader could load the pointer, lose the processor while the loader
 * swaps and drops the last reference, and then count itself on freed
 * memory.
 */
struct conf_snap {
	atomic_uint		 refs;
	const struct conf_opt	*opts;		/* to free the strings */
	size_t			 nopts;
	char			(*origin)[64];
	struct cnode		*root;		/* tree options point into it */
	char			*file;		/* the nodes point to it */
	max_align_t		 values[];	/* the target's struct */
};

static struct conf_snap *
snap_of(const void *values)
{
	return (struct conf_snap *)(void *)((char *)(uintptr_t)values -
	    offsetof(struct conf_snap, values));
}

static void
snap_free(struct conf_snap *s)
{
	target_free_opts(s->opts, s->nopts, s->values);
	cnode_free(s->root);
	free(s->origin);
	free(s->file);
	free(s);
}

const void *
conf_hold(struct conf *cf)
{
	struct conf_snap *s;

	pthread_mutex_lock(&cf->swap);
	if ((s = cf->cur) != NULL)
		atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&cf->swap);
	return s ? s->values : NULL;
}

void
conf_drop(const void *values)
{
	struct conf_snap *s;

	if (values == NULL)
		return;
	s = snap_of(values);
	if (atomic_fetch_sub(&s->refs, 1) == 1)
		snap_free(s);
}

/* Makes s current (the conf's own reference) and drops the one before. */
static void
snap_install(struct conf *cf, struct conf_snap *s)
{
	struct conf_snap *old;

	atomic_init(&s->refs, 1);
	pthread_mutex_lock(&cf->swap);
	old = cf->cur;
	cf->cur = s;
	pthread_mutex_unlock(&cf->swap);
	/* The loading thread's copy, and what it reads through cf. */
	memcpy(cf->target, s->values, cf->target_size);
	cf->origin = s->origin;
	cf->file = s->file;
	if (old != NULL)
		conf_drop(old->values);
}

int
conf_load(struct conf *cf, const char *file, struct conf_errs *errs)
{
	char (*origin)[64] = NULL, (*old_origin)[64] = cf->origin;
	struct conf_snap *s;
	struct cnode *root = NULL;
	char why[200], *fcopy = NULL;
	mode_t mode = 0;
	void *t;

	errs->n = 0;
	/* The nodes point to the file name: they get a copy of their own. */
	if ((s = calloc(1, sizeof(*s) + cf->target_size)) == NULL ||
	    (origin = calloc(cf->nopts, sizeof(*origin))) == NULL ||
	    (file != NULL && (fcopy = strdup(file)) == NULL)) {
		free(s);
		free(origin);
		err_add(errs, "out of memory");
		return -1;
	}
	t = s->values;
	s->opts = cf->opts;
	s->nopts = cf->nopts;
	cf->origin = origin;	/* the apply_*() functions write into it */
	for (size_t i = 0; i < cf->nopts; i++) {
		const struct conf_opt *o = &cf->opts[i];

		util_strlcpy(origin[i], "default", sizeof(origin[0]));
		if (o->def != NULL && o->type != CONF_TREE &&
		    opt_parse(o, o->def, t, why, sizeof(why)) == -1)
			err_add(errs, "built-in default of %s: %s", o->name,
			    why);
	}
	if (fcopy != NULL && (root = yaml_load(fcopy, errs, &mode)) != NULL) {
		check_file_mode(cf, fcopy, root, mode, errs);
		apply_file(cf, root, t, errs);
	}
	apply_env(cf, t, errs);
	apply_secret_files(cf, t, errs);
	apply_credentials(cf, t, errs);
	s->origin = origin;
	s->root = root;
	s->file = fcopy;
	if (errs->n > 0) {
		cf->origin = old_origin;
		snap_free(s);
		return -1;
	}
	for (size_t i = 0; i < cf->nopts; i++)
		if (cf->opts[i].type == CONF_SECRET)
			log_secret(*(char **)((char *)t + cf->opts[i].off));
		else if (cf->opts[i].type == CONF_STR)
			url_secret(*(char **)((char *)t + cf->opts[i].off));
	snap_install(cf, s);
	return 0;
}

/* Drops the conf's reference: holders keep their snapshot until they drop. */
void
conf_free(struct conf *cf)
{
	struct conf_snap *old;

	pthread_mutex_lock(&cf->swap);
	old = cf->cur;
	cf->cur = NULL;
	pthread_mutex_unlock(&cf->swap);
	if (cf->target != NULL)
		memset(cf->target, 0, cf->target_size);
	cf->origin = NULL;
	cf->file = NULL;
	if (old != NULL)
		conf_drop(old->values);
}

static void
value_text(const struct conf_opt *o, const void *target, char *out,
    size_t len)
{
	const char *slot = (const char *)target + o->off;

	switch (o->type) {
	case CONF_STR: {
		const char *v = *(char *const *)slot ? *(char *const *)slot : "";
		ssize_t off;
		size_t n;

		/* "redis://:********@host": a password in a URL is a secret. */
		if ((off = url_credential(v, &n)) != -1)
			snprintf(out, len, "%.*s********%s", (int)off, v,
			    v + off + n);
		else
			snprintf(out, len, "%s", v);
		break;
	}
	case CONF_SECRET:
		snprintf(out, len, "%s",
		    *(char *const *)slot && **(char *const *)slot ?
		    "********" : "");
		break;
	case CONF_INT:
		snprintf(out, len, "%lld", (long long)*(const int64_t *)slot);
		break;
	case CONF_DOUBLE:
		snprintf(out, len, "%g", *(const double *)slot);
		break;
	case CONF_BOOL:
		snprintf(out, len, "%s", *(const bool *)slot ? "true" : "false");
		break;
	case CONF_DURATION:
		util_format_duration(*(const int64_t *)slot, out, len);
		break;
	case CONF_SIZE:
		util_format_size(*(const int64_t *)slot, out, len);
		break;
	case CONF_TREE:
		snprintf(out, len, "%s", *(const struct cnode *const *)slot ?
		    "(structured)" : "");
		break;
	}
}

/* Quotes a scalar when YAML would read it as something else. */
static void
yaml_scalar(FILE *fp, const char *v)
{
	if (*v == '\0' || strpbrk(v, ":#{}[],&*!|>'\"%@`") != NULL ||
	    v[0] == ' ' || v[0] == '-' || v[strlen(v) - 1] == ' ') {
		fputc('"', fp);
		for (; *v != '\0'; v++) {
			if (*v == '"' || *v == '\\')
				fputc('\\', fp);
			fputc(*v, fp);
		}
		fputc('"', fp);
	} else
		fputs(v, fp);
}

void
conf_print(const struct conf *cf, unsigned who, FILE *fp)
{
	char v[512];

	for (size_t i = 0; i < cf->nopts; i++) {
		const struct conf_opt *o = &cf->opts[i];

		if ((o->who & who) == 0)
			continue;
		value_text(o, cf->target, v, sizeof(v));
		fprintf(fp, "%s: ", o->name);
		yaml_scalar(fp, v);
		fprintf(fp, "  # %s\n", cf->origin ? cf->origin[i] : "");
	}
}

static void
who_names(unsigned who, char *out, size_t len)
{
	static const char *const names[] = { "poller", "ingest", "api",
		"stream", "twsim" };
	size_t n = 0;

	out[0] = '\0';
	if (who == CONF_ALL) {
		util_strlcpy(out, "all daemons", len);
		return;
	}
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (who & (1u << i))
			n += (size_t)snprintf(out + n, n < len ? len - n : 0,
			    "%s%s", n ? ", " : "", names[i]);
}

void
conf_write_sample(const struct conf_opt *opts, size_t n, FILE *fp)
{
	char section[64] = "", who[64], env[128];

	fputs("# grilld configuration: every option, with its default.\n"
	    "#\n"
	    "# Generated from the option table (common/options.c) by\n"
	    "# `make sample-config`; a test fails when the two drift.\n"
	    "# Precedence: built-in default, then this file, then the\n"
	    "# environment: section.key is overridden by GRILLD_SECTION_KEY.\n"
	    "# Durations: 250ms, 30s, 5m, 2h, 7d. Sizes: 512, 64KiB, 16MiB.\n"
	    "# Options left commented out have no default.\n", fp);
	for (size_t i = 0; i < n; i++) {
		const struct conf_opt *o = &opts[i];
		const char *dot = strchr(o->name, '.');
		size_t slen = (size_t)(dot - o->name);

		if (strlen(section) != slen ||
		    strncmp(section, o->name, slen) != 0) {
			snprintf(section, sizeof(section), "%.*s", (int)slen,
			    o->name);
			fprintf(fp, "\n%s:\n", section);
		}
		who_names(o->who, who, sizeof(who));
		conf_env_name(o->name, env, sizeof(env));
		fprintf(fp, "  # %s\n  # (%s; %s", o->help, who, env);
		if (o->min < o->max) {
			char lo[32], hi[32];

			fmt_bound(o, o->min, lo, sizeof(lo));
			fmt_bound(o, o->max, hi, sizeof(hi));
			fprintf(fp, "; %s to %s", lo, hi);
		}
		if (o->choices != NULL)
			fprintf(fp, "; one of %s", o->choices);
		fputs(")\n", fp);
		if (o->type == CONF_TREE || o->def == NULL) {
			fprintf(fp, "  #%s:%s\n", dot + 1,
			    o->type == CONF_TREE ? " (see docs/configuration.md)"
			    : "");
			continue;
		}
		fprintf(fp, "  %s: ", dot + 1);
		yaml_scalar(fp, o->def);
		fputc('\n', fp);
	}
}

void
conf_write_markdown(const struct conf_opt *opts, size_t n, FILE *fp)
{
	static const char *const types[] = { "string", "secret", "integer",
		"number", "boolean", "duration", "size", "structured" };
	char section[64] = "", who[64], env[128];

	fputs("<!-- Generated from common/options.c by `make sample-config`; "
	    "00-daemons fails when it drifts. -->\n", fp);
	for (size_t i = 0; i < n; i++) {
		const struct conf_opt *o = &opts[i];
		size_t slen = (size_t)(strchr(o->name, '.') - o->name);

		if (strlen(section) != slen ||
		    strncmp(section, o->name, slen) != 0) {
			snprintf(section, sizeof(section), "%.*s", (int)slen,
			    o->name);
			fprintf(fp, "\n### %s\n\n", section);
		}
		who_names(o->who, who, sizeof(who));
		conf_env_name(o->name, env, sizeof(env));
		fprintf(fp, "- `%s` (%s", o->name, types[o->type]);
		if (o->def != NULL && o->type != CONF_TREE)
			fprintf(fp, ", default `%s`", o->def);
		if (o->min < o->max) {
			char lo[32], hi[32];

			fmt_bound(o, o->min, lo, sizeof(lo));
			fmt_bound(o, o->max, hi, sizeof(hi));
			fprintf(fp, ", %s to %s", lo, hi);
		}
		if (o->choices != NULL)
			fprintf(fp, ", one of `%s`", o->choices);
		fprintf(fp, "; `%s`; read by %s): %s\n", env, who, o->help);
	}
}
