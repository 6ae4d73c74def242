# Shared by the 03-poller-*.sh scenarios (sourced after lib.sh; not a
# scenario itself): a real redis-server, grilld-twsim with a small fast
# world, grilld-poller pointed at it, and the comparison of what reached
# Redis with the simulator's oracle of recorded points.

# Two accounts. Devices record every second or two and upload every 2 to
# 3 s, so that uploads carry several points (the archives are needed)
# and tests converge quickly; the Node uploads every recording (the
# document alone carries each point). Sessions last 15 s and their
# archive appears 2 s after they end (the real cloud: hours), so the
# points between uploads reach Redis within about half a minute. The
# gateway's serial is a MAC, colons and all, as real ones are; the Node
# has channels 1 and 3, a hole at 2, as the demo's and real ones have.
tw_world() {
	cat <<'YAML'
twsim:
  token_lifetime: ${TW_TOKEN_LIFETIME}
  accounts:
    - email: pit@grilld.example
      password: s3cret-pit
      devices:
        - {serial: S0000001, model: signals, label: Smoker, recording_interval: 1s, upload_interval: 3s, archive_interval: 15s, archive_delay: 2s, cook: brisket}
        - {serial: N0000001, model: node, label: Pantry, recording_interval: 2s, upload_interval: 2s, archive_interval: 15s, archive_delay: 2s,
           channels: [{label: Room, cook: ambient}, {number: 3, label: Humidity, cook: humidity}]}
        - {serial: "10:06:1C:6F:47:70", model: rfx_gateway, label: Gateway, recording_interval: 1s, upload_interval: 3s, archive_interval: 15s, archive_delay: 2s}
        - {serial: M0000001, model: rfx_meat, label: Pork, recording_interval: 1s, upload_interval: 2s, archive_interval: 15s, archive_delay: 2s, cook: pork}
    - email: patio@grilld.example
      password: s3cret-patio
      devices:
        - {serial: K0000001, model: smoke, label: Kettle, recording_interval: 2s, upload_interval: 4s, archive_interval: 15s, archive_delay: 2s}
YAML
}

# setup_world: Redis, the simulator, and $T/poller.yaml.
setup_world() {
	local p
	p=($(freeport 4))
	TW_LISTEN=127.0.0.1:${p[0]}
	TW_ADMIN=127.0.0.1:${p[1]}
	POLLER_ADMIN=127.0.0.1:${p[2]}
	POLLER_NNG=tcp://127.0.0.1:${p[3]}
	TW_TOKEN_LIFETIME=${TW_TOKEN_LIFETIME:-1h}
	start_redis
	tw_world | sed "s/\${TW_TOKEN_LIFETIME}/$TW_TOKEN_LIFETIME/" >"$T/twsim.yaml"
	GRILLD_TWSIM_LISTEN=$TW_LISTEN GRILLD_TWSIM_ADMIN_LISTEN=$TW_ADMIN \
		start_daemon twsim "http://$TW_ADMIN/health/ready" -f "$T/twsim.yaml" ||
		bail "grilld-twsim starts"
	printf 's3cret-patio\n' >"$T/patio.password"
	chmod 600 "$T/patio.password"
	{ stack_twsim_yaml "$TW_LISTEN"; cat <<YAML
  email: pit@grilld.example
  accounts:
    - {email: patio@grilld.example, password_file: $T/patio.password}
poller:
  admin_listen: $POLLER_ADMIN
  interval: 5s
  lease_ttl: 3s
  spool_path: $T/poller.spool
nng:
  poller_url: $POLLER_NNG
YAML
	} >"$T/poller.yaml"
	chmod 600 "$T/poller.yaml"	# it holds thermoworks.api_key
	# The first account's password from the environment, as users may.
	export GRILLD_THERMOWORKS_PASSWORD=s3cret-pit
}

# start_poller: the poller, waited for until it is ready.
start_poller() {
	start_daemon poller "http://$POLLER_ADMIN/health/ready" -f "$T/poller.yaml"
}

# tw_fault JSON: adds a fault rule to the simulator.
tw_fault() { curl -sf -X POST "http://$TW_ADMIN/admin/faults" -d "$1" >/dev/null; }
tw_clear() { curl -sf -X DELETE "http://$TW_ADMIN/admin/faults" >/dev/null; }
# tw_requests [ENDPOINT]: requests the simulator answered (all endpoints).
tw_requests() {
	curl -sf "http://$TW_ADMIN/admin/stats" |
		jq -r --arg e "${1:-}" 'if $e == "" then .requests_total
		    else .requests[$e].total end'
}
tw_stat() { curl -sf "http://$TW_ADMIN/admin/stats" | jq -r "$1"; }
metric() {	# metric 'name{labels}': its value, 0 when absent
	curl -sf "http://$POLLER_ADMIN/metrics" |
		awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'
}
now_ms() { date +%s%3N; }
metric_gt() { [ "$(metric "$1")" -gt "$2" ]; }	# metric_gt NAME N
# ready_reason: why /health/ready says not ready ("" when ready).
ready_reason() {
	curl -s "http://$POLLER_ADMIN/health/ready" | jq -r '.reason // ""'
}
# wait_cycles N: until N more poll cycles have ended.
wait_cycles() {
	local c
	c=$(metric grilld_poller_cycles_total)
	wait_for "$1 cycles" $(($1 * 8)) metric_gt grilld_poller_cycles_total \
	    $((c + $1 - 1))
}

# The readings in the stream, one per line in stream order:
# device probe time_ms value (empty when null) kind (live, or backfill:
# filled in from an archive, flag 32).
# (READINGS: another stream of the same entries.)
stream_tsv() {
	redis_cli --raw XRANGE "${READINGS:-grilld:readings}" - + | grep '^{' | jq -r '
	    def ms: (.[0:19] + "Z" | fromdateiso8601) * 1000 +
	        (.[20:23] | tonumber);
	    [.device_id, .probe_id, (.timestamp | ms),
	     (.temperature // ""),
	     (if ((.flags // 0) / 32 | floor) % 2 == 1 then "backfill"
	      else "live" end)] | @tsv'
}
# The oracle's uploaded points up to a time, same columns, sorted.
oracle_tsv() {
	curl -sf "http://$TW_ADMIN/admin/recorded?uploaded=true&until=$1" | jq -r '
	    .points[] | [.device, (.channel | tostring), .time_ms,
	     (.value // "")] | @tsv' | sort
}

# same_as_oracle CUTOFF [TOLERANCE]: the readings up to CUTOFF are the
# oracle's, point for point, values equal (or within TOLERANCE, for a
# document whose doubles drifted to integers).
same_as_oracle() {
	local cut=$1 tol=${2:-0}
	# Each point once, live or filled in from an archive.
	stream_tsv | awk -F'\t' -v c="$cut" '$3 <= c' | cut -f1-4 |
		sort >"$T/got.tsv"
	awk -F'\t' '{ k = $1 FS $2 FS $3; if (k in s) exit 1; s[k] }' \
		"$T/got.tsv" || return 1
	oracle_tsv "$cut" >"$T/want.tsv" || return 1
	[ -s "$T/want.tsv" ] || return 1
	cmp -s <(cut -f1-3 "$T/got.tsv") <(cut -f1-3 "$T/want.tsv") || return 1
	# (a caller's stream_tsv may add columns after the value)
	paste <(cut -f1-4 "$T/got.tsv") "$T/want.tsv" | awk -F'\t' -v tol="$tol" '
	    { d = $4 - $8; if (d < 0) d = -d
	      if (($4 == "") != ($8 == "") || d > tol) bad++ }
	    END { exit bad > 0 }'
}

# check_oracle DESC [TOLERANCE]: waits until every point recorded up to
# now reached Redis, exactly once and with its value.
check_oracle() {
	local cut
	cut=$(now_ms)
	if wait_for "the oracle" 40 same_as_oracle "$cut" "${2:-0}"; then
		ok "$1 ($(wc -l <"$T/want.tsv") points)"
	else
		not_ok "$1" "readings vs oracle up to $cut: $(diff "$T/got.tsv" \
		    "$T/want.tsv" | head -8 | tr '\n\t' '| ')"
	fi
}

# check_no_duplicates DESC: no point twice in the stream, whether it
# went live or was filled in from an archive (a live point is never
# inside a gap, across restarts too: docs/poller.md), and each probe's
# points of either kind in time order.
check_no_duplicates() {
	local dups order
	dups=$(stream_tsv | awk -F'\t' '{ print $1, $2, $3 }' | sort |
		uniq -d | head -3)
	order=$(stream_tsv | awk -F'\t' '{ k = $1 "/" $2 "/" $5
	    if (k in last && $3 <= last[k]) { print k " " $3; exit }
	    last[k] = $3 }')
	check_eq "$1: no duplicates" "" "$dups"
	check_eq "$1: each probe in time order" "" "$order"
}
