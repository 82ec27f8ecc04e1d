#!/usr/bin/python3
"""A tiny synthetic dataset in build_dataset.py's format (coloured discs and squares on
white, two "styles"), for CI smoke tests on machines without npm access."""
import argparse
import json
import os

import numpy as np

from build_dataset import fingerprint

COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220),
           "yellow": (240, 200, 30)}


def draw(size, shape, rgb, outline):
    y, x = np.mgrid[0:size, 0:size] / size - 0.5
    inside = (x ** 2 + y ** 2 < 0.35 ** 2) if shape == "circle" else \
        (np.abs(x) < 0.3) & (np.abs(y) < 0.3)
    img = np.full((size, size, 3), 255, np.uint8)
    img[inside] = rgb
    if outline:
        edge = inside & ~((x ** 2 + y ** 2 < 0.3 ** 2) if shape == "circle"
                          else (np.abs(x) < 0.25) & (np.abs(y) < 0.25))
        img[edge] = (30, 30, 30)
    return img


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    items, i64, i256 = [], [], []
    for style, outline in (("flat style", False), ("noto style", True)):
        for c, rgb in COLOURS.items():
            for shape in ("circle", "square"):
                name = f"{c}-{shape}"
                items.append({"name": name, "style": style, "set": "fake",
                              "captions": [f"{c} {shape}, {style}"], "category": "Objects"})
                i64.append(draw(64, shape, rgb, outline))
                i256.append(draw(256, shape, rgb, outline))
    np.savez_compressed(os.path.join(args.out, "emoji64.npz"), images=np.stack(i64))
    np.savez_compressed(os.path.join(args.out, "emoji256.npz"), images=np.stack(i256))
    with open(os.path.join(args.out, "captions.json"), "w") as f:
        json.dump({"sources": {}, "items": items}, f, indent=1)
    with open(os.path.join(args.out, "corpus.txt"), "w") as f:
        f.write("\n".join(c for it in items for c in it["captions"]) + "\n")
    with open(os.path.join(args.out, "fingerprint.json"), "w") as f:
        json.dump(fingerprint(np.stack(i64), np.stack(i256), items), f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
