#!/usr/bin/env bash
# test-cost: 42
# The poller against the simulator: what reaches Redis is exactly what
# the simulator recorded (count and values, no duplicates), through
# tokens that expire every few seconds, bad answers (malformed,
# truncated, dropped, 5xx, drifted types), a 429 storm (fewer requests,
# Retry-After honoured), revoked tokens and a sign-in that answers
# TOO_MANY_ATTEMPTS_TRY_LATER.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/poller.bash"

TW_TOKEN_LIFETIME=6s	# refreshed every 4.5 s all along
setup_world
start_poller || bail "grilld-poller starts and gets ready"
ok "grilld-poller signs in to both accounts and gets ready"

check_oracle "every recorded point reaches the readings stream"
check_no_duplicates "at first"
# Channel numbers have holes: 1..9 are tried once each (4 + 2 + 1 + 4 +
# 2 channels found), the others answer 404 and are remembered as holes.
check_eq "every channel number 1..9 tried once, holes remembered" 32 \
	"$(tw_stat '.requests.channel["404"]')"
registry_full() { [ "$(redis_cli HLEN grilld:devices)" = 5 ]; }
wait_for "the registry" 10 registry_full
check_eq "the device registry is in Redis" 5 "$(redis_cli HLEN grilld:devices)"
check_match "a Signals' state: battery, Wi-Fi, fan, probes with alarms" \
	'"battery":[0-9]+.*"signal":-[0-9]+,"signal_source":"wifi".*"fan":\{"set_temp":[0-9.]+.*"probes":\[\{"probe_id":"1".*"alarm_high":\{"enabled"' \
	"$(redis_cli HGET grilld:devices S0000001)"
check_match "an RFX probe reports its gateway RSSI, and is online" \
	'"state":"online".*"signal_source":"gateway"' \
	"$(redis_cli HGET grilld:devices M0000001)"
r=$(redis_cli --raw XRANGE grilld:readings - + COUNT 1)
check_match "a reading: v=1, the device's time, a trace context" \
	'^[0-9]+-[0-9]+ v 1 r \{"device_id":"[A-Z0-9:]+","probe_id":"[0-9]",.*"timestamp":"20[0-9-]+T[0-9:.]+Z".*"source":"thermoworks".*"traceparent":"00-[0-9a-f]{32}-[0-9a-f]{16}-01"' \
	"$(echo $r)"

# Answers that go wrong in every way the cloud has been seen to.
tw_fault '{"kind":"drop","endpoint":"device,channel","probability":0.3}'
tw_fault '{"kind":"malformed","endpoint":"channel,device","probability":0.2}'
tw_fault '{"kind":"truncate","endpoint":"archive,storage","probability":0.3}'
tw_fault '{"kind":"status","status":503,"probability":0.2}'
tw_fault '{"kind":"status","status":500,"endpoint":"storage","probability":0.3}'
tw_fault '{"kind":"drift_integer"}'
tw_fault '{"kind":"drift_boolean"}'
tw_fault '{"kind":"drift_missing","probability":0.5}'
bad_seen() {
	metric_gt 'grilld_poller_polls_total{result="failed"}' 0 &&
	metric_gt 'grilld_poller_http_requests_total{endpoint="firestore",code="503"}' 0 &&
	metric_gt 'grilld_poller_http_requests_total{endpoint="firestore",code="0"}' 0
}
wait_for "bad answers" 20 bad_seen
check "failed polls, 5xx answers and dropped connections are counted" bad_seen
check "the poller stays ready through bad answers" \
	curl -sf "http://$POLLER_ADMIN/health/ready"
tw_clear

# A 429 storm whose Retry-After (6 s) outlasts the interval (5 s): the
# endpoint is held (nothing is sent to it until then) and the breaker
# opens. A client without backoff sends one request per document and
# cycle at least (5 devices + 13 channels = 18), plus its retries.
breaker_closed() {
	[ "$(metric 'grilld_breaker_state{breaker="thermoworks_firestore"}')" = 0 ]
}
wait_for "the breaker to close" 30 breaker_closed
tw_fault '{"kind":"status","status":429,"retry_after":6,"endpoint":"device,channel,archive,storage"}'
n0=$(tw_requests); c0=$(metric grilld_poller_cycles_total)
wait_cycles 2
n1=$(tw_requests); c1=$(metric grilld_poller_cycles_total)
wait_for "a held request" 20 \
	metric_gt 'grilld_poller_http_held_total{endpoint="firestore"}' 0
# Devices on their own schedule send fewer requests: the breaker may
# need a few more seconds of the storm to open.
wait_for "the breaker to open" 30 \
	metric_gt 'grilld_breaker_transitions_total{breaker="thermoworks_firestore",to="open"}' 0
tw_clear
if [ $((n1 - n0)) -lt $((18 * (c1 - c0))) ]; then
	ok "a 429 storm gets fewer requests ($((n1 - n0)) in $((c1 - c0)) cycles)"
else
	not_ok "a 429 storm gets fewer requests" \
	    "$((n1 - n0)) requests in $((c1 - c0)) cycles of 18 documents"
fi
check "requests waited for the Retry-After" \
	metric_gt 'grilld_poller_http_held_total{endpoint="firestore"}' 0
check "the breaker opened on the 429s" \
	metric_gt 'grilld_breaker_transitions_total{breaker="thermoworks_firestore",to="open"}' 0

# Tokens revoked, and the sign-in that follows refused as too frequent:
# the refresh fails, the sign-in backs off and says why, then recovers.
s0=$(tw_stat .requests.signin.total)
tw_fault '{"kind":"too_many_attempts","endpoint":"signin"}'
tw_fault '{"kind":"revoke","reason":"INVALID_REFRESH_TOKEN"}'
wait_for "a throttled sign-in" 20 \
	metric_gt 'grilld_poller_signins_total{result="too_many_attempts"}' 0
check_match "not ready, and it says why" "not signed in: TOO_MANY_ATTEMPTS" \
	"$(ready_reason)"
sleep 2
s1=$(tw_stat .requests.signin.total)
if [ $((s1 - s0)) -le 4 ]; then
	ok "throttled sign-ins back off ($((s1 - s0)) tries for two accounts)"
else
	not_ok "throttled sign-ins back off" "$((s1 - s0)) tries"
fi
tw_clear
wait_for "ready again" 20 curl -sf "http://$POLLER_ADMIN/health/ready"
check "signed in again once the cloud lets it" \
	curl -sf "http://$POLLER_ADMIN/health/ready"

# A drifted document may round a double to an integer (the simulator
# does, as the cloud can): values are compared to within 0.5.
check_oracle "nothing lost through all of it" 0.5
check_no_duplicates "at the end"
check "tokens were refreshed before they expired" \
	metric_gt 'grilld_poller_token_refreshes_total{result="ok"}' 2
check "both accounts signed in again after the revoke" \
	metric_gt 'grilld_poller_signins_total{result="ok"}' 3

stop_pid "$PID_poller"
check_eq "grilld-poller exits 0 on SIGTERM" 0 "$?"
if grep -q 's3cret' "$T/poller.log"; then
	not_ok "no password in the log"
else
	ok "no password in the log"
fi
done_testing
