/* Checkpoint names of UNet2DConditionModel (diffusers v0.25.1 state_dict keys), by module.
 * A tensor's key is "<module path>.<name>.weight|bias"; module paths are built from these
 * formats by the builders. One place to change if a checkpoint layout differs. */
#ifndef CASCADE_UNET_NAMES_H
#define CASCADE_UNET_NAMES_H

/* UNet2DConditionModel */
#define UN_CONV_IN          "conv_in"
#define UN_TIME_EMBEDDING   "time_embedding"
#define UN_CLASS_EMBEDDING  "class_embedding"
#define UN_ADD_EMBEDDING    "add_embedding"
#define UN_ENCODER_HID_PROJ "encoder_hid_proj"
#define UN_DOWN_BLOCK       "down_blocks.%d"
#define UN_MID_BLOCK        "mid_block"
#define UN_UP_BLOCK         "up_blocks.%d"
#define UN_CONV_NORM_OUT    "conv_norm_out"
#define UN_CONV_OUT         "conv_out"

/* inside the down/mid/up blocks */
#define UN_RESNETS      "resnets.%d"
#define UN_ATTENTIONS   "attentions.%d"
#define UN_DOWNSAMPLER  "downsamplers.0" /* Downsample2D (.conv) or ResnetBlock2D(down=True) */
#define UN_UPSAMPLER    "upsamplers.0"   /* Upsample2D (.conv) or ResnetBlock2D(up=True) */
#define UN_SAMPLER_CONV "conv"

/* TimestepEmbedding */
#define UN_TE_LINEAR_1 "linear_1"
#define UN_TE_LINEAR_2 "linear_2"

/* TextTimeEmbedding + AttentionPooling */
#define UN_TT_NORM1    "norm1"
#define UN_TT_POOL_POS "pool.positional_embedding" /* a bare nn.Parameter: no .weight */
#define UN_TT_POOL_Q   "pool.q_proj"
#define UN_TT_POOL_K   "pool.k_proj"
#define UN_TT_POOL_V   "pool.v_proj"
#define UN_TT_PROJ     "proj"
#define UN_TT_NORM2    "norm2"

/* ResnetBlock2D */
#define UN_RES_NORM1         "norm1"
#define UN_RES_CONV1         "conv1"
#define UN_RES_TIME_EMB_PROJ "time_emb_proj"
#define UN_RES_NORM2         "norm2"
#define UN_RES_CONV2         "conv2"
#define UN_RES_CONV_SHORTCUT "conv_shortcut"

/* Attention (attention_processor.Attention) */
#define UN_ATTN_GROUP_NORM "group_norm"
#define UN_ATTN_NORM_CROSS "norm_cross"
#define UN_ATTN_TO_Q       "to_q"
#define UN_ATTN_TO_K       "to_k"
#define UN_ATTN_TO_V       "to_v"
#define UN_ATTN_ADD_K      "add_k_proj"
#define UN_ATTN_ADD_V      "add_v_proj"
#define UN_ATTN_TO_OUT     "to_out.0"
#define UN_ATTN_LEGACY_Q   "query" /* pre-0.14 AttentionBlock names of to_q ... to_out.0 */
#define UN_ATTN_LEGACY_K   "key"
#define UN_ATTN_LEGACY_V   "value"
#define UN_ATTN_LEGACY_OUT "proj_attn"

/* Transformer2DModel + BasicTransformerBlock + FeedForward(GEGLU) */
#define UN_TR_NORM     "norm"
#define UN_TR_PROJ_IN  "proj_in"
#define UN_TR_PROJ_OUT "proj_out"
#define UN_TR_BLOCK    "transformer_blocks.%d"
#define UN_TR_NORM1    "norm1"
#define UN_TR_NORM2    "norm2"
#define UN_TR_NORM3    "norm3"
#define UN_TR_ATTN1    "attn1"
#define UN_TR_ATTN2    "attn2"
#define UN_TR_FF_IN    "ff.net.0.proj"
#define UN_TR_FF_OUT   "ff.net.2"

#endif
