# shellcheck shell=bash source-path=SCRIPTDIR
# Shared helpers for scripts/bench/*.sh: daemon start/stop, process-tree accounting, cleanup.
# Sourced, never run. Uses scripts/netns-lab.sh for the namespace LAN.
#
# Every benchmark keeps the pids it started in BENCH_PIDS and the lab tags it created in
# BENCH_LABS; bench_cleanup (installed as EXIT/INT/TERM trap by bench_init) stops exactly
# those processes (and the children keepalived forked), then deletes exactly those
# namespaces. Nothing is killed by name.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_ROOT=$(cd "$BENCH_DIR/../.." && pwd)
# shellcheck source=../netns-lab.sh
source "$BENCH_ROOT/scripts/netns-lab.sh"

# Globals read by the scripts that source this file.
# shellcheck disable=SC2034
{
    BENCH_BIN=${BENCH_BIN:-$BENCH_ROOT/target/release/keepalived-rs}
    CLK_TCK=$(getconf CLK_TCK)
}
BENCH_PIDS=()
BENCH_LABS=()
BENCH_WORK=
BENCH_KEEP=0
BENCH_CLEANED=0

bench_log() { printf '%s\n' "$*" >&2; }

# bench_init NAME: unique work dir and traps.
bench_init() {
    BENCH_WORK=$(mktemp -d "/tmp/bench-$1.XXXXXX")
    trap 'bench_cleanup; exit 130' INT
    trap 'bench_cleanup; exit 143' TERM
    trap 'bench_cleanup' EXIT
}

# bench_children PID: every descendant of PID (one per line), from /proc.
bench_children() {
    local parent=$1 f stat rest pid ppid kids=()
    for f in /proc/[0-9]*/stat; do
        { read -r stat <"$f"; } 2>/dev/null || continue
        rest=${stat##*) }
        read -r _ ppid _ <<<"$rest"
        if [[ $ppid == "$parent" ]]; then
            pid=${f#/proc/}
            pid=${pid%/stat}
            kids+=("$pid")
        fi
    done
    for pid in "${kids[@]}"; do
        printf '%s\n' "$pid"
        bench_children "$pid"
    done
}

# bench_tree PID: PID and its descendants.
bench_tree() {
    [[ -d /proc/$1 ]] || return 0
    printf '%s\n' "$1"
    bench_children "$1"
}

# bench_stop PID...: SIGTERM each process tree, wait up to 3 s, then SIGKILL what is left.
bench_stop() {
    local all=() p i
    for p in "$@"; do
        [[ -n $p ]] || continue
        mapfile -t -O "${#all[@]}" all < <(bench_tree "$p")
    done
    [[ ${#all[@]} -gt 0 ]] || return 0
    for p in "${all[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for ((i = 0; i < 30; i++)); do
        local alive=0
        for p in "${all[@]}"; do [[ -d /proc/$p ]] && kill -0 "$p" 2>/dev/null && alive=1; done
        [[ $alive == 0 ]] && break
        sleep 0.1
    done
    for p in "${all[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for p in "$@"; do wait "$p" 2>/dev/null; done
    return 0
}

bench_cleanup() {
    [[ $BENCH_CLEANED == 1 ]] && return 0
    BENCH_CLEANED=1
    trap - INT TERM
    local t
    bench_stop "${BENCH_PIDS[@]}"
    for t in "${BENCH_LABS[@]}"; do lab_destroy "$t" 2>/dev/null; done
    if [[ -n $BENCH_WORK && -d $BENCH_WORK ]]; then
        if [[ $BENCH_KEEP == 1 ]]; then
            bench_log "logs kept in $BENCH_WORK"
        else
            rm -rf "$BENCH_WORK"
        fi
    fi
}

# bench_lab TAG N PREFIX: create a lab of N hosts and remember it for cleanup.
bench_lab() {
    BENCH_LABS+=("$1")
    lab_create "$1" "$2" "$3"
}

# bench_bg NAME CMD...: start CMD in the background, output to $BENCH_WORK/NAME.log; sets
# BENCH_LAST_PID and remembers it for cleanup.
bench_bg() {
    local name=$1
    shift
    "$@" >"$BENCH_WORK/$name.log" 2>&1 &
    BENCH_LAST_PID=$!
    BENCH_PIDS+=("$BENCH_LAST_PID")
}

# bench_start_daemon IMPL NS NAME CONF: start keepalived ("ka") or keepalived-rs ("rs",
# binary $BENCH_BIN) in namespace NS with its own pid files; sets BENCH_LAST_PID.
bench_start_daemon() {
    local impl=$1 ns=$2 name=$3 conf=$4 d=$BENCH_WORK
    case $impl in
    ka)
        bench_bg "$name" ip netns exec "$ns" keepalived -n -l -D -G -f "$conf" \
            -p "$d/$name.pid" -r "$d/$name.vrrp.pid" -c "$d/$name.chk.pid" -b "$d/$name.bfd.pid"
        ;;
    rs)
        bench_bg "$name" ip netns exec "$ns" "$BENCH_BIN" -n -l -D -G -f "$conf" -p "$d/$name.pid"
        ;;
    *) return 2 ;;
    esac
}

# bench_ticks PID...: sum of utime+stime (clock ticks) of the given processes.
bench_ticks() {
    local p stat rest sum=0
    for p in "$@"; do
        { read -r stat <"/proc/$p/stat"; } 2>/dev/null || continue
        rest=${stat##*) }
        # shellcheck disable=SC2086
        set -- $rest
        sum=$((sum + ${12} + ${13}))
    done
    echo "$sum"
}

# bench_rss_kb PID...: sum of VmRSS (kB).
bench_rss_kb() {
    local p sum=0 v
    for p in "$@"; do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

# bench_now: wall clock, seconds with microseconds.
bench_now() { date +%s.%6N; }

# Statistics over numbers on stdin (one per line, "FAIL" lines ignored):
# prints "n median p90 min max" (nearest-rank percentiles) or "0 - - - -".
bench_stats() {
    grep -E '^[0-9.]+$' | sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "0 - - - -"; exit }
            if (NR % 2) med = v[(NR + 1) / 2]; else med = (v[NR / 2] + v[NR / 2 + 1]) / 2
            r = int(0.9 * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR
            printf "%d %.1f %.1f %.1f %.1f\n", NR, med, v[r], v[1], v[NR]
        }'
}

# bench_ratio A B: A/B with 2 decimals, "-" if not computable.
bench_ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

bench_machine_note() {
    printf 'host %s, %s cores, load average %s, %s\n' "$(uname -r)" "$(nproc)" \
        "$(cut -d' ' -f1-3 /proc/loadavg)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
