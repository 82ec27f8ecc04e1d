/* The IF cascade, as diffusers 0.25.1's IFPipeline, IFSuperResolutionPipeline and
 * IFInpaintingPipeline run it: the public API the GIMP plug-in and the CLI share.
 *
 * Two levels:
 *   - cascade_pipeline: a loaded model set (T5 + tokenizer, stage I, optional stage II) with
 *     cascade_pipeline_generate() (prompt -> 64 px -> 256 px) and cascade_pipeline_inpaint();
 *   - cascade_diffusion_run(): one stage's denoising loop over a cascade_denoiser, the seam
 *     between the loop and the network (the U-Net adapter below, or a fake in tests).
 *
 * One stage's loop (cascade_diffusion_run), for a batch of B images:
 *   x = noise * init_noise_sigma                       (inpainting: the original, re-noised
 *                                                       inside the mask to the first timestep)
 *   stage II: up = bilinear(low_res, align_corners), up = add_noise(up, noise, noise_level)
 *   for each timestep t:
 *     in = [x | up]  (channels), doubled for classifier-free guidance: [uncond; cond]
 *     out = denoiser(scale_model_input(in), t, [uncond; cond] embeddings, noise_level labels)
 *     eps = eps_u + g (eps_c - eps_u) on the first C channels, ++ the conditional half's
 *           variance channels (IF's rule); the variance is dropped when the scheduler does not
 *           learn it
 *     x' = scheduler.step(eps, t, x)
 *     inpainting: x = (1 - mask) x + mask x'   else x = x'
 *     progress(step, total, x0 estimate); stop with CANCELLED when the cancel flag is raised
 * Noise is drawn in diffusers' order ("initial", "augmentation", then "step<i>" for each
 * step that draws), from the seeded generator of cascade/scheduler.h or a caller's source.
 *
 * Images are float (B, 3, H, W) in [-1, 1], host memory. Objects here are single-threaded:
 * run a pipeline on one worker thread; only the cancel flag may be touched from another. */
#ifndef CASCADE_PIPELINE_H
#define CASCADE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/backend.h"
#include "cascade/cancel.h"
#include "cascade/scheduler.h"
#include "cascade/generation-defaults.h"
#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the denoiser seam ---------------------------------------------------------------- */

typedef struct cascade_denoiser {
    int64_t in_channels;  /* C_in of sample (stage II: 2 x image channels) */
    int64_t out_channels; /* C_out (2 x image channels with a learned variance) */
    bool    class_labels; /* expects class_labels (stage II's noise level) */
    /* out = model(sample, timestep, context, class_labels).
     * sample: (shape[0], in_channels, shape[2], shape[3]), shape[1] == in_channels;
     * context: (shape[0], seq, dim) encoder hidden states; class_labels: shape[0] floats or
     * NULL; out: (shape[0], out_channels, H, W). cancel may be polled inside. */
    cascade_status (*forward)(void *self, const float *sample, const int64_t shape[4],
                              double timestep, const float *context, int64_t seq, int64_t dim,
                              const float *class_labels, const cascade_cancel *cancel, float *out,
                              cascade_error *err);
    void *self;
} cascade_denoiser;

/* A UNet2DConditionModel component directory (config.json + safetensors) as a denoiser,
 * run on a backend; a plan is kept for each of the two most recently used shapes (batch,
 * size, sequence), and made when a new shape comes. */
typedef struct cascade_unet_denoiser cascade_unet_denoiser;

/* be is borrowed and must outlive the denoiser. weight_dtype: F32 for the CPU backend. */
cascade_status cascade_unet_denoiser_new(const char *unet_dir, cascade_backend *be,
                                         cascade_dtype weight_dtype, cascade_unet_denoiser **out,
                                         cascade_error *err);
void           cascade_unet_denoiser_free(cascade_unet_denoiser *d); /* NULL-safe */
/* The seam (valid while d lives). */
const cascade_denoiser *cascade_unet_denoiser_get(const cascade_unet_denoiser *d);
/* The bytes a plan for batch x (h, w) samples and seq text tokens would take on the backend
 * (cascade_plan_estimate's total; 0 when a kept plan already has that shape). Builds
 * the graph only: nothing is allocated or uploaded. */
cascade_status cascade_unet_denoiser_estimate(cascade_unet_denoiser *d, int64_t batch, int64_t h,
                                              int64_t w, int64_t seq, uint64_t *bytes,
                                              cascade_error *err);
/* sample_size of the U-Net config (0 when unset). */
int64_t cascade_unet_denoiser_sample_size(const cascade_unet_denoiser *d);
/* The sample's H and W must be multiples of this (2^downsamplers). */
int64_t cascade_unet_denoiser_size_multiple(const cascade_unet_denoiser *d);

/* ---- noise and progress ---------------------------------------------------------------- */

/* Fills out with n standard normal values for the draw named what ("initial",
 * "augmentation", "step<i>"), called in draw order. */
typedef cascade_status (*cascade_noise_fn)(void *user_data, const char *what, float *out, size_t n,
                                           cascade_error *err);
/* After each step: stage (1, 2), step (1..total), the current x0 estimate (B, 3, H, W) in
 * about [-1, 1] with its shape. Called on the thread that runs the pipeline. */
typedef void (*cascade_progress_fn)(void *user_data, int stage, int step, int total,
                                    const float *x0, const int64_t shape[4]);

/* ---- one stage ------------------------------------------------------------------------- */

typedef enum cascade_loop_style {
    CASCADE_LOOP_IF = 0, /* DeepFloyd IF's pipelines */
    CASCADE_LOOP_SD,     /* Stable Diffusion's (latent) pipelines */
} cascade_loop_style;

typedef struct cascade_diffusion_args {
    const cascade_denoiser *denoiser;  /* borrowed */
    cascade_scheduler      *scheduler; /* borrowed; set_timesteps is called here */
    int64_t                 batch, channels, height, width; /* of the image x (B, C, H, W) */
    int64_t                 steps;                          /* num_inference_steps */
    double                  guidance_scale;                 /* > 1: classifier-free guidance */
    double                  eta;                            /* DDIM's eta */
    /* Text conditioning: cond (B, seq, dim); uncond the same, required when guidance > 1. */
    const float *cond, *uncond;
    int64_t      seq, dim;
    /* Stage II: low_res (B, C, low_h, low_w) in [-1, 1], noised to noise_level by
     * image_noising_scheduler (a DDPM), concatenated to x; noise_level is the class label.
     * NULL for stage I. */
    const float             *low_res;
    int64_t                  low_h, low_w;
    const cascade_scheduler *image_noising_scheduler;
    int64_t                  noise_level;
    /* Image-to-image: image (B, C, H, W) is noised to the first kept timestep instead of
     * starting from pure noise; strength in (0, 1] skips the first (1 - strength) of the
     * timesteps (IF's get_timesteps). Inpainting adds mask (mask_batch, 1, H, W) with
     * mask_batch 1 (0 means 1) or B, binarised at 0.5 (1 = repaint): outside it the image
     * is kept at every step. */
    const float *image, *mask;
    int64_t      mask_batch;
    double       strength;
    /* Extra conditioning channels, fixed for the run, concatenated to the model input after
     * x (and stage II's up): (B, extra_channels, H, W). Stable Diffusion inpainting U-Nets
     * take the mask and the masked image's latents, the x4 upscaler the noised low-res
     * image (its noise level is the class label: noise_level). NULL: none. */
    const float *extra;
    int64_t      extra_channels;
    /* The conventions of the pipeline family (diffusers differs between them):
     * CASCADE_LOOP_IF: scale_model_input on the whole model input; with an image, the start
     *   is always the image re-noised to the first kept timestep; a mask keeps the previous
     *   step's x outside it.
     * CASCADE_LOOP_SD: scale_model_input on x only (extra channels unscaled); with strength
     *   1 the start is pure noise * init_noise_sigma even when an image is given; a mask
     *   (latent-sized) keeps the image re-noised to the next timestep with the start noise
     *   outside it, and is not used when extra channels carry it to the model. */
    cascade_loop_style style;
    /* Noise: noise_fn when set, else a generator seeded with seed. */
    cascade_noise_fn      noise_fn;
    void                 *noise_user;
    uint64_t              seed;
    int                   stage; /* reported to progress */
    cascade_progress_fn   progress;
    void                 *user_data;
    const cascade_cancel *cancel; /* checked before every step */
    /* Debug taps, for locating a mismatch (NULL: none): at step (0-based) the values the
     * reference's debug tensors hold: "unet_input" (after scale_model_input), "unet_output",
     * "guided_model_output" (what step() receives), "prev_sample" (before the blend). */
    void (*tap)(void *tap_user, size_t step, const char *name, const float *data,
                const int64_t shape[4]);
    void *tap_user;
} cascade_diffusion_args;

/* Zeroes a and sets guidance 1, strength 1, stage 1. */
void cascade_diffusion_args_init(cascade_diffusion_args *a);

/* Runs the loop; out: (B, C, H, W), written only on success. CANCELLED when the flag was
 * raised; any other failure names its cause. */
cascade_status cascade_diffusion_run(const cascade_diffusion_args *a, float *out,
                                     cascade_error *err);

/* ---- helpers the loop uses, exposed for the plug-in and tests -------------------------- */

/* F.interpolate(x, (out_h, out_w), mode="bilinear", align_corners=True), float32.
 * x: (n_planes, in_h, in_w); out: (n_planes, out_h, out_w). */
void cascade_resize_bilinear_ac(const float *x, int64_t n_planes, int64_t in_h, int64_t in_w,
                                int64_t out_h, int64_t out_w, float *out);
/* IF's classifier-free guidance on a [uncond; cond] model output (2B, c_out, H, W):
 * out (B, c_out, H, W) = eps_u + g (eps_c - eps_u) on the first c_img channels, then the
 * conditional half's remaining channels. */
void cascade_guidance_combine(const float *model_out, int64_t batch, int64_t c_out, int64_t c_img,
                              int64_t hw, double guidance, float *out);

/* Pixel conversions as the IF pipelines do them. rgb: interleaved rows (h, w, 3) 8-bit;
 * img: planar (3, h, w) floats. To pixels: round(clamp(x / 2 + 0.5, 0, 1) * 255) (output_type
 * "pil"); from pixels: p / 127.5 - 1. A mask from 8-bit grey: p / 255 (the loop binarises it
 * at 0.5). */
void cascade_image_to_rgb8(const float *img, int64_t h, int64_t w, uint8_t *rgb);
void cascade_image_from_rgb8(const uint8_t *rgb, int64_t h, int64_t w, int32_t channels,
                             float *img); /* channels 3 or 4 (alpha ignored) */
void cascade_mask_from_grey8(const uint8_t *grey, int64_t h, int64_t w, float *mask);

/* ---- the model set ---------------------------------------------------------------------- */

typedef struct cascade_pipeline cascade_pipeline;

typedef struct cascade_pipeline_options {
    const char *model_dir;         /* stage I in the diffusers layout: text_encoder/,
                                      tokenizer/, unet/, scheduler/ (IF-I-*) */
    const char *sr_model_dir;      /* stage II: unet/, scheduler/, image_noising_scheduler/
                                      (IF-II-*); NULL: no stage II */
    cascade_backend *backend;      /* borrowed; must outlive the pipeline */
    cascade_dtype    weight_dtype; /* F32 (default) */
} cascade_pipeline_options;

void           cascade_pipeline_options_init(cascade_pipeline_options *o);
cascade_status cascade_pipeline_load(const cascade_pipeline_options *o, cascade_pipeline **out,
                                     cascade_error *err);
void           cascade_pipeline_free(cascade_pipeline *p); /* NULL-safe */
bool           cascade_pipeline_has_stage2(const cascade_pipeline *p);
/* The size of the images the pipeline makes: stage II's when stage2 is asked for and
 * loaded, else stage I's. Also the size cascade_pipeline_inpaint works at. */
void cascade_pipeline_image_size(const cascade_pipeline *p, bool stage2, int64_t *height,
                                 int64_t *width);
/* generate's height and width must be multiples of this: stage II's factor (when run) times
 * stage I's U-Net downsampling. */
int64_t cascade_pipeline_size_multiple(const cascade_pipeline *p, bool stage2);
/* The generate size for aspect "W:H" (cascade/aspect.h): the model's pixel count in that
 * shape, on its size multiple; INVALID_ARG naming a bad aspect. */
cascade_status cascade_pipeline_aspect_size(const cascade_pipeline *p, bool stage2,
                                            const char *aspect, int64_t *height, int64_t *width,
                                            cascade_error *err);
/* How many tokens prompt takes as the pipeline tokenizes it (</s> included). A prompt longer
 * than cascade_generate_params.max_length is cut to it, as IF's pipelines do; front ends
 * say so, since the end of a long prompt then has no effect. */
cascade_status cascade_pipeline_prompt_tokens(const cascade_pipeline *p, const char *prompt,
                                              int64_t *n_tokens, cascade_error *err);

typedef struct cascade_generate_params {
    const char *prompt;          /* required */
    const char *negative_prompt; /* NULL: "" */
    uint64_t    seed;
    int64_t     batch;                /* images per call (default 1) */
    /* true: item b draws from its own generator seeded with seed + b, so any item of a
     * batch is reproduced by a batch of one with that seed (what front ends print); false
     * (the default, as diffusers with one generator): one generator for the whole batch */
    bool seed_per_item;
    int64_t     steps1, steps2;       /* defaults 100 and 50 (IF's) */
    double      guidance1, guidance2; /* defaults 7.0 and 4.0 */
    bool        stage2;               /* run stage II when loaded (default true) */
    int64_t     noise_level;          /* stage II augmentation (default 250) */
    double      strength;             /* inpainting (default 1.0) */
    /* generate: stage II starts from stage I's image enlarged and re-noised to this strength
     * (IFImg2ImgSuperResolutionPipeline with that image), 1 from pure noise (IF's
     * super-resolution pipeline); 0 (the default): the stage II folder's
     * generation_defaults.json "strength", else 1 */
    double strength2;
    int64_t     max_length;           /* tokens (default 77) */
    /* generate: the image's size (that of the last stage run), 0 for the model's square;
     * the U-Nets are convolutional, so any multiple of cascade_pipeline_size_multiple()
     * works (stage I runs at this size divided by stage II's factor) */
    int64_t height, width;
    /* NULL: one generator seeded with seed for the whole call. Otherwise every draw of
     * stage I ("initial", "step<i>"), then of stage II ("initial", "augmentation",
     * "step<i>"), in that order. */
    cascade_noise_fn      noise_fn;
    void                 *noise_user;
    cascade_progress_fn   progress;
    void                 *user_data;
    const cascade_cancel *cancel;
    /* generate with stage II: stage I's result for these settings (batch, 3, H / f, W / f),
     * from an earlier stage-I-only call (a candidate the user picked). Stage I is not run:
     * its noise draws are taken in order without the U-Net, so the image equals a full run
     * with the same seed and settings. NULL: stage I runs. */
    const float *stage1_image;
} cascade_generate_params;

void cascade_generate_params_init(cascade_generate_params *p);

/* The size stage I runs at for a generate call with g's size and stage2 setting. */
void cascade_pipeline_stage1_size(const cascade_pipeline *p, const cascade_generate_params *g,
                                  int64_t *height, int64_t *width);

/* prompt -> stage I (sample_size of its U-Net) -> stage II when enabled. *image is malloc'd
 * (free()), (batch, 3, H, W) in [-1, 1], shape in shape. */
cascade_status cascade_pipeline_generate(cascade_pipeline *p, const cascade_generate_params *g,
                                         float **image, int64_t shape[4], cascade_error *err);

/* Repaints mask (1, 1, H, W) of image (1, 3, H, W) in [-1, 1] for g->batch variations.
 * Without stage II, H, W are stage I's size. With it, H, W are stage II's: stage I runs on
 * an area-downscaled copy, stage II inpaints the full-size image (IF's super-resolution
 * inpainting). Unmasked pixels come back unchanged. */
cascade_status cascade_pipeline_inpaint(cascade_pipeline *p, const cascade_generate_params *g,
                                        const float *image, const float *mask, int64_t height,
                                        int64_t width, float **out, int64_t shape[4],
                                        cascade_error *err);

/* What a loaded pipeline has done so far: a session shows reuse by these. */
typedef struct cascade_pipeline_counters {
    uint64_t text_encodes;   /* T5 runs (a repeated prompt pair is not encoded again) */
    uint64_t stage_steps[2]; /* denoising steps run by stage I and stage II's U-Nets */
} cascade_pipeline_counters;
void cascade_pipeline_get_counters(const cascade_pipeline *p, cascade_pipeline_counters *out);

/* The settings a stage (1 or 2) of the loaded cascade is best run with: its folder's
 * generation_defaults.json over the engine's defaults (cascade_generation_defaults_resolve),
 * for front ends whose user asked for "the model's" steps or guidance. */
void cascade_pipeline_recommended(const cascade_pipeline *p, int stage,
                                  cascade_generation_defaults *d);

#ifdef __cplusplus
}
#endif

#endif
