#!/usr/bin/env bash
# grilld-api, the reading routes: current, history (every parameter,
# cursor paging, aggregations, rollups and the raw tail), stats, export,
# grill-stats' threshold alerts, devices, health, traces and metrics; then
# InfluxDB and Redis going away. Redis and InfluxDB are seeded here the
# way the ingester and the poller leave them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/api.bash"

start_redis
start_influx
influx_setup

# Two probes every 30 s for two hours (probe 2 in Celsius), a device
# with an id made to break queries, and daily rollups a year back.
{
	points SIG-1 1 F 240 30 200 50
	points SIG-1 2 C 240 30 90 10
	echo "temperature,device_id=we\"ird'\\ i\\d,probe_id=1,source=api,unit=F value=111,value_c=43.9,status=\"NORMAL\",flags=0i $(( (NOW_S - 60) * 1000000000 ))"
	points INFLUXONLY 7 F 1 30 180 1 30
} >"$T/raw.lp"
WEIRD="we\"ird' i\\d"
check "raw points are written" influx_write raw "$T/raw.lp"
for d in $(seq 8 400); do
	echo "temperature,device_id=SIG-1,probe_id=1,source=thermoworks,unit=F value=220,value_min=200,value_max=250,value_count=2880i,value_c=104.444444,value_c_min=93.333333,value_c_max=121.111111 $(( (NOW_S / 86400 - d) * 86400 ))000000000"
done >"$T/daily.lp"
check "daily rollups are written" influx_write daily "$T/daily.lp"
latest SIG-1 1 225.5 F 10
latest SIG-1 2 100 C 12
latest OLD 1 150 F 3600
redis_cli HSET grilld:devices SIG-1 '{"device_id":"SIG-1","name":"Signals","state":"online"}' >/dev/null

api_start GRILLD_API_STALE_AFTER=2m || bail "grilld-api starts"

# --- current -----------------------------------------------------------
req GET "/api/temperature/current/SIG-1?probe_id=1"
check_eq "current: 200 from the cache (source at the top, as grill-stats)" "200 cache 225.5 F false" \
	"$CODE $(jqr '.source') $(jqr '.data.temperature') $(jqr '.data.unit') $(jqr '.data.stale')"
check_eq "current: grill-stats' fields are all there" "true" \
	"$(jqr '.status == "success" and (.data | has("device_id") and has("probe_id") and has("temperature") and has("unit") and has("timestamp") and has("battery_level") and has("signal_strength") and has("age_s"))')"
req GET "/api/temperature/current/SIG-1?probe_id=1&unit=C"
check_eq "current: ?unit=C converts" "107.5 C" "$(jqr '.data.temperature') $(jqr '.data.unit')"
req GET "/api/temperature/current/SIG-1?probe_id=2&unit=F"
check_eq "current: ?unit=F converts a Celsius probe" "212 F" "$(jqr '.data.temperature') $(jqr '.data.unit')"
req GET "/api/temperature/current/SIG-1"
check_eq "current without probe_id: the newest, with every probe" "200 1 2" \
	"$CODE $(jqr '.data.probe_id') $(jqr '.data.probes | length')"
check_eq "  probes is a map keyed by probe id (the HA component's probes.items())" "object 1 2 225.5" \
	"$(jqr '.data.probes | type') $(jqr '.data.probes | keys | join(" ")') $(jqr '.data.probes["1"].temperature')"
ts=$(date -u -d "@$((NOW_S - 20))" +%Y-%m-%dT%H:%M:%SZ)
redis_cli HSET grilld:latest COOK/1 "{\"device_id\":\"COOK\",\"probe_id\":\"1\",\"temperature\":158.9,\"unit\":\"F\",\"timestamp\":\"$ts\",\"label\":\"Brisket\",\"cook\":{\"rate\":0.012,\"rate_unit\":\"F/min\",\"target\":203.00,\"stall\":true}}" >/dev/null
req GET "/api/temperature/current/COOK"
check_eq "current: a followed probe carries the ingester's cook block" "203 true true null Brisket" \
	"$(jqr .data.cook.target) $(jqr .data.cook.stall) $(jqr .data.probes[\"1\"].cook.stall) $(jqr .data.cook.eta) $(jqr .data.name)"
req GET "/api/temperature/current/OLD?probe_id=1"
check_eq "current: a reading older than api.stale_after is stale" "true" "$(jqr '.data.stale')"
req GET "/api/temperature/current/INFLUXONLY?probe_id=7"
check_eq "current: a cache miss is answered from InfluxDB" "200 influxdb 180" \
	"$CODE $(jqr '.source') $(jqr '.data.temperature')"
req GET "/api/temperature/current/NOPE"
check_eq "current: unknown device is 404" "404 DEVICE_NOT_FOUND" "$CODE $(jqr .reason)"
req GET "/api/temperature/current/SIG-1?probe_id=9"
check_eq "current: unknown probe is 404" "404 PROBE_NOT_FOUND" "$CODE $(jqr .reason)"
req GET "/api/temperature/current/SIG-1?probe_id=$(printf 'x%.0s' $(seq 70))"
check_eq "current: an over-long probe_id is 400 naming it" "400 probe_id" "$CODE $(jqr .details.parameter)"
enc=$(jq -rn --arg s "$WEIRD" '$s|@uri')
req GET "/api/temperature/current/$enc"
check_eq "current: an id with quotes and backslashes is read exactly" "200 $WEIRD 111" \
	"$CODE $(jqr .data.device_id) $(jqr .data.temperature)"

# The in-memory copy of `latest`, kept current by Redis invalidations.
cached() {
	curl -sS "$API/api/temperature/current/SIG-1?probe_id=1" >/dev/null
	curl -sS "$API/metrics" | grep -q 'grilld_api_latest_cache_total{result="hit"} [1-9]'
}
wait_for "a cache hit" 10 cached
check_eq "current: repeated reads are answered from memory" "0" "$?"
latest SIG-1 1 230.5 F 5
now_230() { [ "$(curl -sS "$API/api/temperature/current/SIG-1?probe_id=1" | jq .data.temperature)" = 230.5 ]; }
wait_for "the new reading" 5 now_230
check_eq "current: a write to latest is seen at once (Redis invalidates the copy)" "0" "$?"
m=$(curl -sS "$API/metrics")
check_match "current: invalidations are counted" 'grilld_api_latest_cache_invalidations_total [1-9]' "$m"
latest SIG-1 1 225.5 F 10

# --- history -----------------------------------------------------------
req GET "/api/temperature/history/SIG-1"
check_eq "history: defaults (24 h, raw, limit 1000)" "200 480 raw none 1000" \
	"$CODE $(jqr .count) $(jqr .query.retention_policy) $(jqr .query.aggregation) $(jqr .query.limit)"
check_eq "history: newest first, as grill-stats (ORDER BY time DESC)" "true desc" \
	"$(jqr '[.data[].timestamp] == ([.data[].timestamp] | sort | reverse)') $(jqr .query.order)"
req GET "/api/temperature/history/SIG-1?order=asc&limit=5"
check_eq "history: order=asc, oldest first" "true" \
	"$(jqr '[.data[].timestamp] == ([.data[].timestamp] | sort)')"
req GET "/api/temperature/history/SIG-1?probe_id=1&limit=1"
check_eq "history: limit=1 is the latest point" "$(date -u -d @$((NOW_S - 5)) +%FT%T)" \
	"$(jqr '.data[0].timestamp[0:19]')"
check_eq "history: grill-stats' point fields" "true" \
	"$(jqr '.data[0] | has("device_id") and has("timestamp") and has("temperature") and has("probe_id") and has("battery_level") and has("signal_strength")')"
req GET "/api/temperature/history/SIG-1?probe_id=1&limit=10"
first10=$(jqr '[.data[].timestamp] | join(",")')
req GET "/api/temperature/history/SIG-1?probe_id=1&limit=5&offset=5"
check_eq "history: offset pages like grill-stats" "$(cut -d, -f6-10 <<<"$first10")" \
	"$(jqr '[.data[].timestamp] | join(",")')"
# Cursor paging over both probes: every point once, none twice.
cursor="" all=""
for _ in $(seq 1 20); do
	req GET "/api/temperature/history/SIG-1?limit=100${cursor:+&cursor=$cursor}"
	all+=$(jqr '.data[] | "\(.timestamp)/\(.probe_id)"')$'\n'
	cursor=$(jqr '.next_cursor // empty')
	[ -n "$cursor" ] || break
done
check_eq "history: cursor pages hold every point exactly once" "480 480" \
	"$(grep -c . <<<"$all") $(grep . <<<"$all" | sort -u | wc -l)"
req GET "/api/temperature/history/SIG-1?cursor=zz"
check_eq "history: a bad cursor is 400 naming it" "400 cursor" "$CODE $(jqr .details.parameter)"
req GET "/api/temperature/history/SIG-1?cursor=$cursor&offset=3"
check_eq "history: cursor and offset together are refused" "400" "$CODE"
for agg in mean min max sum count median; do
	req GET "/api/temperature/history/SIG-1?probe_id=1&aggregation=$agg&interval=30m"
	check_match "history: aggregation=$agg answers buckets" "^200 [45] $agg 30m$" \
		"$CODE $(jqr .count) $(jqr .query.aggregation) $(jqr .query.interval)"
done
req GET "/api/temperature/history/SIG-1?probe_id=1&aggregation=count&interval=30m"
check_eq "history: counts add up to the points" "240" "$(jqr '[.data[].temperature] | add')"
req GET "/api/temperature/history/SIG-1?probe_id=1&aggregation=max&interval=1d&unit=C"
# (The points span the last two hours: between 00:00 and 02:00 UTC they
# fall in two daily buckets, so the largest of the buckets.)
check_eq "history: aggregates convert to ?unit=C" "120.556 C" \
	"$(jqr '[.data[].temperature] | max') $(jqr '[.data[].unit] | unique | join(",")')"
req GET "/api/temperature/history/SIG-1?probe_id=1&aggregation=mean&start_time=$(date -u -d '-365 days' +%F)"
check_eq "history: a year is planned onto the daily rollup" "200 daily 1d" \
	"$CODE $(jqr .query.retention_policy) $(jqr .query.interval)"
check_eq "history: ... and begins (newest first) with the raw tail of today" "$(date -u +%F)" \
	"$(jqr '.data[0].timestamp[0:10]')"
req GET "/api/temperature/history/SIG-1?aggregation=mean&interval=1s&start_time=$(date -u -d '-30 days' +%F)"
check_match "history: past raw retention an interval is raised, and says so" \
	"^200 1h .*raw points are kept for 7d" "$CODE $(jqr .query.interval) $(jqr .query.note)"
req GET "/api/temperature/history/SIG-1?aggregation=mean&interval=10s&start_time=$(date -u -d '-6 days' +%F)"
check_eq "history: more buckets than api.max_points is 400 TOO_MANY_POINTS" \
	"400 TOO_MANY_POINTS 10000" "$CODE $(jqr .reason) $(jqr .details.max_points)"
req GET "/api/temperature/history/SIG-1?start_time=yesterday"
check_eq "history: a bad time is 400 naming start_time" "400 INVALID_PARAMETER start_time" \
	"$CODE $(jqr .reason) $(jqr .details.parameter)"
req GET "/api/temperature/history/SIG-1?start_time=2026-01-02T00:00:00Z&end_time=2026-01-01T00:00:00Z"
check_eq "history: start after end is 400" "400" "$CODE"
req GET "/api/temperature/history/SIG-1?aggregation=avg"
check_eq "history: an unknown aggregation is 400 naming it" "400 aggregation" "$CODE $(jqr .details.parameter)"
for l in 0 10001 x; do
	req GET "/api/temperature/history/SIG-1?limit=$l"
	check_eq "history: limit=$l is 400" "400 limit" "$CODE $(jqr .details.parameter)"
done
req GET "/api/temperature/history/SIG-1?probe_id=1&limit=2&_=1733500000&_=2"
check_eq "history: unknown and repeated parameters are ignored, as grill-stats" "200 2" "$CODE $(jqr .count)"
req GET "/api/temperature/history/SIG-1?probe_id=1&limit=5&limit=2"
check_eq "  a repeated one takes its last value (FastAPI)" "2" "$(jqr .count)"
req GET "/api/devices?start=2026-01-01"
check_eq "grilld's own routes refuse an unknown parameter, naming it" "400 UNKNOWN_PARAMETER start" \
	"$CODE $(jqr .reason) $(jqr .details.parameter)"
req GET "/api/temperature/history/$enc"
check_eq "history: the quoted id reads its own point" "200 1" "$CODE $(jqr .count)"
req GET "/api/temperature/history/$(jq -rn '"x'"'"' OR '"'"'1'"'"'='"'"'1" | @uri')"
check_eq "history: an injection attempt is a device without data" "200 0" "$CODE $(jqr .count)"
req GET "/api/temperature/history/NOPE"
check_eq "history: a device without data is 200 with an empty list, as grill-stats" "200 0 array" \
	"$CODE $(jqr .count) $(jqr '.data | type')"

# --- stats ---------------------------------------------------------------
req GET "/api/temperature/stats/SIG-1?probe_id=1&low=210&high=229"
check_eq "stats: count, min, max, mean" "200 240 200 249 223.667" \
	"$CODE $(jqr .data.count) $(jqr .data.min_temperature) $(jqr .data.max_temperature) $(jqr .data.avg_temperature)"
check_eq "stats: median, stddev, first, last are there" "true" \
	"$(jqr '.data | (.median_temperature|type) == "number" and (.stddev_temperature|type) == "number" and .first_timestamp != null and .last_timestamp != null')"
check_eq "stats: time in range (20 of every 50 points, 30 s apart)" "true" \
	"$(jqr '.data.time_in_range | .ratio > 0.35 and .ratio < 0.45 and .observed_seconds == 7170')"
req GET "/api/temperature/stats/SIG-1?probe_id=1&start_time=$(date -u -d '-300 days' +%F)"
check_eq "stats: an old range is answered from the rollups, approximately" "200 daily true" \
	"$CODE $(jqr .query.retention_policy) $(jqr .data.approximate)"
req GET "/api/temperature/stats/SIG-1?low=300&high=200"
check_eq "stats: low above high is 400" "400" "$CODE"
req GET "/api/temperature/stats/NOPE"
check_eq "stats: a device without data is 200, count 0" "200 0" "$CODE $(jqr .data.count)"
req GET "/api/temperature/stats/SIG-1?probe_id=1"
check_eq "stats: grill-stats' identifiers" "SIG-1 1 true" \
	"$(jqr .data.device_id) $(jqr .data.probe_id) $(jqr '.data | has("start_time") and has("end_time")')"

# --- export ----------------------------------------------------------------
{ points BIG p0 F 6500 12 100 7 10; points BIG p1 F 6500 12 100 7 16; } >"$T/big.lp"
check "export: 13,000 points are written" influx_write raw "$T/big.lp"
curl -sS -D "$T/h" -o "$T/export.csv" "$API/api/temperature/export/BIG?format=csv"
check_match "export: CSV is streamed chunked" "Transfer-Encoding: chunked" "$(cat "$T/h")"
check_eq "export: a header and every point, across pages, once each" "13001 13000" \
	"$(wc -l <"$T/export.csv") $(tail -n +2 "$T/export.csv" | cut -d, -f1,3 | sort -u | wc -l)"
check_eq "export: the CSV header" "timestamp,device_id,probe_id,temperature,unit,battery_level,signal_strength,status,flags" \
	"$(head -1 "$T/export.csv" | tr -d '\r')"
curl -sS -o "$T/export.jsonl" "$API/api/temperature/export/SIG-1?format=jsonl&probe_id=1"
check_eq "export: JSON lines, one point each" "240 240" \
	"$(wc -l <"$T/export.jsonl") $(jq -c .timestamp "$T/export.jsonl" | sort -u | wc -l)"
req GET "/api/temperature/export/SIG-1?format=xml"
check_eq "export: an unknown format is 400" "400 format" "$CODE $(jqr .details.parameter)"
req GET "/api/temperature/export/NOPE"
check_eq "export: unknown device is 404 before any byte is streamed" "404" "$CODE"

# --- grill-stats' threshold alerts ---------------------------------------
req GET "/api/temperature/alerts/SIG-1?probe_id=1&threshold_high=245&threshold_low=203"
check_eq "alerts: points past either threshold" "200 true true" \
	"$CODE $(jqr '[.data[] | select(.alert_type == "high_temperature") | .temperature > 245] | all') $(jqr '[.data[] | select(.alert_type == "low_temperature") | .temperature < 203] | all')"
check_eq "alerts: 4 of every 50 above, 3 below" "31" "$(jqr .count)"
check_eq "alerts: grill-stats' fields" "true" \
	"$(jqr '.data[0] | has("timestamp") and has("temperature") and has("device_id") and has("probe_id") and has("alert_type") and has("threshold") and (.severity == "warning" or .severity == "critical")')"
req GET "/api/temperature/alerts/SIG-1"
check_eq "alerts: grill-stats' defaults (250, 32)" "200 250 32" \
	"$CODE $(jqr .query.threshold_high) $(jqr .query.threshold_low)"
req GET "/api/temperature/alerts/SIG-1?threshold_low=300&threshold_high=200"
check_eq "alerts: low above high is 400" "400 threshold_low" "$CODE $(jqr .details.parameter)"

# --- devices -------------------------------------------------------------
req GET "/api/devices"
check_eq "devices: registry from Redis (poller down) and the cache" "200 redis" \
	"$CODE $(jqr .source)"
check_eq "devices: SIG-1 has its probes, battery and online state" "2 80 true Signals" \
	"$(jqr '.data[] | select(.device_id == "SIG-1") | "\(.probes | length) \(.battery_level) \(.online) \(.name)"')"
check_eq "devices: a device known only from readings is listed" "false" \
	"$(jqr '[.data[] | select(.device_id == "OLD")][0].online')"
req GET "/api/devices/SIG-1"
check_eq "device: one" "200 SIG-1" "$CODE $(jqr .data.device_id)"
req GET "/api/devices/NOPE"
check_eq "device: unknown is 404" "404" "$CODE"

# --- health, traces, metrics --------------------------------------------
req GET /health
check_eq "health: degraded with the daemons down, Redis and InfluxDB up" \
	"200 degraded up up unknown down" \
	"$CODE $(jqr .status) $(jqr .component_details.redis.status) $(jqr .component_details.influxdb.status) $(jqr .component_details.thermoworks_api.status) $(jqr .daemons.poller.status)"
check_eq "health: components are grill-stats' strings, also as dependencies" "healthy healthy degraded healthy" \
	"$(jqr .components.redis) $(jqr .components.influxdb) $(jqr .components.thermoworks_api) $(jqr .dependencies.redis)"
check_eq "health: latency and breaker state of each dependency" "true" \
	"$(jqr '(.component_details.redis.latency_ms|type) == "number" and .component_details.influxdb.breaker == "closed" and (.daemons.ingest|has("breaker"))')"
req GET /api/temperature/health
check_eq "health: also at grill-stats' path" "200" "$CODE"
tp=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
hdr=$(curl -sS -D - -o /dev/null -H "traceparent: $tp" "$API/api/temperature/current/SIG-1?probe_id=1")
check_match "trace: the request's trace is continued in the answer" \
	"traceparent: 00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01" "$hdr"
hdr=$(curl -sS -D - -o /dev/null "$API/api/temperature/current/SIG-1?probe_id=1")
check_match "trace: a new trace is made without one" "traceparent: 00-[0-9a-f]{32}-[0-9a-f]{16}-01" "$hdr"
m=$(curl -sS "$API/metrics")
check_match "metrics: requests by route and status" \
	'grilld_api_requests_total\{route="current",status="200"\} [0-9]+' "$m"
check_match "metrics: latency histogram by route" \
	'grilld_api_request_duration_seconds_bucket\{route="history",le="[0-9.e+-]+"\} [0-9]+' "$m"

# --- dependencies going away ---------------------------------------------
kill -STOP "$INFLUX_PID"
req GET "/api/temperature/current/SIG-1?probe_id=1"
check_eq "InfluxDB hung: current still answers from the cache" "200 cache" "$CODE $(jqr .source)"
kill -CONT "$INFLUX_PID"
kill "$INFLUX_PID"
wait "$INFLUX_PID" 2>/dev/null
req GET "/api/temperature/history/SIG-1"
check_eq "InfluxDB down: history is 503" "503 INFLUXDB_UNAVAILABLE" "$CODE $(jqr .reason)"
for _ in $(seq 1 6); do req GET "/api/temperature/history/SIG-1"; done
hdr=$(curl -sS -D - -o "$T/.body" "$API/api/temperature/history/SIG-1")
check_match "InfluxDB down: the breaker opens and says when to retry" "Retry-After: [0-9]+" "$hdr"
req GET /health
check_eq "InfluxDB down: health is degraded, the breaker open" "200 degraded down open unhealthy" \
	"$CODE $(jqr .status) $(jqr .component_details.influxdb.status) $(jqr .component_details.influxdb.breaker) $(jqr .components.influxdb)"
kill "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null
req GET "/api/temperature/current/SIG-1?probe_id=1"
check_eq "both down: current is 503" "503" "$CODE"
req GET /health
check_eq "both down: health is 500 unhealthy, grill-stats' code" "500 unhealthy" "$CODE $(jqr .status)"
code=$(curl -s -o /dev/null -w '%{http_code}' "$API/health/ready")
check_eq "both down: not ready" "503" "$code"
check "the API is still alive" curl -sf "$API/health/live"

done_testing
