#!/usr/bin/env bash
# Side-by-side benchmark of darter against redis-server.
#
# Builds darter in release mode (target/release/darter), makes sure
# redis-server and redis-benchmark are installed (Debian/Ubuntu: apt-get), then
# runs `darter-bench compare`. Extra arguments are passed through, e.g.
#
#   bench/compare.sh --rounds 5 --tests get --pipelines 16
#   bench/compare.sh --darter /usr/bin/redis-server \
#       --darter-args "--save '' --appendonly no" --no-threads-flag   # A/A check
#
# Passing --darter skips building darter-server. Results: stdout and
# bench/results/<test>-latest.md. See bench/README.md.
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

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    echo "installing redis-server and redis-tools" >&2
    apt_retry update -q
    apt_retry install -y -q redis-server redis-tools
fi
if ! command -v taskset >/dev/null; then
    echo "taskset (util-linux) is required for CPU pinning; or pass --no-pin" >&2
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
    exec "$target_dir/release/darter-bench" compare "$@"
fi
exec "$target_dir/release/darter-bench" compare --darter "$target_dir/release/darter" "$@"
