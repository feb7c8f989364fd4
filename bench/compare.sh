#!/usr/bin/env bash
# Side-by-side benchmark of darter against redis-server.
#
# Builds darter in release mode (target/release/darter), makes sure
# redis-server and redis-benchmark are installed (Debian/Ubuntu: apt-get), then
# runs `darter-bench compare`. Extra arguments are passed through, e.g.
#
#   bench/compare.sh --rounds 5 --tests get --pipelines 16
#   bench/compare.sh --tests lpush,lpop,hset,sadd   # LPOP pops a list filled beforehand
#   bench/compare.sh --darter /usr/bin/redis-server \
#       --darter-args "--save '' --appendonly no" --no-threads-flag   # A/A check
#
# Passing --darter skips building darter-server. Results: stdout and
# bench/results/<test>-latest.md. See bench/README.md.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_redis redis-tools
if ! command -v taskset >/dev/null; then
    echo "taskset (util-linux) is required for CPU pinning; or pass --no-pin" >&2
fi
run_bench compare "$@"
