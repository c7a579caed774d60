#!/usr/bin/env bash
# Run the reference keepalived's config test (`keepalived -t`) on fixture files
# and print its diagnostics, one block per file, de-duplicated (keepalived
# logs each message once per process).
#
# Each file is checked inside a throwaway network namespace (unshare -n) that
# has interfaces eth0..eth3 (veth pairs), so "interface doesn't exist" noise
# goes away and nothing on the host is touched.  Needs root.
#
# usage: scripts/ref-check.sh [-i CONFIG_ID] FILE...
#   -i ID   pass --config-id ID to keepalived (for @id conditional lines)
# env:     KEEPALIVED=path of the reference binary (default: keepalived)
set -euo pipefail

KEEPALIVED=${KEEPALIVED:-keepalived}
config_id=()
if [[ ${1:-} == -i ]]; then
    config_id=(-i "$2")
    shift 2
fi
if [[ $# -eq 0 ]]; then
    echo "usage: $0 [-i CONFIG_ID] FILE..." >&2
    exit 2
fi
if ! command -v "$KEEPALIVED" >/dev/null; then
    echo "$0: $KEEPALIVED not found (scripts/install-deps.sh installs it)" >&2
    exit 2
fi

status=0
for f in "$@"; do
    dir=$(cd "$(dirname "$f")" && pwd)
    base=$(basename "$f")
    echo "=== $f"
    # Run from the file's directory so messages name it by its short name.
    set +e
    # shellcheck disable=SC2016  # the inner script expands its own "$@"
    out=$(cd "$dir" && timeout 30 unshare -n bash -c '
        for i in 0 1 2 3; do ip link add "eth$i" type veth peer name "peer$i"; ip link set "eth$i" up; done
        exec "$@" 2>&1' _ "$KEEPALIVED" -t -l "${config_id[@]}" -f "$base")
    rc=$?
    set -e
    printf '%s\n' "$out" | awk 'NF && !seen[$0]++'
    echo "--- rc=$rc"
    [[ $rc -eq 0 ]] || status=1
done
exit "$status"
