#!/usr/bin/env bash
# Builds wiremesh-<version>-1.<arch>.rpm and wiremesh-server-<version>-1.<arch>.rpm into
# target/packages/ with cargo-generate-rpm, from the release binaries (built here unless
# --no-build) and the files listed under [package.metadata.generate-rpm] in client/Cargo.toml
# and server/Cargo.toml: the same contents as the .deb packages. The scriptlets are the
# *.post, *.preun and *.postun files next to this script.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != --no-build ]; then
    cargo build --release --locked -p wiremesh -p wiremesh-server
fi
command -v cargo-generate-rpm >/dev/null || {
    echo "cargo-generate-rpm is missing: cargo install --locked cargo-generate-rpm --version 0.21.1" >&2
    exit 1
}
mkdir -p target/packages
cargo generate-rpm -p client -o target/packages/
cargo generate-rpm -p server -o target/packages/
ls -1 target/packages/*.rpm
