/*
 * lp: InfluxDB 1.x line protocol, one point at a time, appended to a
 * struct buf (the caller's; lp never frees it).
 *
 *	struct lp lp;
 *	lp_begin(&lp, &b, "temperature");
 *	lp_tag(&lp, "device_id", id);
 *	lp_field_f64(&lp, "value", v);
 *	if (lp_end(&lp, ts_ns) == -1)
 *		log_warnx("point dropped: %s", lp.errstr);
 *
 * Each call returns 0 or -1. The first error (a bad name or value, no
 * field, memory) sticks: later calls do nothing, lp_end() returns -1,
 * lp.errstr says why, and the buffer is rolled back to where the line
 * began, so a batch never carries half a line. Between lp_begin() and
 * lp_end() the buffer holds a partial line: do not send it or add to it
 * meanwhile. lp_end() appends the timestamp and a newline.
 *
 * Escaping, per element, as InfluxDB 1.x reads it (checked against
 * influxd 1.6 by tests/integration/01-lp-roundtrip.sh):
 *   measurement   comma and space get a backslash;
 *   tag key/value comma, equals sign and space get a backslash;
 *   field key     comma, equals sign and space get a backslash;
 *   string value  in double quotes; '"' and '\' get a backslash.
 * Elsewhere InfluxDB reads a backslash literally, and lp writes it as is.
 * What InfluxDB cannot read back exactly is rejected, not mangled:
 *   - a name or tag value ending in a backslash;
 *   - in a measurement or field key, a backslash before a comma, space,
 *     equals sign or double quote (influxd drops the backslash);
 *   - a measurement starting with '#' (read as a comment);
 *   - the tag or field key "time" (influxd rejects the point);
 *   - control characters in names and tag values, a newline in a string
 *     value, invalid UTF-8 anywhere;
 *   - NaN and infinite floats; timestamps outside LP_TIME_MIN..MAX;
 *   - duplicate tag or field keys; a series key over 65535 bytes.
 * An empty measurement or key is an error. A tag with an empty (or NULL)
 * value is skipped, because InfluxDB drops empty tags.
 *
 * Tags are written sorted by key (byte order of the escaped key, as
 * InfluxDB sorts them), whatever order the caller adds them in. All tags
 * come before the first field.
 *
 * Floats are written in the shortest form strtod reads back exactly
 * (1e-07, 0.30000000000000004), integers with the 'i' suffix, booleans
 * as true/false. InfluxDB 1.6 has no unsigned integers: lp has none.
 */
#ifndef GRILLD_LP_H
#define GRILLD_LP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define LP_TAGS_MAX	32
#define LP_FIELDS_MAX	64
#define LP_KEY_MAX	65535		/* InfluxDB's series key limit */
#define LP_TIME_MIN	(INT64_MIN + 2)	/* InfluxDB's time range */
#define LP_TIME_MAX	(INT64_MAX - 1)

struct reading;

/* The encoder's state; on the caller's stack, no cleanup needed. */
struct lp {
	struct buf	*b;
	size_t		 start;		/* where the line began in b */
	int		 state;
	int		 err;		/* 0, or -1 after an error */
	char		 errstr[128];
	/* Offsets from start: each tag's ",key=value", each field's key. */
	uint32_t	 key_end;
	uint32_t	 ntags;
	uint32_t	 tag[LP_TAGS_MAX];
	uint32_t	 tagkey[LP_TAGS_MAX];	/* length of ",key" */
	uint32_t	 nfields;
	uint32_t	 field[LP_FIELDS_MAX];
	uint32_t	 fieldkey[LP_FIELDS_MAX];
};

int	lp_begin(struct lp *, struct buf *, const char *);
int	lp_tag(struct lp *, const char *, const char *);
int	lp_field_f64(struct lp *, const char *, double);
int	lp_field_i64(struct lp *, const char *, int64_t);
int	lp_field_str(struct lp *, const char *, const char *);
int	lp_field_bool(struct lp *, const char *, bool);
/* Ends the line with the timestamp (Unix ns) and a newline. */
int	lp_end(struct lp *, int64_t);
/* Drops the line being built; lp_end() then returns -1. */
void	lp_abort(struct lp *);

/*
 * The one mapping from a reading to a point (measurement NULL means
 * "temperature"), used by every writer so replays overwrite themselves:
 *   tags    device_id, probe_id, source, unit (the stored unit); empty
 *           ones skipped; nothing that changes from reading to reading;
 *   fields  value (float, as measured) and value_c (float, Celsius) when
 *           the reading has a value, humidity (float, percent) instead
 *           of value_c for unit 'H'; battery and signal (integers) when
 *           known; status (string, always); flags (integer, always);
 *           label (string) when set;
 *   time    the device's ts_ns.
 * The reading is not validated here (reading_validate() is the caller's);
 * a reading without device_id is refused. lp is the encoder to use (its
 * errstr tells why on -1).
 */
int	lp_point_reading(struct lp *, struct buf *, const struct reading *,
	    const char *);

#endif
