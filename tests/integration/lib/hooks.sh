# Shared by the 04-ingest-* scenarios that send alerts to a webhook
# (sourced after lib.sh): an ingester configured with one receiver.
#
#   hook_ingest_conf          ADMIN (the ingester's admin URL), HOOK (the
#                             receiver's host:port), SECRET, and
#                             $T/ingest.yaml naming them
#   start_hookrecv "$HOOK" "$T/hooks.log" [-f N]    when it should listen
#   start_daemon ingest "$ADMIN/health/ready" -f "$T/ingest.yaml"
#   hook_rule_hot             the rule "hot" (grill/1 above 225 F), loaded
#   hook_fire_hot             a reading of 300 F a minute old: it fires
#   hook_restart_delivers     the ingester started again delivers the
#                             delivery kept in stream $Q once, and the
#                             stream drains

hook_ingest_conf() {
	local admin events ingest
	stack_ports 127.0.0.1:%s admin HOOK tcp://127.0.0.1:%s events ingest
	ADMIN=http://$admin
	SECRET=grilld-test-secret-0123456789
	cat >"$T/ingest.yaml" <<YAML
ingest:
  admin_listen: $admin
  batch_wait: 100ms
  webhooks:
    - url: http://$HOOK/grilld
      secret: $SECRET
nng:
  events_url: $events
  ingest_url: $ingest
YAML
	chmod 600 "$T/ingest.yaml"	# it holds a webhook secret
}

rules_loaded() { curl -s "$ADMIN/health/ready" | grep -q "\"rules\":$1,"; }
hook_rule_hot() {
	redis_cli HSET grilld:rules hot '{"id":"hot","kind":"above","device_id":"grill","probe_id":"1","threshold":225}' >/dev/null
	redis_cli INCR grilld:rules:version >/dev/null
	wait_for "the rule" 10 rules_loaded 1 || bail "the rule is loaded"
}
hook_fire_hot() {
	local ts=$(($(date +%s) - 60))
	redis_cli XADD grilld:readings '*' v 1 r "{\"device_id\":\"grill\",\"probe_id\":\"1\",\"temperature\":300,\"timestamp\":$ts}" >/dev/null
}
hook_restart_delivers() {
	start_daemon ingest "$ADMIN/health/ready" -f "$T/ingest.yaml" ||
		bail "grilld-ingest starts again"
	delivered() { grep -q '^204' "$T/hooks.log"; }
	check "the alert reaches the receiver after the restart" wait_for "the delivery" 30 delivered
	drained() { [ "$(redis_cli XLEN "$Q")" = 0 ]; }
	check "and leaves the receiver's stream once answered 2xx" wait_for "the stream to drain" 10 drained
	sleep 2	# time for a duplicate to show
	check_eq "delivered once" 1 "$(grep -c '^204' "$T/hooks.log")"
}
