#!/usr/bin/env bash
# CPU and memory, keepalived 2.2.7 vs keepalived-rs, side by side in one run.
#
#   scripts/bench/resources.sh [--instances N] [--advert SECS] [--warmup SECS]
#                              [--window SECS] [--windows K] [--bin PATH] [--keep]
#
# Setup: one namespace LAN per implementation (scripts/netns-lab.sh; keepalived 10.201.0.x,
# keepalived-rs 10.202.0.x), master h1 (priority 150) and backup h2 (priority 100), N VRRPv3
# instances (default 250, VRIDs 1..N) on eth0, advert_int 0.1, one VIP 10.P.1.VRID/32 each.
# Both pairs run at the same time, so both see the same machine load.
#
# Phase 1 (N instances): wait until h1 owns all N VIPs and h2 none (up to 90 s; if not,
# print what is seen plus logs and measure anyway, marked NOT CONVERGED), warm up (default
# 10 s: keepalived re-sends gratuitous ARPs 5 s after becoming master), then K windows of
# 30 s: CPU = delta(utime+stime) over the window / wall time, summed over the whole process
# tree (keepalived: parent + VRRP child (+ checker/BFD children if running); keepalived-rs:
# one process, all threads), in % of one core. RSS = sum of VmRSS over the tree at the end
# of the window.
# Phase 2 (1 instance): same pairs restarted with one instance; RSS after convergence and
# warm-up.
#
# Targets (shared/mission.md): CPU <= half of keepalived's, RSS <= keepalived's.

set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

N=250
ADVERT=0.1
WARMUP=10
WINDOW=30
WINDOWS=1
usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
    --instances) N=$2; shift 2 ;;
    --advert) ADVERT=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --window) WINDOW=$2; shift 2 ;;
    --windows) WINDOWS=$2; shift 2 ;;
    --bin) BENCH_BIN=$2; shift 2 ;;
    --keep) BENCH_KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
[[ $N =~ ^[0-9]+$ && $N -ge 1 && $N -le 255 ]] || { echo "--instances must be 1..255" >&2; exit 2; }
[[ $WINDOWS =~ ^[1-9][0-9]*$ ]] || { echo "--windows needs a positive number" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "needs root (network namespaces)" >&2; exit 2; }
[[ -x $BENCH_BIN ]] || { echo "no binary $BENCH_BIN (cargo build --release)" >&2; exit 2; }
command -v keepalived >/dev/null || { echo "missing keepalived" >&2; exit 2; }

bench_init resources
TAG=br$$
IMPLS=(ka rs)
declare -A NET=([ka]=201 [rs]=202)
declare -A NAME=([ka]="keepalived" [rs]="keepalived-rs")
declare -A PID=()
declare -A CONVERGED=()
declare -A R=()

# conf PRIO COUNT NET: COUNT instances, VRID i has VIP 10.NET.1.i/32.
conf() {
    local prio=$1 count=$2 net=$3 i
    printf 'global_defs {\n    router_id bench_resources\n}\n'
    for ((i = 1; i <= count; i++)); do
        cat <<EOF
vrrp_instance VI_$i {
    state BACKUP
    interface eth0
    virtual_router_id $i
    priority $prio
    version 3
    advert_int $ADVERT
    virtual_ipaddress {
        10.$net.1.$i/32
    }
}
EOF
    done
}

# vips IMPL H: number of VIPs (10.NET.1.*) on hH's eth0.
vips() {
    ip -n "$(lab_ns "$TAG$1" "$2")" -o -4 addr show dev eth0 | grep -c " inet 10\.${NET[$1]}\.1\."
}

# start COUNT: labs (first time) and both pairs.
start() {
    local count=$1 impl h t
    for impl in "${IMPLS[@]}"; do
        t=$TAG$impl
        if [[ -z $(lab_list "$t") ]]; then
            bench_lab "$t" 2 "10.${NET[$impl]}.0" || { bench_log "cannot create lab $t"; exit 1; }
        fi
        for h in 1 2; do
            conf $((h == 1 ? 150 : 100)) "$count" "${NET[$impl]}" >"$BENCH_WORK/$impl-h$h-$count.conf"
            bench_start_daemon "$impl" "$(lab_ns "$t" "$h")" "$impl-h$h-$count" "$BENCH_WORK/$impl-h$h-$count.conf"
            PID[$impl.$h]=$BENCH_LAST_PID
        done
    done
}

stop() {
    local impl h
    for impl in "${IMPLS[@]}"; do
        for h in 1 2; do bench_stop "${PID[$impl.$h]}"; done
    done
}

# converge COUNT: wait (up to 90 s) until every pair has COUNT VIPs on h1 and 0 on h2, held 2 s.
converge() {
    local count=$1 impl i ok
    for impl in "${IMPLS[@]}"; do CONVERGED[$impl]=0; done
    for ((i = 0; i < 180; i++)); do
        ok=1
        for impl in "${IMPLS[@]}"; do
            [[ ${CONVERGED[$impl]} -ge 4 ]] && continue
            if [[ $(vips "$impl" 1) == "$count" && $(vips "$impl" 2) == 0 ]]; then
                CONVERGED[$impl]=$((CONVERGED[$impl] + 1))
            else
                CONVERGED[$impl]=0
            fi
            [[ ${CONVERGED[$impl]} -ge 4 ]] || ok=0
        done
        [[ $ok == 1 ]] && return 0
        sleep 0.5
    done
    for impl in "${IMPLS[@]}"; do
        if [[ ${CONVERGED[$impl]} -lt 4 ]]; then
            bench_log "${NAME[$impl]}: NOT CONVERGED with $count instances: h1 has $(vips "$impl" 1) VIPs, h2 has $(vips "$impl" 2) (want $count / 0)"
            for h in 1 2; do
                bench_log "--- ${NAME[$impl]} h$h: last 15 log lines ($BENCH_WORK/$impl-h$h-$count.log)"
                tail -n 15 "$BENCH_WORK/$impl-h$h-$count.log" >&2
            done
        fi
    done
    return 1
}

procs() { bench_tree "${PID[$1.$2]}" | tr '\n' ' '; }

# mb KB -> MB with one decimal
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# measure_cpu: one window, all four daemons at once; appends to R[impl.h.cpu] (one per line).
measure_cpu() {
    local impl h key t0 t1 w0 w1
    declare -A T0=() P=()
    for impl in "${IMPLS[@]}"; do
        for h in 1 2; do
            key=$impl.$h
            P[$key]=$(procs "$impl" "$h")
        done
    done
    w0=$(bench_now)
    for key in "${!P[@]}"; do
        # shellcheck disable=SC2086
        T0[$key]=$(bench_ticks ${P[$key]})
    done
    sleep "$WINDOW"
    w1=$(bench_now)
    for key in "${!P[@]}"; do
        # shellcheck disable=SC2086
        t1=$(bench_ticks ${P[$key]})
        t0=${T0[$key]}
        R[$key.cpu]+=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v w0="$w0" -v w1="$w1" \
            'BEGIN { printf "%.2f", d / hz / (w1 - w0) * 100 }')$'\n'
        # shellcheck disable=SC2086
        R[$key.rss]=$(bench_rss_kb ${P[$key]})
        R[$key.nproc]=$(wc -w <<<"${P[$key]}")
    done
}

bench_log "$(bench_machine_note)"
bench_log "keepalived: $(keepalived --version 2>&1 | head -n1)"
bench_log "keepalived-rs: $BENCH_BIN ($("$BENCH_BIN" -v 2>&1 | head -n1))"
bench_log "work dir: $BENCH_WORK"

status=0
bench_log "phase 1: $N instances, advert_int $ADVERT"
start "$N"
converge "$N" || status=1
bench_log "warm-up ${WARMUP}s"
sleep "$WARMUP"
for ((w = 1; w <= WINDOWS; w++)); do
    bench_log "window $w/$WINDOWS: ${WINDOW}s"
    measure_cpu
done
for impl in "${IMPLS[@]}"; do
    for h in 1 2; do
        R[$impl.$h.rssN]=${R[$impl.$h.rss]}
        R[$impl.$h.nprocN]=${R[$impl.$h.nproc]}
        R[$impl.$h.conv]=$([[ ${CONVERGED[$impl]} -ge 4 ]] && echo yes || echo "NO")
    done
done
stop

bench_log "phase 2: 1 instance"
start 1
converge 1 || status=1
sleep "$(awk -v w="$WARMUP" 'BEGIN { print (w < 6 ? w : 6) }')"
for impl in "${IMPLS[@]}"; do
    for h in 1 2; do
        # shellcheck disable=SC2046
        R[$impl.$h.rss1]=$(bench_rss_kb $(procs "$impl" "$h"))
        R[$impl.$h.nproc1]=$(procs "$impl" "$h" | wc -w)
    done
done
stop

# Median of the windows' CPU values, two decimals.
cpu_med() {
    printf '%s' "${R[$1.cpu]}" | grep -E '^[0-9.]+$' | sort -g |
        awk '{ v[NR] = $1 } END { if (!NR) { print "-"; exit } if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f\n", m }'
}

echo
echo "resources: $N VRRPv3 instances, advert_int $ADVERT, ${WINDOWS} x ${WINDOW}s window(s) after ${WARMUP}s warm-up"
echo "converged ($N): keepalived ${R[ka.1.conv]}, keepalived-rs ${R[rs.1.conv]}"
printf '%-26s %12s %14s %8s  %s\n' what keepalived keepalived-rs rs/ka target
row() { # row LABEL KA RS TARGET_MAX_RATIO
    local r verdict
    r=$(bench_ratio "$3" "$2")
    verdict=$(awk -v r="$r" -v t="$4" 'BEGIN { if (r == "-") print "n/a"; else if (r <= t) print "MET"; else print "NOT MET" }')
    printf '%-26s %12s %14s %8s  <= %s -> %s\n' "$1" "$2" "$3" "$r" "$4" "$verdict"
}
row "CPU master, % of a core" "$(cpu_med ka.1)" "$(cpu_med rs.1)" 0.5
row "CPU backup, % of a core" "$(cpu_med ka.2)" "$(cpu_med rs.2)" 0.5
row "RSS master $N inst, MB" "$(mb "${R[ka.1.rssN]}")" "$(mb "${R[rs.1.rssN]}")" 1.0
row "RSS backup $N inst, MB" "$(mb "${R[ka.2.rssN]}")" "$(mb "${R[rs.2.rssN]}")" 1.0
row "RSS master 1 inst, MB" "$(mb "${R[ka.1.rss1]}")" "$(mb "${R[rs.1.rss1]}")" 1.0
row "RSS backup 1 inst, MB" "$(mb "${R[ka.2.rss1]}")" "$(mb "${R[rs.2.rss1]}")" 1.0
echo "processes summed: keepalived ${R[ka.1.nprocN]} (master) / ${R[ka.2.nprocN]} (backup), keepalived-rs ${R[rs.1.nprocN]} / ${R[rs.2.nprocN]}"
if [[ $WINDOWS -gt 1 ]]; then
    for key in ka.1 ka.2 rs.1 rs.2; do
        echo "CPU per window $key: $(printf '%s' "${R[$key.cpu]}" | tr '\n' ' ')"
    done
fi
exit $status
