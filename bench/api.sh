#!/usr/bin/env bash
# grilld-api under wrk, beside its references, on this machine:
#
#   current   GET /api/temperature/current/{id}?probe_id=  (the `latest`
#             cache), against a trivial civetweb handler answering the
#             same body from memory (bench/trivial_civetweb.c, the same
#             worker count, keep-alive and TCP_NODELAY): the ceiling.
#   history   a 24-hour raw history (2,880 points), against the very
#             InfluxQL query grilld-api sends, asked of influxd directly;
#             and, less sensitive to other load on the machine, the CPU
#             grilld-api spends per unit of CPU influxd spends on the
#             same requests.
#
# current is measured twice: as configured by default (api.latest_cache:
# entries Redis keeps current by invalidation, so no round trip while
# nothing is written) and with api.latest_cache false (one HGET each).
#
# Runs alternate (grilld, reference, grilld, ...) RUNS times and the
# medians are reported, so that load from elsewhere on the machine
# weighs on both alike. Real redis-server and influxd on free loopback
# ports in a temporary folder (tests/integration/lib.sh).
#
#   bash bench/api.sh [RUNS] [SECONDS]        (defaults 5 and 5)
#   CONNS=16 THREADS=2 HCONNS=1 bash bench/api.sh
#
# Prints one line per figure (name, grilld, reference, ratio, target)
# and exits 1 when a target is missed: current >= 15,000 requests/s,
# p99 < 10 ms, >= 0.5 of the trivial handler; history adds < 30 % to
# InfluxDB's own time (median latency, one request at a time). The
# first line says the machine's load: on a busy machine the latencies
# of two processes sharing the cores weigh more than the CPU figures.
set -u
RUNS=${1:-5}
SECS=${2:-5}
CONNS=${CONNS:-16}
THREADS=${THREADS:-2}
HCONNS=${HCONNS:-1}
WORKERS=${WORKERS:-16}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../tests/integration/lib/api.bash"

command -v wrk >/dev/null || { echo "bench/api.sh: wrk is missing (make deps)"; exit 1; }
cc -O2 -o "$T/trivial" "$GRILLD_TOP/bench/trivial_civetweb.c" -lcivetweb ||
	{ echo "bench/api.sh: cannot build the trivial handler"; exit 1; }

start_redis
start_influx
influx_setup
for p in 1 2 3 4; do points BENCH "$p" F 2880 30 180 60; done >"$T/day.lp"
influx_write raw "$T/day.lp" || exit 1
for p in 1 2 3 4; do latest BENCH "$p" $((200 + p)) F 5; done
api_start GRILLD_API_RATE=0 GRILLD_API_THREADS="$WORKERS" GRILLD_LOG_LEVEL=warn \
	GRILLD_API_LATEST_CACHE=false || exit 1
NOCACHE=$API
api_start GRILLD_API_RATE=0 GRILLD_API_THREADS="$WORKERS" GRILLD_LOG_LEVEL=warn || exit 1

# wrk reports through this script: requests, errors and percentiles.
cat >"$T/report.lua" <<'LUA'
done = function(summary, latency, requests)
	local errors = summary.errors.connect + summary.errors.read +
	    summary.errors.write + summary.errors.status + summary.errors.timeout
	io.write(string.format("RESULT %.1f %d %d %d %d %d\n",
	    summary.requests / (summary.duration / 1e6), errors,
	    latency:percentile(50), latency:percentile(90),
	    latency:percentile(99), latency.mean))
end
LUA
# run URL CONNS: "rps errors p50 p90 p99 mean" (latencies in us).
run() {
	local t=$(( $2 < THREADS ? $2 : THREADS ))

	wrk -t"$t" -c"$2" -d"${SECS}s" -s "$T/report.lua" "$1" 2>&1 |
		awk '/^RESULT/ { print $2, $3, $4, $5, $6, $7 }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# CPU seconds a process has used (user + system).
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

CUR="$API/api/temperature/current/BENCH?probe_id=1"
CUR0="$NOCACHE/api/temperature/current/BENCH?probe_id=1"
wait_for "the latest cache" 10 bash -c "curl -sS '$CUR' >/dev/null; curl -sS '$API/metrics' | grep -q 'latest_cache_total{result=\"hit\"}'"
curl -sS "$CUR" >"$T/body.json"
tport=$(freeport)
"$T/trivial" "127.0.0.1:$tport" "$WORKERS" "$T/body.json" &
_pids+=($!)
wait_for trivial 10 curl -sf "http://127.0.0.1:$tport/" || exit 1
TRIV="http://127.0.0.1:$tport/api/temperature/current/BENCH?probe_id=1"

start=$(date -u -d "@$((NOW_S - 86400))" +%Y-%m-%dT%H:%M:%SZ)
end=$(date -u -d "@$NOW_S" +%Y-%m-%dT%H:%M:%SZ)
HIST="$API/api/temperature/history/BENCH?probe_id=1&start_time=$start&end_time=$end&limit=5000"
q="SELECT \"value\", \"unit\", \"probe_id\", \"battery\", \"signal\", \"status\", \"flags\" FROM \"raw\".\"temperature\" WHERE \"device_id\" = 'BENCH' AND \"probe_id\" = '1' AND time >= $(( (NOW_S - 86400) * 1000000000 )) AND time < $(( NOW_S * 1000000000 )) LIMIT 5001 OFFSET 0"
INFLUXQ="$INFLUX_URL/query?db=grilld&epoch=u&q=$(jq -rn --arg q "$q" '$q|@uri')"
npoints=$(curl -sS "$HIST" | jq .count)
nref=$(curl -sS "$INFLUXQ" | jq '.results[0].series[0].values | length')
[ "$npoints" = 2880 ] && [ "$nref" = 2880 ] ||
	{ echo "bench/api.sh: history answers $npoints points, InfluxDB $nref"; exit 1; }

for u in "$CUR" "$CUR0" "$TRIV" "$HIST" "$INFLUXQ"; do wrk -t1 -c1 -d1s "$u" >/dev/null; done
for i in $(seq 1 "$RUNS"); do
	echo "# run $i/$RUNS" >&2
	run "$CUR" "$CONNS" >>"$T/cur"
	run "$TRIV" "$CONNS" >>"$T/triv"
	run "$CUR0" "$CONNS" >>"$T/cur0"
	a0=$(cpu "$API_PID") i0=$(cpu "$INFLUX_PID")
	run "$HIST" "$HCONNS" >>"$T/hist"
	a1=$(cpu "$API_PID") i1=$(cpu "$INFLUX_PID")
	# CPU grilld-api spent per unit of CPU influxd spent on its queries.
	awk -v a=$a0 -v b=$a1 -v c=$i0 -v d=$i1 'BEGIN { printf "%.3f\n", (b - a) / (d - c) }' >>"$T/cpu"
	run "$INFLUXQ" "$HCONNS" >>"$T/ref"
done

col() { awk -v c="$1" '{ print $c }' "$2" | median; }
cur_rps=$(col 1 "$T/cur") cur_p99=$(col 5 "$T/cur") cur_p50=$(col 3 "$T/cur")
cur_err=$(awk '{ s += $2 } END { print s }' "$T/cur")
triv_rps=$(col 1 "$T/triv") triv_p99=$(col 5 "$T/triv") triv_p50=$(col 3 "$T/triv")
cur0_rps=$(col 1 "$T/cur0") cur0_p99=$(col 5 "$T/cur0") cur0_p50=$(col 3 "$T/cur0")
ratio0=$(awk -v a="$cur0_rps" -v b="$triv_rps" 'BEGIN { printf "%.2f", a / b }')
hist_p50=$(col 3 "$T/hist") hist_p99=$(col 5 "$T/hist") hist_rps=$(col 1 "$T/hist")
ref_p50=$(col 3 "$T/ref") ref_p99=$(col 5 "$T/ref") ref_rps=$(col 1 "$T/ref")
ratio=$(awk -v a="$cur_rps" -v b="$triv_rps" 'BEGIN { printf "%.2f", a / b }')
added=$(awk -v a="$hist_p50" -v b="$ref_p50" 'BEGIN { printf "%.1f", (a / b - 1) * 100 }')
cpu_added=$(median <"$T/cpu" | awk '{ printf "%.1f", $1 * 100 }')
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }

echo "# $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg); wrk -t$THREADS, $SECS s x $RUNS runs, medians"
printf '%-28s %12s %12s %8s  %s\n' figure grilld reference ratio target
printf '%-28s %12.0f %12.0f %8s  %s\n' "current requests/s (c=$CONNS)" "$cur_rps" "$triv_rps" "$ratio" ">= 15000, >= 0.5"
printf '%-28s %12s %12s %8s  %s\n' "current p50 ms" "$(ms "$cur_p50")" "$(ms "$triv_p50")" "" ""
printf '%-28s %12s %12s %8s  %s\n' "current p99 ms" "$(ms "$cur_p99")" "$(ms "$triv_p99")" "" "< 10"
printf '%-28s %12.0f %12.0f %8s  %s\n' "  cache off: requests/s" "$cur0_rps" "$triv_rps" "$ratio0" "(a Redis HGET each)"
printf '%-28s %12s %12s %8s  %s\n' "  cache off: p50 / p99 ms" "$(ms "$cur0_p50") / $(ms "$cur0_p99")" "" "" ""
printf '%-28s %12s %12s %8s  %s\n' "history 24h p50 ms (c=$HCONNS)" "$(ms "$hist_p50")" "$(ms "$ref_p50")" "+$added%" "< +30%"
printf '%-28s %12s %12s %8s  %s\n' "history 24h p99 ms" "$(ms "$hist_p99")" "$(ms "$ref_p99")" "" ""
printf '%-28s %12s %12s %8s  %s\n' "history CPU: api / influxd" "" "" "+$cpu_added%" "(same requests)"
printf '%-28s %12.0f %12.0f %8s  %s\n' "history 24h requests/s" "$hist_rps" "$ref_rps" "" ""

# RESULT lines (bench/lib.sh): medians over the runs and their spread.
spread() {	# spread COLUMN FILE [DIVISOR]
	awk -v c="$1" -v d="${3:-1}" '{ printf "%.2f\n", $c / d }' "$2" | bench_spread
}
paired=$(paste -d' ' "$T/hist" "$T/ref" | awk '{ printf "%.3f\n", $3 / $9 }')
bench_result api.current_requests_per_s "$cur_rps" "$triv_rps" requests/s \
	">=15000,>=0.5x" higher "$(spread 1 "$T/cur")" "wrk -c$CONNS vs a trivial civetweb handler; reference $(spread 1 "$T/triv")"
bench_result api.current_p50_ms "$(ms "$cur_p50")" "$(ms "$triv_p50")" ms - lower \
	"$(spread 3 "$T/cur" 1000)" "vs the trivial handler"
bench_result api.current_p99_ms "$(ms "$cur_p99")" "$(ms "$triv_p99")" ms "<10" lower \
	"$(spread 5 "$T/cur" 1000)" "vs the trivial handler"
bench_result api.current_nocache_requests_per_s "$cur0_rps" "$triv_rps" requests/s - higher \
	"$(spread 1 "$T/cur0")" "api.latest_cache false: a Redis HGET each"
bench_result api.history_p50_ms "$(ms "$hist_p50")" "$(ms "$ref_p50")" ms "<1.3x" lower \
	"$(spread 3 "$T/hist" 1000)" "24 h, 2,880 points, c=$HCONNS, vs the same InfluxQL sent to influxd; reference $(spread 3 "$T/ref" 1000)"
bench_result api.history_paired_ratio "$(printf '%s\n' "$paired" | bench_median)" - ratio "<1.3" lower \
	"$(printf '%s\n' "$paired" | bench_spread)" "median of each run's history p50 / influxd p50 (adjacent runs)"
bench_result api.history_p99_ms "$(ms "$hist_p99")" "$(ms "$ref_p99")" ms - lower \
	"$(spread 5 "$T/hist" 1000)" "vs influxd directly"
bench_result api.history_requests_per_s "$hist_rps" "$ref_rps" requests/s - higher \
	"$(spread 1 "$T/hist")" "vs influxd directly"
bench_result api.history_cpu_vs_influxd "$(median <"$T/cpu")" - ratio - lower \
	"$(bench_spread <"$T/cpu")" "CPU grilld-api spent per CPU second influxd spent on the same history requests"

fail=0
awk -v r="$cur_rps" 'BEGIN { exit !(r >= 15000) }' || fail=1
awk -v p="$cur_p99" 'BEGIN { exit !(p < 10000) }' || fail=1
awk -v r="$ratio" 'BEGIN { exit !(r >= 0.5) }' || fail=1
awk -v a="$added" 'BEGIN { exit !(a < 30) }' || fail=1
[ "$cur_err" = 0 ] || { echo "# current: $cur_err errors or non-2xx answers"; fail=1; }
exit $fail
