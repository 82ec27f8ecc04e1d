#!/usr/bin/env bash
# Configures, builds and runs the whole test suite (every suite but 'slow').
# Usage: tools/test.sh [BUILD_DIR] [extra meson setup options...]
# Before the tests it fetches and converts the pretrained upscalers from npm (idempotent: a
# rerun only redoes what changed), so the sr_* golden cases run; CASCADE_NO_FETCH=1 skips
# that on an offline machine (those cases then report SKIP).
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
if [ "${CASCADE_NO_FETCH:-0}" != 1 ]; then
  tools/upscalers/fetch.sh --build "$build" all
fi
meson test -C "$build" --no-suite slow --print-errorlogs --num-processes "$(nproc)"
