/* CascadeJob upscaling: the golden 16x16 input through esrgan-slim x2 gives UpscalerJS's
 * output. Its own executable so that, when the converted model is not there, its one case
 * skips and meson reports SKIP (fetch it with tools/upscalers/fetch.sh, or set
 * CASCADE_SR_MODELS). */
#include <gio/gio.h>
#include <glib.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "cascade-job.h"
#include "cascade/safetensors.h"
#include "job-runner.h"
#include "test-common.h"

static CascadeJobCache *g_cache; /* used by run_job when set */

static run_state run_job(const CascadeRecipe *r, const CascadeImage *image,
                         const CascadeImage *mask, gboolean cancel_on_progress) {
    return job_runner_run(r, image, mask, cancel_on_progress, g_cache);
}

/* Upscaling the golden random16 input with esrgan-slim x2 (and again through a cache, which
 * loads the model once) gives UpscalerJS's output within the
 * case's u8 tolerance (max 1), alpha enlarged; skipped when the model is not converted. */
static void test_job_upscale_matches_golden(void **state) {
    (void)state;
    const char *models = getenv("CASCADE_SR_MODELS");
    char       *dir = models ? g_build_filename(models, "esrgan-slim_x2", NULL)
                             : g_strdup("models/upscalers/esrgan-slim_x2");
    char       *cfg = g_build_filename(dir, "config.json", NULL);
    if (!g_file_test(cfg, G_FILE_TEST_EXISTS) ||
        !test_golden_exists("sr_esrgan-slim_x2/output.safetensors")) {
        g_free(dir), g_free(cfg);
        skip();
    }
    cascade_safetensors *in = NULL, *want = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    char *inp = g_strdup(test_golden_path("sr_esrgan-slim_x2/input.safetensors"));
    assert_int_equal(cascade_safetensors_open(inp, &in, &err), 0);
    assert_int_equal(cascade_safetensors_open(
                         test_golden_path("sr_esrgan-slim_x2/output.safetensors"), &want, &err),
                     0);
    const cascade_st_entry *ei = cascade_safetensors_find(in, "random16");
    const cascade_st_entry *eo = cascade_safetensors_find(want, "random16");
    assert_non_null(ei);
    assert_non_null(eo);
    CascadeImage *im = cascade_job_image_new(16, 16, 4);
    for (gint i = 0; i < 16 * 16; i++) {
        for (gint c = 0; c < 3; c++) {
            float v;
            memcpy(&v, (const char *)ei->data + sizeof v * (size_t)(i * 3 + c), sizeof v);
            im->pixels[i * 4 + c] = (guint8)v;
        }
        im->pixels[i * 4 + 3] = 77;
    }
    CascadeRecipe r;
    cascade_recipe_init(&r);
    r.mode = CASCADE_MODE_UPSCALE;
    r.upscale_factor = 2;
    g_free(r.upscaler_dir);
    r.upscaler_dir = g_strdup(dir);
    g_free(r.backend);
    r.backend = g_strdup("cpu");
    run_state s = run_job(&r, im, NULL, FALSE);
    expect_ok(&s);
    CascadeImage *out = s.results->pdata[0];
    assert_int_equal(out->width, 32);
    assert_int_equal(out->height, 32);
    assert_int_equal(out->channels, 4);
    assert_int_equal(s.max_stage, 3);
    int max_diff = 0;
    for (gint i = 0; i < 32 * 32; i++) {
        for (gint c = 0; c < 3; c++) {
            float v;
            memcpy(&v, (const char *)eo->data + sizeof v * (size_t)(i * 3 + c), sizeof v);
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            int d = abs((int)out->pixels[i * 4 + c] - (int)lrintf(v));
            max_diff = MAX(max_diff, d);
        }
        assert_int_equal(out->pixels[i * 4 + 3], 77);
    }
    assert_true(max_diff <= 1);
    /* through a cache, twice (as the plug-in's chunks of one size): one load, one tile plan,
     * the same bytes */
    g_cache = cascade_job_cache_new();
    cascade_session_counters n[2];
    for (int k = 0; k < 2; k++) {
        run_state c = run_job(&r, im, NULL, FALSE);
        expect_ok(&c);
        assert_memory_equal(((CascadeImage *)c.results->pdata[0])->pixels, out->pixels,
                            (size_t)32 * 32 * 4);
        run_state_clear(&c);
        cascade_job_cache_counters(g_cache, &n[k]);
    }
    assert_int_equal(cascade_job_cache_loads(g_cache), 1);
    assert_int_equal(n[0].backend.plans_built, 1);
    assert_int_equal(n[1].backend.plans_built, 1);
    cascade_job_cache_free(g_cache);
    g_cache = NULL;
    run_state_clear(&s);
    cascade_recipe_clear(&r);
    cascade_job_image_free(im);
    cascade_safetensors_close(in);
    cascade_safetensors_close(want);
    g_free(inp), g_free(dir), g_free(cfg);
}

int main(void) {
    /* cmocka 1.1's "not ok # SKIP" reads as a failure to meson 1.0: skip with a TAP plan */
    const char *models = getenv("CASCADE_SR_MODELS");
    char       *cfg = models ? g_build_filename(models, "esrgan-slim_x2", "config.json", NULL)
                             : g_strdup("models/upscalers/esrgan-slim_x2/config.json");
    gboolean    have = g_file_test(cfg, G_FILE_TEST_EXISTS);
    g_free(cfg);
    if (!have || !test_golden_exists("sr_esrgan-slim_x2/output.safetensors")) {
        printf("1..0 # SKIP esrgan-slim_x2 not converted (tools/upscalers/fetch.sh)\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_upscale_matches_golden),
    };
    return cmocka_run_group_tests_name("job-upscale", tests, NULL, NULL);
}
