/*
 * reading: one temperature (or humidity) reading, its JSON form and its
 * checks.
 *
 * A struct reading is plain data except metadata, a cJSON object the
 * reading owns: reading_clear() frees it and reading_copy() duplicates
 * it. Initialise with reading_init() (or reading_parse(), which does it)
 * and finish with reading_clear().
 *
 * Units: the value is stored as measured, in the unit it came with
 * ('F', 'C', 'K' or 'H' for relative humidity in percent). The canonical
 * unit is Celsius: reading_canonical() gives the value in C, except for
 * humidity, which is never converted.
 *
 * JSON: the field names are those of grill-stats (the temperature
 * service of lordmuffin/grill-stats, which grilld replaces and whose
 * clients it keeps working: docs/compatibility.md; comments across the
 * tree call it grill-stats): device_id, probe_id, temperature, unit,
 * timestamp, battery_level, signal_strength, metadata; plus grilld's
 * status, source, label, flags and traceparent.
 * "temperature" carries the value whatever the unit, humidity included.
 *
 * Errors: parsing and validation report every problem they find in a
 * struct reading_errs, at most one per field (the first), each with the
 * field's JSON name and a message that may be shown to an API client.
 *
 * Numbers are printed and read in the "C" numeric locale (cJSON and
 * strtod follow LC_NUMERIC): a daemon must not set another one.
 *
 * Thread-safe: no function keeps state between calls.
 */
#ifndef GRILLD_READING_H
#define GRILLD_READING_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "util.h"

#define READING_ID_LEN		64	/* device_id, probe_id, label */
#define READING_SOURCE_LEN	16
#define READING_TRACE_LEN	56	/* W3C traceparent is 55 characters */

#define READING_NO_BATTERY	(-1)
#define READING_NO_SIGNAL	INT_MIN
#define READING_SIGNAL_MIN	(-200)	/* dBm or RSSI, whatever the device */
#define READING_SIGNAL_MAX	200

/* The probe's state, as ThermoWorks reports it. Zero is "not reported". */
enum probe_status {
	PROBE_UNKNOWN = 0,
	PROBE_NORMAL,
	PROBE_LOW,
	PROBE_HIGH,
	PROBE_NO_PROBE,		/* unplugged: the reading has no value */
};

/* Anomaly flags, set by ingest; BACKFILL set by the poller. */
enum reading_flag {
	READING_F_ZSCORE	= 1u << 0,	/* far from the recent mean */
	READING_F_RATE		= 1u << 1,	/* changed implausibly fast */
	READING_F_STUCK		= 1u << 2,	/* same value for too long */
	READING_F_DROPOUT	= 1u << 3,	/* first reading after a gap */
	READING_F_RECONNECT	= 1u << 4,	/* device came back */
	/*
	 * From a session archive, after the fact: stored, never published
	 * as a new reading (ingest clears it before storing).
	 */
	READING_F_BACKFILL	= 1u << 5,
};
#define READING_F_ALL		0x3fu

struct reading {
	char		 device_id[READING_ID_LEN];	/* required */
	char		 probe_id[READING_ID_LEN];	/* "" when none */
	double		 value;		/* as measured, in unit */
	bool		 has_value;	/* false: NO PROBE or JSON null */
	char		 unit;		/* 'F', 'C', 'K' or 'H' */
	int64_t		 ts_ns;		/* the device's time, Unix ns */
	int		 battery;	/* 0-100, READING_NO_BATTERY */
	int		 signal;	/* READING_NO_SIGNAL when unknown */
	enum probe_status status;
	char		 source[READING_SOURCE_LEN];	/* "thermoworks" */
	char		 label[READING_ID_LEN];		/* "" when none */
	char		 traceparent[READING_TRACE_LEN]; /* "" when none */
	uint32_t	 flags;		/* READING_F_* */
	cJSON		*metadata;	/* owned; an object or NULL */
};

/*
 * Limits for parsing and validation; NULL means the defaults below.
 * now_ns 0 means the clock at the time of each call.
 */
struct reading_limits {
	int64_t		 now_ns;
	int64_t		 min_ts_ns;	/* earliest accepted timestamp */
	int64_t		 max_future_ns;	/* >= 0: how far past now it may be */
	double		 temp_min_c;	/* physical range, Celsius, inclusive */
	double		 temp_max_c;
	double		 hum_min;	/* percent */
	double		 hum_max;
};
#define READING_MIN_TS_NS	(INT64_C(946684800) * NS_PER_S)	/* 2000-01-01 */
#define READING_MAX_FUTURE_NS	(300 * NS_PER_S)
#define READING_TEMP_MIN_C	(-50.0)				/* -58 F */
#define READING_TEMP_MAX_C	((1000.0 - 32.0) * 5.0 / 9.0)	/* 1000 F */

#define READING_ERRS_MAX	16
struct reading_err {
	char		 field[32];	/* JSON name; "reading" for the whole */
	char		 msg[128];	/* valid UTF-8, no field name in it */
};
struct reading_errs {
	size_t		 n;
	size_t		 dropped;	/* errors past READING_ERRS_MAX */
	struct reading_err e[READING_ERRS_MAX];
};

void	reading_init(struct reading *);
/* Frees metadata; the reading is then as reading_init() leaves it. */
void	reading_clear(struct reading *);
/* dst is overwritten (not cleared first); -1 when memory ran out. */
int	reading_copy(struct reading *, const struct reading *);

void	reading_limits_default(struct reading_limits *);

void	reading_errs_init(struct reading_errs *);
/* Adds an error unless the field has one already; never overflows. */
void	reading_errs_add(struct reading_errs *, const char *, const char *,
	    ...) __attribute__((format(printf, 3, 4)));
/* The message for a field, or NULL. */
const char *reading_errs_get(const struct reading_errs *, const char *);
/* Appends "field: msg; field: msg" for a log line. */
int	reading_errs_format(const struct reading_errs *, struct buf *);

/*
 * JSON in. reading_parse() takes len bytes (no NUL needed) holding one
 * JSON object; reading_from_json() takes a parsed object. Both
 * initialise the reading, fill it, and return 0, or -1 with every
 * problem in errs (which may be NULL). Call reading_clear() afterwards
 * whatever they returned. A reading they accept passes every check of
 * reading_validate() except the physical range of the value.
 *
 * device_id: required non-empty string, at most 63 bytes, no control
 * characters; probe_id, label: optional strings, same rules; source: at
 * most 15 bytes. temperature: a finite number, or null (no value);
 * required unless status is "NO PROBE", which makes the reading valueless
 * whatever temperature holds. unit: "F", "C", "K" or "H", any case,
 * default "F". timestamp: RFC 3339 text, or a number of Unix seconds
 * (magnitude below 1e11, fraction allowed) or else milliseconds, rounded
 * to the microsecond; absent means now; not before min_ts_ns nor
 * more than max_future_ns after now. battery_level: integer 0-100.
 * signal_strength: a number from -200 to 200, rounded to an integer.
 * status: "NORMAL", "LOW", "HIGH", "NO PROBE" ("NO_PROBE", "UNKNOWN"),
 * any case; absent means unknown, or NO PROBE when temperature is null.
 * flags: integer made of READING_F_* bits. metadata: an object, nested at
 * most 16 deep, copied. traceparent: kept when it is a well-formed W3C
 * traceparent, else ignored as W3C asks. null is the same as absent for
 * every optional field. Other fields are ignored; a field given twice is
 * an error. The document must be valid UTF-8 without NUL (raw or \u0000).
 */
int	reading_parse(const char *, size_t, struct reading *,
	    const struct reading_limits *, struct reading_errs *);
int	reading_from_json(const cJSON *, struct reading *,
	    const struct reading_limits *, struct reading_errs *);

/*
 * Checks a reading however it was made: the rules above plus the
 * physical range of the value (temp_min_c..temp_max_c for F, C and K,
 * hum_min..hum_max for H). 0, or -1 with every problem in errs (may be
 * NULL).
 */
int	reading_validate(const struct reading *, const struct reading_limits *,
	    struct reading_errs *);

/*
 * JSON out, in the field order: device_id, probe_id, temperature, unit,
 * timestamp, battery_level, signal_strength (those seven always, null
 * when unknown), then status, source, label, flags, traceparent and
 * metadata when set. out_unit 0 keeps the stored unit, 'F' or 'C'
 * converts the value (humidity is never converted). Numbers read back
 * exactly. reading_to_json() returns a new object (the caller frees it)
 * or NULL; reading_write_json() appends the same object to a buffer
 * without building a tree, returning 0, or -1 with the buffer as it was.
 * Both fail on an out_unit other than 0, 'F' or 'C'.
 */
cJSON	*reading_to_json(const struct reading *, char);
int	reading_write_json(struct buf *, const struct reading *, char);

/*
 * Units. reading_convert() converts between 'F', 'C' and 'K' (to 'F' or
 * 'C' only; to 0 or to the same unit is identity), returns humidity
 * ('H') unchanged, and NAN for any other pair. reading_canonical() is the
 * value in Celsius (humidity: percent, unchanged); NAN when the reading
 * has no value or an unknown unit.
 */
double	reading_convert(double, char, char);
/*
 * A value that is exactly a 32-bit float (the cloud's), as the double of
 * its shortest decimal: 158.8000030517578 gives 158.8. Others unchanged.
 */
double	reading_float_precision(double);
double	reading_canonical(const struct reading *);
bool	reading_unit_valid(char);

/* "NORMAL", "LOW", "HIGH", "NO PROBE", "UNKNOWN". */
const char *reading_status_name(enum probe_status);
int	reading_status_parse(const char *, enum probe_status *);

#endif
