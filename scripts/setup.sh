#!/usr/bin/env bash
# scripts/setup.sh [--tests] - installs the Debian 12 packages graft needs, only
# those not installed yet (so a warm machine returns at once). Without --tests:
# what the library, the CLI and the demo need; with --tests: also the test
# oracles (refread, python3-h5py, python3-torch) and clang for sanitizers/fuzzing.
# Runs apt-get directly as root, through sudo otherwise.
set -euo pipefail

BASE_PKGS=(build-essential cmake pkg-config libopenblas-dev libprotobuf-c-dev protobuf-c-compiler
           libhdf5-dev libcmocka-dev zlib1g-dev dataset-fashion-mnist)
TEST_PKGS=(g++ libleveldb-dev protobuf-compiler python3 python3-protobuf python3-numpy python3-crcmod
           python3-h5py python3-torch clang-14 libclang-rt-14-dev)

pkgs=("${BASE_PKGS[@]}")
case "${1:-}" in
    --tests) pkgs+=("${TEST_PKGS[@]}") ;;
    "") ;;
    *) echo "usage: $0 [--tests]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != "installed" ]; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#pkgs[@]} packages already installed"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "setup: missing packages: ${missing[*]}; run as root (or install sudo)" >&2
    exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
