/*
 * rkeys: the Redis layout every daemon shares, owned here as msg.h owns
 * the nng messages: key names (each under redis.prefix), the fields of
 * stream entries, the `latest` and `alertstate` field formats, and the
 * poller's emit script. docs/architecture.md's Redis table describes
 * them; a change to any of them is a change of RKEY_LAYOUT.
 *
 * readings entries: RKEY_F_LAYOUT (the layout version, RKEY_LAYOUT) and
 * RKEY_F_READING (the reading JSON, common/reading.h). A reader refuses
 * an entry of another version (ingest: REJECT_BAD_LAYOUT).
 */
#ifndef GRILLD_RKEYS_H
#define GRILLD_RKEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* The readings entry layout version, as written in field RKEY_F_LAYOUT. */
#define RKEY_LAYOUT		"1"

/* readings (and deadletter) entry fields. */
#define RKEY_F_LAYOUT		"v"
#define RKEY_F_READING		"r"
/* deadletter entry fields besides RKEY_F_READING. */
#define RKEY_F_REASON		"reason"
#define RKEY_F_SRC		"src"
#define RKEY_F_ERROR		"error"
#define RKEY_F_CONSUMER		"consumer"
/* webhooks:q:<hash> entry fields: the delivery id and the body. */
#define RKEY_F_DELIVERY		"d"
#define RKEY_F_BODY		"b"
/* events and alerts entry fields: type, device id, event JSON. */
#define RKEY_F_TYPE		"t"
#define RKEY_F_DEVICE		"d"
#define RKEY_F_JSON		"j"

/* alertstate: suffixes of an instance's side fields (written by the API). */
#define RKEY_ACK		"#ack"
#define RKEY_SNOOZE		"#snooze"
/* poller:seen: a channel's backfill mark is its field plus this. */
#define RKEY_SEEN_BACKFILL	"@b"

enum rkey {
	RKEY_READINGS,		/* stream: poller, api -> ingest */
	RKEY_DEADLETTER,	/* stream: what ingest refused */
	RKEY_EVENTS,		/* stream: ingest -> stream */
	RKEY_ALERTS,		/* stream: alert history */
	RKEY_LATEST,		/* hash: device/probe -> newest event */
	RKEY_LATEST_TS,		/* hash: device/probe -> its time (ns) */
	RKEY_DEVICES,		/* hash: device id -> device state */
	RKEY_RULES,		/* hash: rule id -> rule */
	RKEY_RULES_VERSION,	/* counter, moved on every rule change */
	RKEY_ALERTSTATE,	/* hash: rule/device/probe -> state */
	RKEY_POLLER_SEEN,	/* hash: serial/channel -> last emitted */
	RKEY_POLLER_GAPS,	/* hash: serial/channel -> "from-to ..." */
	RKEY_POLLER_SINCE,	/* hash: account -> first polled (us) */
	RKEY_LEASE_POLLER,	/* string prefix: + account id */
	RKEY_WEBHOOKS_PENDING,	/* list: webhook deliveries at stop */
	RKEY_WEBHOOKS_Q,	/* stream prefix: + 16 hex of the url's
				 * FNV-1a, a receiver's deliveries */
	RKEY_COUNT
};

/* A key's name without the prefix ("readings"). */
const char	*rkey_name(enum rkey);
/* prefix (NULL: none) and the name into out; -1 when it did not fit. */
int		 rkey(char *, size_t, const char *, enum rkey);
/* The same, allocated; NULL when out of memory. */
char		*rkey_dup(const char *, enum rkey);

/* The `latest` (and `latest:ts`) field of a probe: "device/probe". */
int		 rkey_latest_field(char *, size_t, const char *,
		    const char *);
/* The same, appended to a buffer. */
int		 rkey_latest_put(struct buf *, const char *, const char *);
/*
 * An HSCAN MATCH pattern for every field under a first part: every probe
 * of a device in `latest` ("device/\*"), every instance of a rule in
 * `alertstate`. The first part's glob characters are escaped.
 */
int		 rkey_field_glob(struct buf *, const char *);
/* The alertstate field of an instance: "rule/device/probe". */
int		 rkey_alert_field(char *, size_t, const char *, const char *,
		    const char *);
/* An instance's side field: the field and RKEY_ACK or RKEY_SNOOZE. */
int		 rkey_alert_side(char *, size_t, const char *, const char *);

/*
 * A readings entry as XADD arguments: XADD stream * v 1 r json, into
 * argv and lens (RKEY_XADD_ARGC each). The API's batch pipelines these.
 */
#define RKEY_XADD_ARGC	7
void		 rkey_readings_xadd(const char **, size_t *, const char *,
		    const char *, size_t);

/*
 * The poller's emit script (poller/handoff.c says how it is called):
 * KEYS[1] readings, KEYS[2] poller:seen, KEYS[3] poller:gaps; ARGV[1]
 * the stream's bound, ARGV[2] the furthest mark believed, ARGV[3] the
 * time before which gaps are given up, then "serial/channel", time in
 * microseconds (negative: follow the clock back), the start of the gap
 * the reading ends ("0": none), reading JSON for each reading. Answers
 * {appended, taken}.
 */
extern const char rkey_emit_lua[];

#endif
