/*
 * msg: the messages grilld's daemons send each other over nng, defined
 * once and versioned.
 *
 * Wire format (every integer big-endian):
 *
 *	offset	size	field
 *	0	2	magic "GR"
 *	2	1	version, MSG_VERSION
 *	3	1	type, enum msg_type
 *	4	4	body length in bytes
 *	8	len	body: one JSON object, UTF-8, no NUL
 *
 * The first four bytes (magic, version, type) are the topic: an nng SUB
 * socket subscribes to one type of one version by that prefix
 * (msg_topic(), nngx_sub_subscribe()). Bump MSG_VERSION whenever a body
 * changes incompatibly; a peer of another version is then refused with
 * an error naming both versions instead of being misread.
 *
 * Bodies, by type. Members not listed may be added without a version
 * bump; readers ignore members they do not know.
 *
 * MSG_READING (pub: ingest -> stream)	a reading the ingester took
 *	(published live, before InfluxDB stores it): the reading
 *	object exactly as common/reading.h writes it (device_id,
 *	probe_id, temperature, unit, timestamp, ...), plus
 *	"event_id": the Redis stream id of the event it came from
 *	("1700000000000-0"), so a client can resume after it.
 * MSG_DEVICE (pub: ingest -> stream)	a device changed state, as the
 *	ingester judges it from its readings (ingest/device.c):
 *	{"device_id": str, "state": str ("online", "offline", ...),
 *	 "timestamp": RFC 3339, "reason": str (optional)}.
 * MSG_ALERT (pub: ingest -> stream)	an alert fired or cleared:
 *	{"alert_id": str, "device_id": str, "probe_id": str, "kind": str,
 *	 "state": "firing" | "cleared", "temperature": num,
 *	 "threshold": num, "unit": str, "timestamp": RFC 3339,
 *	 "event_id": str}.
 * MSG_STATUS_REQ (req -> any daemon's control rep socket)	{}.
 * MSG_STATUS_REP	{"daemon": str, "version": str, "uptime_s": num,
 *	"ready": bool, ...}: daemon-specific members may follow.
 * MSG_DEVICES_REQ (req -> poller)	{} or {"device_id": str} or
 *	{"offset": n, "limit": m}.
 * MSG_DEVICES_REP	{"devices": [ device object, ... ], "complete": bool,
 *	"total": n, "offset": n, "next": n|null}, each element the device
 *	as the poller's registry holds it ("device_id", "name", "state",
 *	"last_seen", ...). complete is false when the poller does not
 *	hold the lease of every account it is configured with (a
 *	standby): the asker reads the `devices` hash instead.
 * MSG_ERROR_REP	the answer to a request that failed:
 *	{"error": str} (msg_encode_error()).
 *
 * A malformed message from an internal peer is a bug: log it loudly and
 * drop it. msg_decode() says what is wrong in err.
 *
 * Thread-safety: every function is reentrant; nothing is shared.
 */
#ifndef GRILLD_MSG_H
#define GRILLD_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "util.h"

#define MSG_MAGIC0	'G'
#define MSG_MAGIC1	'R'
#define MSG_VERSION	1
#define MSG_HDR_LEN	8
#define MSG_TOPIC_LEN	4
#define MSG_BODY_MAX	(1024 * 1024)	/* 1 MiB */
#define MSG_ERRLEN	128		/* enough for any msg_decode() error */

enum msg_type {
	MSG_READING = 1,
	MSG_DEVICE,
	MSG_ALERT,
	MSG_STATUS_REQ,
	MSG_STATUS_REP,
	MSG_DEVICES_REQ,
	MSG_DEVICES_REP,
	MSG_ERROR_REP,
};
#define MSG_TYPE_FIRST	MSG_READING
#define MSG_TYPE_LAST	MSG_ERROR_REP

bool	 msg_type_valid(int);
/* "reading", "device", ..., "error_rep"; "unknown" for anything else. */
const char *msg_type_name(int);

/* The 4-byte subscription prefix of a type: magic, version, type. */
void	 msg_topic(enum msg_type, uint8_t [MSG_TOPIC_LEN]);

/*
 * Builders. Each appends one whole message (header and body) to the
 * buffer, which keeps what it held before; reset it first for a fresh
 * message. They return 0, or -1 when the type is unknown, the body is
 * not one valid UTF-8 JSON object of at most MSG_BODY_MAX bytes, or
 * memory ran out; on -1 the buffer is left as it was. Whatever a
 * builder accepts, msg_decode() accepts.
 *
 * msg_encode() checks the body it is given (one parse); msg_encode_json()
 * prints the object unformatted. The caller keeps ownership of both.
 */
int	 msg_encode(struct buf *, enum msg_type, const char *, size_t);
int	 msg_encode_json(struct buf *, enum msg_type, const cJSON *);
/* A MSG_ERROR_REP whose body is {"error": text}. */
int	 msg_encode_error(struct buf *, const char *);

/*
 * Reader. Checks, in order: at least a whole header, the magic, the
 * version (another version fails naming both), a known type, a body
 * length equal to what follows the header (neither short nor over-long)
 * and at most MSG_BODY_MAX, valid UTF-8, valid JSON, and a JSON object.
 *
 * Returns 0 with *type set and, when body is not NULL, *body a new cJSON
 * object the caller frees with cJSON_Delete(). Returns -1 with a one-line
 * reason in err (when err is not NULL; MSG_ERRLEN bytes are enough);
 * nothing is allocated then and *body is NULL. type may be NULL.
 */
int	 msg_decode(const void *, size_t, enum msg_type *, cJSON **, char *,
	    size_t);

/*
 * The whole answer of a daemon whose control socket serves status only:
 * to MSG_STATUS_REQ, MSG_STATUS_REP {"daemon", "version", "uptime_s" (since
 * started_ns, util_now_ns()), what fill writes, "ready"}, where fill
 * appends one or more members (no comma before or after) and returns
 * whether the daemon is ready; to anything else a MSG_ERROR_REP (a
 * malformed request is logged too). Returns what the encoder returns.
 */
typedef bool (*msg_status_fill_fn)(struct buf *, void *);
int	 msg_status_answer(const void *, size_t, struct buf *, const char *,
	    int64_t, msg_status_fill_fn, void *);

#endif
