/* config.json -> struct cascade_unet, with UNet2DConditionModel.__init__'s (diffusers
 * v0.25.1) defaults, list expansion and consistency checks. Every field is read or listed as
 * ignorable; a value the engine does not implement is an UNSUPPORTED error naming the field
 * and the value. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade/config.h"
#include "unet-internal.h"

#define CFG_TRY(expr)                                                                              \
    do {                                                                                           \
        if ((expr) != CASCADE_STATUS_OK) return err->status;                                       \
    } while (0)

cascade_status unet_cfg_unsupported(cascade_config *cfg, cascade_error *err, const char *field,
                                   const char *value) {
    return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                             "%s: field '%s': value %s is not supported by this engine",
                             cascade_config_path(cfg), field, value);
}

cascade_status unet_cfg_inconsistent(cascade_config *cfg, cascade_error *err, const char *field,
                                    const char *what) {
    return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: field '%s': %s",
                             cascade_config_path(cfg), field, what);
}

cascade_status unet_parse_act(cascade_config *cfg, cascade_error *err, const char *field,
                              const char *name, bool null_ok, unet_act *out) {
    if (!name) {
        if (!null_ok) return unet_cfg_unsupported(cfg, err, field, "null");
        *out = UNET_ACT_NONE;
    } else if (!strcmp(name, "silu") || !strcmp(name, "swish")) {
        *out = UNET_ACT_SILU;
    } else if (!strcmp(name, "gelu")) {
        *out = UNET_ACT_GELU;
    } else if (!strcmp(name, "relu")) {
        *out = UNET_ACT_RELU;
    } else {
        char v[96];
        snprintf(v, sizeof v, "\"%s\"", name); /* e.g. "mish": needs a softplus op */
        return unet_cfg_unsupported(cfg, err, field, v);
    }
    return CASCADE_STATUS_OK;
}

static bool is_scalar(cascade_config *cfg, const char *field) {
    /* a probe that does not disturb the caller's error */
    cascade_error tmp;
    int64_t       v;
    cascade_error_init(&tmp);
    return cascade_config_int(cfg, field, 0, &v, &tmp) == CASCADE_STATUS_OK;
}

/* An int-or-list field expanded to n entries (a list must have exactly n). */
static cascade_status per_block_ints(cascade_config *cfg, cascade_error *err, const char *field,
                                     int64_t def, int32_t n, int64_t *out) {
    size_t got = 0;
    CFG_TRY(cascade_config_int_array(cfg, field, true, out, UNET_MAX_BLOCKS, &got, err));
    if (got == 0) {
        for (int32_t i = 0; i < n; i++)
            out[i] = def;
    } else if (got == 1 && is_scalar(cfg, field)) {
        for (int32_t i = 1; i < n; i++)
            out[i] = out[0]; /* one value for every block */
    } else if ((int32_t)got != n) {
        return unet_cfg_inconsistent(cfg, err, field, "must have one entry per down block");
    }
    return CASCADE_STATUS_OK;
}

static cascade_status parse_blocks(cascade_config *cfg, cascade_unet *u, cascade_error *err) {
    const char *down[UNET_MAX_BLOCKS], *up[UNET_MAX_BLOCKS];
    size_t      nd = 0, nu = 0, nb = 0;
    if (!cascade_config_has(cfg, "down_block_types") || !cascade_config_has(cfg, "up_block_types"))
        return unet_cfg_inconsistent(cfg, err, "down_block_types",
                            "down_block_types and up_block_types "
                            "are required");
    CFG_TRY(cascade_config_string_array(cfg, "down_block_types", down, UNET_MAX_BLOCKS, &nd, err));
    CFG_TRY(cascade_config_string_array(cfg, "up_block_types", up, UNET_MAX_BLOCKS, &nu, err));
    CFG_TRY(cascade_config_int_array(cfg, "block_out_channels", false, u->block_out,
                                     UNET_MAX_BLOCKS, &nb, err));
    if (nd == 0) return unet_cfg_inconsistent(cfg, err, "down_block_types", "empty");
    if (nd != nu) return unet_cfg_inconsistent(cfg, err, "up_block_types", "must match down_block_types");
    if (nb != nd) return unet_cfg_inconsistent(cfg, err, "block_out_channels", "one entry per block");
    u->n_blocks = (int32_t)nd;
    for (int32_t i = 0; i < u->n_blocks; i++) {
        if (u->block_out[i] < 1) return unet_cfg_inconsistent(cfg, err, "block_out_channels", "< 1");
        if (u->block_out[i] > UNET_MAX_DIM)
            return unet_cfg_inconsistent(cfg, err, "block_out_channels", "above 2^24");
        char field[40], v[96];
        /* string lists may hold null (cascade_config_string_array); no block type is null */
        if (!down[i] || !up[i]) {
            snprintf(field, sizeof field, "%s_block_types[%d]", down[i] ? "up" : "down", i);
            return unet_cfg_unsupported(cfg, err, field, "null");
        }
        /* get_down_block / get_up_block strip a "UNetRes" prefix */
        const char *d = strncmp(down[i], "UNetRes", 7) ? down[i] : down[i] + 7;
        const char *p = strncmp(up[i], "UNetRes", 7) ? up[i] : up[i] + 7;
        if (!strcmp(d, "DownBlock2D"))
            u->down[i] = UNET_BLOCK_DOWN;
        else if (!strcmp(d, "ResnetDownsampleBlock2D"))
            u->down[i] = UNET_BLOCK_RESNET_DOWNSAMPLE;
        else if (!strcmp(d, "SimpleCrossAttnDownBlock2D"))
            u->down[i] = UNET_BLOCK_SIMPLE_CROSS_DOWN;
        else if (!strcmp(d, "CrossAttnDownBlock2D"))
            u->down[i] = UNET_BLOCK_CROSS_DOWN;
        else {
            snprintf(field, sizeof field, "down_block_types[%d]", i);
            snprintf(v, sizeof v, "\"%s\"", down[i]);
            return unet_cfg_unsupported(cfg, err, field, v);
        }
        if (!strcmp(p, "UpBlock2D"))
            u->up[i] = UNET_BLOCK_UP;
        else if (!strcmp(p, "ResnetUpsampleBlock2D"))
            u->up[i] = UNET_BLOCK_RESNET_UPSAMPLE;
        else if (!strcmp(p, "SimpleCrossAttnUpBlock2D"))
            u->up[i] = UNET_BLOCK_SIMPLE_CROSS_UP;
        else if (!strcmp(p, "CrossAttnUpBlock2D"))
            u->up[i] = UNET_BLOCK_CROSS_UP;
        else {
            snprintf(field, sizeof field, "up_block_types[%d]", i);
            snprintf(v, sizeof v, "\"%s\"", up[i]);
            return unet_cfg_unsupported(cfg, err, field, v);
        }
    }
    return CASCADE_STATUS_OK;
}

static cascade_status parse_attention(cascade_config *cfg, cascade_unet *u, cascade_error *err) {
    int32_t n = u->n_blocks;
    /* num_attention_heads: diffusers 0.25 refuses it (naming issue #2011) */
    if (cascade_config_has(cfg, "num_attention_heads") &&
        !cascade_config_is_null(cfg, "num_attention_heads"))
        return unet_cfg_unsupported(cfg, err, "num_attention_heads", "(anything but null)");
    int64_t dummy;
    CFG_TRY(cascade_config_int(cfg, "num_attention_heads", 0, &dummy, err));
    /* attention_head_dim: int, list or null. Transformer2DModel blocks read it as the number
     * of heads (legacy naming); SimpleCrossAttn blocks as the head size. */
    if (cascade_config_has(cfg, "attention_head_dim") &&
        cascade_config_is_null(cfg, "attention_head_dim")) {
        size_t got;
        CFG_TRY(cascade_config_int_array(cfg, "attention_head_dim", true, u->head_dim,
                                         UNET_MAX_BLOCKS, &got, err));
        for (int32_t i = 0; i < n; i++)
            u->head_dim[i] = u->heads[i] = 0;
    } else {
        CFG_TRY(per_block_ints(cfg, err, "attention_head_dim", 8, n, u->head_dim));
        for (int32_t i = 0; i < n; i++) {
            if (u->head_dim[i] < 1) return unet_cfg_inconsistent(cfg, err, "attention_head_dim", "< 1");
            if (u->head_dim[i] > UNET_MAX_DIM)
                return unet_cfg_inconsistent(cfg, err, "attention_head_dim", "above 2^24");
            u->heads[i] = u->head_dim[i];
        }
    }
    CFG_TRY(per_block_ints(cfg, err, "cross_attention_dim", 1280, n, u->cross_dim));
    for (int32_t i = 0; i < n; i++)
        if (u->cross_dim[i] < 1 || u->cross_dim[i] > UNET_MAX_DIM)
            return unet_cfg_inconsistent(cfg, err, "cross_attention_dim", "not in [1, 2^24]");

    CFG_TRY(per_block_ints(cfg, err, "transformer_layers_per_block", 1, n, u->transformer_layers));
    for (int32_t i = 0; i < n; i++)
        if (u->transformer_layers[i] < 1 || u->transformer_layers[i] > UNET_MAX_LAYERS)
            return unet_cfg_inconsistent(cfg, err, "transformer_layers_per_block", "outside 1..64");
    if (cascade_config_has(cfg, "reverse_transformer_layers_per_block") &&
        !cascade_config_is_null(cfg, "reverse_transformer_layers_per_block"))
        return unet_cfg_unsupported(cfg, err, "reverse_transformer_layers_per_block", "(not null)");
    CFG_TRY(cascade_config_int(cfg, "reverse_transformer_layers_per_block", 0, &dummy, err));

    /* only_cross_attention: a bool also sets the mid block's default */
    bool          only_scalar = true, b = false;
    cascade_error tmp;
    cascade_error_init(&tmp);
    if (cascade_config_bool(cfg, "only_cross_attention", false, &b, &tmp) != CASCADE_STATUS_OK) {
        size_t got = 0;
        only_scalar = false;
        CFG_TRY(cascade_config_bool_array(cfg, "only_cross_attention", true, u->only_cross,
                                          UNET_MAX_BLOCKS, &got, err));
        if ((int32_t)got != n)
            return unet_cfg_inconsistent(cfg, err, "only_cross_attention", "one entry per down block");
    } else {
        for (int32_t i = 0; i < n; i++)
            u->only_cross[i] = b;
    }
    bool mid_only = false;
    if (cascade_config_has(cfg, "mid_block_only_cross_attention") &&
        !cascade_config_is_null(cfg, "mid_block_only_cross_attention")) {
        CFG_TRY(cascade_config_bool(cfg, "mid_block_only_cross_attention", false, &mid_only, err));
    } else {
        CFG_TRY(cascade_config_bool(cfg, "mid_block_only_cross_attention", false, &mid_only, err));
        mid_only = only_scalar ? b : false;
    }
    u->mid_only_cross = mid_only;

    const char *s;
    CFG_TRY(cascade_config_string(cfg, "cross_attention_norm", NULL, &s, err));
    if (!s)
        u->cross_norm = UNET_CROSS_NORM_NONE;
    else if (!strcmp(s, "layer_norm"))
        u->cross_norm = UNET_CROSS_NORM_LAYER;
    else if (!strcmp(s, "group_norm"))
        u->cross_norm = UNET_CROSS_NORM_GROUP;
    else {
        char v[96];
        snprintf(v, sizeof v, "\"%s\"", s);
        return unet_cfg_unsupported(cfg, err, "cross_attention_norm", v);
    }
    CFG_TRY(cascade_config_string(cfg, "attention_type", "default", &s, err));
    if (strcmp(s, "default")) {
        char v[96];
        snprintf(v, sizeof v, "\"%s\"", s);
        return unet_cfg_unsupported(cfg, err, "attention_type", v);
    }
    bool flag;
    CFG_TRY(cascade_config_bool(cfg, "dual_cross_attention", false, &flag, err));
    if (flag) return unet_cfg_unsupported(cfg, err, "dual_cross_attention", "true");
    CFG_TRY(
        cascade_config_bool(cfg, "use_linear_projection", false, &u->use_linear_projection, err));
    /* upcast_attention / upcast_softmax only change the precision of half-precision runs;
     * the engine accumulates attention in fp32 always */
    CFG_TRY(cascade_config_bool(cfg, "upcast_attention", false, &flag, err));
    return CASCADE_STATUS_OK;
}

static cascade_status parse_embeddings(cascade_config *cfg, cascade_unet *u, cascade_error *err) {
    const char *s;
    char        v[96];
    CFG_TRY(cascade_config_string(cfg, "time_embedding_type", "positional", &s, err));
    if (strcmp(s, "positional")) {
        snprintf(v, sizeof v, "\"%s\"", s);
        return unet_cfg_unsupported(cfg, err, "time_embedding_type", v);
    }
    CFG_TRY(cascade_config_bool(cfg, "flip_sin_to_cos", true, &u->flip_sin_to_cos, err));
    CFG_TRY(cascade_config_float(cfg, "freq_shift", 0.0, &u->freq_shift, err));
    int64_t ted;
    CFG_TRY(cascade_config_int(cfg, "time_embedding_dim", 0, &ted, err));
    if (ted < 0 || ted > UNET_MAX_DIM)
        return unet_cfg_inconsistent(cfg, err, "time_embedding_dim", "not in [0, 2^24]");
    u->time_embed_dim = ted ? ted : u->block_out[0] * 4;
    if ((u->block_out[0] / 2) - u->freq_shift == 0)
        return unet_cfg_inconsistent(cfg, err, "freq_shift", "equals half the timestep channels");
    int64_t cond;
    CFG_TRY(cascade_config_int(cfg, "time_cond_proj_dim", 0, &cond, err));
    if (cond) return unet_cfg_unsupported(cfg, err, "time_cond_proj_dim", "(not null)");
    CFG_TRY(cascade_config_string(cfg, "timestep_post_act", NULL, &s, err));
    CFG_TRY(unet_parse_act(cfg, err, "timestep_post_act", s, true, &u->timestep_post_act));
    CFG_TRY(cascade_config_string(cfg, "time_embedding_act_fn", NULL, &s, err));
    CFG_TRY(unet_parse_act(cfg, err, "time_embedding_act_fn", s, true, &u->time_embed_act));

    /* class embedding (_set_class_proj) */
    const char *ct;
    CFG_TRY(cascade_config_string(cfg, "class_embed_type", NULL, &ct, err));
    CFG_TRY(cascade_config_int(cfg, "num_class_embeds", 0, &u->num_class_embeds, err));
    CFG_TRY(cascade_config_int(cfg, "projection_class_embeddings_input_dim", 0, &u->class_proj_in,
                               err));
    CFG_TRY(cascade_config_bool(cfg, "class_embeddings_concat", false, &u->class_concat, err));
    if (!ct)
        u->class_embed = u->num_class_embeds > 0 ? UNET_CLASS_EMBEDDING : UNET_CLASS_NONE;
    else if (!strcmp(ct, "timestep"))
        u->class_embed = UNET_CLASS_TIMESTEP;
    else if (!strcmp(ct, "identity"))
        u->class_embed = UNET_CLASS_IDENTITY;
    else if (!strcmp(ct, "projection") || !strcmp(ct, "simple_projection")) {
        if (u->class_proj_in < 1)
            return unet_cfg_inconsistent(cfg, err, "projection_class_embeddings_input_dim",
                                "required by class_embed_type projection");
        u->class_embed = ct[0] == 'p' ? UNET_CLASS_PROJECTION : UNET_CLASS_SIMPLE_PROJECTION;
    } else {
        snprintf(v, sizeof v, "\"%s\"", ct);
        return unet_cfg_unsupported(cfg, err, "class_embed_type", v);
    }
    if (u->num_class_embeds < 0) return unet_cfg_inconsistent(cfg, err, "num_class_embeds", "< 0");

    /* encoder_hid_proj: "text_proj" is inferred when only encoder_hid_dim is given */
    CFG_TRY(cascade_config_int(cfg, "encoder_hid_dim", 0, &u->encoder_hid_dim, err));
    CFG_TRY(cascade_config_string(cfg, "encoder_hid_dim_type", NULL, &s, err));
    if (s && strcmp(s, "text_proj")) {
        snprintf(v, sizeof v, "\"%s\"", s);
        return unet_cfg_unsupported(cfg, err, "encoder_hid_dim_type", v);
    }
    if (s && u->encoder_hid_dim < 1)
        return unet_cfg_inconsistent(cfg, err, "encoder_hid_dim",
                            "required when encoder_hid_dim_type is set");
    if (u->encoder_hid_dim < 0) return unet_cfg_inconsistent(cfg, err, "encoder_hid_dim", "< 0");

    CFG_TRY(cascade_config_string(cfg, "addition_embed_type", NULL, &s, err));
    if (s && strcmp(s, "text")) {
        snprintf(v, sizeof v, "\"%s\"", s);
        return unet_cfg_unsupported(cfg, err, "addition_embed_type", v);
    }
    u->add_text_embed = s != NULL;
    CFG_TRY(cascade_config_int(cfg, "addition_embed_type_num_heads", 64, &u->add_heads, err));
    if (u->add_text_embed && u->add_heads < 1)
        return unet_cfg_inconsistent(cfg, err, "addition_embed_type_num_heads", "< 1");
    /* only read by addition_embed_type "text_time", which is refused above */
    int64_t atd;
    CFG_TRY(cascade_config_int(cfg, "addition_time_embed_dim", 0, &atd, err));
    return CASCADE_STATUS_OK;
}

/* Every attention layer gets at least one head of at least one channel: a head size or
 * head count larger than its block's width would build empty projections. */
static cascade_status check_heads(cascade_config *cfg, const cascade_unet *u, cascade_error *err) {
    int32_t n = u->n_blocks;
    for (int32_t i = 0; i < n; i++) {
        int64_t down_ch = u->block_out[i], up_ch = u->block_out[n - 1 - i];
        if ((u->down[i] == UNET_BLOCK_SIMPLE_CROSS_DOWN && u->head_dim[i] > down_ch) ||
            (u->up[i] == UNET_BLOCK_SIMPLE_CROSS_UP && u->head_dim[i] > up_ch))
            return unet_cfg_inconsistent(cfg, err, "attention_head_dim", "larger than a block's channels");
        if ((u->down[i] == UNET_BLOCK_CROSS_DOWN && u->heads[i] > down_ch) ||
            (u->up[i] == UNET_BLOCK_CROSS_UP && u->heads[n - 1 - i] > up_ch))
            return unet_cfg_inconsistent(cfg, err, "attention_head_dim",
                                "more heads than a block has channels");
    }
    int64_t last = u->block_out[n - 1];
    if ((u->mid == UNET_MID_SIMPLE_CROSS && u->head_dim[n - 1] > last) ||
        (u->mid == UNET_MID_CROSS && u->heads[n - 1] > last))
        return unet_cfg_inconsistent(cfg, err, "attention_head_dim", "does not fit the mid block");
    int64_t enc = u->encoder_hid_dim > 0 ? u->encoder_hid_dim : u->cross_dim[0];
    if (u->add_text_embed && u->add_heads > enc)
        return unet_cfg_inconsistent(cfg, err, "addition_embed_type_num_heads",
                            "more heads than the text embedding has channels");
    return CASCADE_STATUS_OK;
}

static cascade_status parse(cascade_config *cfg, cascade_unet *u, cascade_error *err) {
    static const char *const ignored[] = {
        "_class_name", "_diffusers_version", "_name_or_path", "_use_default_values",
        "dropout", /* inference: identity */
        NULL};
    cascade_config_ignore(cfg, ignored);
    CFG_TRY(parse_blocks(cfg, u, err));
    int32_t n = u->n_blocks;
    CFG_TRY(per_block_ints(cfg, err, "layers_per_block", 2, n, u->layers));
    for (int32_t i = 0; i < n; i++)
        if (u->layers[i] < 1 || u->layers[i] > UNET_MAX_LAYERS)
            return unet_cfg_inconsistent(cfg, err, "layers_per_block", "outside 1..64");
    CFG_TRY(parse_attention(cfg, u, err));

    CFG_TRY(cascade_config_int(cfg, "in_channels", 4, &u->in_channels, err));
    CFG_TRY(cascade_config_int(cfg, "out_channels", 4, &u->out_channels, err));
    if (u->in_channels < 1 || u->out_channels < 1)
        return unet_cfg_inconsistent(cfg, err, "in_channels", "channel counts must be >= 1");
    size_t ns = 0;
    CFG_TRY(cascade_config_int_array(cfg, "sample_size", true, u->sample_size, 2, &ns, err));
    if (ns == 1) u->sample_size[1] = u->sample_size[0];
    /* given but not a size: refused, not silently replaced by the default (issue 14) */
    if (ns > 0 && (u->sample_size[0] < 1 || u->sample_size[1] < 1 ||
                   u->sample_size[0] > 65536 || u->sample_size[1] > 65536))
        return unet_cfg_inconsistent(cfg, err, "sample_size", "must be in [1, 65536]");
    CFG_TRY(cascade_config_bool(cfg, "center_input_sample", false, &u->center_input_sample, err));

    const char *s;
    CFG_TRY(cascade_config_string(cfg, "act_fn", "silu", &s, err));
    CFG_TRY(unet_parse_act(cfg, err, "act_fn", s, false, &u->act));
    if (cascade_config_has(cfg, "norm_num_groups") &&
        cascade_config_is_null(cfg, "norm_num_groups"))
        return unet_cfg_unsupported(cfg, err, "norm_num_groups", "null");
    CFG_TRY(cascade_config_int(cfg, "norm_num_groups", 32, &u->norm_groups, err));
    if (u->norm_groups < 1) return unet_cfg_inconsistent(cfg, err, "norm_num_groups", "< 1");
    CFG_TRY(cascade_config_float(cfg, "norm_eps", 1e-5, &u->norm_eps, err));
    /* a negative eps makes a constant channel's variance negative: NaN images, no error */
    if (!(u->norm_eps >= 0) || !isfinite(u->norm_eps))
        return unet_cfg_inconsistent(cfg, err, "norm_eps", "must be a finite number >= 0");
    CFG_TRY(cascade_config_int(cfg, "downsample_padding", 1, &u->downsample_padding, err));
    if (u->downsample_padding < 0) return unet_cfg_inconsistent(cfg, err, "downsample_padding", "< 0");
    CFG_TRY(cascade_config_float(cfg, "mid_block_scale_factor", 1.0, &u->mid_scale, err));
    CFG_TRY(cascade_config_float(cfg, "resnet_out_scale_factor", 1.0, &u->resnet_out_scale, err));
    if (!(u->mid_scale != 0) || !(u->resnet_out_scale != 0) || !isfinite(u->mid_scale) ||
        !isfinite(u->resnet_out_scale))
        return unet_cfg_inconsistent(cfg, err, "resnet_out_scale_factor",
                            "scale factors must be finite "
                            "and non-zero");
    CFG_TRY(cascade_config_bool(cfg, "resnet_skip_time_act", false, &u->skip_time_act, err));
    CFG_TRY(cascade_config_string(cfg, "resnet_time_scale_shift", "default", &s, err));
    if (!strcmp(s, "default"))
        u->scale_shift = false;
    else if (!strcmp(s, "scale_shift"))
        u->scale_shift = true;
    else {
        char v[96];
        snprintf(v, sizeof v, "\"%s\"", s);
        return unet_cfg_unsupported(cfg, err, "resnet_time_scale_shift", v);
    }
    CFG_TRY(cascade_config_int(cfg, "conv_in_kernel", 3, &u->conv_in_kernel, err));
    CFG_TRY(cascade_config_int(cfg, "conv_out_kernel", 3, &u->conv_out_kernel, err));
    if (u->conv_in_kernel < 1 || u->conv_out_kernel < 1 || u->conv_in_kernel > 15 ||
        u->conv_out_kernel > 15)
        return unet_cfg_inconsistent(cfg, err, "conv_in_kernel", "kernel sizes must be 1..15");

    if (cascade_config_has(cfg, "mid_block_type") &&
        cascade_config_is_null(cfg, "mid_block_type")) {
        CFG_TRY(cascade_config_string(cfg, "mid_block_type", NULL, &s, err));
        u->mid = UNET_MID_NONE;
    } else {
        CFG_TRY(cascade_config_string(cfg, "mid_block_type", "UNetMidBlock2DCrossAttn", &s, err));
        if (!strcmp(s, "UNetMidBlock2DCrossAttn"))
            u->mid = UNET_MID_CROSS;
        else if (!strcmp(s, "UNetMidBlock2DSimpleCrossAttn"))
            u->mid = UNET_MID_SIMPLE_CROSS;
        else if (!strcmp(s, "UNetMidBlock2D"))
            u->mid = UNET_MID_PLAIN;
        else {
            char v[96];
            snprintf(v, sizeof v, "\"%s\"", s);
            return unet_cfg_unsupported(cfg, err, "mid_block_type", v);
        }
    }
    CFG_TRY(parse_embeddings(cfg, u, err));

    /* Transformer2DModel blocks need a head count (attention_head_dim not null) */
    bool any_transformer = u->mid == UNET_MID_CROSS;
    for (int32_t i = 0; i < n; i++)
        any_transformer |= u->down[i] == UNET_BLOCK_CROSS_DOWN || u->up[i] == UNET_BLOCK_CROSS_UP;
    if (any_transformer && u->heads[0] == 0)
        return unet_cfg_inconsistent(cfg, err, "attention_head_dim",
                            "null, but CrossAttn blocks need a head count");
    CFG_TRY(check_heads(cfg, u, err));
    /* encoder_hid_proj projects to the (scalar) cross_attention_dim */
    if (u->encoder_hid_dim > 0)
        for (int32_t i = 1; i < n; i++)
            if (u->cross_dim[i] != u->cross_dim[0])
                return unet_cfg_unsupported(cfg, err, "cross_attention_dim",
                                   "(a list together with encoder_hid_dim)");
    return cascade_config_check_all_used(cfg, err);
}

cascade_status cascade_unet_new(cascade_config *cfg, cascade_unet **out, cascade_error *err) {
    *out = NULL;
    if (!cfg) return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "unet: no config");
    cascade_unet *u = calloc(1, sizeof *u);
    if (!u) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "unet: out of memory");
    cascade_error local;
    cascade_error_init(&local);
    cascade_status st = parse(cfg, u, &local);
    if (st != CASCADE_STATUS_OK) {
        cascade_error_set(err, st, "%s", local.message);
        free(u);
        return st;
    }
    *out = u;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_unet_new_from_file(const char *path, cascade_unet **out,
                                          cascade_error *err) {
    *out = NULL;
    cascade_config *cfg = NULL;
    CASCADE_TRY(cascade_config_load(path, &cfg, err));
    cascade_status st = cascade_unet_new(cfg, out, err);
    cascade_config_free(cfg);
    return st;
}

void cascade_unet_free(cascade_unet *u) {
    free(u);
}

void cascade_unet_get_info(const cascade_unet *u, cascade_unet_info *info) {
    memset(info, 0, sizeof *info);
    info->in_channels = u->in_channels;
    info->out_channels = u->out_channels;
    info->sample_size[0] = u->sample_size[0];
    info->sample_size[1] = u->sample_size[1];
    info->cross_attention_dim = u->cross_dim[0];
    info->encoder_dim = u->encoder_hid_dim > 0 ? u->encoder_hid_dim : u->cross_dim[0];
    info->needs_class_labels = u->class_embed != UNET_CLASS_NONE;
    info->num_class_embeds = u->class_embed == UNET_CLASS_EMBEDDING ? u->num_class_embeds : 0;
    info->class_labels_dim = u->class_embed == UNET_CLASS_IDENTITY ? u->time_embed_dim
                             : (u->class_embed == UNET_CLASS_PROJECTION ||
                                u->class_embed == UNET_CLASS_SIMPLE_PROJECTION)
                                 ? u->class_proj_in
                                 : 0;
    info->size_multiple = 1 << (u->n_blocks - 1);
}
