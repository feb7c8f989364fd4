#!/usr/bin/env bash
# PUBLISH fan-out, darter vs redis-server side by side: 100 subscribers on one channel, one
# pipelined publisher; prints deliveries/s and server CPU per delivery and darter's ratios.
# Extra arguments go to `darter-bench pubsub` (see `--help`), e.g.
#
#   bench/pubsub.sh --subscribers 100 --messages 20000 --darter-threads 2
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_redis
run_bench pubsub "$@"
