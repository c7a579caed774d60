#!/usr/bin/env bash
# Failover time, keepalived 2.2.7 vs keepalived-rs, side by side in one run.
#
#   scripts/bench/failover.sh [--runs N] [--bin PATH] [--mode down|detach|both]
#                             [--advert SECS] [--no-accept] [--keep]
#
# Setup (one namespace LAN per implementation, scripts/netns-lab.sh, both up for the whole
# run): switch TAG-sw with bridge br0, routers h1 (priority 150, the master) and h2
# (priority 100, the backup), VRRPv3, advert_int 0.01, one VIP 10.P.0.100/24 on eth0.
# keepalived uses prefix 10.201.0, keepalived-rs 10.202.0; only the daemons under test run.
#
# One "cut" = wait until h1 owns the VIP, h2 does not, and the last 20 adverts on h2's wire
# all come from h1 (h2 is BACKUP: silent); then cut h1's switch port, time until the VIP
# appears on h2, restore the port. Implementations alternate (ABBA order) run by run.
#
# --no-accept: both implementations run with `no_accept` (VIP firewall on: the master's VIPs
# are in keepalived's nftables `vips` set, dropped; checked on h1 before the first cut).
#
# Cut modes:
#   down    `ip -n SW link set v-h1 down` (the mission's "master's link cut"): h1's eth0
#           loses carrier (NO-CARRIER), so the old master also goes FAULT and drops its VIP.
#   detach  `ip -n SW link set v-h1 nomaster`: pure silence, h1 keeps its VIP (split brain
#           until the port is re-attached). The backup's view is identical in both modes.
#
# Method (all timestamps are CLOCK_REALTIME, microseconds):
#   t_vip   the RTM_NEWADDR event for the VIP on h2: `ip -ts -n h2 monitor address dev eth0`
#           runs for the whole benchmark, the timestamp is taken when ip reads the event.
#   t_adv   kernel receive timestamp of the last advert from h1 seen on h2's eth0
#           (`tcpdump -tt --immediate-mode` in h2, whole benchmark).
#   t_cut   the RTM_NEWLINK event of the cut port in the switch namespace (`ip -ts monitor
#           link`, whole benchmark): when the kernel applied the cut, without the fork/exec
#           time of `ip link set` (several ms on a loaded machine).
#   adv->vip = t_vip - t_adv is what the protocol bounds: master_down_interval =
#   3 x advert_int + skew, skew = (256 - 100) x advert_int / 256 -> 36.1 ms at 0.01 s.
#   cut->vip = t_vip - t_cut is what an operator sees; it is adv->vip minus the (random,
#   0..advert_int) time between the last advert and the cut.
#   adv->adv = first advert of the new master (h2) - t_adv: the protocol timer alone, so
#   adv->vip - adv->adv is the time from "I am master" to the address being installed.
#   adv->garp = first gratuitous ARP for the VIP on the wire - t_adv (when the LAN learns
#   the move); "none" if h2 sent none before the port was restored.
#
# Prints per-cut times, then median / p90 / min / max per implementation and mode and the
# ratio keepalived-rs / keepalived. Exit status 0 when all cuts of both converged.

set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

RUNS=10
MODE=down
ADVERT=0.01
ACCEPT_LINE=
usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --bin) BENCH_BIN=$2; shift 2 ;;
    --mode) MODE=$2; shift 2 ;;
    --advert) ADVERT=$2; shift 2 ;;
    --keep) BENCH_KEEP=1; shift ;;
    --no-accept) ACCEPT_LINE="    no_accept"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
case $MODE in
down) MODES=(down) ;;
detach) MODES=(detach) ;;
both) MODES=(down detach) ;;
*) echo "--mode must be down, detach or both" >&2; exit 2 ;;
esac
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs needs a positive number" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "needs root (network namespaces)" >&2; exit 2; }
[[ -x $BENCH_BIN ]] || { echo "no binary $BENCH_BIN (cargo build --release)" >&2; exit 2; }
for tool in keepalived tcpdump ip awk; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done

bench_init failover
TAG=bf$$
IMPLS=(ka rs)
declare -A PREFIX=([ka]=10.201.0 [rs]=10.202.0)
declare -A NAME=([ka]="keepalived" [rs]="keepalived-rs")
declare -A BROKEN=()
RFC_MIN=$(awk -v a="$ADVERT" 'BEGIN { printf "%.1f", (3 * a + (256 - 100) * a / 256) * 1000 }')

conf() { # conf PRIO VIP
    cat <<EOF
global_defs {
    router_id bench_failover
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority $1
    version 3
    advert_int $ADVERT
$ACCEPT_LINE
    virtual_ipaddress {
        $2/24
    }
}
EOF
}

vip() { printf '%s.100\n' "${PREFIX[$1]}"; }
tag() { printf '%s%s\n' "$TAG" "$1"; }

# owns IMPL HOST: true if hHOST of IMPL's lab has the VIP.
owns() { lab_has_addr "$(tag "$1")" "$2" "$(vip "$1")"; }

# h2_silent IMPL: the last 20 adverts captured on h2 all come from h1 (h2 is not advertising).
h2_silent() {
    local f=$BENCH_WORK/$1.adv.log h1
    h1=$(lab_addr x 1 "${PREFIX[$1]}")
    [[ $(grep -c ' IP ' "$f") -ge 20 ]] || return 1
    ! grep ' IP ' "$f" | tail -n 20 | grep -qv " IP $h1 > "
}

# stable IMPL: wait up to 30 s for h1 MASTER with the VIP, h2 BACKUP without it, held for
# 0.5 s.
stable() {
    local impl=$1 i ok=0
    for ((i = 0; i < 300; i++)); do
        if owns "$impl" 1 && ! owns "$impl" 2 && h2_silent "$impl"; then
            ok=$((ok + 1))
            [[ $ok -ge 5 ]] && return 0
        else
            ok=0
        fi
        sleep 0.1
    done
    return 1
}

show_logs() {
    local impl=$1 h
    for h in h1 h2; do
        bench_log "--- ${NAME[$impl]} $h (last 25 lines of $BENCH_WORK/$impl-$h.log)"
        tail -n 25 "$BENCH_WORK/$impl-$h.log" >&2
    done
    bench_log "--- VIP owners: h1 $(owns "$impl" 1 && echo yes || echo no), h2 $(owns "$impl" 2 && echo yes || echo no)"
    bench_log "--- last adverts on h2's wire:"
    tail -n 5 "$BENCH_WORK/$impl.adv.log" >&2
}

# to_epoch "[2026-01-01T00:00:00.123456]" -> seconds.micro (ip -ts prints local time; run in UTC)
to_epoch() {
    local s=${1#[}
    s=${s%]}
    TZ=UTC date -d "$s" +%s.%6N
}

# cut_once IMPL MODE: one measurement; prints "adv_ms cut_ms" or "FAIL reason".
cut_once() {
    local impl=$1 mode=$2 t sw mon=$BENCH_WORK/$1.mon.log adv=$BENCH_WORK/$1.adv.log
    local links=$BENCH_WORK/$1.link.log
    t=$(tag "$impl")
    sw=$(lab_sw "$t")
    local v n0 l0 t_cut line t_vip t_adv t_new t_garp i h1
    v=$(vip "$impl")
    h1=$(lab_addr x 1 "${PREFIX[$impl]}")
    n0=$(wc -l <"$mon")
    l0=$(wc -l <"$links")
    if [[ $mode == down ]]; then
        ip -n "$sw" link set v-h1 down
    else
        ip -n "$sw" link set v-h1 nomaster
    fi
    line=
    for ((i = 0; i < 100; i++)); do
        line=$(tail -n +"$((n0 + 1))" "$mon" | grep -v Deleted | grep -m1 -F " inet $v/") && break
        line=
        sleep 0.05
    done
    sleep 0.05 # let tcpdump flush
    if [[ $mode == down ]]; then
        ip -n "$sw" link set v-h1 up
    else
        ip -n "$sw" link set v-h1 master br0
    fi
    if [[ -z $line ]]; then
        echo "FAIL no-vip-on-backup-within-5s"
        return 1
    fi
    t_vip=$(to_epoch "${line%% *}")
    line=$(tail -n +"$((l0 + 1))" "$links" | grep -m1 -E '^\[[^]]*\] [0-9]+: v-h1[@:]')
    if [[ -z $line ]]; then
        echo "FAIL no-link-event-for-the-cut"
        return 1
    fi
    t_cut=$(to_epoch "${line%% *}")
    t_adv=$(awk -v tv="$t_vip" -v src="$h1" '$2 == "IP" && $3 == src && $1 < tv { last = $1 } END { print last }' "$adv")
    # first advert of the new master (h2) after that: the protocol timer alone.
    t_new=$(awk -v ta="${t_adv:-0}" -v src="$(lab_addr x 2 "${PREFIX[$impl]}")" \
        '$2 == "IP" && $3 == src && $1 > ta { print $1; exit }' "$adv")
    # first gratuitous ARP for the VIP after that, before the port is restored (+50 ms).
    t_garp=$(awk -v ta="${t_adv:-0}" -v tv="$t_vip" -v vip="$v" \
        '$2 == "ARP," && $1 > ta && $1 < tv + 0.05 && index($0, " " vip) { print $1; exit }' "$adv")
    awk -v tv="$t_vip" -v ta="${t_adv:-0}" -v tc="$t_cut" -v tn="${t_new:-0}" -v tg="${t_garp:-0}" 'BEGIN {
        if (ta == 0) a = "-"; else a = sprintf("%.1f", (tv - ta) * 1000)
        if (ta == 0 || tn == 0) n = "-"; else n = sprintf("%.1f", (tn - ta) * 1000)
        if (ta == 0 || tg == 0) g = "none"; else g = sprintf("%.1f", (tg - ta) * 1000)
        printf "%s %.1f %s %s\n", a, (tv - tc) * 1000, n, g }'
}

bench_log "$(bench_machine_note)"
bench_log "keepalived: $(keepalived --version 2>&1 | head -n1)"
bench_log "keepalived-rs: $BENCH_BIN ($("$BENCH_BIN" -v 2>&1 | head -n1))"
bench_log "work dir: $BENCH_WORK"

for impl in "${IMPLS[@]}"; do
    t=$(tag "$impl")
    if ! bench_lab "$t" 2 "${PREFIX[$impl]}"; then
        bench_log "cannot create lab $t"
        exit 1
    fi
    h2=$(lab_ns "$t" 2)
    bench_bg "$impl.adv" ip netns exec "$h2" tcpdump -l -nn -tt --immediate-mode -i eth0 'ip proto 112 or arp'
    # ip -ts prints local time: force UTC so to_epoch() can read it back.
    bench_bg "$impl.mon" env TZ=UTC ip -ts -n "$h2" monitor address dev eth0
    bench_bg "$impl.link" env TZ=UTC ip -ts -n "$(lab_sw "$t")" monitor link
    for h in 1 2; do
        prio=$((h == 1 ? 150 : 100))
        conf "$prio" "$(vip "$impl")" >"$BENCH_WORK/$impl-h$h.conf"
    done
done
sleep 1 # tcpdump needs a moment before it captures
for impl in "${IMPLS[@]}"; do
    t=$(tag "$impl")
    for h in 1 2; do
        bench_start_daemon "$impl" "$(lab_ns "$t" "$h")" "$impl-h$h" "$BENCH_WORK/$impl-h$h.conf"
    done
done
for impl in "${IMPLS[@]}"; do
    if ! stable "$impl"; then
        bench_log "${NAME[$impl]}: did not converge (h1 MASTER with VIP, h2 silent BACKUP) in 30 s"
        show_logs "$impl"
        BROKEN[$impl]=1
    fi
done

if [[ -n $ACCEPT_LINE ]]; then
    for impl in "${IMPLS[@]}"; do
        [[ -n ${BROKEN[$impl]:-} ]] && continue
        if ip netns exec "$(lab_ns "$(tag "$impl")" 1)" nft list set ip keepalived vips 2>/dev/null |
            grep -qF "$(vip "$impl")"; then
            bench_log "${NAME[$impl]}: firewall on (VIP in h1's nftables set ip keepalived vips)"
        else
            bench_log "${NAME[$impl]}: no_accept given but the VIP is not in h1's nftables vips set"
            BROKEN[$impl]=1
        fi
    done
fi

declare -A RES=()
printf '%-4s %-7s %-14s %10s %10s %10s %10s\n' run mode impl adv-\>vip cut-\>vip adv-\>adv adv-\>garp
for ((r = 1; r <= RUNS; r++)); do
    for mode in "${MODES[@]}"; do
        if ((r % 2)); then order=(ka rs); else order=(rs ka); fi
        for impl in "${order[@]}"; do
            [[ -n ${BROKEN[$impl]:-} ]] && continue
            out=$(cut_once "$impl" "$mode")
            read -r a c n g <<<"$out"
            printf '%-4s %-7s %-14s %10s %10s %10s %10s\n' "$r" "$mode" "${NAME[$impl]}" "$a" "$c" "${n:-}" "${g:-}"
            RES[$impl.$mode.garp]+="${g:-}"$'\n'
            RES[$impl.$mode.adv]+="$a"$'\n'
            RES[$impl.$mode.cut]+="$c"$'\n'
            RES[$impl.$mode.timer]+="${n:-}"$'\n'
            if [[ $a == FAIL ]]; then
                show_logs "$impl"
            fi
            if ! stable "$impl"; then
                bench_log "${NAME[$impl]}: no stable master again after restoring the port"
                show_logs "$impl"
                BROKEN[$impl]=1
            fi
        done
    done
done

echo
echo "failover, VRRPv3 advert_int $ADVERT${ACCEPT_LINE:+, no_accept (VIP firewall on)}, priorities 150/100; RFC minimum (adv->vip) $RFC_MIN ms"
printf '%-7s %-9s %-14s %3s %8s %8s %8s %8s\n' mode measure impl n median p90 min max
status=0
for mode in "${MODES[@]}"; do
    for m in adv cut timer garp; do
        declare -A MED=()
        for impl in "${IMPLS[@]}"; do
            read -r n med p90 mn mx < <(printf '%s' "${RES[$impl.$mode.$m]:-}" | bench_stats)
            MED[$impl]=$med
            label="$m->vip"
            [[ $m == timer ]] && label="adv->adv"
            [[ $m == garp ]] && label="adv->garp"
            printf '%-7s %-9s %-14s %3s %8s %8s %8s %8s\n' "$mode" "$label" "${NAME[$impl]}" "$n" "$med" "$p90" "$mn" "$mx"
            [[ $m == garp || $n == "$RUNS" ]] || status=1
        done
        printf '%-7s %-9s %-14s     ratio rs/ka of medians: %s\n' "$mode" "$label" "" "$(bench_ratio "${MED[rs]}" "${MED[ka]}")"
        if [[ $m == adv ]]; then
            printf '%-7s %-9s %-14s     target: rs median <= ka median (%s) and <= RFC min + 5 = %s -> %s\n' \
                "$mode" "" "" "${MED[ka]}" "$(awk -v r="$RFC_MIN" 'BEGIN { printf "%.1f", r + 5 }')" \
                "$(awk -v a="${MED[rs]}" -v k="${MED[ka]}" -v r="$RFC_MIN" 'BEGIN {
                    if (a == "-" || k == "-") print "n/a"; else if (a <= k && a <= r + 5) print "MET"; else print "NOT MET" }')"
        fi
        unset MED
    done
done
exit $status
