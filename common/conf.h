/*
 * conf: configuration from one declarative table of options.
 *
 * Every option is declared once (common/options.c) with its name
 * ("section.key"), type, default, bounds, the daemons that read it and a
 * line of help. From that one table come: the defaults, the YAML file
 * (libyaml), the environment overrides (section.key is overridden by
 * GRILLD_SECTION_KEY), -n validation, the printed configuration (secrets
 * masked) and the documented sample deploy/etc/grilld.yaml.
 *
 * Precedence: default, then the file, then the environment; a secret
 * still unset then comes from its *_file option, or from systemd's
 * $CREDENTIALS_DIRECTORY (a credential named after the option). Durations
 * are written 250ms, 30s, 5m, 2h, 7d and stored in milliseconds; sizes
 * 512, 64KiB, 16MiB and stored in bytes.
 *
 * Errors name the key, the file and the line ("grilld.yaml:12: poller.
 * interval: 2s is below the minimum 5s"). conf_load() reports every
 * problem it finds, not just the first.
 *
 * Options of type CONF_TREE hold structured YAML (lists of accounts,
 * devices, rules): conf keeps the parsed node and the daemon walks it with
 * the cnode_* functions, reporting its own errors with cnode_where().
 *
 * Snapshots: each successful conf_load() builds a whole new, immutable
 * configuration (the values, their strings, the YAML tree, where each
 * value came from) and swaps it in as the current one. A thread that
 * reads the configuration holds a snapshot (conf_hold) for as long as it
 * reads it, and drops it after (conf_drop); a snapshot is freed with
 * its last holder, so a reload neither changes what a reader sees nor
 * keeps the old strings once nobody reads them.
 *
 * The target given to conf_init() is a copy of the current snapshot's
 * values for the thread that loads (the main thread of a daemon, a
 * test): conf_load() overwrites it, so no other thread may read it.
 * Its strings and nodes belong to the current snapshot: they stay valid
 * until the next successful conf_load() or conf_free().
 */
#ifndef GRILLD_CONF_H
#define GRILLD_CONF_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum conf_type {
	CONF_STR,	/* char * */
	CONF_SECRET,	/* char *, never printed, masked in logs */
	CONF_INT,	/* int64_t */
	CONF_DOUBLE,	/* double */
	CONF_BOOL,	/* bool */
	CONF_DURATION,	/* int64_t milliseconds */
	CONF_SIZE,	/* int64_t bytes */
	CONF_TREE,	/* const struct cnode * */
};

/* The daemons, as a mask of who reads an option. */
#define CONF_POLLER	0x01u
#define CONF_INGEST	0x02u
#define CONF_API	0x04u
#define CONF_STREAM	0x08u
#define CONF_TWSIM	0x10u
#define CONF_ALL	0x1fu

struct conf_opt {
	const char	*name;
	enum conf_type	 type;
	const char	*def;		/* as written in YAML; NULL: unset */
	double		 min, max;	/* bounds when min < max */
	const char	*choices;	/* CONF_STR: "a|b|c", or NULL */
	unsigned	 who;
	size_t		 off;		/* offset of the value in the target */
	const char	*help;
};

enum cnode_kind { CNODE_SCALAR, CNODE_MAP, CNODE_SEQ };

struct cnode {
	enum cnode_kind	 kind;
	char		*key;		/* in a map; NULL otherwise */
	char		*value;		/* scalars */
	const char	*file;
	int		 line;
	struct cnode	*child;		/* first entry of a map or sequence */
	struct cnode	*next;		/* next sibling */
};

const struct cnode *cnode_get(const struct cnode *, const char *);
const char	*cnode_str(const struct cnode *, const char *, const char *);
/* "file:line" of a node, for error messages. */
void		 cnode_where(const struct cnode *, char *, size_t);

#define CONF_ERRS_MAX 32
struct conf_errs {
	int	 n;
	char	 msg[CONF_ERRS_MAX][256];
};

struct conf_snap;

struct conf {
	const struct conf_opt	*opts;
	size_t			 nopts;
	void			*target;	/* the loading thread's copy */
	size_t			 target_size;
	char			*file;		/* of the current snapshot */
	char			(*origin)[64];	/* where each value came from */
	struct conf_snap	*cur;		/* current: under swap */
	pthread_mutex_t		 swap;		/* held to swap or hold cur */
};

void	conf_init(struct conf *, const struct conf_opt *, size_t, void *,
	    size_t);
/*
 * Loads defaults, then file (NULL for none), then the environment, and
 * validates. Returns 0, or -1 with every problem in errs. Secrets, and
 * the password in a URL of a string option ("redis://:pw@host"), are
 * registered with log_secret() (conf_print() masks both). May be called
 * again to reload (SIGHUP): the target is only replaced when the new
 * configuration is valid. file is copied.
 */
int	conf_load(struct conf *, const char *, struct conf_errs *);
void	conf_free(struct conf *);
/*
 * The GRILLD_* environment variables that match no option (typos), one
 * warning each in warns, with "did you mean" the closest option's.
 */
void	conf_env_unknown(const struct conf *, struct conf_errs *);
/*
 * Parses one value of an option's type into the target's slot (tests):
 * numbers and booleans only, the snapshot is left as it is.
 */
int	conf_set(struct conf *, const char *, const char *, char *, size_t);
/*
 * The current snapshot's values (the struct the option offsets index),
 * held until conf_drop(): immutable, readable from any thread. NULL
 * before the first successful conf_load().
 */
const void *conf_hold(struct conf *);
void	conf_drop(const void *);
const struct conf_opt *conf_find(const struct conf *, const char *);
/* The environment variable that overrides an option. */
void	conf_env_name(const char *, char *, size_t);
/* Prints "key: value  # origin" for the options a daemon reads. */
void	conf_print(const struct conf *, unsigned, FILE *);
/* Writes the documented sample configuration of every option. */
void	conf_write_sample(const struct conf_opt *, size_t, FILE *);
/* The same as a Markdown list, for docs/configuration.md. */
void	conf_write_markdown(const struct conf_opt *, size_t, FILE *);

#endif
