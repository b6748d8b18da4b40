#!/usr/bin/env bash
# Quick start: builds wiremesh and brings up a demo mesh on this machine — a coordination
# server and two peers, each in its own network namespace, over userspace WireGuard — then
# prints `wiremesh list --tree` from a peer and a ping across the mesh.
#
#   sudo scripts/demo.sh        # build and start the demo
#   sudo scripts/demo.sh down   # remove it again
#
# Needs root, Rust, and (installed here with apt-get when missing) iproute2, wireguard-tools,
# wireguard-go, nftables and ping.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "the demo creates network namespaces: run it as root (sudo scripts/demo.sh)" >&2
    exit 1
fi

if [ "${1:-}" != down ]; then
    missing=()
    for tool in ip:iproute2 wg:wireguard-tools wireguard-go:wireguard-go nft:nftables ping:iputils-ping; do
        command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        if command -v apt-get >/dev/null; then
            echo "installing ${missing[*]}"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        else
            echo "please install: ${missing[*]}" >&2
            exit 1
        fi
    fi
fi

cargo build --locked -q -p wiremesh -p wiremesh-server -p docker-tests
if [ "${1:-}" = down ]; then
    exec target/debug/wiremesh-e2e demo-down
fi
exec target/debug/wiremesh-e2e demo
