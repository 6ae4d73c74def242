/*
 * grilld-twsim: a ThermoWorks cloud simulator (see docs/twsim.md).
 *
 * One civetweb server on twsim.listen answers what the real cloud answers
 * (../shared/THERMOWORKS.md): Firebase sign-in and token refresh, the web
 * config, the Firestore documents and the Storage archive files. A second
 * one on twsim.admin_listen serves /metrics, the health checks and the test
 * controls: the oracle of recorded points, fault injection and request
 * counts.
 *
 * The world (accounts, devices, channels) is built once at start-up and
 * never changes shape; every reading is a pure function of (seed, device,
 * channel, sample index), so nothing is stored per sample and any thread
 * may compute any document at any time. Sample k of a device is recorded
 * at t0 + k * recording interval (wall clock), and the device uploads at
 * t0 + j * upload interval: the channel documents show only the last
 * uploaded sample, the archives every uploaded one.
 *
 * Private declarations, grouped by the file that defines them.
 */
#ifndef GRILLD_TWSIM_H
#define GRILLD_TWSIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "util.h"

#define TW_PROJECT_ID	"thermoworks-cloud-production"
#define TW_PROJECT_NUM	"78998049458"
#define TW_BUCKET	TW_PROJECT_ID ".appspot.com"
#define TW_DATABASE	"projects/" TW_PROJECT_ID "/databases/(default)"
#define TW_DOCUMENTS	TW_DATABASE "/documents"

#define TW_MAX_CHANNELS	8
#define TW_CHANNEL_NUMBER_MAX 99	/* numbers have holes: up to this */
#define TW_SERIAL_MAX	24	/* "10:06:1C:6F:47:70" fits */
#define TW_LABEL_MAX	48
#define TW_MAX_BODY	(1024 * 1024)	/* largest request body */
#define TW_DELTA_TRIGGER 1.5		/* RFX Meat: upload on this step */

enum tw_model {
	MODEL_SIGNALS,
	MODEL_SMOKE,
	MODEL_NODE,
	MODEL_RFX_GATEWAY,
	MODEL_RFX_MEAT,
	MODEL_THERMADATA,
	MODEL_COUNT
};

/* What a channel measures; the cook model draws each differently. */
enum tw_cook {
	COOK_PIT,	/* controlled pit or smoker air */
	COOK_BRISKET,	/* large cut: long stall */
	COOK_PORK,	/* pork shoulder: stall */
	COOK_RIBS,	/* short stall */
	COOK_CHICKEN,	/* no stall */
	COOK_AMBIENT,	/* room or outdoor air */
	COOK_FRIDGE,	/* a cooler or fridge, compressor cycles */
	COOK_HUMIDITY,	/* relative humidity, percent ("H") */
	COOK_COUNT
};

/* Running minimum and maximum of a channel over its uploaded samples. */
struct tw_extremes {
	int64_t		 upto;		/* last sample folded in; -1: none */
	bool		 any;
	double		 min, max;
	int64_t		 min_k, max_k;
};

struct tw_channel {
	int		 number;	/* document id; numbers may have holes */
	char		 label[TW_LABEL_MAX];
	char		 type[24];	/* "Pro-Series", "HumidityHumidity" */
	enum tw_cook	 cook;
	bool		 unplugs;	/* has NO PROBE windows */
	bool		 absent;	/* no probe at all: always NO PROBE */
	double		 offset_f;	/* added to the cook curve, in F */
	struct tw_extremes ext;		/* guarded by the device's ext_mu */
};

struct tw_account;

#define TW_CLOCK_STEPS	16
#define TW_PAUSES	64	/* pauses per device (POST /admin/pause) */

struct tw_device {
	char		 serial[TW_SERIAL_MAX];
	char		 mac[18];	/* deviceId; empty on RFX meat probes */
	char		 label[TW_LABEL_MAX];
	char		 firmware[16];
	enum tw_model	 model;
	struct tw_account *account;
	uint64_t	 key;		/* hash of seed and serial */
	int64_t		 rec_ms;	/* recording interval */
	int64_t		 upl_ms;	/* upload interval */
	int64_t		 archive_ms;	/* span of one session */
	int64_t		 archive_delay_ms; /* session end to its archive */
	double		 cook_offset_s;	/* cook time of sample 0 */
	int		 set_temp_f;	/* pit set point; 0: drawn per cook */
	char		 units;		/* 'F' or 'C' */
	int		 nchannels;
	struct tw_channel ch[TW_MAX_CHANNELS];
	pthread_mutex_t	 ext_mu;
	/*
	 * Clock steps (POST /admin/clock): from sample step_k[i] on, the
	 * device stamps its samples step_ms[i] off the real time (the
	 * last step reached wins). Entries are written before nsteps
	 * grows (release), under control.c's lock, and never change.
	 */
	int64_t		 step_k[TW_CLOCK_STEPS];
	int64_t		 step_ms[TW_CLOCK_STEPS];
	_Atomic int	 nsteps;
	/*
	 * Pauses (POST /admin/pause): samples pause_k[i] to pause_end[i]
	 * - 1 are not recorded, the device is off; an open pause ends at
	 * INT64_MAX until it is resumed (the one entry that changes, in
	 * one atomic store). Sorted, written like the steps.
	 */
	int64_t		 pause_k[TW_PAUSES];
	_Atomic int64_t	 pause_end[TW_PAUSES];
	_Atomic int	 npauses;
};

/* How a refresh token of an older generation is refused. */
enum tw_revoke {
	REVOKE_TOKEN_EXPIRED,
	REVOKE_INVALID_REFRESH_TOKEN,
	REVOKE_USER_DISABLED,
};

struct tw_account {
	char		*email;
	char		*password;
	char		*api_key;	/* accepted too; NULL: none */
	char		*uid;		/* Firebase localId */
	char		*account_id;	/* ThermoWorks accountId */
	char		*display_name;
	char		 units;		/* preferredUnits */
	bool		 disabled;
	struct tw_device **devices;	/* sorted by serial */
	size_t		 ndevices;
	_Atomic uint32_t token_gen;	/* older tokens are revoked */
	_Atomic int	 revoke_reason;	/* enum tw_revoke */
};

struct tw_faults;

/* The endpoints: routing, the scope of faults, the request counters. */
enum tw_endpoint {
	EP_SIGNIN,
	EP_TOKEN,
	EP_CONFIG,
	EP_USER,
	EP_QUERY,
	EP_DEVICE,
	EP_CHANNEL,
	EP_ARCHIVE,
	EP_STORAGE,
	EP_OTHER,
	EP_COUNT
};

/* Statuses counted one by one; anything else counts as "other". */
#define TW_STATUSES	{ 0, 200, 400, 401, 403, 404, 405, 413, 429, 500, \
			  502, 503, 504 }
#define TW_NSTATUS	14	/* the list above, plus "other" */

struct tw_stats {
	_Atomic uint64_t requests[EP_COUNT][TW_NSTATUS];
	_Atomic uint64_t signins;	/* id tokens issued by password */
	_Atomic uint64_t refreshes;	/* id tokens issued by refresh */
};

struct tw_world {
	uint64_t	 seed;
	double		 speed;		/* cook seconds per real second */
	int64_t		 t0_ms;		/* wall-clock time of sample 0 */
	int64_t		 token_ms;	/* id token lifetime */
	uint8_t		 secret[16];	/* signs tokens */
	char		*api_key;	/* twsim.api_key */
	struct tw_account **accounts;
	size_t		 naccounts;
	struct tw_device **devices;	/* every device, sorted by serial */
	size_t		 ndevices;
	size_t		 nchannels;
	struct tw_faults *faults;
	struct tw_stats	 stats;
	const char	*state_file;	/* twsim.state_file; NULL: none */
};

/* A sample as the device recorded it, in the channel's units. */
struct tw_sample {
	double		 value;		/* rounded to 0.1, through float32 */
	bool		 present;	/* false: no probe, value null */
	const char	*status;	/* NORMAL, LOW, HIGH, NO PROBE */
};

/* Where a device is in its recording and upload cycle at some time. */
struct tw_clock {
	int64_t		 rec_k;		/* last recorded sample; -1: none */
	int64_t		 upl_k;		/* last uploaded sample; -1: none */
	int64_t		 upl_ms;	/* time of the last upload */
};

struct tw_alarm {
	bool		 enabled;
	double		 value;		/* in the channel's units */
};

/* Writes JSON into a buf, compact or pretty-printed the way Google does. */
struct jw {
	struct buf	*b;
	bool		 pretty;
	bool		 comma;		/* a value came before at this level */
	bool		 key;		/* a key was just written */
	int		 depth;
	int		 err;
};

/* Type drift injected into documents (fault.c). */
#define DRIFT_INTEGER	0x01u	/* doubleValue sent as integerValue */
#define DRIFT_BOOLEAN	0x02u	/* booleanValue sent as integerValue 0/1 */
#define DRIFT_MISSING	0x04u	/* optional fields left out */

/* What the fault rules decided for one request. */
enum fault_action {
	FAULT_NONE,
	FAULT_STATUS,		/* answer an error status */
	FAULT_DROP,		/* close the connection without an answer */
	FAULT_TOO_MANY,		/* sign-in: TOO_MANY_ATTEMPTS_TRY_LATER */
	FAULT_MALFORMED,	/* a body that is not JSON */
	FAULT_TRUNCATE,		/* a body cut in half */
};

struct fault_decision {
	enum fault_action action;
	int		 status;
	int		 retry_after;	/* seconds; 0: no header */
	int64_t		 delay_ms;
	unsigned	 drift;
};

/* cook.c */
void	 cook_sample(const struct tw_world *, const struct tw_device *, int,
	    int64_t, struct tw_sample *);
double	 cook_curve_f(uint64_t, const struct tw_device *, int, double);
bool	 cook_unplugged(uint64_t, const struct tw_device *, int, double);
int	 cook_set_temp_f(uint64_t, const struct tw_device *, double);
void	 cook_alarms(uint64_t, const struct tw_device *, int, double,
	    struct tw_alarm *, struct tw_alarm *);
int	 cook_battery(uint64_t, const struct tw_device *, double);
int	 cook_rssi(uint64_t, const struct tw_device *, double, int);
const char *cook_name(enum tw_cook);
int	 cook_parse(const char *, enum tw_cook *);

/* timeline.c */
void	 timeline_at(const struct tw_world *, const struct tw_device *,
	    int64_t, struct tw_clock *);
int64_t	 timeline_sample_ms(const struct tw_world *, const struct tw_device *,
	    int64_t);
bool	 timeline_stepped(const struct tw_device *);
bool	 timeline_recorded(const struct tw_device *, int64_t);
int64_t	 timeline_last_recorded(const struct tw_device *, int64_t);
int	 timeline_pause(const struct tw_world *, struct tw_device *, int64_t,
	    bool);
bool	 timeline_paused(const struct tw_device *);
int64_t	 timeline_recorded_between(const struct tw_device *, int64_t,
	    int64_t);
int	 timeline_pause_load(struct tw_device *, int64_t, int64_t);
int	 timeline_step(const struct tw_world *, struct tw_device *, int64_t,
	    int64_t, int64_t *, int64_t *);
double	 timeline_cook_s(const struct tw_world *, const struct tw_device *,
	    int64_t);
int64_t	 timeline_first_after(const struct tw_world *,
	    const struct tw_device *, int64_t);
int64_t	 timeline_window(const struct tw_device *, int64_t);
int64_t	 timeline_window_first(const struct tw_device *, int64_t);
int64_t	 timeline_archived(const struct tw_world *, const struct tw_device *,
	    int64_t);
int64_t	 timeline_archive_created(const struct tw_world *,
	    const struct tw_device *, int64_t);
int	 timeline_channel_index(const struct tw_device *, int);
void	 timeline_extremes(const struct tw_world *, struct tw_device *, int,
	    int64_t, struct tw_extremes *);

/* hash.c */
uint64_t hash_mix(uint64_t);
uint64_t hash_str(uint64_t, const char *);
uint64_t hash3(uint64_t, uint64_t, uint64_t);
double	 hash_unit(uint64_t, uint64_t, uint64_t);
double	 hash_smooth(uint64_t, uint64_t, double);
uint64_t hash_siphash(const uint8_t[16], const void *, size_t);
size_t	 hash_b64url(const void *, size_t, char *, size_t);
int	 hash_b64url_decode(const char *, size_t, uint8_t *, size_t,
	    size_t *);

/* jw.c */
void	 jw_init(struct jw *, struct buf *, bool);
void	 jw_obj(struct jw *);
void	 jw_obj_end(struct jw *);
void	 jw_arr(struct jw *);
void	 jw_arr_end(struct jw *);
void	 jw_key(struct jw *, const char *);
void	 jw_str(struct jw *, const char *);
void	 jw_int(struct jw *, int64_t);
void	 jw_double(struct jw *, double);
void	 jw_bool(struct jw *, bool);
void	 jw_null(struct jw *);
void	 jw_raw(struct jw *, const char *);
void	 jw_kstr(struct jw *, const char *, const char *);
void	 jw_kint(struct jw *, const char *, int64_t);
void	 jw_end(struct jw *);
void	 jw_format_double(double, char *, size_t);
void	 jw_format_time(int64_t, int, char *, size_t);

/* fsdoc.c */
void	 fsdoc_user(struct jw *, const struct tw_world *,
	    const struct tw_account *, int64_t, unsigned);
void	 fsdoc_device(struct jw *, const struct tw_world *,
	    const struct tw_device *, int64_t, unsigned);
void	 fsdoc_channel(struct jw *, const struct tw_world *,
	    struct tw_device *, int, int64_t, unsigned);
void	 fsdoc_archive(struct jw *, const struct tw_world *,
	    const struct tw_device *, int64_t, int64_t, unsigned);
void	 fsdoc_archive_id(const struct tw_world *, const struct tw_device *,
	    int64_t, char *, size_t);
void	 fsdoc_archive_file(const struct tw_world *, const struct tw_device *,
	    int64_t, char *, size_t);

/* scenario.c */
struct tw_world *scenario_new(uint64_t, double, int64_t, int64_t,
	    const char *);
int	 scenario_model_parse(const char *, enum tw_model *);
int	 scenario_model_max(enum tw_model);
enum tw_cook scenario_model_cook(enum tw_model);
const char *scenario_cook_label(enum tw_cook);
const char *scenario_cook_type(enum tw_cook);
struct tw_account *scenario_account(struct tw_world *, const char *,
	    const char *, const char *);
struct tw_device *scenario_device(struct tw_world *, struct tw_account *,
	    const char *, enum tw_model, int);
void	 scenario_layout(struct tw_device *, enum tw_cook);
void	 scenario_set(char **, const char *);
int	 scenario_finish(struct tw_world *, char *, size_t);
void	 scenario_free(struct tw_world *);
struct tw_device *scenario_find_device(const struct tw_world *,
	    const char *);
struct tw_account *scenario_find_email(const struct tw_world *,
	    const char *);
struct tw_account *scenario_find_uid(const struct tw_world *, const char *);
bool	 scenario_key_ok(const struct tw_world *, const char *);
const char *scenario_model_name(enum tw_model);
const char *scenario_model_kind(enum tw_model);
const char *scenario_model_type(enum tw_model);

/* scenario_yaml.c */
int	 scenario_load(struct tw_world *, const struct cnode *, char *,
	    size_t);
int	 scenario_check(const struct cnode *, char *, size_t);

/* demo.c */
int	 demo_build(struct tw_world *, int64_t, double, char *, size_t);

/* token.c */
int	 token_id_make(const struct tw_world *, const struct tw_account *,
	    int64_t, int64_t, struct buf *);
int	 token_refresh_make(const struct tw_world *, const struct tw_account *,
	    int64_t, struct buf *);
int	 token_id_check(const struct tw_world *, const char *, int64_t,
	    struct tw_account **, const char **);
int	 token_refresh_check(const struct tw_world *, const char *,
	    struct tw_account **, int64_t *, const char **);
void	 token_revoke(struct tw_account *, enum tw_revoke);

/* request.c: one request and its answer. */
struct mg_connection;

struct tw_req {
	struct mg_connection *conn;
	struct tw_world	*w;
	const char	*method;
	const char	*path;		/* decoded, normalised */
	const char	*query;		/* raw query string, or "" */
	int64_t		 now_ms;
	bool		 pretty;	/* ?prettyPrint=false turns it off */
	/* set by routing */
	enum tw_endpoint ep;
	char		 serial[TW_SERIAL_MAX];	/* about this device, or "" */
	const char	*rest;		/* the path past the routed part */
	char		 arg[256];	/* app id, user id, object name */
	/* set by the faults and the handler */
	unsigned	 drift;
	struct tw_account *account;	/* once the bearer token checked */
	struct buf	 body;		/* the request body, NUL-terminated */
	int		 status;	/* 0: drop the connection */
	bool		 media;		/* a Storage file, not an API answer */
	struct buf	 out;
	char		 headers[256];	/* extra header lines */
};

int	 req_read_body(struct tw_req *);
bool	 req_query(const struct tw_req *, const char *, char *, size_t);
void	 req_header(struct tw_req *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
const char *req_status_name(int);
int	 req_google_error(struct tw_req *, int, const char *, const char *);
int	 req_auth_error(struct tw_req *, const char *);
int	 req_key_error(struct tw_req *, const char *);
int	 req_storage_error(struct tw_req *, int, const char *);
int	 req_method_error(struct tw_req *, const char *);
int	 req_json_error(struct tw_req *, const char *);
int	 req_key_required(struct tw_req *, const char *);
int	 req_bearer(struct tw_req *);

/* serve.c */
struct mg_context *serve_start(struct tw_world *, const char *, int, char *,
	    size_t);
void	 serve_count(struct tw_world *, enum tw_endpoint, int);
const char *serve_endpoint_name(enum tw_endpoint);
int	 serve_endpoint_parse(const char *, enum tw_endpoint *);
int	 serve_status_slot(int);

/* auth.c */
int	 auth_signin(struct tw_req *);
int	 auth_token(struct tw_req *);
int	 auth_webconfig(struct tw_req *);

/* firestore.c */
int	 firestore_route(struct tw_req *);
int	 firestore_documents(struct tw_req *);

/* storage.c */
int	 storage_route(struct tw_req *);
int	 storage_get(struct tw_req *);
int	 storage_render(const struct tw_world *, const struct tw_device *,
	    int64_t, int64_t, struct buf *);

/* fault_rule.c */
#define FAULT_MAX	64

enum fault_kind {
	FK_STATUS, FK_DELAY, FK_DROP, FK_TOO_MANY, FK_MALFORMED, FK_TRUNCATE,
	FK_DRIFT_INTEGER, FK_DRIFT_BOOLEAN, FK_DRIFT_MISSING, FK_REVOKE,
	FK_COUNT
};

struct fault_rule {
	int		 id;
	enum fault_kind	 kind;
	unsigned	 eps;		/* endpoint bits */
	char		 device[TW_SERIAL_MAX];	/* "": any device */
	int		 status;
	int		 retry_after;	/* -1: not set */
	int64_t		 delay_ms;
	double		 probability;
	int64_t		 count;		/* 0: no limit */
	int64_t		 remaining;
	uint64_t	 draws;
	uint64_t	 injected;
	bool		 config;	/* from twsim.faults */
	char		 account[128];	/* revoke: an e-mail; "": all */
	enum tw_revoke	 reason;
};

const char *fault_kind_name(enum fault_kind);
const char *fault_reason_name(enum tw_revoke);
int	 fault_rules_json(const char *, size_t, struct fault_rule *, int *,
	    char *, size_t);
int	 fault_rules_tree(const struct cnode *, struct fault_rule *, int *,
	    char *, size_t);
void	 fault_rule_write(struct jw *, const struct fault_rule *);

/* fault.c */
struct tw_faults *fault_new(uint64_t);
void	 fault_free(struct tw_faults *);
void	 fault_decide(struct tw_faults *, enum tw_endpoint, const char *,
	    struct fault_decision *);
int	 fault_add_json(struct tw_world *, const char *, size_t, struct jw *,
	    char *, size_t);
int	 fault_add_tree(struct tw_world *, const struct cnode *, bool, char *,
	    size_t);
int	 fault_check_tree(const struct cnode *, char *, size_t);
void	 fault_list(struct tw_faults *, struct jw *);
int	 fault_clear(struct tw_faults *, bool);
int	 fault_delete(struct tw_faults *, int);
void	 fault_counts(struct tw_faults *, uint64_t *, uint64_t *);
void	 fault_reset_counts(struct tw_faults *);
void	 fault_apply_body(const struct fault_decision *, struct buf *);

/* control.c */
struct mg_context *control_start(struct tw_world *, const char *, char *,
	    size_t);

/* oracle.c */
int	 oracle_recorded(struct tw_world *, const char *, struct buf *,
	    char *, size_t);

/* state.c */
int	 state_load(const char *, uint64_t, int64_t *, char *, size_t);
int	 state_save(const char *, uint64_t, int64_t, char *, size_t);
int	 state_save_world(const struct tw_world *, char *, size_t);
int	 state_load_pauses(const char *, struct tw_world *, char *, size_t);

#endif
