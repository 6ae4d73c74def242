#!/usr/bin/env bash
# test-cost: 40
# Back-pressure instead of trimming: with ingest away (a group that holds
# entries and reads nothing more), the poller appends up to
# ingest.stream_max entries and no further; nothing a group has not
# acknowledged is trimmed, the rest waits in the spool, and the metrics
# and /health/ready say so. When a consumer drains the stream, the spool
# is replayed and every point reaches it exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/poller.bash"

setup_world
# Small stream nodes, so that an approximate trim would bite at once.
redis_cli CONFIG SET stream-node-max-entries 4 >/dev/null
redis_cli XGROUP CREATE grilld:readings ingest '$' MKSTREAM >/dev/null
export GRILLD_INGEST_STREAM_MAX=20
start_poller || bail "grilld-poller starts and gets ready"
# A consumer that took five entries and went away: they stay pending.
five() { [ "$(redis_cli XLEN grilld:readings)" -ge 5 ]; }
wait_for "five readings" 20 five
redis_cli XREADGROUP GROUP ingest gone COUNT 5 STREAMS grilld:readings '>' >/dev/null
spool_bytes() { curl -s "http://$POLLER_ADMIN/health/ready" | jq -r '.spool_bytes // 0'; }
spooling() { [ "$(spool_bytes)" -gt 0 ]; }
wait_for "the spool" 60 spooling
check "the stream at its bound: readings go to the spool" spooling
check_eq "the stream holds its bound and no more" 20 "$(redis_cli XLEN grilld:readings)"
check_match "metrics say the stream is full" '^1$' "$(metric grilld_poller_stream_full)"
check_match "and count the refusals" '^[1-9]' "$(metric grilld_poller_stream_refused_total)"
check_match "/health/ready says so, and stays ready (the spool takes them)" \
	'"stream":"full"' "$(curl -sf "http://$POLLER_ADMIN/health/ready")"
wait_cycles 2
check_eq "nothing trimmed: still 20 entries" 20 "$(redis_cli XLEN grilld:readings)"
pend() { redis_cli XPENDING grilld:readings ingest | head -1; }
check_eq "the five pending entries are still pending" 5 "$(pend)"

# A consumer comes back: copies what it reads to grilld:copy, acks it,
# deletes it (as ingest's trim would), the pending five first.
cat >"$T/mover.lua" <<'LUA'
local n = 0
local function move(list)
  for _, e in ipairs(list) do
    redis.call('XADD', KEYS[2], '*', unpack(e[2]))
    redis.call('XACK', KEYS[1], 'ingest', e[1])
    redis.call('XDEL', KEYS[1], e[1])
    n = n + 1
  end
end
local c = redis.call('XAUTOCLAIM', KEYS[1], 'ingest', 'mover', 0, '0-0', 'COUNT', 1000)
move(c[2])
local r = redis.call('XREADGROUP', 'GROUP', 'ingest', 'mover', 'COUNT', 1000, 'STREAMS', KEYS[1], '>')
if r then move(r[1][2]) end
return n
LUA
mover() {
	while :; do
		redis_cli --eval "$T/mover.lua" grilld:readings grilld:copy >/dev/null
		sleep 0.1
	done
}
mover &
MOVER=$!
_pids+=("$MOVER")
spool_empty() { [ "$(spool_bytes)" = 0 ]; }
wait_for "the replay" 90 spool_empty
check "the spool is replayed once there is room" spool_empty
roomy() { [ "$(metric grilld_poller_stream_full)" = 0 ]; }
wait_for "room" 10 roomy
check "and the stream is no longer full" roomy
# The oracle against what the consumer received.
READINGS=grilld:copy
check_oracle "every point reached the consumer: nothing trimmed unread"
check_no_duplicates "after the back-pressure"
kill "$MOVER" 2>/dev/null
stop_pid "$PID_poller"
check_eq "grilld-poller exits 0 on SIGTERM" 0 "$?"
done_testing
