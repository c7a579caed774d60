#!/usr/bin/env bash
# A LAN of N hosts on one machine, built from network namespaces (see
# /work/shared/notes/netns-lab.md). Every name is prefixed with a caller-chosen TAG so
# parallel tests and benchmarks don't clash:
#
#   namespace TAG-sw      bridge br0 (the "switch"), one port v-hI per host
#   namespace TAG-hI      interface eth0 = other end of v-hI, lo up,
#                         address PREFIX.(10+I)/24 (default PREFIX 10.77.0: .11, .12, ...)
#
# The veth pairs are created inside TAG-sw, so nothing ever appears in the caller's own
# namespace and interface names can't collide between labs.
#
# Use as a library:
#     source scripts/netns-lab.sh
#     lab_create t1 2                  # t1-sw, t1-h1 (10.77.0.11), t1-h2 (10.77.0.12)
#     lab_exec t1 1 ping -c1 10.77.0.12
#     lab_link_down t1 1               # h1 "dies": its switch port goes down (h1 sees
#                                      # NO-CARRIER); lab_isolate t1 1 = silent cut
#     lab_destroy t1
# or as a command:
#     scripts/netns-lab.sh create TAG N [PREFIX]
#     scripts/netns-lab.sh destroy TAG
#     scripts/netns-lab.sh list [TAG]
#
# Library functions return non-zero on failure and never exit the caller's shell.
# Environment: LAB_PREFIX (IPv4 /24 prefix, default 10.77.0),
#              LAB_IPV6=1 also adds fd00:77::(10+I)/64 (nodad) to each host's eth0.

# Namespace names.
lab_sw() { printf '%s-sw\n' "$1"; }
lab_ns() { printf '%s-h%s\n' "$1" "$2"; }

# IPv4 address (without prefix length) of host I: lab_addr TAG I [PREFIX]
lab_addr() { printf '%s.%d\n' "${3:-${LAB_PREFIX:-10.77.0}}" $((10 + $2)); }

# lab_create TAG N [PREFIX]: create the switch and hosts 1..N.
lab_create() {
    local tag=$1 n=$2 prefix=${3:-${LAB_PREFIX:-10.77.0}} i
    if [[ -z $tag || ! $n =~ ^[0-9]+$ || $n -lt 1 ]]; then
        echo "usage: lab_create TAG N [PREFIX]" >&2
        return 2
    fi
    local sw
    sw=$(lab_sw "$tag")
    ip netns add "$sw" || return 1
    ip -n "$sw" link set lo up &&
        ip -n "$sw" link add br0 type bridge &&
        ip -n "$sw" link set br0 up || return 1
    for ((i = 1; i <= n; i++)); do
        lab_add_host "$tag" "h$i" "$(lab_addr "$tag" "$i" "$prefix")/24" || return 1
    done
}

# lab_add_host TAG NAME [ADDR/LEN]: one more host TAG-NAME on the switch (port v-NAME).
# lab_create uses it for h1..hN; use it directly for e.g. a client "cl".
lab_add_host() {
    local tag=$1 name=$2 addr=${3:-} sw ns
    sw=$(lab_sw "$tag")
    ns="$tag-$name"
    ip netns add "$ns" || return 1
    ip -n "$sw" link add "v-$name" type veth peer name eth0 netns "$ns" &&
        ip -n "$sw" link set "v-$name" master br0 up &&
        ip -n "$ns" link set lo up &&
        ip -n "$ns" link set eth0 up || return 1
    if [[ -n $addr ]]; then
        ip -n "$ns" addr add "$addr" dev eth0 || return 1
    fi
    if [[ ${LAB_IPV6:-0} == 1 && $name =~ ^h([0-9]+)$ ]]; then
        ip -n "$ns" addr add "fd00:77::$((10 + BASH_REMATCH[1]))/64" dev eth0 nodad || return 1
    fi
}

# lab_list TAG: namespaces that belong to the lab (one per line).
lab_list() {
    local tag=$1
    ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${tag//./\\.}-[A-Za-z0-9_]+$" || true
}

# lab_destroy TAG: delete every namespace of the lab (hosts first, then the switch).
# Processes still running inside are NOT killed: stop your daemons first (by pid).
lab_destroy() {
    local tag=$1 ns sw rc=0
    [[ -n $tag ]] || { echo "usage: lab_destroy TAG" >&2; return 2; }
    sw=$(lab_sw "$tag")
    for ns in $(lab_list "$tag"); do
        [[ $ns == "$sw" ]] && continue
        ip netns del "$ns" || rc=1
    done
    if ip netns list | awk '{print $1}' | grep -qx "$sw"; then
        ip netns del "$sw" || rc=1
    fi
    return $rc
}

# lab_exec TAG I CMD...: run CMD in host I (I may also be a name like "cl").
lab_exec() {
    local tag=$1 h=$2
    shift 2
    if [[ $h =~ ^[0-9]+$ ]]; then h="h$h"; fi
    ip netns exec "$tag-$h" "$@"
}

# lab_link_down / lab_link_up TAG I: cut / restore host I's switch port (admin down).
# NOTE: with veth pairs the host's own eth0 then loses carrier (NO-CARRIER, operstate
# DOWN), so a daemon on host I sees its interface go down (keepalived: FAULT, VIP
# removed). The other hosts only notice silence.
lab_link_down() { local h=$2; [[ $h =~ ^[0-9]+$ ]] && h="h$h"; ip -n "$(lab_sw "$1")" link set "v-$h" down; }
lab_link_up() { local h=$2; [[ $h =~ ^[0-9]+$ ]] && h="h$h"; ip -n "$(lab_sw "$1")" link set "v-$h" up; }

# lab_isolate / lab_rejoin TAG I: detach / re-attach host I's port from the bridge.
# Every link stays up, so host I itself notices nothing but silence too (split brain:
# it keeps its VIPs), unlike lab_link_down.
lab_isolate() { local h=$2; [[ $h =~ ^[0-9]+$ ]] && h="h$h"; ip -n "$(lab_sw "$1")" link set "v-$h" nomaster; }
lab_rejoin() { local h=$2; [[ $h =~ ^[0-9]+$ ]] && h="h$h"; ip -n "$(lab_sw "$1")" link set "v-$h" master br0; }

# lab_loss TAG I PERCENT: drop PERCENT % of packets arriving at host I (nftables, no
# netem needed); PERCENT 0 removes the rule.
lab_loss() {
    local tag=$1 h=$2 pct=$3
    [[ $h =~ ^[0-9]+$ ]] && h="h$h"
    local ns="$tag-$h"
    ip netns exec "$ns" nft delete table inet lab_loss 2>/dev/null
    [[ $pct == 0 ]] && return 0
    local rule="numgen random mod 100 < $pct drop"
    [[ $pct -ge 100 ]] && rule="drop"
    ip netns exec "$ns" nft -f - <<EOF
table inet lab_loss {
    chain input {
        type filter hook input priority -300; policy accept;
        $rule
    }
}
EOF
}

# lab_has_addr TAG I ADDR: true if host I's eth0 has ADDR (without /len).
lab_has_addr() {
    local h=$2
    [[ $h =~ ^[0-9]+$ ]] && h="h$h"
    ip -n "$1-$h" -o addr show dev eth0 2>/dev/null | awk '{print $4}' | grep -q "^$3/"
}

# Command-line use.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    cmd=${1:-}
    case $cmd in
    create)
        [[ $# -ge 3 ]] || { echo "usage: $0 create TAG N [PREFIX]" >&2; exit 2; }
        if ! lab_create "$2" "$3" "${4:-}"; then
            lab_destroy "$2" || true
            exit 1
        fi
        lab_list "$2"
        ;;
    destroy)
        [[ $# -eq 2 ]] || { echo "usage: $0 destroy TAG" >&2; exit 2; }
        lab_destroy "$2"
        ;;
    list)
        if [[ $# -ge 2 ]]; then lab_list "$2"; else ip netns list; fi
        ;;
    *)
        echo "usage: $0 create TAG N [PREFIX] | destroy TAG | list [TAG]" >&2
        exit 2
        ;;
    esac
fi
