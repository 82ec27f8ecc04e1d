/* Shared between vae-config.c (config.json), vae-graph.c (Encoder / Decoder as graphs),
 * vae.c (load, plans, untiled runs) and vae-run.c (budget, tiles, blending). */
#ifndef CASCADE_VAE_INTERNAL_H
#define CASCADE_VAE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cascade/config.h"
#include "cascade/graph.h"
#include "cascade/vae.h"
#include "cascade/weights.h"
#include "unet-internal.h"

/* AutoencoderKL's config, validated. */
typedef struct vae_cfg {
    int64_t  in_channels, out_channels, latent_channels;
    int32_t  n_blocks;
    int64_t  block_out[UNET_MAX_BLOCKS];
    int64_t  layers; /* layers_per_block (the decoder's up blocks have one more) */
    int64_t  groups; /* norm_num_groups */
    unet_act act;    /* act_fn (resnets; conv_act is always SiLU) */
    int64_t  sample_size;
    double   scaling_factor;
    bool     force_upcast;
    bool     quant_conv, post_quant_conv, mid_attention; /* later diffusers' switches */
} vae_cfg;

/* Reads and checks every field of cfg (borrowed). */
cascade_status vae_cfg_parse(cascade_config *cfg, vae_cfg *out, cascade_error *err);

typedef enum vae_dir { VAE_ENCODE = 0, VAE_DECODE = 1 } vae_dir;

#define VAE_INPUT  "input"  /* encode: image (B, in, H, W); decode: latents (B, lc, h, w) */
#define VAE_OUTPUT "output" /* encode: moments (B, 2 lc, h, w); decode: sample (B, out, H, W) */

/* Adds the encoder (through quant_conv) or decoder (from post_quant_conv) for input (b, c,
 * h, w) to g, h and w in the input's own pixels. w NULL: shape-only weight placeholders. */
cascade_status vae_build(const vae_cfg *c, cascade_weights *w, vae_dir dir, int64_t b, int64_t h,
                         int64_t wd, cascade_graph *g, cascade_error *err);

/* One planned graph and the shape it was made for. */
typedef struct vae_plan {
    cascade_graph   *g;
    cascade_plan    *p;
    int64_t          b, h, w; /* input shape (h, w in the input's pixels) */
    uint64_t         bytes;   /* its estimate */
    cascade_value_id in, out;
} vae_plan;

struct cascade_vae {
    vae_cfg              cfg;
    cascade_weights     *w;
    cascade_backend     *be;
    cascade_vae_options  opt;
    vae_plan             plans[2]; /* by vae_dir */
    cascade_vae_run_info last;
    uint64_t             budget; /* the current call's budget (0: none) */
    char                 dir[256]; /* for messages */
};

/* The cached plan for dir at (b, h, w), made (and the other freed when both would not fit
 * the budget) when the shape differs. */
cascade_status vae_plan_get(cascade_vae *v, vae_dir dir, int64_t b, int64_t h, int64_t w,
                            vae_plan **out, cascade_error *err);
/* The estimate of a plan for dir at (b, h, w), without making it. */
cascade_status vae_plan_bytes(cascade_vae *v, vae_dir dir, int64_t b, int64_t h, int64_t w,
                              cascade_plan_estimate *out, cascade_error *err);
/* Runs p on in (its whole input) into out (its whole output). */
cascade_status vae_plan_run(cascade_vae *v, vae_plan *p, const float *in, float *out,
                            cascade_error *err);

/* One call through the budget: untiled or tiled, by batch or per image. src: the input
 * (b, c_in, h, w) in the input's pixels; dst: (b, c_out, h*s or h/s, ...). */
cascade_status vae_run(cascade_vae *v, vae_dir dir, const float *src, const int64_t shape[4],
                       float *dst, cascade_error *err);

#endif
