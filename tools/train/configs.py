"""The shipped model's configs, written exactly as the reference libraries' save_pretrained
writes them (field names and sets copied from DeepFloyd IF's diffusers/transformers configs,
as in ../shared/golden), scaled down for a 2-core CPU."""
import json
import os

DIFFUSERS_VERSION = "0.25.1"
TRANSFORMERS_VERSION = "4.31.0"
MAX_LENGTH = 77  # IF pipelines pad prompts to 77 tokens


def t5_config(sp_vocab, d_model=128, d_kv=32, num_heads=4, d_ff=320, num_layers=2):
    vocab = sp_vocab + 100  # T5Tokenizer appends 100 <extra_id_*> tokens
    vocab = (vocab + 7) // 8 * 8
    return {
        "architectures": ["T5EncoderModel"],
        "d_ff": d_ff, "d_kv": d_kv, "d_model": d_model, "decoder_start_token_id": 0,
        "dense_act_fn": "gelu_new", "dropout_rate": 0.0, "eos_token_id": 1,
        "feed_forward_proj": "gated-gelu", "initializer_factor": 1.0,
        "is_encoder_decoder": True, "is_gated_act": True, "layer_norm_epsilon": 1e-06,
        "model_type": "t5", "num_decoder_layers": num_layers, "num_heads": num_heads,
        "num_layers": num_layers, "pad_token_id": 0, "relative_attention_max_distance": 128,
        "relative_attention_num_buckets": 32, "tie_word_embeddings": False,
        "torch_dtype": "float16", "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": False, "vocab_size": vocab,
    }


_UNET_COMMON = {
    "_class_name": "UNet2DConditionModel", "_diffusers_version": DIFFUSERS_VERSION,
    "act_fn": "gelu", "addition_embed_type": "text", "addition_time_embed_dim": None,
    "attention_type": "default", "center_input_sample": False, "class_embeddings_concat": False,
    "conv_in_kernel": 3, "conv_out_kernel": 3, "cross_attention_norm": "group_norm",
    "downsample_padding": 1, "dropout": 0.0, "dual_cross_attention": False,
    "encoder_hid_dim_type": "text_proj", "flip_sin_to_cos": True, "freq_shift": 0,
    "mid_block_only_cross_attention": None, "mid_block_type": "UNetMidBlock2DSimpleCrossAttn",
    "norm_eps": 1e-05, "num_attention_heads": None, "num_class_embeds": None,
    "projection_class_embeddings_input_dim": None, "resnet_time_scale_shift": "scale_shift",
    "reverse_transformer_layers_per_block": None, "time_cond_proj_dim": None,
    "time_embedding_type": "positional", "timestep_post_act": None,
    "transformer_layers_per_block": 1, "upcast_attention": False,
    "use_linear_projection": False,
}


def unet1_config(enc_dim, widths=(16, 32, 64), layers=1, attn_levels=None):
    """Stage I: like IF-I (ResnetDownsample + SimpleCrossAttn blocks, 6 output channels),
    64 px. widths: block_out_channels; attn_levels: indices of the levels with self+cross
    attention (default: the lowest-resolution level only, to stay cheap on a CPU)."""
    widths = list(widths)
    if attn_levels is None:
        attn_levels = [len(widths) - 1]
    down = ["SimpleCrossAttnDownBlock2D" if i in attn_levels else "ResnetDownsampleBlock2D"
            for i in range(len(widths))]
    up = ["SimpleCrossAttnUpBlock2D" if i in attn_levels else "ResnetUpsampleBlock2D"
          for i in reversed(range(len(widths)))]
    c = dict(_UNET_COMMON)
    c.update({
        "addition_embed_type_num_heads": 4, "attention_head_dim": 32,
        "block_out_channels": widths, "class_embed_type": None,
        "cross_attention_dim": 64,
        "down_block_types": down,
        "encoder_hid_dim": enc_dim, "in_channels": 3, "layers_per_block": layers,
        "mid_block_scale_factor": 1, "norm_num_groups": 8,
        "only_cross_attention": False, "out_channels": 6, "resnet_out_scale_factor": 1.0,
        "resnet_skip_time_act": False, "sample_size": 64, "time_embedding_act_fn": None,
        "time_embedding_dim": None,
        "up_block_types": up,
    })
    return dict(sorted(c.items()))


def unet2_config(enc_dim):
    """Stage II: like IF-II (6 input channels, class_embed_type 'timestep' for the
    augmentation level, only_cross_attention, skip-time-act resnets scaled by 1/0.7071,
    GELU on the time embedding), 64 -> 256 px, small."""
    c = dict(_UNET_COMMON)
    c.update({
        "addition_embed_type_num_heads": 4, "attention_head_dim": 32,
        "block_out_channels": [16, 32, 48, 64], "class_embed_type": "timestep",
        "cross_attention_dim": 64,
        "down_block_types": ["ResnetDownsampleBlock2D", "ResnetDownsampleBlock2D",
                             "ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"],
        "encoder_hid_dim": enc_dim, "in_channels": 6, "layers_per_block": [1, 1, 1, 2],
        "mid_block_scale_factor": 1.4142271248762552, "norm_num_groups": 8,
        "only_cross_attention": True, "out_channels": 6,
        "resnet_out_scale_factor": 1.4142271248762552, "resnet_skip_time_act": True,
        "sample_size": 256, "time_embedding_act_fn": "gelu", "time_embedding_dim": 64,
        "up_block_types": ["SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D",
                           "ResnetUpsampleBlock2D", "ResnetUpsampleBlock2D"],
    })
    return dict(sorted(c.items()))


def scheduler_config(stage):
    """IF's DDPMScheduler: sample_max_value 1.5 for stage I, 1.0 for stage II."""
    return {
        "_class_name": "DDPMScheduler", "_diffusers_version": DIFFUSERS_VERSION,
        "beta_end": 0.02, "beta_schedule": "squaredcos_cap_v2", "beta_start": 0.0001,
        "clip_sample": True, "clip_sample_range": 1.0, "dynamic_thresholding_ratio": 0.95,
        "num_train_timesteps": 1000, "prediction_type": "epsilon",
        "rescale_betas_zero_snr": False, "sample_max_value": 1.5 if stage == 1 else 1.0,
        "steps_offset": 0, "thresholding": True, "timestep_spacing": "leading",
        "trained_betas": None, "variance_type": "learned_range",
    }


def image_noising_scheduler_config():
    return {
        "_class_name": "DDPMScheduler", "_diffusers_version": DIFFUSERS_VERSION,
        "beta_end": 0.02, "beta_schedule": "squaredcos_cap_v2", "beta_start": 0.0001,
        "clip_sample": True, "clip_sample_range": 1.0, "dynamic_thresholding_ratio": 0.995,
        "num_train_timesteps": 1000, "prediction_type": "epsilon",
        "rescale_betas_zero_snr": False, "sample_max_value": 1.0, "steps_offset": 0,
        "thresholding": False, "timestep_spacing": "leading", "trained_betas": None,
        "variance_type": "fixed_small",
    }


def model_index(stage):
    none = [None, None]
    d = {
        "_class_name": "IFPipeline" if stage == 1 else "IFSuperResolutionPipeline",
        "_diffusers_version": DIFFUSERS_VERSION,
        "feature_extractor": none, "requires_safety_checker": False, "safety_checker": none,
        "scheduler": ["diffusers", "DDPMScheduler"],
        "text_encoder": ["transformers", "T5EncoderModel"] if stage == 1 else none,
        "tokenizer": ["transformers", "T5Tokenizer"] if stage == 1 else none,
        "unet": ["diffusers", "UNet2DConditionModel"], "watermarker": none,
    }
    if stage == 2:
        d["image_noising_scheduler"] = ["diffusers", "DDPMScheduler"]
    return dict(sorted(d.items()))


def tokenizer_files():
    """tokenizer_config.json and special_tokens_map.json as transformers 4.31's
    T5Tokenizer.save_pretrained writes them (same fields as the golden t5_tokenizer), with
    model_max_length set to the 77 tokens IF pads to."""
    extra = [f"<extra_id_{i}>" for i in range(100)]
    stm = {"additional_special_tokens": extra, "eos_token": "</s>", "pad_token": "<pad>",
           "unk_token": "<unk>"}
    cfg = {"additional_special_tokens": extra, "clean_up_tokenization_spaces": True,
           "eos_token": "</s>", "extra_ids": 100, "legacy": True,
           "model_max_length": MAX_LENGTH, "pad_token": "<pad>", "sp_model_kwargs": {},
           "tokenizer_class": "T5Tokenizer", "unk_token": "<unk>"}
    return cfg, stm


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")
