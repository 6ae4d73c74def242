#!/usr/bin/env bash
# The figures behind issue 20's fixes (docs/security.md), for one build:
# what a single hostile client costs grilld-stream and grilld-api.
#
#   bash tests/tools/hostile-figures.sh [BIN] [SECONDS]
#
#   ping      one WebSocket client sending 125-byte pings, never reading:
#             the stream's resident memory each second, its CPU time
#   pipeline  one client pipelining GET /health/live, never reading: the
#             stream's CPU time
#   fd-limit  grilld-api with 64 descriptors and 300 idle connections:
#             its CPU time
#
# BIN defaults to bin/, SECONDS to 5. No Redis is needed (the stream's
# Redis workers fail to connect and are not asked). Run it on an older
# build's folder to compare.
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${1:-bin}
SECS=${2:-5}
TOOLS=${BUILD:-build/release}/tools
HZ=$(getconf CLK_TCK)
port() { "$TOOLS/freeport" "$1"; }
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

stream() {
	local p
	p=($(port 3))
	GRILLD_STREAM_LISTEN=127.0.0.1:${p[0]} GRILLD_REDIS_URL=redis://127.0.0.1:1/0 \
		GRILLD_STREAM_THREADS=2 GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${p[1]} \
		GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:${p[2]} \
		"$BIN/grilld-stream" -d >"$tmp/stream.log" 2>&1 &
	SPID=$! SADDR=127.0.0.1:${p[0]}
	for _ in $(seq 1 50); do
		curl -sf -o /dev/null "http://$SADDR/health/live" && return
		sleep 0.1
	done
}

for mode in ping pipeline; do
	stream
	c0=$(cpu "$SPID") r0=$(rss "$SPID") peak=$r0
	"$TOOLS/wsabuse" -a "$SADDR" -m "$mode" -t "$SECS" >"$tmp/ab" &
	apid=$!
	for _ in $(seq 1 $((SECS - 1))); do
		sleep 1
		r=$(rss "$SPID")
		[ "$r" -gt "$peak" ] && peak=$r
	done
	wait "$apid"
	echo "$mode: stream RSS ${r0} KiB, at most ${peak} KiB while it wrote;" \
		"CPU $(( (($(cpu "$SPID") - c0) * 100 / HZ) ))/100 s in ${SECS} s; $(cat "$tmp/ab")"
	kill "$SPID"
	wait "$SPID" 2>/dev/null
done

p=($(port 4))
(
	ulimit -n 64
	export GRILLD_API_LISTEN=127.0.0.1:${p[0]} GRILLD_REDIS_URL=redis://127.0.0.1:1/0 \
		GRILLD_API_IO_TIMEOUT=1s GRILLD_NNG_POLLER_URL=tcp://127.0.0.1:${p[1]} \
		GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:${p[2]} GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:${p[3]}
	exec "$BIN/grilld-api" -d >"$tmp/api.log" 2>&1
) &
APID=$!
for _ in $(seq 1 50); do
	curl -sf -o /dev/null "http://127.0.0.1:${p[0]}/health/live" && break
	sleep 0.1
done
c0=$(cpu "$APID")
"$TOOLS/connhold" -a "127.0.0.1:${p[0]}" -n 300 -t "$SECS" >"$tmp/hold" 2>/dev/null
echo "fd-limit: api CPU $(( (($(cpu "$APID") - c0) * 100 / HZ) ))/100 s in ${SECS} s with 64" \
	"descriptors and 300 idle connections; $(tr '\n' ' ' <"$tmp/hold")"
kill "$APID"
wait "$APID" 2>/dev/null
