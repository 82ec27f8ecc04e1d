#!/usr/bin/python3
"""PSNR parity with TensorFlow.js: on the photographs of ../shared/images (LR = the shared
lr_bicubic/x<s> files, i.e. HR downscaled by the model's scale), restore with `cascade upscale`
(CPU backend, whole image in one tile, as UpscalerJS runs without a patch size) and with the
same npm model under TensorFlow.js 4.11 (tools/upscalers/js/tfjs-sr.mjs), in the same run;
print both PSNRs (RGB 0..255, border = scale, as images/README.md defines) and their
difference, which must stay within 0.05 dB. Exit status 1 when any difference exceeds it.

usage: tools/upscalers/psnr-parity.py [--build DIR] [--backend wasm|cpu] [--models M,..]
                                      [--scales 2,3,4,8] [--photos a,b] [--json OUT]
Needs: tools/upscalers/fetch.sh (models), `npm ci` in tools/upscalers/js (TF.js), Debian's
python3 with numpy and PIL. Slow (esrgan-thick: minutes per scale): not part of CI."""
import argparse, json, os, subprocess, sys, tempfile, time

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))


def psnr(hr, sr, s):
    a = hr[s:-s, s:-s].astype(np.float64)
    b = sr[s:-s, s:-s].astype(np.float64)
    mse = np.mean((a - b) ** 2)
    return float('inf') if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default=os.path.join(SRC, 'build'))
    ap.add_argument('--models-dir', default=os.environ.get('CASCADE_SR_MODELS',
                                                          os.path.join(SRC, 'models', 'upscalers')))
    ap.add_argument('--images', default=os.path.join(SRC, '..', 'shared', 'images'))
    ap.add_argument('--backend', default='wasm')
    ap.add_argument('--models', default='esrgan-slim,esrgan-medium,esrgan-thick')
    ap.add_argument('--scales', default='2,3,4,8')
    ap.add_argument('--photos', default='astronaut,chelsea,coffee,rocket,face')
    ap.add_argument('--tolerance', type=float, default=0.05)
    ap.add_argument('--json')
    a = ap.parse_args()
    cascade = os.path.join(a.build, 'cli', 'cascade')
    rows, worst = [], 0.0
    print(f"{'model':<14} {'scale':>5} {'photo':<10} {'cascade dB':>10} {'tfjs dB':>8} "
          f"{'diff dB':>8} {'u8 max|d|':>9} {'differ %':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for m in a.models.split(','):
            for s in map(int, a.scales.split(',')):
                mdir = os.path.join(a.models_dir, f'{m}_x{s}')
                npm = os.path.join(a.models_dir, 'npm', m, 'models', f'x{s}')
                for p in a.photos.split(','):
                    hr = np.asarray(Image.open(os.path.join(a.images, f'{p}.png')).convert('RGB'))
                    lr_path = os.path.join(a.images, 'lr_bicubic', f'x{s}', f'{p}.png')
                    lr = np.asarray(Image.open(lr_path).convert('RGB'))
                    h, w = lr.shape[:2]
                    hr = hr[:h * s, :w * s]
                    ours_png = os.path.join(tmp, 'ours.png')
                    t0 = time.time()
                    subprocess.run([cascade, 'upscale', '--model', mdir, '--tile', '65536', '-q',
                                    lr_path, '-o', ours_png], check=True)
                    t_ours = time.time() - t0
                    ours = np.asarray(Image.open(ours_png).convert('RGB'))
                    lr_raw, out_raw = os.path.join(tmp, 'lr.rgb'), os.path.join(tmp, 'out.rgb')
                    with open(lr_raw, 'wb') as f:
                        f.write(np.ascontiguousarray(lr).tobytes())
                    t0 = time.time()
                    subprocess.run(['node', os.path.join(HERE, 'js', 'tfjs-sr.mjs'), '--model', npm,
                                    '--backend', a.backend, '--width', str(w), '--height', str(h),
                                    lr_raw, out_raw], check=True, stdout=subprocess.DEVNULL)
                    t_tfjs = time.time() - t0
                    theirs = np.frombuffer(open(out_raw, 'rb').read(), np.uint8).reshape(h * s, w * s, 3)
                    po, pt = psnr(hr, ours, s), psnr(hr, theirs, s)
                    d = np.abs(ours.astype(int) - theirs.astype(int))
                    row = dict(model=m, scale=s, photo=p, psnr_cascade=po, psnr_tfjs=pt,
                               diff_db=po - pt, u8_max_abs=int(d.max()),
                               u8_differ_pct=100.0 * float((d != 0).mean()),
                               wall_cascade_s=t_ours, wall_tfjs_s=t_tfjs)
                    rows.append(row)
                    worst = max(worst, abs(po - pt))
                    print(f"{m:<14} {s:>5} {p:<10} {po:>10.4f} {pt:>8.4f} {po - pt:>8.4f} "
                          f"{row['u8_max_abs']:>9} {row['u8_differ_pct']:>8.3f}", flush=True)
    print(f"worst |PSNR difference| {worst:.4f} dB over {len(rows)} restorations "
          f"(bound {a.tolerance} dB, TF.js backend {a.backend})")
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(dict(backend=a.backend, worst_abs_diff_db=worst, rows=rows), f, indent=1)
    return 0 if worst <= a.tolerance else 1


if __name__ == '__main__':
    sys.exit(main())
