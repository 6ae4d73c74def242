#!/usr/bin/env bash
# grilld-twsim speaks the ThermoWorks cloud protocol (THERMOWORKS.md):
# sign-in, refresh, the web config, the Firestore documents, the archives
# and their files, token expiry, the real error bodies; and its oracle of
# recorded points agrees with what the documents and archives show.
. "$(dirname "$0")/lib.sh"

ports=($(freeport 4))
B=http://127.0.0.1:${ports[0]}
A=http://127.0.0.1:${ports[1]}
F="$B/v1/projects/thermoworks-cloud-production/databases/(default)/documents"
KEY=test-key

cat >"$T/twsim.yaml" <<YAML
twsim:
  listen: 127.0.0.1:${ports[0]}
  admin_listen: 127.0.0.1:${ports[1]}
  api_key: $KEY
  seed: 42
  accounts:
    - email: cook@example.com
      password: s3cret
      devices:
        - serial: S1
          model: signals
          recording_interval: 1s
          upload_interval: 2s
          archive_interval: 3s
          archive_delay: 1s
          cook_offset: 3h
          channels:
            - {label: Pit, cook: pit}
            - {label: Brisket, cook: brisket}
            - {label: Ribs, cook: ribs}
            - {label: Spare, plugged: false}
        - serial: N1
          model: node
          recording_interval: 1s
          upload_interval: 1s
          channels:
            - {number: 1, cook: ambient}
            - {number: 3, cook: humidity}
        - serial: "10:06:1C:6F:47:70"
          model: rfx_gateway
        - serial: M1
          model: rfx_meat
          recording_interval: 1s
          upload_interval: 3s
    - email: other@example.com
      password: other
      devices:
        - {serial: O1, model: smoke}
    - email: gone@example.com
      password: gone
      disabled: true
YAML

# call METHOD URL [curl args...]: sets CODE, CTYPE, BODY, HEADERS.
call() {
	local m=$1 u=$2 out
	shift 2
	out=$(curl -s -X "$m" -D "$T/headers" -o "$T/body" \
		-w '%{http_code}|%{content_type}' "$@" "$u")
	CODE=${out%%|*}
	CTYPE=${out#*|}
	BODY=$(cat "$T/body")
	HEADERS=$(cat "$T/headers")
}
j() { jq -r "$1" <<<"$BODY"; }
signin() {
	call POST "$B/v1/accounts:signInWithPassword?key=${3:-$KEY}" \
		-H 'Content-Type: application/json' \
		-d "{\"email\":\"$1\",\"password\":\"$2\",\"returnSecureToken\":true}"
}
get() { call GET "$1" -H "Authorization: Bearer $TOK" "${@:2}"; }
query() {
	call POST "$F:runQuery?key=$KEY" -H "Authorization: Bearer $TOK" \
		-H 'Content-Type: application/json' -d "$1"
}
devices_query() {
	printf '{"structuredQuery":{"from":[{"collectionId":"%s"}],"where":'\
'{"fieldFilter":{"field":{"fieldPath":"accountId"},"op":"EQUAL","value":'\
'{"stringValue":"%s"}}},"orderBy":[{"field":{"fieldPath":"__name__"},'\
'"direction":"ASCENDING"}]}}' "${2:-devices}" "$1"
}
# The value of a channel document as the oracle prints it.
doc_value() { j '.fields.value | if has("nullValue") then null else
	(.doubleValue // (.integerValue | tonumber)) end'; }

# --- configuration -----------------------------------------------------

out=$("$BIN/grilld-twsim" -n -f "$T/twsim.yaml" 2>&1)
check_eq "-n accepts accounts and devices" "configuration OK" "$out"
cat >"$T/bad.yaml" <<'YAML'
twsim:
  accounts:
    - email: a@b.c
      password: x
      devices:
        - serial: S9
          model: toaster
YAML
out=$("$BIN/grilld-twsim" -n -f "$T/bad.yaml" 2>&1)
check_eq "-n refuses a bad device" 1 "$?"
check_match "and names the file, line and key" \
	"bad.yaml:7: twsim.accounts\[0\].devices\[0\]: model: 'toaster' is not one of" "$out"

start_daemon twsim "$A/health/ready" -f "$T/twsim.yaml" || bail "grilld-twsim starts"
ok "grilld-twsim starts with its accounts"

# --- sign-in -------------------------------------------------------------

signin cook@example.com s3cret
check_eq "sign-in answers 200" 200 "$CODE"
check_match "as application/json" '^application/json' "$CTYPE"
check_eq "of kind VerifyPasswordResponse" identitytoolkit#VerifyPasswordResponse "$(j .kind)"
check_eq "expiresIn is a string of seconds" '"3600"' "$(jq -c .expiresIn <<<"$BODY")"
TOK=$(j .idToken)
REF=$(j .refreshToken)
LOCAL=$(j .localId)
check_match "the id token is a JWT" '^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$TOK"
claims=$(cut -d. -f2 <<<"$TOK" | tr '_-' '/+')
while [ $((${#claims} % 4)) -ne 0 ]; do claims="$claims="; done
check_eq "its claims name the user" "$LOCAL" "$(base64 -d <<<"$claims" | jq -r .user_id)"

signin cook@example.com wrong
check_eq "a bad password: 400" 400 "$CODE"
check_eq "INVALID_LOGIN_CREDENTIALS (enumeration protection)" INVALID_LOGIN_CREDENTIALS "$(j .error.message)"
check_eq "with Google's errors array" invalid "$(j '.error.errors[0].reason')"
signin nobody@example.com x
check_eq "an unknown e-mail answers the same" INVALID_LOGIN_CREDENTIALS "$(j .error.message)"
signin gone@example.com gone
check_eq "a disabled user: USER_DISABLED" USER_DISABLED "$(j .error.message)"
signin cook@example.com s3cret wrong-key
check_eq "a bad API key: 400" 400 "$CODE"
check_eq "API_KEY_INVALID" API_KEY_INVALID "$(j '.error.details[0].reason')"
call POST "$B/v1/accounts:signInWithPassword" -d '{}'
check_eq "no API key: 403 PERMISSION_DENIED" "403 PERMISSION_DENIED" "$CODE $(j .error.status)"
call POST "$B/v1/accounts:signInWithPassword?key=$KEY" -d '{"email":'
check_eq "a body that is not JSON: 400 INVALID_ARGUMENT" "400 INVALID_ARGUMENT" "$CODE $(j .error.status)"

call GET "$B/v1alpha/projects/-/apps/1:78998049458:web:abc/webConfig" -H "x-goog-api-key: $KEY"
check_eq "the web config names the project" thermoworks-cloud-production "$(j .projectId)"
check_eq "and the archive bucket" thermoworks-cloud-production.appspot.com "$(j .storageBucket)"
call GET "$B/v1alpha/projects/-/apps/1:78998049458:web:abc/webConfig" -H "x-goog-api-key: nope"
check_eq "a bad key for the web config: 400" 400 "$CODE"

# --- refresh -----------------------------------------------------------------

call POST "$B/v1/token?key=$KEY" -H 'Content-Type: application/json' \
	-d "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"$REF\"}"
check_eq "refresh answers 200" 200 "$CODE"
check_eq "for the same user" "$LOCAL" "$(j .user_id)"
check_eq "a Bearer token" Bearer "$(j .token_type)"
check_eq "id_token and access_token agree" "$(j .id_token)" "$(j .access_token)"
call POST "$B/v1/token?key=$KEY" --data-urlencode grant_type=refresh_token \
	--data-urlencode "refresh_token=$REF"
check_eq "refresh takes a form body too" 200 "$CODE"
call POST "$B/v1/token?key=$KEY" -d '{"grant_type":"refresh_token","refresh_token":"AMf-vBnope"}'
check_eq "a bad refresh token: INVALID_REFRESH_TOKEN" "400 INVALID_REFRESH_TOKEN" "$CODE $(j .error.message)"
call POST "$B/v1/token?key=$KEY" -d '{"grant_type":"password"}'
check_eq "another grant: INVALID_GRANT_TYPE" INVALID_GRANT_TYPE "$(j .error.message)"

# --- documents ---------------------------------------------------------------

get "$F/users/$LOCAL?key=$KEY"
check_eq "the user document" 200 "$CODE"
ACCOUNT=$(j .fields.accountId.stringValue)
check_match "holds the accountId" '^[A-Za-z0-9]{20}$' "$ACCOUNT"
check_eq "and the e-mail" cook@example.com "$(j .fields.email.stringValue)"
get "$F/users/someoneelse"
check_eq "someone else's user document: 403" "403 PERMISSION_DENIED" "$CODE $(j .error.status)"

query "$(devices_query "$ACCOUNT")"
check_eq "runQuery finds the account's devices, by name" "10:06:1C:6F:47:70 M1 N1 S1" \
	"$(j '[.[].document.fields.serial.stringValue] | join(" ")')"
check_match "each with its readTime" '^20[0-9-]+T[0-9:.]+Z$' "$(j '.[0].readTime')"
query "$(devices_query someoneelse)"
check_eq "another accountId: 403" 403 "$CODE"
query "$(devices_query "$ACCOUNT" recipes)"
check_eq "another collection: only a readTime" '[["readTime"]]' "$(jq -c '[.[] | keys]' <<<"$BODY")"

get "$F/devices/S1"
check_eq "a device" 200 "$CODE"
check_eq "a Signals" "signals bbq" "$(j '.fields.device.stringValue + " " + .fields.type.stringValue')"
check_match "with a MAC" '^([0-9A-F]{2}:){5}[0-9A-F]{2}$' "$(j .fields.deviceId.stringValue)"
check_match "Wi-Fi strength as an integer string (sic)" '^-[0-9]+$' "$(j .fields.wifi_stength.integerValue)"
check_eq "and the fan" true "$(j .fields.fan.mapValue.fields.connected.booleanValue)"
get "$F/devices/M1"
check_eq "an RFX Meat probe has no deviceId" null "$(j .fields.deviceId)"
check_match "but a gateway RSSI" '^-[0-9]+$' "$(j .fields.gatewayRSSI.integerValue)"
get "$F/devices/O1"
check_eq "someone else's device: 403" 403 "$CODE"
get "$F/devices/NOPE"
check_eq "an unknown device: 404 NOT_FOUND" "404 NOT_FOUND" "$CODE $(j .error.status)"

found=""
for n in 1 2 3 4 5; do
	get "$F/devices/S1/channels/$n?key=$KEY"
	[ "$CODE" = 200 ] && found="$found $n"
done
check_eq "channels 1..4, then 404" " 1 2 3 4" "$found"
check_eq "as Firestore words it" \
	'Document "projects/thermoworks-cloud-production/databases/(default)/documents/devices/S1/channels/5" not found.' \
	"$(j .error.message)"
get "$F/devices/N1/channels/2"
check_eq "a hole in the channel numbers: 404" 404 "$CODE"
get "$F/devices/N1/channels/3"
check_eq "the channel past the hole is humidity, in H" H "$(j .fields.units.stringValue)"
check_eq "of type HumidityHumidity" HumidityHumidity "$(j .fields.type.stringValue)"
check_eq "its alarms in F, as seen" F "$(j .fields.alarmHigh.mapValue.fields.units.stringValue)"
get "$F/devices/10%3A06%3A1C%3A6F%3A47%3A70"
check_eq "a MAC serial in the path" 200 "$CODE"
check_eq "equals the deviceId" "10:06:1C:6F:47:70" "$(j .fields.deviceId.stringValue)"
check_eq "a gateway records 0 and transmits every 60 s" "0 60" \
	"$(j '.fields.recordingIntervalInSeconds.integerValue + " " + .fields.transmitIntervalInSeconds.integerValue')"
get "$F/devices/10:06:1C:6F:47:70/channels/1"
check_eq "its channel, colons unescaped" 200 "$CODE"
get "$F/devices/S1/channels/01"
check_eq "channel '01' is no channel" 404 "$CODE"
get "$F/devices/S1/channels"
check_eq "channels cannot be listed" 403 "$CODE"
get "$F/devices/S1/channels/4"
check_eq "a channel without a probe: NO PROBE" "NO PROBE" "$(j .fields.status.stringValue)"
check_eq "and a null value" null "$(j '.fields.value.nullValue')"
check_eq "number is a string" '"4"' "$(jq -c .fields.number.stringValue <<<"$BODY")"

# Every channel document shows exactly what the simulator recorded.
agree=0
for n in 1 2 3 4; do
	get "$F/devices/S1/channels/$n"
	ts=$(j .fields.lastTelemetrySaved.timestampValue)
	mine=$(doc_value)
	want=$(curl -s "$A/admin/recorded?device=S1&channel=$n&since=$ts&until=$ts" |
		jq -c '.points | map(.value)')
	[ "$want" = "[$mine]" ] && agree=$((agree + 1))
done
check_eq "each channel document holds the recorded point of its lastTelemetrySaved" 4 "$agree"

# --- archives ----------------------------------------------------------------

archived() { get "$F/devices/S1/archive"; [ "$(j '.documents | length')" -ge "$1" ]; }
wait_for "three ended sessions" 30 archived 3 || not_ok "S1 archives"

files=()
token=""
pages=0
while :; do
	get "$F/devices/S1/archive?pageSize=1&orderBy=createdOn${token:+&pageToken=$token}"
	[ "$CODE" = 200 ] || break
	[ -n "$(j '.documents // empty')" ] || break
	pages=$((pages + 1))
	files+=($(j '.documents[].fields.filename.stringValue'))
	created+=($(j '.documents[].fields.createdOn.timestampValue'))
	token=$(j '.nextPageToken // empty')
	[ -n "$token" ] || break
done
check_match "the archive pages through pageToken" '^([3-9]|[1-9][0-9])$' "$pages"
check_eq "one document a page" "${#files[@]}" "$pages"
check_eq "orderBy=createdOn: oldest first" "$(printf '%s\n' "${created[@]}" | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "${created[@]}" | tr '\n' ' ')"
get "$F/devices/S1/archive?pageSize=1"
check_eq "an archive document: the real fields" \
	'["channels","count","createdOn","deviceData","deviceLabel","end","events","filename","label","notes","public","publicLink","start","type"]' \
	"$(jq -c '.documents[0].fields | keys' <<<"$BODY")"
check_eq "channel numbers as strings" '"1"' \
	"$(jq -c '.documents[0].fields.channels.arrayValue.values[0].mapValue.fields.number.stringValue' <<<"$BODY")"
check_match "createdOn after the end" true \
	"$(j '.documents[0].fields | (.createdOn.timestampValue > .end.timestampValue)')"
get "$F/devices/S1/archive?orderBy=createdOn%20desc&pageSize=1"
newest_end=$(j '.documents[0].fields.end.timestampValue')
get "$F/devices/S1"
check_match "no archive of the session running: the newest ended before it began" true \
	"$(jq --arg e "$newest_end" '.fields.sessionStart.timestampValue > $e' <<<"$BODY")"
check_match "the file is archives/{serial}/{id}.json" '^archives/S1/[A-Za-z0-9]{20}\.json$' "${files[0]}"

: >"$T/rows"
fetched=0
for f in "${files[@]}"; do
	enc=$(jq -rn --arg n "$f" '$n | @uri')
	call GET "$B/v0/b/thermoworks-cloud-production.appspot.com/o/$enc?alt=media" \
		-H "Authorization: Firebase $TOK"
	[ "$CODE" = 200 ] && fetched=$((fetched + 1))
	jq -c '.readings[]' <<<"$BODY" >>"$T/rows"
done
check_eq "every archive file is served" "${#files[@]}" "$fetched"
check_eq "as text/json, as Storage serves them" text/json "$CTYPE"
check_eq "the file's top level" '["channels","deviceData","deviceLabel","end","events","label","notes","readings","serial","start","type"]' \
	"$(jq -c 'keys' <<<"$BODY")"
last=$(jq -s 'map(.[1]) | max' "$T/rows")
curl -s "$A/admin/recorded?device=S1&uploaded=true&until=$last" |
	jq -c '.points[] | [(.channel | tostring), .time_ms, .value, .units]' | sort >"$T/oracle"
sort "$T/rows" >"$T/rows.sorted"
check_eq "the archives hold every point of the ended sessions" "$(wc -l <"$T/oracle")" "$(wc -l <"$T/rows.sorted")"
check "exactly the points the simulator recorded" diff "$T/oracle" "$T/rows.sorted"
check_match "NO PROBE rows have a null value" '^\["4",[0-9]+,null,"F"\]$' "$(grep '^\["4",' "$T/rows" | head -1)"
enc=$(jq -rn --arg n "${files[0]}" '$n | @uri')
call GET "$B/v0/b/thermoworks-cloud-production.appspot.com/o/$enc" -H "Authorization: Bearer $TOK"
check_eq "without alt=media: the file's metadata" text/json "$(j .contentType)"
call GET "$B/v0/b/thermoworks-cloud-production.appspot.com/o/archives%2Fx%2FS1%2Fnope.json?alt=media" \
	-H "Authorization: Bearer $TOK"
check_eq "an unknown file: Storage's 404" '404 Not Found.' "$CODE $(j .error.message)"
call GET "$B/v0/b/thermoworks-cloud-production.appspot.com/o/$enc?alt=media"
check_eq "a file without a token: 401" 401 "$CODE"

# --- tokens and keys -----------------------------------------------------------

call GET "$F/devices/S1"
check_eq "no bearer token: 401 UNAUTHENTICATED" "401 UNAUTHENTICATED" "$CODE $(j .error.status)"
check_match "with WWW-Authenticate" 'WWW-Authenticate: Bearer' "$HEADERS"
call GET "$F/devices/S1" -H "Authorization: Bearer ${TOK}x"
check_eq "a forged token: 401" 401 "$CODE"
get "$F/devices/S1?key=wrong"
check_eq "a wrong ?key=: 400 API_KEY_INVALID" "400 API_KEY_INVALID" "$CODE $(j '.error.details[0].reason')"

get "$F/devices/S1"
check_match "answers are pretty-printed, as Google's are" $'^\\{\n  "name"' "$BODY"
get "$F/devices/S1?prettyPrint=false"
check_match "unless prettyPrint=false" '^\{"name":' "$BODY"

# --- bad requests, and it keeps serving --------------------------------------------

call POST "$F:runQuery" -H "Authorization: Bearer $TOK" -d '{"structuredQuery":'
check_eq "runQuery with broken JSON: 400" "400 INVALID_ARGUMENT" "$CODE $(j .error.status)"
call POST "$F:runQuery" -H "Authorization: Bearer $TOK" -d '{"nothing":1}'
check_eq "runQuery without a query: 400" 400 "$CODE"
call DELETE "$F/devices/S1/channels/1" -H "Authorization: Bearer $TOK"
check_eq "a wrong method: 405" 405 "$CODE"
check_match "with Allow" 'Allow: GET' "$HEADERS"
call GET "$B/v1/nothing/here"
check_eq "an unknown path: 404 in Google's shape" "404 NOT_FOUND" "$CODE $(j .error.status)"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$T/huge"
call POST "$B/v1/accounts:signInWithPassword?key=$KEY" --data-binary @"$T/huge"
check_eq "a 2 MiB body: 413" 413 "$CODE"
call POST "$B/v1/token?key=$KEY" -H 'Transfer-Encoding: chunked' --data-binary @"$T/huge"
check_eq "chunked, too" 413 "$CODE"
check_match "every answer was JSON" '^application/json' "$CTYPE"
call GET "$B/$(head -c 20000 /dev/zero | tr '\0' a)"
check_eq "a 20 kB URL: 400, in JSON" "400 INVALID_ARGUMENT" "$CODE $(j .error.status)"
exec 3<>"/dev/tcp/127.0.0.1/${ports[0]}"
printf 'NONSENSE\r\n\r\n' >&3
answer=$(timeout 5 cat <&3)
exec 3<&-
check_match "a request that is not HTTP: 400, in JSON" \
	$'^HTTP/1.1 400 Bad Request\r\nContent-Type: application/json' "$answer"
signin cook@example.com s3cret
check_eq "and the simulator still answers" 200 "$CODE"
kill -0 "$PID_twsim" 2>/dev/null && ok "grilld-twsim is still running" || not_ok "grilld-twsim is still running"

# --- the admin side ------------------------------------------------------------

stats=$(curl -s "$A/admin/stats")
check_eq "/admin/stats counts the channel 404s" 3 "$(jq '.requests.channel["404"]' <<<"$stats")"
check_eq "and the sign-ins" 1 "$(jq '.requests.signin["200"] >= 2 | if . then 1 else 0 end' <<<"$stats")"
check_match "/metrics counts requests by endpoint and status" \
	'twsim_requests_total\{endpoint="channel",status="404"\} 3' "$(curl -s "$A/metrics")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$A/admin/recorded?device=NOPE")
check_eq "the oracle: 404 for an unknown device" 404 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$A/admin/recorded?since=yesterday")
check_eq "400 for a bad time" 400 "$code"
check_eq "/admin/devices lists the world" "10:06:1C:6F:47:70 M1 N1 O1 S1" \
	"$(curl -s "$A/admin/devices" | jq -r '[.devices[].serial] | join(" ")')"

# --- token expiry, on a second simulator with three-second tokens ------------
# (long enough for a loaded machine to use a fresh token before it expires)

cat >"$T/short.yaml" <<YAML
twsim:
  listen: 127.0.0.1:${ports[2]}
  admin_listen: 127.0.0.1:${ports[3]}
  token_lifetime: 3s
YAML
start_daemon twsim "http://127.0.0.1:${ports[3]}/health/ready" -f "$T/short.yaml" ||
	bail "a second grilld-twsim starts"
B2=http://127.0.0.1:${ports[2]}
F2="$B2/v1/projects/thermoworks-cloud-production/databases/(default)/documents"
call POST "$B2/v1/accounts:signInWithPassword?key=twsim-demo-key" \
	-d '{"email":"demo@grilld.example","password":"demo","returnSecureToken":true}'
check_eq "the demo account signs in" 200 "$CODE"
check_eq "for three seconds" 3 "$(j .expiresIn)"
T2=$(j .idToken)
R2=$(j .refreshToken)
expired() { [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $T2" "$F2/devices/24:0A:C4:1F:6E:10")" = 401 ]; }
wait_for "the token to expire" 15 expired && ok "an expired token: 401" || not_ok "an expired token: 401"
call POST "$B2/v1/token?key=twsim-demo-key" -d "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"$R2\"}"
check_eq "the refresh token still works" 200 "$CODE"
# The new token lives three seconds: on a loaded machine it may still be
# gone before it is used, so a fresh one is asked for until one is in time.
fresh_works() {
	call POST "$B2/v1/token?key=twsim-demo-key" -d "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"$R2\"}"
	[ "$CODE" = 200 ] && [ "$(curl -s -o /dev/null -w '%{http_code}' \
	    -H "Authorization: Bearer $(j .id_token)" "$F2/devices/24:0A:C4:1F:6E:10")" = 200 ]
}
wait_for "a refreshed token in time" 10 fresh_works &&
	ok "and its new id token too" || not_ok "and its new id token too" \
	    "no refreshed token was accepted in time in 10 s"

stop_pid "$PID_twsim"
check_eq "grilld-twsim exits 0 on SIGTERM" 0 "$?"

# --- pausing devices without a restart (POST /admin/pause) ------------------
# The fault suite's low traffic: every device but one stops recording,
# the sessions go on, the pauses outlive a restart (twsim.state_file),
# and the archives hold exactly what the oracle says was recorded.

sp=($(freeport 2))
A3=http://127.0.0.1:${sp[1]}
B3=http://127.0.0.1:${sp[0]}
cat >"$T/pause.yaml" <<YAML
twsim:
  listen: 127.0.0.1:${sp[0]}
  admin_listen: 127.0.0.1:${sp[1]}
  state_file: $T/pause.state
  accounts:
    - email: p@example.com
      password: s3cret
      devices:
        - {serial: P1, model: signals, recording_interval: 1s, upload_interval: 1s, archive_interval: 3s, archive_delay: 1s}
        - {serial: P2, model: node, recording_interval: 1s, upload_interval: 1s, archive_interval: 3s, archive_delay: 1s}
YAML
start_daemon twsim "$A3/health/ready" -f "$T/pause.yaml" ||
	bail "a third grilld-twsim starts"
recorded() { curl -s "$A3/admin/recorded?device=$1" | jq '.points | length'; }
paused() { curl -s "$A3/admin/devices" | jq -r "[.devices[] | select(.paused) | .serial] | join(\" \")"; }
sleep 2
call POST "$A3/admin/pause?except=P2"
check_eq "POST /admin/pause?except=P2: every device but P2 paused" "200 P1" \
	"$CODE $(j '.paused | join(" ")')"
check_eq "so says /admin/devices" P1 "$(paused)"
p1=$(recorded P1)
p2=$(recorded P2)
sleep 3
check_eq "a paused device records nothing" "$p1" "$(recorded P1)"
check "the others go on" test "$(recorded P2)" -gt "$p2"
check "the state file keeps the pause" grep -q '^pause P1 [0-9]* -1$' "$T/pause.state"
stop_pid "$PID_twsim"
start_daemon twsim "$A3/health/ready" -f "$T/pause.yaml" ||
	bail "grilld-twsim starts again"
check_eq "a restarted simulator keeps it" P1 "$(paused)"
check "and its sessions (the same points)" test "$(recorded P1)" -ge "$p1"
call POST "$A3/admin/pause?device=NOPE"
check_eq "an unknown device: 404" 404 "$CODE"
call POST "$A3/admin/pause?device=P1&except=P2"
check_eq "device and except: 400" 400 "$CODE"
call GET "$A3/admin/pause"
check_eq "GET: 405" 405 "$CODE"
sleep 2
call DELETE "$A3/admin/pause"
check_eq "DELETE /admin/pause resumes them" "200 " "$CODE $(j '.paused | join(" ")')"
p1=$(recorded P1)
sleep 3
check "a resumed device records again" test "$(recorded P1)" -gt "$p1"
# The archives of the sessions around the pause: exactly the oracle.
TOK3=$(curl -s -X POST "$B3/v1/accounts:signInWithPassword?key=twsim-demo-key" \
	-d '{"email":"p@example.com","password":"s3cret","returnSecureToken":true}' |
	jq -r .idToken)
FS3="$B3/v1/projects/thermoworks-cloud-production/databases/(default)/documents"
sleep 3
curl -s -H "Authorization: Bearer $TOK3" "$FS3/devices/P1/archive?pageSize=300" |
	jq -r '.documents[] | [.fields.filename.stringValue, .fields.count.integerValue] | @tsv' >"$T/p1.files"
check "P1 has archives" test -s "$T/p1.files"
check "one with no point (a session paused throughout)" grep -q $'\t0$' "$T/p1.files"
: >"$T/p1.rows"
while IFS=$'\t' read -r f n; do
	enc=$(jq -rn --arg n "$f" '$n | @uri')
	curl -s -H "Authorization: Firebase $TOK3" \
	    "$B3/v0/b/thermoworks-cloud-production.appspot.com/o/$enc?alt=media" |
		jq -c '.readings[]' >"$T/p1.one"
	[ "$(wc -l <"$T/p1.one")" = "$n" ] || echo "$f: $n in the document, $(wc -l <"$T/p1.one") in the file" >>"$T/p1.bad"
	cat "$T/p1.one" >>"$T/p1.rows"
done <"$T/p1.files"
check_eq "each archive counts the rows its file holds" "" "$(cat "$T/p1.bad" 2>/dev/null)"
last=$(jq -s 'map(.[1]) | max' "$T/p1.rows")
curl -s "$A3/admin/recorded?device=P1&uploaded=true&until=$last" |
	jq -c '.points[] | [(.channel | tostring), .time_ms, .value, .units]' | sort >"$T/p1.oracle"
sort "$T/p1.rows" >"$T/p1.sorted"
check "the archives hold exactly the points recorded around the pause" \
	diff "$T/p1.oracle" "$T/p1.sorted"
stop_pid "$PID_twsim"

done_testing
