# The comparison (sourced by chaos.sh): what InfluxDB holds against what
# the simulator recorded, point by point, and against the stream the
# auditor copied; then the figures per fault.
#
# Files in $OUT, one row per point, tab-separated:
#   session.N.tsv  the oracle of simulator session N: device, channel,
#                  time_ms, value, units, status, required (1: uploaded
#                  while the poller could read it; 0: uploaded just
#                  before that cloud died, unreachable)
#   influx.tsv     InfluxDB: device, probe, time_ms, value, unit,
#                  status, source
#   lostredis.tsv  readings an empty Redis took with it: device, probe,
#                  time_ms, u (not yet read) or p (pending)
#   audit.tsv      the readings stream: epoch, id, device, probe, time_ms
#   points.tsv     the verdict per point: class, device, probe, time_ms
#
# Classes (points uploaded after the end of the run are left out):
# stored; lost (required, not in InfluxDB); lost_redis (the
# same, but in the stream when Redis lost its data: reported, not a
# failure); unreachable; late (unreachable, yet stored); altered (value,
# unit or status differ, or a timestamp below the millisecond); extra
# (in InfluxDB, never recorded); dup_series (stored in two series);
# dup_stream (appended to the stream twice in one Redis lifetime);
# resent (appended again after Redis lost poller:seen: harmless, the
# point is rewritten with the same value).

# oracle_snapshot FILE CUT [final]: the current session's uploaded
# points. Those uploaded after CUT (ms) are marked unreachable (0), or
# with "final", where CUT is the end of the run, left out of the
# comparison (x): the run ends before they could be read.
oracle_snapshot() {
	curl -s -m 120 "http://$TW_ADMIN/admin/recorded?uploaded=true&limit=10000000" |
		jq -r '.points[] | [.device, .channel, .time_ms, (.value // ""),
		    .units, .status] | @tsv' >"$1.tmp"
	chain_uploads | awk -F'\t' -v OFS='\t' -v t0="$SESSION_T0" -v cut="$2" \
	    -v late="$([ "${3:-}" = final ] && echo x || echo 0)" '
	    NR == FNR { split($0, f, " "); upl[f[1]] = f[2]; next }
	    {
		u = upl[$1]
		up = t0 + int(($3 - t0 + u - 1) / u) * u
		print $0, (up <= cut) ? 1 : late
	    }' - "$1.tmp" >"$1"
	rm -f "$1.tmp"
}

# influx_points FILE SINCE UNTIL: every point of the polled devices.
influx_points() {
	local d
	: >"$1"
	for d in $CHAIN_DEVICES; do
		curl -s -m 300 -G "$INFLUX_URL/query" --data-urlencode db=grilld \
		    --data-urlencode epoch=u --data-urlencode chunked=true \
		    --data-urlencode chunk_size=20000 --data-urlencode \
		    "q=SELECT status, value FROM raw.temperature WHERE device_id = '$d' AND time >= $2ms AND time <= $3ms GROUP BY *" |
			jq -r '.results[]?.series[]? | .tags as $t | .values[] |
			    [$t.device_id, $t.probe_id, (.[0] | tostring),
			     (.[2] // "" | tostring), $t.unit, .[1], $t.source] | @tsv' \
			    >>"$1"
	done
}

# compare_points [DIR]: writes points.tsv from the files above (in DIR,
# default $OUT).
compare_points() {
	local dir=${1:-$OUT}
	cat "$dir"/session.*.tsv >"$dir/oracle.tsv"
	touch "$dir/lostredis.tsv"
	awk -F'\t' -v OFS='\t' '
	    FILENAME ~ /oracle.tsv$/ {
		k = $1 SUBSEP $2 SUBSEP $3
		want[k] = $4 "\t" $5 "\t" $6; req[k] = $7; next
	    }
	    FILENAME ~ /lostredis.tsv$/ { gone[$1 SUBSEP $2 SUBSEP $3] = 1; next }
	    FILENAME ~ /influx.tsv$/ {
		us = $3
		if (substr(us, length(us) - 2) != "000") {
			print "altered", $1, $2, us / 1000
			next
		}
		k = $1 SUBSEP $2 SUBSEP substr(us, 1, length(us) - 3)
		if (k in got) { print "dup_series", $1, $2, substr(us, 1, length(us) - 3); next }
		got[k] = $4 "\t" $5 "\t" $6
		next
	    }
	    FILENAME ~ /audit.tsv$/ {
		k = $3 SUBSEP $4 SUBSEP $5
		if (!(k in first)) { first[k] = $2; ep[k] = $1; next }
		if ($2 == first[k]) next	# the same entry read twice
		print (ep[k] == $1 ? "dup_stream" : "resent"), $3, $4, $5
		next
	    }
	    END {
		for (k in want) {
		    split(k, f, SUBSEP)
		    if (req[k] == "x")
			continue
		    if (!(k in got)) {
			c = req[k] ? ((k in gone) ? "lost_redis" : "lost") : "unreachable"
		    } else {
			split(want[k], w, "\t"); split(got[k], g, "\t")
			# The archives carry no status: UNKNOWN is no change. A
			# value the device sent as a float is stored at its
			# precision (158.8 for 158.8000030517578): equal within
			# the relative precision of a float.
			d = w[1] - g[1]; if (d < 0) d = -d
			m = w[1] < 0 ? -w[1] : w[1]; if (m < 1) m = 1
			same = (w[1] == "" ? g[1] == "" : g[1] != "" && d <= m * 1e-6) &&
			    w[2] == g[2] && (w[3] == g[3] || g[3] == "UNKNOWN")
			c = !same ? "altered" : req[k] ? "stored" : "late"
			if (!same)
			    print "# altered " f[1] "/" f[2] " at " f[3] ": cloud [" want[k] "], InfluxDB [" got[k] "]" > "/dev/stderr"
		    }
		    print c, f[1], f[2], f[3]
		}
		for (k in got)
		    if (!(k in want)) {
			split(k, f, SUBSEP)
			print "extra", f[1], f[2], f[3]
		    }
	    }' "$dir/oracle.tsv" "$dir/lostredis.tsv" "$dir/influx.tsv" \
	    "$dir/audit.tsv" 2>"$dir/altered.txt" >"$dir/points.tsv"
}

# figures SINCE UNTIL [DIR]: the counts of points.tsv in a time window:
# expected stored lost lost_redis dup altered unreachable late extra resent
figures() {
	awk -v a="$1" -v b="$2" '
	    $4 >= a && $4 <= b { n[$1]++ }
	    END {
		want = n["stored"] + n["lost"] + n["lost_redis"] + n["altered"]
		printf "%d %d %d %d %d %d %d %d %d %d\n", want, n["stored"],
		    n["lost"], n["lost_redis"], n["dup_series"] + n["dup_stream"],
		    n["altered"], n["unreachable"], n["late"], n["extra"], n["resent"]
	    }' "${3:-$OUT}/points.tsv"
}

# report: the table of figures, per fault and for the whole run.
report() {
	local name start end rec loss notes f w0 w1 r
	{
	printf '%-44s %8s %8s %5s %6s %4s %7s %9s\n' fault expected stored \
	    lost 'lost*' dup altered recover_s
	while IFS=$'\t' read -r name start end rec loss notes; do
		w0=$((start - 30000))
		w1=$end
		r=-
		if [ "$rec" -ge 0 ]; then w1=$rec; r=$(ms_s $((rec - end))); fi
		f=($(figures "$w0" "$w1"))
		printf '%-44s %8d %8d %5d %6d %4d %7d %9s\n' "${name:0:44}" \
		    "${f[0]}" "${f[1]}" "${f[2]}" "${f[3]}" "${f[4]}" "${f[5]}" "$r"
	done <"$OUT/events.tsv"
	f=($(figures 0 99999999999999))
	printf '%-44s %8d %8d %5d %6d %4d %7d\n' "whole run ($RUN_MINUTES min)" \
	    "${f[0]}" "${f[1]}" "${f[2]}" "${f[3]}" "${f[4]}" "${f[5]}"
	echo
	echo "lost*: in the stream, unacknowledged, when Redis lost its data (reported, not a failure)"
	echo "unreachable (uploaded just before the cloud died): ${f[6]}, of which stored anyway: ${f[7]}"
	echo "extra points in InfluxDB: ${f[8]}; readings re-sent after Redis lost poller:seen: ${f[9]}"
	echo "points InfluxDB accepted over HTTP: $WRITTEN, holds: $HELD" \
	    "($((WRITTEN - HELD - ${POISON_WRITES:-0})) rewritten with the same value" \
	    "after crashes, retries and splits)"
	echo
	echo "notes per fault:"
	while IFS=$'\t' read -r name start end rec loss notes; do
		[ -n "$notes" ] && echo "  $name: $notes"
	done <"$OUT/events.tsv"
	} | tee "$OUT/report.txt" | sed 's/^/# /'
}

# compare_selftest: the comparison must see what it is there to see.
# The run's files are copied with four stored points broken in InfluxDB
# (one removed, one altered, one written under a second tag set, one
# moved to another probe) and one reading appended to the stream again:
# the figures must move by exactly that.
compare_selftest() {
	local d=$OUT/selftest before after
	mkdir -p "$d"
	cp "$OUT"/session.*.tsv "$OUT/lostredis.tsv" "$d/"
	# Stored points an empty Redis did not hold: their loss would count
	# as Redis's.
	awk -F'\t' 'FILENAME ~ /lostredis/ { gone[$1 SUBSEP $2 SUBSEP $3] = 1; next }
	    $1 == "stored" && !(($2 SUBSEP $3 SUBSEP $4) in gone) {
		print $2 "\t" $3 "\t" $4 "000"; if (++n == 4) exit
	    }' "$OUT/lostredis.tsv" "$OUT/points.tsv" >"$d/victims.tsv"
	if [ "$(wc -l <"$d/victims.tsv")" != 4 ]; then
		echo "fewer than 4 stored points"
		return 1
	fi
	awk -F'\t' -v OFS='\t' '
	    NR == FNR { v[$1 SUBSEP $2 SUBSEP $3] = NR; next }
	    {
		n = v[$1 SUBSEP $2 SUBSEP $3]
		if (n == 1) next				# lost
		if (n == 2) $4 = $4 + 1				# altered
		if (n == 3) { print; $7 = "twice" }		# duplicated
		if (n == 4) $2 = "9"				# extra, and lost
		print
	    }' "$d/victims.tsv" "$OUT/influx.tsv" >"$d/influx.tsv"
	{ cat "$OUT/audit.tsv"; head -1 "$OUT/audit.tsv" | awk -F'\t' -v OFS='\t' \
	    '{ $2 = "0-1"; print }'; } >"$d/audit.tsv"
	compare_points "$d"
	before=($(figures 0 99999999999999))
	after=($(figures 0 99999999999999 "$d"))
	# lost +2 (removed, moved), dup +2 (series, stream), altered +1, extra +1
	[ $((after[2] - before[2])) = 2 ] && [ $((after[4] - before[4])) = 2 ] &&
	    [ $((after[5] - before[5])) = 1 ] && [ $((after[8] - before[8])) = 1 ] &&
	    return 0
	echo "figures before: ${before[*]}; after: ${after[*]}; victims:" \
	    "$(tr '\n\t' '; ' <"$d/victims.tsv")"
	return 1
}
