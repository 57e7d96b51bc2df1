#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# memtided --dump-config prints the config in force: the main file with its
# drop-ins applied, every key at its value, and what it prints is itself a
# config that dumps the same.
# Usage: check-dump-config.sh MEMTIDED
set -u
memtided=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "check-dump-config: $*" >&2; exit 1; }

mkdir "$dir/memtide.conf.d"
printf '[Daemon]\nInterval=5s\n[Policy]\nStrategy=mom\n[Guest:db-*]\nMinMemory=2G\n' > "$dir/memtide.conf"
printf '[Daemon]\nInterval=750ms\n[KSM]\nEnabled=yes\n' > "$dir/memtide.conf.d/50-local.conf"
"$memtided" --dump-config --config "$dir/memtide.conf" > "$dir/dump" || fail "--dump-config failed"
for want in 'Interval=750ms' 'Strategy=mom' 'Enabled=yes' 'StatsPeriod=1s' '[Guest:db-*]' 'MinMemory=2G'; do
        grep -qxF "$want" "$dir/dump" || { cat "$dir/dump" >&2; fail "no line '$want'"; }
done
"$memtided" --check-config --config "$dir/dump" > /dev/null || fail "the dump does not load"
"$memtided" --dump-config --config "$dir/dump" > "$dir/dump2" || fail "dumping the dump failed"
cmp -s "$dir/dump" "$dir/dump2" || { diff "$dir/dump" "$dir/dump2" >&2; fail "the dump of the dump differs"; }
printf '[Daemon]\nInterval=soon\n' > "$dir/bad.conf"
"$memtided" --dump-config --config "$dir/bad.conf" > /dev/null 2> "$dir/err" && fail "a bad config dumped"
grep -q 'bad.conf:2' "$dir/err" || { cat "$dir/err" >&2; fail "the error names no file:line"; }
echo "check-dump-config: OK"
