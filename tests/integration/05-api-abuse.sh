#!/usr/bin/env bash
# grilld-api against a catalogue of bad requests, each with the status it
# must get (always a JSON error, never civetweb's HTML), and the API still
# answering correctly after all of them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/api.bash"

start_redis
start_influx
influx_setup
points SIG-1 1 F 20 30 200 10 >"$T/raw.lp"
influx_write raw "$T/raw.lp" || bail "seed InfluxDB"
latest SIG-1 1 225.5 F 10
api_start GRILLD_API_MAX_BODY=64KiB || bail "grilld-api starts"
J=(-H "Content-Type: application/json")

# expect STATUS DESC METHOD PATH [CURL ARGS...]: the status, and a JSON
# error body (or none for HEAD and 204).
expect() {
	local want=$1 desc=$2 method=$3 path=$4
	shift 4
	CODE=$(curl -sS --path-as-is -o "$T/.body" -w '%{http_code}' -X "$method" "$@" "$API$path" 2>/dev/null)
	if [ "$CODE" != "$want" ]; then
		not_ok "$desc: $want" "got $CODE: $(head -c 300 "$T/.body")"
	elif [ "$want" -ge 400 ] && ! jq -e '.status == "error" and (.code|type) == "number" and (.reason|type) == "string" and (.message|type) == "string" and (has("details") or (.detail|type) == "array")' "$T/.body" >/dev/null 2>&1; then
		not_ok "$desc: $want" "not a JSON error: $(head -c 300 "$T/.body")"
	else
		ok "$desc: $want"
	fi
}

# raw TEXT: sends bytes as they are; prints the status line and the body.
raw() {
	local port=${API##*:}
	exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
	printf '%b' "$1" >&3
	timeout 5 cat <&3
	exec 3<&-
}
# expect_raw STATUS DESC TEXT
expect_raw() {
	local out
	out=$(raw "$3" | tr -d '\r')
	if [[ $out =~ ^HTTP/1.1\ $1 ]] && [[ $out == *'"status":"error"'* ]]; then
		ok "$2: $1"
	else
		not_ok "$2: $1" "got: $(head -c 300 <<<"$out")"
	fi
}

# Malformed and oversized bodies.
expect 422 "malformed JSON (FastAPI's detail list)" POST /api/temperature/batch "${J[@]}" -d '{"readings": [{"device_id": "a",]}'
expect 422 "JSON that is not an object" POST /api/temperature/batch "${J[@]}" -d '"readings"'
expect 400 "trailing garbage after JSON" POST /api/temperature/batch "${J[@]}" -d '{"readings": []} xyz'
expect 400 "an empty body" POST /api/temperature/batch "${J[@]}"
head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$T/10m"
expect 413 "a 10 MiB body, announced" POST /api/temperature/batch "${J[@]}" --data-binary "@$T/10m"
expect 413 "a 10 MiB body, chunked" POST /api/temperature/batch "${J[@]}" -H "Transfer-Encoding: chunked" --data-binary "@$T/10m"
deep=$(printf '%0.s[' $(seq 1 5000))
expect 400 "JSON nested 5,000 deep" POST /api/temperature/batch "${J[@]}" -d "{\"readings\": $deep"
printf '{"readings": [{"device_id": "\xff\xfe", "temperature": 1}]}' >"$T/bad-utf8.json"
expect 400 "invalid UTF-8 in the body" POST /api/temperature/batch "${J[@]}" --data-binary "@$T/bad-utf8.json"
expect 422 "a number past double range" POST /api/temperature/batch "${J[@]}" -d '{"readings": [{"device_id": "a", "temperature": 1e400}]}'
expect 422 "a member given twice" POST /api/temperature/batch "${J[@]}" -d '{"readings": [{"device_id": "a", "device_id": "b", "temperature": 1}]}'
expect 400 "NUL escaped in a string" POST /api/temperature/batch "${J[@]}" -d '{"readings": [{"device_id": "a\u0000b", "temperature": 1}]}'
expect 415 "a body of another type" POST /api/alerts/rules -H "Content-Type: application/xml" -d '<rule/>'
expect 415 "a body with no type" POST /api/alerts/rules -d 'kind=above'

# Absurd ranges and numbers.
expect 400 "year 1" GET "/api/temperature/history/SIG-1?start_time=0001-01-01"
expect 400 "year 9999" GET "/api/temperature/history/SIG-1?end_time=9999-12-31"
expect 400 "February 30th" GET "/api/temperature/history/SIG-1?start_time=2026-02-30"
expect 200 "1970 to 2200, mean" GET "/api/temperature/history/SIG-1?start_time=1970-01-01&end_time=2199-12-31&aggregation=mean"
expect 400 "an interval of 1 ms" GET "/api/temperature/history/SIG-1?aggregation=mean&interval=1ms"
expect 400 "an interval of a million days" GET "/api/temperature/history/SIG-1?aggregation=mean&interval=1000000d"
expect 400 "a negative interval" GET "/api/temperature/history/SIG-1?aggregation=mean&interval=-5m"
expect 400 "a limit past int64" GET "/api/temperature/history/SIG-1?limit=99999999999999999999999"
expect 400 "a negative offset" GET "/api/temperature/history/SIG-1?offset=-1"
expect 400 "an offset past the bound" GET "/api/temperature/history/SIG-1?offset=999999999999"
expect 400 "a threshold of 1e308" GET "/api/temperature/alerts/SIG-1?threshold_high=1e308"
expect 400 "a threshold of NaN" GET "/api/temperature/alerts/SIG-1?threshold_high=nan"
expect 400 "low=inf" GET "/api/temperature/stats/SIG-1?low=inf"

# Parameters.
# The seed's routes ignore unknown and repeated ones (FastAPI does);
# grilld's own refuse them.
expect 200 "an unknown parameter on a seed route" GET "/api/temperature/current/SIG-1?probe=1"
expect 400 "an unknown parameter on grilld's" GET "/api/devices?probe=1"
expect 400 "a parameter twice on grilld's" GET "/api/devices?unit=F&unit=C"
many=$(printf 'x%d=F&' $(seq 1 30))
expect 400 "thirty parameters" GET "/api/temperature/current/SIG-1?$many"
expect 400 "a bad percent escape" GET "/api/temperature/current/SIG-1?probe_id=%G1"
expect 400 "a truncated escape" GET "/api/temperature/current/SIG-1?probe_id=1%"
expect 400 "NUL in a value" GET "/api/temperature/current/SIG-1?probe_id=a%00b"
expect 400 "invalid UTF-8 in a value" GET "/api/temperature/current/SIG-1?probe_id=%C0%AF"
expect 400 "a 600-byte value" GET "/api/temperature/current/SIG-1?probe_id=$(printf 'a%.0s' $(seq 1 600))"
expect 400 "unit=K" GET "/api/temperature/current/SIG-1?unit=K"
expect 400 "a parameter on a route that takes none" GET "/openapi.json?x=1"

# Path tricks.
expect 400 "../ out of the API" GET "/api/temperature/current/../../etc/passwd"
expect 400 "an encoded ../" GET "/api/temperature/current/%2e%2e/%2e%2e/etc/passwd"
expect 400 "./ in the path" GET "/api/temperature/./current/SIG-1"
expect 400 "%00 in the path" GET "/api/temperature/current/SIG-1%00.json"
expect 400 "a control character in the path" GET "/api/temperature/current/a%0Db"
expect 400 "invalid UTF-8 in the path" GET "/api/temperature/current/%ff%fe"
expect 400 "an overlong UTF-8 slash" GET "/api/temperature/current/%c0%af"
expect 400 "a 200-byte device id" GET "/api/temperature/current/$(printf 'd%.0s' $(seq 1 200))"
expect 404 "an encoded slash stays in the id" GET "/api/temperature/current/SIG-1%2F1"
expect 404 "a path too deep for any route" GET "/api/temperature/current/a/b/c/d/e/f/g/h/i"
expect 404 "no such route" GET "/api/temperature/SIG-1"
expect 404 "the admin path is not a file" GET "/etc/passwd"
expect 405 "a method the route lacks" DELETE "/api/temperature/history/SIG-1"
expect 405 "POST on a read" POST "/api/temperature/current/SIG-1"
hdr=$(curl -sS -D - -o /dev/null -X PATCH "$API/api/alerts/rules/x")
check_match "405 says Allow" "Allow: GET, HEAD, PUT, DELETE, OPTIONS" "$hdr"
expect 200 "HEAD of a read" HEAD "/api/temperature/current/SIG-1?probe_id=1" -I

# Headers and the request line.
flood=()
for i in $(seq 1 100); do flood+=(-H "X-Flood-$i: $(printf 'v%.0s' $(seq 1 100))"); done
expect 431 "a flood of 100 headers of 100 bytes" GET "/api/temperature/current/SIG-1" "${flood[@]}"
expect 400 "one 20 KiB header" GET "/api/temperature/current/SIG-1" -H "X-Big: $(head -c 20480 /dev/zero | tr '\0' a)"
expect 400 "a 20 KiB URL" GET "/api/temperature/current/SIG-1?probe_id=$(head -c 20480 /dev/zero | tr '\0' a)"
expect 400 "a 4 KiB bearer token (no keys, loopback: ignored)" POST /api/temperature/batch "${J[@]}" \
	-H "Authorization: Bearer $(head -c 4096 /dev/zero | tr '\0' k)" -d '{"readings": []}'
expect_raw 400 "a garbage request line" 'BLAH\r\n\r\n'
expect_raw 400 "an unknown method" 'FOO /api/devices HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
expect_raw 505 "HTTP/9.9" 'GET /api/devices HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n'
expect_raw 400 "invalid UTF-8 in the raw path" 'GET /api/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
expect_raw 411 "a negative Content-Length" 'POST /api/temperature/batch HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\nConnection: close\r\n\r\n'
out=$(raw 'GET /api/temperature/current/SIG-1?probe_id=1 HTTP/1.0\r\n\r\n')
check_match "HTTP/1.0 is answered" "^HTTP/1.1 200" "$out"
out=$(raw 'GET http://evil.example/api/devices HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n' | head -1)
check_match "an absolute URI for another host is not served" "^(HTTP/1.1 4[0-9][0-9]|)" "$out"

# Cursors forged by hand.
expect 400 "a cursor of odd length" GET "/api/temperature/history/SIG-1?cursor=abc"
expect 400 "a cursor hiding a NUL" GET "/api/temperature/history/SIG-1?cursor=00313a31"
expect 400 "a cursor without its probe part" GET "/api/temperature/history/SIG-1?cursor=3132"

# And after all that, the API still answers, correctly.
check "the API is alive" kill -0 "$API_PID"
req GET "/api/temperature/current/SIG-1?probe_id=1"
check_eq "current still answers" "200 225.5" "$CODE $(jqr .data.temperature)"
req GET "/api/temperature/history/SIG-1?probe_id=1"
check_eq "history still answers" "200 20" "$CODE $(jqr .count)"
m=$(curl -sS "$API/metrics")
check_match "the refused requests are counted" 'grilld_api_requests_total\{route="unmatched",status="400"\} [0-9]+' "$m"
if grep -qi "<html" "$T"/.body "$T"/api.*.log 2>/dev/null; then not_ok "no HTML anywhere"
else ok "no HTML anywhere"; fi

done_testing
