#!/usr/bin/env bash
# No alert reaches `events` without its webhook deliveries kept (issue
# 15, item 9): the ingester is killed with SIGKILL right after Redis ran
# the live publication that announced the alert (tests/preload/
# killafter.c kills it once the pipeline carrying the `alerts` stream's
# key was answered), before anything else happens. The alert is in
# `events`, and so is its delivery in the receiver's stream; after the
# restart it reaches the receiver once, with the alert's event id.
# Before the fix the delivery was written in a step of its own after the
# publication, and this crash lost it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/hooks.sh"

start_redis
start_influx
hook_ingest_conf

# The shim only: the curl of wait_for must not carry it. An ASan build
# (make sanitize) wants its runtime first: the shim may come before it.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
LD_PRELOAD=$BUILD/preload/killafter.so KILLAFTER_ARG=grilld:alerts \
KILLAFTER_NOTE=$T/killed "$BIN/grilld-ingest" -d -f "$T/ingest.yaml" \
	>>"$T/ingest.log" 2>&1 &
PID_ingest=$!
_pids+=("$PID_ingest")
wait_for "grilld-ingest" 15 curl -sf "$ADMIN/health/ready" ||
	bail "grilld-ingest starts with the shim"

hook_rule_hot
hook_fire_hot
wait "$PID_ingest" 2>/dev/null
check_eq "the ingester is killed right after the alert's publication" \
	"137 killed" "$? $(cat "$T/killed" 2>/dev/null)"

alerts() { redis_cli XRANGE grilld:events - + | grep -c '"rule_id":"hot"'; }
check_eq "the alert reached events" 1 "$(alerts)"
Q=$(redis_cli --scan --pattern 'grilld:webhooks:q:*')
check_eq "and its delivery is kept in the receiver's stream" 1 \
	"$( [ -n "$Q" ] && redis_cli XLEN "$Q" || echo 0)"
eid=$(redis_cli XRANGE grilld:events - + |
	awk '/^[0-9]+-[0-9]+$/ { id = $0 } /"rule_id":"hot"/ { print id; exit }')

start_hookrecv "$HOOK" "$T/hooks.log" || bail "hookrecv starts"
hook_restart_delivers
check_eq "and announced once" 1 "$(alerts)"
IFS=$'\t' read -r status sig got body <"$T/hooks.log"
check_match "the alert of the rule" '"rule_id":"hot".*"state":"firing"' "$body"
check_match "with the event id the alert has in events" "\"event_id\":\"$eid\"" "$body"
want=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$SECRET" | awk '{ print $2 }')
check_eq "signed" "sha256=$want" "$sig"

stop_pid "$PID_ingest"
check_eq "grilld-ingest stops cleanly" 0 "$?"
done_testing
