#!/usr/bin/env bash
# grilld-stream beside nginx + Nchan (Debian's libnginx-mod-nchan, one
# worker process, as grilld-stream is one process) doing the same
# fan-out on this machine, and beside the civetweb prototype that lost
# the choice of server (bench/civetweb-sse.c; docs/stream.md):
#
#   CLIENTS clients (tests/tools/streamload: epoll, one process), client i
#   following device i % DEVICES; RATE readings a second in, spread over
#   the DEVICES devices (tests/tools/evpub: into Redis and nng for
#   grilld, HTTP POST to Nchan's publisher), for DURATION seconds. Each
#   event carries its publish time: latency is publish to receive, as
#   the client sees it.
#
# Reported per system: delivered events/s, latency p50/p90/p99/p99.9/max,
# resident memory per idle connection (RSS with the clients connected
# and idle, less RSS before, over CLIENTS), CPU seconds of the server,
# and the ratios grilld / Nchan. Runs alternate (grilld, Nchan, ...) RUNS
# times and medians are reported, so that load from elsewhere on the
# machine weighs on both alike. Then the ceiling: the client count where
# p99 passes 100 ms, for each, over CEILING counts.
#
#   bash bench/stream.sh                      (make bench runs it)
#   CLIENTS=10000 RATE=1000 DEVICES=100 DURATION=8 RUNS=3 bash bench/stream.sh
#   CEILING="2500 5000 10000 15000" CIVETWEB=2000 WS=1 bash bench/stream.sh
#
# Targets (issue 6): 10,000 clients on one process, p99 < 100 ms at
# 1,000 events/s in, < 32 KiB per idle connection, at least as fast as
# Nchan. Exits 1 when one is missed.
set -u
CLIENTS=${CLIENTS:-10000}
RATE=${RATE:-1000}
DEVICES=${DEVICES:-100}
SECONDS_=${DURATION:-8}
RUNS=${RUNS:-3}
WS=${WS:-1}
CEILING=${CEILING:-"2500 5000 10000 15000"}
CIVETWEB=${CIVETWEB:-2000}
. "$(dirname "$0")/lib.sh"

ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" -lt $((CLIENTS + 1000)) ]; then
	echo "bench/stream.sh: ulimit -n is $(ulimit -n); $CLIENTS clients need more"
	exit 1
fi
for cmd in nginx redis-server; do
	command -v $cmd >/dev/null || { echo "bench/stream.sh: $cmd is missing (make deps)"; exit 1; }
done
NCHAN_SO=/usr/lib/nginx/modules/ngx_nchan_module.so
[ -f $NCHAN_SO ] || { echo "bench/stream.sh: Nchan is missing (make deps)"; exit 1; }
LOAD=$BUILD/tools/streamload
EVPUB=$BUILD/tools/evpub

start_redis
p=($(freeport 4))
SPORT=${p[0]} NPORT=${p[1]} CWPORT=${p[2]} NNG=tcp://127.0.0.1:${p[3]}
export GRILLD_STREAM_LISTEN=127.0.0.1:$SPORT GRILLD_NNG_EVENTS_URL=$NNG \
	GRILLD_STREAM_MAX_CLIENTS=100000 GRILLD_STREAM_PER_ADDRESS=100000 \
	GRILLD_STREAM_MAX_CONNS=100000 GRILLD_STREAM_PER_ADDRESS_CONNS=100000 \
	GRILLD_LOG_LEVEL=warn GRILLD_STREAM_PAGE_DIR=$GRILLD_TOP/stream/www \
	GRILLD_NNG_STREAM_URL=tcp://127.0.0.1:$(freeport) \
	GRILLD_STREAM_THREADS=${THREADS:-$(nproc)}
# The fan-out against Nchan's, fed over nng by one publisher as Nchan is
# fed by one; bench/feed.sh measures the Redis feed of several ingesters.
export GRILLD_STREAM_FEED=nng

mkdir -p "$T/nginx"
cat >"$T/nginx/nginx.conf" <<CONF
load_module $NCHAN_SO;
worker_processes 1;
worker_rlimit_nofile $(ulimit -n);
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections $(( $(ulimit -n) - 100 )); multi_accept on; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  client_body_temp_path $T/nginx/body;
  proxy_temp_path $T/nginx/proxy;
  fastcgi_temp_path $T/nginx/fcgi;
  uwsgi_temp_path $T/nginx/uwsgi;
  scgi_temp_path $T/nginx/scgi;
  nchan_max_reserved_memory 512M;
  server {
    listen 127.0.0.1:$NPORT backlog=4096;
    location ~ ^/sub/(\w+)$ {
      nchan_subscriber; nchan_channel_id \$1;
      nchan_subscriber_first_message newest;
    }
    location ~ ^/pub/(\w+)$ {
      nchan_publisher; nchan_channel_id \$1;
      nchan_message_buffer_length 64; nchan_message_timeout 60s;
    }
  }
}
CONF

# Each run gets a fresh server: memory is measured from its start.
fresh() {
	case $1 in
	grilld)
		[ -n "${SPID:-}" ] && stop_pid "$SPID"
		start_daemon stream "http://127.0.0.1:$SPORT/health/ready" || exit 1
		SPID=$PID_stream PID=$SPID ;;
	nchan)
		[ -n "${NGXM:-}" ] && stop_pid "$NGXM"
		nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" &
		NGXM=$!
		_pids+=("$NGXM")
		wait_for nginx 10 curl -s -o /dev/null "http://127.0.0.1:$NPORT/pub/x"
		PID=$(pgrep -P "$NGXM" | head -1) ;;
	civetweb)
		"$T/cwsse" "$CWPORT" "tcp://127.0.0.1:$CWNNG" $((CIVETWEB + 50)) &
		CWPID=$! PID=$!
		_pids+=("$CWPID")
		wait_for civetweb 30 curl -s -o /dev/null -m 0.2 "http://127.0.0.1:$CWPORT/" ;;
	esac
	sleep 0.5
}

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
val() { awk -F= -v k="$1" '$1 == k { print $2 }' "$2"; }

# run SYSTEM TRANSPORT N OUT: one measurement into OUT (key=value).
run() {
	local sys=$1 tr=$2 n=$3 out=$4 port path pub wsflag="" rss0 rss1 cpu0 cpu1
	local go=$T/go.$$.$RANDOM
	case $sys in
	grilld) port=$SPORT path="/api/temperature/stream/dev%d"
		[ "$tr" = ws ] && path="/api/temperature/ws/dev%d?snapshot=0"
		pub=(-u "$NNG" -w "$GRILLD_STREAM_THREADS") ;;
	nchan) port=$NPORT path="/sub/dev%d"
		pub=(-H "http://127.0.0.1:$NPORT/pub/") ;;
	civetweb) port=$CWPORT path="/sub/dev%d"
		pub=(-u "tcp://127.0.0.1:$CWNNG" -w 1) ;;
	esac
	[ "$tr" = ws ] && wsflag=-w
	# The publisher first (the stream dials it), then a fresh server.
	[ $sys = nchan ] && fresh $sys
	"$EVPUB" "${pub[@]}" -R "$RATE" -S "$SECONDS_" -D "$DEVICES" -P 4 -W 0 \
		-F "$go" >/dev/null 2>>"$T/evpub.err" &
	local epid=$!
	[ $sys != nchan ] && fresh $sys
	rss0=$(rss_kib "$PID")
	"$LOAD" -a "127.0.0.1:$port" -n "$n" -d "$DEVICES" -p "$path" $wsflag \
		-r 3000 -t $((SECONDS_ + 3)) -q >"$out" 2>&1 &
	local lpid=$!
	for _ in $(seq 1 300); do
		[ "$(ss -Htn state established "( sport = :$port )" | wc -l)" -ge "$n" ] && break
		sleep 0.1
	done
	sleep 1			# connected and idle: the memory
	rss1=$(rss_kib "$PID")
	cpu0=$(cpu_ticks "$PID")
	touch "$go"
	wait $epid
	cpu1=$(cpu_ticks "$PID")
	wait $lpid
	{
		echo "kib_per_conn=$(awk -v a="$rss0" -v b="$rss1" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / n }')"
		echo "rss0_kib=$rss0"
		echo "rss1_kib=$rss1"
		echo "cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", (b - a) / 100 }')"
		echo "delivered_per_s=$(awk -v e="$(val events "$out")" -v s="$SECONDS_" 'BEGIN { printf "%.0f", e / s }')"
	} >>"$out"
	[ $sys = civetweb ] && kill "$CWPID" 2>/dev/null
	sleep 1
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# figure SYS TR KEY: the median of KEY over that system's runs.
figure() { for f in "$T"/res."$1"."$2".*; do val "$3" "$f"; done | median; }

echo "grilld-stream vs nginx+Nchan: $CLIENTS clients over $DEVICES devices, $RATE events/s in, ${SECONDS_}s, $RUNS runs, $(nproc) cores"
transports=sse
[ "$WS" = 1 ] && transports="sse ws"
for tr in $transports; do
	for r in $(seq 1 "$RUNS"); do
		run grilld "$tr" "$CLIENTS" "$T/res.grilld.$tr.$r"
		run nchan "$tr" "$CLIENTS" "$T/res.nchan.$tr.$r"
	done
done

fail=0
printf '\n%-14s %-4s %13s %8s %8s %8s %8s %8s %10s %7s\n' system tr "delivered/s" \
	"p50 ms" "p90 ms" "p99 ms" "p99.9 ms" "max ms" "KiB/conn" "CPU s"
for tr in $transports; do
	for sys in grilld nchan; do
		printf '%-14s %-4s %13s %8s %8s %8s %8s %8s %10s %7s\n' \
			"$([ $sys = grilld ] && echo grilld-stream || echo nginx+nchan)" "$tr" \
			"$(figure $sys $tr delivered_per_s)" "$(figure $sys $tr p50_ms)" \
			"$(figure $sys $tr p90_ms)" "$(figure $sys $tr p99_ms)" \
			"$(figure $sys $tr p999_ms)" "$(figure $sys $tr max_ms)" \
			"$(figure $sys $tr kib_per_conn)" "$(figure $sys $tr cpu_s)"
	done
	g99=$(figure grilld $tr p99_ms) n99=$(figure nchan $tr p99_ms)
	gm=$(figure grilld $tr kib_per_conn) nm=$(figure nchan $tr kib_per_conn)
	gd=$(figure grilld $tr delivered_per_s) nd=$(figure nchan $tr delivered_per_s)
	printf '%-19s p99 %.2fx, memory %.2fx, delivered %.2fx (grilld / nchan; < 1 is better for p99 and memory)\n' \
		"ratios $tr:" "$(awk -v a="$g99" -v b="$n99" 'BEGIN { print (b > 0) ? a / b : 0 }')" \
		"$(awk -v a="$gm" -v b="$nm" 'BEGIN { print (b > 0) ? a / b : 0 }')" \
		"$(awk -v a="$gd" -v b="$nd" 'BEGIN { print (b > 0) ? a / b : 0 }')"
	awk -v p="$g99" 'BEGIN { exit !(p < 100) }' || { echo "MISSED: $tr p99 $g99 ms >= 100 ms"; fail=1; }
	awk -v a="$gm" 'BEGIN { exit !(a < 32) }' || { echo "MISSED: $tr $gm KiB per idle connection"; fail=1; }
	awk -v a="$g99" -v b="$n99" 'BEGIN { exit !(a <= b) }' || { echo "MISSED: $tr p99 slower than Nchan's"; fail=1; }
	[ "$(figure grilld $tr connected)" = "$CLIENTS" ] || { echo "MISSED: not all $CLIENTS clients connected"; fail=1; }
done

# The prototype that lost: civetweb, a thread per connection.
if [ "$CIVETWEB" -gt 0 ]; then
	CWNNG=$(freeport)
	if cc -O2 -o "$T/cwsse" "$GRILLD_TOP/bench/civetweb-sse.c" -lcivetweb -lnng -pthread; then
		run civetweb sse "$CIVETWEB" "$T/res.civetweb"
		run grilld sse "$CIVETWEB" "$T/res.grilld.small"
		printf '\nat %d clients, civetweb (a thread each): p99 %s ms, %s KiB/conn (%s KiB/conn with the threads); grilld-stream: p99 %s ms, %s KiB/conn\n' \
			"$CIVETWEB" "$(val p99_ms "$T/res.civetweb")" "$(val kib_per_conn "$T/res.civetweb")" \
			"$(awk -v r="$(val rss1_kib "$T/res.civetweb")" -v n="$CIVETWEB" 'BEGIN { printf "%.1f", r / n }')" \
			"$(val p99_ms "$T/res.grilld.small")" "$(val kib_per_conn "$T/res.grilld.small")"
	fi
fi

# The ceiling: where p99 passes 100 ms.
echo
for sys in grilld nchan; do
	ceil=">$(echo $CEILING | awk '{ print $NF }')"
	line=""
	for n in $CEILING; do
		[ $((n + 1000)) -gt "$(ulimit -n)" ] && continue
		run $sys sse "$n" "$T/ceil.$sys.$n"
		p99=$(val p99_ms "$T/ceil.$sys.$n")
		line="$line $n:${p99}ms"
		if awk -v p="$p99" 'BEGIN { exit !(p >= 100) }' || [ "$(val connected "$T/ceil.$sys.$n")" != "$n" ]; then
			ceil=$n
			break
		fi
	done
	printf 'ceiling %-14s %s clients  (p99 by client count:%s)\n' \
		"$([ $sys = grilld ] && echo grilld-stream || echo nginx+nchan)" "$ceil" "$line"
	eval "ceil_$sys=\$ceil"
done

# RESULT lines (bench/lib.sh): medians over the runs and their spread.
spread() { for f in "$T"/res."$1"."$2".*; do val "$3" "$f"; done | bench_spread; }
for tr in $transports; do
	for k in "p99_ms ms <100,<=1x lower" "p50_ms ms - lower" \
	    "delivered_per_s events/s - higher" \
	    "kib_per_conn KiB <32 lower" "cpu_s s - lower"; do
		set -- $k
		name=$1
		[ "$name" = kib_per_conn ] && name=kib_per_idle_conn
		bench_result "stream.${tr}_$name" "$(figure grilld "$tr" "$1")" \
			"$(figure nchan "$tr" "$1")" "$2" "$3" "$4" "$(spread grilld "$tr" "$1")" \
			"$CLIENTS clients, $RATE events/s in, vs nginx+Nchan (one worker); Nchan $(spread nchan "$tr" "$1")"
	done
done
bench_result stream.ceiling_clients "$ceil_grilld" "$ceil_nchan" clients - higher - \
	"the client count where p99 passes 100 ms (SSE; tried $CEILING)"
exit $fail
