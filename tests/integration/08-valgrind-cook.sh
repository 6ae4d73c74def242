#!/usr/bin/env bash
# test-cost: 85
# Every daemon under valgrind through a normal cook (make valgrind):
# grilld-twsim (the demo account) -> grilld-poller -> Redis ->
# grilld-ingest -> InfluxDB, with grilld-api answering real requests and
# grilld-stream feeding an SSE and a WebSocket client. Each daemon then
# gets SIGTERM, the poller first and the ingester last, and must exit 0
# with no definite or indirect leak and no memory error in its valgrind
# log. No suppression is needed: the only blocks valgrind reports are
# "possibly lost" (the thread-local blocks of nng's threads, alive at exit),
# which it does not count. VG_KEEP=DIR keeps the logs.
export INFLUX_CQ_INTERVAL=1s
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/api.bash"
. "$(dirname "$0")/lib/stream.sh"

if ! command -v valgrind >/dev/null 2>&1; then
	echo "ok 1 - # SKIP valgrind not installed"
	echo "1..1"
	exit 0
fi
# An ASan build (make sanitize) cannot run under valgrind at all.
if grep -q __asan_init "$BIN/grilld-api"; then
	echo "ok 1 - # SKIP the daemons are built with ASan, which valgrind cannot run"
	echo "1..1"
	exit 0
fi
need_node_packages ws
SECONDS=0

start_redis
start_influx
# The chain's addresses, the demo account (its password in a file
# below), readings every second or two (twsim.time_scale 30).
demo_chain_env
unset GRILLD_THERMOWORKS_PASSWORD
API_PORT=${p[8]} STREAM_PORT=${p[9]}
API=http://127.0.0.1:$API_PORT STREAM_URL=http://127.0.0.1:$STREAM_PORT
export GRILLD_TWSIM_THREADS=16 GRILLD_POLLER_CONCURRENCY=8
export GRILLD_API_RATE=0 GRILLD_STREAM_THREADS=2
export GRILLD_STREAM_PAGE_DIR=$GRILLD_TOP/stream/www
# As deployed: the sample configuration file (the environment overrides
# it), the password and the API key in files of their own.
cp "$GRILLD_TOP/deploy/etc/grilld.yaml" "$T/grilld.yaml"
echo demo >"$T/password"
echo vg-key >"$T/keys"
chmod 600 "$T/grilld.yaml" "$T/password" "$T/keys"
export GRILLD_THERMOWORKS_PASSWORD_FILE=$T/password GRILLD_API_KEYS_FILE=$T/keys
KEY=(-H "Authorization: Bearer vg-key")
# Short-lived id tokens: the poller refreshes them during the cook.
export GRILLD_TWSIM_TOKEN_LIFETIME=20s
export GRILLD_INGEST_BATCH_WAIT=100ms GRILLD_INGEST_CQ_INTERVAL=1s
# valgrind is 20-50 times slower: give the nng peers time to answer.
export GRILLD_NNG_TIMEOUT=5s

# vg_start NAME READY_URL: bin/grilld-NAME under valgrind, its output in
# $T/NAME.log and valgrind's in $T/vg.NAME.log; sets PID_NAME.
vg_start() {
	stack_spawn "$1" valgrind --leak-check=full \
		--show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		--track-fds=no --num-callers=30 --log-file="$T/vg.$1.log" \
		"$BIN/grilld-$1" -d -f "$T/grilld.yaml"
	stack_wait_up "$1" "$2" 120
}

vg_start twsim "http://$GRILLD_TWSIM_ADMIN_LISTEN/health/ready" || bail "grilld-twsim starts under valgrind"
vg_start ingest "http://$GRILLD_INGEST_ADMIN_LISTEN/health/ready" || bail "grilld-ingest starts under valgrind"
vg_start poller "http://$GRILLD_POLLER_ADMIN_LISTEN/health/live" || bail "grilld-poller starts under valgrind"
vg_start stream "$STREAM_URL/health/ready" || bail "grilld-stream starts under valgrind"
vg_start api "$API/health/live" || bail "grilld-api starts under valgrind"
ok "the five daemons start under valgrind ($SECONDS s)"

# --- the cook: readings flow into InfluxDB ---------------------------------
stored() {
	curl -s "http://$GRILLD_INGEST_ADMIN_LISTEN/metrics" |
		awk '$1 == "grilld_ingest_stored_total" { s += $2 } END { print s + 0 }'
}
has_readings() { [ "$(stored)" -gt 0 ]; }
check "readings flow from the simulated cook into InfluxDB" wait_for readings 90 has_readings

# The live feeds, open while the cook goes on.
curl -s -N -m 120 "$STREAM_URL/api/temperature/stream/24:0A:C4:1F:6E:10?protocol=grilld" >"$T/sse.out" &
sse=$!
node_run ws-client.mjs "ws://127.0.0.1:$STREAM_PORT/api/temperature/ws" \
	'[{"wait":"current"},{"wait":"reading"},{"send":{"type":"subscribe","devices":["M100051731"]}},{"wait":"subscribed"},{"send":{"type":"ping"}},{"wait":"pong"},{"close":1000}]' \
	>"$T/ws.out" 2>&1 &
ws=$!

# --- the API, every route of a normal day -------------------------------------
dev=24:0A:C4:1F:6E:10
cached() {
	req GET "/api/temperature/current/$dev?probe_id=1"
	[ "$CODE" = 200 ] && [ "$(jqr .source)" = cache ]
}
check "current: what the ingester cached" wait_for current 60 cached
req GET "/api/temperature/current/$dev?unit=C"
check_eq "current: every probe, in Celsius" 200 "$CODE"
since=$(date -u -d '-2 hours' +%FT%TZ)
has_history() {
	req GET "/api/temperature/history/$dev?probe_id=1&start_time=$since"
	[ "$CODE" = 200 ] && [ "$(jqr .count)" -ge 2 ]
}
check "history: what the ingester stored" wait_for history 60 has_history
req GET "/api/temperature/history/$dev?probe_id=1&start_time=$since&aggregation=mean&interval=1m"
check_eq "history: aggregated" 200 "$CODE"
req GET "/api/temperature/history/$dev?probe_id=1&start_time=$since&limit=1"
check_eq "history: a page, with a cursor" "200 1" "$CODE $(jqr .count)"
req GET "/api/temperature/history/$dev?probe_id=1&start_time=$since&limit=1&cursor=$(jqr .next_cursor)"
check_eq "history: the next page" 200 "$CODE"
req GET "/api/temperature/stats/$dev?probe_id=1&start_time=$since&low=100&high=300"
check_eq "stats" 200 "$CODE"
req GET "/api/temperature/export/$dev?probe_id=1&start_time=$since&format=csv"
check_match "export: csv" "^200 .*device_id" "$CODE $(head -1 <<<"$BODY")"
req GET "/api/temperature/export/$dev?start_time=$since&format=jsonl"
check_eq "export: jsonl" 200 "$CODE"
req GET "/api/temperature/alerts/$dev?probe_id=1&start_time=$since&threshold_high=200"
check_eq "threshold alerts" 200 "$CODE"
has_devices() {
	req GET /api/devices
	[ "$CODE" = 200 ] && [ "$(jqr .source)" = poller ]
}
check "devices: the poller's registry over nng" wait_for devices 30 has_devices
req GET "/api/devices/$dev?unit=C"
check_eq "device: one" 200 "$CODE"
req GET /api/devices/no-such-device
check_eq "device: an unknown one is a 404" 404 "$CODE"

req POST /api/alerts/rules "${KEY[@]}" -H "Content-Type: application/json" \
	-d "{\"id\": \"vg\", \"kind\": \"above\", \"device_id\": \"$dev\", \"probe_id\": \"1\", \"threshold\": 100}"
check_eq "rules: created" 201 "$CODE"
req POST /api/alerts/rules -H "Content-Type: application/json" -d '{"kind": "above"}'
check_eq "rules: a write without the key is a 401" 401 "$CODE"
req POST /api/alerts/rules "${KEY[@]}" -H "Content-Type: application/json" -d '{"kind": "nope"}'
check_eq "rules: a bad one is a 422" 422 "$CODE"
req GET /api/alerts/rules
check_match "rules: listed" '"vg"' "$CODE $BODY"
req PUT /api/alerts/rules/vg "${KEY[@]}" -H "Content-Type: application/json" \
	-d "{\"id\": \"vg\", \"kind\": \"above\", \"device_id\": \"$dev\", \"probe_id\": \"1\", \"threshold\": 90}"
check_eq "rules: replaced" 200 "$CODE"
req GET /api/alerts/rules/vg
check_eq "rules: one" 200 "$CODE"
fired() { req GET "/api/alerts?device_id=$dev"; [ "$CODE" = 200 ] && [ "$(jqr '.data | length')" -ge 1 ]; }
wait_for "an alert of the rule" 30 fired
check_eq "alerts: the history" 200 "$CODE"
req POST /api/alerts/rules/vg/acknowledge "${KEY[@]}"
check_match "rules: acknowledged (or not firing since the change)" "^(200|409)$" "$CODE"
req POST /api/alerts/rules/vg/snooze "${KEY[@]}" -H "Content-Type: application/json" -d '{"duration": "10m"}'
check_eq "rules: snoozed" 200 "$CODE"
req DELETE /api/alerts/rules/vg "${KEY[@]}"
check_match "rules: deleted" "^20[04]$" "$CODE"

ts=$(date -u +%FT%TZ)
req POST /api/temperature/batch "${KEY[@]}" -H "Content-Type: application/json" \
	-d "{\"readings\": [{\"device_id\": \"vg-batch\", \"probe_id\": \"1\", \"temperature\": 203.5, \"timestamp\": \"$ts\"}, {\"device_id\": \"vg-batch\", \"probe_id\": \"2\", \"temperature\": 99, \"unit\": \"C\"}]}"
check_eq "batch: accepted" "200 2" "$CODE $(jqr .stored_count)"
req POST /api/temperature/batch "${KEY[@]}" -H "Content-Type: application/json" -d '{"readings": [{"temperature": "hot"}]}'
check_match "batch: a bad one is refused" "^4[0-9][0-9]$" "$CODE"
through() { req GET "/api/temperature/current/vg-batch?probe_id=1"; [ "$(jqr .data.temperature)" = 203.5 ]; }
check "batch: the reading comes back through the ingester" wait_for batch 30 through
health() { req GET /health; [ "$(jqr .daemons.poller.status) $(jqr .daemons.ingest.status) $(jqr .daemons.stream.status)" = "up up up" ]; }
check "health: every daemon up over nng" wait_for health 30 health
req GET /api/temperature/health
check_eq "health: the old path" 200 "$CODE"
req GET /openapi.json
check_eq "openapi.json" 200 "$CODE"
req GET "/api/temperature/stream/$dev" -m 3
check_eq "the live feed through the API (relayed)" 200 "$CODE"
for url in "$API" "$STREAM_URL" "http://$GRILLD_POLLER_ADMIN_LISTEN" \
    "http://$GRILLD_INGEST_ADMIN_LISTEN" "http://$GRILLD_TWSIM_ADMIN_LISTEN"; do
	check "metrics and readiness of $url" curl -sf -o /dev/null "$url/metrics" \
		-o /dev/null "$url/health/ready"
done
check "the stream's page" curl -sf -o /dev/null "$STREAM_URL/"

wait "$ws"
check_match "WebSocket: current, live readings, subscribe, pong" \
	'"type":"current".*"type":"reading".*"type":"subscribed".*"type":"pong".*"closed":1000' \
	"$(tr '\n' ' ' <"$T/ws.out")"
check "SSE: the alert of the rule" wait_for "the alert on SSE" 30 grep -q '^event: alert' "$T/sse.out"
kill "$sse"
wait "$sse"
check_match "SSE: and live readings of the device" "event: reading" "$(cat "$T/sse.out")"
first=$(sed -n 's/^id: //p' "$T/sse.out" | tr -d '\r' | head -1)
n0=$(stored)
curl -s -N -m 3 -H "Last-Event-ID: $first" "$STREAM_URL/api/temperature/stream/24:0A:C4:1F:6E:10?protocol=grilld" >"$T/sse2.out"
check_match "SSE: a client that comes back resumes where it was" "event: reading" "$(cat "$T/sse2.out")"
# An operator's reload, twice: each daemon reads its configuration again.
for name in twsim ingest poller stream api; do
	eval "pid=\$PID_$name"
	kill -HUP "$pid"
	sleep 1
	kill -HUP "$pid"
done
reloaded() { [ "$(grep -c 'configuration reloaded$' "$T/$1.log")" -ge 2 ]; }
for name in twsim ingest poller stream api; do
	check "grilld-$name reloads on SIGHUP" wait_for "$name reloads" 30 reloaded "$name"
done
# Let the cook run on, through token refreshes, with the feeds closed.
while [ "$SECONDS" -lt 75 ]; do sleep 2; done
check "the cook went on" [ "$(stored)" -gt "$n0" ]
refreshes() {
	curl -s "http://$GRILLD_POLLER_ADMIN_LISTEN/metrics" |
		awk '$1 == "grilld_poller_token_refreshes_total{result=\"ok\"}" { print $2 }'
}
check "the poller refreshed its id token" [ "$(refreshes)" -gt 0 ]

# --- the stop: each daemon exits 0, leak-free ---------------------------------
leaks() {	# leaks NAME: what valgrind's log says, as "definite indirect possible errors"
	local log=$T/vg.$1.log d i p e
	d=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d ,)
	i=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d ,)
	p=$(sed -n 's/.*possibly lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d ,)
	e=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tr -d ,)
	if grep -q "All heap blocks were freed" "$log"; then d=0 i=0 p=0; fi
	echo "${d:-?} ${i:-?} ${p:-?} ${e:-?}"
}
first_record() {	# first_record NAME REGEX: the first such record of the log
	awk -v re="$2" '/^==[0-9]+== *$/ { if (n) exit; next }
	    $0 ~ re { n = 1 }
	    n { print "#   " $0 }' "$T/vg.$1.log" | head -40
}
LEAK='(definitely|indirectly) lost in loss record'
ERROR='Invalid|uninitialised|Mismatched|Syscall param|overlap|fishy|[Jj]ump to'
for name in poller api stream twsim ingest; do
	eval "pid=\$PID_$name"
	stop_pid "$pid"
	status=$?
	check_eq "grilld-$name exits 0 under valgrind on SIGTERM" 0 "$status"
	read -r def ind pos err < <(leaks "$name")
	echo "# grilld-$name: definitely lost $def, indirectly lost $ind, possibly lost $pos bytes; $err errors"
	if [ "$def $ind" = "0 0" ]; then ok "grilld-$name: no definite or indirect leak"; else
		not_ok "grilld-$name: no definite or indirect leak" "definitely $def, indirectly $ind bytes"
		first_record "$name" "$LEAK"
	fi
	if [ "$err" = 0 ]; then ok "grilld-$name: no memory error"; else
		not_ok "grilld-$name: no memory error" "ERROR SUMMARY: $err errors"
		first_record "$name" "$ERROR" | grep . || echo "#   (the leaks only)"
	fi
done
if [ -n "${VG_KEEP:-}" ]; then
	mkdir -p "$VG_KEEP" && cp "$T"/*.log "$VG_KEEP"/
fi
echo "# wall time ${SECONDS} s"
done_testing
