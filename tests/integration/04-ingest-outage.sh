#!/usr/bin/env bash
# Failures: InfluxDB stopped in the middle of a load and started again
# (nothing acknowledged meanwhile, nothing lost, nothing duplicated); a
# replica killed with kill -9 while it holds a batch (another one claims
# its entries and stores them); an entry that kills every replica that
# reads it (dead-lettered after max_deliveries); Redis restarted empty
# (the group is created again and ingestion goes on).
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
load() {	# load DEVICE FROM COUNT: readings a millisecond apart
	awk -v dev="$1" -v from="$2" -v n="$3" -v now="$(date +%s)" '
	BEGIN {
		for (i = from; i < from + n; i++) {
			r = sprintf("{\"device_id\":\"%s\",\"probe_id\":\"%d\"," \
			    "\"temperature\":%d.5,\"timestamp\":%d.%03d}", dev,
			    i % 4, 100 + i % 50, now - 600 + int(i / 1000), i % 1000)
			printf "*7\r\n$4\r\nXADD\r\n$15\r\ngrilld:readings\r\n$1\r\n*\r\n" \
			    "$1\r\nv\r\n$1\r\n1\r\n$1\r\nr\r\n$%d\r\n%s\r\n", length(r), r
		}
	}' | redis-cli -p "$REDIS_PORT" --pipe >/dev/null
}
points() {
	influx_query grilld "SELECT count(value) FROM raw.temperature WHERE device_id='$1'" |
		grep -o '"values":\[\[[0-9]*,[0-9]*' | sed 's/.*,//'
}
has_points() { [ "$(points "$1")" = "$2" ]; }
some_points() { [ "$(points "$1")" -gt 0 ] 2>/dev/null; }
idle() {
	redis_cli XINFO GROUPS grilld:readings | tr '\n' ' ' | grep -q 'pending 0 .*lag 0'
}
pending_of() {	# pending_of CONSUMER N
	redis_cli XPENDING grilld:readings ingest - + 100000 "$1" | grep -c '^[0-9]*-[0-9]*$' |
		grep -qx "$2"
}

# --- InfluxDB stopped mid-load -------------------------------------------
ports
export GRILLD_INGEST_BATCH_SIZE=500 GRILLD_INGEST_BATCH_WAIT=100ms
start_daemon ingest "$ADMIN/health/ready" || bail "grilld-ingest starts"
load outage 0 2000
wait_for "the first points" 10 some_points outage
kill -TERM "$INFLUX_PID"
wait "$INFLUX_PID" 2>/dev/null
load outage 2000 2000
not_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/health/ready")" = 503 ]; }
wait_for "not ready" 15 not_ready
check "InfluxDB down: /health/ready says 503" not_ready
# The write in flight when influxd got TERM may be answered 500 by the
# stopping server; every one after it finds no server (status 0).
check_match "and why: the last write failed" \
	'"influxdb":"failing".*"last_write":\{"result":"failed","status":(0|5[0-9][0-9])' \
	"$(curl -s "$ADMIN/health/ready")"
check "nothing is acknowledged while InfluxDB is down" bash -c \
	"! redis-cli -p $REDIS_PORT XINFO GROUPS grilld:readings | tr '\n' ' ' | grep -q 'pending 0 .*lag 0'"
sleep 2		# an outage of a few seconds, retries behind the breaker
stack_influx_run 20 || bail "influxd restarts"
wait_for "catch-up" 30 has_points outage 4000
wait_for "acknowledged" 10 idle
check_eq "InfluxDB back: nothing lost, nothing duplicated" 4000 "$(points outage)"
check "everything acknowledged" idle
check_eq "nothing dead-lettered" 0 "$(redis_cli XLEN grilld:deadletter)"
check_match "the breaker opened and closed again" \
	'grilld_breaker_transitions_total\{breaker="influx",to="closed"\} [1-9]' "$(curl -s "$ADMIN/metrics")"
wait_for "ready" 10 curl -sf "$ADMIN/health/ready"
check "ready again" curl -sf "$ADMIN/health/ready"
trimmed() { [ "$(redis_cli XLEN grilld:readings)" -lt 1000 ]; }
wait_for "trim" 15 trimmed
check "what every group processed is trimmed from the stream" trimmed
stop_pid "$PID_ingest"

# --- a replica killed with kill -9 while it holds a batch ----------------
ports
GRILLD_INGEST_CONSUMER=replica-a GRILLD_INGEST_BATCH_SIZE=100000 \
	GRILLD_INGEST_BATCH_WAIT=1m start_daemon ingest "$ADMIN/health/ready" ||
	bail "replica a starts"
A=$PID_ingest
load killed 0 300
wait_for "replica a holds the batch" 10 pending_of replica-a 300
check "replica a holds 300 entries, unacknowledged" pending_of replica-a 300
kill -KILL "$A"
wait "$A" 2>/dev/null
ports
GRILLD_INGEST_CONSUMER=replica-b GRILLD_INGEST_CLAIM_IDLE=1s \
	start_daemon ingest "$ADMIN/health/ready" || bail "replica b starts"
wait_for "claimed and stored" 20 has_points killed 300
wait_for "acknowledged" 10 idle
check_eq "replica b claimed them and stored them all" 300 "$(points killed)"
check "and acknowledged them" idle
check_match "as claimed entries" 'grilld_ingest_entries_read_total\{how="claimed"\} 300' \
	"$(curl -s "$ADMIN/metrics")"
check_eq "none dead-lettered" 0 "$(redis_cli XLEN grilld:deadletter)"
stop_pid "$PID_ingest"

# --- poison: an entry that took down every replica that read it ----------
ports
GRILLD_INGEST_CONSUMER=replica-c GRILLD_INGEST_BATCH_WAIT=1m \
	start_daemon ingest "$ADMIN/health/ready" || bail "replica c starts"
C=$PID_ingest
redis_cli XADD grilld:readings '*' v 1 r '{"device_id":"poison","temperature":70}' >/dev/null
wait_for "replica c holds it" 10 pending_of replica-c 1
kill -KILL "$C"
wait "$C" 2>/dev/null
ports
GRILLD_INGEST_CONSUMER=replica-d GRILLD_INGEST_CLAIM_IDLE=1s GRILLD_INGEST_MAX_DELIVERIES=1 \
	start_daemon ingest "$ADMIN/health/ready" || bail "replica d starts"
dead1() { [ "$(redis_cli XLEN grilld:deadletter)" = 1 ]; }
wait_for "dead letter" 20 dead1
check_match "delivered more than max_deliveries times: dead-lettered, not retried" \
	'reason.max_deliveries.src.[0-9-]+.r.\{"device_id":"poison".*error.delivered 1 times' \
	"$(redis_cli XRANGE grilld:deadletter - + | tr '\n' '.')"
wait_for "acknowledged" 10 idle
check "and acknowledged" idle

# --- Redis restarted empty ------------------------------------------------
kill -TERM "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null
stack_redis_run 10 || bail "redis-server restarts"
load after 0 50
wait_for "stored after the restart" 20 has_points after 50
check_eq "Redis restarted empty: the group comes back, ingestion goes on" 50 "$(points after)"
check_match "and the loss is counted" 'grilld_ingest_redis_resets_total 1' "$(curl -s "$ADMIN/metrics")"
check_match "and said" 'redis lost the stream grilld:readings or its group' "$(cat "$T/ingest.log")"
stop_pid "$PID_ingest"
check_eq "grilld-ingest stops cleanly" 0 "$?"
done_testing
