/* AutoencoderKL's halves as graphs (diffusers v0.25.1, models/autoencoders/vae.py and
 * autoencoder_kl.py): Encoder (conv_in, DownEncoderBlock2D x n, UNetMidBlock2D, conv_norm_out
 * + SiLU, conv_out to 2 x latent_channels) then quant_conv; post_quant_conv then Decoder
 * (conv_in, UNetMidBlock2D, UpDecoderBlock2D x n, conv_norm_out + SiLU, conv_out). The
 * resnets, the mid-block attention and the samplers are the U-Net's builders
 * (unet-blocks.c); every resnet and norm here uses eps 1e-6 and no time embedding. */
#include <stdio.h>
#include <string.h>

#include "unet-names.h"
#include "vae-internal.h"

#define VAE_EPS 1e-6

static cascade_value_id resnet(unet_ctx *c, const vae_cfg *v, cascade_value_id x, int64_t cin,
                               int64_t cout) {
    unet_resnet_cfg r = {.groups = v->groups, .eps = VAE_EPS, .act = v->act, .out_scale = 1.0};
    return unet_resnet_block(c, &r, x, CASCADE_NO_VALUE, 0, cin, cout);
}

/* UNetMidBlock2D(temb_channels=None): resnet, [attention: one head of width ch], resnet,
 * at "<half>.mid_block". x: (B, ch, h, w) -> same. */
static cascade_value_id mid_block(unet_ctx *c, const vae_cfg *v, const char *half,
                                  cascade_value_id x, int64_t ch) {
    unet_enter(c, "%s." UN_MID_BLOCK "." UN_RESNETS, half, 0);
    x = resnet(c, v, x, ch, ch);
    if (v->mid_attention) {
        unet_enter(c, "%s." UN_MID_BLOCK "." UN_ATTENTIONS, half, 0);
        x = unet_spatial_attention(c, x, ch, ch, v->groups, VAE_EPS);
    }
    unet_enter(c, "%s." UN_MID_BLOCK "." UN_RESNETS, half, 1);
    return resnet(c, v, x, ch, ch);
}

/* conv_norm_out (GroupNorm eps 1e-6) + conv_act (nn.SiLU whatever act_fn says) + conv_out. */
static cascade_value_id head(unet_ctx *c, const vae_cfg *v, const char *half, cascade_value_id x,
                             int64_t ch, int64_t out) {
    unet_enter(c, "%s", half);
    x = unet_group_norm(c, x, UN_CONV_NORM_OUT, ch, v->groups, VAE_EPS, UNET_ACT_SILU);
    return unet_conv(c, x, UN_CONV_OUT, ch, out, 3, 1, 1);
}

/* Encoder + quant_conv. x: (B, in, H, W) -> moments (B, 2 lc, H/f, W/f) */
static cascade_value_id encoder(unet_ctx *c, const vae_cfg *v, cascade_value_id x) {
    int32_t n = v->n_blocks;
    int64_t lc2 = 2 * v->latent_channels, ch = v->block_out[0];
    unet_enter(c, "encoder");
    x = unet_conv(c, x, UN_CONV_IN, v->in_channels, ch, 3, 1, 1);
    for (int32_t i = 0; i < n; i++) { /* DownEncoderBlock2D */
        int64_t in = ch;
        ch = v->block_out[i];
        for (int64_t j = 0; j < v->layers; j++) {
            unet_enter(c, "encoder." UN_DOWN_BLOCK "." UN_RESNETS, i, (int)j);
            x = resnet(c, v, x, j == 0 ? in : ch, ch);
        }
        if (i < n - 1) { /* Downsample2D(padding=0): F.pad (0, 1, 0, 1), 3x3 stride 2 */
            unet_enter(c, "encoder." UN_DOWN_BLOCK "." UN_DOWNSAMPLER, i);
            x = unet_downsample_conv(c, x, ch, 0);
        }
    }
    x = mid_block(c, v, "encoder", x, ch);
    x = head(c, v, "encoder", x, ch, lc2);
    if (v->quant_conv) {
        unet_enter(c, "%s", "");
        x = unet_conv(c, x, "quant_conv", lc2, lc2, 1, 1, 0);
    }
    return x;
}

/* post_quant_conv + Decoder. z: (B, lc, h, w) -> sample (B, out, h*f, w*f) */
static cascade_value_id decoder(unet_ctx *c, const vae_cfg *v, cascade_value_id z) {
    int32_t n = v->n_blocks;
    int64_t lc = v->latent_channels, ch = v->block_out[n - 1];
    if (v->post_quant_conv) {
        unet_enter(c, "%s", "");
        z = unet_conv(c, z, "post_quant_conv", lc, lc, 1, 1, 0);
    }
    unet_enter(c, "decoder");
    cascade_value_id x = unet_conv(c, z, UN_CONV_IN, lc, ch, 3, 1, 1);
    x = mid_block(c, v, "decoder", x, ch);
    for (int32_t i = 0; i < n; i++) { /* UpDecoderBlock2D, widths reversed */
        int64_t in = ch;
        ch = v->block_out[n - 1 - i];
        for (int64_t j = 0; j < v->layers + 1; j++) {
            unet_enter(c, "decoder." UN_UP_BLOCK "." UN_RESNETS, i, (int)j);
            x = resnet(c, v, x, j == 0 ? in : ch, ch);
        }
        if (i < n - 1) { /* Upsample2D: nearest x2, 3x3 conv */
            unet_enter(c, "decoder." UN_UP_BLOCK "." UN_UPSAMPLER, i);
            x = unet_upsample_conv(c, x, ch);
        }
    }
    return head(c, v, "decoder", x, ch, v->out_channels);
}

cascade_status vae_build(const vae_cfg *v, cascade_weights *w, vae_dir dir, int64_t b, int64_t h,
                         int64_t wd, cascade_graph *g, cascade_error *err) {
    unet_ctx c;
    memset(&c, 0, sizeof c);
    c.g = g;
    c.w = w;
    cascade_error_init(&c.werr);
    int64_t cin = dir == VAE_ENCODE ? v->in_channels : v->latent_channels;
    cascade_graph_set_scope(g, "vae");
    cascade_value_id x =
        cascade_graph_input(g, VAE_INPUT, CASCADE_DTYPE_F32, 4, (int64_t[]){b, cin, h, wd});
    x = dir == VAE_ENCODE ? encoder(&c, v, x) : decoder(&c, v, x);
    cascade_graph_mark_output(g, x, VAE_OUTPUT);
    cascade_graph_set_scope(g, "%s", "");
    if (c.werr.status != CASCADE_STATUS_OK)
        return cascade_error_set(err, c.werr.status, "%s", c.werr.message);
    return cascade_graph_status(g, err);
}
