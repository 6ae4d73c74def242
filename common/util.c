#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

int
buf_reserve(struct buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (n > SIZE_MAX - b->len - 1)
		return -1;
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_json_escape(struct buf *b, const char *s)
{
	size_t start = b->len, run;
	const unsigned char *p = (const unsigned char *)s;

	for (;;) {
		int rc;

		/* What needs no escape goes in one piece (most strings, whole). */
		for (run = 0; p[run] >= 0x20 && p[run] != '"' && p[run] != '\\';
		    run++)
			;
		if (run > 0 && buf_append(b, p, run) == -1)
			goto fail;
		p += run;
		if (*p == '\0')
			return 0;
		switch (*p) {
		case '"':
			rc = buf_append(b, "\\\"", 2);
			break;
		case '\\':
			rc = buf_append(b, "\\\\", 2);
			break;
		case '\n':
			rc = buf_append(b, "\\n", 2);
			break;
		case '\r':
			rc = buf_append(b, "\\r", 2);
			break;
		case '\t':
			rc = buf_append(b, "\\t", 2);
			break;
		default:
			rc = buf_printf(b, "\\u%04x", *p);
		}
		if (rc == -1)
			goto fail;
		p++;
	}
fail:
	b->len = start;
	if (b->data)
		b->data[start] = '\0';
	return -1;
}

char *
buf_steal(struct buf *b)
{
	char *p = b->data;

	if (p == NULL)
		p = calloc(1, 1);
	buf_init(b);
	return p;
}

char *
util_strdupf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

size_t
util_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

bool
util_streq_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	volatile unsigned char diff = (unsigned char)(la != lb);

	/* Walk the whole of b whatever a holds, so timing says nothing. */
	for (i = 0; i < lb; i++)
		diff |= (unsigned char)(b[i] ^ (i < la ? a[i] : 0));
	return diff == 0;
}

bool
util_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned c = *p;
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else
			return false;
		if ((size_t)(end - p) <= n)
			return false;
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates and past U+10FFFF. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

int64_t
util_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

int
util_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	int rc;

	if ((rc = pthread_condattr_init(&ca)) != 0)
		return rc;
	if ((rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) == 0)
		rc = pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
	return rc;
}

int
util_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms)
{
	struct timespec ts;

	if (ms < 0)
		ms = 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return pthread_cond_timedwait(cv, mu, &ts);
}

int64_t
util_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

int64_t
util_mono_ms(void)
{
	return util_mono_ns() / NS_PER_MS;
}

void
util_sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * NS_PER_MS;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
digits(const char **sp, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*sp)[i] < '0' || (*sp)[i] > '9')
			return -1;
		v = v * 10 + ((*sp)[i] - '0');
	}
	*sp += n;
	*out = v;
	return 0;
}

/* Howard Hinnant's days_from_civil. */
int64_t
util_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

int
util_time_parse(const char *s, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, oh, om;
	int64_t frac = 0, t, off = 0;

	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) ||
	    *s++ != '-' || digits(&s, 2, &d))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	if (*s == '\0')
		goto done;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -1;
	s++;
	if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi))
		return -1;
	if (*s == ':') {
		s++;
		if (digits(&s, 2, &sec))
			return -1;
	}
	if (h > 23 || mi > 59 || sec > 60)
		return -1;
	if (*s == '.' || *s == ',') {
		int64_t scale = 100000000;

		s++;
		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++) {
			frac += (*s - '0') * scale;
			scale /= 10;
		}
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1;

		if (digits(&s, 2, &oh))
			return -1;
		if (*s == ':')
			s++;
		if (digits(&s, 2, &om) || oh > 23 || om > 59)
			return -1;
		off = sign * (oh * 3600 + om * 60);
	} else if (*s == '\0')
		;	/* no zone: taken as UTC, as grill-stats did */
	else
		return -1;
	if (*s != '\0')
		return -1;
done:
	/* Years outside 1678..2261 do not fit in int64 nanoseconds. */
	if (y < 1678 || y > 2261)
		return -1;
	t = util_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	*out = t * NS_PER_S + frac;
	return 0;
}

char *
util_put_digits(char *end, uint64_t u, int min)
{
	for (int i = 0; i < min || u != 0; i++) {
		*--end = (char)('0' + u % 10);
		u /= 10;
	}
	return end;
}

/* n as exactly width digits, zero-padded, at p; returns p + width. */
static char *
put_fixed(char *p, unsigned long long n, int width)
{
	util_put_digits(p + width, n, width);
	return p + width;
}

int
util_fmt_i64(char *out, int64_t v)
{
	char tmp[24], *p;
	size_t n;

	p = util_put_digits(tmp + sizeof(tmp), v < 0 ? -(uint64_t)v :
	    (uint64_t)v, 1);
	if (v < 0)
		*--p = '-';
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(out, p, n);
	out[n] = '\0';
	return (int)n;
}

/*
 * The civil date of a day count since 1970-01-01, proleptic Gregorian
 * (the days-to-date conversion of H. Hinnant's "chrono-compatible
 * low-level date algorithms": eras of 400 years, March-based years).
 */
static void
civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t z = days + 719468, era, doe, yoe, doy, mp;

	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/*
 * Written digit by digit, with no call into the C library (it runs for
 * every reading the ingester stores and every point the API answers).
 * An int64_t of nanoseconds spans the years 1677 to 2262: four digits.
 */
size_t
util_time_put(char *out, int64_t ns)
{
	int64_t secs = ns / NS_PER_S, frac = ns % NS_PER_S, days, sod, y;
	int m, d, digits;
	char *p;

	if (frac < 0) {
		frac += NS_PER_S;
		secs--;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	digits = frac % NS_PER_MS == 0 ? 3 : frac % 1000 == 0 ? 6 : 9;
	frac /= digits == 3 ? NS_PER_MS : digits == 6 ? 1000 : 1;
	p = put_fixed(out, (unsigned long long)y, 4);
	*p++ = '-';
	p = put_fixed(p, (unsigned)m, 2);
	*p++ = '-';
	p = put_fixed(p, (unsigned)d, 2);
	*p++ = 'T';
	p = put_fixed(p, (unsigned long long)(sod / 3600), 2);
	*p++ = ':';
	p = put_fixed(p, (unsigned long long)(sod / 60 % 60), 2);
	*p++ = ':';
	p = put_fixed(p, (unsigned long long)(sod % 60), 2);
	*p++ = '.';
	p = put_fixed(p, (unsigned long long)frac, digits);
	*p++ = 'Z';
	return (size_t)(p - out);
}

void
util_time_format(int64_t ns, char *out, size_t len)
{
	char tmp[UTIL_TIME_LEN];
	size_t n = util_time_put(tmp, ns);

	if (len == 0)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(out, tmp, n);
	out[n] = '\0';
}

struct unit {
	const char	*name;
	double		 mul;
};

static int
parse_scaled(const char *s, const struct unit *units, size_t nunits,
    double bare, int64_t *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || *s == ' ')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || !isfinite(v) || v < 0)
		return -1;
	while (*end == ' ')
		end++;
	if (*end == '\0') {
		v *= bare;
	} else {
		size_t i;

		for (i = 0; i < nunits; i++)
			if (strcmp(end, units[i].name) == 0)
				break;
		if (i == nunits)
			return -1;
		v *= units[i].mul;
	}
	if (v > (double)INT64_MAX / 2)
		return -1;
	*out = (int64_t)llround(v);
	return 0;
}

static const struct unit duration_units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	{ "d", 86400000 }, { "w", 604800000 },
};

static const struct unit size_units[] = {
	{ "B", 1 }, { "KiB", 1024 }, { "MiB", 1048576 },
	{ "GiB", 1073741824.0 }, { "K", 1024 }, { "M", 1048576 },
	{ "G", 1073741824.0 }, { "kB", 1000 }, { "MB", 1e6 }, { "GB", 1e9 },
};

int
util_parse_duration(const char *s, int64_t *ms)
{
	return parse_scaled(s, duration_units, ARRAY_LEN(duration_units), 1000,
	    ms);
}

int
util_parse_size(const char *s, int64_t *bytes)
{
	return parse_scaled(s, size_units, ARRAY_LEN(size_units), 1, bytes);
}

void
util_format_duration(int64_t ms, char *out, size_t len)
{
	static const struct unit *u[] = { &duration_units[4],
		&duration_units[3], &duration_units[2], &duration_units[1] };

	for (size_t i = 0; i < ARRAY_LEN(u); i++) {
		int64_t m = (int64_t)u[i]->mul;

		if (ms != 0 && ms % m == 0) {
			snprintf(out, len, "%lld%s", (long long)(ms / m),
			    u[i]->name);
			return;
		}
	}
	snprintf(out, len, "%lldms", (long long)ms);
}

void
util_format_size(int64_t b, char *out, size_t len)
{
	static const struct unit *u[] = { &size_units[3], &size_units[2],
		&size_units[1] };

	for (size_t i = 0; i < ARRAY_LEN(u); i++) {
		int64_t m = (int64_t)u[i]->mul;

		if (b != 0 && b % m == 0) {
			snprintf(out, len, "%lld%s", (long long)(b / m),
			    u[i]->name);
			return;
		}
	}
	snprintf(out, len, "%lld", (long long)b);
}

int
util_parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
util_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || *s == ' ')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int
util_split_hostport(const char *s, char *host, size_t hlen, int *port)
{
	const char *colon;
	int64_t p;
	size_t n;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		n = (size_t)(close - s - 1);
		colon = close + 1;
		s++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		n = (size_t)(colon - s);
	}
	if (n >= hlen || util_parse_int(colon + 1, &p) == -1 || p < 0 ||
	    p > 65535)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	*port = (int)p;
	return 0;
}

/*
 * The fast way for what readings hold: a value with at most six
 * decimals and fifteen significant digits, between 1e-4 and 1e15 (where
 * "%g" does not switch to an exponent). m / 10^k is then the decimal
 * string's exact value; dividing two exactly held doubles rounds it to
 * the nearest double once, as strtod does, so when that equals v the
 * string reads back as v; and with fifteen digits or fewer it is what
 * "%.15g" writes. The smallest such k gives no trailing zero. Returns
 * -1 when v is not of that kind.
 */
static int
format_decimal(double v, char *out)
{
	static const double p10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6 };
	double a = fabs(v), x;
	char tmp[32], *p;
	uint64_t m;
	size_t n;
	int k;

	if (!(a >= 1e-4 && a < 1e15))
		return -1;
	for (k = 0; k < 7; k++) {
		if ((x = a * p10[k]) >= 1e15)
			return -1;
		m = (uint64_t)llround(x);
		if ((double)m / p10[k] == a)
			break;
	}
	if (k == 7)
		return -1;
	p = tmp + sizeof(tmp);
	if (k > 0) {
		p = util_put_digits(p, m % (uint64_t)p10[k], k);
		*--p = '.';
	}
	p = util_put_digits(p, m / (uint64_t)p10[k], 1);
	if (v < 0)
		*--p = '-';
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(out, p, n);
	out[n] = '\0';
	return (int)n;
}

int
util_fmt_f64(double v, char *out, size_t len)
{
	int prec, n = -1;

	if (!isfinite(v) || len < UTIL_F64_LEN)
		return -1;
	if ((n = format_decimal(v, out)) != -1)
		return n;
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(out, len, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			break;
	}
	return n;
}

int
util_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
util_hex_decode(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		/* Upper case is refused: these are ids written lower. */
		if (s[2 * i] >= 'A' && s[2 * i] <= 'F')
			return -1;
		if (s[2 * i + 1] >= 'A' && s[2 * i + 1] <= 'F')
			return -1;
		if ((hi = util_hexval(s[2 * i])) < 0 ||
		    (lo = util_hexval(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void
util_hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int
util_pct_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		int rc;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) != NULL)
			rc = buf_putc(b, (char)c);
		else
			rc = buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
		if (rc == -1)
			return -1;
	}
	return 0;
}

uint32_t
util_fnv1a32(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 16777619u;
	return h;
}

uint64_t
util_fnv1a64_from(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * UINT64_C(1099511628211);
	return h;
}

uint64_t
util_fnv1a64(const void *p, size_t n)
{
	return util_fnv1a64_from(UTIL_FNV64_BASIS, p, n);
}
