#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include "backoff.h"
#include "util.h"

static _Thread_local uint64_t rand_state;

static uint64_t
splitmix64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

void
backoff_seed(uint64_t seed)
{
	rand_state = splitmix64(seed);
	if (rand_state == 0)
		rand_state = UINT64_C(0x9e3779b97f4a7c15);
}

uint64_t
backoff_rand(void)
{
	uint64_t x = rand_state;

	if (x == 0) {
		uint64_t seed = 0;

		if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) !=
		    (ssize_t)sizeof(seed))
			seed = 0;
		seed ^= (uint64_t)util_now_ns() ^
		    ((uint64_t)util_mono_ns() << 17) ^
		    (uint64_t)pthread_self() ^ (uint64_t)(uintptr_t)&rand_state;
		backoff_seed(seed);
		x = rand_state;
	}
	/* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rand_state = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

uint64_t
backoff_rand_upto(uint64_t n)
{
	uint64_t range, min, r;

	if (n == UINT64_MAX)
		return backoff_rand();
	range = n + 1;
	min = -range % range;	/* 2^64 mod range: reject below, no bias */
	do
		r = backoff_rand();
	while (r < min);
	return r % range;
}

int
backoff_init(struct backoff *b, const struct backoff_conf *c)
{
	if (c->base_ms <= 0 || c->cap_ms < c->base_ms || c->budget_ms < 0)
		return -1;
	b->conf = *c;
	if (b->conf.clock_ms == NULL)
		b->conf.clock_ms = util_mono_ms;
	backoff_reset(b);
	return 0;
}

void
backoff_reset(struct backoff *b)
{
	b->tries = 0;
	b->deadline = 0;
	if (b->conf.budget_ms > 0)
		b->deadline = b->conf.clock_ms() + b->conf.budget_ms;
}

unsigned
backoff_tries(const struct backoff *b)
{
	return b->tries;
}

int64_t
backoff_next(struct backoff *b, int64_t retry_after_ms)
{
	const struct backoff_conf *c = &b->conf;
	int64_t ceil, delay, left;
	unsigned n;

	if (b->tries < UINT_MAX)
		b->tries++;
	if (c->max_tries > 0 && b->tries >= c->max_tries)
		return -1;
	n = b->tries - 1;	/* 0 for the first retry */
	ceil = c->cap_ms;
	if (n < 62 && c->base_ms <= (c->cap_ms >> n))
		ceil = c->base_ms << n;
	delay = (int64_t)backoff_rand_upto((uint64_t)ceil);
	if (retry_after_ms > BACKOFF_RETRY_AFTER_MAX_MS)
		retry_after_ms = BACKOFF_RETRY_AFTER_MAX_MS;
	if (retry_after_ms > delay)
		delay = retry_after_ms;
	if (b->deadline != 0) {
		left = b->deadline - c->clock_ms();
		if (left <= 0 || retry_after_ms > left)
			return -1;
		if (delay > left)
			delay = left;
	}
	return delay;
}

/*
 * Retry-After.
 */

static const char *const wkdays[] = {
	"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"
};
static const char *const wkdays_long[] = {
	"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
	"Sunday"
};
static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec"
};

struct ra_date {
	int	year, mon, day, hour, min, sec;
};

static bool
ra_lit(const char **p, const char *s)
{
	size_t n = strlen(s);

	if (strncmp(*p, s, n) != 0)
		return false;
	*p += n;
	return true;
}

/* One of the names, whole: a shorter one must not match a longer. */
static int
ra_name(const char **p, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);

		if (strncmp(*p, names[i], len) == 0) {
			*p += len;
			return (int)i;
		}
	}
	return -1;
}

static bool
ra_num(const char **p, int ndigits, int *out)
{
	int v = 0;

	for (int i = 0; i < ndigits; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += ndigits;
	*out = v;
	return true;
}

static bool
ra_time(const char **p, struct ra_date *d)
{
	return ra_num(p, 2, &d->hour) && ra_lit(p, ":") &&
	    ra_num(p, 2, &d->min) && ra_lit(p, ":") && ra_num(p, 2, &d->sec);
}

static bool
ra_month(const char **p, struct ra_date *d)
{
	int m = ra_name(p, months, ARRAY_LEN(months));

	d->mon = m + 1;
	return m >= 0;
}

static int
year_of(int64_t unix_s)
{
	int64_t z = (unix_s >= 0 ? unix_s : unix_s - 86399) / 86400 + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	return (int)(yoe + era * 400 + (mp >= 10));
}

static bool
ra_date_valid(const struct ra_date *d)
{
	static const int mdays[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int dim;
	bool leap;

	if (d->mon < 1 || d->mon > 12)
		return false;
	leap = (d->year % 4 == 0 && d->year % 100 != 0) || d->year % 400 == 0;
	dim = mdays[d->mon - 1] + (d->mon == 2 && leap);
	return d->day >= 1 && d->day <= dim && d->hour <= 23 &&
	    d->min <= 59 && d->sec <= 60;
}

/* The three HTTP-date forms of RFC 9110, 5.6.7; p is the whole value. */
static bool
ra_http_date(const char *p, int64_t now_unix_s, struct ra_date *d)
{
	const char *s = p;
	int yy;

	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	if (ra_name(&s, wkdays, ARRAY_LEN(wkdays)) >= 0 && ra_lit(&s, ", ") &&
	    ra_num(&s, 2, &d->day) && ra_lit(&s, " ") && ra_month(&s, d) &&
	    ra_lit(&s, " ") && ra_num(&s, 4, &d->year) && ra_lit(&s, " ") &&
	    ra_time(&s, d) && ra_lit(&s, " GMT") && *s == '\0')
		return true;

	/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
	s = p;
	if (ra_name(&s, wkdays_long, ARRAY_LEN(wkdays_long)) >= 0 &&
	    ra_lit(&s, ", ") && ra_num(&s, 2, &d->day) && ra_lit(&s, "-") &&
	    ra_month(&s, d) && ra_lit(&s, "-") && ra_num(&s, 2, &yy) &&
	    ra_lit(&s, " ") && ra_time(&s, d) && ra_lit(&s, " GMT") &&
	    *s == '\0') {
		int cur = year_of(now_unix_s);

		/* More than 50 years ahead means the century before. */
		d->year = cur - cur % 100 + yy;
		if (d->year > cur + 50)
			d->year -= 100;
		return true;
	}

	/* asctime: "Sun Nov  6 08:49:37 1994" */
	s = p;
	if (ra_name(&s, wkdays, ARRAY_LEN(wkdays)) >= 0 && ra_lit(&s, " ") &&
	    ra_month(&s, d) && ra_lit(&s, " ")) {
		if (*s == ' ') {
			s++;
			if (!ra_num(&s, 1, &d->day))
				return false;
		} else if (!ra_num(&s, 2, &d->day))
			return false;
		return ra_lit(&s, " ") && ra_time(&s, d) && ra_lit(&s, " ") &&
		    ra_num(&s, 4, &d->year) && *s == '\0';
	}
	return false;
}

static int64_t
ra_cap_s(int64_t s)
{
	if (s <= 0)
		return 0;
	if (s >= BACKOFF_RETRY_AFTER_MAX_MS / 1000)
		return BACKOFF_RETRY_AFTER_MAX_MS;
	return s * 1000;
}

int64_t
backoff_parse_retry_after(const char *v, int64_t now_unix_s)
{
	char tmp[64];
	struct ra_date d;
	const char *end;
	size_t n;
	int64_t secs;

	if (v == NULL)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if ((n = (size_t)(end - v)) == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, v, n);
	tmp[n] = '\0';

	if (tmp[0] >= '0' && tmp[0] <= '9') {
		secs = 0;
		for (size_t i = 0; i < n; i++) {
			if (tmp[i] < '0' || tmp[i] > '9')
				return -1;
			if (secs < BACKOFF_RETRY_AFTER_MAX_MS)	/* saturate */
				secs = secs * 10 + (tmp[i] - '0');
		}
		return ra_cap_s(secs);
	}

	memset(&d, 0, sizeof(d));
	if (!ra_http_date(tmp, now_unix_s, &d) || !ra_date_valid(&d))
		return -1;
	secs = util_days_from_civil(d.year, d.mon, d.day) * 86400 +
	    d.hour * 3600 + d.min * 60 + d.sec;
	return ra_cap_s(secs - now_unix_s);
}
