#!/usr/bin/env bash
# Poller cost at scale: grilld-twsim with DEVICES generated devices (4
# channels each: 10,000 devices are 40,000 channels, plus the demo
# account's own), one grilld-poller at INTERVAL, a real Redis. After
# discovery and one warm-up cycle, CYCLES poll cycles are measured from
# /proc: the poller's CPU time per 1,000 requests, its CPU share of one
# core over the interval, and its peak RSS (VmHWM); the simulator counts
# the requests. Beside it, the floor: plain curl fetching the same
# documents once (one cycle's worth) with the same concurrency over
# reused connections, timed by /usr/bin/time.
#
#   bash bench/poller.sh [DEVICES] [INTERVAL] [CYCLES]
#                        (defaults 10000, 60s, 2)
#
# curl runs CYCLES times too. Prints one line per figure (name, value,
# unit) over all the cycles and the ratio to curl, then RESULT lines
# (bench/lib.sh): the median cycle and the spread of the cycles;
# exits 1 when a target is missed: under a quarter of one core, under
# 64 MiB, no overrun.
set -u
DEVICES=${1:-10000}
INTERVAL=${2:-60s}
CYCLES=${3:-2}
CONCURRENCY=64
. "$(dirname "$0")/lib.sh"

start_redis
p=($(freeport 4))
TW=127.0.0.1:${p[0]}
export GRILLD_TWSIM_LISTEN=$TW GRILLD_TWSIM_ADMIN_LISTEN=127.0.0.1:${p[1]}
export GRILLD_TWSIM_DEVICES=$DEVICES
start_daemon twsim "http://127.0.0.1:${p[1]}/health/ready" || bail "twsim starts"
FS="http://$TW/v1/projects/thermoworks-cloud-production/databases/(default)"
export GRILLD_THERMOWORKS_AUTH_URL=http://$TW GRILLD_THERMOWORKS_TOKEN_URL=http://$TW
export GRILLD_THERMOWORKS_FIRESTORE_URL=$FS GRILLD_THERMOWORKS_STORAGE_URL=http://$TW
export GRILLD_THERMOWORKS_API_KEY=twsim-demo-key
export GRILLD_THERMOWORKS_EMAIL=demo@grilld.example GRILLD_THERMOWORKS_PASSWORD=demo
export GRILLD_POLLER_ADMIN_LISTEN=127.0.0.1:${p[2]} GRILLD_NNG_POLLER_URL=tcp://127.0.0.1:${p[3]}
export GRILLD_POLLER_INTERVAL=$INTERVAL GRILLD_POLLER_CONCURRENCY=$CONCURRENCY
export GRILLD_POLLER_SPOOL_PATH=$T/poller.spool
start_daemon poller "http://127.0.0.1:${p[2]}/health/ready" || bail "poller starts"
PID=$PID_poller

metric() {
	curl -sf "http://127.0.0.1:${p[2]}/metrics" |
		awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'
}
requests() { curl -sf "http://127.0.0.1:${p[1]}/admin/stats" | jq .requests_total; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
cycles_at_least() { [ "$(metric grilld_poller_cycles_total)" -ge "$1" ]; }
discovered() { [ "$(metric grilld_poller_channels)" -ge $((4 * DEVICES)) ]; }
secs=$(( ${INTERVAL%s} ))

echo "# discovering $DEVICES devices"
wait_for "discovery" 600 discovered || bail "discovery of $DEVICES devices"
c=$(metric grilld_poller_cycles_total)
echo "# warm-up cycle (first sight: the session archives of every device)"
wait_for "warm-up" $((4 * secs + 120)) cycles_at_least $((c + 1)) || bail "warm-up"
c=$(metric grilld_poller_cycles_total)
wait_for "a cycle start" $((2 * secs)) cycles_at_least $((c + 1))
c0=$(metric grilld_poller_cycles_total); t0=$(date +%s%3N)
n0=$(requests); k0=$(cpu_ticks); o0=$(metric grilld_poller_overruns_total)
echo "# measuring $CYCLES cycles"
# Each cycle on its own too (requests and CPU ticks at each cycle's
# start), for the median and the spread.
: >"$T/cycles"
cn=$n0 ck=$k0
for i in $(seq 1 "$CYCLES"); do
	wait_for "cycle $i" $((secs * 2 + 60)) cycles_at_least $((c0 + i)) || break
	n=$(requests) k=$(cpu_ticks)
	echo "$((n - cn)) $((k - ck))" >>"$T/cycles"
	cn=$n ck=$k
done
c1=$(metric grilld_poller_cycles_total); t1=$(date +%s%3N)
n1=$(requests); k1=$(cpu_ticks); o1=$(metric grilld_poller_overruns_total)
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$PID/status")
hz=$(getconf CLK_TCK)
last=$(curl -sf "http://127.0.0.1:${p[2]}/metrics" |
	awk '$1 == "grilld_poller_cycle_seconds_sum" { s = $2 }
	     $1 == "grilld_poller_cycle_seconds_count" { n = $2 }
	     END { if (n) printf "%.1f", s / n }')

# The floor: curl fetching the same documents, once, as the poller does.
token=$(curl -sf -X POST "http://$TW/v1/accounts:signInWithPassword?key=twsim-demo-key" \
	-d '{"email":"demo@grilld.example","password":"demo","returnSecureToken":true}' |
	jq -r .idToken)
{
	printf 'header = "Authorization: Bearer %s"\n' "$token"
	redis_cli --raw HVALS grilld:devices | jq -r --arg fs "$FS" '
	    "\($fs)/documents/devices/\(.device_id)" as $d |
	    ($d, ($d + "/channels/" + .probes[].probe_id)) |
	    "url = \"\(.)?key=twsim-demo-key\"\noutput = \"/dev/null\""'
} >"$T/curl.cfg"
urls=$(grep -c '^url' "$T/curl.cfg")
: >"$T/curl.runs"
for i in $(seq 1 "$CYCLES"); do
	/usr/bin/time -f "%e %U %S %M" -o "$T/curl.time" curl -sS --no-progress-meter --parallel \
		--parallel-max "$CONCURRENCY" -K "$T/curl.cfg" || bail "curl reference"
	cat "$T/curl.time" >>"$T/curl.runs"
done
# The median run by CPU time.
read -r c_wall c_user c_sys c_rss <<<"$(awk '{ print $2 + $3, $0 }' "$T/curl.runs" |
	sort -g | awk -v n="$CYCLES" 'NR == int((n + 1) / 2) { print $2, $3, $4, $5 }')"
per1k_runs=$(awk -v hz="$(getconf CLK_TCK)" '$1 > 0 { printf "%.1f\n", $2 / hz * 1e6 / $1 }' "$T/cycles")
curl_runs=$(awk -v u="$urls" '{ printf "%.1f\n", ($2 + $3) * 1e6 / u }' "$T/curl.runs")

awk -v reqs=$((n1 - n0)) -v ticks=$((k1 - k0)) -v hz="$hz" \
    -v wall=$((t1 - t0)) -v cycles=$((c1 - c0)) -v over=$((o1 - o0)) \
    -v hwm="$hwm" -v last="$last" -v urls="$urls" -v cu="$c_user" \
    -v cs="$c_sys" -v crss="$c_rss" -v cwall="$c_wall" -v devs="$DEVICES" '
BEGIN {
	cpu = ticks / hz
	per1k = cpu * 1000 / reqs * 1000			# ms per 1,000
	share = cpu / (wall / 1000)
	ccpu = cu + cs
	cper1k = ccpu * 1000 / urls * 1000
	printf "poller_devices                %d\n", devs
	printf "poller_requests_per_cycle     %d\n", reqs / cycles
	printf "poller_cycle_seconds_mean     %s s\n", last
	printf "poller_cpu_per_1000_requests  %.1f ms\n", per1k
	printf "curl_cpu_per_1000_requests    %.1f ms   (%d requests in %.1f s)\n", \
	    cper1k, urls, cwall
	printf "ratio_poller_to_curl          %.2f\n", per1k / cper1k
	printf "poller_cpu_share              %.3f cores   (target < 0.25)\n", share
	printf "poller_peak_rss               %.1f MiB   (target < 64; curl %.1f MiB)\n", \
	    hwm / 1024, crss / 1024
	printf "poller_overruns               %d   (target 0)\n", over
	exit !(share < 0.25 && hwm < 64 * 1024 && over == 0)
}'
rc=$?

# RESULT lines (bench/lib.sh): the median cycle and the spread of all.
g=$(printf '%s\n' "$per1k_runs" | bench_median)
r=$(printf '%s\n' "$curl_runs" | bench_median)
bench_result poller.cpu_ms_per_1000_requests "$g" "$r" "ms CPU" - lower \
	"$(printf '%s\n' "$per1k_runs" | bench_spread)" \
	"per poll cycle, vs plain curl fetching the same documents ($(printf '%s\n' "$curl_runs" | bench_spread)); $DEVICES devices"
awk -v hz="$hz" -v s="$secs" '{ printf "%.3f\n", $2 / hz / s }' "$T/cycles" >"$T/shares"
bench_result poller.cpu_cores "$(bench_median <"$T/shares")" - cores "<0.25" lower \
	"$(bench_spread <"$T/shares")" "per poll cycle of $secs s; $DEVICES devices"
bench_result poller.peak_rss_mib "$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')" \
	"$(awk -v k="$c_rss" 'BEGIN { printf "%.1f", k / 1024 }')" MiB "<64" lower - "curl's peak RSS beside"
bench_result poller.overruns $((o1 - o0)) - cycles "<1" lower - "over $((c1 - c0)) cycles"
status=$rc
stop_pid "$PID"
exit $status
