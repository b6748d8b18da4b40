#!/usr/bin/env bash
# Builds the release binaries and the four packages into target/packages/:
#   wiremesh_<version>-1_<arch>.deb, wiremesh-server_<version>-1_<arch>.deb (cargo-deb)
#   wiremesh-<version>-1.<arch>.rpm, wiremesh-server-<version>-1.<arch>.rpm (rpm/build.sh)
# Needs: cargo install --locked cargo-deb --version 3.8.0; cargo install --locked
# cargo-generate-rpm --version 0.21.1. The man pages and completions come from doc/, which
# a test keeps equal to what the code generates.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-deb >/dev/null || {
    echo "cargo-deb is missing: cargo install --locked cargo-deb --version 3.8.0" >&2
    exit 1
}
cargo build --release --locked -p wiremesh -p wiremesh-server
mkdir -p target/packages
rm -f target/packages/*.deb target/packages/*.rpm
cargo deb --no-build --locked -p wiremesh -o target/packages/
cargo deb --no-build --locked -p wiremesh-server -o target/packages/
bash rpm/build.sh --no-build
ls -l target/release/wiremesh target/release/wiremesh-server target/packages/
