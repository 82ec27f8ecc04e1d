/* A Stable Diffusion model folder as users have them (diffusers layout): prompts and images
 * in, images out, for the CLI and the plug-in. The folder is recognised by model_index.json:
 * its _class_name is one of StableDiffusionPipeline, StableDiffusionImg2ImgPipeline,
 * StableDiffusionInpaintPipeline or StableDiffusionUpscalePipeline, and its components
 * (unet, vae, scheduler, text_encoder + tokenizer, low_res_scheduler for the upscaler) are
 * found through the index, never by file names. The tasks a folder can run follow from its
 * U-Net: 4 latent channels in (text to image, img2img, inpainting by blending), 9
 * (inpainting), 7 (the x4 upscaler).
 *
 * Prompts go through the folder's CLIPTokenizer (padded to its model_max_length) and
 * CLIPTextModel (last_hidden_state, or clip_skip layers earlier through the final norm),
 * the negative prompt ("" by default) likewise, as diffusers 0.25.1's encode_prompt does.
 * Images are float (1, 3, H, W) in [-1, 1]; results are malloc'd (B, 3, H, W), not clamped.
 * Single-threaded; the cancel flag may be raised from another thread. */
#ifndef CASCADE_SD_PIPELINE_H
#define CASCADE_SD_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "cascade/sd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dir holds a model_index.json whose _class_name is a Stable Diffusion pipeline. */
bool cascade_sd_pipeline_is_dir(const char *dir);

typedef struct cascade_sd_pipeline cascade_sd_pipeline;

/* be borrowed (must outlive p); weight_dtype F32, or F16 for Vulkan. An unknown pipeline
 * class or component class is UNSUPPORTED naming it. */
cascade_status cascade_sd_pipeline_load(const char *dir, cascade_backend *be,
                                        cascade_dtype weight_dtype, cascade_sd_pipeline **out,
                                        cascade_error *err);
void           cascade_sd_pipeline_free(cascade_sd_pipeline *p); /* NULL-safe */
bool           cascade_sd_pipeline_can(const cascade_sd_pipeline *p, cascade_sd_task task);
/* Text to image's default size: the U-Net's sample_size times the VAE's factor. */
void cascade_sd_pipeline_default_size(const cascade_sd_pipeline *p, int64_t *height,
                                      int64_t *width);
/* The factor sizes must be multiples of (the VAE's, times the U-Net's downsampling). */
int64_t cascade_sd_pipeline_size_multiple(const cascade_sd_pipeline *p);
/* As cascade_pipeline_aspect_size, for text to image with this folder. */
cascade_status cascade_sd_pipeline_aspect_size(const cascade_sd_pipeline *p, const char *aspect,
                                               int64_t *height, int64_t *width,
                                               cascade_error *err);
/* How many tokens prompt takes (bos and eos included) and how many the text encoder reads
 * (*max_tokens, the tokenizer's model_max_length); longer prompts are cut, as diffusers
 * does. Both 0 when the folder has no text encoder. */
cascade_status cascade_sd_pipeline_prompt_tokens(const cascade_sd_pipeline *p, const char *prompt,
                                                 int64_t *n_tokens, int64_t *max_tokens,
                                                 cascade_error *err);

typedef struct cascade_sd_params {
    const char *prompt;          /* required unless the folder has no text encoder */
    const char *negative_prompt; /* NULL: "" */
    uint64_t    seed;
    int64_t     batch;         /* default 1 */
    bool        seed_per_item; /* as cascade_generate_params.seed_per_item */
    int64_t     steps;         /* 0: 50 (75 for the upscaler), diffusers' defaults */
    double      guidance;      /* < 0: 7.5 (9 for the upscaler) */
    double      eta;           /* DDIM (default 0) */
    double      strength;      /* img2img / inpainting, (0, 1] (default 0.8 / 1.0 by task: set
                                  it to < 0 for the task's default) */
    int64_t     noise_level;   /* upscaler: < 0: 20; at most the folder's max_noise_level */
    int64_t     clip_skip;     /* 0: the last layer */
    int64_t     height, width; /* text to image: 0 for the model's size */
    int64_t     tile;          /* upscaler: low-res tile edge in pixels (0: 128) */
    const float *prompt_embeds, *negative_embeds; /* optional (B, seq, dim) instead of text */
    int64_t      embeds_seq, embeds_dim;
    cascade_noise_fn      noise_fn; /* NULL: generator seeded with seed */
    void                 *noise_user;
    cascade_progress_fn   progress; /* stage 1; the upscaler reports stage 3 per tile */
    void                 *user_data;
    const cascade_cancel *cancel;
} cascade_sd_params;

void cascade_sd_params_init(cascade_sd_params *p);

/* Text to image: *image (B, 3, H, W). */
cascade_status cascade_sd_pipeline_generate(cascade_sd_pipeline *p, const cascade_sd_params *g,
                                            float **image, int64_t shape[4], cascade_error *err);
/* Variations of image (1, 3, H, W), H and W multiples of size_multiple. */
cascade_status cascade_sd_pipeline_img2img(cascade_sd_pipeline *p, const cascade_sd_params *g,
                                           const float *image, int64_t height, int64_t width,
                                           float **out, int64_t shape[4], cascade_error *err);
/* Repaints mask (1, 1, H, W) (>= 0.5 repaints) of image (1, 3, H, W). */
cascade_status cascade_sd_pipeline_inpaint(cascade_sd_pipeline *p, const cascade_sd_params *g,
                                           const float *image, const float *mask,
                                           int64_t height, int64_t width, float **out,
                                           int64_t shape[4], cascade_error *err);
/* The x4 upscaler on image (1, 3, H, W) of any size: overlapping low-res tiles (edge
 * replicated up to the size multiple) blended linearly; *out (B, 3, 4 H, 4 W) (the VAE's
 * factor). */
cascade_status cascade_sd_pipeline_upscale(cascade_sd_pipeline *p, const cascade_sd_params *g,
                                           const float *image, int64_t height, int64_t width,
                                           float **out, int64_t shape[4], cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
