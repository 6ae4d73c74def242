/*
 * points: the rows of a history answer, their order, the cursor that
 * pages through them, and their JSON.
 *
 * Points are ordered by time, then probe id: the order InfluxDB returns
 * the points of one device in (series keys sort by device_id, then
 * probe_id), and a total order as long as a probe has one point per
 * timestamp, which the ingester guarantees (points are idempotent on
 * device, probe and device time).
 *
 * A cursor names the last point a page held: (time, probe). The next
 * page is the points after it in that order, whatever was written
 * meanwhile before it, which is what makes it stable where offsets are
 * not. On the wire it is opaque: the hex of "t_us:probe_id".
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "lp.h"
#include "reading.h"

int
point_cmp(const struct point *a, const struct point *b)
{
	if (a->t_us != b->t_us)
		return a->t_us < b->t_us ? -1 : 1;
	return strcmp(a->probe_id, b->probe_id);
}

bool
point_after(const struct point *p, const struct cursor *c)
{
	if (!c->set || p->t_us > c->t_us)
		return true;
	return p->t_us == c->t_us && strcmp(p->probe_id, c->probe_id) > 0;
}

void
cursor_format(const struct cursor *c, char *out, size_t len)
{
	char text[32 + API_ID_MAX];
	size_t n;

	n = (size_t)snprintf(text, sizeof(text), "%" PRId64 ":%s", c->t_us,
	    c->probe_id);
	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	if (n > (len - 1) / 2)
		n = (len - 1) / 2;
	util_hex_encode((const uint8_t *)text, n, out);
}

/* 0, or -1 when the text is not a cursor this API made. */
int
cursor_parse(const char *s, struct cursor *c)
{
	char text[32 + API_ID_MAX], *colon;
	size_t n = strlen(s), i;

	memset(c, 0, sizeof(*c));
	if (n == 0 || n % 2 != 0 || n / 2 >= sizeof(text))
		return -1;
	i = n / 2;
	if (util_hex_decode(s, (uint8_t *)text, i) == -1 ||
	    memchr(text, '\0', i) != NULL)
		return -1;
	text[i] = '\0';
	if ((colon = strchr(text, ':')) == NULL)
		return -1;
	*colon = '\0';
	/* The time must fit in nanoseconds too (history.c multiplies). */
	if (util_parse_int(text, &c->t_us) == -1 || c->t_us < 0 ||
	    c->t_us > INT64_MAX / 1000 ||
	    !util_utf8_valid(colon + 1, strlen(colon + 1)) ||
	    strlen(colon + 1) >= sizeof(c->probe_id))
		return -1;
	util_strlcpy(c->probe_id, colon + 1, sizeof(c->probe_id));
	c->set = true;
	return 0;
}

/*
 * Fast writers for the hot loop of history and export, where snprintf,
 * strftime and the shortest-exact float search cost more than the rest
 * of the answer: integers and numbers rounded to a thousandth (times are
 * util_time_put()'s). Each writes into out (room for PUT_MAX bytes) and
 * returns the length.
 */
#define PUT_MAX		40

static void
digits(char *p, int64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

static size_t
put_int(char *out, int64_t v)
{
	char tmp[24];
	size_t n = (size_t)util_fmt_i64(tmp, v);

	memcpy(out, tmp, n);	/* no NUL: out is inside a line */
	return n;
}

/* A number rounded to a thousandth: conversions and means carry noise. */
static size_t
put_num(char *out, double v)
{
	int64_t m;
	size_t o = 0;
	int dec, n;

	v = round(v * 1000.0) / 1000.0;
	if (!isfinite(v)) {
		memcpy(out, "null", 4);
		return 4;
	}
	if (fabs(v) >= 1e12) {
		n = util_fmt_f64(v, out, PUT_MAX);
		return n > 0 ? (size_t)n : 0;
	}
	m = llround(v * 1000.0);
	if (m < 0) {
		out[o++] = '-';
		m = -m;
	}
	o += put_int(out + o, m / 1000);
	if ((m %= 1000) != 0) {
		for (dec = 3; m % 10 == 0; dec--)
			m /= 10;
		out[o++] = '.';
		digits(out + o, m, dec);
		o += (size_t)dec;
	}
	return o;
}

void
point_put_int(struct buf *b, int64_t v)
{
	char out[PUT_MAX];

	buf_append(b, out, put_int(out, v));
}

void
point_put_time(struct buf *b, int64_t us)
{
	char out[PUT_MAX];

	buf_append(b, out, util_time_put(out, us * 1000));
}

void
point_put_num(struct buf *b, double v)
{
	char out[PUT_MAX];

	buf_append(b, out, put_num(out, v));
}

/* JSON-escapes s into out at *o; false when it would pass max. */
static bool
esc(char *out, size_t max, size_t *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (*o + 6 >= max)
			return false;
		if (c == '"' || c == '\\') {
			out[(*o)++] = '\\';
			out[(*o)++] = (char)c;
		} else if (c < 0x20) {
			memcpy(out + *o, "\\u00", 4);
			out[*o + 4] = hex[c >> 4];
			out[*o + 5] = hex[c & 15];
			*o += 6;
		} else
			out[(*o)++] = (char)c;
	}
	return true;
}

#define POINT_LINE	1024
#define PUT(lit)	(memcpy(line + o, lit, sizeof(lit) - 1), \
			    o += sizeof(lit) - 1)

/*
 * One point as grill-stats wrote history items: device_id, timestamp,
 * temperature, probe_id, unit; battery_level, signal_strength, status
 * and flags when the point has them (raw points). Built in a line on
 * the stack and appended once, since it runs for every point; ids are
 * at most 63 bytes, so only a status string can overflow the line,
 * which is then written escaped straight into the buffer.
 */
void
point_json(struct buf *b, const char *device, const struct point *p,
    bool raw)
{
	char line[POINT_LINE];
	size_t o = 0;

	PUT("{\"device_id\":\"");
	esc(line, 400, &o, device);
	PUT("\",\"timestamp\":\"");
	o += util_time_put(line + o, p->t_us * 1000);
	PUT("\",\"temperature\":");
	if (p->has_value)
		o += put_num(line + o, p->value);
	else
		PUT("null");
	PUT(",\"probe_id\":");
	if (p->probe_id[0] != '\0') {
		line[o++] = '"';
		esc(line, 800, &o, p->probe_id);
		line[o++] = '"';
	} else
		PUT("null");
	PUT(",\"unit\":");
	if (p->unit != 0) {
		line[o++] = '"';
		line[o++] = p->unit;
		line[o++] = '"';
	} else
		PUT("null");
	if (raw) {
		PUT(",\"battery_level\":");
		if (p->battery >= 0)
			o += put_int(line + o, p->battery);
		else
			PUT("null");
		PUT(",\"signal_strength\":");
		if (p->has_signal)
			o += put_int(line + o, (int64_t)llround(p->signal));
		else
			PUT("null");
		if (p->flags != 0) {
			PUT(",\"flags\":");
			o += put_int(line + o, p->flags);
		}
		if (p->status != NULL) {
			size_t mark;

			PUT(",\"status\":\"");
			mark = o;
			if (!esc(line, POINT_LINE - 4, &o, p->status)) {
				buf_append(b, line, mark);
				buf_json_escape(b, p->status);
				buf_puts(b, "\"}");
				return;
			}
			line[o++] = '"';
		}
	}
	line[o++] = '}';
	buf_append(b, line, o);
}
