#!/usr/bin/env bash
# grilld-ingest against real Redis and InfluxDB: good readings are
# stored, published and acknowledged; every kind of bad entry lands in
# the dead-letter stream with its reason and is counted, while the good
# ones go on; a replayed entry is one point; a point InfluxDB refuses
# (400) is dead-lettered and its batch still stored.
. "$(dirname "$0")/lib.sh"

start_redis
start_influx
p=($(freeport 3))
export GRILLD_INGEST_ADMIN_LISTEN=127.0.0.1:${p[0]}
export GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${p[1]}
export GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:${p[2]}
export GRILLD_INGEST_BATCH_WAIT=300ms
ADMIN=http://127.0.0.1:${p[0]}
start_daemon ingest "$ADMIN/health/ready" || bail "grilld-ingest starts and is ready"
ok "grilld-ingest starts and is ready"

now=$(date +%s)
xadd() { redis_cli XADD grilld:readings '*' v "${2:-1}" r "$1" >/dev/null; }
points() {	# points WHERE: the count of value in raw
	influx_query grilld "SELECT count(value) FROM raw.temperature WHERE $1" |
		grep -o '"values":\[\[[0-9-]*,[0-9]*' | sed 's/.*,//'
}
has_points() { [ "$(points "$1")" = "$2" ]; }
dead() { redis_cli XLEN grilld:deadletter; }
dead_over() { [ "$(dead)" -gt "$1" ]; }
acked() {	# nothing pending in the group
	redis_cli XINFO GROUPS grilld:readings | tr '\n' ' ' | grep -q 'pending 0 '
}

xadd "{\"device_id\":\"good\",\"probe_id\":\"1\",\"temperature\":225.5,\"unit\":\"F\",\"timestamp\":$((now - 30)),\"battery_level\":90}"
xadd "{\"device_id\":\"good\",\"probe_id\":\"2\",\"temperature\":41.5,\"unit\":\"H\",\"timestamp\":$((now - 30))}"

# One entry per rejection reason, the good ones in between.
bad=(
	"bad_layout|2|{\"device_id\":\"x\",\"temperature\":1}"
	"bad_utf8|1|{\"device_id\":\"x$(printf '\xff\xfe')\",\"temperature\":1}"
	"bad_json|1|garbage{"
	"bad_json|1|{\"device_id\":\"x\",\"temperature\":NaN}"
	"missing_id|1|{\"temperature\":70,\"unit\":\"F\"}"
	"bad_id|1|{\"device_id\":\"a\\u0007b\",\"temperature\":70}"
	"bad_value|1|{\"device_id\":\"x\",\"temperature\":\"NaN\"}"
	"bad_value|1|{\"device_id\":\"x\",\"temperature\":1e999}"
	"bad_value|1|{\"device_id\":\"x\",\"unit\":\"F\"}"
	"bad_unit|1|{\"device_id\":\"x\",\"temperature\":70,\"unit\":\"Q\"}"
	"bad_timestamp|1|{\"device_id\":\"x\",\"temperature\":70,\"timestamp\":\"yesterday\"}"
	"future|1|{\"device_id\":\"x\",\"temperature\":70,\"timestamp\":$((now + 3600))}"
	"too_old|1|{\"device_id\":\"x\",\"temperature\":70,\"timestamp\":$((now - 8 * 86400))}"
	"out_of_range|1|{\"device_id\":\"x\",\"temperature\":1500,\"unit\":\"F\"}"
	"out_of_range|1|{\"device_id\":\"x\",\"temperature\":130,\"unit\":\"H\"}"
	"bad_field|1|{\"device_id\":\"x\",\"temperature\":70,\"battery_level\":300}"
)
for b in "${bad[@]}"; do
	IFS='|' read -r reason v json <<<"$b"
	xadd "$json" "$v"
	xadd "{\"device_id\":\"good\",\"probe_id\":\"3\",\"temperature\":$((100 + ${#json} % 50)).25,\"timestamp\":$((now - 20)).${#json}$RANDOM}"
done
redis_cli XADD grilld:readings '*' r '{"device_id":"x","temperature":1}' >/dev/null
n_bad=$((${#bad[@]} + 1))

wait_for "dead letters" 20 dead_over $((n_bad - 1))
check_eq "every bad entry is dead-lettered" "$n_bad" "$(dead)"
reasons=$(redis_cli --no-raw XRANGE grilld:deadletter - + | awk '/"reason"/ { getline; gsub(/[0-9]+\) |"/, ""); print $1 }' | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
check_eq "each with its reason" "bad_field=1 bad_id=1 bad_json=2 bad_layout=2 bad_timestamp=1 bad_unit=1 bad_utf8=1 bad_value=3 future=1 missing_id=1 out_of_range=2 too_old=1 " "$reasons"
metrics=$(curl -s "$ADMIN/metrics")
for r in bad_layout:2 bad_utf8:1 bad_json:2 missing_id:1 bad_id:1 bad_value:3 bad_unit:1 bad_timestamp:1 future:1 too_old:1 out_of_range:2 bad_field:1; do
	check_match "rejections counted: ${r%:*}" "grilld_ingest_rejected_total\{reason=\"${r%:*}\"\} ${r#*:}" "$metrics"
done
first=$(redis_cli XRANGE grilld:deadletter - + COUNT 1)
check_match "a dead letter keeps the entry, its id, the reason and the detail" \
	'reason.bad_layout.src.[0-9]+-[0-9]+.r.\{"device_id":"x","temperature":1\}.error.unknown layout version' \
	"$(echo "$first" | tr '\n' '.')"

wait_for "good readings stored" 20 has_points "device_id='good'" $((2 + ${#bad[@]}))
check_eq "the good readings between the bad ones are stored" $((2 + ${#bad[@]})) "$(points "device_id='good'")"
wait_for "acknowledged" 10 acked
check "and every entry is acknowledged" acked
check_eq "nothing bad reached InfluxDB" "" "$(points "device_id='x'")"

# Stored readings: both values, latest, events.
row=$(influx_query grilld "SELECT value, value_c, humidity, battery FROM raw.temperature WHERE device_id='good'")
check_match "value as measured and canonical Celsius" '225.5,107.5' "$row"
check_match "humidity kept as measured" '41.5' "$row"
latest=$(redis_cli HGET grilld:latest good/1)
check_match "latest holds the newest reading of the probe" '"device_id":"good","probe_id":"1","temperature":225.5,"unit":"F"' "$latest"
ev=$(redis_cli XREVRANGE grilld:events + - COUNT 200 | tr '\n' ' ')
check_match "the events stream holds readings and device changes" 't reading d good j \{"device_id":"good"' "$ev"
check_match "... device online" 't device d good j \{"device_id":"good","state":"online"' "$ev"

# Idempotency: the same entry twice is one point.
same="{\"device_id\":\"twice\",\"probe_id\":\"1\",\"temperature\":180.5,\"timestamp\":$((now - 10)).5}"
xadd "$same"
xadd "$same"
wait_for "replay stored" 10 has_points "device_id='twice'" 1
wait_for "acknowledged" 10 acked
check_eq "an entry replayed twice is one point" 1 "$(points "device_id='twice'")"

# A point InfluxDB refuses: label written as an integer beforehand makes
# the string label of "conflict" a field type conflict (400).
ts=$(( (now - 5) * 1000000000 ))
curl -s -XPOST "$INFLUX_URL/write?db=grilld&rp=raw" --data-binary "temperature,device_id=seed label=7i $ts" >/dev/null
before=$(dead)
for i in 1 2 3; do
	xadd "{\"device_id\":\"batch\",\"probe_id\":\"$i\",\"temperature\":150,\"timestamp\":$((now - 5))}"
done
xadd "{\"device_id\":\"conflict\",\"probe_id\":\"1\",\"temperature\":150,\"label\":\"brisket\",\"timestamp\":$((now - 5))}"
for i in 4 5; do
	xadd "{\"device_id\":\"batch\",\"probe_id\":\"$i\",\"temperature\":150,\"timestamp\":$((now - 5))}"
done
wait_for "influx rejection" 20 dead_over "$before"
check_match "a point InfluxDB refuses is dead-lettered as influx_rejected" \
	'reason.influx_rejected.src.[0-9-]+.r.\{"device_id":"conflict".*error.InfluxDB refused the point.*field type conflict' \
	"$(redis_cli XREVRANGE grilld:deadletter + - COUNT 1 | tr '\n' '.')"
wait_for "rest of the batch" 10 has_points "device_id='batch'" 5
check_eq "and the rest of its batch is stored" 5 "$(points "device_id='batch'")"
wait_for "acknowledged" 10 acked
check "and acknowledged" acked
check_match "InfluxDB answers are counted by status" \
	'grilld_ingest_influx_answers_total\{status="400"\} [1-9]' "$(curl -s "$ADMIN/metrics")"

health=$(curl -s "$ADMIN/health/ready")
check_match "ready names the last write and the oldest unacknowledged reading" \
	'"status":"ready".*"oldest_unacked_age_s":[0-9.]+.*"last_write":\{"result":"ok","status":204' "$health"
check "ingest still answers" curl -sf "$ADMIN/health/live"
stop_pid "$PID_ingest"
check_eq "and stops cleanly" 0 "$?"
done_testing
