#!/usr/bin/env bash
# Seen marks poisoned by a device clock far ahead (a timestamp a year in
# the future that an older poller recorded in poller:seen) must not hide
# every later point: they are ignored, counted, and every point reaches
# the stream once. Then a device clock steps back an hour and forward
# again 20 s later (the simulator's /admin/clock): the points recorded
# between two polls around each step, on the old clock and on the new,
# are filled in from the archives, the archive spanning the step
# included; none is lost, none doubled.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/poller.bash"

setup_world
ahead=$(( ($(date +%s) + 365 * 86400) * 1000000 ))
for s in S0000001 N0000001 G0000001 M0000001 K0000001; do
	for c in 1 2 3 4 5 6 7 8 9; do
		redis_cli HSET grilld:poller:seen "$s/$c" "$ahead" >/dev/null
	done
done
start_poller || bail "grilld-poller starts and gets ready"
check_oracle "poisoned marks ignored: every point reaches the stream"
check_no_duplicates "with marks from a clock far ahead"
check_match "the ignored marks are counted" '^[1-9]' \
	"$(metric grilld_poller_marks_ignored_total)"
check "and logged" grep -q "seen mark .* ahead of now: ignored" "$T/poller.log"
healed() {
	redis_cli HGET grilld:poller:seen S0000001/1 |
		awk -v a="$ahead" '$1 < a { ok = 1 } END { exit !ok }'
}
check "poller:seen heals: the marks move back to the device's time" healed

step() {
	curl -sf -X POST "http://$TW_ADMIN/admin/clock?device=S0000001&step_ms=$1" \
	    >/dev/null
}
s0=$(metric grilld_poller_clock_steps_total)
step -3600000
# Longer than a session (15 s): a whole archive on the new clock sorts
# before the one spanning the step, whose rows are older.
sleep 20
step 3600000
sleep 5
check_oracle "a clock stepped back an hour and forward: every point reaches the stream"
check_eq "no point twice after the steps" "" \
	"$(stream_tsv | cut -f1-3 | sort | uniq -d | head -3)"
check_eq "the step back is counted, once per channel" 4 \
	"$(($(metric grilld_poller_clock_steps_total) - s0))"
done_testing
