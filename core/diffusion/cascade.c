/* The IF model set (diffusers 0.25.1's IFPipeline, IFSuperResolutionPipeline and
 * IFInpaintingPipeline chained): text encoding, stage I and stage II, each stage run by the
 * denoising loop of diffusion-loop.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "cascade/aspect.h"
#include "cascade/generation-defaults.h"
#include "cascade/model-dir.h"
#include "cascade/t5.h"
#include "cascade/tokenizer.h"
#include "pipeline-internal.h"

/* ---- the model set ---- */

struct cascade_pipeline {
    cascade_backend       *be;
    cascade_tokenizer     *tok;
    cascade_t5            *t5;
    cascade_unet_denoiser *unet1, *unet2;
    cascade_scheduler     *sched1, *sched2, *noising;
    int64_t                size1, size2;
    double                 strength2; /* stage II's start, from its generation_defaults.json */
    cascade_generation_defaults rec1, rec2; /* each stage's recommended settings */
    /* kept between calls: the encoder's plan, and the last prompt pair's embeddings (a
     * batch of candidates and the finishing run after it encode once) */
    cascade_t5_runner          *t5r;
    char                       *emb_texts[2];
    int64_t                     emb_len;
    float                      *emb_two; /* (2, emb_len, d_model) */
    cascade_pipeline_counters   counters;
};

void cascade_pipeline_options_init(cascade_pipeline_options *o) {
    memset(o, 0, sizeof *o);
    o->weight_dtype = CASCADE_DTYPE_F32;
}

void cascade_generate_params_init(cascade_generate_params *p) {
    memset(p, 0, sizeof *p);
    p->batch = 1;
    p->steps1 = 100; /* IFPipeline's and IFSuperResolutionPipeline's defaults */
    p->steps2 = 50;
    p->guidance1 = 7.0;
    p->guidance2 = 4.0;
    p->stage2 = true;
    p->noise_level = 250;
    p->strength = 1.0;
    p->max_length = CASCADE_TOKENIZER_DEFAULT_MAX_LENGTH;
}

static cascade_status load_stage(const cascade_model_dir *md, cascade_backend *be, cascade_dtype dt,
                                 cascade_unet_denoiser **unet, cascade_scheduler **sched,
                                 int64_t def_size, int64_t *size, cascade_error *err) {
    static const char *const unets[] = {"UNet2DConditionModel", NULL};
    const char              *dir = NULL;
    CASCADE_TRY(pipe_expect_class(md, "unet", unets, err));
    CASCADE_TRY(pipe_component(md, "unet", &dir, err));
    CASCADE_TRY(cascade_unet_denoiser_new(dir, be, dt, unet, err));
    CASCADE_TRY(pipe_load_scheduler(md, "scheduler", sched, err));
    *size = cascade_unet_denoiser_sample_size(*unet);
    if (*size <= 0) *size = def_size;
    return CASCADE_STATUS_OK;
}

static cascade_status pipeline_load_into(cascade_pipeline *p, const cascade_pipeline_options *o,
                                         cascade_error *err) {
    cascade_model_dir *md = NULL, *md2 = NULL;
    const char        *dir = NULL;
    cascade_status     st = cascade_model_dir_open(o->model_dir, &md, err);
    static const char *const toks[] = {"T5Tokenizer", "T5TokenizerFast", NULL};
    static const char *const texts[] = {"T5EncoderModel", NULL};
    if (!st) st = pipe_expect_class(md, "tokenizer", toks, err);
    if (!st) st = pipe_component(md, "tokenizer", &dir, err);
    if (!st) st = cascade_tokenizer_load(dir, &p->tok, err);
    if (!st) st = pipe_expect_class(md, "text_encoder", texts, err);
    if (!st) st = pipe_component(md, "text_encoder", &dir, err);
    if (!st) st = cascade_t5_load(dir, o->weight_dtype, &p->t5, err);
    if (!st) st = load_stage(md, p->be, o->weight_dtype, &p->unet1, &p->sched1, 64, &p->size1, err);
    if (!st) st = cascade_generation_defaults_resolve(o->model_dir, 1, &p->rec1, err);
    cascade_generation_defaults_init(&p->rec2, 2);
    if (!st && o->sr_model_dir) {
        st = cascade_model_dir_open(o->sr_model_dir, &md2, err);
        if (!st)
            st =
                load_stage(md2, p->be, o->weight_dtype, &p->unet2, &p->sched2, 256, &p->size2, err);
        if (!st) st = pipe_load_scheduler(md2, "image_noising_scheduler", &p->noising, err);
        if (!st) st = cascade_generation_defaults_load(o->sr_model_dir, &p->rec2, err);
        p->strength2 = p->rec2.strength;
        if (!st && p->size2 % p->size1)
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: stage II size %lld is not a multiple of stage I's %lld",
                                   o->sr_model_dir, (long long)p->size2, (long long)p->size1);
    }
    /* both stages read the same T5 embeddings */
    if (!st && cascade_unet_denoiser_get(p->unet1)->in_channels != 3)
        st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                               "%s: stage I U-Net takes %lld channels, not RGB", o->model_dir,
                               (long long)cascade_unet_denoiser_get(p->unet1)->in_channels);
    cascade_model_dir_free(md2);
    cascade_model_dir_free(md);
    return st;
}

cascade_status cascade_pipeline_load(const cascade_pipeline_options *o, cascade_pipeline **out,
                                     cascade_error *err) {
    *out = NULL;
    if (!o || !o->model_dir || !o->backend)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "pipeline: model_dir and backend are required");
    cascade_pipeline *p = calloc(1, sizeof *p);
    if (!p) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "pipeline");
    p->be = o->backend;
    cascade_status st = pipeline_load_into(p, o, err);
    if (st) {
        cascade_pipeline_free(p);
        return st;
    }
    *out = p;
    return CASCADE_STATUS_OK;
}

void cascade_pipeline_free(cascade_pipeline *p) {
    if (!p) return;
    cascade_scheduler_free(p->noising);
    cascade_scheduler_free(p->sched2);
    cascade_unet_denoiser_free(p->unet2);
    cascade_scheduler_free(p->sched1);
    cascade_unet_denoiser_free(p->unet1);
    cascade_t5_runner_free(p->t5r);
    cascade_t5_free(p->t5);
    cascade_tokenizer_free(p->tok);
    g_free(p->emb_texts[0]);
    g_free(p->emb_texts[1]);
    free(p->emb_two);
    free(p);
}

bool cascade_pipeline_has_stage2(const cascade_pipeline *p) {
    return p->unet2 != NULL;
}

void cascade_pipeline_image_size(const cascade_pipeline *p, bool stage2, int64_t *height,
                                 int64_t *width) {
    int64_t s = stage2 && p->unet2 ? p->size2 : p->size1;
    *height = s;
    *width = s;
}

int64_t cascade_pipeline_size_multiple(const cascade_pipeline *p, bool stage2) {
    int64_t f = stage2 && p->unet2 ? p->size2 / p->size1 : 1;
    return f * cascade_unet_denoiser_size_multiple(p->unet1);
}

/* IF's _text_preprocessing without bs4/ftfy (clean_caption off): lower-case, strip. */
static char *preprocess_text(const char *text) {
    char *copy = g_strdup(text ? text : "");
    char *low = g_utf8_strdown(g_strstrip(copy), -1);
    g_free(copy);
    return low;
}

cascade_status cascade_pipeline_aspect_size(const cascade_pipeline *p, bool stage2,
                                            const char *aspect, int64_t *height, int64_t *width,
                                            cascade_error *err) {
    double  ratio;
    int64_t bh, bw;
    CASCADE_TRY(cascade_aspect_parse(aspect, &ratio, err));
    cascade_pipeline_image_size(p, stage2, &bh, &bw);
    cascade_aspect_size(bh, bw, cascade_pipeline_size_multiple(p, stage2), ratio, height, width);
    return CASCADE_STATUS_OK;
}

void cascade_pipeline_stage1_size(const cascade_pipeline *p, const cascade_generate_params *g,
                                  int64_t *height, int64_t *width) {
    const bool    two = g->stage2 && p->unet2;
    const int64_t f = two ? p->size2 / p->size1 : 1, full = two ? p->size2 : p->size1;
    *height = (g->height > 0 ? g->height : full) / f;
    *width = (g->width > 0 ? g->width : full) / f;
}

cascade_status cascade_pipeline_prompt_tokens(const cascade_pipeline *p, const char *prompt,
                                              int64_t *n_tokens, cascade_error *err) {
    char          *text = preprocess_text(prompt);
    int32_t       *ids = NULL;
    size_t         n = 0;
    cascade_status st = cascade_tokenizer_encode(p->tok, text, &ids, &n, err);
    g_free(text);
    free(ids);
    *n_tokens = st ? 0 : (int64_t)n;
    return st;
}

/* The (2, L, D) [negative; prompt] embeddings of texts: the kept ones when the pair and
 * length are those of the last call, else encoded (the encoder's plan kept for the next). */
static cascade_status encode_pair(cascade_pipeline *p, char *texts[2], int64_t L, int64_t D,
                                  cascade_error *err) {
    if (p->emb_two && p->emb_len == L && !strcmp(p->emb_texts[0], texts[0]) &&
        !strcmp(p->emb_texts[1], texts[1]))
        return CASCADE_STATUS_OK;
    g_clear_pointer(&p->emb_texts[0], g_free);
    g_clear_pointer(&p->emb_texts[1], g_free);
    free(p->emb_two);
    p->emb_two = NULL;
    int64_t rb = 0, rl = 0;
    if (p->t5r) cascade_t5_runner_shape(p->t5r, &rb, &rl);
    if (p->t5r && rl != L) g_clear_pointer(&p->t5r, cascade_t5_runner_free);
    if (!p->t5r) CASCADE_TRY(cascade_t5_runner_new(p->t5, p->be, 2, L, &p->t5r, err));
    int32_t       *ids = malloc((size_t)(2 * L) * sizeof *ids);
    int32_t       *mask = malloc((size_t)(2 * L) * sizeof *mask);
    float         *two = malloc((size_t)(2 * L * D) * sizeof *two);
    cascade_status st = CASCADE_STATUS_OK;
    if (!ids || !mask || !two)
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "text embeddings");
    if (!st)
        st = cascade_tokenizer_encode_batch(p->tok, (const char *const *)texts, 2, (int32_t)L, ids,
                                            mask, err);
    if (!st) st = cascade_t5_runner_encode(p->t5r, ids, mask, two, err);
    if (!st) {
        p->counters.text_encodes++;
        p->emb_two = two;
        two = NULL;
        p->emb_len = L;
        p->emb_texts[0] = g_strdup(texts[0]);
        p->emb_texts[1] = g_strdup(texts[1]);
    }
    free(ids);
    free(mask);
    free(two);
    return st;
}

/* [negative; prompt] embeddings, each repeated batch times: *emb (2 B, L, D) malloc'd. */
static cascade_status encode_text(cascade_pipeline *p, const cascade_generate_params *g,
                                  float **emb, int64_t *seq, int64_t *dim, cascade_error *err) {
    *emb = NULL;
    if (!g->prompt)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "pipeline: no prompt");
    if (g->max_length < 2 || g->max_length > 4096 || g->batch < 1 || g->batch > 4096)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "pipeline: max_length or batch out of range");
    int64_t        L = g->max_length, D = cascade_t5_get_config(p->t5)->d_model, B = g->batch;
    char          *texts[2] = {preprocess_text(g->negative_prompt), preprocess_text(g->prompt)};
    float         *all = malloc((size_t)(2 * B * L * D) * sizeof *all);
    cascade_status st = all ? encode_pair(p, texts, L, D, err)
                            : cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "text embeddings");
    if (!st) {
        size_t row = (size_t)(L * D);
        for (int64_t h = 0; h < 2; h++)
            for (int64_t b = 0; b < B; b++)
                memcpy(all + (size_t)(h * B + b) * row, p->emb_two + (size_t)h * row,
                       row * sizeof *all);
        *emb = all;
        all = NULL;
        *seq = L;
        *dim = D;
    }
    g_free(texts[0]);
    g_free(texts[1]);
    free(all);
    return st;
}

/* One noise stream for the whole call: the caller's, or the seeded generator. */
typedef struct call_noise {
    const cascade_generate_params *g;
    cascade_pipeline              *p;
    cascade_rng                    rng;
    cascade_item_rngs              items; /* seed_per_item */
} call_noise;

static cascade_status call_draw(void *user, const char *what, float *out, size_t n,
                                cascade_error *err) {
    call_noise *cn = user;
    if (cn->g->noise_fn) return cn->g->noise_fn(cn->g->noise_user, what, out, n, err);
    if (cn->items.n)
        cascade_item_rngs_normal(&cn->items, out, n);
    else
        cascade_rng_normal(&cn->rng, out, n);
    return CASCADE_STATUS_OK;
}

/* Every denoising step passes here: counted, then reported to the caller. */
static void count_step(void *user, int stage, int step, int total, const float *x0,
                       const int64_t shape[4]) {
    call_noise *cn = user;
    if (stage == 1 || stage == 2) cn->p->counters.stage_steps[stage - 1]++;
    if (cn->g->progress) cn->g->progress(cn->g->user_data, stage, step, total, x0, shape);
}

/* Stage I's place in the noise stream when its result is given (finishing a candidate):
 * its loop runs with a denoiser that answers zeros, drawing exactly what the real run drew,
 * so stage II sees the same noise as in a full run with the same seed. No U-Net runs. */
static cascade_status null_forward(void *self, const float *sample, const int64_t shape[4],
                                   double timestep, const float *context, int64_t seq, int64_t dim,
                                   const float *class_labels, const cascade_cancel *cancel,
                                   float *out, cascade_error *err) {
    const cascade_denoiser *d = self;
    (void)sample, (void)timestep, (void)context, (void)seq, (void)dim, (void)class_labels;
    (void)cancel, (void)err;
    memset(out, 0, sizeof *out * (size_t)(shape[0] * d->out_channels * shape[2] * shape[3]));
    return CASCADE_STATUS_OK;
}

/* The arguments shared by every stage run of a call. */
static void stage_args(cascade_pipeline *p, const cascade_generate_params *g, call_noise *cn,
                       const float *emb, int64_t seq, int64_t dim, int stage, int64_t h, int64_t w,
                       cascade_diffusion_args *a) {
    cascade_diffusion_args_init(a);
    size_t half = (size_t)(g->batch * seq * dim);
    a->denoiser = cascade_unet_denoiser_get(stage == 1 ? p->unet1 : p->unet2);
    a->scheduler = stage == 1 ? p->sched1 : p->sched2;
    a->batch = g->batch;
    a->channels = 3;
    a->height = h;
    a->width = w;
    a->steps = stage == 1 ? g->steps1 : g->steps2;
    a->guidance_scale = stage == 1 ? g->guidance1 : g->guidance2;
    a->uncond = emb;
    a->cond = emb + half;
    a->seq = seq;
    a->dim = dim;
    a->noise_fn = call_draw;
    a->noise_user = cn;
    a->stage = stage;
    a->progress = count_step;
    a->user_data = cn;
    a->cancel = g->cancel;
    a->strength = g->strength;
}

/* NaN weights or a config that divides by zero give a NaN image that would be written as a
 * black PNG with no error: every stage's output is checked. */
static cascade_status check_finite(const float *x, size_t n, const char *stage,
                                   cascade_error *err) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s produced a non-finite value (%g at element %zu): the "
                                     "model's weights or config are broken",
                                     stage, (double)x[i], i);
    return CASCADE_STATUS_OK;
}

/* Runs stage I (and stage II) for generate (image NULL) or inpaint (image, mask at the final
 * size h x w, one item each). */
/* The whole run's U-Net plans (stage I's stays while stage II runs) against what the backend
 * can still hold, before the first step: a batch that cannot fit fails at once, with the
 * number, instead of after stage I or in the kernel's OOM killer. */
static cascade_status check_memory(cascade_pipeline *p, const cascade_generate_params *g, bool two,
                                   int64_t h1, int64_t w1, int64_t h2, int64_t w2, int64_t seq,
                                   cascade_error *err) {
    uint64_t b1 = 0, b2 = 0;
    int64_t  n1 = g->batch * (g->guidance1 > 1.0 ? 2 : 1), n2 = g->batch * (g->guidance2 > 1.0 ? 2 : 1);
    CASCADE_TRY(cascade_unet_denoiser_estimate(p->unet1, n1, h1, w1, seq, &b1, err));
    if (two) CASCADE_TRY(cascade_unet_denoiser_estimate(p->unet2, n2, h2, w2, seq, &b2, err));
    /* the denoising loop's own buffers (diffusion-loop.c: seven images of 3 channels, the
     * model's input and output for the guidance batch, the guided output) at the last stage,
     * and stage I's images kept for stage II */
    const cascade_denoiser *d = cascade_unet_denoiser_get(two ? p->unet2 : p->unet1);
    const uint64_t hw = (uint64_t)(two ? h2 * w2 : h1 * w1), B = (uint64_t)g->batch;
    const uint64_t mult = (uint64_t)(two ? n2 : n1) / B;
    uint64_t       loop = sizeof(float) * B * hw *
                    (7 * 3 + mult * (uint64_t)(d->in_channels + d->out_channels) +
                     (uint64_t)d->out_channels);
    if (two) loop += sizeof(float) * B * 3 * (uint64_t)(h1 * w1);
    char what[160];
    snprintf(what, sizeof what, "%s (batch %lld, %lldx%lld)",
             two ? "stage I and II together" : "stage I", (long long)g->batch,
             (long long)(two ? w2 : w1), (long long)(two ? h2 : h1));
    return cascade_backend_check_fits(p->be, b1 + b2 + loop, what, err);
}

static cascade_status run_cascade(cascade_pipeline *p, const cascade_generate_params *g,
                                  const float *image, const float *mask, int64_t h, int64_t w,
                                  float **out, int64_t shape[4], cascade_error *err) {
    *out = NULL;
    bool    two = g->stage2 && p->unet2;
    int64_t f = two ? p->size2 / p->size1 : 1;
    if (!image && (g->height > 0 || g->width > 0)) { /* generate at a chosen size */
        int64_t m = cascade_pipeline_size_multiple(p, two);
        h = g->height > 0 ? g->height : (two ? p->size2 : p->size1);
        w = g->width > 0 ? g->width : (two ? p->size2 : p->size1);
        if (h % m || w % m || h > 16384 || w > 16384)
            return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                     "generate: %lldx%lld must be multiples of %lld (at most "
                                     "16384)",
                                     (long long)w, (long long)h, (long long)m);
    }
    if (g->stage1_image && (image || !two))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "generate: a stage I result is finished by stage II, which %s",
                                 image ? "inpainting does not take" : "is not loaded or not asked for");
    bool    sized = image || h > 0;
    int64_t h1 = sized ? h / f : p->size1, w1 = sized ? w / f : p->size1;
    int64_t h2 = sized ? h : (two ? p->size2 : h1), w2 = sized ? w : (two ? p->size2 : w1);
    size_t  n1, n2, hw1, hw2;
    if (image && (h % f || w % f))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "inpaint: %lldx%lld is not a multiple of the stage II factor %lld",
                                 (long long)w, (long long)h, (long long)f);
    if (!pipe_numel(g->batch, 3, h1, w1, &n1) || !pipe_numel(g->batch, 3, h2, w2, &n2) ||
        !pipe_numel(h1, w1, 1, 1, &hw1) || !pipe_numel(h2, w2, 1, 1, &hw2))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "pipeline: bad size or batch");

    float         *emb = NULL, *x1 = NULL, *x2 = NULL, *img1 = NULL, *mask1 = NULL, *img2 = NULL;
    int64_t        seq = 0, dim = 0;
    cascade_status st = encode_text(p, g, &emb, &seq, &dim, err);
    if (!st) st = check_memory(p, g, two, h1, w1, h2, w2, seq, err);
    call_noise     cn = {.g = g, .p = p};
    cascade_rng_init(&cn.rng, g->seed);
    if (!st && g->seed_per_item) st = cascade_item_rngs_init(&cn.items, g->seed, g->batch, err);
    if (!st && !(x1 = malloc(n1 * sizeof *x1)))
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "stage I image");
    if (!st && image) { /* the original (and mask) at stage I's size, repeated per item */
        img1 = malloc(n1 * sizeof *img1);
        mask1 = malloc(hw1 * sizeof *mask1);
        if (!img1 || !mask1)
            st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "inpaint");
        else {
            pipe_downscale_area(image, 3, h, w, f, img1);
            pipe_downscale_area(mask, 1, h, w, f, mask1);
            for (int64_t b = 1; b < g->batch; b++)
                memcpy(img1 + (size_t)b * 3 * hw1, img1, 3 * hw1 * sizeof *img1);
        }
    }
    cascade_diffusion_args a;
    cascade_denoiser       null_d;
    if (!st) {
        stage_args(p, g, &cn, emb, seq, dim, 1, h1, w1, &a);
        a.image = img1;
        a.mask = mask1;
        if (g->stage1_image) { /* finishing: stage I's draws only, then its given result */
            null_d = *a.denoiser;
            null_d.forward = null_forward;
            null_d.self = &null_d;
            a.denoiser = &null_d;
            a.progress = NULL;
        }
        st = cascade_diffusion_run(&a, x1, err);
        if (!st && g->stage1_image) memcpy(x1, g->stage1_image, n1 * sizeof *x1);
        if (!st) st = check_finite(x1, n1, "stage I", err);
    }
    if (!st && two) {
        if (!(x2 = malloc(n2 * sizeof *x2)))
            st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "stage II image");
        if (!st && image) {
            if (!(img2 = malloc(n2 * sizeof *img2)))
                st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "inpaint");
            else
                for (int64_t b = 0; b < g->batch; b++)
                    memcpy(img2 + (size_t)b * 3 * hw2, image, 3 * hw2 * sizeof *img2);
        }
        /* stage II may start from stage I's image, enlarged and re-noised
         * (IFImg2ImgSuperResolutionPipeline), instead of pure noise; inpainting: that image
         * inside the mask, the original outside it */
        double s2 = g->strength2 > 0 ? g->strength2 : p->strength2 > 0 ? p->strength2 : 1.0;
        /* the model's recommended start must leave at least one of the steps asked for (a
         * strength the caller chose is theirs: the loop names it when it leaves none) */
        if (g->strength2 <= 0 && g->steps2 > 0 && (double)g->steps2 * s2 < 1.0)
            s2 = 1.0 / (double)g->steps2;
        float *up1 = NULL;
        if (!st && s2 < 1.0) {
            if (!img2) img2 = malloc(n2 * sizeof *img2);
            up1 = image ? malloc(n2 * sizeof *up1) : img2;
            if (!img2 || !up1)
                st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "stage II start");
            else
                cascade_resize_bilinear_ac(x1, g->batch * 3, h1, w1, h2, w2, up1);
            for (int64_t b = 0; !st && image && b < g->batch; b++)
                for (size_t i = 0; i < 3 * hw2; i++) {
                    float m = mask[i % hw2];
                    size_t k = (size_t)b * 3 * hw2 + i;
                    img2[k] = m * up1[k] + (1.0f - m) * image[i];
                }
            if (image) free(up1);
        }
        if (!st) {
            stage_args(p, g, &cn, emb, seq, dim, 2, h2, w2, &a);
            if (!image) a.strength = s2;
            else if (s2 < a.strength) a.strength = s2;
            a.low_res = x1;
            a.low_h = h1;
            a.low_w = w1;
            a.image_noising_scheduler = p->noising;
            a.noise_level = g->noise_level;
            a.image = img2;
            a.mask = image ? mask : NULL;
            st = cascade_diffusion_run(&a, x2, err);
            if (!st) st = check_finite(x2, n2, "stage II", err);
        }
    }
    if (!st) {
        *out = two ? x2 : x1;
        if (two)
            x2 = NULL;
        else
            x1 = NULL;
        shape[0] = g->batch;
        shape[1] = 3;
        shape[2] = two ? h2 : h1;
        shape[3] = two ? w2 : w1;
    }
    cascade_item_rngs_clear(&cn.items);
    free(emb);
    free(x1);
    free(x2);
    free(img1);
    free(mask1);
    free(img2);
    return st;
}

cascade_status cascade_pipeline_generate(cascade_pipeline *p, const cascade_generate_params *g,
                                         float **image, int64_t shape[4], cascade_error *err) {
    *image = NULL;
    return run_cascade(p, g, NULL, NULL, 0, 0, image, shape, err);
}

cascade_status cascade_pipeline_inpaint(cascade_pipeline *p, const cascade_generate_params *g,
                                        const float *image, const float *mask, int64_t height,
                                        int64_t width, float **out, int64_t shape[4],
                                        cascade_error *err) {
    *out = NULL;
    if (!image || !mask || height < 1 || width < 1)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "inpaint: image, mask and size are required");
    return run_cascade(p, g, image, mask, height, width, out, shape, err);
}

void cascade_pipeline_get_counters(const cascade_pipeline *p, cascade_pipeline_counters *out) {
    *out = p->counters;
}

void cascade_pipeline_recommended(const cascade_pipeline *p, int stage,
                                  cascade_generation_defaults *d) {
    *d = stage == 1 ? p->rec1 : p->rec2;
}
