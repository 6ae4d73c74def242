#!/usr/bin/env bash
# Runs every libFuzzer target (build/fuzz/fuzzers/fuzz_*) for FUZZ_SECONDS
# each, starting from its committed seeds in tests/fuzz/corpus/<name>/
# (fuzz_reading -> reading). Prints TAP lines; a crash is a failure and
# its input is kept in build/fuzz/crash-<name>-*: add it to the seeds and
# make it a regression test.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-60}
n=0
failed=0
for f in build/fuzz/fuzzers/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	seeds=tests/fuzz/corpus/${name#fuzz_}
	work=build/fuzz/work/${name#fuzz_}
	mkdir -p "$work" "$seeds"
	n=$((n + 1))
	log=build/fuzz/$name.log
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
		-artifact_prefix="build/fuzz/crash-$name-" -print_final_stats=1 \
		"$work" "$seeds" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "ok $n - $name: ${runs:-?} inputs in ${secs}s, no crash"
	else
		failed=$((failed + 1))
		echo "not ok $n - $name crashed"
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/#   /'
	fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
