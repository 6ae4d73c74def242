#!/usr/bin/env bash
# test-cost: 55
# Nothing lost, nothing doubled, nothing reordered within a probe: across
# a Redis outage (readings spool, then replay in order), a poller
# restart (SIGTERM, a torn spool tail, start again), and a poller that
# dies while a second one stands by (the lease moves, the seen marks go
# with it).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/poller.bash"

REDIS_AOF=yes		# Redis keeps its data across the outage
setup_world
# A lease that outlasts the Redis outage: a holder that cannot renew it
# stops polling once it may have expired (03-poller-lease-cut).
GRILLD_POLLER_LEASE_TTL=60s start_poller || bail "grilld-poller starts and gets ready"
has_readings() { [ "$(redis_cli XLEN grilld:readings)" -gt 0 ]; }
wait_for "readings" 15 has_readings

# Redis goes away: readings go to the spool, the poller stays ready.
spool_bytes() {
	curl -s "http://$POLLER_ADMIN/health/ready" | jq -r '.spool_bytes // 0'
}
spooling() { [ "$(spool_bytes)" -gt 0 ]; }
kill -TERM "$REDIS_PID"
wait "$REDIS_PID"
wait_for "the spool" 20 spooling
check "readings are spooled while Redis is down" spooling
check "ready meanwhile: the spool accepts" \
	curl -sf "http://$POLLER_ADMIN/health/ready"
check_match "and it says Redis is down" '"redis":"down"' \
	"$(curl -s "http://$POLLER_ADMIN/health/ready")"
wait_cycles 1
stack_redis_run 10 || bail "redis-server restarts"
spool_empty() { [ "$(spool_bytes)" = 0 ]; }
wait_for "the replay" 20 spool_empty
check "the spool is replayed and emptied when Redis returns" spool_empty
check_match "the replay is counted" '^[1-9]' \
	"$(metric 'grilld_poller_handoff_total{to="replayed"}')"
check_oracle "nothing lost across the Redis outage"
check_no_duplicates "after the outage"

# SIGTERM, a crash-torn record at the spool's end, and a start again.
stop_pid "$PID_poller"
check_eq "grilld-poller exits 0 on SIGTERM" 0 "$?"
printf '\000\000\000\100{"torn' >>"$T/poller.spool"
sleep 2			# uploads go on meanwhile
start_poller || bail "grilld-poller starts again"
check "a torn spool record is dropped with a log line" \
	grep -Eq "torn record at offset [0-9]+: dropped 10 bytes" "$T/poller.log"
check_oracle "nothing lost or doubled across a restart"
check_no_duplicates "after the restart"

# A second poller stands by (it polls a third account, whose password
# is wrong: not ready, and it says why); the first dies; it takes over.
p=($(freeport 2))
B_ADMIN=127.0.0.1:${p[0]}
sed "s/admin_listen: .*/admin_listen: $B_ADMIN/; s|poller_url: .*|poller_url: tcp://127.0.0.1:${p[1]}|" \
	"$T/poller.yaml" >"$T/poller-b.yaml"
sed -i 's|    - {email: patio|    - {email: nobody@grilld.example, password: wrong}\n    - {email: patio|' \
	"$T/poller-b.yaml"
chmod 600 "$T/poller-b.yaml"
"$BIN/grilld-poller" -d -f "$T/poller-b.yaml" >"$T/poller-b.log" 2>&1 &
PID_b=$!
_pids+=("$PID_b")
b_waits() { grep -q "patio@grilld.example: polled by another poller" "$T/poller-b.log"; }
wait_for "the second poller" 15 b_waits
check "a second poller stands by while the first holds the lease" b_waits

# An API that reaches the standby (a Service in front of both pollers may
# send it there) lists the active poller's devices, from Redis, never
# the standby's empty registry; one that reaches the active one, from it.
. "$(dirname "$0")/lib/api.bash"
api_nng_ports
A_URL=$(sed -n 's|^ *poller_url: *||p' "$T/poller.yaml")
GRILLD_NNG_POLLER_URL=tcp://127.0.0.1:${p[1]} api_start || bail "an API on the standby"
req GET /api/devices
check_eq "devices through the standby: the active poller's, from Redis" \
	"200 redis true" "$CODE $(jqr .source) $(jqr '.count > 0 and ([.data[] | .name != null] | all)')"
GRILLD_NNG_POLLER_URL=$A_URL api_start || bail "an API on the active poller"
req GET /api/devices
check_eq "devices through the active poller: from it" "200 poller true" \
	"$CODE $(jqr .source) $(jqr '.count > 0 and ([.data[] | .name != null] | all)')"

b_why() { curl -s "http://$B_ADMIN/health/ready" | jq -r '.reason // ""'; }
b_refused() { [[ $(b_why) == *"nobody@grilld.example: not signed in: INVALID_LOGIN_CREDENTIALS"* ]]; }
wait_for "the refused account" 15 b_refused
check_match "an account it cannot sign in: not ready, and why" \
	"nobody@grilld.example: not signed in: INVALID_LOGIN_CREDENTIALS" "$(b_why)"
kill -KILL "$PID_poller"
wait "$PID_poller" 2>/dev/null
b_took() { [ "$(grep -c "lease taken over; polling" "$T/poller-b.log")" = 2 ]; }
wait_for "the takeover" 15 b_took
check "the second poller takes both leases when the first dies" b_took
check_oracle "nothing lost or doubled across the takeover"
check_no_duplicates "after the takeover"
done_testing
