# The whole chain for the fault suite, sourced by chaos.sh after
# tests/integration/lib.sh: redis-server (append-only, fsync always),
# influxd, grilld-twsim with a fixed world of cooks, grilld-poller and
# grilld-ingest, every one on free loopback ports in $T, each of them
# started, stopped, killed and started again by name.
#
# Processes are tracked by pid in lib.sh's _pids (its clean-up stops
# them); a pid is dropped from the list once it was waited for, so that
# a pid reused by someone else's process is never signalled.

# The simulated cloud: two accounts, seven devices, every model, units
# F and C and humidity, recording every 1-2 s and uploading every 2-6 s
# (most uploads carry several points: the poller needs the archives).
# About 17 points a second, each one a row of the oracle. With "low",
# the trickle of issue 15: the Pantry alone (two channels every 2 s, one
# point a second), for the faults that need batches that never fill.
chain_world() {
	if [ "${1:-}" = low ]; then
		cat <<YAML
twsim:
  listen: $TW_LISTEN
  admin_listen: $TW_ADMIN
  seed: $CHAOS_SEED
  token_lifetime: 2m
  accounts:
    - email: pit@chaos.example
      password: chaos-pit
      devices:
        - {serial: N0000001, model: node, label: Pantry, recording_interval: 2s, upload_interval: 2s}
    - email: patio@chaos.example
      password: chaos-patio
      units: C
YAML
		return
	fi
	cat <<YAML
twsim:
  listen: $TW_LISTEN
  admin_listen: $TW_ADMIN
  seed: $CHAOS_SEED
  token_lifetime: 2m
  # Its sessions outlive its own restarts (fault_twsim_restart).
  state_file: $T/twsim.state
  # Archives exist only for ended sessions (as in the real cloud): short
  # sessions, archived 2 s after their end, so that the points between
  # uploads are filled within the run.
  accounts:
    - email: pit@chaos.example
      password: chaos-pit
      devices:
        - {serial: S0000001, model: signals, label: Smoker, recording_interval: 1s, upload_interval: 3s, archive_interval: 20s, cook: brisket, archive_delay: 2s}
        - {serial: N0000001, model: node, label: Pantry, recording_interval: 2s, upload_interval: 2s, archive_interval: 20s, archive_delay: 2s}
        - {serial: M0000001, model: rfx_meat, label: Pork, recording_interval: 1s, upload_interval: 2s, archive_interval: 30s, cook: pork, archive_delay: 2s}
        - {serial: G0000001, model: rfx_gateway, label: Gateway, recording_interval: 1s, upload_interval: 3s, archive_interval: 20s, archive_delay: 2s}
    - email: patio@chaos.example
      password: chaos-patio
      units: C
      devices:
        - {serial: K0000001, model: smoke, label: Kettle, recording_interval: 2s, upload_interval: 4s, archive_interval: 20s, cook: chicken, archive_delay: 2s}
        - {serial: S0000002, model: signals, label: Offset, recording_interval: 1s, upload_interval: 5s, archive_interval: 30s, cook: ribs, archive_delay: 2s}
        - {serial: T0000001, model: thermadata, label: Fridge, recording_interval: 2s, upload_interval: 6s, archive_interval: 20s, archive_delay: 2s}
YAML
}
CHAIN_DEVICES="S0000001 N0000001 M0000001 G0000001 K0000001 S0000002 T0000001"
# serial upload_ms, for the computation of when a point was uploaded.
chain_uploads() {
	printf '%s\n' "S0000001 3000" "N0000001 2000" "M0000001 2000" \
	    "G0000001 3000" "K0000001 4000" "S0000002 5000" "T0000001 6000"
}

# The poller and the ingester share one file (mode 600: it holds the
# passwords). Short intervals so that faults show quickly; batches of
# BATCH points so that a backlog makes full batches; a stream capped at
# STREAM_MAX entries, so that a long ingest outage makes the poller
# spool. The ingester reaches InfluxDB through a proxy that can answer
# late (INFLUX_PROXY, cutproxy.py) and sends alerts to two webhook
# receivers, one of which can hang (hookrecv, SIGSTOP).
chain_conf() {
	cat <<YAML
redis:
  url: redis://127.0.0.1:$REDIS_PORT/0
influx:
  url: http://127.0.0.1:$INFLUX_PROXY_PORT
YAML
	stack_twsim_yaml "$TW_LISTEN"
	cat <<YAML
  email: pit@chaos.example
  password: chaos-pit
  accounts:
    - {email: patio@chaos.example, password: chaos-patio}
poller:
  admin_listen: $POLLER_ADMIN
  interval: 5s
  timeout: 4s
  lease_ttl: $LEASE_TTL
  spool_path: $SPOOL_DIR/poller.spool
  spool_max: ${CHAOS_SPOOL_MAX:-64MiB}
ingest:
  admin_listen: $INGEST_ADMIN
  batch_size: $BATCH
  batch_wait: 200ms
  claim_idle: 5s
  cq_interval: 1h
  stream_max: $STREAM_MAX
  webhooks:
    - url: http://$HOOK_HUNG/hung
      secret: chaos-webhook-secret-0123456789
    - url: http://$HOOK_ALIVE/alive
      secret: chaos-webhook-secret-0123456789
nng:
  events_url: $NNG_EVENTS
  poller_url: $NNG_POLLER
  ingest_url: $NNG_INGEST
YAML
}

# track PID / untrack PID: lib.sh's clean-up list.
track() { _pids+=("$1"); }
untrack() {
	local keep=() p
	for p in "${_pids[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	_pids=("${keep[@]}")
}
# reap PID: waits for a process of ours that was signalled to end; its
# exit status in REAPED (137 for kill -9).
reap() {
	wait "$1" 2>/dev/null
	REAPED=$?
	untrack "$1"
}
now_ms() { date +%s%3N; }
note() { echo "# $(date -u +%T) $*"; }

# chain_init: ports, folders, configuration files; the spool folder is a
# small tmpfs of its own when mounting is allowed (spool_full.bash).
chain_init() {
	# REDIS_PROXY: the poller's path to Redis; POLLER_B: a second
	# poller (fault_poller_cut).
	stack_ports %s REDIS_PORT INSPECT_PORT INFLUX_PROXY_PORT \
	    REDIS_PROXY_PORT \
	    127.0.0.1:%s TW_LISTEN TW_ADMIN POLLER_ADMIN INGEST_ADMIN \
	    HOOK_HUNG HOOK_ALIVE POLLER_B_ADMIN \
	    tcp://127.0.0.1:%s NNG_EVENTS NNG_POLLER NNG_INGEST NNG_POLLER_B
	REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
	BATCH=${CHAOS_BATCH:-100}
	STREAM_MAX=${CHAOS_STREAM_MAX:-5000}
	LEASE_TTL=${CHAOS_LEASE_TTL:-30s}
	SPOOL_DIR=$T/spool
	mkdir -p "$T/redis" "$SPOOL_DIR" "$T/out" "$T/bin"
	# The binaries of this moment: a rebuild during a long run must not
	# change the daemons that are started again.
	cp "$BIN/grilld-twsim" "$BIN/grilld-poller" "$BIN/grilld-ingest" "$T/bin/"
	BIN=$T/bin
	spool_mount_init
	chain_world >"$T/twsim.yaml"
	unset GRILLD_REDIS_URL GRILLD_INFLUX_URL
}

# Redis and InfluxDB through the stack's functions (tests/lib/stack.sh),
# started again on the same port and data; Redis append-only with an
# fsync a write, so that a SIGKILL loses nothing acknowledged.
redis_start() { REDIS_AOF=yes stack_redis_run 30 --appendfsync always; }
redis_stop() {		# redis_stop [SIGNAL]
	kill -"${1:-TERM}" "$REDIS_PID" 2>/dev/null
	reap "$REDIS_PID"
}
redis_cli() { redis-cli -p "$REDIS_PORT" "$@"; }

influx_start() {
	if [ -z "${INFLUX_PID:-}" ]; then
		start_influx	# lib.sh: ports, configuration, first start
		return
	fi
	stack_influx_run 60
}
influx_stop() {
	kill -TERM "$INFLUX_PID" 2>/dev/null
	kill -CONT "$INFLUX_PID" 2>/dev/null
	reap "$INFLUX_PID"
}

# daemon_start NAME: bin/grilld-NAME in the foreground, its log appended
# to $T/NAME.log; waits until it answers /health/live.
daemon_start() {
	local name=$1 conf=$T/grilld.yaml admin
	local redis=$REDIS_URL
	case $name in
	twsim) conf=$T/twsim.yaml admin=$TW_ADMIN ;;
	# The poller reaches Redis through a proxy that can cut its path.
	poller) admin=$POLLER_ADMIN redis=redis://127.0.0.1:$REDIS_PROXY_PORT/0 ;;
	ingest) admin=$INGEST_ADMIN ;;
	esac
	if [ ! -f "$T/grilld.yaml" ] && [ "$name" != twsim ]; then
		(umask 077 && chain_conf >"$T/grilld.yaml")
	fi
	echo "=== $(date -u +%FT%T.%3NZ) chaos: start" >>"$T/$name.log"
	GRILLD_REDIS_URL=$redis stack_spawn "$name" "$BIN/grilld-$name" -d \
	    -f "$conf"
	stack_wait_up "$name" "http://$admin/health/live" 60
}
daemon_pid() { local v=PID_$1; echo "${!v}"; }
# daemon_signal NAME SIGNAL: signals it; KILL and TERM wait for its end
# (exit status in REAPED, the time it took in REAPED_MS).
daemon_signal() {
	local pid t0
	pid=$(daemon_pid "$1")
	t0=$(now_ms)
	echo "=== $(date -u +%FT%T.%3NZ) chaos: SIG$2" >>"$T/$1.log"
	kill -"$2" "$pid" 2>/dev/null
	case $2 in
	KILL | TERM)
		reap "$pid"
		REAPED_MS=$(($(now_ms) - t0))
		printf -v "PID_$1" %s ""
		;;
	esac
}
daemon_up() { [ -n "$(daemon_pid "$1")" ]; }

# chain_check_alive: every daemon the faults left running still runs; one
# that died on its own is a failure, with the end of its log.
chain_check_alive() {
	local d pid
	for d in twsim ingest poller; do
		pid=$(daemon_pid "$d")
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			ok "grilld-$d ran through the faults it was not dealt"
		else
			not_ok "grilld-$d ran through the faults it was not dealt" \
			    "$(tail -5 "$T/$d.log")"
			printf -v "PID_$d" %s ""
		fi
	done
}

# chain_start: everything, in dependency order, ready to measure.
chain_start() {
	redis_start || bail "redis-server starts"
	influx_start
	proxy_start INFLUX "$INFLUX_PROXY_PORT" "$INFLUX_PORT" ||
		bail "the proxy to InfluxDB starts"
	export GRILLD_INFLUX_URL=http://127.0.0.1:$INFLUX_PROXY_PORT
	proxy_start REDIS "$REDIS_PROXY_PORT" "$REDIS_PORT" ||
		bail "the poller's proxy to Redis starts"
	hooks_start || bail "the webhook receivers start"
	daemon_start twsim || bail "grilld-twsim starts"
	daemon_start ingest || bail "grilld-ingest starts"
	wait_for "grilld-ingest ready" 60 curl -sf "http://$INGEST_ADMIN/health/ready" ||
		bail "grilld-ingest gets ready"
	daemon_start poller || bail "grilld-poller starts"
	wait_for "grilld-poller ready" 60 curl -sf "http://$POLLER_ADMIN/health/ready" ||
		bail "grilld-poller gets ready"
	SESSION_T0=$(tw_session_start)
	RUN_T0=$SESSION_T0
}

# proxy_start NAME PORT TARGET: a TCP proxy (tests/tools/cutproxy.py)
# from PORT to TARGET, its pid in NAME_PROXY: SIGUSR1 cuts the path,
# SIGUSR2 mends it, SIGHUP holds every answer 5 s (or stops holding).
proxy_start() {
	python3 "$GRILLD_TOP/tests/tools/cutproxy.py" "$2" "$3" 5000 &
	printf -v "$1_PROXY" %s "$!"
	track "$!"
	wait_for "the proxy on $2" 10 stack_listening "$2"
}

# hooks_start: the two webhook receivers, each logging what it answered
# ($T/hook.hung.log, $T/hook.alive.log, tests/tools/hookrecv.c).
hooks_start() {
	local n a
	for n in hung alive; do
		a=HOOK_${n^^}
		start_hookrecv "${!a}" "$T/hook.$n.log" || return 1
		printf -v "PID_hook_$n" %s "$HOOKRECV_PID"
	done
}
