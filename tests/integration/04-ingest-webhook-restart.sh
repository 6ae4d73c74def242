#!/usr/bin/env bash
# Webhook deliveries survive a crash: an alert fires while its receiver
# is down, the ingester is killed with SIGKILL, the receiver comes up and
# the ingester starts again: the alert arrives, once, with the delivery
# id it was given before the crash, signed, and the receiver's Redis
# stream (webhooks:q:<hash>) is empty once it answered 2xx.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/hooks.sh"

start_redis
start_influx
hook_ingest_conf
start_daemon ingest "$ADMIN/health/ready" -f "$T/ingest.yaml" ||
	bail "grilld-ingest starts with webhooks"

hook_rule_hot

# The receiver is down (nothing listens on $HOOK) when the alert fires.
hook_fire_hot
hookq() { redis_cli --scan --pattern 'grilld:webhooks:q:*'; }
kept() { [ -n "$(hookq)" ] && [ "$(redis_cli XLEN "$(hookq)")" = 1 ]; }
check "the delivery is kept in the receiver's Redis stream" wait_for "the kept delivery" 20 kept
tried() { curl -s "$ADMIN/metrics" | grep -q '^grilld_ingest_webhook_retries_total [1-9]'; }
check "and tried against the dead receiver" wait_for "a failed try" 20 tried
Q=$(hookq)
did=$(redis_cli XRANGE "$Q" - + | sed -n '/^d$/{n;p;}' | head -1)
check_match "with a delivery id made of the alert's" '^[0-9a-f]+-[0-9a-f]+-[0-9]+$' "$did"

kill -KILL "$PID_ingest"
wait "$PID_ingest" 2>/dev/null
check_eq "after SIGKILL the delivery is still in Redis" 1 "$(redis_cli XLEN "$Q")"

start_hookrecv "$HOOK" "$T/hooks.log" || bail "hookrecv starts"
hook_restart_delivers
IFS=$'\t' read -r status sig got body <"$T/hooks.log"
check_eq "with the delivery id it had before the crash" "$did" "$got"
check_match "the alert of the rule" '"rule_id":"hot".*"state":"firing"' "$body"
want=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$SECRET" | awk '{ print $2 }')
check_eq "signed" "sha256=$want" "$sig"
check_match "the restart says so" "1 deliveries kept from before queued again" "$(cat "$T/ingest.log")"

stop_pid "$PID_ingest"
check_eq "grilld-ingest stops cleanly" 0 "$?"
done_testing
