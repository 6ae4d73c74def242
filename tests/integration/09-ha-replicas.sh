#!/usr/bin/env bash
# test-lane: alone
# What Kubernetes runs, on one host: two pollers (one active), three
# ingesters, two APIs and two streams, behind nginx standing in for the
# Services and the Ingress. Under a steady cook one of each role is
# killed in turn (SIGKILL: the active poller, an ingester, an API, a
# stream). Then: every point the simulator recorded is in InfluxDB, once
# and with its value; an SSE client and a WebSocket client that follow
# the live events through the balancer (reconnecting with Last-Event-ID
# or since=) received every event once; /api/devices through the
# balancer listed every device at every moment.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/poller.bash"
. "$(dirname "$0")/lib/stream.sh"

need_node_packages ws eventsource
command -v nginx >/dev/null || bail "nginx is installed (make deps)"
setup_world
start_influx
export GRILLD_INGEST_BATCH_WAIT=100ms GRILLD_INGEST_CLAIM_IDLE=3s
export GRILLD_API_RATE=0 GRILLD_STREAM_PAGE_DIR=$GRILLD_TOP/stream/www
export GRILLD_STREAM_THREADS=1 GRILLD_NNG_TIMEOUT=500ms

# Every role's ports: the balancer 0, pollers' admin 1-2 and nng 20-21,
# ingesters 3-11 (admin, events, status), streams 12-15, APIs 16-19.
P=($(freeport 24))
LB=127.0.0.1:${P[0]}

# start_role NAME READY_URL VAR=value...: a daemon with its own settings.
start_role() {
	local name=$1 url=$2 kind=${1%%-*}
	shift 2
	(
		for kv in "$@"; do export "${kv?}"; done
		exec "$BIN/grilld-$kind" -d $([ "$kind" = poller ] && echo "-f $T/$name.yaml") \
			>>"$T/$name.log" 2>&1
	) &
	_pids+=("$!")
	eval "PID_${name//-/_}=$!"
	wait_for "$name" 20 curl -sf "$url" || {
		sed 's/^/#   /' "$T/$name.log" | tail -10
		bail "$name starts"
	}
}

# Two pollers, one account set: A takes the leases, B stands by.
for x in a b; do
	i=$([ $x = a ] && echo 1 || echo 2)
	sed "s/admin_listen: .*/admin_listen: 127.0.0.1:${P[$i]}/; s|poller_url: .*|poller_url: tcp://127.0.0.1:${P[$((19 + i))]}|" \
		"$T/poller.yaml" >"$T/poller-$x.yaml"
	chmod 600 "$T/poller-$x.yaml"
done
start_role poller-a "http://127.0.0.1:${P[1]}/health/ready"
start_role poller-b "http://127.0.0.1:${P[2]}/health/live"
for i in 1 2 3; do
	b=$((3 * i))
	start_role "ingest-$i" "http://127.0.0.1:${P[$b]}/health/ready" \
		GRILLD_INGEST_ADMIN_LISTEN=127.0.0.1:${P[$b]} \
		GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${P[$((b + 1))]} \
		GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:${P[$((b + 2))]}
done
for i in 1 2; do
	s=$((12 + 2 * (i - 1)))
	start_role "stream-$i" "http://127.0.0.1:${P[$s]}/health/ready" \
		GRILLD_STREAM_LISTEN=127.0.0.1:${P[$s]} \
		GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:${P[$((s + 1))]}
done
for i in 1 2; do
	a=$((16 + 2 * (i - 1)))
	start_role "api-$i" "http://127.0.0.1:${P[$a]}/health/live" \
		GRILLD_API_LISTEN=127.0.0.1:${P[$a]} \
		GRILLD_NNG_POLLER_URL=tcp://127.0.0.1:${P[$((19 + i))]} \
		GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:${P[$((3 * i + 2))]} \
		GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:${P[$((11 + 2 * i))]} \
		GRILLD_API_STREAM_UPSTREAM=127.0.0.1:${P[$((10 + 2 * i))]}
done

# nginx: the Services (round robin, the next server on a refused
# connection) and the Ingress (streams to the streams, the rest to the
# APIs).
mkdir -p "$T/nginx"
cat >"$T/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $T/nginx/body;
  proxy_temp_path $T/nginx/proxy;
  fastcgi_temp_path $T/nginx/fcgi;
  uwsgi_temp_path $T/nginx/uwsgi;
  scgi_temp_path $T/nginx/scgi;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  upstream api { server 127.0.0.1:${P[16]} max_fails=0; server 127.0.0.1:${P[18]} max_fails=0; }
  upstream stream { server 127.0.0.1:${P[12]} max_fails=0; server 127.0.0.1:${P[14]} max_fails=0; }
  server {
    listen $LB;
    proxy_http_version 1.1;
    proxy_next_upstream error timeout;
    location ~ ^/api/temperature/(stream|ws) {
      proxy_pass http://stream;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_buffering off;
      proxy_read_timeout 1h;
    }
    location / { proxy_pass http://api; }
  }
}
CONF
nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" &
_pids+=("$!")
wait_for nginx 10 curl -sf "http://$LB/health/live" || bail "nginx starts"

# The device list through the balancer, twice a second, all along.
ndev() {
	curl -s -m 2 "http://$LB/api/devices" |
		jq -r '[.data[]? | select(.name != null)] | length' 2>/dev/null || echo 0
}
full() { [ "$(ndev)" -ge 5 ]; }
wait_for "every device through the balancer" 40 full || bail "the devices reach the API"
( while [ ! -e "$T/stop" ]; do echo "$(date +%s.%N) $(ndev)" >>"$T/devices"; sleep 0.5; done ) &
watch=$!

# Clients that follow every event through the balancer.
NODE_PATH=$GRILLD_TOP/tests/node_modules node "$GRILLD_TOP/tests/integration/stream/sse-collect.mjs" \
	"http://$LB/api/temperature/stream" "$T/sse.out" 1000000 75 &
sse=$!
NODE_PATH=$GRILLD_TOP/tests/node_modules node "$GRILLD_TOP/tests/integration/stream/ws-follow.mjs" \
	"ws://$LB/api/temperature/ws" "$T/ws.out" 75 &
wsc=$!
wait_for "the clients' first events" 20 bash -c "grep -q reading '$T/sse.out' && grep -q reading '$T/ws.out'"

# api-2 asks poller-b, which stands by: the cloud is polled all the same.
tw_status() {	# the thermoworks_api component through api-N
	curl -s "http://127.0.0.1:${P[$1]}/health" | jq -r '.components.thermoworks_api'
}
check_eq "/health through the API of the standby poller: thermoworks_api healthy" \
	healthy "$(tw_status 18)"
check_eq "and through the API of the poller holding the leases" healthy "$(tw_status 16)"

# One of each role, in turn, with the cook going on. Both streams go
# down in turn (the first restarted before the second dies), so that each
# client, wherever the balancer put it, has to move.
kill9() { { kill -KILL "$1"; wait "$1"; } 2>/dev/null; }
sleep 6
kill9 "$PID_poller_a"
took() { grep -q "lease taken over; polling" "$T/poller-b.log"; }
wait_for "poller-b to take over" 20 took
check "the standby poller takes over from the killed one" took
sleep 5
kill9 "$PID_ingest_1"
sleep 8
kill9 "$PID_api_1"
sleep 5
kill9 "$PID_stream_1"
sleep 6
start_role stream-1 "http://127.0.0.1:${P[12]}/health/ready" \
	GRILLD_STREAM_LISTEN=127.0.0.1:${P[12]} GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:${P[13]}
sleep 2
kill9 "$PID_stream_2"
sleep 6
cut=$(now_ms)
sleep 4
touch "$T/stop"
wait "$watch"

# Every recorded point up to the cut, in InfluxDB, once, with its value.
influx_tsv() {	# in ms: nanoseconds lose their last digits in jq's doubles
	curl -sS -G "$INFLUX_URL/query" --data-urlencode db=grilld --data-urlencode epoch=ms \
		--data-urlencode "q=SELECT value FROM raw.temperature WHERE time <= ${cut}ms GROUP BY device_id, probe_id" |
		jq -r '.results[0].series[]? | .tags as $t | .values[] |
		    [$t.device_id, $t.probe_id, .[0], (.[1] // "")] | @tsv' | sort
}
stored_all() {
	influx_tsv >"$T/got.tsv"
	oracle_tsv "$cut" >"$T/want.tsv"
	[ -s "$T/want.tsv" ] && cmp -s <(cut -f1-3 "$T/got.tsv") <(cut -f1-3 "$T/want.tsv")
}
wait_for "every recorded point in InfluxDB" 60 stored_all
check "every point the simulator recorded is in InfluxDB once ($(wc -l <"$T/want.tsv") points)" \
	cmp -s <(cut -f1-3 "$T/got.tsv") <(cut -f1-3 "$T/want.tsv")
[ -n "$(diff <(cut -f1-3 "$T/got.tsv") <(cut -f1-3 "$T/want.tsv") | head -3)" ] &&
	echo "# $(diff <(cut -f1-3 "$T/got.tsv") <(cut -f1-3 "$T/want.tsv") | head -5 | tr '\n' ' ')"
check_eq "with its value" "" "$(paste "$T/got.tsv" "$T/want.tsv" |
	awk -F'\t' '($4 == "") != ($8 == "") || ($4 != "" && ($4 - $8 > 0.05 || $8 - $4 > 0.05))' | head -3)"

# Every event once, to each client, across the kills.
wait "$sse" "$wsc"
events_between() {	# the ids in `events` from $1 to $2
	redis_cli --raw XRANGE grilld:events "$1" "$2" | grep -E '^[0-9]+-[0-9]+$'
}
for c in sse ws; do
	grep -E '^[0-9]+-[0-9]+ ' "$T/$c.out" | cut -d' ' -f1 >"$T/$c.ids"
	first=$(head -1 "$T/$c.ids") last=$(tail -1 "$T/$c.ids")
	events_between "$first" "$last" >"$T/$c.want"
	check_eq "$c: reconnected through the balancer" yes \
		"$([ "$(grep -c '^open' "$T/$c.out")" -ge 2 ] && echo yes || echo no)"
	check_eq "$c: every event once ($(wc -l <"$T/$c.want") events), in order" \
		"$(cat "$T/$c.want")" "$(cat "$T/$c.ids")"
done

sort -n "$T/devices" | awk '{ print $2 }' | sort -n | uniq -c | sed 's/^/# devices listed (count, times): /'
check_eq "/api/devices listed every device at every moment" \
	"$(awk '{ print $2 }' "$T/devices" | sort -n | tail -1)" \
	"$(awk '{ print $2 }' "$T/devices" | sort -n | head -1)"
done_testing
