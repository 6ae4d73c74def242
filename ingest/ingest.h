/*
 * grilld-ingest: private declarations, grouped by the file that defines
 * them. docs/ingest.md tells the whole story; in short:
 *
 *   main thread     XREADGROUP `readings` -> validate -> anomalies, cook,
 *                   alerts -> line protocol into a batch, published live
 *                   at once; queues full batches for the writer;
 *                   dead-letters and XACKs what the writer stored;
 *                   claims, trims, ticks (ingest.c,
 *                   consume.c, validate.c, anomaly.c, cook.c, alert.c,
 *                   alertstore.c, device.c, publish.c)
 *   writer thread   one batch at a time to InfluxDB, retried behind a
 *                   circuit breaker until it is stored (influx.c,
 *                   writer.c)
 *   webhook thread  alert webhooks, bounded queue, retries (webhook.c)
 *   nng, civetweb   status request/reply, /metrics and /health
 *                   (status.c)
 *
 * Only the main thread touches Redis and the per-probe state.
 */
#ifndef GRILLD_INGEST_H
#define GRILLD_INGEST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "alertrule.h"
#include "breaker.h"
#include "influx.h"
#include "metrics.h"
#include "options.h"
#include "rds.h"
#include "reading.h"
#include "rkeys.h"
#include "util.h"

#define INGEST_ID_LEN		48	/* a stream id, "1700000000000-0" */
#define INGEST_DID_LEN		64	/* a webhook delivery id */
#define INGEST_KEY_LEN		(2 * READING_ID_LEN)	/* "device/probe" */
#define ALERT_ID_LEN		24
#define ALERT_KEY_LEN		(ALERTRULE_ID_LEN + 2 * READING_ID_LEN + 4)
#define INGEST_PROBES_MAX	16384	/* per-probe state kept */
#define INGEST_PROBE_SERIES_MAX	512	/* probes with gauges on /metrics */
#define INGEST_ALERTS_MAX	16384	/* alert instances kept */
#define INGEST_RULES_MAX	1024	/* rules loaded */
#define INGEST_STOP_MS		8000	/* flush budget on SIGTERM */
#define INGEST_READ_MAX		5000	/* entries per XREADGROUP reply */

/*
 * table.c: a bounded string-keyed map, least recently used out. Values
 * are zeroed on creation and stay put until deleted or evicted.
 */
struct table;
struct table	*table_new(size_t, size_t);
void		 table_free(struct table *);
void		*table_get(struct table *, const char *);
void		*table_put(struct table *, const char *, bool *);
void		 table_del(struct table *, const char *);
void		 table_del_value(struct table *, void *);
const char	*table_key(const void *);
size_t		 table_count(const struct table *);
uint64_t	 table_evicted(const struct table *);
/* Most recent first; safe to delete the current value while walking. */
void		*table_first(struct table *);
void		*table_next(struct table *, void *);

/* anomaly.c */
struct anomaly_conf {
	double		 z_limit;
	double		 alpha;
	unsigned	 warmup;
	double		 min_sd;
	double		 rate_limit_c;		/* C per second */
	double		 rate_limit_h;		/* % per second */
	unsigned	 stuck_n;
	int64_t		 stuck_ns;
	double		 dropout_factor;
	int64_t		 dropout_min_ns;
	int64_t		 reconnect_ns;
};
struct anomaly_state {
	double		 mean, var;
	double		 last;
	double		 interval_s;
	int64_t		 last_ts;
	int64_t		 flat_since;
	uint32_t	 n;
	uint32_t	 flat_n;
	bool		 moved;
	bool		 absent;
	bool		 have_last;
};
void		 anomaly_conf_default(struct anomaly_conf *);
/* The READING_F_* flags this reading earns; updates the state. */
uint32_t	 anomaly_check(const struct anomaly_conf *,
		    struct anomaly_state *, const struct reading *);

/* cook.c */
struct cook_conf {
	double		 tau_s;
	double		 rising_rate;		/* C/min */
	double		 stall_min_c;
	double		 stall_rate;		/* C/min */
	int64_t		 stall_ns;
	double		 stall_exit_c;
	double		 eta_min_rate;		/* C/min */
	unsigned	 warmup;
	int64_t		 plateau_ns;		/* within plateau_c that long */
	double		 plateau_c;
};
struct cook_state {
	double		 rate;			/* C/min, smoothed */
	double		 last;
	int64_t		 last_ts;
	uint32_t	 n;
	bool		 rising;
	bool		 stall;
	int64_t		 slow_since;
	int64_t		 stall_since;
	double		 stall_level;
	bool		 reached;		/* the target, once */
	int64_t		 plat_since;		/* 0: no plateau */
	double		 plat_lo, plat_hi;
};
enum cook_change { COOK_NONE, COOK_STALL_STARTED, COOK_STALL_ENDED };
struct cook_info {
	bool		 has_rate;
	double		 rate_c;		/* C/min */
	double		 target_c;		/* NAN: none */
	bool		 has_eta;
	int64_t		 eta_ns;
	bool		 stall;
	enum cook_change change;
};
void		 cook_conf_default(struct cook_conf *);
void		 cook_update(const struct cook_conf *, struct cook_state *,
		    const struct reading *, double, bool, struct cook_info *);
int		 cook_write_json(struct buf *, const struct cook_info *, char);

/* alert.c */
enum alert_state { ALERT_ARMED, ALERT_PENDING, ALERT_FIRING };
struct alert_event {
	enum alertrule_kind kind;
	bool		 firing;	/* false: cleared */
	bool		 publish;	/* announce; false: state change only */
	bool		 notify;	/* publish to webhooks too */
	bool		 notified;	/* the firing was announced */
	unsigned	 repeat;
	int64_t		 ts_ns;
	int64_t		 since_ns;	/* when the firing began */
	double		 value;
	bool		 has_value;
	double		 threshold;
	char		 unit;
	char		 alert_id[ALERT_ID_LEN];
	char		 rule_id[ALERTRULE_ID_LEN];
	char		 name[ALERTRULE_NAME_LEN];
	char		 device_id[READING_ID_LEN];
	char		 probe_id[READING_ID_LEN];
	char		 key[ALERT_KEY_LEN];	/* field in `alertstate` */
	char		 message[512];
};
struct alert_hooks {
	/* Wall ns the instance is snoozed until; 0 when it is not. */
	int64_t		(*snoozed_until)(void *, const char *);
	/* Whether this firing (alert id) was acknowledged. */
	bool		(*acked)(void *, const char *, const char *);
	void		*arg;
};
struct alert_sink {
	void		(*emit)(void *, const struct alert_event *);
	void		*arg;
};
struct alerts;
struct alerts	*alerts_new(size_t, const struct alert_hooks *);
void		 alerts_free(struct alerts *);
/* Takes the array (malloc'd, n rules, ids unique). */
void		 alerts_set_rules(struct alerts *, struct alertrule *, size_t,
		    int64_t, const struct alert_sink *);
void		 alerts_reading(struct alerts *, const struct reading *,
		    const struct cook_info *, int64_t,
		    const struct alert_sink *);
void		 alerts_tick(struct alerts *, int64_t,
		    const struct alert_sink *);
/* Whether cook state is wanted for the probe: its target, stall rule. */
bool		 alerts_cook_wanted(struct alerts *, const char *,
		    const char *, double *, bool *);
int		 alerts_restore(struct alerts *, const char *, const char *,
		    const char *, const char *, int64_t, bool);
size_t		 alerts_nrules(const struct alerts *);
size_t		 alerts_ninstances(const struct alerts *);
uint64_t	 alerts_generation(const struct alerts *);

/* alert_json.c */
const char	*alert_state_name(enum alert_state);
int		 alert_event_json(struct buf *, const struct alert_event *,
		    const char *);
int		 alert_state_json(struct buf *, const struct alert_event *,
		    int64_t);

/* validate.c */
enum reject {
	REJECT_NONE = 0,
	REJECT_BAD_LAYOUT,	/* no r field, unknown v */
	REJECT_BAD_UTF8,
	REJECT_BAD_JSON,
	REJECT_MISSING_ID,
	REJECT_BAD_ID,
	REJECT_BAD_VALUE,	/* missing, not a number, not finite */
	REJECT_BAD_UNIT,
	REJECT_BAD_TIMESTAMP,
	REJECT_FUTURE,
	REJECT_TOO_OLD,
	REJECT_OUT_OF_RANGE,
	REJECT_BAD_FIELD,
	REJECT_MAX_DELIVERIES,	/* kept failing: delivered too often */
	REJECT_INFLUX,		/* InfluxDB refused the point (400) */
	REJECT_LOST,		/* deleted from the stream while pending */
	REJECT_NREASONS
};
struct range {
	char		 type[32];
	double		 min, max;	/* Celsius, or % for humidity */
};
#define VALIDATE_RANGES_MAX	32
struct validate {
	struct range	 ranges[VALIDATE_RANGES_MAX];
	size_t		 nranges;
	int64_t		 future_ns;
	int64_t		 retention_ns;	/* 0: forever */
	struct metric_series *m_in;
	struct metric_series *m_rejected[REJECT_NREASONS];
};
int		 validate_init(struct validate *, const struct grilld_conf *,
		    char *, size_t);
/*
 * Decodes one stream entry (its v and r fields) into a reading and
 * checks it. REJECT_NONE and a reading to clear, or a reason with the
 * detail in why (why_len bytes).
 */
enum reject	 validate_entry(struct validate *, const char *, size_t,
		    const char *, size_t, struct reading *, int64_t, char *,
		    size_t);
const char	*validate_reason_name(enum reject);
void		 validate_count(struct validate *, enum reject);
/* The range a probe type is held to; the type is guessed as documented. */
const struct range *validate_range(const struct validate *,
		    const struct reading *);
int		 validate_parse_retention(const char *, int64_t *);

/*
 * batch.c: the readings on their way to InfluxDB. Per item: its stream
 * id, its line of line protocol, its event JSON, the entry as received
 * (for the dead-letter stream) and its key in `latest`.
 */
struct bitem {
	char		 id[INGEST_ID_LEN];
	uint32_t	 lp_off, lp_len;
	uint32_t	 ev_off, ev_len;
	uint32_t	 raw_off, raw_len;
	uint32_t	 key_off, key_len;	/* "device/probe" */
	uint32_t	 dev_len;		/* device part of the key */
	bool		 latest;		/* newest of its probe so far */
	int64_t		 ts_ns;			/* the reading's time */
	bool		 backfill;		/* from an archive: not published */
	bool		 dead;			/* refused by InfluxDB */
	uint32_t	 why_off;		/* into batch.why, when dead */
};
struct devev {
	char		 device_id[READING_ID_LEN];
	bool		 online;
	int64_t		 ts_ns;
	char		 reason[64];
};
struct batch {
	struct bitem	*it;
	size_t		 n, cap;
	struct buf	 lp, ev, raw, keys, why;
	struct alert_event *alerts;
	size_t		 nalerts, alerts_cap;
	struct devev	*devs;
	size_t		 ndevs, devs_cap;
	int64_t		 first_ms;	/* monotonic, first item added */
	int64_t		 touched_ms;	/* monotonic, last touched; 0: never */
	int64_t		 oldest_ms;	/* wall ms of the oldest entry id */
	size_t		 ndead;
	size_t		 live_n, live_ndevs, live_nalerts;	/* published */
	uint64_t	 gen;		/* new at every reset, unique */
	struct batch	*next;		/* in a queue of ingest.c */
};
void		 batch_init(struct batch *);
void		 batch_free(struct batch *);
void		 batch_reset(struct batch *);
bool		 batch_empty(const struct batch *);
/* A new item; its buffers are appended by the caller. NULL: no memory. */
struct bitem	*batch_add(struct batch *, const char *);
void		 batch_drop_last(struct batch *);
int		 batch_add_alert(struct batch *, const struct alert_event *);
int		 batch_add_device(struct batch *, const struct devev *);
void		 batch_kill(struct batch *, size_t, const char *);
int64_t		 batch_id_ms(const char *);

/* influx_setup.c: database, retention policies, continuous queries. */
int		 influx_setup(struct influx *, char *, size_t);

/* writer.c: the writer thread and its hand-over of one batch. */
enum write_outcome { WRITE_NONE, WRITE_STORED, WRITE_ABANDONED };
struct writer;
struct writer	*writer_start(const struct grilld_conf *, char *, size_t);
/* Hands a batch over; false while the writer still holds one. */
bool		 writer_submit(struct writer *, struct batch *);
/* The batch it finished and how, or NULL; waits up to ms. */
struct batch	*writer_collect(struct writer *, int64_t,
		    enum write_outcome *);
bool		 writer_busy(struct writer *);
/* Stop retrying after the deadline (monotonic ms), then join. */
void		 writer_stop(struct writer *, int64_t);
void		 writer_free(struct writer *);
/* For health and status. */
struct writer_health {
	bool		 setup_done;
	bool		 last_ok;
	int		 last_status;		/* 204, 400, ..., 0 transport */
	char		 last_error[160];
	int64_t		 last_at;		/* wall ns, 0: never */
	int64_t		 last_ok_at;
	double		 last_latency_s;
	enum breaker_state breaker;
	uint64_t	 batches, points;
};
void		 writer_health(struct writer *, struct writer_health *);

/* consume.c: the consumer group on `readings`. */
struct consume {
	struct rds	*rds;
	char		 stream[256];
	char		 deadletter[256];
	char		 group[128];
	char		 consumer[128];
	int64_t		 claim_idle_ms;
	int64_t		 max_deliveries;
	int64_t		 deadletter_max;
	char		 last_id[INGEST_ID_LEN];	/* last entry read */
	uint64_t	 resets;
	int64_t		 lag;				/* -1: unknown */
	int64_t		 pending;			/* of the group */
	struct metric_series *m_read, *m_claimed, *m_dead, *m_trimmed;
	struct metric_series *m_resets, *m_lost;
	/* Where dead letters of its own (max_deliveries, lost) are counted. */
	struct validate	*val;
	/* Whether an entry id is in a batch this replica holds. */
	bool		(*held)(const char *, void *);
	void		*held_arg;
};
typedef void	(*consume_fn)(const struct rds_entry *, unsigned, void *);
/* A Redis key or stream name under redis.prefix. */
void		 consume_key(const struct grilld_conf *, enum rkey, char *,
		    size_t);
int		 consume_init(struct consume *, struct rds *,
		    const struct grilld_conf *);
/* XGROUP CREATE ... MKSTREAM, idempotently. */
int		 consume_group(struct consume *);
/*
 * Reads up to count new entries, blocking up to block_ms (0: no wait).
 * Calls fn for each (with its delivery count, 1). Returns the number
 * read, or -1 (Redis down; logged).
 */
int		 consume_read(struct consume *, int, int64_t, consume_fn,
		    void *);
/*
 * Claims entries idle longer than claim_idle in any other consumer (or,
 * own true, this consumer's that no batch holds, at any idleness: after
 * a restart under the same name, or a batch given up), up to count.
 * Never this consumer's own entries otherwise. Entries delivered more
 * than max_deliveries times go to the dead-letter stream instead of fn
 * (and are counted as rejected, reason max_deliveries).
 */
int		 consume_claim(struct consume *, bool, int, consume_fn,
		    void *);
/*
 * Resets the idle time of the entries of nb batches (NULLs skipped)
 * still being worked on: XCLAIM JUSTID, which counts no delivery.
 */
int		 consume_touch(struct consume *, struct batch *const *, size_t);
/*
 * Pipelining (rds_append_argv): these return how many commands they
 * appended (0 or 1), or -1.
 */
/* Appends XACK of every item of a batch to the pipeline. */
int		 consume_append_ack(struct consume *, const struct batch *);
/* Appends an XADD to the dead-letter stream to the pipeline. */
int		 consume_append_dead(struct consume *, const char *,
		    const char *, const char *, size_t, const char *);
/* Dead-letters and acknowledges one entry now. */
int		 consume_reject(struct consume *, const char *, const char *,
		    const char *, size_t, const char *);
/* Trims what every group has processed; updates lag and pending. */
int		 consume_trim(struct consume *);

/* alertstore.c: rules, snoozes and acknowledgements in Redis. */
struct alertstore {
	struct rds	*rds;
	char		 rules[256];
	char		 version[256];
	char		 state[256];
	char		 loaded_version[64];
	bool		 loaded;
	uint64_t	 reloads;
	uint64_t	 bad_rules;
	struct metric_series *m_reloads, *m_bad;
};
void		 alertstore_init(struct alertstore *, struct rds *,
		    const struct grilld_conf *);
/* Reloads the rules when `rules:version` moved (or force). 1, 0, -1. */
int		 alertstore_poll(struct alertstore *, struct alerts *, bool,
		    const struct alert_sink *);
/* Brings back firing instances from `alertstate` (after the rules). */
int		 alertstore_restore(struct alertstore *, struct alerts *);
int64_t		 alertstore_snoozed_until(void *, const char *);
bool		 alertstore_acked(void *, const char *, const char *);

/* device.c: which devices are online, from their readings. */
struct devices;
struct devices	*devices_new(size_t, int64_t);
void		 devices_free(struct devices *);
/* A reading of the device; fills ev and returns true when it came back. */
bool		 devices_seen(struct devices *, const struct reading *,
		    int64_t, struct devev *);
/* Devices silent for stale_after; calls fn for each that went offline. */
void		 devices_tick(struct devices *, int64_t,
		    void (*)(const struct devev *, void *), void *);

/* publish.c: what follows a stored batch. */
struct publish {
	struct rds	*rds;
	nng_socket	 pub;
	nng_aio		*aio;		/* reused for every send */
	atomic_int	 subscribers;	/* pipes connected, from nng */
	bool		 pub_open;
	struct buf	 msg;
	char		 latest[256];
	char		 latest_ts[256];	/* "device/probe" -> its ns */
	char		 events[256];
	char		 alerts[256];
	char		 state[256];
	int64_t		 events_max;
	int64_t		 alerts_max;
	char		 events_maxs[24], alerts_maxs[24];
	struct webhooks	*webhooks;
	struct buf	 scratch;
	/* One live publication, kept from one to the next (publish.c). */
	struct buf	 out;		/* its pipeline, formatted */
	int		 ncmds;		/* commands in out */
	char		(*ids)[INGEST_ID_LEN];	/* per reply: an XADD's id */
	size_t		 ids_cap;
	size_t		*alert_rep;	/* per alert: its reply, SIZE_MAX */
	size_t		 alert_rep_cap;
	/* Per delivery of the publication's alerts, in order (publish.c). */
	struct hookref {
		char	 did[INGEST_DID_LEN];
		char	 sid[INGEST_ID_LEN];	/* its receiver's stream id */
	}		*hrefs;
	size_t		 nhrefs, hrefs_cap, hrefs_got;
	/*
	 * `latest` waiting to be written, per "device/probe" (a struct
	 * lstage, its JSON in lbuf): written at once, but in a backlog
	 * (backlog, set by the reader) at most every PUBLISH_LATEST_MS.
	 */
	struct table	*lstage;
	struct buf	 lbuf;
	int64_t		 latest_ms;	/* last written, monotonic */
	bool		 backlog;
	struct metric_series *m_events, *m_alerts_fired[ALERTRULE_NKINDS];
	struct metric_series *m_pub_errors;
};
int		 publish_init(struct publish *, struct rds *,
		    const struct grilld_conf *, struct webhooks *, char *,
		    size_t);
void		 publish_close(struct publish *);
/*
 * Live, before storage: `latest`, the `events` and `alerts` streams,
 * `alertstate`, nng, webhooks for what the batch gained since its last
 * live publication (its live_* cursors). 0, or -1 to try again later.
 */
int		 publish_live(struct publish *, struct batch *);
/*
 * In a backlog (the last read was full) `latest` is written at most this
 * often, each probe's newest reading only, or once this many probes
 * wait; otherwise with every publication.
 */
#define PUBLISH_LATEST_MS	1000
#define PUBLISH_LATEST_MAX	16384
/* Stored: dead letters of refused points, then XACK of every entry. */
int		 publish_stored(struct publish *, struct consume *,
		    struct batch *);

/*
 * webhook.c: alert webhooks from ingest.webhooks, a thread per receiver,
 * each delivery kept in the receiver's Redis stream until it is done
 * (cf is held for the life of the webhooks: the Redis options point
 * into it).
 */
struct webhooks;
struct webhooks	*webhooks_start(const struct grilld_conf *, char *, size_t);
/*
 * An alert's deliveries are written to the receivers' streams by the
 * live publication itself, in the same script as the alert's events
 * (publish.c), so that no alert reaches `events` without them:
 * webhooks_key() names receiver i's stream (NULL past the last),
 * webhooks_delivery_id() makes a new delivery id for an alert, and
 * webhooks_queue_kept() queues in memory a delivery its stream holds
 * under sid (one the queue has no room for is dropped, counted, and
 * deleted from the stream). None waits for a receiver.
 */
const char	*webhooks_key(const struct webhooks *, size_t);
void		 webhooks_delivery_id(struct webhooks *, const char *, char *,
		    size_t);
void		 webhooks_queue_kept(struct webhooks *, size_t, const char *,
		    const char *, const char *, size_t);
/*
 * To the receiver with this url only, written to its stream first (one
 * XADD on the webhooks' own connection); -1 when there is none.
 */
int		 webhooks_send_to(struct webhooks *, const char *, const char *,
		    size_t);
/*
 * Stops every receiver (a delivery in progress is cut short). Queued
 * deliveries kept in Redis stay there for the next start; each one that
 * Redis did not take goes to fn(url, body, len, arg) when fn is not NULL,
 * so that it outlives the process.
 */
void		 webhooks_stop(struct webhooks *,
		    void (*)(const char *, const char *, size_t, void *),
		    void *);
size_t		 webhooks_count(const struct webhooks *);

/* status.c: MSG_STATUS_REQ over nng, /health/ready. */
struct status {
	pthread_mutex_t	 mtx;
	bool		 redis_up;
	int64_t		 oldest_unacked_ms;	/* wall ms of the oldest; 0 */
	int64_t		 lag;
	int64_t		 pending;
	size_t		 rules;
	uint64_t	 stored, rejected;
	int64_t		 started_ns;
	struct writer	*writer;
};
extern struct status	ingest_status;
int		 status_start(const char *, char *, size_t);
void		 status_stop(void);
bool		 status_ready(void *, struct buf *);
void		 status_update(bool, int64_t, int64_t, int64_t, size_t);


#endif
