#!/usr/bin/env bash
# grilld-stream's caps on plain HTTP connections (not yet streams): one
# for the whole process (stream.max_conns, not per event loop), one per
# address (stream.per_address_conns), and every connection below the
# descriptor limit whatever is configured. Connections past a cap are
# closed at once; streams and other addresses go on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/stream.sh"

HOLD=$BUILD/tools/connhold
start_stream_env GRILLD_STREAM_THREADS=2 GRILLD_STREAM_MAX_CONNS=30 \
	GRILLD_STREAM_PER_ADDRESS_CONNS=10 GRILLD_STREAM_REQUEST_TIMEOUT=10s
ADDR=127.0.0.1:$STREAM_PORT
kv() { sed -n "s/^$2=//p" "$T/$1"; }
# hold NAME SECONDS ARGS...: idle connections held, summary in $T/NAME.
hold() {
	local name=$1 secs=$2
	shift 2
	"$HOLD" -a "$ADDR" -t "$secs" "$@" >"$T/$name" 2>"$T/$name.err" &
	_pids+=($!)
	HOLD_PID=$!
}

# A stream opened first is not a plain connection: the caps leave it be.
curl -s -N -m 30 --interface 127.0.0.7 "$STREAM_URL/api/temperature/stream/devC" >"$T/follower" &
FPID=$!
_pids+=("$FPID")
wait_for "the follower" 5 grep -q '^retry:' "$T/follower"

# Per address: 40 idle connections from 127.0.0.1, 10 stay.
hold one 3 -n 40
wait "$HOLD_PID"
check_eq "40 idle connections from one address: 10 stay open (stream.per_address_conns)" 10 "$(kv one open)"

# In all: 4 addresses x 10, with 2 event loops: 30 stay, not 30 a loop.
hpids=()
for a in 2 3 4 5; do
	hold "many$a" 4 -n 10 -b "127.0.0.$a"
	hpids+=("$HOLD_PID")
done
wait "${hpids[@]}"
total=0
for a in 2 3 4 5; do total=$((total + $(kv "many$a" open))); done
check_eq "40 idle connections from 4 addresses, 2 event loops: 30 stay (stream.max_conns, process-wide)" 30 "$total"
check_eq "after them, a plain request is answered" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$STREAM_URL/health/live")"
ev "r devC p1 42"
ev_sync
wait_for "the follower to get an event" 5 grep -q '"temperature":42' "$T/follower"
check "the stream opened before them got its event" grep -q '"temperature":42' "$T/follower"
stop_pid "$PID_stream"

# Below the descriptor limit, whatever stream.max_conns says: with 128
# descriptors, the stream keeps 64 for itself.
P2=($(freeport 2))
(
	ulimit -n 128
	export GRILLD_STREAM_LISTEN=127.0.0.1:${P2[0]} GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:${P2[1]} \
		GRILLD_STREAM_MAX_CONNS=100000 GRILLD_STREAM_PER_ADDRESS_CONNS=100000
	exec "$BIN/grilld-stream" -d >>"$T/stream2.log" 2>&1
) &
PID_stream=$!
_pids+=("$PID_stream")
ADDR=127.0.0.1:${P2[0]} STREAM_URL=http://127.0.0.1:${P2[0]}
wait_for "a second stream with 128 descriptors" 15 curl -sf "$STREAM_URL/health/live" || bail "it starts"
check_match "it says how many connections it takes" "at most 64 connections" "$(cat "$T/stream2.log")"
hold fd 3 -n 200
wait "$HOLD_PID"
check "200 idle connections against 128 descriptors: at most 64 stay" test "$(kv fd open)" -le 64
check "the stream lives" kill -0 "$PID_stream"
check_eq "and answers once they are gone" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$STREAM_URL/health/ready")"
done_testing
