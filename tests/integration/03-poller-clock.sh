#!/usr/bin/env bash
# Seen marks poisoned by a device clock far ahead (a timestamp a year in
# the future that an older poller recorded in poller:seen) must not hide
# every later point: they are ignored, counted, and every point reaches
# the stream once.
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
done_testing
