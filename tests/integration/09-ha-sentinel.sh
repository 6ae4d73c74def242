#!/usr/bin/env bash
# test-lane: alone
# Redis high availability on the real engine: a master, a replica and
# three sentinels (redis-server --sentinel) on loopback. grilld-api,
# grilld-ingest, grilld-poller and grilld-stream reach Redis through the
# sentinels (redis-sentinel://), the API and the poller with
# redis.wait_replicas 1.
# Under a steady load of /batch writes and a simulated cook, the master
# is killed (SIGKILL): the sentinels promote the replica, every daemon
# follows, and no reading the API acknowledged is lost.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/api.bash"

MASTER=sentinel-grilld
ports=($(freeport 5))
M_PORT=${ports[0]} R_PORT=${ports[1]}
S_PORTS=(${ports[2]} ${ports[3]} ${ports[4]})
S_PIDS=()

# redis_node NAME PORT [ARGS...]: a data node; its pid in NODE_PID.
redis_node() {
	local name=$1 port=$2
	shift 2
	mkdir -p "$T/$name"
	redis-server --port "$port" --bind 127.0.0.1 --dir "$T/$name" \
		--save "" --appendonly no --daemonize no \
		--logfile "$T/$name/redis.log" "$@" &
	NODE_PID=$!
	_pids+=("$NODE_PID")
	wait_for "$name" 10 redis-cli -p "$port" PING
}
sentinel_node() {
	local i=$1 port=${S_PORTS[$1]}
	mkdir -p "$T/s$i"
	cat >"$T/s$i/sentinel.conf" <<CONF
port $port
bind 127.0.0.1
dir $T/s$i
logfile $T/s$i/sentinel.log
sentinel monitor $MASTER 127.0.0.1 $M_PORT 2
sentinel down-after-milliseconds $MASTER 1000
sentinel failover-timeout $MASTER 5000
sentinel parallel-syncs $MASTER 1
CONF
	redis-server "$T/s$i/sentinel.conf" --sentinel &
	S_PIDS+=($!)
	_pids+=($!)
}
master_port() {	# the port sentinel I names for the master
	redis-cli -p "${S_PORTS[$1]}" SENTINEL get-master-addr-by-name "$MASTER" | sed -n 2p
}
sentinels_agree() {	# every sentinel knows the replica and the others
	local i
	for i in 0 1 2; do
		redis-cli -p "${S_PORTS[$i]}" SENTINEL master "$MASTER" >"$T/.sm" || return 1
		[ "$(sed -n '/^num-slaves$/{n;p}' "$T/.sm")" = 1 ] || return 1
		[ "$(sed -n '/^num-other-sentinels$/{n;p}' "$T/.sm")" = 2 ] || return 1
	done
}

redis_node master "$M_PORT" || bail "the master starts"
M_PID=$NODE_PID
redis_node replica "$R_PORT" --replicaof 127.0.0.1 "$M_PORT" || bail "the replica starts"
for i in 0 1 2; do sentinel_node "$i"; done
wait_for "sentinels to find each other and the replica" 30 sentinels_agree
check "three sentinels watch the master and its replica" sentinels_agree

SENTINELS="127.0.0.1:${S_PORTS[0]},127.0.0.1:${S_PORTS[1]},127.0.0.1:${S_PORTS[2]}"
export GRILLD_REDIS_URL="redis-sentinel://$SENTINELS/$MASTER/0"
export GRILLD_REDIS_CONNECT_TIMEOUT=500ms GRILLD_REDIS_COMMAND_TIMEOUT=2s
export REDIS_PORT=$M_PORT

# -n accepts the URL, and refuses a sentinel URL without a master name.
out=$("$BIN/grilld-ingest" -n 2>&1)
check_eq "-n accepts a redis-sentinel:// URL" "configuration OK" "$out"
out=$(GRILLD_REDIS_URL="redis-sentinel://$SENTINELS" "$BIN/grilld-ingest" -n 2>&1)
check_match "-n refuses a sentinel URL without the master's name" "no master name" "$out"

start_influx
demo_chain_env
export GRILLD_INGEST_BATCH_WAIT=100ms
export GRILLD_REDIS_WAIT_REPLICAS=1 GRILLD_REDIS_WAIT_TIMEOUT=500ms

start_daemon twsim "http://127.0.0.1:${p[1]}/health/ready" || bail "grilld-twsim starts"
start_daemon ingest "http://127.0.0.1:${p[3]}/health/ready" || bail "grilld-ingest starts"
start_daemon poller "http://127.0.0.1:${p[2]}/health/live" || bail "grilld-poller starts"
api_start || bail "grilld-api starts"
SPORT=$(freeport)
STREAM=http://127.0.0.1:$SPORT
GRILLD_STREAM_LISTEN=127.0.0.1:$SPORT GRILLD_STREAM_PAGE_DIR=$GRILLD_TOP/stream/www \
	start_daemon stream "$STREAM/health/ready" || bail "grilld-stream starts"

check_match "the ingester found the master through the sentinels" \
	"the master is 127.0.0.1:$M_PORT" "$(cat "$T/ingest.log")"

# points DEVICE: how many points of that device InfluxDB holds.
points() {
	influx_query grilld "SELECT count(value) FROM raw.temperature WHERE device_id = '$1'" |
		jq -r '.results[0].series[0].values[0][1] // 0'
}
poller_points() {	# points of the simulator's devices, by way of the poller
	influx_query grilld "SELECT count(value) FROM raw.temperature WHERE device_id != 'ha-batch'" |
		jq -r '.results[0].series[0].values[0][1] // 0'
}
cook_past() { [ "$(poller_points)" -gt "$1" ]; }
wait_for "the cook to reach InfluxDB" 40 cook_past 0
check "the cook reaches InfluxDB through the sentinels' master" cook_past 0

# The load: one reading per request, each with its own second, until
# told to stop; the code of every answer is kept. Acknowledged (200)
# readings must all arrive.
base=$(( $(date +%s) - 3600 ))
load() {
	local i=0 ts code
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		ts=$(date -u -d "@$((base + i))" +%FT%TZ)
		code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X POST \
			-H 'Content-Type: application/json' \
			-d "{\"readings\":[{\"device_id\":\"ha-batch\",\"probe_id\":\"1\",\"temperature\":$i,\"timestamp\":\"$ts\"}]}" \
			"$API/api/temperature/batch")
		echo "$i $code $(date +%s.%N)" >>"$T/load.out"
		sleep 0.05
	done
}
acks_after() { [ "$(awk -v k="$1" '$2 == 200 && $3 > k' "$T/load.out" | wc -l)" -ge "$2" ]; }
: >"$T/load.out"
load &
LOAD_PID=$!
wait_for "the load under way" 30 acks_after 0 30
before=$(poller_points)
kill_at=$(date +%s.%N)
{ kill -KILL "$M_PID"; wait "$M_PID"; } 2>/dev/null
check "the master is gone" bash -c "! redis-cli -p $M_PORT PING"

promoted() { [ "$(master_port 0)" = "$R_PORT" ] && [ "$(master_port 1)" = "$R_PORT" ]; }
wait_for "the sentinels to promote the replica" 30 promoted
check "the sentinels promoted the replica" promoted
check_eq "the replica says it is the master" master \
	"$(redis-cli -p "$R_PORT" ROLE | head -1)"
# The old master comes back, as a restarted pod would, and replicates the
# new one (the sentinels would reconfigure it; said here to save time):
# with wait_replicas 1 the hand-off needs a replica to be acknowledged.
redis_node old-master "$M_PORT" --replicaof 127.0.0.1 "$R_PORT" || bail "the old master restarts"
N2_PID=$NODE_PID
wait_for "writes acknowledged after the failover" 60 acks_after "$kill_at" 30
touch "$T/stop"
wait "$LOAD_PID"

acked=$(awk '$2 == 200' "$T/load.out" | wc -l)
after_kill=$(awk -v k="$kill_at" '$2 == 200 && $3 > k' "$T/load.out" | wc -l)
refused=$(awk '$2 != 200' "$T/load.out" | wc -l)
echo "# $acked of $(wc -l <"$T/load.out") writes acknowledged, $after_kill after the kill, $refused refused during the failover"
check "writes are acknowledged again after the failover" test "$after_kill" -ge 30
check_match "a refused write says why (503, sent again by the client)" "^(0|[0-9]+)$" "$refused"
if [ "$refused" -gt 0 ]; then
	check "every refusal is a 503 or a time-out" \
		bash -c "awk '\$2 != 200 && \$2 != 503 && \$2 != 000' '$T/load.out' | grep -q . && exit 1 || exit 0"
fi

# Every acknowledged reading reaches InfluxDB, through the new master.
stored_all() {
	influx_query grilld "SELECT value FROM raw.temperature WHERE device_id = 'ha-batch'" |
		jq -r '.results[0].series[0].values[]?[1]' | sort | uniq >"$T/stored"
	awk '$2 == 200 {print $1}' "$T/load.out" | sort >"$T/acked"
	[ -z "$(comm -23 "$T/acked" "$T/stored")" ]
}
wait_for "every acknowledged reading in InfluxDB" 30 stored_all
lost=$(comm -23 "$T/acked" "$T/stored" | wc -l)
check_eq "no acknowledged reading is lost in the failover" 0 "$lost"

# The poller's hand-off follows too: the cook keeps reaching InfluxDB.
wait_for "the cook to go on after the failover" 40 cook_past "$before"
check "the poller's readings reach InfluxDB after the failover" \
	cook_past "$before"
for d in ingest poller; do
	check_match "grilld-$d follows the promotion" \
		"the master is 127.0.0.1:$R_PORT" "$(cat "$T/$d.log")"
done
check_match "grilld-api follows the promotion (its metrics)" \
	"grilld_redis_reconnects_total [1-9]" "$(curl -s "$API/metrics")"
# The stream's feed reads the events stream through the sentinels too.
sse_event() { curl -s -N -m 8 "$STREAM/api/temperature/stream" | grep -q '^id: '; }
wait_for "the stream ready after the failover" 20 curl -sf "$STREAM/health/ready"
# (a poller back from its spool may wait out a back-off before its next
# reading: a live event within 30 s, not within one connection's 8 s)
wait_for "a live event after the failover" 30 sse_event
check "the stream's live events go on after the failover" sse_event
check_match "grilld-stream follows the promotion" \
	"the master is 127.0.0.1:$R_PORT" "$(cat "$T/stream.log")"
cache_live() { curl -s "$API/health" | grep -q '"latest_cache":"live"'; }
wait_for "the API's latest cache on the new master" 15 cache_live
check "the API's latest cache (client tracking) follows the promotion" cache_live
check_eq "the API is ready again" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$API/health/ready")"

# A reading whose replication cannot be confirmed is not acknowledged:
# with the only replica stopped, WAIT times out and /batch answers 503.
kill -STOP "$N2_PID"
code=$(curl -s -o "$T/.body" -w '%{http_code}' -m 10 -X POST -H 'Content-Type: application/json' \
	-d "{\"readings\":[{\"device_id\":\"ha-wait\",\"probe_id\":\"1\",\"temperature\":1,\"timestamp\":\"$(date -u +%FT%TZ)\"}]}" \
	"$API/api/temperature/batch")
check_match "no replica acknowledges: 503 REDIS_NOT_REPLICATED, send again" \
	"^503 REDIS_NOT_REPLICATED .*send it again" "$code $(jq -r '.reason + " " + .message' "$T/.body")"
kill -CONT "$N2_PID"

done_testing
