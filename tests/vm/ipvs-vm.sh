#!/bin/bash
# Boot Debian's kernel (which has IPVS as modules) under qemu TCG with an
# initramfs holding busybox, the ip_vs modules, ipvsadm and a test binary;
# run the binary as PID 1's child and report on the serial console.
#
#   tests/vm/ipvs-vm.sh TEST_BINARY [ARGS...]
#
# Exit status: the test binary's exit status as seen inside the VM;
# 77 = cannot run here (qemu/kernel unobtainable); 124 = VM timed out;
# 125 = VM ended without reporting.
#
# Idempotent; everything is cached under $IPVS_VM_CACHE (default
# target/ipvs-vm): the kernel .deb, the unpacked kernel, the base initramfs
# tree. Only the test binary layer is rebuilt per run.
#
# Environment: IPVS_VM_CACHE, IPVS_VM_TIMEOUT (seconds, default 240),
# IPVS_VM_LOG (console log path, default $IPVS_VM_CACHE/console.log),
# IPVS_VM_EXTRA_BINS (space-separated programs also copied to the VM's /bin, without their
# debug info, e.g. the daemon for a test that runs it).
set -euo pipefail

die() { echo "ipvs-vm: $*" >&2; exit "${2:-1}"; }
[ $# -ge 1 ] || die "usage: $0 TEST_BINARY [ARGS...]" 2
TEST_BIN=$(readlink -f "$1"); shift
[ -x "$TEST_BIN" ] || die "not executable: $TEST_BIN" 2

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${IPVS_VM_CACHE:-$ROOT/target/ipvs-vm}
TIMEOUT=${IPVS_VM_TIMEOUT:-240}
LOG=${IPVS_VM_LOG:-$CACHE/console.log}
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9   # one VM build/boot at a time per cache

# ---- 1. host tools --------------------------------------------------------
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' \
    || need_pkgs+=(busybox-static)
command -v cpio >/dev/null || need_pkgs+=(cpio)
command -v depmod >/dev/null || need_pkgs+=(kmod)
command -v ipvsadm >/dev/null || need_pkgs+=(ipvsadm)
command -v file >/dev/null || need_pkgs+=(file)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    echo "ipvs-vm: installing ${need_pkgs[*]}" >&2
    if ! { [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y --no-install-recommends "${need_pkgs[@]}" >"$CACHE/apt.log" 2>&1; }; then
        apt-get update >>"$CACHE/apt.log" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            "${need_pkgs[@]}" >>"$CACHE/apt.log" 2>&1 \
            || die "cannot install ${need_pkgs[*]} (see $CACHE/apt.log)" 77
    fi
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 unavailable" 77
BUSYBOX=/bin/busybox

# ---- 2. kernel + modules (cached) ----------------------------------------
if [ ! -f "$CACHE/kernel.ok" ]; then
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    [ -n "$pkg" ] || die "cannot find the linux-image package name" 77
    mkdir -p "$CACHE/dl"
    rm -rf "$CACHE/kroot"
    ( cd "$CACHE/dl" && { ls "$pkg"_*.deb >/dev/null 2>&1 || apt-get download "$pkg" >/dev/null 2>&1; } ) \
        || die "cannot download $pkg" 77
    dpkg-deb -x "$CACHE"/dl/"$pkg"_*.deb "$CACHE/kroot"
    touch "$CACHE/kernel.ok"
fi
VMLINUZ=$(ls "$CACHE"/kroot/boot/vmlinuz-* 2>/dev/null | head -n1)
[ -n "$VMLINUZ" ] || die "no kernel image in $CACHE/kroot (remove $CACHE to retry)" 1
KVER=${VMLINUZ##*/vmlinuz-}

# ---- 3. base initramfs tree (cached) -------------------------------------
BASE="$CACHE/base"
# Modules in dependency order: ip_vs, every scheduler, the SIP persistence engine, nlmon (to
# capture netlink traffic), dummy, veth and bridge (two directors in namespaces on one LAN).
mods="ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh
      ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_pe_sip nlmon dummy veth bridge"
# The base is rebuilt when the module list changes.
if [ ! -f "$CACHE/base.ok" ] || [ "$(cat "$CACHE/base.ok")" != "$(echo $mods)" ]; then
    # The module tree is dropped after the base is built (400 MB); unpack
    # it again if the base must be rebuilt.
    [ -d "$CACHE/kroot/lib/modules/$KVER" ] || dpkg-deb -x "$CACHE"/dl/linux-image-*.deb "$CACHE/kroot"
    rm -rf "$BASE"
    mkdir -p "$BASE"/{bin,sbin,proc,sys,dev,tmp,etc,lib/modules}
    cp "$BUSYBOX" "$BASE/bin/busybox"
    for applet in $("$BUSYBOX" --list); do
        [ -e "$BASE/bin/$applet" ] || ln -s busybox "$BASE/bin/$applet"
    done
    depmod -b "$CACHE/kroot" "$KVER"
    : > "$BASE/modules.order"
    for m in $mods; do
        modprobe -d "$CACHE/kroot" -S "$KVER" --show-depends "$m" 2>/dev/null \
            | awk '$1=="insmod"{print $2}'
    done | awk '!seen[$0]++' | while read -r ko; do
        name=$(basename "$ko")
        src=$ko; [ -e "$src" ] || src="$CACHE/kroot$ko"
        case "$name" in
            *.ko.xz)  xz -dc "$src" > "$BASE/lib/modules/${name%.xz}"; name=${name%.xz} ;;
            *.ko.zst) zstd -qdc "$src" > "$BASE/lib/modules/${name%.zst}"; name=${name%.zst} ;;
            *)        cp "$src" "$BASE/lib/modules/$name" ;;
        esac
        echo "$name" >> "$BASE/modules.order"
    done
    grep -q '^ip_vs.ko$' "$BASE/modules.order" || die "ip_vs.ko not found in $KVER" 1
    # ipvsadm from the host (same Debian release) + its shared libraries.
    cp "$(command -v ipvsadm)" "$BASE/sbin/ipvsadm"
    printf 'root:x:0:0:root:/:/bin/sh\n' > "$BASE/etc/passwd"
    printf 'ip 0 IP\ntcp 6 TCP\nudp 17 UDP\nsctp 132 SCTP\n' > "$BASE/etc/protocols"
    echo $mods > "$CACHE/base.ok"
    rm -rf "$CACHE/kroot/lib"
fi

# ---- 4. per-run layer: the test binary and every library it needs --------
RUN="$CACHE/run"
rm -rf "$RUN"
cp -a "$BASE" "$RUN"
cp "$TEST_BIN" "$RUN/bin/testbin"
copy_libs() {
    { ldd "$1" 2>/dev/null || true; } | awk '/=> \//{print $3} /^[ \t]*\/.*ld-linux/{print $1}' | while read -r lib; do
        [ -e "$RUN$lib" ] && continue
        mkdir -p "$RUN$(dirname "$lib")"
        cp -L "$lib" "$RUN$lib"
    done
}
copy_libs "$TEST_BIN"
copy_libs "$RUN/sbin/ipvsadm"
for extra in ${IPVS_VM_EXTRA_BINS:-}; do
    [ -x "$extra" ] || die "not executable: $extra" 2
    dst="$RUN/bin/$(basename "$extra")"
    # Replaces a busybox applet of the same name (e.g. iproute2's `ip`), never busybox itself.
    rm -f "$dst"
    # Debug info would not fit in the VM's memory next to the test binary.
    if command -v objcopy >/dev/null; then
        objcopy --strip-debug "$extra" "$dst"
    else
        cp "$extra" "$dst"
    fi
    copy_libs "$extra"
done

{
    printf '%q ' "$@"
} > "$RUN/testargs"
cat > "$RUN/init" <<'EOF'
#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
for m in $(cat /modules.order); do
    insmod /lib/modules/$m || echo "IPVS-VM: insmod $m failed"
done
ip link set lo up
# Destinations must be unicast-routable: give the VM a LAN and a v6 net.
if ip link add dummy0 type dummy 2>/dev/null; then dev=dummy0; else dev=lo; fi
ip link set $dev up
ip addr add 192.168.100.1/24 dev $dev
ip -6 addr add 2001:db8:100::1/64 dev $dev nodad
echo "IPVS-VM-START"
eval "set -- $(cat /testargs)"
KEEPALIVED_IPVS_GUEST=1 RUST_BACKTRACE=1 /bin/testbin "$@"
echo "IPVS-VM-RESULT: rc=$?"
sync
poweroff -f
EOF
chmod +x "$RUN/init"

( cd "$RUN" && find . -print0 | cpio --null -o -H newc --quiet ) | gzip -1 > "$CACHE/initrd.gz"

# ---- 5. boot ----------------------------------------------------------------
echo "ipvs-vm: booting $KVER under qemu TCG (timeout ${TIMEOUT}s), console -> $LOG" >&2
set +e
# The initramfs is unpacked into RAM: the unstripped test binary (~190 MB) and any extra
# binaries must fit next to the kernel ("Initramfs unpacking failed: write error" otherwise).
timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 1 \
    -nographic -no-reboot -nodefaults -serial stdio \
    -kernel "$VMLINUZ" -initrd "$CACHE/initrd.gz" \
    -append "console=ttyS0 panic=-1 quiet loglevel=3" </dev/null >"$LOG" 2>&1
qrc=$?
set -e
sed -n '/IPVS-VM-START/,$p' "$LOG" | sed '1d' | tr -d '\r' >&2 || true
[ $qrc -eq 124 ] && die "VM timed out after ${TIMEOUT}s (log: $LOG)" 124
rc=$(tr -d '\r' < "$LOG" | sed -n 's/^IPVS-VM-RESULT: rc=\([0-9]*\)$/\1/p' | tail -n1)
[ -n "$rc" ] || die "VM ended without a result (qemu rc $qrc, log: $LOG)" 125
exit "$rc"
