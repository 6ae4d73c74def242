#!/usr/bin/env bash
# test-cost: 40
# The active poller cut off from Redis alone (a TCP proxy on its path is
# cut) while a second poller reaches it: the first stops polling once its
# lease, not renewed, may have expired (poller.lease_ttl after the last
# renewal, on the monotonic clock); the second takes over; when the path
# is mended the first stands by. Every point reaches the stream once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/poller.bash"

setup_world
PROXY_PORT=$(freeport)
python3 "$GRILLD_TOP/tests/tools/cutproxy.py" "$PROXY_PORT" "$REDIS_PORT" &
PROXY=$!
_pids+=("$PROXY")
proxied() { redis-cli -p "$PROXY_PORT" PING | grep -q PONG; }
wait_for "the proxy" 10 proxied || bail "the proxy starts"
GRILLD_REDIS_URL=redis://127.0.0.1:$PROXY_PORT/0 start_poller ||
	bail "grilld-poller a starts (through the proxy)"
has_readings() { [ "$(redis_cli XLEN grilld:readings)" -gt 0 ]; }
wait_for "readings" 15 has_readings

p=($(freeport 2))
B_ADMIN=127.0.0.1:${p[0]}
sed "s/admin_listen: .*/admin_listen: $B_ADMIN/; s|poller_url: .*|poller_url: tcp://127.0.0.1:${p[1]}|; s|spool_path: .*|spool_path: $T/poller-b.spool|" \
	"$T/poller.yaml" >"$T/poller-b.yaml"
chmod 600 "$T/poller-b.yaml"
"$BIN/grilld-poller" -d -f "$T/poller-b.yaml" >"$T/poller-b.log" 2>&1 &
PID_b=$!
_pids+=("$PID_b")
b_waits() { [ "$(grep -c "polled by another poller" "$T/poller-b.log")" = 2 ]; }
wait_for "the second poller" 15 b_waits
check "a second poller stands by" b_waits

kill -USR1 "$PROXY"		# a's path to Redis is cut; b's is not
a_stops() { [ "$(grep -c "lease not renewed for poller.lease_ttl" "$T/poller.log")" = 2 ]; }
wait_for "a's leases lapse" 15 a_stops
check "the cut-off holder stops polling when its leases may have expired" a_stops
b_took() { [ "$(grep -c "lease taken over; polling" "$T/poller-b.log")" = 2 ]; }
wait_for "the takeover" 15 b_took
check "the second poller takes both leases" b_took
emitted() {
	curl -sf "http://$POLLER_ADMIN/metrics" |
		awk '$1 ~ /^grilld_poller_readings_total/ { n += $2 } END { print n + 0 }'
}
e1=$(emitted)
sleep 8			# devices upload every 2 to 4 s
check_eq "and emits nothing meanwhile" "$e1" "$(emitted)"
check_match "its readiness says it waits for Redis" "waiting for Redis" \
	"$(curl -s "http://$POLLER_ADMIN/health/ready")"

kill -USR2 "$PROXY"		# mended
a_standby() { [ "$(grep -c "polled by another poller" "$T/poller.log")" -ge 2 ]; }
wait_for "a stands by" 20 a_standby
check "mended, the first poller stands by" a_standby
check_oracle "nothing lost or doubled across the cut and the takeover"
check_no_duplicates "after the cut"
kill -USR2 "$PROXY" 2>/dev/null
done_testing
