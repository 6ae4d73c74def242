# Questions the fault suite asks the chain (sourced by chaos.sh): the
# simulator's oracle, what InfluxDB holds, the daemons' metrics and the
# consumer group. Each prints one value and never fails the run: a
# process that is down answers 0 or nothing.

# metric ADDR 'name{labels}': the value of a sample (0 when absent).
metric() {
	curl -s -m 5 "http://$1/metrics" |
		awk -v m="$2" '$1 == m { v = $2 } END { printf "%d\n", v + 0 }'
}
poller_metric() { metric "$POLLER_ADMIN" "$1"; }
ingest_metric() { metric "$INGEST_ADMIN" "$1"; }

tw_session_start() {
	curl -s -m 10 "http://$TW_ADMIN/admin/recorded?limit=1" |
		jq -r '.session_start_ms // empty'
}
tw_fault() { curl -s -m 10 -X POST "http://$TW_ADMIN/admin/faults" -d "$1" >/dev/null; }
tw_clear() { curl -s -m 10 -X DELETE "http://$TW_ADMIN/admin/faults" >/dev/null; }

# oracle_count SINCE UNTIL: points recorded in [SINCE, UNTIL] (ms) and
# uploaded by now, in the simulator's current session.
oracle_count() {
	curl -s -m 30 "http://$TW_ADMIN/admin/recorded?uploaded=true&since=$1&until=$2&limit=10000000" |
		jq -r '.count // empty' | sed 's/^$/-1/'
}

# influx_count SINCE UNTIL: the grilld points InfluxDB holds in [SINCE,
# UNTIL] (ms), every series of the polled devices.
influx_count() {
	curl -s -m 30 -G "$INFLUX_URL/query" --data-urlencode db=grilld \
	    --data-urlencode "q=SELECT count(status) FROM raw.temperature WHERE source = 'thermoworks' AND time >= $1ms AND time <= $2ms" |
		jq -r '[.results[0].series[]?.values[0][1]] | add // 0' 2>/dev/null ||
		echo -1
}

# group_field FIELD: pending or lag of the ingest group (-1: no answer).
group_field() {
	redis_cli XINFO GROUPS grilld:readings 2>/dev/null | awk -v f="$1" '
	    /^name$/ { getline; g = $0 }
	    $0 == f { getline; if (g == "ingest") v = $0 }
	    END { print (v == "" ? -1 : v) }'
}
# chain_idle: the ingester read and stored everything in the stream,
# the poller has nothing left in its spool or queue.
chain_idle() {
	[ "$(group_field pending)" = 0 ] && [ "$(group_field lag)" = 0 ] &&
	[ "$(poller_metric grilld_poller_spool_records)" = 0 ] &&
	[ "$(poller_metric grilld_poller_queue_readings)" = 0 ]
}

# caught_up SINCE UNTIL [LOSS]: InfluxDB holds every point the current
# session uploaded in the window, less LOSS known lost.
caught_up() {
	local want got
	want=$(oracle_count "$1" "$2")
	got=$(influx_count "$1" "$2")
	[ "$want" -ge 0 ] && [ "$got" -ge 0 ] && [ $((got + ${3:-0})) -ge "$want" ]
}

# influx_written_ok: points InfluxDB accepted over HTTP since it started
# (its internal statistics), to count idempotent rewrites.
influx_written_ok() {
	local v
	v=$(curl -s -m 10 -G "$INFLUX_URL/query" --data-urlencode "q=SHOW STATS FOR 'httpd'" |
		jq -r '[.results[0].series[]? | (.columns | index("pointsWrittenOK")) as $i
		    | .values[0][$i]] | add // 0' 2>/dev/null)
	echo "${v:-0}"
}
# influx_written_keep: adds what this influxd accepted to the total,
# before it is stopped (its statistics start over).
INFLUX_WRITTEN_BASE=0
influx_written_keep() {
	INFLUX_WRITTEN_BASE=$((INFLUX_WRITTEN_BASE + $(influx_written_ok)))
}
