#!/usr/bin/env python3
"""Writes the U-Net config.json of Stable Diffusion 1.5 (runwayml/stable-diffusion-v1-5) and
2.1 (stabilityai/stable-diffusion-2-1) as published in their unet/ folders. test-unet.c checks
that each builds weight-free to the well-known parameter counts of those U-Nets
(859 520 964 and 865 910 724), which exercises the Transformer2DModel path (conv vs linear
projections, per-level head counts) at full size."""
import json, os

sd15 = {
    "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.6.0",
    "act_fn": "silu", "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False, "cross_attention_dim": 768,
    "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
    "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4,
    "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05,
    "norm_num_groups": 32, "out_channels": 4, "sample_size": 64,
    "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
}
sd21 = dict(sd15)
sd21.update({
    "_diffusers_version": "0.10.0.dev0", "attention_head_dim": [5, 10, 20, 20],
    "cross_attention_dim": 1024, "dual_cross_attention": False, "num_class_embeds": None,
    "only_cross_attention": False, "sample_size": 96, "upcast_attention": True,
    "use_linear_projection": True,
})
here = os.path.dirname(os.path.abspath(__file__))
for name, cfg in (("stable-diffusion-v1-5", sd15), ("stable-diffusion-2-1", sd21)):
    os.makedirs(os.path.join(here, name), exist_ok=True)
    with open(os.path.join(here, name, "config.json"), "w") as f:
        json.dump(dict(sorted(cfg.items())), f, indent=2)
        f.write("\n")
