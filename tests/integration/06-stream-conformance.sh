#!/usr/bin/env bash
# WebSocket conformance in the manner of the Autobahn test suite's server
# cases (tests/tools/wsconform.c; its table is in docs/stream.md):
# framing, pings, reserved bits and opcodes, fragmentation, UTF-8 (also
# cut across fragments, and failing at the fragment that breaks it),
# close codes and reasons, the close handshake (the close frame arrives,
# then a clean TCP close, never a reset) and limits. The stream serves on
# after all of it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/stream.sh"

start_stream_env GRILLD_STREAM_MAX_MESSAGE=16KiB
"$BUILD/tools/wsconform" -a "127.0.0.1:$STREAM_PORT" >"$T/conform.out" 2>&1
rc=$?
# Its TAP lines are this scenario's.
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done < <(grep -E '^(ok|not ok|#)' "$T/conform.out" | sed -E 's/^(ok|not ok) [0-9]+ - /\1 - /')
check_eq "wsconform: every case passed" 0 "$rc"
check "the stream still lives" kill -0 "$PID_stream"
check_eq "and answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$STREAM_URL/health/live")"
done_testing
