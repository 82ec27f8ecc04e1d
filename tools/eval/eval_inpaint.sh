#!/usr/bin/env bash
# Inpainting and outpainting with a model, as a designer gets them in GIMP: the built plug-in in
# gimp-console-2.10 (batch mode, a throw-away profile) on the README's red apple (256 px,
# `cascade generate --seed 0`), four cases, then measured by inpaint_measure.py:
#   outpaint-right.png  the canvas grown 64 px on the right (Expand Canvas and Fill)
#   outpaint-all.png    grown 48 px on every side
#   inpaint-cat.png     a 90 px circle at (150, 150) repainted as "cat face, flat style"
#   inpaint-leaf.png    a 110 x 90 box over the leaf repainted as "red apple, flat style"
# Usage: tools/eval/eval_inpaint.sh MODEL_ROOT OUT_DIR [BUILD_DIR]   (MODEL_ROOT holds stage1/
# and stage2/; BUILD_DIR defaults to build). Prints the measures as one JSON line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
model=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
build=$(cd "${3:-$src/build}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/cli/cascade" generate -q --model "$model/stage1" --sr-model "$model/stage2" \
  --prompt "red apple, flat style" --seed 0 -o "$out/apple.png" >/dev/null
profile=$tmp/profile
plugins=$(pkg-config --variable=gimplibdir gimp-2.0 2>/dev/null || echo /usr/lib/gimp/2.0)/plug-ins
mkdir -p "$profile/plug-ins/gimp-cascade" "$profile/tmp" "$profile/gradients"
ln -s "$build/plugin/gimp-cascade" "$profile/plug-ins/gimp-cascade/gimp-cascade"
ln -s "$plugins/script-fu" "$profile/plug-ins/script-fu"
ln -s "$plugins/file-png" "$profile/plug-ins/file-png"
printf '(plug-in-path "%s")\n' "$profile/plug-ins" > "$profile/gimprc"
s1=$model/stage1 s2=$model/stage2
cat > "$tmp/run.scm" <<SCM
(define (save img name)
  (let ((d (car (gimp-image-merge-visible-layers img CLIP-TO-IMAGE))))
    (file-png-save RUN-NONINTERACTIVE img d name name 0 9 0 0 0 0 0)))
(define (load) (car (gimp-file-load RUN-NONINTERACTIVE "$out/apple.png" "apple.png")))
(define (outpaint name l t r b)
  (let* ((img (load)) (d (car (gimp-image-get-active-drawable img))))
    (plug-in-cascade-outpaint RUN-NONINTERACTIVE img d "red apple, flat style" "" "" 3 0 0 -1 -1 1 -1
                              l t r b "$s1" "$s2" "" "cpu")
    (save img (string-append "$out/" name))))
(define (inpaint name prompt select)
  (let* ((img (load)) (d (car (gimp-image-get-active-drawable img))))
    (select img)
    (plug-in-cascade-inpaint RUN-NONINTERACTIVE img d prompt "" "" 3 0 0 -1 -1 1 -1 -1 "$s1" "$s2" "" "cpu")
    (save img (string-append "$out/" name))))
(outpaint "outpaint-right.png" 0 0 64 0)
(outpaint "outpaint-all.png" 48 48 48 48)
(inpaint "inpaint-cat.png" "cat face, flat style"
         (lambda (img) (gimp-image-select-ellipse img CHANNEL-OP-REPLACE 150 150 90 90)))
(inpaint "inpaint-leaf.png" "red apple, flat style"
         (lambda (img) (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 20 0 110 90)))
(gimp-quit 0)
SCM
GIMP2_DIRECTORY=$profile gimp-console-2.10 -i -d -f -b - < "$tmp/run.scm" > "$tmp/gimp.log" 2>&1 || {
  tail -20 "$tmp/gimp.log" >&2
  exit 1
}
for f in outpaint-right outpaint-all inpaint-cat inpaint-leaf; do
  [ -s "$out/$f.png" ] || { echo "eval_inpaint: $f.png was not written" >&2; tail -20 "$tmp/gimp.log" >&2; exit 1; }
done
/usr/bin/python3 "$here/inpaint_measure.py" "$out"
