#!/usr/bin/env bash
# make bench: every benchmark of bench/ on this machine, then one table
# of every figure (grilld, the reference measured in the same
# invocation, their ratio, the target), written with the machine's
# details to bench/results.md, and bench/e2e.sh's run over time plotted
# into bench/results.svg (gnuplot).
#
#   bash bench/run.sh [NAME...]     names: handoff ingest api stream
#                                   poller e2e scaling (default: all,
#                                   then any other bench/*.sh)
#   BENCH_QUICK=1                   the short version of each
#   BENCH_RESUME=DIR                some scripts again, into DIR
#
# Each script's figures are its RESULT lines (bench/lib.sh says what
# they hold); for a script that prints none, an adapter below reads its
# own output. A script that cannot run here (a daemon not built, a tool
# missing) says SKIP and the run goes on; one that crashes or times out
# is reported as such, with its log kept in $BUILD/bench/<time>/.
# Nothing here fails the build on a missed target: the table says it.
set -u
cd "$(dirname "$0")/.." || exit 1
TOP=$PWD
BUILD=${BUILD:-build/release}
BIN=${BIN:-bin}
BENCH_QUICK=${BENCH_QUICK:-0}
export BUILD BIN BENCH_QUICK GRILLD_TOP=$TOP
ORDER="handoff ingest api stream poller e2e scaling"
# BENCH_RESUME=DIR: run the named scripts again into an earlier run's
# folder, keeping the other scripts' figures (and e2e's series), and
# write the table of them all.
if [ -n "${BENCH_RESUME:-}" ]; then
	OUT=$(cd "$BENCH_RESUME" 2>/dev/null && pwd) ||
		{ echo "bench/run.sh: BENCH_RESUME=$BENCH_RESUME: no such folder"; exit 1; }
else
	OUT=$TOP/$BUILD/bench/$(date +%Y%m%d-%H%M%S)
fi
export BENCH_OUT=$OUT
mkdir -p "$OUT"
quick() { [ "$BENCH_QUICK" = 1 ]; }

if [ $# -gt 0 ]; then
	names="$*"
else
	names=$ORDER
	for f in bench/*.sh; do
		n=$(basename "$f" .sh)
		case " $ORDER lib run " in *" $n "*) ;; *) names="$names $n" ;; esac
	done
fi

# How each colleague's script is asked for its quick or full version,
# and for at least five runs per figure.
args_of() {
	case $1 in
	api) if quick; then echo 5 2; else echo 5 5; fi ;;
	ingest) if quick; then echo 50000 1000 5; else echo 300000 1000 5; fi ;;
	poller) if quick; then echo 1000 15s 5; else echo 10000 60s 5; fi ;;
	esac
}
env_of() {	# one VAR=value a line
	case $1 in
	stream) if quick; then
			printf '%s\n' RUNS=5 CLIENTS=2000 DURATION=4 WS=1 CIVETWEB=0 \
				"CEILING=1000 2000 4000"
		else
			echo RUNS=5
		fi ;;
	esac
}

# Adapters: the figures of a script that prints no RESULT lines yet,
# read from what it prints now. Each prints RESULT lines.
res() { printf 'RESULT\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@"; }
trim() { sed 's/^ *//; s/ *$//'; }

adapt_api() {	# printf '%-28s %12s %12s %8s  %s\n' label grilld reference ratio target
	local label g r
	while IFS= read -r line; do
		label=$(printf '%s' "${line:0:28}" | trim)
		g=$(printf '%s' "${line:29:12}" | trim)
		r=$(printf '%s' "${line:42:12}" | trim)
		case $label in
		"current requests/s"*) res api.current_requests_per_s "$g" "$r" requests/s ">=15000,>=0.5x" higher - "wrk vs a trivial civetweb handler" ;;
		"current p50 ms") res api.current_p50_ms "$g" "$r" ms - lower - "vs the trivial handler" ;;
		"current p99 ms") res api.current_p99_ms "$g" "$r" ms "<10" lower - "vs the trivial handler" ;;
		"cache off: requests/s") res api.current_nocache_requests_per_s "$g" "$r" requests/s - higher - "api.latest_cache false" ;;
		"history 24h p50 ms"*) res api.history_p50_ms "$g" "$r" ms "<1.3x" lower - "vs the same InfluxQL sent to influxd" ;;
		"history 24h p99 ms") res api.history_p99_ms "$g" "$r" ms - lower - "vs influxd directly" ;;
		"history 24h requests/s") res api.history_requests_per_s "$g" "$r" requests/s - higher - "vs influxd directly" ;;
		esac
	done <"$1"
}
adapt_ingest() {	# printf '%-40s %10s  %s\n' label value comment
	local g r rss
	g=$(awk '/^ingest readings\/s/ { print substr($0, 42, 10) + 0 }' "$1")
	r=$(awk '/^reference readings\/s/ { print substr($0, 42, 10) + 0 }' "$1")
	rss=$(awk '/^ingest peak RSS MiB/ { print substr($0, 42, 10) + 0 }' "$1")
	[ -n "$g" ] && res ingest.readings_per_s "$g" "${r:--}" readings/s ">=50000,>=0.9x" higher - \
		"Redis stream to InfluxDB vs curl of the same batches to influxd"
	[ -n "$rss" ] && res ingest.peak_rss_mib "$rss" - MiB "<64" lower - ""
}
adapt_poller() {	# name value [unit] [comment]
	v() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
	local devs g r share rss crss over
	devs=$(v poller_devices "$1") g=$(v poller_cpu_per_1000_requests "$1")
	r=$(v curl_cpu_per_1000_requests "$1") share=$(v poller_cpu_share "$1")
	rss=$(v poller_peak_rss "$1") over=$(v poller_overruns "$1")
	crss=$(awk '$1 == "poller_peak_rss" { sub(/.*curl /, ""); print $1 + 0 }' "$1")
	[ -n "$g" ] || return 0
	res poller.cpu_ms_per_1000_requests "$g" "${r:--}" "ms CPU" - lower - "plain curl fetching the same documents; $devs devices"
	res poller.cpu_cores "$share" - cores "<0.25" lower - "$devs devices"
	res poller.peak_rss_mib "$rss" "${crss:--}" MiB "<64" lower - "curl's peak RSS beside"
	res poller.overruns "$over" - cycles "<1" lower - ""
}
adapt_stream() {	# system tr delivered p50 p90 p99 p999 max kib cpu
	local tr
	for tr in sse ws; do
		awk -v tr="$tr" '
		$1 == "grilld-stream" && $2 == tr { for (i = 3; i <= 10; i++) g[i] = $i; ok = 1 }
		$1 == "nginx+nchan" && $2 == tr { for (i = 3; i <= 10; i++) r[i] = $i }
		END {
			if (!ok) exit
			f = "RESULT\tstream.%s_%s\t%s\t%s\t%s\t%s\t%s\t-\t%s\n"
			printf f, tr, "p99_ms", g[6], r[6], "ms", "<100,<=1x", "lower", "vs nginx+Nchan, same clients and events"
			printf f, tr, "delivered_per_s", g[3], r[3], "events/s", "-", "higher", "vs nginx+Nchan"
			printf f, tr, "kib_per_idle_conn", g[9], r[9], "KiB", "<32", "lower", "vs nginx+Nchan"
			printf f, tr, "cpu_s", g[10], r[10], "s", "-", "lower", "server CPU over the run"
		}' "$1"
	done
	awk '/^ceiling grilld-stream/ { g = $3 } /^ceiling nginx\+nchan/ { r = $3 }
		END { if (g != "") printf "RESULT\tstream.ceiling_clients\t%s\t%s\tclients\t-\thigher\t-\tp99 passes 100 ms\n", g, r }' "$1"
}

# ok TARGET GRILLD RATIO: yes, NO, or - (no target or no value).
met() {
	awk -v t="$1" -v g="$2" -v x="$3" 'BEGIN {
		if (t == "-" || t == "") { print "-"; exit }
		n = split(t, c, ","); res = "yes"
		for (i = 1; i <= n; i++) {
			s = c[i]; v = g
			if (s ~ /x$/) { v = x; sub(/x$/, "", s) }
			if (v == "-" || v == "" || v !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) { res = "-"; continue }
			match(s, /^(>=|<=|>|<|=)/); op = substr(s, 1, RLENGTH); lim = substr(s, RLENGTH + 1) + 0
			v += 0
			ok = (op == ">=") ? v >= lim : (op == "<=") ? v <= lim : (op == ">") ? v > lim : \
			    (op == "<") ? v < lim : v == lim
			if (!ok) { res = "NO"; break }
		}
		print res }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		num = "^-?[0-9.]+(e[-+]?[0-9]+)?$"
		if (a ~ num && b ~ num && b + 0 != 0) printf "%.2f\n", a / b; else print "-" }'
}

echo "grilld benchmarks$(quick && echo ' (quick)'): $names"
echo "logs: $OUT"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "The machine is shared: figures move with its load (now $LOAD0)."
for n in $names; do
	script=bench/$n.sh
	if [ ! -f "$script" ]; then
		printf '%s\tmissing\t0\n' "$n" >"$OUT/$n.status"
		echo "== $n: no $script"
		continue
	fi
	limit=$(quick && echo 1500 || echo 5400)
	echo "== $n ($(date +%H:%M:%S))"
	t0=$(date +%s)
	mapfile -t envs < <(env_of "$n")
	# shellcheck disable=SC2046
	env "${envs[@]}" BENCH_NAME="$n" timeout --kill-after=30 "$limit" \
		bash "$script" $(args_of "$n") >"$OUT/$n.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	grep -a '^RESULT	' "$OUT/$n.log" >"$OUT/$n.results"
	grep -a '^TABLE	' "$OUT/$n.log" >"$OUT/$n.tables"
	how="RESULT lines"
	if [ ! -s "$OUT/$n.results" ] && declare -F "adapt_$n" >/dev/null; then
		"adapt_$n" "$OUT/$n.log" >"$OUT/$n.results"
		how="adapter (no RESULT lines)"
	fi
	nres=$(grep -c . "$OUT/$n.results")
	skip=$(awk -F'\t' '$1 == "SKIP" { print $2; exit }' "$OUT/$n.log")
	if [ -n "$skip" ]; then
		status="skipped: $skip"
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		status="timed out after $limit s ($nres figures)"
	elif [ "$nres" = 0 ]; then
		status="FAILED (exit $rc, no figures): $(grep -av '^#' "$OUT/$n.log" | tail -n 2 | tr '\t\n' '  ' | cut -c1-200)"
	else
		status="ok, $nres figures from $how (exit $rc)"
	fi
	echo "   $status; $secs s"
	printf '%s\t%s\t%s\n' "$n" "$status" "$secs" >"$OUT/$n.status"
done
# Every script's figures in the folder, in the usual order.
all=$ORDER
for f in "$OUT"/*.status; do
	n=$(basename "$f" .status)
	case " $all " in *" $n "*) ;; *) all="$all $n" ;; esac
done
: >"$OUT/results.tsv"
: >"$OUT/status.tsv"
: >"$OUT/tables.tsv"
for n in $all; do
	[ -f "$OUT/$n.status" ] || continue
	cat "$OUT/$n.status" >>"$OUT/status.tsv"
	cat "$OUT/$n.results" >>"$OUT/results.tsv" 2>/dev/null
	cat "$OUT/$n.tables" >>"$OUT/tables.tsv" 2>/dev/null
done
t_all=$(awk -F'\t' '{ s += $3 } END { print s + 0 }' "$OUT/status.tsv")

# The table: RESULT name grilld reference unit target better spread note.
rows() {
	local name g r unit target spread note
	while IFS=$'\t' read -r _ name g r unit target _ spread note; do
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$g" "$r" \
			"$(ratio "$g" "$r")" "$unit" "$target" "$(met "$target" "$g" "$(ratio "$g" "$r")")" \
			"${spread:--}" "${note:-}"
	done <"$OUT/results.tsv"
}
rows >"$OUT/table.tsv"
{
	printf 'figure\tgrilld\treference\tratio\tunit\ttarget\tmet\tspread\n'
	cut -f1-8 "$OUT/table.tsv"
} | column -t -s $'\t' >"$OUT/table.txt"
echo
cat "$OUT/table.txt"
echo
echo "$(awk -F'\t' '$7 == "yes"' "$OUT/table.tsv" | wc -l) targets met, $(awk -F'\t' '$7 == "NO"' "$OUT/table.tsv" | wc -l) missed, $(wc -l <"$OUT/table.tsv") figures; $t_all s"

# The plot of bench/e2e.sh's run.
plot=""
if [ -s "$OUT/e2e.series" ] && command -v gnuplot >/dev/null; then
	if gnuplot -e "series='$OUT/e2e.series'; samples='$OUT/e2e.samples'; out='$TOP/bench/results.svg'" \
		bench/plot.gp 2>"$OUT/plot.log"; then
		plot=bench/results.svg
	else
		echo "plot: gnuplot failed, see $OUT/plot.log"
	fi
fi

# bench/results.md
{
	echo "# grilld benchmarks"
	echo
	echo "\`$(quick && echo 'BENCH_QUICK=1 ')make bench\`, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)'), $t_all s."
	[ -n "${BENCH_RESUME:-}" ] &&
		echo "Run again into the same folder at that time: $names (BENCH_RESUME); the other figures are the earlier run's."
	echo "How to read it: \`docs/benchmarks.md\`."
	echo
	echo "## Machine"
	echo
	echo "- load average (1, 5, 15 min) at the start: $LOAD0"
	bash -c ". bench/lib.sh >/dev/null 2>&1; bench_machine" | sed 's/^/- /; s/ now:/ at the end:/'
	echo
	echo "The machine is shared with other work: every figure moves with its"
	echo "load. References run in the same invocation, alternating with grilld,"
	echo "so the ratios are steadier than the absolute values."
	echo
	echo "## Figures"
	echo
	echo "| figure | grilld | reference | ratio | unit | target | met | spread | what |"
	echo "| --- | ---: | ---: | ---: | --- | --- | --- | --- | --- |"
	while IFS=$'\t' read -r a b c d e f g h i; do
		echo "| $a | $b | $c | $d | $e | $f | $g | $h | $i |"
	done <"$OUT/table.tsv"
	echo
	echo "## Benchmarks run"
	echo
	echo "| script | status | seconds |"
	echo "| --- | --- | ---: |"
	while IFS=$'\t' read -r a b c; do echo "| bench/$a.sh | $b | $c |"; done <"$OUT/status.tsv"
	if [ -s "$OUT/tables.tsv" ]; then
		awk -F'\t' '
		$2 != title {
			title = $2; print ""; print "## " title; print ""; head = 1
		}
		{
			line = "|"; for (i = 3; i <= NF; i++) line = line " " $i " |"; print line
			if (head) { line = "|"; for (i = 3; i <= NF; i++) line = line " --- |"; print line; head = 0 }
		}' "$OUT/tables.tsv"
	fi
	if [ -n "$plot" ]; then
		echo
		echo "## bench/e2e.sh over time"
		echo
		echo "![throughput, latency percentiles and memory over the run](results.svg)"
	fi
} >"$OUT/results.md" 2>/dev/null
cp "$OUT/results.md" bench/results.md
echo "written: bench/results.md${plot:+, $plot}"
