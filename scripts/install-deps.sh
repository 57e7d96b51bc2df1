#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs what memtide needs to build and test on Debian 12, if missing.
# Run as root. Idempotent: installs only packages that are not there yet.
#
# It changes nothing else on the host: no kernel is installed (the test
# guests' kernel is downloaded and unpacked into the build tree by
# tests/guest/build-image.sh), and services that packages bring
# (prometheus-node-exporter; prometheus, installed for its promtool;
# libvirt's and systemd-container's daemons) are neither started nor left
# enabled: the tests start their own instances, and need no Prometheus server.
set -euo pipefail

BUILD_PACKAGES=(meson ninja-build pkg-config gcc libc6-dev libsystemd-dev libjson-c-dev libvirt-dev libxml2-dev scdoc)
# The demo: QEMU, and what the guest image is made with.
DEMO_PACKAGES=(python3 qemu-system-x86 busybox-static cpio gzip binutils)
TEST_PACKAGES=("${DEMO_PACKAGES[@]}" kmod procps valgrind
               libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients prometheus-node-exporter
               prometheus util-linux man-db systemd mmdebstrap systemd-container strace
               # test-varlink-go: the control socket through the upstream Go
               # varlink library, built offline from these packages.
               golang-go golang-github-varlink-go-dev)
# Only for tests/fuzz/run-fuzzers.sh (libFuzzer); the suite replays the fuzz
# corpora with gcc, so the test command does not need them.
FUZZ_PACKAGES=(clang libclang-rt-14-dev)

# No argument: build and test packages; --build-only; --demo: build and the
# demo; --fuzz: build and fuzz.
want=("${BUILD_PACKAGES[@]}")
case "${1:-}" in
--build-only) ;;
--demo) want+=("${DEMO_PACKAGES[@]}") ;;
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

installed() { dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" { print $2 }' | sort; }

# Units shipped by the packages named on stdin that are enabled now.
enabled_units() {
        local p u
        while read -r p; do
                dpkg -L "$p" 2>/dev/null |
                        grep -E '^(/usr)?/lib/systemd/system/[^/@]+\.(service|socket|timer|path)$' || true
        done | xargs -r -n 1 basename | sort -u | while read -r u; do
                [ "$(systemctl is-enabled "$u" 2>/dev/null)" != enabled ] || echo "$u"
        done
}

# Services are not started while installing (policy-rc.d says no to
# invoke-rc.d and deb-systemd-invoke), unless the host has a policy of its own.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# install-deps.sh (memtide): start nothing while installing\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        own_policy=1
fi
trap '[ "$own_policy" = 0 ] || rm -f "$policy"' EXIT

before=$(installed)
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

# Enabled by the packages just installed (dependencies included): disabled,
# so that nothing starts at the next boot either.
comm -13 <(echo "$before") <(installed) | enabled_units | while read -r u; do
        systemctl disable --quiet "$u" && echo "install-deps: disabled $u (its package was installed for memtide's tests)"
done
