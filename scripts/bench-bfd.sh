#!/bin/bash
# BFD-driven VRRP failover benchmark (mission target: track_bfd 10 ms x 3 -> <= 50 ms).
#
#   LAN  (br0): h1 10.90.0.11, h2 10.90.0.12, VIP 10.90.0.100   VRRP VI_1, advert_int 1
#   UP   (br1): r 10.90.1.1 (FRR zebra+bfdd), h1 10.90.1.11, h2 10.90.1.12
#
# h1 (priority 150) and h2 (100) each run a bfd_instance toward r (10 ms x 3) tracked by
# VI_1 with weight -100. A run cuts h1's upstream switch port (h1 sees silence, its links
# stay up) and measures the time from the cut to the VIP appearing on h2 (from
# `ip -ts monitor address` in h2). The port is restored, h1 takes the VIP back (preempt),
# and the next run starts. Each implementation is run RUNS times; medians are printed.
#
# Usage: scripts/bench-bfd.sh [BIN] [RUNS]
#   BIN   keepalived-rs binary (default target/release/keepalived-rs; "none" to skip)
#   RUNS  runs per implementation (default 7)
# Env: KEEPALIVED (default /usr/sbin/keepalived), TIMEOUT seconds per failover (default 5),
#      BFD_MS (default 10), BFD_MULT (default 3), WEIGHT (track_bfd weight, default -100;
#      0 = FAULT on BFD down, so the master resigns with a priority-0 advert),
#      KEEP=1 keeps the work directory.
# Run as root. Everything (namespaces, processes) is removed on exit.
set -u
BIN=${1:-target/release/keepalived-rs}
RUNS=${2:-7}
KEEPALIVED=${KEEPALIVED:-/usr/sbin/keepalived}
TIMEOUT=${TIMEOUT:-5}
BFD_MS=${BFD_MS:-10}
BFD_MULT=${BFD_MULT:-3}
WEIGHT=${WEIGHT:--100}
TAG=kbb$$
SW=${TAG}sw; H1=${TAG}h1; H2=${TAG}h2; R=${TAG}r
WORK=$(mktemp -d /tmp/bench-bfd.XXXXXX); chmod 755 "$WORK"
VIP=10.90.0.100
RESULTS=""

cleanup() {
  for ns in $H1 $H2 $R $SW; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
  done
  sleep 0.5
  for ns in $H1 $H2 $R $SW; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  [ "${KEEP:-0}" = 1 ] && echo "work dir kept: $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench-bfd: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
[ -x /usr/lib/frr/bfdd ] || die "FRR bfdd not installed"

# --- topology
ip netns add $SW
ip -n $SW link add br0 type bridge forward_delay 0
ip -n $SW link add br1 type bridge forward_delay 0
ip -n $SW link set br0 up; ip -n $SW link set br1 up
port() { # ns ifname bridge portname addr
  ip link add "$4" type veth peer name "$2" netns "$1"
  ip link set "$4" netns $SW
  ip -n $SW link set "$4" master "$3" up
  ip -n "$1" addr add "$5" dev "$2"
  ip -n "$1" link set "$2" up
}
for ns in $H1 $H2 $R; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
port $H1 eth0 br0 l1$TAG 10.90.0.11/24
port $H2 eth0 br0 l2$TAG 10.90.0.12/24
port $H1 up0 br1 u1$TAG 10.90.1.11/24
port $H2 up0 br1 u2$TAG 10.90.1.12/24
port $R eth0 br1 ur$TAG 10.90.1.1/24

# --- FRR in r: one single-hop peer per VRRP node
mkdir -p "$WORK/frr"
cat > "$WORK/frr/frr.conf" <<EOF
bfd
 peer 10.90.1.11 local-address 10.90.1.1 interface eth0
  detect-multiplier $BFD_MULT
  receive-interval $BFD_MS
  transmit-interval $BFD_MS
 !
 peer 10.90.1.12 local-address 10.90.1.1 interface eth0
  detect-multiplier $BFD_MULT
  receive-interval $BFD_MS
  transmit-interval $BFD_MS
 !
!
EOF
chown -R frr:frr "$WORK/frr"
for d in zebra bfdd; do
  ip netns exec $R /usr/lib/frr/$d -N $R -f "$WORK/frr/frr.conf" --vty_socket "$WORK/frr" \
    -i "$WORK/frr/$d.pid" -z "$WORK/frr/zserv.api" -u frr -g frr >"$WORK/frr/$d.log" 2>&1 &
  for _ in $(seq 100); do [ -S "$WORK/frr/$d.vty" ] && break; sleep 0.1; done
done
frr_up() { vtysh --vty_socket "$WORK/frr" -c "show bfd peers json" 2>/dev/null | grep -o '"status":"up"' | wc -l; }

conf() { # prio upstream-ip
  cat <<EOF
global_defs {
  router_id bench$1
}
bfd_instance up_r {
  neighbor_ip 10.90.1.1
  source_ip $2
  min_rx $BFD_MS
  min_tx $BFD_MS
  multiplier $BFD_MULT
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority $1
  advert_int 1
  track_bfd {
    up_r weight $WEIGHT
  }
  virtual_ipaddress {
    $VIP/24
  }
}
EOF
}
conf 150 10.90.1.11 > "$WORK/h1.conf"
conf 100 10.90.1.12 > "$WORK/h2.conf"

owns() { ip -n "$1" -o addr show dev eth0 | grep -q " $VIP/"; }
wait_until() { # timeout-seconds command...
  local end=$(( $(date +%s%N) + $1 * 1000000000 )); shift
  while [ "$(date +%s%N)" -lt $end ]; do "$@" && return 0; sleep 0.02; done
  return 1
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
converged() { owns $H1 && ! owns $H2 && [ "$(frr_up)" = 2 ]; }

start_impl() { # name binary
  local n=$1 b=$2
  for h in 1 2; do
    local ns; ns=$([ $h = 1 ] && echo $H1 || echo $H2)
    ip netns exec "$ns" "$b" -n -l -D -f "$WORK/h$h.conf" -p "$WORK/$n$h.pid" -r "$WORK/$n$h.vrrp.pid" \
      -c "$WORK/$n$h.chk.pid" -b "$WORK/$n$h.bfd.pid" >"$WORK/$n$h.log" 2>&1 &
    echo $! > "$WORK/$n$h.run"
  done
}
stop_impl() {
  local n=$1
  for h in 1 2; do kill "$(cat "$WORK/$n$h.run")" 2>/dev/null; done
  for h in 1 2; do
    local p; p=$(cat "$WORK/$n$h.run")
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  for ns in $H1 $H2; do ip -n "$ns" addr del $VIP/24 dev eth0 2>/dev/null; done
  sleep 1
}

bench() { # name binary
  local n=$1 b=$2 times=""
  echo "== $n ($b): $RUNS runs, BFD ${BFD_MS} ms x $BFD_MULT, track_bfd weight $WEIGHT, advert_int 1"
  start_impl "$n" "$b"
  if ! wait_until 30 converged; then
    echo "   did not converge (h1 owns VIP: $(owns $H1 && echo yes || echo no), FRR up: $(frr_up)); see $WORK/${n}1.log"
    RESULTS="$RESULTS\n$n: no convergence"
    stop_impl "$n"; return
  fi
  sleep 2
  for i in $(seq "$RUNS"); do
    ip -n $H2 -ts monitor address > "$WORK/mon.$n.$i" 2>&1 &
    local mon=$!
    sleep 0.3
    local t0; t0=$(date +%s.%N)
    ip -n $SW link set u1$TAG down
    if wait_until "$TIMEOUT" owns $H2; then
      sleep 0.1
      kill $mon 2>/dev/null; wait $mon 2>/dev/null
      local ts; ts=$(grep -m1 " $VIP/" "$WORK/mon.$n.$i" | sed -n 's/^\[\([^]]*\)\].*/\1/p')
      local t1; t1=$(date -d "$ts" +%s.%N)
      local ms; ms=$(echo "($t1 - $t0) * 1000" | bc -l | xargs printf "%.1f")
      echo "   run $i: $ms ms"
      times="$times $ms"
    else
      kill $mon 2>/dev/null; wait $mon 2>/dev/null
      echo "   run $i: no failover within ${TIMEOUT}s"
    fi
    ip -n $SW link set u1$TAG up
    if ! wait_until 30 converged; then echo "   h1 did not take the VIP back"; break; fi
    sleep 2
  done
  stop_impl "$n"
  local med; med=$(for t in $times; do echo "$t"; done | median)
  echo "   median: $med ms (runs:$times)"
  RESULTS="$RESULTS\n$n: median $med ms over $(echo $times | wc -w) run(s):$times"
}

command -v bc >/dev/null || die "bc is required"
bench keepalived "$KEEPALIVED"
if [ "$BIN" != none ]; then
  if [ -x "$BIN" ]; then bench keepalived-rs "$(readlink -f "$BIN")"; else echo "== keepalived-rs: $BIN not found, skipped"; fi
fi
echo "== summary (cut of the master's upstream link -> VIP on the backup)"
printf "%b\n" "$RESULTS" | sed '/^$/d'
