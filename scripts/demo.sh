#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The README's demo command: installs what is missing (the build packages,
# QEMU and what the guest image is made with: scripts/install-deps.sh
# --demo), builds, and runs the demo on three tiny real guests (about two
# minutes). The guests' kernel is downloaded into the build tree, not
# installed; nothing is left running or enabled on the host.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --demo
BUILD_DIR=${BUILD_DIR:-build}
BUILD_DIR=$BUILD_DIR bash scripts/build.sh >/dev/null
exec python3 scripts/demo.py "$BUILD_DIR" "$@"
