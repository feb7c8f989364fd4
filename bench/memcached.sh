#!/usr/bin/env bash
# memcached vs darter's memcached port, one core each, under the same load: 50 connections, 90%
# get / 10% set on 100k keys with 16-byte values (crates/bench/src/bin/mcbench.rs), client pinned
# to another core. memcached runs with one worker thread (-t 1), darter with --proactor_threads 1.
# Rounds alternate between the servers; the median ops/s of each and their ratio are printed.
# Usage: bench/memcached.sh [--rounds 3] [--seconds 10] [--conns 50] [--server-cpu 0] [--client-cpu 1]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
rounds=3 seconds=10 conns=50 server_cpu=0 client_cpu=1
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2 ;;
        --seconds) seconds=$2 ;;
        --conns) conns=$2 ;;
        --server-cpu) server_cpu=$2 ;;
        --client-cpu) client_cpu=$2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
done
if ! command -v memcached >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then apt-get update -q && apt-get install -y -q memcached;
    else sudo apt-get update -q && sudo apt-get install -y -q memcached; fi
fi
cargo build --release -q -p darter-server -p darter-bench --bin darter --bin mcbench
darter="$target_dir/release/darter"
mcbench="$target_dir/release/mcbench"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "server on port $1 did not start" >&2; return 1
}

user_args=()
[ "$(id -u)" -eq 0 ] && user_args=(-u root)
mc_port=$(free_port)
taskset -c "$server_cpu" memcached "${user_args[@]}" -l 127.0.0.1 -p "$mc_port" -U 0 -t 1 -c 4096 &
mc_pid=$!
resp_port=$(free_port)
dm_port=$(free_port)
taskset -c "$server_cpu" "$darter" --bind 127.0.0.1 --port "$resp_port" --memcached_port "$dm_port" \
    --proactor_threads 1 --log_level warn &
darter_pid=$!
trap 'kill $mc_pid $darter_pid 2>/dev/null; wait 2>/dev/null' EXIT
wait_port "$mc_port"
wait_port "$dm_port"

run() { taskset -c "$client_cpu" "$mcbench" --addr "127.0.0.1:$1" --conns "$conns" --seconds "$seconds" \
    | sed -n 's/^ops_per_sec=\([0-9]*\).*/\1/p'; }
mc=() dt=()
for r in $(seq 1 "$rounds"); do
    mc+=("$(run "$mc_port")")
    dt+=("$(run "$dm_port")")
    echo "round $r: memcached ${mc[-1]} ops/s, darter ${dt[-1]} ops/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m=$(median "${mc[@]}")
d=$(median "${dt[@]}")
echo
echo "| workload | memcached -t 1 ops/s | darter (1 thread) ops/s | ratio darter/memcached |"
echo "|---|---:|---:|---:|"
printf '| 90%% get / 10%% set, %s conns, 16 B values | %s | %s | %s |\n' "$conns" "$m" "$d" \
    "$(awk -v d="$d" -v m="$m" 'BEGIN {printf "%.2f", d / m}')"
