#!/usr/bin/python3
"""Prompt fidelity and diversity of an exported cascade (stage I, or through stage II), in PyTorch.

Fidelity: for --n captions of the dataset (evenly spaced over the image list, primary
caption of each), generate one 64 px image per caption with seed = --seed + i, downsample
it and every dataset image to 32 px (area average) and find its nearest dataset image
(L2 in RGB [0, 1]). Reported: the share whose nearest neighbour is the prompted emoji
(either style) and the share whose nearest neighbour has the prompted style.

Diversity: for each of --div-prompts prompts, --div-seeds images with different seeds;
mean pairwise RMS distance at 32 px. For scale, the same measure over random pairs of
distinct dataset images is reported too.

--stage2 N: the first N of those images also go through stage II (to 256 px, the model's
recommended steps and noise level), and fidelity is measured on them too: the finished
picture must still be the prompted emoji.

Writes a JSON report (--out) with the settings, so the numbers can be reproduced.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
from diffusion import sample_stage1, sample_stage2  # noqa: E402
from pipeline import Cascade  # noqa: E402


def to32(x):
    """(B, 3, H, W) in [-1, 1] -> (B, 3*32*32) in [0, 1]."""
    x = (x.clamp(-1, 1) + 1) / 2
    return F.adaptive_avg_pool2d(x, 32).reshape(x.shape[0], -1)


def mean_pairwise_rms(v):
    d = torch.cdist(v, v) / v.shape[1] ** 0.5
    n = v.shape[0]
    return (d.sum() / (n * (n - 1))).item()


def save_grid(x, path, cols=10):
    from PIL import Image
    x = ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    n, s = len(x), x.shape[1]
    rows = (n + cols - 1) // cols
    grid = np.full((rows * s, cols * s, 3), 255, np.uint8)
    for k, im in enumerate(x):
        grid[(k // cols) * s:(k // cols + 1) * s, (k % cols) * s:(k % cols + 1) * s] = im
    Image.fromarray(grid).save(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "emoji-cascade"))
    ap.add_argument("--data", default=os.path.join(ROOT, "tools", "dataset", "cache"))
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--guidance", type=float, default=7.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--div-prompts", nargs="*",
                    default=["red apple, flat style", "cat face, noto style"])
    ap.add_argument("--div-seeds", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(HERE, "results.json"))
    ap.add_argument("--save-grid", default="", help="PNG of the generated images")
    ap.add_argument("--stage2", type=int, default=0, metavar="N",
                    help="also measure the first N images after stage II")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()

    meta = json.load(open(os.path.join(args.data, "captions.json")))["items"]
    ims = np.load(os.path.join(args.data, "emoji64.npz"))["images"]
    ds = to32(torch.from_numpy(ims).permute(0, 3, 1, 2).float() / 127.5 - 1)
    pick = np.linspace(0, len(meta) - 1, args.n).round().astype(int)
    prompts = [meta[i]["captions"][0] for i in pick]

    cas = Cascade(args.model, stage2=args.stage2 > 0)
    size1 = cas.unet1.cfg["sample_size"]
    _, _, neg = cas.encode([""])
    gens = []
    for b in range(0, args.n, args.batch):
        ps = prompts[b:b + args.batch]
        _, _, emb = cas.encode(ps)
        # one generator per image so that a result depends only on its own seed
        gens.append(sample_stage1(cas.unet1, emb, neg, args.steps, args.guidance,
                                  seed=[args.seed + b + i for i in range(len(ps))], size=size1))
        print(f"{b + len(ps)}/{args.n} generated ({time.time() - t0:.0f} s)", flush=True)
    gens = torch.cat(gens)
    nn_idx = torch.cdist(to32(gens), ds).argmin(dim=1).numpy()
    same_name = [meta[j]["name"] == meta[i]["name"] for i, j in zip(pick, nn_idx)]
    same_style = [meta[j]["style"] == meta[i]["style"] for i, j in zip(pick, nn_idx)]
    exact = [j == i for i, j in zip(pick, nn_idx)]

    div = {}
    for p in args.div_prompts:
        _, _, emb = cas.encode([p])
        xs = sample_stage1(cas.unet1, emb.expand(args.div_seeds, -1, -1), neg, args.steps,
                           args.guidance, seed=[10_000 + s for s in range(args.div_seeds)],
                           size=size1)
        div[p] = mean_pairwise_rms(to32(xs))
    g = torch.Generator().manual_seed(0)
    ridx = torch.randperm(ds.shape[0], generator=g)[:64]
    ref = mean_pairwise_rms(ds[ridx])

    stage2 = {}
    if args.stage2:
        d2 = json.load(open(os.path.join(args.model, "stage2", "generation_defaults.json")))
        size2 = cas.unet2.cfg["sample_size"]
        ups = []
        # evenly over the generated images, so both styles are in
        sub = np.linspace(0, args.n - 1, min(args.stage2, args.n)).round().astype(int)
        for c, q in enumerate(sub):
            _, _, emb = cas.encode([prompts[q]])
            ups.append(sample_stage2(cas.unet2, gens[q:q + 1], emb, neg, d2["steps"],
                                     d2["guidance"], d2["noise_level"], seed=args.seed + int(q),
                                     size=size2, strength=d2.get("strength", 1.0)))
            print(f"stage II {c + 1}/{len(sub)} ({time.time() - t0:.0f} s)", flush=True)
        ups = torch.cat(ups)
        nn2 = torch.cdist(to32(ups), ds).argmin(dim=1).numpy()
        k = len(ups)
        p2 = pick[sub]
        stage2 = {"stage2_images": k, "stage2_size": size2, "stage2_settings": d2,
                  "stage2_fidelity_emoji": float(np.mean(
                      [meta[j]["name"] == meta[i]["name"] for i, j in zip(p2, nn2)])),
                  "stage2_fidelity_style": float(np.mean(
                      [meta[j]["style"] == meta[i]["style"] for i, j in zip(p2, nn2)])),
                  "stage2_fidelity_exact_image": float(np.mean(
                      [j == i for i, j in zip(p2, nn2)])),
                  "stage1_fidelity_emoji_same_images": float(np.mean(
                      [same_name[q] for q in sub])),
                  "stage2_per_caption": [{"prompt": prompts[q], "nearest": meta[j]["captions"][0]}
                                         for q, j in zip(sub, nn2)]}
    report = {
        "model": os.path.relpath(args.model, ROOT),
        "settings": {"n_captions": args.n, "caption_pick": "np.linspace(0, N-1, n).round() "
                     "over captions.json items, first caption", "steps": args.steps,
                     "guidance": args.guidance, "scheduler": "DDPM leading, learned_range, "
                     "dynamic thresholding 0.95 / 1.5", "seeds": f"{args.seed} + i",
                     "nn_space": "RGB [0,1], 32x32 area average, L2",
                     "diversity_seeds": f"10000..{10000 + args.div_seeds - 1}"},
        "fidelity_emoji": float(np.mean(same_name)),
        "fidelity_style": float(np.mean(same_style)),
        "fidelity_exact_image": float(np.mean(exact)),
        "diversity_mean_pairwise_rms": div,
        "dataset_mean_pairwise_rms": ref,
        "dataset_images": len(meta),
        "per_caption": [{"prompt": p, "nearest": meta[j]["captions"][0]}
                        for p, j in zip(prompts, nn_idx)],
        **stage2,
        "seconds": round(time.time() - t0, 1),
    }
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    if args.save_grid:
        save_grid(gens, args.save_grid)
        if args.stage2:
            save_grid(ups, os.path.splitext(args.save_grid)[0] + "-stage2.png")
    print(f"fidelity: emoji {report['fidelity_emoji']:.0%}, style {report['fidelity_style']:.0%}"
          f" (exact image {report['fidelity_exact_image']:.0%}); diversity {div} "
          f"(dataset pairs {ref:.3f}); {report['seconds']} s")
    if stage2:
        print(f"after stage II ({stage2['stage2_images']} images): emoji "
              f"{stage2['stage2_fidelity_emoji']:.0%}, style {stage2['stage2_fidelity_style']:.0%}, "
              f"exact image {stage2['stage2_fidelity_exact_image']:.0%}")


if __name__ == "__main__":
    main()
