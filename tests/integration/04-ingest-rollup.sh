#!/usr/bin/env bash
# InfluxDB set up by grilld-ingest, idempotently: the database, the
# retention policies raw (default), hourly, daily, monthly, and the
# continuous queries that roll raw into hourly into daily into monthly.
# Readings spanning the last three hours really fill the whole chain
# (the service grilld replaces wrote to the wrong policy and its
# roll-ups stayed empty). Continuous queries only look back RESAMPLE
# FOR, so the points are recent and the run interval short.
export INFLUX_CQ_INTERVAL=1s
. "$(dirname "$0")/lib.sh"

start_redis
start_influx
p=($(freeport 3))
export GRILLD_INGEST_ADMIN_LISTEN=127.0.0.1:${p[0]}
export GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${p[1]}
export GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:${p[2]}
export GRILLD_INGEST_BATCH_WAIT=100ms GRILLD_INGEST_CQ_INTERVAL=1s
ADMIN=http://127.0.0.1:${p[0]}
start_daemon ingest "$ADMIN/health/ready" || bail "grilld-ingest starts"

q() { influx_query grilld "$1"; }
rps=$(q 'SHOW RETENTION POLICIES ON grilld')
check_match "raw keeps 7 days and is the default" '\["raw","168h0m0s","[0-9hms]+",1,true\]' "$rps"
check_match "hourly keeps 90 days" '\["hourly","2160h0m0s","[0-9hms]+",1,false\]' "$rps"
check_match "daily keeps 2 years" '\["daily","17520h0m0s","[0-9hms]+",1,false\]' "$rps"
check_match "monthly keeps everything" '\["monthly","0s","[0-9hms]+",1,false\]' "$rps"
cqs=$(q 'SHOW CONTINUOUS QUERIES')
check_match "raw rolls into hourly" 'grilld_hourly ON grilld RESAMPLE EVERY 1s FOR 6h BEGIN SELECT mean\(value\) AS value, min\(value\) AS value_min, max\(value\) AS value_max, count\(value\) AS value_count.* INTO grilld.hourly.temperature FROM grilld.raw.temperature GROUP BY time\(1h\), \* END' "$cqs"
check_match "hourly rolls into daily" 'INTO grilld.daily.temperature FROM grilld.hourly.temperature GROUP BY time\(1d\)' "$cqs"
check_match "daily rolls into monthly" 'INTO grilld.monthly.temperature FROM grilld.daily.temperature GROUP BY time\(30d\)' "$cqs"

# 19 readings, every 10 minutes over the last three hours.
now=$(date +%s)
n=0
for i in $(seq 0 18); do
	ts=$((now - 3 * 3600 + i * 600))
	redis_cli XADD grilld:readings '*' v 1 r "{\"device_id\":\"smoker\",\"probe_id\":\"1\",\"temperature\":$((200 + i)),\"timestamp\":$ts}" >/dev/null
	n=$((n + 1))
done
total() {	# total RP: sum of the counts rolled up into RP
	q "SELECT sum(value_count) FROM $1.temperature WHERE device_id='smoker'" |
		grep -o '"values":\[\[[0-9]*,[0-9]*' | sed 's/.*,//'
}
raw_count() {
	q "SELECT count(value) FROM raw.temperature WHERE device_id='smoker'" |
		grep -o '"values":\[\[[0-9]*,[0-9]*' | sed 's/.*,//'
}
filled() { [ "$(total "$1")" = "$n" ]; }
stored() { [ "$(raw_count)" = "$n" ]; }
wait_for "raw" 10 stored
check_eq "raw holds every reading" "$n" "$(raw_count)"
wait_for "hourly" 20 filled hourly
check_eq "hourly holds every reading" "$n" "$(total hourly)"
wait_for "daily" 20 filled daily
check_eq "daily holds every reading" "$n" "$(total daily)"
wait_for "monthly" 20 filled monthly
check_eq "monthly holds every reading" "$n" "$(total monthly)"
rows=$(q "SELECT value, value_min, value_max, value_count FROM hourly.temperature WHERE device_id='smoker'")
check_match "hourly rows have mean, min, max and count, by tag" '"columns":\["time","value","value_min","value_max","value_count"\]' "$rows"
check_match "and the tags survive the roll-up" 'smoker' \
	"$(q "SHOW TAG VALUES FROM monthly.temperature WITH KEY = device_id")"

# Idempotent: a restart changes nothing; a new interval replaces the CQs.
stop_pid "$PID_ingest"
start_daemon ingest "$ADMIN/health/ready" || bail "grilld-ingest starts again"
check_eq "a restart keeps one set of continuous queries" 3 \
	"$(q 'SHOW CONTINUOUS QUERIES' | grep -o 'grilld_[a-z]*","CREATE' | wc -l)"
check "and says nothing was replaced" bash -c "! grep -q replaced '$T/ingest.log'"
stop_pid "$PID_ingest"
GRILLD_INGEST_CQ_INTERVAL=2s start_daemon ingest "$ADMIN/health/ready" || bail "starts with another interval"
check_match "another interval replaces them" 'RESAMPLE EVERY 2s FOR 6h' "$(q 'SHOW CONTINUOUS QUERIES')"
check_eq "still three" 3 "$(q 'SHOW CONTINUOUS QUERIES' | grep -o 'grilld_[a-z]*","CREATE' | wc -l)"
stop_pid "$PID_ingest"
check_eq "grilld-ingest stops cleanly" 0 "$?"
done_testing
