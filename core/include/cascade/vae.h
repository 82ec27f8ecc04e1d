/* The latent autoencoder of Stable Diffusion and of the x4 upscaler: diffusers'
 * AutoencoderKL (v0.25.1), loaded from its component folder (config.json +
 * diffusion_pytorch_model.safetensors), with graphs planned per shape on one backend and
 * kept for reuse.
 *
 * Memory: a call runs untiled when the plan fits the budget, else in overlapping tiles
 * blended linearly across the overlap (as diffusers' tiled_encode / tiled_decode do), with
 * the largest tile that fits; a call that cannot fit even with the smallest tiles is refused
 * with OUT_OF_MEMORY before anything runs. Not thread-safe: one call at a time. */
#ifndef CASCADE_VAE_H
#define CASCADE_VAE_H

#include <stddef.h>
#include <stdint.h>

#include "cascade/backend.h"
#include "cascade/cancel.h"
#include "cascade/status.h"
#include "cascade/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cascade_vae cascade_vae;

/* dir: an AutoencoderKL component folder (config.json + diffusion_pytorch_model.safetensors).
 * be borrowed, must outlive v. weight_dtype: F32, or F16 to keep device copies small.
 * Unknown config fields and unsupported values (block types, act_fn) are UNSUPPORTED naming
 * the field; missing or misshapen tensors are FORMAT naming the tensor. *out stays NULL on
 * failure. */
cascade_status cascade_vae_load(const char *dir, cascade_backend *be, cascade_dtype weight_dtype,
                                cascade_vae **out, cascade_error *err);
void           cascade_vae_free(cascade_vae *v); /* NULL-safe */
double         cascade_vae_scaling_factor(const cascade_vae *v);
int64_t        cascade_vae_latent_channels(const cascade_vae *v);
int64_t        cascade_vae_downscale(const cascade_vae *v); /* 2^(len(block_out_channels)-1) */

/* image (B, 3, H, W) in [-1, 1] -> latents (B, latent_channels, H/f, W/f): the posterior mean
 * when noise is NULL, else mean + std * noise (noise shaped like latents). NOT multiplied by
 * scaling_factor (the caller does). H and W must be multiples of f (INVALID_ARG). */
cascade_status cascade_vae_encode(cascade_vae *v, const float *image, const int64_t shape[4],
                                  const float *noise, float *latents, cascade_error *err);
/* The posterior itself (DiagonalGaussianDistribution): mean and logvar, each (B,
 * latent_channels, H/f, W/f), logvar clamped to [-30, 20] (std = exp(0.5 logvar)). Either
 * output may be NULL. */
cascade_status cascade_vae_encode_posterior(cascade_vae *v, const float *image,
                                            const int64_t shape[4], float *mean, float *logvar,
                                            cascade_error *err);
/* latents (B, latent_channels, h, w) (already divided by scaling_factor) -> image (B, 3, h*f,
 * w*f), not clamped. */
cascade_status cascade_vae_decode(cascade_vae *v, const float *latents, const int64_t shape[4],
                                  float *image, cascade_error *err);

/* Tiling and memory. */
typedef struct cascade_vae_options {
    size_t max_bytes;       /* budget for one call's plan (activations, inputs/outputs,
                               converted weights, op scratch) plus the tile buffers the VAE
                               holds; 0: the device budget the backend reports, else half
                               the machine's physical memory */
    int64_t tile_latent;    /* tile edge in latent px (the network's window, as diffusers'
                               tile_latent_min_size); 0: untiled when it fits, else the
                               largest tile that fits */
    int64_t overlap_latent; /* latent px shared by neighbouring tiles and blended across
                               (rounded down to even); 0: a quarter of the tile, as diffusers'
                               tile_overlap_factor */
    const cascade_cancel *cancel; /* checked between tiles and inside runs; may be NULL */
} cascade_vae_options;

void cascade_vae_options_init(cascade_vae_options *o);
/* o is copied; cancel stays borrowed. */
void cascade_vae_set_options(cascade_vae *v, const cascade_vae_options *o);

/* How the last encode or decode ran (for benchmarks and tests). */
typedef struct cascade_vae_run_info {
    int     tiled;          /* 0 untiled, 1 tiled */
    int64_t batch;          /* images per plan run (B, or 1 when the batch was split) */
    int64_t window_h, window_w; /* the plan's input size, latent px */
    int64_t overlap;        /* latent px blended between tiles (tiled only) */
    int32_t n_tiles;
    uint64_t planned_bytes; /* cascade_plan_estimate total of the plan, plus tile buffers */
} cascade_vae_run_info;
void cascade_vae_last_run(const cascade_vae *v, cascade_vae_run_info *out);

#ifdef __cplusplus
}
#endif

#endif
