#!/usr/bin/env bash
# Install sdsl-lite (Debian libsdsl-dev 2.1.1) and libdivsufsort, used as a
# reference implementation in the benchmarks. Idempotent.
set -euo pipefail

PKGS=(libsdsl-dev libdivsufsort-dev)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "sdsl: already installed (${PKGS[*]})" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y "${missing[@]}"; then
    echo "sdsl: install failed, running apt-get update and retrying" >&2
    $SUDO apt-get update
    $SUDO apt-get install -y "${missing[@]}"
fi
