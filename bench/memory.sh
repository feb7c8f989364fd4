#!/usr/bin/env bash
# Memory per key and per member of darter against redis-server.
#
# Builds darter in release mode (target/release/darter), makes sure
# redis-server is installed (Debian/Ubuntu: apt-get), then runs
# `darter-bench memory`: for each shape, a fresh redis-server and a fresh
# darter each get exactly the same pipelined writes and their resident memory
# is compared. Shapes are string:VALUE_SIZE (--keys keys, 1,000,000 by
# default) or TYPE:KEYSxMEMBERS with TYPE hash, set, intset, list or zset
# (HSET/SADD/RPUSH/ZADD, 100 members per command). The default is
# string:16,string:100. Extra arguments are passed through:
#
#   bench/memory.sh --keys 2000000 --sizes 16,100,1000
#   bench/memory.sh --shapes hash:1000x1000,set:1000x1000,set:1x1000000
#   bench/memory.sh --shapes zset:1x1000000,zset:1000x1000,list:1000x1000,intset:1x1000000
#   bench/memory.sh --darter-threads 2
#   bench/memory.sh --keys 100000 --darter /usr/bin/redis-server \
#       --darter-args "--save '' --appendonly no" --no-threads-flag   # A/A check
#   bench/memory.sh --shapes hash:100x100,set:1x100000 --darter /usr/bin/redis-server \
#       --darter-args "--save '' --appendonly no" --no-threads-flag   # A/A, collections
#
# Passing --darter skips building darter-server. Results: stdout and
# bench/results/memory-latest.md. See bench/README.md.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_redis
run_bench memory "$@"
