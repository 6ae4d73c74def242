#!/usr/bin/env bash
# `make run` as a newcomer uses it (mk/run.sh, on free ports here): the
# whole stack starts, readings flow from the simulated cook to the API, a
# daemon that dies is reported and restarted, and a stop takes every
# process down in order (poller first, ingester last).
. "$(dirname "$0")/lib.sh"

p=($(freeport 8))
export GRILLD_RUN_VAR=$T/var
export GRILLD_RUN_REDIS_PORT=${p[0]} GRILLD_RUN_INFLUX_PORT=${p[1]}
export GRILLD_API_LISTEN=127.0.0.1:${p[2]} GRILLD_STREAM_LISTEN=127.0.0.1:${p[3]}
export GRILLD_TWSIM_LISTEN=127.0.0.1:${p[4]} GRILLD_POLLER_ADMIN_LISTEN=127.0.0.1:${p[5]}
export GRILLD_INGEST_ADMIN_LISTEN=127.0.0.1:${p[6]} GRILLD_TWSIM_ADMIN_LISTEN=127.0.0.1:${p[7]}
# The nng URLs are left to make run: it takes free ports of its own.
unset GRILLD_NNG_EVENTS_URL GRILLD_NNG_POLLER_URL GRILLD_NNG_INGEST_URL GRILLD_NNG_STREAM_URL
API=http://$GRILLD_API_LISTEN
# The influxd backup port is the HTTP port + 2: make sure it is free too.
(( GRILLD_RUN_INFLUX_PORT + 2 > 65535 )) && bail "influx port too high"

BIN=$BIN bash "$GRILLD_TOP/mk/run.sh" >"$T/run.log" 2>&1 &
run=$!
_pids+=("$run")
ready() { grep -q "grilld is running" "$T/run.log"; }
if wait_for "make run" 60 ready; then ok "make run starts everything and says where"; else
	bail "make run starts: $(tail -20 "$T/run.log")"; fi
for what in "live page" "API" "health"; do
	check_match "it prints the URL of the $what" "$what +http://127" "$(cat "$T/run.log")"
done

stored() {
	curl -s "http://$GRILLD_INGEST_ADMIN_LISTEN/metrics" |
		awk '$1 == "grilld_ingest_stored_total" { s += $2 } END { print s + 0 }'
}
has_readings() { [ "$(stored)" -gt 0 ]; }
check "readings flow from the simulated cook into InfluxDB" wait_for readings 60 has_readings
current() {
	curl -sf "$API/api/temperature/current/24:0A:C4:1F:6E:10?probe_id=1" | jq -e '.data.temperature' >/dev/null
}
check "the API answers current for the demo Signals" wait_for current 60 current

# A daemon that dies is reported, with its last lines, and restarted.
api_pid=""
for pid in $(pgrep -f "$BIN/grilld-api"); do
	if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "GRILLD_API_LISTEN=$GRILLD_API_LISTEN"; then
		api_pid=$pid
	fi
done
nng=$(tr '\0' '\n' <"/proc/$api_pid/environ" 2>/dev/null | grep '^GRILLD_NNG_' | sort | tr '\n' ' ')
check_match "the daemons' nng URLs are free ports, not the defaults 9201-9204" \
	"^GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:[0-9]+ GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:[0-9]+ GRILLD_NNG_POLLER_URL=tcp://127.0.0.1:[0-9]+ GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:[0-9]+ $" "$nng"
check "  none of them 9201-9204" bash -c "! grep -q ':920[1-4] ' <<<'$nng'"
kill -9 "$api_pid"
died() { grep -q "grilld-api died" "$T/run.log" && grep -q "restarting grilld-api" "$T/run.log"; }
check "a daemon killed with -9 is reported and restarted" wait_for restart 30 died
check "the restarted API answers again" wait_for api 30 curl -sf "$API/health/live"

status() { tr '\r' '\n' <"$T/run.log" | grep -q "readings/s"; }
check "the status screen shows readings per second" wait_for status 30 status

kill -TERM "$run"
wait "$run"
check_eq "make run exits 0 when stopped" 0 $?
order=$(grep -E '^  grilld-[a-z]+ +stopped' "$T/run.log" | awk '{print $1}' | tr '\n' ' ')
check_eq "it stops the poller first and the ingester last" \
	"grilld-poller grilld-api grilld-stream grilld-twsim grilld-ingest " "$order"
left=""
for pid in $(pgrep -f "$BIN/grilld-|$T/var"); do
	tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "GRILLD_RUN_VAR=$T/var" && left="$left $pid"
done
for pid in $(pgrep -f "$T/var"); do left="$left $pid"; done
check_eq "no process is left behind" "" "$left"

done_testing
