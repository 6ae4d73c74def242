#!/usr/bin/env bash
# When to add a stream replica: what one grilld-stream fans out to
# CLIENTS SSE clients while its events come from INGESTERS ingest
# replicas through the Redis `events` stream (stream.feed redis, the
# default, the only feed that gives every replica every event), beside
# the same replica fed over nng by one publisher (stream.feed nng, a hop
# shorter: the reference) in the same invocation.
#
#   INGESTERS ingester stand-ins (tests/tools/evpub: XADD to `events`,
#   HSET `latest`, publish on nng, as the ingester does), RATE events/s in
#   all, over DEVICES devices; CLIENTS clients (tests/tools/streamload),
#   client i following device i % DEVICES, for DURATION seconds. Runs
#   alternate (redis, nng) RUNS times; medians are reported.
#
#   bash bench/feed.sh                   (make bench runs it)
#   CLIENTS=2000 RATE=1000 INGESTERS=3 RUNS=3 bash bench/feed.sh
set -u
. "$(dirname "$0")/lib.sh"
CLIENTS=${CLIENTS:-$(bench_pick 500 2000)}
RATE=${RATE:-1000}
INGESTERS=${INGESTERS:-3}
DEVICES=${DEVICES:-100}
SECONDS_=${DURATION:-$(bench_pick 5 10)}
RUNS=${RUNS:-$(bench_pick 1 3)}
bench_need_daemon stream
LOAD=$BUILD/tools/streamload
EVPUB=$BUILD/tools/evpub
[ -x "$LOAD" ] && [ -x "$EVPUB" ] || bench_skip "tests/tools not built (make)"
ulimit -n "$(ulimit -Hn)" 2>/dev/null

start_redis
p=($(freeport $((INGESTERS + 2))))
SPORT=${p[0]}
export GRILLD_STREAM_LISTEN=127.0.0.1:$SPORT GRILLD_LOG_LEVEL=warn \
	GRILLD_STREAM_MAX_CLIENTS=100000 GRILLD_STREAM_PER_ADDRESS=100000 \
	GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:${p[1]} \
	GRILLD_STREAM_PAGE_DIR=$GRILLD_TOP/stream/www \
	GRILLD_STREAM_THREADS=${THREADS:-$(nproc)}

val() { awk -F= -v k="$1" '$1 == k { print $2 }' "$2"; }

# run FEED OUT: one measurement into OUT (key=value).
run() {
	local feed=$1 out=$2 go=$T/go.$RANDOM n i rate epids=() cpu0 cpu1 rcpu0 rcpu1
	n=$([ "$feed" = redis ] && echo "$INGESTERS" || echo 1)
	rate=$(awk -v r="$RATE" -v n="$n" 'BEGIN { printf "%.3f", r / n }')
	for i in $(seq 0 $((n - 1))); do
		"$EVPUB" -u "tcp://127.0.0.1:${p[$((i + 2))]}" -r "$REDIS_URL" \
			-R "$rate" -S "$SECONDS_" -D "$DEVICES" -P 4 -W 0 -F "$go" \
			$([ "$feed" = nng ] && echo "-w $GRILLD_STREAM_THREADS") \
			>/dev/null 2>>"$T/evpub.err" &
		epids+=($!)
	done
	GRILLD_STREAM_FEED=$feed GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${p[2]} \
		start_daemon stream "http://127.0.0.1:$SPORT/health/ready" || exit 1
	"$LOAD" -a "127.0.0.1:$SPORT" -n "$CLIENTS" -d "$DEVICES" \
		-p "/api/temperature/stream/dev%d" -r 3000 -t $((SECONDS_ + 3)) -q \
		>"$out" 2>&1 &
	local lpid=$!
	for _ in $(seq 1 300); do
		[ "$(ss -Htn state established "( sport = :$SPORT )" | wc -l)" -ge "$CLIENTS" ] && break
		sleep 0.1
	done
	sleep 1
	cpu0=$(bench_cpu_ticks "$PID_stream")
	rcpu0=$(bench_cpu_ticks "$REDIS_PID")
	touch "$go"
	wait "${epids[@]}"
	cpu1=$(bench_cpu_ticks "$PID_stream")
	rcpu1=$(bench_cpu_ticks "$REDIS_PID")
	wait "$lpid"
	stop_pid "$PID_stream"
	{
		echo "cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", (b - a) / 100 }')"
		echo "redis_cpu_s=$(awk -v a="$rcpu0" -v b="$rcpu1" 'BEGIN { printf "%.2f", (b - a) / 100 }')"
		echo "delivered_per_s=$(awk -v e="$(val events "$out")" -v s="$SECONDS_" 'BEGIN { printf "%.0f", e / s }')"
	} >>"$out"
	redis_cli DEL grilld:events grilld:latest >/dev/null
	sleep 1
}

echo "one stream replica: $CLIENTS SSE clients over $DEVICES devices, $RATE events/s in from $INGESTERS ingesters (redis feed) or 1 (nng), ${SECONDS_}s, $RUNS runs, $(nproc) cores"
for r in $(seq 1 "$RUNS"); do
	run redis "$T/res.redis.$r"
	run nng "$T/res.nng.$r"
done
fig() { for f in "$T"/res."$1".*; do val "$2" "$f"; done | bench_median; }
spread() { for f in "$T"/res."$1".*; do val "$2" "$f"; done | bench_spread; }
printf '\n%-6s %13s %8s %8s %8s %8s %10s\n' feed delivered/s "p50 ms" "p99 ms" "max ms" "CPU s" "Redis CPU"
for feed in redis nng; do
	printf '%-6s %13s %8s %8s %8s %8s %10s\n' "$feed" "$(fig $feed delivered_per_s)" \
		"$(fig $feed p50_ms)" "$(fig $feed p99_ms)" "$(fig $feed max_ms)" \
		"$(fig $feed cpu_s)" "$(fig $feed redis_cpu_s)"
done
note="one replica, $CLIENTS SSE clients, $RATE events/s from $INGESTERS ingesters through Redis; reference: stream.feed nng from one publisher"
bench_result feed.delivered_per_s "$(fig redis delivered_per_s)" "$(fig nng delivered_per_s)" \
	events/s ">=0.95x" higher "$(spread redis delivered_per_s)" "$note"
bench_result feed.p99_ms "$(fig redis p99_ms)" "$(fig nng p99_ms)" ms "<100" lower \
	"$(spread redis p99_ms)" "$note"
bench_result feed.stream_cpu_s "$(fig redis cpu_s)" "$(fig nng cpu_s)" CPU-s "-" lower \
	"$(spread redis cpu_s)" "stream CPU over the run; $note"
bench_result feed.redis_cpu_s "$(fig redis redis_cpu_s)" "$(fig nng redis_cpu_s)" CPU-s "-" lower \
	"$(spread redis redis_cpu_s)" "Redis CPU: the ingesters' XADDs, plus the replica's XREAD with the redis feed"
