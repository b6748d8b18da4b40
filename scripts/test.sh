#!/usr/bin/env bash
# The one test command (README "Testing"): formatting, lints, every unit and integration
# test, and the two-namespace WireGuard example. Run as root so the namespace tests run;
# without root they print why they skip (WIREMESH_REQUIRE_PRIVILEGED=1 makes that an error).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "unit and integration tests"
cargo test --workspace --locked

step "example: two namespaces ping through userspace WireGuard"
if [ "$(id -u)" -eq 0 ]; then
    cargo run --locked -q -p wireguard-control --example two_namespaces
elif [ "${WIREMESH_REQUIRE_PRIVILEGED:-}" = 1 ]; then
    echo "the two-namespace example needs root" >&2
    exit 1
else
    echo "skipped: the two-namespace example needs root"
fi

step "end-to-end suite (network namespaces, userspace WireGuard)"
if [ "$(id -u)" -eq 0 ]; then
    bash docker-tests/run.sh
elif [ "${WIREMESH_REQUIRE_PRIVILEGED:-}" = 1 ]; then
    echo "the end-to-end suite needs root" >&2
    exit 1
else
    echo "skipped: the end-to-end suite needs root"
fi
