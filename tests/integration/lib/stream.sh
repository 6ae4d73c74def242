# Shared by the 06-stream-* scenarios (after lib.sh): a Redis, an
# ingester stand-in (evpub, tests/tools/evpub.c) and grilld-stream.
#
#   start_stream_env [KEY=VALUE ...]   options as GRILLD_* variables
#                                      (PROBE_QUERY: ?token=... if needed;
#                                      STREAM_CONF: a file for -f)
#   ev "r dev1 p1 200"                 one evpub command (see evpub.c)
#   ev_sync                            waits until evpub did them all
#   sse_get PATH SECONDS [CURL ARGS]   what curl -N saw in that time
#   node_run SCRIPT ARGS...            tests/integration/stream/SCRIPT
#   metric NAME{LABELS}                a value from /metrics

start_stream_env() {
	local p
	start_redis
	p=($(freeport 3))
	STREAM_PORT=${p[0]}
	export GRILLD_STREAM_LISTEN=127.0.0.1:$STREAM_PORT
	export GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${p[1]}
	export GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:${p[2]}
	export GRILLD_STREAM_PAGE_DIR=$GRILLD_TOP/stream/www
	export GRILLD_STREAM_THREADS=${GRILLD_STREAM_THREADS:-2}
	STREAM_URL=http://127.0.0.1:$STREAM_PORT
	for kv in "$@"; do
		export "$kv"
	done
	# The ingester stand-in reads commands from a FIFO held open on fd 7.
	mkfifo "$T/ev.fifo"
	"$BUILD/tools/evpub" -u "$GRILLD_NNG_EVENTS_URL" -r "$REDIS_URL" \
		-o "$T/ev.ids" -W 0 <"$T/ev.fifo" 2>>"$T/evpub.log" &
	_pids+=("$!")
	exec 7>"$T/ev.fifo"
	: >"$T/ev.ids"
	start_daemon stream "$STREAM_URL/health/ready" \
		${STREAM_CONF:+-f "$STREAM_CONF"} || bail "grilld-stream starts"
	# The subscriber is connected when a test event comes through.
	wait_for "the live feed" 10 sse_sees_probe || bail "events reach the stream"
}

sse_sees_probe() {
	local out=$T/.probe.out pid
	# grilld's named events: device events are not in grill-stats' protocol.
	curl -s -N -m 1 "$STREAM_URL/api/temperature/stream/probe-device?protocol=grilld${PROBE_QUERY:+&${PROBE_QUERY#?}}" \
		>"$out" &
	pid=$!
	sleep 0.2
	ev "d probe-device online"
	wait "$pid"
	grep -q 'event: device' "$out"
}

ev() { echo "$*" >&7; }
ev_sync() {
	local n
	n=$(grep -c '^sync$' "$T/ev.ids")
	ev sync
	wait_for "evpub" 20 _ev_synced $((n + 1))
}
_ev_synced() { [ "$(grep -c '^sync$' "$T/ev.ids")" -ge "$1" ]; }
# The ids of the events evpub made for a device, in order.
ev_ids() { awk -v d="$1" '$3 == d { print $1 }' "$T/ev.ids"; }

sse_get() {
	local path=$1 secs=$2
	shift 2
	curl -s -N -m "$secs" "$@" "$STREAM_URL$path" || true
}

node_run() {
	local script=$1
	shift
	NODE_PATH=$GRILLD_TOP/tests/node_modules node \
		"$GRILLD_TOP/tests/integration/stream/$script" "$@"
}

metric() {
	curl -s "$STREAM_URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}

# Node and its packages are required: a missing one fails loudly.
need_node_packages() {
	local m
	for m in "$@"; do
		if [ ! -d "$GRILLD_TOP/tests/node_modules/$m" ]; then
			not_ok "npm package $m is installed (run make deps)"
			done_testing
		fi
	done
}
