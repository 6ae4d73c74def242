# The faults (sourced by chaos.sh). Each fault_* function injects one
# fault, or one combination, as one event (events.bash): it begins the
# event, breaks something, repairs it, and waits for the chain to
# recover. Random moments and durations come from $RANDOM, seeded with
# CHAOS_SEED, so a run can be repeated.

# crash NAME: kill -9 at a random moment of a poll cycle, then a start
# again after a random pause of up to 3 s.
crash() {
	sleep_ms "$(rand_ms 5000)"
	daemon_signal "$1" KILL
	[ "$REAPED" = 137 ] || not_ok "grilld-$1 was running when killed" \
	    "it had exited by itself, status $REAPED: $(tail -3 "$T/$1.log")"
	sleep_ms "$(rand_ms 3000)"
	daemon_start "$1" || not_ok "grilld-$1 starts again after kill -9"
}

# terminate NAME: SIGTERM; the contract is exit 0 within 10 s. The time
# is a figure, not a test (the machine may be loaded).
terminate() {
	daemon_signal "$1" TERM
	ev_note "$1 SIGTERM: exit $REAPED in $(ms_s "$REAPED_MS") s"
	if [ "$REAPED" = 0 ]; then
		ok "grilld-$1 exits 0 on SIGTERM ($EV_NAME)"
	else
		not_ok "grilld-$1 exits 0 on SIGTERM ($EV_NAME)" "exit status $REAPED"
	fi
	[ "$REAPED_MS" -le 10000 ] || ev_note "$1 took longer than the 10 s of the contract"
}

# fault_kill ROUNDS NAME...: kill -9 of each daemon named, in turn, at
# random moments, ROUNDS times over.
fault_kill() {
	local rounds=$1 i d
	shift
	ev_begin "kill -9 $* (x$rounds)"
	for i in $(seq 1 "$rounds"); do
		for d; do crash "$d"; done
	done
	ev_recover
}

# fault_term_poller: SIGTERM at a random moment (often mid-cycle, with
# readings queued), then a start again.
fault_term_poller() {
	ev_begin "SIGTERM poller"
	sleep_ms "$(rand_ms 5000)"
	terminate poller
	daemon_start poller || not_ok "grilld-poller starts again"
	ev_recover
}

# fault_term_batch: InfluxDB stops answering, the ingester fills a whole
# batch behind the one the writer holds, and gets SIGTERM; InfluxDB
# answers again a second later, within the ingester's 8 s of grace.
fault_term_batch() {
	local cont
	ev_begin "SIGTERM ingest with a full batch"
	kill -STOP "$INFLUX_PID"
	full() { [ "$(group_field pending)" -ge "$BATCH" ]; }
	if wait_for "a full batch" 120 full; then
		ev_note "pending when signalled: $(group_field pending)"
	else
		ev_note "no full batch within 120 s (pending $(group_field pending))"
	fi
	(sleep 1 && kill -CONT "$INFLUX_PID") &
	cont=$!
	terminate ingest
	wait "$cont"
	kill -CONT "$INFLUX_PID"
	ev_note "left pending for another replica: $(group_field pending)"
	daemon_start ingest || not_ok "grilld-ingest starts again"
	ev_recover
}

# fault_redis_stop SECS [poller]: Redis stopped (SIGTERM: its AOF is
# complete) for SECS, the poller spooling meanwhile; with "poller",
# the poller is also killed (kill -9) during the outage and SIGTERMed
# while it replays its spool.
fault_redis_stop() {
	local secs=$1 also=${2:-} peak=0 n
	ev_begin "Redis stopped ${secs}s${also:+, poller kill -9 and SIGTERM}"
	redis_stop TERM
	local mid=$(($(now_ms) + secs * 500)) until=$(($(now_ms) + secs * 1000))
	while [ "$(now_ms)" -lt "$until" ]; do
		n=$(poller_metric grilld_poller_spool_records)
		[ "$n" -le "$peak" ] || peak=$n
		if [ -n "$also" ] && [ "$(now_ms)" -ge "$mid" ]; then
			crash poller	# its spool holds readings
			also=killed
		fi
		sleep 1
	done
	ev_note "spool peak: $peak readings"
	redis_start || not_ok "redis-server starts again with its AOF"
	if [ -n "$also" ]; then
		sleep_ms "$(rand_ms 1000)"
		terminate poller
		daemon_start poller || not_ok "grilld-poller starts again"
	fi
	ev_end
	check_drained "$EV_NAME"
	ev_recover
}
spool_empty() { [ "$(poller_metric grilld_poller_spool_records)" = 0 ]; }
# check_drained WHAT: the spool is replayed and emptied once Redis is
# back (within 60 s: a few batches a second).
check_drained() {
	local t0
	t0=$(now_ms)
	if wait_for "the spool replayed" 60 spool_empty; then
		ok "the spool drains once Redis is back ($1)"
		ev_note "spool drained in $(ms_s $(($(now_ms) - t0))) s"
	else
		not_ok "the spool drains once Redis is back ($1)" \
		    "$(poller_metric grilld_poller_spool_records) readings still spooled after 60 s"
		ev_note "the spool was NOT drained within 60 s"
	fi
}

# fault_redis_empty [frozen]: Redis killed and started again without
# its data. What it held that no replica had acknowledged is lost:
# counted from its AOF (inspect_lost), reported, and not held against
# the daemons; the ingester must say so in its log. With "frozen",
# InfluxDB is frozen first so that the stream holds a backlog.
fault_redis_empty() {
	local dir said0 frozen=${1:-}
	ev_begin "Redis restarted empty${frozen:+, with a backlog}"
	REDIS_LOSSES=$((${REDIS_LOSSES:-0} + 1))
	dir=$T/redis.lost.$REDIS_LOSSES
	said0=$(grep -c "redis lost the stream" "$T/ingest.log")
	if [ -n "$frozen" ]; then
		kill -STOP "$INFLUX_PID"
		backlog() { [ "$(group_field lag)" -ge $((BATCH / 2)) ]; }
		wait_for "a backlog" 120 backlog
	fi
	redis_stop KILL
	mv "$T/redis" "$dir"
	mkdir "$T/redis"
	echo "$REDIS_LOSSES" >"$OUT/epoch"
	redis_start || not_ok "redis-server starts again, empty"
	[ -n "$frozen" ] && kill -CONT "$INFLUX_PID"
	local lost
	lost=($(inspect_lost "$dir"))
	EV_LOSS=${lost[0]}
	ev_note "lost with Redis: ${lost[0]} readings not yet read," \
	    "${lost[1]} pending (stored unless their replica died)"
	ev_end
	said() { [ "$(grep -c "redis lost the stream" "$T/ingest.log")" -gt "$said0" ]; }
	if wait_for "the ingester's word" 60 said; then
		ok "the ingester says what an empty Redis lost"
	else
		not_ok "the ingester says what an empty Redis lost" \
		    "no 'redis lost the stream' in its log"
	fi
	ev_recover
}

# fault_influx_stop SECS [ingest]: InfluxDB stopped under load for SECS;
# with "ingest", the ingester is killed (kill -9) during the outage.
fault_influx_stop() {
	local secs=$1 also=${2:-}
	ev_begin "InfluxDB stopped ${secs}s${also:+ + ingest kill -9}"
	influx_written_keep
	influx_stop
	local until=$(($(now_ms) + secs * 1000))
	[ -n "$also" ] && crash ingest
	while [ "$(now_ms)" -lt "$until" ]; do sleep 1; done
	ev_note "stream backlog at restart: $(group_field lag) unread, $(group_field pending) pending"
	influx_start || not_ok "influxd starts again"
	ev_end
	ev_recover
}

# fault_influx_slow SECS: influxd frozen (SIGSTOP) for SECS, then on.
fault_influx_slow() {
	ev_begin "InfluxDB frozen ${1}s"
	kill -STOP "$INFLUX_PID"
	sleep "$1"
	kill -CONT "$INFLUX_PID"
	ev_end
	ev_recover
}

# InfluxDB rejects a point when its field has another type in the same
# shard. A string `value` is written straight into the shard of three
# days ago; the ingester's float for the same shard then gets a 400.
poison_setup() {
	POISON_DAY=$((($(now_ms) / 86400000 - 3) * 86400000 + 43200000))
	POISON_N=0
	POISON_WRITES=1
	curl -s -m 10 -XPOST "$INFLUX_URL/write?db=grilld&rp=raw&precision=ms" \
	    --data-binary "temperature,device_id=chaos-poison,probe_id=0,source=chaos,unit=F value=\"not a number\" $POISON_DAY"
}

# fault_influx_reject: a reading InfluxDB refuses, queued among others
# (InfluxDB frozen meanwhile, so it travels in a full batch): it goes
# to the dead-letter stream, the rest are stored.
fault_influx_reject() {
	local id ts
	ev_begin "InfluxDB rejects a point"
	[ -n "${POISON_DAY:-}" ] || poison_setup
	POISON_N=$((POISON_N + 1))
	ts=$((POISON_DAY + POISON_N))
	kill -STOP "$INFLUX_PID"
	half() { [ "$(group_field pending)" -ge $((BATCH / 2)) ]; }
	wait_for "half a batch" 60 half
	id=$(redis_cli XADD grilld:readings '*' v 1 r "{\"device_id\":\"chaos-poison\",\"probe_id\":\"1\",\"temperature\":100.5,\"unit\":\"F\",\"timestamp\":$ts,\"source\":\"chaos\"}")
	sleep 2
	kill -CONT "$INFLUX_PID"
	ev_end
	deadlettered() {
		redis_cli --raw XRANGE grilld:deadletter - + | tr '\n' ' ' |
			grep -q "reason influx_rejected src $id "
	}
	if wait_for "the dead letter" 60 deadlettered; then
		ok "a point InfluxDB rejects goes to the dead-letter stream"
		ev_note "dead-lettered: entry $id (influx_rejected)"
	else
		not_ok "a point InfluxDB rejects goes to the dead-letter stream" \
		    "entry $id not in grilld:deadletter"
	fi
	ev_recover
}

# fault_cloud NAME SECS RULE...: the simulated cloud misbehaves as the
# rules say for SECS (plus a kill -9 of the poller when NAME ends in
# "+kill"), then behaves again.
fault_cloud() {
	local name=$1 secs=$2 rule
	shift 2
	ev_begin "cloud: $name ${secs}s"
	for rule; do tw_fault "$rule"; done
	local until=$(($(now_ms) + secs * 1000))
	case $name in *+kill) crash poller ;; esac
	while [ "$(now_ms)" -lt "$until" ]; do sleep 1; done
	ev_note "answers faulted: $(curl -s -m 10 "http://$TW_ADMIN/admin/stats" | jq -r .faults.injected)"
	tw_clear
	ev_end
	ev_recover
}
CLOUD_429='{"kind":"status","status":429,"retry_after":2,"probability":0.5}'
CLOUD_500='{"kind":"status","status":500,"probability":0.3}'
CLOUD_503='{"kind":"status","status":503,"endpoint":"archive,storage","probability":0.5}'
CLOUD_GARBAGE='[{"kind":"malformed","probability":0.2},{"kind":"truncate","probability":0.2}]'
CLOUD_SILENT='[{"kind":"drop","probability":0.3},{"kind":"delay","delay_ms":6000,"probability":0.1}]'
CLOUD_REVOKE='{"kind":"revoke","reason":"TOKEN_EXPIRED"}'
CLOUD_REVOKE_HARD='[{"kind":"revoke","reason":"INVALID_REFRESH_TOKEN"},{"kind":"too_many_attempts","endpoint":"signin","count":2}]'

# fault_twsim_restart: the cloud itself dies (kill -9) and comes back.
# Like the real cloud it keeps its sessions (twsim.state_file): the
# devices went on recording meanwhile, what they uploaded shows with
# their next upload, and the sessions running when it died are archived
# when they end, so every point is to be stored.
fault_twsim_restart() {
	local t0=$SESSION_T0
	ev_begin "twsim kill -9 and restart"
	tw_restart
	# twsim.state_file: the cloud goes on with its sessions, as the real
	# one does, and archives them; every point of the window is expected.
	if [ "$SESSION_T0" = "$t0" ]; then
		ok "grilld-twsim goes on with its sessions after kill -9"
		ev_end
		ev_recover
	else
		not_ok "grilld-twsim goes on with its sessions after kill -9" \
		    "sessions began at $t0, now at ${SESSION_T0:-?}"
		ev_end
		ev_recover "$SESSION_T0" "$((SESSION_T0 + 3000))"
	fi
}
# tw_restart [low]: the cloud dies and comes back, with the usual world
# or with the trickle of chain_world low.
tw_restart() {
	local c t1 n
	wait_for "the chain caught up" "$RECOVER_TIMEOUT" caught_up \
	    $(($(now_ms) - 40000)) $(($(now_ms) - 10000)) || ev_note "not caught up before"
	c=$(poller_metric grilld_poller_cycles_total)
	cycled() { [ "$(poller_metric grilld_poller_cycles_total)" -gt "$1" ]; }
	wait_for "a cycle" 60 cycled "$c"
	t1=$(now_ms)
	sleep_ms "$(rand_ms 4000)"
	if [ "${1:-}" != "${TW_WORLD:-}" ]; then
		# Another world: the simulator's state file (its sessions) is
		# not for it, so the sessions end here and the oracle of this
		# world is kept now (nothing read by the poller meanwhile).
		kill -STOP "$PID_poller"
		SESSIONS=$((${SESSIONS:-0} + 1))
		oracle_snapshot "$OUT/session.$SESSIONS.tsv" "$((t1 - 200))"
		daemon_signal twsim KILL
		kill -CONT "$PID_poller"
		n=$(awk -F'\t' '$7 == 0' "$OUT/session.$SESSIONS.tsv" | wc -l)
		ev_note "uploaded after the last full cycle, unreachable: $n"
		rm -f "$T/twsim.state"
	else
		daemon_signal twsim KILL
	fi
	TW_WORLD=${1:-}
	sleep_ms "$((1000 + $(rand_ms 4000)))"
	chain_world "${1:-}" >"$T/twsim.yaml"
	daemon_start twsim || not_ok "grilld-twsim starts again"
	SESSION_T0=$(tw_session_start)
}

# fault_spool_full SECS: the poller's spool disk fills up (a 32 KiB
# tmpfs; without mount rights, poller.spool_max at its 64 KiB minimum)
# while Redis is down, and stays full for SECS; optionally the poller
# is killed meanwhile.
fault_spool_full() {
	local secs=$1 also=${2:-} p0 ready
	ev_begin "spool disk full ${secs}s${also:+ + poller kill -9}"
	wait_for "an empty spool" 60 spool_empty
	[ "$SPOOL_TMPFS" = 1 ] && mount -o remount,size=32k "$SPOOL_DIR"
	p0=$(poller_metric grilld_poller_paused_total)
	redis_stop TERM
	disk_full() {
		if [ "$SPOOL_TMPFS" = 1 ]; then
			[ "$(df --output=avail -B1 "$SPOOL_DIR" | tail -1)" -lt 4096 ]
		else
			[ "$(poller_metric grilld_poller_paused_total)" -gt "$p0" ]
		fi
	}
	if wait_for "the spool full" 300 disk_full; then
		ev_note "spool full after $(ms_s $(($(now_ms) - EV_START))) s" \
		    "($(poller_metric grilld_poller_spool_records) readings)"
	else
		ev_note "the spool did not fill within 300 s"
	fi
	[ -n "$also" ] && crash poller
	sleep "$secs"
	# Readiness follows the spool's writes: it flips at the first one the
	# full disk refuses, when the next device uploads (polled on its own
	# schedule, that may take a few seconds).
	unready() {
		ready=$(curl -s -m 5 -o "$T/ready.json" -w '%{http_code}' \
		    "http://$POLLER_ADMIN/health/ready")
		[ "$ready" = 503 ]
	}
	if [ "$SPOOL_TMPFS" = 1 ] && [ -z "$also" ]; then
		wait_for "the poller unready" 20 unready
	else
		unready
	fi
	ev_note "poller: $ready $(jq -r '.reason // .status' "$T/ready.json" 2>/dev/null)"
	# A full disk fails writes long after the spool opened: neither
	# Redis nor the spool takes readings, so the poller is not ready.
	if [ "$SPOOL_TMPFS" = 1 ] && [ -z "$also" ]; then
		if [ "$ready" = 503 ] && grep -q 'not writable' "$T/ready.json"; then
			ok "the poller is not ready while Redis is down and the spool disk is full"
		else
			not_ok "the poller is not ready while Redis is down and the spool disk is full" \
			    "got $ready: $(head -c 300 "$T/ready.json")"
		fi
	fi
	redis_start || not_ok "redis-server starts again"
	ev_end
	check_drained "$EV_NAME"
	[ "$SPOOL_TMPFS" = 1 ] && mount -o remount,size=16m "$SPOOL_DIR"
	ev_recover
}

# The spool folder: a tmpfs of its own when this user may mount one.
spool_mount_init() {
	SPOOL_TMPFS=0
	if [ "${CHAOS_TMPFS:-1}" = 1 ] &&
	    mount -t tmpfs -o size=16m tmpfs "$SPOOL_DIR" 2>/dev/null; then
		SPOOL_TMPFS=1
	else
		CHAOS_SPOOL_MAX=64KiB
	fi
}
spool_umount() {
	[ "${SPOOL_TMPFS:-0}" = 1 ] && umount -l "$SPOOL_DIR" 2>/dev/null
	SPOOL_TMPFS=0
}

# --- Long and slow faults (issue 15) --------------------------------------

# live_fresh: the live path runs: the newest entry of the events stream
# (written as soon as a reading is read, whatever InfluxDB does) is less
# than 15 s old.
live_fresh() {
	local id
	id=$(redis_cli --raw XREVRANGE grilld:events + - COUNT 1 | head -1)
	[ -n "$id" ] && [ $(($(now_ms) - ${id%-*})) -lt 15000 ]
}
check_live() {
	if wait_for "a fresh event" 15 live_fresh; then
		ok "the live path goes on ($1)"
	else
		not_ok "the live path goes on ($1)" "newest event: $(redis_cli --raw XREVRANGE grilld:events + - COUNT 1 | head -1)"
	fi
}

# fault_influx_low SECS: InfluxDB stopped for SECS at a trickle (every
# device but the Pantry pauses in the simulator, one point a second is
# left; the sessions go on, nothing restarts), so that the batch being
# filled never fills and the ingester holds its entries for many
# ingest.claim_idle periods. Issue 15 saw them claimed back by their own
# holder, dead-lettered as max_deliveries and acknowledged: not one may
# be dead-lettered, and every point is stored once InfluxDB answers.
# The devices resume with InfluxDB.
fault_influx_low() {
	local secs=$1 dl0 mx0
	ev_begin "InfluxDB stopped ${secs}s at 1 reading/s"
	ev_note "paused: $(tw_pause except=N0000001)"
	dl0=$(redis_cli XLEN grilld:deadletter)
	mx0=$(ingest_metric 'grilld_ingest_rejected_total{reason="max_deliveries"}')
	influx_written_keep
	influx_stop
	local until=$(($(now_ms) + secs * 1000))
	sleep 10
	check_live "InfluxDB down at a trickle"
	while [ "$(now_ms)" -lt "$until" ]; do sleep 1; done
	ev_note "held at restart: $(group_field pending) pending, $(group_field lag) unread"
	influx_start || not_ok "influxd starts again"
	ev_note "resumed: $(tw_resume)"
	ev_end
	ev_recover
	check_eq "no reading held through a long outage at a trickle is dead-lettered" \
	    "$dl0 $mx0" "$(redis_cli XLEN grilld:deadletter) $(ingest_metric 'grilld_ingest_rejected_total{reason="max_deliveries"}')"
}

# fault_influx_late SECS: every answer of InfluxDB to the ingester comes
# 5 s late for SECS (the proxy on its path holds each one): slow, not
# frozen, and never quite a time-out.
fault_influx_late() {
	local secs=$1
	ev_begin "InfluxDB answering after 5 s for ${secs}s"
	kill -HUP "$INFLUX_PROXY"
	local until=$(($(now_ms) + secs * 1000))
	sleep 10
	check_live "InfluxDB answering after 5 s"
	while [ "$(now_ms)" -lt "$until" ]; do sleep 1; done
	ev_note "backlog at the end: $(group_field pending) pending, $(group_field lag) unread"
	kill -HUP "$INFLUX_PROXY"
	ev_end
	ev_recover
}

# fault_ingest_down SECS: the ingester stopped for SECS while the poller
# goes on. The stream may not grow past ingest.stream_max (nobody trims
# what a group has not read: issue 15 saw XADD MAXLEN delete readings);
# once it is full the poller spools, and says so in its metrics. Every
# point is stored once the ingester is back.
fault_ingest_down() {
	local secs=$1 xlen xpeak=0 speak=0 full=0 n
	ev_begin "ingest down ${secs}s"
	daemon_signal ingest TERM
	local until=$(($(now_ms) + secs * 1000))
	while [ "$(now_ms)" -lt "$until" ]; do
		xlen=$(redis_cli XLEN grilld:readings)
		[ "$xlen" -le "$xpeak" ] || xpeak=$xlen
		n=$(poller_metric grilld_poller_spool_records)
		[ "$n" -le "$speak" ] || speak=$n
		[ "$(poller_metric grilld_poller_stream_full)" = 1 ] && full=1
		sleep 1
	done
	ev_note "stream peak: $xpeak entries (stream_max $STREAM_MAX); spool peak: $speak readings"
	check "the stream never grows past ingest.stream_max ($xpeak)" \
	    [ "$xpeak" -le "$STREAM_MAX" ]
	if [ $((secs * 15)) -gt "$STREAM_MAX" ]; then
		check_eq "the stream full, the poller spools and says so" "1 yes" \
		    "$full $([ "$speak" -gt 0 ] && echo yes)"
	fi
	daemon_start ingest || not_ok "grilld-ingest starts again"
	ev_end
	drained() { spool_empty && chain_idle; }
	wait_for "the spool replayed" "$RECOVER_TIMEOUT" drained
	ev_recover
}

# tw_pause [device=SERIAL|except=SERIAL]: devices stop recording in the
# simulator (all, one, all but one) until tw_resume; its answer.
tw_pause() {
	curl -s -m 10 -X POST "http://$TW_ADMIN/admin/pause${1:+?$1}"
}
tw_resume() { curl -s -m 10 -X DELETE "http://$TW_ADMIN/admin/pause"; }
# tw_clock SERIAL MS: steps a device's clock in the simulator.
tw_clock() {
	curl -s -m 10 -X POST "http://$TW_ADMIN/admin/clock?device=$1&step_ms=$2"
}
# fault_clock_step SECS: the clock of one device (four channels and
# archives) steps back an hour, stays there for SECS, and steps forward
# again. The poller must follow it down (the seen marks move back) and
# up again, and lose nothing. A step that would land on the run's own
# points (a run longer than an hour) goes back further: two points of
# one series at one time cannot both be kept anywhere.
fault_clock_step() {
	local secs=$1 back=3600000 dev=S0000001 s0
	while [ $(($(now_ms) - back + secs * 1000 + 60000)) -ge "$RUN_T0" ]; do
		back=$((back + 3600000))
	done
	[ "$back" -le "${CLOCK_BACK:-0}" ] || CLOCK_BACK=$back
	ev_begin "a device clock back $((back / 60000)) min for ${secs}s"
	# The poller must have read the device on its right clock first: a
	# device first seen stepped back has nothing to step back from.
	wait_for "the chain caught up" 120 caught_up "$SESSION_T0" \
	    $(($(now_ms) - 10000)) || ev_note "not caught up before"
	s0=$(poller_metric grilld_poller_clock_steps_total)
	ev_note "$(tw_clock "$dev" "-$back")"
	sleep "$secs"
	ev_note "$(tw_clock "$dev" "$back")"
	ev_note "clock steps the poller followed: $(($(poller_metric grilld_poller_clock_steps_total) - s0))"
	ev_end
	ev_recover
}

# fault_poller_cut SECS: the active poller's path to Redis is cut (the
# proxy on it) for SECS while a second poller, whose path is whole,
# stands by: the first stops once its leases may have expired, the
# second takes them over; mended, the first stands by until the second
# stops (SIGTERM), then polls again. Nothing lost, nothing doubled.
fault_poller_cut() {
	local secs=$1 pid a_stop0 a_wait0 a_take0
	ev_begin "active poller cut off from Redis ${secs}s, a second takes over"
	sed "s/admin_listen: $POLLER_ADMIN/admin_listen: $POLLER_B_ADMIN/; s|poller_url: .*|poller_url: $NNG_POLLER_B|; s|spool_path: .*|spool_path: $T/poller-b.spool|" \
	    "$T/grilld.yaml" >"$T/poller-b.yaml"
	chmod 600 "$T/poller-b.yaml"
	: >>"$T/poller-b.log"
	local b_wait0 b_take0
	b_wait0=$(grep -c "polled by another poller" "$T/poller-b.log")
	b_take0=$(grep -c "lease taken over; polling" "$T/poller-b.log")
	a_stop0=$(grep -c "lease not renewed for poller.lease_ttl" "$T/poller.log")
	a_wait0=$(grep -c "polled by another poller" "$T/poller.log")
	a_take0=$(grep -c "lease taken over; polling\|lease acquired" "$T/poller.log")
	echo "=== $(date -u +%FT%T.%3NZ) chaos: start" >>"$T/poller-b.log"
	GRILLD_REDIS_URL=$REDIS_URL "$BIN/grilld-poller" -d -f "$T/poller-b.yaml" \
	    >>"$T/poller-b.log" 2>&1 &
	PID_poller_b=$!
	track "$PID_poller_b"
	b_waits() { [ "$(grep -c "polled by another poller" "$T/poller-b.log")" -ge $((b_wait0 + 2)) ]; }
	wait_for "the second poller" 30 b_waits
	check "a second poller stands by" b_waits
	kill -USR1 "$REDIS_PROXY"
	local until=$(($(now_ms) + secs * 1000))
	a_stops() { [ "$(grep -c "lease not renewed for poller.lease_ttl" "$T/poller.log")" -ge $((a_stop0 + 2)) ]; }
	b_took() { [ "$(grep -c "lease taken over; polling" "$T/poller-b.log")" -ge $((b_take0 + 2)) ]; }
	wait_for "the takeover" 60 b_took
	check "cut off, the active poller stops polling" a_stops
	check "the second poller takes both leases" b_took
	# Mended no sooner than 12 s after the takeover (a poll and the
	# slowest upload), when the second poller has sent a point of every
	# channel: the cut-off one's spool reaching Redis in between doubles
	# points (the takeover race of docs/faults.md, not fixed yet). At
	# full length the cut lasts far longer anyway.
	[ "$until" -ge $(($(now_ms) + 12000)) ] || until=$(($(now_ms) + 12000))
	while [ "$(now_ms)" -lt "$until" ]; do sleep 1; done
	kill -USR2 "$REDIS_PROXY"
	a_waits() { [ "$(grep -c "polled by another poller" "$T/poller.log")" -ge $((a_wait0 + 2)) ]; }
	wait_for "the first stands by" 60 a_waits
	check "mended, the first poller stands by" a_waits
	daemon_signal poller_b TERM
	ev_note "second poller SIGTERM: exit $REAPED in $(ms_s "$REAPED_MS") s"
	ev_end
	ev_recover
}

# fault_webhook_hang SECS: one of the two webhook receivers accepts
# connections and never answers (SIGSTOP) for SECS while alert rules
# are added, one every few seconds, each firing at once: the other
# receiver gets every alert, the data path is untouched. The hung one
# gets its share once it answers again (or it is kept for later).
fault_webhook_hang() {
	local secs=$1 n0 i=0 id
	ev_begin "a webhook receiver hangs ${secs}s"
	kill -STOP "$PID_hook_hung"
	n0=$(grep -c '^204' "$T/hook.alive.log")
	local until=$(($(now_ms) + secs * 1000))
	while [ "$(now_ms)" -lt "$until" ]; do
		i=$((i + 1))
		id=hang-$EV_START-$i
		redis_cli HSET grilld:rules "$id" "{\"id\":\"$id\",\"kind\":\"above\",\"device_id\":\"N0000001\",\"probe_id\":\"1\",\"threshold\":-1000}" >/dev/null
		redis_cli INCR grilld:rules:version >/dev/null
		sleep 5
	done
	alive_all() { [ "$(grep -c '^204' "$T/hook.alive.log")" -ge $((n0 + i)) ]; }
	wait_for "the live receiver's alerts" 30 alive_all
	check "one receiver hangs: the other gets every alert ($i)" alive_all
	ev_note "alerts raised: $i; the live receiver answered $(($(grep -c '^204' "$T/hook.alive.log") - n0))"
	for id in $(redis_cli HKEYS grilld:rules | grep "^hang-$EV_START-"); do
		redis_cli HDEL grilld:rules "$id" >/dev/null
	done
	redis_cli INCR grilld:rules:version >/dev/null
	kill -CONT "$PID_hook_hung"
	ev_end
	ev_recover
}
