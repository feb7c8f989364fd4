# Shared by bench/compare.sh and bench/memory.sh (sourced, not run): install redis when missing,
# build darter and darter-bench in release, and run one darter-bench subcommand.

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

# ensure_redis [redis-tools]: installs redis-server (and redis-tools when asked) if missing.
ensure_redis() {
    local need=0 pkgs=(redis-server)
    command -v redis-server >/dev/null || need=1
    if [ "${1:-}" = redis-tools ]; then
        pkgs+=(redis-tools)
        command -v redis-benchmark >/dev/null || need=1
    fi
    if [ "$need" -eq 1 ]; then
        echo "installing ${pkgs[*]}" >&2
        apt_retry update -q
        apt_retry install -y -q "${pkgs[@]}"
    fi
}

# run_bench SUBCOMMAND ARGS...: builds darter (unless --darter is given) and darter-bench in
# release mode, then execs `darter-bench SUBCOMMAND`.
run_bench() {
    local sub=$1 custom_darter=0 arg
    shift
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
        exec "$target_dir/release/darter-bench" "$sub" "$@"
    fi
    exec "$target_dir/release/darter-bench" "$sub" --darter "$target_dir/release/darter" "$@"
}
