#!/usr/bin/env bash
# The hand-off ceiling: how fast readings can go through the Redis
# stream with the commands grilld sends, beside redis-benchmark sending
# the plain stream commands to the same redis-server.
#
#   produce   grilld: the poller's emit script (one EVALSHA per 512
#             readings: for each, HGET the seen mark, XADD, HSET), one
#             connection (bench/handoff.c, common/rds.h)
#             reference: redis-benchmark XADD * v 1 r JSON, -P 512 -c 1:
#             the same entry, without the script (nothing is trimmed by
#             producers: docs/poller.md)
#   consume   grilld: XREADGROUP COUNT 5000 then XACK of those ids, one
#             connection, as grilld-ingest reads (bench/handoff.c)
#             reference: redis-benchmark XREADGROUP COUNT 5000 over the
#             same preloaded entries, then XACK of 5000 random ids of
#             them (redis-benchmark cannot ack the ids it read); the
#             two timed apart and added: 1 / (1/read + 1/ack)
#
# Every run gets a fresh stream; runs alternate grilld and reference.
# Target (mine, from issue 4): the hand-off never limits ingest, whose
# target is 50,000 readings/s, on either side.
#
#   bash bench/handoff.sh            RUNS=5 N=200000 (quick: N=50000)
set -u
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-5}
N=${N:-$(bench_pick 50000 200000)}
READ=5000		# INGEST_READ_MAX
BATCH=512		# HANDOFF_BATCH

bench_need_cmd redis-server redis-benchmark redis-cli
TOOL=$(bench_build handoff) || bench_skip "bench/handoff.c does not build"

start_redis
URL=$REDIS_URL

# The reading every command carries, as bench/handoff.c sends it.
JSON=$(redis_cli DEL j >/dev/null; "$TOOL" -u "$URL" -k j -n 1 preload >/dev/null &&
	redis_cli --raw XRANGE j - + | sed -n 5p)
[ -n "$JSON" ] || bench_skip "the reading could not be made"

# rb ARGS...: redis-benchmark's requests per second.
rb() {
	redis-benchmark -p "$REDIS_PORT" --csv "$@" 2>/dev/null |
		awk -F, 'END { v = $(NF - 6); gsub(/"/, "", v); print v + 0 }'
}
fresh() { redis_cli FLUSHALL >/dev/null; }
rate() { awk '{ print $2 }'; }

acks=""
for _ in $(seq 1 "$READ"); do acks="$acks __rand_int__-0"; done

for f in g.produce r.produce g.consume r.consume; do : >"$T/$f"; done
for i in $(seq 1 "$RUNS"); do
	echo "# run $i/$RUNS" >&2
	fresh
	"$TOOL" -u "$URL" -k s -n "$N" -b "$BATCH" produce | rate >>"$T/g.produce"
	fresh
	rb -c 1 -P "$BATCH" -n "$N" XADD s '*' v 1 r "$JSON" >>"$T/r.produce"

	fresh
	"$TOOL" -u "$URL" -k s -n "$N" -b "$BATCH" preload >/dev/null
	"$TOOL" -u "$URL" -k s -n "$N" -b "$READ" consume | rate >>"$T/g.consume"
	redis_cli XGROUP DESTROY s bench >/dev/null
	redis_cli XGROUP CREATE s ref 0 >/dev/null
	calls=$((N / READ))
	rd=$(rb -c 1 -n "$calls" XREADGROUP GROUP ref c COUNT "$READ" STREAMS s '>')
	# shellcheck disable=SC2086
	ak=$(rb -c 1 -n "$calls" -r "$N" XACK s ref $acks)
	awk -v r="$rd" -v a="$ak" -v k="$READ" 'BEGIN {
		if (r > 0 && a > 0) printf "%.0f\n", 1 / (1 / (r * k) + 1 / (a * k)) }' >>"$T/r.consume"
done
[ -s "$T/g.produce" ] || bench_skip "bench/handoff.c failed: see the log"

for side in produce consume; do
	g=$(bench_median <"$T/g.$side")
	r=$(bench_median <"$T/r.$side")
	case $side in
	produce) note="EVALSHA emit script of $BATCH readings vs redis-benchmark XADD -P $BATCH" ;;
	consume) note="XREADGROUP COUNT $READ + XACK vs redis-benchmark of the same two" ;;
	esac
	bench_result "handoff.${side}_per_s" "$(bench_fmt 0 "$g")" "$(bench_fmt 0 "$r")" \
		readings/s ">=50000" higher "$(bench_spread <"$T/g.$side")" "$note"
done
