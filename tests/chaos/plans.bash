# Plans: which faults, in which order, for how long (sourced by
# chaos.sh). The short plans run in `make test` (tests/integration/
# 08-faults-*.sh), a few faults alone and combined, about a minute and
# a half each; the long plan is `make chaos`: every fault of the list
# once with its full duration, then faults and combinations drawn at
# random until CHAOS_MINUTES have passed.

# Crashes and Redis: kill -9 of both daemons at random moments, SIGTERM
# of the ingester holding a full batch, Redis stopped with the poller
# killed meanwhile, Redis restarted empty.
plan_crash() {
	fault_kill 1 poller ingest
	fault_term_batch
	fault_redis_stop 10 poller
	fault_redis_empty frozen
}

# InfluxDB and the cloud: InfluxDB stopped with the ingester killed
# meanwhile, then frozen until a batch is waiting, with a point in it
# that it rejects; the cloud answering 429, 500, garbage and nothing
# and revoking tokens, with the poller killed meanwhile; the cloud dying
# and coming back; the spool's disk full.
plan_backends() {
	fault_influx_stop 12 ingest
	fault_influx_reject
	fault_cloud "429 500 garbage silence revoke +kill" 12 "$CLOUD_429" \
	    "$CLOUD_500" "$CLOUD_GARBAGE" "$CLOUD_SILENT" "$CLOUD_REVOKE_HARD"
	fault_twsim_restart
	fault_spool_full 3
}

# Long and slow faults (issue 15), short: a device clock stepping back
# an hour, InfluxDB down at a trickle and answering late, the ingester
# down while the poller goes on (a small stream: the poller spools),
# the active poller cut off from Redis while a second takes over, a
# webhook receiver that hangs.
plan_slow() {
	fault_clock_step 15
	fault_influx_low 20
	fault_influx_late 15
	fault_ingest_down 20
	fault_poller_cut 10
	fault_webhook_hang 10
}
# The same at full length, alone (about 50 minutes): what make chaos
# runs among the others, when only these are to be measured.
plan_slowfull() {
	fault_clock_step 120
	fault_influx_low 600
	fault_influx_late 600
	fault_ingest_down 900
	fault_poller_cut 90
	fault_webhook_hang 60
}
# The short plan wants a stream that fills within 20 s and leases that
# lapse within 10.
init_slow() {
	: "${CHAOS_STREAM_MAX:=200}" "${CHAOS_LEASE_TTL:=10s}"
}

# maybe WORD: WORD or nothing, at random (a combination or not).
maybe() { [ $((RANDOM % 2)) = 1 ] || echo "$1"; }

# A fault drawn at random, with random durations.
random_fault() {
	case $((RANDOM % 16)) in
	0 | 1) fault_kill $((1 + RANDOM % 3)) poller ;;
	2 | 3) fault_kill $((1 + RANDOM % 3)) ingest ;;
	4) fault_kill $((1 + RANDOM % 2)) ingest poller ;;
	5) fault_term_poller ;;
	6) fault_term_batch ;;
	7) fault_redis_stop $((5 + RANDOM % 60)) "$(maybe poller)" ;;
	8) fault_redis_empty "$(maybe frozen)" ;;
	9) fault_influx_stop $((5 + RANDOM % 120)) "$(maybe ingest)" ;;
	10) fault_influx_slow $((2 + RANDOM % 20)) ;;
	11) fault_influx_reject ;;
	12) fault_cloud "429+500" $((10 + RANDOM % 60)) "$CLOUD_429" "$CLOUD_500" "$CLOUD_503" ;;
	13) fault_cloud "garbage+silence+kill" $((10 + RANDOM % 60)) \
	    "$CLOUD_GARBAGE" "$CLOUD_SILENT" ;;
	14) fault_twsim_restart ;;
	15) fault_spool_full $((5 + RANDOM % 30)) "$(maybe poller)" ;;
	esac
}

plan_long() {
	local deadline=$(($(date +%s) + CHAOS_MINUTES * 60)) f
	# First, while the run is younger than an hour: a step back of an
	# hour then lands before the run's own points.
	fault_clock_step 120
	local every=(
	    "fault_kill 3 poller"
	    "fault_kill 3 ingest"
	    "fault_kill 2 poller ingest"
	    "fault_term_poller"
	    "fault_term_batch"
	    "fault_redis_stop 60 poller"
	    "fault_redis_empty"
	    "fault_redis_empty frozen"
	    "fault_influx_stop 300 ingest"
	    "fault_influx_slow 20"
	    "fault_influx_reject"
	    "fault_cloud 429 60 \"\$CLOUD_429\""
	    "fault_cloud 500 60 \"\$CLOUD_500\" \"\$CLOUD_503\""
	    "fault_cloud garbage 60 \"\$CLOUD_GARBAGE\""
	    "fault_cloud silence+kill 60 \"\$CLOUD_SILENT\""
	    "fault_cloud revoked-tokens 30 \"\$CLOUD_REVOKE\""
	    "fault_cloud revoked-refresh 30 \"\$CLOUD_REVOKE_HARD\""
	    "fault_twsim_restart"
	    "fault_spool_full 30 poller"
	    "fault_influx_low 600"
	    "fault_influx_late 600"
	    "fault_ingest_down 900"
	    "fault_poller_cut 90"
	    "fault_webhook_hang 60"
	)
	# Every fault once, in a random order.
	for f in $(seq 0 $((${#every[@]} - 1)) | shuf --random-source=<(yes "$CHAOS_SEED")); do
		eval "${every[$f]}"
		sleep_ms "$(rand_ms 10000)"
	done
	# Then at random until the time is up.
	while [ "$(date +%s)" -lt "$deadline" ]; do
		random_fault
		sleep_ms "$(rand_ms 20000)"
	done
}
