/* config.json -> vae_cfg, with AutoencoderKL.__init__'s (diffusers v0.25.1) defaults. Every
 * field is read or listed as ignorable; a block type or activation the engine does not
 * implement is UNSUPPORTED naming the field and the value, inconsistent sizes are FORMAT. */
#include <stdio.h>
#include <string.h>

#include "vae-internal.h"

#define CFG_TRY(expr)                                                                              \
    do {                                                                                           \
        if ((expr) != CASCADE_STATUS_OK) return err->status;                                       \
    } while (0)

/* UNSUPPORTED naming the field and the (string) value, quoted. */
static cascade_status unsupported(cascade_config *cfg, cascade_error *err, const char *field,
                                  const char *value) {
    char v[160];
    snprintf(v, sizeof v, "\"%s\"", value);
    return unet_cfg_unsupported(cfg, err, field, v);
}

/* down_block_types / up_block_types: every entry must be `want`; returns the count. */
static cascade_status block_types(cascade_config *cfg, cascade_error *err, const char *field,
                                  const char *want, size_t *n) {
    const char *types[UNET_MAX_BLOCKS];
    *n = 0;
    if (!cascade_config_has(cfg, field) || cascade_config_is_null(cfg, field)) {
        *n = 1; /* the default: one block of the plain kind */
        return CASCADE_STATUS_OK;
    }
    CFG_TRY(cascade_config_string_array(cfg, field, types, UNET_MAX_BLOCKS, n, err));
    if (*n == 0) return unet_cfg_inconsistent(cfg, err, field, "empty");
    for (size_t i = 0; i < *n; i++) {
        if (!types[i]) /* string lists may hold null (cascade_config_string_array) */
            return unet_cfg_unsupported(cfg, err, field, "null");
        if (strcmp(types[i], want)) /* e.g. AttnDownEncoderBlock2D */
            return unsupported(cfg, err, field, types[i]);
    }
    return CASCADE_STATUS_OK;
}

/* Fields later diffusers versions write whose only accepted value is null (they change what
 * pipelines do with the latents, not this model). */
static cascade_status null_only(cascade_config *cfg, cascade_error *err, const char *field) {
    if (!cascade_config_has(cfg, field) || cascade_config_is_null(cfg, field)) {
        const char *const one[] = {field, NULL};
        cascade_config_ignore(cfg, one);
        return CASCADE_STATUS_OK;
    }
    return unet_cfg_unsupported(cfg, err, field, "non-null");
}

cascade_status vae_cfg_parse(cascade_config *cfg, vae_cfg *c, cascade_error *err) {
    static const char *const ignored[] = {"_diffusers_version", "_name_or_path",
                                          "_use_default_values", NULL};
    memset(c, 0, sizeof *c);
    cascade_config_ignore(cfg, ignored);
    const char *cls = NULL;
    CFG_TRY(cascade_config_string(cfg, "_class_name", "AutoencoderKL", &cls, err));
    if (strcmp(cls, "AutoencoderKL")) return unsupported(cfg, err, "_class_name", cls);

    size_t nd = 0, nu = 0, nb = 0;
    CFG_TRY(block_types(cfg, err, "down_block_types", "DownEncoderBlock2D", &nd));
    CFG_TRY(block_types(cfg, err, "up_block_types", "UpDecoderBlock2D", &nu));
    CFG_TRY(cascade_config_int_array(cfg, "block_out_channels", false, c->block_out,
                                     UNET_MAX_BLOCKS, &nb, err));
    if (nb == 0) {
        c->block_out[0] = 64;
        nb = 1;
    }
    if (nd != nb || nu != nb)
        return unet_cfg_inconsistent(cfg, err, "block_out_channels",
                   "down_block_types, up_block_types and block_out_channels differ in length");
    c->n_blocks = (int32_t)nb;

    CFG_TRY(cascade_config_int(cfg, "in_channels", 3, &c->in_channels, err));
    CFG_TRY(cascade_config_int(cfg, "out_channels", 3, &c->out_channels, err));
    CFG_TRY(cascade_config_int(cfg, "latent_channels", 4, &c->latent_channels, err));
    CFG_TRY(cascade_config_int(cfg, "layers_per_block", 1, &c->layers, err));
    CFG_TRY(cascade_config_int(cfg, "norm_num_groups", 32, &c->groups, err));
    const char *act = NULL;
    CFG_TRY(cascade_config_string(cfg, "act_fn", "silu", &act, err));
    CFG_TRY(unet_parse_act(cfg, err, "act_fn", act, false, &c->act));
    int64_t ss[2] = {32, 32};
    size_t  ns = 0;
    CFG_TRY(cascade_config_int_array(cfg, "sample_size", true, ss, 2, &ns, err));
    c->sample_size = ns ? ss[0] : 32; /* diffusers tiles by sample_size[0] */
    CFG_TRY(cascade_config_float(cfg, "scaling_factor", 0.18215, &c->scaling_factor, err));
    CFG_TRY(cascade_config_bool(cfg, "force_upcast", true, &c->force_upcast, err));
    CFG_TRY(cascade_config_bool(cfg, "use_quant_conv", true, &c->quant_conv, err));
    CFG_TRY(cascade_config_bool(cfg, "use_post_quant_conv", true, &c->post_quant_conv, err));
    CFG_TRY(cascade_config_bool(cfg, "mid_block_add_attention", true, &c->mid_attention, err));
    CFG_TRY(null_only(cfg, err, "shift_factor"));
    CFG_TRY(null_only(cfg, err, "latents_mean"));
    CFG_TRY(null_only(cfg, err, "latents_std"));

    if (c->in_channels < 1 || c->out_channels < 1 || c->latent_channels < 1 ||
        c->in_channels > 4096 || c->out_channels > 4096 || c->latent_channels > 4096)
        return unet_cfg_inconsistent(cfg, err, "latent_channels", "channel counts must be in 1..4096");
    if (c->layers < 1 || c->layers > UNET_MAX_LAYERS)
        return unet_cfg_inconsistent(cfg, err, "layers_per_block", "outside 1..64");
    if (c->groups < 1) return unet_cfg_inconsistent(cfg, err, "norm_num_groups", "must be >= 1");
    for (int32_t i = 0; i < c->n_blocks; i++) {
        if (c->block_out[i] < 1 || c->block_out[i] > 65536)
            return unet_cfg_inconsistent(cfg, err, "block_out_channels", "entries must be in 1..65536");
        if (c->block_out[i] % c->groups)
            return unet_cfg_inconsistent(cfg, err, "norm_num_groups", "does not divide every block_out_channels");
    }
    if (!(c->scaling_factor > 0) || c->sample_size < 1)
        return unet_cfg_inconsistent(cfg, err, "scaling_factor", "scaling_factor and sample_size must be > 0");
    return cascade_config_check_all_used(cfg, err);
}
