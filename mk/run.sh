#!/usr/bin/env bash
# `make run`: the whole grilld stack on this machine, in the foreground.
#
# Starts its own redis-server and influxd (data under var/, on ports that
# do not collide with a system Redis or InfluxDB), grilld-twsim standing in
# for the ThermoWorks cloud unless real credentials are configured, and the
# four daemons; waits until each is ready; prints the URLs and a status
# screen. Ctrl-C stops everything in order: the poller first, the ingester
# last, so nothing is left half-written. A daemon that dies is reported,
# with its last log lines, and restarted.
#
#   make run            reuse var/ (data survives)
#   make run RESET=1    start clean
# A grilld.yaml at the top of the tree, if present, is read by every
# daemon; GRILLD_* environment variables override it as usual.
set -u
cd "$(dirname "$0")/.."
TOP=$PWD
# The stack harness (tests/lib/stack.sh): the influxd configuration, free
# ports for the nng URLs, the simulator's account; not its temporary
# folder (the data lives in var/ and survives).
. "$TOP/tests/lib/stack.sh"
VAR=${GRILLD_RUN_VAR:-$TOP/var}
# Every address can be moved with the daemons' own variables.
export GRILLD_API_LISTEN=${GRILLD_API_LISTEN:-127.0.0.1:8080}
export GRILLD_STREAM_LISTEN=${GRILLD_STREAM_LISTEN:-127.0.0.1:8081}
export GRILLD_TWSIM_LISTEN=${GRILLD_TWSIM_LISTEN:-127.0.0.1:8090}
export GRILLD_POLLER_ADMIN_LISTEN=${GRILLD_POLLER_ADMIN_LISTEN:-127.0.0.1:9101}
export GRILLD_INGEST_ADMIN_LISTEN=${GRILLD_INGEST_ADMIN_LISTEN:-127.0.0.1:9102}
export GRILLD_TWSIM_ADMIN_LISTEN=${GRILLD_TWSIM_ADMIN_LISTEN:-127.0.0.1:9103}
# The demo's devices as real ones (a Node uploads every 2 h), every
# interval divided by 30 so that readings flow at once.
export GRILLD_TWSIM_TIME_SCALE=${GRILLD_TWSIM_TIME_SCALE:-30}
API=http://$GRILLD_API_LISTEN
STREAM=http://$GRILLD_STREAM_LISTEN
POLLER=http://$GRILLD_POLLER_ADMIN_LISTEN
INGEST=http://$GRILLD_INGEST_ADMIN_LISTEN
TWSIM_ADMIN=http://$GRILLD_TWSIM_ADMIN_LISTEN
REDIS_PORT=${GRILLD_RUN_REDIS_PORT:-16379}
INFLUX_PORT=${GRILLD_RUN_INFLUX_PORT:-18086}
INFLUX_BACKUP_PORT=$((INFLUX_PORT + 2))

if [ -n "${RESET:-}" ] && [ "${RESET}" != 0 ]; then
	echo "run: RESET=1: removing $VAR"
	rm -rf "$VAR"
fi
mkdir -p "$VAR/redis" "$VAR/influx" "$VAR/log"

conf=()
if [ -f "$TOP/grilld.yaml" ]; then
	conf=(-f "$TOP/grilld.yaml")
fi

# Real credentials switch the poller to the real cloud; otherwise the
# simulator's demo account.
real=no
if [ -n "${GRILLD_THERMOWORKS_EMAIL:-}" ] ||
	{ [ -f "$TOP/grilld.yaml" ] && grep -qE '^\s+email:' "$TOP/grilld.yaml"; }; then
	real=yes
fi

export GRILLD_REDIS_URL=${GRILLD_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}
export GRILLD_INFLUX_URL=${GRILLD_INFLUX_URL:-http://127.0.0.1:$INFLUX_PORT}
export GRILLD_POLLER_SPOOL_PATH=${GRILLD_POLLER_SPOOL_PATH:-$VAR/poller.spool}
export GRILLD_STREAM_PAGE_DIR=${GRILLD_STREAM_PAGE_DIR:-$TOP/stream/www}
if [ $real = no ]; then
	stack_twsim_env "$GRILLD_TWSIM_LISTEN" demo@grilld.example demo
fi
# The daemons talk over nng on free ports (unless grilld.yaml names
# them): a second stack on this host (another make run, a test) does not
# take them.
if ! { [ -f "$TOP/grilld.yaml" ] && grep -q '^nng:' "$TOP/grilld.yaml"; }; then
	stack_nng_env
fi
export GRILLD_POLLER_INTERVAL=${GRILLD_POLLER_INTERVAL:-5s}

declare -A PID READY LOG ARGS
ORDER=()	# start order; stopped in reverse

stack_influx_conf "$VAR/influx" "$INFLUX_PORT" "$INFLUX_BACKUP_PORT"

start() {	# start NAME READY_URL CMD...
	local name=$1 url=$2
	shift 2
	ARGS[$name]="$*"
	READY[$name]=$url
	LOG[$name]=$VAR/log/$name.log
	# A session of its own: Ctrl-C reaches this script alone, which then
	# stops the processes one by one, in order.
	setsid "$@" >>"${LOG[$name]}" 2>&1 </dev/null &
	PID[$name]=$!
	[[ " ${ORDER[*]} " == *" $name "* ]] || ORDER+=("$name")
}

wait_ready() {	# wait_ready NAME
	local name=$1 i
	for i in $(seq 1 150); do
		if ! kill -0 "${PID[$name]}" 2>/dev/null; then
			echo "run: $name exited while starting; its last lines:" >&2
			tail -n 15 "${LOG[$name]}" | sed 's/^/    /' >&2
			return 1
		fi
		if eval "${READY[$name]}" >/dev/null 2>&1; then
			printf '  %-14s ready\n' "$name"
			return 0
		fi
		sleep 0.2
	done
	echo "run: $name is not ready after 30 s; see ${LOG[$name]}" >&2
	return 1
}

stop_all() {
	local i name
	# Keep going whatever happens to our output (a closed pipe, a
	# second Ctrl-C): every process must be stopped.
	trap '' INT TERM HUP PIPE
	echo
	echo "run: stopping (poller first, ingester last)"
	for name in grilld-poller grilld-api grilld-stream grilld-twsim \
		grilld-ingest influxd redis-server; do
		[ -n "${PID[$name]:-}" ] || continue
		kill -TERM "${PID[$name]}" 2>/dev/null || continue
		for i in $(seq 1 100); do
			kill -0 "${PID[$name]}" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "${PID[$name]}" 2>/dev/null; then
			echo "run: $name did not stop within 10 s; killing it"
			kill -KILL "${PID[$name]}" 2>/dev/null
		fi
		wait "${PID[$name]}" 2>/dev/null
		printf '  %-14s stopped\n' "$name"
	done
	echo "run: everything stopped; data kept in $VAR (make run RESET=1 starts clean)"
	exit 0
}
trap stop_all INT TERM HUP

echo "run: starting grilld (data in $VAR)"
start redis-server "redis-cli -p $REDIS_PORT PING" \
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$VAR/redis" \
	--appendonly yes --save "" --daemonize no
wait_ready redis-server || stop_all
start influxd "curl -sf http://127.0.0.1:$INFLUX_PORT/ping" \
	influxd -config "$VAR/influx/influxdb.conf"
wait_ready influxd || stop_all

daemon() {	# daemon NAME READY_URL
	start "grilld-$1" "curl -sf $2" "$BIN/grilld-$1" -d "${conf[@]}"
}
[ $real = no ] && daemon twsim "$TWSIM_ADMIN/health/ready"
daemon ingest "$INGEST/health/ready"
daemon stream "$STREAM/health/ready"
daemon api "$API/health/ready"
daemon poller "$POLLER/health/live"
for name in "${ORDER[@]}"; do
	case $name in grilld-*) wait_ready "$name" || stop_all ;; esac
done

metric() {	# metric URL NAME: the sum of a metric's series
	curl -s --max-time 1 "$1/metrics" 2>/dev/null |
		awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%d", s }'
}

cat <<MSG

grilld is running.
  live page     $API/   (also $STREAM/, without device names)
  API           $API/api/temperature/current/<device>   (devices: $API/api/devices)
  health        $API/health
  metrics       $API/metrics, $POLLER/metrics, $INGEST/metrics, $STREAM/metrics
  Redis         redis-cli -p $REDIS_PORT   (keys under grilld:)
  InfluxDB      influx -port $INFLUX_PORT -database grilld
  logs          $VAR/log/
Ctrl-C stops everything.

MSG

# readings/s over the last 10 s (devices upload in bursts)
hist_n=()
hist_t=()
while :; do
	sleep 2
	for name in "${ORDER[@]}"; do
		if ! kill -0 "${PID[$name]}" 2>/dev/null; then
			wait "${PID[$name]}" 2>/dev/null
			echo "run: $name died (status $?); its last lines:"
			tail -n 10 "${LOG[$name]}" | sed 's/^/    /'
			echo "run: restarting $name"
			start "$name" "${READY[$name]}" ${ARGS[$name]}
		fi
	done
	now=$(date +%s)
	stored=$(metric "$INGEST" grilld_ingest_stored_total)
	hist_n+=("$stored")
	hist_t+=("$now")
	if [ ${#hist_n[@]} -gt 6 ]; then
		hist_n=("${hist_n[@]:1}")
		hist_t=("${hist_t[@]:1}")
	fi
	span=$((now - hist_t[0]))
	rate=$(( span > 0 ? (stored - hist_n[0]) / span : 0 ))
	online=$(redis-cli -p "$REDIS_PORT" --raw HVALS grilld:devices 2>/dev/null |
		grep -c '"state":"online"')
	alerts=$(redis-cli -p "$REDIS_PORT" XLEN grilld:alerts 2>/dev/null)
	printf '\r%s  readings/s %-6s stored %-8s devices online %-3s alerts %-5s' \
		"$(date +%H:%M:%S)" "$rate" "$stored" "$online" "${alerts:-0}"
done
