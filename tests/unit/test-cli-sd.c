/* The `cascade` command on Stable Diffusion folders and the x4 diffusion upscaler, end to end:
 * generate / img2img / inpaint on the golden SD pipeline folder, upscale with an x4 folder
 * assembled from the golden parts, the IF cascade through stage III and at other sizes. */
#include <glib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cascade/image-io.h"
#include "cli-run.h"
#include "test-common.h"
#include "tiny-cascade.h"

typedef struct fixture {
    char *tmp; /* a temp folder for outputs */
    char *sd;  /* the golden SD pipeline folder */
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->tmp = test_make_tmpdir();
    f->sd = g_strdup(test_golden_path("pipeline_sd"));
    *state = f;
    return f->tmp ? 0 : -1;
}

static int teardown(void **state) {
    fixture *f = *state;
    tiny_cascade_rm_tree(f->tmp);
    free(f->tmp);
    g_free(f->sd);
    free(f);
    return 0;
}

static char *tmp_path(const fixture *f, const char *name) {
    return g_build_filename(f->tmp, name, NULL);
}

/* A w x h PNG (3 or 4 channels) of a seeded pattern. */
static void write_pattern_c(const char *path, int64_t w, int64_t h, int32_t ch, uint64_t seed) {
    cascade_image *im = NULL;
    cascade_error  err;
    cascade_error_init(&err);
    assert_int_equal(cascade_image_new(w, h, ch, &im, &err), CASCADE_STATUS_OK);
    float *v = malloc(sizeof *v * (size_t)(w * h * ch));
    test_fill_uniform(v, (size_t)(w * h * ch), seed, 0, 255);
    for (int64_t i = 0; i < w * h * ch; i++)
        im->pixels[i] = (uint8_t)v[i];
    assert_int_equal(cascade_image_write_png(path, im, &err), CASCADE_STATUS_OK);
    free(v);
    cascade_image_free(im);
}

static void write_pattern(const char *path, int64_t w, int64_t h, uint64_t seed) {
    write_pattern_c(path, w, h, 3, seed);
}

/* generate --model SD-DIR: the model's size (16 px), the same seed gives the same bytes, and a
 * size off the model's multiple is refused before any work. */
static void test_cli_sd_generate(void **state) {
    fixture *f = *state;
    if (!test_golden_exists("pipeline_sd/model_index.json")) skip();
    char  *a = tmp_path(f, "a.png"), *b = tmp_path(f, "b.png");
    result r = run_cli((const char *[]){"generate", "--model", f->sd, "a red fox in the snow",
                                        "--steps", "4", "--seed", "11", "-q", "-o", a, NULL});
    if (r.status) fail_msg("generate: %s", r.err);
    result_clear(&r);
    r = run_cli((const char *[]){"generate", "--model", f->sd, "a red fox in the snow", "--steps",
                                 "4", "--seed", "11", "-q", "-o", b, NULL});
    assert_int_equal(r.status, 0);
    result_clear(&r);
    cascade_image *ia = read_png(a), *ib = read_png(b);
    assert_int_equal(ia->width, 16);
    assert_int_equal(ia->height, 16);
    assert_memory_equal(ia->pixels, ib->pixels, 16 * 16 * 3);
    cascade_image_free(ia);
    cascade_image_free(ib);
    r = run_cli((const char *[]){"generate", "--model", f->sd, "x", "--width", "18", "-q", "-o", a,
                                 NULL});
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "multiples"));
    result_clear(&r);
    /* a batch that cannot fit is refused before its first step, with the numbers (issue 14) */
    setenv("CASCADE_MEMORY_BUDGET_MIB", "1", 1);
    r = run_cli((const char *[]){"generate", "--model", f->sd, "x", "--batch", "64", "--width",
                                 "256", "--height", "256", "-o", a, NULL});
    unsetenv("CASCADE_MEMORY_BUDGET_MIB");
    assert_int_equal(r.status, 1);
    if (!strstr(r.err, "MiB is available")) fail_msg("%s", r.err);
    assert_null(strstr(r.err, "step 1/"));
    result_clear(&r);
    g_free(a), g_free(b);
}

/* img2img and inpaint on an SD folder keep the input's size (even off the model's multiple);
 * inpaint keeps every unmasked pixel exactly. */
static void test_cli_sd_img2img_and_inpaint(void **state) {
    fixture *f = *state;
    if (!test_golden_exists("pipeline_sd/model_index.json")) skip();
    char *in = tmp_path(f, "in.png"), *mask = tmp_path(f, "mask.png");
    char *out = tmp_path(f, "out.png"), *out2 = tmp_path(f, "out2.png");
    write_pattern(in, 18, 14, 3);
    cascade_image *m = NULL;
    cascade_error  err;
    cascade_error_init(&err);
    assert_int_equal(cascade_image_new(18, 14, 3, &m, &err), CASCADE_STATUS_OK);
    memset(m->pixels, 0, 18 * 14 * 3);
    for (int y = 4; y < 10; y++) /* a white block to repaint */
        memset(m->pixels + (y * 18 + 5) * 3, 255, 8 * 3);
    assert_int_equal(cascade_image_write_png(mask, m, &err), CASCADE_STATUS_OK);
    cascade_image_free(m);

    result r = run_cli((const char *[]){"img2img", "--model", f->sd, "--image", in, "a fox",
                                        "--strength", "0.5", "--steps", "4", "-q", "-o", out, NULL});
    if (r.status) fail_msg("img2img: %s", r.err);
    result_clear(&r);
    cascade_image *o = read_png(out);
    assert_int_equal(o->width, 18);
    assert_int_equal(o->height, 14);
    cascade_image_free(o);

    r = run_cli((const char *[]){"inpaint", "--model", f->sd, "--image", in, "--mask", mask, "a fox",
                                 "--steps", "4", "-q", "-o", out2, NULL});
    if (r.status) fail_msg("inpaint: %s", r.err);
    result_clear(&r);
    cascade_image *src = read_png(in), *res = read_png(out2);
    assert_int_equal(res->width, 18);
    int changed = 0;
    for (int y = 0; y < 14; y++)
        for (int x = 0; x < 18; x++) {
            bool inside = y >= 4 && y < 10 && x >= 5 && x < 13;
            for (int c = 0; c < 3; c++) {
                uint8_t s = src->pixels[(y * 18 + x) * 3 + c], d = res->pixels[(y * 18 + x) * 3 + c];
                if (!inside) assert_int_equal(s, d);
                else changed += s != d;
            }
        }
    assert_true(changed > 0);
    cascade_image_free(src);
    cascade_image_free(res);

    /* an RGBA input stays RGBA: alpha untouched outside the mask, opaque inside */
    write_pattern_c(in, 18, 14, 4, 9);
    r = run_cli((const char *[]){"inpaint", "--model", f->sd, "--image", in, "--mask", mask, "a fox",
                                 "--steps", "2", "-q", "-o", out2, NULL});
    if (r.status) fail_msg("inpaint RGBA: %s", r.err);
    result_clear(&r);
    src = read_png(in);
    res = read_png(out2);
    assert_int_equal(res->channels, 4);
    for (int y = 0; y < 14; y++)
        for (int x = 0; x < 18; x++) {
            bool    inside = y >= 4 && y < 10 && x >= 5 && x < 13;
            uint8_t a = res->pixels[(y * 18 + x) * 4 + 3];
            assert_int_equal(a, inside ? 255 : src->pixels[(y * 18 + x) * 4 + 3]);
        }
    cascade_image_free(src);
    cascade_image_free(res);
    g_free(in), g_free(mask), g_free(out), g_free(out2);
}

/* upscale --model X4-DIR: 4x in each direction for a size that needs several tiles; a GAN
 * option that the diffusion upscaler has no use for is not silently taken. */
static void test_cli_sd_upscale(void **state) {
    fixture *f = *state;
    char    *x4 = tiny_cascade_make_x4(f->tmp);
    if (!x4) skip();
    char *in = tmp_path(f, "low.png"), *out = tmp_path(f, "big.png");
    write_pattern(in, 21, 12, 5);
    result r = run_cli((const char *[]){"upscale", "--model", x4, "--prompt", "a fox", in, "--tile",
                                        "16", "--steps", "2", "-q", "-o", out, NULL});
    if (r.status) fail_msg("upscale: %s", r.err);
    result_clear(&r);
    cascade_image *o = read_png(out);
    assert_int_equal(o->width, 84);
    assert_int_equal(o->height, 48);
    cascade_image_free(o);
    r = run_cli((const char *[]){"upscale", "--model", x4, "--prompt", "a fox", in,
                                 "--noise-level", "400", "-q", "-o", out, NULL});
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "max_noise_level"));
    result_clear(&r);
    g_free(x4), g_free(in), g_free(out);
}

/* generate --stage3 X4-DIR: the IF cascade runs I -> II -> III, 4x stage II's size. */
static void test_cli_if_cascade_stage3(void **state) {
    fixture *f = *state;
    char    *root = tiny_cascade_make();
    if (!root) skip();
    char *x4 = tiny_cascade_make_x4(root);
    if (!x4) {
        tiny_cascade_rm_tree(root);
        free(root);
        skip();
    }
    char  *out = tmp_path(f, "if3.png");
    result r = run_cli((const char *[]){"generate", "-m", root, "a red fox", "--steps", "3",
                                        "--sr-steps", "2", "--stage3", x4, "--stage3-steps", "2",
                                        "--seed", "1", "-q", "-o", out, NULL});
    if (r.status) fail_msg("generate --stage3: %s", r.err);
    result_clear(&r);
    cascade_image *o = read_png(out);
    assert_int_equal(o->width, 128); /* stage II of the tiny cascade makes 32 px */
    assert_int_equal(o->height, 128);
    cascade_image_free(o);
    /* a stage III folder that is not an upscaler is named as such */
    r = run_cli((const char *[]){"generate", "-m", root, "a red fox", "--steps", "2", "--sr-steps",
                                 "2", "--stage3", f->sd, "-q", "-o", out, NULL});
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "not an x4 upscaler"));
    result_clear(&r);
    tiny_cascade_rm_tree(root);
    free(root);
    g_free(x4), g_free(out);
}

/* generate --width/--height: the IF cascade at a non-square size (the U-Nets are
 * convolutional); a size off the multiple is refused with the multiple named. */
static void test_cli_if_generate_size(void **state) {
    fixture *f = *state;
    char    *root = tiny_cascade_make();
    if (!root) skip();
    char  *out = tmp_path(f, "wide.png");
    result r = run_cli((const char *[]){"generate", "-m", root, "a red fox", "--steps", "2",
                                        "--sr-steps", "2", "--width", "48", "--height", "32",
                                        "-q", "-o", out, NULL});
    if (r.status) fail_msg("generate --width: %s", r.err);
    result_clear(&r);
    cascade_image *o = read_png(out);
    assert_int_equal(o->width, 48);
    assert_int_equal(o->height, 32);
    cascade_image_free(o);
    r = run_cli((const char *[]){"generate", "-m", root, "x", "--steps", "2", "--sr-steps", "2",
                                 "--width", "50", "-q", "-o", out, NULL});
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "multiples of"));
    result_clear(&r);
    /* --aspect: a wide image at about the square's pixel count; refused with a size */
    r = run_cli((const char *[]){"generate", "-m", root, "a red fox", "--steps", "2",
                                 "--sr-steps", "2", "--aspect", "3:1", "-q", "-o", out, NULL});
    if (r.status) fail_msg("generate --aspect: %s", r.err);
    result_clear(&r);
    o = read_png(out);
    assert_true(o->width >= 2 * o->height);
    assert_int_equal(o->width % 8, 0);
    assert_int_equal(o->height % 8, 0);
    cascade_image_free(o);
    r = run_cli((const char *[]){"generate", "-m", root, "x", "--aspect", "3:1", "--width", "48",
                                 "-o", out, NULL});
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "--aspect"));
    result_clear(&r);
    tiny_cascade_rm_tree(root);
    free(root);
    g_free(out);
}

/* --batch: every file says its own seed, and that seed with --batch 1 makes that very image
 * (per-item seeds), for the IF cascade and for a Stable Diffusion folder. */
static void test_cli_batch_items_reproducible(void **state) {
    fixture *f = *state;
    char    *root = tiny_cascade_make();
    if (!root) skip();
    const char *models[] = {root, test_golden_exists("pipeline_sd/model_index.json") ? f->sd : NULL};
    for (size_t k = 0; k < 2 && models[k]; k++) {
        char  *out = tmp_path(f, "batch.png"), *one = tmp_path(f, "one.png");
        char  *second = tmp_path(f, "batch-2.png");
        /* the SD folder has no stage II: its options end before --sr-steps */
        const char *sr = k == 0 ? "--sr-steps" : NULL;
        result      r = run_cli((const char *[]){"generate", "-m", models[k], "a red fox",
                                                 "--seed", "40", "--batch", "2", "-o", out,
                                                 "--steps", "2", sr, "2", NULL});
        if (r.status) fail_msg("generate --batch: %s", r.err);
        assert_non_null(strstr(r.err, "batch-1.png"));
        assert_non_null(strstr(r.err, "seed 40)"));
        assert_non_null(strstr(r.err, "seed 41)"));
        result_clear(&r);
        r = run_cli((const char *[]){"generate", "-m", models[k], "a red fox", "--seed", "41",
                                     "-q", "-o", one, "--steps", "2", sr, "2", NULL});
        if (r.status) fail_msg("generate --seed 41: %s", r.err);
        result_clear(&r);
        /* the same noise: equal up to the rounding of a batch of two against one in the
         * backend's sums (a byte here and there), while the first item is another image */
        char          *first = tmp_path(f, "batch-1.png");
        cascade_image *a = read_png(second), *b = read_png(one), *c = read_png(first);
        assert_int_equal(a->width, b->width);
        assert_int_equal(a->height, b->height);
        size_t n = (size_t)a->width * a->height * 3;
        int    same_max = 0, other_max = 0;
        for (size_t i = 0; i < n; i++) {
            same_max = MAX(same_max, abs((int)a->pixels[i] - (int)b->pixels[i]));
            other_max = MAX(other_max, abs((int)c->pixels[i] - (int)b->pixels[i]));
        }
        if (same_max > 2) fail_msg("%s: item 2 of the batch differs by %d", models[k], same_max);
        assert_true(other_max > 8);
        cascade_image_free(a);
        cascade_image_free(b);
        cascade_image_free(c);
        g_free(first);
        g_free(out), g_free(one), g_free(second);
    }
    tiny_cascade_rm_tree(root);
    free(root);
}

/* A prompt longer than the model reads is cut, and the CLI says so (IF and SD); one that fits
 * gets no warning. */
static void test_cli_long_prompt_warned(void **state) {
    fixture *f = *state;
    char    *root = tiny_cascade_make();
    if (!root) skip();
    GString *lng = g_string_new("");
    for (int i = 0; i < 120; i++)
        g_string_append(lng, "red apple ");
    const char *models[] = {root, test_golden_exists("pipeline_sd/model_index.json") ? f->sd : NULL};
    for (size_t k = 0; k < 2 && models[k]; k++) {
        char       *out = tmp_path(f, "long.png");
        const char *sr = k == 0 ? "--sr-steps" : NULL;
        result      r = run_cli((const char *[]){"generate", "-m", models[k], lng->str, "-q", "-o",
                                                 out, "--steps", "1", sr, "1", NULL});
        if (r.status) fail_msg("generate (long prompt): %s", r.err);
        assert_non_null(strstr(r.err, "warning: the prompt is"));
        assert_non_null(strstr(r.err, "the rest has no effect"));
        result_clear(&r);
        r = run_cli((const char *[]){"generate", "-m", models[k], "red apple", "-q", "-o", out,
                                     "--steps", "1", sr, "1", NULL});
        assert_int_equal(r.status, 0);
        assert_null(strstr(r.err, "warning"));
        result_clear(&r);
        g_free(out);
    }
    g_string_free(lng, TRUE);
    tiny_cascade_rm_tree(root);
    free(root);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_sd_generate),
        cmocka_unit_test(test_cli_sd_img2img_and_inpaint),
        cmocka_unit_test(test_cli_sd_upscale),
        cmocka_unit_test(test_cli_if_cascade_stage3),
        cmocka_unit_test(test_cli_if_generate_size),
        cmocka_unit_test(test_cli_batch_items_reproducible),
        cmocka_unit_test(test_cli_long_prompt_warned),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
