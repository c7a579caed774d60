#!/usr/bin/env bash
# Runs the chaos soak (tests/chaos_soak.rs) for longer than the suite's minute: an HA pair
# (ours/ours, then ours/keepalived 2.2.7, half the time each) through a seeded random schedule
# of port flaps, packet loss, SIGHUP storms (valid, invalid, half-written files), vrrp_script
# flaps and kill -9/restart, checking that outside those disturbances exactly one host owns the
# VIP, that no restarted daemon keeps a stale VIP, and that memory and fds stay flat.
#
# usage: scripts/chaos-soak.sh [--minutes N] [--seed S]     (as root; default 10 minutes)
# The seed is printed; the same seed replays the same schedule.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=10
seed=
while [[ $# -gt 0 ]]; do
    case $1 in
    --minutes) minutes=$2; shift ;;
    --seed) seed=$2; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
export KEEPALIVED_RS_SOAK_SECS=$((minutes * 60))
[[ -n $seed ]] && export KEEPALIVED_RS_SOAK_SEED=$seed
exec cargo test --release --test chaos_soak chaos_soak_pairs_keep_one_owner -- --nocapture
