#!/usr/bin/env bash
# The plug-in end to end in real GIMP: installs the built plug-in into a throw-away GIMP
# profile, assembles a tiny two-stage cascade from the golden cases (T5 tokenizer and
# encoder, IF stage I at 16 px, IF stage II at 32 px) and an x4 diffusion upscaler, and runs gimp-console-2.10 in batch
# mode on tests/plugin/plugin-tests.scm, which calls the three procedures through
# Script-Fu and checks layers, offsets, pixels, masks and parasites. Prints TAP.
#
# Usage: run-gimp-tests.sh PLUGIN_EXE SECTION  (generate | inpaint | outpaint | other | upscale |
#        variations | sd (Stable Diffusion folders, the x4 diffusion upscaler) | restart:
#        two GIMP starts on one profile, parts "remember" then "recall" | resident: the
#        resident engine, parts "resident" (as installed), "resident-idle"
#        (CASCADE_RESIDENT_IDLE_S=0) and "resident-off" (CASCADE_RESIDENT=0), checked through
#        the engine's CASCADE_DEBUG lines in GIMP's log; env:
#        CASCADE_GOLDEN_DIR, CASCADE_SOURCE_DIR; CASCADE_KEEP_TMP=1 keeps the temp folder)
set -uo pipefail
plugin_exe=$1
section=${2:-generate}
here=$(cd "$(dirname "$0")" && pwd)
src=${CASCADE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
golden=${CASCADE_GOLDEN_DIR:-$src/../shared/golden}
gimp=$(command -v gimp-console-2.10 || command -v gimp-console || true)

if [ -z "$gimp" ]; then
  echo "1..0 # SKIP gimp-console-2.10 is not installed (tools/install-deps.sh installs gimp)"
  exit 0
fi
for f in t5_tokenizer/spiece.model t5_encoder/config.json pipeline_if_stage1/model_index.json \
         pipeline_if_stage2/model_index.json; do
  if [ ! -e "$golden/$f" ]; then
    echo "1..0 # SKIP golden case $golden/$f is missing"
    exit 0
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gimp-cascade-plugin.XXXXXX")
[ -n "${CASCADE_KEEP_TMP:-}" ] || trap 'rm -rf "$tmp"' EXIT
golden=$(cd "$golden" && pwd)

# A throw-away GIMP profile with the plug-in in its own folder, as `meson install` lays it.
profile=$tmp/profile
mkdir -p "$profile/plug-ins/gimp-cascade" "$profile/gradients" "$profile/tmp"
ln -s "$(cd "$(dirname "$plugin_exe")" && pwd)/$(basename "$plugin_exe")" \
  "$profile/plug-ins/gimp-cascade/gimp-cascade"
# Only Script-Fu (which runs -b) and ours: querying GIMP's ~120 plug-ins on a fresh profile
# would take most of the test's time.
gimp_plugins=$(pkg-config --variable=gimplibdir gimp-2.0 2>/dev/null || echo /usr/lib/gimp/2.0)/plug-ins
ln -s "$gimp_plugins/script-fu" "$profile/plug-ins/script-fu"
printf '(plug-in-path "%s")\n' "$profile/plug-ins" > "$profile/gimprc"

# The tiny cascade (the golden stage I index names no text encoder: embeddings were passed
# to the reference pipeline directly, so the index is rewritten to name T5).
model=$tmp/cascade
mkdir -p "$model/stage1"
ln -s "$golden/t5_tokenizer" "$model/stage1/tokenizer"
ln -s "$golden/t5_encoder" "$model/stage1/text_encoder"
ln -s "$golden/pipeline_if_stage1/unet" "$model/stage1/unet"
ln -s "$golden/pipeline_if_stage1/scheduler" "$model/stage1/scheduler"
ln -s "$golden/pipeline_if_stage2" "$model/stage2"
# with_text_encoder SRC-INDEX DST-INDEX ENCODER-CLASS TOKENIZER-CLASS: SRC's model_index.json
# naming a text encoder and tokenizer of those transformers classes.
with_text_encoder() {
  python3 - "$@" <<'EOF'
import json, sys
idx = json.load(open(sys.argv[1]))
idx["text_encoder"] = ["transformers", sys.argv[3]]
idx["tokenizer"] = ["transformers", sys.argv[4]]
json.dump(idx, open(sys.argv[2], "w"), indent=2)
EOF
}
with_text_encoder "$golden/pipeline_if_stage1/model_index.json" "$model/stage1/model_index.json" \
  T5EncoderModel T5Tokenizer

# Stable Diffusion: the golden pipeline_sd folder as a model (16 px), and an x4 diffusion
# upscaler assembled as tests/common/tiny-cascade.c does (the golden upscaler ran on
# embeddings, so its index is given the SD case's CLIP tokenizer and text encoder).
sd_model=""
[ -e "$golden/pipeline_sd/model_index.json" ] && sd_model=$golden/pipeline_sd
x4=""
if [ -e "$golden/pipeline_sd_x4_upscaler/model_index.json" ] && [ -n "$sd_model" ]; then
  x4=$tmp/x4
  mkdir -p "$x4"
  for c in unet vae scheduler low_res_scheduler; do
    ln -s "$golden/pipeline_sd_x4_upscaler/$c" "$x4/$c"
  done
  ln -s "$golden/pipeline_sd/text_encoder" "$x4/text_encoder"
  ln -s "$golden/pipeline_sd/tokenizer" "$x4/tokenizer"
  with_text_encoder "$golden/pipeline_sd_x4_upscaler/model_index.json" "$x4/model_index.json" \
    CLIPTextModel CLIPTokenizer
  # a second cascade root whose stage3/ is that upscaler: IF through stage III
  mkdir -p "$tmp/cascade3"
  ln -s "$model/stage1" "$tmp/cascade3/stage1"
  ln -s "$model/stage2" "$tmp/cascade3/stage2"
  ln -s "$x4" "$tmp/cascade3/stage3"
fi

# the converted upscalers (tools/upscalers/fetch.sh); $CASCADE_TEST_UPSCALERS overrides
upscaler=${CASCADE_TEST_UPSCALERS:-}
if [ -z "$upscaler" ] && [ -d "$src/models/upscalers" ] && [ -n "$(ls -A "$src/models/upscalers" 2>/dev/null)" ]; then
  upscaler=$src/models/upscalers
fi

# A user preset in the profile's own preset folder (where the plug-in keeps the user's
# presets): two variations, as a designer's "2 variations" preset would be.
mkdir -p "$profile/gimp-cascade/presets"
printf '%s\n' '{"name": "Two variations", "description": "test", "values": {"batch": 2}}' \
  > "$profile/gimp-cascade/presets/two-variations.json"
# and two shapes, as a designer's "wide" and "square" presets would be
printf '%s\n' '{"name": "Wide", "description": "test", "values": {"aspect": "16:9"}}' \
  > "$profile/gimp-cascade/presets/wide.json"
printf '%s\n' '{"name": "Square", "description": "test", "values": {"aspect": "1:1"}}' \
  > "$profile/gimp-cascade/presets/square.json"

scheme_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/[\\"]/\\&/g')"; }
# The README's first Script-Fu example, as written there (the checks run it on the tiny model).
readme_generate=$(python3 -c '
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
block = re.search(r"```scheme\n(.*?)```", text, re.S).group(1)
start = block.index("(plug-in-cascade-generate")
depth = 0
for i in range(start, len(block)):
    depth += {"(": 1, ")": -1}.get(block[i], 0)
    if depth == 0:
        print(block[start:i + 1])
        break
' "$src/README.md")

# One GIMP start per part, each writing its TAP lines to tap-<part>.txt.
parts=$section
[ "$section" = restart ] && parts="remember recall"
[ "$section" = resident ] && parts="resident resident-idle resident-off"

# tap_check OUT DESC CONDITION...: one TAP line (numbered at the end) from a shell test.
tap_check() {
  local out=$1 desc=$2
  shift 2
  if "$@"; then printf 'ok 0 - %s\n' "$desc" >> "$out"; else printf 'not ok 0 - %s\n' "$desc" >> "$out"; fi
}
# field KEY LINE: the value of KEY=value in a "cascade-engine: pid=N resident=yes ..." line
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $2"; }
# gone PID: the process has exited (no longer there, or a zombie waiting to be reaped)
gone() { [ -n "$1" ] && { [ ! -e "/proc/$1" ] || grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }; }
# The engine's lines of one GIMP start (plan in plugin-tests.scm: two generates, or one when
# the engine is off): one process served both, the second loaded nothing (or, idle time 0,
# loaded again after freeing), and it ended with GIMP.
engine_checks() {
  local part=$1 log=$2 out=$3 yes no
  mapfile -t yes < <(grep -o 'cascade-engine: pid=[0-9]* resident=yes .*' "$log")
  mapfile -t no < <(grep -o 'cascade-engine: pid=[0-9]* resident=no .*' "$log")
  printf '# %s\n' "${yes[@]}" "${no[@]}" >> "$out"
  if [ "$part" = resident-off ]; then
    tap_check "$out" "CASCADE_RESIDENT=0: the generate ran in its own process, which loaded the model" \
      test "${#yes[@]}" = 0 -a "${#no[@]}" = 1 -a "$(field loads "${no[0]:-}")" = 1
    return
  fi
  local pid1 pid2 loads1 loads2 rel2
  pid1=$(field pid "${yes[0]:-}") pid2=$(field pid "${yes[1]:-}")
  loads1=$(field loads "${yes[0]:-}") loads2=$(field loads "${yes[1]:-}")
  rel2=$(field releases "${yes[1]:-}")
  tap_check "$out" "$part: both generates ran in the resident engine" \
    test "${#yes[@]}" = 2 -a "${#no[@]}" = 0
  tap_check "$out" "$part: one engine process served both (pid ${pid1:-none}, ${pid2:-none})" \
    test -n "$pid1" -a "$pid1" = "$pid2"
  if [ "$part" = resident ]; then
    tap_check "$out" "the first generate loaded the model once, the second loaded nothing (loads ${loads1:-?} then ${loads2:-?})" \
      test "${loads1:-x}" = 1 -a "${loads2:-x}" = 1 -a "${rel2:-x}" = 0
    local plans1 plans2 enc1 enc2
    plans1=$(field plans "${yes[0]:-}") plans2=$(field plans "${yes[1]:-}")
    enc1=$(field encodes "${yes[0]:-}") enc2=$(field encodes "${yes[1]:-}")
    tap_check "$out" "the second generate made no plan and did not encode the prompt again (plans ${plans1:-?} then ${plans2:-?}, encodes ${enc1:-?} then ${enc2:-?})" \
      test "${plans1:-0}" -gt 0 -a "${plans1:-x}" = "${plans2:-y}" -a "${enc1:-x}" = 1 -a "${enc2:-x}" = 1
  else
    tap_check "$out" "idle time 0: the cache was freed after each run and the second loaded again (loads ${loads1:-?} then ${loads2:-?}, releases ${rel2:-?})" \
      test "${loads1:-x}" = 1 -a "${loads2:-x}" = 2 -a "${rel2:-x}" = 2 \
        -a "$(grep -c "cascade-engine: pid=$pid1 released" "$log")" = 2
  fi
  tap_check "$out" "$part: the engine process ended with GIMP" gone "$pid1"
}
all=$tmp/tap.txt
: > "$all"
: > "$tmp/gimp.log"
for part in $parts; do
  out=$tmp/tap-$part.txt
  cat > "$tmp/prelude.scm" <<EOF
(define *tap* $(scheme_str "$out"))
(define *model* $(scheme_str "$model/stage1"))
(define *sr-model* $(scheme_str "$model/stage2"))
(define *upscaler* $(scheme_str "$upscaler"))
(define *sd-model* $(scheme_str "$sd_model"))
(define *x4* $(scheme_str "$x4"))
(define *cascade3* $(scheme_str "${x4:+$tmp/cascade3}"))
(define *tmp* $(scheme_str "$tmp"))
(define *section* $(scheme_str "$part"))
(define *readme-generate* (quote ${readme_generate:-()}))
EOF

  # -i no UI, -d no brushes/patterns, -f no fonts: a profile this bare starts in seconds
  # after the first (plug-in query) start.
  # the resident parts: the engine's debug lines, and its settings as each part names them
  part_env=()
  case $part in
    resident) part_env=(-u CASCADE_RESIDENT -u CASCADE_RESIDENT_IDLE_S CASCADE_DEBUG=1) ;;
    resident-idle) part_env=(-u CASCADE_RESIDENT CASCADE_RESIDENT_IDLE_S=0 CASCADE_DEBUG=1) ;;
    resident-off) part_env=(CASCADE_RESIDENT=0 CASCADE_DEBUG=1) ;;
  esac
  env "${part_env[@]}" GIMP2_DIRECTORY=$profile TMPDIR=$profile/tmp \
    timeout 240 "$gimp" -i -d -f \
    -b "(begin (load $(scheme_str "$tmp/prelude.scm")) (load $(scheme_str "$here/plugin-tests.scm")))" \
    -b '(gimp-quit 0)' > "$tmp/gimp-$part.log" 2>&1
  status=$?
  cat "$tmp/gimp-$part.log" >> "$tmp/gimp.log"

  # The scheme side ends with its plan ("1..N") and "# done"; anything short is a crash.
  if ! grep -q '^# done$' "$out" 2>/dev/null; then
    [ -s "$out" ] && cat "$out"
    n=$(grep -c '^\(not \)\?ok' "$out" 2>/dev/null || true)
    echo "not ok $((${n:-0} + 1)) - gimp-console ($part) stopped before the checks finished (exit $status)"
    echo "1..$((${n:-0} + 1))"
    sed 's/^/# /' "$tmp/gimp-$part.log" | tail -40
    exit 1
  fi
  # "#log<TAB>N<TAB>TEXT<TAB>DESC" lines: TEXT must appear N times in this start's log, which
  # holds what GIMP showed the user (batch mode prints its messages)
  while IFS=$'\t' read -r _ want text desc; do
    got=$(grep -c -F -- "$text" "$tmp/gimp-$part.log" || true)
    if [ "$got" = "$want" ]; then
      printf 'ok 0 - %s\n' "$desc" >> "$out"
    else
      printf 'not ok 0 - %s (shown %s times)\n' "$desc" "$got" >> "$out"
    fi
  done < <(grep $'^#log\t' "$out")
  case $part in resident*) engine_checks "$part" "$tmp/gimp-$part.log" "$out" ;; esac
  grep -v -e '^# done$' -e '^1\.\.' -e $'^#log\t' "$out" >> "$all"
done
# one plan over every part: the checks renumbered in order
awk '/^(not )?ok / { n++; sub(/ok [0-9]+ /, "ok " n " ") } { print }' "$all" > "$all.num"
mv "$all.num" "$all"
out=$all
cat "$out"
n=$(grep -c '^\(not \)\?ok' "$out")
# An instrumented plug-in (the ASan+UBSan build) reports to GIMP's log; GIMP has its results
# by then and would not notice. Leaks are not counted: libgegl/babl modules leak at exit.
if grep -E '^(not )?ok' "$out" | grep -v -q '# SKIP'; then
  n=$((n + 1))
  if grep -q -E 'ERROR: AddressSanitizer|runtime error:' "$tmp/gimp.log"; then
    echo "not ok $n - the plug-in ran without AddressSanitizer/UBSan errors"
    grep -E -A12 'ERROR: AddressSanitizer|runtime error:' "$tmp/gimp.log" | head -60 | sed 's/^/# /'
  else
    echo "ok $n - the plug-in ran without AddressSanitizer/UBSan errors"
  fi
fi
echo "1..$n"
if grep -q '^not ok' "$out"; then
  sed 's/^/# /' "$tmp/gimp.log" | tail -40
fi
exit 0
