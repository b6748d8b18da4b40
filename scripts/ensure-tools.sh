#!/usr/bin/env bash
# What the test command needs on the machine, installed when missing (sourced by
# scripts/test.sh; run it alone to prepare a machine). Idempotent: a tool that is already
# there at the right version is left alone, and each install prints one line saying what and
# why. Needs root (or sudo) for the Debian packages; cargo installs go to ~/.cargo/bin.
#
# Debian packages (--no-install-recommends: wireguard-tools would otherwise pull in a kernel
# image and systemd):
#   iproute2 wireguard-tools wireguard-go nftables iputils-ping   namespaces, userspace WireGuard, NAT routers
#   procps util-linux ca-certificates                             pgrep/prlimit/nsenter in the harness
#   dpkg-dev rpm                                                  the package checks
#   curl openssl                                                  the automation API scenario: the operator's
#                                                                 client and a certificate for its TLS listener
#   libfaketime                                                   the clock-jump scenario (a preloaded library)
#   docker.io busybox-static                                      the Docker scenario: an engine it starts
#                                                                 itself, and an image imported from a static
#                                                                 busybox (no registry is reachable)
# From crates.io:
#   innernet, innernet-server 2.0.0                               the counterpart of the interop scenarios
#   cargo-deb 3.8.0, cargo-generate-rpm 0.21.1                    the packages, at the versions the metadata is written for

ensure_tools() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null; then
            sudo="sudo"
        else
            echo "ensure-tools: not root and no sudo: not installing anything (the tests that need the tools will say so)"
            return 0
        fi
    fi

    # package:command that proves it is there
    local wanted=(
        iproute2:ip wireguard-tools:wg wireguard-go:wireguard-go nftables:nft
        iputils-ping:ping procps:pgrep util-linux:nsenter ca-certificates:update-ca-certificates
        dpkg-dev:dpkg-architecture rpm:rpm libfaketime:libfaketime docker.io:dockerd
        curl:curl openssl:openssl
    )
    local missing=() entry
    for entry in "${wanted[@]}"; do
        if ! command -v "${entry#*:}" >/dev/null 2>&1 \
            && ! dpkg-query -W -f='${Status}' "${entry%%:*}" 2>/dev/null | grep -q 'ok installed'; then
            missing+=("${entry%%:*}")
        fi
    done
    # A `busybox` command may be the dynamically linked one, useless in an image's root.
    if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; then
        missing+=(busybox-static)
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "ensure-tools: installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi

    export PATH="$HOME/.cargo/bin:$PATH"
    if ! command -v innernet >/dev/null || ! innernet --version 2>/dev/null | grep -q ' 2\.0\.0$' \
        || ! command -v innernet-server >/dev/null \
        || ! innernet-server --version 2>/dev/null | grep -q ' 2\.0\.0$'; then
        echo "ensure-tools: installing innernet and innernet-server 2.0.0 from crates.io (the interop scenarios' counterpart)"
        cargo install --locked --quiet innernet innernet-server --version 2.0.0
    fi
    if ! cargo deb --version 2>/dev/null | grep -q '^cargo-deb 3\.8\.0$'; then
        echo "ensure-tools: installing cargo-deb 3.8.0 from crates.io (the .deb packages)"
        cargo install --locked --quiet cargo-deb --version 3.8.0
    fi
    if ! cargo generate-rpm --version 2>/dev/null | grep -q ' 0\.21\.1$'; then
        echo "ensure-tools: installing cargo-generate-rpm 0.21.1 from crates.io (the .rpm packages)"
        cargo install --locked --quiet cargo-generate-rpm --version 0.21.1
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    ensure_tools
fi
