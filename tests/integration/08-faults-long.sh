#!/usr/bin/env bash
# test-cost: 300
# The fault suite, short form, part three: the long and slow faults of
# issue 15, each a few seconds (make chaos runs them at full length,
# docs/faults.md): a device clock stepping back an hour and forward
# again, InfluxDB stopped while every device but one is paused in the
# simulator (a trickle), InfluxDB
# answering every write 5 s late (a proxy holds the answers), the
# ingester down while the poller fills the stream to ingest.stream_max
# and spools, the active poller cut off from Redis (a proxy on its
# path) while a second takes over, and a webhook receiver that hangs.
# At the end InfluxDB is compared with the simulator's record point by
# point.
exec bash "$(dirname "$0")/../chaos/chaos.sh" -p slow
