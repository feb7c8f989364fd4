#!/usr/bin/env bash
# Memory per key of darter against redis-server.
#
# Builds darter in release mode (target/release/darter), makes sure
# redis-server is installed (Debian/Ubuntu: apt-get), then runs
# `darter-bench memory`: for each value size, a fresh redis-server and a fresh
# darter each get exactly the same pipelined SETs (1,000,000 keys by default)
# and their resident memory is compared. Extra arguments are passed through:
#
#   bench/memory.sh --keys 2000000 --sizes 16,100,1000
#   bench/memory.sh --darter-threads 2
#   bench/memory.sh --keys 100000 --darter /usr/bin/redis-server \
#       --darter-args "--save '' --appendonly no" --no-threads-flag   # A/A check
#
# Passing --darter skips building darter-server. Results: stdout and
# bench/results/memory-latest.md. See bench/README.md.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_redis
run_bench memory "$@"
