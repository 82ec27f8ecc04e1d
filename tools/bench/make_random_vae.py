#!/usr/bin/python3
"""Writes an AutoencoderKL folder with Stable Diffusion 1.x's VAE config and seeded random
weights, for benchmarking the engine's VAE at real size (`cascade bench --vae DIR --size
1024x1024`) without downloading a checkpoint. The tensor names and shapes are those diffusers
0.25.1 saves for that config (enumerated here from the config, as AutoencoderKL builds them);
the values are noise (conv weights ~ N(0, 1/fan_in), norms 1 and 0), so only time and memory
mean anything.

    /usr/bin/python3 tools/bench/make_random_vae.py OUT_DIR [--layers 2] [--widths 128,256,512,512]
"""
import argparse
import json
import os
import struct

import numpy as np


def names_and_shapes(widths, layers, lc, cin, cout):
    out = []

    def conv(p, i, o, k):
        out.append((p + ".weight", (o, i, k, k)))
        out.append((p + ".bias", (o,)))

    def norm(p, c):
        out.append((p + ".weight", (c,)))
        out.append((p + ".bias", (c,)))

    def resnet(p, i, o):
        norm(p + ".norm1", i)
        conv(p + ".conv1", i, o, 3)
        norm(p + ".norm2", o)
        conv(p + ".conv2", o, o, 3)
        if i != o:
            conv(p + ".conv_shortcut", i, o, 1)

    def mid(p, c):
        resnet(p + ".resnets.0", c, c)
        norm(p + ".attentions.0.group_norm", c)
        for m in ("to_q", "to_k", "to_v", "to_out.0"):
            out.append((p + ".attentions.0." + m + ".weight", (c, c)))
            out.append((p + ".attentions.0." + m + ".bias", (c,)))
        resnet(p + ".resnets.1", c, c)

    n = len(widths)
    conv("encoder.conv_in", cin, widths[0], 3)
    ch = widths[0]
    for i in range(n):
        prev, ch = ch, widths[i]
        for j in range(layers):
            resnet(f"encoder.down_blocks.{i}.resnets.{j}", prev if j == 0 else ch, ch)
        if i < n - 1:
            conv(f"encoder.down_blocks.{i}.downsamplers.0.conv", ch, ch, 3)
    mid("encoder.mid_block", ch)
    norm("encoder.conv_norm_out", ch)
    conv("encoder.conv_out", ch, 2 * lc, 3)
    conv("quant_conv", 2 * lc, 2 * lc, 1)
    conv("post_quant_conv", lc, lc, 1)
    ch = widths[-1]
    conv("decoder.conv_in", lc, ch, 3)
    mid("decoder.mid_block", ch)
    for i in range(n):
        prev, ch = ch, widths[n - 1 - i]
        for j in range(layers + 1):
            resnet(f"decoder.up_blocks.{i}.resnets.{j}", prev if j == 0 else ch, ch)
        if i < n - 1:
            conv(f"decoder.up_blocks.{i}.upsamplers.0.conv", ch, ch, 3)
    norm("decoder.conv_norm_out", ch)
    conv("decoder.conv_out", ch, cout, 3)
    return out


def write_safetensors(path, tensors):
    header, offset = {}, 0
    for name, arr in tensors:
        header[name] = {"dtype": "F16", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for _, arr in tensors:
            f.write(arr.tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--widths", default="128,256,512,512")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    widths = [int(w) for w in a.widths.split(",")]
    n = len(widths)
    cfg = {"_class_name": "AutoencoderKL", "_diffusers_version": "0.25.1", "act_fn": "silu",
           "block_out_channels": widths, "down_block_types": ["DownEncoderBlock2D"] * n,
           "force_upcast": True, "in_channels": 3, "latent_channels": 4,
           "layers_per_block": a.layers, "norm_num_groups": 32, "out_channels": 3,
           "sample_size": 512, "scaling_factor": 0.18215,
           "up_block_types": ["UpDecoderBlock2D"] * n}
    rng = np.random.default_rng(a.seed)
    tensors = []
    for name, shape in sorted(names_and_shapes(widths, a.layers, 4, 3, 3)):
        if len(shape) == 1:
            arr = np.ones(shape) if ("norm" in name and name.endswith(".weight")) else np.zeros(shape)
        else:
            fan_in = int(np.prod(shape[1:]))
            arr = rng.standard_normal(shape) / np.sqrt(fan_in)
        tensors.append((name, arr.astype(np.float16)))
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(a.out, "diffusion_pytorch_model.safetensors"), tensors)
    print(f"{a.out}: {sum(t.size for _, t in tensors)} parameters in {len(tensors)} tensors")


if __name__ == "__main__":
    main()
