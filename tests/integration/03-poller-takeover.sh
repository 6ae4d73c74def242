#!/usr/bin/env bash
# test-cost: 60
# A poller killed before a device's first point, and a cook that ends
# before the next poller takes over: the next one has no mark of the
# device, and its current session began after the first poller found
# it. It fills in from when grilld first polled the account, moved back
# to the start of a cook going on then (Redis poller:since), so the
# ended session's points come from its archive: every point the
# simulator recorded reaches the stream once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/poller.bash"

t0=$(now_ms)
setup_world
# The first poller gets no point of the Kettle: its channels do not answer.
tw_fault '{"kind": "status", "endpoint": "channel", "device": "K0000001", "status": 503, "count": 0}' ||
	bail "the simulator takes the fault"
start_poller || bail "grilld-poller a starts"
has_readings() { [ "$(redis_cli XLEN grilld:readings)" -gt 0 ]; }
wait_for "readings" 15 has_readings
kettle() { stream_tsv | awk -F'\t' '$1 == "K0000001"' | wc -l; }
check_eq "the first poller emits no point of the Kettle" 0 "$(kettle)"
since=$(redis_cli HGET grilld:poller:since patio@grilld.example)
start=$(curl -sf "http://$TW_ADMIN/admin/recorded?uploaded=false" |
	jq '[.points[] | select(.device == "K0000001") | .time_ms] | min')
check "poller:since holds the start of the Kettle's cook, going on when the account was first polled ($since us, cook from $start ms)" \
	test "${since:-0}" -gt 0 -a "${since:-0}" -lt $((start * 1000))

kill -KILL "$PID_poller"
wait "$PID_poller" 2>/dev/null
# The simulator's sessions last 15 s, archived 2 s after: the Kettle's
# first session ends and is archived before the next poller polls.
sleep $(((t0 + 19000 - $(now_ms)) / 1000 + 1))
tw_clear
start_poller || bail "grilld-poller b starts"
took() { [ "$(grep -c "lease taken.*; polling" "$T/poller.log")" -ge 4 ]; }
wait_for "the takeover" 15 took
check "the second poller takes both accounts" took
check_oracle "every point recorded reaches the stream once, the ended session's from its archive"
check_no_duplicates "after the takeover"
done_testing
