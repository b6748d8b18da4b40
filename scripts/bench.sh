#!/usr/bin/env bash
# The scale benchmark against innernet 2.0.0 (not part of the test run). Builds everything in
# release mode, then runs target/release/wiremesh-bench as root with the given arguments:
#
#   sudo scripts/bench.sh                         # every section, 100 to 50,000 peers
#   sudo scripts/bench.sh --sizes 100,1000 --skip-propagation
#   sudo scripts/bench.sh --json /tmp/bench.json  # where the figures go (default bench-results.json)
#   sudo scripts/bench.sh fleet --sizes 1000,5000,10000 --json fleet-results.json
#                                                 # fleet mode (issue 14): N simulated daemons in one
#                                                 # process against the real server, and innernet's
#                                                 # figures for the same N (--skip-innernet,
#                                                 # --quiet-secs 60, --keep-logs)
#   sudo scripts/bench.sh policy --peers 10000 --rules 1000
#                                                 # the port and protocol policy in process (issue
#                                                 # 16): compile and plan times, table size
#
# Needs wireguard-go, wireguard-tools, iproute2 and nftables, and innernet 2.0.0:
#   cargo install innernet innernet-server --version 2.0.0 --locked
# Takes about 15-20 minutes on two cores; every namespace and process it creates is removed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --release -q -p wiremesh -p wiremesh-server -p docker-tests
exec target/release/wiremesh-bench "$@"
