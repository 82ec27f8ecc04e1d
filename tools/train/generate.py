#!/usr/bin/python3
"""Prompt -> stage I (its sample_size) -> stage II (256 px) PNG with an exported cascade, in PyTorch
(the reference the C engine's pipeline can be compared with; timings per stage printed).

  /usr/bin/python3 tools/train/generate.py "red apple, flat style" -o apple.png
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diffusion import sample_stage1, sample_stage2  # noqa: E402
from pipeline import Cascade  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def save(x, path):
    from PIL import Image
    a = ((x[0].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(np.ascontiguousarray(a)).save(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prompt")
    ap.add_argument("-o", "--output", default="out.png")
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "emoji-cascade"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps1", type=int, default=30)
    ap.add_argument("--steps2", type=int, default=15)
    ap.add_argument("--guidance1", type=float, default=7.0)
    ap.add_argument("--guidance2", type=float, default=1.0)
    ap.add_argument("--noise-level", type=int, default=250)
    ap.add_argument("--strength2", type=float, default=1.0, help="stage II start (see export)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    cas = Cascade(args.model)
    _, _, emb = cas.encode([args.prompt])
    _, _, neg = cas.encode([""])
    t1 = time.time()
    x64 = sample_stage1(cas.unet1, emb, neg, args.steps1, args.guidance1, seed=args.seed,
                        size=cas.unet1.cfg["sample_size"])
    t2 = time.time()
    x256 = sample_stage2(cas.unet2, x64, emb, neg, args.steps2, args.guidance2,
                         args.noise_level, seed=args.seed, size=cas.unet2.cfg["sample_size"],
                         strength=args.strength2)
    t3 = time.time()
    save(x64, os.path.splitext(args.output)[0] + "-stage1.png")
    save(x256, args.output)
    print(f"load+text {t1 - t0:.1f} s, stage I {args.steps1} steps {t2 - t1:.1f} s, "
          f"stage II {args.steps2} steps {t3 - t2:.1f} s ({args.threads} thread(s)) "
          f"-> {args.output}")


if __name__ == "__main__":
    main()
