#!/usr/bin/env bash
# GPU benchmark in one command, for a headless NVIDIA H100/H200 machine that starts bare.
#
#   tools/bench/gpu.sh --prepare          here, on the Debian 12 development machine
#   tools/bench/gpu.sh [options]          there (carry .gpu/ with the working tree)
#
# --prepare builds a release build (.gpu/build), copies the programs the benchmark runs to
# .gpu/bin, downloads the Debian packages of the shared libraries they need and of the
# Vulkan loader (.gpu/debs, unpacked there: the loader into /, the rest under a private
# root) and copies the golden cases that fit (.gpu/golden): about 50 MiB in all, under the
# 64 MiB a device run may carry. Without .gpu/, the run builds the project itself, which
# needs cc, meson, ninja, pkg-config, glslc, spirv-val and the -dev packages of
# tools/install-deps.sh; it names whatever is missing and stops.
#
# The run: (1) the Vulkan loader and NVIDIA's ICD, (2) `cascade devices` with the
# cooperative-matrix shapes, (3) correctness first: the op-equivalence test and the Vulkan
# golden suites (fp32, fp16, fp16 on the plain GEMM), stopping on a failure, (4) a large
# matrix product and two large 3x3 convolutions alone (gemm-bench), then `cascade bench` on
# an IF-I-M-shaped and an SD-1.5-shaped U-Net (tools/bench/configs, random weights made
# there by unet-random) with the plain and the tensor-core GEMM: per-step time (one
# forward at batch 2 = one guidance step), TFLOP/s of its products and the fraction of the
# device's fp16 dense peak, (5) the same U-Nets in PyTorch eager when torch sees CUDA, and
# a summary table (also written to $OUT/gpu-bench.txt when OUT is set).
#
# Options: --allow-any-device (run on a non-NVIDIA device, e.g. lavapipe), --tiny (the
# golden cases' small U-Net configs at 16 px and 2 iterations: exercises the script end to
# end), --iterations N (default 10), --peak-tflops X (fp16 dense peak; default from the
# device name: H100 SXM / H200 989.4, H100 PCIe 756.5, H100 NVL 835.5), --skip-golden,
# --keep-going (benchmark even after a correctness failure), --work DIR (default
# /tmp/cascade-gpu), --build DIR (take the programs from an existing meson build folder).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GPU=$ROOT/.gpu

die() { echo "gpu.sh: $*" >&2; exit 1; }
say() { printf '\n== %s\n' "$*"; }

prepare=0 any=0 tiny=0 iters=10 peak="" skip_golden=0 keep_going=0 work=/tmp/cascade-gpu build=
while [ $# -gt 0 ]; do
  case "$1" in
    --prepare) prepare=1 ;;
    --allow-any-device) any=1 ;;
    --tiny) tiny=1 ;;
    --iterations) iters=${2:?}; shift ;;
    --peak-tflops) peak=${2:?}; shift ;;
    --skip-golden) skip_golden=1 ;;
    --keep-going) keep_going=1 ;;
    --work) work=${2:?}; shift ;;
    --build) build=${2:?}; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done

PROGRAMS="cli/cascade tests/golden/golden-runner tests/ops/test-backend-ops tools/bench/unet-random
  tools/bench/gemm-bench"

# ---- --prepare: on the development machine ----
if [ $prepare = 1 ]; then
  [ -f /etc/debian_version ] || die "--prepare runs on the Debian 12 development machine"
  rm -rf "$GPU/bin" "$GPU/debs" "$GPU/golden"
  mkdir -p "$GPU/bin" "$GPU/debs/loader" "$GPU/debs/lib" "$GPU/golden"
  [ -d "$GPU/build" ] || meson setup "$GPU/build" --buildtype=release -Dplugin=disabled >/dev/null
  ninja -C "$GPU/build" $(for p in $PROGRAMS; do printf '%s ' "$p"; done) >/dev/null
  for p in $PROGRAMS; do cp "$GPU/build/$p" "$GPU/bin/"; strip "$GPU/bin/$(basename "$p")"; done
  # the packages of the shared libraries the programs load (beyond libc, which is there)
  pkgs=$(for p in "$GPU"/bin/*; do ldd "$p" | awk '/=> \//{print $3}'; done | sort -u |
    while read -r lib; do
      real=$(readlink -f "$lib")
      dpkg -S "$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null ||
        dpkg -S "/usr$lib" 2>/dev/null || dpkg -S "/usr$real" 2>/dev/null || true
    done | cut -d: -f1 | sort -u | grep -vx 'libc6\|libgcc-s1\|libstdc++6\|libvulkan1')
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial
  apt-get $o update -qq
  (cd "$GPU/debs/lib" && apt-get $o download -qq $pkgs libgfortran5 libquadmath0 libprotobuf-lite32)
  (cd "$GPU/debs/loader" && apt-get $o download -qq libvulkan1)
  # golden cases, smallest families first, up to 40 MiB (the upscalers' sr_* cases last)
  budget=$((40 * 1024))
  for c in $(cd ../shared/golden && du -sk -- */ | sort -n | awk '{print $2}' | tr -d / |
             awk '/^sr_/{print "1 " $0; next} {print "0 " $0}' | sort -s -k1,1n | cut -d' ' -f2); do
    k=$(du -sk "../shared/golden/$c" | cut -f1)
    [ "$k" -le "$budget" ] || continue
    cp -r "../shared/golden/$c" "$GPU/golden/"
    budget=$((budget - k))
  done
  du -sh "$GPU/bin" "$GPU/debs" "$GPU/golden"
  total=$(du -sk "$GPU/bin" "$GPU/debs" "$GPU/golden" | awk '{s += $1} END {print s}')
  [ "$total" -lt $((60 * 1024)) ] || die ".gpu is ${total} KiB: over what a device run may carry"
  echo "ready: carry .gpu/bin .gpu/debs .gpu/golden; run: tools/bench/gpu.sh"
  exit 0
fi

mkdir -p "$work"
out=${OUT:-$work}
summary=$out/gpu-bench.txt
: >"$summary"
report() { echo "$*" | tee -a "$summary"; }

# ---- 1. Vulkan loader, NVIDIA ICD, the programs ----
say "Vulkan loader and driver"
if ! ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1' >/dev/null; then  # no -q: an early exit would SIGPIPE ldconfig under pipefail
  debs=$(ls "$GPU"/debs/loader/*.deb .gl/*.deb 2>/dev/null || true)
  [ -n "$debs" ] || die "no Vulkan loader (libvulkan.so.1) here and no .gpu/debs/loader/*.deb to \
unpack: run tools/bench/gpu.sh --prepare on the development machine and carry .gpu"
  for f in $debs; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  echo "NVIDIA ICD: $icd"
fi

# the programs' own libraries (Debian 12's, unpacked under a private root) are put on the
# search path of the programs alone (run), never of python3 or the system's tools
LIBS=""
run() { LD_LIBRARY_PATH="$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
if [ -n "$build" ]; then
  mkdir -p "$work/bin"
  for p in $PROGRAMS; do
    [ -x "$build/$p" ] || die "$build/$p is not built"
    cp "$build/$p" "$work/bin/"
  done
  BIN=$work/bin
  echo "programs: $build"
elif [ -x "$GPU/bin/cascade" ]; then
  BIN=$GPU/bin
  if [ -d "$GPU/debs/lib" ]; then
    libroot=$work/root
    mkdir -p "$libroot"
    for f in "$GPU"/debs/lib/*.deb; do dpkg -x "$f" "$libroot"; done
    for d in "$libroot"/usr/lib/x86_64-linux-gnu/openblas-pthread "$libroot"/usr/lib/x86_64-linux-gnu \
             "$libroot"/lib/x86_64-linux-gnu; do
      if [ -d "$d" ]; then LIBS=$LIBS${LIBS:+:}$d; fi
    done
  fi
  echo "programs: $BIN (prepared)"
else
  missing=""
  for t in cc meson ninja pkg-config glslc spirv-val; do
    command -v $t >/dev/null 2>&1 || missing="$missing $t"
  done
  if command -v pkg-config >/dev/null 2>&1; then
    for p in glib-2.0 json-glib-1.0 vulkan sentencepiece cmocka; do
      pkg-config --exists $p || missing="$missing $p(-dev)"
    done
  fi
  [ -z "$missing" ] || die "cannot build here, missing:$missing. Either install them \
(Debian: tools/install-deps.sh) or run tools/bench/gpu.sh --prepare on the development machine \
and carry .gpu"
  [ -d build-gpu ] || meson setup build-gpu --buildtype=release -Dplugin=disabled >/dev/null
  ninja -C build-gpu $PROGRAMS >/dev/null
  mkdir -p "$work/bin"
  for p in $PROGRAMS; do cp "build-gpu/$p" "$work/bin/"; done
  BIN=$work/bin
  echo "programs: built in build-gpu"
fi
if run ldd "$BIN/cascade" | grep "not found" >/dev/null; then
  run ldd "$BIN/cascade" | grep "not found" >&2
  die "libraries missing for $BIN/cascade (see above)"
fi
golden=../shared/golden
[ -d "$GPU/golden" ] && golden=$GPU/golden

# ---- 2. the device ----
say "Devices"
run "$BIN/cascade" devices | tee "$work/devices.txt"
run "$BIN/cascade" devices --json >"$work/devices.json"
if [ $any = 0 ]; then
  grep -qi nvidia "$work/devices.txt" || die "no NVIDIA Vulkan device (--allow-any-device runs anyway)"
  export CASCADE_VK_DEVICE=NVIDIA
fi
# the picked device's line: the first NVIDIA one, else the backend's own choice (first listed
# of the best type; the summary only names it)
dev_name=$(grep -m1 -i "${CASCADE_VK_DEVICE:-}" "$work/devices.txt" | sed 's/^[0-9]*: //')
coopmat_line=$(grep -A3 -F "$dev_name" "$work/devices.txt" | grep -m1 "tensor-core GEMM" || true)
has_coopmat=0
case "$coopmat_line" in *"used:"*) has_coopmat=1 ;; esac
if [ -z "$peak" ]; then
  case "$dev_name" in
    *H200*) peak=989.4 ;;
    *H100*PCIe*) peak=756.5 ;;
    *H100*NVL*) peak=835.5 ;;
    *H100*) peak=989.4 ;;
    *) peak=0 ;;
  esac
fi
report "device: $dev_name; fp16 dense peak: ${peak} TFLOP/s (0: unknown)"
report "tensor-core GEMM:${coopmat_line#*:}"

# ---- 3. correctness first ----
failed=0
check() { # name, command...
  local name=$1; shift
  if run "$@" >"$work/$name.log" 2>&1; then report "PASS $name"; else
    report "FAIL $name (log: $work/$name.log)"; tail -20 "$work/$name.log"; failed=1; fi
}
say "Correctness"
export CASCADE_REQUIRE_VULKAN=1
export CASCADE_VK_COOPMAT=1 # the tensor-core GEMM is opt-in until verified here
check ops "$BIN/test-backend-ops"
grep -h "tensor-core GEMM cases" "$work/ops.log" | tee -a "$summary" || true
if [ $skip_golden = 0 ]; then
  check golden-vulkan-fp32 "$BIN/golden-runner" --backend vulkan "$golden"
  check golden-vulkan-fp16 "$BIN/golden-runner" --backend vulkan --precision fp16 "$golden"
  if [ $has_coopmat = 1 ]; then
    CASCADE_VK_COOPMAT=0 check golden-vulkan-fp16-plain "$BIN/golden-runner" --backend vulkan \
      --precision fp16 "$golden"
  fi
fi
if [ $failed = 1 ] && [ $keep_going = 0 ]; then
  die "correctness failed: no benchmark (--keep-going benchmarks anyway)"
fi

# ---- 4. large single products, then cascade bench ----
say "Large products (fp16 storage)"
tiny_arg=""; [ $tiny = 1 ] && tiny_arg=--tiny
printf '%-30s %-12s %10s %9s %8s\n' op kernel ms TFLOP/s %peak | tee -a "$summary"
run "$BIN/gemm-bench" $tiny_arg --iterations "$([ $tiny = 1 ] && echo 2 || echo "$iters")" \
  2>"$work/gemm-bench.err" | tee "$work/gemm-bench.json" |
  sed 's/^{"op": "\([^"]*\)", "kernel": "\([^"]*\)", "median_ms": \([0-9.e+-]*\), "tflops": \([0-9.e+-]*\)}$/\1|\2|\3|\4/' |
  awk -F'|' -v pk="$peak" '{
    frac = pk > 0 ? sprintf("%.1f", 100 * $4 / pk) : "n/a"
    printf "%-30s %-12s %10.3f %9.4g %8s\n", $1, $2, $3, $4, frac }' | tee -a "$summary" ||
  { report "FAIL gemm-bench"; failed=1; }
tee -a "$summary" <"$work/gemm-bench.err"

say "U-Nets"
if [ $tiny = 1 ]; then
  models="if:$golden/unet_if_stage1/config.json sd:$golden/unet_sd/config.json"
  size_arg="--size 16 --seq 8"; seq=8; size=16; iters=2
else
  models="if-i-m:tools/bench/configs/if-i-m-unet.json sd-1.5:tools/bench/configs/sd15-unet.json"
  size_arg="--seq 77"; seq=77; size=64
fi
json_num() { # file key: first number after "key":
  grep -o "\"$2\": [0-9.e+-]*" "$1" | head -1 | awk '{print $2}'
}
printf '%-8s %-12s %10s %9s %8s %10s %8s\n' model kernel step_ms TFLOP/s %peak torch_ms ratio |
  tee -a "$summary"
for m in $models; do
  name=${m%%:*} cfg=${m#*:}
  [ -f "$cfg" ] || die "no config $cfg"
  dir=$work/unet-$name
  run "$BIN/unet-random" "$cfg" "$dir" $size_arg | tee "$work/$name-gen.json"
  torch_ms=""
  if command -v python3 >/dev/null && python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    python3 tools/bench/torch_unet_gpu.py --config "$cfg" --batch 2 --size $size --seq $seq \
      --iterations "$iters" | tee "$work/$name-torch.json" || true
    torch_ms=$(json_num "$work/$name-torch.json" median_ms || true)
  fi
  for kernel in plain tensor-core; do
    if [ $kernel = tensor-core ] && [ $has_coopmat = 0 ]; then
      printf '%-8s %-12s %s\n' "$name" "$kernel" "not run: ${coopmat_line#*: }" | tee -a "$summary"
      continue
    fi
    env_val=0; [ $kernel = tensor-core ] && env_val=1
    res=$work/$name-$kernel.json
    if ! CASCADE_VK_COOPMAT=$env_val run "$BIN/cascade" bench -c "$dir" \
         -i "$dir/inputs.safetensors" -b vulkan-fp16 -n "$iters" -w 2 >"$res"; then
      printf '%-8s %-12s %s\n' "$name" "$kernel" "FAILED (see above)" | tee -a "$summary"
      failed=1
      continue
    fi
    ms=$(json_num "$res" median) tf=$(json_num "$res" tflops)
    awk -v n="$name" -v k="$kernel" -v ms="$ms" -v tf="$tf" -v pk="$peak" -v tms="$torch_ms" 'BEGIN {
      frac = pk > 0 ? sprintf("%.1f", 100 * tf / pk) : "n/a"
      ratio = tms != "" ? sprintf("%.2f", ms / tms) : "n/a"
      printf "%-8s %-12s %10.3f %9.4g %8s %10s %8s\n", n, k, ms, tf, frac, (tms != "" ? tms : "n/a"), ratio
    }' | tee -a "$summary"
  done
  rm -rf "$dir"
done
report "step = one U-Net forward at batch 2 (one guidance step), fp16 storage; TFLOP/s counts"
report "matrix products, convolutions and attention (gemm_flops of cascade bench); ratio ="
report "cascade / PyTorch eager (fp16, CUDA), n/a where PyTorch did not run."
[ $failed = 0 ] || die "something failed (see FAIL above)"
