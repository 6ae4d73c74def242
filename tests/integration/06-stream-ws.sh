#!/usr/bin/env bash
# grilld-stream over WebSocket, with the `ws` npm package as the client:
# the current readings on connect, live events, (un)subscribing, resume,
# ping/pong, and the close codes for what a client must not send
# (docs/stream.md lists them), with the stream serving on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/stream.sh"

need_node_packages ws
start_stream_env GRILLD_STREAM_MAX_MESSAGE=1KiB GRILLD_STREAM_MAX_SUBSCRIPTIONS=3
WS=ws://127.0.0.1:$STREAM_PORT/api/temperature/ws
type_of() { sed -n 's/.*"type":"\([a-z]*\)".*/\1/p'; }

ev "r devW p1 180"
ev "r devW p2 95"
ev "r devV p1 60"
ev_sync

# --- current readings, then live ------------------------------------------
node_run ws-client.mjs "$WS/devW" '[{"wait":"current"},{"wait":"reading"},{"close":1000}]' >"$T/w1.out" &
npid=$!
# Connected once the snapshot came (node may take a while to start).
wait_for "the snapshot" 15 grep -q '"type":"current"' "$T/w1.out"
ev "r devV p1 61"
ev "r devW p1 181"
ev_sync
wait $npid
first=$(head -1 "$T/w1.out")
check_match "the first message holds the current readings of the device" \
	'^\{"type":"current","data":\[\{"device_id":"devW"' "$first"
check_eq "  one per probe, of that device only" 2 \
	"$(echo "$first" | grep -o '"device_id":"dev.' | grep -c devW)"
idw=$(ev_ids devW | tail -1)
check_match "then live events, with their id" \
	"\\{\"type\":\"reading\",\"id\":\"$idw\",\"data\":\\{\"device_id\":\"devW\"" "$(sed -n 2p "$T/w1.out")"
check_match "a normal close is echoed" '"closed":1000' "$(tail -1 "$T/w1.out")"

# --- grill-stats' protocol, the default ----------------------------------------
node_run ws-client.mjs "$WS/devW?protocol=seed" '[{"wait":"bare","n":2},{"raw":"hello"},{"wait":"bare","n":3},{"close":1000}]' >"$T/seed.out" &
npid=$!
wait_for "the grill-stats snapshot" 15 grep -q devW "$T/seed.out"
ev "r devW p1 182"
ev_sync
wait $npid
check_eq "seed protocol: the current readings, then live ones, each a bare reading" "3 0" \
	"$(grep -c '^{"device_id":"devW"' "$T/seed.out") $(grep -c '"type":"\(current\|reading\|error\)"' "$T/seed.out")"
check_match "  client text is ignored, the session goes on" '"closed":1000' "$(tail -1 "$T/seed.out")"

# --- subscribe, unsubscribe, ping ----------------------------------------------
node_run ws-client.mjs "$WS?snapshot=0" '[
	{"send":{"type":"subscribe","devices":["devX"]}},{"wait":"subscribed"},
	{"sleep":300},{"wait":"reading"},
	{"send":{"type":"subscribe","probes":["devY/p2"],"devices":["devY"]}},{"wait":"subscribed","n":2},
	{"sleep":300},{"wait":"reading","n":2},
	{"send":{"type":"unsubscribe","devices":["devX"]}},{"wait":"subscribed","n":3},
	{"send":{"type":"ping"}},{"wait":"pong"},{"ping":true},
	{"send":{"type":"subscribe","devices":["a","b","c","d"]}},{"wait":"error"},
	{"close":1000}]' >"$T/w2.out" &
npid=$!
wait_for "the subscription" 10 grep -q '"devices":\["devX"\]' "$T/w2.out"
ev "r devY p1 1"
ev "r devX p1 2"
ev_sync
wait_for "the second subscription" 10 grep -q '"devY/p2"' "$T/w2.out"
ev "r devY p1 3"
ev "r devX p1 4"
ev "r devY p2 5"
ev_sync
wait $npid
check_eq "subscribing narrows an all-devices client to those devices" \
	'{"type":"subscribed","all":false,"devices":["devX"],"probes":[]}' "$(grep -m1 subscribed "$T/w2.out")"
check_eq "and it gets their events only, filtered by probe" "devX/p1/2 devY/p2/5" \
	"$(grep '"type":"reading"' "$T/w2.out" | sed -E 's/.*"device_id":"([^"]*)","probe_id":"([^"]*)","temperature":([0-9]+).*/\1\/\2\/\3/' | tr '\n' ' ' | sed 's/ $//')"
check_match "unsubscribing answers with what is left" \
	'"devices":\["devY"\],"probes":\["devY/p2"\]' "$(grep subscribed "$T/w2.out" | sed -n 3p)"
check "a ping message gets a pong" grep -q '^{"type":"pong"}' "$T/w2.out"
check "a ping frame gets a pong frame" grep -q '^{"pong":true}' "$T/w2.out"
check_match "more subscriptions than allowed is an error, not a close" \
	'"type":"error","code":"TOO_MANY_SUBSCRIPTIONS"' "$(cat "$T/w2.out")"
check_match "  and the session went on" '"closed":1000' "$(tail -1 "$T/w2.out")"

# --- resume ---------------------------------------------------------------------
for i in 1 2 3 4; do ev "r devZ p1 $i"; done
ev_sync
ids=($(ev_ids devZ))
out=$(node_run ws-client.mjs "$WS/devZ?snapshot=0" "[{\"send\":{\"type\":\"resume\",\"since\":\"${ids[0]}\"}},{\"wait\":\"replayed\"},{\"close\":1000}]")
check_eq "resume replays what came after the id, then says where it is" \
	"${ids[1]} ${ids[2]} ${ids[3]} replayed:${ids[3]}" \
	"$(echo "$out" | sed -nE 's/.*"type":"reading","id":"([^"]*)".*/\1/p; s/.*"type":"replayed","last_id":"([^"]*)".*/replayed:\1/p' | tr '\n' ' ' | sed 's/ $//')"
out=$(node_run ws-client.mjs "$WS/devZ?since=${ids[2]}" '[{"wait":"replayed"},{"close":1000}]')
check_eq "?since= on connect: current readings, then the replay" "current reading replayed closed" \
	"$(echo "$out" | sed -nE 's/.*"type":"([a-z]+)".*/\1/p; s/.*"closed".*/closed/p' | tr '\n' ' ' | sed 's/ $//')"

# --- what a client must not send ------------------------------------------------
out=$(node_run ws-client.mjs "$WS?snapshot=0" '[{"raw":"{nope"},{"wait":"error"},{"send":{"type":"dance"}},{"wait":"error","n":2},{"send":{"type":"resume","since":"x"}},{"wait":"error","n":3},{"send":{"type":"ping"}},{"wait":"pong"},{"close":1000}]')
check_eq "bad messages get errors and the session goes on" \
	"BAD_MESSAGE UNKNOWN_TYPE BAD_EVENT_ID pong 1000" \
	"$(echo "$out" | sed -nE 's/.*"code":"([A-Z_]+)".*/\1/p; s/^\{"type":"pong"\}/pong/p; s/.*"closed":([0-9]+).*/\1/p' | tr '\n' ' ' | sed 's/ $//')"
steps='['
for i in $(seq 1 16); do steps="$steps{\"raw\":\"bad $i\"},"; done
out=$(node_run ws-client.mjs "$WS?snapshot=0" "${steps%,}]")
check_match "16 bad messages in a row close with 1008 (policy)" '"closed":1008,"reason":"protocol"' "$out"
out=$(node_run ws-client.mjs "$WS?snapshot=0" "[{\"raw\":\"$(head -c 2000 /dev/zero | tr '\0' x)\"}]")
check_match "a message above stream.max_message closes with 1009" '"closed":1009,"reason":"too_big"' "$out"
out=$(node_run ws-client.mjs "$WS?snapshot=0" '[{"bin":10}]')
check_match "a binary message closes with 1003" '"closed":1003' "$out"
check_eq "an unmasked frame closes with 1002" 1002 \
	"$(python3 "$GRILLD_TOP/tests/integration/stream/rawws.py" "$STREAM_PORT" 8102ffff)"
check_eq "text that is not UTF-8 closes with 1007" 1007 \
	"$(python3 "$GRILLD_TOP/tests/integration/stream/rawws.py" "$STREAM_PORT" 818200000000fffe)"
check_eq "a fragmented ping closes with 1002" 1002 \
	"$(python3 "$GRILLD_TOP/tests/integration/stream/rawws.py" "$STREAM_PORT" 098000000000)"
check_eq "a reserved opcode closes with 1002" 1002 \
	"$(python3 "$GRILLD_TOP/tests/integration/stream/rawws.py" "$STREAM_PORT" 838000000000)"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$STREAM_URL/api/temperature/ws")
check_eq "a plain GET of a WebSocket route is a 426" 426 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 -H 'Upgrade: websocket' -H 'Connection: Upgrade' \
	-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: short' "$STREAM_URL/api/temperature/ws")
check_eq "a malformed key is a 400" 400 "$code"
out=$(node_run ws-client.mjs "$WS/devW" '[{"wait":"current"},{"close":1000}]')
check_match "after all that the stream still serves" '"type":"current"' "$out"
check_match "disconnects are counted by reason" 'reason="too_big"\} [1-9]' \
	"$(curl -s "$STREAM_URL/metrics" | grep grilld_stream_disconnects_total)"
done_testing
