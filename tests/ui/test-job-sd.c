/* CascadeJob on Stable Diffusion folders and IF variations: the golden pipeline_sd folder
 * (16 px) as the model for generate, inpaint and variations, an x4 diffusion upscaler folder
 * assembled as tiny_cascade_make_x4 does as the upscaler, and the tiny IF cascade for
 * variations and stage III. Each job result is byte-identical to the `cascade` command run with the
 * same folder, seed and settings (the command is checked against the golden vectors in
 * tests/golden); unmasked pixels and alpha are kept; the cache loads a folder once. */
#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h> /* after the headers it needs */

#include "cascade-job.h"
#include <png.h>

#include "job-runner.h"
#include "test-common.h"
#include "tiny-cascade.h"

static char *g_tmp, *g_sd, *g_x4, *g_if;

static int setup(void **state) {
    (void)state;
    g_tmp = g_dir_make_tmp("cascade-job-sd-XXXXXX", NULL);
    if (test_golden_exists("pipeline_sd/model_index.json"))
        g_sd = g_strdup(test_golden_path("pipeline_sd"));
    g_x4 = g_tmp ? tiny_cascade_make_x4(g_tmp) : NULL;
    g_if = tiny_cascade_make();
    return 0;
}

static int teardown(void **state) {
    (void)state;
    if (g_if) tiny_cascade_rm_tree(g_if);
    if (g_tmp) tiny_cascade_rm_tree(g_tmp);
    free(g_if);
    g_free(g_tmp), g_free(g_sd), g_free(g_x4);
    return 0;
}

static CascadeRecipe recipe(CascadeMode mode, const char *model) {
    CascadeRecipe r;
    cascade_recipe_init(&r);
    r.mode = mode;
    g_free(r.prompt);
    r.prompt = g_strdup("a red fox");
    g_free(r.model_dir);
    r.model_dir = g_strdup(model);
    g_free(r.backend);
    r.backend = g_strdup("cpu");
    r.random_seed = FALSE;
    r.seed = 7;
    r.steps1 = 3;
    r.guidance1 = 7.0;
    r.stage2 = FALSE;
    return r;
}

/* A w x h test picture (RGBA when channels is 4: alpha 100 + x). */
static CascadeImage *picture(gint w, gint h, gint channels) {
    CascadeImage *im = cascade_job_image_new(w, h, channels);
    for (gint i = 0; i < w * h; i++) {
        gint x = i % w, y = i / w;
        im->pixels[i * channels + 0] = (guint8)(x * 15);
        im->pixels[i * channels + 1] = (guint8)(y * 15);
        im->pixels[i * channels + 2] = (guint8)(x < 8 && y < 8 ? 20 : 200);
        if (channels == 4) im->pixels[i * 4 + 3] = (guint8)(100 + x);
    }
    return im;
}

static char *write_png(const char *name, const CascadeImage *im) {
    char     *path = g_build_filename(g_tmp, name, NULL);
    png_image png = {.version = PNG_IMAGE_VERSION,
                     .width = (png_uint_32)im->width,
                     .height = (png_uint_32)im->height};
    png.format = im->channels == 4   ? PNG_FORMAT_RGBA
                 : im->channels == 3 ? PNG_FORMAT_RGB
                                     : PNG_FORMAT_GRAY;
    assert_true(png_image_write_to_file(&png, path, 0, im->pixels, 0, NULL));
    return path;
}

/* Runs `cascade args...` (-o OUT.png appended) and returns OUT's RGB pixels, w x h. */
static guint8 *cli_rgb(const char *const *args, gint w, gint h) {
    const char *cli = getenv("CASCADE_CLI");
    if (!cli || !g_file_test(cli, G_FILE_TEST_IS_EXECUTABLE)) return NULL;
    char      *out = g_build_filename(g_tmp, "cli.png", NULL);
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (char *)cli);
    for (; *args; args++)
        g_ptr_array_add(argv, (char *)*args);
    g_ptr_array_add(argv, "-q");
    g_ptr_array_add(argv, "-o");
    g_ptr_array_add(argv, out);
    g_ptr_array_add(argv, NULL);
    gint   wait = 0;
    gchar *err = NULL;
    assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                             NULL, NULL, &err, &wait, NULL));
    if (WEXITSTATUS(wait)) fail_msg("cascade failed: %s", err);
    g_free(err);
    png_image png = {.version = PNG_IMAGE_VERSION};
    assert_true(png_image_begin_read_from_file(&png, out));
    assert_int_equal(png.width, w);
    assert_int_equal(png.height, h);
    /* read as RGBA (an RGBA result would otherwise be composited onto a background) */
    png.format = PNG_FORMAT_RGBA;
    guint8 *rgba = g_malloc(PNG_IMAGE_SIZE(png)), *px = g_malloc((gsize)(w * h * 3));
    assert_true(png_image_finish_read(&png, NULL, rgba, 0, NULL));
    for (gint i = 0; i < w * h; i++)
        memcpy(px + i * 3, rgba + i * 4, 3);
    g_free(rgba);
    g_unlink(out);
    g_free(out);
    g_ptr_array_unref(argv);
    return px;
}

/* RGB of an RGB/RGBA result equals want (RGB). */
static void assert_rgb_equal(const CascadeImage *im, const guint8 *want) {
    for (gint i = 0; i < im->width * im->height; i++)
        assert_memory_equal(im->pixels + i * im->channels, want + i * 3, 3);
}

/* The same within tol levels (the job blends an inpainting result in after rounding it to
 * 8 bits, the CLI before). */
static void assert_rgb_close(const CascadeImage *im, const guint8 *want, gint tol) {
    for (gint i = 0; i < im->width * im->height; i++)
        for (gint c = 0; c < 3; c++)
            if (abs((gint)im->pixels[i * im->channels + c] - (gint)want[i * 3 + c]) > tol)
                fail_msg("pixel %d channel %d: %d, want %d", i, c,
                         im->pixels[i * im->channels + c], want[i * 3 + c]);
}

/* Text to image with an SD folder: the model's 16 px, seeds 7 and 8 distinct, item 0 what
 * `cascade generate --model SD-DIR` makes, progress of one stage, no latent previews. */
static void test_sd_generate(void **state) {
    (void)state;
    if (!g_sd) skip();
    CascadeRecipe r = recipe(CASCADE_MODE_GENERATE, g_sd);
    r.batch = 2;
    r.stage2 = TRUE; /* no stage II in an SD folder: one stage whatever the recipe says */
    assert_int_equal(cascade_job_stages(&r), 1);
    run_state s = job_runner_run(&r, NULL, NULL, FALSE, NULL);
    expect_ok(&s);
    assert_int_equal(s.results->len, 2);
    CascadeImage *a = s.results->pdata[0], *b = s.results->pdata[1];
    assert_int_equal(a->width, 16);
    assert_int_equal(a->height, 16);
    assert_int_equal(a->channels, 3);
    assert_true(s.seeds[0] == 7 && s.seeds[1] == 8);
    assert_memory_not_equal(a->pixels, b->pixels, 16 * 16 * 3);
    assert_int_equal(s.max_stage, 1);
    assert_int_equal(s.last_step, s.last_total);
    assert_int_equal(s.previews, 0);
    const char *args[] = {"generate", "-b", "cpu",        "-m", g_sd,        "--seed", "7",
                          "--steps",  "3",  "--guidance", "7",  "a red fox", NULL};
    guint8     *want = cli_rgb(args, 16, 16);
    if (want) assert_rgb_equal(a, want);
    g_free(want);
    run_state_clear(&s);
    cascade_recipe_clear(&r);
}

/* Inpainting with an SD folder: the crop's size and alpha back, unmasked pixels exactly the
 * input's, the masked ones what `cascade inpaint --model SD-DIR` paints. */
static void test_sd_inpaint(void **state) {
    (void)state;
    if (!g_sd) skip();
    CascadeImage *im = picture(16, 16, 4), *mk = cascade_job_image_new(16, 16, 1);
    for (gint i = 0; i < 16 * 16; i++)
        mk->pixels[i] = i % 16 >= 4 && i % 16 < 12 && i / 16 >= 3 && i / 16 < 13 ? 255 : 0;
    CascadeRecipe r = recipe(CASCADE_MODE_INPAINT, g_sd);
    run_state     s = job_runner_run(&r, im, mk, FALSE, NULL);
    expect_ok(&s);
    CascadeImage *out = s.results->pdata[0];
    assert_int_equal(out->width, 16);
    assert_int_equal(out->channels, 4);
    gint changed = 0;
    for (gint i = 0; i < 16 * 16; i++)
        if (!mk->pixels[i])
            assert_memory_equal(out->pixels + i * 4, im->pixels + i * 4, 4);
        else
            changed += memcmp(out->pixels + i * 4, im->pixels + i * 4, 3) != 0;
    assert_true(changed > 8 * 10 / 2);
    char       *in = write_png("in.png", im), *mask = write_png("mask.png", mk);
    const char *args[] = {"inpaint", "-b",      "cpu", "-m",         g_sd, "--seed",
                          "7",       "--steps", "3",   "--guidance", "7",  "--image",
                          in,        "--mask",  mask,  "a red fox",  NULL};
    guint8     *want = cli_rgb(args, 16, 16);
    if (want) assert_rgb_close(out, want, 1);
    g_free(want), g_free(in), g_free(mask);
    run_state_clear(&s);
    cascade_recipe_clear(&r);
    cascade_job_image_free(im);
    cascade_job_image_free(mk);
}

/* Variations of a layer with an SD folder (img2img): the layer's size and alpha, what
 * `cascade img2img --strength` makes, and another strength gives other pixels. */
static void test_sd_variations(void **state) {
    (void)state;
    if (!g_sd) skip();
    CascadeImage *im = picture(16, 16, 4);
    CascadeRecipe r = recipe(CASCADE_MODE_VARIATIONS, g_sd);
    r.strength = 0.6;
    run_state s = job_runner_run(&r, im, NULL, FALSE, NULL);
    expect_ok(&s);
    CascadeImage *out = s.results->pdata[0];
    assert_int_equal(out->width, 16);
    assert_int_equal(out->channels, 4);
    for (gint i = 0; i < 16 * 16; i++)
        assert_int_equal(out->pixels[i * 4 + 3], im->pixels[i * 4 + 3]);
    char       *in = write_png("vary.png", im);
    const char *args[] = {"img2img", "-b",      "cpu", "-m",         g_sd, "--seed",
                          "7",       "--steps", "3",   "--guidance", "7",  "--strength",
                          "0.6",     "--image", in,    "a red fox",  NULL};
    guint8     *want = cli_rgb(args, 16, 16);
    if (want) assert_rgb_equal(out, want);
    r.strength = 1.0;
    run_state t = job_runner_run(&r, im, NULL, FALSE, NULL);
    expect_ok(&t);
    assert_memory_not_equal(((CascadeImage *)t.results->pdata[0])->pixels, out->pixels,
                            16 * 16 * 4);
    /* a variation must change something: strength 0 is refused before the run */
    r.strength = 0.0;
    CascadeJobCallbacks cb = {NULL, NULL, job_runner_on_done, NULL};
    GError             *e = NULL;
    assert_null(cascade_job_start(&r, im, NULL, &cb, &e));
    assert_non_null(strstr(e->message, "strength"));
    g_error_free(e);
    g_free(want), g_free(in);
    run_state_clear(&s);
    run_state_clear(&t);
    cascade_recipe_clear(&r);
    cascade_job_image_free(im);
}

/* Variations with the IF cascade (inpainting with a full mask from strength): stage I's
 * 16 px at the layer's size, alpha kept, what `cascade img2img --no-sr` makes. */
static void test_if_variations(void **state) {
    (void)state;
    if (!g_if) skip();
    CascadeImage *im = picture(16, 16, 4);
    CascadeRecipe r = recipe(CASCADE_MODE_VARIATIONS, g_if);
    r.strength = 0.5;
    run_state s = job_runner_run(&r, im, NULL, FALSE, NULL);
    expect_ok(&s);
    CascadeImage *out = s.results->pdata[0];
    assert_int_equal(out->width, 16);
    for (gint i = 0; i < 16 * 16; i++)
        assert_int_equal(out->pixels[i * 4 + 3], im->pixels[i * 4 + 3]);
    assert_memory_not_equal(out->pixels, im->pixels, 16 * 16 * 4);
    char       *in = write_png("vary-if.png", im);
    const char *args[] = {"img2img",    "-b",  "cpu",     "-m", g_if,         "--no-sr",
                          "--seed",     "7",   "--steps", "3",  "--guidance", "7",
                          "--strength", "0.5", "--image", in,   "a red fox",  NULL};
    guint8     *want = cli_rgb(args, 16, 16);
    if (want) assert_rgb_equal(out, want);
    g_free(want), g_free(in);
    run_state_clear(&s);
    cascade_recipe_clear(&r);
    cascade_job_image_free(im);
}

/* The x4 diffusion upscaler as the upscaler: ×4 with alpha enlarged, the RGB `cascade
 * upscale --model X4-DIR` makes; a cache loads it once over two runs; ×2 is refused. */
static void test_sd_upscale(void **state) {
    (void)state;
    if (!g_x4) skip();
    CascadeImage *im = picture(8, 6, 4);
    for (gint i = 0; i < 8 * 6; i++)
        im->pixels[i * 4 + 3] = 77;
    CascadeRecipe r = recipe(CASCADE_MODE_UPSCALE, "");
    g_free(r.upscaler_dir);
    r.upscaler_dir = g_strdup(g_x4);
    assert_true(cascade_job_upscaler_is_diffusion(&r));
    CascadeJobCache *cache = cascade_job_cache_new();
    run_state        s = job_runner_run(&r, im, NULL, FALSE, cache);
    expect_ok(&s);
    CascadeImage *out = s.results->pdata[0];
    assert_int_equal(out->width, 32);
    assert_int_equal(out->height, 24);
    assert_int_equal(out->channels, 4);
    for (gint i = 0; i < 32 * 24; i++)
        assert_int_equal(out->pixels[i * 4 + 3], 77);
    char       *in = write_png("up.png", im);
    const char *args[] = {"upscale", "-b",       "cpu",       "--model", g_x4, "--seed",
                          "7",       "--prompt", "a red fox", in,        NULL};
    guint8     *want = cli_rgb(args, 32, 24);
    if (want) assert_rgb_equal(out, want);
    run_state again = job_runner_run(&r, im, NULL, FALSE, cache);
    expect_ok(&again);
    assert_memory_equal(((CascadeImage *)again.results->pdata[0])->pixels, out->pixels,
                        32 * 24 * 4);
    assert_int_equal(cascade_job_cache_loads(cache), 1);
    r.upscale_factor = 2;
    run_state bad = job_runner_run(&r, im, NULL, FALSE, cache);
    assert_non_null(bad.error);
    assert_non_null(strstr(bad.error->message, "×4"));
    run_state_clear(&bad);
    run_state_clear(&again);
    cascade_job_cache_free(cache);
    g_free(want), g_free(in);
    run_state_clear(&s);
    cascade_recipe_clear(&r);
    cascade_job_image_free(im);
}

/* The IF cascade through stage III: stage II's 32 px, then x4 by the upscaler folder named
 * as the recipe's stage3-model (or found as the model's stage3/), what `cascade generate
 * --stage3` makes; progress reaches stage 3. A stage-I-only run (the dialog's candidates) skips
 * stage III. */
static void test_if_stage3(void **state) {
    (void)state;
    if (!g_if || !g_x4) skip();
    CascadeRecipe r = recipe(CASCADE_MODE_GENERATE, g_if);
    r.stage2 = TRUE;
    r.steps2 = 2;
    g_free(r.stage3_dir);
    r.stage3_dir = g_strdup(g_x4);
    assert_int_equal(cascade_job_stages(&r), 3);
    run_state s = job_runner_run(&r, NULL, NULL, FALSE, NULL);
    expect_ok(&s);
    CascadeImage *out = s.results->pdata[0];
    assert_int_equal(out->width, 128);
    assert_int_equal(out->height, 128);
    assert_int_equal(s.max_stage, 3);
    const char *args[] = {
        "generate", "-b",         "cpu", "-m",         g_if, "--seed",        "7", "--steps",
        "3",        "--guidance", "7",   "--sr-steps", "2",  "--sr-guidance", "4", "--noise-level",
        "250",      "--stage3",   g_x4,  "a red fox",  NULL};
    guint8 *want = cli_rgb(args, 128, 128);
    if (want) assert_rgb_equal(out, want);
    g_free(want);
    r.stage2 = FALSE;
    assert_int_equal(cascade_job_stages(&r), 1);
    run_state one = job_runner_run(&r, NULL, NULL, FALSE, NULL);
    expect_ok(&one);
    assert_int_equal(((CascadeImage *)one.results->pdata[0])->width, 16);
    assert_int_equal(one.max_stage, 1);
    run_state_clear(&one);
    /* a cascade root with a stage3/ upscaler folder runs it without being told */
    char *link = g_build_filename(g_if, "stage3", NULL);
    assert_int_equal(symlink(g_x4, link), 0);
    g_free(r.stage3_dir);
    r.stage3_dir = g_strdup("");
    r.stage2 = TRUE;
    run_state own = job_runner_run(&r, NULL, NULL, FALSE, NULL);
    expect_ok(&own);
    assert_memory_equal(((CascadeImage *)own.results->pdata[0])->pixels, out->pixels,
                        128 * 128 * 3);
    run_state_clear(&own);
    g_unlink(link);
    g_free(link);
    /* a stage3-model that is no x4 upscaler fails naming it */
    r.stage2 = TRUE;
    g_free(r.stage3_dir);
    r.stage3_dir = g_strdup(g_sd ? g_sd : "/nonexistent");
    run_state bad = job_runner_run(&r, NULL, NULL, FALSE, NULL);
    assert_non_null(bad.error);
    assert_non_null(strstr(bad.error->message, r.stage3_dir));
    run_state_clear(&bad);
    run_state_clear(&s);
    cascade_recipe_clear(&r);
}

/* A GAN upscaler folder or the IF cascade is not an SD folder; an SD text-to-image folder
 * given as the upscaler fails naming what it cannot do. */
static void test_sd_wrong_task(void **state) {
    (void)state;
    if (!g_sd) skip();
    CascadeRecipe r = recipe(CASCADE_MODE_UPSCALE, "");
    g_free(r.upscaler_dir);
    r.upscaler_dir = g_strdup(g_if ? g_if : g_tmp);
    assert_false(cascade_job_upscaler_is_diffusion(&r));
    g_free(r.upscaler_dir);
    r.upscaler_dir = g_strdup(g_sd);
    CascadeImage *im = picture(8, 8, 3);
    run_state     s = job_runner_run(&r, im, NULL, FALSE, NULL);
    assert_non_null(s.error);
    assert_true(g_error_matches(s.error, CASCADE_JOB_ERROR, 2 /* CASCADE_STATUS_UNSUPPORTED */));
    assert_non_null(strstr(s.error->message, g_sd));
    run_state_clear(&s);
    cascade_recipe_clear(&r);
    cascade_job_image_free(im);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sd_generate),   cmocka_unit_test(test_sd_inpaint),
        cmocka_unit_test(test_sd_variations), cmocka_unit_test(test_if_variations),
        cmocka_unit_test(test_sd_upscale),    cmocka_unit_test(test_sd_wrong_task),
        cmocka_unit_test(test_if_stage3),
    };
    return cmocka_run_group_tests_name("job-sd", tests, setup, teardown);
}
