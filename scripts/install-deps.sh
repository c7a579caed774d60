#!/usr/bin/env bash
# Install (idempotently) the Debian/Ubuntu packages the test suites and benchmarks use.
#
#   keepalived       reference daemon for side-by-side tests and scripts/ref-check.sh
#   frr              bfdd as a BFD peer
#   tshark tcpdump   packet capture / dissection (malformed-packet checks)
#   iproute2 kmod    ip netns / veth / bridge / macvlan, modprobe
#   nftables         packet loss and filtering inside namespaces; nft list ruleset (VIP firewall)
#   iputils-ping     ping from a client namespace to a VIP (tests/vrrp_firewall.rs)
#   ipvsadm          inspecting IPVS state
#   qemu-system-x86 busybox-static cpio   the IPVS test VM (see notes/ipvs-vm.md)
#   prometheus       promtool, to lint /metrics output and the scrape config
#   python3          helper scripts
#   snmpd snmp snmptrapd   AgentX master agent, snmpwalk and a trap receiver (tests/snmp_agentx.rs)
#   lintian man-db systemd   checking the Debian package (lintian, man -w, systemd-analyze)
#
# usage: sudo scripts/install-deps.sh [EXTRA_PACKAGE...]
#   e.g. sudo scripts/install-deps.sh shellcheck
# env:   START_SERVICES=1  let package scripts start their daemons (default: they are
#                          prevented from starting via a temporary policy-rc.d, since
#                          tests run their own keepalived/frr inside namespaces)
#
# Packages that are already installed are skipped; `apt-get update` runs once, and only
# if something has to be installed.
set -euo pipefail

PACKAGES=(
    keepalived
    frr
    tshark
    iproute2
    nftables
    iputils-ping
    tcpdump
    ipvsadm
    qemu-system-x86
    busybox-static
    kmod
    cpio
    prometheus
    lintian
    man-db
    systemd
    python3
    snmpd
    snmp
    snmptrapd
    "$@"
)

if [[ $(id -u) -ne 0 ]]; then
    echo "$0: must run as root (try: sudo $0)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null; then
    echo "$0: apt-get not found; this script supports Debian/Ubuntu only" >&2
    exit 1
fi

installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "all ${#PACKAGES[@]} packages already installed"
    exit 0
fi
echo "installing: ${missing[*]}"

export DEBIAN_FRONTEND=noninteractive
# tshark's wireshark-common asks whether non-root users may capture; answer no.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections

# Keep package postinst scripts from starting keepalived/frr/prometheus on the host.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ${START_SERVICES:-0} != 1 && ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, from keepalived-rs scripts/install-deps.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
fi
cleanup() {
    if [[ $own_policy == 1 ]]; then
        rm -f "$policy"
    fi
}
trap cleanup EXIT

apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"

still=()
for p in "${missing[@]}"; do
    installed "$p" || still+=("$p")
done
if [[ ${#still[@]} -ne 0 ]]; then
    echo "$0: not installed: ${still[*]}" >&2
    exit 1
fi
echo "done"
