#!/usr/bin/env bash
# grilld-api, the writing routes: batch (per-item answers, the readings
# stream exactly as the poller feeds it, every limit), alert rules CRUD
# with rules:version, acknowledge and snooze, the alert history; then
# API keys, the loopback rule, rate limits and CORS.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/api.bash"

start_redis
start_influx
influx_setup
api_start GRILLD_API_MAX_BATCH=50 GRILLD_API_MAX_BODY=64KiB \
	GRILLD_API_CORS_ORIGINS="https://grill.example" || bail "grilld-api starts"
J=(-H "Content-Type: application/json")
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# --- batch ---------------------------------------------------------------
req POST "/api/temperature/batch?partial=true" "${J[@]}" -d "{\"readings\": [
	{\"device_id\": \"SIG-1\", \"probe_id\": \"1\", \"temperature\": 225.5, \"timestamp\": \"$now\", \"battery_level\": 90},
	{\"device_id\": \"SIG-1\", \"probe_id\": \"2\", \"temperature\": 99, \"unit\": \"C\"},
	{\"device_id\": \"\", \"temperature\": \"hot\"},
	{\"device_id\": \"SIG-1\", \"temperature\": 5000},
	{\"device_id\": \"SIG-1\", \"temperature\": 70, \"timestamp\": \"2999-01-01T00:00:00Z\"},
	[1, 2]]}"
check_eq "batch: grill-stats' answer fields, partial=true" "200 partial 2 6" \
	"$CODE $(jqr .status) $(jqr .stored_count) $(jqr .total_count)"
check_eq "batch: one item per reading, in order" "accepted accepted rejected rejected rejected rejected" \
	"$(jqr '[.items[].status] | join(" ")')"
check_eq "batch: why each was rejected, field by field" "device_id temperature|temperature|timestamp|reading" \
	"$(jqr '[.items[2:][] | [.errors[].field] | sort | join(" ")] | join("|")')"
check_eq "batch: the accepted ones are in the readings stream" "2" "$(redis_cli XLEN grilld:readings)"
entry=$(redis_cli --raw XRANGE grilld:readings - + COUNT 1)
check_eq "batch: as the poller writes them: v=1, r=reading JSON" "v 1 r" \
	"$(sed -n '2p;3p;4p' <<<"$entry" | tr '\n' ' ' | sed 's/ $//')"
r=$(sed -n 5p <<<"$entry")
check_eq "batch: the reading as sent, source api, a trace to continue" "SIG-1 1 225.5 api true" \
	"$(jq -r '"\(.device_id) \(.probe_id) \(.temperature) \(.source) \(.traceparent | test("^00-"))"' <<<"$r")"
check_eq "batch: the stream ids are in the answer" "$(redis_cli XRANGE grilld:readings - + COUNT 1 | head -1)" \
	"$(jqr '.items[0].id')"
req POST /api/temperature/batch "${J[@]}" -d '{"readings": [{"device_id": "x", "temperature": "y"}]}'
check_eq "batch: nothing valid is FastAPI's 422 with the reasons" "422 422 body readings 0 temperature" \
	"$CODE $(jqr .code) $(jqr '.detail[0].loc | map(tostring) | join(" ")')"
req POST /api/temperature/batch "${J[@]}" -d "{\"readings\": [{\"device_id\": \"SIG-9\", \"temperature\": 200}, {\"device_id\": \"SIG-9\", \"temperature\": 5000}]}"
check_eq "batch: one invalid reading refuses the batch, as grill-stats (pydantic)" "422 1 2" \
	"$CODE $(jqr '.detail | length') $(redis_cli XLEN grilld:readings)"
req POST /api/temperature/batch -d "{\"readings\": [{\"device_id\": \"SIG-9\", \"temperature\": \"204.5\", \"battery_level\": \"80\"}]}"
check_eq "batch: numeric strings coerced, no JSON Content-Type needed (grill-stats' scripts)" "200 success 1 204.5 80" \
	"$CODE $(jqr .status) $(jqr .stored_count) $(redis_cli --raw XREVRANGE grilld:readings + - COUNT 1 | sed -n 5p | jq -r '"\(.temperature) \(.battery_level)"')"
req POST /api/temperature/batch "${J[@]}" -d '{"readings": []}'
check_eq "batch: empty is 400" "400 EMPTY_BATCH" "$CODE $(jqr .reason)"
req POST /api/temperature/batch "${J[@]}" -d '{"reading": []}'
check_eq "batch: no readings array is 422" "422 readings" "$CODE $(jqr '.detail[0].loc[1]')"
req POST /api/temperature/batch "${J[@]}" -d '{"readings": [}'
check_eq "batch: malformed JSON is FastAPI's 422" "422 value_error.jsondecode" "$CODE $(jqr '.detail[0].type')"
req POST /api/temperature/batch -H "Content-Type: text/plain" -d '{"readings": []}'
check_eq "batch: the body is JSON whatever its type (empty is grill-stats' 400)" "400 EMPTY_BATCH" "$CODE $(jqr .reason)"
many=$(jq -nc '{readings: [range(51) | {device_id: "M", temperature: 100}]}')
req POST /api/temperature/batch "${J[@]}" -d "$many"
check_match "batch: past api.max_batch is 413 with the limit" "^413 BATCH_TOO_LARGE .*at most 50" \
	"$CODE $(jqr .reason) $(jqr .message)"
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/big.json"
req POST /api/temperature/batch "${J[@]}" --data-binary "@$T/big.json"
check_match "batch: past api.max_body is 413" "^413 PAYLOAD_TOO_LARGE" "$CODE $(jqr .reason)"
check_eq "batch: nothing more was stored" "3" "$(redis_cli XLEN grilld:readings)"

# --- rules -----------------------------------------------------------------
v0=$(redis_cli GET grilld:rules:version)
req POST /api/alerts/rules "${J[@]}" -d '{"id": "brisket", "kind": "target", "device_id": "SIG-1", "probe_id": "1", "threshold": 203}'
check_eq "rules: create is 201 with Location" "201 brisket target" "$CODE $(jqr .data.id) $(jqr .data.kind)"
check_eq "rules: stored in the rules hash" "brisket" "$(redis_cli HGET grilld:rules brisket | jq -r .id)"
check_eq "rules: rules:version moved" "$(( ${v0:-0} + 1 ))" "$(redis_cli GET grilld:rules:version)"
req POST /api/alerts/rules "${J[@]}" -d '{"id": "brisket", "kind": "target", "device_id": "SIG-1", "threshold": 200}'
check_eq "rules: the same id again is 409" "409 RULE_EXISTS" "$CODE $(jqr .reason)"
req POST /api/alerts/rules "${J[@]}" -d '{"kind": "above", "device_id": "*", "threshold": 300}'
check_match "rules: an id is made when the rule has none" "^201 rule-[0-9a-f]{12}$" "$CODE $(jqr .data.id)"
made=$(jqr .data.id)
req POST /api/alerts/rules "${J[@]}" -d '{"id": "bad", "kind": "sideways", "device_id": "SIG-1", "thresold": 1}'
check_eq "rules: an invalid rule is 422, field by field" "422 INVALID_RULE kind thresold" \
	"$CODE $(jqr .reason) $(jqr '[.details[].field] | sort | join(" ")')"
req GET /api/alerts/rules
check_eq "rules: list" "200 2" "$CODE $(jqr .count)"
req GET /api/alerts/rules/brisket
check_eq "rules: get one" "200 203" "$CODE $(jqr .data.threshold)"
req PUT /api/alerts/rules/brisket "${J[@]}" -d '{"kind": "target", "device_id": "SIG-1", "probe_id": "1", "threshold": 195}'
check_eq "rules: PUT replaces (200)" "200 195" "$CODE $(jqr .data.threshold)"
req PUT /api/alerts/rules/ribs "${J[@]}" -d '{"kind": "below", "device_id": "SIG-1", "probe_id": "2", "threshold": 225}'
check_eq "rules: PUT creates (201)" "201 ribs" "$CODE $(jqr .data.id)"
req PUT /api/alerts/rules/ribs "${J[@]}" -d '{"id": "other", "kind": "below", "device_id": "SIG-1", "threshold": 225}'
check_eq "rules: PUT with another id in the body is 422" "422" "$CODE"
req GET "/api/alerts/rules/no%20such"
check_eq "rules: a bad rule id is 400" "400" "$CODE"
req DELETE "/api/alerts/rules/$made"
check_eq "rules: delete is 204" "204" "$CODE"
req DELETE "/api/alerts/rules/$made"
check_eq "rules: delete again is 404" "404 RULE_NOT_FOUND" "$CODE $(jqr .reason)"
check_eq "rules: every change moved rules:version" "$(( ${v0:-0} + 5 ))" "$(redis_cli GET grilld:rules:version)"

# --- acknowledge, snooze ---------------------------------------------------
redis_cli HSET grilld:alertstate brisket/SIG-1/1 \
	"{\"rule_id\":\"brisket\",\"kind\":\"target\",\"device_id\":\"SIG-1\",\"probe_id\":\"1\",\"state\":\"firing\",\"alert_id\":\"a-42\",\"since\":\"$now\",\"notified\":true}" >/dev/null
req POST /api/alerts/rules/brisket/acknowledge
check_eq "ack: the firing alert is acknowledged" "200 1 a-42" "$CODE $(jqr .count) $(jqr '.data[0].alert_id')"
check_eq "ack: written where the ingester reads it (docs/alerts.md)" "a-42 127.0.0.1 true" \
	"$(redis_cli HGET grilld:alertstate 'brisket/SIG-1/1#ack' | jq -r '"\(.alert_id) \(.by) \(.at | test("^20"))"')"
req POST /api/alerts/rules/brisket/acknowledge "${J[@]}" -d '{"alert_id": "a-other", "by": "pitmaster"}'
check_eq "ack: another firing's alert_id acknowledges nothing" "409" "$CODE"
req POST /api/alerts/rules/ribs/acknowledge "${J[@]}" -d '{}'
check_eq "ack: nothing firing is 409" "409 NOT_FIRING" "$CODE $(jqr .reason)"
req POST /api/alerts/rules/nope/acknowledge
check_eq "ack: unknown rule is 404" "404" "$CODE"
req POST /api/alerts/rules/brisket/snooze "${J[@]}" -d '{"duration": "30m"}'
check_eq "snooze: 200 with the instances" "200 brisket/SIG-1/1" "$CODE $(jqr '.data[0]')"
until=$(redis_cli HGET grilld:alertstate 'brisket/SIG-1/1#snooze' | jq -r .until)
check_match "snooze: until now + 30 min" "^$(date -u -d '+30 min' +%Y-%m-%dT%H)" "$until"
req POST /api/alerts/rules/ribs/snooze "${J[@]}" -d '{"until": "2099-01-01T00:00:00Z"}'
check_eq "snooze: a rule about one probe snoozes it before it ever fired" "200 ribs/SIG-1/2" \
	"$CODE $(jqr '.data[0]')"
req POST /api/alerts/rules/brisket/snooze "${J[@]}" -d '{"duration": "0"}'
check_eq "snooze: duration 0 ends it" "200 0" \
	"$CODE $(redis_cli HEXISTS grilld:alertstate 'brisket/SIG-1/1#snooze')"
req POST /api/alerts/rules/brisket/snooze "${J[@]}" -d '{"duration": "soon"}'
check_eq "snooze: a bad duration is 422" "422" "$CODE"
req POST /api/alerts/rules/brisket/snooze "${J[@]}" -d '{}'
check_eq "snooze: neither duration nor until is 422" "422" "$CODE"

# --- alert history ---------------------------------------------------------
for i in 1 2 3 4 5; do
	d=$([ $i = 3 ] && echo OTHER || echo SIG-1)
	redis_cli XADD grilld:alerts '*' t alert d "$d" j \
		"{\"alert_id\":\"a-$i\",\"rule_id\":\"brisket\",\"kind\":\"target\",\"state\":\"firing\",\"device_id\":\"$d\",\"probe_id\":\"1\",\"timestamp\":\"$now\"}" >/dev/null
done
req GET "/api/alerts?limit=2"
check_eq "alerts: newest first, paged" "200 a-5 a-4 2" "$CODE $(jqr '.data[0].alert_id') $(jqr '.data[1].alert_id') $(jqr .count)"
req GET "/api/alerts?limit=2&cursor=$(jqr .next_cursor)"
check_eq "alerts: the next page" "a-3 a-2" "$(jqr '.data[0].alert_id') $(jqr '.data[1].alert_id')"
req GET "/api/alerts?device_id=SIG-1"
check_eq "alerts: by device, each with its event id" "a-5 a-4 a-2 a-1 true" \
	"$(jqr '[.data[].alert_id] | join(" ")') $(jqr '[.data[].event_id | test("^[0-9]+-[0-9]+$")] | all')"
req GET "/api/alerts?cursor=bogus"
check_eq "alerts: a bad cursor is 400" "400" "$CODE"

# --- CORS ------------------------------------------------------------------
hdr=$(curl -sS -D - -o /dev/null -H "Origin: https://grill.example" "$API/api/alerts/rules")
check_match "CORS: an allowed origin is answered" "Access-Control-Allow-Origin: https://grill.example" "$hdr"
hdr=$(curl -sS -D - -o /dev/null -H "Origin: https://evil.example" "$API/api/alerts/rules")
if [[ $hdr == *Access-Control-Allow-Origin* ]]; then not_ok "CORS: another origin gets no CORS header"
else ok "CORS: another origin gets no CORS header"; fi
hdr=$(curl -sS -D - -o /dev/null -X OPTIONS -H "Origin: https://grill.example" \
	-H "Access-Control-Request-Method: PUT" "$API/api/alerts/rules/x")
check_match "CORS: preflight lists the route's methods" \
	"HTTP/1.1 204.*Access-Control-Allow-Methods: GET, HEAD, PUT, DELETE, OPTIONS" "$(tr -d '\r' <<<"$hdr" | tr '\n' ' ')"

# --- API keys --------------------------------------------------------------
printf '# keys\nfilekey\n' >"$T/keys"
chmod 600 "$T/keys"
api_start GRILLD_API_KEYS="k-one,k-two" GRILLD_API_KEYS_FILE="$T/keys" || bail "grilld-api with keys"
KEYED=$API
body='{"readings": [{"device_id": "K", "temperature": 100}]}'
req POST /api/temperature/batch "${J[@]}" -d "$body"
check_eq "keys: a write without a key is 401" "401 UNAUTHORIZED" "$CODE $(jqr .reason)"
hdr=$(curl -sS -D - -o /dev/null -X POST "${J[@]}" -d "$body" "$API/api/temperature/batch")
check_match "keys: ... with WWW-Authenticate" "WWW-Authenticate: Bearer" "$hdr"
req POST /api/temperature/batch "${J[@]}" -H "Authorization: Bearer k-wrong" -d "$body"
check_eq "keys: a wrong key is 403" "403 FORBIDDEN" "$CODE $(jqr .reason)"
req POST /api/temperature/batch "${J[@]}" -H "Authorization: Bearer k-two" -d "$body"
check_eq "keys: a key from api.keys writes" "200" "$CODE"
req PUT /api/alerts/rules/k "${J[@]}" -H "Authorization: Bearer filekey" -d '{"kind": "offline", "device_id": "K"}'
check_eq "keys: a key from api.keys_file changes rules" "201" "$CODE"
req DELETE /api/alerts/rules/k
check_eq "keys: rule changes need a key" "401" "$CODE"
req GET /api/alerts/rules
check_eq "keys: reads do not, without api.read_auth" "200" "$CODE"
printf 'newkey\n' >"$T/keys"
kill -HUP "$API_PID"
newkey() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H 'Authorization: Bearer newkey' "$API/api/alerts/rules/k")" = 204 ]
}
wait_for "the reloaded key" 10 newkey
check_eq "keys: SIGHUP reloads api.keys_file" "0" "$?"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "${J[@]}" -H "Authorization: Bearer filekey" \
	-d '{"kind": "offline", "device_id": "K"}' "$API/api/alerts/rules/k")
check_eq "keys: ... and the old file key is gone" "403" "$code"
if grep -q "k-one\|k-two\|filekey\|newkey" "$T"/api.*.log; then not_ok "keys never appear in a log"
else ok "keys never appear in a log"; fi

api_start GRILLD_API_KEYS="k-one" GRILLD_API_READ_AUTH=true || bail "grilld-api with read_auth"
req GET /api/alerts/rules
check_eq "read_auth: reads need a key" "401" "$CODE"
req GET /api/alerts/rules -H "Authorization: Bearer k-one"
check_eq "read_auth: a key reads" "200" "$CODE"
req GET /health
check_eq "read_auth: /health stays open" "200" "$CODE"

# Listening beyond loopback with no keys: writes from a client that is
# not on loopback are refused, and why (the client's address decides,
# not the listen address); a loopback client may still write.
port=$(freeport)
(export GRILLD_API_LISTEN=0.0.0.0:$port; exec "$BIN/grilld-api" -d >>"$T/api.wide.log" 2>&1) &
_pids+=($!)
wait_for "wide grilld-api" 15 curl -sf "http://127.0.0.1:$port/health/live"
ext=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }')
if [ -n "$ext" ]; then
	code=$(curl -sS -o "$T/.body" -w '%{http_code}' -X POST "${J[@]}" -d "$body" "http://$ext:$port/api/temperature/batch")
	check_match "no keys, a client not on loopback ($ext): writes are 403 saying how to set keys" \
		"^403 WRITES_DISABLED .*api.keys" "$code $(jq -r '.reason + " " + .message' "$T/.body")"
else
	ok "# SKIP no address beyond loopback on this machine"
fi
code=$(curl -sS -o "$T/.body" -w '%{http_code}' -X POST "${J[@]}" -d "$body" "http://127.0.0.1:$port/api/temperature/batch")
check_match "no keys, a client on loopback: may write" "^(200|201|207|422)$" "$code"
check_match "no keys, not loopback: said at start-up" "without api.keys" "$(cat "$T/api.wide.log")"

# --- rate limits -----------------------------------------------------------
api_start GRILLD_API_RATE=0.5 GRILLD_API_BURST=5 GRILLD_API_KEYS="rk" || bail "grilld-api rate limited"
# A slow bucket (a token every 2 s) and the headers of every answer kept:
# on a loaded machine a faster bucket refilled between two curl runs, and
# the 429 is read from the burst itself.
codes=""
for i in $(seq 1 8); do
	codes+="$(curl -s -D "$T/.rate.$i" -o /dev/null -w '%{http_code}' "$API/openapi.json") "
done
check_match "rate: a burst of 5 passes, then 429" "^(200 ){5}(429 ?)+" "$codes"
hdr=$(grep -l "^HTTP/1.1 429" "$T"/.rate.* | head -1 | xargs cat)
check_match "rate: 429 says Retry-After" "Retry-After: [1-9]" "$hdr"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer rk" "$API/openapi.json")
check_eq "rate: a key has its own bucket" "200" "$code"
wait_for "a token back" 10 bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$API/openapi.json') = 200 ]"
check_eq "rate: tokens come back with time" "0" "$?"

done_testing
