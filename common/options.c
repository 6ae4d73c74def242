/*
 * The option table. Keep it sorted by section, in the order the sample
 * file shows them; `make sample-config` rewrites deploy/etc/grilld.yaml
 * from it and tests/integration/00-config.sh fails when they drift.
 */
#include "options.h"

#define S	(1000.0)
#define MIN	(60 * S)
#define H	(60 * MIN)
#define D	(24 * H)
#define KIB	(1024.0)
#define MIB	(1024 * KIB)
#define GIB	(1024 * MIB)

#define OPT(name, type, def, lo, hi, choices, who, field, help)           \
	{ name, type, def, lo, hi, choices, who,                          \
	  offsetof(struct grilld_conf, field), help }

const struct conf_opt grilld_options[] = {
	OPT("log.level", CONF_STR, "info", 0, 0, "error|warn|info|debug",
	    CONF_ALL, log.level, "Least severe level logged (-v: debug)."),
	OPT("log.format", CONF_STR, "text", 0, 0, "text|json", CONF_ALL,
	    log.format, "text, or one JSON object a line for log "
	    "collectors."),
	OPT("log.core_dumps", CONF_BOOL, "false", 0, 0, NULL, CONF_ALL,
	    log.core_dumps, "Allow core dumps and ptrace by the same user "
	    "(they expose passwords, tokens and keys); for debugging only."),

	OPT("redis.url", CONF_STR, "redis://127.0.0.1:6379/0", 0, 0, NULL,
	    CONF_POLLER | CONF_INGEST | CONF_API | CONF_STREAM, redis.url,
	    "Redis: redis://[:password@]host:port/db, unix:///path?db=N, or "
	    "redis-sentinel://[:password@]host:26379[,host:26379...]/master"
	    "[/db] to follow a Sentinel failover."),
	OPT("redis.password", CONF_SECRET, NULL, 0, 0, NULL,
	    CONF_POLLER | CONF_INGEST | CONF_API | CONF_STREAM,
	    redis.password, "Redis password, when not in the URL."),
	OPT("redis.connect_timeout", CONF_DURATION, "2s", 10, 5 * MIN, NULL,
	    CONF_POLLER | CONF_INGEST | CONF_API | CONF_STREAM,
	    redis.connect_timeout, "Time-out to connect to Redis."),
	OPT("redis.command_timeout", CONF_DURATION, "5s", 10, 5 * MIN, NULL,
	    CONF_POLLER | CONF_INGEST | CONF_API | CONF_STREAM,
	    redis.command_timeout, "Time-out of one Redis command."),
	OPT("redis.wait_replicas", CONF_INT, "0", 0, 64, NULL,
	    CONF_POLLER | CONF_API, redis.wait_replicas, "Replicas that must "
	    "hold a reading before the poller or /batch calls it handed "
	    "off (Redis WAIT); 0: the master alone."),
	OPT("redis.wait_timeout", CONF_DURATION, "1s", 10, MIN, NULL,
	    CONF_POLLER | CONF_API, redis.wait_timeout, "How long a "
	    "hand-off waits for redis.wait_replicas; short of them, it is "
	    "not acknowledged and is sent again."),
	OPT("redis.prefix", CONF_STR, "grilld:", 0, 0, NULL,
	    CONF_POLLER | CONF_INGEST | CONF_API | CONF_STREAM, redis.prefix,
	    "Prefix of every Redis key and stream grilld uses."),

	OPT("influx.url", CONF_STR, "http://127.0.0.1:8086", 0, 0, NULL,
	    CONF_INGEST | CONF_API, influx.url, "InfluxDB 1.x HTTP API."),
	OPT("influx.database", CONF_STR, "grilld", 0, 0, NULL,
	    CONF_INGEST | CONF_API, influx.database, "InfluxDB database."),
	OPT("influx.username", CONF_STR, NULL, 0, 0, NULL,
	    CONF_INGEST | CONF_API, influx.username, "InfluxDB user."),
	OPT("influx.password", CONF_SECRET, NULL, 0, 0, NULL,
	    CONF_INGEST | CONF_API, influx.password, "InfluxDB password."),
	OPT("influx.timeout", CONF_DURATION, "10s", 100, 10 * MIN, NULL,
	    CONF_INGEST | CONF_API, influx.timeout,
	    "Total time-out of one InfluxDB request."),
	OPT("influx.ca_file", CONF_STR, NULL, 0, 0, NULL,
	    CONF_INGEST | CONF_API, influx.ca_file, "PEM file of the CAs "
	    "that sign an https influx.url (default: the system's)."),

	OPT("tracing.otlp_url", CONF_STR, NULL, 0, 0, NULL, CONF_ALL,
	    tracing.otlp_url, "OTLP/HTTP collector (spans go to "
	    "{url}/v1/traces); unset: no export."),
	OPT("tracing.sample_ratio", CONF_DOUBLE, "1", 0, 1, NULL, CONF_ALL,
	    tracing.sample_ratio, "Share of new traces that are sampled."),
	OPT("tracing.queue", CONF_INT, "2048", 1, 1000000, NULL, CONF_ALL,
	    tracing.queue, "Spans held for export before new ones are "
	    "dropped (and counted)."),

	OPT("nng.events_url", CONF_STR, "tcp://127.0.0.1:9201", 0, 0, NULL,
	    CONF_INGEST | CONF_STREAM, nng.events_url,
	    "Live events: the ingester publishes, the stream subscribes."),
	OPT("nng.poller_url", CONF_STR, "tcp://127.0.0.1:9202", 0, 0, NULL,
	    CONF_POLLER | CONF_API, nng.poller_url,
	    "The poller's request/reply socket (registry, status)."),
	OPT("nng.ingest_url", CONF_STR, "tcp://127.0.0.1:9203", 0, 0, NULL,
	    CONF_INGEST | CONF_API, nng.ingest_url,
	    "The ingester's request/reply socket (status)."),
	OPT("nng.stream_url", CONF_STR, "tcp://127.0.0.1:9204", 0, 0, NULL,
	    CONF_STREAM | CONF_API, nng.stream_url,
	    "The stream's request/reply socket (status)."),
	OPT("nng.timeout", CONF_DURATION, "2s", 10, MIN, NULL, CONF_ALL,
	    nng.timeout, "Time-out of one request over nng."),

	OPT("thermoworks.auth_url", CONF_STR,
	    "https://identitytoolkit.googleapis.com", 0, 0, NULL,
	    CONF_POLLER, thermoworks.auth_url, "Firebase sign-in."),
	OPT("thermoworks.token_url", CONF_STR,
	    "https://securetoken.googleapis.com", 0, 0, NULL, CONF_POLLER,
	    thermoworks.token_url, "Firebase token refresh."),
	OPT("thermoworks.firestore_url", CONF_STR,
	    "https://firestore.googleapis.com/v1/projects/"
	    "thermoworks-cloud-production/databases/(default)", 0, 0, NULL,
	    CONF_POLLER, thermoworks.firestore_url, "Firestore documents."),
	OPT("thermoworks.storage_url", CONF_STR,
	    "https://firebasestorage.googleapis.com", 0, 0, NULL,
	    CONF_POLLER, thermoworks.storage_url,
	    "Firebase Storage (session archives)."),
	OPT("thermoworks.api_key", CONF_SECRET, NULL, 0, 0, NULL, CONF_POLLER,
	    thermoworks.api_key, "The ThermoWorks web app's Firebase API key."),
	OPT("thermoworks.email", CONF_STR, NULL, 0, 0, NULL, CONF_POLLER,
	    thermoworks.email, "Account e-mail (one account; see accounts)."),
	OPT("thermoworks.password", CONF_SECRET, NULL, 0, 0, NULL, CONF_POLLER,
	    thermoworks.password, "Account password; prefer password_file or "
	    "the environment."),
	OPT("thermoworks.password_file", CONF_STR, NULL, 0, 0, NULL,
	    CONF_POLLER, thermoworks.password_file,
	    "File whose first line is the password (mode 600)."),
	OPT("thermoworks.refresh_token_file", CONF_STR, NULL, 0, 0, NULL,
	    CONF_POLLER, thermoworks.refresh_token_file,
	    "Instead of a password (accounts made with Google or Apple): "
	    "file whose first line is a Firebase refresh token (mode 600)."),
	OPT("thermoworks.accounts", CONF_TREE, NULL, 0, 0, NULL, CONF_POLLER,
	    thermoworks.accounts, "More accounts: a list of {email, password "
	    "or password_file or refresh_token_file, api_key}."),

	OPT("poller.admin_listen", CONF_STR, "127.0.0.1:9101", 0, 0, NULL,
	    CONF_POLLER, poller.admin_listen,
	    "/metrics and /health/* of the poller."),
	OPT("poller.interval", CONF_DURATION, "30s", 5 * S, D, NULL,
	    CONF_POLLER, poller.interval, "Time between two polls of every "
	    "channel."),
	OPT("poller.jitter", CONF_DOUBLE, "0.1", 0, 0.5, NULL, CONF_POLLER,
	    poller.jitter, "Random share of the interval added or taken "
	    "away."),
	OPT("poller.timeout", CONF_DURATION, "10s", 100, 5 * MIN, NULL,
	    CONF_POLLER, poller.timeout, "Total time-out of one request."),
	OPT("poller.concurrency", CONF_INT, "64", 1, 4096, NULL, CONF_POLLER,
	    poller.concurrency, "Requests in flight at once."),
	OPT("poller.stale_after", CONF_DURATION, "5m", S, D, NULL,
	    CONF_POLLER, poller.stale_after, "A device whose last telemetry "
	    "is older is reported offline."),
	OPT("poller.backfill", CONF_BOOL, "true", 0, 0, NULL, CONF_POLLER,
	    poller.backfill, "Fetch points recorded between uploads from "
	    "the session archives."),
	OPT("poller.schedule", CONF_BOOL, "true", 0, 0, NULL, CONF_POLLER,
	    poller.schedule, "Poll each device when its next upload is due "
	    "(lastTelemetrySaved + transmit interval, or the RFX heartbeat), "
	    "its document alone until it moved; poller.interval polls the "
	    "devices without a schedule. false: every device every interval."),
	OPT("poller.spool_path", CONF_STR, "var/poller.spool", 0, 0, NULL,
	    CONF_POLLER, poller.spool_path,
	    "Append-only spool used while Redis is unreachable."),
	OPT("poller.spool_max", CONF_SIZE, "64MiB", 64 * KIB, 64 * GIB, NULL,
	    CONF_POLLER, poller.spool_max, "Largest spool; past it polling "
	    "slows down (and says so)."),
	OPT("poller.lease_ttl", CONF_DURATION, "15s", S, 10 * MIN, NULL,
	    CONF_POLLER, poller.lease_ttl, "Lease that keeps one poller "
	    "active per account."),

	OPT("ingest.admin_listen", CONF_STR, "127.0.0.1:9102", 0, 0, NULL,
	    CONF_INGEST, ingest.admin_listen,
	    "/metrics and /health/* of the ingester."),
	OPT("ingest.group", CONF_STR, "ingest", 0, 0, NULL, CONF_INGEST,
	    ingest.group, "Redis consumer group shared by the replicas."),
	OPT("ingest.consumer", CONF_STR, NULL, 0, 0, NULL, CONF_INGEST,
	    ingest.consumer, "This replica's consumer name (default: "
	    "host name and pid)."),
	OPT("ingest.batch_size", CONF_INT, "5000", 1, 100000, NULL,
	    CONF_INGEST, ingest.batch_size, "Points per InfluxDB write."),
	OPT("ingest.batch_wait", CONF_DURATION, "1s", 1, MIN, NULL,
	    CONF_INGEST, ingest.batch_wait,
	    "Longest a partial batch waits before it is written."),
	OPT("ingest.hold_max", CONF_INT, "100000", 1000, 10000000, NULL,
	    CONF_INGEST, ingest.hold_max, "Readings an ingester holds read "
	    "and published live but not yet stored; while InfluxDB is slow "
	    "or down, live data goes on until this many wait, then reading "
	    "pauses (the stream buffers)."),
	OPT("ingest.claim_idle", CONF_DURATION, "30s", S, D, NULL,
	    CONF_INGEST, ingest.claim_idle, "Entries pending this long in "
	    "a dead replica are claimed."),
	OPT("ingest.max_deliveries", CONF_INT, "5", 1, 1000, NULL,
	    CONF_INGEST, ingest.max_deliveries, "Deliveries before an entry "
	    "goes to the dead-letter stream."),
	OPT("ingest.stream_max", CONF_INT, "1000000", 10, 100000000, NULL,
	    CONF_INGEST | CONF_POLLER | CONF_API, ingest.stream_max,
	    "Entries the readings stream may hold. Producers never trim it: "
	    "past this the poller spools and POST /batch answers 503 "
	    "STREAM_FULL until ingest catches up."),
	OPT("ingest.events_max", CONF_INT, "100000", 100, 10000000, NULL,
	    CONF_INGEST | CONF_STREAM, ingest.events_max,
	    "Events kept for replay to reconnecting clients."),
	OPT("ingest.stale_after", CONF_DURATION, "2m", S, D, NULL,
	    CONF_INGEST | CONF_API, ingest.stale_after,
	    "A latest reading older than this is marked stale."),
	OPT("ingest.future_skew", CONF_DURATION, "5m", 0, D, NULL,
	    CONF_INGEST | CONF_API | CONF_POLLER, ingest.future_skew,
	    "Readings timestamped further ahead are rejected (the poller "
	    "skips them, and ignores seen marks further ahead)."),
	OPT("ingest.retention_raw", CONF_STR, "7d", 0, 0, NULL,
	    CONF_INGEST | CONF_API, ingest.retention_raw,
	    "Retention of raw points (InfluxDB duration, INF = forever)."),
	OPT("ingest.retention_hourly", CONF_STR, "90d", 0, 0, NULL,
	    CONF_INGEST | CONF_API, ingest.retention_hourly,
	    "Retention of hourly roll-ups."),
	OPT("ingest.retention_daily", CONF_STR, "730d", 0, 0, NULL,
	    CONF_INGEST | CONF_API, ingest.retention_daily,
	    "Retention of daily roll-ups."),
	OPT("ingest.retention_monthly", CONF_STR, "INF", 0, 0, NULL,
	    CONF_INGEST | CONF_API, ingest.retention_monthly,
	    "Retention of monthly roll-ups."),
	OPT("ingest.cq_interval", CONF_DURATION, "1h", S, D, NULL, CONF_INGEST,
	    ingest.cq_interval, "How often continuous queries roll up "
	    "(RESAMPLE EVERY); short in tests."),
	OPT("ingest.ranges", CONF_TREE, NULL, 0, 0, NULL, CONF_INGEST | CONF_API,
	    ingest.ranges, "Physical range per probe type: a map of type to "
	    "{min, max, unit}."),
	OPT("ingest.webhooks", CONF_TREE, NULL, 0, 0, NULL, CONF_INGEST,
	    ingest.webhooks, "Alert webhooks: a list of {url, secret}."),
	OPT("ingest.gzip", CONF_STR, "auto", 0, 0, "auto|on|off", CONF_INGEST,
	    ingest.gzip, "Compress InfluxDB writes; auto: when InfluxDB is "
	    "not on a loopback address."),
	OPT("ingest.alerts_max", CONF_INT, "10000", 100, 10000000, NULL,
	    CONF_INGEST | CONF_API, ingest.alerts_max,
	    "Alert events kept in the alerts stream (history)."),
	OPT("ingest.deadletter_max", CONF_INT, "100000", 100, 100000000, NULL,
	    CONF_INGEST | CONF_API, ingest.deadletter_max,
	    "Entries kept in the dead-letter stream."),

	OPT("api.listen", CONF_STR, "127.0.0.1:8080", 0, 0, NULL, CONF_API,
	    api.listen, "The REST API (and its /metrics and /health)."),
	OPT("api.keys", CONF_SECRET, NULL, 0, 0, NULL, CONF_API | CONF_STREAM,
	    api.keys, "Comma-separated API keys for writes and rule changes."),
	OPT("api.keys_file", CONF_STR, NULL, 0, 0, NULL,
	    CONF_API | CONF_STREAM, api.keys_file,
	    "File of API keys, one a line (or comma-separated), # comments "
	    "(mode 600)."),
	OPT("api.read_auth", CONF_BOOL, "false", 0, 0, NULL,
	    CONF_API | CONF_STREAM, api.read_auth,
	    "Require a key for reads too."),
	OPT("api.threads", CONF_INT, "16", 1, 1024, NULL, CONF_API,
	    api.threads, "Worker threads."),
	OPT("api.max_body", CONF_SIZE, "1MiB", KIB, GIB, NULL, CONF_API,
	    api.max_body, "Largest request body."),
	OPT("api.max_batch", CONF_INT, "1000", 1, 100000, NULL, CONF_API,
	    api.max_batch, "Readings per batch request."),
	OPT("api.max_points", CONF_INT, "10000", 10, 10000000, NULL, CONF_API,
	    api.max_points, "Points per history answer."),
	OPT("api.request_timeout", CONF_DURATION, "30s", 100, 10 * MIN, NULL,
	    CONF_API, api.request_timeout, "Longest a request may take."),
	OPT("api.rate", CONF_DOUBLE, "50", 0, 1e9, NULL, CONF_API, api.rate,
	    "Requests per second per key or address (0: no limit)."),
	OPT("api.burst", CONF_INT, "100", 1, 1000000, NULL, CONF_API,
	    api.burst, "Requests allowed in a burst above the rate."),
	OPT("api.cors_origins", CONF_STR, NULL, 0, 0, NULL,
	    CONF_API | CONF_STREAM, api.cors_origins,
	    "Comma-separated origins allowed by CORS (* for any)."),
	OPT("api.stale_after", CONF_DURATION, "2m", S, D, NULL, CONF_API,
	    api.stale_after, "current marks a reading older than this "
	    "stale."),
	OPT("api.latest_cache", CONF_BOOL, "true", 0, 0, NULL, CONF_API,
	    api.latest_cache, "Keep the latest readings current reads in "
	    "memory, invalidated by Redis (client-side caching)."),
	OPT("api.io_timeout", CONF_DURATION, "10s", 100, 10 * MIN, NULL,
	    CONF_API, api.io_timeout, "Longest a client may take to send "
	    "its request headers, or to send or take the next piece of a "
	    "body (408 past it); a connection holds a worker meanwhile."),
	OPT("api.keep_alive", CONF_DURATION, "5s", 0, 10 * MIN, NULL,
	    CONF_API, api.keep_alive, "An idle keep-alive connection is "
	    "closed after this long (it holds a worker; 0: no keep-alive)."),
	OPT("api.tls_cert", CONF_STR, NULL, 0, 0, NULL, CONF_API,
	    api.tls_cert, "PEM certificate (and chain): api.listen speaks "
	    "HTTPS. Needs api.tls_key."),
	OPT("api.tls_key", CONF_STR, NULL, 0, 0, NULL, CONF_API,
	    api.tls_key, "PEM private key of api.tls_cert (mode 600)."),
	/* One base URL: the API relays WebSockets to grilld-stream. */
	OPT("api.stream_upstream", CONF_STR, NULL, 0, 0, NULL, CONF_API,
	    api.stream_upstream, "host:port where the API reaches "
	    "grilld-stream to relay the WebSocket routes (default "
	    "stream.listen, a wildcard address meaning loopback)."),
	OPT("api.ws_proxy_max", CONF_INT, "8", 0, 100000, NULL, CONF_API,
	    api.ws_proxy_max, "WebSockets the API relays at once (each holds "
	    "a worker: at most api.threads - 2); raise api.threads with it."),
	/* Behind a proxy (docs/security.md). */
	OPT("api.trusted_proxies", CONF_STR, NULL, 0, 0, NULL,
	    CONF_API | CONF_STREAM, api.trusted_proxies, "Comma-separated "
	    "CIDRs of proxies whose Forwarded or X-Forwarded-For names the "
	    "client; limits and keyless writes then use that address."),

	OPT("stream.feed", CONF_STR, "redis", 0, 0, "redis|nng", CONF_STREAM,
	    stream.feed, "Where live events come from: redis (the events "
	    "stream: every event of every ingest replica, in one order) or "
	    "nng (nng.events_url: one ingester's, a hop shorter)."),
	OPT("stream.listen", CONF_STR, "127.0.0.1:8081", 0, 0, NULL,
	    CONF_STREAM, stream.listen,
	    "SSE, WebSocket and the live page (and /metrics, /health)."),
	OPT("stream.heartbeat", CONF_DURATION, "15s", 100, 10 * MIN, NULL,
	    CONF_STREAM, stream.heartbeat, "SSE comment sent when idle."),
	OPT("stream.retry", CONF_DURATION, "3s", 100, 10 * MIN, NULL,
	    CONF_STREAM, stream.retry, "Reconnect delay hinted to SSE "
	    "clients."),
	OPT("stream.queue_max", CONF_INT, "256", 4, 65536, NULL, CONF_STREAM,
	    stream.queue_max, "Events queued per client before coalescing."),
	OPT("stream.max_clients", CONF_INT, "10000", 1, 1000000, NULL,
	    CONF_STREAM, stream.max_clients, "Concurrent clients."),
	OPT("stream.per_address", CONF_INT, "256", 1, 1000000, NULL,
	    CONF_STREAM, stream.per_address,
	    "Concurrent clients from one address."),
	OPT("stream.max_subscriptions", CONF_INT, "64", 1, 10000, NULL,
	    CONF_STREAM, stream.max_subscriptions,
	    "Devices and probes one connection may follow."),
	OPT("stream.max_message", CONF_SIZE, "16KiB", 256, MIB, NULL,
	    CONF_STREAM, stream.max_message,
	    "Largest WebSocket message accepted from a client."),
	OPT("stream.idle_timeout", CONF_DURATION, "10m", S, D, NULL,
	    CONF_STREAM, stream.idle_timeout,
	    "A WebSocket silent this long is closed."),
	OPT("stream.write_timeout", CONF_DURATION, "30s", S, 10 * MIN, NULL,
	    CONF_STREAM, stream.write_timeout,
	    "A client whose send has been pending this long is dropped."),
	OPT("stream.threads", CONF_INT, "0", 0, 64, NULL, CONF_STREAM,
	    stream.threads, "Event loop threads (0: one per CPU)."),
	OPT("stream.sndbuf", CONF_SIZE, "64KiB", 0, 16 * MIB, NULL,
	    CONF_STREAM, stream.sndbuf, "Kernel send buffer per connection "
	    "(0: the kernel's autotuning)."),
	OPT("stream.page_dir", CONF_STR, "stream/www", 0, 0, NULL,
	    CONF_STREAM, stream.page_dir, "Folder of the live page."),
	OPT("stream.request_timeout", CONF_DURATION, "10s", 100, 10 * MIN,
	    NULL, CONF_STREAM, stream.request_timeout, "Longest a client may "
	    "take to send a whole request, headers dribbled or not (408)."),
	/* Hostile clients and proxies (docs/security.md). */
	OPT("stream.max_conns", CONF_INT, "1024", 1, 1000000, NULL,
	    CONF_STREAM, stream.max_conns, "Plain HTTP connections (not yet "
	    "streams) in all; every connection also stays below the "
	    "descriptor limit."),
	OPT("stream.per_address_conns", CONF_INT, "64", 1, 1000000, NULL,
	    CONF_STREAM, stream.per_address_conns,
	    "Plain HTTP connections from one address."),
	OPT("stream.public_url", CONF_STR, NULL, 0, 0, NULL, CONF_API,
	    stream.public_url, "Where clients reach grilld-stream "
	    "(https://host:port), for the API's redirect of grill-stats' live "
	    "routes (unset: stream.listen, https with api.tls_cert)."),

	OPT("twsim.listen", CONF_STR, "127.0.0.1:8090", 0, 0, NULL,
	    CONF_TWSIM, twsim.listen,
	    "Sign-in, token and Firestore endpoints of the simulator."),
	OPT("twsim.admin_listen", CONF_STR, "127.0.0.1:9103", 0, 0, NULL,
	    CONF_TWSIM, twsim.admin_listen,
	    "/metrics, /health/* and the fault controls of the simulator."),
	OPT("twsim.seed", CONF_INT, "1", 0, 4294967295.0, NULL, CONF_TWSIM,
	    twsim.seed, "Seed of the simulated cooks (same seed, same "
	    "readings)."),
	OPT("twsim.token_lifetime", CONF_DURATION, "1h", S, D, NULL,
	    CONF_TWSIM, twsim.token_lifetime, "Lifetime of id tokens."),
	OPT("twsim.speed", CONF_DOUBLE, "1", 0.01, 3600, NULL, CONF_TWSIM,
	    twsim.speed, "Simulated seconds per real second."),
	OPT("twsim.time_scale", CONF_DOUBLE, "1", 1, 3600, NULL, CONF_TWSIM,
	    twsim.time_scale, "The demo's intervals (recording, upload, "
	    "session, archive delay) divided by this; 1: as real devices."),
	OPT("twsim.api_key", CONF_STR, "twsim-demo-key", 0, 0, NULL,
	    CONF_TWSIM, twsim.api_key, "The web API key the simulator "
	    "accepts."),
	OPT("twsim.devices", CONF_INT, "0", 0, 1000000, NULL, CONF_TWSIM,
	    twsim.devices, "Generated devices for benchmarks, added to the "
	    "first account."),
	OPT("twsim.threads", CONF_INT, "128", 2, 1024, NULL, CONF_TWSIM,
	    twsim.threads, "Worker threads; a keep-alive connection holds one "
	    "(keep it above poller.concurrency)."),
	OPT("twsim.state_file", CONF_STR, NULL, 0, 0, NULL, CONF_TWSIM,
	    twsim.state_file, "Keeps the start of the sessions (and the "
	    "devices paused by POST /admin/pause) across restarts, so that "
	    "a restarted simulator goes on with its sessions and archives "
	    "them (unset: every start begins new sessions)."),
	OPT("twsim.accounts", CONF_TREE, NULL, 0, 0, NULL, CONF_TWSIM,
	    twsim.accounts, "Accounts and their devices; unset: the demo "
	    "account."),
	OPT("twsim.faults", CONF_TREE, NULL, 0, 0, NULL, CONF_TWSIM,
	    twsim.faults, "Faults to inject from the start."),
};

const size_t grilld_noptions = sizeof(grilld_options) /
    sizeof(grilld_options[0]);
