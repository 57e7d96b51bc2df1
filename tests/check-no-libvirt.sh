#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A build with -Dlibvirt=disabled: memtided and memtidectl link no libvirt
# library, and a config asking for the libvirt backend is refused with a
# clear error instead of falling back silently.
# Usage: check-no-libvirt.sh MEMTIDED MEMTIDECTL
set -u
memtided=$1
memtidectl=$2
status=0
for exe in "$memtided" "$memtidectl"; do
        if readelf -d "$exe" | grep -q 'NEEDED.*libvirt'; then
                echo "check-no-libvirt: $exe links libvirt:" >&2
                readelf -d "$exe" | grep NEEDED >&2
                status=1
        fi
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '[Daemon]\nBackend=libvirt\n' > "$dir/libvirt.conf"
printf '[Daemon]\nBackend=auto\n' > "$dir/auto.conf"
if "$memtided" --check-config --config "$dir/libvirt.conf" > "$dir/out" 2>&1; then
        echo "check-no-libvirt: Backend=libvirt accepted:" >&2
        cat "$dir/out" >&2
        status=1
elif ! grep -q 'built without libvirt' "$dir/out"; then
        echo "check-no-libvirt: Backend=libvirt refused without saying why:" >&2
        cat "$dir/out" >&2
        status=1
fi
if ! "$memtided" --check-config --config "$dir/auto.conf" > "$dir/out" 2>&1; then
        echo "check-no-libvirt: Backend=auto refused:" >&2
        cat "$dir/out" >&2
        status=1
fi
[ "$status" -eq 0 ] && echo "check-no-libvirt: OK"
exit "$status"
