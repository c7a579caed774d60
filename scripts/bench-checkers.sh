#!/bin/bash
# Checker benchmark: 5000 real servers on TCP_CHECK at delay_loop 1, listeners on 5000 ports
# of 10.1.0.1 in a private network namespace, IPVS replaced by the in-memory table (works on
# hosts without IPVS). Prints CPU% of one core and RSS of the director over the window.
#
#   scripts/bench-checkers.sh            # 5000 RS, 30 s
#   LVS_BENCH_RS=1000 LVS_BENCH_SECS=10 scripts/bench-checkers.sh
#
# Needs root (unshare -n). Builds the bench test in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --test lvs_bench --no-run >/dev/null 2>&1 || cargo test --release --test lvs_bench --no-run
BIN=$(cargo test --release --test lvs_bench --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*lvs_bench[^"]*\)".*/\1/p' | tail -n1)
[ -x "$BIN" ] || { echo "bench binary not found" >&2; exit 1; }
# The listener process holds 5000 sockets, the director 5000 in flight at worst.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
exec unshare -n -- /bin/bash -c '
    set -e
    ip link set lo up
    ip addr add 10.1.0.1/16 dev lo
    sysctl -qw net.ipv4.ip_local_port_range="15000 19999" 2>/dev/null || true
    sysctl -qw net.ipv4.tcp_tw_reuse=1 2>/dev/null || true
    exec "$0" --ignored --exact bench_5000_tcp_checks --nocapture --test-threads=1
' "$BIN"
