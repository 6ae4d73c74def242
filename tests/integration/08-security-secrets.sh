#!/usr/bin/env bash
# Secrets never leave: the whole chain runs with known secret values (the
# ThermoWorks password and API key, a wrong password, API keys right and
# wrong, the webhook secret, the Redis and InfluxDB passwords) at debug
# level, through sign-ins, token refreshes and revocations, refused
# requests, a firing alert and its webhook, and SSE with keys and
# tokens. Then every log, every /metrics, every span exported, every
# error body and every printed configuration is searched for them and
# for the tokens ThermoWorks hands out (JWT id tokens, refresh tokens).
# Each daemon also runs without core dumps.
export INFLUX_CQ_INTERVAL=1s
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/api.bash"

TW_PASSWORD=tw-SECRET-password-7fa3c1
TW_WRONG=tw-SECRET-wrongpw-88e0d2
TW_APIKEY=tw-SECRET-apikey-19c2b4
API_KEY=api-SECRET-key-5e81aa90
API_WRONG=api-SECRET-wrong-0d44f3
HOOK_SECRET=hook-SECRET-4b90d7e2a1c3
REDIS_PW=redis-SECRET-pw-66aa0f
INFLUX_PW=influx-SECRET-pw-31bd77
SECRETS=("$TW_PASSWORD" "$TW_WRONG" "$TW_APIKEY" "$API_KEY" "$API_WRONG"
	"$HOOK_SECRET" "$REDIS_PW" "$INFLUX_PW")

p=($(freeport 14))
REDIS_PORT=${p[0]}
REDISCLI_AUTH=$REDIS_PW stack_redis_run 10 --requirepass "$REDIS_PW" ||
	bail "redis-server starts"
redis_cli() { REDISCLI_AUTH=$REDIS_PW redis-cli -p "$REDIS_PORT" "$@"; }
start_influx

# Spans: a collector that keeps the raw OTLP bodies.
python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        with open(sys.argv[2], "ab") as f:
            f.write(self.rfile.read(n) + b"\n")
        self.send_response(200); self.send_header("Content-Length", "2")
        self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "${p[1]}" "$T/spans.raw" &
_pids+=($!)
start_hookrecv "127.0.0.1:${p[2]}" "$T/hooks.log" || bail "hookrecv starts"

TW=127.0.0.1:${p[3]}
export GRILLD_LOG_LEVEL=debug
export GRILLD_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0 GRILLD_REDIS_PASSWORD=$REDIS_PW
export GRILLD_INFLUX_USERNAME=grilld GRILLD_INFLUX_PASSWORD=$INFLUX_PW
export GRILLD_TRACING_OTLP_URL=http://127.0.0.1:${p[1]}
export GRILLD_TWSIM_LISTEN=$TW GRILLD_TWSIM_ADMIN_LISTEN=127.0.0.1:${p[4]}
export GRILLD_TWSIM_API_KEY=$TW_APIKEY
export GRILLD_POLLER_ADMIN_LISTEN=127.0.0.1:${p[5]}
export GRILLD_INGEST_ADMIN_LISTEN=127.0.0.1:${p[6]}
export GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${p[7]}
export GRILLD_NNG_POLLER_URL=tcp://127.0.0.1:${p[8]}
export GRILLD_NNG_INGEST_URL=tcp://127.0.0.1:${p[9]}
export GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:${p[10]}
export GRILLD_STREAM_LISTEN=127.0.0.1:${p[11]} GRILLD_STREAM_PAGE_DIR=$GRILLD_TOP/stream/www
export GRILLD_THERMOWORKS_AUTH_URL=http://$TW GRILLD_THERMOWORKS_TOKEN_URL=http://$TW
export GRILLD_THERMOWORKS_FIRESTORE_URL="http://$TW/v1/projects/thermoworks-cloud-production/databases/(default)"
export GRILLD_THERMOWORKS_STORAGE_URL=http://$TW
export GRILLD_THERMOWORKS_API_KEY=$TW_APIKEY
export GRILLD_THERMOWORKS_EMAIL=pit@secrets.example GRILLD_THERMOWORKS_PASSWORD=$TW_PASSWORD
export GRILLD_POLLER_INTERVAL=5s GRILLD_POLLER_SPOOL_PATH=$T/poller.spool
export GRILLD_INGEST_BATCH_WAIT=100ms GRILLD_INGEST_CQ_INTERVAL=1s
export GRILLD_API_KEYS=$API_KEY GRILLD_API_RATE=0
STREAM=http://127.0.0.1:${p[11]}

cat >"$T/twsim.yaml" <<YAML
twsim:
  accounts:
    - email: pit@secrets.example
      password: $TW_PASSWORD
      devices: [{serial: SEC1, model: signals, recording_interval: 2s, upload_interval: 2s}]
YAML
# A second account whose password is wrong: its failures are logged.
cat >"$T/poller.yaml" <<YAML
thermoworks:
  accounts:
    - {email: nobody@secrets.example, password: $TW_WRONG}
YAML
cat >"$T/ingest.yaml" <<YAML
ingest:
  webhooks:
    - url: http://127.0.0.1:${p[2]}/hook
      secret: $HOOK_SECRET
YAML
chmod 600 "$T/poller.yaml" "$T/ingest.yaml"

start_daemon twsim "http://127.0.0.1:${p[4]}/health/ready" -f "$T/twsim.yaml" ||
	bail "grilld-twsim starts"
start_daemon ingest "http://127.0.0.1:${p[6]}/health/ready" -f "$T/ingest.yaml" ||
	bail "grilld-ingest starts"
start_daemon poller "http://127.0.0.1:${p[5]}/health/live" -f "$T/poller.yaml" ||
	bail "grilld-poller starts"
start_daemon stream "$STREAM/health/live" || bail "grilld-stream starts"
api_start || bail "grilld-api starts"
# The API's latest cache logs in with redis.password too (its own
# connection, with client tracking).
cache_live() { curl -s "$API/health" | grep -q '"latest_cache":"live"'; }
wait_for "the latest cache" 10 cache_live
check "the API's latest cache logs in to Redis with redis.password" cache_live

# --- traffic -----------------------------------------------------------------
AUTH=(-H "Authorization: Bearer $API_KEY")
J=(-H "Content-Type: application/json")
rule='{"id":"hot","kind":"above","device_id":"SEC1","threshold":-400,"name":"Any"}'
req POST /api/alerts/rules "${AUTH[@]}" "${J[@]}" -d "$rule"
check_eq "a rule that fires at once, created with the key" 201 "$CODE"
flowing() {
	req GET /api/temperature/current/SEC1?probe_id=1
	[ "$CODE" = 200 ]
}
wait_for "readings through the chain" 40 flowing
check "readings flow through the chain" flowing
wait_for "the alert's webhook" 30 grep -q hot "$T/hooks.log"
check "the alert went out as a signed webhook" grep -q 'sha256=' "$T/hooks.log"

# Revoked tokens: the poller refreshes, then signs in again.
curl -sS -X POST "http://127.0.0.1:${p[4]}/admin/faults" \
	-d '{"kind":"revoke","reason":"TOKEN_EXPIRED"}' >/dev/null
signins() { curl -s "http://127.0.0.1:${p[4]}/admin/stats" | jq -r .signins; }
n0=$(signins)
wait_for "a sign-in after the revocation" 30 bash -c "[ \$(curl -s http://127.0.0.1:${p[4]}/admin/stats | jq -r .signins) -gt $n0 ]"
check "the poller signed in again after its tokens were revoked" test "$(signins)" -gt "$n0"
check "the wrong password was refused, and logged" grep -q 'nobody@secrets.example' "$T/poller.log"

# Refused requests, and their error bodies, kept.
errs=$T/errors
: >"$errs"
batch() { curl -sS -X POST "${J[@]}" -d '{"readings": []}' "$@" "$API/api/temperature/batch"; echo; }
batch >>"$errs"
batch -H "Authorization: Bearer $API_WRONG" >>"$errs"
batch -H "Authorization: Basic $API_KEY" >>"$errs"
# (grilld's own route: grill-stats' ignore unknown parameters, as FastAPI)
curl -sS "$API/api/devices?token=$API_KEY" >>"$errs"
echo >>"$errs"
curl -sS -X PUT "${AUTH[@]}" "${J[@]}" -d "{\"id\":\"hot\",\"kind\":\"above\",\"device_id\":\"SEC1\",\"threshold\":\"$API_KEY\"}" \
	"$API/api/alerts/rules/hot" >>"$errs"
curl -sS -m 2 -N "$STREAM/api/temperature/stream/SEC1?token=$API_KEY&since=0" >>"$T/sse.out" 2>/dev/null
curl -sS -m 2 -N -H "Authorization: Bearer $API_KEY" "$STREAM/api/temperature/stream/SEC1?since=0" >>"$T/sse.out" 2>/dev/null
curl -sS -m 2 "$STREAM/api/temperature/stream/SEC1?token=$API_WRONG&since=$API_WRONG" >>"$errs"
curl -sS -m 2 -H "Last-Event-ID: $API_KEY" "$STREAM/api/temperature/stream/SEC1" >>"$errs"
check "the SSE clients with the key got events" grep -q '^data: {"device_id":"SEC1"' "$T/sse.out"
check_eq "the refused requests answered JSON errors" 7 "$(grep -o '"status":"error"' "$errs" | wc -l)"
sleep 1	# a last export of spans

# --- what could hold a secret --------------------------------------------------
out=$T/exposed
mkdir -p "$out"
for d in poller ingest stream twsim; do
	case $d in
	poller) url=http://127.0.0.1:${p[5]} ;;
	ingest) url=http://127.0.0.1:${p[6]} ;;
	stream) url=$STREAM ;;
	twsim) url=http://127.0.0.1:${p[4]} ;;
	esac
	curl -sS "$url/metrics" >"$out/metrics.$d"
	curl -sS "$url/health/ready" >"$out/ready.$d"
done
curl -sS "$API/metrics" >"$out/metrics.api"
curl -sS "$API/health" >"$out/health.api"
for d in poller ingest api stream; do
	"$BIN/grilld-$d" -n -v >"$out/config.$d" 2>&1
done
"$BIN/grilld-poller" -n -v -f "$T/poller.yaml" >"$out/config.poller-file" 2>&1
"$BIN/grilld-ingest" -n -v -f "$T/ingest.yaml" >"$out/config.ingest-file" 2>&1
cp "$T"/api.*.log "$T/poller.log" "$T/ingest.log" "$T/stream.log" "$errs" "$out/"
cp "$T/spans.raw" "$out/spans" 2>/dev/null
check "spans were exported to look at" test -s "$out/spans"
check "the poller logged at debug level" grep -q ' debug ' "$T/poller.log"

for s in "${SECRETS[@]}"; do
	hits=$(grep -rlF -- "$s" "$out" | sed "s|$out/||" | tr '\n' ' ')
	check_eq "${s%-*} appears nowhere" "" "$hits"
done
# What ThermoWorks hands out: id tokens (JWT) and refresh tokens.
hits=$(grep -rlE 'eyJhbGciOi[A-Za-z0-9_-]{10,}|AMf-vB[A-Za-z0-9_-]{10,}' "$out" | sed "s|$out/||" | tr '\n' ' ')
check_eq "no id token or refresh token appears anywhere" "" "$hits"
check "the configurations printed masked the secrets" grep -q '\*\*\*\*' "$out/config.poller"
echo "# lines where a log mask (********) stood in for a secret: $(cat "$out"/*.log | grep -c '\*\*\*\*\*\*\*\*')"
cat "$out"/*.log | grep '\*\*\*\*\*\*\*\*' | cut -c 25-160 | sort | uniq -c | sort -rn | head -5 | sed 's/^/#   /'

# --- no core dumps -------------------------------------------------------------
for d in poller ingest stream twsim; do
	pid_var=PID_$d
	check_match "grilld-$d runs without core dumps" "Max core file size +0 " \
		"$(grep 'core file' "/proc/${!pid_var}/limits")"
done
check_match "grilld-api runs without core dumps" "Max core file size +0 " \
	"$(grep 'core file' "/proc/$API_PID/limits")"
done_testing
