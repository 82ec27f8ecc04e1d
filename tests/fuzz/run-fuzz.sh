#!/bin/sh
# Builds the libFuzzer harnesses with clang (libcascade instrumented as well) and runs each
# for a bounded time. Exits non-zero when a harness finds a crash, leak, UB or timeout; the
# reproducer is left as <build>/fuzz-<name>-crash-* (replay: <build>/tests/fuzz/fuzz-<name> FILE).
#
#   tests/fuzz/run-fuzz.sh [SECONDS_EACH]        default 60, or $FUZZ_SECONDS
#   env: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_JOBS (ninja -j, default 2)
set -eu

seconds=${1:-${FUZZ_SECONDS:-60}}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
jobs=${FUZZ_JOBS:-2}

if [ ! -f "$build/build.ninja" ]; then
    # fuzzer-no-link gives libcascade coverage counters; -fno-sanitize-recover makes UB fatal
    CC=clang CXX=clang++ meson setup "$build" "$src" \
        -Dfuzz=true -Dvulkan=disabled -Dplugin=disabled \
        -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized \
        "-Dc_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=all" \
        "-Dcpp_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=all"
fi
ninja -C "$build" -j"$jobs" tests/fuzz/fuzz-safetensors tests/fuzz/fuzz-config

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for h in safetensors config; do
    # new inputs go to a scratch corpus; the seed corpus in the tree stays as committed
    work="$build/fuzz-corpus-$h"
    mkdir -p "$work"
    echo "== fuzz-$h for ${seconds}s"
    if ! "$build/tests/fuzz/fuzz-$h" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
        -dict="$src/tests/fuzz/safetensors.dict" -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-$h-" \
        "$work" "$src/tests/fuzz/corpus-$h"; then
        echo "fuzz-$h: FINDING (see $build/fuzz-$h-*)" >&2
        status=1
    fi
done
exit $status
