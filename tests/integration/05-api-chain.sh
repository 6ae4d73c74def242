#!/usr/bin/env bash
# The whole chain once: grilld-twsim (the demo account) -> grilld-poller
# -> Redis -> grilld-ingest -> InfluxDB -> grilld-api. The API lists the
# poller's devices over nng, answers current from what the ingester
# cached, history from what it stored, reports every daemon in /health,
# and a reading posted to /batch travels the same road. Then a rule
# created through the API changes rules:version, which the ingester
# follows.
export INFLUX_CQ_INTERVAL=1s
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/api.bash"

start_redis
start_influx
demo_chain_env
export GRILLD_INGEST_BATCH_WAIT=100ms GRILLD_INGEST_CQ_INTERVAL=1s

start_daemon twsim "http://127.0.0.1:${p[1]}/health/ready" || bail "grilld-twsim starts"
start_daemon ingest "http://127.0.0.1:${p[3]}/health/ready" || bail "grilld-ingest starts"
start_daemon poller "http://127.0.0.1:${p[2]}/health/live" || bail "grilld-poller starts"
api_start || bail "grilld-api starts"

devices() {
	req GET /api/devices
	[ "$CODE" = 200 ] && [ "$(jqr .source)" = poller ] && [ "$(jqr .count)" -ge 3 ]
}
wait_for "the poller's devices" 30 devices
check_eq "devices: the poller's registry over nng" "200 poller true" \
	"$CODE $(jqr .source) $(jqr '.count >= 3')"
dev=$(jqr '[.data[] | select(.probes | length > 0)][0].device_id')
probe=$(jqr "[.data[] | select(.device_id == \"$dev\")][0].probes[0].probe_id")
check_match "devices: with probes" "^[^ ]+ [^ ]+$" "$dev $probe"

cached() {
	req GET "/api/temperature/current/$dev?probe_id=$probe"
	[ "$CODE" = 200 ] && [ "$(jqr .source)" = cache ]
}
wait_for "a reading cached by the ingester" 30 cached
check_eq "current: what the ingester cached" "200 cache $dev" "$CODE $(jqr .source) $(jqr .data.device_id)"
stored() {
	req GET "/api/temperature/history/$dev?probe_id=$probe&start_time=$(date -u -d '-2 hours' +%FT%TZ)"
	[ "$CODE" = 200 ] && [ "$(jqr .count)" -ge 1 ]
}
wait_for "points stored by the ingester" 30 stored
check_eq "history: what the ingester stored" "200 raw" "$CODE $(jqr .query.retention_policy)"
req GET "/api/devices/$dev"
check_eq "device: one, from the poller, with its cached probes" "200 poller true" \
	"$CODE $(jqr .source) $(jqr '[.data.probes[] | has("stale")] | any')"

health() {
	req GET /health
	[ "$(jqr .daemons.poller.status) $(jqr .daemons.ingest.status)" = "up up" ]
}
wait_for "the daemons in /health" 15 health
check_eq "health: poller and ingest up over nng, the stream down" "up up down" \
	"$(jqr .daemons.poller.status) $(jqr .daemons.ingest.status) $(jqr .daemons.stream.status)"
check_match "health: the cloud as the poller sees it" "^(up|down)$" "$(jqr .component_details.thermoworks_api.status)"

ts=$(date -u +%FT%TZ)
req POST /api/temperature/batch -H "Content-Type: application/json" \
	-d "{\"readings\": [{\"device_id\": \"chain-batch\", \"probe_id\": \"1\", \"temperature\": 203.5, \"timestamp\": \"$ts\"}]}"
check_eq "batch: accepted" "200 1" "$CODE $(jqr .stored_count)"
through() {
	req GET "/api/temperature/current/chain-batch?probe_id=1"
	[ "$(jqr .data.temperature)" = 203.5 ]
}
wait_for "the posted reading through the ingester" 20 through
check_eq "batch: the reading came back through the ingester" "203.5 api" \
	"$(jqr .data.temperature) $(jqr .data.origin)"
# Live data goes out before it is stored: history follows once the
# ingester's write is done.
stored_batch() {
	req GET "/api/temperature/history/chain-batch"
	[ "$CODE $(jqr .count)" = "200 1" ]
}
wait_for "the posted reading in InfluxDB" 20 stored_batch
check_eq "batch: and is in InfluxDB" "200 1" "$CODE $(jqr .count)"

v0=$(redis_cli GET grilld:rules:version)
req POST /api/alerts/rules -H "Content-Type: application/json" \
	-d '{"id": "chain", "kind": "above", "device_id": "chain-batch", "threshold": 100}'
check_eq "rules: created" "201" "$CODE"
check_eq "rules: rules:version moved for the ingester" "$(( ${v0:-0} + 1 ))" "$(redis_cli GET grilld:rules:version)"

done_testing
