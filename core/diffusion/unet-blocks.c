/* The modules UNet2DConditionModel is made of, as graph builders (diffusers v0.25.1):
 * ResnetBlock2D (models/resnet.py), Attention with AttnAddedKVProcessor (SimpleCrossAttn
 * blocks), Transformer2DModel + BasicTransformerBlock + GEGLU FeedForward, TimestepEmbedding
 * and TextTimeEmbedding (models/embeddings.py). Each reads its weights under c->prefix. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unet-internal.h"
#include "unet-names.h"

/* ---- weights and small helpers ---- */

void unet_enter(unet_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->prefix, sizeof c->prefix, fmt, ap);
    va_end(ap);
    cascade_graph_set_scope(c->g, "%s", c->prefix);
}

cascade_value_id unet_weight(unet_ctx *c, const char *name, int64_t d0, int64_t d1, int64_t d2,
                             int64_t d3) {
    if (c->werr.status != CASCADE_STATUS_OK) return CASCADE_NO_VALUE;
    char    key[320];
    int64_t shape[4] = {d0, d1, d2, d3};
    int32_t ndim = 0;
    while (ndim < 4 && shape[ndim] > 0)
        ndim++;
    if (c->prefix[0])
        snprintf(key, sizeof key, "%s.%s", c->prefix, name);
    else
        snprintf(key, sizeof key, "%s", name);
    int64_t numel = 0;
    if (!cascade_shape_numel(ndim, shape, &numel) || numel > INT64_MAX - c->n_params) {
        cascade_error_set(&c->werr, CASCADE_STATUS_FORMAT,
                          "unet: tensor '%s' would be too large (check the config's sizes)", key);
        return CASCADE_NO_VALUE;
    }
    c->n_params += numel;
    if (!c->w) return cascade_graph_input(c->g, key, CASCADE_DTYPE_F32, ndim, shape);
    const cascade_tensor *t = NULL;
    if (cascade_weights_get(c->w, key, ndim, shape, &t, &c->werr) != CASCADE_STATUS_OK)
        return CASCADE_NO_VALUE;
    return cascade_graph_constant(c->g, key, t);
}

/* "<module>.weight" / "<module>.bias" relative to the prefix */
static cascade_value_id param(unet_ctx *c, const char *module, const char *kind, int64_t d0,
                              int64_t d1, int64_t d2, int64_t d3) {
    char name[160];
    if (snprintf(name, sizeof name, "%s.%s", module, kind) >= (int)sizeof name) {
        cascade_error_set(&c->werr, CASCADE_STATUS_FORMAT, "tensor name '%s.%s' is too long",
                          module, kind);
        return CASCADE_NO_VALUE;
    }
    return unet_weight(c, name, d0, d1, d2, d3);
}

cascade_value_id unet_activation(cascade_graph *g, unet_act act, cascade_value_id x) {
    switch (act) {
    case UNET_ACT_NONE: return x;
    case UNET_ACT_SILU: return cascade_graph_unary(g, CASCADE_UNARY_SILU, x);
    case UNET_ACT_GELU: return cascade_graph_unary(g, CASCADE_UNARY_GELU, x);
    case UNET_ACT_RELU: return cascade_graph_unary(g, CASCADE_UNARY_RELU, x);
    }
    return x;
}

/* nn.Linear. x: (..., in) -> (..., out) */
static cascade_value_id linear(unet_ctx *c, cascade_value_id x, const char *module, int64_t in,
                               int64_t out, bool bias) {
    cascade_value_id w = param(c, module, "weight", out, in, 0, 0);
    cascade_value_id b = bias ? param(c, module, "bias", out, 0, 0, 0) : CASCADE_NO_VALUE;
    return cascade_graph_linear(c->g, x, w, b);
}

cascade_value_id unet_conv(unet_ctx *c, cascade_value_id x, const char *module, int64_t in,
                           int64_t out, int64_t k, int32_t stride, int32_t pad) {
    cascade_value_id      w = param(c, module, "weight", out, in, k, k);
    cascade_value_id      b = param(c, module, "bias", out, 0, 0, 0);
    cascade_conv2d_params p;
    cascade_conv2d_params_init(&p);
    p.stride[0] = p.stride[1] = stride;
    p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = pad;
    return cascade_graph_conv2d(c->g, x, w, b, &p);
}

cascade_value_id unet_group_norm(unet_ctx *c, cascade_value_id x, const char *module, int64_t ch,
                                 int64_t groups, double eps, unet_act act) {
    cascade_value_id w = param(c, module, "weight", ch, 0, 0, 0);
    cascade_value_id b = param(c, module, "bias", ch, 0, 0, 0);
    cascade_value_id y =
        cascade_graph_group_norm(c->g, x, w, b, (int32_t)groups, (float)eps, act == UNET_ACT_SILU);
    return act == UNET_ACT_SILU ? y : unet_activation(c->g, act, y);
}

/* nn.LayerNorm(affine) over the last dim. */
static cascade_value_id layer_norm(unet_ctx *c, cascade_value_id x, const char *module, int64_t dim,
                                   double eps) {
    cascade_value_id w = param(c, module, "weight", dim, 0, 0, 0);
    cascade_value_id b = param(c, module, "bias", dim, 0, 0, 0);
    return cascade_graph_layer_norm(c->g, x, w, b, (float)eps);
}

static bool dims4(cascade_graph *g, cascade_value_id x, int64_t *s) {
    int32_t nd = 0;
    int64_t shape[CASCADE_MAX_DIMS];
    if (!cascade_graph_shape(g, x, &nd, shape) || nd != 4) return false;
    memcpy(s, shape, 4 * sizeof *s);
    return true;
}

static cascade_value_id reshape(cascade_graph *g, cascade_value_id x, int32_t nd, int64_t a,
                                int64_t b, int64_t cc, int64_t d) {
    int64_t s[4] = {a, b, cc, d};
    return cascade_graph_reshape(g, x, nd, s);
}

static cascade_value_id permute(cascade_graph *g, cascade_value_id x, int32_t p0, int32_t p1,
                                int32_t p2, int32_t p3) {
    int32_t p[4] = {p0, p1, p2, p3};
    return cascade_graph_permute(g, x, p);
}

/* (B, C, H, W) -> (B, HW, C) and back */
static cascade_value_id to_tokens(cascade_graph *g, cascade_value_id x, const int64_t *s) {
    return permute(g, reshape(g, x, 3, s[0], s[1], s[2] * s[3], 0), 0, 2, 1, 3);
}
static cascade_value_id to_image(cascade_graph *g, cascade_value_id x, const int64_t *s) {
    return reshape(g, permute(g, x, 0, 2, 1, 3), 4, s[0], s[1], s[2], s[3]);
}

/* (B, L, heads*dh) -> (B, heads, L, dh) */
static cascade_value_id split_heads(cascade_graph *g, cascade_value_id x, int64_t b, int64_t l,
                                    int64_t heads, int64_t dh) {
    return permute(g, reshape(g, x, 4, b, l, heads, dh), 0, 2, 1, 3);
}
/* (B, heads, L, dh) -> (B, L, heads*dh) */
static cascade_value_id merge_heads(cascade_graph *g, cascade_value_id x, int64_t b, int64_t l,
                                    int64_t inner) {
    return reshape(g, permute(g, x, 0, 2, 1, 3), 3, b, l, inner, 0);
}

/* ---- Downsample2D / Upsample2D ---- */

/* The sampler's 3x3 "conv" (ch -> ch) at c->prefix with the given stride and padding. */
static cascade_value_id sampler_conv(unet_ctx *c, cascade_value_id x, int64_t ch,
                                     const cascade_conv2d_params *p) {
    char name[64];
    snprintf(name, sizeof name, "%s.weight", UN_SAMPLER_CONV);
    cascade_value_id w = unet_weight(c, name, ch, ch, 3, 3);
    snprintf(name, sizeof name, "%s.bias", UN_SAMPLER_CONV);
    cascade_value_id bias = unet_weight(c, name, ch, 0, 0, 0);
    return cascade_graph_conv2d(c->g, x, w, bias, p);
}

cascade_value_id unet_downsample_conv(unet_ctx *c, cascade_value_id x, int64_t ch, int32_t pad) {
    cascade_conv2d_params p;
    cascade_conv2d_params_init(&p);
    p.stride[0] = p.stride[1] = 2;
    if (pad == 0) /* F.pad (0, 1, 0, 1) */
        p.pad[2] = p.pad[3] = 1;
    else
        p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = pad;
    return sampler_conv(c, x, ch, &p);
}

cascade_value_id unet_upsample_conv(unet_ctx *c, cascade_value_id x, int64_t ch) {
    cascade_conv2d_params p;
    cascade_conv2d_params_init(&p);
    p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
    return sampler_conv(c, cascade_graph_upsample_nearest(c->g, x, 2, 2), ch, &p);
}

/* ---- ResnetBlock2D ---- */

cascade_value_id unet_resnet_block(unet_ctx *c, const unet_resnet_cfg *r, cascade_value_id x,
                                   cascade_value_id temb, int64_t temb_ch, int64_t cin,
                                   int64_t cout) {
    cascade_graph   *g = c->g;
    bool             fuse = !r->scale_shift; /* norm2 + act fuse unless scale/shift sits between */
    cascade_value_id h = unet_group_norm(c, x, UN_RES_NORM1, cin, r->groups, r->eps, r->act);
    cascade_value_id skip = x;
    if (r->resample < 0) { /* Downsample2D(use_conv=False): 2x2 average pool */
        skip = cascade_graph_avg_pool2d(g, skip, 2, 2, 2, 2);
        h = cascade_graph_avg_pool2d(g, h, 2, 2, 2, 2);
    } else if (r->resample > 0) { /* Upsample2D(use_conv=False): nearest x2 */
        skip = cascade_graph_upsample_nearest(g, skip, 2, 2);
        h = cascade_graph_upsample_nearest(g, h, 2, 2);
    }
    h = unet_conv(c, h, UN_RES_CONV1, cin, cout, 3, 1, 1);
    if (temb == CASCADE_NO_VALUE) { /* temb_channels=None: no time_emb_proj */
        h = unet_group_norm(c, h, UN_RES_NORM2, cout, r->groups, r->eps, r->act);
    } else {
        /* temb: (B, temb_ch) -> (B, cout or 2 cout, 1, 1) */
        int64_t tch = r->scale_shift ? 2 * cout : cout;
        cascade_value_id t = linear(c, temb, UN_RES_TIME_EMB_PROJ, temb_ch, tch, true);
        int64_t          b = 0;
        {
            int64_t s[4];
            if (dims4(g, h, s)) b = s[0];
        }
        t = reshape(g, t, 4, b > 0 ? b : -1, tch, 1, 1);
        if (!r->scale_shift) {
            h = cascade_graph_add(g, h, t);
            h = unet_group_norm(c, h, UN_RES_NORM2, cout, r->groups, r->eps,
                           fuse ? r->act : UNET_ACT_NONE);
        } else {
            h = unet_group_norm(c, h, UN_RES_NORM2, cout, r->groups, r->eps, UNET_ACT_NONE);
            cascade_value_id scale = cascade_graph_slice(g, t, 1, 0, cout, 1);
            cascade_value_id shift = cascade_graph_slice(g, t, 1, cout, cout, 1);
            h = cascade_graph_mul(g, h, cascade_graph_scale(g, scale, 1.0f, 1.0f));
            h = cascade_graph_add(g, h, shift);
            h = unet_activation(g, r->act, h);
        }
    }
    h = unet_conv(c, h, UN_RES_CONV2, cout, cout, 3, 1, 1);
    if (cin != cout) skip = unet_conv(c, skip, UN_RES_CONV_SHORTCUT, cin, cout, 1, 1, 0);
    cascade_value_id y = cascade_graph_add(g, skip, h);
    if (r->out_scale != 1.0)
        y = cascade_graph_div(g, y,
                              cascade_graph_constant_copy(g, "output_scale_factor",
                                                          CASCADE_DTYPE_F32, 1, (int64_t[]){1},
                                                          (float[]){(float)r->out_scale}));
    return y;
}

cascade_value_id unet_resnet(unet_ctx *c, const cascade_unet *u, const unet_cond *k,
                             cascade_value_id x, int64_t cin, int64_t cout, double out_scale,
                             bool skip_time_act, int resample) {
    unet_resnet_cfg r = {.groups = u->norm_groups,
                         .eps = u->norm_eps,
                         .act = u->act,
                         .scale_shift = u->scale_shift,
                         .out_scale = out_scale,
                         .resample = resample};
    cascade_value_id temb = skip_time_act ? k->temb : k->temb_act;
    if (temb == CASCADE_NO_VALUE) {
        /* every U-Net resnet has a time_emb_proj; a builder that failed (out of memory, say)
         * leaves none either, and then the graph's own error is the one to report */
        if (cascade_graph_status(c->g, NULL) == CASCADE_STATUS_OK)
            cascade_error_set(&c->werr, CASCADE_STATUS_FORMAT, "unet: %s: no time embedding",
                              c->prefix);
        return CASCADE_NO_VALUE;
    }
    return unet_resnet_block(c, &r, x, temb, k->temb_ch, cin, cout);
}

/* ---- Attention + AttnAddedKVProcessor ---- */

cascade_value_id unet_simple_attention(unet_ctx *c, const cascade_unet *u, const unet_cond *k,
                                       cascade_value_id x, int64_t ch, int64_t head_dim,
                                       int64_t cross_dim, bool only_cross) {
    cascade_graph *g = c->g;
    int64_t        s[4];
    if (!dims4(g, x, s)) return CASCADE_NO_VALUE;
    int64_t dh = head_dim > 0 ? head_dim : ch, heads = ch / dh, inner = heads * dh;
    int64_t b = s[0], hw = s[2] * s[3], n = 0;
    {
        int32_t nd;
        int64_t cs[CASCADE_MAX_DIMS];
        if (cascade_graph_shape(g, k->context, &nd, cs) && nd == 3) n = cs[1];
    }
    /* encoder states: norm_cross (GroupNorm over the added-kv channels, 32 groups, or
     * LayerNorm over cross_attention_dim = the query width) */
    cascade_value_id ctx = k->context;
    if (u->cross_norm == UNET_CROSS_NORM_GROUP) {
        cascade_value_id t = permute(g, ctx, 0, 2, 1, 3); /* (B, D, N) */
        t = unet_group_norm(c, t, UN_ATTN_NORM_CROSS, cross_dim, 32, 1e-5, UNET_ACT_NONE);
        ctx = permute(g, t, 0, 2, 1, 3);
    } else if (u->cross_norm == UNET_CROSS_NORM_LAYER) {
        ctx = layer_norm(c, ctx, UN_ATTN_NORM_CROSS, ch, 1e-5);
    }
    /* group_norm uses Attention's default eps 1e-5, not the resnets' */
    cascade_value_id hn =
        unet_group_norm(c, x, UN_ATTN_GROUP_NORM, ch, u->norm_groups, 1e-5, UNET_ACT_NONE);
    cascade_value_id hs = to_tokens(g, hn, s); /* (B, HW, C) */
    cascade_value_id q = linear(c, hs, UN_ATTN_TO_Q, ch, inner, true);
    cascade_value_id key = linear(c, ctx, UN_ATTN_ADD_K, cross_dim, inner, true);
    cascade_value_id val = linear(c, ctx, UN_ATTN_ADD_V, cross_dim, inner, true);
    int64_t          nk = n;
    cascade_value_id bias = k->mask_bias; /* (B, 1, 1, N) */
    if (!only_cross) {
        /* keys/values: the text tokens first, then the (normed) pixels themselves */
        cascade_value_id sk = linear(c, hs, UN_ATTN_TO_K, ch, inner, true);
        cascade_value_id sv = linear(c, hs, UN_ATTN_TO_V, ch, inner, true);
        key = cascade_graph_concat(g, 2, (cascade_value_id[]){key, sk}, 1);
        val = cascade_graph_concat(g, 2, (cascade_value_id[]){val, sv}, 1);
        nk = n + hw;
        if (bias != CASCADE_NO_VALUE) {
            /* prepare_attention_mask pads the text mask with zeros for the pixel keys */
            size_t nz = (size_t)(b * hw);
            float *zeros = calloc(nz ? nz : 1, sizeof *zeros);
            if (!zeros) {
                cascade_error_set(&c->werr, CASCADE_STATUS_OUT_OF_MEMORY, "unet: out of memory");
                return CASCADE_NO_VALUE;
            }
            cascade_value_id z = cascade_graph_constant_copy(g, "mask_pad", CASCADE_DTYPE_F32, 4,
                                                             (int64_t[]){b, 1, 1, hw}, zeros);
            free(zeros);
            bias = cascade_graph_concat(g, 2, (cascade_value_id[]){bias, z}, 3);
        }
    }
    q = split_heads(g, q, b, hw, heads, dh);
    key = split_heads(g, key, b, nk, heads, dh);
    val = split_heads(g, val, b, nk, heads, dh);
    cascade_value_id a =
        cascade_graph_attention(g, q, key, val, bias, (float)(1.0 / sqrt((double)dh)));
    a = merge_heads(g, a, b, hw, inner);
    a = linear(c, a, UN_ATTN_TO_OUT, inner, ch, true);
    return cascade_graph_add(g, to_image(g, a, s), x);
}

/* ---- Transformer2DModel ---- */

/* Attention with AttnProcessor: q from xq (B, Nq, inner), k/v from xkv (B, Nk, kv_dim),
 * q/k/v bias when qkv_bias (Transformer2DModel's attention_bias=False: none), to_out with
 * bias. names: the to_q, to_k, to_v, to_out module names. */
static cascade_value_id attention_proj(unet_ctx *c, const char *module, const char *const *names,
                                       cascade_value_id xq, cascade_value_id xkv, int64_t inner,
                                       int64_t kv_dim, int64_t heads, int64_t dh, bool qkv_bias,
                                       cascade_value_id bias) {
    cascade_graph *g = c->g;
    int32_t        nd;
    int64_t        sq[CASCADE_MAX_DIMS], sk[CASCADE_MAX_DIMS];
    if (!cascade_graph_shape(g, xq, &nd, sq) || !cascade_graph_shape(g, xkv, &nd, sk))
        return CASCADE_NO_VALUE;
    char m[160];
    snprintf(m, sizeof m, "%s%s%s", module, module[0] ? "." : "", names[0]);
    cascade_value_id q = linear(c, xq, m, inner, heads * dh, qkv_bias);
    snprintf(m, sizeof m, "%s%s%s", module, module[0] ? "." : "", names[1]);
    cascade_value_id key = linear(c, xkv, m, kv_dim, heads * dh, qkv_bias);
    snprintf(m, sizeof m, "%s%s%s", module, module[0] ? "." : "", names[2]);
    cascade_value_id val = linear(c, xkv, m, kv_dim, heads * dh, qkv_bias);
    q = split_heads(g, q, sq[0], sq[1], heads, dh);
    key = split_heads(g, key, sk[0], sk[1], heads, dh);
    val = split_heads(g, val, sk[0], sk[1], heads, dh);
    cascade_value_id a =
        cascade_graph_attention(g, q, key, val, bias, (float)(1.0 / sqrt((double)dh)));
    a = merge_heads(g, a, sq[0], sq[1], heads * dh);
    snprintf(m, sizeof m, "%s%s%s", module, module[0] ? "." : "", names[3]);
    return linear(c, a, m, heads * dh, inner, true);
}

static const char *const attn_names[4] = {UN_ATTN_TO_Q, UN_ATTN_TO_K, UN_ATTN_TO_V,
                                          UN_ATTN_TO_OUT};
/* the names of attention blocks saved before diffusers 0.14 (AttentionBlock), which
 * from_pretrained converts on load (_convert_deprecated_attention_blocks) */
static const char *const attn_names_legacy[4] = {UN_ATTN_LEGACY_Q, UN_ATTN_LEGACY_K,
                                                 UN_ATTN_LEGACY_V, UN_ATTN_LEGACY_OUT};

static cascade_value_id plain_attention(unet_ctx *c, const char *module, cascade_value_id xq,
                                        cascade_value_id xkv, int64_t inner, int64_t kv_dim,
                                        int64_t heads, int64_t dh, cascade_value_id bias) {
    return attention_proj(c, module, attn_names, xq, xkv, inner, kv_dim, heads, dh, false, bias);
}

cascade_value_id unet_spatial_attention(unet_ctx *c, cascade_value_id x, int64_t ch,
                                        int64_t head_dim, int64_t groups, double eps) {
    cascade_graph *g = c->g;
    int64_t        s[4];
    if (!dims4(g, x, s)) return CASCADE_NO_VALUE;
    int64_t dh = head_dim > 0 ? head_dim : ch, heads = ch / dh;
    if (heads < 1 || heads * dh != ch) {
        cascade_error_set(&c->werr, CASCADE_STATUS_FORMAT,
                          "%s: attention head width %lld does not divide %lld channels", c->prefix,
                          (long long)dh, (long long)ch);
        return CASCADE_NO_VALUE;
    }
    const char *const *names = attn_names;
    if (c->w) {
        char key[320];
        snprintf(key, sizeof key, "%s.%s.weight", c->prefix, UN_ATTN_TO_Q);
        if (!cascade_weights_has(c->w, key)) {
            snprintf(key, sizeof key, "%s.%s.weight", c->prefix, UN_ATTN_LEGACY_Q);
            if (cascade_weights_has(c->w, key)) names = attn_names_legacy;
        }
    }
    cascade_value_id h = unet_group_norm(c, x, UN_ATTN_GROUP_NORM, ch, groups, eps, UNET_ACT_NONE);
    h = to_tokens(g, h, s); /* (B, HW, C) */
    h = attention_proj(c, "", names, h, h, ch, ch, heads, dh, true, CASCADE_NO_VALUE);
    return cascade_graph_add(g, to_image(g, h, s), x);
}

cascade_value_id unet_transformer(unet_ctx *c, const cascade_unet *u, const unet_cond *k,
                                  cascade_value_id x, int64_t ch, int64_t heads, int64_t n_layers,
                                  int64_t cross_dim, bool only_cross) {
    cascade_graph *g = c->g;
    int64_t        s[4];
    if (!dims4(g, x, s)) return CASCADE_NO_VALUE;
    int64_t          dh = ch / heads, inner = heads * dh, b = s[0], hw = s[2] * s[3];
    int64_t          img[4] = {b, inner, s[2], s[3]};
    cascade_value_id h = unet_group_norm(c, x, UN_TR_NORM, ch, u->norm_groups, 1e-6, UNET_ACT_NONE);
    if (!u->use_linear_projection) {
        h = unet_conv(c, h, UN_TR_PROJ_IN, ch, inner, 1, 1, 0);
        h = to_tokens(g, h, img);
    } else {
        h = to_tokens(g, h, s);
        h = linear(c, h, UN_TR_PROJ_IN, ch, inner, true);
    }
    for (int64_t l = 0; l < n_layers; l++) {
        char blk[64], m[128];
        snprintf(blk, sizeof blk, UN_TR_BLOCK, (int)l);
        /* attn1: self-attention, or cross-attention without mask when only_cross */
        snprintf(m, sizeof m, "%s.%s", blk, UN_TR_NORM1);
        cascade_value_id n1 = layer_norm(c, h, m, inner, 1e-5);
        snprintf(m, sizeof m, "%s.%s", blk, UN_TR_ATTN1);
        cascade_value_id a1 =
            only_cross ? plain_attention(c, m, n1, k->context, inner, cross_dim, heads, dh,
                                         CASCADE_NO_VALUE)
                       : plain_attention(c, m, n1, n1, inner, inner, heads, dh, CASCADE_NO_VALUE);
        h = cascade_graph_add(g, a1, h);
        /* attn2: cross-attention to the text, with the encoder mask */
        snprintf(m, sizeof m, "%s.%s", blk, UN_TR_NORM2);
        cascade_value_id n2 = layer_norm(c, h, m, inner, 1e-5);
        snprintf(m, sizeof m, "%s.%s", blk, UN_TR_ATTN2);
        h = cascade_graph_add(
            g, plain_attention(c, m, n2, k->context, inner, cross_dim, heads, dh, k->mask_bias), h);
        /* FeedForward: GEGLU(inner -> 4 inner) then Linear(4 inner -> inner) */
        snprintf(m, sizeof m, "%s.%s", blk, UN_TR_NORM3);
        cascade_value_id n3 = layer_norm(c, h, m, inner, 1e-5);
        int64_t          ff = inner * 4;
        snprintf(m, sizeof m, "%s.%s", blk, UN_TR_FF_IN);
        cascade_value_id p = linear(c, n3, m, inner, 2 * ff, true);
        cascade_value_id val = cascade_graph_slice(g, p, -1, 0, ff, 1);
        cascade_value_id gate = cascade_graph_slice(g, p, -1, ff, ff, 1);
        cascade_value_id f =
            cascade_graph_mul(g, val, cascade_graph_unary(g, CASCADE_UNARY_GELU, gate));
        snprintf(m, sizeof m, "%s.%s", blk, UN_TR_FF_OUT);
        h = cascade_graph_add(g, linear(c, f, m, ff, inner, true), h);
    }
    if (!u->use_linear_projection) {
        h = to_image(g, h, img);
        h = unet_conv(c, h, UN_TR_PROJ_OUT, inner, ch, 1, 1, 0);
    } else {
        h = linear(c, h, UN_TR_PROJ_OUT, inner, ch, true);
        h = to_image(g, h, s);
    }
    (void)hw;
    return cascade_graph_add(g, h, x);
}

/* ---- embeddings ---- */

cascade_value_id unet_timestep_embedding(unet_ctx *c, cascade_value_id x, int64_t in, int64_t out,
                                         unet_act act, unet_act post_act) {
    cascade_value_id h = linear(c, x, UN_TE_LINEAR_1, in, out, true);
    h = unet_activation(c->g, act, h);
    h = linear(c, h, UN_TE_LINEAR_2, out, out, true);
    return unet_activation(c->g, post_act, h);
}

cascade_value_id unet_text_time_embedding(unet_ctx *c, cascade_value_id x, int64_t dim, int64_t out,
                                          int64_t heads) {
    cascade_graph *g = c->g;
    int32_t        nd;
    int64_t        s[CASCADE_MAX_DIMS];
    if (!cascade_graph_shape(g, x, &nd, s) || nd != 3) return CASCADE_NO_VALUE;
    int64_t          b = s[0], n = s[1], dph = dim / heads;
    cascade_value_id h = layer_norm(c, x, UN_TT_NORM1, dim, 1e-5);
    /* AttentionPooling: a class token (mean + positional embedding) attends over itself and
     * the tokens; each side scaled by dph^-1/4, i.e. dph^-1/2 on the product */
    cascade_value_id pos = unet_weight(c, UN_TT_POOL_POS, 1, dim, 0, 0);
    cascade_value_id cls = cascade_graph_add(g, cascade_graph_mean(g, h, 1), pos); /* (B,1,D) */
    cascade_value_id seq = cascade_graph_concat(g, 2, (cascade_value_id[]){cls, h}, 1);
    cascade_value_id q = linear(c, cls, UN_TT_POOL_Q, dim, dim, true);
    cascade_value_id key = linear(c, seq, UN_TT_POOL_K, dim, dim, true);
    cascade_value_id val = linear(c, seq, UN_TT_POOL_V, dim, dim, true);
    q = split_heads(g, q, b, 1, heads, dph);
    key = split_heads(g, key, b, n + 1, heads, dph);
    val = split_heads(g, val, b, n + 1, heads, dph);
    cascade_value_id a =
        cascade_graph_attention(g, q, key, val, CASCADE_NO_VALUE, (float)(1.0 / sqrt((double)dph)));
    a = reshape(g, permute(g, a, 0, 2, 1, 3), 2, b, heads * dph, 0, 0); /* (B, D) */
    a = linear(c, a, UN_TT_PROJ, dim, out, true);
    return layer_norm(c, a, UN_TT_NORM2, out, 1e-5);
}
