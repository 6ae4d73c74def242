# The whole pipeline on this machine under the simulator's load, and how
# to read it: shared by bench/e2e.sh and bench/scaling.sh (sourced after
# bench/lib.sh; a .bash file, so bench/run.sh does not run it).
#
#   grilld-twsim (one account, DEVICES generated devices: 4 channels
#   each, recording and uploading every 60 s) -> grilld-poller ->
#   Redis `readings` -> grilld-ingest -> InfluxDB, `events`, nng ->
#   grilld-stream -> one SSE client of every device
#
# Observation points, all on this machine's one clock:
#   spansink   the OTLP collector every daemon exports to
#              (tracing.otlp_url): the poller's "poller.reading" span
#              marks when a reading left the poller; any span of another
#              daemon in the same trace is reported too
#   e2etap     a consumer group of its own on `readings` (the entry id
#              is when Redis took the XADD) and the SSE client (the
#              event id is when ingest appended the event, after
#              InfluxDB's 204; the receive time is the client's)
# joined by the trace id each reading carries in its traceparent.
#
# The hops of one reading (milliseconds):
#   poll      device time -> poller span     (mostly poller.interval)
#   handoff   poller span end -> Redis XADD   (hand-off queue, script)
#   ingest    Redis XADD -> events XADD       (read, validate, batch,
#                                              InfluxDB write, publish)
#   fanout    events XADD -> SSE client       (nng, stream, socket)
#   pipeline  poller span start -> client     (everything grilld adds)
#   total     device time -> client

PIPE_STREAM=grilld:readings

# pipeline_init: Redis, InfluxDB, the tools, the ports and the settings.
pipeline_init() {
	bench_need_cmd redis-server influxd curl
	bench_need_daemon twsim poller ingest stream
	SPANSINK=$(bench_build spansink) || bench_skip "bench/spansink.c does not build"
	E2ETAP=$(bench_build e2etap) || bench_skip "bench/e2etap.c does not build"
	start_redis
	start_influx
	local p
	mapfile -t p < <(freeport 6)
	PIPE_TW=127.0.0.1:${p[0]}
	PIPE_TW_ADMIN=http://127.0.0.1:${p[1]}
	PIPE_POLLER=http://127.0.0.1:${p[2]}
	PIPE_INGEST=http://127.0.0.1:${p[3]}
	PIPE_STREAMURL=http://127.0.0.1:${p[4]}
	PIPE_OTLP=127.0.0.1:${p[5]}
	export GRILLD_TWSIM_LISTEN=$PIPE_TW GRILLD_TWSIM_ADMIN_LISTEN=127.0.0.1:${p[1]}
	export GRILLD_POLLER_ADMIN_LISTEN=127.0.0.1:${p[2]}
	export GRILLD_INGEST_ADMIN_LISTEN=127.0.0.1:${p[3]}
	export GRILLD_STREAM_LISTEN=127.0.0.1:${p[4]}
	unset GRILLD_NNG_EVENTS_URL GRILLD_NNG_POLLER_URL GRILLD_NNG_INGEST_URL \
		GRILLD_NNG_STREAM_URL
	stack_nng_env
	export GRILLD_TRACING_OTLP_URL=http://$PIPE_OTLP
	stack_twsim_env "$PIPE_TW" bench@grilld.example bench
	export GRILLD_POLLER_SPOOL_PATH=$T/poller.spool
	# Readings from first sight on; the import of each device's session
	# on first sight (backfill) is a transient, not the sustained load.
	export GRILLD_POLLER_BACKFILL=${PIPE_BACKFILL:-false}
	# The one client follows every device from one address.
	export GRILLD_STREAM_PER_ADDRESS=1000
	cat >"$T/twsim.yaml" <<-YAML
	twsim:
	  accounts:
	    - email: bench@grilld.example
	      password: bench
	      devices: []
	YAML
}

# pipeline_start DEVICES DIR: every process, observed into DIR.
pipeline_start() {
	local devices=$1 dir=$2
	mkdir -p "$dir"
	"$SPANSINK" "$PIPE_OTLP" "$dir/spans.tsv" 2>>"$dir/spansink.log" &
	PIPE_SINK=$!
	_pids+=("$PIPE_SINK")
	wait_for spansink 10 curl -sf "http://$PIPE_OTLP/health" || return 1
	GRILLD_TWSIM_DEVICES=$devices start_daemon twsim "$PIPE_TW_ADMIN/health/ready" \
		-f "$T/twsim.yaml" || return 1
	start_daemon ingest "$PIPE_INGEST/health/ready" || return 1
	start_daemon stream "$PIPE_STREAMURL/health/ready" || return 1
	"$E2ETAP" -s "$PIPE_STREAMURL/api/temperature/stream" -u "$REDIS_URL" \
		-k "$PIPE_STREAM" -o "$dir" 2>>"$dir/e2etap.log" &
	PIPE_TAP=$!
	_pids+=("$PIPE_TAP")
	wait_for "the tap's group" 10 bash -c \
		"redis-cli -p $REDIS_PORT XINFO GROUPS $PIPE_STREAM | grep -q e2etap" || return 1
	start_daemon poller "$PIPE_POLLER/health/ready" || return 1
	PIPE_PROCS="poller=$PID_poller ingest=$PID_ingest stream=$PID_stream"
	PIPE_PROCS="$PIPE_PROCS twsim=$PID_twsim redis=$REDIS_PID influxd=$INFLUX_PID"
}

pipeline_channels_at_least() {
	[ "$(bench_metric "$PIPE_POLLER/metrics" grilld_poller_channels)" -ge "$1" ]
}
pipeline_cycles_at_least() {
	[ "$(bench_metric "$PIPE_POLLER/metrics" grilld_poller_cycles_total)" -ge "$1" ]
}
pipeline_ingest_settled() {
	[ "$(bench_metric "$PIPE_INGEST/metrics" grilld_ingest_pending)" -lt 5000 ]
}

# pipeline_warm DEVICES INTERVAL_S: every channel discovered, then
# PIPE_WARM_CYCLES more cycles (quick: 0, else 1), and ingest not
# behind. (pipeline_measure waits for the end of one more.)
pipeline_warm() {
	local devices=$1 secs=$2 c k=${PIPE_WARM_CYCLES:-$(bench_pick 0 1)}
	echo "# $devices devices: discovery" >&2
	wait_for "discovery" $((300 + devices / 20)) pipeline_channels_at_least $((4 * devices)) ||
		return 1
	c=$(bench_metric "$PIPE_POLLER/metrics" grilld_poller_cycles_total)
	echo "# $devices devices: warming up for $k more cycle(s)" >&2
	wait_for "the warm-up" $(((k + 1) * secs + 120)) pipeline_cycles_at_least $((c + k)) || return 1
	wait_for "ingest to catch up" 120 pipeline_ingest_settled || return 1
}

# pipeline_measure CYCLES INTERVAL_S DIR: the measured window, CYCLES
# poll intervals long, from half an interval after the end of a cycle
# (when the poller and its hand-off are idle) to the same point CYCLES
# intervals later, so every window holds whole cycles and the same share
# of the simulator's uploads; every process sampled from /proc.
# DIR/window holds "t0_ms t1_ms"; DIR/counters.start and counters.end
# the daemons' counters at its ends.
pipeline_measure() {
	local cycles=$1 secs=$2 dir=$3 every c0 t0 t1 np end
	every=$(bench_pick 2 5)
	[ $((cycles * secs)) -lt 60 ] && every=1
	c0=$(bench_metric "$PIPE_POLLER/metrics" grilld_poller_cycles_total)
	wait_for "a cycle's end" $((2 * secs + 60)) pipeline_cycles_at_least $((c0 + 1)) ||
		return 1
	sleep $((secs / 2))
	t0=$(date +%s%3N)
	end=$((t0 + cycles * secs * 1000))
	# Both ends of the window sampled at once, whatever the sampler's
	# phase, so that pipeline_slices measures the first and the last
	# slice whole.
	# shellcheck disable=SC2086
	bench_sample $PIPE_PROCS >>"$dir/samples"
	pipeline_counters >"$dir/counters.start"
	# shellcheck disable=SC2086
	bench_sampler_start "$dir/samples" "$every" $PIPE_PROCS
	echo "# measuring $cycles poll intervals of $secs s" >&2
	while [ "$(date +%s%3N)" -lt "$end" ]; do
		for np in $PIPE_PROCS; do
			kill -0 "${np#*=}" 2>/dev/null && continue
			echo "# ${np%%=*} died during the run" >&2
			bench_sampler_stop
			return 1
		done
		sleep 0.2
	done
	t1=$(date +%s%3N)
	# shellcheck disable=SC2086
	bench_sample $PIPE_PROCS >>"$dir/samples"
	pipeline_counters >"$dir/counters.end"
	bench_sampler_stop
	echo "$t0 $t1" >"$dir/window"
}

# The daemons' counters: "name value" lines.
pipeline_counters() {
	echo "cycles $(bench_metric "$PIPE_POLLER/metrics" grilld_poller_cycles_total)"
	echo "overruns $(bench_metric "$PIPE_POLLER/metrics" grilld_poller_overruns_total)"
	echo "requests $(bench_metric_sum "$PIPE_POLLER/metrics" grilld_poller_http_requests_total)"
	echo "ingest_stored $(bench_metric "$PIPE_INGEST/metrics" grilld_ingest_stored_total)"
	echo "ingest_events $(bench_metric "$PIPE_INGEST/metrics" grilld_ingest_events_total)"
	echo "stream_in $(bench_metric_sum "$PIPE_STREAMURL/metrics" grilld_stream_events_in_total)"
	echo "stream_out $(bench_metric_sum "$PIPE_STREAMURL/metrics" grilld_stream_events_out_total)"
}

# pipeline_stop: after PIPE_GRACE seconds (5) for the window's last
# readings to reach the client, every process of pipeline_start, the
# observers first, then empty Redis and InfluxDB for the next run.
pipeline_stop() {
	local pid
	sleep "${PIPE_GRACE:-5}"
	for pid in "${PIPE_TAP:-}" "${PIPE_SINK:-}" "${PID_poller:-}" \
		"${PID_ingest:-}" "${PID_stream:-}" "${PID_twsim:-}"; do
		[ -n "$pid" ] && stop_pid "$pid" 2>/dev/null
	done
	PID_poller='' PID_ingest='' PID_stream='' PIPE_TAP='' PID_twsim='' PIPE_SINK=
	redis_cli FLUSHALL >/dev/null
	influx_query grilld "DROP DATABASE grilld" >/dev/null
}

# pipeline_analyse DIR WINDOWS STEP_S: reads the observations of DIR.
# A reading belongs to the window when Redis took it inside the window
# (so one that entered just before the end and reached the client just
# after still counts, and one that never arrived is lost); the tap runs
# on for PIPE_GRACE seconds after the window (pipeline_stop). Writes
#   DIR/hops      hop window value, one line per reading and hop
#   DIR/hopstats  hop p50 p90 p99 max n   (the whole window)
#   DIR/hopwin    hop window p50 p99      (each of WINDOWS slices)
#   DIR/rates     window entered/s delivered/s   (each slice)
#   DIR/series    t_s delivered/s entered/s pipeline p50 p90 p99, ingest
#                 p99, fanout p99, every STEP_S seconds
#   DIR/spanhops  service/name p50 p99 n: other daemons' spans, as the
#                 end of the span after the poller's span start
#   DIR/lost      readings that entered Redis in the window and never
#                 reached the client
#   DIR/procs     name rss_first rss_last rss_max (KiB) cores rss_mid
pipeline_analyse() {
	local dir=$1 nwin=$2 step=$3 t0 t1
	read -r t0 t1 <"$dir/window"
	touch "$dir/spans.tsv" "$dir/readings.tsv" "$dir/events.tsv" "$dir/samples"
	awk -F'\t' -v t0="$t0" -v t1="$t1" -v nwin="$nwin" -v step="$step" \
	    -v hops="$dir/hops" -v rates="$dir/rates" -v lost="$dir/lost" \
	    -v raw="$dir/series.raw" -v other="$dir/spans.other" '
	BEGIN { OFMT = "%.3f" }
	FILENAME ~ /spans.tsv$/ {	# service name trace span parent start end
		if ($2 == "poller.reading") {
			ps[$3] = $6 / 1e6; pe[$3] = $7 / 1e6
		} else if ($6 / 1e6 >= t0 - 120000) {
			no++; oname[no] = $1 "/" $2; gsub(/ /, "_", oname[no])
			otrace[no] = $3; oend[no] = $7 / 1e6
		}
		next
	}
	FILENAME ~ /readings.tsv$/ {	# trace entry_ms
		if ($1 != "-" && $2 >= t0 && $2 < t1) rx[$1] = $2 + 0
		next
	}
	$5 == "reading" && ($1 in rx) && !($1 in rv) {	# trace recv_ns event_ms device_ms type
		rv[$1] = $2 / 1e6; ev[$1] = $3 + 0; dv[$1] = $4 + 0
	}
	END {
		for (tr in rx) {
			x = rx[tr]
			w = int((x - t0) * nwin / (t1 - t0)); s = int((x - t0) / 1000 / step)
			entered[w]++; entered_s[s]++
			if (!(tr in rv)) { nlost++; continue }
			delivered[w]++; delivered_s[s]++
			r = rv[tr]; e = ev[tr]; d = dv[tr]
			if (tr in ps) {
				if (d > 0) print "poll", w, ps[tr] - d > hops
				print "handoff", w, x - pe[tr] > hops
				print "pipeline", w, r - ps[tr] > hops
				print s, "pipeline", r - ps[tr] > raw
			}
			if (e > 0) {
				print "ingest", w, e - x > hops
				print "fanout", w, r - e > hops
				print s, "ingest", e - x > raw
				print s, "fanout", r - e > raw
			}
			if (d > 0) print "total", w, r - d > hops
		}
		secs = (t1 - t0) / 1000 / nwin
		for (w = 0; w < nwin; w++)
			printf "%d %.2f %.2f\n", w, entered[w] / secs,
			    delivered[w] / secs > rates
		for (s = 0; s * step * 1000 < t1 - t0; s++)
			print s, "rate", delivered_s[s] / step, entered_s[s] / step > raw
		print nlost + 0 > lost
		for (i = 1; i <= no; i++)
			if (otrace[i] in ps) print oname[i], oend[i] - ps[otrace[i]] > other
	}' "$dir/spans.tsv" "$dir/readings.tsv" "$dir/events.tsv"
	touch "$dir/hops" "$dir/series.raw" "$dir/spans.other"

	# Percentiles: nearest rank over each group, sorted by value.
	sort -k1,1 -k3,3g "$dir/hops" | awk '
	function flush() {
		if (n == 0) return
		printf "%s %.1f %.1f %.1f %.1f %d\n", key, v[pct(50)], v[pct(90)],
		    v[pct(99)], v[n], n
	}
	function pct(p,   k) { k = int(p / 100 * n + 0.999999); return k < 1 ? 1 : k }
	$1 != key { flush(); key = $1; n = 0 }
	{ v[++n] = $3 }
	END { flush() }' >"$dir/hopstats"
	sort -k1,1 -k2,2n -k3,3g "$dir/hops" | awk '
	function flush() {
		if (n == 0) return
		printf "%s %s %.1f %.1f\n", h, w, v[pct(50)], v[pct(99)]
	}
	function pct(p,   k) { k = int(p / 100 * n + 0.999999); return k < 1 ? 1 : k }
	$1 != h || $2 != w { flush(); h = $1; w = $2; n = 0 }
	{ v[++n] = $3 }
	END { flush() }' >"$dir/hopwin"
	sort -k1,1 -k2,2g "$dir/spans.other" | awk '
	function flush() {
		if (n == 0) return
		printf "%s %.1f %.1f %d\n", key, v[pct(50)], v[pct(99)], n
	}
	function pct(p,   k) { k = int(p / 100 * n + 0.999999); return k < 1 ? 1 : k }
	$1 != key { flush(); key = $1; n = 0 }
	{ v[++n] = $2 }
	END { flush() }' >"$dir/spanhops"

	# The series: per step, throughput and latency percentiles.
	sort -k1,1n -k2,2 -k3,3g "$dir/series.raw" | awk -v step="$step" '
	function pct(p,   k) { k = int(p / 100 * n + 0.999999); return k < 1 ? 1 : k }
	function flush() {
		if (key == "") return
		split(key, kk, " ")
		if (kk[2] == "rate") { del[kk[1]] = v[1]; ent[kk[1]] = v[2]; last = kk[1] }
		else if (n > 0) {
			p50[key] = v[pct(50)]; p90[key] = v[pct(90)]; p99[key] = v[pct(99)]
		}
	}
	{ k = $1 " " $2 }
	k != key { flush(); key = k; n = 0 }
	$2 == "rate" { v[1] = $3; v[2] = $4; next }
	{ v[++n] = $3 }
	END {
		flush()
		print "# t_s delivered_per_s entered_per_s pipeline_p50_ms pipeline_p90_ms pipeline_p99_ms ingest_p99_ms fanout_p99_ms"
		for (s = 0; s <= last; s++) {
			kp = s " pipeline"; ki = s " ingest"; kf = s " fanout"
			printf "%d %s %s %s %s %s %s %s\n", s * step, del[s], ent[s],
			    ((kp in p50) ? p50[kp] : "NaN"), ((kp in p90) ? p90[kp] : "NaN"),
			    ((kp in p99) ? p99[kp] : "NaN"), ((ki in p99) ? p99[ki] : "NaN"),
			    ((kf in p99) ? p99[kf] : "NaN")
		}
	}' >"$dir/series"

	# Processes: memory at the first and last sample of the window, its
	# peak, CPU (cores) over the window, and memory at its middle (the
	# first sample there: what the second half added is growth, what
	# the first added may be warming up).
	sort -k2,2 -k1,1n "$dir/samples" | awk -v hz="$BENCH_HZ" '
	function flush(   k, rmid) {
		if (name == "") return
		secs = (tl - tf) / 1000
		for (k = 1; k <= ns && ts[k] < (tf + tl) / 2; k++)
			;
		rmid = (k <= ns) ? rs[k] : rl
		printf "%s %d %d %d %.3f %d\n", name, rf, rl, rm,
		    (secs > 0 ? (cl - cf) / hz / secs : 0), rmid
	}
	$2 != name { flush(); name = $2; tf = $1; rf = $3; cf = $4; rm = 0; ns = 0 }
	{ tl = $1; rl = $3; cl = $4; if ($3 > rm) rm = $3; ts[++ns] = $1; rs[ns] = $3 }
	END { flush() }' >"$dir/procs"
}

# pipeline_slices DIR N: every process in each of N equal slices of the
# window (for N poll cycles, one cycle each), from DIR/samples, into
# DIR/slices: "slice name cores rss_max_kib". CPU ticks are interpolated
# linearly between the samples at each slice's bounds; the peak is of
# the samples inside the slice.
pipeline_slices() {
	local dir=$1 n=$2 t0 t1
	read -r t0 t1 <"$dir/window"
	sort -k2,2 -k1,1n "$dir/samples" | awk -v t0="$t0" -v t1="$t1" -v n="$n" -v hz="$BENCH_HZ" '
	function ticks(t,   k) {
		if (t <= ts[1]) return cs[1]
		for (k = 2; k <= ns; k++)
			if (ts[k] >= t)
				return cs[k - 1] + (cs[k] - cs[k - 1]) * (t - ts[k - 1]) / (ts[k] - ts[k - 1])
		return cs[ns]
	}
	function flush(   k, j, a, b, m) {
		if (name == "") return
		for (k = 0; k < n; k++) {
			a = t0 + (t1 - t0) * k / n; b = t0 + (t1 - t0) * (k + 1) / n; m = 0
			for (j = 1; j <= ns; j++)
				if (ts[j] >= a && ts[j] <= b && rs[j] > m) m = rs[j]
			printf "%d %s %.4f %d\n", k, name, (ticks(b) - ticks(a)) / hz / ((b - a) / 1000), m
		}
	}
	$2 != name { flush(); name = $2; ns = 0 }
	$1 == ts[ns] && $2 == name { next }
	{ ts[++ns] = $1; rs[ns] = $3; cs[ns] = $4 }
	END { flush() }' >"$dir/slices"
}
# pipeline_slice DIR NAME FIELD: one number a slice (cores, rss).
pipeline_slice() {
	awk -v p="$2" -v f="$3" '$2 == p { print (f == "rss") ? $4 : $3 }' "$1/slices"
}

# pipeline_hop DIR HOP FIELD: from hopstats (p50 p90 p99 max n).
pipeline_hop() {
	awk -v h="$2" -v f="$3" '$1 == h {
		i = (f == "p50") ? 2 : (f == "p90") ? 3 : (f == "p99") ? 4 : (f == "max") ? 5 : 6
		print $i; found = 1 } END { if (!found) print "-" }' "$1/hopstats"
}
# pipeline_proc DIR NAME FIELD: from procs (first last max cores mid).
pipeline_proc() {
	awk -v p="$2" -v f="$3" '$1 == p {
		i = (f == "first") ? 2 : (f == "last") ? 3 : (f == "max") ? 4 : \
		    (f == "mid") ? 6 : 5
		print $i; found = 1 } END { if (!found) print "-" }' "$1/procs"
}
# pipeline_counter DIR NAME: its growth over the window.
pipeline_counter() {
	awk -v k="$2" '$1 == k { if (FILENAME ~ /start$/) a = $2; else b = $2 }
		END { print b - a }' "$1/counters.start" "$1/counters.end"
}
