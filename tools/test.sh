#!/usr/bin/env bash
# Configures, builds and runs the whole test suite (every suite but 'slow').
# Usage: tools/test.sh [BUILD_DIR] [extra meson setup options...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$@"
else
  meson setup --reconfigure "$build" "$@" >/dev/null
fi
ninja -C "$build"
meson test -C "$build" --no-suite slow --print-errorlogs --num-processes "$(nproc)"
