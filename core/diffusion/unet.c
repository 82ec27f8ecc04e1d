/* UNet2DConditionModel.forward (diffusers v0.25.1, models/unet_2d_condition.py) as a graph:
 * time/class/text embeddings, conv_in, down_blocks[i], mid_block, up_blocks[i] with the skip
 * connections, conv_norm_out + conv_out. The blocks themselves are in unet-blocks.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unet-internal.h"
#include "unet-names.h"

void cascade_unet_build_options_init(cascade_unet_build_options *o, const cascade_unet *u) {
    memset(o, 0, sizeof *o);
    o->batch = 1;
    o->height = u && u->sample_size[0] > 0 ? u->sample_size[0] : 64;
    o->width = u && u->sample_size[1] > 0 ? u->sample_size[1] : 64;
    o->seq_len = 77;
}

static void hook(cascade_graph *g, const cascade_unet_build_options *o, cascade_value_id v,
                 const char *name) {
    if (!o->hooks || v == CASCADE_NO_VALUE) return;
    char full[96];
    snprintf(full, sizeof full, "hook/%s", name);
    cascade_graph_mark_output(g, v, full);
}

/* Timesteps (get_timestep_embedding): t (B) -> (B, dim). The frequency table is computed
 * here in fp32 exactly as torch does it: exp(-ln(10000) * i / (half - freq_shift)). */
static cascade_value_id time_proj(unet_ctx *c, const cascade_unet *u, cascade_value_id t, int64_t b,
                                  int64_t dim) {
    cascade_graph *g = c->g;
    int64_t        half = dim / 2;
    float         *freqs = malloc(sizeof *freqs * (size_t)(half > 0 ? half : 1));
    if (!freqs) {
        cascade_error_set(&c->werr, CASCADE_STATUS_OUT_OF_MEMORY, "unet: out of memory");
        return CASCADE_NO_VALUE;
    }
    float ln = (float)(-log(10000.0)), den = (float)((double)half - u->freq_shift);
    for (int64_t i = 0; i < half; i++)
        freqs[i] = expf((ln * (float)i) / den);
    cascade_value_id f = cascade_graph_constant_copy(g, "time_proj.freqs", CASCADE_DTYPE_F32, 2,
                                                     (int64_t[]){1, half}, freqs);
    free(freqs);
    cascade_value_id arg =
        cascade_graph_mul(g, cascade_graph_reshape(g, t, 2, (int64_t[]){b, 1}), f);
    cascade_value_id sn = cascade_graph_unary(g, CASCADE_UNARY_SIN, arg);
    cascade_value_id cs = cascade_graph_unary(g, CASCADE_UNARY_COS, arg);
    cascade_value_id parts[3] = {u->flip_sin_to_cos ? cs : sn, u->flip_sin_to_cos ? sn : cs,
                                 CASCADE_NO_VALUE};
    int32_t n = 2;
    if (dim % 2) { /* odd widths are padded with one zero column */
        float *z = calloc((size_t)b, sizeof *z);
        if (!z) {
            cascade_error_set(&c->werr, CASCADE_STATUS_OUT_OF_MEMORY, "unet: out of memory");
            return CASCADE_NO_VALUE;
        }
        parts[n++] = cascade_graph_constant_copy(g, "time_proj.pad", CASCADE_DTYPE_F32, 2,
                                                 (int64_t[]){b, 1}, z);
        free(z);
    }
    return cascade_graph_concat(g, n, parts, 1);
}

static bool resnet_style(unet_block k) {
    return k == UNET_BLOCK_RESNET_DOWNSAMPLE || k == UNET_BLOCK_SIMPLE_CROSS_DOWN ||
           k == UNET_BLOCK_RESNET_UPSAMPLE || k == UNET_BLOCK_SIMPLE_CROSS_UP;
}

/* 1 + UNET_MAX_BLOCKS x UNET_MAX_LAYERS resnets + downsamplers (config-checked bounds) */
#define MAX_SKIPS (1 + UNET_MAX_BLOCKS * (UNET_MAX_LAYERS + 1))

typedef struct skip_stack {
    cascade_value_id v[MAX_SKIPS];
    int32_t          n;
} skip_stack;

/* UNet2DConditionModel.down_blocks[i] (DownBlock2D, ResnetDownsampleBlock2D,
 * SimpleCrossAttnDownBlock2D, CrossAttnDownBlock2D). h: (B, block_out[0], H, W) from conv_in
 * -> (B, block_out[n-1], H / 2^(n-1), W / 2^(n-1)); every resnet/attention output and every
 * downsampler output is pushed on st for the up path. */
static cascade_value_id down_pass(unet_ctx *c, const cascade_unet *u, unet_cond *k,
                                  const cascade_unet_build_options *o, cascade_value_id h,
                                  skip_stack *st) {
    int64_t out_ch = u->block_out[0];
    for (int32_t i = 0; i < u->n_blocks; i++) {
        int64_t    in_ch = out_ch;
        unet_block kind = u->down[i];
        bool       rs = resnet_style(kind), final = i == u->n_blocks - 1;
        double     scale = rs ? u->resnet_out_scale : 1.0; /* get_down_block passes it only
                                                               to the Resnet/SimpleCrossAttn
                                                               blocks */
        bool skip_act = rs && u->skip_time_act;
        out_ch = u->block_out[i];
        for (int64_t j = 0; j < u->layers[i]; j++) {
            unet_enter(c, UN_DOWN_BLOCK "." UN_RESNETS, i, (int)j);
            h = unet_resnet(c, u, k, h, j == 0 ? in_ch : out_ch, out_ch, scale, skip_act, 0);
            unet_enter(c, UN_DOWN_BLOCK "." UN_ATTENTIONS, i, (int)j);
            if (kind == UNET_BLOCK_CROSS_DOWN)
                h = unet_transformer(c, u, k, h, out_ch, u->heads[i], u->transformer_layers[i],
                                     u->cross_dim[i], u->only_cross[i]);
            else if (kind == UNET_BLOCK_SIMPLE_CROSS_DOWN)
                h = unet_simple_attention(c, u, k, h, out_ch, u->head_dim[i], u->cross_dim[i],
                                          u->only_cross[i]);
            if (st->n >= MAX_SKIPS) return CASCADE_NO_VALUE;
            st->v[st->n++] = h;
        }
        if (!final) {
            unet_enter(c, UN_DOWN_BLOCK "." UN_DOWNSAMPLER, i);
            if (rs)
                h = unet_resnet(c, u, k, h, out_ch, out_ch, scale, skip_act, -1);
            else
                h = unet_downsample_conv(c, h, out_ch, (int32_t)u->downsample_padding);
            if (st->n >= MAX_SKIPS) return CASCADE_NO_VALUE;
            st->v[st->n++] = h;
        }
        char name[32];
        snprintf(name, sizeof name, "down_blocks.%d", i);
        hook(c->g, o, h, name);
    }
    return h;
}

/* UNet2DConditionModel.mid_block (UNetMidBlock2DCrossAttn, UNetMidBlock2DSimpleCrossAttn,
 * UNetMidBlock2D or none). h: (B, C, h, w) -> same shape. */
static cascade_value_id mid_pass(unet_ctx *c, const cascade_unet *u, unet_cond *k,
                                 cascade_value_id h) {
    int32_t last = u->n_blocks - 1;
    int64_t ch = u->block_out[last];
    if (u->mid == UNET_MID_NONE) return h;
    bool skip_act = u->mid == UNET_MID_SIMPLE_CROSS && u->skip_time_act;
    unet_enter(c, UN_MID_BLOCK "." UN_RESNETS, 0);
    h = unet_resnet(c, u, k, h, ch, ch, u->mid_scale, skip_act, 0);
    if (u->mid == UNET_MID_PLAIN) return h;
    unet_enter(c, UN_MID_BLOCK "." UN_ATTENTIONS, 0);
    if (u->mid == UNET_MID_CROSS)
        h = unet_transformer(c, u, k, h, ch, u->heads[last], u->transformer_layers[last],
                             u->cross_dim[last], false);
    else
        h = unet_simple_attention(c, u, k, h, ch, u->head_dim[last], u->cross_dim[last],
                                  u->mid_only_cross);
    unet_enter(c, UN_MID_BLOCK "." UN_RESNETS, 1);
    return unet_resnet(c, u, k, h, ch, ch, u->mid_scale, skip_act, 0);
}

/* UNet2DConditionModel.up_blocks[i] (UpBlock2D, ResnetUpsampleBlock2D,
 * SimpleCrossAttnUpBlock2D, CrossAttnUpBlock2D): each resnet takes cat(h, skip) on channels,
 * skips popped in reverse. h: (B, block_out[n-1], h, w) -> (B, block_out[0], H, W). */
static cascade_value_id up_pass(unet_ctx *c, const cascade_unet *u, unet_cond *k,
                                const cascade_unet_build_options *o, cascade_value_id h,
                                skip_stack *st) {
    int32_t n = u->n_blocks;
    int64_t out_ch = u->block_out[n - 1];
    for (int32_t i = 0; i < n; i++) {
        int32_t    r = n - 1 - i; /* the matching down level: per-level lists are reversed */
        int64_t    prev = out_ch, in_ch = u->block_out[r > 0 ? r - 1 : 0];
        unet_block kind = u->up[i];
        bool       rs = resnet_style(kind), final = i == n - 1;
        double     scale = rs ? u->resnet_out_scale : 1.0;
        bool       skip_act = rs && u->skip_time_act;
        int64_t    layers = u->layers[r] + 1;
        out_ch = u->block_out[r];
        for (int64_t j = 0; j < layers; j++) {
            if (st->n < 1) return CASCADE_NO_VALUE;
            cascade_value_id skip = st->v[--st->n];
            int64_t          skip_ch = j == layers - 1 ? in_ch : out_ch;
            int64_t          res_in = j == 0 ? prev : out_ch;
            h = cascade_graph_concat(c->g, 2, (cascade_value_id[]){h, skip}, 1);
            unet_enter(c, UN_UP_BLOCK "." UN_RESNETS, i, (int)j);
            h = unet_resnet(c, u, k, h, res_in + skip_ch, out_ch, scale, skip_act, 0);
            unet_enter(c, UN_UP_BLOCK "." UN_ATTENTIONS, i, (int)j);
            if (kind == UNET_BLOCK_CROSS_UP)
                h = unet_transformer(c, u, k, h, out_ch, u->heads[r], u->transformer_layers[r],
                                     u->cross_dim[r], u->only_cross[r]);
            else if (kind == UNET_BLOCK_SIMPLE_CROSS_UP)
                /* diffusers 0.25 passes attention_head_dim[i] (not reversed) to up blocks */
                h = unet_simple_attention(c, u, k, h, out_ch, u->head_dim[i], u->cross_dim[r],
                                          u->only_cross[r]);
        }
        if (!final) {
            unet_enter(c, UN_UP_BLOCK "." UN_UPSAMPLER, i);
            if (rs)
                h = unet_resnet(c, u, k, h, out_ch, out_ch, scale, skip_act, +1);
            else
                h = unet_upsample_conv(c, h, out_ch);
        }
        char name[32];
        snprintf(name, sizeof name, "up_blocks.%d", i);
        hook(c->g, o, h, name);
    }
    return h;
}

/* The class embedding of class_labels: (B, temb). */
static cascade_value_id class_embedding(unet_ctx *c, const cascade_unet *u, cascade_value_id lbl,
                                        int64_t b) {
    cascade_graph *g = c->g;
    int64_t        ted = u->time_embed_dim;
    unet_enter(c, UN_CLASS_EMBEDDING);
    switch (u->class_embed) {
    case UNET_CLASS_NONE: return CASCADE_NO_VALUE;
    case UNET_CLASS_EMBEDDING: {
        cascade_value_id tbl = unet_weight(c, "weight", u->num_class_embeds, ted, 0, 0);
        return cascade_graph_get_rows(g, tbl, cascade_graph_cast(g, lbl, CASCADE_DTYPE_I32));
    }
    case UNET_CLASS_TIMESTEP: {
        cascade_value_id tp = time_proj(c, u, lbl, b, u->block_out[0]);
        return unet_timestep_embedding(c, tp, u->block_out[0], ted, u->act, UNET_ACT_NONE);
    }
    case UNET_CLASS_IDENTITY: return lbl;
    case UNET_CLASS_PROJECTION:
        return unet_timestep_embedding(c, lbl, u->class_proj_in, ted, UNET_ACT_SILU, UNET_ACT_NONE);
    case UNET_CLASS_SIMPLE_PROJECTION: {
        cascade_value_id w = unet_weight(c, "weight", ted, u->class_proj_in, 0, 0);
        cascade_value_id bias = unet_weight(c, "bias", ted, 0, 0, 0);
        return cascade_graph_linear(g, lbl, w, bias);
    }
    }
    return CASCADE_NO_VALUE;
}

static cascade_status build(unet_ctx *c, const cascade_unet *u, const cascade_unet_build_options *o,
                            cascade_error *err) {
    cascade_graph *g = c->g;
    int64_t        b = o->batch, hgt = o->height, wid = o->width, n = o->seq_len;
    int64_t        mult = (int64_t)1 << (u->n_blocks - 1);
    if (b < 1 || hgt < 1 || wid < 1 || n < 1)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "unet: batch, height, width and seq_len must be >= 1");
    if (hgt % mult || wid % mult)
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "unet: sample size %lldx%lld is not a multiple of %lld (the "
                                 "engine does not forward upsample sizes)",
                                 (long long)hgt, (long long)wid, (long long)mult);
    cascade_unet_info info;
    cascade_unet_get_info(u, &info);

    /* inputs */
    cascade_graph_set_scope(g, "unet");
    cascade_value_id sample = cascade_graph_input(g, CASCADE_UNET_SAMPLE, CASCADE_DTYPE_F32, 4,
                                                  (int64_t[]){b, u->in_channels, hgt, wid});
    cascade_value_id tstep =
        cascade_graph_input(g, CASCADE_UNET_TIMESTEP, CASCADE_DTYPE_F32, 1, (int64_t[]){b});
    cascade_value_id ehs =
        cascade_graph_input(g, CASCADE_UNET_ENCODER_HIDDEN_STATES, CASCADE_DTYPE_F32, 3,
                            (int64_t[]){b, n, info.encoder_dim});
    cascade_value_id mask = CASCADE_NO_VALUE, labels = CASCADE_NO_VALUE;
    if (o->encoder_attention_mask)
        mask = cascade_graph_input(g, CASCADE_UNET_ENCODER_ATTENTION_MASK, CASCADE_DTYPE_F32, 2,
                                   (int64_t[]){b, n});
    if (info.needs_class_labels) {
        if (info.class_labels_dim)
            labels = cascade_graph_input(g, CASCADE_UNET_CLASS_LABELS, CASCADE_DTYPE_F32, 2,
                                         (int64_t[]){b, info.class_labels_dim});
        else
            labels = cascade_graph_input(g, CASCADE_UNET_CLASS_LABELS, CASCADE_DTYPE_F32, 1,
                                         (int64_t[]){b});
    }

    cascade_value_id x = sample;
    if (u->center_input_sample) x = cascade_graph_scale(g, x, 2.0f, -1.0f);

    /* time embedding (+ class, + text) */
    unet_enter(c, "time_proj");
    cascade_value_id tp = time_proj(c, u, tstep, b, u->block_out[0]);
    hook(g, o, tp, "time_proj");
    unet_enter(c, UN_TIME_EMBEDDING);
    cascade_value_id emb = unet_timestep_embedding(c, tp, u->block_out[0], u->time_embed_dim,
                                                   u->act, u->timestep_post_act);
    hook(g, o, emb, "time_embedding");
    int64_t temb_ch = u->time_embed_dim;
    if (u->class_embed != UNET_CLASS_NONE) {
        cascade_value_id ce = class_embedding(c, u, labels, b);
        hook(g, o, ce == labels ? CASCADE_NO_VALUE : ce, "class_embedding");
        if (u->class_concat) {
            emb = cascade_graph_concat(g, 2, (cascade_value_id[]){emb, ce}, 1);
            temb_ch *= 2;
        } else {
            emb = cascade_graph_add(g, emb, ce);
        }
    }
    if (u->add_text_embed) {
        unet_enter(c, UN_ADD_EMBEDDING);
        cascade_value_id aug =
            unet_text_time_embedding(c, ehs, info.encoder_dim, u->time_embed_dim, u->add_heads);
        hook(g, o, aug, "add_embedding");
        emb = cascade_graph_add(g, emb, aug);
    }
    emb = unet_activation(g, u->time_embed_act, emb);

    /* text states and mask */
    unet_cond k = {.temb = emb, .temb_ch = temb_ch, .context = ehs, .mask_bias = CASCADE_NO_VALUE};
    /* act(temb) for the resnets that apply it (all but skip_time_act Resnet/SimpleCrossAttn
     * blocks); left out of the graph when no resnet needs it */
    bool need_act = !u->skip_time_act || u->mid == UNET_MID_CROSS || u->mid == UNET_MID_PLAIN;
    for (int32_t i = 0; i < u->n_blocks; i++)
        need_act |= !resnet_style(u->down[i]) || !resnet_style(u->up[i]);
    k.temb_act = need_act ? unet_activation(g, u->act, emb) : CASCADE_NO_VALUE;
    if (u->encoder_hid_dim > 0) {
        unet_enter(c, UN_ENCODER_HID_PROJ);
        cascade_value_id w = unet_weight(c, "weight", u->cross_dim[0], u->encoder_hid_dim, 0, 0);
        cascade_value_id bias = unet_weight(c, "bias", u->cross_dim[0], 0, 0, 0);
        k.context = cascade_graph_linear(g, ehs, w, bias);
        hook(g, o, k.context, "encoder_hid_proj");
    }
    if (mask != CASCADE_NO_VALUE) /* (1 - mask) * -10000, as a (B, 1, 1, N) key bias */
        k.mask_bias = cascade_graph_reshape(g, cascade_graph_scale(g, mask, 10000.0f, -10000.0f), 4,
                                            (int64_t[]){b, 1, 1, n});

    /* conv_in, down, mid, up */
    unet_enter(c, UN_CONV_IN);
    {
        int64_t          kin = u->conv_in_kernel;
        cascade_value_id w = unet_weight(c, "weight", u->block_out[0], u->in_channels, kin, kin);
        cascade_value_id bias = unet_weight(c, "bias", u->block_out[0], 0, 0, 0);
        cascade_conv2d_params p;
        cascade_conv2d_params_init(&p);
        int32_t pad = (int32_t)((kin - 1) / 2);
        p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = pad;
        x = cascade_graph_conv2d(g, x, w, bias, &p);
    }
    hook(g, o, x, "conv_in");
    skip_stack *st = calloc(1, sizeof *st);
    if (!st) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "unet: out of memory");
    st->v[st->n++] = x;
    x = down_pass(c, u, &k, o, x, st);
    x = mid_pass(c, u, &k, x);
    if (u->mid != UNET_MID_NONE) hook(g, o, x, "mid_block");
    x = up_pass(c, u, &k, o, x, st);
    bool balanced = st->n == 0;
    free(st);
    if (!balanced && c->werr.status == CASCADE_STATUS_OK)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "unet: down and up blocks do not pair up (skip connections)");

    unet_enter(c, UN_CONV_NORM_OUT);
    {
        cascade_value_id w = unet_weight(c, "weight", u->block_out[0], 0, 0, 0);
        cascade_value_id bias = unet_weight(c, "bias", u->block_out[0], 0, 0, 0);
        x = cascade_graph_group_norm(g, x, w, bias, (int32_t)u->norm_groups, (float)u->norm_eps,
                                     u->act == UNET_ACT_SILU);
        if (u->act != UNET_ACT_SILU) x = unet_activation(g, u->act, x);
    }
    unet_enter(c, UN_CONV_OUT);
    {
        int64_t          ko = u->conv_out_kernel;
        cascade_value_id w = unet_weight(c, "weight", u->out_channels, u->block_out[0], ko, ko);
        cascade_value_id bias = unet_weight(c, "bias", u->out_channels, 0, 0, 0);
        cascade_conv2d_params p;
        cascade_conv2d_params_init(&p);
        int32_t pad = (int32_t)((ko - 1) / 2);
        p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = pad;
        x = cascade_graph_conv2d(g, x, w, bias, &p);
    }
    cascade_graph_mark_output(g, x, CASCADE_UNET_OUT_SAMPLE);
    cascade_graph_set_scope(g, "%s", "");
    if (c->werr.status != CASCADE_STATUS_OK)
        return cascade_error_set(err, c->werr.status, "%s", c->werr.message);
    return cascade_graph_status(g, err);
}

cascade_status cascade_unet_build(const cascade_unet *u, cascade_weights *w, cascade_graph *g,
                                  const cascade_unet_build_options *o, cascade_error *err) {
    if (!u || !g || !o)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "unet_build: NULL argument");
    unet_ctx c;
    memset(&c, 0, sizeof c);
    c.g = g;
    c.w = w;
    cascade_error_init(&c.werr);
    return build(&c, u, o, err);
}

cascade_status cascade_unet_count_params(const cascade_unet *u, int64_t *n_params,
                                         cascade_error *err) {
    *n_params = 0;
    cascade_graph *g = NULL;
    CASCADE_TRY(cascade_graph_new(&g, err));
    cascade_unet_build_options o;
    cascade_unet_build_options_init(&o, u);
    /* the smallest sample the levels allow: shapes only, nothing is computed */
    o.height = o.width = (int64_t)1 << (u->n_blocks - 1);
    o.seq_len = 1;
    unet_ctx c;
    memset(&c, 0, sizeof c);
    c.g = g;
    cascade_error_init(&c.werr);
    cascade_status st = build(&c, u, &o, err);
    if (st == CASCADE_STATUS_OK) *n_params = c.n_params;
    cascade_graph_free(g);
    return st;
}
