#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static bool		 log_fg = true;
static enum log_level	 log_lvl = LOG_LVL_INFO;
static enum log_format	 log_fmt = LOG_FMT_TEXT;
static char		 log_ident[64] = "grilld";
static char		*log_secrets[LOG_SECRETS_MAX];
static int		 log_nsecrets;
static pthread_mutex_t	 log_secret_mtx = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_init(bool foreground, const char *ident)
{
	log_fg = foreground;
	util_strlcpy(log_ident, ident, sizeof(log_ident));
	if (!foreground)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Set on reload while other threads log: read and written atomically. */
void
log_setlevel(enum log_level l)
{
	__atomic_store_n(&log_lvl, l, __ATOMIC_RELAXED);
}

void
log_setformat(enum log_format f)
{
	__atomic_store_n(&log_fmt, f, __ATOMIC_RELAXED);
}

bool
log_enabled(enum log_level l)
{
	return l <= __atomic_load_n(&log_lvl, __ATOMIC_RELAXED);
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_LEN(level_names); i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

int
log_format_parse(const char *s, enum log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = LOG_FMT_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FMT_JSON;
	else
		return -1;
	return 0;
}

void
log_secret(const char *s)
{
	if (s == NULL || *s == '\0')
		return;
	pthread_mutex_lock(&log_secret_mtx);
	for (int i = 0; i < log_nsecrets; i++)
		if (strcmp(log_secrets[i], s) == 0)
			goto out;
	if (log_nsecrets < LOG_SECRETS_MAX)
		if ((log_secrets[log_nsecrets] = strdup(s)) != NULL)
			log_nsecrets++;
out:
	pthread_mutex_unlock(&log_secret_mtx);
}

/* Replaces every registered secret in b, from offset start, by stars. */
static void
log_mask(struct buf *b, size_t start)
{
	pthread_mutex_lock(&log_secret_mtx);
	for (int i = 0; i < log_nsecrets; i++) {
		size_t n = strlen(log_secrets[i]);
		char *p = b->data + start;

		while ((p = strstr(p, log_secrets[i])) != NULL) {
			struct buf nb;
			size_t at = (size_t)(p - b->data);

			buf_init(&nb);
			if (buf_append(&nb, b->data, at) == -1 ||
			    buf_puts(&nb, "********") == -1 ||
			    buf_puts(&nb, p + n) == -1) {
				buf_free(&nb);
				memset(p, '*', n);	/* at least hide it */
				p += n;
				continue;
			}
			buf_free(b);
			*b = nb;
			p = b->data + at + 8;
		}
	}
	pthread_mutex_unlock(&log_secret_mtx);
}

void
vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	int saved_errno = errno;
	char ts[UTIL_TIME_LEN];
	struct buf msg, line;

	if (!log_enabled(lvl))
		return;
	buf_init(&msg);
	buf_init(&line);
	{
		va_list aq;
		int n;

		va_copy(aq, ap);
		n = vsnprintf(NULL, 0, fmt, aq);
		va_end(aq);
		if (n >= 0 && buf_reserve(&msg, (size_t)n) == 0) {
			vsnprintf(msg.data, (size_t)n + 1, fmt, ap);
			msg.len = (size_t)n;
		}
	}
	if (msg.data == NULL) {
		errno = saved_errno;
		return;
	}
	log_mask(&msg, 0);

	if (!log_fg) {
		static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
			LOG_DEBUG };

		syslog(prio[lvl], "%s", msg.data);
		buf_free(&msg);
		errno = saved_errno;
		return;
	}
	util_time_format(util_now_ns() / NS_PER_MS * NS_PER_MS, ts, sizeof(ts));
	if (__atomic_load_n(&log_fmt, __ATOMIC_RELAXED) == LOG_FMT_JSON) {
		buf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"daemon\":\"",
		    ts, level_names[lvl]);
		buf_json_escape(&line, log_ident);
		buf_puts(&line, "\",\"msg\":\"");
		buf_json_escape(&line, msg.data);
		buf_puts(&line, "\"}\n");
	} else
		buf_printf(&line, "%s %s %s: %s\n", ts, level_names[lvl],
		    log_ident, msg.data);
	if (line.data != NULL) {
		ssize_t w = write(STDERR_FILENO, line.data, line.len);
		(void)w;
	}
	buf_free(&msg);
	buf_free(&line);
	errno = saved_errno;
}

#define LOG_VA(lvl)                                                       \
	do {                                                              \
		va_list ap;                                               \
		va_start(ap, fmt);                                        \
		vlog(lvl, fmt, ap);                                       \
		va_end(ap);                                               \
	} while (0)

static void
log_emit(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
log_emit(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

static void
vlog_errno(enum log_level, const char *, va_list, int)
    __attribute__((format(printf, 2, 0)));

static void
vlog_errno(enum log_level lvl, const char *fmt, va_list ap, int e)
{
	struct buf f;

	buf_init(&f);
	/*
	 * Format the caller's message first, then add the error text, so no
	 * format string is ever built at run time.
	 */
	{
		va_list aq;
		int n;

		va_copy(aq, ap);
		n = vsnprintf(NULL, 0, fmt, aq);
		va_end(aq);
		if (n >= 0 && buf_reserve(&f, (size_t)n) == 0) {
			vsnprintf(f.data, (size_t)n + 1, fmt, ap);
			f.len = (size_t)n;
		}
	}
	if (f.data != NULL)
		log_emit(lvl, "%s: %s", f.data, strerror(e));
	buf_free(&f);
}

void
log_warn(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_LVL_WARN, fmt, ap, e);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_VA(LOG_LVL_WARN);
}

void
log_info(const char *fmt, ...)
{
	LOG_VA(LOG_LVL_INFO);
}

void
log_debug(const char *fmt, ...)
{
	LOG_VA(LOG_LVL_DEBUG);
}

void
fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_LVL_ERROR, fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_VA(LOG_LVL_ERROR);
	exit(1);
}

void
log_limited(struct log_limit *ll, long long interval_ms, enum log_level lvl,
    const char *fmt, ...)
{
	long long now = util_mono_ms();
	long long last = __atomic_load_n(&ll->last_ms, __ATOMIC_RELAXED);
	va_list ap;

	/* Call sites are shared by threads: one of them wins the interval. */
	if ((last != 0 && now - last < interval_ms) ||
	    !__atomic_compare_exchange_n(&ll->last_ms, &last, now, false,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
		__atomic_add_fetch(&ll->suppressed, 1, __ATOMIC_RELAXED);
		return;
	}
	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
	if (__atomic_load_n(&ll->suppressed, __ATOMIC_RELAXED) > 0) {
		unsigned long n = __atomic_exchange_n(&ll->suppressed, 0,
		    __ATOMIC_RELAXED);

		if (n > 0) {
			struct buf note;

			buf_init(&note);
			buf_printf(&note, "(%lu similar lines suppressed)", n);
			if (note.data != NULL)
				log_info("%s", note.data);
			buf_free(&note);
		}
	}
}
