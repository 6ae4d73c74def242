#!/usr/bin/env bash
# grilld-stream over Server-Sent Events: the format, filters, heartbeats,
# resume with Last-Event-ID and ?since= (no gap, no duplicate, also across
# a restart of the stream with events flowing), the truncation notice, and
# bad input answered while the stream keeps serving. The ingester's part
# is played by tests/tools/evpub.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/stream.sh"

need_node_packages eventsource
start_stream_env GRILLD_STREAM_RETRY=250ms GRILLD_STREAM_HEARTBEAT=300ms

# --- the format ----------------------------------------------------------
out=$T/basic.out
curl -s -N -m 2 -D "$T/basic.hdr" "$STREAM_URL/api/temperature/stream/devA?protocol=grilld" >"$out" &
cpid=$!
curl -s -N -m 2 "$STREAM_URL/api/temperature/stream/devA" >"$T/seedfmt.out" &
cpid2=$!
sleep 0.3
ev "r devA p1 201.5"
ev "r devB p1 150"
ev "d devA offline"
ev "a devA p1 high"
ev_sync
wait $cpid $cpid2
check_match "the answer is an event stream" "text/event-stream" "$(cat "$T/basic.hdr")"
check_match "it opens with the retry hint of stream.retry" "^retry: 250" "$(head -1 "$out")"
ida=$(ev_ids devA | head -1)
check_match "a reading has id, event and data" \
	"id: $ida"$'\n'"event: reading"$'\n'"data: \\{\"device_id\":\"devA\",\"probe_id\":\"p1\",\"temperature\":201.5" \
	"$(cat "$out")"
check_match "the data carries the same event_id" "\"event_id\":\"$ida\"" "$(cat "$out")"
check_eq "the path's device filters: 3 events of devA, none of devB" "3 0" \
	"$(grep -c '^id: ' "$out") $(grep -c devB "$out")"
check_match "device and alert events are named" \
	"event: device"$'\n'".*event: alert" "$(tr -d '\r' <"$out" | grep '^event:' | tr '\n' ' ' | sed 's/ event/\nevent/g')"
check "an idle stream gets heartbeat comments" grep -q '^:$' "$out"
check_match "grill-stats' route: a reading is an unnamed event (onmessage), with its id" \
	"id: $ida"$'\n'"data: \\{\"device_id\":\"devA\",\"probe_id\":\"p1\",\"temperature\":201.5" \
	"$(cat "$T/seedfmt.out")"
check_eq "  readings only, no event: line (grill-stats sent readings)" "1 0" \
	"$(grep -c '^id: ' "$T/seedfmt.out") $(grep -c '^event: \(reading\|device\|alert\)' "$T/seedfmt.out")"

# --- filters ---------------------------------------------------------------
out=$T/filter.out
curl -s -N -m 2 "$STREAM_URL/api/temperature/stream?devices=devC,devD&probes=p1,devD/p3" >"$out" &
cpid=$!
curl -s -N -m 2 "$STREAM_URL/api/temperature/stream/devC?probe_id=p2" >"$T/seed.out" &
cpid2=$!
sleep 0.3
for e in "r devC p1 1" "r devC p2 2" "r devD p3 3" "r devD p2 4" "r devE p1 5" "d devC online"; do
	ev "$e"
done
ev_sync
wait $cpid $cpid2
check_eq "?devices= and ?probes= (name or device/probe) select" \
	"devC/p1 devD/p3 devC/-" \
	"$(grep '^data:' "$out" | sed -E 's/.*"device_id":"([^"]*)"(,"probe_id":"([^"]*)")?.*/\1\/\3/; s/\/$/\/-/' | tr '\n' ' ' | sed 's/ $//')"
check_eq "grill-stats' ?probe_id= on a device's stream" "1" \
	"$(grep -c '"probe_id":"p2"' "$T/seed.out")"
check_eq "  and nothing else of it (readings only)" "1" "$(grep -c '^id:' "$T/seed.out")"

# --- resume ----------------------------------------------------------------
for i in 1 2 3 4 5; do ev "r devR p1 $i"; done
ev_sync
ids=($(ev_ids devR))
out=$(sse_get /api/temperature/stream/devR 1 -H "Last-Event-ID: ${ids[1]}")
check_eq "Last-Event-ID replays exactly what came after it, in order" \
	"${ids[2]} ${ids[3]} ${ids[4]}" "$(echo "$out" | sed -n 's/^id: //p' | tr '\n' ' ' | sed 's/ $//')"
out=$(sse_get "/api/temperature/stream/devR?since=${ids[3]}" 1)
check_eq "?since= does the same" "${ids[4]}" "$(echo "$out" | sed -n 's/^id: //p')"
ms=${ids[2]%-*}
out=$(sse_get "/api/temperature/stream/devR?since=$(date -u -d @$(( ms / 1000 )) +%Y-%m-%dT%H:%M:%SZ)" 1)
check_match "?since= takes an RFC 3339 time" "id: ${ids[4]}" "$out"

# The seam, for real: events flow while the stream restarts; the client
# (the eventsource package) reconnects with Last-Event-ID by itself.
: >"$T/seam.out"
node_run sse-collect.mjs "$STREAM_URL/api/temperature/stream/seam?protocol=grilld" "$T/seam.out" 120 40 &
npid=$!
wait_for "the client to connect" 10 grep -q open "$T/seam.out"
ev "steady 120 60 seam p1"
wait_for "events to flow" 10 grep -q ' reading seam' "$T/seam.out"
stop_pid "$PID_stream"
sleep 0.3
start_daemon stream "$STREAM_URL/health/ready" || bail "grilld-stream restarts"
wait $npid
check_eq "the client got all 120 events across the restart" 0 $?
ev_sync
check_eq "in order, with no gap and no duplicate at the seam" \
	"$(ev_ids seam | tr '\n' ' ')" \
	"$(awk '$3 == "seam" { print $1 }' "$T/seam.out" | tr '\n' ' ')"
check_match "it did reconnect" "open"$'\n'".*open" "$(cat "$T/seam.out")"
check_eq "every data's event_id matched its id" 0 "$(grep -c '^bad id' "$T/seam.out")"

# --- truncation ---------------------------------------------------------------
for i in $(seq 1 12); do ev "r devT p1 $i"; done
ev_sync
ids=($(ev_ids devT))
ev "trim 4"
ev_sync
oldest=$(redis_cli XRANGE grilld:events - + COUNT 1 | head -1)
out=$(sse_get /api/temperature/stream/devT 1 -H "Last-Event-ID: ${ids[2]}")
check_match "a resume from before what the stream holds is told so" \
	"event: truncated"$'\n'"data: \\{\"since\":\"${ids[2]}\",\"oldest\":\"$oldest\"\\}" "$out"
check_eq "  then gets what the stream still holds" "${ids[8]} ${ids[9]} ${ids[10]} ${ids[11]}" \
	"$(echo "$out" | sed -n 's/^id: //p' | tr '\n' ' ' | sed 's/ $//')"
out=$(sse_get /api/temperature/stream/devT 1 -H "Last-Event-ID: ${ids[10]}")
check_eq "a resume within what it holds is not" 0 "$(echo "$out" | grep -c truncated)"

# --- bad input --------------------------------------------------------------
code=$(curl -s -o "$T/bad.out" -w '%{http_code}' -m 2 -H 'Last-Event-ID: yesterday' "$STREAM_URL/api/temperature/stream")
check_eq "a malformed Last-Event-ID is a 400" 400 "$code"
check_match "  with grilld's error body" '"code":"BAD_EVENT_ID"' "$(cat "$T/bad.out")"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$STREAM_URL/api/temperature/stream?since=1-2-3")
check_eq "so is a malformed ?since=" 400 "$code"
code=$(curl -s -o "$T/bad.out" -w '%{http_code}' -m 2 "$STREAM_URL/api/temperature/stream?devices=a%01b")
check_eq "a device name with a control character is a 400" 400 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$STREAM_URL/api/temperature/stream/a/b")
check_eq "an unknown route is a 404" 404 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 -X POST "$STREAM_URL/api/temperature/stream")
check_eq "POST is a 405" 405 "$code"
printf 'GET /%s HTTP/1.1\r\nHost: x\r\n\r\n' "$(head -c 9000 /dev/zero | tr '\0' a)" >"$T/long.req"
check_match "a request line too long is refused (414)" "^HTTP/1.1 414" \
	"$(timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$STREAM_PORT; cat '$T/long.req' >&3; head -1 <&3" 2>/dev/null)"
check_match "garbage is a 400" "^HTTP/1.1 400" \
	"$(timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$STREAM_PORT; printf 'hello there\r\n\r\n' >&3; head -1 <&3" 2>/dev/null)"
before=$(metric grilld_stream_events_invalid_total)
ev "raw reading {not json"
ev 'raw alert {"device_id":"x"}'
ev "r devOK p1 5"
ev_sync
wait_for "the bad events to be counted" 5 \
	bash -c "[ \"\$(curl -s $STREAM_URL/metrics | awk '\$1 == \"grilld_stream_events_invalid_total\" {print \$2}')\" = $((before + 2)) ]"
check_eq "malformed messages from the ingester are counted and dropped" \
	$((before + 2)) "$(metric grilld_stream_events_invalid_total)"
out=$(sse_get "/api/temperature/stream/devOK?since=0&protocol=grilld" 1)
check_match "and the stream still serves" "event: reading" "$out"
check "the stream is still ready" curl -sf "$STREAM_URL/health/ready"
done_testing
