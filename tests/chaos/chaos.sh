#!/usr/bin/env bash
# The fault suite: the whole chain (redis-server with its append-only
# file, influxd, grilld-twsim with a fixed world of cooks, grilld-poller,
# grilld-ingest) on free ports in a temporary folder; faults injected
# one after the other, alone and combined; then what InfluxDB holds is
# compared with what the simulator recorded, point by point, and with
# every entry of the readings stream. docs/faults.md tells the story.
#
#   tests/chaos/chaos.sh [-p PLAN] [-m MINUTES] [-s SEED] [-o DIR]
#
# PLAN: long (make chaos: every fault, then random ones for MINUTES,
# default CHAOS_MINUTES or 30), crash, backends or slow (the short forms
# that tests/integration/08-faults-*.sh run), slowfull (the long and slow
# faults of issue 15 alone, at full length). DIR keeps the figures, the
# per-point files and the daemons' logs (default: removed at the end).
# Prints TAP: a lost, duplicated, altered or extra point fails the run.
#
# Why bash: the runner is process control (start, kill -9, SIGSTOP,
# mount, start again on the same port and data) around the same
# lib.sh every integration scenario uses, and the comparison is set
# arithmetic on sorted text that awk does in a second for 100,000
# points; a C program would rebuild both for nothing.
set -u
CHAOS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$CHAOS_DIR/../integration/lib.sh"
for f in chain probe audit events faults compare plans; do
	. "$CHAOS_DIR/$f.bash"
done

PLAN=long
CHAOS_MINUTES=${CHAOS_MINUTES:-30}
CHAOS_SEED=${CHAOS_SEED:-$(date +%s)}
OUT=${CHAOS_OUT:-}
while getopts p:m:s:o: opt; do
	case $opt in
	p) PLAN=$OPTARG ;;
	m) CHAOS_MINUTES=$OPTARG ;;
	s) CHAOS_SEED=$OPTARG ;;
	o) OUT=$OPTARG ;;
	*) echo "usage: $0 [-p long|crash|backends|slow|slowfull] [-m MINUTES] [-s SEED] [-o DIR]" >&2
	   exit 2 ;;
	esac
done
declare -F "plan_$PLAN" >/dev/null || { echo "$0: no plan $PLAN" >&2; exit 2; }
! declare -F "init_$PLAN" >/dev/null || "init_$PLAN"
[ -n "$OUT" ] || OUT=$T/out
mkdir -p "$OUT"
: >"$OUT/events.tsv"
RANDOM=$CHAOS_SEED
case $PLAN in
long | slowfull) RECOVER_TIMEOUT=900 ;;
*) RECOVER_TIMEOUT=150 ;;
esac

chaos_exit() {
	local s=$?
	[ "$OUT" = "$T/out" ] || cp "$T"/*.log "$T/redis/redis.log" \
	    "$T/influx/influxd.log" "$OUT/" 2>/dev/null
	chaos_cont_all
	spool_umount
	_cleanup
	exit $s
}
# A process stopped by a fault that was cut short must hear SIGTERM.
chaos_cont_all() {
	local p
	for p in "${_pids[@]}"; do kill -CONT "$p" 2>/dev/null; done
}
trap chaos_exit EXIT

note "chaos: plan $PLAN, seed $CHAOS_SEED, figures in $OUT"
chain_init
chain_start
audit_start
ok "the chain runs: twsim, poller, Redis, ingest, InfluxDB (spool on $([ "$SPOOL_TMPFS" = 1 ] && echo "a tmpfs" || echo "disk, spool_max $CHAOS_SPOOL_MAX"))"

"plan_$PLAN"

# Every fault repaired: the chain settles, then the comparison.
note "settling"
tw_clear
chain_check_alive
for d in twsim ingest poller; do daemon_up "$d" || daemon_start "$d"; done
CUT=$(now_ms)
settled() {
	caught_up "$SESSION_T0" "$CUT" "$(lost_between "$SESSION_T0" "$CUT")" && chain_idle
}
wait_for "the chain to settle" "$RECOVER_TIMEOUT" settled ||
	note "not settled within $RECOVER_TIMEOUT s"
sleep 1			# the auditor's last read
audit_stop
SESSIONS=$((${SESSIONS:-0} + 1))
oracle_snapshot "$OUT/session.$SESSIONS.tsv" "$CUT" final
# A clock stepped back (fault_clock_step) stamped points before the run.
influx_points "$OUT/influx.tsv" "$((RUN_T0 - ${CLOCK_BACK:-0} - 60000))" "$CUT"
WRITTEN=$((INFLUX_WRITTEN_BASE + $(influx_written_ok)))
HELD=$(influx_count 0 "$(now_ms)")
RUN_MINUTES=$((($(now_ms) - RUN_T0) / 60000))
compare_points
report
check "the comparison sees a lost, a doubled, an altered and an extra point" \
	compare_selftest
# Under make SAN=1 (BIN=build/san/bin) a daemon that stopped may have
# left a report.
check_eq "no sanitizer report in the daemons' logs" "" \
	"$(grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T"/*.log | xargs -r -n1 basename)"

f=($(figures 0 99999999999999))
check_eq "every recorded point is in InfluxDB (${f[0]} expected, ${f[3]} lost with Redis's data)" \
	"0 lost" "${f[2]} lost"
check_eq "no point stored or appended twice" "0 duplicated" "${f[4]} duplicated"
check_eq "no point altered" "0 altered" "${f[5]} altered"
check_eq "no point the cloud never recorded" "0 extra" "${f[8]} extra"
if [ "${f[2]}" != 0 ] || [ "${f[4]}" != 0 ] || [ "${f[5]}" != 0 ] || [ "${f[8]}" != 0 ]; then
	grep -Ev '^(stored|late|unreachable|resent|lost_redis)' "$OUT/points.tsv" |
		sort -k4n | head -20 | sed 's/^/#   /'
	head -5 "$OUT/altered.txt"
fi
done_testing
