#!/usr/bin/env bash
# test-lane: alone
# Several ingest replicas and several stream replicas, as Kubernetes runs
# them: two ingester stand-ins (evpub, each with its own nng socket, both
# appending to the one `events` stream) and two grilld-stream replicas
# reading their live events from Redis (stream.feed redis, the default).
# Every replica's clients receive every event of both ingesters, in the
# order of their ids; a client that drops off one replica and resumes on
# the other with Last-Event-ID gets neither a gap nor a duplicate. A
# replica fed over nng (stream.feed nng) dialled to one ingester, as a
# ClusterIP Service would connect it, sees only that ingester's events:
# the reason the feed reads Redis.
. "$(dirname "$0")/lib.sh"

start_redis
p=($(freeport 8))
N1=tcp://127.0.0.1:${p[0]} N2=tcp://127.0.0.1:${p[1]}
export GRILLD_STREAM_THREADS=2 GRILLD_STREAM_PAGE_DIR=$GRILLD_TOP/stream/www

# evpub_start N URL: an ingester stand-in reading commands on fd 6+N.
evpub_start() {
	mkfifo "$T/ev$1.fifo"
	"$BUILD/tools/evpub" -u "$2" -r "$REDIS_URL" -o "$T/ev$1.ids" -W 0 \
		<"$T/ev$1.fifo" 2>>"$T/evpub$1.log" &
	_pids+=("$!")
	eval "exec $((6 + $1))>\"\$T/ev\$1.fifo\""
}
evpub_start 1 "$N1"
evpub_start 2 "$N2"
ev1() { echo "$*" >&7; }
ev2() { echo "$*" >&8; }

# stream_start NAME PORT NNG_STATUS_PORT [VAR=value ...]
stream_start() {
	local name=$1 port=$2 sport=$3
	shift 3
	(
		export GRILLD_STREAM_LISTEN=127.0.0.1:$port
		export GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:$sport
		export GRILLD_NNG_EVENTS_URL=$N1
		for kv in "$@"; do export "${kv?}"; done
		exec "$BIN/grilld-stream" -d >>"$T/$name.log" 2>&1
	) &
	_pids+=("$!")
	wait_for "$name" 15 curl -sf "http://127.0.0.1:$port/health/ready" ||
		bail "$name starts"
}
A=http://127.0.0.1:${p[2]} B=http://127.0.0.1:${p[3]} C=http://127.0.0.1:${p[4]}
stream_start stream-a "${p[2]}" "${p[5]}"
stream_start stream-b "${p[3]}" "${p[6]}"
stream_start stream-c "${p[4]}" "${p[7]}" GRILLD_STREAM_FEED=nng
check_match "a replica says where its events come from" '"feed":"redis"' \
	"$(curl -s "$A/health/ready")"

# sse_collect URL SECONDS OUT [CURL ARGS]: the ids of the events received.
sse_collect() {
	local url=$1 secs=$2 out=$3
	shift 3
	curl -s -N -m "$secs" "$@" "$url" >"$out.raw" || true
	sed -n 's/^id: //p' "$out.raw" >"$out"
}
# Until a first event makes it through every replica's feed.
sees() { curl -s -N -m 1 "$1/api/temperature/stream/warm" | grep -q '^id: '; }
warm_a() { (sleep 0.3; ev1 "r warm p1 1") & sees "$A"; }
warm_b() { (sleep 0.3; ev2 "r warm p1 2") & sees "$B"; }
wait_for "stream-a's feed" 20 warm_a
wait_for "stream-b's feed" 20 warm_b
sleep 1		# stream-c's nng socket connects to ingester 1

# Both ingesters at once: 60 readings each (6 s), devA from one, devB from
# the other, while a client of each replica listens.
sse_collect "$A/api/temperature/stream?devices=devA,devB" 14 "$T/a" &
ca=$!
sse_collect "$B/api/temperature/stream?devices=devA,devB" 14 "$T/b" &
cb=$!
sse_collect "$C/api/temperature/stream?devices=devA,devB" 14 "$T/c" &
cc=$!
# One client of stream-a drops off half-way, to resume on stream-b.
sse_collect "$A/api/temperature/stream?devices=devA,devB" 3 "$T/r1" &
cr=$!
sleep 1
ev1 "steady 60 10 devA p1"
ev2 "steady 60 10 devB p1"
ev1 sync
ev2 sync
wait "$cr"
last=$(tail -1 "$T/r1")
sse_collect "$B/api/temperature/stream?devices=devA,devB" 8 "$T/r2" -H "Last-Event-ID: $last" &
cr2=$!
wait "$ca" "$cb" "$cc" "$cr2"

awk '$2 == "reading" && ($3 == "devA" || $3 == "devB") { print $1 }' \
	"$T/ev1.ids" "$T/ev2.ids" | sort >"$T/all"
check_eq "the two ingesters made 120 events" 120 "$(wc -l <"$T/all")"
for r in a b; do
	check_eq "replica $r: every event of both ingesters" "" \
		"$(sort "$T/$r" | comm -3 - "$T/all" | head -3)"
	check_eq "replica $r: in the order of their ids, once each" \
		"$(sort -t- -k1,1n -k2,2n "$T/$r" | uniq)" "$(cat "$T/$r")"
done
check_match "the client moved half-way (before and after the move)" \
	"^[1-9][0-9]* [1-9][0-9]*$" "$(wc -l <"$T/r1") $(wc -l <"$T/r2")"
cat "$T/r1" "$T/r2" >"$T/r"
check_eq "resumed on the other replica: no gap" "" \
	"$(sort "$T/r" | comm -13 - "$T/all" | head -3)"
check_eq "and no duplicate" "$(wc -l <"$T/all")" "$(wc -l <"$T/r")"
c_a=$(awk '$3 == "devA" {print $1}' "$T/ev1.ids" | sort | comm -12 - <(sort "$T/c") | wc -l)
c_b=$(awk '$3 == "devB" {print $1}' "$T/ev2.ids" | sort | comm -12 - <(sort "$T/c") | wc -l)
check_eq "an nng-fed replica sees only the ingester it dialled" "60 0" "$c_a $c_b"

# Redis goes away and comes back: the feed goes on from where it was.
redis_cli SHUTDOWN NOSAVE >/dev/null 2>&1
wait "$REDIS_PID" 2>/dev/null
notready() { ! curl -sf "$A/health/ready" >/dev/null; }
wait_for "stream-a to see Redis gone" 10 notready
check "without Redis the feed is not ready" notready
stack_redis_run 10 || bail "redis-server restarts"
wait_for "stream-a ready again" 20 curl -sf "$A/health/ready"
check "ready again when Redis is back" curl -sf "$A/health/ready"
# (evpub's first command after the restart fails on its dead connection,
# as any client's would: so the event is sent until one arrives.)
live_z() { (sleep 0.3; ev1 "r devZ p1 7") & curl -s -N -m 1 "$A/api/temperature/stream/devZ" | grep -q '^id: '; }
wait_for "live events after the outage" 20 live_z
check "and live events flow again" live_z
done_testing
