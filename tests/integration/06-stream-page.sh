#!/usr/bin/env bash
# The live page (GET /) in Debian's headless Chromium, driven by
# playwright-core: it loads with the probes and their history, updates as
# readings arrive, and resumes after grilld-stream restarts. Chromium and
# the npm packages are required: missing, the scenario fails, loudly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/stream.sh"

if [ ! -x /usr/bin/chromium ]; then
	not_ok "Debian's chromium is installed (make deps)"
	done_testing
fi
need_node_packages playwright-core
if [ ! -f "$GRILLD_TOP/stream/www/node_modules/uplot/dist/uPlot.iife.min.js" ]; then
	not_ok "the chart library is installed in stream/www (make deps)"
	done_testing
fi
# The page test also sends the ingester's nng messages by hand, with
# event ids of its choosing (evpub raw): the stream takes its events
# from nng here (stream.feed nng), where those ids arrive as they are.
start_stream_env GRILLD_STREAM_FEED=nng

check_match "GET / is the page" "<title>grilld live</title>" "$(curl -s "$STREAM_URL/")"
check_match "the chart library is served from the npm install" "^HTTP/1.1 200" \
	"$(curl -s -I "$STREAM_URL/vendor/uplot/uPlot.iife.min.js" | head -1)"
check_match "nothing outside the page folder is" "^4[0-9][0-9]$" \
	"$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$STREAM_URL/../stream.c")"

# A little history for the charts, before the page loads.
for t in 200 205 210 215 220; do ev "r pit p1 $t"; ev "r pit p2 9$((t % 10))"; done
ev_sync
mkfifo "$T/page.ctl"
node_run page.mjs "$STREAM_URL" "$T/ev.fifo" "$T" "$T/page.png" >"$T/page.out" 2>&1 &
npid=$!
wait_for "the page to ask for a restart" 40 grep -q '^restart' "$T/page.out"
stop_pid "$PID_stream"
ev "r pit p2 99.5"		# while the stream is down: stored, not seen live
ev_sync
start_daemon stream "$STREAM_URL/health/ready" || bail "grilld-stream restarts"
touch "$T/restarted"
wait $npid
rc=$?
while read -r line; do
	case "$line" in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	restart) ;;
	*) echo "# $line" ;;
	esac
done <"$T/page.out"
check_eq "the browser test exited cleanly" 0 "$rc"
if [ -n "${STREAM_PAGE_SHOT:-}" ]; then cp "$T/page.png" "$STREAM_PAGE_SHOT"; fi
done_testing
