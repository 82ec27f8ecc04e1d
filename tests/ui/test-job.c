/* CascadeJob on a tiny cascade assembled from the golden cases (T5 + IF stage I 16 px +
 * IF stage II 32 px): callbacks on the main context, batch seeds, the same bytes as
 * `cascade generate`, candidate reruns, stage-I-only, inpainting keeps unmasked pixels,
 * cancel mid-run, bad input. (Upscaling: test-job-upscale.c.) */
#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
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

/* ---- the assembled cascade (group fixture) --------------------------------------------- */

static char *g_root;

static int setup_cascade(void **state) {
    (void)state;
    g_root = tiny_cascade_make(); /* NULL: each test skips */
    return 0;
}

static int teardown_cascade(void **state) {
    (void)state;
    if (g_root) tiny_cascade_rm_tree(g_root);
    free(g_root);
    return 0;
}


static CascadeRecipe tiny_recipe(CascadeMode mode) {
    CascadeRecipe r;
    cascade_recipe_init(&r);
    r.mode = mode;
    g_free(r.prompt);
    r.prompt = g_strdup("a red fox");
    g_free(r.model_dir);
    r.model_dir = g_strdup(g_root);
    g_free(r.backend);
    r.backend = g_strdup("cpu");
    r.random_seed = FALSE;
    r.seed = 7;
    r.steps1 = 6;
    r.steps2 = 3;
    return r;
}

static CascadeJobCache *g_cache; /* used by run_job when set */

/* a and b (n bytes) the same picture up to rounding: a batched stage I (the candidates) sums
 * in another order than a batch of one, so a few pixels may differ by 1 of 255. */
static void assert_same_picture(const guint8 *a, const guint8 *b, gsize n) {
    gsize off = 0;
    for (gsize i = 0; i < n; i++) {
        assert_true(abs((int)a[i] - (int)b[i]) <= 1);
        off += a[i] != b[i];
    }
    assert_true(off * 20 < n);
}

static run_state run_job(const CascadeRecipe *r, const CascadeImage *image,
                         const CascadeImage *mask, gboolean cancel_on_progress) {
    return job_runner_run(r, image, mask, cancel_on_progress, g_cache);
}

/* `cascade generate` with tiny_recipe's prompt, seed and steps (and --aspect when given):
 * the PNG's RGB pixels (g_free) and size. libpng directly: core's image-io.h shares the
 * names cascade_job_image_new/free. */
static guint8 *cli_generate_rgb(const char *cli, const char *aspect, gint *w, gint *h) {
    char *out = g_build_filename(g_root, "cli.png", NULL);
    char *argv[] = {(char *)cli, "generate", "-q", "-b", "cpu", "-m", g_root, "--seed", "7",
                    "--steps", "6", "--sr-steps", "3", "-o", out, "a red fox",
                    aspect ? "--aspect" : NULL, (char *)aspect, NULL};
    gint  wait = 0;
    assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                             NULL, &wait, NULL));
    assert_int_equal(WEXITSTATUS(wait), 0);
    png_image png = {.version = PNG_IMAGE_VERSION};
    assert_true(png_image_begin_read_from_file(&png, out));
    png.format = PNG_FORMAT_RGB;
    guint8 *px = g_malloc(PNG_IMAGE_SIZE(png));
    assert_true(png_image_finish_read(&png, NULL, px, 0, NULL));
    *w = (gint)png.width;
    *h = (gint)png.height;
    g_unlink(out);
    g_free(out);
    return px;
}

/* ---- tests --------------------------------------------------------------------------------- */

/* A batch of two through both stages: 32 px images (stage II's size), seeds 7 and 8,
 * progress of both stages and previews, every callback on the main thread. */
static void test_job_generate_batch(void **state) {
    (void)state;
    if (!g_root) skip();
    CascadeRecipe r = tiny_recipe(CASCADE_MODE_GENERATE);
    r.batch = 2;
    run_state s = run_job(&r, NULL, NULL, FALSE);
    expect_ok(&s);
    assert_int_equal(s.results->len, 2);
    CascadeImage *a = s.results->pdata[0], *b = s.results->pdata[1];
    assert_int_equal(a->width, 32);
    assert_int_equal(a->height, 32);
    assert_int_equal(a->channels, 3);
    assert_true(s.seeds[0] == 7 && s.seeds[1] == 8);
    assert_memory_not_equal(a->pixels, b->pixels, 32 * 32 * 3);
    assert_int_equal(s.max_stage, 2);
    assert_int_equal(s.last_step, s.last_total);
    assert_int_equal(s.last_total, 2 * r.steps2);
    assert_true(s.previews >= 2);
    assert_false(s.off_thread);
    run_state_clear(&s);
    cascade_recipe_clear(&r);
}

/* Item 0 of the job is byte-identical to `cascade generate` with the same seed and steps
 * (the same pipeline, reached through the recipe), and candidate 1 alone reproduces item 1
 * of the batch. */
static void test_job_matches_cli_and_candidate(void **state) {
    (void)state;
    if (!g_root) skip();
    const char   *cli = getenv("CASCADE_CLI");
    CascadeRecipe r = tiny_recipe(CASCADE_MODE_GENERATE);
    r.batch = 2;
    run_state all = run_job(&r, NULL, NULL, FALSE);
    expect_ok(&all);
    r.candidate = 1;
    run_state one = run_job(&r, NULL, NULL, FALSE);
    expect_ok(&one);
    assert_int_equal(one.results->len, 1);
    assert_true(one.seeds[0] == 8);
    assert_memory_equal(((CascadeImage *)one.results->pdata[0])->pixels,
                        ((CascadeImage *)all.results->pdata[1])->pixels, 32 * 32 * 3);
    if (cli && g_file_test(cli, G_FILE_TEST_IS_EXECUTABLE)) {
        gint    w = 0, h = 0;
        guint8 *px = cli_generate_rgb(cli, NULL, &w, &h);
        assert_int_equal(w, 32);
        assert_memory_equal(px, ((CascadeImage *)all.results->pdata[0])->pixels, 32 * 32 * 3);
        g_free(px);
    }
    run_state_clear(&all);
    run_state_clear(&one);
    cascade_recipe_clear(&r);
}

/* The recipe's aspect: a wide image at about the square's pixel count, the same pixels as
 * `cascade generate --aspect` with that seed (one size rule for both). */
static void test_job_aspect(void **state) {
    (void)state;
    if (!g_root) skip();
    const char   *cli = getenv("CASCADE_CLI");
    CascadeRecipe r = tiny_recipe(CASCADE_MODE_GENERATE);
    g_free(r.aspect);
    r.aspect = g_strdup("2:1");
    run_state s = run_job(&r, NULL, NULL, FALSE);
    expect_ok(&s);
    const CascadeImage *im = s.results->pdata[0];
    assert_true(im->width > im->height);
    assert_int_equal(im->width % 8, 0);
    assert_int_equal(im->height % 8, 0);
    if (cli && g_file_test(cli, G_FILE_TEST_IS_EXECUTABLE)) {
        gint    w = 0, h = 0;
        guint8 *px = cli_generate_rgb(cli, "2:1", &w, &h);
        assert_int_equal(w, im->width);
        assert_int_equal(h, im->height);
        assert_memory_equal(px, im->pixels, (size_t)im->width * im->height * 3);
        g_free(px);
    }
    run_state_clear(&s);
    cascade_recipe_clear(&r);
}

/* Stage I only (the dialog's candidates): 16 px images, progress of stage 1 only, the batch
 * run as one (its progress counts the steps once). */
static void test_job_stage1_only(void **state) {
    (void)state;
    if (!g_root) skip();
    CascadeRecipe r = tiny_recipe(CASCADE_MODE_GENERATE);
    r.stage2 = FALSE;
    r.batch = 3;
    run_state s = run_job(&r, NULL, NULL, FALSE);
    expect_ok(&s);
    assert_int_equal(s.results->len, 3);
    assert_int_equal(((CascadeImage *)s.results->pdata[2])->width, 16);
    assert_int_equal(s.max_stage, 1);
    assert_int_equal(s.last_total, r.steps1);
    run_state_clear(&s);
    cascade_recipe_clear(&r);
}

/* Steps left to the model (the Balanced preset's "auto"): stage I runs the steps its folder's
 * generation_defaults.json recommends, stage II (no such file) the engine's default, 25: one
 * source of defaults for the dialog and the CLI (issue 13). */
static void test_job_model_recommended_steps(void **state) {
    (void)state;
    if (!g_root) skip();
    char *defaults = g_build_filename(g_root, "stage1", "generation_defaults.json", NULL);
    static const char rec[] = "{\"steps\": 4, \"guidance\": 2.0}\n";
    assert_true(test_write_file(defaults, rec, strlen(rec)));
    CascadeRecipe r = tiny_recipe(CASCADE_MODE_GENERATE);
    r.steps1 = CASCADE_RECIPE_MODEL_STEPS;
    r.steps2 = CASCADE_RECIPE_MODEL_STEPS;
    r.guidance1 = CASCADE_RECIPE_MODEL_GUIDANCE;
    r.guidance2 = CASCADE_RECIPE_MODEL_GUIDANCE;
    r.stage2 = FALSE;
    run_state s = run_job(&r, NULL, NULL, FALSE);
    expect_ok(&s);
    assert_int_equal(s.last_total, 4);
    run_state_clear(&s);
    r.stage2 = TRUE;
    s = run_job(&r, NULL, NULL, FALSE);
    expect_ok(&s);
    assert_int_equal(s.max_stage, 2);
    assert_int_equal(s.last_total, 25);
    run_state_clear(&s);
    cascade_recipe_clear(&r);
    g_unlink(defaults);
    g_free(defaults);
}

/* Cancel at the first progress report: done says G_IO_ERROR_CANCELLED, no results. */
static void test_job_cancel_mid_run(void **state) {
    (void)state;
    if (!g_root) skip();
    CascadeRecipe r = tiny_recipe(CASCADE_MODE_GENERATE);
    r.steps1 = 200;
    r.batch = 4;
    run_state s = run_job(&r, NULL, NULL, TRUE);
    assert_true(g_error_matches(s.error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
    assert_null(s.results);
    assert_true(s.progress_calls >= 1);
    assert_true(s.last_step < s.last_total); /* stopped well before the end */
    run_state_clear(&s);
    cascade_recipe_clear(&r);
}

/* Inpainting a 40x30 RGBA crop with a soft-edged rectangle, stage I alone and through stage
 * II: same size and channels, every pixel outside the mask exactly the input's, the inside
 * changed and opaque. */
static void test_job_inpaint_keeps_unmasked(void **state) {
    (void)state;
    if (!g_root) skip();
    const gint    W = 40, H = 30;
    CascadeImage *im = cascade_job_image_new(W, H, 4), *mk = cascade_job_image_new(W, H, 1);
    for (gint i = 0; i < W * H; i++) {
        gint x = i % W, y = i / W;
        im->pixels[i * 4 + 0] = (guint8)(x * 6);
        im->pixels[i * 4 + 1] = (guint8)(y * 8);
        im->pixels[i * 4 + 2] = 200;
        im->pixels[i * 4 + 3] = (guint8)(128 + x);
        mk->pixels[i] = x >= 12 && x < 30 && y >= 8 && y < 22 ? (x == 12 ? 128 : 255) : 0;
    }
    CascadeRecipe r = tiny_recipe(CASCADE_MODE_INPAINT);
    for (int stage2 = 0; stage2 <= 1; stage2++) { /* at 16 px, then 32 px through stage II */
        r.stage2 = stage2;
        r.batch = 1 + stage2;
        run_state s = run_job(&r, im, mk, FALSE);
        expect_ok(&s);
        assert_int_equal(s.results->len, (guint)r.batch);
        for (guint b = 0; b < s.results->len; b++) {
            CascadeImage *out = s.results->pdata[b];
            assert_int_equal(out->width, W);
            assert_int_equal(out->height, H);
            assert_int_equal(out->channels, 4);
            gint changed = 0;
            for (gint i = 0; i < W * H; i++) {
                if (mk->pixels[i] == 0) {
                    assert_memory_equal(out->pixels + i * 4, im->pixels + i * 4, 4);
                } else if (mk->pixels[i] == 255) {
                    changed += memcmp(out->pixels + i * 4, im->pixels + i * 4, 3) != 0;
                    assert_int_equal(out->pixels[i * 4 + 3], 255); /* painted: opaque */
                }
            }
            assert_true(changed > 17 * 14 / 2);
        }
        run_state_clear(&s);
    }
    r.stage2 = FALSE;
    r.batch = 1;
    run_state s;
    /* an empty mask is an error that says so */
    memset(mk->pixels, 0, (size_t)W * H);
    s = run_job(&r, im, mk, FALSE);
    assert_true(g_error_matches(s.error, CASCADE_JOB_ERROR, 1));
    assert_non_null(strstr(s.error->message, "empty"));
    run_state_clear(&s);
    cascade_job_image_free(im);
    cascade_job_image_free(mk);
    cascade_recipe_clear(&r);
}

/* Bad starts fail at once with an error: invalid recipe, missing input, unknown backend
 * (reported through done), a model folder that is not one (done, naming the file). */
static void test_job_bad_input(void **state) {
    (void)state;
    CascadeRecipe       r;
    GError             *e = NULL;
    CascadeJobCallbacks cb = {NULL, NULL, job_runner_on_done, NULL};
    cascade_recipe_init(&r); /* empty prompt */
    assert_null(cascade_job_start(&r, NULL, NULL, &cb, &e));
    assert_true(g_error_matches(e, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_INVALID));
    g_clear_error(&e);
    r.mode = CASCADE_MODE_UPSCALE;
    assert_null(cascade_job_start(&r, NULL, NULL, &cb, &e));
    assert_true(g_error_matches(e, CASCADE_JOB_ERROR, 1));
    g_clear_error(&e);
    cascade_recipe_clear(&r);

    r = tiny_recipe(CASCADE_MODE_GENERATE);
    g_free(r.backend);
    r.backend = g_strdup("abacus");
    run_state s = run_job(&r, NULL, NULL, FALSE);
    assert_non_null(s.error);
    assert_non_null(strstr(s.error->message, "abacus"));
    run_state_clear(&s);
    g_free(r.backend);
    r.backend = g_strdup("cpu");
    char *empty = test_make_tmpdir();
    g_free(r.model_dir);
    r.model_dir = g_strdup(empty);
    s = run_job(&r, NULL, NULL, FALSE);
    assert_non_null(s.error);
    assert_true(s.error->domain == CASCADE_JOB_ERROR);
    assert_null(s.results);
    run_state_clear(&s);
    g_rmdir(empty);
    free(empty);
    cascade_recipe_clear(&r);
}

/* The default model: $CASCADE_MODEL names a cascade root, whose stage1/ and stage2/ are the
 * defaults, and a recipe without a model runs on it. */
static void test_job_default_model_from_env(void **state) {
    (void)state;
    if (!g_root) skip();
    g_setenv("CASCADE_MODEL", g_root, TRUE);
    char *s1 = cascade_job_default_model_dir(), *s2 = cascade_job_default_sr_model_dir();
    char *want1 = g_build_filename(g_root, "stage1", NULL);
    char *want2 = g_build_filename(g_root, "stage2", NULL);
    assert_string_equal(s1, want1);
    assert_string_equal(s2, want2);
    CascadeRecipe r = tiny_recipe(CASCADE_MODE_GENERATE);
    g_free(r.model_dir);
    r.model_dir = g_strdup("");
    run_state s = run_job(&r, NULL, NULL, FALSE);
    expect_ok(&s);
    assert_int_equal(((CascadeImage *)s.results->pdata[0])->width, 32); /* both stages */
    run_state_clear(&s);
    g_unsetenv("CASCADE_MODEL");
    g_free(s1), g_free(s2), g_free(want1), g_free(want2);
    cascade_recipe_clear(&r);
}

/* The dialog's flow through a kept session (issue 13): 4 candidates are one batched stage I
 * run (the prompt encoded once, steps1 stage I steps), and finishing the picked one runs
 * stage II only (no stage I progress, no stage I step, no new encode) and gives the same
 * picture as a run without the session. */
static void test_job_candidates_encode_once(void **state) {
    (void)state;
    if (!g_root) skip();
    CascadeRecipe r = tiny_recipe(CASCADE_MODE_GENERATE);
    r.batch = 4;
    r.candidate = 2;
    run_state plain = run_job(&r, NULL, NULL, FALSE); /* no cache: the reference */
    expect_ok(&plain);
    g_cache = cascade_job_cache_new();
    r.candidate = -1;
    r.stage2 = FALSE;
    run_state cand = run_job(&r, NULL, NULL, FALSE);
    expect_ok(&cand);
    assert_int_equal(cand.results->len, 4);
    assert_int_equal(cand.stage_calls[1], r.steps1);
    assert_int_equal(cand.previews % 4, 0); /* a preview per candidate */
    cascade_session_counters c1, c2;
    cascade_job_cache_counters(g_cache, &c1);
    assert_int_equal(c1.pipeline.text_encodes, 1);
    assert_int_equal(c1.pipeline.stage_steps[0], r.steps1);
    r.stage2 = TRUE;
    r.candidate = 2;
    run_state fin = run_job(&r, NULL, NULL, FALSE);
    expect_ok(&fin);
    assert_int_equal(fin.stage_calls[1], 0);
    assert_int_equal(fin.stage_calls[2], r.steps2);
    cascade_job_cache_counters(g_cache, &c2);
    assert_int_equal(c2.pipeline.text_encodes, 1);
    assert_int_equal(c2.pipeline.stage_steps[0], r.steps1);
    assert_int_equal(c2.finished_from_candidates, 1);
    assert_int_equal(c2.model_loads, 1);
    assert_int_equal(c2.backend.plans_built, c1.backend.plans_built + 1); /* stage II's */
    assert_same_picture(((CascadeImage *)fin.results->pdata[0])->pixels,
                        ((CascadeImage *)plain.results->pdata[0])->pixels, 32 * 32 * 3);
    cascade_job_cache_free(g_cache);
    g_cache = NULL;
    run_state_clear(&plain), run_state_clear(&cand), run_state_clear(&fin);
    cascade_recipe_clear(&r);
}

/* A cache loads the models once for the dialog's stage-I-only candidates and the full run
 * of the one picked (which then matches an uncached run up to rounding), and loads again
 * when the models change. */
static void test_job_cache_loads_once(void **state) {
    (void)state;
    if (!g_root) skip();
    CascadeRecipe r = tiny_recipe(CASCADE_MODE_GENERATE);
    r.batch = 2;
    run_state plain = run_job(&r, NULL, NULL, FALSE); /* no cache: the reference */
    expect_ok(&plain);
    g_cache = cascade_job_cache_new();
    r.stage2 = FALSE; /* the candidates */
    run_state cand = run_job(&r, NULL, NULL, FALSE);
    expect_ok(&cand);
    assert_int_equal(((CascadeImage *)cand.results->pdata[0])->width, 16);
    r.stage2 = TRUE; /* the full run of candidate 1 */
    r.candidate = 1;
    run_state full = run_job(&r, NULL, NULL, FALSE);
    expect_ok(&full);
    assert_int_equal(cascade_job_cache_loads(g_cache), 1);
    assert_same_picture(((CascadeImage *)full.results->pdata[0])->pixels,
                        ((CascadeImage *)plain.results->pdata[1])->pixels, 32 * 32 * 3);
    g_free(r.model_dir); /* another model set: stage I alone, no stage II beside it */
    r.model_dir = g_build_filename(g_root, "stage1", NULL);
    run_state other = run_job(&r, NULL, NULL, FALSE);
    expect_ok(&other);
    assert_int_equal(cascade_job_cache_loads(g_cache), 2);
    assert_int_equal(((CascadeImage *)other.results->pdata[0])->width, 16);
    cascade_job_cache_free(g_cache);
    g_cache = NULL;
    run_state_clear(&plain), run_state_clear(&cand), run_state_clear(&full);
    run_state_clear(&other);
    cascade_recipe_clear(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_generate_batch),
        cmocka_unit_test(test_job_matches_cli_and_candidate),
        cmocka_unit_test(test_job_aspect),
        cmocka_unit_test(test_job_stage1_only),
        cmocka_unit_test(test_job_model_recommended_steps),
        cmocka_unit_test(test_job_cancel_mid_run),
        cmocka_unit_test(test_job_inpaint_keeps_unmasked),
        cmocka_unit_test(test_job_bad_input),
        cmocka_unit_test(test_job_default_model_from_env),
        cmocka_unit_test(test_job_cache_loads_once),
        cmocka_unit_test(test_job_candidates_encode_once),
    };
    return cmocka_run_group_tests_name("job", tests, setup_cascade, teardown_cascade);
}
