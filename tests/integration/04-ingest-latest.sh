#!/usr/bin/env bash
# `latest` through a backlog (issue 15, work per reading): in a backlog
# the ingester writes `latest` at most once a second, the newest staged
# reading of each probe only. 12,000 readings of 50 probes queued before
# it starts (several full reads), then for each probe one older reading
# at the end: once drained, every probe's `latest` is its newest
# reading, not the older one read last, and every reading is stored once.
. "$(dirname "$0")/lib.sh"

start_redis
start_influx
p=($(freeport 3))
ADMIN=http://127.0.0.1:${p[0]}
export GRILLD_INGEST_ADMIN_LISTEN=127.0.0.1:${p[0]}
export GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${p[1]}
export GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:${p[2]}

base=$(($(date +%s) - 600))
# Probe k (device bk<k/5>, probe k%5+1), reading n: time base + n, n + 100.
redis_cli EVAL "
for i = 0, 11999 do
  local k, n = i % 50, math.floor(i / 50)
  redis.call('XADD', KEYS[1], '*', 'v', '1', 'r', string.format(
    '{\"device_id\":\"bk%d\",\"probe_id\":\"%d\",\"temperature\":%d,\"timestamp\":%d}',
    math.floor(k / 5), k % 5 + 1, n + 100, ARGV[1] + n))
end
for k = 0, 49 do
  redis.call('XADD', KEYS[1], '*', 'v', '1', 'r', string.format(
    '{\"device_id\":\"bk%d\",\"probe_id\":\"%d\",\"temperature\":1.5,\"timestamp\":%d}',
    math.floor(k / 5), k % 5 + 1, ARGV[1] - 1))
end
return redis.call('XLEN', KEYS[1])" 1 grilld:readings "$base" >/dev/null
check_eq "12,050 readings queued" 12050 "$(redis_cli XLEN grilld:readings)"

start_daemon ingest "$ADMIN/health/ready" || bail "grilld-ingest starts"
done_read() {
	redis_cli XINFO GROUPS grilld:readings | tr '\n' ' ' |
		grep -q 'pending 0 .*entries-read 12050 '
}
check "the backlog is stored and acknowledged" wait_for "the drain" 120 done_read

newest=0 probes=0
while IFS= read -r v; do
	probes=$((probes + 1))
	[ "$(jq -r .temperature <<<"$v")" = 339 ] && newest=$((newest + 1))
done < <(redis_cli HGETALL grilld:latest | sed -n '2~2p')
check_eq "latest holds the 50 probes" 50 "$probes"
check_eq "each at its newest reading, not the older one read last" 50 "$newest"
check_eq "latest:ts agrees" "$(( (base + 239) * 1000000000 ))" \
	"$(redis_cli HGET grilld:latest:ts bk9/5)"
stored() {
	influx_query grilld 'SELECT count(value) FROM raw.temperature' |
		grep -o '"values":\[\[[^]]*' | awk -F, '{ print $2 }'
}
check_eq "every reading stored once" 12050 "$(stored)"

stop_pid "$PID_ingest"
check_eq "grilld-ingest stops cleanly" 0 "$?"
done_testing
