"""A quick prompt-fidelity measure for learning curves during training (the measure of
tools/eval/eval_fidelity.py, on fewer prompts and steps, straight from the EMA weights)."""
import copy

import numpy as np
import torch
import torch.nn.functional as F

from diffusion import sample_stage1


def to32(x):
    """(B, 3, H, W) in [-1, 1] -> (B, 3*32*32) in [0, 1]."""
    x = (x.clamp(-1, 1) + 1) / 2
    return F.adaptive_avg_pool2d(x, 32).reshape(x.shape[0], -1)


def ema_modules(t5, unet, shadow, frozen_text):
    """Copies of the text encoder and U-Net holding the EMA weights, for sampling."""
    t5e, ue = copy.deepcopy(t5).eval(), copy.deepcopy(unet).eval()
    if frozen_text:
        ue.load_state_dict(shadow[0])
    else:
        t5e.load_state_dict(shadow[0])
        ue.load_state_dict(shadow[1])
    return t5e, ue


@torch.no_grad()
def fidelity(t5, unet, tok, items, im64, n, steps, guidance=7.0, seed=0):
    """Share of n prompts (first captions, evenly spaced over the items) whose 64 px sample
    is nearest (L2 at 32 px) to an image of the prompted emoji / of the prompted style."""
    pick = np.linspace(0, len(items) - 1, n).round().astype(int)
    ids, mask = tok.encode([items[i]["captions"][0] for i in pick] + [""])
    emb = t5(torch.from_numpy(ids), torch.from_numpy(mask))
    x = sample_stage1(unet, emb[:-1], emb[-1:], steps, guidance,
                      seed=[seed + i for i in range(n)])
    ds = to32(torch.from_numpy(im64).permute(0, 3, 1, 2).float() / 127.5 - 1)
    nn_idx = torch.cdist(to32(x), ds).argmin(dim=1).numpy()
    return {"fidelity_emoji": float(np.mean([items[j]["name"] == items[i]["name"]
                                              for i, j in zip(pick, nn_idx)])),
            "fidelity_style": float(np.mean([items[j]["style"] == items[i]["style"]
                                              for i, j in zip(pick, nn_idx)])),
            "distinct_nn": int(len(set(nn_idx.tolist()))), "eval_n": n, "eval_steps": steps}
