#!/usr/bin/env bash
# Reload of a big configuration, keepalived 2.2.7 vs keepalived-rs, side by side in one run.
#
#   scripts/bench/reload.sh [--runs N] [--settle SECS] [--bin PATH] [--keep]
#
# Setup: one namespace per implementation (tagged bl<pid>; keepalived 10.201.x, keepalived-rs
# 10.202.x), both up for the whole run, each with four interfaces eth0..eth3 (veth pairs whose
# other ends stay in the namespace, unused: no peer, every instance is MASTER) and 1000 VRRPv3
# instances, 250 per interface (VRIDs 1..250), state MASTER, priority 100, advert_int 1, one
# VIP 10.P.(100+K).VRID/32 each (K = interface). Both daemons read identical files (only the
# 10.P prefix differs); keepalived-rs runs with --no-config-watch so that only the signal
# reloads it (keepalived has no watcher).
#
# One run: the file is rewritten with instance VI_500 (eth1, VRID 250) moved to the other of
# its two VIPs (10.P.101.250 <-> 10.P.150.250), then SIGHUP. Measured:
#   latency  SIGHUP sent ($EPOCHREALTIME, no fork, right before the `kill` builtin) -> the new
#            VIP's RTM_NEWADDR, read by `ip -ts monitor address` running in the namespace for
#            the whole benchmark (CLOCK_REALTIME when ip read the event).
#   elsewhere  address events (RTM_NEWADDR/RTM_DELADDR) of any other address from the signal
#            until SETTLE seconds (default 3) after the change appeared: flaps of instances
#            that did not change. The changed instance itself accounts for exactly 2 events
#            (old VIP deleted, new one added); any other count of its own is reported too.
# Implementations alternate (ABBA) run by run.
#
# Targets (shared/mission.md): reload applied < 100 ms, 0 address events elsewhere.
# Prints per-run figures, then median / p90 / min / max per implementation. Exit status 1 if
# a run failed (the change did not appear within 15 s) or a daemon did not converge.

set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

RUNS=10
SETTLE=3
N=1000
PER_IF=250
usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --settle) SETTLE=$2; shift 2 ;;
    --bin) BENCH_BIN=$2; shift 2 ;;
    --keep) BENCH_KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs needs a positive number" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "needs root (network namespaces)" >&2; exit 2; }
[[ -x $BENCH_BIN ]] || { echo "no binary $BENCH_BIN (cargo build --release)" >&2; exit 2; }
for tool in keepalived ip awk; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done
[[ -n ${EPOCHREALTIME:-} ]] || { echo "needs bash >= 5 (EPOCHREALTIME)" >&2; exit 2; }

bench_init reload
TAG=bl$$
IMPLS=(ka rs)
declare -A NET=([ka]=201 [rs]=202)
declare -A NAME=([ka]="keepalived" [rs]="keepalived-rs")
declare -A PID=()
declare -A BROKEN=()
declare -A RES=()
CHANGED=500 # VI_500: interface eth1, VRID 250

ns() { printf '%s-h1\n' "$TAG$1"; }

# vip_of NET I [ALT]: VIP of instance I (1-based); ALT=1 gives VI_$CHANGED its other VIP.
vip_of() {
    local net=$1 i=$2 alt=${3:-0} k vrid
    k=$(((i - 1) / PER_IF))
    vrid=$(((i - 1) % PER_IF + 1))
    if [[ $i == "$CHANGED" && $alt == 1 ]]; then
        printf '10.%s.150.%s\n' "$net" "$vrid"
    else
        printf '10.%s.%s.%s\n' "$net" $((100 + k)) "$vrid"
    fi
}

# conf NET ALT: the 1000 instances.
conf() {
    local net=$1 alt=$2 i k vrid vip
    printf 'global_defs {\n    router_id bench_reload\n    vrrp_garp_master_delay 0\n}\n'
    for ((i = 1; i <= N; i++)); do
        k=$(((i - 1) / PER_IF))
        vrid=$(((i - 1) % PER_IF + 1))
        vip="10.$net.$((100 + k)).$vrid"
        [[ $i == "$CHANGED" && $alt == 1 ]] && vip="10.$net.150.$vrid"
        cat <<EOF
vrrp_instance VI_$i {
    state MASTER
    interface eth$k
    virtual_router_id $vrid
    priority 100
    version 3
    advert_int 1
    virtual_ipaddress {
        $vip/32
    }
}
EOF
    done
}

# make_ns IMPL: namespace with lo and eth0..eth3 (veth, peers ethKp up in the same namespace).
make_ns() {
    local impl=$1 n k
    n=$(ns "$impl")
    BENCH_LABS+=("$TAG$impl")
    ip netns add "$n" || return 1
    ip -n "$n" link set lo up || return 1
    for k in 0 1 2 3; do
        ip -n "$n" link add "eth$k" type veth peer name "eth${k}p" &&
            ip -n "$n" link set "eth${k}p" up &&
            ip -n "$n" link set "eth$k" up &&
            ip -n "$n" addr add "10.${NET[$impl]}.$k.1/24" dev "eth$k" || return 1
    done
}

vip_count() { ip -n "$(ns "$1")" -4 -o addr show | grep -c '/32 '; }

# to_epoch "[2026-01-01T00:00:00.123456]" -> seconds.micro (ip -ts prints local time; TZ=UTC)
to_epoch() {
    local s=${1#[}
    s=${s%]}
    TZ=UTC date -d "$s" +%s.%6N
}

# monitor_ready IMPL: the address monitor reports a marker address (added/removed on lo).
monitor_ready() {
    local impl=$1 n m i
    n=$(ns "$impl")
    m="10.${NET[$impl]}.254.254/32"
    for ((i = 0; i < 50; i++)); do
        ip -n "$n" addr add "$m" dev lo 2>/dev/null
        ip -n "$n" addr del "$m" dev lo 2>/dev/null
        grep -qF "$m" "$BENCH_WORK/$impl.mon.log" && return 0
        sleep 0.1
    done
    return 1
}

# events IMPL FROM: address lines of the monitor after line FROM (marker excluded).
events() {
    tail -n +"$(($2 + 1))" "$BENCH_WORK/$1.mon.log" | grep ' inet ' | grep -vF "10.${NET[$1]}.254.254/"
}

ALT=0
# run_once IMPL: one reload; prints "latency_ms elsewhere own" or "FAIL reason".
run_once() {
    local impl=$1 net=${NET[$1]} mon=$BENCH_WORK/$1.mon.log n0 old new line i t0 t_vip
    old=$(vip_of "$net" "$CHANGED" "$ALT")
    new=$(vip_of "$net" "$CHANGED" $((1 - ALT)))
    conf "$net" $((1 - ALT)) >"$BENCH_WORK/$impl.conf.tmp"
    mv "$BENCH_WORK/$impl.conf.tmp" "$BENCH_WORK/$impl.conf"
    n0=$(wc -l <"$mon")
    t0=$EPOCHREALTIME
    kill -HUP "${PID[$impl]}"
    line=
    for ((i = 0; i < 1500; i++)); do
        line=$(tail -n +"$((n0 + 1))" "$mon" | grep -v Deleted | grep -m1 -F " inet $new/") && break
        line=
        sleep 0.01
    done
    if [[ -z $line ]]; then
        echo "FAIL new-vip-not-within-15s"
        return 1
    fi
    t_vip=$(to_epoch "${line%% *}")
    sleep "$SETTLE" # the window in which flaps elsewhere are counted
    local all own
    all=$(events "$impl" "$n0" | wc -l)
    own=$(events "$impl" "$n0" | grep -cE " inet ($old|$new)/")
    awk -v tv="$t_vip" -v t0="$t0" -v all="$all" -v own="$own" \
        'BEGIN { printf "%.1f %d %d\n", (tv - t0) * 1000, all - own, own }'
}

bench_log "$(bench_machine_note)"
bench_log "keepalived: $(keepalived --version 2>&1 | head -n1)"
bench_log "keepalived-rs: $BENCH_BIN ($("$BENCH_BIN" -v 2>&1 | head -n1))"
bench_log "work dir: $BENCH_WORK"

for impl in "${IMPLS[@]}"; do
    make_ns "$impl" || { bench_log "cannot create namespace $(ns "$impl")"; exit 1; }
    conf "${NET[$impl]}" 0 >"$BENCH_WORK/$impl.conf"
    bench_bg "$impl.mon" env TZ=UTC ip -ts -n "$(ns "$impl")" monitor address
done
d=$BENCH_WORK
bench_bg ka ip netns exec "$(ns ka)" keepalived -n -l -G -f "$d/ka.conf" \
    -p "$d/ka.pid" -r "$d/ka.vrrp.pid" -c "$d/ka.chk.pid" -b "$d/ka.bfd.pid"
PID[ka]=$BENCH_LAST_PID
bench_bg rs ip netns exec "$(ns rs)" "$BENCH_BIN" -n -l -G --no-config-watch -f "$d/rs.conf" \
    -p "$d/rs.pid"
PID[rs]=$BENCH_LAST_PID

for impl in "${IMPLS[@]}"; do
    ok=0
    for ((i = 0; i < 600; i++)); do
        [[ $(vip_count "$impl") -ge $N ]] && { ok=1; break; }
        sleep 0.1
    done
    if [[ $ok == 0 ]]; then
        bench_log "${NAME[$impl]}: $(vip_count "$impl") of $N VIPs after 60 s"
        tail -n 20 "$BENCH_WORK/$impl.log" >&2
        BROKEN[$impl]=1
    elif ! monitor_ready "$impl"; then
        bench_log "${NAME[$impl]}: address monitor not ready"
        BROKEN[$impl]=1
    fi
done
sleep 2 # settled: startup GARPs and any late transitions are over

printf '%-4s %-14s %12s %10s %10s\n' run impl latency_ms elsewhere own
status=0
for ((r = 1; r <= RUNS; r++)); do
    if ((r % 2)); then order=(ka rs); else order=(rs ka); fi
    for impl in "${order[@]}"; do
        [[ -n ${BROKEN[$impl]:-} ]] && continue
        out=$(run_once "$impl")
        read -r lat other own <<<"$out"
        printf '%-4s %-14s %12s %10s %10s\n' "$r" "${NAME[$impl]}" "$lat" "${other:-}" "${own:-}"
        if [[ $lat == FAIL ]]; then
            status=1
            tail -n 20 "$BENCH_WORK/$impl.log" >&2
            continue
        fi
        RES[$impl.lat]+="$lat"$'\n'
        RES[$impl.other]+="$other"$'\n'
        RES[$impl.own]+="$own"$'\n'
    done
    ALT=$((1 - ALT))
done

echo
echo "reload, $N VRRPv3 instances (4 interfaces x $PER_IF), one VIP changed; events elsewhere within ${SETTLE} s"
printf '%-14s %-12s %3s %8s %8s %8s %8s\n' impl measure n median p90 min max
declare -A MED=() MAXO=()
for impl in "${IMPLS[@]}"; do
    for m in lat other own; do
        read -r n med p90 mn mx < <(printf '%s' "${RES[$impl.$m]:-}" | bench_stats)
        label=latency_ms
        [[ $m == other ]] && label=elsewhere
        [[ $m == own ]] && label=own_events
        printf '%-14s %-12s %3s %8s %8s %8s %8s\n' "${NAME[$impl]}" "$label" "$n" "$med" "$p90" "$mn" "$mx"
        [[ $m == lat ]] && MED[$impl]=$med
        [[ $m == other ]] && MAXO[$impl]=$mx
        [[ $n == "$RUNS" ]] || status=1
    done
done
printf 'ratio rs/ka of latency medians: %s\n' "$(bench_ratio "${MED[rs]:--}" "${MED[ka]:--}")"
printf 'target: keepalived-rs latency median < 100 ms and 0 events elsewhere in every run -> %s\n' \
    "$(awk -v m="${MED[rs]:--}" -v o="${MAXO[rs]:--}" 'BEGIN {
        if (m == "-" || o == "-") print "n/a"; else if (m < 100 && o == 0) print "MET"; else print "NOT MET" }')"
exit $status
