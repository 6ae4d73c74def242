/*
 * trace: W3C Trace Context and spans exported over OTLP/HTTP JSON.
 *
 * Context: "traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex
 * flags>". trace_parse() follows the spec: lower-case hex only, all-zero
 * ids invalid, version "ff" invalid, version 00 exactly 55 characters.
 * A higher version (01..fe) is read the way the spec asks, from its
 * first 55 characters, which must be followed by the end or a '-'; only
 * the sampled flag is kept then. trace_format() always writes version 00.
 *
 * Spans: span_start() begins one, as a child of parent (a context parsed
 * from a request, or another span's span_ctx()), or as the root of a new
 * trace when parent is NULL. span_ctx() is the context to propagate to
 * calls made inside the span. Attributes are copied and bounded
 * (SPAN_ATTRS_MAX, strings cut to SPAN_STR_MAX bytes on a UTF-8
 * boundary; invalid UTF-8 becomes '?'); setting a key again replaces its
 * value; those past the bound are counted as dropped. span_end() takes
 * the span: it is queued for export, or freed when no exporter runs.
 * Every span_* function accepts NULL and then does nothing (span_ctx()
 * returns NULL), so a failed span_start() needs no check.
 * A span is used by one thread at a time; different spans by any.
 *
 * Exporter: trace_exporter_start() starts one thread that sends the
 * finished spans in batches to {otlp_url}/v1/traces as OTLP/HTTP JSON,
 * every flush_ms or as soon as a batch is full, with connect and total
 * time-outs; after a failed send it waits (exponential backoff, up to
 * 30 s, honouring Retry-After) and the queue takes up the slack.
 * span_end() never blocks: when the queue holds queue_max spans, the span
 * is dropped and counted. Spans that a send failed to deliver, and those
 * still queued when the exporter stops, are dropped and counted too:
 * exported + dropped = ended while it ran. trace_exporter_stop() sends
 * what it can within TRACE_STOP_MS (aborting a send in progress past
 * that), then joins the thread. Start and stop belong to start-up and
 * shut-down (they call curl_global_init/cleanup); everything else is
 * thread-safe.
 *
 * Metrics: grilld_trace_spans_exported_total and
 * grilld_trace_spans_dropped_total{reason="queue_full"|"export_failed"|
 * "shutdown"}.
 */
#ifndef GRILLD_TRACE_H
#define GRILLD_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACE_ID_SIZE		16
#define TRACE_SPAN_ID_SIZE	8
#define TRACEPARENT_LEN		55	/* without the NUL */
#define TRACE_FLAG_SAMPLED	0x01

#define SPAN_ATTRS_MAX		32
#define SPAN_NAME_MAX		128	/* bytes, longer names are cut */
#define SPAN_KEY_MAX		64
#define SPAN_STR_MAX		512

#define TRACE_QUEUE_DEFAULT	2048
#define TRACE_QUEUE_MAX		(1 << 20)
#define TRACE_FLUSH_DEFAULT_MS	5000
#define TRACE_BATCH_MAX		512
#define TRACE_CONNECT_TIMEOUT_MS 2000
#define TRACE_TIMEOUT_MS	10000
#define TRACE_STOP_MS		2000

struct trace_ctx {
	uint8_t		trace_id[TRACE_ID_SIZE];
	uint8_t		span_id[TRACE_SPAN_ID_SIZE];
	uint8_t		flags;
};

/* Returns 0, or -1 (ctx untouched) when the value is not valid. */
int	trace_parse(const char *, struct trace_ctx *);
/* Writes TRACEPARENT_LEN characters and a NUL; size must be > 55. */
int	trace_format(const struct trace_ctx *, char *, size_t);
/* A new trace: random non-zero ids, sampled. */
void	trace_new_root(struct trace_ctx *);
bool	trace_ctx_valid(const struct trace_ctx *);

/* The values of OTLP's Span.SpanKind. */
enum span_kind {
	SPAN_KIND_UNSPECIFIED = 0,
	SPAN_KIND_INTERNAL = 1,
	SPAN_KIND_SERVER = 2,
	SPAN_KIND_CLIENT = 3,
	SPAN_KIND_PRODUCER = 4,
	SPAN_KIND_CONSUMER = 5
};

struct span;

/* name is copied. Returns NULL when memory ran out. */
struct span	*span_start(const char *, const struct trace_ctx *,
		    enum span_kind);
void		 span_set_str(struct span *, const char *, const char *);
void		 span_set_int(struct span *, const char *, int64_t);
void		 span_set_double(struct span *, const char *, double);
/* Status ERROR with a message (copied, may be NULL); the last one wins. */
void		 span_set_error(struct span *, const char *);
/* Status OK: the operation is known to have succeeded. */
void		 span_set_ok(struct span *);
/* Valid until span_end(). */
const struct trace_ctx *span_ctx(const struct span *);
void		 span_end(struct span *);

/*
 * otlp_url NULL or "" disables export (returns 0; spans are freed at
 * span_end). service_name NULL or "" is "grilld". queue_max 0 and
 * flush_ms 0 take the defaults. Returns -1 when already running, when
 * queue_max > TRACE_QUEUE_MAX or flush_ms < 0, or when the thread or
 * curl could not start. Both strings are copied.
 */
int		 trace_exporter_start(const char *, const char *, size_t,
		    int64_t);
void		 trace_exporter_stop(void);		/* idempotent */
bool		 trace_exporter_running(void);
/* Spans dropped and spans sent since the process started. */
uint64_t	 trace_dropped(void);
uint64_t	 trace_exported(void);

#endif
