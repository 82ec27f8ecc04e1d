"""Placement augmentation for stage I: the emoji moved, resized and cut by the frame.

Inpainting and outpainting with a plain U-Net (IFInpaintingPipeline's blend: the kept
pixels are re-noised to each step's level and pasted over the sample) only works when the
denoiser knows pictures that are not whole, centred emoji: a context box around a
selection, or a strip beside an image's edge, shows part of an emoji, or a small one, or
one over another. Trained on the 128 whole images alone, the shipped model answered such
inputs with coloured noise. Here part of each batch is placed anew: scaled (log-uniform),
shifted so that it may be cut by the frame, on white or, sometimes, over a large crop of
another emoji. The caption stays the placed emoji's.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F


def opacity(x):
    """How far each pixel is from the white background, as an alpha in [0, 1].
    x: (N, 3, H, W) in [-1, 1]."""
    return ((1 - x).amax(1, keepdim=True) * 5).clamp(0, 1)


def _moved(x, scale, shift):
    """x scaled about the centre by scale and moved by shift (in half-frames), white
    where nothing was."""
    n = x.shape[0]
    theta = torch.zeros(n, 2, 3)
    inv = torch.from_numpy(1.0 / scale).float()
    theta[:, 0, 0] = inv
    theta[:, 1, 1] = inv
    theta[:, :, 2] = -torch.from_numpy(shift).float() * inv[:, None]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # sampled as x - 1 so that outside the image (zeros padding) is white (+1)
    return F.grid_sample(x - 1, grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False) + 1


def placement(n, rng, min_scale=0.35, max_scale=1.8, p_backdrop=0.3):
    """Random placements of n images (drawn once, so that an image and its low-resolution
    copy can be placed alike): scale, shift, and for some a backdrop of another image."""
    backdrop = rng.random(n) < p_backdrop
    k = int(backdrop.sum())
    return {"scale": np.exp(rng.uniform(math.log(min_scale), math.log(max_scale), n)),
            "shift": rng.uniform(-0.75, 0.75, (n, 2)),
            "backdrop": np.flatnonzero(backdrop),
            "other": rng.permutation(n)[:k],
            "other_scale": np.exp(rng.uniform(0.0, math.log(2.5), k)),
            "other_shift": rng.uniform(-0.8, 0.8, (k, 2))}


def place(x, p):
    """x placed as p says: (N, 3, H, W) in [-1, 1] on white, any size (the shifts are in
    half-frames)."""
    fg = _moved(x, p["scale"], p["shift"])
    if len(p["backdrop"]):
        bg = _moved(x[torch.from_numpy(p["other"])], p["other_scale"], p["other_shift"])
        sel = torch.from_numpy(p["backdrop"])
        a = opacity(fg[sel])
        fg[sel] = a * fg[sel] + (1 - a) * bg
    return fg
