#!/usr/bin/env bash
# grilld-api under hostile connections: headers and bodies dribbled a
# byte at a time (slowloris), bodies that stop, thousands of idle
# connections, request smuggling and path tricks. Each is answered with
# its status within the configured limits, and a well-behaved client
# keeps getting correct answers. (The catalogue of single bad requests
# is 05-api-abuse.sh; the limits are in docs/security.md.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/api.bash"

ulimit -n "$(ulimit -Hn)" 2>/dev/null
HOLD=$BUILD/tools/connhold
start_redis
start_influx
influx_setup
points SIG-1 1 F 20 30 200 10 >"$T/raw.lp"
influx_write raw "$T/raw.lp" || bail "seed InfluxDB"
latest SIG-1 1 225.5 F 10
# Short limits, so that the test is quick; the defaults are longer.
api_start GRILLD_API_THREADS=16 GRILLD_API_IO_TIMEOUT=1s \
	GRILLD_API_REQUEST_TIMEOUT=3s GRILLD_API_KEEP_ALIVE=1s || bail "grilld-api starts"
ADDR=127.0.0.1:$API_PORT

# good: one well-behaved read, answered correctly within 10 s.
good() {
	local out
	out=$(curl -sS -m 10 -w ' %{http_code}' "$API/api/temperature/current/SIG-1?probe_id=1" 2>&1)
	[[ $out == *'"temperature":225.5'*' 200' ]]
}
# hold NAME ARGS...: connhold in the background, its summary in $T/NAME.
hold() {
	local name=$1
	shift
	"$HOLD" -a "$ADDR" "$@" >"$T/$name" 2>"$T/$name.err" &
	HOLD_PID=$!
	_pids+=("$HOLD_PID")
}
# while_held DESC: good clients, one after the other, until connhold ends.
while_held() {
	local n=0 bad=0
	while kill -0 "$HOLD_PID" 2>/dev/null; do
		good || bad=$((bad + 1))
		n=$((n + 1))
		sleep 0.2
	done
	wait "$HOLD_PID"
	check_eq "$1: $n well-behaved requests meanwhile, all answered correctly" 0 "$bad"
}
kv() { sed -n "s/^$2=//p" "$T/$1"; }

check "a well-behaved client before" good

# --- slowloris: fewer slow clients than workers ------------------------------
REQ='GET /api/temperature/current/SIG-1 HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n'
hold dribble-headers -n 8 -s "$REQ" -d 200 -t 8
while_held "headers dribbled a byte every 200 ms"
check_eq "headers dribbled: all 8 cut off with 408 (api.io_timeout)" "8 8" \
	"$(kv dribble-headers closed) $(kv dribble-headers status_408)"

BODY='{"readings": [{"device_id": "slow", "temperature": 1, "timestamp": "2026-01-01T00:00:00Z"}]}'
POST="POST /api/temperature/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${#BODY}\r\n\r\n$BODY"
hold dribble-body -n 8 -s "$POST" -H -d 100 -t 8
while_held "bodies dribbled a byte every 100 ms"
check_eq "bodies dribbled: all 8 cut off with 408 (api.request_timeout)" "8 8" \
	"$(kv dribble-body closed) $(kv dribble-body status_408)"

hold stalled-body -n 8 -s "$POST" -H -d 5000 -t 8
while_held "bodies that stop after the headers"
check_eq "stalled bodies: all 8 cut off with 408 (api.io_timeout)" "8 8" \
	"$(kv stalled-body closed) $(kv stalled-body status_408)"
check_eq "nothing of the slow batches was stored" "0" "$(redis_cli XLEN grilld:readings)"

# --- idle connections: fewer than workers, then thousands ---------------------
hold idle-few -n 12 -t 3
while_held "12 idle connections (16 workers)"
check_eq "12 idle connections: all closed by the server" "12 12" \
	"$(kv idle-few connected) $(kv idle-few closed)"

# A worker per connection: past api.threads, idle connections queue and
# are cut api.threads at a time, one api.io_timeout apart; the clients
# behind them wait their turn (docs/security.md: a buffering proxy in
# front is the remedy). What must hold: the API lives, works through
# them, and is whole afterwards.
fds_before=$(ls "/proc/$API_PID/fd" | wc -l)
hold idle-many -n 3000 -t 8
wait "$HOLD_PID"
check "3,000 idle connections: the API process lives" kill -0 "$API_PID"
echo "# 3,000 idle: $(kv idle-many connected) connected, $(kv idle-many closed) cut by the server in 8 s"
check "3,000 idle connections: the server cut them as they reached a worker" \
	test "$(kv idle-many closed)" -gt 0
check "after them: a well-behaved client is answered correctly" good
wait_for "the connections to be let go" 10 bash -c \
	"[ \$(ls /proc/$API_PID/fd | wc -l) -le $((fds_before + 4)) ]"
check_eq "after them: no connection left open (fds back to $fds_before)" 0 $?

# --- smuggling, sizes, encodings ---------------------------------------------
# raw TEXT: the first line of the answer to bytes sent as they are.
raw() {
	exec 3<>"/dev/tcp/127.0.0.1/$API_PORT" || return 1
	printf '%b' "$1" >&3
	timeout 5 head -1 <&3 | tr -d '\r'
	exec 3<&-
}
H='Host: x\r\nContent-Type: application/json\r\nConnection: close\r\n'
check_eq "Content-Length twice (smuggling): 400" "HTTP/1.1 400 Bad Request" \
	"$(raw "POST /api/temperature/batch HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}")"
check_eq "Content-Length and chunked together (smuggling): 400" "HTTP/1.1 400 Bad Request" \
	"$(raw "POST /api/temperature/batch HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")"
# rawall TEXT: every line of what the server answers until it closes.
rawall() {
	exec 3<>"/dev/tcp/127.0.0.1/$API_PORT" || return 1
	printf '%b' "$1" >&3
	timeout 5 cat <&3 | tr -d '\r'
	exec 3<&-
}
# A chunked body that is a valid batch, a Content-Length that says
# otherwise, and a second request pipelined behind: before, the chunked
# body was stored, the connection kept and the second request answered.
SB='{"readings":[{"device_id":"smuggled","temperature":1,"timestamp":"2026-01-01T00:00:00Z"}]}'
SMUG="POST /api/temperature/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n$(printf '%x' ${#SB})\r\n$SB\r\n0\r\n\r\nGET /api/devices HTTP/1.1\r\nHost: x\r\n\r\n"
rawall "$SMUG" >"$T/smug.out"
check_eq "Content-Length with chunked, a request behind: one answer, 400" "HTTP/1.1 400 Bad Request" \
	"$(grep '^HTTP/' "$T/smug.out")"
check "  with Connection: close, and the connection closed" grep -qi '^Connection: close$' "$T/smug.out"
check_eq "  and nothing of the chunked body stored" "0" "$(redis_cli XLEN grilld:readings)"
check_eq "Transfer-Encoding twice: 400" "HTTP/1.1 400 Bad Request" \
	"$(raw "POST /api/temperature/batch HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n")"
check_eq "a Content-Length of 10^20: 413" "HTTP/1.1 413 Payload Too Large" \
	"$(raw "POST /api/temperature/batch HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\n")"
check_eq "a control character in a header: 400" "HTTP/1.1 400 Bad Request" \
	"$(raw "GET /api/devices HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n")"
deep=$(printf '%0.s{"a":' $(seq 1 3000))
code=$(curl -sS -o "$T/.b" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-d "{\"id\": \"x\", \"kind\": \"above\", \"device_id\": \"d\", \"threshold\": $deep" "$API/api/alerts/rules")
check_eq "a rule nested 3,000 deep: 400" "400" "$code"
code=$(curl -sS -o "$T/.b" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-d '{"id": "x", "kind": "above", "device_id": "d", "threshold": 1e999999}' "$API/api/alerts/rules")
check_eq "a rule with a threshold of 1e999999: 422" "422" "$code"
printf '{"id": "x\xc0\xaf", "kind": "above", "device_id": "d", "threshold": 1}' >"$T/bad.json"
code=$(curl -sS -o "$T/.b" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	--data-binary "@$T/bad.json" "$API/api/alerts/rules")
check_eq "a rule with an overlong UTF-8 slash: 400" "400" "$code"

# The seed's live routes: a 307 to the stream, whose Location comes from
# the configuration, never from the client's Host (an open redirect, and
# cache poisoning behind a proxy), with its reason phrase.
curl -s -D "$T/redir.h" -o /dev/null -H 'Host: evil.example:666' "$API/api/temperature/stream/d%201?probe_id=p1"
tr -d '\r' <"$T/redir.h" >"$T/redir"
check_eq "the live route: 307 Temporary Redirect" "HTTP/1.1 307 Temporary Redirect" "$(head -1 "$T/redir")"
check_eq "  to stream.listen, not to the client's Host" \
	"Location: http://127.0.0.1:8081/api/temperature/stream/d%201?probe_id=p1" "$(grep '^Location' "$T/redir")"
api_start GRILLD_STREAM_PUBLIC_URL=https://grill.example.org:8443/ || bail "grilld-api starts"
check_eq "  or to stream.public_url when set" \
	"Location: https://grill.example.org:8443/api/temperature/ws/d1" \
	"$(curl -s -D - -o /dev/null -H 'Host: evil.example' "$API/api/temperature/ws/d1" | tr -d '\r' | grep '^Location')"
check_match "a stream.public_url that is no http(s) URL is refused at start-up" "stream.public_url" \
	"$(GRILLD_STREAM_PUBLIC_URL='javascript:alert(1)' "$BIN/grilld-api" -d 2>&1 | head -3)"

# --- acknowledge and snooze: rules about any probe, and other origins ------------
# A rule without probe_id is stored with "" (any probe); acknowledge
# looked for "*" and answered 409 while the alert fired, and snooze
# wrote "<rule>/<device>/" which the ingester never reads.
jpost() { curl -s -o "$T/.b" -w '%{http_code}' -X POST "$@"; }
code=$(jpost -H 'Content-Type: application/json' "$API/api/alerts/rules" \
	-d '{"id": "anyprobe", "kind": "above", "device_id": "SIG-1", "threshold": 100}')
check_eq "a rule about any probe of a device: 201" 201 "$code"
redis_cli HSET grilld:alertstate anyprobe/SIG-1/2 \
	'{"rule_id":"anyprobe","kind":"above","device_id":"SIG-1","probe_id":"2","state":"firing","alert_id":"a-7","notified":true}' >/dev/null
# A page of another origin may POST without a body and without a
# preflight: on a keyless install it must not act.
check_eq "a keyless acknowledge from another origin (no body, no preflight): 403" "403 CROSS_ORIGIN" \
	"$(jpost -H 'Origin: http://evil.example' "$API/api/alerts/rules/anyprobe/acknowledge") $(jq -r .reason "$T/.b")"
check_eq "  nor with Sec-Fetch-Site: cross-site" 403 \
	"$(jpost -H 'Sec-Fetch-Site: cross-site' "$API/api/alerts/rules/anyprobe/snooze")"
check_eq "  and nothing was acknowledged" 0 "$(redis_cli HEXISTS grilld:alertstate 'anyprobe/SIG-1/2#ack')"
check_eq "acknowledging it while it fires: 200, the firing instance" "200 anyprobe/SIG-1/2 a-7" \
	"$(jpost "$API/api/alerts/rules/anyprobe/acknowledge") $(jq -r '.data[0].instance // .data[0].key // empty' "$T/.b") $(jq -r '.data[0].alert_id' "$T/.b")"
check_eq "  written where the ingester reads it" a-7 \
	"$(redis_cli HGET grilld:alertstate 'anyprobe/SIG-1/2#ack' | jq -r .alert_id)"
check_eq "snoozing it: the instance that exists" "200 anyprobe/SIG-1/2" \
	"$(jpost -H 'Content-Type: application/json' -d '{"duration": "10m"}' "$API/api/alerts/rules/anyprobe/snooze") $(jq -r '.data[0]' "$T/.b")"
check_eq "  and no key for a probe called \"\"" 0 "$(redis_cli HEXISTS grilld:alertstate 'anyprobe/SIG-1/#snooze')"

# Path traversal, every spelling: never a file, always a JSON refusal.
for p in "/api/temperature/current/%252e%252e/%252e%252e/etc/passwd" \
	"/api/temperature/current/..%2f..%2f..%2fetc%2fpasswd" \
	"/api/devices/%2e%2e%2f%2e%2e%2fetc%2fpasswd" \
	"/api/devices/..%5c..%5cetc%5cpasswd" \
	"/../../../../etc/passwd" "/openapi.json/../../etc/passwd" \
	"/api/devices/%c0%ae%c0%ae/etc/passwd" "/api/devices/x%00/../../etc/passwd"; do
	code=$(curl -sS --path-as-is -o "$T/.b" -w '%{http_code}' "$API$p")
	if [[ $code =~ ^40[04]$ ]] && jq -e '.status == "error"' "$T/.b" >/dev/null 2>&1 &&
		! grep -q 'root:' "$T/.b"; then
		ok "traversal $p: $code, a JSON error"
	else
		not_ok "traversal $p: 400 or 404" "got $code: $(head -c 200 "$T/.b")"
	fi
done

# --- at the descriptor limit -------------------------------------------------------
# civetweb's accept loop polls again at once when accept fails: at the
# limit (EMFILE) it spun, 1.4 to 5 CPU-s in 5 s, and served nothing.
# api/accept.c keeps 32 descriptors in reserve and pauses instead.
P3=$(freeport)
(
	ulimit -n 64
	export GRILLD_API_LISTEN=127.0.0.1:$P3 GRILLD_API_IO_TIMEOUT=1s GRILLD_API_RATE=0
	exec "$BIN/grilld-api" -d >>"$T/api.fd.log" 2>&1
) &
FD_PID=$!
_pids+=("$FD_PID")
wait_for "grilld-api with 64 descriptors" 15 curl -sf "http://127.0.0.1:$P3/health/live" || bail "it starts"
c0=$(awk '{ print $14 + $15 }' "/proc/$FD_PID/stat")
"$HOLD" -a "127.0.0.1:$P3" -n 300 -t 5 >"$T/fd.hold" 2>/dev/null
c1=$(awk '{ print $14 + $15 }' "/proc/$FD_PID/stat")
echo "# 300 idle connections against 64 descriptors: $((c1 - c0)) CPU ticks of $(getconf CLK_TCK)/s in 5 s; $(tr '\n' ' ' <"$T/fd.hold")"
check "300 idle connections against 64 descriptors: under 0.4 CPU-s in 5 s (no spinning accept loop)" \
	test $((c1 - c0)) -lt $(( $(getconf CLK_TCK) * 4 / 10 ))
check "  the API lives" kill -0 "$FD_PID"
check "  and answers once they are gone" wait_for "health" 10 curl -sf "http://127.0.0.1:$P3/health/live"
check "  and said why it paused" grep -q "accept: .*pausing" "$T/api.fd.log"

check "after all of it, the API still answers correctly" good
done_testing
