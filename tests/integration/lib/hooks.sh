# Shared by the 04-ingest-* scenarios that send alerts to a webhook
# (sourced after lib.sh): an ingester configured with one receiver.
#
#   hook_ingest_conf          ADMIN (the ingester's admin URL), HOOK (the
#                             receiver's host:port), SECRET, and
#                             $T/ingest.yaml naming them
#   start_hookrecv "$HOOK" "$T/hooks.log" [-f N]    when it should listen
#   start_daemon ingest "$ADMIN/health/ready" -f "$T/ingest.yaml"

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
