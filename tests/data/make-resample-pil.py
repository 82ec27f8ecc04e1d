#!/usr/bin/python3
"""Writes resample-pil.bin: a 13x9 float image and PIL's BILINEAR resizes of it to 5x4
(shrinking, antialiased) and 29x20 (enlarging), the reference for cascade_resample_planes.
Layout: float32 little-endian, the 9x13 source, then 4x5, then 20x29, rows top to bottom.
Run with Debian's /usr/bin/python3 (python3-pil, python3-numpy)."""
import os
import numpy as np
from PIL import Image

rng = np.random.default_rng(7)
src = (rng.random((9, 13)) * 255).astype(np.float32)
im = Image.fromarray(src, mode="F")
small = np.asarray(im.resize((5, 4), Image.BILINEAR), dtype=np.float32)
big = np.asarray(im.resize((29, 20), Image.BILINEAR), dtype=np.float32)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resample-pil.bin")
with open(out, "wb") as f:
    for a in (src, small, big):
        f.write(a.astype("<f4").tobytes())
