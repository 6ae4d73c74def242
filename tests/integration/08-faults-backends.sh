#!/usr/bin/env bash
# test-cost: 260
# The fault suite, short form, part two (docs/faults.md; make chaos runs
# the long one): InfluxDB stopped under load with the ingester killed
# meanwhile, frozen, rejecting a point (dead-lettered, the rest stored);
# the simulated cloud answering 429, 500, garbage and nothing with the
# poller killed meanwhile, revoking tokens, dying and coming back; the
# poller's spool disk full while Redis is down. At the end InfluxDB is
# compared with the simulator's record point by point.
exec bash "$(dirname "$0")/../chaos/chaos.sh" -p backends
