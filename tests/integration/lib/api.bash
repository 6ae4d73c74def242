# Shared by the 05-api-* scenarios (sourced after lib.sh): grilld-api on
# free ports, and Redis and InfluxDB seeded the way the ingester and the
# poller leave them, so that the API is tested without the other daemons.
#
#   api_start [VAR=value ...]   starts grilld-api with those settings;
#                               sets API (its base URL) and API_PID
#   influx_setup                database and retention policies, as ingest
#   influx_write RP FILE        line protocol into a retention policy
#   points DEV PROBE UNIT COUNT STEP BASE MOD [AGO]   raw lines
#   latest DEV PROBE VALUE UNIT SECONDS_AGO      the `latest` hash entry
#   req METHOD PATH [CURL ARGS...]   sets CODE and BODY

api_nng_ports() {
	local p
	p=($(freeport 3))
	export GRILLD_NNG_POLLER_URL=tcp://127.0.0.1:${p[0]}
	export GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:${p[1]}
	export GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:${p[2]}
	export GRILLD_NNG_TIMEOUT=500ms
}

api_start() {
	local kv
	API_PORT=$(freeport)
	API=http://127.0.0.1:$API_PORT
	[ -n "${GRILLD_NNG_POLLER_URL:-}" ] || api_nng_ports
	(
		export GRILLD_API_LISTEN=127.0.0.1:$API_PORT
		export GRILLD_API_RATE=${GRILLD_API_RATE:-0}
		for kv in "$@"; do export "${kv?}"; done
		exec "$BIN/grilld-api" -d >>"$T/api.$API_PORT.log" 2>&1
	) &
	API_PID=$!
	_pids+=("$API_PID")
	if ! wait_for grilld-api 15 curl -sf "$API/health/live"; then
		sed 's/^/#   /' "$T/api.$API_PORT.log" | tail -20
		return 1
	fi
}

influx_q() {
	curl -sS -XPOST "$INFLUX_URL/query" --data-urlencode "q=$1" >/dev/null
}

influx_setup() {
	influx_q "CREATE DATABASE grilld"
	influx_q "CREATE RETENTION POLICY raw ON grilld DURATION 7d REPLICATION 1 DEFAULT"
	influx_q "CREATE RETENTION POLICY hourly ON grilld DURATION 90d REPLICATION 1"
	influx_q "CREATE RETENTION POLICY daily ON grilld DURATION 730d REPLICATION 1"
	influx_q "CREATE RETENTION POLICY monthly ON grilld DURATION INF REPLICATION 1"
}

# influx_write RP FILE: the line protocol in FILE into a retention policy.
influx_write() {
	local code
	code=$(curl -sS -o "$T/.influx.out" -w '%{http_code}' -XPOST \
		"$INFLUX_URL/write?db=grilld&rp=$1" --data-binary "@$2")
	[ "$code" = 204 ] || { echo "influx write: $code $(cat "$T/.influx.out")"; return 1; }
}

NOW_S=$(date +%s)

# points DEV PROBE UNIT COUNT STEP_S BASE MOD [AGO_S]: COUNT raw points,
# the newest AGO_S (default 5) seconds ago, one every STEP_S seconds back,
# valued BASE + i % MOD, as lp_point_reading writes them (value as
# measured, value_c in Celsius).
points() {
	awk -v dev="$1" -v probe="$2" -v unit="$3" -v n="$4" -v step="$5" \
	    -v base="$6" -v mod="$7" -v ago="${8:-5}" -v now="$NOW_S" 'BEGIN {
		for (i = 0; i < n; i++) {
			v = base + i % mod
			c = unit == "C" ? v : (v - 32) * 5 / 9
			printf "temperature,device_id=%s,probe_id=%s,source=thermoworks,unit=%s value=%s,value_c=%.6f,battery=80i,signal=-61i,status=\"NORMAL\",flags=0i %d000000000\n", \
			    dev, probe, unit, v, c, now - ago - i * step
		}
	}'
}

latest() {
	local ts
	ts=$(date -u -d "@$((NOW_S - $5))" +%Y-%m-%dT%H:%M:%SZ)
	redis_cli HSET grilld:latest "$1/$2" "{\"device_id\":\"$1\",\"probe_id\":\"$2\",\"temperature\":$3,\"unit\":\"$4\",\"timestamp\":\"$ts\",\"battery_level\":80,\"signal_strength\":-61,\"source\":\"thermoworks\"}" >/dev/null
}

req() {
	local method=$1 path=$2
	shift 2
	CODE=$(curl -sS -o "$T/.body" -w '%{http_code}' -X "$method" "$@" "$API$path")
	BODY=$(cat "$T/.body")
}

# jqr FILTER: jq -r on the last BODY.
jqr() { jq -r "$1" <<<"$BODY" 2>/dev/null; }
