#!/usr/bin/env bash
# grilld-stream under hostile connections: requests dribbled a byte at a
# time (slowloris) and in pieces, thousands of idle connections, heavy
# and malformed requests, path traversal against the live page, deep and
# huge WebSocket messages, while a well-behaved SSE client keeps getting
# every event and a well-behaved request its answer. (Frames, tokens and
# per-address limits are 06-stream-*; the limits are docs/security.md.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/stream.sh"

ulimit -n "$(ulimit -Hn)" 2>/dev/null
HOLD=$BUILD/tools/connhold
start_stream_env GRILLD_STREAM_REQUEST_TIMEOUT=1s GRILLD_STREAM_HEARTBEAT=500ms \
	GRILLD_API_CORS_ORIGINS=http://page.example
ADDR=127.0.0.1:$STREAM_PORT

# follow NAME: a well-behaved SSE client of devG in the background.
follow() {
	curl -s -N -m 60 "$STREAM_URL/api/temperature/stream/devG" >"$T/$1" &
	FOLLOW_PID=$!
	_pids+=("$FOLLOW_PID")
	wait_for "the follower to be subscribed" 5 grep -q '^retry:' "$T/$1"
}
# hold NAME ARGS...: connhold in the background, its summary in $T/NAME.
hold() {
	local name=$1
	shift
	"$HOLD" -a "$ADDR" "$@" >"$T/$name" 2>"$T/$name.err" &
	HOLD_PID=$!
	_pids+=("$HOLD_PID")
}
kv() { sed -n "s/^$2=//p" "$T/$1"; }
# good: a plain request, answered within 10 s, from another address than
# the attackers' (one address gets stream.per_address_conns).
good() { [ "$(curl -s -m 10 --interface 127.0.0.2 -o /dev/null -w '%{http_code}' "$STREAM_URL/health/live")" = 200 ]; }

follow sse.out
sent=0
# send N: N readings of devG, one a tick, while something else goes on.
send() {
	for _ in $(seq 1 "$1"); do
		sent=$((sent + 1))
		ev "r devG p1 $sent"
		good || echo bad >>"$T/good.fails"
		sleep 0.2
	done
}

# --- slowloris, and requests in pieces ----------------------------------------
REQ='GET /api/temperature/stream/devG HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n'
hold dribble -n 50 -s "$REQ" -d 100 -t 8
send 8
wait "$HOLD_PID"
check_eq "50 requests dribbled a byte every 100 ms: all cut off with 408 (stream.request_timeout)" \
	"50 50" "$(kv dribble closed) $(kv dribble status_408)"
exec 3<>"/dev/tcp/127.0.0.1/$STREAM_PORT"
printf 'GET /health/live HTTP/1.1\r\nHost: x\r\n' >&3
sleep 0.2
printf 'Connection: close\r\n\r\n' >&3
check_eq "a request that arrives in two pieces is answered" "HTTP/1.1 200 OK" \
	"$(timeout 5 head -1 <&3 | tr -d '\r')"
exec 3<&-

# --- thousands of idle connections --------------------------------------------
hold idle -n 3000 -t 15
wait_for "connhold to connect" 10 grep -q ready "$T/idle.err"
send 10
wait "$HOLD_PID"
check_eq "3,000 idle connections: every one closed by the server" \
	"$(kv idle connected) 0" "$(kv idle closed) $(kv idle open)"
echo "# 3,000 idle: $(kv idle connected) connected, $(kv idle closed) closed by the server"
check "meanwhile every plain request was answered within 10 s" test ! -e "$T/good.fails"

# --- heavy and malformed requests ---------------------------------------------
status() { curl -sS --path-as-is -m 5 -o "$T/.b" -w '%{http_code}' "$@"; }
big=$(head -c 9000 /dev/zero | tr '\0' a)
check_eq "a 9 KB header: 431" 431 "$(status -H "X-Big: $big" "$STREAM_URL/")"
check_eq "a 9 KB URL: 414" 414 "$(status "$STREAM_URL/api/temperature/stream/devG?x=$big")"
hdrs=()
for i in $(seq 1 40); do hdrs+=(-H "X-H$i: v"); done
check_eq "40 headers: 431" 431 "$(status "${hdrs[@]}" "$STREAM_URL/")"
check_eq "a request with a body: 413" 413 "$(status -X POST -d x "$STREAM_URL/")"
check_eq "invalid UTF-8 in the device: 400" 400 "$(status "$STREAM_URL/api/temperature/stream/%ff%fe")"
check_eq "invalid UTF-8 in ?devices=: 400" 400 "$(status "$STREAM_URL/api/temperature/stream?devices=%c0%af")"
check_eq "a NUL in ?probes=: 400" 400 "$(status "$STREAM_URL/api/temperature/stream?probes=a%00b")"
check_eq "?since= of 10^23: 400" 400 "$(status "$STREAM_URL/api/temperature/stream/devG?since=99999999999999999999999")"
check_eq "Last-Event-ID of 2^64: 400" 400 \
	"$(status -H 'Last-Event-ID: 18446744073709551616-0' "$STREAM_URL/api/temperature/stream/devG")"
# Leniency a proxy in front could read another way: each refused with
# 400 and the connection closed (no second answer on it).
# sraw TEXT: every status line the stream answers until it closes.
sraw() {
	exec 3<>"/dev/tcp/127.0.0.1/$STREAM_PORT" || return 1
	printf '%b' "$1" >&3
	timeout 5 cat <&3 | tr -d '\r' | grep '^HTTP/' | tr '\n' ' ' | sed 's/ $//'
	exec 3<&-
}
NEXT='GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n'
check_eq "two different Content-Length, a request behind: 400, closed" "HTTP/1.1 400 Bad Request" \
	"$(sraw "GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: ${#NEXT}\r\n\r\n$NEXT")"
check_eq "Content-Length with Transfer-Encoding: 400, closed" "HTTP/1.1 400 Bad Request" \
	"$(sraw "GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$NEXT")"
check_eq "no Host in HTTP/1.1: 400, closed" "HTTP/1.1 400 Bad Request" \
	"$(sraw "GET /health/live HTTP/1.1\r\n\r\n$NEXT")"
check_eq "Host twice: 400, closed" "HTTP/1.1 400 Bad Request" \
	"$(sraw "GET /health/live HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n$NEXT")"
UPG='Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n'
check_eq "a WebSocket upgrade over HTTP/1.0: 400, closed" "HTTP/1.1 400 Bad Request" \
	"$(sraw "GET /api/temperature/ws/devG HTTP/1.0\r\nHost: x\r\n${UPG}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")"
check_eq "a 24-character Sec-WebSocket-Key that is not base64: 400, closed" "HTTP/1.1 400 Bad Request" \
	"$(sraw "GET /api/temperature/ws/devG HTTP/1.1\r\nHost: x\r\n${UPG}Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!!!\r\n\r\n$NEXT")"
check_eq "one that is base64 of 17 bytes: 400" "HTTP/1.1 400 Bad Request" \
	"$(sraw "GET /api/temperature/ws/devG HTTP/1.1\r\nHost: x\r\n${UPG}Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n$NEXT")"
check_eq "HTTP/1.0 without Host is still answered" "HTTP/1.1 200 OK" \
	"$(sraw "GET /health/live HTTP/1.0\r\n\r\n")"

# A CORS preflight, as a fetch-based SSE client of an allowed origin
# sends one (for Authorization or Last-Event-ID): before, 405 without
# CORS headers, and the browser gave up.
curl -s -o /dev/null -D "$T/pre.h" -X OPTIONS -H 'Origin: http://page.example' \
	-H 'Access-Control-Request-Method: GET' -H 'Access-Control-Request-Headers: last-event-id' \
	"$STREAM_URL/api/temperature/stream/devG"
tr -d '\r' <"$T/pre.h" >"$T/pre"
check_eq "OPTIONS preflight from an allowed origin: 204" "HTTP/1.1 204 No Content" "$(head -1 "$T/pre")"
check "  with Access-Control-Allow-Origin" grep -qx 'Access-Control-Allow-Origin: http://page.example' "$T/pre"
check "  and Last-Event-ID among the allowed headers" grep -qi '^Access-Control-Allow-Headers: .*Last-Event-ID' "$T/pre"
check_eq "from another origin: 204 without CORS headers" "204 0" \
	"$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: http://evil.example' "$STREAM_URL/api/temperature/stream") $(curl -s -D - -o /dev/null -X OPTIONS -H 'Origin: http://evil.example' "$STREAM_URL/api/temperature/stream" | grep -ci '^Access-Control')"

# The largest id: nothing comes after it and Redis refuses "(" of it.
# Before, it reached XRANGE, was taken for Redis failing, and flipped
# /health/ready to 503.
MAXID=18446744073709551615-18446744073709551615
check_eq "Last-Event-ID of the largest id: 400" 400 \
	"$(status -H "Last-Event-ID: $MAXID" "$STREAM_URL/api/temperature/stream/devG")"
check_eq "?since= the largest id: 400" 400 "$(status "$STREAM_URL/api/temperature/stream/devG?since=$MAXID")"
check_eq "a WebSocket ?since= the largest id: 400" 400 \
	"$(status -H 'Upgrade: websocket' -H 'Connection: Upgrade' -H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$STREAM_URL/api/temperature/ws/devG?since=$MAXID")"
ready=""
for _ in 1 2 3 4 5 6; do
	ready="$ready$(status "$STREAM_URL/health/ready") "
	sleep 0.5
done
check_eq "  and /health/ready stays 200 all along" "200 200 200 200 200 200 " "$ready"
for p in "/../../../../etc/passwd" "/%2e%2e/%2e%2e/etc/passwd" "/%252e%252e/%252e%252e/etc/passwd" \
	"/..%2f..%2fetc%2fpasswd" "/app.js/../../../../etc/passwd" "/%c0%ae%c0%ae/etc/passwd" \
	"/index.html%00.txt" "/node_modules/../../../etc/passwd" "/.%2e/.%2e/etc/passwd"; do
	code=$(status "$STREAM_URL$p")
	if [[ $code =~ ^40[04]$ ]] && ! grep -q 'root:' "$T/.b"; then
		ok "page traversal $p: $code"
	else
		not_ok "page traversal $p: 400 or 404" "got $code: $(head -c 200 "$T/.b")"
	fi
done

# --- WebSocket messages: deep, huge numbers, not UTF-8 -------------------------
deep=$(printf '%0.s[' $(seq 1 5000))
steps=$(jq -cn --arg deep "{\"type\":\"subscribe\",\"devices\":$deep" '[
	{raw: $deep},
	{send: {type: "resume", since: "99999999999999999999999-0"}},
	{send: {type: "resume", since: "18446744073709551615-18446744073709551615"}},
	{raw: "{\"type\":\"subscribe\",\"devices\":[\"devG\"],\"probes\":[1e999]}"},
	{send: {type: "ping"}}, {wait: "pong"}, {close: 1000}]')
out=$(node_run ws-client.mjs "ws://$ADDR/api/temperature/ws/devG?snapshot=0" "$steps" 2>&1)
check_eq "deep, huge and mistyped messages: errors, and the session goes on" \
	"BAD_MESSAGE BAD_EVENT_ID BAD_EVENT_ID BAD_SUBSCRIPTION pong" \
	"$(jq -r 'select(.type == "error") .code, select(.type == "pong") .type' <<<"$out" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"

# --- clients that write and never read -----------------------------------------
# What one such client costs: the stream's resident memory and CPU time
# while it writes for 5 s. Before, a ping flood grew the stream by
# ~15 MB/s (pongs queued without a bound) and a never-reading pipelining
# client kept a loop busy (EPOLLIN level-triggered, never read).
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$PID_stream/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PID_stream/stat"; }
ABUSE=$BUILD/tools/wsabuse
r0=$(rss_kb)
"$ABUSE" -a "$ADDR" -m ping -t 6 >"$T/flood.out" &
apid=$!
sleep 5
r1=$(rss_kb)		# while it floods: what it holds is freed when it goes
wait "$apid"
echo "# ping flood: $(cat "$T/flood.out"), RSS ${r0} -> ${r1} KiB after 5 s"
check "a ping flood that never reads: the stream grows by less than 16 MiB in 5 s" \
	test $((r1 - r0)) -lt 16384
c0=$(cpu_ticks)
"$ABUSE" -a "$ADDR" -m pipeline -t 5 >"$T/pipe.out"
c1=$(cpu_ticks)
echo "# pipelining, never reading: $(cat "$T/pipe.out"), $((c1 - c0)) CPU ticks of $(getconf CLK_TCK)/s in 5 s"
check "a 5 s pipelining client that never reads: under 0.4 CPU-s (no busy loop)" \
	test $((c1 - c0)) -lt $(( $(getconf CLK_TCK) * 4 / 10 ))
check "after them, a plain request is answered" good

# --- and the well-behaved follower got everything -----------------------------
ev_sync
send 1
wait_for "the follower to see the last reading" 10 grep -q "\"temperature\":$sent[,}]" "$T/sse.out"
check_eq "the follower got every one of the $sent readings, in order" \
	"$(seq 1 $sent | tr '\n' ' ')" \
	"$(sed -n 's/.*"temperature":\([0-9]*\)[,}].*/\1/p' "$T/sse.out" | tr '\n' ' ')"
check "the stream still lives" kill -0 "$PID_stream"
done_testing
