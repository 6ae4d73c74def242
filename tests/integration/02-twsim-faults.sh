#!/usr/bin/env bash
# grilld-twsim injects every fault on demand (POST /admin/faults, or
# twsim.faults in the configuration), scoped by endpoint, device, count
# and probability, counts them, and serves normally again afterwards.
. "$(dirname "$0")/lib.sh"

ports=($(freeport 2))
B=http://127.0.0.1:${ports[0]}
A=http://127.0.0.1:${ports[1]}
F="$B/v1/projects/thermoworks-cloud-production/databases/(default)/documents"
KEY=twsim-demo-key

cat >"$T/twsim.yaml" <<YAML
twsim:
  listen: 127.0.0.1:${ports[0]}
  admin_listen: 127.0.0.1:${ports[1]}
  faults:
    - kind: status
      status: 503
      endpoint: config
      count: 1
YAML

call() {
	local m=$1 u=$2 out
	shift 2
	out=$(curl -s -X "$m" -D "$T/headers" -o "$T/body" \
		-w '%{http_code}|%{size_download}' "$@" "$u")
	RC=$?
	CODE=${out%%|*}
	SIZE=${out#*|}
	BODY=$(cat "$T/body" 2>/dev/null)
	HEADERS=$(cat "$T/headers" 2>/dev/null)
}
j() { jq -r "$1" <<<"$BODY"; }
signin() {
	call POST "$B/v1/accounts:signInWithPassword?key=$KEY" \
		-H 'Content-Type: application/json' \
		-d '{"email":"demo@grilld.example","password":"demo","returnSecureToken":true}'
}
get() { call GET "$1" -H "Authorization: Bearer $TOK" "${@:2}"; }
fault() {
	FAULT=$(curl -s -w '\n%{http_code}' -X POST "$A/admin/faults" -d "$1")
	FAULT_CODE=${FAULT##*$'\n'}
	FAULT=${FAULT%$'\n'*}
}
clear_faults() { curl -s -X DELETE "$A/admin/faults" >/dev/null; }
stat() { curl -s "$A/admin/stats" | jq "$1"; }
CH="$F/devices/24:0A:C4:1F:6E:10/channels/1"

start_daemon twsim "$A/health/ready" -f "$T/twsim.yaml" || bail "grilld-twsim starts"
signin
TOK=$(j .idToken)
REF=$(j .refreshToken)

# --- from the configuration -------------------------------------------------

check_eq "a configured fault is listed" "status config config" \
	"$(curl -s "$A/admin/faults" | jq -r '.faults[0] | "\(.kind) \(.endpoint) \(.source)"')"
call GET "$B/v1alpha/projects/-/apps/x/webConfig" -H "x-goog-api-key: $KEY"
check_eq "and fires: 503 UNAVAILABLE" "503 UNAVAILABLE" "$CODE $(j .error.status)"
call GET "$B/v1alpha/projects/-/apps/x/webConfig" -H "x-goog-api-key: $KEY"
check_eq "once (count 1)" 200 "$CODE"
check_eq "then it is gone" 0 "$(curl -s "$A/admin/faults" | jq '.faults | length')"

# --- status: 429 with Retry-After, 500, 503 ------------------------------------

fault '{"kind":"status","status":429,"retry_after":7,"endpoint":"channel","count":2}'
check_eq "POST /admin/faults: 201" 201 "$FAULT_CODE"
check_eq "answers the rule with its id" "1 2" "$(jq -r '.faults[0] | "\(.id > 0 | if . then 1 else 0 end) \(.remaining)"' <<<"$FAULT")"
curl -s -X DELETE "$A/admin/stats" >/dev/null
get "$CH"
check_eq "429 RESOURCE_EXHAUSTED" "429 RESOURCE_EXHAUSTED" "$CODE $(j .error.status)"
check_match "with Retry-After" $'Retry-After: 7\r' "$HEADERS"
check_eq "the rule counts down" 1 "$(curl -s "$A/admin/faults" | jq '.faults[0].remaining')"
get "$F/devices/24:0A:C4:1F:6E:10"
check_eq "other endpoints are not touched" 200 "$CODE"
get "$CH"
get "$CH"
check_eq "after two, channels answer again" 200 "$CODE"
check_eq "/admin/stats saw two 429s" "2 1" "$(stat '.requests.channel | "\(.["429"]) \(.["200"])"' | tr -d '"')"

for s in 500 503; do
	fault "{\"kind\":\"status\",\"status\":$s,\"endpoint\":\"query\",\"count\":1}"
	call POST "$F:runQuery" -H "Authorization: Bearer $TOK" -d '{}'
	check_eq "$s in Google's shape" "$s $s" "$CODE $(j .error.code)"
done
fault '{"kind":"status","status":503,"endpoint":"storage","count":1}'
call GET "$B/v0/b/thermoworks-cloud-production.appspot.com/o/x?alt=media" -H "Authorization: Bearer $TOK"
check_eq "Storage errors in Storage's shape" "503 null" "$CODE $(j .error.status)"

# --- slow answers, dropped connections ---------------------------------------

fault '{"kind":"delay","delay_ms":3000,"endpoint":"device","count":1}'
call GET "$F/devices/24:0A:C4:1F:6E:10" -H "Authorization: Bearer $TOK" --max-time 1
check_eq "a slow answer makes a client time out" 28 "$RC"
fault '{"kind":"drop","endpoint":"channel","count":1}'
get "$CH"
check_eq "a dropped connection: an empty reply" 52 "$RC"
get "$CH"
check_eq "the next request is answered" 200 "$CODE"
check_eq "drops count as status 0" 1 "$(stat '.requests.channel["0"]')"

# --- malformed, truncated ---------------------------------------------------------

fault '{"kind":"malformed","endpoint":"channel","count":1}'
get "$CH"
check_eq "malformed: still 200" 200 "$CODE"
jq . <<<"$BODY" >/dev/null 2>&1 && not_ok "malformed: not JSON" || ok "malformed: not JSON"
fault '{"kind":"truncate","endpoint":"channel","count":1}'
get "$CH"
jq . <<<"$BODY" >/dev/null 2>&1 && not_ok "truncated: not JSON" || ok "truncated: not JSON"
check_match "with a Content-Length that matches" "Content-Length: $SIZE"$'\r' "$HEADERS"
get "$CH"
check_eq "then whole documents again" "$CH" "$B/v1/$(j .name)"

# --- type drift -----------------------------------------------------------------

fault '{"kind":"drift_integer","endpoint":"channel","count":1}'
get "$CH"
check_match "drift_integer: value as integerValue" '^-?[0-9]+$' "$(j .fields.value.integerValue)"
fault '{"kind":"drift_boolean","endpoint":"channel","count":1}'
get "$CH"
check_match "drift_boolean: booleans as 0/1" '^[01]$' "$(j .fields.alarmHigh.mapValue.fields.enabled.integerValue)"
fault '{"kind":"drift_missing","endpoint":"device","count":1}'
get "$F/devices/24:0A:C4:1F:6E:10"
check_eq "drift_missing: optional fields left out" "null null 24:0A:C4:1F:6E:10" \
	"$(j '"\(.fields.label) \(.fields.battery) \(.fields.serial.stringValue)"')"
get "$F/devices/24:0A:C4:1F:6E:10"
check_eq "then they are back" "Backyard Signals" "$(j .fields.label.stringValue)"

# --- scope: a device, a probability ------------------------------------------------

fault '{"kind":"status","status":500,"endpoint":"channel","device":"10:06:1C:6F:47:70"}'
get "$CH"
check_eq "a fault scoped to a device spares the others" 200 "$CODE"
get "$F/devices/10:06:1C:6F:47:70/channels/1"
check_eq "and hits that one" 500 "$CODE"
clear_faults
fault '{"kind":"status","status":500,"probability":0}'
fails=0
for i in $(seq 1 20); do
	get "$CH"
	[ "$CODE" = 200 ] || fails=$((fails + 1))
done
check_eq "probability 0 never fires" 0 "$fails"
clear_faults
fault '{"kind":"status","status":500,"endpoint":"channel","probability":0.5}'
fails=0
for i in $(seq 1 40); do
	get "$CH"
	[ "$CODE" = 500 ] && fails=$((fails + 1))
done
[ "$fails" -gt 5 ] && [ "$fails" -lt 35 ] && ok "probability 0.5 fires about half the time ($fails/40)" ||
	not_ok "probability 0.5 fires about half the time" "$fails/40"
clear_faults

# --- tokens revoked, sign-in throttled -------------------------------------------

fault '{"kind":"revoke"}'
check_eq "revoke is carried out at once" 1 "$(jq .revoked <<<"$FAULT")"
get "$CH"
check_eq "the old id token: 401" "401 UNAUTHENTICATED" "$CODE $(j .error.status)"
call POST "$B/v1/token?key=$KEY" -d "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"$REF\"}"
check_eq "its refresh token: TOKEN_EXPIRED" "400 TOKEN_EXPIRED" "$CODE $(j .error.message)"
fault '{"kind":"too_many_attempts","count":2}'
signin
check_eq "sign-in throttled: 400" 400 "$CODE"
check_match "TOO_MANY_ATTEMPTS_TRY_LATER" '^TOO_MANY_ATTEMPTS_TRY_LATER' "$(j .error.message)"
signin
signin
check_eq "after two, sign-in works again" 200 "$CODE"
TOK=$(j .idToken)
REF=$(j .refreshToken)
get "$CH"
check_eq "and so does its token" 200 "$CODE"
fault '{"kind":"revoke","account":"demo@grilld.example","reason":"INVALID_REFRESH_TOKEN"}'
call POST "$B/v1/token?key=$KEY" -d "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"$REF\"}"
check_eq "revoked with INVALID_REFRESH_TOKEN" INVALID_REFRESH_TOKEN "$(j .error.message)"
signin
TOK=$(j .idToken)

# --- managing rules ---------------------------------------------------------------

fault '[{"kind":"delay","delay_ms":1},{"kind":"drift_missing"}]'
check_eq "a list of rules at once" 2 "$(jq '.faults | length' <<<"$FAULT")"
id=$(jq '.faults[0].id' <<<"$FAULT")
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$A/admin/faults/$id")
check_eq "DELETE /admin/faults/ID" 200 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$A/admin/faults/$id")
check_eq "twice: 404" 404 "$code"
check_eq "DELETE /admin/faults clears the rest" '{"cleared":1}' "$(curl -s -X DELETE "$A/admin/faults")"
fault '{"kind":"nap"}'
check_eq "a bad rule: 400" 400 "$FAULT_CODE"
check_match "with the reason" "kind: 'nap' is not one of" "$(jq -r .message <<<"$FAULT")"
fault '{"kind":'
check_eq "a body that is not JSON: 400" 400 "$FAULT_CODE"
fault '[{"kind":"drop"},{"kind":"status","status":99}]'
check_eq "all or nothing" 0 "$(curl -s "$A/admin/faults" | jq '.faults | length')"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$A/admin/faults")
check_eq "PUT /admin/faults: 405" 405 "$code"
check_match "faults are counted in /metrics" \
	'twsim_faults_injected_total\{kind="status",endpoint="channel"\} [0-9]+' "$(curl -s "$A/metrics")"
check_match "and in /admin/stats" '^[1-9][0-9]*$' "$(stat .faults.injected)"

# SIGHUP re-reads twsim.faults.
cat >>"$T/twsim.yaml" <<YAML
    - kind: drift_integer
      endpoint: channel
YAML
kill -HUP "$PID_twsim"
reloaded() { [ "$(curl -s "$A/admin/faults" | jq '.faults | length')" = 2 ]; }
wait_for "the reload" 10 reloaded && ok "SIGHUP re-reads twsim.faults" || not_ok "SIGHUP re-reads twsim.faults"
clear_faults
get "$CH"
check_eq "with no faults left, all is well" 200 "$CODE"

stop_pid "$PID_twsim"
check_eq "grilld-twsim exits 0 on SIGTERM" 0 "$?"

# The cloud itself dies: with twsim.state_file it goes on with the
# sessions it had (as the real cloud does when a server restarts), so
# the running ones are still archived when they end.
cat >"$T/state.yaml" <<YAML
twsim:
  listen: 127.0.0.1:${ports[0]}
  admin_listen: 127.0.0.1:${ports[1]}
  state_file: $T/twsim.state
YAML
session() { curl -s "$A/admin/recorded?limit=1" | jq -r .session_start_ms; }
start_daemon twsim "$A/health/ready" -f "$T/state.yaml" || bail "grilld-twsim starts with a state file"
t0=$(session)
check_match "the state file holds the sessions' start" "^grilld-twsim-state 2 1 $t0\$" \
	"$(cat "$T/twsim.state")"
kill -KILL "$PID_twsim"
wait "$PID_twsim" 2>/dev/null
sleep 1
start_daemon twsim "$A/health/ready" -f "$T/state.yaml" || bail "grilld-twsim starts again"
check_eq "after kill -9 it goes on with the same sessions" "$t0" "$(session)"
check_match "and says so" "going on with the sessions that began" "$(cat "$T/twsim.log")"
stop_pid "$PID_twsim"
echo "a shopping list" >"$T/twsim.state"
"$BIN/grilld-twsim" -d -f "$T/state.yaml" >"$T/bad-state.log" 2>&1
check_eq "a file that is no state file: refused at start" 1 "$?"
check_match "with why" "not a grilld-twsim state file" "$(cat "$T/bad-state.log")"
done_testing
