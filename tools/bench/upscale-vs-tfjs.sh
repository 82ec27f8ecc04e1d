#!/bin/sh
# Times x4 upscaling of the same image with `cascade upscale --bench` (CPU backend) and with
# TensorFlow.js 4.11 in Node (tools/upscalers/js/tfjs-sr.mjs: @tensorflow/tfjs-backend-wasm,
# single-threaded XNNPACK SIMD, and the plain-JS cpu backend), one after the other in one
# run, and prints the medians and the ratio tfjs / cascade (> 1: cascade is faster), for wall
# time and for CPU time (user + system of each process: robust when other jobs share the
# machine). Both run on one thread by default, as TF.js wasm does under Node.
# Then the peak memory (max RSS) of both on a large canvas (default 1024x1024 -> 4096x4096,
# esrgan-slim): cascade tiles within its memory budget, TF.js runs UpscalerJS-style patches.
#
# usage: tools/bench/upscale-vs-tfjs.sh [--build DIR] [--size N] [--runs N] [--models LIST]
#                                       [--large N] [--tfjs-cpu] [--threads N]
#   --size N     edge of the benchmark image (a crop of ../shared/images/astronaut.png), 128
#   --models L   comma-separated: esrgan-slim,esrgan-medium,esrgan-thick (default: all three)
#   --runs N     timed runs after one warm-up (default 3; esrgan-thick 1)
#   --threads N  cascade CPU threads (default 1, as TF.js wasm; 0 = all cores)
#   --tfjs-cpu   also time TF.js' plain-JS cpu backend (slow: ~7 s slim .. ~210 s thick)
#   --large N    edge of the large-canvas input (0 skips the memory comparison)
#   --memory MIB cascade's memory budget on the large canvas (default 256)
# Needs: tools/upscalers/fetch.sh done, `npm ci` in tools/upscalers/js, Debian's python3 (PIL).
set -eu
cd "$(dirname "$0")/../.."
build=build size=128 runs=3 models=esrgan-slim,esrgan-medium,esrgan-thick large=1024
tfjs_cpu=0 threads=1 memory=256
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --large) large=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    --tfjs-cpu) tfjs_cpu=1; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "upscale-vs-tfjs.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
sr=${CASCADE_SR_MODELS:-models/upscalers}
cascade=$build/cli/cascade
js=tools/upscalers/js
[ -x "$cascade" ] || { echo "upscale-vs-tfjs.sh: build first ($cascade)" >&2; exit 1; }
[ -d "$js/node_modules/@tensorflow/tfjs" ] || { echo "upscale-vs-tfjs.sh: run npm ci in $js" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The same pixels for both: a crop of the astronaut, as PNG (cascade) and raw RGB (tfjs).
crop() { # edge png rgb
    /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import sys
from PIL import Image
n, png, raw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
im = Image.open('../shared/images/astronaut.png').convert('RGB')
if n > min(im.size): im = im.resize((n, n), Image.BICUBIC)
else: im = im.crop((0, 0, n, n))
im.save(png); open(raw, 'wb').write(im.tobytes())
PY
}
field() { # json key
    sed -n "s/.*\"$2\": *\([0-9.e+-]*\).*/\1/p" "$1"
}

crop "$size" "$tmp/in.png" "$tmp/in.rgb"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "image: ${size}x${size} -> x4, cascade threads: ${threads} (0 = all), median of $runs runs after a warm-up"
printf '%-14s %10s %10s %10s %10s %10s %11s %11s %11s\n' model cascade_s wasm_s jscpu_s \
    cascade_cpu wasm_cpu 'wasm/casc' 'wasm/casc' 'jscpu/casc'
printf '%-14s %10s %10s %10s %10s %10s %11s %11s %11s\n' '' wall wall wall 'cpu time' 'cpu time' wall \
    'cpu time' wall
for m in $(echo "$models" | tr , ' '); do
    r=$runs
    [ "$m" = esrgan-thick ] && r=1
    "$cascade" upscale --model "$sr/${m}_x4" "$tmp/in.png" --bench "$r" --threads "$threads" \
        >"$tmp/c.json"
    node "$js/tfjs-sr.mjs" --model "$sr/npm/$m/models/x4" --backend wasm --width "$size" \
        --height "$size" --runs "$r" "$tmp/in.rgb" >"$tmp/w.json"
    tc=$(field "$tmp/c.json" median_s) tw=$(field "$tmp/w.json" median_s) tp=-
    cc=$(field "$tmp/c.json" median_cpu_s) cw=$(field "$tmp/w.json" median_cpu_s)
    if [ "$tfjs_cpu" = 1 ]; then
        node "$js/tfjs-sr.mjs" --model "$sr/npm/$m/models/x4" --backend cpu --width "$size" \
            --height "$size" --runs 1 "$tmp/in.rgb" >"$tmp/p.json"
        tp=$(field "$tmp/p.json" median_s)
    fi
    awk -v m="$m" -v c="$tc" -v w="$tw" -v p="$tp" -v cc="$cc" -v cw="$cw" 'BEGIN {
        printf "%-14s %10.3f %10.3f %10s %10.3f %10.3f %11.2f %11.2f %11s\n", m, c, w,
               p == "-" ? "-" : sprintf("%.3f", p), cc, cw, w / c, cw / cc,
               p == "-" ? "-" : sprintf("%.1f", p / c) }'
done

[ "$large" -gt 0 ] || exit 0
crop "$large" "$tmp/big.png" "$tmp/big.rgb"
out=$((large * 4))
"$cascade" upscale --model "$sr/esrgan-slim_x4" "$tmp/big.png" --bench 1 --threads "$threads" \
    --memory "$memory" >"$tmp/cb.json"
node "$js/tfjs-sr.mjs" --model "$sr/npm/esrgan-slim/models/x4" --backend wasm --width "$large" \
    --height "$large" --patch 128 --padding 8 "$tmp/big.rgb" >"$tmp/wb.json"
echo "large canvas ${large}x${large} -> ${out}x${out}, esrgan-slim x4:"
echo "  cascade (tiles from a $memory MiB budget): $(field "$tmp/cb.json" median_s) s, peak RSS $(field "$tmp/cb.json" peak_rss_mib) MiB (output image alone: $((out * out * 3 / 1048576)) MiB)"
echo "  tfjs wasm (UpscalerJS-style patches 128 + padding 8): $(field "$tmp/wb.json" first_s) s, peak RSS $(field "$tmp/wb.json" peak_rss_mib) MiB"
