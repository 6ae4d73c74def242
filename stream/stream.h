/*
 * grilld-stream: live fan-out of stored events over Server-Sent Events and
 * WebSocket, replay from Redis, and the live page.
 *
 * Threads. One event loop thread (loop.c, epoll) owns every connection,
 * the hub and all their state, as nginx's worker does: non-blocking
 * sockets, writes straight from the event's shared bytes, no lock on the
 * hot path; stream.threads of them, each with its own clients, hub and
 * nng SUB socket to the ingester (sub.c), whose receive descriptor it
 * polls. Other threads talk to a loop only through its inbox
 * (loop_post): the Redis workers that fetch snapshots and replays
 * (replay.c), and the other loops handing it new connections. nng's
 * reply workers answer status requests (status.c). The main thread
 * waits for signals. docs/stream.md says why this and not civetweb or
 * nng's aio HTTP server, with the measurements.
 *
 * Ownership. An event (struct sev) is built once, rendered once per
 * transport and shared by reference between every client queue that holds
 * it (sev_ref/sev_unref). A client is freed by the loop when it is closed
 * and no Redis job holds it (client_release).
 */
#ifndef GRILLD_STREAM_H
#define GRILLD_STREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "metrics.h"
#include "options.h"
#include "rkeys.h"
#include "util.h"

#define STREAM_ID_LEN		48	/* "18446744073709551615-18446744073709551615" */
#define STREAM_NAME_LEN		64	/* device and probe ids, as reading.h */
#define STREAM_REQ_MAX		8192	/* request line and headers */
#define STREAM_OUT_CHUNK	(64 * 1024)	/* bytes handed to one send */
#define STREAM_PEND_MAX		(1024 * 1024)	/* private bytes queued */
#define STREAM_REPLAY_CHUNK	256	/* entries per XRANGE */
#define STREAM_BAD_MSGS_MAX	16	/* invalid WS messages in a row */

/* WebSocket close codes: RFC 6455 ones, then grilld's own (4xxx). */
#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_GOING_AWAY	1001	/* server stopping */
#define WS_CLOSE_PROTOCOL	1002	/* malformed frame */
#define WS_CLOSE_UNSUPPORTED	1003	/* binary message */
#define WS_CLOSE_BAD_DATA	1007	/* text that is not UTF-8 */
#define WS_CLOSE_POLICY		1008	/* too many invalid messages */
#define WS_CLOSE_TOO_BIG	1009	/* above stream.max_message */
#define WS_CLOSE_INTERNAL	1011	/* out of memory */
#define WS_CLOSE_TRY_LATER	1013	/* slow consumer */
#define WS_CLOSE_IDLE		4000	/* silent for stream.idle_timeout */

enum ws_op { WS_CONT = 0, WS_TEXT = 1, WS_BIN = 2, WS_CLOSE = 8,
	WS_PING = 9, WS_PONG = 10 };

/* --- event.c: events, their ids and their wire forms --------------- */

enum sev_type { SEV_READING, SEV_DEVICE, SEV_ALERT };

struct sev_id {
	uint64_t	 ms;
	uint64_t	 seq;
};

struct sev {
	_Atomic int	 refs;
	enum sev_type	 type;
	struct sev_id	 id;
	char		 idstr[STREAM_ID_LEN];
	char		 device[STREAM_NAME_LEN];
	char		 probe[STREAM_NAME_LEN];	/* "" when none */
	char		*sse;		/* "id: ...\nevent: ...\ndata: ...\n\n" */
	size_t		 sselen;
	char		*ws;		/* a whole WebSocket text frame */
	size_t		 wslen;
	size_t		 hdrlen;	/* frame header bytes before the JSON */
	/* grill-stats' forms, readings only: "id: ...\ndata: ...\n\n" (an
	 * unnamed event, so EventSource.onmessage fires) and a frame of
	 * the bare reading. NULL for other events. */
	char		*seed_sse;
	size_t		 seed_sselen;
	char		*seed_ws;
	size_t		 seed_wslen;
};

const char	*sev_type_name(enum sev_type);
int		 sev_type_parse(const char *, size_t, enum sev_type *);
/* "1700000000000-3", or "1700000000000" (seq 0). */
int		 sev_id_parse(const char *, struct sev_id *);
int		 sev_id_cmp(struct sev_id, struct sev_id);
/* Whether an id can be resumed after: the largest one cannot. */
bool		 sev_id_has_next(struct sev_id);
void		 sev_id_format(struct sev_id, char *, size_t);
/*
 * A new event (one reference) from the event's JSON object, which it
 * does not keep; the id comes from "event_id" when idstr is NULL.
 * NULL with a reason in err when the object lacks what an event needs.
 */
struct sev	*sev_new(enum sev_type, cJSON *, const char *, char *,
		    size_t);
struct sev	*sev_ref(struct sev *);
void		 sev_unref(struct sev *);
/* The JSON of an event, as a borrowed span of its WebSocket frame. */
const char	*sev_json(const struct sev *, size_t *);

/* --- http.c: requests and responses -------------------------------- */

#define HTTP_HDRS_MAX	32

struct http_hdr {
	const char	*name;
	const char	*value;
};

struct http_req {
	char		*method;
	char		*target;	/* as sent */
	char		 path[512];	/* decoded, without the query */
	const char	*query;		/* raw, after '?'; "" when none */
	int		 minor;		/* HTTP/1.minor */
	bool		 keepalive;
	size_t		 nhdrs;
	struct http_hdr	 hdrs[HTTP_HDRS_MAX];
	size_t		 len;		/* bytes of the request */
};

/*
 * Parses a request in buf (modified in place: lines are cut with NULs).
 * 1: a whole request, len says how long; 0: incomplete; -1: malformed,
 * *status says how to answer (400, 414, 431, 501, 505).
 */
int		 http_parse(char *, size_t, struct http_req *, int *);
const char	*http_header(const struct http_req *, const char *);
size_t		 http_header_count(const struct http_req *, const char *);
bool		 http_header_has(const struct http_req *, const char *,
		    const char *);
/* A query parameter, decoded: 0, -1 when absent, -2 when bad or long. */
int		 http_query(const char *, const char *, char *, size_t);
int		 http_urldecode(const char *, size_t, char *, size_t);
const char	*http_status_text(int);
/* Appends a whole response with a body (Content-Length). */
int		 http_response(struct buf *, int, const char *, const char *,
		    size_t, const char *, bool);
int		 http_error(struct buf *, int, const char *, const char *,
		    const char *, bool);

/* --- sha1.c: SHA-1 and base64 (the WebSocket handshake) -------------- */

#define SHA1_LEN	20
void		 sha1(const void *, size_t, uint8_t [SHA1_LEN]);
size_t		 base64_encode(const uint8_t *, size_t, char *, size_t);

/* --- filter.c: what a client follows -------------------------------- */

struct filter {
	bool		 all;		/* every device */
	size_t		 ndevices;
	char		 (*devices)[STREAM_NAME_LEN];
	size_t		 nprobes;	/* none: every probe */
	char		 (*probes)[2 * STREAM_NAME_LEN];	/* "dev/probe" or "probe" */
};

void		 filter_init(struct filter *);
void		 filter_free(struct filter *);
int		 filter_add_device(struct filter *, const char *);
int		 filter_del_device(struct filter *, const char *);
int		 filter_add_probe(struct filter *, const char *);
int		 filter_del_probe(struct filter *, const char *);
bool		 filter_has_device(const struct filter *, const char *);
size_t		 filter_count(const struct filter *);
/* Whether an event of that device and probe passes the filter. */
bool		 filter_match(const struct filter *, const char *,
		    const char *);
/*
 * Fills a filter from a request: the path's device, then ?devices=a,b,
 * ?probes=p,dev/p and grill-stats' ?probe_id=. -1 with a reason in err
 * (a bad name, or more than max entries).
 */
int		 filter_from_query(struct filter *, const char *,
		    const char *, size_t, char *, size_t);

/* --- client.c: one connection ---------------------------------------- */

enum client_kind { CLIENT_HTTP, CLIENT_SSE, CLIENT_WS };

/*
 * event.c: the bytes of an event for a client of that kind speaking the
 * seed's protocol or grilld's, with their length; NULL when the event is
 * not for such a client (grill-stats' protocol carries readings only).
 */
const char	*sev_wire(const struct sev *, enum client_kind, bool, size_t *);
enum client_state {
	CS_REQUEST,	/* reading a request */
	CS_RESPOND,	/* sending a response, then back to CS_REQUEST */
	CS_STREAM,	/* SSE or WebSocket */
	CS_CLOSING,	/* sending the last bytes, then close */
	CS_CLOSED,
};
enum client_hold {	/* why live events wait in the queue */
	HOLD_NONE,
	HOLD_SNAPSHOT,	/* current readings being fetched */
	HOLD_REPLAY,	/* replaying from Redis */
};
enum drop_reason {
	DROP_CLIENT,		/* the client went away */
	DROP_SLOW,		/* still behind after coalescing */
	DROP_STALL,		/* a send pending too long */
	DROP_IDLE,		/* WebSocket silent too long */
	DROP_PROTOCOL,		/* malformed frame or message */
	DROP_TOO_BIG,		/* message above the limit */
	DROP_SHUTDOWN,
	DROP_ERROR,		/* I/O error, out of memory, Redis down */
	DROP_NREASONS
};

struct stream;
struct hub_link;

struct client {
	struct stream	*st;
	struct loop	*loop;			/* the one that owns it */
	uint64_t	 serial;		/* for log lines */
	int		 fd;			/* -1 once closed */
	uint32_t	 events;		/* what epoll watches */
	enum client_kind kind;
	bool		 seed;			/* grill-stats' (sev_wire) */
	enum client_state state;
	enum client_hold hold;
	char		 addr[64];		/* client: the peer, or whom
						 * a trusted proxy names */
	char		 peer[64];		/* the socket's peer */
	int		 users;			/* the connection, a job */
	bool		 jbusy;			/* a Redis job in flight */
	bool		 linked;		/* in the hub */
	bool		 counted;		/* a stream of its address */
	bool		 conn_counted;		/* a plain connection of it */
	bool		 reaped;		/* on the loop's reap list */
	struct client	*prev, *next;		/* the loop's list */
	struct client	*reap_next;

	/* Input: the request, then WebSocket frames. */
	char		*in;
	size_t		 inlen, incap;
	int64_t		 last_read_ms;
	int64_t		 opened_ms;
	int64_t		 req_since_ms;		/* a request awaited since */
	struct buf	 msg;			/* a fragmented message */
	bool		 ws_frag;
	size_t		 msg_utf8;		/* bytes of msg checked */
	int		 bad_msgs;		/* in a row */

	/* Output: out is being written; then pend; then the queue. */
	struct buf	 out;
	size_t		 outoff;
	struct buf	 pend;
	int64_t		 blocked_ms;		/* 0: not waiting for POLLOUT */
	int64_t		 last_write_ms;
	int64_t		 closing_ms;
	struct sev	**q;			/* ring of queued events */
	size_t		 qcap, qhead, qlen;
	uint64_t	 coalesced;		/* dropped, not yet told */
	int		 coalesce_runs;		/* since the output drained */
	struct sev_id	 skip_upto;		/* replayed: drop live <= */
	bool		 skip;
	bool		 close_after;		/* no keep-alive */
	bool		 lingering;		/* sent all, reading till EOF */
	enum drop_reason drop;

	/* Subscriptions. */
	struct filter	 filter;
	struct hub_link	**links;
	size_t		 nlinks, linkcap;

	/* Replay: resume after replay_from; gen changes on a new resume. */
	struct sev_id	 replay_from;
	bool		 replay_first;
	bool		 replay_overflow;
	bool		 want_replay;		/* WS: after the snapshot */
	uint64_t	 replay_gen;
};

struct client	*client_new(struct loop *, int, const char *);
/* Its loop's configuration snapshot (the stream's outside a loop). */
const struct grilld_conf *client_conf(const struct client *);
/* The loop's events for a client: readable, writable, hung up. */
void		 client_io(struct client *, uint32_t);
/* A user lets go (the connection, or a finished job); the last frees. */
void		 client_release(struct client *);
/* Offers an event (filter checked here); may coalesce or drop. */
void		 client_offer(struct client *, struct sev *);
/* Private bytes, before any queued event; -1 past STREAM_PEND_MAX. */
int		 client_send(struct client *, const void *, size_t);
int		 client_send_frame(struct client *, enum ws_op, const void *,
		    size_t);
/* Writes what is due, as far as the socket takes it. */
void		 client_flush(struct client *);
/* Politely (a last note or close frame) unless the peer is gone. */
void		 client_close(struct client *, enum drop_reason, int);
/* At once. */
void		 client_abort(struct client *);
void		 client_tick(struct client *, int64_t);
const char	*client_drop_name(enum drop_reason);
/* Unlinks a closed client from the hub and the loop (from the reaper). */
void		 client_finish(struct client *);

/* --- loop.c: the event loop ------------------------------------------- */

enum inbox_kind { INBOX_JOB, INBOX_CONN };
struct job;
struct loop;
/* The listening socket the loops share; -1 with err. */
int		 loop_listen(const char *, char *, size_t);
struct loop	*loop_new(struct stream *, int, char *, size_t);
int		 loop_start(struct loop *);
/* Asks the loop to close every client and stop; waits for it. */
void		 loop_stop(struct loop *);
void		 loop_free(struct loop *);
/* From any thread: hands over a finished job or a new connection. */
int		 loop_post(struct loop *, enum inbox_kind, void *);
void		 loop_watch(struct loop *, struct client *, uint32_t);
void		 loop_reap(struct loop *, struct client *);
void		 loop_forget(struct loop *, struct client *);
struct hub	*loop_hub(struct loop *);
/* The loop's snapshot of the configuration: its own thread only. */
const struct grilld_conf *loop_conf(const struct loop *);
bool		 loop_subscribed(struct loop *);
struct stream	*loop_stream(struct loop *);
/* Counts a stream against stream.max_clients; false when full. */
bool		 stream_take(struct stream *, size_t);
void		 stream_give(struct stream *);
size_t		 stream_count(struct stream *);

/* --- server.c: routing and admission ---------------------------------- */

/* A whole request arrived: route it. */
void		 server_request(struct client *, struct http_req *);

/* --- page.c: the live page and the admin endpoints -------------------- */

int		 page_serve(struct stream *, struct http_req *, struct buf *,
		    bool);
bool		 page_ready(struct stream *, struct buf *);

/* --- sse.c: Server-Sent Events ----------------------------------------- */

/* Turns a client into an SSE stream (takes the filter). */
int		 stream_seed_protocol(const struct http_req *, bool);
void		 sse_open(struct client *, struct http_req *, struct filter *,
		    const char *);
int		 sse_note(struct client *, const char *, const char *);
/* Last-Event-ID or ?since=: 1 and the id, 0 when none, -1 when bad. */
int		 sse_resume_point(const struct http_req *, struct sev_id *);

/* --- ws.c and ws_frame.c: WebSocket ------------------------------------ */

struct ws_frame {
	bool		 fin;
	enum ws_op	 op;
	uint64_t	 len;		/* payload */
	size_t		 hdrlen;	/* header and mask */
	uint8_t		 mask[4];
};

/* 1 and *f: a whole header in buf; 0: more needed; -1: *code says why. */
int		 ws_frame_parse(const uint8_t *, size_t, struct ws_frame *,
		    int *);
void		 ws_unmask(uint8_t *, size_t, const uint8_t [4]);
bool		 ws_close_code_valid(int);
/* -1 invalid UTF-8; 0 valid up to *done (a character may be cut). */
int		 ws_utf8_check(const uint8_t *, size_t, size_t *);
/* Writes a server frame header (no mask) for len bytes; its length. */
size_t		 ws_frame_header(uint8_t [10], enum ws_op, size_t);
int		 ws_frame_append(struct buf *, enum ws_op, const void *, size_t);
/* -1 unless the key is base64 of 16 bytes (RFC 6455, 4.1). */
int		 ws_accept_key(const char *, char *, size_t);

void		 ws_open(struct client *, struct http_req *, struct filter *,
		    const char *);
/* Bytes arrived on a WebSocket. */
void		 ws_input(struct client *);
int		 ws_note(struct client *, const char *, const char *);
/* The subprotocol that chooses grilld's WebSocket protocol. */
#define WS_SUBPROTOCOL	"grilld.v1"
void		 ws_close_frame(struct client *, int, const char *);

/* --- hub.c: who follows what, and fan-out ----------------------------- */

struct hub;
struct hub	*hub_new(void);
void		 hub_free(struct hub *);
/* Sets a client's filter (taking it over) and links it; -1 on memory. */
int		 hub_attach(struct hub *, struct client *, struct filter *);
/* Adds or removes devices and probes; -2 above max_subscriptions. */
int		 hub_change(struct hub *, struct client *, bool, const cJSON *,
		    const cJSON *, char *, size_t);
void		 hub_detach(struct hub *, struct client *);
void		 hub_publish(struct hub *, struct sev *);
int		 filter_dup(struct filter *, const struct filter *);

/* --- feed.c: live events from the Redis events stream ----------------- */

struct feed;
/* Listens on an inproc URL (written to url) for the loops to dial. */
struct feed	*feed_start(struct stream *, char *, size_t, char *, size_t);
void		 feed_stop(struct feed *);
bool		 feed_ok(struct feed *);	/* the last XREAD worked */

/* --- sub.c: live events from the ingester ----------------------------- */

struct sub;
/* A loop's subscription, fanning out into its hub; counts if true. */
struct sub	*sub_start(struct stream *, struct hub *, bool, char *, size_t);
void		 sub_stop(struct sub *);
int		 sub_fd(struct sub *);
void		 sub_drain(struct sub *);
/* Whether the socket is connected to a publisher. */
bool		 sub_connected(struct sub *);

/* --- replay.c: Redis workers: current readings, replay, truncation ---- */

enum job_kind { JOB_SNAPSHOT, JOB_REPLAY };
struct replay;
struct replay	*replay_start(struct stream *, int, char *, size_t);
void		 replay_stop(struct replay *);
/* Queues a job for a client (on the loop; the job holds a use). */
int		 replay_submit(struct replay *, struct client *, enum job_kind);
/* A job came back to the loop: apply it to its client, free it. */
void		 replay_done(struct job *);
bool		 replay_redis_ok(struct replay *);

/* --- limits.c: admission, per-address counts, tokens ------------------ */

struct limits;
struct limits	*limits_new(const struct grilld_conf *, char *, size_t);
void		 limits_free(struct limits *);
/* Counts a connection of an address; false when over the limit. */
bool		 limits_addr_take(struct limits *, const char *);
void		 limits_addr_give(struct limits *, const char *);
/* The same for plain connections (stream.per_address_conns). */
bool		 limits_conn_take(struct limits *, const char *);
void		 limits_conn_give(struct limits *, const char *);
bool		 limits_auth_needed(const struct limits *);
/* Whether a peer is a trusted proxy (api.trusted_proxies). */
bool		 limits_trusted(const struct limits *, const char *);
/* The client of a request: the peer, or whom a trusted proxy names. */
void		 limits_client(const struct limits *, const char *,
		    const struct http_req *, char *, size_t);
/* 0 allowed, 401 no token, 403 a wrong or expired one. */
int		 limits_auth(struct limits *, const char *, int64_t);
/* Signs "<exp>.<hex hmac>" (for tests and tools). */
int		 limits_token_sign(const char *, int64_t, char *, size_t);
int		 limits_token_check(const char *, const char *, int64_t);

/* --- status.c: MSG_STATUS_REQ on nng.stream_url ---------------------- */

struct status;
struct status	*status_start(struct stream *, const char *, char *, size_t);
void		 status_stop(struct status *);

/* --- stats.c: metrics -------------------------------------------------- */

struct stats {
	struct metric_series *clients[3];	/* by kind */
	struct metric_series *events_in[3];	/* by type */
	struct metric_series *events_bad;
	struct metric_series *events_out[2];	/* sse, ws */
	struct metric_series *replayed;
	struct metric_series *truncated;
	struct metric_series *coalesced;
	struct metric_series *drops[DROP_NREASONS];
	struct metric_series *refused[5];	/* see STATS_REFUSED_* */
	struct metric_series *latency;
	struct metric_series *queued;		/* events in all queues */
	struct metric_series *queue_depth;	/* histogram at fan-out */
};
#define STATS_REFUSED_FULL	0
#define STATS_REFUSED_ADDR	1
#define STATS_REFUSED_AUTH	2
#define STATS_REFUSED_BAD	3
#define STATS_REFUSED_SUBS	4

void		 stats_init(struct stats *);

/* --- stream.c: the daemon ---------------------------------------------- */

#define STREAM_LOOPS_MAX 64

/*
 * cf: the configuration the stream started with, held for the life of the
 * process (addresses, URLs, keys: they apply at the next start). The loops
 * read the settings that apply at once (time-outs, heartbeat, sizes)
 * from a snapshot of their own, loop_conf(), which each trades for the
 * newest between two passes when conf_gen moves (stream.c, on SIGHUP).
 */
struct stream {
	const struct grilld_conf *cf;
	struct conf	*conf;		/* conf_hold() the newest */
	_Atomic unsigned conf_gen;	/* bumped after each reload */
	struct stats	 stats;
	struct loop	*loops[STREAM_LOOPS_MAX];
	int		 nloops;
	_Atomic unsigned next_loop;	/* for the next connection */
	int		 lfd;		/* the listening socket */
	_Atomic size_t	 nstreams;	/* SSE and WebSocket clients */
	_Atomic size_t	 nconns;	/* every connection, streams too */
	size_t		 conns_max;	/* below the descriptor limit */
	struct replay	*replay;
	struct limits	*limits;
	char		 prefix[128];	/* redis.prefix */
	struct feed	*feed;		/* NULL: stream.feed nng */
	char		 feed_url[256];	/* what the loops' SUB sockets dial */
	_Atomic bool	 stopping;
};

#endif
