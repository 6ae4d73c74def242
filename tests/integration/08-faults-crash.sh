#!/usr/bin/env bash
# test-cost: 350
# The fault suite, short form, part one (docs/faults.md; make chaos runs
# the long one): the whole chain on the real Redis and InfluxDB, then
# kill -9 of the poller and the ingester at random moments, SIGTERM of
# the ingester holding a full batch, Redis stopped (append-only file
# kept) with the poller killed meanwhile and SIGTERMed while it replays
# its spool, Redis restarted empty with a backlog. At the end InfluxDB
# is compared with the simulator's record point by point: nothing lost
# (but what the empty Redis took, which is counted), nothing doubled,
# nothing altered.
exec bash "$(dirname "$0")/../chaos/chaos.sh" -p crash
