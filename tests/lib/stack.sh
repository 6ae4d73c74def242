# shellcheck shell=bash
# One way to start a grilld stack, shared by the integration scenarios
# (tests/integration/lib.sh), the benchmarks (bench/lib.sh,
# bench/pipeline.bash) and `make run` (mk/run.sh): real redis-server,
# influxd and grilld's daemons on loopback ports, the nng URLs included,
# so that two stacks on one host never collide.
#
#   . tests/lib/stack.sh
#   stack_init                 # $T, a temporary folder removed at exit
#                              # with every process started here
#   start_redis; start_influx  # REDIS_URL, INFLUX_URL, exported
#   demo_chain_env             # the daemons' addresses, the demo account
#   start_daemon ingest "http://$GRILLD_INGEST_ADMIN_LISTEN/health/ready"
#
# A caller defines bail (how it gives up: TAP's "not ok", a bench SKIP);
# the default prints the reason and exits 1. Nothing here needs stack_init
# except the functions that start processes.

set -u
GRILLD_TOP=${GRILLD_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build/release}
BIN=${BIN:-bin}
case "$BUILD" in /*) ;; *) BUILD=$GRILLD_TOP/$BUILD ;; esac
case "$BIN" in /*) ;; *) BIN=$GRILLD_TOP/$BIN ;; esac

bail() { echo "stack: $*" >&2; exit 1; }

# freeport [N]: N loopback TCP ports nobody listens on, one a line.
freeport() { "$BUILD/tools/freeport" "${1:-1}"; }

# wait_for DESC SECONDS CMD...: polls CMD until it succeeds.
wait_for() {
	local desc=$1 secs=$2 _
	shift 2
	for _ in $(seq 1 $((secs * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "# timed out waiting for $desc" >&2
	return 1
}

# stack_init: the temporary folder $T and the list of processes started
# in it (_pids), all stopped and $T removed at exit (KEEP_T=1 keeps it).
stack_init() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/grilld-it.XXXXXX")
	_pids=()
	trap _cleanup EXIT
	trap 'exit 130' INT TERM
}
_cleanup() {
	local pid
	for pid in "${_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${_pids[@]}"; do
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "${KEEP_T:-}" ] || rm -rf "$T"
}

# stack_influx_conf DIR HTTP_PORT BACKUP_PORT: influxd 1.x's
# configuration, data under DIR, its HTTP API and its backup service on
# ports of their own, into DIR/influxdb.conf.
stack_influx_conf() {
	local dir=$1 http=$2 backup=$3
	mkdir -p "$dir"
	cat >"$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$backup"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[coordinator]
[retention]
  check-interval = "30m"
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:$http"
  log-enabled = false
[continuous_queries]
  log-enabled = false
  run-interval = "${INFLUX_CQ_INTERVAL:-1s}"
[logging]
  level = "warn"
CONF
}

# stack_nng_env: the four nng URLs on free loopback ports, each unless
# already set (the defaults, 9201-9204, are one stack's a host).
stack_nng_env() {
	local p
	mapfile -t p < <(freeport 4)
	export GRILLD_NNG_EVENTS_URL=${GRILLD_NNG_EVENTS_URL:-tcp://127.0.0.1:${p[0]}}
	export GRILLD_NNG_POLLER_URL=${GRILLD_NNG_POLLER_URL:-tcp://127.0.0.1:${p[1]}}
	export GRILLD_NNG_INGEST_URL=${GRILLD_NNG_INGEST_URL:-tcp://127.0.0.1:${p[2]}}
	export GRILLD_NNG_STREAM_URL=${GRILLD_NNG_STREAM_URL:-tcp://127.0.0.1:${p[3]}}
}

# stack_twsim_env HOST:PORT EMAIL PASSWORD: the poller pointed at the
# simulator at HOST:PORT, signing in as EMAIL (the demo account is
# demo@grilld.example / demo).
stack_twsim_env() {
	local tw=$1
	export GRILLD_THERMOWORKS_AUTH_URL=http://$tw GRILLD_THERMOWORKS_TOKEN_URL=http://$tw
	export GRILLD_THERMOWORKS_FIRESTORE_URL="http://$tw/v1/projects/thermoworks-cloud-production/databases/(default)"
	export GRILLD_THERMOWORKS_STORAGE_URL=http://$tw
	export GRILLD_THERMOWORKS_API_KEY=twsim-demo-key
	export GRILLD_THERMOWORKS_EMAIL=$2 GRILLD_THERMOWORKS_PASSWORD=$3
}

start_redis() {
	REDIS_PORT=$(freeport)
	mkdir -p "$T/redis"
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T/redis" \
		--save "" --appendonly "${REDIS_AOF:-no}" --daemonize no \
		--logfile "$T/redis/redis.log" &
	REDIS_PID=$!
	_pids+=("$REDIS_PID")
	REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
	export REDIS_PORT REDIS_URL GRILLD_REDIS_URL=$REDIS_URL
	wait_for redis 10 redis-cli -p "$REDIS_PORT" PING || bail "redis-server starts"
}
redis_cli() { redis-cli -p "$REDIS_PORT" "$@"; }

# influxd 1.x, its HTTP API and its backup service on ports of its own.
start_influx() {
	local p
	p=($(freeport 2))
	INFLUX_PORT=${p[0]}
	stack_influx_conf "$T/influx" "$INFLUX_PORT" "${p[1]}"
	influxd -config "$T/influx/influxdb.conf" >"$T/influx/influxd.log" 2>&1 &
	INFLUX_PID=$!
	_pids+=("$INFLUX_PID")
	INFLUX_URL=http://127.0.0.1:$INFLUX_PORT
	export INFLUX_PORT INFLUX_URL GRILLD_INFLUX_URL=$INFLUX_URL
	wait_for influxd 20 curl -sf "$INFLUX_URL/ping" || bail "influxd starts"
}
# influx_query DB QUERY: prints the JSON answer of /query.
influx_query() {
	curl -sS -G "$INFLUX_URL/query" --data-urlencode "db=$1" \
		--data-urlencode "q=$2" --data-urlencode "epoch=ns"
}

# demo_chain_env: a whole chain's addresses on free ports and the
# simulator's demo account, exported for every daemon: p[0] grilld-twsim
# (TW), p[1] its admin, p[2] the poller's admin, p[3] the ingester's,
# p[4..7] the nng URLs (events, poller, ingest, stream), p[8] the API,
# p[9] the stream; the demo at twsim.time_scale 30 (readings every second
# or two), the poller every 5 s with its spool in $T.
demo_chain_env() {
	p=($(freeport 10))
	TW=127.0.0.1:${p[0]}
	export GRILLD_TWSIM_LISTEN=$TW GRILLD_TWSIM_ADMIN_LISTEN=127.0.0.1:${p[1]}
	export GRILLD_POLLER_ADMIN_LISTEN=127.0.0.1:${p[2]}
	export GRILLD_INGEST_ADMIN_LISTEN=127.0.0.1:${p[3]}
	export GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${p[4]}
	export GRILLD_NNG_POLLER_URL=tcp://127.0.0.1:${p[5]}
	export GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:${p[6]}
	export GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:${p[7]}
	export GRILLD_API_LISTEN=127.0.0.1:${p[8]} GRILLD_STREAM_LISTEN=127.0.0.1:${p[9]}
	stack_twsim_env "$TW" demo@grilld.example demo
	export GRILLD_TWSIM_TIME_SCALE=30
	export GRILLD_POLLER_INTERVAL=5s GRILLD_POLLER_SPOOL_PATH=$T/poller.spool
}

# start_daemon NAME READY_URL [ARGS...]: starts bin/grilld-NAME in the
# foreground with its log in $T/NAME.log and waits for READY_URL.
start_daemon() {
	local name=$1 url=$2
	shift 2
	"$BIN/grilld-$name" -d "$@" >>"$T/$name.log" 2>&1 &
	local pid=$!
	_pids+=("$pid")
	eval "PID_${name//-/_}=$pid"
	if ! wait_for "grilld-$name" 15 curl -sf "$url"; then
		echo "# grilld-$name log:" && sed 's/^/#   /' "$T/$name.log" | tail -20
		return 1
	fi
}
# stop_pid PID: SIGTERM, then wait; returns the exit status.
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}
