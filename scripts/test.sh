#!/usr/bin/env bash
# The project's test command (README, .ci/run). Run as root on Debian: installs what the tests
# need (keepalived, frr, tshark, iproute2, qemu ...), builds, and runs every test.
# Network tests create their own namespaces and clean up; nothing touches host interfaces.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: run as root (network namespace tests need it)" >&2
    exit 1
fi

bash scripts/install-deps.sh

export CARGO_TERM_COLOR=never
# The product, as operators build it.
cargo build --release --locked
# Lint gates: formatting and clippy are part of the test command.
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
# Tests in the dev profile (30 test binaries linked with LTO would cost more than the tests).
# Namespace tests serialise themselves per binary; binaries run one after another.
# tests/demo.rs runs scripts/demo.sh with the release binary built above: missing is an error here.
export KEEPALIVED_DEMO_REQUIRE_RELEASE=1
cargo test --locked -- --test-threads=2
