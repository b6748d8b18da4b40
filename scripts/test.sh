#!/usr/bin/env bash
# The one test command (README "Testing"): installs what the tests need when it is missing
# (scripts/ensure-tools.sh), then runs formatting, lints, every unit and integration test (the
# man pages and completions in doc/ included), the two-namespace WireGuard example, the .deb
# and .rpm packages, and the end-to-end suite. Run as root so the namespace tests run; without
# root they print why they skip (WIREMESH_REQUIRE_PRIVILEGED=1, implied by CI=true, makes that
# an error).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if [ "${CI:-}" = true ]; then
    # In CI a privileged test that cannot run is a failure, never a skip.
    export WIREMESH_REQUIRE_PRIVILEGED=1
fi

step "tools: install what is missing"
# shellcheck source=scripts/ensure-tools.sh
source scripts/ensure-tools.sh
ensure_tools

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

step "packages: build the .debs and .rpms, install, check and purge the .debs, check the .rpm file lists"
if [ "$(id -u)" -eq 0 ] && command -v cargo-deb >/dev/null && command -v cargo-generate-rpm >/dev/null \
    && command -v rpm >/dev/null && command -v dpkg >/dev/null; then
    bash scripts/packages.sh
    bash scripts/check-packages.sh
elif [ "${WIREMESH_REQUIRE_PRIVILEGED:-}" = 1 ]; then
    echo "the package checks need root, dpkg, rpm, cargo-deb and cargo-generate-rpm (scripts/ensure-tools.sh installs them)" >&2
    exit 1
else
    echo "skipped: the package checks need root, dpkg, rpm, cargo-deb and cargo-generate-rpm (scripts/ensure-tools.sh installs them)"
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
