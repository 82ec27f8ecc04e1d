/* Pipelines: the stage loop through a fake denoiser (guidance, variance handling, stage II
 * inputs, inpaint blending, progress, cancel, seeds, argument errors), the helpers, and an
 * end-to-end run of the model set on the tiny golden models when they are present. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cascade/aspect.h"
#include "cascade/inpaint-blend.h"

#include "cascade/backend.h"
#include "cascade/pipeline.h"
#include "cascade/scheduler.h"
#include "test-common.h"

#define IF_DDPM                                                                                    \
    "{\"_class_name\": \"DDPMScheduler\", \"beta_schedule\": \"squaredcos_cap_v2\","               \
    " \"dynamic_thresholding_ratio\": 0.95, \"sample_max_value\": 1.5, \"thresholding\": true,"    \
    " \"variance_type\": \"learned_range\"}"
#define NOISING "{\"_class_name\": \"DDPMScheduler\", \"beta_schedule\": \"squaredcos_cap_v2\"}"

static cascade_scheduler *sched(const char *json) {
    cascade_config    *cfg = NULL;
    cascade_scheduler *s = NULL;
    cascade_error      err;
    cascade_error_init(&err);
    assert_int_equal(cascade_config_parse(json, strlen(json), "scheduler_config.json", &cfg, &err),
                     CASCADE_STATUS_OK);
    assert_int_equal(cascade_scheduler_new(cfg, &s, &err), CASCADE_STATUS_OK);
    cascade_config_free(cfg);
    return s;
}

/* A stand-in for the U-Net: eps = 0.1 x + context[0] of the item on the image channels, the
 * variance channels = context[0] as well, so guidance and the variance source are visible. */
typedef struct fake {
    cascade_denoiser seam;
    int64_t          c_img;
    int              calls;
    float            labels[8];
    float           *last_in; /* copy of the last model input */
    size_t           last_n;
} fake;

static cascade_status fake_forward(void *self, const float *sample, const int64_t shape[4],
                                   double t, const float *ctx, int64_t seq, int64_t dim,
                                   const float *labels, const cascade_cancel *cancel, float *out,
                                   cascade_error *err) {
    (void)t, (void)cancel, (void)err;
    fake  *f = self;
    size_t hw = (size_t)(shape[2] * shape[3]);
    f->calls++;
    free(f->last_in);
    f->last_n = (size_t)(shape[0] * shape[1]) * hw;
    f->last_in = malloc(f->last_n * sizeof(float));
    memcpy(f->last_in, sample, f->last_n * sizeof(float));
    for (int64_t b = 0; b < shape[0]; b++) {
        float c = ctx[(size_t)(b * seq * dim)];
        if (labels && b < 8) f->labels[b] = labels[b];
        for (int64_t ch = 0; ch < f->seam.out_channels; ch++)
            for (size_t i = 0; i < hw; i++) {
                float x = ch < f->c_img ? sample[((size_t)(b * shape[1] + ch)) * hw + i] : 0;
                out[((size_t)(b * f->seam.out_channels + ch)) * hw + i] =
                    ch < f->c_img ? 0.1f * x + c : c;
            }
    }
    return CASCADE_STATUS_OK;
}

static void fake_init(fake *f, int64_t c_in, int64_t c_out, int64_t c_img, bool labels) {
    memset(f, 0, sizeof *f);
    f->seam.in_channels = c_in;
    f->seam.out_channels = c_out;
    f->seam.class_labels = labels;
    f->seam.forward = fake_forward;
    f->seam.self = f;
    f->c_img = c_img;
}

enum { B = 2, C = 3, H = 4, W = 4, SEQ = 2, DIM = 3, N = B * C * H * W };
static float COND[B * SEQ * DIM], UNCOND[B * SEQ * DIM];

static void base_args(cascade_diffusion_args *a, fake *f, cascade_scheduler *s) {
    for (int i = 0; i < B * SEQ * DIM; i++)
        COND[i] = 1.0f, UNCOND[i] = -1.0f;
    cascade_diffusion_args_init(a);
    a->denoiser = &f->seam;
    a->scheduler = s;
    a->batch = B;
    a->channels = C;
    a->height = H;
    a->width = W;
    a->steps = 4;
    a->guidance_scale = 3.0;
    a->cond = COND;
    a->uncond = UNCOND;
    a->seq = SEQ;
    a->dim = DIM;
    a->seed = 11;
}

/* IF's guidance: u + g (c - u) on the image channels, the variance from the cond half. */
static void test_pipeline_guidance_combine(void **state) {
    (void)state;
    /* 2B = 2 items (B = 1), c_out 2, c_img 1, hw 2: [u0 u1 | uv uv] [c0 c1 | cv cv] */
    float mo[8] = {1, 2, 9, 9, 3, 6, 5, 7}, out[4];
    cascade_guidance_combine(mo, 1, 2, 1, 2, 2.0, out);
    assert_float_equal(out[0], 1 + 2 * (3 - 1), 0);
    assert_float_equal(out[1], 2 + 2 * (6 - 2), 0);
    assert_float_equal(out[2], 5, 0);
    assert_float_equal(out[3], 7, 0);
}

/* align_corners bilinear keeps the corners and puts the mean in the middle. */
static void test_pipeline_resize_bilinear(void **state) {
    (void)state;
    float x[4] = {0, 1, 2, 3}, y[9];
    cascade_resize_bilinear_ac(x, 1, 2, 2, 3, 3, y);
    assert_float_equal(y[0], 0, 0);
    assert_float_equal(y[2], 1, 0);
    assert_float_equal(y[6], 2, 0);
    assert_float_equal(y[8], 3, 0);
    assert_float_equal(y[4], 1.5, 1e-6);
    assert_float_equal(y[1], 0.5, 1e-6);
}

/* The model sees [uncond; cond] doubled input; progress reports every step with x0. */
typedef struct prog {
    int             calls, last_step, total;
    int64_t         shape[4];
    cascade_cancel *cancel_at_2;
    bool            x0_finite;
} prog;

static void on_progress(void *user, int stage, int step, int total, const float *x0,
                        const int64_t shape[4]) {
    prog *p = user;
    assert_int_equal(stage, 1);
    assert_int_equal(step, p->calls + 1);
    p->calls++;
    p->last_step = step;
    p->total = total;
    memcpy(p->shape, shape, sizeof p->shape);
    p->x0_finite = true;
    for (int64_t i = 0; i < shape[0] * shape[1] * shape[2] * shape[3]; i++)
        p->x0_finite &= isfinite(x0[i]) != 0;
    if (p->cancel_at_2 && step == 2) cascade_cancel_raise(p->cancel_at_2);
}

static void test_pipeline_progress_and_batching(void **state) {
    (void)state;
    fake                   f;
    cascade_scheduler     *s = sched(IF_DDPM);
    cascade_diffusion_args a;
    prog                   p = {0};
    float                  out[N];
    cascade_error          err;
    fake_init(&f, C, 2 * C, C, false);
    base_args(&a, &f, s);
    a.progress = on_progress;
    a.user_data = &p;
    cascade_error_init(&err);
    assert_int_equal(cascade_diffusion_run(&a, out, &err), CASCADE_STATUS_OK);
    assert_int_equal(f.calls, 4);
    assert_int_equal(f.last_n, 2 * N); /* cond + uncond in one forward */
    assert_int_equal(p.calls, 4);
    assert_int_equal(p.total, 4);
    assert_true(p.x0_finite);
    assert_int_equal(p.shape[0], B);
    assert_int_equal(p.shape[1], C);
    for (int i = 0; i < N; i++)
        assert_true(isfinite(out[i]));
    /* no guidance: one half only */
    a.guidance_scale = 1.0;
    a.uncond = NULL;
    a.progress = NULL;
    assert_int_equal(cascade_diffusion_run(&a, out, &err), CASCADE_STATUS_OK);
    assert_int_equal(f.last_n, N);
    free(f.last_in);
    cascade_scheduler_free(s);
}

/* Guidance acts on eps: with a deterministic scheduler the result matches a manual replay
 * of eps_u + g (eps_c - eps_u) through the scheduler. */
static void test_pipeline_guidance_in_loop(void **state) {
    (void)state;
    fake                   f;
    cascade_scheduler     *s = sched("{\"_class_name\": \"DDIMScheduler\"}");
    cascade_diffusion_args a;
    float                  out[N], x[N], eps[N], prev[N];
    cascade_error          err;
    fake_init(&f, C, C, C, false);
    base_args(&a, &f, s);
    a.steps = 3;
    cascade_error_init(&err);
    assert_int_equal(cascade_diffusion_run(&a, out, &err), CASCADE_STATUS_OK);

    cascade_rng rng;
    cascade_rng_init(&rng, 11);
    cascade_rng_normal(&rng, x, N);
    assert_int_equal(cascade_scheduler_set_timesteps(s, 3, &err), CASCADE_STATUS_OK);
    size_t        nt;
    const double *ts = cascade_scheduler_timesteps(s, &nt);
    int64_t       shape[4] = {B, C, H, W};
    for (size_t k = 0; k < nt; k++) {
        for (int i = 0; i < N; i++) {
            float u = 0.1f * x[i] - 1.0f, c = 0.1f * x[i] + 1.0f;
            eps[i] = u + 3.0f * (c - u);
        }
        assert_int_equal(cascade_scheduler_step(s, ts[k], eps, C, x, shape, NULL, prev, NULL, &err),
                         CASCADE_STATUS_OK);
        memcpy(x, prev, sizeof x);
    }
    for (int i = 0; i < N; i++)
        assert_float_equal(out[i], x[i], 1e-5);
    free(f.last_in);
    cascade_scheduler_free(s);
}

/* Cancel raised during step 2 stops before step 3; out is left untouched. */
static void test_pipeline_cancel(void **state) {
    (void)state;
    fake                   f;
    cascade_scheduler     *s = sched(IF_DDPM);
    cascade_diffusion_args a;
    cascade_cancel         cancel;
    prog                   p = {.cancel_at_2 = &cancel};
    float                  out[N];
    cascade_error          err;
    cascade_cancel_init(&cancel);
    fake_init(&f, C, 2 * C, C, false);
    base_args(&a, &f, s);
    a.progress = on_progress;
    a.user_data = &p;
    a.cancel = &cancel;
    for (int i = 0; i < N; i++)
        out[i] = 42.0f;
    cascade_error_init(&err);
    assert_int_equal(cascade_diffusion_run(&a, out, &err), CASCADE_STATUS_CANCELLED);
    assert_int_equal(f.calls, 2);
    for (int i = 0; i < N; i++)
        assert_float_equal(out[i], 42.0f, 0);
    free(f.last_in);
    cascade_scheduler_free(s);
}

/* Same seed, same images; another seed, other images. */
static void test_pipeline_seed(void **state) {
    (void)state;
    fake                   f;
    cascade_scheduler     *s = sched(IF_DDPM);
    cascade_diffusion_args a;
    float                  o1[N], o2[N], o3[N];
    cascade_error          err;
    fake_init(&f, C, 2 * C, C, false);
    base_args(&a, &f, s);
    cascade_error_init(&err);
    assert_int_equal(cascade_diffusion_run(&a, o1, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_diffusion_run(&a, o2, &err), CASCADE_STATUS_OK);
    a.seed = 12;
    assert_int_equal(cascade_diffusion_run(&a, o3, &err), CASCADE_STATUS_OK);
    assert_memory_equal(o1, o2, sizeof o1);
    assert_true(memcmp(o1, o3, sizeof o1) != 0);
    free(f.last_in);
    cascade_scheduler_free(s);
}

/* Stage II: channels 3-5 of the model input are the bilinear-upscaled low-res image noised
 * to noise_level with the "augmentation" draw, and the level is the class label. */
typedef struct counter {
    int   n;
    float fill[4];
    char  names[4][16];
} counter;

static cascade_status const_noise(void *user, const char *what, float *out, size_t n,
                                  cascade_error *err) {
    (void)err;
    counter *c = user;
    if (c->n < 4) snprintf(c->names[c->n], sizeof c->names[0], "%s", what);
    float v = c->n < 4 ? c->fill[c->n] : 0.0f;
    c->n++;
    for (size_t i = 0; i < n; i++)
        out[i] = v;
    return CASCADE_STATUS_OK;
}

static void test_pipeline_stage2_inputs(void **state) {
    (void)state;
    fake                   f;
    cascade_scheduler     *s = sched(IF_DDPM), *noising = sched(NOISING);
    cascade_diffusion_args a;
    float                  out[N], low[B * C * 2 * 2], up[N];
    counter                cn = {.fill = {0.5f, -0.25f, 0, 0}};
    cascade_error          err;
    fake_init(&f, 2 * C, 2 * C, C, true);
    base_args(&a, &f, s);
    a.steps = 1;
    for (int i = 0; i < B * C * 4; i++)
        low[i] = (float)(i % 7) / 7.0f - 0.5f;
    a.low_res = low;
    a.low_h = a.low_w = 2;
    a.image_noising_scheduler = noising;
    a.noise_level = 250;
    a.noise_fn = const_noise;
    a.noise_user = &cn;
    cascade_error_init(&err);
    assert_int_equal(cascade_diffusion_run(&a, out, &err), CASCADE_STATUS_OK);
    assert_string_equal(cn.names[0], "initial");
    assert_string_equal(cn.names[1], "augmentation");
    for (int b = 0; b < 2 * B; b++)
        assert_float_equal(f.labels[b], 250.0f, 0);
    cascade_resize_bilinear_ac(low, B * C, 2, 2, H, W, up);
    float ac = cascade_scheduler_alphas_cumprod(noising)[250];
    for (int b = 0; b < 2 * B; b++)
        for (int i = 0; i < C * H * W; i++) {
            float want = sqrtf(ac) * up[(b % B) * C * H * W + i] + sqrtf(1 - ac) * -0.25f;
            assert_float_equal(f.last_in[(size_t)b * 2 * C * H * W + C * H * W + i], want, 1e-6);
        }
    free(f.last_in);
    cascade_scheduler_free(noising);
    cascade_scheduler_free(s);
}

/* Inpainting: pixels outside the (binarised) mask come out exactly as they went in. */
static void test_pipeline_inpaint_keeps_unmasked(void **state) {
    (void)state;
    fake                   f;
    cascade_scheduler     *s = sched(IF_DDPM);
    cascade_diffusion_args a;
    float                  out[N], image[N], mask[H * W];
    cascade_error          err;
    fake_init(&f, C, 2 * C, C, false);
    base_args(&a, &f, s);
    test_fill_uniform(image, N, 5, -1, 1);
    for (int i = 0; i < H * W; i++)
        mask[i] = (i % W) >= 2 ? 0.7f : 0.2f; /* right half */
    a.image = image;
    a.mask = mask;
    a.mask_batch = 1;
    cascade_error_init(&err);
    assert_int_equal(cascade_diffusion_run(&a, out, &err), CASCADE_STATUS_OK);
    int changed = 0;
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H * W; i++) {
                size_t k = (size_t)((b * C + c) * H * W + i);
                if (mask[i] < 0.5f)
                    assert_float_equal(out[k], image[k], 0);
                else
                    changed += out[k] != image[k];
            }
    assert_true(changed > 0);
    /* strength 0.5 runs half of the steps */
    prog p = {0};
    a.strength = 0.5;
    a.progress = on_progress;
    a.user_data = &p;
    assert_int_equal(cascade_diffusion_run(&a, out, &err), CASCADE_STATUS_OK);
    assert_int_equal(p.total, 2);
    free(f.last_in);
    cascade_scheduler_free(s);
}

/* Inconsistent arguments are INVALID_ARG, never a crash. */
static void test_pipeline_bad_args(void **state) {
    (void)state;
    fake                   f;
    cascade_scheduler     *s = sched(IF_DDPM);
    cascade_diffusion_args a;
    float                  out[N];
    cascade_error          err;
    fake_init(&f, C, 2 * C, C, false);
    base_args(&a, &f, s);
    a.uncond = NULL; /* guidance without negative embeddings */
    cascade_error_init(&err);
    assert_int_equal(cascade_diffusion_run(&a, out, &err), CASCADE_STATUS_INVALID_ARG);
    base_args(&a, &f, s);
    a.channels = 4; /* the model takes 3 */
    cascade_error_init(&err);
    assert_int_equal(cascade_diffusion_run(&a, out, &err), CASCADE_STATUS_INVALID_ARG);
    fake_init(&f, C, 2 * C, C, true); /* wants a noise level, gets no low-res image */
    base_args(&a, &f, s);
    cascade_error_init(&err);
    assert_int_equal(cascade_diffusion_run(&a, out, &err), CASCADE_STATUS_INVALID_ARG);
    fake_init(&f, C, 2 * C, C, false);
    base_args(&a, &f, s);
    a.steps = 0;
    cascade_error_init(&err);
    assert_int_equal(cascade_diffusion_run(&a, out, &err), CASCADE_STATUS_INVALID_ARG);
    base_args(&a, &f, s);
    a.height = -3;
    cascade_error_init(&err);
    assert_int_equal(cascade_diffusion_run(&a, out, &err), CASCADE_STATUS_INVALID_ARG);
    assert_int_equal(f.calls, 0);
    cascade_scheduler_free(s);
}

/* 8-bit pixels survive the round trip through [-1, 1]; out-of-range values clamp. */
static void test_pipeline_pixel_conversions(void **state) {
    (void)state;
    enum { PW = 256 };
    uint8_t rgba[PW * 4], rgb[PW * 3], grey[2] = {0, 255};
    float   img[3 * PW], mask[2];
    for (int i = 0; i < PW; i++)
        for (int c = 0; c < 4; c++)
            rgba[i * 4 + c] = (uint8_t)(c == 3 ? 7 : (i + 85 * c) % 256);
    cascade_image_from_rgb8(rgba, 1, PW, 4, img);
    assert_float_equal(img[0], -1.0f, 0);
    cascade_image_to_rgb8(img, 1, PW, rgb);
    for (int i = 0; i < PW; i++)
        for (int c = 0; c < 3; c++)
            assert_int_equal(rgb[i * 3 + c], rgba[i * 4 + c]);
    img[0] = 5.0f;
    img[1] = -5.0f;
    cascade_image_to_rgb8(img, 1, PW, rgb);
    assert_int_equal(rgb[0], 255);
    assert_int_equal(rgb[3], 0);
    cascade_mask_from_grey8(grey, 1, 2, mask);
    assert_float_equal(mask[0], 0.0f, 0);
    assert_float_equal(mask[1], 1.0f, 0);
}

/* ---- the model set on the tiny golden models ---- */

static bool link_into(const char *dir, const char *name, const char *golden_rel) {
    char dst[512];
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    char *src = realpath(test_golden_path(golden_rel), NULL);
    bool  ok = src && symlink(src, dst) == 0;
    free(src);
    return ok;
}

typedef struct tiny {
    char             *dir;
    cascade_backend  *be;
    cascade_pipeline *p;
} tiny;

static int tiny_setup(void **state) {
    static const char *const needed[] = {"t5_encoder/config.json", "t5_tokenizer/spiece.model",
                                         "pipeline_if_stage1/unet/config.json",
                                         "pipeline_if_stage2/unet/config.json"};
    tiny                    *t = calloc(1, sizeof *t);
    *state = t;
    for (size_t i = 0; i < 4; i++)
        if (!test_golden_exists(needed[i])) return 0;
    t->dir = test_make_tmpdir();
    const char *index = "{\"_class_name\": \"IFPipeline\", \"_diffusers_version\": \"0.25.1\","
                        " \"text_encoder\": [\"transformers\", \"T5EncoderModel\"],"
                        " \"tokenizer\": [\"transformers\", \"T5Tokenizer\"],"
                        " \"unet\": [\"diffusers\", \"UNet2DConditionModel\"],"
                        " \"scheduler\": [\"diffusers\", \"DDPMScheduler\"]}";
    char        path[512];
    snprintf(path, sizeof path, "%s/model_index.json", t->dir);
    assert_true(test_write_file(path, index, strlen(index)));
    assert_true(link_into(t->dir, "text_encoder", "t5_encoder"));
    assert_true(link_into(t->dir, "tokenizer", "t5_tokenizer"));
    assert_true(link_into(t->dir, "unet", "pipeline_if_stage1/unet"));
    assert_true(link_into(t->dir, "scheduler", "pipeline_if_stage1/scheduler"));
    cascade_cpu_options co;
    cascade_error       err;
    cascade_cpu_options_init(&co);
    co.n_threads = 2;
    cascade_error_init(&err);
    assert_int_equal(cascade_backend_cpu_new(&co, &t->be, &err), CASCADE_STATUS_OK);
    cascade_pipeline_options o;
    cascade_pipeline_options_init(&o);
    o.model_dir = t->dir;
    char sr[512];
    snprintf(sr, sizeof sr, "%s", test_golden_path("pipeline_if_stage2"));
    o.sr_model_dir = sr;
    o.backend = t->be;
    cascade_status st = cascade_pipeline_load(&o, &t->p, &err);
    if (st) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
    return 0;
}

static int tiny_teardown(void **state) {
    tiny *t = *state;
    cascade_pipeline_free(t->p);
    cascade_backend_free(t->be);
    if (t->dir) {
        const char *names[] = {"model_index.json", "text_encoder", "tokenizer", "unet",
                               "scheduler"};
        char        path[512];
        for (size_t i = 0; i < 5; i++) {
            snprintf(path, sizeof path, "%s/%s", t->dir, names[i]);
            remove(path);
        }
        remove(t->dir);
        free(t->dir);
    }
    free(t);
    return 0;
}

static int  stage_seen[3];
static void count_stages(void *user, int stage, int step, int total, const float *x0,
                         const int64_t shape[4]) {
    (void)user, (void)step, (void)total, (void)x0, (void)shape;
    if (stage >= 1 && stage <= 2) stage_seen[stage]++;
}

/* prompt -> stage I (16 px) -> stage II (32 px) on the tiny models; the same seed repeats. */
static void test_pipeline_generate_tiny(void **state) {
    tiny *t = *state;
    if (!t->p) skip();
    cascade_generate_params g;
    cascade_generate_params_init(&g);
    g.prompt = "A red fox";
    g.batch = 2;
    g.steps1 = 3;
    g.steps2 = 2;
    g.max_length = 12;
    g.seed = 5;
    g.progress = count_stages;
    float        *img = NULL, *img2 = NULL;
    int64_t       shape[4];
    cascade_error err;
    cascade_error_init(&err);
    memset(stage_seen, 0, sizeof stage_seen);
    cascade_status st = cascade_pipeline_generate(t->p, &g, &img, shape, &err);
    if (st) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
    assert_int_equal(shape[0], 2);
    assert_int_equal(shape[1], 3);
    assert_int_equal(shape[2], 32);
    assert_int_equal(shape[3], 32);
    assert_int_equal(stage_seen[1], 3);
    assert_int_equal(stage_seen[2], 2);
    for (int i = 0; i < 2 * 3 * 32 * 32; i++)
        assert_true(isfinite(img[i]));
    g.progress = NULL;
    assert_int_equal(cascade_pipeline_generate(t->p, &g, &img2, shape, &err), CASCADE_STATUS_OK);
    assert_memory_equal(img, img2, sizeof(float) * 2 * 3 * 32 * 32);
    free(img2);
    g.stage2 = false;
    assert_int_equal(cascade_pipeline_generate(t->p, &g, &img2, shape, &err), CASCADE_STATUS_OK);
    assert_int_equal(shape[2], 16);
    free(img2);
    free(img);
}

/* Inpainting through both stages changes only the masked pixels. */
static void test_pipeline_inpaint_tiny(void **state) {
    tiny *t = *state;
    if (!t->p) skip();
    enum { S = 32 };
    float image[3 * S * S], mask[S * S];
    test_fill_uniform(image, 3 * S * S, 9, -1, 1);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            mask[y * S + x] = (x >= 8 && x < 24 && y >= 8 && y < 24);
    cascade_generate_params g;
    cascade_generate_params_init(&g);
    g.prompt = "a lighthouse";
    g.steps1 = 2;
    g.steps2 = 2;
    g.max_length = 12;
    float        *out = NULL;
    int64_t       shape[4];
    cascade_error err;
    cascade_error_init(&err);
    cascade_status st = cascade_pipeline_inpaint(t->p, &g, image, mask, S, S, &out, shape, &err);
    if (st) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
    assert_int_equal(shape[2], S);
    int changed = 0;
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < S * S; i++) {
            if (mask[i] < 0.5f)
                assert_float_equal(out[c * S * S + i], image[c * S * S + i], 0);
            else
                changed += out[c * S * S + i] != image[c * S * S + i];
        }
    assert_true(changed > 0);
    free(out);
    /* a size that stage II cannot divide is refused */
    cascade_error_init(&err);
    assert_int_equal(cascade_pipeline_inpaint(t->p, &g, image, mask, 31, 31, &out, shape, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_null(out);
}

/* A missing component is a FORMAT error naming it; nothing is left allocated. */
static void test_pipeline_load_errors(void **state) {
    (void)state;
    cascade_pipeline        *p = NULL;
    cascade_pipeline_options o;
    cascade_error            err;
    cascade_pipeline_options_init(&o);
    cascade_error_init(&err);
    assert_int_equal(cascade_pipeline_load(&o, &p, &err), CASCADE_STATUS_INVALID_ARG);
    if (!test_golden_exists("pipeline_if_stage1/model_index.json")) skip();
    cascade_cpu_options co;
    cascade_backend    *be = NULL;
    cascade_cpu_options_init(&co);
    assert_int_equal(cascade_backend_cpu_new(&co, &be, &err), CASCADE_STATUS_OK);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", test_golden_path("pipeline_if_stage1"));
    o.model_dir = dir; /* its text_encoder and tokenizer are null */
    o.backend = be;
    cascade_error_init(&err);
    assert_int_not_equal(cascade_pipeline_load(&o, &p, &err), CASCADE_STATUS_OK);
    assert_null(p);
    assert_non_null(strstr(err.message, "tokenizer"));
    cascade_backend_free(be);
}

/* Stage II from stage I's image (strength2 < 1, IFImg2ImgSuperResolutionPipeline): it runs
 * the last steps2 * strength2 steps only, stage I is the same, and the result differs from a
 * start from pure noise; strength2 0 takes the folder's generation_defaults.json. */
static void test_pipeline_stage2_strength(void **state) {
    tiny *t = *state;
    if (!t->p) skip();
    cascade_generate_params g;
    cascade_generate_params_init(&g);
    g.prompt = "A red fox";
    g.steps1 = 2;
    g.steps2 = 4;
    g.max_length = 12;
    g.seed = 9;
    g.progress = count_stages;
    float        *full = NULL, *half = NULL;
    int64_t       shape[4];
    cascade_error err;
    cascade_error_init(&err);
    memset(stage_seen, 0, sizeof stage_seen);
    assert_int_equal(cascade_pipeline_generate(t->p, &g, &full, shape, &err), CASCADE_STATUS_OK);
    assert_int_equal(stage_seen[2], 4);
    g.strength2 = 0.5;
    memset(stage_seen, 0, sizeof stage_seen);
    assert_int_equal(cascade_pipeline_generate(t->p, &g, &half, shape, &err), CASCADE_STATUS_OK);
    assert_int_equal(stage_seen[1], 2);
    assert_int_equal(stage_seen[2], 2);
    size_t n = (size_t)(shape[1] * shape[2] * shape[3]);
    double diff = 0;
    for (size_t i = 0; i < n; i++)
        diff += fabs((double)full[i] - half[i]);
    assert_true(diff / (double)n > 1e-3);
    free(full), free(half);
}

/* Candidates as one stage-I-only batch (one generator per item), then one finished from its
 * kept stage I result: no stage I step runs, the prompt is not encoded again, and the image
 * equals a full run with that item's seed (stage II sees the same noise). */
static void test_pipeline_finish_candidate(void **state) {
    tiny *t = *state;
    if (!t->p) skip();
    enum { N = 3, S1 = 16, S2 = 32 };
    cascade_generate_params g;
    cascade_generate_params_init(&g);
    g.prompt = "A red fox";
    g.batch = N;
    g.seed_per_item = true;
    g.stage2 = false;
    g.steps1 = 3;
    g.steps2 = 2;
    g.max_length = 12;
    g.seed = 40;
    g.progress = count_stages;
    float                    *cands = NULL, *fin = NULL, *full = NULL;
    int64_t                   shape[4];
    cascade_pipeline_counters c0, c1, c2;
    cascade_error             err;
    cascade_error_init(&err);
    cascade_pipeline_get_counters(t->p, &c0);
    memset(stage_seen, 0, sizeof stage_seen);
    assert_int_equal(cascade_pipeline_generate(t->p, &g, &cands, shape, &err), CASCADE_STATUS_OK);
    assert_int_equal(shape[0], N);
    assert_int_equal(shape[2], S1);
    assert_int_equal(stage_seen[1], 3);
    cascade_pipeline_get_counters(t->p, &c1);
    assert_int_equal(c1.text_encodes - c0.text_encodes, 1);
    assert_int_equal(c1.stage_steps[0] - c0.stage_steps[0], 3);

    g.batch = 1;
    g.seed = 42; /* item 2 */
    g.stage2 = true;
    g.stage1_image = cands + 2 * 3 * S1 * S1;
    memset(stage_seen, 0, sizeof stage_seen);
    cascade_status st = cascade_pipeline_generate(t->p, &g, &fin, shape, &err);
    if (st) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
    assert_int_equal(shape[2], S2);
    assert_int_equal(stage_seen[1], 0);
    assert_int_equal(stage_seen[2], 2);
    cascade_pipeline_get_counters(t->p, &c2);
    assert_int_equal(c2.text_encodes, c1.text_encodes);
    assert_int_equal(c2.stage_steps[0], c1.stage_steps[0]);
    assert_int_equal(c2.stage_steps[1] - c1.stage_steps[1], 2);

    g.stage1_image = NULL;
    assert_int_equal(cascade_pipeline_generate(t->p, &g, &full, shape, &err), CASCADE_STATUS_OK);
    double worst = 0;
    for (int i = 0; i < 3 * S2 * S2; i++)
        worst = fmax(worst, fabs((double)fin[i] - full[i]));
    assert_true(worst < 1e-4);
    /* a stage I result without stage II to finish it is refused */
    g.stage2 = false;
    g.stage1_image = cands;
    free(fin);
    assert_int_equal(cascade_pipeline_generate(t->p, &g, &fin, shape, &err),
                     CASCADE_STATUS_INVALID_ARG);
    free(cands), free(full);
}

/* model_index.json's class names are checked: an IF folder whose U-Net, text encoder or
 * tokenizer is of another class is refused, naming the component and the class. */
static void test_pipeline_class_names(void **state) {
    tiny *t = *state;
    if (!t->p) skip();
    const char *swaps[][2] = {{"UNet2DConditionModel", "FooModel"},
                              {"T5EncoderModel", "BertModel"},
                              {"T5Tokenizer\"", "GPT2Tokenizer\""}};
    char        path[512];
    snprintf(path, sizeof path, "%s/model_index.json", t->dir);
    gchar *orig = NULL;
    assert_true(g_file_get_contents(path, &orig, NULL, NULL));
    for (size_t i = 0; i < 3; i++) {
        GString *s = g_string_new(orig);
        assert_true(g_string_replace(s, swaps[i][0], swaps[i][1], 1) == 1);
        assert_true(test_write_file(path, s->str, s->len));
        g_string_free(s, TRUE);
        cascade_pipeline        *p = NULL;
        cascade_pipeline_options o;
        cascade_error            err;
        cascade_pipeline_options_init(&o);
        cascade_error_init(&err);
        o.model_dir = t->dir;
        o.backend = t->be;
        assert_int_equal(cascade_pipeline_load(&o, &p, &err), CASCADE_STATUS_UNSUPPORTED);
        assert_null(p);
        char want[64];
        snprintf(want, sizeof want, "%.*s", (int)strcspn(swaps[i][1], "\""), swaps[i][1]);
        assert_non_null(strstr(err.message, want));
    }
    assert_true(test_write_file(path, orig, strlen(orig)));
    g_free(orig);
}

/* The inpainting blend on flat colours, where the answers are closed-form: the model's
 * drift (a uniform gain in linear light, here a dull cast over an orange original) is
 * measured on the ring outside the mask and removed, so the repainted flat area comes back
 * as the original's orange; outside the mask nothing changes; the edge fades in over
 * `feather` pixels (the pixel just inside is mostly the original's, the centre the
 * result's). */
static void test_inpaint_blend_flat(void **state) {
    (void)state;
    const int64_t H = 40, W = 40;
    const size_t  hw = (size_t)(H * W);
    float        *orig = malloc(3 * hw * sizeof *orig), *gen = malloc(3 * hw * sizeof *gen);
    float        *mask = calloc(hw, sizeof *mask), *out = malloc(3 * hw * sizeof *out);
    const double  o_rgb[3] = {0.8, 0.5, 0.3}, g_rgb[3] = {0.7, 0.55, 0.4}; /* sRGB 0..1 */
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < hw; i++) {
            orig[c * hw + i] = (float)(o_rgb[c] * 2 - 1);
            gen[c * hw + i] = (float)(g_rgb[c] * 2 - 1);
        }
    for (int64_t y = 10; y < 30; y++)
        for (int64_t x = 10; x < 30; x++)
            mask[y * W + x] = 1.0f;
    cascade_blend_options o;
    cascade_blend_options_init(&o);
    o.feather = 4;
    o.ring = 3;
    cascade_blend_report rep;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(cascade_inpaint_blend(orig, gen, mask, H, W, &o, out, &rep, &err),
                     CASCADE_STATUS_OK);
    for (int c = 0; c < 3; c++) {
        /* the gain that maps the result's linear colour onto the original's */
        double lo = pow((o_rgb[c] + 0.055) / 1.055, 2.4), lg = pow((g_rgb[c] + 0.055) / 1.055, 2.4);
        double want = fmin(fmax(lo / lg, 0.5), 2.0);
        assert_true(fabs(rep.gain[c] - want) < 1e-5); /* the images are float */
        for (size_t i = 0; i < hw; i++)
            if (mask[i] == 0.0f) assert_true(out[c * hw + i] == orig[c * hw + i]);
        assert_true(fabsf(out[c * hw + 20 * W + 20] - orig[c * hw + 20 * W + 20]) < 0.01f);
    }
    assert_true(rep.edge_before > 30.0); /* orange against the duller cast */
    assert_true(rep.edge_after < 2.0);
    /* without colour matching the centre keeps the model's colour; the feather still holds */
    o.match_colour = false;
    assert_int_equal(cascade_inpaint_blend(orig, gen, mask, H, W, &o, out, &rep, &err),
                     CASCADE_STATUS_OK);
    assert_true(fabsf(out[20 * W + 20] - gen[20 * W + 20]) < 1e-6f);
    float step = orig[0] - gen[0]; /* the red channel's difference */
    assert_true(fabsf(out[10 * W + 20] - orig[0]) < 0.25f * step); /* the edge: mostly orig */
    float mid = out[12 * W + 20]; /* 2 px in: part way */
    assert_true(mid > gen[0] + 0.1f * step && mid < orig[0] - 0.1f * step);
    /* feather 0: a hard paste */
    o.feather = 0;
    assert_int_equal(cascade_inpaint_blend(orig, gen, mask, H, W, &o, out, &rep, &err),
                     CASCADE_STATUS_OK);
    assert_true(out[10 * W + 20] == gen[10 * W + 20]);
    assert_int_equal(cascade_inpaint_blend(orig, gen, mask, 0, W, &o, out, NULL, &err),
                     CASCADE_STATUS_INVALID_ARG);
    free(orig), free(gen), free(mask), free(out);
}

/* --aspect / the dialog's aspect: the model's pixel count in the asked shape, each side on
 * the size multiple. Expected sizes worked out by hand: 256x256 at 16:9 is sqrt(65536 * 16/9)
 * = 341.3 -> 352 (11 x 32) wide and sqrt(65536 * 9/16) = 192 (6 x 32) high. */
static void test_aspect_sizes(void **state) {
    (void)state;
    cascade_error err;
    double        r = 0;
    int64_t       h = 0, w = 0;
    cascade_error_init(&err);
    assert_int_equal(cascade_aspect_parse("16:9", &r, &err), CASCADE_STATUS_OK);
    assert_true(fabs(r - 16.0 / 9.0) < 1e-12);
    cascade_aspect_size(256, 256, 32, r, &h, &w);
    assert_int_equal(w, 352);
    assert_int_equal(h, 192);
    assert_int_equal(cascade_aspect_parse("", &r, &err), CASCADE_STATUS_OK); /* 1:1 */
    cascade_aspect_size(256, 256, 32, r, &h, &w);
    assert_int_equal(w, 256);
    assert_int_equal(h, 256);
    assert_int_equal(cascade_aspect_parse("2:3", &r, &err), CASCADE_STATUS_OK);
    cascade_aspect_size(512, 512, 64, r, &h, &w); /* 418.0 -> 448, 627.1 -> 640 */
    assert_int_equal(w, 448);
    assert_int_equal(h, 640);
    assert_int_equal(cascade_aspect_parse("8:1", &r, &err), CASCADE_STATUS_OK);
    cascade_aspect_size(32, 32, 16, r, &h, &w); /* 90.5 -> 96; 11.3 -> never below one multiple */
    assert_int_equal(w, 96);
    assert_int_equal(h, 16);
    const char *bad[] = {"9:1", "1:9", "16x9", "16:", ":9", "0:1", "1:0", "-1:2", "1:2:3",
                         "1.5:1", " 1:1", "99999999999:1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cascade_error_init(&err);
        assert_int_equal(cascade_aspect_parse(bad[i], &r, &err), CASCADE_STATUS_INVALID_ARG);
        assert_non_null(strstr(err.message, bad[i]));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_guidance_combine),
        cmocka_unit_test(test_pipeline_resize_bilinear),
        cmocka_unit_test(test_pipeline_progress_and_batching),
        cmocka_unit_test(test_pipeline_guidance_in_loop),
        cmocka_unit_test(test_pipeline_cancel),
        cmocka_unit_test(test_pipeline_seed),
        cmocka_unit_test(test_pipeline_stage2_inputs),
        cmocka_unit_test(test_pipeline_inpaint_keeps_unmasked),
        cmocka_unit_test(test_pipeline_bad_args),
        cmocka_unit_test(test_pipeline_pixel_conversions),
        cmocka_unit_test(test_pipeline_load_errors),
        cmocka_unit_test(test_aspect_sizes),
        cmocka_unit_test(test_inpaint_blend_flat),
        cmocka_unit_test_setup_teardown(test_pipeline_generate_tiny, tiny_setup, tiny_teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_inpaint_tiny, tiny_setup, tiny_teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_class_names, tiny_setup, tiny_teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_stage2_strength, tiny_setup,
                                        tiny_teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_finish_candidate, tiny_setup,
                                        tiny_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
