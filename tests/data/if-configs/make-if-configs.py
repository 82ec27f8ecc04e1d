#!/usr/bin/env python3
"""Writes the U-Net config.json of the DeepFloyd IF checkpoints (diffusers layout) as test
fixtures. The layout rules are those of diffusers' scripts/convert_if.py
(create_unet_diffusers_config / superres_create_unet_diffusers_config, get_super_res_unet):
block types from attention_resolutions, block_out_channels = model_channels x channel_mult,
cross_attention_dim = encoder_channels, encoder_hid_dim = encoder_dim (T5-XXL, 4096),
stage II: class_embed_type "timestep", time_embedding_dim = model_channels x last mult,
GELU time-embedding activation, skip-time-act resnets scaled by 1/0.7071.

Sources of the per-model numbers (see README.md): IF-I-XL from its published config.yml
(model_channels 704, encoder_channels 2816) and unet/config.json; IF-II-L from its published
unet/config.json (block_out_channels 160..1280, layers_per_block [2,2,3,5,5],
cross_attention_dim 1280). IF-I-L, IF-I-M and IF-II-M are RECONSTRUCTIONS: same family, with
model_channels / encoder_channels chosen to match the published parameter counts."""
import json, os

def full(cfg):
    base = {
        "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.25.1",
        "act_fn": "gelu", "addition_embed_type": "text", "addition_embed_type_num_heads": 64,
        "addition_time_embed_dim": None, "attention_head_dim": 64, "attention_type": "default",
        "center_input_sample": False, "class_embed_type": None, "class_embeddings_concat": False,
        "conv_in_kernel": 3, "conv_out_kernel": 3, "cross_attention_norm": "group_norm",
        "downsample_padding": 1, "dropout": 0.0, "dual_cross_attention": False,
        "encoder_hid_dim": 4096, "encoder_hid_dim_type": "text_proj", "flip_sin_to_cos": True,
        "freq_shift": 0, "mid_block_only_cross_attention": None, "mid_block_scale_factor": 1,
        "mid_block_type": "UNetMidBlock2DSimpleCrossAttn", "norm_eps": 1e-05,
        "norm_num_groups": 32, "num_attention_heads": None, "num_class_embeds": None,
        "only_cross_attention": False, "projection_class_embeddings_input_dim": None,
        "resnet_out_scale_factor": 1.0, "resnet_skip_time_act": False,
        "resnet_time_scale_shift": "scale_shift", "reverse_transformer_layers_per_block": None,
        "time_cond_proj_dim": None, "time_embedding_act_fn": None, "time_embedding_dim": None,
        "time_embedding_type": "positional", "timestep_post_act": None,
        "transformer_layers_per_block": 1, "upcast_attention": False,
        "use_linear_projection": False,
    }
    base.update(cfg)
    return dict(sorted(base.items()))

def stage1(mc, encoder_channels, num_res_blocks=3):
    return full({
        "block_out_channels": [mc * m for m in (1, 2, 3, 4)],
        "cross_attention_dim": encoder_channels,
        "down_block_types": ["ResnetDownsampleBlock2D"] + ["SimpleCrossAttnDownBlock2D"] * 3,
        "up_block_types": ["SimpleCrossAttnUpBlock2D"] * 3 + ["ResnetUpsampleBlock2D"],
        "in_channels": 3, "out_channels": 6, "layers_per_block": num_res_blocks,
        "sample_size": 64,
    })

def stage2(mc, encoder_channels):
    mult = (1, 2, 4, 6, 8)
    scale = 1 / 0.7071
    return full({
        "block_out_channels": [mc * m for m in mult],
        "cross_attention_dim": encoder_channels,
        "down_block_types": ["ResnetDownsampleBlock2D"] * 3 + ["SimpleCrossAttnDownBlock2D"] * 2,
        "up_block_types": ["SimpleCrossAttnUpBlock2D"] * 2 + ["ResnetUpsampleBlock2D"] * 3,
        "in_channels": 6, "out_channels": 6, "layers_per_block": [2, 2, 3, 5, 5],
        "class_embed_type": "timestep", "time_embedding_dim": mc * mult[-1],
        "time_embedding_act_fn": "gelu", "resnet_skip_time_act": True,
        "resnet_out_scale_factor": scale, "mid_block_scale_factor": scale,
        # convert_if.py: True unless the original config.yml gives disable_self_attentions as
        # an int (the golden unet_if_stage2 case follows it too)
        "only_cross_attention": True, "sample_size": 256,
    })

MODELS = {
    "IF-I-XL-v1.0": stage1(704, 2816),
    "IF-I-L-v1.0": stage1(320, 640),     # reconstruction
    "IF-I-M-v1.0": stage1(192, 1536),    # reconstruction
    "IF-II-L-v1.0": stage2(160, 1280),
    "IF-II-M-v1.0": stage2(96, 576),     # reconstruction
}

here = os.path.dirname(os.path.abspath(__file__))
for name, cfg in MODELS.items():
    os.makedirs(os.path.join(here, name), exist_ok=True)
    with open(os.path.join(here, name, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
