#!/usr/bin/env bash
# Ingest throughput, end to end: N readings preloaded into the Redis
# stream (redis-cli --pipe of XADD commands, the way the poller writes
# them), then grilld-ingest started and timed until every entry is
# stored in InfluxDB and acknowledged. Beside it, the reference: the
# same points, as prepared line-protocol files of the same batch size,
# POSTed straight to the same influxd with curl, one after the other,
# into a database laid out exactly as grilld's. Both databases are laid
# out by grilld-ingest before their round (retention policies and the
# continuous queries of the roll-up chain), so that the CQs' first run,
# right after their creation, finds no data in either: a query that
# touches the raw shard while it is written makes InfluxDB 1.6 spend
# about 1.5x the CPU on every later write to it (docs/benchmarks.md),
# and a race between that run and the first batches would decide the
# figure.
#
#   bash bench/ingest.sh [N] [DEVICES] [ROUNDS]   (300000, 1000, 3)
#   REPLICAS="2 3"   then the same through that many ingest replicas
#   BENCH_CMDSTATS=1 also Redis's CPU per reading by command (INFO
#                    commandstats over each drain), on stderr
#
# Rounds alternate reference and ingest, each into a fresh database;
# prints RESULT lines (bench/lib.sh): the medians, the spread, the peak
# RSS, and the CPU Redis and the ingester each spent per reading over
# the drain (utime + stime of each process from /proc/PID/stat, before
# and after). Exits 1 when a target is missed (issue 15): >= 50,000
# readings/s, >= 0.9 of the reference, <= 3 us of Redis CPU and <= 3 us
# of ingester CPU per reading, peak RSS < 64 MiB. Real redis-server and
# influxd on free loopback ports in a temporary folder
# (tests/integration/lib.sh).
set -u
N=${1:-300000}
DEVICES=${2:-1000}
ROUNDS=${3:-3}
BATCH=5000
. "$(dirname "$0")/lib.sh"

start_redis
start_influx
ports=($(freeport 3))
export GRILLD_INGEST_ADMIN_LISTEN=127.0.0.1:${ports[0]}
export GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${ports[1]}
export GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:${ports[2]}
export GRILLD_INGEST_BATCH_SIZE=$BATCH GRILLD_INGEST_BATCH_WAIT=200ms
export GRILLD_INGEST_STREAM_MAX=100000000
export GRILLD_INGEST_CQ_INTERVAL=1h

now=$(date +%s)
# One generator for both runs: device d, probe p, a millisecond apart,
# spread over the last hour. $1 = "resp" or "lp".
gen() {
	awk -v n="$N" -v devs="$DEVICES" -v now="$now" -v mode="$1" '
	function resp(a, k,   s, i) {
		s = "*" k "\r\n"
		for (i = 1; i <= k; i++)
			s = s "$" length(a[i]) "\r\n" a[i] "\r\n"
		return s
	}
	BEGIN {
		for (i = 0; i < n; i++) {
			d = i % devs; p = int(i / devs) % 4 + 1
			ms = (now - 3600) * 1000 + int(i * 3000000 / n)
			v = 150 + (i % 97) * 0.5
			if (mode == "resp") {
				a[1] = "XADD"; a[2] = "grilld:readings"; a[3] = "*"
				a[4] = "v"; a[5] = "1"; a[6] = "r"
				a[7] = sprintf("{\"device_id\":\"bench-%d\",\"probe_id\":" \
				    "\"%d\",\"temperature\":%.1f,\"unit\":\"F\"," \
				    "\"timestamp\":%.0f.%03d,\"battery_level\":80," \
				    "\"signal_strength\":-61,\"status\":\"NORMAL\"," \
				    "\"source\":\"thermoworks\"}", d, p, v,
				    int(ms / 1000), ms % 1000)
				printf "%s", resp(a, 7)
			} else
				printf "temperature,device_id=bench-%d,probe_id=%d," \
				    "source=thermoworks,unit=F battery=80i,flags=0i," \
				    "signal=-61i,status=\"NORMAL\",value=%.1f," \
				    "value_c=%.15g %.0f000000\n", d, p, v,
				    (v - 32) * 5 / 9, ms
		}
	}'
}

echo "# generating $N readings for $DEVICES devices x 4 probes"
gen resp >"$T/load.resp"
gen lp | split -l "$BATCH" - "$T/ref-"

# One round: the reference into db refK, then grilld-ingest into benchK
# from a freshly preloaded stream. Rounds alternate so that a machine
# busy with something else weighs on both alike.
# utime + stime; the command (field 2) may hold spaces: count from the end.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0; }
TICK_NS=$(( 1000000000 / $(getconf CLK_TCK) ))
ready() { curl -sf "http://$GRILLD_INGEST_ADMIN_LISTEN/health/ready"; }
layout() {	# layout DB: grilld-ingest creates DB, its policies and CQs
	local pid
	GRILLD_INFLUX_DATABASE=$1 "$BIN/grilld-ingest" -d >>"$T/setup.log" 2>&1 &
	pid=$!
	_pids+=("$pid")
	wait_for "grilld-ingest's layout of $1" 60 ready ||
		{ tail "$T/setup.log" >&2; exit 1; }
	stop_pid "$pid"
}
reference() {	# reference K: prints readings/s
	local db=ref$1 t0 t1 code
	layout "$db"
	t0=$(date +%s%N)
	for f in "$T"/ref-*; do
		code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST \
			"$INFLUX_URL/write?db=$db&rp=raw&precision=ns" --data-binary "@$f")
		[ "$code" = 204 ] || echo "# reference write: HTTP $code" >&2
	done
	t1=$(date +%s%N)
	echo $(( N * 1000000000 / (t1 - t0) ))
}
done_read() {
	local info
	info=$(redis_cli XINFO GROUPS grilld:readings 2>/dev/null | tr '\n' ' ')
	[[ $info =~ pending\ 0\ .*entries-read\ $N\  ]]
}
ingest() {	# ingest K [REPLICAS]: readings/s, peak RSS kB, CPU ns/reading of Redis, ingest
	local t0 t1 pid pids=() rss=0 c0=0 r0 i p
	layout "bench$1"
	redis_cli DEL grilld:readings grilld:events grilld:latest >/dev/null
	redis-cli -p "$REDIS_PORT" --pipe <"$T/load.resp" >/dev/null
	redis_cli CONFIG RESETSTAT >/dev/null
	r0=$(cpu_ticks "$REDIS_PID")
	t0=$(date +%s%N)
	# Replicas as Kubernetes runs them: one consumer group, each its own
	# consumer, admin port and nng sockets.
	for i in $(seq 1 "${2:-1}"); do
		p=($( [ "$i" = 1 ] && echo "${ports[@]}" || freeport 3))
		GRILLD_INFLUX_DATABASE=bench$1 GRILLD_INGEST_ADMIN_LISTEN=127.0.0.1:${p[0]} \
		GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${p[1]} GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:${p[2]} \
			"$BIN/grilld-ingest" -d >>"$T/ingest.log" 2>&1 &
		pids+=($!)
		_pids+=($!)
	done
	wait_for "every entry acknowledged" 600 done_read || { tail "$T/ingest.log" >&2; exit 1; }
	t1=$(date +%s%N)
	for pid in "${pids[@]}"; do
		i=$(awk '/VmHWM/ { print $2 }' /proc/$pid/status)
		[ "$i" -gt "$rss" ] && rss=$i
		c0=$((c0 + $(cpu_ticks "$pid")))
	done
	r0=$(( $(cpu_ticks "$REDIS_PID") - r0 ))
	# Where Redis spent it: microseconds per reading by command.
	[ -n "${BENCH_CMDSTATS:-}" ] && redis_cli INFO commandstats |
		awk -F'[:,=]' -v n="$N" '/^cmdstat_/ { sub(/^cmdstat_/, "", $1)
			printf "# redis %s: %d calls, %.2f us per reading\n", $1, $3, $5 / n }' |
		sort -t, -k1,1 >&2
	for pid in "${pids[@]}"; do stop_pid "$pid"; done
	echo "$(( N * 1000000000 / (t1 - t0) )) $rss $(( r0 * TICK_NS / N )) $(( c0 * TICK_NS / N ))"
}
count() {
	influx_query "$1" 'SELECT count(value) FROM raw.temperature' |
		grep -o '"values":\[\[[^]]*' | awk -F, '{ print $2 }'
}

refs=() rates=() ratios=() rcpus=() icpus=() rss_kb=0
us() { awk -v n="$1" 'BEGIN { printf "%.2f", n / 1000 }'; }
for k in $(seq 1 "$ROUNDS"); do
	r=$(reference "$k")
	read -r g kb rc ic <<<"$(ingest "$k")"
	[ "$kb" -gt "$rss_kb" ] && rss_kb=$kb
	[ "$(count "bench$k")" = "$N" ] || echo "# round $k: ingest stored $(count "bench$k") of $N"
	[ "$(count "ref$k")" = "$N" ] || echo "# round $k: reference stored $(count "ref$k") of $N"
	printf '# round %d: ingest %d/s, reference %d/s, CPU per reading: redis %s us, ingest %s us\n' \
		"$k" "$g" "$r" "$(us "$rc")" "$(us "$ic")"
	refs+=("$r") rates+=("$g") rcpus+=("$(us "$rc")") icpus+=("$(us "$ic")")
	ratios+=("$(awk -v a="$g" -v b="$r" 'BEGIN { printf "%.3f", a / b }')")
done
ref_rate=$(printf '%s\n' "${refs[@]}" | bench_median)
rate=$(printf '%s\n' "${rates[@]}" | bench_median)
ratio=$(printf '%s\n' "${ratios[@]}" | bench_median)
rss_mib=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
redis_us=$(printf '%s\n' "${rcpus[@]}" | bench_median)
ingest_us=$(printf '%s\n' "${icpus[@]}" | bench_median)
bench_result ingest.readings_per_s "$rate" "$ref_rate" readings/s \
	">=50000,>=0.9x" higher "$(printf '%s\n' "${rates[@]}" | bench_spread)" \
	"Redis stream to InfluxDB vs curl of the same batches to influxd, same layout and CQs; reference $(printf '%s\n' "${refs[@]}" | bench_spread)"
bench_result ingest.paired_ratio "$ratio" - ratio ">=0.9" higher \
	"$(printf '%s\n' "${ratios[@]}" | bench_spread)" \
	"median of each round's ingest/reference"
bench_result ingest.redis_cpu_us_per_reading "$redis_us" - "us CPU" "<=3" lower \
	"$(printf '%s\n' "${rcpus[@]}" | bench_spread)" \
	"redis-server's CPU over the drain, per reading"
bench_result ingest.ingest_cpu_us_per_reading "$ingest_us" - "us CPU" "<=3" lower \
	"$(printf '%s\n' "${icpus[@]}" | bench_spread)" \
	"grilld-ingest's CPU over the drain (start-up included), per reading"
bench_result ingest.peak_rss_mib "$rss_mib" - MiB "<64" lower - ""
# When to add an ingest replica: the same load through 2 and 3 replicas
# against the one influxd (REPLICAS="2 3"; one round each, against the
# median of one replica above).
for r in ${REPLICAS-2 3}; do
	read -r g kb rc ic <<<"$(ingest "r$r" "$r")"
	[ "$(count "benchr$r")" = "$N" ] || echo "# $r replicas stored $(count "benchr$r") of $N"
	printf '# %d replicas: %d/s, CPU per reading: redis %s us, ingest (all) %s us\n' \
		"$r" "$g" "$(us "$rc")" "$(us "$ic")"
	bench_result "ingest.replicas_$r.readings_per_s" "$g" "$rate" readings/s - higher - \
		"$r ingest replicas (one consumer group) into one influxd; reference: one replica"
done
printf '# load average now: %s; cores: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
fail=0
awk -v r="$rate" 'BEGIN { exit !(r >= 50000) }' || fail=1
awk -v r="$ratio" 'BEGIN { exit !(r >= 0.9) }' || fail=1
awk -v a="$redis_us" -v b="$ingest_us" 'BEGIN { exit !(a <= 3 && b <= 3) }' || fail=1
[ "$rss_kb" -lt 65536 ] || fail=1
exit $fail
