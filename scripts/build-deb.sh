#!/usr/bin/env bash
# Builds the Debian package of keepalived-rs from the release binary, with dpkg-deb (no extra
# build tool): the binary, the systemd unit (Type=notify, watchdog, ExecReload), man pages and
# shell completions (generated from the command line, see tests/docs_generated.rs), example
# configurations and the observability files under /usr/share/doc/keepalived-rs.
# Nothing is installed under /etc: the package does not clash with Debian's keepalived (it reads
# the same /etc/keepalived/keepalived.conf and /etc/default/keepalived).
#
# usage: scripts/build-deb.sh [OUTDIR]      (default: target/debian)
#   BIN=path   binary to package (default: target/release/keepalived-rs; build it first with
#              cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-target/debian}
bin=${BIN:-target/release/keepalived-rs}
if [[ ! -x $bin ]]; then
    echo "$0: $bin not found: run cargo build --release first" >&2
    exit 1
fi
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
pkg=keepalived-rs
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
doc=$root/usr/share/doc/$pkg

install -d "$root/DEBIAN" "$root/usr/sbin" "$root/lib/systemd/system" \
    "$root/usr/share/man/man8" "$root/usr/share/man/man5" \
    "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d" "$doc/examples" "$doc/observability"

install -m 0755 "$bin" "$root/usr/sbin/keepalived-rs"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/sbin/keepalived-rs"
install -m 0644 config/keepalived-rs.service "$root/lib/systemd/system/keepalived-rs.service"
gzip -9n <docs/man/keepalived-rs.8 >"$root/usr/share/man/man8/keepalived-rs.8.gz"
gzip -9n <docs/man/keepalived-rs.conf.5 >"$root/usr/share/man/man5/keepalived-rs.conf.5.gz"
install -m 0644 docs/completions/keepalived-rs.bash "$root/usr/share/bash-completion/completions/keepalived-rs"
install -m 0644 docs/completions/_keepalived-rs "$root/usr/share/zsh/vendor-completions/_keepalived-rs"
install -m 0644 docs/completions/keepalived-rs.fish "$root/usr/share/fish/vendor_completions.d/keepalived-rs.fish"
install -m 0644 config/example-master.conf "$doc/examples/keepalived.conf"
install -m 0644 config/example-backup.conf "$doc/examples/keepalived-backup.conf"
gzip -9n <README.md >"$doc/README.md.gz"
gzip -9n <docs/keywords.md >"$doc/keywords.md.gz"
(cd observability && find . -type f ! -path './tests/*' -print0) | while IFS= read -r -d '' f; do
    install -D -m 0644 "observability/$f" "$doc/observability/$f"
done
install -m 0644 packaging/debian/copyright "$doc/copyright"
sed "s/@VERSION@/$version/" packaging/debian/changelog | gzip -9n >"$doc/changelog.gz"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    packaging/debian/control >"$root/DEBIAN/control"
(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) \
    >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root" -type d -exec chmod 0755 {} +

mkdir -p "$out"
deb="$out/${pkg}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
