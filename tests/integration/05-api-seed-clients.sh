#!/usr/bin/env bash
# Grill-stats' own clients against a whole running stack (the simulator's
# demo account, poller, ingester, API, stream), unchanged: the Home
# Assistant component's setup and update (tests/integration/seed/
# ha_component.py replays its parsing), grill-stats' health_check.py, and
# the web UI in headless Chromium (seed/browser.mjs): fetch, EventSource
# with onmessage, and the WebSocket hook that parses every message as
# one reading.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/api.bash"
. "$(dirname "$0")/lib/stream.sh"

need_node_packages playwright-core

start_redis
start_influx
demo_chain_env
API=http://127.0.0.1:${p[8]} STREAM_URL=http://127.0.0.1:${p[9]}
export GRILLD_API_RATE=0

start_daemon twsim "http://127.0.0.1:${p[1]}/health/ready" || bail "grilld-twsim starts"
start_daemon ingest "http://127.0.0.1:${p[3]}/health/live" || bail "grilld-ingest starts"
start_daemon stream "$STREAM_URL/health/live" || bail "grilld-stream starts"
start_daemon api "$API/health/live" || bail "grilld-api starts"
start_daemon poller "http://127.0.0.1:${p[2]}/health/live" || bail "grilld-poller starts"
dev=24:0A:C4:1F:6E:10	# the demo Signals, 4 probes
wait_for "the Signals' readings" 60 curl -sf "$API/api/temperature/current/$dev" ||
	bail "readings arrive"
wait_for "every probe" 60 bash -c "[ \"\$(curl -s $API/api/temperature/current/$dev | jq '.data.probes | length')\" = 4 ]"

# --- Home Assistant: setup and update ---------------------------------------
out=$(python3 "$GRILLD_TOP/tests/integration/seed/ha_component.py" "$API" "$dev" 2>&1)
check_eq "HA: setup creates the device sensor, one per probe, battery and signal" 7 "$(grep -c '^sensor ' <<<"$out")"
check_match "HA: sensors are named from the device's name and the probe labels" "sensor Backyard Signals Brisket [0-9.]+" "$out"
check_match "HA: battery from the device health" "sensor Backyard Signals Battery [0-9]+" "$out"
check_eq "HA: every value has the device's precision (no float noise)" 0 \
	"$(grep -cE '\.[0-9]{3,}$' <<<"$out")"

# --- health_check.py: status and dependencies as strings -------------------
req GET /health
check_eq "health_check.py: status, and each dependency a string" "200 true" \
	"$CODE $(jqr '[.dependencies[] | type == "string"] | all')"

# --- the web UI in Chromium, with the API's base URL -------------------------
out=$(node_run ../seed/browser.mjs "$API" "$dev" 2>&1 | tail -1)
check_eq "web UI: fetch of current" "success cache" "$(jq -r '"\(.fetch.status) \(.fetch.source)"' <<<"$out")"
check_eq "web UI: history (limit=5) newest first" "true true" \
	"$(jq -r '"\(.history.count > 0 and .history.count <= 5) \(.history.newestFirst)"' <<<"$out")"
check_eq "web UI: EventSource.onmessage fires with a reading (through the API's URL)" "$dev true" \
	"$(jq -r '"\(.sse.device_id) \(.sse.id)"' <<<"$out")"
check_eq "web UI: the WebSocket hook gets bare readings through the API's URL, client text ignored" "3 true" \
	"$(jq -r '"\(.ws.messages) \(.ws.bareReadings)"' <<<"$out")"

# --- grilld's own protocols, chosen by the client, on the same URL ---------
out=$(curl -s -N -m 15 "$API/api/temperature/stream/$dev?protocol=grilld&since=0" | head -c 4000 || true)
check_match "SSE through the API: grilld's named events with ?protocol=grilld" "event: reading" "$out"
out=$(node_run ws-client.mjs "ws://${API#http://}/api/temperature/ws/$dev?snapshot=0" '[{"send":{"type":"ping"}},{"wait":"pong"},{"close":1000}]' 2>&1)
check_match "WebSocket through the API: the grilld.v1 subprotocol speaks grilld's protocol" '"type":"pong"' "$out"
done_testing
