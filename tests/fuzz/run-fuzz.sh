#!/bin/sh
# Builds the libFuzzer harnesses with clang (libcascade and ui/'s recipe code instrumented as
# well) and runs each for a bounded time, one after the other. Exits non-zero when a harness
# finds a crash, leak, UB, GLib critical or timeout; the reproducer is left as
# <build>/fuzz-<name>-crash-* (replay: <build>/tests/fuzz/fuzz-<name> FILE), the log as
# <build>/fuzz-<name>.log, and a table of execs and coverage is printed at the end.
#
#   tests/fuzz/run-fuzz.sh [SECONDS_EACH]
#   env: FUZZ_SECONDS (seconds per harness; default: FUZZ_TOTAL_SECONDS split evenly, at
#        least 5), FUZZ_TOTAL_SECONDS (default 240; CI gives 160),
#        FUZZ_ONLY ("png preset": a subset), FUZZ_BUILD_DIR (default build-fuzz),
#        FUZZ_JOBS (ninja -j, default 2)
set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
jobs=${FUZZ_JOBS:-2}
all="safetensors config unet-config scheduler-config encoder-config model-index shard-index
     generation-defaults prompts t5-tokenizer clip-tokenizer tfjs esrgan-config png preset recipe"
harnesses=$(echo ${FUZZ_ONLY:-$all})
n=$(echo $harnesses | wc -w)
seconds=${1:-${FUZZ_SECONDS:-$(( ${FUZZ_TOTAL_SECONDS:-240} / n ))}}
[ "$seconds" -ge 5 ] || seconds=5

if [ ! -f "$build/build.ninja" ]; then
    # fuzzer-no-link gives libcascade coverage counters; -fno-sanitize-recover makes UB fatal
    CC=clang CXX=clang++ meson setup "$build" "$src" \
        -Dfuzz=true -Dvulkan=disabled -Dplugin=disabled \
        -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized \
        "-Dc_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=all" \
        "-Dcpp_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=all"
fi
targets=""
for h in $harnesses; do targets="$targets tests/fuzz/fuzz-$h"; done
ninja -C "$build" -j"$jobs" $targets

# which dictionary helps which harness
dict_of() {
    case $1 in
    safetensors) echo safetensors ;;
    config | unet-config | scheduler-config | encoder-config) echo json-model ;;
    model-index | shard-index | generation-defaults | prompts) echo json-pipeline ;;
    t5-tokenizer | clip-tokenizer) echo json-tokenizer ;;
    tfjs | esrgan-config) echo json-upscaler ;;
    preset) echo json-preset ;;
    *) echo "" ;;
    esac
}

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
summary=""
for h in $harnesses; do
    # new inputs go to a scratch corpus; the seed corpus in the tree stays as committed
    work="$build/fuzz-corpus-$h"
    log="$build/fuzz-$h.log"
    mkdir -p "$work"
    d=$(dict_of "$h")
    dict=${d:+-dict=$src/tests/fuzz/$d.dict}
    echo "== fuzz-$h for ${seconds}s"
    # -max_len reaches the ~162 KB of a JSON nested 80,000 deep (issue 14)
    if "$build/tests/fuzz/fuzz-$h" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
        $dict -print_final_stats=1 -artifact_prefix="$build/fuzz-$h-" \
        "$work" "$src/tests/fuzz/corpus-$h" >"$log" 2>&1; then
        result=ok
    else
        result=FINDING
        status=1
        echo "fuzz-$h: FINDING (see $log and $build/fuzz-$h-*)" >&2
        grep -E "ERROR|SUMMARY|fuzz:" "$log" | head -5 >&2 || true
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p')
    line=$(printf '%-20s %7ss %10s %7s %6s %6s  %s' "$h" "$seconds" "${execs:-?}" "${rate:-?}" \
        $(echo ${cov:-? ?}) "$result")
    echo "$line"
    summary="$summary$line
"
done
echo
printf '%-20s %8s %10s %7s %6s %6s  %s\n' harness time execs exec/s cov ft result
printf '%s' "$summary"
exit $status
