#!/usr/bin/env bash
# make tsan: the unit tests and a subset of the integration scenarios on
# the ThreadSanitizer build (build/tsan), with no report allowed.
#   bash tests/tsan.sh [SCENARIO PREFIX ...]
# Every instrumented process (test binaries, daemons, tools) writes what
# ThreadSanitizer finds into $BUILD/tsan-reports/tsan.PID and stops at the
# first report (halt_on_error, exit status 66); the run fails when a test
# fails or when that folder holds a report.
#
# The whole integration suite under ThreadSanitizer (5-15 times slower,
# 8x the memory) takes well over an hour of both cores: the default subset
# below runs every daemon and the threads each starts (poller hand-off and
# HTTP, ingest writer and webhooks, API workers and latest cache, stream
# loops, feed and replay, reloads) in about 13 minutes.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/tsan}
BIN=${BIN:-build/tsan/bin}
export BUILD BIN

SCENARIOS=("$@")
if [ ${#SCENARIOS[@]} -eq 0 ]; then
	SCENARIOS=(00-daemons 04-ingest-alerts 04-ingest-webhook-restart
		05-api-write 05-api-chain 06-stream-reload 06-stream-ws
		08-faults-crash)
fi

reports=$PWD/$BUILD/tsan-reports
rm -rf "$reports"
mkdir -p "$reports"
# second_deadlock_stack: both stacks of a lock-order inversion.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 log_path=$reports/tsan ${TSAN_OPTIONS:-}"

rc=0
bash tests/run unit || rc=1
for s in "${SCENARIOS[@]}"; do
	bash tests/run integration "$s" || rc=1
done

found=$(find "$reports" -type f | sort)
if [ -n "$found" ]; then
	echo
	echo "ThreadSanitizer reports:"
	for f in $found; do
		echo "== $f"
		grep -m1 -A30 'WARNING: ThreadSanitizer' "$f"
	done
	rc=1
fi
if [ "$rc" -eq 0 ]; then
	echo "tsan: no report (unit tests; scenarios ${SCENARIOS[*]})"
fi
exit "$rc"
