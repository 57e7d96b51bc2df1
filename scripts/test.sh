#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The README's test command: installs what is missing, builds, runs every test
# (unit, fuzz corpus replay and integration on real QEMU guests) in the
# normal build, then in a build without libvirt (QMP only, as on Proxmox:
# its own tests and the QMP integration tests), then in a build under ASan
# and UBSan. Ends with one "N passed, N failed" line that counts all three.
#
#   BUILD_DIR            normal build (default: build)
#   NOLIBVIRT_BUILD_DIR  build with -Dlibvirt=disabled (default: build-nolibvirt)
#   ASAN_BUILD_DIR       sanitizer build (default: build-asan)
#   NOLIBVIRT=0          skip the build without libvirt
#   SANITIZERS=0         skip the sanitizer build
# Arguments go to both `meson test` runs (e.g. --suite unit).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

bash scripts/install-deps.sh || exit 1
BUILD_DIR=${BUILD_DIR:-build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
NOLIBVIRT_BUILD_DIR=${NOLIBVIRT_BUILD_DIR:-build-nolibvirt}

passed=0 failed=0 skipped=0 status=0

# Adds one run's results, from meson's own log, to the totals.
count_results() {
        local log="$1/meson-logs/testlog.json" p f s
        p=$(grep -c '"result": "OK"' "$log" 2>/dev/null || true)
        f=$(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" 2>/dev/null || true)
        s=$(grep -c '"result": "SKIP"' "$log" 2>/dev/null || true)
        # A run that failed without a failed test (build, setup) still fails.
        [ "$2" -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1
        passed=$((passed + ${p:-0})) failed=$((failed + ${f:-0})) skipped=$((skipped + ${s:-0}))
        [ "$2" -eq 0 ] || status=1
}

# run_build DIR [build.sh options...]: configure once, build, run the tests.
run_build() {
        local dir=$1 r
        shift
        rm -f "$dir/meson-logs/testlog.json"
        if BUILD_DIR=$dir bash scripts/build.sh "$@"; then
                meson test -C "$dir" --print-errorlogs --num-processes 2 "${TEST_ARGS[@]}"
                r=$?
        else
                r=1
        fi
        count_results "$dir" "$r"
}

TEST_ARGS=("$@")

echo "== normal build ($BUILD_DIR)"
run_build "$BUILD_DIR"

if [ "${NOLIBVIRT:-1}" != 0 ]; then
        echo "== build without libvirt ($NOLIBVIRT_BUILD_DIR)"
        run_build "$NOLIBVIRT_BUILD_DIR" -Dlibvirt=disabled
fi

if [ "${SANITIZERS:-1}" != 0 ]; then
        echo "== ASan + UBSan build ($ASAN_BUILD_DIR)"
        # Any report fails the test: ASan and UBSan stop the process at the
        # first error (UBSan is compiled not to recover, too), abort so the
        # exit is a signal nobody mistakes for a status, and LeakSanitizer
        # checks every exit, memtided's after SIGTERM included (the
        # integration harness asserts that memtided exits 0).
        export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:print_summary=1
        export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1
        # The integration tests run memtided from this build dir (meson sets
        # MEMTIDE_BUILD_DIR to the build root), so they test the sanitized daemon.
        run_build "$ASAN_BUILD_DIR" -Db_sanitize=address,undefined -Db_lundef=false \
                -Dc_args=-fno-sanitize-recover=undefined
fi

echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
