#!/usr/bin/env bash
# Scaling: bench/e2e.sh's run at 1, 10, 100, 1,000 and 10,000 simulated
# devices (twsim.devices; 4 channels each, uploading every 60 s), the
# poller at a 60-s interval as in its target, SCALING_CYCLES whole poll
# cycles measured per count after a warm-up, each cycle on its own too.
# Shows how the cost grows with the devices: the poller's CPU (cores, and
# CPU per 1,000 requests), the readings per second through, and every
# process's memory.
# (How the cost grows with stream clients: bench/stream.sh's ceiling.)
#
#   bash bench/scaling.sh     SCALING_LEVELS="1 10 100 1000 10000"
#                             SCALING_CYCLES=5 (quick: 2)
#
# Rates and cores are the median cycle's, with the spread of the cycles;
# CPU per 1,000 requests (the poller counts requests over the whole
# window only), peak memory, the pipeline's p99 and overruns are the
# whole window's. Result lines compare the largest count with the one
# before it: the poller's CPU per device should not grow (<= 1.5x, "no
# worse than linear" with room for noise), and at the largest count the
# poller stays under a quarter of a core and 64 MiB (issue 3), and every
# reading that entered Redis reached the client (>= 0.99x).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pipeline.bash"
LEVELS=${SCALING_LEVELS:-"1 10 100 1000 10000"}
CYCLES=${SCALING_CYCLES:-$(bench_pick 2 5)}
export GRILLD_POLLER_INTERVAL=60s

pipeline_init
TITLE="scaling: the pipeline by device count (poller every 60 s; median of $CYCLES cycles at each count)"
bench_table "$TITLE" devices "into Redis /s" "to client /s" "poller cores" \
	"poller cores, cycles" "poller ms CPU /1k req" "poller RSS MiB" "ingest cores" \
	"ingest RSS MiB" "stream RSS MiB" "redis RSS MiB" "influxd RSS MiB" \
	"pipeline p99 ms" overruns

# med DIGITS: the median of the numbers on stdin, rounded.
med() { bench_fmt "$1" "$(bench_median)"; }
# col N FILE: its Nth column.
col() { awk -v c="$1" '{ print $c }' "$2"; }

prev="" top=""
for n in $LEVELS; do
	D=$T/scale.$n
	if ! pipeline_start "$n" "$D" || ! pipeline_warm "$n" 60 ||
		! pipeline_measure "$CYCLES" 60 "$D"; then
		echo "# $n devices: the run failed; see the daemons' logs" >&2
		tail -n 5 "$T"/*.log >&2
		bench_table "$TITLE" "$n" "did not run" - - - - - - - - - - - -
		pipeline_stop
		continue
	fi
	pipeline_stop
	pipeline_analyse "$D" "$CYCLES" 10
	pipeline_slices "$D" "$CYCLES"
	read -r t0 t1 <"$D/window"
	secs=$(( (t1 - t0) / 1000 ))
	ent=$(col 2 "$D/rates" | med 2) del=$(col 3 "$D/rates" | med 2)
	cores=$(pipeline_slice "$D" poller cores | med 4)
	reqs=$(pipeline_counter "$D" requests)
	per1k=$(awk -v c="$(pipeline_proc "$D" poller cores)" -v s="$secs" -v r="$reqs" 'BEGIN {
		if (r >= 1000) printf "%.1f", c * s * 1000 / r * 1000; else print "-" }')
	bench_table "$TITLE" "$n" "$ent" "$del" "$cores" \
		"$(pipeline_slice "$D" poller cores | bench_spread)" "$per1k" \
		"$(bench_mib "$(pipeline_proc "$D" poller max)")" \
		"$(pipeline_slice "$D" ingest cores | med 4)" \
		"$(bench_mib "$(pipeline_proc "$D" ingest max)")" \
		"$(bench_mib "$(pipeline_proc "$D" stream max)")" \
		"$(bench_mib "$(pipeline_proc "$D" redis max)")" \
		"$(bench_mib "$(pipeline_proc "$D" influxd max)")" \
		"$(pipeline_hop "$D" pipeline p99)" "$(pipeline_counter "$D" overruns)"
	echo "$n $cores $(pipeline_proc "$D" poller max) $ent $del" >>"$T/levels"
	prev=$top top=$n
done
[ -n "$top" ] || bench_skip "no device count ran"

read -r tn tc trss te td < <(awk -v n="$top" '$1 == n' "$T/levels")
TD=$T/scale.$tn
per1k_devices() { awk -v n="$1" '{ printf "%.4f\n", $1 / n * 1000 }'; }
bench_result "scaling.poller_cores@$tn" "$tc" - cores "<0.25" lower \
	"$(pipeline_slice "$TD" poller cores | bench_spread)" \
	"grilld-poller's CPU at $tn devices, 60-s interval; median of $CYCLES cycles"
bench_result "scaling.poller_rss_mib@$tn" "$(bench_mib "$trss")" - MiB "<64" lower \
	"$(pipeline_slice "$TD" poller rss | awk '{ printf "%.1f\n", $1 / 1024 }' | bench_spread)" \
	"grilld-poller's peak RSS at $tn devices (the spread: each cycle's peak)"
bench_result "scaling.delivered@$tn" "$td" "$te" readings/s ">=0.99x" higher \
	"$(col 3 "$TD/rates" | bench_spread)" \
	"to the SSE client vs into Redis at $tn devices; median of $CYCLES cycles"
if [ -n "$prev" ]; then
	read -r pn pc _ < <(awk -v n="$prev" '$1 == n' "$T/levels")
	bench_result scaling.poller_cores_per_1k_devices \
		"$(echo "$tc" | per1k_devices "$tn")" "$(echo "$pc" | per1k_devices "$pn")" \
		"cores/1k devices" "<=1.5x" lower \
		"$(pipeline_slice "$TD" poller cores | per1k_devices "$tn" | bench_spread)" \
		"at $tn devices vs at $pn devices; medians of $CYCLES cycles each"
fi
