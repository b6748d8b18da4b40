#!/usr/bin/env bash
# The end-to-end suite: builds the wiremesh binaries and the harness, then runs every
# scenario (or those whose name contains one of the arguments) as root. Each host is a
# network namespace; everything is removed on success, failure and Ctrl-C.
#
#   sudo docker-tests/run.sh             # all scenarios
#   sudo docker-tests/run.sh acl nat     # only scenarios matching "acl" or "nat"
#   sudo docker-tests/run.sh --list      # list scenarios
#   sudo docker-tests/run.sh --keep acl  # keep namespaces and logs of a failing world
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked -q -p wiremesh -p wiremesh-server -p docker-tests
exec target/debug/wiremesh-e2e "$@"
