#!/usr/bin/python3
"""Measures of tools/eval/eval_inpaint.sh's pictures (prints one JSON line):

  *_roughness   mean absolute difference between neighbouring pixels (0-255, RGB mean) in
                the repainted region: coloured noise scores high; the apple itself (the
                model's own watercolour texture) is the yardstick, apple_roughness
  *_white       share of the grown border that is background (every channel > 200): the
                apple stands on white, so a right continuation is mostly white
"""
import json
import sys

import numpy as np
from PIL import Image


def roughness(a):
    a = a.astype(np.float32)
    return (np.abs(np.diff(a, axis=0))[:, :-1].mean(-1) +
            np.abs(np.diff(a, axis=1))[:-1].mean(-1))


def main():
    d = sys.argv[1]
    img = {n: np.asarray(Image.open(f"{d}/{n}.png").convert("RGB"))
           for n in ("apple", "outpaint-right", "outpaint-all", "inpaint-cat")}
    strip = img["outpaint-right"][:, 256:]
    border = np.ones(img["outpaint-all"].shape[:2], bool)
    border[48:304, 48:304] = False
    yy, xx = np.mgrid[:256, :256]
    circle = (yy - 195) ** 2 + (xx - 195) ** 2 < 40 ** 2
    out = {
        "apple_roughness": roughness(img["apple"]).mean(),
        "outpaint_right_roughness": roughness(strip).mean(),
        "outpaint_right_white": (strip.min(-1) > 200).mean(),
        "outpaint_all_roughness": roughness(img["outpaint-all"])[border[:-1, :-1]].mean(),
        "outpaint_all_white": (img["outpaint-all"][border].min(-1) > 200).mean(),
        "inpaint_cat_roughness": roughness(img["inpaint-cat"])[circle[:-1, :-1]].mean(),
    }
    print(json.dumps({k: round(float(v), 3) for k, v in out.items()}))


if __name__ == "__main__":
    main()
