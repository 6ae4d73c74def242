#!/usr/bin/env bash
# Behind a proxy (api.trusted_proxies): only from a trusted peer is the
# forwarded client believed (Forwarded, else X-Forwarded-For, the
# rightmost hop that is not a trusted proxy); every limit is then the
# client's, not the proxy's, and keyless writes depend on the client's
# address, not on the address the API listens on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/stream.sh"
. "$(dirname "$0")/lib/api.bash"

# The proxy is 127.0.0.1; 127.0.0.2 is a client that talks directly.
start_stream_env GRILLD_STREAM_PER_ADDRESS=2 GRILLD_API_TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8"
S=$STREAM_URL/api/temperature/stream
cpids=()
# sse NAME ARGS...: a stream held open in the background.
sse() { curl -s -N -m 20 -o /dev/null "$@" "$S" & cpids+=($!); }
status() { curl -s -o /dev/null -w '%{http_code}' -m 1 "$@" "$S" || true; }
sse -H 'X-Forwarded-For: 198.51.100.1'
sse -H 'X-Forwarded-For: 198.51.100.1'
wait_for "2 streams" 5 bash -c "curl -s $STREAM_URL/health/ready | grep -q '\"clients\":2'"
check_eq "stream: a 3rd stream of one client behind the proxy: 429 (stream.per_address)" 429 \
	"$(status -H 'X-Forwarded-For: 198.51.100.1')"
check_eq "  another client behind the same proxy is welcome (before: one shared cap)" 200 \
	"$(status -H 'X-Forwarded-For: 198.51.100.2')"
check_eq "  Forwarded names it too" 429 "$(status -H 'Forwarded: for="198.51.100.1:5555";proto=https')"
check_eq "  what the client wrote left of the proxy's hop is not believed" 429 \
	"$(status -H 'X-Forwarded-For: 203.0.113.77, 198.51.100.1')"
check_eq "  trusted hops are skipped, right to left" 429 \
	"$(status -H 'X-Forwarded-For: 198.51.100.1, 10.1.2.3')"
sse --interface 127.0.0.2 -H 'X-Forwarded-For: 198.51.100.50'
sse --interface 127.0.0.2 -H 'X-Forwarded-For: 198.51.100.51'
wait_for "4 streams" 5 bash -c "curl -s $STREAM_URL/health/ready | grep -q '\"clients\":4'"
check_eq "  from a peer that is no trusted proxy, the header is ignored: its own cap" 429 \
	"$(status --interface 127.0.0.2 -H 'X-Forwarded-For: 198.51.100.52')"
kill "${cpids[@]}" 2>/dev/null
wait "${cpids[@]}" 2>/dev/null

# --- the API: rate limits and keyless writes --------------------------------
api_start GRILLD_API_RATE=0.5 GRILLD_API_BURST=2 GRILLD_API_TRUSTED_PROXIES=127.0.0.1 \
	GRILLD_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" || bail "grilld-api starts"
rd() { curl -s -o /dev/null -w '%{http_code} ' "$@" "$API/api/devices"; }
codes="$(rd -H 'X-Forwarded-For: 203.0.113.1')$(rd -H 'X-Forwarded-For: 203.0.113.1')$(rd -H 'X-Forwarded-For: 203.0.113.1')"
check_match "api: one client behind the proxy: a burst of 2, then 429" '^[0-9]+ [0-9]+ 429 $' "$codes"
check_match "  another client behind it has a bucket of its own (before: all shared one)" '^(200|503) $' \
	"$(rd -H 'X-Forwarded-For: 203.0.113.2')"
B='{"readings":[{"device_id":"px","temperature":1}]}'
wr() { curl -s -o "$T/.b" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$B" "$@" \
	"$API/api/temperature/batch"; }
check_eq "api: no keys, a remote client through the proxy on loopback: 403 WRITES_DISABLED" \
	"403 WRITES_DISABLED" "$(wr -H 'X-Forwarded-For: 203.0.113.9') $(jq -r .reason "$T/.b")"
check_match "  the local client itself may write" '^(200|201|207)$' "$(wr)"
api_start GRILLD_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" || bail "grilld-api without trusted proxies"
check_eq "api: through a proxy that is not trusted, a forwarded request is not local: 403" 403 \
	"$(wr -H 'X-Forwarded-For: 203.0.113.9')"
check_match "a trusted_proxies entry that is no CIDR is refused at start-up" "trusted_proxies" \
	"$(GRILLD_API_TRUSTED_PROXIES=10.0.0.0/40 "$BIN/grilld-api" -d 2>&1 | head -3)"
done_testing
