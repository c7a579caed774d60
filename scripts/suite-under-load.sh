#!/usr/bin/env bash
# Runs the whole test suite several times in a row while CPU burners keep every core busy
# (issue #19: no test may pass only on an idle machine). Builds first (release binary and the
# test binaries, unloaded), then starts the burners, then runs the same command as
# scripts/test.sh N times, stopping at the first failing run. Prints each run's duration, its
# passed/failed/ignored counts and the load average sampled every 30 s during it.
#
# usage: scripts/suite-under-load.sh [--runs N] [--burners K] [--log DIR] [--keep-going]
#        (as root; default 3 runs, one burner per core, logs in target/suite-under-load/;
#        --keep-going: every test binary runs even after a failure, to find them all at once)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
burners=$(nproc)
logdir=target/suite-under-load
keep_going=
while [[ $# -gt 0 ]]; do
    case $1 in
    --runs) runs=$2; shift ;;
    --burners) burners=$2; shift ;;
    --log) logdir=$2; shift ;;
    --keep-going) keep_going=--no-fail-fast ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/suite-under-load.sh: run as root (network namespace tests need it)" >&2
    exit 1
fi

bash scripts/install-deps.sh
export CARGO_TERM_COLOR=never
export KEEPALIVED_DEMO_REQUIRE_RELEASE=1
cargo build --release --locked
cargo test --locked --no-run
mkdir -p "$logdir"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
for _ in $(seq "$burners"); do
    # A busy loop at the tests' own priority: the scheduler shares each core between it and them.
    bash -c 'while :; do :; done' &
    pids+=($!)
done
echo "suite-under-load: $burners burner(s) on $(nproc) core(s), $runs run(s), logs in $logdir"

for i in $(seq "$runs"); do
    log="$logdir/run-$i.log"
    loadlog="$logdir/run-$i.load"
    : >"$loadlog"
    (while :; do cut -d' ' -f1-3 /proc/loadavg >>"$loadlog"; sleep 30; done) &
    sampler=$!
    start=$(date +%s)
    set +e
    cargo test --locked $keep_going -- --test-threads=2 >"$log" 2>&1
    rc=$?
    set -e
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    secs=$(($(date +%s) - start))
    counts=$(awk '/^test result:/ {p+=$4; f+=$6; ig+=$8; b++} END {printf "%d binaries, %d passed, %d failed, %d ignored", b, p, f, ig}' "$log")
    load=$(awk '{a+=$1; if ($1>m) m=$1; n++} END {if (n) printf "1-min load average mean %.2f, max %.2f", a/n, m}' "$loadlog")
    echo "run $i: exit $rc in ${secs}s: $counts; $load"
    if [[ $rc -ne 0 ]]; then
        grep -E "^(---- |test .* FAILED|error: test failed)" "$log" | head -40 || true
        echo "suite-under-load: run $i failed (log: $log)"
        exit 1
    fi
done
echo "suite-under-load: $runs run(s) in a row passed under load"
