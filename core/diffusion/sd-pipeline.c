/* A Stable Diffusion folder (cascade/sd-pipeline.h): components through model_index.json,
 * prompts through CLIP, each task through cascade_sd_run, the x4 upscaler over tiles. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "cascade/aspect.h"
#include "cascade/clip-text.h"
#include "cascade/clip-tokenizer.h"
#include "cascade/config.h"
#include "cascade/sd-pipeline.h"
#include "cascade/tiler.h"
#include "pipeline-internal.h"
#include "sd-internal.h"

static const char *const sd_classes[] = {
    "StableDiffusionPipeline",
    "StableDiffusionImg2ImgPipeline",
    "StableDiffusionInpaintPipeline",
    "StableDiffusionUpscalePipeline",
    NULL,
};

static bool is_sd_class(const char *name) {
    for (size_t i = 0; name && sd_classes[i]; i++)
        if (!strcmp(name, sd_classes[i])) return true;
    return false;
}

bool cascade_sd_pipeline_is_dir(const char *dir) {
    cascade_model_dir *md = NULL;
    if (cascade_model_dir_open(dir, &md, NULL)) return false;
    bool ok = is_sd_class(cascade_model_dir_pipeline_class(md));
    cascade_model_dir_free(md);
    return ok;
}

/* model_index.json's max_noise_level (the upscaler's; 350 in the published model). */
static cascade_status read_max_noise_level(const char *dir, int64_t *out, cascade_error *err) {
    char           *path = g_build_filename(dir, "model_index.json", NULL);
    cascade_config *cfg = NULL;
    cascade_status  st = cascade_config_load(path, &cfg, err);
    g_free(path);
    if (!st) st = cascade_config_int(cfg, "max_noise_level", 350, out, err);
    cascade_config_free(cfg);
    return st;
}

cascade_status cascade_sd_pipeline_load(const char *dir, cascade_backend *be,
                                        cascade_dtype weight_dtype, cascade_sd_pipeline **out,
                                        cascade_error *err) {
    static const char *const unets[] = {"UNet2DConditionModel", NULL};
    static const char *const vaes[] = {"AutoencoderKL", NULL};
    static const char *const texts[] = {"CLIPTextModel", "CLIPTextModelWithProjection", NULL};
    static const char *const toks[] = {"CLIPTokenizer", "CLIPTokenizerFast", NULL};
    *out = NULL;
    if (!be) return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "SD pipeline: no backend");
    cascade_model_dir *md = NULL;
    CASCADE_TRY(cascade_model_dir_open(dir, &md, err));
    cascade_sd_pipeline *p = calloc(1, sizeof *p);
    const char          *path = NULL, *cls = cascade_model_dir_pipeline_class(md);
    cascade_status       st = CASCADE_STATUS_OK;
    if (!p) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "SD pipeline");
        goto fail;
    }
    p->be = be;
    if (!is_sd_class(cls)) {
        st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                               "%s: pipeline class %s is not a Stable Diffusion pipeline", dir,
                               cls ? cls : "(none)");
        goto fail;
    }
    p->upscaler = !strcmp(cls, "StableDiffusionUpscalePipeline");
    if ((st = pipe_expect_class(md, "unet", unets, err)) || (st = pipe_expect_class(md, "vae", vaes, err)) ||
        (st = pipe_component(md, "unet", &path, err)) ||
        (st = cascade_unet_denoiser_new(path, be, weight_dtype, &p->unet, err)) ||
        (st = pipe_component(md, "vae", &path, err)) ||
        (st = cascade_vae_load(path, be, weight_dtype, &p->vae, err)) ||
        (st = pipe_load_scheduler(md, "scheduler", &p->sched, err)))
        goto fail;
    if (p->upscaler && ((st = pipe_load_scheduler(md, "low_res_scheduler", &p->low_res, err)) ||
                        (st = read_max_noise_level(dir, &p->max_noise_level, err))))
        goto fail;
    /* the text encoder is optional (prompt embeddings can be given instead) but comes with
     * its tokenizer */
    if (cascade_model_dir_find(md, "text_encoder")) {
        if ((st = pipe_expect_class(md, "text_encoder", texts, err)) ||
            (st = pipe_expect_class(md, "tokenizer", toks, err)) ||
            (st = pipe_component(md, "text_encoder", &path, err)) ||
            (st = cascade_clip_text_load(path, weight_dtype, &p->clip, err)) ||
            (st = pipe_component(md, "tokenizer", &path, err)) ||
            (st = cascade_clip_tokenizer_load(path, &p->tok, err)))
            goto fail;
    }
    p->latent_channels = cascade_vae_latent_channels(p->vae);
    p->factor = cascade_vae_downscale(p->vae);
    p->multiple = p->factor * cascade_unet_denoiser_size_multiple(p->unet);
    int64_t in = cascade_unet_denoiser_get(p->unet)->in_channels;
    if (in != p->latent_channels && in != 2 * p->latent_channels + 1 &&
        in != p->latent_channels + 3) {
        st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                               "%s: a U-Net with %lld input channels over %lld latent channels "
                               "is none of the Stable Diffusion pipelines",
                               dir, (long long)in, (long long)p->latent_channels);
        goto fail;
    }
    cascade_model_dir_free(md);
    *out = p;
    return CASCADE_STATUS_OK;
fail:
    cascade_sd_pipeline_free(p);
    cascade_model_dir_free(md);
    return st;
}

void cascade_sd_pipeline_free(cascade_sd_pipeline *p) {
    if (!p) return;
    cascade_clip_tokenizer_free(p->tok);
    cascade_clip_text_free(p->clip);
    cascade_unet_denoiser_free(p->unet);
    cascade_vae_free(p->vae);
    cascade_scheduler_free(p->sched);
    cascade_scheduler_free(p->low_res);
    free(p);
}

bool cascade_sd_pipeline_can(const cascade_sd_pipeline *p, cascade_sd_task task) {
    int64_t in = cascade_unet_denoiser_get(p->unet)->in_channels, lc = p->latent_channels;
    switch (task) {
    case CASCADE_SD_TASK_TEXT2IMG:
    case CASCADE_SD_TASK_IMG2IMG: return in == lc;
    case CASCADE_SD_TASK_INPAINT: return in == lc || in == 2 * lc + 1;
    case CASCADE_SD_TASK_UPSCALE: return p->upscaler && in == lc + 3;
    }
    return false;
}

void cascade_sd_pipeline_default_size(const cascade_sd_pipeline *p, int64_t *height,
                                      int64_t *width) {
    int64_t s = cascade_unet_denoiser_sample_size(p->unet);
    *height = *width = (s > 0 ? s : 64) * p->factor;
}

int64_t cascade_sd_pipeline_size_multiple(const cascade_sd_pipeline *p) { return p->multiple; }

void cascade_sd_params_init(cascade_sd_params *g) {
    memset(g, 0, sizeof *g);
    g->batch = 1;
    g->guidance = -1;
    g->strength = -1;
    g->noise_level = -1;
}

/* The prompt and negative prompt as (B, N, D) embeddings, each row the same text. */
static cascade_status encode_text(cascade_sd_pipeline *p, const cascade_sd_params *g, bool cfg,
                                  float **cond, float **uncond, int64_t *seq, int64_t *dim,
                                  cascade_error *err) {
    const int64_t B = g->batch;
    *cond = *uncond = NULL;
    if (g->prompt_embeds) { /* the caller's embeddings, copied so both paths own theirs */
        size_t n;
        if (!pipe_numel(B, g->embeds_seq, g->embeds_dim, 1, &n) || (cfg && !g->negative_embeds))
            return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                     "SD: prompt embeddings need a shape (and negative ones "
                                     "for guidance)");
        *cond = malloc(n * sizeof **cond);
        *uncond = cfg ? malloc(n * sizeof **uncond) : NULL;
        if (!*cond || (cfg && !*uncond))
            return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "SD: embeddings");
        memcpy(*cond, g->prompt_embeds, n * sizeof **cond);
        if (cfg) memcpy(*uncond, g->negative_embeds, n * sizeof **uncond);
        *seq = g->embeds_seq;
        *dim = g->embeds_dim;
        return CASCADE_STATUS_OK;
    }
    if (!p->clip || !p->tok)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "SD: this folder has no text encoder: give prompt embeddings");
    if (!g->prompt)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "SD: no prompt");
    const int32_t L = cascade_clip_tokenizer_model_max_length(p->tok);
    const int64_t D = cascade_clip_text_get_config(p->clip)->hidden_size;
    int32_t      *ids = malloc(2 * (size_t)L * sizeof *ids), *mask = malloc(2 * (size_t)L * sizeof *mask);
    float        *two = malloc(2 * (size_t)(L * D) * sizeof *two);
    size_t        per = (size_t)(L * D);
    const char   *texts[2] = {g->negative_prompt ? g->negative_prompt : "", g->prompt};
    cascade_status st = CASCADE_STATUS_OK;
    *cond = malloc((size_t)B * per * sizeof **cond);
    *uncond = cfg ? malloc((size_t)B * per * sizeof **uncond) : NULL;
    if (!ids || !mask || !two || !*cond || (cfg && !*uncond)) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "SD: text embeddings");
        goto done;
    }
    if ((st = cascade_clip_tokenizer_encode_batch(p->tok, texts, 2, L, ids, mask, err)) ||
        (st = cascade_clip_text_encode(p->clip, p->be, ids, 2, L, g->clip_skip, two, err)))
        goto done;
    for (int64_t b = 0; b < B; b++) {
        memcpy(*cond + (size_t)b * per, two + per, per * sizeof *two);
        if (cfg) memcpy(*uncond + (size_t)b * per, two, per * sizeof *two);
    }
    *seq = L;
    *dim = D;
done:
    free(ids);
    free(mask);
    free(two);
    return st;
}

cascade_status sd_prepare(cascade_sd_pipeline *p, const cascade_sd_params *g,
                              cascade_sd_task task, cascade_sd_args *a, float **cond,
                              float **uncond, cascade_error *err) {
    if (!cascade_sd_pipeline_can(p, task))
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "SD: this model cannot %s",
                                 task == CASCADE_SD_TASK_UPSCALE ? "upscale (not an x4 upscaler)"
                                 : task == CASCADE_SD_TASK_INPAINT ? "inpaint"
                                                                   : "start from text or an image");
    if (g->batch < 1 || g->batch > 64)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "SD: batch %lld not in 1..64",
                                 (long long)g->batch);
    cascade_sd_args_init(a);
    a->task = task;
    a->denoiser = cascade_unet_denoiser_get(p->unet);
    a->scheduler = p->sched;
    a->vae = p->vae;
    a->batch = g->batch;
    a->steps = g->steps > 0 ? g->steps : p->upscaler ? 75 : 50;
    a->guidance_scale = g->guidance >= 0 ? g->guidance : p->upscaler ? 9.0 : 7.5;
    a->eta = g->eta;
    a->strength = g->strength >= 0 ? g->strength : task == CASCADE_SD_TASK_IMG2IMG ? 0.8 : 1.0;
    a->noise_level = g->noise_level >= 0 ? g->noise_level : 20;
    if (p->upscaler && a->noise_level > p->max_noise_level)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "SD upscale: noise_level %lld is above the model's "
                                 "max_noise_level %lld",
                                 (long long)a->noise_level, (long long)p->max_noise_level);
    a->low_res_scheduler = p->low_res;
    a->noise_fn = g->noise_fn;
    a->noise_user = g->noise_user;
    a->seed = g->seed;
    a->seed_per_item = g->seed_per_item;
    a->progress = g->progress;
    a->user_data = g->user_data;
    a->cancel = g->cancel;
    CASCADE_TRY(encode_text(p, g, a->guidance_scale > 1.0, cond, uncond, &a->seq, &a->dim, err));
    a->cond = *cond;
    a->uncond = *uncond;
    return CASCADE_STATUS_OK;
}

cascade_status sd_check_size(const cascade_sd_pipeline *p, int64_t h, int64_t w,
                                 cascade_error *err) {
    if (h < p->multiple || w < p->multiple || h % p->multiple || w % p->multiple ||
        h > 16384 || w > 16384)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "SD: %lldx%lld must be positive multiples of %lld (at most "
                                 "16384)",
                                 (long long)w, (long long)h, (long long)p->multiple);
    return CASCADE_STATUS_OK;
}

/* The U-Net plan and the denoising loop's buffers against what the backend can still hold,
 * before the first step (the VAE tiles itself within the budget). */
static cascade_status sd_check_memory(cascade_sd_pipeline *p, const cascade_sd_args *a, int64_t h,
                                      int64_t w, cascade_error *err) {
    const int64_t mult = a->guidance_scale > 1.0 ? 2 : 1, lh = h / p->factor, lw = w / p->factor;
    uint64_t      plan = 0;
    CASCADE_TRY(cascade_unet_denoiser_estimate(p->unet, a->batch * mult, lh, lw, a->seq, &plan, err));
    const cascade_denoiser *d = a->denoiser;
    const uint64_t          B = (uint64_t)a->batch, hw = (uint64_t)(lh * lw);
    uint64_t loop = sizeof(float) * B * hw *
                    (7 * (uint64_t)p->latent_channels +
                     (uint64_t)mult * (uint64_t)(d->in_channels + d->out_channels) +
                     (uint64_t)d->out_channels);
    loop += sizeof(float) * B * 3 * (uint64_t)(h * w); /* the decoded images */
    char what[96];
    snprintf(what, sizeof what, "the U-Net (batch %lld, %lldx%lld)", (long long)a->batch,
             (long long)w, (long long)h);
    return cascade_backend_check_fits(p->be, plan + loop, what, err);
}

/* One run of a task at size (h, w) into a malloc'd image. */
static cascade_status run_task(cascade_sd_pipeline *p, const cascade_sd_params *g,
                               cascade_sd_task task, const float *image, const float *mask,
                               int64_t h, int64_t w, float **out, int64_t shape[4],
                               cascade_error *err) {
    *out = NULL;
    CASCADE_TRY(sd_check_size(p, h, w, err));
    cascade_sd_args a;
    float          *cond = NULL, *uncond = NULL, *img = NULL;
    size_t          n;
    cascade_status  st = sd_prepare(p, g, task, &a, &cond, &uncond, err);
    if (!st) st = sd_check_memory(p, &a, h, w, err);
    if (!st && !pipe_numel(g->batch, 3, h, w, &n))
        st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "SD: size overflows");
    if (!st && !(img = malloc(n * sizeof *img)))
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "SD: %lldx%lld image",
                               (long long)w, (long long)h);
    if (!st) {
        a.height = h;
        a.width = w;
        a.image = image;
        a.image_batch = 1;
        a.mask = mask;
        a.mask_batch = 1;
        st = cascade_sd_run(&a, NULL, img, err);
    }
    free(cond);
    free(uncond);
    if (st) {
        free(img);
        return st;
    }
    shape[0] = g->batch, shape[1] = 3, shape[2] = h, shape[3] = w;
    *out = img;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_sd_pipeline_generate(cascade_sd_pipeline *p, const cascade_sd_params *g,
                                            float **image, int64_t shape[4], cascade_error *err) {
    int64_t h, w;
    cascade_sd_pipeline_default_size(p, &h, &w);
    if (g->height > 0) h = g->height;
    if (g->width > 0) w = g->width;
    return run_task(p, g, CASCADE_SD_TASK_TEXT2IMG, NULL, NULL, h, w, image, shape, err);
}

cascade_status cascade_sd_pipeline_img2img(cascade_sd_pipeline *p, const cascade_sd_params *g,
                                           const float *image, int64_t height, int64_t width,
                                           float **out, int64_t shape[4], cascade_error *err) {
    if (!image) return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "SD: no image");
    return run_task(p, g, CASCADE_SD_TASK_IMG2IMG, image, NULL, height, width, out, shape, err);
}

cascade_status cascade_sd_pipeline_inpaint(cascade_sd_pipeline *p, const cascade_sd_params *g,
                                           const float *image, const float *mask,
                                           int64_t height, int64_t width, float **out,
                                           int64_t shape[4], cascade_error *err) {
    if (!image || !mask)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "SD: no image or mask");
    return run_task(p, g, CASCADE_SD_TASK_INPAINT, image, mask, height, width, out, shape, err);
}


cascade_status cascade_sd_pipeline_prompt_tokens(const cascade_sd_pipeline *p, const char *prompt,
                                                 int64_t *n_tokens, int64_t *max_tokens,
                                                 cascade_error *err) {
    *n_tokens = *max_tokens = 0;
    if (!p->tok) return CASCADE_STATUS_OK;
    int32_t       *ids = NULL;
    size_t         n = 0;
    cascade_status st = cascade_clip_tokenizer_encode(p->tok, prompt ? prompt : "", &ids, &n, err);
    free(ids);
    if (st) return st;
    *n_tokens = (int64_t)n;
    *max_tokens = cascade_clip_tokenizer_model_max_length(p->tok);
    return CASCADE_STATUS_OK;
}

cascade_status cascade_sd_pipeline_aspect_size(const cascade_sd_pipeline *p, const char *aspect,
                                               int64_t *height, int64_t *width,
                                               cascade_error *err) {
    double  ratio;
    int64_t bh, bw;
    CASCADE_TRY(cascade_aspect_parse(aspect, &ratio, err));
    cascade_sd_pipeline_default_size(p, &bh, &bw);
    cascade_aspect_size(bh, bw, cascade_sd_pipeline_size_multiple(p), ratio, height, width);
    return CASCADE_STATUS_OK;
}
