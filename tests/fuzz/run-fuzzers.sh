#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz and
# runs each for SECONDS (default 600), one after the other, at nice 10 and on
# one core (-jobs=1 -workers=1: the machine is shared with QEMU guests). New
# inputs go to a scratch corpus (FUZZ_WORK, default /tmp/memtide-fuzz), never
# into the tree; crashes go there too as crash-*/leak-*/timeout-*/oom-*. At
# the end it prints, per target: executions, coverage (cov: edges, ft:
# features), the scratch corpus size, the time run and the crashes found.
#
#   tests/fuzz/run-fuzzers.sh [SECONDS] [TARGET...]
#   tests/fuzz/run-fuzzers.sh --merge [TARGET...]
#
# --merge adds to tests/fuzz/corpus/<target>/ only the scratch inputs that
# cover code the committed corpus does not (libFuzzer -merge=1 on edges),
# which keeps the committed corpus small: tens of files per target. A crash
# input is copied by hand as tests/fuzz/corpus/<target>/crash-<what> once the
# bug is fixed, so the suite replays it from then on.
#
# Needs clang and libclang-rt-14-dev (scripts/install-deps.sh --fuzz).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/install-deps.sh --fuzz

TARGETS=(fuzz-balloon-stats fuzz-config fuzz-control fuzz-qmp-stream fuzz-varlink)
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
WORK=${FUZZ_WORK:-/tmp/memtide-fuzz}

merge=false
seconds=600
if [ "${1:-}" = "--merge" ]; then
        merge=true
        shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
        seconds=$1
        shift
fi
[ $# -gt 0 ] && TARGETS=("$@")

# UBSan findings must stop the run like ASan's do, so libFuzzer saves them.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
        CC=clang meson setup "$BUILD_DIR" -Dfuzzing=enabled -Dintegration=disabled \
                -Db_sanitize=address,undefined -Db_lundef=false \
                -Dc_args=-fno-sanitize-recover=undefined >/dev/null
fi
ninja -C "$BUILD_DIR" "${TARGETS[@]/#/tests/fuzz/}"

dict_for() {
        case "$1" in
        fuzz-config) echo "tests/fuzz/config.dict" ;;
        *) echo "tests/fuzz/json.dict" ;;
        esac
}

# fuzz-qmp-stream runs under memory limits that json-c trips when a QMP
# message is not held to its budget (lib/qemu/qmp.h; before it, its seed
# seed-many-objects alone took the target past 80 MB): RSS counts the target's
# memory once ASan's quarantine is cut to 4 MiB (it peaks near 55 MB), and an
# input may hold a whole over-budget message.
limits_for() {
        case "$1" in
        fuzz-qmp-stream) echo "-rss_limit_mb=80 -malloc_limit_mb=16 -max_len=262144" ;;
        esac
}
asan_options_for() {
        case "$1" in
        fuzz-qmp-stream) echo "$ASAN_OPTIONS:quarantine_size_mb=4" ;;
        *) echo "$ASAN_OPTIONS" ;;
        esac
}

if $merge; then
        for t in "${TARGETS[@]}"; do
                before=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
                # Edges only (-use_counters=0): an input that merely runs a
                # loop more often is not worth committing.
                "$BUILD_DIR/tests/fuzz/$t" -merge=1 -use_counters=0 "tests/fuzz/corpus/$t" \
                        "$WORK/$t/corpus" >"$WORK/$t/merge.log" 2>&1
                after=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
                echo "$t: committed corpus $before -> $after files"
        done
        exit 0
fi

summary=()
for t in "${TARGETS[@]}"; do
        dir="$WORK/$t"
        mkdir -p "$dir/corpus" "$dir/artifacts"
        exe=$(realpath "$BUILD_DIR/tests/fuzz/$t")
        echo "== $t: ${seconds}s"
        start=$(date +%s)
        # -jobs=1 -workers=1 runs the fuzzer in one child whose output is
        # $dir/fuzz-0.log; the scratch corpus comes first so that new inputs
        # are written there, the committed corpus is only read.
        # shellcheck disable=SC2046 # limits_for gives separate options
        (cd "$dir" && ASAN_OPTIONS=$(asan_options_for "$t") nice -n 10 "$exe" -jobs=1 -workers=1 \
                -max_total_time="$seconds" $(limits_for "$t") \
                -timeout=10 -print_final_stats=1 -dict="$OLDPWD/$(dict_for "$t")" \
                -artifact_prefix="$dir/artifacts/" \
                "$dir/corpus" "$OLDPWD/tests/fuzz/corpus/$t") || true
        elapsed=$(( $(date +%s) - start ))
        log="$dir/fuzz-0.log"
        last=$(grep -E '^#[0-9]+' "$log" | tail -1)
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | cut -d' ' -f2)
        ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | cut -d' ' -f2)
        crashes=$(find "$dir/artifacts" -type f | wc -l)
        corpus=$(find "$dir/corpus" -type f | wc -l)
        summary+=("$(printf '%-20s %12s %7s %7s %8s %7ss %8s' "$t" "${execs:-?}" "${cov:-?}" \
                "${ft:-?}" "$corpus" "$elapsed" "$crashes")")
        [ "$crashes" -eq 0 ] || find "$dir/artifacts" -type f | sed 's/^/   crash: /'
done

echo
printf '%-20s %12s %7s %7s %8s %8s %8s\n' target execs cov ft corpus time crashes
printf '%s\n' "${summary[@]}" | tee "$WORK/summary.txt"
! grep -qE ' [1-9][0-9]*$' "$WORK/summary.txt"
