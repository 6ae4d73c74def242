#!/usr/bin/env bash
# TLS where grilld offers it: the API on HTTPS (api.tls_cert, api.tls_key)
# with a self-signed certificate made here by the openssl CLI, and
# InfluxDB over https for the ingester and the API, trusted through
# influx.ca_file. (Redis has no TLS in hiredis 0.14, and the stream's
# own server none: docs/security.md says what to put in front.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/api.bash"

command -v openssl >/dev/null || bail "openssl is needed to make the test certificate"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
	-keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || bail "openssl req"
chmod 600 "$T/key.pem"

# --- InfluxDB over https ---------------------------------------------------------
start_redis
p=($(freeport 4))
https=$(cat <<CONF
  https-enabled = true
  https-certificate = "$T/cert.pem"
  https-private-key = "$T/key.pem"
CONF
)
stack_influx_conf "$T/influx" "${p[0]}" "${p[1]}" "$https"
INFLUX_URL=https://127.0.0.1:${p[0]}
stack_influx_run 20 --cacert "$T/cert.pem" || bail "influxd starts with https"
export GRILLD_INFLUX_URL=$INFLUX_URL GRILLD_INGEST_BATCH_WAIT=100ms
export GRILLD_INGEST_ADMIN_LISTEN=127.0.0.1:${p[2]} GRILLD_NNG_EVENTS_URL=tcp://127.0.0.1:${p[3]}
api_nng_ports

# Without the CA the ingester does not trust InfluxDB, and says why.
start_daemon ingest "http://127.0.0.1:${p[2]}/health/live" || bail "grilld-ingest starts"
wait_for "the ingester to try InfluxDB" 10 grep -qi 'certificate' "$T/ingest.log"
check "without influx.ca_file: refused, a certificate error logged" grep -qi 'certificate' "$T/ingest.log"
stop_pid "$PID_ingest"

export GRILLD_INFLUX_CA_FILE=$T/cert.pem
start_daemon ingest "http://127.0.0.1:${p[2]}/health/ready" || bail "grilld-ingest starts with the CA"
ts=$(date -u +%FT%TZ)
redis_cli XADD grilld:readings '*' v 1 r "{\"device_id\":\"tls-1\",\"probe_id\":\"1\",\"temperature\":211.5,\"timestamp\":\"$ts\"}" >/dev/null
stored() {
	curl -sS --cacert "$T/cert.pem" -G "$INFLUX_URL/query" --data-urlencode db=grilld \
		--data-urlencode "q=SELECT value FROM raw.temperature WHERE device_id='tls-1'" |
		grep -q 211.5
}
wait_for "the reading in InfluxDB" 20 stored
check "with influx.ca_file: the ingester writes over https" stored

# --- the API on HTTPS ----------------------------------------------------------------
API_PORT=$(freeport)
API=http://127.0.0.1:$API_PORT HTTPS=https://127.0.0.1:$API_PORT
(
	export GRILLD_API_LISTEN=127.0.0.1:$API_PORT GRILLD_API_TLS_CERT=$T/cert.pem \
		GRILLD_API_TLS_KEY=$T/key.pem
	exec "$BIN/grilld-api" -d >>"$T/api.$API_PORT.log" 2>&1
) &
_pids+=($!)
wait_for "grilld-api on https" 15 curl -sf --cacert "$T/cert.pem" "$HTTPS/health/live"
out=$(curl -sS --cacert "$T/cert.pem" -w ' %{http_code}' \
	"$HTTPS/api/temperature/history/tls-1?probe_id=1&start_time=$(date -u -d '-1 hour' +%FT%TZ)")
check_match "HTTPS: history, read from InfluxDB over https too" '"temperature":211.5.* 200$' "$out"
check_eq "HTTPS: /metrics and /health on the same port" "200 200" \
	"$(curl -s --cacert "$T/cert.pem" -o /dev/null -w '%{http_code}' "$HTTPS/metrics") $(curl -s --cacert "$T/cert.pem" -o /dev/null -w '%{http_code}' "$HTTPS/health/ready")"
check "HTTPS: a client that does not trust the certificate is refused" \
	bash -c "! curl -s -o /dev/null '$HTTPS/health/live'"
check "HTTPS: TLS 1.1 is refused" \
	bash -c "! curl -s --cacert '$T/cert.pem' --tls-max 1.1 -o /dev/null '$HTTPS/health/live'"
check "HTTPS: plain HTTP on the port gets nothing" \
	bash -c "! curl -s -m 3 -o /dev/null '$API/health/live'"
for _ in 1 2 3; do curl -s -o /dev/null "$API/health/live"; curl -s -o /dev/null -k "$HTTPS/x%ff"; done
check "HTTPS: after bad clients the API still answers" curl -sf --cacert "$T/cert.pem" "$HTTPS/health/live"
check_match "HTTPS: grill-stats' live route is a 307 to the stream, on https" \
	'^Location: https://127\.0\.0\.1:8081/api/temperature/stream/d1' \
	"$(curl -s --cacert "$T/cert.pem" -D - -o /dev/null -H 'Host: evil.example' \
		"$HTTPS/api/temperature/stream/d1" | tr -d '\r' | grep '^Location')"
check "the API logs that it listens on https" grep -q "listening on https://" "$T/api.$API_PORT.log"

# --- refused configurations ------------------------------------------------------------
chmod 644 "$T/key.pem"
out=$(GRILLD_API_TLS_CERT="$T/cert.pem" GRILLD_API_TLS_KEY="$T/key.pem" "$BIN/grilld-api" -n 2>&1)
check_match "a key others can read is refused, saying chmod 600" "readable by others.*chmod 600" "$out"
out=$(GRILLD_API_TLS_CERT="$T/cert.pem" "$BIN/grilld-api" -n 2>&1)
check_match "a certificate without its key is refused" "go together" "$out"
out=$(GRILLD_API_TLS_CERT="$T/nope.pem" GRILLD_API_TLS_KEY="$T/key.pem" "$BIN/grilld-api" -n 2>&1)
check_match "a certificate that is not there is refused" "nope.pem: No such file" "$out"
done_testing
