#!/usr/bin/env bash
# Alert rules from Redis against real readings: every rule kind with a
# value hovering at its threshold fires once, re-arms, follows a rule
# change without a restart, keeps quiet while snoozed and announces when
# the snooze ends; acknowledgements are dropped when an alert clears.
# Alerts reach a webhook receiver, signed (HMAC-SHA256, checked here
# with openssl) and retried after a failure. Anomaly flags travel with
# the readings into InfluxDB.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/hooks.sh"

start_redis
start_influx
hook_ingest_conf
start_hookrecv "$HOOK" "$T/hooks.log" -f 1 || bail "hookrecv starts"
start_daemon ingest "$ADMIN/health/ready" -f "$T/ingest.yaml" ||
	bail "grilld-ingest starts with webhooks"

now=$(date +%s)
seq_ts=$((now - 900))
rd() {	# rd DEVICE PROBE TEMP [EXTRA JSON]: one reading, a second later
	seq_ts=$((seq_ts + 1))
	redis_cli XADD grilld:readings '*' v 1 r "{\"device_id\":\"$1\",\"probe_id\":\"$2\",\"temperature\":$3,\"timestamp\":$seq_ts${4:+,$4}}" >/dev/null
}
idle() {	# everything read, published and acknowledged
	redis_cli XINFO GROUPS grilld:readings | tr '\n' ' ' | grep -q 'pending 0 .*lag 0'
}
settle() { wait_for "ingest to catch up" 10 idle; }
alerts() {	# alerts RULE STATE: how many such events the alerts stream holds
	redis_cli XRANGE grilld:alerts - + | grep -c "\"rule_id\":\"$1\",\"kind\":\"[a-z_]*\",\"state\":\"$2\""
}
alerts_are() { [ "$(alerts "$1" "$2")" = "$3" ]; }
rule() { redis_cli HSET grilld:rules "$1" "$2" >/dev/null; }

rule hot '{"id":"hot","kind":"above","device_id":"grill","probe_id":"1","threshold":225}'
rule cold '{"id":"cold","kind":"below","device_id":"grill","probe_id":"2","threshold":40,"unit":"C","hysteresis":1}'
rule done '{"id":"done","kind":"target","device_id":"grill","probe_id":"3","threshold":203}'
rule batt '{"id":"batt","kind":"battery_low","device_id":"grill","threshold":20}'
rule gone '{"id":"gone","kind":"disconnected","device_id":"grill","probe_id":"4","after":"1h"}'
rule off '{"id":"off","kind":"offline","device_id":"away","after":"2s"}'
rule fast '{"id":"fast","kind":"rise_rate","device_id":"grill","probe_id":"5","threshold":60}'
rule broken '{"id":"broken","kind":"above","device_id":"grill"}'
redis_cli INCR grilld:rules:version >/dev/null
wait_for "rules" 10 rules_loaded 7
check "the rules are loaded without a restart (the broken one skipped)" rules_loaded 7

for v in 224 226 224.5 225.5 224 226; do rd grill 1 "$v"; done
for v in 40.5 39.5 40.3 39.8 40.9; do rd grill 2 "$v" '"unit":"C"'; done
for v in 202 203.5 202.5 203.2; do rd grill 3 "$v"; done
for b in 19 21 18 22; do rd grill 6 70 "\"battery_level\":$b"; done
rd grill 4 null '"status":"NO PROBE"'
rd grill 4 75
rd grill 4 null
for v in 100 110 120 130 140 150 160; do rd grill 5 "$v"; done
rd away 1 70
settle
wait_for "offline" 10 alerts_are off firing 1
check_eq "above, hovering at 225 F: one alert" 1 "$(alerts hot firing)"
check_eq "below, hovering at 40 C: one alert" 1 "$(alerts cold firing)"
check_eq "target reached, hovering: one alert" 1 "$(alerts done firing)"
check_eq "battery low, hovering at 20 %: one alert" 1 "$(alerts batt firing)"
check_eq "probe disconnected twice: two alerts" 2 "$(alerts gone firing)"
check_eq "... and connected again between them" 1 "$(alerts gone cleared)"
check_eq "rising faster than 60 F/min: one alert" 1 "$(alerts fast firing)"
check_eq "device offline after 2 s of silence: one alert" 1 "$(alerts off firing)"
check_eq "no clear while hovering in the band" 0 "$(alerts hot cleared)"

# Re-arm: back under 225 - 2, then above again.
rd grill 1 222.9
rd grill 1 228
settle
check_eq "cleared past the hysteresis" 1 "$(alerts hot cleared)"
check_eq "re-armed: fires again" 2 "$(alerts hot firing)"
check_match "an alert event says what happened" \
	'"alert_id":"[0-9a-f]{16}","rule_id":"hot","kind":"above","state":"firing","device_id":"grill","probe_id":"1","name":"hot","message":"hot: probe 1 of grill is above 225 F \(228 F\)","state_key":"hot/grill/1"' \
	"$(redis_cli XREVRANGE grilld:alerts + - COUNT 20 | grep '"rule_id":"hot"' | head -1)"
check_match "the same event in the events stream" 't.alert.d.grill.j.\{"alert_id"' \
	"$(redis_cli XREVRANGE grilld:events + - COUNT 100 | tr '\n' '.')"
check_match "alertstate holds the firing instance" '"rule_id":"hot","kind":"above","device_id":"grill","probe_id":"1","state":"firing"' \
	"$(redis_cli HGET grilld:alertstate hot/grill/1)"

# A rule change takes effect without a restart: the firing alert of the
# old rule clears, the new threshold applies.
rule hot '{"id":"hot","kind":"above","device_id":"grill","probe_id":"1","threshold":300}'
redis_cli INCR grilld:rules:version >/dev/null
wait_for "rule change" 10 alerts_are hot cleared 2
check_eq "a changed rule clears what its old version fired" 2 "$(alerts hot cleared)"
rd grill 1 250
settle
check_eq "the new threshold holds" 2 "$(alerts hot firing)"
rd grill 1 305
settle
check_eq "and fires past it" 3 "$(alerts hot firing)"

# Acknowledged, then cleared: the acknowledgement goes with the alert.
id=$(redis_cli HGET grilld:alertstate hot/grill/1 | grep -o '"alert_id":"[0-9a-f]*"')
redis_cli HSET grilld:alertstate 'hot/grill/1#ack' "{$id,\"by\":\"test\"}" >/dev/null
rd grill 1 200
settle
check_eq "cleared" 3 "$(alerts hot cleared)"
check_eq "its acknowledgement is dropped" 0 "$(redis_cli HEXISTS grilld:alertstate 'hot/grill/1#ack')"

# Snoozed: fires silently; announced when the snooze is lifted.
until=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
redis_cli HSET grilld:alertstate 'hot/grill/1#snooze' "{\"until\":\"$until\"}" >/dev/null
rd grill 1 310
settle
check_eq "no alert while snoozed" 3 "$(alerts hot firing)"
check_match "but the state says firing, not announced" '"state":"firing".*"notified":false' \
	"$(redis_cli HGET grilld:alertstate hot/grill/1)"
redis_cli HDEL grilld:alertstate 'hot/grill/1#snooze' >/dev/null
wait_for "snooze end" 10 alerts_are hot firing 4
check_eq "announced once the snooze is over" 4 "$(alerts hot firing)"

# Webhooks: every announced alert, signed; the first try failed (500)
# and was retried.
announced=$(redis_cli XLEN grilld:alerts)
delivered() { [ "$(grep -c '^204' "$T/hooks.log")" -ge "$announced" ]; }
wait_for "webhooks" 20 delivered
check "every announced alert reached the webhook" delivered
check_match "the first delivery failed and was retried" '^500' "$(head -1 "$T/hooks.log")"
first_id=$(head -1 "$T/hooks.log" | cut -f3)
check_eq "with the same delivery id" 204 \
	"$(awk -F'\t' -v id="$first_id" '$3 == id { s = $1 } END { print s }' "$T/hooks.log")"
bad_sigs=0
while IFS=$'\t' read -r status sig del body; do
	want=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$SECRET" | awk '{ print $2 }')
	[ "$sig" = "sha256=$want" ] || bad_sigs=$((bad_sigs + 1))
done <"$T/hooks.log"
check_eq "every body is signed: X-Grilld-Signature sha256=HMAC" 0 "$bad_sigs"
check_match "webhook deliveries are counted" 'grilld_ingest_webhooks_total\{result="delivered"\} [1-9]' \
	"$(curl -s "$ADMIN/metrics")"
check_match "alerts are counted by kind" 'grilld_ingest_alerts_total\{kind="above",state="firing"\} 4' \
	"$(curl -s "$ADMIN/metrics")"

# Anomaly flags: a spike (z-score) and an impossible jump (rate).
for i in $(seq 1 15); do rd spiky 1 "10$((i % 2))"; done
rd spiky 1 115
rd jumpy 1 20 '"unit":"C"'
rd jumpy 1 400 '"unit":"C"'
settle
flags() {
	influx_query grilld "SELECT flags FROM raw.temperature WHERE device_id='$1' ORDER BY time DESC LIMIT 1" |
		grep -o '"values":\[\[[0-9]*,[0-9]*' | sed 's/.*,//'
}
check_eq "a spike is stored with the z-score flag" 1 "$(flags spiky)"
check_eq "a jump no probe can make is flagged as a rate anomaly" 2 "$(flags jumpy)"
check_match "flags travel with the live event" '"device_id":"jumpy","probe_id":"1","temperature":400.*"flags":2' \
	"$(redis_cli XREVRANGE grilld:events + - COUNT 5)"
check_match "and are counted" 'grilld_ingest_anomalies_total\{flag="zscore"\} [1-9]' "$(curl -s "$ADMIN/metrics")"

stop_pid "$PID_ingest"
check_eq "grilld-ingest stops cleanly" 0 "$?"
done_testing
