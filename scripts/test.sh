#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The README's test command: installs what is missing, builds, runs every test
# (unit and integration on real QEMU guests) and ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || exit 1
BUILD_DIR=${BUILD_DIR:-build}
BUILD_DIR=$BUILD_DIR bash scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }

meson test -C "$BUILD_DIR" --print-errorlogs --num-processes 2 "$@"
status=$?

# meson's own summary counts; restated as the one line CI reads.
log="$BUILD_DIR/meson-logs/testlog.json"
passed=$(grep -c '"result": "OK"' "$log" 2>/dev/null || true)
failed=$(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" 2>/dev/null || true)
skipped=$(grep -c '"result": "SKIP"' "$log" 2>/dev/null || true)
[ "$status" -ne 0 ] && [ "${failed:-0}" -eq 0 ] && failed=1
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
exit "$status"
