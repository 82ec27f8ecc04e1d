#!/bin/sh
# CI smoke test of the whole model pipeline on CPU (< 2 minutes, no network):
# synthetic dataset -> stage 1 and 2 training (3 steps each, half of each batch placed
# anew: augment.py) -> fp16 export ->
# reference outputs (-> the C engine's parity when $CASCADE_GOLDEN_RUNNER is set) ->
# 64 px eval -> 256 px generation. Uses Debian's python3-torch.
set -eu
PY=${PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$PY" "$ROOT/tools/dataset/fake_dataset.py" --out "$TMP/data"
"$PY" "$HERE/train.py" --stage 1 --smoke --place 0.5 --data "$TMP/data" --run "$TMP/run"
"$PY" "$HERE/train.py" --stage 2 --smoke --place 0.5 --data "$TMP/data" --run "$TMP/run"
"$PY" "$HERE/export.py" --run "$TMP/run" --out "$TMP/model" --data "$TMP/data"
"$PY" "$HERE/reference_forward.py" --model "$TMP/model" --out "$TMP/parity"
# the C engine on the reference outputs (meson passes the runner; optional by hand)
if [ -n "${CASCADE_GOLDEN_RUNNER:-}" ]; then
    "$CASCADE_GOLDEN_RUNNER" --backend cpu "$TMP/parity"
fi
"$PY" "$ROOT/tools/eval/eval_fidelity.py" --model "$TMP/model" --data "$TMP/data" --n 2 \
    --steps 2 --div-prompts "red circle, flat style" --div-seeds 2 --out "$TMP/eval.json"
"$PY" "$HERE/generate.py" "red circle, flat style" --model "$TMP/model" --steps1 2 \
    --steps2 2 -o "$TMP/out.png"
test -s "$TMP/out.png"
echo "smoke test OK"
