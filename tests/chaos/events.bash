# Fault events (sourced by chaos.sh): each fault, alone or combined, is
# one event with a name, the time it began and ended, and the time the
# chain recovered from it, written to $OUT/events.tsv:
#
#	name  start_ms  end_ms  recovered_ms (-1: not within the time-out)
#	lost_with_redis  notes
#
# Recovered means: InfluxDB holds every point the cloud had uploaded
# from 30 s before the fault began until it ended (less what an empty
# Redis took with it), so the time to recover is the time from the end
# of the fault until the data recorded across it was stored.

ev_begin() {
	EV_NAME=$1
	EV_START=$(now_ms)
	EV_END=
	EV_LOSS=0
	EV_NOTES=
	note "fault: $EV_NAME"
}
# ev_note TEXT: a figure of the event, printed and kept in the report.
ev_note() {
	EV_NOTES=${EV_NOTES:+$EV_NOTES; }$*
	note "  $*"
}
ev_end() { EV_END=$(now_ms); }

# lost_between SINCE UNTIL: readings an empty Redis took for sure (not
# yet read by any replica), in the window.
lost_between() {
	[ -s "$OUT/lostredis.tsv" ] || { echo 0; return; }
	awk -F'\t' -v a="$1" -v b="$2" '$4 == "u" && $3 >= a && $3 <= b { n++ }
	    END { print n + 0 }' "$OUT/lostredis.tsv"
}

# ev_recover [SINCE UNTIL]: waits (at most RECOVER_TIMEOUT seconds) for
# the window, by default 30 s before the start to the end, to be stored,
# and writes the event down.
ev_recover() {
	[ -n "$EV_END" ] || ev_end
	local since=${1:-$((EV_START - 30000))} until=${2:-$EV_END} rec=-1
	local deadline loss
	[ "$since" -ge "$SESSION_T0" ] || since=$SESSION_T0
	deadline=$(($(now_ms) + RECOVER_TIMEOUT * 1000))
	while [ "$(now_ms)" -lt "$deadline" ]; do
		loss=$(lost_between "$since" "$until")
		if caught_up "$since" "$until" "$loss"; then
			rec=$(now_ms)
			break
		fi
		sleep 1
	done
	if [ "$rec" -ge 0 ]; then
		note "  recovered in $(ms_s $((rec - EV_END))) s"
	else
		note "  NOT recovered within ${RECOVER_TIMEOUT} s" \
		    "(InfluxDB $(influx_count "$since" "$until")," \
		    "cloud $(oracle_count "$since" "$until"))"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$EV_NAME" "$EV_START" "$EV_END" \
	    "$rec" "$EV_LOSS" "$EV_NOTES" >>"$OUT/events.tsv"
}

# ms_s MS: milliseconds as seconds with one decimal.
ms_s() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }
# rand_ms MAX: a random duration in [0, MAX) ms (from CHAOS_SEED).
rand_ms() { echo $(((RANDOM * 32768 + RANDOM) % $1)); }
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
