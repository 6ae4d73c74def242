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

# stack_ports FORMAT NAME... [FORMAT NAME...]: a free loopback port for
# each NAME (all of them distinct), set to the FORMAT before it, with %s
# the port: "%s", "127.0.0.1:%s", "tcp://127.0.0.1:%s".
stack_ports() {
	local fmt=%s p a n=0 i=0
	for a; do
		case $a in *%s*) ;; *) n=$((n + 1)) ;; esac
	done
	mapfile -t p < <(freeport "$n")
	for a; do
		case $a in
		*%s*) fmt=$a ;;
		*) printf -v "$a" "$fmt" "${p[i]}"; i=$((i + 1)) ;;
		esac
	done
}
# stack_listening PORT: something accepts connections on 127.0.0.1:PORT
# (a bare connection, no request: nothing for a server to log).
stack_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stack_influx_conf DIR HTTP_PORT BACKUP_PORT [HTTP_LINES]: influxd 1.x's
# configuration, data under DIR, its HTTP API and its backup service on
# ports of their own, into DIR/influxdb.conf. HTTP_LINES go into its
# [http] section (https-enabled and its certificate, say).
stack_influx_conf() {
	local dir=$1 http=$2 backup=$3 extra=${4:-}
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
${extra:+$extra
}[continuous_queries]
  log-enabled = false
  run-interval = "${INFLUX_CQ_INTERVAL:-1s}"
[logging]
  level = "warn"
CONF
}

# stack_nng_env: the four nng URLs on free loopback ports, each unless
# already set (the defaults, 9201-9204, are one stack's a host).
stack_nng_env() {
	local v unset=()
	for v in GRILLD_NNG_EVENTS_URL GRILLD_NNG_POLLER_URL \
	    GRILLD_NNG_INGEST_URL GRILLD_NNG_STREAM_URL; do
		[ -n "${!v:-}" ] || unset+=("$v")
	done
	[ ${#unset[@]} -eq 0 ] && return
	stack_ports tcp://127.0.0.1:%s "${unset[@]}"
	export "${unset[@]}"
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

# stack_twsim_yaml HOST:PORT: the same as lines of a configuration file,
# the thermoworks: section's URLs and key (the account lines follow).
stack_twsim_yaml() {
	cat <<YAML
thermoworks:
  auth_url: http://$1
  token_url: http://$1
  firestore_url: http://$1/v1/projects/thermoworks-cloud-production/databases/(default)
  storage_url: http://$1
  api_key: twsim-demo-key
YAML
}

start_redis() {
	REDIS_PORT=$(freeport)
	REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
	export REDIS_PORT REDIS_URL GRILLD_REDIS_URL=$REDIS_URL
	stack_redis_run 10 || bail "redis-server starts"
}
# stack_redis_run SECONDS [ARGS...]: redis-server on $REDIS_PORT with its
# data in $T/redis (started again, it finds it there), append-only when
# REDIS_AOF=yes, ARGS added (--appendfsync always, say); REDIS_PID.
stack_redis_run() {
	local secs=$1
	shift
	mkdir -p "$T/redis"
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T/redis" \
		--save "" --appendonly "${REDIS_AOF:-no}" --daemonize no \
		--logfile "$T/redis/redis.log" "$@" &
	REDIS_PID=$!
	_pids+=("$REDIS_PID")
	wait_for redis "$secs" redis-cli -p "$REDIS_PORT" PING
}
redis_cli() { redis-cli -p "$REDIS_PORT" "$@"; }

# influxd 1.x, its HTTP API and its backup service on ports of its own.
start_influx() {
	local p
	p=($(freeport 2))
	INFLUX_PORT=${p[0]}
	stack_influx_conf "$T/influx" "$INFLUX_PORT" "${p[1]}"
	INFLUX_URL=http://127.0.0.1:$INFLUX_PORT
	export INFLUX_PORT INFLUX_URL GRILLD_INFLUX_URL=$INFLUX_URL
	stack_influx_run 20 || bail "influxd starts"
}
# stack_influx_run SECONDS [CURL ARGS...]: influxd on $T/influx's
# configuration (started again, on the data it left), its log appended
# to $T/influx/influxd.log; waits for $INFLUX_URL/ping; INFLUX_PID.
stack_influx_run() {
	local secs=$1
	shift
	influxd -config "$T/influx/influxdb.conf" >>"$T/influx/influxd.log" 2>&1 &
	INFLUX_PID=$!
	_pids+=("$INFLUX_PID")
	wait_for influxd "$secs" curl -sf "$@" "$INFLUX_URL/ping"
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
	stack_spawn "$name" "$BIN/grilld-$name" -d "$@"
	stack_wait_up "$name" "$url" 15
}
# stack_spawn NAME CMD...: runs CMD in the background, its output
# appended to $T/NAME.log, its pid in PID_NAME and stopped at exit.
stack_spawn() {
	local name=$1
	shift
	"$@" >>"$T/$name.log" 2>&1 &
	_pids+=("$!")
	printf -v "PID_${name//-/_}" %s "$!"
}
# stack_wait_up NAME URL SECONDS: waits until URL answers 2xx, giving up
# early when NAME's process is gone; then the end of its log, and 1.
stack_wait_up() {
	local v=PID_${1//-/_}
	_up_or_dead() { ! kill -0 "$1" 2>/dev/null || curl -sf "$2"; }
	if ! wait_for "grilld-$1" "$3" _up_or_dead "${!v}" "$2" ||
	    ! kill -0 "${!v}" 2>/dev/null; then
		echo "# grilld-$1 log:" && sed 's/^/#   /' "$T/$1.log" | tail -20
		return 1
	fi
}
# start_hookrecv HOST:PORT LOG [-f N]: a webhook receiver
# (tests/tools/hookrecv.c) that logs each request to LOG and answers the
# first N POSTs 500; HOOKRECV_PID. Waits until it listens.
start_hookrecv() {
	local addr=$1 log=$2
	shift 2
	"$BUILD/tools/hookrecv" -l "$addr" -o "$log" "$@" &
	HOOKRECV_PID=$!
	_pids+=("$HOOKRECV_PID")
	: >>"$log"
	wait_for "hookrecv on $addr" 10 stack_listening "${addr##*:}"
}
# stop_pid PID: SIGTERM, then wait; returns the exit status.
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}
