/*
 * alertrule: one alert rule, its JSON form and its checks, shared by the
 * API (which stores rules in the Redis hash `rules`) and the ingester
 * (which evaluates them). docs/alerts.md is the user's description of
 * the same schema; keep them in step.
 *
 *	{"id": "brisket-done", "kind": "target", "device_id": "SIG-1",
 *	 "probe_id": "2", "threshold": 203, "unit": "F"}
 *
 * Members (null is the same as absent; unknown members are errors, so a
 * typo does not silently disable a rule):
 *   id          required; 1-63 bytes of [A-Za-z0-9_.:-]
 *   kind        required; above, below, target, rise_rate, fall_rate,
 *               stall, disconnected, battery_low, offline
 *   device_id   required; a device id, or "*" for every device
 *   probe_id    a probe id, or "*" / absent for every probe of the device;
 *               must be absent for the device-level kinds (battery_low,
 *               offline)
 *   threshold   a finite number: degrees (above, below, target), degrees
 *               per minute (rise_rate, fall_rate, > 0), percent
 *               (battery_low, 0-100, default 20); not allowed for stall,
 *               disconnected and offline
 *   unit        "F" (default), "C", or "H" (humidity, above/below only):
 *               the unit of threshold and hysteresis
 *   hysteresis  >= 0, how far back past the threshold a value must go to
 *               clear the alert and re-arm it; default 2 (F, H), 1 (C),
 *               a quarter of the threshold (rates), 5 (battery_low)
 *   for         duration the condition must hold before firing ("30s",
 *               or a number of seconds); default 0
 *   after       disconnected, offline: silence that counts as gone;
 *               default 5m
 *   repeat      while firing and not acknowledged, notify again this
 *               often; default 0 (never)
 *   name        free text shown in alerts, at most 127 bytes; default id
 *   enabled     boolean, default true
 *   notify      boolean, default true: send the rule's alerts to webhooks
 *
 * Errors are reported like a reading's (struct reading_errs: one message
 * per JSON member, "rule" for the whole document), so the API answers a
 * bad rule the way it answers a bad reading.
 *
 * Thread-safe; nothing is allocated that the caller must free except the
 * results of alertrule_to_json().
 */
#ifndef GRILLD_ALERTRULE_H
#define GRILLD_ALERTRULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "reading.h"
#include "util.h"

#define ALERTRULE_ID_LEN	64
#define ALERTRULE_NAME_LEN	128
#define ALERTRULE_ANY		"*"
#define ALERTRULE_AFTER_MS	(5 * 60 * 1000)
#define ALERTRULE_DOC_MAX	4096	/* longest rule document */

enum alertrule_kind {
	ALERTRULE_ABOVE,
	ALERTRULE_BELOW,
	ALERTRULE_TARGET,
	ALERTRULE_RISE_RATE,
	ALERTRULE_FALL_RATE,
	ALERTRULE_STALL,
	ALERTRULE_DISCONNECTED,
	ALERTRULE_BATTERY_LOW,
	ALERTRULE_OFFLINE,
};
#define ALERTRULE_NKINDS	(ALERTRULE_OFFLINE + 1)

struct alertrule {
	char		 id[ALERTRULE_ID_LEN];
	char		 name[ALERTRULE_NAME_LEN];
	enum alertrule_kind kind;
	char		 device_id[READING_ID_LEN];	/* "*": any */
	char		 probe_id[READING_ID_LEN];	/* "*": any */
	double		 threshold;
	char		 unit;		/* 'F', 'C', 'H' */
	double		 hysteresis;
	int64_t		 for_ms;
	int64_t		 after_ms;
	int64_t		 repeat_ms;
	bool		 enabled;
	bool		 notify;
};

/*
 * Parses one rule document (len bytes, no NUL needed) and fills in the
 * defaults. 0, or -1 with every problem in errs (may be NULL).
 */
int	alertrule_parse(const char *, size_t, struct alertrule *,
	    struct reading_errs *);
int	alertrule_from_json(const cJSON *, struct alertrule *,
	    struct reading_errs *);
/* The canonical form, every member written out; NULL when memory ran out. */
cJSON	*alertrule_to_json(const struct alertrule *);

/* "above", ...; NULL for a bad kind. */
const char *alertrule_kind_name(enum alertrule_kind);
int	alertrule_kind_parse(const char *, enum alertrule_kind *);
/* Kinds that concern a device as a whole (battery_low, offline). */
bool	alertrule_device_level(enum alertrule_kind);
/* Whether the rule applies to this device and probe. */
bool	alertrule_matches(const struct alertrule *, const char *,
	    const char *);
/* Rule ids: 1-63 bytes of [A-Za-z0-9_.:-]. */
bool	alertrule_id_valid(const char *);

#endif
