#!/usr/bin/env bash
# POST /batch never trims the readings stream: with a consumer group that
# holds entries and reads nothing more, the stream fills up to
# ingest.stream_max and the API then answers 503 STREAM_FULL, nothing
# stored; what the group holds is all still there.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/api.bash"

start_redis
start_influx
influx_setup
redis_cli CONFIG SET stream-node-max-entries 4 >/dev/null
redis_cli XGROUP CREATE grilld:readings ingest '$' MKSTREAM >/dev/null
api_start GRILLD_INGEST_STREAM_MAX=20 || bail "grilld-api starts"
J=(-H "Content-Type: application/json")
post() {	# post FROM N: N readings of one probe, a second apart
	local i body="" t
	for ((i = $1; i < $1 + $2; i++)); do
		t=$(date -u -d "@$(($(date +%s) - 3600 + i))" +%Y-%m-%dT%H:%M:%SZ)
		body+="${body:+,}{\"device_id\":\"FULL-1\",\"probe_id\":\"1\",\"temperature\":$i,\"timestamp\":\"$t\"}"
	done
	req POST /api/temperature/batch "${J[@]}" -d "{\"readings\":[$body]}"
}
post 0 5
check_eq "five readings stored" "200 5" "$CODE $(jqr .stored_count)"
redis_cli XREADGROUP GROUP ingest gone COUNT 5 STREAMS grilld:readings '>' >/dev/null
for k in 1 2 3; do post $((k * 5)) 5; done
check_eq "up to the bound: stored" "200 20" "$CODE $(redis_cli XLEN grilld:readings)"
post 20 5
check_eq "past it: 503 STREAM_FULL" "503 STREAM_FULL" "$CODE $(jqr .reason)"
check_eq "nothing stored, nothing trimmed" 20 "$(redis_cli XLEN grilld:readings)"
check_eq "the five the group holds are still pending" 5 \
	"$(redis_cli XPENDING grilld:readings ingest | head -1)"
first=$(redis_cli --raw XRANGE grilld:readings - + COUNT 1 | sed -n 5p | jq -r .temperature)
check_eq "and still in the stream, from the first one" 0 "$first"
done_testing
