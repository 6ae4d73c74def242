#!/usr/bin/env bash
# Slow faults, short versions (docs/faults.md has the long ones, under
# make chaos): InfluxDB hung for several times ingest.claim_idle at a
# trickle of readings (the ingester must not claim its own held entries,
# poison and acknowledge them); every dead letter counted; `latest`
# never going back in time with several replicas; `latest` and events
# going on while InfluxDB hangs; a webhook receiver that hangs delaying
# no other.
. "$(dirname "$0")/lib.sh"

start_redis
start_influx
ports() {	# a fresh admin and nng address set for one replica
	local p
	p=($(freeport 3))
	export GRILLD_INGEST_ADMIN_LISTEN=127.0.0.1:${p[0]}
	export GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${p[1]}
	export GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:${p[2]}
	ADMIN=http://127.0.0.1:${p[0]}
}
add() {		# add DEVICE I: one reading, I seconds after a base
	redis_cli XADD grilld:readings '*' v 1 r "{\"device_id\":\"$1\",\"probe_id\":\"0\",\"temperature\":$((100 + $2)).5,\"timestamp\":$(($(date +%s) - 600 + $2))}" >/dev/null
}
points() {
	influx_query grilld "SELECT count(value) FROM raw.temperature WHERE device_id='$1'" |
		grep -o '"values":\[\[[0-9]*,[0-9]*' | sed 's/.*,//'
}
has_points() { [ "$(points "$1")" = "$2" ]; }
idle() {
	redis_cli XINFO GROUPS grilld:readings | tr '\n' ' ' | grep -q 'pending 0 .*lag 0'
}
metric() {	# metric NAME-AND-LABELS: its value, 0 when absent
	local v
	v=$(curl -s "$ADMIN/metrics" | grep -F "$1 " | head -1 | awk '{print $2}')
	echo "${v:-0}"
}

# --- InfluxDB hung for many claim_idle periods, at a trickle -------------
ports
GRILLD_INGEST_CONSUMER=slow GRILLD_INGEST_CLAIM_IDLE=1s GRILLD_INGEST_MAX_DELIVERIES=2 \
	GRILLD_INGEST_BATCH_SIZE=500 GRILLD_INGEST_BATCH_WAIT=100ms \
	start_daemon ingest "$ADMIN/health/ready" || bail "grilld-ingest starts"
add hung 0
wait_for "the first point" 10 has_points hung 1
kill -STOP "$INFLUX_PID"
# One reading goes to the writer, which hangs; the next ones wait in the
# batch being filled, pending in this consumer, for many claim periods.
for i in 1 2 3 4; do
	add hung "$i"
	sleep 0.5
done
sleep 8
kill -CONT "$INFLUX_PID"
wait_for "catch-up" 30 has_points hung 5
wait_for "acknowledged" 15 idle
check_eq "InfluxDB hung 8 s with claim_idle 1 s: every reading stored once" 5 "$(points hung)"
check "and acknowledged" idle
check_eq "nothing dead-lettered" 0 "$(redis_cli XLEN grilld:deadletter)"
check_eq "the ingester claimed nothing from itself" 0 \
	"$(metric 'grilld_ingest_entries_read_total{how="claimed"}')"
check_eq "and read each entry once" 5 \
	"$(metric 'grilld_ingest_entries_read_total{how="new"}')"
check "no claim 'from another consumer' logged" bash -c "! grep -q 'from another consumer' '$T/ingest.log'"
stop_pid "$PID_ingest"

# --- every dead letter is counted --------------------------------------
redis_cli DEL grilld:deadletter >/dev/null
ports
GRILLD_INGEST_CONSUMER=poison-a GRILLD_INGEST_BATCH_WAIT=1m \
	start_daemon ingest "$ADMIN/health/ready" || bail "replica a starts"
A=$PID_ingest
redis_cli XADD grilld:readings '*' v 1 r '{"device_id":"poison","temperature":70}' >/dev/null
held() { redis_cli XPENDING grilld:readings ingest - + 10 poison-a | grep -q '^[0-9]*-[0-9]*$'; }
wait_for "replica a holds it" 10 held
kill -KILL "$A"
wait "$A" 2>/dev/null
ports
GRILLD_INGEST_CONSUMER=poison-b GRILLD_INGEST_CLAIM_IDLE=1s GRILLD_INGEST_MAX_DELIVERIES=1 \
	start_daemon ingest "$ADMIN/health/ready" || bail "replica b starts"
dead1() { [ "$(redis_cli XLEN grilld:deadletter)" = 1 ]; }
wait_for "dead letter" 20 dead1
check_eq "a dead letter for max_deliveries is counted in rejected_total" 1 \
	"$(metric 'grilld_ingest_rejected_total{reason="max_deliveries"}')"
stop_pid "$PID_ingest"

# --- live data does not wait for InfluxDB ---------------------------------
ports
GRILLD_INGEST_CONSUMER=live start_daemon ingest "$ADMIN/health/ready" ||
	bail "replica live starts"
kill -STOP "$INFLUX_PID"
ev0=$(redis_cli XLEN grilld:events)
add live 10
add live 11
live_latest() { redis_cli HGET grilld:latest live/0 | jq -e '.temperature == 111.5' >/dev/null; }
live_events() { [ "$(redis_cli XLEN grilld:events)" -ge $((ev0 + 2)) ]; }
wait_for "latest, InfluxDB hung" 5 live_latest
check "InfluxDB hung: latest is updated within seconds" live_latest
wait_for "events, InfluxDB hung" 5 live_events
check "and the events stream too" live_events
check "while nothing is acknowledged" bash -c \
	"! redis-cli -p $REDIS_PORT XINFO GROUPS grilld:readings | tr '\n' ' ' | grep -q 'pending 0 '"
kill -CONT "$INFLUX_PID"
wait_for "stored" 30 has_points live 2
wait_for "acknowledged" 15 idle
check_eq "InfluxDB back: stored" 2 "$(points live)"
check "and acknowledged" idle
stop_pid "$PID_ingest"

# --- latest never goes back with several replicas ------------------------
# Replica e stores a newer reading; replica f, which never saw it,
# stores an older one of the same probe afterwards.
ports
GRILLD_INGEST_CONSUMER=latest-e start_daemon ingest "$ADMIN/health/ready" ||
	bail "replica e starts"
add back 300
latest_is() { redis_cli HGET grilld:latest back/0 | jq -e ".temperature == $1" >/dev/null; }
wait_for "latest" 10 latest_is 400.5
stop_pid "$PID_ingest"
ports
GRILLD_INGEST_CONSUMER=latest-f start_daemon ingest "$ADMIN/health/ready" ||
	bail "replica f starts"
add back 100
wait_for "the older one stored" 10 has_points back 2
wait_for "acknowledged" 10 idle
check "latest keeps the newer reading when another replica stores an older one" \
	latest_is 400.5
stop_pid "$PID_ingest"

# --- a webhook receiver that hangs delays no other -----------------------
h=($(freeport 2))
start_hookrecv "127.0.0.1:${h[0]}" "$T/hung.log" || bail "hookrecv starts"
HUNG=$HOOKRECV_PID
start_hookrecv "127.0.0.1:${h[1]}" "$T/alive.log" || bail "hookrecv starts"
kill -STOP "$HUNG"		# accepts connections, never answers
ports
cat >"$T/hooks.yaml" <<YAML
ingest:
  batch_wait: 100ms
  consumer: hooks
  webhooks:
    - url: http://127.0.0.1:${h[0]}/hung
      secret: grilld-test-secret-0123456789
    - url: http://127.0.0.1:${h[1]}/alive
      secret: grilld-test-secret-0123456789
YAML
chmod 600 "$T/hooks.yaml"
redis_cli HSET grilld:rules hot '{"id":"hot","kind":"above","device_id":"hook","probe_id":"0","threshold":150}' >/dev/null
redis_cli INCR grilld:rules:version >/dev/null
start_daemon ingest "$ADMIN/health/ready" -f "$T/hooks.yaml" ||
	bail "grilld-ingest starts with two webhooks"
rules1() { curl -s "$ADMIN/health/ready" | grep -q '"rules":1,'; }
wait_for "the rule" 10 rules1
add hook 100			# 200.5: above 150
alive_got() { grep -q '^204' "$T/alive.log"; }
wait_for "the live receiver" 5 alive_got
check "one receiver hangs: the other gets its alert within seconds" alive_got
stop_pid "$PID_ingest"
# Each receiver's stream in Redis: the live one's delivered, emptied.
kept() {
	local q n=0
	for q in $(redis_cli --scan --pattern 'grilld:webhooks:q:*'); do
		n=$((n + $(redis_cli XLEN "$q")))
	done
	echo "$n"
}
check_eq "stopped: what the hung receiver did not get is kept" 1 "$(kept)"
kill -CONT "$HUNG"
ports
start_daemon ingest "$ADMIN/health/ready" -f "$T/hooks.yaml" ||
	bail "grilld-ingest starts again"
# Counted by the new process alone: the request cut short at the stop
# may still be answered by the receiver once it runs again.
hung_got() { [ "$(metric 'grilld_ingest_webhooks_total{result="delivered"}')" = 1 ]; }
wait_for "the kept delivery" 15 hung_got
check "started again: the kept delivery reaches it" hung_got
drained() { [ "$(kept)" = 0 ]; }
wait_for "the stream to drain" 5 drained
check_eq "and is no longer kept" 0 "$(kept)"
stop_pid "$PID_ingest"
done_testing
