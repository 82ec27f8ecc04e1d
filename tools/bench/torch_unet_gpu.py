#!/usr/bin/env python3
"""PyTorch eager U-Net step on CUDA, for tools/bench/gpu.sh's ratio: one forward pass at
batch B (2 = one classifier-free-guidance step), fp16 weights and activations, random
weights (timing does not depend on their values). IF-class configs run the project's own
modules (tools/train/models.py); other configs (Stable Diffusion's CrossAttn blocks) need
diffusers, and are reported as not run without it. Prints one JSON line.
"""
import argparse
import json
import os
import statistics
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def build(cfg):
    sys.path.insert(0, os.path.join(HERE, "..", "train"))
    from models import UNET_FIXED, UNet  # noqa: E402

    if_blocks = {"ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"}
    if set(cfg["down_block_types"]) <= if_blocks and all(
            cfg.get(k, v) == v for k, v in UNET_FIXED.items()):
        return UNet(cfg), "tools/train/models.py"
    try:
        from diffusers import UNet2DConditionModel
    except ImportError:
        return None, "not run: this config needs diffusers (not installed); models.py has IF blocks only"
    cfg = {k: v for k, v in cfg.items() if not k.startswith("_")}
    return UNet2DConditionModel.from_config(cfg), "diffusers"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--seq", type=int, default=77)
    ap.add_argument("--iterations", type=int, default=10)
    a = ap.parse_args()
    cfg = json.load(open(a.config))
    if not torch.cuda.is_available():
        print(json.dumps({"torch": torch.__version__, "impl": "not run: no CUDA device"}))
        return
    model, impl = build(cfg)
    if model is None:
        print(json.dumps({"torch": torch.__version__, "impl": impl}))
        return
    dev = torch.device("cuda")
    model = model.half().to(dev).eval()
    size = a.size or cfg.get("sample_size") or 64
    enc = cfg.get("encoder_hid_dim") or cfg["cross_attention_dim"]
    g = torch.Generator(device=dev).manual_seed(0)
    x = torch.randn(a.batch, cfg["in_channels"], size, size, generator=g, device=dev).half()
    t = torch.full((a.batch,), 500, device=dev, dtype=torch.long)
    ctx = torch.randn(a.batch, a.seq, enc, generator=g, device=dev).half()
    times = []
    with torch.no_grad():
        for i in range(a.iterations + 3):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            model(x, t, ctx)
            end.record()
            torch.cuda.synchronize()
            if i >= 3:  # three warm-ups
                times.append(start.elapsed_time(end))
    print(json.dumps({"torch": torch.__version__, "impl": impl, "device": torch.cuda.get_device_name(0),
                      "batch": a.batch, "size": size, "seq": a.seq,
                      "median_ms": round(statistics.median(times), 3)}))


if __name__ == "__main__":
    main()
