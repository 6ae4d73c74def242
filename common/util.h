/*
 * util: the small things every module needs.
 *
 * buf: a growable byte buffer. It owns its memory; buf_free() releases it.
 * Appends return 0, or -1 when memory ran out (the buffer is then left as
 * it was before the call). data is always NUL-terminated when non-NULL.
 *
 * Time: wall-clock time is Unix nanoseconds (int64_t), monotonic time is
 * milliseconds; RFC 3339 text is UTC with up to nine fraction digits.
 */
#ifndef GRILLD_UTIL_H
#define GRILLD_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NS_PER_S  INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	buf_init(struct buf *);
void	buf_free(struct buf *);
void	buf_reset(struct buf *);		/* len = 0, memory kept */
int	buf_reserve(struct buf *, size_t);	/* room for n more bytes */
int	buf_append(struct buf *, const void *, size_t);
int	buf_puts(struct buf *, const char *);
int	buf_putc(struct buf *, char);
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Appends s as the body of a JSON string (no quotes), escaped. */
int	buf_json_escape(struct buf *, const char *);
/* Takes the memory out of the buffer: the caller frees it. */
char	*buf_steal(struct buf *);
/* printf into new memory (the caller frees it); NULL when memory ran out. */
char	*util_strdupf(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

/* Copies at most size-1 bytes and terminates; returns strlen(src). */
size_t	util_strlcpy(char *, const char *, size_t);
bool	util_streq_ct(const char *, const char *);	/* constant time */
bool	util_utf8_valid(const char *, size_t);

int64_t	util_now_ns(void);		/* CLOCK_REALTIME */
int64_t	util_mono_ms(void);		/* CLOCK_MONOTONIC */
int64_t	util_mono_ns(void);
void	util_sleep_ms(int64_t);
/*
 * Condition variables for durations: util_cond_init() makes one that
 * times its waits on CLOCK_MONOTONIC, util_cond_wait_ms() waits on it up
 * to ms (a step of the wall clock neither stalls nor cuts the wait).
 * Returns what pthread_cond_timedwait() does (0, ETIMEDOUT).
 */
int	util_cond_init(pthread_cond_t *);
int	util_cond_wait_ms(pthread_cond_t *, pthread_mutex_t *, int64_t);

/*
 * RFC 3339 / ISO 8601: "2026-01-02T03:04:05.123456789Z", "...+02:00",
 * a space instead of T, or a date alone. Returns 0 and the Unix
 * nanoseconds, or -1 when the text is not a valid time.
 */
int	util_time_parse(const char *, int64_t *);
/* Writes RFC 3339 UTC with milliseconds (or more digits when needed). */
void	util_time_format(int64_t, char *, size_t);
#define UTIL_TIME_LEN 40
/* The same without the NUL (room for UTIL_TIME_LEN); returns the length. */
size_t	util_time_put(char *, int64_t);
/* "%lld" of v into out (room for 21 bytes), faster; returns its length. */
int	util_fmt_i64(char *, int64_t);
/*
 * The decimal digits of u, at least min of them (zero-padded), written
 * backwards so that they end at end; returns where they begin.
 */
char	*util_put_digits(char *, uint64_t, int);

/* "250ms" "30s" "5m" "2h" "7d" (a bare number is seconds) -> ms. */
int	util_parse_duration(const char *, int64_t *);
/* "512", "64KiB", "16MiB", "1GiB", "10kB", "5MB" -> bytes. */
int	util_parse_size(const char *, int64_t *);
/* Writes a duration the way util_parse_duration reads it back. */
void	util_format_duration(int64_t, char *, size_t);
void	util_format_size(int64_t, char *, size_t);

/* Strict number parsing: the whole string, no overflow. */
int	util_parse_int(const char *, int64_t *);
int	util_parse_double(const char *, double *);

/* Splits "host:port" (or "[v6]:port"); returns 0 or -1. */
int	util_split_hostport(const char *, char *, size_t, int *);

/*
 * Writes a finite double in the shortest form ("%.15g", else 16, else
 * 17 digits) that strtod reads back exactly; returns its length, or -1
 * for NaN, infinity or a buffer shorter than UTIL_F64_LEN.
 */
#define UTIL_F64_LEN	32
int	util_fmt_f64(double, char *, size_t);
/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t	util_days_from_civil(int64_t, int, int);

/* The value of a hex digit, either case; -1 for anything else. */
int	util_hexval(int);
/* 2n lower-case hex characters into n bytes; -1 on anything else. */
int	util_hex_decode(const char *, uint8_t *, size_t);
/* n bytes as 2n lower-case hex characters and a NUL. */
void	util_hex_encode(const uint8_t *, size_t, char *);
/* Appends s percent-encoded: all but RFC 3986's unreserved characters. */
int	util_pct_encode(struct buf *, const char *);

/*
 * 32- and 64-bit FNV-1a of n bytes: table slots, not security.
 * util_fnv1a64_from() goes on from the state h instead of the offset
 * basis: a seeded hash (the simulator's), or one over several pieces.
 */
#define UTIL_FNV64_BASIS	UINT64_C(14695981039346656037)
uint32_t util_fnv1a32(const void *, size_t);
uint64_t util_fnv1a64(const void *, size_t);
uint64_t util_fnv1a64_from(uint64_t, const void *, size_t);

#endif
