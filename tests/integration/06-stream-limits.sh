#!/usr/bin/env bash
# grilld-stream's limits: streams per address and in all, subscriptions
# per connection, tokens (API keys and signed short-lived tokens), idle
# WebSocket time-out, and a client that stops reading: coalesced, then
# disconnected, while a client beside it gets every event in order.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/stream.sh"

KEY=k-$RANDOM$RANDOM
PROBE_QUERY="?token=$KEY"
start_stream_env GRILLD_STREAM_PER_ADDRESS=3 GRILLD_STREAM_MAX_CLIENTS=5 \
	GRILLD_STREAM_MAX_SUBSCRIPTIONS=2 GRILLD_STREAM_QUEUE_MAX=256 \
	GRILLD_STREAM_IDLE_TIMEOUT=1s GRILLD_STREAM_HEARTBEAT=30s \
	GRILLD_STREAM_WRITE_TIMEOUT=2s GRILLD_STREAM_SNDBUF=16KiB \
	GRILLD_API_READ_AUTH=true \
	GRILLD_API_KEYS="other-key,$KEY"
S=/api/temperature/stream
status() { curl -s -o /dev/null -w '%{http_code}' -m 1 "$@" || true; }

# --- tokens -------------------------------------------------------------------
check_eq "without a token: 401" 401 "$(status "$STREAM_URL$S")"
check_eq "with a wrong one: 403" 403 "$(status "$STREAM_URL$S?token=nope")"
check_eq "an API key in Authorization: Bearer" 200 "$(status -H "Authorization: Bearer $KEY" "$STREAM_URL$S")"
check_eq "or in ?token= (what browsers can send)" 200 "$(status "$STREAM_URL$S?token=$KEY")"
sign() { printf 'grilld-stream:%s' "$1" | openssl dgst -sha256 -hmac "$2" | awk '{ print $NF }'; }
exp=$(( $(date +%s) + 300 ))
check_eq "a signed short-lived token" 200 "$(status "$STREAM_URL$S?token=$exp.$(sign $exp "$KEY")")"
old=$(( $(date +%s) - 5 ))
check_eq "an expired one: 403" 403 "$(status "$STREAM_URL$S?token=$old.$(sign $old "$KEY")")"
far=$(( $(date +%s) + 3 * 86400 ))
check_eq "one that lives longer than a day: 403" 403 "$(status "$STREAM_URL$S?token=$far.$(sign $far "$KEY")")"
check_eq "one signed with no key of ours: 403" 403 "$(status "$STREAM_URL$S?token=$exp.$(sign $exp wrong)")"
check_eq "the page, health and metrics need none" "200 200 200" \
	"$(status "$STREAM_URL/") $(status "$STREAM_URL/health/ready") $(status "$STREAM_URL/metrics")"
T_=$KEY

# --- subscriptions --------------------------------------------------------------
check_eq "more devices and probes than stream.max_subscriptions: 400" 400 \
	"$(status "$STREAM_URL$S?token=$T_&devices=a,b&probes=p1")"
check_eq "as many as allowed: fine" 200 "$(status "$STREAM_URL$S?token=$T_&devices=a&probes=p1")"

# --- per address, and in all ----------------------------------------------------
cpids=()
for i in 1 2 3; do
	curl -s -N -m 20 -o /dev/null "$STREAM_URL$S?token=$T_" &
	cpids+=($!)
done
wait_for "3 streams" 5 bash -c "curl -s $STREAM_URL/health/ready | grep -q '\"clients\":3'"
check_eq "a 4th stream from the same address: 429" 429 "$(status "$STREAM_URL$S?token=$T_")"
check_eq "another address is welcome" 200 "$(status --interface 127.0.0.2 "$STREAM_URL$S?token=$T_")"
for i in 1 2; do
	curl -s -N -m 20 -o /dev/null --interface 127.0.0.2 "$STREAM_URL$S?token=$T_" &
	cpids+=($!)
done
wait_for "5 streams" 5 bash -c "curl -s $STREAM_URL/health/ready | grep -q '\"clients\":5'"
check_eq "past stream.max_clients: 503" 503 "$(status --interface 127.0.0.3 "$STREAM_URL$S?token=$T_")"
check_match "  with Retry-After" "Retry-After: 5" \
	"$(curl -s -D - -o /dev/null -m 1 --interface 127.0.0.3 "$STREAM_URL$S?token=$T_")"
kill "${cpids[@]}" 2>/dev/null
wait "${cpids[@]}" 2>/dev/null
wait_for "the streams to go" 5 bash -c "curl -s $STREAM_URL/health/ready | grep -q '\"clients\":0'"
check_eq "their places are free again" 200 "$(status "$STREAM_URL$S?token=$T_")"

# --- idle WebSocket ------------------------------------------------------------
# rawws.py connects and sends nothing: no frame, no pong.
sed 's|/api/temperature/ws?snapshot=0|/api/temperature/ws?snapshot=0\&token='"$KEY"'|' \
	"$GRILLD_TOP/tests/integration/stream/rawws.py" >"$T/rawws.py"
check_eq "a WebSocket silent for stream.idle_timeout is closed with 4000" 4000 \
	"$(python3 "$T/rawws.py" "$STREAM_PORT" "")"

# --- a client that stops reading -------------------------------------------------
"$BUILD/tools/streamload" -a "127.0.0.1:$STREAM_PORT" -n 1 -s -b 2048 -q -t 12 \
	-p "$S/slow?token=$T_" >"$T/slow.out" 2>&1 &
spid=$!
: >"$T/good.out"
curl -s -N -m 40 "$STREAM_URL$S/slow?token=$T_" >"$T/good.out" &
gpid=$!
wait_for "both clients" 5 bash -c "curl -s $STREAM_URL/health/ready | grep -q '\"clients\":2'"
ev "steady 4000 800 slow p1"
ev_sync
wait_for "the slow client to be dropped" 15 bash -c \
	"curl -s $STREAM_URL/metrics | grep -qE 'disconnects_total\{reason=\"(slow|stall)\"\} [1-9]'"
curl -s "$STREAM_URL/metrics" >"$T/m.out"
check_match "the client that stopped reading was disconnected" \
	'disconnects_total\{reason="(slow|stall)"\} [1-9]' "$(cat "$T/m.out")"
check_match "  after its queue was coalesced" "grilld_stream_coalesced_total [1-9]" \
	"$(grep '^grilld_stream_coalesced_total' "$T/m.out")"
wait_for "the good client to get everything" 20 bash -c "[ \$(grep -c '^id: ' $T/good.out) -ge 4000 ]"
check_eq "the client beside it got all 4000 events, in order" \
	"4000 $(ev_ids slow | md5sum)" \
	"$(grep -c '^id: ' "$T/good.out") $(sed -n 's/^id: //p' "$T/good.out" | md5sum)"
kill $gpid $spid 2>/dev/null
wait $gpid $spid 2>/dev/null
check_match "queues are empty again" "grilld_stream_queued_events 0" \
	"$(curl -s "$STREAM_URL/metrics")"
done_testing
