/* The Stable Diffusion model set (cascade/sd-pipeline.h) on the golden pipeline folders:
 * from a prompt through the folder's own CLIP tokenizer and text encoder to the reference's
 * image, the x4 upscaler through the tiling path, and the errors a user can meet. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "cascade/safetensors.h"
#include "cascade/sd-pipeline.h"
#include "test-common.h"

typedef struct fixture {
    cascade_backend     *be;
    cascade_safetensors *io;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    cascade_cpu_options o;
    cascade_cpu_options_init(&o);
    if (cascade_backend_cpu_new(&o, &f->be, NULL)) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    cascade_safetensors_close(f->io);
    cascade_backend_free(f->be);
    free(f);
    return 0;
}

/* Item `item` of a golden tensor (batch first) as a malloc'd copy; *n its values. */
static float *golden_item(const cascade_safetensors *io, const char *name, int64_t item,
                          size_t *n) {
    cascade_tensor *t = NULL;
    cascade_error   err;
    cascade_error_init(&err);
    if (cascade_safetensors_load(io, name, CASCADE_DTYPE_F32, &t, &err)) {
        fprintf(stderr, "%s: %s\n", name, err.message);
        return NULL;
    }
    size_t per = (size_t)(cascade_tensor_numel(t) / t->shape[0]);
    float *out = malloc(per * sizeof *out);
    memcpy(out, (float *)t->data + (size_t)item * per, per * sizeof *out);
    cascade_tensor_free(t);
    *n = per;
    return out;
}

typedef struct replay {
    const cascade_safetensors *io;
    int64_t                    item;
} replay;

/* The reference's draws, item `item` only (its batch of prompts run here one at a time). */
static cascade_status replay_item(void *user, const char *what, float *out, size_t n,
                                  cascade_error *err) {
    replay *r = user;
    char    name[64];
    size_t  per = 0;
    snprintf(name, sizeof name, "noise/%s", what);
    float *v = golden_item(r->io, name, r->item, &per);
    if (!v || per != n) {
        free(v);
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: not %zu values", name, n);
    }
    memcpy(out, v, n * sizeof *out);
    free(v);
    return CASCADE_STATUS_OK;
}

/* Checks (x / 2 + 0.5).clamp(0, 1) of img against golden out_image item `item`. */
static void check_image(const cascade_safetensors *io, const char *name, int64_t item,
                        const float *img, size_t n, double atol) {
    size_t per = 0;
    float *want = golden_item(io, name, item, &per);
    assert_non_null(want);
    assert_int_equal(per, n);
    float *got = malloc(n * sizeof *got);
    for (size_t i = 0; i < n; i++) {
        float v = img[i] / 2 + 0.5f;
        got[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
    test_diff d;
    bool      ok = test_compare(got, want, n, atol, 1e-4, &d);
    if (!ok) test_diff_print(name, got, want, n, &d);
    assert_true(ok);
    free(got);
    free(want);
}

/* A prompt through the folder's CLIPTokenizer and CLIPTextModel gives the reference's image:
 * the case states that its prompt_embeds are exactly what these prompts encode to. */
static void test_sd_pipeline_prompt_matches_reference(void **state) {
    fixture *f = *state;
    if (!test_golden_exists("pipeline_sd/model_index.json")) skip();
    const char *dir = test_golden_path("pipeline_sd");
    assert_true(cascade_sd_pipeline_is_dir(dir));
    cascade_sd_pipeline *p = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    cascade_status       st = cascade_sd_pipeline_load(dir, f->be, CASCADE_DTYPE_F32, &p, &err);
    if (st) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
    assert_true(cascade_sd_pipeline_can(p, CASCADE_SD_TASK_TEXT2IMG));
    assert_false(cascade_sd_pipeline_can(p, CASCADE_SD_TASK_UPSCALE));
    assert_int_equal(cascade_safetensors_open(test_golden_path("pipeline_sd/io.safetensors"),
                                              &f->io, &err),
                     CASCADE_STATUS_OK);
    static const char *const prompts[] = {
        "a red fox in the snow",
        "An oil painting of a lighthouse at night, dramatic clouds, crashing waves, highly "
        "detailed!"};
    for (int64_t item = 0; item < 2; item++) {
        replay            r = {f->io, item};
        cascade_sd_params g;
        cascade_sd_params_init(&g);
        g.prompt = prompts[item];
        g.steps = 8;
        g.guidance = 7.5;
        g.height = g.width = 16;
        g.noise_fn = replay_item;
        g.noise_user = &r;
        float  *img = NULL;
        int64_t shape[4];
        st = cascade_sd_pipeline_generate(p, &g, &img, shape, &err);
        if (st) fprintf(stderr, "%s\n", err.message);
        assert_int_equal(st, CASCADE_STATUS_OK);
        assert_int_equal(shape[0], 1);
        assert_int_equal(shape[2], 16);
        check_image(f->io, "out_image", item, img, (size_t)(3 * 16 * 16), 1e-5);
        free(img);
    }
    /* this folder is a text-to-image one: it cannot upscale, and says so */
    cascade_sd_params g;
    cascade_sd_params_init(&g);
    g.prompt = "x";
    float  *img = NULL;
    int64_t shape[4];
    float   tiny[3 * 8 * 8] = {0};
    assert_int_equal(cascade_sd_pipeline_upscale(p, &g, tiny, 8, 8, &img, shape, &err),
                     CASCADE_STATUS_UNSUPPORTED);
    assert_null(img);
    /* sizes that are not multiples of the VAE and U-Net factors are refused up front */
    g.height = 20;
    cascade_error_init(&err);
    assert_int_equal(cascade_sd_pipeline_generate(p, &g, &img, shape, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "multiples"));
    cascade_sd_pipeline_free(p);
}

/* The x4 upscaler through the model-level (tiled) path: one tile covering the image is
 * exactly the reference's run, given its embeddings and draws. */
static void test_sd_pipeline_upscale_matches_reference(void **state) {
    fixture *f = *state;
    if (!test_golden_exists("pipeline_sd_x4_upscaler/model_index.json")) skip();
    cascade_sd_pipeline *p = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    cascade_status       st = cascade_sd_pipeline_load(test_golden_path("pipeline_sd_x4_upscaler"),
                                                       f->be, CASCADE_DTYPE_F32, &p, &err);
    if (st) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
    assert_true(cascade_sd_pipeline_can(p, CASCADE_SD_TASK_UPSCALE));
    assert_int_equal(
        cascade_safetensors_open(test_golden_path("pipeline_sd_x4_upscaler/io.safetensors"),
                                 &f->io, &err),
        CASCADE_STATUS_OK);
    size_t n_img, n_emb, n_neg;
    float *low = golden_item(f->io, "image", 0, &n_img);
    float *emb = golden_item(f->io, "prompt_embeds", 0, &n_emb);
    float *neg = golden_item(f->io, "negative_prompt_embeds", 0, &n_neg);
    assert_non_null(low);
    for (size_t i = 0; i < n_img; i++)
        low[i] = 2 * low[i] - 1;
    replay            r = {f->io, 0};
    cascade_sd_params g;
    cascade_sd_params_init(&g);
    g.prompt_embeds = emb;
    g.negative_embeds = neg;
    g.embeds_seq = 77;
    g.embeds_dim = (int64_t)n_emb / 77;
    g.steps = 8;
    g.guidance = 9.0;
    g.noise_level = 20;
    g.noise_fn = replay_item;
    g.noise_user = &r;
    float  *img = NULL;
    int64_t shape[4];
    st = cascade_sd_pipeline_upscale(p, &g, low, 16, 16, &img, shape, &err);
    if (st) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
    assert_int_equal(shape[2], 64);
    assert_int_equal(shape[3], 64);
    check_image(f->io, "out_image", 0, img, (size_t)(3 * 64 * 64), 2e-5);
    free(img);
    img = NULL;

    /* a noise level above the folder's max_noise_level (350) is refused */
    g.noise_level = 351;
    cascade_error_init(&err);
    assert_int_equal(cascade_sd_pipeline_upscale(p, &g, low, 16, 16, &img, shape, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "max_noise_level"));

    /* no text encoder in this folder: a prompt alone cannot be encoded */
    cascade_sd_params_init(&g);
    g.prompt = "a fox";
    cascade_error_init(&err);
    assert_int_equal(cascade_sd_pipeline_upscale(p, &g, low, 16, 16, &img, shape, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "text encoder"));
    free(low);
    free(emb);
    free(neg);
    cascade_sd_pipeline_free(p);
}

/* An image that needs several tiles (and is not a multiple of the U-Net's factor) comes back
 * 4x in each direction, finite, and each tile's noise is its own (seeded runs repeat). */
static void test_sd_pipeline_upscale_tiles(void **state) {
    fixture *f = *state;
    if (!test_golden_exists("pipeline_sd_x4_upscaler/model_index.json")) skip();
    cascade_sd_pipeline *p = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(cascade_sd_pipeline_load(test_golden_path("pipeline_sd_x4_upscaler"), f->be,
                                              CASCADE_DTYPE_F32, &p, &err),
                     CASCADE_STATUS_OK);
    const int64_t H = 21, W = 37, D = 32;
    float        *low = malloc(sizeof *low * (size_t)(3 * H * W));
    float        *emb = calloc((size_t)(77 * D), sizeof *emb);
    test_fill_uniform(low, (size_t)(3 * H * W), 7, -1, 1);
    test_fill_uniform(emb, (size_t)(77 * D), 8, -1, 1);
    cascade_sd_params g;
    cascade_sd_params_init(&g);
    g.prompt_embeds = emb;
    g.embeds_seq = 77;
    g.embeds_dim = D;
    g.guidance = 1.0;
    g.steps = 2;
    g.tile = 16;
    g.seed = 5;
    float  *a = NULL, *b = NULL;
    int64_t shape[4];
    cascade_status st = cascade_sd_pipeline_upscale(p, &g, low, H, W, &a, shape, &err);
    if (st) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
    assert_int_equal(shape[2], 4 * H);
    assert_int_equal(shape[3], 4 * W);
    size_t n = (size_t)(3 * 16 * H * W);
    for (size_t i = 0; i < n; i++)
        assert_true(isfinite(a[i]));
    assert_int_equal(cascade_sd_pipeline_upscale(p, &g, low, H, W, &b, shape, &err),
                     CASCADE_STATUS_OK);
    assert_memory_equal(a, b, n * sizeof *a);
    free(a);
    free(b);
    free(low);
    free(emb);
    cascade_sd_pipeline_free(p);
}

/* Folders that are not Stable Diffusion pipelines are refused by class, naming it. */
static void test_sd_pipeline_refuses_other_classes(void **state) {
    fixture *f = *state;
    if (!test_golden_exists("pipeline_if_stage1/model_index.json")) skip();
    const char *dir = test_golden_path("pipeline_if_stage1");
    assert_false(cascade_sd_pipeline_is_dir(dir));
    cascade_sd_pipeline *p = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(cascade_sd_pipeline_load(dir, f->be, CASCADE_DTYPE_F32, &p, &err),
                     CASCADE_STATUS_UNSUPPORTED);
    assert_null(p);
    assert_non_null(strstr(err.message, "IFPipeline"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sd_pipeline_prompt_matches_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sd_pipeline_upscale_matches_reference, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sd_pipeline_upscale_tiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sd_pipeline_refuses_other_classes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
