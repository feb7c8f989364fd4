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

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt-get with a bounded wait for the dpkg/apt locks (another process may be
# installing packages right now).
apt_retry() {
    local attempt
    for attempt in $(seq 1 30); do
        if as_root env DEBIAN_FRONTEND=noninteractive apt-get \
            -o DPkg::Lock::Timeout=60 "$@"; then
            return 0
        fi
        echo "apt-get $* failed (attempt $attempt/30), probably a held lock; retrying in 10 s" >&2
        sleep 10
    done
    echo "apt-get $* kept failing; giving up" >&2
    return 1
}

if ! command -v redis-server >/dev/null; then
    echo "installing redis-server" >&2
    apt_retry update -q
    apt_retry install -y -q redis-server
fi

custom_darter=0
for arg in "$@"; do
    case "$arg" in
        --darter | --darter=*) custom_darter=1 ;;
    esac
done

if [ "$custom_darter" -eq 0 ]; then
    cargo build --release -p darter-server
fi
cargo build --release -p darter-bench

if [ "$custom_darter" -eq 1 ]; then
    exec "$target_dir/release/darter-bench" memory "$@"
fi
exec "$target_dir/release/darter-bench" memory --darter "$target_dir/release/darter" "$@"
