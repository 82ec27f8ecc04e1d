/* Internal to the Stable Diffusion model set (sd-pipeline.c, sd-upscale.c). */
#ifndef CASCADE_SD_INTERNAL_H
#define CASCADE_SD_INTERNAL_H

#include "cascade/clip-text.h"
#include "cascade/clip-tokenizer.h"
#include "cascade/sd-pipeline.h"

struct cascade_sd_pipeline {
    cascade_backend        *be;
    cascade_clip_tokenizer *tok;  /* NULL when the folder has no text encoder */
    cascade_clip_text      *clip; /* NULL likewise */
    cascade_unet_denoiser  *unet;
    cascade_vae            *vae;
    cascade_scheduler      *sched, *low_res; /* low_res: the upscaler's */
    int64_t                 max_noise_level; /* the upscaler's (model_index.json), else 0 */
    int64_t                 latent_channels, factor, multiple;
    bool                    upscaler;
};

/* Fills a from p and g for task (everything but the size and the images), encoding the
 * prompts; *cond and *uncond are malloc'd and the caller's afterwards (also on failure). */
cascade_status sd_prepare(cascade_sd_pipeline *p, const cascade_sd_params *g,
                          cascade_sd_task task, cascade_sd_args *a, float **cond, float **uncond,
                          cascade_error *err);
/* INVALID_ARG unless h and w are positive multiples of the model's size multiple. */
cascade_status sd_check_size(const cascade_sd_pipeline *p, int64_t h, int64_t w,
                             cascade_error *err);

#endif
