# The stream auditor (sourced by chaos.sh). InfluxDB keeps one point per
# series and timestamp, so a reading written twice with the same value
# leaves no trace there; the auditor reads every entry of `readings`
# through a consumer group of its own (NOACK: nothing stays pending, so
# the ingester's trimming is not held up) and writes it down:
#
#	$OUT/audit.tsv	epoch, entry id, device, probe, device time (ms)
#
# The epoch counts the times Redis lost its data (redis_empty): a
# reading appended again after that is a re-send, not a duplicate.
#
# inspect_lost reads the data of a Redis that was killed (its AOF, with
# fsync always, holds every acknowledged write) to list the readings no
# replica had acknowledged: what an empty Redis may lose.

AUDIT_GROUP=chaos-audit

audit_start() {
	echo 0 >"$OUT/epoch"
	: >"$OUT/audit.tsv"
	audit_loop &
	AUDIT_PID=$!
	track "$AUDIT_PID"
}
audit_stop() {
	kill -TERM "$AUDIT_PID" 2>/dev/null
	reap "$AUDIT_PID"
}

# One entry per line: id, then the reading JSON.
audit_entries() {
	awk '/^[0-9]+-[0-9]+$/ { id = $0; next }
	    /^\{/ { if (id != "") print id "\t" $0; id = "" }'
}
# id<TAB>json lines to audit rows of the given epoch.
audit_rows() {
	jq -R -r --arg e "$1" '
	    def ms: (.[0:19] + "Z" | fromdateiso8601) * 1000 +
	        (.[20:23] | tonumber);
	    split("\t") as $f | ($f[1] | fromjson? // {}) as $r |
	    select($r.device_id != null) |
	    [$e, $f[0], $r.device_id, $r.probe_id, ($r.timestamp | ms)] | @tsv'
}

audit_loop() {
	local out n
	trap 'exit 0' TERM
	while :; do
		out=$(redis-cli -p "$REDIS_PORT" --raw XREADGROUP GROUP \
		    "$AUDIT_GROUP" auditor NOACK COUNT 2000 STREAMS \
		    grilld:readings '>' 2>&1)
		case $out in
		*NOGROUP*)
			redis-cli -p "$REDIS_PORT" XGROUP CREATE grilld:readings \
			    "$AUDIT_GROUP" 0 MKSTREAM >/dev/null 2>&1
			sleep 0.1
			continue
			;;
		*"Could not connect"* | *LOADING* | *ERR* | *rror*)
			sleep 0.5
			continue
			;;
		esac
		n=$(printf '%s\n' "$out" | audit_entries | tee "$OUT/.audit.batch" | wc -l)
		audit_rows "$(cat "$OUT/epoch")" <"$OUT/.audit.batch" >>"$OUT/audit.tsv"
		[ "$n" -lt 2000 ] && sleep 0.3
	done
}

# inspect_lost DIR: starts a throw-away redis-server on the data of the
# Redis that was killed, and appends to $OUT/lostredis.tsv (device,
# probe, time, kind) every reading the ingest group had not
# acknowledged: kind u, not delivered yet (lost for sure), or p,
# pending (lost unless a replica held it in a batch in flight). Prints
# the two counts.
inspect_lost() {
	local dir=$1 pid last
	redis-server --port "$INSPECT_PORT" --bind 127.0.0.1 --dir "$dir" \
	    --save "" --appendonly yes --daemonize no \
	    --logfile "$dir/inspect.log" &
	pid=$!
	track "$pid"
	wait_for "the dead Redis's data" 60 bash -c \
	    "[ \"\$(redis-cli -p $INSPECT_PORT PING)\" = PONG ]"
	last=$(redis-cli -p "$INSPECT_PORT" XINFO GROUPS grilld:readings |
		awk '/^name$/ { getline; g = $0 }
		    /^last-delivered-id$/ { getline; if (g == "ingest") print }')
	redis-cli -p "$INSPECT_PORT" XPENDING grilld:readings ingest - + 10000000 |
		awk 'NR % 4 == 1' >"$dir/pending.ids"
	redis-cli -p "$INSPECT_PORT" --raw XRANGE grilld:readings - + |
		audit_entries | awk -F'\t' -v last="${last:-0-0}" -v ids="$dir/pending.ids" '
		    function after(a, b,   x, y) {
			split(a, x, "-"); split(b, y, "-")
			return x[1] + 0 > y[1] + 0 ||
			    (x[1] + 0 == y[1] + 0 && x[2] + 0 > y[2] + 0)
		    }
		    BEGIN { while ((getline l < ids) > 0) pend[l] = 1 }
		    after($1, last) { print "u\t" $2 }
		    $1 in pend { print "p\t" $2 }' >"$dir/lost.tsv"
	audit_rows lost <"$dir/lost.tsv" |
		awk -F'\t' -v OFS='\t' '{ print $3, $4, $5, $2 }' >>"$OUT/lostredis.tsv"
	echo "$(grep -c '^u' "$dir/lost.tsv") $(grep -c '^p' "$dir/lost.tsv")"
	redis-cli -p "$INSPECT_PORT" SHUTDOWN NOSAVE >/dev/null 2>&1
	reap "$pid"
}
