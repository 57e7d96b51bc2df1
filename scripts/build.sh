#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Configures (once) and builds memtide into BUILD_DIR (default: build).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
        meson setup "$BUILD_DIR" -Dwerror=true "$@"
fi
ninja -C "$BUILD_DIR"
