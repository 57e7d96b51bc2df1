#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs what memtide needs to build and test on Debian 12, if missing.
# Run as root. Idempotent: installs only packages that are not there yet.
set -euo pipefail

BUILD_PACKAGES=(meson ninja-build pkg-config gcc libc6-dev libsystemd-dev libjson-c-dev libvirt-dev scdoc)
TEST_PACKAGES=(python3 qemu-system-x86 linux-image-amd64 busybox-static cpio gzip kmod procps valgrind
               libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients prometheus-node-exporter
               util-linux man-db systemd mmdebstrap systemd-container strace)
# Only for tests/fuzz/run-fuzzers.sh (libFuzzer); the suite replays the fuzz
# corpora with gcc, so the test command does not need them.
FUZZ_PACKAGES=(clang libclang-rt-14-dev)

# No argument: build and test packages; --build-only; --fuzz: build and fuzz.
want=("${BUILD_PACKAGES[@]}")
case "${1:-}" in
--build-only) ;;
--fuzz) want+=("${FUZZ_PACKAGES[@]}") ;;
*) want+=("${TEST_PACKAGES[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
        exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
