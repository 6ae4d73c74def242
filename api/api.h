/*
 * grilld-api: the REST API. Private declarations, grouped by the file
 * that defines them.
 *
 * One civetweb server on api.listen. Every request goes through
 * router.c: the path is split and decoded, matched against the route
 * table, checked (CORS, rate limit, authentication, parameters) and
 * handed to its route_*.c handler with a struct req that carries the
 * request's trace span, its worker's connections and what was sent.
 *
 * Threads: civetweb's workers run the handlers. Each worker keeps its
 * own Redis connection and libcurl handle (worker.c, thread-local), so
 * no request connects anything. One more thread keeps the in-memory
 * copy of `latest` true (latest_cache.c). Shared state (struct api) is
 * either read-only after start-up or thread-safe (breakers, rate
 * limiter, metric series, the key set swapped whole on reload).
 */
#ifndef GRILLD_API_H
#define GRILLD_API_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <nng/nng.h>

#include "msg.h"
#include "netaddr.h"
#include "influx.h"
#include "rds.h"
#include "rkeys.h"
#include "options.h"
#include "trace.h"
#include "util.h"

struct mg_connection;
struct mg_context;
struct mg_request_info;
struct metric_series;
struct breaker;
struct rds;
struct daemon;
struct ratelimit;
struct keyset;
struct route;
struct latest_cache;

#define API_SEGS_MAX		8	/* path segments */
#define API_PATH_MAX		1024	/* decoded path bytes */
#define API_PARAMS_MAX		24	/* query parameters */
#define API_PARAM_MAX		512	/* bytes of one decoded value */
#define API_ID_MAX		64	/* device, probe and rule ids */
#define API_STATUS_SLOTS	500	/* metric series cached per status */
#define API_INFLUX_ANSWER_MAX	(256 * 1024 * 1024)	/* bytes of a query answer */

/* The grilld daemons the API asks over nng (route_health, devices). */
enum api_peer_id { PEER_POLLER, PEER_INGEST, PEER_STREAM, PEER_COUNT };

struct peer {
	const char		*name;		/* "poller" */
	const char		*url;
	nng_socket		 sock;
	bool			 open;
	atomic_int		 pipes;		/* connected pipes */
	struct breaker		*breaker;
};

/* Everything the handlers share. Set up by api.c before serving. */
struct api {
	struct daemon		*d;
	const struct grilld_conf *cf;		/* held from the start */
	struct mg_context	*ctx;
	bool			 loopback;	/* api.listen on loopback */
	struct cidrlist		 proxies;	/* api.trusted_proxies */
	struct rds_opts		 redis_opts;	/* of the configuration */
	char			 key_readings[128];
	char			 key_latest[128];
	char			 key_devices[128];
	char			 key_alerts[128];
	char			 key_rules[128];
	char			 key_rules_version[128];
	char			 key_alertstate[128];
	_Atomic(struct keyset *) keys;		/* auth.c */
	struct ratelimit	*rl;
	struct breaker		*influx_breaker;
	struct breaker		*redis_breaker;
	struct latest_cache	*lcache;	/* NULL: api.latest_cache off */
	struct peer		 peers[PEER_COUNT];
	int64_t			 started_ns;
};

/* Decoded query parameters of one request. */
struct params {
	int		 n;
	char		*name[API_PARAMS_MAX];
	char		*value[API_PARAMS_MAX];
	char		 store[4096];
	size_t		 used;
};

/* One request, from match to answer. Lives on the handler's stack. */
struct req {
	struct api			*api;
	struct mg_connection		*conn;
	const struct mg_request_info	*ri;
	const struct route		*route;
	const char			*method;
	bool				 head;		/* HEAD: no body */
	char				 path[API_PATH_MAX];
	char				*seg[API_SEGS_MAX];
	int				 nseg;
	const char			*arg;		/* {id} of the route */
	struct params			 params;
	struct span			*span;		/* the server span */
	char				 traceparent[TRACEPARENT_LEN + 1];
	const char			*origin;	/* CORS origin allowed */
	char				 client[NETADDR_LEN];	/* address */
	bool				 forwarded;	/* names a client */
	bool				 proxied;	/* from a trusted proxy */
	int64_t				 t0;		/* monotonic ns */
	int				 status;	/* answered; 0: not yet */
	bool				 close;		/* the connection ends */
	/* The last dependency failure, for api_error_dep(). */
	int				 dep_status;	/* 503, 502, 504 */
	char				 dep_code[32];
	char				 dep_msg[256];
	int64_t				 dep_retry_ms;
};

typedef int (*route_fn)(struct req *);

enum auth_class {
	AUTH_NONE,		/* health, openapi: always open */
	AUTH_READ,		/* GET: a key only with api.read_auth; */
	AUTH_WRITE,		/* any other method needs one */
};

#define M_GET		0x01u
#define M_POST		0x02u
#define M_PUT		0x04u
#define M_DELETE	0x08u

struct route {
	const char		*name;		/* metric label, OpenAPI id */
	const char		*pattern;	/* "/api/devices/{}" */
	unsigned		 methods;	/* M_*; GET implies HEAD */
	enum auth_class		 auth;
	route_fn		 get;		/* GET and HEAD */
	route_fn		 post;
	route_fn		 put;
	route_fn		 del;
	const char		*params;	/* "probe_id,unit" for GET */
	bool			 seed;		/* a route of grill-stats */
};

/* router.c */
int	 api_router_init(struct api *);
int	 api_dispatch(struct mg_connection *, void *);
int	 api_path_split(const char *, char *, size_t, char **, int *, char *,
	    size_t);
const struct route *api_route_match(char *const *, int, const char **,
	    unsigned *);
void	 api_count(const struct route *, int, int64_t);

/* latest_cache.c */
struct latest_cache *latest_cache_start(const char *,
		    const struct rds_opts *, const char *);
void	 latest_cache_stop(struct latest_cache *);
bool	 latest_cache_live(struct latest_cache *);
bool	 latest_cache_get(struct latest_cache *, const char *, struct buf *,
	    uint64_t *);
void	 latest_cache_put(struct latest_cache *, const char *, const char *,
	    size_t, uint64_t);

/* params.c */
int	 api_params_parse(struct params *, const char *, bool, char *, size_t);
const char *api_param(const struct req *, const char *);
int	 api_params_check(struct req *, const char *);
int	 api_param_time(struct req *, const char *, int64_t, int64_t *);
int	 api_param_int(struct req *, const char *, int64_t, int64_t, int64_t,
	    int64_t *);
int	 api_param_double(struct req *, const char *, double, double *);
int	 api_param_duration(struct req *, const char *, int64_t, int64_t *);
int	 api_param_enum(struct req *, const char *, const char *, int, int *);
int	 api_param_unit(struct req *, char, char *);
int	 api_param_id(struct req *, const char *, char *, size_t);
int	 api_param_range(struct req *, int64_t, int64_t *, int64_t *);
bool	 api_id_valid(const char *);

/* reply.c */
int	 api_reply(struct req *, int, const char *, const char *, size_t,
	    const char *);
int	 api_reply_json(struct req *, int, const struct buf *);
int	 api_reply_cjson(struct req *, int, const cJSON *);
int	 api_reply_success(struct req *, int, cJSON *, cJSON *);
int	 api_chunked_start(struct req *, const char *, const char *);
int	 api_chunk(struct req *, const void *, size_t);
int	 api_chunked_end(struct req *);
void	 api_chunked_abort(struct req *);
void	 api_common_headers(struct req *, struct buf *);
int	 api_read_body(struct req *, struct buf *, int64_t);

/* body.c */
int	 api_json_depth(const char *, size_t);
cJSON	*api_read_json(struct req *, bool);

/* errors.c */
int	 api_error(struct req *, int, const char *, const char *, ...)
	    __attribute__((format(printf, 4, 5)));
int	 api_error_details(struct req *, int, const char *, cJSON *,
	    const char *, ...) __attribute__((format(printf, 5, 6)));
int	 api_error_param(struct req *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 api_error_dep(struct req *);
int	 api_error_validation(struct req *, cJSON *, const char *);
cJSON	*api_validation_item(cJSON *, const char *, const char *, int,
	    const char *);
void	 api_dep_fail(struct req *, int, const char *, int64_t, const char *,
	    ...) __attribute__((format(printf, 5, 6)));
void	 api_error_body(struct buf *, int, const char *, const char *,
	    const cJSON *);
int	 api_http_error(struct mg_connection *, int, const char *);
void	 api_http_timeouts(const struct grilld_conf *);
int	 api_conn_start(const struct mg_connection *, void **);
void	 api_request_end(const struct mg_connection *, int);

/* auth.c */
enum auth_verdict {
	AUTH_OK,
	AUTH_MISSING,		/* 401: no Bearer key */
	AUTH_WRONG,		/* 403: a key, not one of ours */
	AUTH_NO_KEYS,		/* 403: writes off: no keys, not loopback */
	AUTH_CROSS_ORIGIN,	/* 403: keyless write from another origin */
};
int	 api_auth_init(struct api *, char *, size_t);
int	 api_auth_reload(struct api *, const struct grilld_conf *, char *,
	    size_t);
void	 api_auth_free(struct api *);
bool	 api_is_loopback(const char *);
enum auth_verdict api_auth_check(struct req *, enum auth_class, uint64_t *);
int	 api_auth_deny(struct req *, enum auth_verdict);
uint64_t api_auth_hash(const char *, size_t);
size_t	 api_auth_nkeys(struct api *);

/* ratelimit.c */
struct ratelimit *ratelimit_new(size_t, int64_t (*)(void));
void	 ratelimit_free(struct ratelimit *);
bool	 ratelimit_take(struct ratelimit *, uint64_t, double, double,
	    int64_t *);
size_t	 ratelimit_size(struct ratelimit *);

/* deadline.c */
int	 api_deadline_init(void);
void	 api_deadline_arm(const struct mg_request_info *, int64_t);
void	 api_deadline_disarm(void);
void	 api_deadline_free(void);

/* tls.c */
bool	 api_tls_on(const struct grilld_conf *);
int	 api_tls_check(const struct grilld_conf *, char *, size_t);
int	 api_tls_ports(const char *, char *, size_t);
int	 api_tls_init(void *, void *);

/* ws_proxy.c */
void	 api_ws_proxy_register(struct api *);
int	 api_ws_proxy_sessions(void);
int	 api_sse_proxy(struct req *);
bool	 api_page_path(const char *);

/* cors.c */
bool	 api_cors_allowed(const char *, const char *);
int	 api_cors_preflight(struct req *, unsigned);
void	 api_cors_headers(struct req *, struct buf *);
/* "GET, HEAD, POST, ..., OPTIONS" of a route's M_* methods (Allow). */
void	 api_methods_list(struct buf *, unsigned);

/* worker.c */
void	*api_worker_init(const struct mg_context *, int);
void	 api_worker_exit(const struct mg_context *, int, void *);
struct rds *api_redis(struct api *);
redisReply *api_redis_cmd(struct req *, const char *, int, const char **,
	    const size_t *);
int	 api_redis_ok(struct req *, redisReply *);
/* One command of a pipeline: argv and lens as rds_commandargv() takes. */
struct api_cmd {
	int		 argc;
	const char	**argv;
	const size_t	*lens;
};
redisReply **api_redis_pipe(struct req *, const char *, size_t,
	    const struct api_cmd *);
void	 api_redis_replies_free(redisReply **, size_t);
struct influx *api_influx(struct api *);
void	 api_worker_cleanup(void);

/* influx_answer.c */
#define IQL_ROW_MAX	16
enum iql_type { IQL_NULL, IQL_NUM, IQL_STR, IQL_BOOL };
struct iql_cell {
	enum iql_type	 type;
	double		 num;		/* IQL_NUM; IQL_BOOL: 0 or 1 */
	const char	*str;		/* IQL_STR: in the answer's buffer */
};
struct iql_row {
	int		 statement;	/* 0 for the first of a query */
	const struct iql_cell *cells[IQL_ROW_MAX];	/* as asked; or NULL */
	size_t		 ncells;
};
/* 0 to go on, > 0 to stop, < 0 to fail the walk. */
typedef int (*iql_row_fn)(const struct iql_row *, void *);
int	 iql_walk(struct buf *, const char *const *, size_t, iql_row_fn,
	    void *, const char **, const char **);
bool	 iql_num(const struct iql_cell *, double *);
bool	 iql_time_us(const struct iql_cell *, int64_t *);
const char *iql_str(const struct iql_cell *);

/* influx_query.c */
struct iql_query {
	const char		*q;		/* InfluxQL */
	const char *const	*want;		/* columns, in cell order */
	size_t			 nwant;
	iql_row_fn		 fn;		/* may be NULL */
	void			*arg;
};
int	 iql_ident(struct buf *, const char *);
int	 iql_string(struct buf *, const char *);
int	 api_influx_query(struct req *, const struct iql_query *, struct buf *);
int	 api_influx_ping(struct req *, int64_t *);

/* plan.c */
enum agg { AGG_NONE, AGG_MEAN, AGG_MIN, AGG_MAX, AGG_SUM, AGG_COUNT,
	AGG_MEDIAN };
#define AGG_NAMES "none|mean|min|max|sum|count|median"

enum rp { RP_RAW, RP_HOURLY, RP_DAILY, RP_MONTHLY, RP_COUNT };

struct plan_in {
	int64_t		 start_ns, end_ns, now_ns;
	enum agg	 agg;
	int64_t		 interval_ms;	/* 0: not given */
	int64_t		 max_points;
	int64_t		 retention_ms[RP_COUNT];	/* 0: forever */
};

struct plan {
	enum rp		 rp;
	int64_t		 interval_ms;	/* bucket; 0 for raw points */
	int64_t		 buckets;
	int64_t		 split_ns;	/* 0, or where a raw tail begins */
	bool		 coarsened;	/* interval raised from what was asked */
	char		 why[160];	/* when the plan is not what was asked */
};

#define PLAN_TOO_MANY	(-2)

int	 plan_retention_parse(const char *, int64_t *);
int	 plan_make(const struct plan_in *, struct plan *);
const char *plan_rp_name(enum rp);
int64_t	 plan_rp_resolution_ms(enum rp);
const char *plan_agg_name(enum agg);
int	 plan_agg_parse(const char *, enum agg *);
int	 plan_select(struct buf *, const struct plan *, enum agg);
void	 plan_retentions(const struct grilld_conf *, int64_t *);
int	 plan_where(struct buf *, const char *, const char *, int64_t, int64_t,
	    bool);
const char *plan_field(enum rp, int);

/* points.c */
struct point {
	int64_t		 t_us;
	char		 probe_id[API_ID_MAX];
	double		 value;		/* in the answer's unit */
	bool		 has_value;
	char		 unit;		/* stored unit (raw) */
	int		 battery;	/* -1: unknown */
	double		 signal;
	bool		 has_signal;
	const char	*status;	/* into the result, or NULL */
	int		 flags;
};

struct cursor {
	bool		 set;
	int64_t		 t_us;
	char		 probe_id[API_ID_MAX];
};

int	 cursor_parse(const char *, struct cursor *);
void	 cursor_format(const struct cursor *, char *, size_t);
int	 point_cmp(const struct point *, const struct point *);
bool	 point_after(const struct point *, const struct cursor *);
void	 point_json(struct buf *, const char *, const struct point *, bool);
void	 point_put_int(struct buf *, int64_t);
void	 point_put_time(struct buf *, int64_t);
void	 point_put_num(struct buf *, double);

/* history.c */
struct hquery {
	char		 device[API_ID_MAX];
	char		 probe[API_ID_MAX];	/* "": every probe */
	int64_t		 start_ns, end_ns;
	enum agg	 agg;
	char		 unit;			/* of the answer */
	struct plan	 plan;
	struct cursor	 after;		/* with desc: points before it */
	int64_t		 offset;
	int64_t		 limit;
	bool		 desc;			/* newest first */
};

struct pointvec {
	struct point	*v;
	size_t		 n, cap;
	struct buf	 answer;	/* InfluxDB's, which points point into */
};

void	 history_init(struct pointvec *);
void	 history_free(struct pointvec *);
int	 history_query(struct buf *, const struct hquery *);
int	 history_fetch(struct req *, const struct hquery *, struct pointvec *,
	    bool *);

/* route_history.c */
int	 history_params(struct req *, struct hquery *);
int	 history_plan(struct req *, struct hquery *, int64_t);
int	 history_not_found(struct req *, const char *);

/* route_rules.c */
struct alertrule;
int	 api_rule_load(struct req *, const char *, struct alertrule *);
bool	 api_rule_path_ok(struct req *);

/* route_devices.c */
int	 api_device_known(struct req *, const char *);

/* route_*.c, openapi.c */
int	 api_route_current(struct req *);
int	 api_route_history(struct req *);
int	 api_route_device_health(struct req *);
int	 api_route_stats(struct req *);
int	 api_route_export(struct req *);
int	 api_route_batch(struct req *);
int	 api_route_threshold(struct req *);
int	 api_route_alert_history(struct req *);
int	 api_route_rules_list(struct req *);
int	 api_route_rule_create(struct req *);
int	 api_route_rule_get(struct req *);
int	 api_route_rule_put(struct req *);
int	 api_route_rule_delete(struct req *);
int	 api_route_rule_ack(struct req *);
int	 api_route_rule_snooze(struct req *);
int	 api_route_devices(struct req *);
int	 api_route_device(struct req *);
int	 api_route_health(struct req *);
int	 api_route_stream(struct req *);
int	 api_stream_url_check(const struct grilld_conf *, char *, size_t);
int	 api_route_openapi(struct req *);
int	 api_openapi_init(void);
void	 api_openapi_free(void);

/* peers.c */
int	 api_peers_start(struct api *);
void	 api_peers_stop(struct api *);
int	 api_peer_request(struct req *, struct peer *, int, const char *,
	    int64_t, cJSON **, int64_t *);

#endif
