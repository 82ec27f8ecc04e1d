/* Shared between unet-config.c (config.json -> struct cascade_unet), unet-blocks.c (the
 * diffusers modules as graph builders) and unet.c (UNet2DConditionModel.forward). */
#ifndef CASCADE_UNET_INTERNAL_H
#define CASCADE_UNET_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cascade/config.h"
#include "cascade/graph.h"
#include "cascade/unet.h"
#include "cascade/weights.h"

#define UNET_MAX_BLOCKS 8
#define UNET_MAX_LAYERS 64 /* layers_per_block, transformer_layers_per_block */
/* Channel-like sizes from a config (block_out_channels, attention_head_dim,
 * cross_attention_dim, time_embedding_dim): far above any checkpoint, low enough that the
 * products the builders form (x 4, x heads) cannot overflow int64. */
#define UNET_MAX_DIM (1 << 24)

typedef enum unet_act {
    UNET_ACT_NONE = 0,
    UNET_ACT_SILU, /* "silu", "swish" */
    UNET_ACT_GELU, /* "gelu" (nn.GELU, exact) */
    UNET_ACT_RELU, /* "relu" */
} unet_act;

typedef enum unet_block {
    UNET_BLOCK_DOWN = 0,          /* DownBlock2D */
    UNET_BLOCK_RESNET_DOWNSAMPLE, /* ResnetDownsampleBlock2D */
    UNET_BLOCK_SIMPLE_CROSS_DOWN, /* SimpleCrossAttnDownBlock2D */
    UNET_BLOCK_CROSS_DOWN,        /* CrossAttnDownBlock2D */
    UNET_BLOCK_UP,                /* UpBlock2D */
    UNET_BLOCK_RESNET_UPSAMPLE,   /* ResnetUpsampleBlock2D */
    UNET_BLOCK_SIMPLE_CROSS_UP,   /* SimpleCrossAttnUpBlock2D */
    UNET_BLOCK_CROSS_UP,          /* CrossAttnUpBlock2D */
} unet_block;

typedef enum unet_mid {
    UNET_MID_NONE = 0,     /* null */
    UNET_MID_CROSS,        /* UNetMidBlock2DCrossAttn */
    UNET_MID_SIMPLE_CROSS, /* UNetMidBlock2DSimpleCrossAttn */
    UNET_MID_PLAIN,        /* UNetMidBlock2D (one resnet, no attention) */
} unet_mid;

typedef enum unet_class_embed {
    UNET_CLASS_NONE = 0,
    UNET_CLASS_EMBEDDING,         /* class_embed_type null + num_class_embeds: nn.Embedding */
    UNET_CLASS_TIMESTEP,          /* "timestep": time_proj then TimestepEmbedding(act_fn) */
    UNET_CLASS_IDENTITY,          /* "identity": class_labels are (B, time_embed_dim) */
    UNET_CLASS_PROJECTION,        /* "projection": TimestepEmbedding(in, temb), SiLU */
    UNET_CLASS_SIMPLE_PROJECTION, /* "simple_projection": nn.Linear */
} unet_class_embed;

typedef enum unet_cross_norm {
    UNET_CROSS_NORM_NONE = 0,
    UNET_CROSS_NORM_LAYER, /* "layer_norm" */
    UNET_CROSS_NORM_GROUP, /* "group_norm" */
} unet_cross_norm;

struct cascade_unet {
    int32_t    n_blocks;
    int64_t    block_out[UNET_MAX_BLOCKS];
    unet_block down[UNET_MAX_BLOCKS], up[UNET_MAX_BLOCKS];
    int64_t    layers[UNET_MAX_BLOCKS];             /* layers_per_block, per down block */
    int64_t    transformer_layers[UNET_MAX_BLOCKS]; /* per down block */
    int64_t    cross_dim[UNET_MAX_BLOCKS];          /* cross_attention_dim, per down block */
    int64_t    heads[UNET_MAX_BLOCKS];              /* num_attention_heads (legacy: the
                                                       attention_head_dim field) for
                                                       Transformer2DModel blocks */
    int64_t head_dim[UNET_MAX_BLOCKS];              /* attention_head_dim for SimpleCrossAttn
                                                       blocks; 0 = null (one head) */
    bool only_cross[UNET_MAX_BLOCKS];

    unet_mid mid;
    bool     mid_only_cross;
    double   mid_scale;

    int64_t         in_channels, out_channels, sample_size[2];
    bool            center_input_sample, flip_sin_to_cos;
    double          freq_shift;
    unet_act        act, time_embed_act, timestep_post_act;
    int64_t         norm_groups;
    double          norm_eps;
    int64_t         downsample_padding;
    bool            use_linear_projection;
    bool            scale_shift;      /* resnet_time_scale_shift == "scale_shift" */
    bool            skip_time_act;    /* resnet_skip_time_act */
    double          resnet_out_scale; /* resnet_out_scale_factor */
    unet_cross_norm cross_norm;       /* cross_attention_norm */
    int64_t         conv_in_kernel, conv_out_kernel;

    int64_t          time_embed_dim; /* time_embedding_dim or 4 x block_out[0] */
    unet_class_embed class_embed;
    int64_t          num_class_embeds;
    int64_t          class_proj_in;   /* projection_class_embeddings_input_dim */
    bool             class_concat;    /* class_embeddings_concat */
    bool             add_text_embed;  /* addition_embed_type == "text" */
    int64_t          add_heads;       /* addition_embed_type_num_heads */
    int64_t          encoder_hid_dim; /* 0: no encoder_hid_proj */
};

/* Build context: the graph, the weight source and the running parameter count. */
typedef struct unet_ctx {
    cascade_graph   *g;
    cascade_weights *w; /* NULL: weights become shape-only placeholders */
    int64_t          n_params;
    cascade_error    werr; /* the first weight error (reported before the graph's) */
    char             prefix[200];
} unet_ctx;

/* A weight "<prefix>.<name>" of the given shape (dims end at the first 0). */
cascade_value_id unet_weight(unet_ctx *c, const char *name, int64_t d0, int64_t d1, int64_t d2,
                             int64_t d3);
/* Sets the module prefix ("down_blocks.1.resnets.0") and the graph scope to it. */
void unet_enter(unet_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

cascade_value_id unet_activation(cascade_graph *g, unet_act act, cascade_value_id x);
/* nn.Conv2d "<prefix>.<module>" with bias, square kernel k, symmetric padding.
 * x: (B, in, H, W) -> (B, out, H', W') */
cascade_value_id unet_conv(unet_ctx *c, cascade_value_id x, const char *module, int64_t in,
                           int64_t out, int64_t k, int32_t stride, int32_t pad);
/* nn.GroupNorm(affine) "<prefix>.<module>" then act (SiLU fused). x: (B, ch, ...) */
cascade_value_id unet_group_norm(unet_ctx *c, cascade_value_id x, const char *module, int64_t ch,
                                 int64_t groups, double eps, unet_act act);
/* Downsample2D(use_conv=True) at c->prefix: 3x3 stride 2; pad 0 means F.pad (0, 1, 0, 1). */
cascade_value_id unet_downsample_conv(unet_ctx *c, cascade_value_id x, int64_t ch, int32_t pad);
/* Upsample2D(use_conv=True) at c->prefix: nearest x2 then 3x3 conv. */
cascade_value_id unet_upsample_conv(unet_ctx *c, cascade_value_id x, int64_t ch);
/* Config errors: UNSUPPORTED "<file>: field 'f': value V is not supported by this engine"
 * (value as it should print, quoted by the caller for strings) and FORMAT "<file>: field
 * 'f': what". */
cascade_status unet_cfg_unsupported(cascade_config *cfg, cascade_error *err, const char *field,
                                   const char *value);
cascade_status unet_cfg_inconsistent(cascade_config *cfg, cascade_error *err, const char *field,
                                    const char *what);
/* Parses an act_fn name of diffusers' get_activation ("silu", "swish", "gelu", "relu"; null
 * when null_ok); others are UNSUPPORTED naming field and value. */
cascade_status unet_parse_act(cascade_config *cfg, cascade_error *err, const char *field,
                              const char *name, bool null_ok, unet_act *out);

/* Per-run values shared by every block. */
typedef struct unet_cond {
    cascade_value_id temb;     /* (B, temb_ch): time embedding after time_embed_act */
    cascade_value_id temb_act; /* act(temb), computed once for resnets that apply it */
    int64_t          temb_ch;
    cascade_value_id context;   /* (B, N, cross_dim): encoder_hidden_states after proj */
    cascade_value_id mask_bias; /* (B, 1, 1, N) 0 / -10000, or CASCADE_NO_VALUE */
} unet_cond;

/* What a ResnetBlock2D is built with besides its channel counts. */
typedef struct unet_resnet_cfg {
    int64_t  groups;      /* resnet_groups (norm1 and norm2) */
    double   eps;         /* resnet_eps */
    unet_act act;         /* non_linearity */
    bool     scale_shift; /* time_embedding_norm == "scale_shift" */
    double   out_scale;   /* output_scale_factor */
    int      resample;    /* -1 down (avg pool), +1 up (nearest), 0 none */
} unet_resnet_cfg;

/* ResnetBlock2D at c->prefix: x (B, cin, H, W) -> (B, cout, H', W'). temb (B, temb_ch) is
 * projected by time_emb_proj; CASCADE_NO_VALUE: temb_channels=None (no projection, as in
 * the VAE's blocks). */
cascade_value_id unet_resnet_block(unet_ctx *c, const unet_resnet_cfg *r, cascade_value_id x,
                                   cascade_value_id temb, int64_t temb_ch, int64_t cin,
                                   int64_t cout);
/* Attention over the pixels of x as UNetMidBlock2D builds it (AttnProcessor on a 4-D input):
 * group_norm(groups, eps), to_q/to_k/to_v/to_out.0 with bias (or the legacy
 * query/key/value/proj_attn names when the checkpoint has those), heads of head_dim
 * (0: one head of ch), residual added. x: (B, ch, H, W) -> same. */
cascade_value_id unet_spatial_attention(unet_ctx *c, cascade_value_id x, int64_t ch,
                                        int64_t head_dim, int64_t groups, double eps);
/* ResnetBlock2D at c->prefix (U-Net: temb from k). x: (B, cin, H, W) -> (B, cout, H', W'); resample -1 down
 * (avg pool), +1 up (nearest), 0 none. */
cascade_value_id unet_resnet(unet_ctx *c, const cascade_unet *u, const unet_cond *k,
                             cascade_value_id x, int64_t cin, int64_t cout, double out_scale,
                             bool skip_time_act, int resample);
/* Attention with added_kv_proj_dim (AttnAddedKVProcessor) at c->prefix.
 * x: (B, C, H, W) -> (B, C, H, W), residual included. */
cascade_value_id unet_simple_attention(unet_ctx *c, const cascade_unet *u, const unet_cond *k,
                                       cascade_value_id x, int64_t ch, int64_t head_dim,
                                       int64_t cross_dim, bool only_cross);
/* Transformer2DModel at c->prefix. x: (B, C, H, W) -> (B, C, H, W). */
cascade_value_id unet_transformer(unet_ctx *c, const cascade_unet *u, const unet_cond *k,
                                  cascade_value_id x, int64_t ch, int64_t heads, int64_t n_layers,
                                  int64_t cross_dim, bool only_cross);
/* TimestepEmbedding at c->prefix: linear_1, act, linear_2, [post_act]. x: (B, in). */
cascade_value_id unet_timestep_embedding(unet_ctx *c, cascade_value_id x, int64_t in, int64_t out,
                                         unet_act act, unet_act post_act);
/* TextTimeEmbedding at c->prefix. x: (B, N, D) -> (B, out). */
cascade_value_id unet_text_time_embedding(unet_ctx *c, cascade_value_id x, int64_t dim, int64_t out,
                                          int64_t heads);

#endif
