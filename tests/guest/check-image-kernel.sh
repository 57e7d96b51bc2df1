#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The guest image must not change the host's boot set-up: build-image.sh takes
# the guest kernel and modules from Debian's kernel package, downloaded and
# unpacked into a cache, never installed. Checked by building an image on a
# host whose /boot looks empty (a private mount namespace) with
# `apt-get install` refused (a stub first in PATH): the build succeeds, its
# kernel is the package's, and the host's linux-image packages and /boot are
# as they were.
#
# Usage: check-image-kernel.sh BUILD_IMAGE_SH KERNEL_CACHE
# (KERNEL_CACHE: the build's cache, so that the package is downloaded once.)
set -euo pipefail

build_image=$1
cache=$2
skip() {
        echo "SKIP: $*"
        exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (a mount namespace hides /boot)"
command -v unshare >/dev/null || skip "unshare (util-linux) not installed"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
# apt-get: anything but installing packages goes to the real one.
cat >"$tmp/bin/apt-get" <<EOF
#!/bin/sh
echo "apt-get \$*" >>"$tmp/apt-get.log"
for a in "\$@"; do
        case "\$a" in install | upgrade | dist-upgrade | remove | purge)
                echo "check-image-kernel: refused: apt-get \$*" >&2
                exit 100 ;;
        esac
done
exec /usr/bin/apt-get "\$@"
EOF
chmod +x "$tmp/bin/apt-get"

host_state() {
        dpkg-query -W -f='${Package} ${Version} ${Status}\n' 'linux-image-*' 2>/dev/null | sort
        ls -l --time-style=+%s /boot 2>/dev/null
}
before=$(host_state)

# /boot empty as on a host booted otherwise (a container, a network boot).
status=0
unshare -m bash -c '
        mount --make-rprivate / && mount -t tmpfs -o size=1m tmpfs /boot || exit 77
        PATH='"$tmp/bin"':$PATH MEMTIDE_KERNEL_CACHE='"$cache"' \
                bash '"$build_image"' '"$tmp/image"'
' >"$tmp/build.log" 2>&1 || status=$?
cat "$tmp/build.log"
[ "$status" -ne 77 ] || skip "cannot hide /boot in a mount namespace here"
[ "$status" -eq 0 ] || {
        echo "FAIL: build-image.sh exited $status on a host without a kernel in /boot"
        exit 1
}
if [ -f "$tmp/apt-get.log" ]; then
        echo "apt-get calls:"
        cat "$tmp/apt-get.log"
fi

kver=$(cat "$tmp/image/kernel-version")
pkg_kernel=$(ls "$cache"/root/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$pkg_kernel" ] || {
        echo "FAIL: no unpacked kernel package in $cache"
        exit 1
}
cmp -s "$pkg_kernel" "$tmp/image/vmlinuz" || {
        echo "FAIL: the image's kernel is not the package's $pkg_kernel"
        exit 1
}
[ "$kver" = "${pkg_kernel##*/vmlinuz-}" ] || {
        echo "FAIL: kernel-version $kver, package kernel $pkg_kernel"
        exit 1
}
after=$(host_state)
[ "$before" = "$after" ] || {
        echo "FAIL: the host's kernel packages or /boot changed:"
        diff <(echo "$before") <(echo "$after") || true
        exit 1
}
echo "image kernel $kver from $(basename "$(ls "$cache"/linux-image-*.deb | tail -n 1)"), host /boot and linux-image packages unchanged"
echo PASS
