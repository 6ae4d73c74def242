#!/usr/bin/env bash
# The README as a newcomer follows it: `make run` on a terminal, the
# troubleshooting commands, the API examples and the live feed against
# its stack (the README's default addresses swapped for this run's free
# ports), then Ctrl-C: everything stops and make ends with status 0,
# without "Interrupt".
. "$(dirname "$0")/lib.sh"
cd "$GRILLD_TOP" || bail "no tree"

p=($(freeport 12))
export GRILLD_RUN_VAR=$T/var
export GRILLD_RUN_REDIS_PORT=${p[0]} GRILLD_RUN_INFLUX_PORT=${p[1]}
export GRILLD_API_LISTEN=127.0.0.1:${p[2]} GRILLD_STREAM_LISTEN=127.0.0.1:${p[3]}
export GRILLD_TWSIM_LISTEN=127.0.0.1:${p[4]} GRILLD_POLLER_ADMIN_LISTEN=127.0.0.1:${p[5]}
export GRILLD_INGEST_ADMIN_LISTEN=127.0.0.1:${p[6]} GRILLD_TWSIM_ADMIN_LISTEN=127.0.0.1:${p[7]}
export GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${p[8]} GRILLD_NNG_POLLER_URL=tcp://127.0.0.1:${p[9]}
export GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:${p[10]} GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:${p[11]}
(( GRILLD_RUN_INFLUX_PORT + 2 > 65535 )) && bail "influx port too high"

python3 tests/tools/ptyrun.py "$T/run.log" "$T/stop" \
	make --no-print-directory BIN="$BIN" BUILD="$BUILD" run &
run=$!
_pids+=("$run")
ready() { grep -q "Ctrl-C stops everything" "$T/run.log"; }
wait_for "make run" 120 ready || bail "make run starts: $(tail -20 "$T/run.log")"
ok "make run starts on a terminal"
banner=$(tr -d '\r' <"$T/run.log")
check_match "the banner says how to reach Redis" "redis-cli -p ${p[0]}" "$banner"
check_match "and InfluxDB" "influx -port ${p[1]} " "$banner"
current() {
	curl -sf "http://$GRILLD_API_LISTEN/api/temperature/current/24:0A:C4:1F:6E:10?probe_id=2" |
		jq -e '.data.temperature' >/dev/null
}
wait_for readings 90 current || not_ok "readings reach the API" "$(tail -5 "$T/run.log")"
known() { curl -sf "http://$GRILLD_API_LISTEN/api/devices" | grep -q 24:0A:C4:1F:6E:10; }
wait_for devices 60 known || not_ok "the API knows the demo device" "$(tail -5 "$T/run.log")"

# The README's commands, on this run's addresses.
swap() {
	sed -e "s/localhost:8080/$GRILLD_API_LISTEN/g; s/localhost:8081/$GRILLD_STREAM_LISTEN/g" \
		-e "s/127\.0\.0\.1:8080/$GRILLD_API_LISTEN/g; s/127\.0\.0\.1:8081/$GRILLD_STREAM_LISTEN/g" \
		-e "s/127\.0\.0\.1:9101/$GRILLD_POLLER_ADMIN_LISTEN/g; s/127\.0\.0\.1:9102/$GRILLD_INGEST_ADMIN_LISTEN/g" \
		-e "s/-p 16379/-p $GRILLD_RUN_REDIS_PORT/g" -e "s|^bin/|$BIN/|"
}
block() {	# block HEADING: the commands of the first sh block under it
	awk -v h="$1" '$0 == h { in_sec = 1; next } /^## / { in_sec = 0 }
		in_sec && /^```sh$/ { code = 1; next } in_sec && code && /^```$/ { exit }
		code { print }' README.md |
		sed -e ':a' -e '/\\$/N; s/\\\n *//; ta' | sed 's/ *# .*$//' | grep -v '^$'
}
n=0
while IFS= read -r cmd; do
	n=$((n + 1))
	out=$(bash -c "$(swap <<<"$cmd")" 2>&1)
	rc=$?
	# An empty dead-letter stream is a good answer too.
	if [ $rc -eq 0 ] && { [ -n "$out" ] || [[ $cmd == redis-cli* ]]; }; then
		ok "troubleshooting: $cmd"
	else
		not_ok "troubleshooting: $cmd" "status $rc: $out"; fi
done < <(block "## Troubleshooting")
[ $n -ge 5 ] || not_ok "the troubleshooting section has its commands" "found $n"
n=0
while IFS= read -r cmd; do
	n=$((n + 1))
	out=$(cd "$T" && bash -c "$(swap <<<"$cmd")" 2>&1)
	rc=$?
	if [ -f "$T/cook.csv" ] && [ -z "$out" ]; then out=$(head -c 200 "$T/cook.csv"); rm -f "$T/cook.csv"; fi
	if [ $rc -eq 0 ] && [ -n "$out" ] && [[ $out != *'"status":"error"'* ]]; then
		ok "API example: $cmd"
	else
		not_ok "API example: $cmd" "status $rc: $out"
	fi
done < <(block "## The API at a glance")
[ $n -ge 8 ] || not_ok "the API section has its examples" "found $n"
cmd=$(block "## The live feed")
out=$(timeout 12 bash -c "$(swap <<<"$cmd")" 2>&1)
check_match "live feed: $cmd" "data: \{" "$out"

# The cook on ingest's /metrics: a gauge per probe (the live value for a
# dashboard without InfluxDB), at most INGEST_PROBE_SERIES_MAX of them.
INGEST=http://$GRILLD_INGEST_ADMIN_LISTEN
check_match "ingest's /metrics has the demo probe's temperature" \
	'grilld_ingest_probe_temperature_celsius\{device="24:0A:C4:1F:6E:10",probe="2"\} [0-9.]+' \
	"$(curl -s "$INGEST/metrics")"
cap=$(sed -n 's/^#define INGEST_PROBE_SERIES_MAX[[:space:]]*\([0-9]*\).*/\1/p' ingest/ingest.h)
now=$(date +%s)
for i in $(seq 1 $((cap + 50))); do
	printf 'XADD grilld:readings * v 1 r '\''{"device_id":"flood","probe_id":"p%d","temperature":70,"unit":"F","timestamp":%d}'\''\n' "$i" "$now"
done | redis-cli -p "$GRILLD_RUN_REDIS_PORT" >/dev/null
series() { curl -s "$INGEST/metrics" | grep -c '^grilld_ingest_probe_temperature_celsius{'; }
flooded() { curl -s "$INGEST/metrics" | grep -q '^grilld_ingest_probe_series_dropped_total [1-9]'; }
check "past the cap, probes are counted, not given series" wait_for flood 30 flooded
n=$(series)
if [ "$n" -le "$cap" ] && [ "$n" -gt 10 ]; then ok "the per-probe series stay at or below $cap ($n)"; else
	not_ok "the per-probe series stay at or below $cap" "$n series"; fi

touch "$T/stop"
wait "$run"
wait_for "make run to stop" 60 test -s "$T/run.log.status"
check_eq "Ctrl-C: make run ends with status 0" 0 "$(cat "$T/run.log.status")"
log=$(tr -d '\r' <"$T/run.log")
check_match "it stops everything in order" "run: everything stopped" "$log"
if grep -q "Interrupt\|make: \*\*\*" <<<"$log"; then
	not_ok "make says nothing of an interrupt" "$(tail -3 <<<"$log")"
else ok "make says nothing of an interrupt"; fi

done_testing
