#!/usr/bin/env bash
# SIGHUP on grilld-stream: the settings that apply at once (sizes, the
# retry hint) change for the next request, an invalid file keeps the
# running ones, and reloads in a row while clients come and go leave the
# stream serving (each loop trades its configuration snapshot for the
# newest between two passes; common/conf.c frees the old ones).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/stream.sh"

STREAM_CONF=$T/stream.yaml
conf() {	# conf SUBSCRIPTIONS RETRY
	cat >"$STREAM_CONF" <<YAML
stream:
  max_subscriptions: $1
  retry: $2
YAML
	chmod 600 "$STREAM_CONF"
}
conf 2 3s
start_stream_env
S=/api/temperature/stream
status() { curl -s -o /dev/null -w '%{http_code}' -m 1 "$@" || true; }
reloads() { grep -c 'configuration reloaded$' "$T/stream.log"; }
hup() {	# hup: SIGHUP, then wait for one more "configuration reloaded"
	local n
	n=$(reloads)
	kill -HUP "$PID_stream"
	wait_for "the reload" 10 bash -c "[ \$(grep -c 'configuration reloaded\$' '$T/stream.log') -gt $n ]"
}

check_eq "before: 3 devices is past stream.max_subscriptions 2" 400 \
	"$(status "$STREAM_URL$S?devices=a,b,c")"
check_match "before: retry 3000" "^retry: 3000" "$(sse_get "$S?devices=a" 1 | head -1)"

conf 4 7s
check "SIGHUP reloads the file" hup
check_eq "after: 3 devices are within the new stream.max_subscriptions 4" 200 \
	"$(status "$STREAM_URL$S?devices=a,b,c")"
check_match "after: the new retry hint" "^retry: 7000" "$(sse_get "$S?devices=a" 1 | head -1)"

# An invalid file: logged, and the running configuration stays.
printf 'stream:\n  max_subscriptions: many\n' >"$STREAM_CONF"
kill -HUP "$PID_stream"
check "an invalid file is refused" wait_for "the refusal" 10 \
	grep -q 'reload: keeping the running configuration' "$T/stream.log"
check_eq "  and the running settings stay" 200 "$(status "$STREAM_URL$S?devices=a,b,c")"

# Reloads in a row while clients connect, read and leave.
conf 2 1s
(
	for i in $(seq 1 40); do
		curl -s -N -m 0.3 -o /dev/null "$STREAM_URL$S?devices=a" || true
	done
) &
load=$!
n0=$(reloads)
for i in $(seq 1 20); do
	kill -HUP "$PID_stream"
	sleep 0.1
done
wait "$load"
check "the reloads are done" wait_for "the reloads" 20 \
	bash -c "[ \$(grep -c 'configuration reloaded\$' '$T/stream.log') -ge $((n0 + 1)) ]"
check_eq "the stream still serves, with the last file's limit" 400 \
	"$(status "$STREAM_URL$S?devices=a,b,c")"
check_eq "health" 200 "$(status "$STREAM_URL/health/ready")"

stop_pid "$PID_stream"
check_eq "grilld-stream exits 0 on SIGTERM" 0 "$?"
done_testing
