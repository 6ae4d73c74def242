/*
 * log: OpenBSD's log API.
 *
 * log_warn() appends strerror(errno), log_warnx() does not. fatal() and
 * fatalx() log and exit(1); they are for start-up and broken invariants
 * only, and no code in common/ calls them.
 *
 * Destination: stderr when the daemon runs in the foreground (-d), else
 * syslog. Format: text ("2026-01-02T03:04:05.123Z warn message"), or one
 * JSON object a line ({"ts","level","daemon","msg"}) for log collectors.
 *
 * Secrets: every string handed to log_secret() (passwords, tokens, API
 * keys; the conf module hands in every secret option) is replaced by
 * "********" in every line, whatever the caller formatted.
 *
 * Thread-safe: each line goes out in one write(2).
 */
#ifndef GRILLD_LOG_H
#define GRILLD_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
enum log_format { LOG_FMT_TEXT, LOG_FMT_JSON };

void	log_init(bool foreground, const char *ident);
void	log_setlevel(enum log_level);
void	log_setformat(enum log_format);
int	log_level_parse(const char *, enum log_level *);
int	log_format_parse(const char *, enum log_format *);
bool	log_enabled(enum log_level);
/* The string is copied; at most LOG_SECRETS_MAX are kept. */
void	log_secret(const char *);
#define LOG_SECRETS_MAX 64

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	vlog(enum log_level, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));

/*
 * A log line at most once per interval per call site, with the count of
 * lines suppressed since; for drops and errors that may come in floods.
 */
struct log_limit {
	long long	last_ms;
	unsigned long	suppressed;
};
void	log_limited(struct log_limit *, long long, enum log_level,
	    const char *, ...) __attribute__((format(printf, 4, 5)));

#endif
