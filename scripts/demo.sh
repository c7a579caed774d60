#!/usr/bin/env bash
# Two-node VRRP failover demo on one machine (needs root).
#
# Builds a LAN of network namespaces with scripts/netns-lab.sh:
#   ka-demo-sw  bridge br0 (the switch)
#   ka-demo-h1  eth0 10.77.0.11/24, runs the daemon with config/example-master.conf
#   ka-demo-h2  eth0 10.77.0.12/24, runs the daemon with config/example-backup.conf
# shows both hosts' addresses every second (the VIP 10.77.0.100 is on the master),
# cuts h1's switch port (h1 "dies"), shows the VIP appear on h2, restores the port
# (h1 preempts back: priority 150 > 100), then removes everything (also on Ctrl-C or
# error: trap on EXIT).
#
# usage: sudo scripts/demo.sh [--no-daemon] [--isolate] [--watch SECONDS] [--after SECONDS]
#                             [--timeout SECONDS]
#   --no-daemon      only build the namespaces, cut/restore the link, clean up
#                    (checks the plumbing without a daemon binary)
#   --isolate        detach h1's port from the bridge instead of setting it down: h1
#                    keeps carrier and hears only silence (then both hold the VIP until
#                    the port is re-attached); default is link down, which h1 sees as
#                    NO-CARRIER on its eth0 (FAULT, VIP released)
#   --watch N        seconds to watch before cutting the link (default 5)
#   --after N        seconds to watch after cutting and after restoring (default 6)
#   --timeout N      seconds each VIP move may take before it counts as failed (default 10)
#
# Exit status: 0 when the VIP was only on h1, then on h2 after the cut, then only on h1
# again after the restore (each within --timeout); 1 otherwise (the demo still runs to the
# end, and the daemons' last log lines are printed). The last line before the cleanup says
# which: "=== demo passed: ..." or "=== demo FAILED: ...". tests/demo.rs runs it this way.
# env:
#   BIN              daemon binary (default target/release/keepalived-rs, relative to
#                    the repository root; a bare name is looked up in PATH)
#   LOG_DIR          where the daemons' output goes (default: a temp dir, removed
#                    at exit unless KEEP_LOGS=1)
#   DEMO_TAG         prefix of the namespaces and pid files (default ka-demo), so that
#                    two demos (e.g. two test runs) can run side by side
#
# The reference keepalived can be run the same way: BIN=keepalived scripts/demo.sh
# (it needs separate pid files for its child processes, which the script adds).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/netns-lab.sh
source "$ROOT/scripts/netns-lab.sh"

TAG=${DEMO_TAG:-ka-demo}
VIP=10.77.0.100
BIN=${BIN:-target/release/keepalived-rs}
run_daemon=1
isolate=0
watch=5
after=6
timeout=10
failed=()

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
    --no-daemon) run_daemon=0 ;;
    --isolate) isolate=1 ;;
    --watch) watch=$2; shift ;;
    --after) after=$2; shift ;;
    --timeout) timeout=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

if [[ $(id -u) -ne 0 ]]; then
    echo "$0: must run as root (network namespaces)" >&2
    exit 1
fi
if [[ $run_daemon == 1 ]]; then
    if [[ $BIN != */* ]]; then
        found=$(command -v "$BIN") || { echo "$0: $BIN not found in PATH" >&2; exit 1; }
        BIN=$found
    fi
    if [[ ! -x $BIN ]]; then
        echo "$0: daemon binary $BIN not found; build it with 'cargo build --release'," >&2
        echo "    set BIN=..., or use --no-daemon" >&2
        exit 1
    fi
fi
if lab_list "$TAG" | grep -q .; then
    echo "$0: namespaces of a previous demo still exist:" >&2
    lab_list "$TAG" >&2
    echo "remove them with: scripts/netns-lab.sh destroy $TAG" >&2
    exit 1
fi

own_log_dir=0
if [[ -z ${LOG_DIR:-} ]]; then
    LOG_DIR=$(mktemp -d /tmp/ka-demo.XXXXXX)
    own_log_dir=1
fi
mkdir -p "$LOG_DIR"

declare -A pids=()

cleanup() {
    local rc=$? h pid i
    trap - EXIT INT TERM
    set +e
    for h in "${!pids[@]}"; do
        pid=${pids[$h]}
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            for ((i = 0; i < 50; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$pid" 2>/dev/null; then
                echo "daemon on $h (pid $pid) ignored SIGTERM; killing it"
                kill -KILL "$pid"
            fi
        fi
        wait "$pid" 2>/dev/null
        rm -f "/run/$TAG-$h.pid" "/run/$TAG-$h.vrrp.pid" "/run/$TAG-$h.check.pid"
    done
    lab_destroy "$TAG"
    if [[ $rc -ne 0 && $run_daemon == 1 ]]; then
        for h in h1 h2; do
            [[ -s $LOG_DIR/$h.log ]] || continue
            echo "--- last lines of $h's log ($LOG_DIR/$h.log):"
            tail -n 20 "$LOG_DIR/$h.log"
        done
    fi
    if [[ $own_log_dir == 1 && ${KEEP_LOGS:-0} != 1 ]]; then
        rm -rf "$LOG_DIR"
    elif [[ $run_daemon == 1 ]]; then
        echo "logs kept in $LOG_DIR"
    fi
    echo "cleaned up (namespaces left: $(lab_list "$TAG" | wc -l))"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_daemon() { # start_daemon hN CONFIG
    local h=$1 conf=$2 extra=()
    # keepalived itself forks VRRP/checker children that need their own pid files.
    if [[ $(basename "$BIN") == keepalived ]]; then
        extra=(-P -r "/run/$TAG-$h.vrrp.pid" -c "/run/$TAG-$h.check.pid")
    fi
    echo "starting on $TAG-$h: $BIN -n -l -f $conf -p /run/$TAG-$h.pid ${extra[*]}"
    # `ip netns exec` execs the command, so $! is the daemon's own pid.
    ip netns exec "$TAG-$h" "$BIN" -n -l -f "$conf" -p "/run/$TAG-$h.pid" "${extra[@]}" \
        >"$LOG_DIR/$h.log" 2>&1 &
    pids[$h]=$!
}

vip_owner() {
    local owners=() h
    for h in 1 2; do
        lab_has_addr "$TAG" "$h" "$VIP" && owners+=("h$h")
    done
    if [[ ${#owners[@]} -eq 0 ]]; then echo "nobody"; else echo "${owners[*]}"; fi
}

show() { # show SECONDS: print both hosts' addresses once a second
    local n=$1 i h
    for ((i = 0; i < n; i++)); do
        echo "--- $(date +%T)  VIP $VIP on: $(vip_owner)"
        for h in 1 2; do
            printf '  %-11s %s\n' "$TAG-h$h" "$(ip -n "$TAG-h$h" -br addr show dev eth0)"
        done
        if [[ $run_daemon == 1 ]]; then
            for h in h1 h2; do
                kill -0 "${pids[$h]}" 2>/dev/null || { echo "daemon on $h exited" >&2; return 1; }
            done
        fi
        # In `wait`, a SIGTERM runs its trap at once (and not while bash parses a $(...)).
        sleep 1 &
        wait $!
    done
}

only_on() { # only_on I: the VIP is on host I and not on the other one
    [[ $(vip_owner) == "h$1" ]]
}

wait_until() { # wait_until TIMEOUT_S DESCRIPTION CMD...: print how long CMD took to succeed
    local timeout=$1 desc=$2 start now
    shift 2
    start=$(date +%s%N)
    until "$@"; do
        now=$(date +%s%N)
        if (((now - start) / 1000000000 >= timeout)); then
            echo ">>> $desc: not within ${timeout}s"
            return 1
        fi
        sleep 0.01
    done
    now=$(date +%s%N)
    echo ">>> $desc after $(((now - start) / 1000000)) ms"
}

echo "=== building namespaces $TAG-sw, $TAG-h1, $TAG-h2"
lab_create "$TAG" 2

if [[ $run_daemon == 1 ]]; then
    start_daemon h1 config/example-master.conf
    start_daemon h2 config/example-backup.conf
fi

if [[ $run_daemon == 1 ]]; then
    wait_until "$timeout" "VIP only on h1 (master)" only_on 1 || failed+=("VIP not only on h1 at start")
fi
echo "=== watching for ${watch}s"
show "$watch"

if [[ $isolate == 1 ]]; then
    echo "=== detaching h1's switch port from the bridge (ip -n $TAG-sw link set v-h1 nomaster)"
    lab_isolate "$TAG" 1
else
    echo "=== cutting h1's switch port (ip -n $TAG-sw link set v-h1 down)"
    lab_link_down "$TAG" 1
fi
if [[ $run_daemon == 1 ]]; then
    # h2 hears nothing for 3 adverts + skew time, then takes over.
    wait_until "$timeout" "VIP on h2" lab_has_addr "$TAG" 2 "$VIP" || failed+=("VIP not on h2 after the cut")
fi
show "$after"

echo "=== restoring h1's switch port"
if [[ $isolate == 1 ]]; then lab_rejoin "$TAG" 1; else lab_link_up "$TAG" 1; fi
if [[ $run_daemon == 1 ]]; then
    # h1 (priority 150) and h2 hear each other again; h2 goes back to BACKUP.
    wait_until "$timeout" "VIP only on h1 again" only_on 1 || failed+=("VIP not back only on h1 after the restore")
fi
show "$after"

if [[ $run_daemon == 0 ]]; then
    echo "=== done (no daemon)"
elif [[ ${#failed[@]} -eq 0 ]]; then
    echo "=== demo passed: VIP $VIP on h1, moved to h2 after the cut, back on h1 after the restore"
else
    printf -v why '%s; ' "${failed[@]}"
    echo "=== demo FAILED: ${why%; }"
    exit 1
fi
