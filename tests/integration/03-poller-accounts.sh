#!/usr/bin/env bash
# test-cost: 125
# One account never holds up another: the second account's tokens are
# revoked and its sign-in refused (TOO_MANY_ATTEMPTS_TRY_LATER, again
# and again) while its requests are out; the first account's readings
# stay as fresh as before, and no cycle overruns. Then the second account
# has no password (made with Google or Apple): it signs in with a
# refresh token from a file, says so when the token is refused, and
# takes a new one put in the file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/poller.bash"

setup_world
start_poller || bail "grilld-poller starts and gets ready"
has_readings() { [ "$(redis_cli XLEN grilld:readings)" -gt 0 ]; }
wait_for "readings" 15 has_readings
wait_cycles 2

# lag DEVICE: how old its newest live reading is, in ms.
lag() {
	local newest
	newest=$(redis_cli --raw XREVRANGE grilld:readings + - COUNT 200 |
		grep '^{' | jq -r --arg d "$1" 'select(.device_id == $d and
		    ((.flags // 0) / 32 | floor) % 2 == 0) | .timestamp' |
		head -1)
	[ -n "$newest" ] || { echo 999999; return; }
	echo $(($(now_ms) - $(date -d "$newest" +%s%3N)))
}
# worst_lag DEVICE N: the largest of N lags, a second apart.
worst_lag() {
	local worst=0 l
	for _ in $(seq "$2"); do
		l=$(lag "$1")
		[ "$l" -gt "$worst" ] && worst=$l
		sleep 1
	done
	echo "$worst"
}

before=$(worst_lag S0000001 8)
o0=$(metric grilld_poller_overruns_total)

# patio's tokens go, and its sign-in is refused from now on.
tw_fault '{"kind":"too_many_attempts","endpoint":"signin"}'
tw_fault '{"kind":"revoke","account":"patio@grilld.example","reason":"INVALID_REFRESH_TOKEN"}'
wait_for "patio's refused sign-in" 20 \
	metric_gt 'grilld_poller_signins_total{result="too_many_attempts"}' 0
check_match "the broken account is said to be not signed in" \
	"patio@grilld.example: not signed in: TOO_MANY_ATTEMPTS" "$(ready_reason)"
during=$(worst_lag S0000001 12)
o1=$(metric grilld_poller_overruns_total)
check_eq "no cycle overruns while the other account cannot sign in" "$o0" "$o1"
# One poll interval (5 s) of slack over what it was.
if [ "$during" -le $((before + 5000)) ]; then
	ok "the healthy account's readings stay fresh (worst lag ${before} ms before, ${during} ms during)"
else
	not_ok "the healthy account's readings stay fresh" \
	    "worst lag ${before} ms before, ${during} ms during"
fi
check "its requests gave up instead of waiting" \
	metric_gt 'grilld_poller_http_skipped_total{endpoint="firestore",reason="deadline"}' 0

tw_clear
wait_for "ready again" 30 curl -sf "http://$POLLER_ADMIN/health/ready"
check_oracle "nothing lost on either account"
check_no_duplicates "at the end"
stop_pid "$PID_poller"

# --- a refresh-token account -------------------------------------------------
# token: a refresh token of patio's, as a browser sign-in would leave.
token() {
	curl -sf -X POST "http://$TW_LISTEN/v1/accounts:signInWithPassword?key=twsim-demo-key" \
		-H 'Content-Type: application/json' \
		-d '{"email":"patio@grilld.example","password":"s3cret-patio","returnSecureToken":true}' |
		jq -r .refreshToken
}
token >"$T/patio.refresh"
chmod 600 "$T/patio.refresh"
sed -i "s|password_file: $T/patio.password|refresh_token_file: $T/patio.refresh|" "$T/poller.yaml"
check_match "the configuration names the refresh token file" refresh_token_file "$(cat "$T/poller.yaml")"
check "-n accepts an account with a refresh token and no password" \
	"$BIN/grilld-poller" -n -f "$T/poller.yaml"
k0=$(redis_cli XLEN grilld:readings)
start_poller || bail "grilld-poller starts with a refresh-token account"
check "it signs in with the token of the file" \
	grep -q "patio@grilld.example: signed in with the refresh token of $T/patio.refresh" "$T/poller.log"
kettle() { redis_cli --raw XRANGE grilld:readings - + | grep -c '"device_id":"K0000001"'; }
k1=$(kettle)
more_kettle() { [ "$(kettle)" -gt "$k1" ]; }
wait_for "the kettle's readings" 20 more_kettle
check "the account's devices are polled" more_kettle

tw_fault '{"kind":"revoke","account":"patio@grilld.example","reason":"INVALID_REFRESH_TOKEN"}'
refused() { [[ $(ready_reason) == *"refresh token of $T/patio.refresh is refused"* ]]; }
wait_for "the refused token" 30 refused
check "a refused refresh token: not ready, and it says what to do" refused
token >"$T/patio.refresh"
wait_for "the new token" 90 curl -sf "http://$POLLER_ADMIN/health/ready"
check "a new token in the file is taken at the next try" \
	curl -sf "http://$POLLER_ADMIN/health/ready"
stop_pid "$PID_poller"
check_eq "grilld-poller exits 0 on SIGTERM" 0 "$?"
if grep -q "$(cat "$T/patio.refresh")" "$T/poller.log"; then
	not_ok "no refresh token in the log"
else
	ok "no refresh token in the log"
fi
done_testing
