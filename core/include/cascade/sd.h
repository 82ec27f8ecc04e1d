/* Stable Diffusion's latent pipelines, as diffusers 0.25.1 runs them:
 * StableDiffusionPipeline (text to image), StableDiffusionImg2ImgPipeline,
 * StableDiffusionInpaintPipeline (9-channel inpainting U-Nets, and 4-channel ones by blending)
 * and StableDiffusionUpscalePipeline (the x4 upscaler, DeepFloyd IF's stage III).
 *
 * Two levels, like cascade/pipeline.h:
 *   - cascade_sd_run(): one latent run over a denoiser, a scheduler and a VAE, given the
 *     prompt embeddings (the seam the golden tests drive);
 *   - cascade_sd_pipeline (cascade/sd-pipeline.h): a model folder with its CLIP text
 *     encoder, from prompts and 8-bit images.
 *
 * One run (images are float (B, 3, H, W) in [-1, 1], latents (B, 4, H/f, W/f)):
 *   img2img / inpainting: image latents = scaling_factor * vae.encode(image) sampled with the
 *     draw "image_latents"; latents = scheduler.add_noise(image latents, "initial", t0) over
 *     the last strength * steps timesteps (pure noise * init_noise_sigma at strength 1)
 *   text to image: latents = "initial" * init_noise_sigma
 *   9-channel inpainting: the U-Net also takes the mask resized (nearest) to the latents and
 *     scaling_factor * vae.encode(image * (mask < 0.5)) sampled with "masked_image_latents";
 *     4-channel models keep the image latents, re-noised to each step's level, outside it
 *   x4 upscaler: the low-res image (B, 3, H/f, W/f) noised to noise_level by the
 *     low_res_scheduler with the draw "augmentation" is concatenated to the latents and
 *     noise_level is the class label; the latents start from "initial" at the low-res size
 *   per timestep: eps = eps_u + g (eps_c - eps_u), latents = scheduler.step(eps, t, latents)
 *   image = vae.decode(latents / scaling_factor)
 * Single-threaded; only the cancel flag may be raised from another thread. */
#ifndef CASCADE_SD_H
#define CASCADE_SD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/pipeline.h"
#include "cascade/status.h"
#include "cascade/vae.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cascade_sd_task {
    CASCADE_SD_TASK_TEXT2IMG = 0,
    CASCADE_SD_TASK_IMG2IMG,
    CASCADE_SD_TASK_INPAINT,
    CASCADE_SD_TASK_UPSCALE,
} cascade_sd_task;

typedef struct cascade_sd_args {
    const cascade_denoiser *denoiser;  /* borrowed: the U-Net */
    cascade_scheduler      *scheduler; /* borrowed; set_timesteps is called here */
    cascade_vae            *vae;       /* borrowed */
    cascade_sd_task         task;
    int64_t                 batch, height, width; /* of the output image, pixels */
    int64_t                 steps;
    double                  guidance_scale; /* > 1: classifier-free guidance */
    double                  eta;            /* DDIM's eta */
    const float            *cond, *uncond;  /* (B, seq, dim); uncond needed when guidance > 1 */
    int64_t                 seq, dim;
    /* img2img and inpainting: image (image_batch, 3, H, W) with image_batch 1 (0 means 1) or
     * B; upscale: the low-res image (image_batch, 3, H/f, W/f). In [-1, 1]. */
    const float *image;
    int64_t      image_batch;
    double       strength; /* img2img / inpainting: (0, 1] */
    /* inpainting: (mask_batch, 1, H, W), >= 0.5 repaints; mask_batch 1 (0 means 1) or B */
    const float *mask;
    int64_t      mask_batch;
    /* upscale: the DDPM that noises the low-res image, and the level (class label) */
    const cascade_scheduler *low_res_scheduler;
    int64_t                  noise_level;
    cascade_noise_fn         noise_fn; /* NULL: a generator seeded with seed */
    void                    *noise_user;
    uint64_t                 seed;
    bool                     seed_per_item; /* item b from seed + b (cascade/scheduler.h) */
    cascade_progress_fn      progress; /* x0 is the latent estimate (B, 4, h, w) */
    void                    *user_data;
    const cascade_cancel    *cancel;
    void (*tap)(void *tap_user, size_t step, const char *name, const float *data,
                const int64_t shape[4]);
    void *tap_user;
} cascade_sd_args;

/* Zeroes a; guidance 7.5, strength 0.8 (img2img's default), 50 steps, batch 1. */
void cascade_sd_args_init(cascade_sd_args *a);

/* Runs one latent pipeline. latents (B, 4, H/f, W/f) and image (B, 3, H, W), each may be
 * NULL; written only on success. The image is the VAE's output, not clamped. */
cascade_status cascade_sd_run(const cascade_sd_args *a, float *latents, float *image,
                              cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
