#!/usr/bin/env bash
# test-cost: 140
# Live first, backfill when archives exist: against sessions that end
# every 15 s and archives that appear 2 s later (the real cloud: hours),
# through a Storage outage longer than two sessions (the scaled-down
# version of a 10-minute one), every live reading reaches Redis within
# one poll of the simulator's upload, as fast as without the outage; the
# gaps between uploads stay open meanwhile and are filled once Storage
# answers; every point the simulator recorded is in InfluxDB exactly
# once, archive-filled ones included, and the filled ones were stored
# without being published as new readings.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/poller.bash"

setup_world
start_influx
p=($(freeport 3))
export GRILLD_INGEST_ADMIN_LISTEN=127.0.0.1:${p[0]}
export GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${p[1]}
export GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:${p[2]}
export GRILLD_INGEST_BATCH_WAIT=100ms
start_daemon ingest "http://127.0.0.1:${p[0]}/health/ready" ||
	bail "grilld-ingest starts"
start_poller || bail "grilld-poller starts and gets ready"
has_readings() { [ "$(redis_cli XLEN grilld:readings)" -gt 0 ]; }
wait_for "readings" 15 has_readings
wait_cycles 2

# lag DEVICE: how old its newest live reading is, in ms, by `latest`
# (which backfilled points never touch; the readings stream is trimmed
# by the ingester once read, so it may hold none).
lag() {
	local newest
	newest=$(redis_cli --raw HGETALL grilld:latest | grep '^{' |
		jq -r --arg d "$1" 'select(.device_id == $d) | .timestamp' |
		sort | tail -1)
	[ -n "$newest" ] || { echo 999999; return; }
	echo $(($(now_ms) - $(date -d "$newest" +%s%3N)))
}
worst_lag() {	# worst_lag DEVICE N: the largest of N lags a second apart
	local worst=0 l
	for _ in $(seq "$2"); do
		l=$(lag "$1")
		[ "$l" -gt "$worst" ] && worst=$l
		sleep 1
	done
	echo "$worst"
}

# Archives are listed and filled while Storage answers.
wait_for "a first backfill" 40 \
	metric_gt 'grilld_poller_readings_total{source="archive"}' 0
check "points between uploads are filled from the archives" \
	metric_gt 'grilld_poller_readings_total{source="archive"}' 0
before=$(worst_lag S0000001 8)

# Storage down for 40 s: more than two sessions end meanwhile.
tw_fault '{"kind":"status","status":503,"endpoint":"storage"}'
f0=$(metric 'grilld_poller_backfills_total{result="failed"}')
during=$(worst_lag S0000001 40)
if [ "$during" -le $((before + 5000)) ]; then
	ok "no live reading waits for Storage (worst lag ${before} ms before, ${during} ms during the outage)"
else
	not_ok "no live reading waits for Storage" \
	    "worst lag ${before} ms before, ${during} ms during the outage"
fi
check "backfills failed meanwhile" \
	metric_gt 'grilld_poller_backfills_total{result="failed"}' "$f0"
check "and gaps stayed open" metric_gt grilld_poller_gaps_open 0
tw_clear

# Once Storage answers, the archives of the sessions that ended fill the
# gaps. InfluxDB (ingest trims the stream behind it): one point per
# series and time, exactly the recorded ones.
cut=$(($(now_ms) - 10000))	# every point recorded by then is uploaded
oracle_tsv "$cut" | cut -f1-3 | sort >"$T/want.tsv"
influx_points() {
	curl -sS -G "$INFLUX_URL/query" --data-urlencode "db=grilld" \
		--data-urlencode "epoch=ms" --data-urlencode "q=SELECT
		    device_id, probe_id, status FROM raw.temperature
		    WHERE time <= ${cut}ms" |
		jq -r '.results[0].series[0].values[] |
		    [.[1], .[2], (.[0] | tostring)] | @tsv' | sort
}
same_in_influx() {
	influx_points >"$T/influx.tsv"
	cmp -s "$T/influx.tsv" "$T/want.tsv"
}
if wait_for "InfluxDB" 60 same_in_influx; then
	ok "every recorded point is in InfluxDB exactly once, archive-filled ones included ($(wc -l <"$T/want.tsv") points)"
else
	not_ok "every recorded point is in InfluxDB exactly once" \
	    "$(diff "$T/influx.tsv" "$T/want.tsv" | head -6 | tr '\n\t' '| ')"
fi
check "gaps were filled" metric_gt 'grilld_poller_gaps_total{result="filled"}' 0

# Backfilled points are stored, not published as new readings: the
# reading events are the live points only.
redis_cli --raw XRANGE grilld:events - + | grep '^{' | jq -r '
    def ms: (.[0:19] + "Z" | fromdateiso8601) * 1000 + (.[20:23] | tonumber);
    select(.device_id != null and .probe_id != null and .timestamp != null) |
    [.device_id, .probe_id, (.timestamp | ms | tostring)] | @tsv' |
	sort -u >"$T/events.tsv"
published=$(comm -12 "$T/events.tsv" "$T/want.tsv" | wc -l)
stored=$(wc -l <"$T/want.tsv")
live=$(metric 'grilld_poller_readings_total{source="poll"}')
check_eq "every reading event is a stored point" 0 \
	"$(comm -23 <(awk -F'\t' -v c="$cut" '$3 <= c' "$T/events.tsv") "$T/want.tsv" | wc -l)"
check_match "events only for the live points ($published published, $live live, $stored stored)" \
	true "$([ "$published" -gt 0 ] && [ "$published" -le "$live" ] &&
	    [ "$stored" -gt "$live" ] && echo true)"

stop_pid "$PID_poller"
check_eq "grilld-poller exits 0 on SIGTERM" 0 "$?"
stop_pid "$PID_ingest"
done_testing
