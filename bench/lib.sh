# shellcheck shell=bash disable=SC2034
# Shared by grilld's benchmarks (bench/*.sh). Sourced, after which a
# script has the stack harness's servers (tests/lib/stack.sh, through
# tests/integration/lib.sh: start_redis, start_influx, start_daemon,
# freeport, wait_for, redis_cli, influx_query, stop_pid, stack_nng_env,
# stack_twsim_env; everything in a temporary folder $T removed at exit)
# and the helpers below.
#
# THE RESULT LINE. Every benchmark prints one line per figure on stdout,
# fields separated by one TAB:
#
#   RESULT  name  grilld  reference  unit  target  better  [spread  [note]]
#
#   name       area.figure, [a-z0-9_.@-], e.g. ingest.readings_per_s
#   grilld     grilld's value: the median over the runs; "-" when none
#   reference  the reference's value measured in the same invocation, on
#              the same machine and data (median too); "-" when the
#              figure has no reference
#   unit       readings/s, requests/s, ms, MiB, KiB/conn, cores, ...
#   target     "-", or conditions joined by ",": on grilld's value
#              (">=50000", "<10") or, with an "x", on the ratio
#              grilld / reference (">=0.6x", "<=1.1x")
#   better     higher | lower
#   spread     how far grilld's runs were apart: "n=5 min..max", "-"
#   note       free text without TABs (what the reference was, ...)
#
# bench/run.sh computes the ratio, checks the target, and prints every
# RESULT line of every script in one table (bench/results.md too).
#
# TABLE lines add tables of their own to bench/results.md (the scaling
# table): "TABLE<TAB>title<TAB>cell<TAB>cell...", the first line of a
# title being its header row.
#
# A script that cannot run here says why and exits 0:
#   SKIP<TAB>reason            (bench_skip)
#
# BENCH_QUICK=1 asks every script for its short version (bench_pick).
# Nothing here asserts anything: benchmarks report, tests assert.

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export GRILLD_TOP=${GRILLD_TOP:-$BENCH_TOP}
. "$BENCH_TOP/tests/integration/lib.sh"
BENCH_NAME=${BENCH_NAME:-$(basename "$0" .sh)}
BENCH_QUICK=${BENCH_QUICK:-0}
export GRILLD_LOG_LEVEL=${GRILLD_LOG_LEVEL:-warn}

# tests/integration/lib.sh's bail speaks TAP; here it says SKIP.
bail() { bench_skip "$*"; }

bench_skip() {
	printf 'SKIP\t%s\n' "$*"
	exit 0
}

# bench_pick QUICK FULL: the value for this kind of run.
bench_pick() { if [ "$BENCH_QUICK" = 1 ]; then echo "$1"; else echo "$2"; fi; }

# bench_result NAME GRILLD REFERENCE UNIT TARGET BETTER [SPREAD [NOTE]]
bench_result() {
	printf 'RESULT\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "${2:--}" \
		"${3:--}" "$4" "${5:--}" "$6" "${7:--}" "${8:-}"
}

# bench_table TITLE CELL...: one row of an extra table.
bench_table() {
	local IFS=$'\t'
	printf 'TABLE\t%s\n' "$*"
}

# Numbers on stdin, one a line. bench_median: the median (the mean of
# the middle two for an even count). bench_spread: "n=N min..max".
bench_median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m + 0 }'
}
bench_spread() {
	sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END {
		if (NR == 0) print "-"; else printf "n=%d %s..%s\n", NR, lo, hi }'
}
# bench_pct P: the P-th percentile (nearest rank) of numbers on stdin.
bench_pct() {
	sort -g | awk -v p="$1" '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		k = int(p / 100 * NR + 0.999999); if (k < 1) k = 1
		print v[k] }'
}
# bench_fmt DIGITS NUMBER: rounded; "-" stays "-".
bench_fmt() {
	awk -v d="$1" -v x="$2" 'BEGIN {
		if (x == "-" || x == "") print "-"; else printf "%.*f\n", d, x }'
}

# bench_mib KIB: mebibytes, one decimal.
bench_mib() { awk -v k="$1" 'BEGIN { if (k == "-" || k == "") print "-"; else printf "%.1f\n", k / 1024 }'; }

# bench_need_cmd CMD...: skips the benchmark when a command is missing.
bench_need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			bench_skip "$c is not installed (make deps)"
	done
}
# bench_need_daemon NAME...: skips unless bin/grilld-NAME exists and
# accepts its default configuration.
bench_need_daemon() {
	local d
	for d in "$@"; do
		[ -x "$BIN/grilld-$d" ] || bench_skip "$BIN/grilld-$d is not built"
		"$BIN/grilld-$d" -n >/dev/null 2>&1 ||
			bench_skip "grilld-$d -n fails: $("$BIN/grilld-$d" -n 2>&1 | head -1)"
	done
}

# bench_build NAME [LIBS...]: compiles bench/NAME.c with the project's
# flags against libgrilld.a into $BUILD/bench/NAME (when older than its
# source or the library) and prints the path.
bench_build() {
	local name=$1 src=$BENCH_TOP/bench/$1.c out=$BUILD/bench/$1
	shift
	if [ ! -x "$out" ] || [ "$src" -nt "$out" ] || [ "$BUILD/libgrilld.a" -nt "$out" ]; then
		mkdir -p "$BUILD/bench"
		cc -std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow \
			-Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
			-Wcast-qual -Wformat=2 -Wundef -Wvla -Wno-unused-parameter \
			-Wimplicit-fallthrough -D_GNU_SOURCE -I"$BENCH_TOP/common" \
			-pthread -o "$out" "$src" "$BUILD/libgrilld.a" \
			-lnng -lcurl -lhiredis -lcjson -lcivetweb -lyaml -lz -lm "$@" \
			>&2 || return 1
	fi
	echo "$out"
}

# From /proc: resident memory in KiB, CPU time in clock ticks.
bench_rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
bench_hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
bench_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }
BENCH_HZ=$(getconf CLK_TCK)

# bench_sample NAME=PID...: one line per live process on stdout,
# "epoch_ms name rss_kib cpu_ticks".
bench_sample() {
	local now np
	now=$(date +%s%3N)
	for np in "$@"; do
		[ -r "/proc/${np#*=}/stat" ] || continue
		echo "$now ${np%%=*} $(bench_rss_kib "${np#*=}") $(bench_cpu_ticks "${np#*=}")"
	done
}
# bench_sampler_start FILE SECONDS NAME=PID...: bench_sample into FILE
# every SECONDS; bench_sampler_stop ends it.
bench_sampler_start() {
	local file=$1 every=$2
	shift 2
	(
		trap 'exit 0' TERM
		while :; do
			bench_sample "$@"
			sleep "$every"
		done
	) >>"$file" &
	BENCH_SAMPLER=$!
	_pids+=("$BENCH_SAMPLER")
}
bench_sampler_stop() {
	[ -n "${BENCH_SAMPLER:-}" ] || return 0
	kill -TERM "$BENCH_SAMPLER" 2>/dev/null
	wait "$BENCH_SAMPLER" 2>/dev/null
	BENCH_SAMPLER=
}

# bench_metric URL NAME: the value of an unlabelled series (0 if none).
bench_metric() {
	curl -sf -m 5 "$1" | awk -v m="$2" '$1 == m { v = $2 } END { print v + 0 }'
}
# bench_metric_sum URL NAME: the sum over every label set of NAME.
bench_metric_sum() {
	curl -sf -m 5 "$1" | awk -v m="$2" '{ n = $1; sub(/\{.*/, "", n) }
		n == m { s += $NF } END { print s + 0 }'
}

# The machine, as "key: value" lines (bench/run.sh writes them out).
bench_machine() {
	local nng civet
	nng=$(dpkg-query -W -f='${Version}' libnng1 2>/dev/null)
	civet=$(dpkg-query -W -f='${Version}' libcivetweb1 2>/dev/null)
	echo "cores: $(nproc)"
	echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "kernel: $(uname -sr)"
	echo "os: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
	echo "redis: $(redis-server --version 2>/dev/null | awk '{ print $3 }' | sed 's/v=//')"
	echo "influxd: $(influxd version 2>/dev/null | awk '{ print $2 }')"
	echo "nng: ${nng:-?}"
	echo "civetweb: ${civet:-?}"
	echo "hiredis: $(dpkg-query -W -f='${Version}' libhiredis0.14 2>/dev/null || echo '?')"
	echo "curl: $(curl --version 2>/dev/null | awk 'NR == 1 { print $2 }')"
	echo "gcc: $(gcc -dumpfullversion 2>/dev/null)"
	echo "wrk: $(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo '?')"
	echo "nginx: $(nginx -v 2>&1 | awk -F/ '{ print $2 }')"
	echo "load average (1, 5, 15 min) now: $(cut -d' ' -f1-3 /proc/loadavg)"
}
