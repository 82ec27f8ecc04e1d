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


def to_float_images(u8, size):
    x = torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 127.5 - 1
    return F.avg_pool2d(x, x.shape[-1] // size) if size < x.shape[-1] else x


@torch.no_grad()
def fidelity(t5, unet, tok, items, im64, n, steps, guidance=7.0, seed=0, size=64):
    """Share of n prompts (first captions, evenly spaced over the items) whose 64 px sample
    is nearest (L2 at 32 px) to an image of the prompted emoji / of the prompted style."""
    pick = np.linspace(0, len(items) - 1, n).round().astype(int)
    ids, mask = tok.encode([items[i]["captions"][0] for i in pick] + [""])
    emb = t5(torch.from_numpy(ids), torch.from_numpy(mask))
    x = sample_stage1(unet, emb[:-1], emb[-1:], steps, guidance,
                      seed=[seed + i for i in range(n)], size=size)
    ds = to32(torch.from_numpy(im64).permute(0, 3, 1, 2).float() / 127.5 - 1)
    nn_idx = torch.cdist(to32(x), ds).argmin(dim=1).numpy()
    # how much the prompt helps: x0 error at t=900 with the right prompt vs a wrong one
    from diffusion import Schedule
    x0 = to_float_images(im64[pick], size)
    a = Schedule().alphas_cumprod[900]
    g = torch.Generator().manual_seed(1)
    xt = a.sqrt() * x0 + (1 - a).sqrt() * torch.randn(x0.shape, generator=g)
    err = []
    for e in (emb[:-1], emb[:-1].roll(1, 0)):
        eps = unet(xt, torch.full((n,), 900), e)[:, :3]
        err.append(((((xt - (1 - a).sqrt() * eps) / a.sqrt()).clamp(-1, 1) - x0) ** 2)
                   .mean().item())
    return {"x0_mse_t900_right": err[0], "x0_mse_t900_wrong": err[1],
            "fidelity_emoji": float(np.mean([items[j]["name"] == items[i]["name"]
                                              for i, j in zip(pick, nn_idx)])),
            "fidelity_style": float(np.mean([items[j]["style"] == items[i]["style"]
                                              for i, j in zip(pick, nn_idx)])),
            "distinct_nn": int(len(set(nn_idx.tolist()))), "eval_n": n, "eval_steps": steps}
