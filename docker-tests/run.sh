#!/usr/bin/env bash
# The end-to-end suite: builds the wiremesh binaries and the harness, then runs every
# scenario (or those whose name contains one of the arguments) as root. Each host is a
# network namespace; everything is removed on success, failure and Ctrl-C.
#
#   sudo docker-tests/run.sh             # all scenarios
#   sudo docker-tests/run.sh acl nat     # only scenarios matching "acl" or "nat"
#   sudo docker-tests/run.sh --list      # list scenarios
#   sudo docker-tests/run.sh --keep acl  # keep namespaces and logs of a failing world
#   WIREMESH_E2E_JOBS=1 docker-tests/run.sh  # one world at a time (default: 3 at once)
set -euo pipefail
# Worlds mostly wait (handshakes, long polls, timeouts), so three overlap well even on two
# cores; the scenarios that measure timing under stress still run alone (see parallel.rs).
export WIREMESH_E2E_JOBS="${WIREMESH_E2E_JOBS:-3}"
cd "$(dirname "$0")/.."
cargo build --locked -q -p wiremesh -p wiremesh-server -p docker-tests
exec target/debug/wiremesh-e2e "$@"
