/*
 * grilld-poller: private declarations, grouped by the file that defines
 * them.
 *
 * Threads. The main thread runs everything that talks to ThermoWorks:
 * one libcurl multi handle (fetch.c) and the state machines on top of it
 * (sign-in, discovery, the poll cycle, backfill). It never touches Redis
 * and never blocks on it. The hand-off thread (handoff.c) owns the Redis
 * connection and the spool: it takes readings from a bounded queue and
 * writes them to the readings stream, or to the spool while Redis is
 * down, and it keeps the leases (lease.c) and the `devices` hash
 * (registry.c) up to date. nng's threads answer registry and status
 * requests from the registry, which has its own mutex; civetweb's answer
 * /health and /metrics from atomics.
 *
 * A reading is "emitted" once handoff_push() accepted it: from then on
 * it reaches Redis or the spool even across a Redis outage or a SIGTERM.
 * The per-channel high-water mark `seen` (device time in microseconds)
 * moves only then, and the Redis script that appends a reading to the
 * stream moves grilld:poller:seen in the same step and skips a reading
 * at or below the mark: a reading reaches the stream at most once, from
 * one poller or two, from the queue or from the spool.
 */
#ifndef GRILLD_POLLER_H
#define GRILLD_POLLER_H

#include <sys/queue.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "backoff.h"
#include "breaker.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "reading.h"
#include "rkeys.h"
#include "util.h"

#define TW_SERIAL_LEN		64
#define TW_TEXT_LEN		64	/* labels, ids */
#define TW_WORD_LEN		24	/* types, models, versions */
#define TW_KEY_LEN		(TW_SERIAL_LEN + 8)	/* "serial/channel" */
#define TW_CHANNELS_MAX		16	/* discovery stops there */
#define TW_CHANNELS_PROBE	9	/* numbers tried: 1..9, holes and all */
#define TW_RESP_MAX		(16 * 1024 * 1024)	/* largest body kept */
#define TW_ELEM_MAX		(1024 * 1024)	/* one runQuery element */

struct poller;
struct tw_account;
struct tw_device;
struct fetch_req;
struct archive_job;
struct reg_entry;

/* The ThermoWorks endpoints, each with a breaker, a hold and metrics. */
enum tw_endpoint {
	TW_EP_AUTH,		/* accounts:signInWithPassword */
	TW_EP_TOKEN,		/* token refresh */
	TW_EP_FIRESTORE,	/* documents */
	TW_EP_STORAGE,		/* archive files */
	TW_EP_COUNT
};

/* ---- tw_firestore.c: Firestore typed values, tolerant of drift ---- */

enum fs_res {
	FS_OK = 0,
	FS_ABSENT,		/* no such field */
	FS_NULL,		/* nullValue */
	FS_BAD			/* a type or text that cannot be read */
};

struct tw_alarm {
	bool		 present;
	bool		 enabled;
	bool		 alarming;
	bool		 has_value;
	double		 value;
	char		 unit;		/* 0 when not given */
};

struct tw_chan_doc {
	int		 number;
	char		 label[TW_TEXT_LEN];
	char		 type[TW_WORD_LEN];
	bool		 has_value;	/* false: null, absent or NO PROBE */
	double		 value;
	char		 unit;		/* 'F', 'C', 'H'; 0 unknown */
	enum probe_status status;
	int64_t		 last_seen_ns;		/* 0: not given */
	int64_t		 last_telemetry_ns;	/* 0: not given */
	struct tw_alarm	 alarm_high;
	struct tw_alarm	 alarm_low;
};

struct tw_fan {
	bool		 present;
	bool		 has_set_temp;
	double		 set_temp;
	char		 state[16];
	bool		 has_connected;
	bool		 connected;
};

struct tw_dev_doc {
	char		 serial[TW_SERIAL_LEN];
	char		 mac[TW_WORD_LEN];	/* deviceId; "" on RFX probes */
	char		 label[TW_TEXT_LEN];
	char		 type[TW_WORD_LEN];	/* "datalogger", "rfx", "bbq" */
	char		 model[TW_WORD_LEN];	/* field "device" */
	char		 account_id[TW_TEXT_LEN];
	char		 firmware[TW_WORD_LEN];
	char		 status[16];
	int		 battery;	/* READING_NO_BATTERY */
	char		 battery_state[16];
	int		 wifi_rssi;	/* READING_NO_SIGNAL */
	int		 gateway_rssi;	/* READING_NO_SIGNAL */
	char		 units;		/* deviceDisplayUnits, 0 unknown */
	int64_t		 recording_s;	/* 0: not given */
	int64_t		 transmit_s;
	int64_t		 last_seen_ns;
	int64_t		 last_telemetry_ns;
	int64_t		 session_start_ns;
	int64_t		 last_archive_ns;	/* the newest archive's */
	int64_t		 heartbeat_s;		/* RFX Meat; 0: not given */
	struct tw_fan	 fan;
};

const cJSON	*fs_fields(const cJSON *);
const cJSON	*fs_field(const cJSON *, const char *);
enum fs_res	 fs_string(const cJSON *, char *, size_t);
enum fs_res	 fs_number(const cJSON *, double *);
enum fs_res	 fs_int(const cJSON *, int64_t *);
enum fs_res	 fs_bool(const cJSON *, bool *);
enum fs_res	 fs_time(const cJSON *, int64_t *);
const cJSON	*fs_map(const cJSON *);
const cJSON	*fs_array(const cJSON *);
int		 fs_doc_id(const cJSON *, char *, size_t);
int		 fs_error_message(const char *, size_t, char *, size_t);
int		 fs_decode_device(const cJSON *, struct tw_dev_doc *);
int		 fs_decode_channel(const cJSON *, struct tw_chan_doc *);
char		 fs_unit(const char *);

/* Splits a streamed JSON array into its elements, one callback each. */
typedef int	(*fs_elem_fn)(const char *, size_t, void *);
struct fs_split {
	int		 state;
	int		 depth;
	bool		 in_str;
	bool		 esc;
	size_t		 max;
	struct buf	 elem;
	fs_elem_fn	 fn;
	void		*arg;
};
void	fs_split_init(struct fs_split *, size_t, fs_elem_fn, void *);
int	fs_split_feed(struct fs_split *, const char *, size_t);
int	fs_split_finish(struct fs_split *);
void	fs_split_free(struct fs_split *);

/* ---- strmap.c: string-keyed hash map ---- */

struct strmap_entry {
	char		*key;		/* NULL: empty slot */
	uint32_t	 hash;
	int64_t		 num;
	void		*ptr;
};
struct strmap {
	struct strmap_entry *slots;
	size_t		 cap;		/* a power of two */
	size_t		 len;
	size_t		 tombs;
};
void	strmap_init(struct strmap *);
void	strmap_free(struct strmap *);
struct strmap_entry *strmap_get(const struct strmap *, const char *);
struct strmap_entry *strmap_put(struct strmap *, const char *);
int	strmap_del(struct strmap *, const char *);
/* Iteration: *i starts at 0; NULL at the end. */
struct strmap_entry *strmap_next(const struct strmap *, size_t *);

/* ---- spool.c: the local append-only spool ---- */

#define SPOOL_MAGIC		"GRSPOOL1"
#define SPOOL_HDR_LEN		8
#define SPOOL_REC_HDR_LEN	8	/* length, CRC32, big-endian */
#define SPOOL_REC_MAX		(1024 * 1024)

struct spool {
	int		 fd;
	char		*path;
	int64_t		 size;		/* bytes in the file */
	int64_t		 read_off;	/* next record to replay */
	int64_t		 records;	/* not yet replayed */
	int64_t		 max;		/* poller.spool_max */
	uint64_t	 dropped_bytes;	/* cut off at open */
	int		 head_fd;	/* "<path>.head": read_off, kept */
	int64_t		 head_saved;	/* read_off last written there */
};
uint32_t spool_crc32(const void *, size_t);
int	spool_open(struct spool *, const char *, int64_t, char *, size_t);
void	spool_close(struct spool *);
int	spool_append(struct spool *, const void *, size_t);
int	spool_sync(struct spool *);
int	spool_read(struct spool *, int64_t, struct buf *, int64_t *);
int64_t	spool_head(const struct spool *);
int64_t	spool_pending(const struct spool *);	/* bytes not replayed */
int	spool_save_head(struct spool *);
int	spool_undo(struct spool *, int64_t, int64_t);
int	spool_compact(struct spool *);
int	spool_cut(struct spool *, const char *);
void	spool_consumed(struct spool *, int64_t);
int	spool_reset(struct spool *);
bool	spool_empty(const struct spool *);
bool	spool_full(const struct spool *);
typedef int	(*spool_rec_fn)(const char *, size_t, void *);
int	spool_scan(struct spool *, spool_rec_fn, void *);

/* ---- fetch.c: requests on one libcurl multi handle ---- */

enum fetch_result {
	FETCH_DONE,		/* an answer came (any status) */
	FETCH_FAILED,		/* transport error or 429/5xx, retries spent */
	FETCH_SKIPPED		/* never sent: breaker open, hold, deadline */
};

typedef void	(*fetch_done_fn)(struct fetch_req *, void *);
typedef int	(*fetch_sink_fn)(struct fetch_req *, const char *, size_t);

struct fetch_req {
	TAILQ_ENTRY(fetch_req) entry;
	enum tw_endpoint ep;
	struct tw_account *acct;	/* sends its bearer token; or NULL */
	bool		 post;
	char		*url;		/* owned */
	char		*body;		/* owned; POST JSON, wiped when freed */
	bool		 referer;	/* the web app's referer (sign-in) */
	int64_t		 deadline_ms;	/* monotonic; not sent after it */
	fetch_sink_fn	 sink;		/* streams a 200 body; NULL: resp */
	void		*sink_arg;
	fetch_done_fn	 done;
	void		*arg;
	int		 tag;		/* the caller's */

	/* Filled in when done. */
	enum fetch_result result;
	long		 status;	/* 0: no answer */
	struct buf	 resp;
	const char	*errstr;	/* why, when not FETCH_DONE or odd */
	bool		 sink_failed;	/* the sink refused the body */
	bool		 too_large;	/* over TW_RESP_MAX */
	int64_t		 retry_after_ms;	/* -1: none */

	/* Private to fetch.c. */
	int		 where;
	size_t		 heap_pos;
	int64_t		 not_before_ms;
	struct backoff	 bo;
	unsigned	 auth_retries;
	unsigned	 token_gen;	/* of the token sent */
	CURL		*easy;
	struct curl_slist *hdrs;
	int64_t		 started_ns;
	char		 curlerr[CURL_ERROR_SIZE];
};

struct fetch_ep {
	const char	*name;
	struct breaker	*breaker;
	int64_t		 hold_until_ms;		/* Retry-After */
	TAILQ_HEAD(, fetch_req) held;
	struct metric_series *m_latency;
	struct metric_series *m_retries;
	struct metric_series *m_skip_breaker;
	struct metric_series *m_skip_deadline;
	struct metric_series *m_skip_cancel;
	struct metric_series *m_held;		/* waited for Retry-After */
	struct metric_series *m_code[501];	/* 0, then 100..599 */
};

struct fetch {
	struct poller	*p;
	CURLM		*multi;
	int64_t		 concurrency;
	int64_t		 timeout_ms;
	unsigned	 inflight;
	size_t		 nready;
	TAILQ_HEAD(, fetch_req) ready;
	TAILQ_HEAD(, fetch_req) wire;
	struct fetch_req	**delayed;	/* min-heap on not_before_ms */
	size_t		 ndelayed, capdelayed;
	CURL		**idle;		/* easy handles to reuse */
	size_t		 nidle, capidle;
	struct fetch_ep	 ep[TW_EP_COUNT];
	struct metric	*m_status;
	uint64_t	 sent;		/* requests put on the wire */
};

int	fetch_init(struct fetch *, struct poller *, char *, size_t);
void	fetch_free(struct fetch *);
struct fetch_req *fetch_req_new(enum tw_endpoint, struct tw_account *,
	    char *, fetch_done_fn, void *);
void	fetch_req_free(struct fetch_req *);
void	fetch_submit(struct fetch *, struct fetch_req *);
void	fetch_run(struct fetch *, int64_t);
void	fetch_account_ready(struct fetch *, struct tw_account *);
void	fetch_cancel_account(struct fetch *, struct tw_account *);
void	fetch_cancel_all(struct fetch *);
bool	fetch_idle(const struct fetch *);
size_t	fetch_backlog(const struct fetch *);
const char *fetch_ep_name(enum tw_endpoint);

/* ---- account.c: the configured accounts ---- */

enum auth_state {
	AUTH_NONE,		/* no token, sign-in not started */
	AUTH_SIGNING_IN,
	AUTH_VALID,
	AUTH_REFRESHING,	/* a valid token, a refresh in flight */
	AUTH_FAILED		/* waiting for the next sign-in try */
};

enum lease_state {
	LEASE_WAIT = 0,		/* not known yet (Redis not asked) */
	LEASE_HELD,
	LEASE_STANDBY		/* another poller holds it */
};

struct tw_account {
	TAILQ_ENTRY(tw_account) entry;
	struct poller	*poller;
	int		 idx;
	char		*email;
	char		*password;	/* secret, never logged; or NULL */
	char		*refresh_file;	/* no password: a refresh token's */
	char		*api_key;	/* secret */
	char		*lease_key;	/* redis key */
	bool		 active;	/* lease held and seen marks loaded */

	/* tw_auth.c */
	enum auth_state	 auth;
	char		*id_token;
	char		*refresh_token;
	char		 uid[128];
	unsigned	 token_gen;
	bool		 from_file;	/* the refresh out is the file's */
	int64_t		 token_expires_ms;	/* monotonic */
	int64_t		 refresh_at_ms;
	int64_t		 signin_at_ms;		/* next try */
	struct backoff	 signin_bo;
	char		 last_error[128];
	TAILQ_HEAD(, fetch_req) waiting;	/* requests waiting for a token */

	/* lease.c, from the hand-off thread */
	_Atomic int	 lease;		/* enum lease_state */
	_Atomic unsigned lease_epoch;	/* bumped at every acquisition */
	int64_t		 lease_until_ms;	/* monotonic: surely ours until */
	unsigned	 epoch_snap;	/* main thread */
	/* When grilld first polled the account (poller:since), set before
	 * each acquisition's lease_epoch: a device first seen is filled in
	 * from there (archive_gap_from()). 0: not known. Lowered by the
	 * main thread to the start of a session found going on then
	 * (since_lower()); since_want_us is that value until the hand-off
	 * thread has written it (lease_since_flush()). */
	_Atomic int64_t	 since_us;
	_Atomic int64_t	 since_want_us;
	unsigned	 seen_epoch;	/* main thread: marks merged up to */

	/* discovery.c */
	char		 account_id[TW_TEXT_LEN];
	bool		 discovering;
	bool		 discovered;
	int64_t		 discover_at_ms;
	unsigned	 query_gen;
	struct fs_split	 split;
	TAILQ_HEAD(, tw_device) devices;
	struct strmap	 by_serial;
	struct tw_device *chan_cursor;	/* next to find channels of */

	/* For the other threads, under poller.status_mu. */
	bool		 st_signed_in;
	bool		 st_discovered;	/* its device list read since the
					 * lease was last taken */
	int		 st_devices;
	char		 st_error[128];
};

int	account_load_all(struct poller *, const struct grilld_conf *,
	    char *, size_t);
int	account_check(const struct grilld_conf *, char *, size_t);
void	account_free(struct tw_account *);
char	*account_read_secret(const char *, char *, size_t);
void	account_free_all(struct poller *);

/* ---- tw_auth.c: Firebase sign-in and token refresh ---- */

void	auth_tick(struct poller *, struct tw_account *, int64_t);
bool	auth_has_token(const struct tw_account *);
void	auth_invalidate(struct poller *, struct tw_account *, unsigned);
void	auth_forget(struct poller *, struct tw_account *);
int64_t	auth_refresh_margin_ms(int64_t);
int64_t	auth_next_event_ms(const struct tw_account *);

/* ---- discovery.c: devices by accountId, channels 1..9, holes kept ---- */

enum dev_disc { DISC_CHANNELS, DISC_DONE };

/* Points missing between two emitted ones: (from_us, to_us), both out. */
struct tw_gap {
	int64_t		 from_us;
	int64_t		 to_us;
};

/*
 * The gaps of a channel as kept in grilld:poller:gaps (or a previous
 * run's spool): the ptr of its entry in a map of seen marks.
 */
struct tw_gapset {
	struct tw_gap	*g;
	int		 n;
};

/*
 * A device clock followed back (emit.c): the old clock's points are
 * accounted for up to hi_us (0: no step being followed), and the clock
 * went back at least back_us.
 */
struct emit_step {
	int64_t		 hi_us;
	int64_t		 back_us;
};

struct tw_channel {
	int		 number;
	char		 key[TW_KEY_LEN];	/* "serial/n" */
	int64_t		 seen_us;		/* last emitted device time */
	int64_t		 bf_us;			/* last backfilled point */
	struct emit_step step;
	struct tw_gap	*gaps;			/* archive.c: sorted */
	int		 ngaps;
	bool		 fresh;			/* doc read this cycle */
	bool		 gone;			/* 404 this cycle */
	struct tw_chan_doc doc;
};

struct tw_device {
	TAILQ_ENTRY(tw_device) entry;
	struct tw_account *acct;
	char		 serial[TW_SERIAL_LEN];
	char		*esc_serial;		/* URL-escaped */
	struct tw_dev_doc doc;
	bool		 has_doc;
	bool		 doc_fresh;
	struct tw_channel *ch;
	int		 nch;
	enum dev_disc	 disc;
	bool		 disc_busy;
	int		 probe_next;		/* channel number to try */
	bool		 reprobe;		/* trying the holes again */
	int64_t		 reprobe_at_ms;
	unsigned	 listed;		/* query_gen it was seen in */
	int		 refs;			/* requests referring to it */
	bool		 removed;		/* freed with the last ref */

	/* cycle.c */
	unsigned	 cycle_id;
	int		 pending;	/* requests of this cycle */
	bool		 busy;		/* polling */
	bool		 failed;
	bool		 probing;	/* the device document alone, first */
	int64_t		 next_poll_ms;	/* its own schedule; 0: the cycle's */
	int64_t		 last_full_ms;	/* channels last fetched */
	int64_t		 telem_ns;	/* lastTelemetrySaved last fetched */
	int		 early;		/* polls in a row that found nothing */

	/* archive.c */
	struct archive_job *job;	/* a backfill running */
	int		 ngaps;		/* channels with a gap open */
	int64_t		 archive_seen_ns;	/* lastArchive last listed */
	bool		 archive_listed;	/* since this process began */
	int64_t		 bf_retry_ms;		/* no backfill before */
	int		 bf_failures;
	struct reg_entry *reg;
};

struct fetch_req *discovery_req(struct poller *, struct tw_account *,
	    const char *, fetch_done_fn, void *);
void	discovery_tick(struct poller *, struct tw_account *, int64_t);
void	discovery_forget(struct poller *, struct tw_account *);
void	discovery_channel_gone(struct poller *, struct tw_device *, int);
void	discovery_reprobe(struct poller *, struct tw_device *, int64_t);
void	device_free(struct tw_device *);
bool	device_unref(struct tw_device *);

/* ---- cycle.c: the poll cycle ---- */

struct sched {
	int64_t		 interval_ms;
	double		 jitter;
	int64_t		 nominal_ms;	/* the un-jittered tick */
	int64_t		 next_ms;	/* when the next cycle is due */
};
int64_t	sched_jitter(int64_t, double, uint64_t);
void	sched_init(struct sched *, int64_t, double, int64_t);
void	sched_advance(struct sched *, int64_t, uint64_t);

void	cycle_tick(struct poller *, int64_t);
int64_t	sched_device_next(int64_t, int64_t, int64_t, int64_t, int64_t, int);
void	cycle_pump(struct poller *);
void	cycle_kick(struct poller *);
void	cycle_forget(struct poller *, struct tw_device *);
void	cycle_device_done(struct poller *, struct tw_device *);

/* ---- emit.c: readings out ---- */

struct emit_point {
	int64_t		 ts_ns;		/* the device's time */
	bool		 has_value;
	double		 value;
	char		 unit;		/* 0: the channel's */
	enum probe_status status;
};
#define EMIT_STEP_BACK_US	(5 * 60 * INT64_C(1000000))
enum emit_verdict {
	EMIT_NEW,		/* past the mark: emitted */
	EMIT_OLD,		/* at or below it: there already */
	EMIT_FUTURE,		/* past now + ingest.future_skew: skipped */
	EMIT_BEHIND,		/* a new document point a little behind */
	EMIT_STEPPED_BACK	/* the device clock went back: follow it */
};
enum emit_verdict emit_judge(int64_t, int64_t, int64_t, int64_t, bool);
/* The gaps a live point opens around a clock step (emit_step_gaps()). */
struct emit_gaps {
	int64_t		 from_us;	/* (from_us, the point); 0: none */
	struct tw_gap	 x;		/* another one; 0 0: none */
};
bool	emit_step_gaps(int64_t, int64_t, int64_t, int64_t, bool,
	    struct emit_step *, struct emit_gaps *);
int	emit_point(struct poller *, struct tw_device *, struct tw_channel *,
	    const struct emit_point *, bool);
int	emit_doc_point(struct poller *, struct tw_device *,
	    struct tw_channel *);
void	emit_seen_merge(struct poller *, struct strmap *);

/* ---- archive.c: backfill from the session archives ---- */

struct archive_row {
	int		 channel;	/* the channel's number */
	int64_t		 ts_ns;
	bool		 has_value;
	double		 value;
	char		 unit;
};
/* Gaps older than this are in no archive that will come: given up. */
#define BACKFILL_GIVE_UP_NS	(INT64_C(48) * 3600 * NS_PER_S)

bool	archive_needed(const struct tw_device *, const struct tw_channel *);
int64_t	archive_gap_from(struct poller *, const struct tw_device *,
	    const struct tw_channel *, int64_t, int64_t);
void	archive_gap_open(struct poller *, struct tw_device *,
	    struct tw_channel *, int64_t, int64_t);
void	archive_after_poll(struct poller *, struct tw_device *);
void	archive_chan_init(struct poller *, struct tw_device *,
	    struct tw_channel *);
void	archive_forget(struct poller *, struct tw_device *);
void	archive_chan_keep(struct poller *, const struct tw_channel *);
void	archive_chan_free(struct tw_channel *);
int	archive_gap_add(struct tw_channel *, int64_t, int64_t);
int	archive_gaps_union(struct tw_gap **, int *, const struct tw_gap *,
	    int);
int	archive_gaps_parse(const char *, struct tw_gapset *);
int	archive_gapset_add(struct strmap *, const char *, int64_t, int64_t);
void	archive_seen_free(struct strmap *);
bool	archive_in_gap(const struct tw_channel *, int64_t);
void	archive_gaps_done(struct tw_channel *, int64_t);
int	archive_gaps_cover(struct tw_channel *, int64_t, int64_t, int64_t);
void	archive_gap_passed(struct tw_channel *, int64_t);
void	archive_free(struct archive_job *);
struct archive_row *archive_parse_rows(const char *, size_t, size_t *,
	    size_t *);
/* A run of an archive file's rows on one clock: every point in it. */
struct archive_span {
	int64_t		 lo_ns;
	int64_t		 hi_ns;
};
struct archive_row *archive_parse_file(const char *, size_t, size_t *,
	    size_t *, struct archive_span **, size_t *);
int	archive_parse_doc(const cJSON *, char *, size_t, int64_t *,
	    int64_t *, int64_t *);
size_t	archive_bf_key(const struct tw_channel *, char *, size_t);

/* ---- handoff.c: readings to Redis, or the spool ---- */

struct handoff_item {
	char		 key[TW_KEY_LEN];	/* "serial/channel" */
	int64_t		 ts_us;
	int64_t		 gap_us;	/* a gap (gap_us, ts_us) ends here; 0 */
	struct tw_gap	 xgap;		/* a clock step's other gap; 0 0 */
	bool		 reset;		/* the device clock stepped back */
	char		*json;			/* the reading */
	size_t		 len;
};

int	handoff_start(struct poller *, char *, size_t);
void	handoff_stop(struct poller *);
int	handoff_push(struct poller *, const char *, int64_t, int64_t,
	    const struct tw_gap *, bool, struct buf *);
bool	handoff_accepting(struct poller *);
bool	handoff_throttled(struct poller *);
void	handoff_post_seen(struct poller *, struct strmap *);
struct strmap *handoff_take_seen(struct poller *);
int	handoff_parse_record(const char *, size_t, struct handoff_item *);

/* ---- lease.c: one active poller per account ---- */

struct rds;
void	lease_tick(struct poller *, struct rds *, int64_t);
void	lease_expire(struct poller *);
void	lease_release_all(struct poller *, struct rds *);
void	lease_since_flush(struct poller *, struct rds *);
void	lease_since_lower(struct tw_account *, int64_t);
struct strmap *lease_load_seen(struct rds *, const char *, const char *);

/* ---- registry.c: the device registry, Redis `devices`, nng rep ---- */

struct reg_entry *registry_add(struct poller *, const char *);
void	registry_remove(struct poller *, struct reg_entry *, bool);
void	registry_update(struct poller *, struct tw_device *, int64_t);
int	registry_flush(struct poller *, struct rds *, const char *);
int	registry_device_json(struct buf *, const struct tw_device *, int64_t,
	    int64_t);
int	registry_serve(struct poller *, char *, size_t);
void	registry_stop(struct poller *);
void	registry_free(struct poller *);

/* ---- poller.c: the daemon ---- */


struct poller_metrics {
	struct metric_series *cycles;
	struct metric_series *overruns;
	struct metric_series *paused;
	struct metric_series *cycle_seconds;
	struct metric_series *polls_ok;
	struct metric_series *polls_failed;
	struct metric_series *emitted_poll;
	struct metric_series *emitted_archive;
	struct metric_series *deferred;
	struct metric_series *signins_ok;
	struct metric_series *signins_failed;
	struct metric_series *signins_throttled;
	struct metric_series *refresh_ok;
	struct metric_series *refresh_failed;
	struct metric_series *token_rejected;
	struct metric_series *backfills_ok;
	struct metric_series *backfills_failed;
	struct metric_series *gaps_open;
	struct metric_series *gaps_opened;
	struct metric_series *gaps_filled;
	struct metric_series *gaps_given_up_no_archive;
	struct metric_series *gaps_given_up_error;
	struct metric_series *to_redis;
	struct metric_series *to_spool;
	struct metric_series *replayed;
	struct metric_series *duplicates;
	struct metric_series *spool_bytes;
	struct metric_series *spool_records;
	struct metric_series *queue_len;
	struct metric_series *devices;
	struct metric_series *channels;
	struct metric_series *skipped_future;	/* emit.c */
	struct metric_series *skipped_behind;
	struct metric_series *clock_back;
	struct metric_series *marks_ignored;
	struct metric_series *stream_full;	/* handoff.c */
	struct metric_series *stream_refused;
};

struct handoff;
struct registry;

struct poller {
	const struct grilld_conf *cf;
	char		 id[96];	/* this process, for leases */
	int64_t		 started_ms;
	char		*k_readings;	/* Redis keys, prefixed */
	char		*k_seen;
	char		*k_gaps;
	char		*k_since;
	char		*k_devices;
	char		*bucket;	/* Storage bucket of the archives */
	struct fetch	 fetch;
	TAILQ_HEAD(, tw_account) accounts;
	int		 naccounts;
	struct strmap	 seen;		/* key -> seen_us and tw_gapset, for
					   new channels */
	struct sched	 sched;
	struct poller_metrics m;
	int		 ndevices;
	int		 nchannels;
	int		 ngaps;		/* archive.c: gaps open */
	struct log_limit odd_log, poll_log, archive_log, overrun_log;

	/* cycle.c */
	bool		 cycle_running;
	unsigned	 cycle_id;
	int64_t		 cycle_started_ms;
	int64_t		 cycle_deadline_ms;
	int		 cycle_pending;		/* devices not done */
	struct tw_account *pump_acct;		/* next device to poll */
	struct tw_device *pump_dev;
	bool		 pumping;
	uint64_t	 cycles;
	uint64_t	 overruns;
	int64_t		 due_at_ms;	/* next pass over the schedules */
	int64_t		 last_cycle_ms;
	struct log_limit paused_log;

	struct handoff	*handoff;
	struct registry	*registry;

	/* Shared with the other threads. */
	pthread_mutex_t	 status_mu;
	_Atomic bool	 redis_up;
	_Atomic bool	 spool_ok;
	_Atomic bool	 spool_full;
	_Atomic bool	 stream_full;	/* readings at ingest.stream_max */
	_Atomic int64_t	 spool_bytes;
	_Atomic uint64_t emitted;
	_Atomic uint64_t st_cycles;
	_Atomic uint64_t st_overruns;
	_Atomic int64_t	 st_last_cycle_ms;
};

/* ---- status.c: readiness and status for the other threads ---- */

bool	poller_ready(void *, struct buf *);
void	poller_status_json(struct poller *, struct buf *);
void	poller_status_publish(struct poller *);

#endif
