#!/usr/bin/env bash
# Upload to Redis: how long a reading waits between the device's upload
# and the readings stream, and how many requests an hour that costs,
# polling each device on its own schedule (poller.schedule: when its
# next upload is due) against the reference, every device every 30 s
# (poller.schedule: false). grilld-twsim with DEVICES generated devices
# (4 channels, recording and uploading every 60 s: the uploaded point's
# time is the upload's) plus the demo account's, a real Redis, one
# poller; after a warm-up, MINUTES are measured: each live reading's
# stream entry time minus its device time (p50, p99), and the requests
# the simulator answered, per hour.
#
#   bash bench/schedule.sh [DEVICES] [MINUTES]   (defaults 200, 5;
#                                                 BENCH_QUICK=1: 100, 3)
#
# Targets: p99 under 5 s, requests an hour no more than the reference.
set -u
. "$(dirname "$0")/lib.sh"
DEVICES=${1:-$(bench_pick 100 200)}
MINUTES=${2:-$(bench_pick 3 5)}
WARMUP=90

# run_one SCHEDULE: prints "p50_ms p99_ms requests_per_hour readings".
run_one() {
	local p t0 t1 r0 r1 pid_tw pid_po
	start_redis
	p=($(freeport 4))
	local TW=127.0.0.1:${p[0]}
	GRILLD_TWSIM_LISTEN=$TW GRILLD_TWSIM_ADMIN_LISTEN=127.0.0.1:${p[1]} \
	GRILLD_TWSIM_DEVICES=$DEVICES \
		start_daemon twsim "http://127.0.0.1:${p[1]}/health/ready" ||
		bail "twsim starts"
	pid_tw=$PID_twsim
	GRILLD_THERMOWORKS_AUTH_URL=http://$TW GRILLD_THERMOWORKS_TOKEN_URL=http://$TW \
	GRILLD_THERMOWORKS_FIRESTORE_URL="http://$TW/v1/projects/thermoworks-cloud-production/databases/(default)" \
	GRILLD_THERMOWORKS_STORAGE_URL=http://$TW \
	GRILLD_THERMOWORKS_API_KEY=twsim-demo-key \
	GRILLD_THERMOWORKS_EMAIL=demo@grilld.example GRILLD_THERMOWORKS_PASSWORD=demo \
	GRILLD_POLLER_ADMIN_LISTEN=127.0.0.1:${p[2]} GRILLD_NNG_POLLER_URL=tcp://127.0.0.1:${p[3]} \
	GRILLD_POLLER_INTERVAL=30s GRILLD_POLLER_SCHEDULE=$1 \
	GRILLD_POLLER_SPOOL_PATH=$T/poller-$1.spool \
		start_daemon poller "http://127.0.0.1:${p[2]}/health/ready" ||
		bail "poller starts"
	pid_po=$PID_poller
	sleep "$WARMUP"
	r0=$(curl -sf "http://127.0.0.1:${p[1]}/admin/stats" | jq .requests_total)
	t0=$(date +%s%3N)
	sleep $((MINUTES * 60))
	r1=$(curl -sf "http://127.0.0.1:${p[1]}/admin/stats" | jq .requests_total)
	t1=$(date +%s%3N)
	redis_cli --raw XRANGE grilld:readings "$t0" "$t1" |
		awk '/^[0-9]+-[0-9]+$/ { id = $1; next }
		     /^\{/ { split(id, a, "-"); print a[1] "\t" $0 }' |
		jq -R -r 'split("\t") as [$at, $j] | ($j | fromjson) as $r |
		    select((($r.flags // 0) / 32 | floor) % 2 == 0) |
		    ($r.timestamp | (.[0:19] + "Z" | fromdateiso8601) * 1000 +
		     (.[20:23] | tonumber)) as $ts |
		    ($at | tonumber) - $ts' | sort -n >"$T/lat-$1"
	stop_pid "$pid_po"
	stop_pid "$pid_tw"
	echo "$(bench_pct 50 <"$T/lat-$1") $(bench_pct 99 <"$T/lat-$1")" \
	    "$(( (r1 - r0) * 3600000 / (t1 - t0) ))" "$(wc -l <"$T/lat-$1")"
}

echo "# fixed: every device every 30 s ($DEVICES devices, $MINUTES min)"
run_one false >"$T/res-false"
read -r f50 f99 freq fn <"$T/res-false"
echo "# scheduled: each device when its upload is due"
run_one true >"$T/res-true"
read -r s50 s99 sreq sn <"$T/res-true"
echo "fixed      p50 ${f50} ms  p99 ${f99} ms  ${freq} requests/h  ${fn} readings"
echo "scheduled  p50 ${s50} ms  p99 ${s99} ms  ${sreq} requests/h  ${sn} readings"
bench_result schedule.upload_to_redis_p99_ms "$s99" "$f99" ms "< 5000" lower
bench_result schedule.upload_to_redis_p50_ms "$s50" "$f50" ms - lower
bench_result schedule.requests_per_hour "$sreq" "$freq" req/h "<= reference" lower
[ "${s99%.*}" -lt 5000 ] && [ "$sreq" -le "$freq" ]
