#!/usr/bin/env bash
# The whole test suite, from a fresh machine with a Rust toolchain:
#   1. installs redis-server and redis-tools, and memcached (Debian packages) when missing, for the
#      differential tests, and stops the services the packages auto-start (tests use their own
#      private servers); pymemcache and node with Bull's npm dependencies for the client tests;
#   2. cargo fmt --check, cargo clippy -D warnings, then every test (cargo-nextest when installed,
#      else cargo test), ending with the runner's summary line, which CI reads.
# Usage: scripts/test.sh            (CI runs it through .ci/run with CI=true)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
START=$SECONDS

section() {
    printf '\n==== %s ====\n' "$*"
}

elapsed() {
    printf '(%ds)\n' "$((SECONDS - START))"
}

# --- 1. redis-server / redis-tools -------------------------------------------------------------
section "redis-server for the differential tests"
if command -v redis-server >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1; then
    echo "found $(redis-server --version)"
else
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: redis-server/redis-benchmark are missing and apt-get is not available;" >&2
        echo "       install Redis 7.0 (redis-server and redis-tools) and rerun." >&2
        exit 1
    fi
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    echo "installing redis-server and redis-tools with apt-get"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        redis-server redis-tools
    # The package starts a service on port 6379; the tests start their own servers on private
    # sockets, so stop it rather than leave it running.
    $SUDO service redis-server stop >/dev/null 2>&1 || true
    echo "installed $(redis-server --version)"
fi

# --- 1b. memcached -------------------------------------------------------------------------------
section "memcached for the differential tests"
if command -v memcached >/dev/null 2>&1; then
    echo "found $(memcached -V)"
else
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: memcached is missing and apt-get is not available; install memcached 1.6." >&2
        exit 1
    fi
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    echo "installing memcached with apt-get"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends memcached
    # The package starts a service on port 11211; the tests start their own.
    $SUDO service memcached stop >/dev/null 2>&1 || true
    echo "installed $(memcached -V)"
fi

# pymemcache (PyPI) for the Python client test of the memcached port.
if python3 -c 'import pymemcache' >/dev/null 2>&1; then
    echo "found pymemcache"
elif command -v python3 >/dev/null 2>&1; then
    echo "installing pymemcache"
    # pip first; a Debian system Python refuses pip (PEP 668), so then its own package.
    python3 -m pip install -q pymemcache 2>/dev/null \
        || python3 -m pip install -q --break-system-packages pymemcache 2>/dev/null \
        || { command -v apt-get >/dev/null 2>&1 \
            && ${SUDO:-} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                python3-pymemcache >/dev/null; } \
        || true
    if python3 -c 'import pymemcache' >/dev/null 2>&1; then
        echo "installed pymemcache"
    elif [ "${CI:-}" = "true" ]; then
        echo "error: could not install pymemcache (pip or python3-pymemcache)" >&2
        exit 1
    else
        echo "warning: pymemcache not installed; its test will skip" >&2
    fi
fi

# Bull (npm) for the job-queue client test (crates/server/tests/client_bull.rs): node and the
# pinned npm dependencies of tests/clients/bull, installed with `npm ci` when node_modules is
# missing.
BULL_DIR=tests/clients/bull
if [ -f "$BULL_DIR/node_modules/bull/package.json" ]; then
    echo "found bull's npm dependencies"
else
    if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
        echo "installing nodejs and npm with apt-get"
        SUDO=""
        if [ "$(id -u)" -ne 0 ]; then
            SUDO="sudo"
        fi
        { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null \
            && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                --no-install-recommends nodejs npm >/dev/null; } || true
    fi
    if command -v npm >/dev/null 2>&1; then
        echo "installing bull's npm dependencies (npm ci in $BULL_DIR)"
        # --ignore-scripts: the only install script is an optional native msgpack speed-up.
        (cd "$BULL_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || true
    fi
    if [ -f "$BULL_DIR/node_modules/bull/package.json" ]; then
        echo "installed bull's npm dependencies"
    elif [ "${CI:-}" = "true" ]; then
        echo "error: could not install node/npm or bull's npm dependencies ($BULL_DIR)" >&2
        exit 1
    else
        echo "warning: bull's npm dependencies not installed; its test will skip" >&2
    fi
fi

# --- 2. toolchain components ---------------------------------------------------------------------
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        if command -v rustup >/dev/null 2>&1; then
            rustup component add "$component"
        else
            echo "error: cargo ${component/rustfmt/fmt} is missing and rustup is not available" >&2
            exit 1
        fi
    fi
done

# --- 3. format, lint, test -----------------------------------------------------------------------
# Every step runs even if an earlier one failed, so one run shows every problem; the exit status is
# non-zero if any step failed.
failed=()

section "cargo fmt --all -- --check"
if cargo fmt --all -- --check; then
    echo "formatting ok"
else
    failed+=("cargo fmt --check")
fi
elapsed

section "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings || failed+=("cargo clippy")
elapsed

if [ "${#failed[@]}" -gt 0 ]; then
    printf '\n!!!! FAILED before the tests:'
    printf ' [%s]' "${failed[@]}"
    printf ' (the tests run anyway) !!!!\n'

fi

# A hung test must not stall the run: nextest kills a test after TEST_LIMIT_S seconds (tests take
# seconds; the limit only bounds a broken one), and the cargo test fallback is bounded as a whole.
TEST_LIMIT_S=180
status=0
if cargo nextest --version >/dev/null 2>&1; then
    # nextest does not run doctests: run them first, so the last line is nextest's summary.
    section "cargo test --workspace --doc"
    cargo test --workspace --doc || status=$?
    section "cargo nextest run --workspace $(elapsed)"
    # Passed as a tool config: a workspace .config/nextest.toml, if one appears, still wins.
    nextest_cfg=$(mktemp --suffix=.toml)
    trap 'rm -f "$nextest_cfg"' EXIT
    printf '[profile.default]\nslow-timeout = { period = "60s", terminate-after = %d }\n' \
        "$((TEST_LIMIT_S / 60))" >"$nextest_cfg"
    cargo nextest run --workspace --no-fail-fast --failure-output immediate-final \
        --tool-config-file "darter-test-sh:$nextest_cfg" || status=$?
else
    section "cargo test --workspace (cargo-nextest not installed) $(elapsed)"
    # cargo test prints one "test result:" line per test binary; add them up for one closing line.
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    timeout "$((TEST_LIMIT_S * 5))" cargo test --workspace --no-fail-fast 2>&1 | tee "$log" ||
        status=${PIPESTATUS[0]}
    awk '
        /^test result:/ {
            for (i = 1; i < NF; i++) {
                if ($(i + 1) ~ /^passed/) passed += $i
                if ($(i + 1) ~ /^failed/) failed += $i
                if ($(i + 1) ~ /^ignored/) ignored += $i
            }
            binaries++
        }
        END {
            printf "\nSummary: %d tests run: %d passed, %d failed, %d ignored (%d test binaries)\n",
                passed + failed, passed, failed, ignored, binaries
        }' "$log"
fi
# Nothing is printed after the runner's summary: CI reads the last line.
if [ "$status" -eq 0 ] && [ "${#failed[@]}" -gt 0 ]; then
    status=1
fi
exit "$status"
