#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The README's demo command: installs what is missing, builds, and runs the
# demo on three tiny real guests (about two minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
BUILD_DIR=$BUILD_DIR bash scripts/build.sh >/dev/null
exec python3 scripts/demo.py "$BUILD_DIR" "$@"
