#!/usr/bin/env bash
# Scaling: bench/e2e.sh's run at 1, 10, 100, 1,000 and 10,000 simulated
# devices (twsim.devices; 4 channels each, uploading every 60 s), the
# poller at a 60-s interval as in its target, SCALING_CYCLES whole poll
# cycles measured per count after a warm-up. Shows how the cost grows with
# the devices: the poller's CPU (cores, and CPU per 1,000 requests), the
# readings per second through, and every process's memory.
# (How the cost grows with stream clients: bench/stream.sh's ceiling.)
#
#   bash bench/scaling.sh     SCALING_LEVELS="1 10 100 1000 10000"
#                             SCALING_CYCLES=3 (quick: 2)
#
# Result lines compare the largest count with the one before it: the
# poller's CPU per device should not grow (<= 1.5x, "no worse than
# linear" with room for noise), and at the largest count the poller
# stays under a quarter of a core and 64 MiB (issue 3), and every
# reading that entered Redis reached the client (>= 0.99x).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline.bash"
LEVELS=${SCALING_LEVELS:-"1 10 100 1000 10000"}
CYCLES=${SCALING_CYCLES:-$(bench_pick 2 3)}
export GRILLD_POLLER_INTERVAL=60s

pipeline_init
TITLE="scaling: the pipeline by device count (poller every 60 s; cycles measured at each count: $CYCLES)"
bench_table "$TITLE" devices "into Redis /s" "to client /s" "poller cores" \
	"poller ms CPU /1k req" "poller RSS MiB" "ingest cores" "ingest RSS MiB" \
	"stream RSS MiB" "redis RSS MiB" "influxd RSS MiB" "pipeline p99 ms" overruns

prev="" top=""
for n in $LEVELS; do
	D=$T/scale.$n
	if ! pipeline_start "$n" "$D" || ! pipeline_warm "$n" 60 ||
		! pipeline_measure "$CYCLES" 60 "$D"; then
		echo "# $n devices: the run failed; see the daemons' logs" >&2
		tail -n 5 "$T"/*.log >&2
		bench_table "$TITLE" "$n" "did not run" - - - - - - - - - - -
		pipeline_stop
		continue
	fi
	pipeline_stop
	pipeline_analyse "$D" 2 10
	read -r t0 t1 <"$D/window"
	secs=$(( (t1 - t0) / 1000 ))
	rates=$(awk '{ e += $2; d += $3 } END { printf "%.2f %.2f", e / NR, d / NR }' "$D/rates")
	cores=$(pipeline_proc "$D" poller cores)
	reqs=$(pipeline_counter "$D" requests)
	per1k=$(awk -v c="$cores" -v s="$secs" -v r="$reqs" 'BEGIN {
		if (r >= 1000) printf "%.1f", c * s * 1000 / r * 1000; else print "-" }')
	bench_table "$TITLE" "$n" $rates "$cores" "$per1k" \
		"$(bench_mib "$(pipeline_proc "$D" poller max)")" \
		"$(pipeline_proc "$D" ingest cores)" "$(bench_mib "$(pipeline_proc "$D" ingest max)")" \
		"$(bench_mib "$(pipeline_proc "$D" stream max)")" "$(bench_mib "$(pipeline_proc "$D" redis max)")" \
		"$(bench_mib "$(pipeline_proc "$D" influxd max)")" "$(pipeline_hop "$D" pipeline p99)" \
		"$(pipeline_counter "$D" overruns)"
	echo "$n $cores $(pipeline_proc "$D" poller max) $rates" >>"$T/levels"
	prev=$top top=$n
done
[ -n "$top" ] || bench_skip "no device count ran"

read -r tn tc trss te td < <(awk -v n="$top" '$1 == n' "$T/levels")
bench_result "scaling.poller_cores@$tn" "$tc" - cores "<0.25" lower - \
	"grilld-poller's CPU at $tn devices, 60-s interval"
bench_result "scaling.poller_rss_mib@$tn" "$(bench_mib "$trss")" - MiB "<64" lower - \
	"grilld-poller's peak RSS at $tn devices"
bench_result "scaling.delivered@$tn" "$td" "$te" readings/s ">=0.99x" higher - \
	"to the SSE client vs into Redis at $tn devices"
if [ -n "$prev" ]; then
	read -r pn pc _ < <(awk -v n="$prev" '$1 == n' "$T/levels")
	per() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.4f", c / n * 1000 }'; }
	bench_result scaling.poller_cores_per_1k_devices "$(per "$tc" "$tn")" "$(per "$pc" "$pn")" \
		"cores/1k devices" "<=1.5x" lower - "at $tn devices vs at $pn devices"
fi
