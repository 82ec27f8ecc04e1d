/* Schedulers: config errors, the seeded generator, timestep spacing, step/add_noise contracts.
 * The numerics against diffusers are the golden family's job (golden-scheduler.c); options
 * no golden case covers are checked against closed forms in test-scheduler-options.c and
 * test-scheduler-sigmas.c (with the inventory of which check covers which option). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cascade/scheduler.h"
#include "scheduler-check.h"
#include "test-common.h"

#define IF_DDPM                                                                                    \
    "{\"_class_name\": \"DDPMScheduler\", \"_diffusers_version\": \"0.25.1\","                     \
    " \"beta_end\": 0.02, \"beta_schedule\": \"squaredcos_cap_v2\", \"beta_start\": 0.0001,"       \
    " \"clip_sample\": true, \"clip_sample_range\": 1.0, \"dynamic_thresholding_ratio\": 0.95,"    \
    " \"num_train_timesteps\": 1000, \"prediction_type\": \"epsilon\","                            \
    " \"sample_max_value\": 1.5, \"steps_offset\": 0, \"thresholding\": true,"                     \
    " \"timestep_spacing\": \"leading\", \"trained_betas\": null,"                                 \
    " \"variance_type\": \"learned_range\"" /* closed by the caller */

/* An IF stage-I config builds a DDPM scheduler that expects 2C model channels. */
static void test_scheduler_if_config(void **state) {
    (void)state;
    cascade_scheduler *s = test_scheduler_make_ok(IF_DDPM "}");
    assert_int_equal(cascade_scheduler_get_kind(s), CASCADE_SCHEDULER_KIND_DDPM);
    assert_string_equal(cascade_scheduler_class_name(s), "DDPMScheduler");
    assert_true(cascade_scheduler_learned_variance(s));
    assert_int_equal(cascade_scheduler_num_train_timesteps(s), 1000);
    const float *ac = cascade_scheduler_alphas_cumprod(s);
    for (int i = 1; i < 1000; i++)
        assert_true(ac[i] < ac[i - 1]);
    cascade_scheduler_free(s);
}

/* A field the engine does not know is UNSUPPORTED and named. */
static void test_scheduler_unknown_field(void **state) {
    (void)state;
    cascade_error      err;
    cascade_scheduler *s = NULL;
    assert_int_equal(test_scheduler_make(IF_DDPM ", \"karras_magic\": 3}", &s, &err), CASCADE_STATUS_UNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(err.message, "karras_magic"));
}

/* An unsupported value names field and value. */
static void test_scheduler_bad_value(void **state) {
    (void)state;
    cascade_error      err;
    cascade_scheduler *s = NULL;
    assert_int_equal(
        test_scheduler_make("{\"_class_name\": \"DDIMScheduler\", \"beta_schedule\": \"foo\"}", &s, &err),
        CASCADE_STATUS_UNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(err.message, "beta_schedule"));
    assert_non_null(strstr(err.message, "foo"));
    assert_int_equal(test_scheduler_make("{\"_class_name\": \"EulerDiscreteScheduler\","
                          " \"prediction_type\": \"x_start\"}",
                          &s, &err),
                     CASCADE_STATUS_UNSUPPORTED);
    assert_non_null(strstr(err.message, "x_start"));
}

/* Unknown classes, missing _class_name and wrong JSON types are refused without a crash. */
static void test_scheduler_bad_class_and_types(void **state) {
    (void)state;
    cascade_error      err;
    cascade_scheduler *s = NULL;
    assert_int_equal(test_scheduler_make("{\"_class_name\": \"PNDMScheduler\"}", &s, &err),
                     CASCADE_STATUS_UNSUPPORTED);
    assert_non_null(strstr(err.message, "PNDMScheduler"));
    assert_int_equal(test_scheduler_make("{\"beta_start\": 0.1}", &s, &err), CASCADE_STATUS_FORMAT);
    assert_int_equal(
        test_scheduler_make("{\"_class_name\": \"DDPMScheduler\", \"num_train_timesteps\": \"x\"}", &s, &err),
        CASCADE_STATUS_FORMAT);
    assert_non_null(strstr(err.message, "num_train_timesteps"));
    assert_int_equal(
        test_scheduler_make("{\"_class_name\": \"DDPMScheduler\", \"num_train_timesteps\": -5}", &s, &err),
        CASCADE_STATUS_INVALID_ARG);
    assert_int_equal(
        test_scheduler_make("{\"_class_name\": \"DDPMScheduler\", \"trained_betas\": [0.1, 0.2]}", &s, &err),
        CASCADE_STATUS_INVALID_ARG);
    assert_int_equal(test_scheduler_make("{\"_class_name\": \"DPMSolverMultistepScheduler\","
                          " \"algorithm_type\": \"sde-dpmsolver++\"}",
                          &s, &err),
                     CASCADE_STATUS_UNSUPPORTED);
    assert_non_null(strstr(err.message, "algorithm_type"));
    assert_null(s);
}

/* The generator is a pure function of the seed, however the draws are split. */
static void test_scheduler_rng_deterministic(void **state) {
    (void)state;
    enum { N = 4097 };
    float      *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    cascade_rng r1, r2;
    cascade_rng_init(&r1, 42);
    cascade_rng_init(&r2, 42);
    cascade_rng_normal(&r1, a, N);
    cascade_rng_normal(&r2, b, 1);
    cascade_rng_normal(&r2, b + 1, 2000);
    cascade_rng_normal(&r2, b + 2001, N - 2001);
    assert_memory_equal(a, b, N * sizeof *a);
    double mean = 0, var = 0;
    for (int i = 0; i < N; i++)
        mean += a[i];
    mean /= N;
    for (int i = 0; i < N; i++)
        var += (a[i] - mean) * (a[i] - mean);
    var /= N;
    assert_true(fabs(mean) < 0.06);
    assert_true(fabs(var - 1) < 0.08);
    cascade_rng_init(&r1, 43);
    cascade_rng_normal(&r1, b, N);
    assert_true(memcmp(a, b, N * sizeof *a) != 0);
    free(a);
    free(b);
}

static void expect_timesteps(cascade_scheduler *s, int64_t n, const double *want, size_t nw) {
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(cascade_scheduler_set_timesteps(s, n, &err), CASCADE_STATUS_OK);
    size_t        nt;
    const double *t = cascade_scheduler_timesteps(s, &nt);
    assert_int_equal(nt, (size_t)n);
    assert_true(nw <= nt);
    for (size_t i = 0; i < nw; i++)
        assert_float_equal(t[i], want[i], 1e-4);
}

/* Timestep spacing as diffusers: leading (+ steps_offset), trailing, DPM linspace over n+1. */
static void test_scheduler_timesteps(void **state) {
    (void)state;
    cascade_scheduler *s = test_scheduler_make_ok(IF_DDPM "}");
    expect_timesteps(s, 10, (double[]){900, 800, 700, 600, 500, 400, 300, 200, 100, 0}, 10);
    expect_timesteps(s, 3, (double[]){666, 333, 0}, 3);
    cascade_scheduler_free(s);

    s = test_scheduler_make_ok("{\"_class_name\": \"DDIMScheduler\", \"steps_offset\": 1}");
    expect_timesteps(s, 4, (double[]){751, 501, 251, 1}, 4);
    cascade_scheduler_free(s);
    s = test_scheduler_make_ok("{\"_class_name\": \"DDIMScheduler\", \"timestep_spacing\": \"trailing\"}");
    expect_timesteps(s, 4, (double[]){999, 749, 499, 249}, 4);
    cascade_scheduler_free(s);
    s = test_scheduler_make_ok("{\"_class_name\": \"DDPMScheduler\", \"timestep_spacing\": \"linspace\"}");
    expect_timesteps(s, 4, (double[]){999, 666, 333, 0}, 4);
    cascade_scheduler_free(s);

    s = test_scheduler_make_ok("{\"_class_name\": \"DPMSolverMultistepScheduler\"}");
    expect_timesteps(s, 10, (double[]){999, 899, 799, 699, 599, 500, 400, 300, 200, 100}, 10);
    size_t       ns;
    const float *sg = cascade_scheduler_sigmas(s, &ns);
    assert_int_equal(ns, 11);
    for (size_t i = 1; i < ns; i++)
        assert_true(sg[i] < sg[i - 1]);
    cascade_scheduler_free(s);

    s = test_scheduler_make_ok("{\"_class_name\": \"EulerDiscreteScheduler\"}");
    expect_timesteps(s, 25, (double[]){999, 957.375}, 2); /* the first two */
    cascade_scheduler_free(s);
}

/* Euler: init_noise_sigma is the largest sigma (linspace), sigmas end in 0 and
 * scale_model_input divides by sqrt(sigma^2 + 1). */
static void test_scheduler_euler_scaling(void **state) {
    (void)state;
    cascade_error      err;
    cascade_scheduler *s = test_scheduler_make_ok("{\"_class_name\": \"EulerAncestralDiscreteScheduler\","
                                   " \"beta_schedule\": \"scaled_linear\","
                                   " \"beta_start\": 0.00085, \"beta_end\": 0.012}");
    cascade_error_init(&err);
    assert_int_equal(cascade_scheduler_set_timesteps(s, 10, &err), CASCADE_STATUS_OK);
    size_t        ns, nt;
    const float  *sg = cascade_scheduler_sigmas(s, &ns);
    const double *t = cascade_scheduler_timesteps(s, &nt);
    assert_int_equal(ns, 11);
    assert_float_equal(sg[10], 0.0f, 0);
    assert_float_equal(cascade_scheduler_init_noise_sigma(s), sg[0], 0);
    assert_float_equal(sg[0], 14.6146, 1e-3);
    float x[4] = {1, -2, 3, 0.5f}, y[4];
    assert_int_equal(cascade_scheduler_scale_model_input(s, t[0], x, 4, y, &err),
                     CASCADE_STATUS_OK);
    for (int i = 0; i < 4; i++)
        assert_float_equal(y[i], x[i] / sqrtf(sg[0] * sg[0] + 1), 1e-6);
    /* a timestep not in the schedule is an error, not a crash */
    cascade_scheduler *s2 = test_scheduler_make_ok("{\"_class_name\": \"EulerDiscreteScheduler\"}");
    assert_int_equal(cascade_scheduler_set_timesteps(s2, 10, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_scheduler_scale_model_input(s2, 5.5, x, 4, y, &err),
                     CASCADE_STATUS_INVALID_ARG);
    cascade_scheduler_free(s2);
    cascade_scheduler_free(s);
}

/* set_timesteps refuses 0 and more steps than training steps; step before it fails. */
static void test_scheduler_set_timesteps_errors(void **state) {
    (void)state;
    cascade_error      err;
    cascade_scheduler *s = test_scheduler_make_ok("{\"_class_name\": \"DDIMScheduler\"}");
    float              x[4] = {0}, m[4] = {0}, out[4];
    int64_t            shape[4] = {1, 1, 2, 2};
    cascade_error_init(&err);
    assert_int_equal(cascade_scheduler_step(s, 999, m, 1, x, shape, NULL, out, NULL, &err),
                     CASCADE_STATUS_INVALID_ARG);
    cascade_error_init(&err);
    assert_int_equal(cascade_scheduler_set_timesteps(s, 0, &err), CASCADE_STATUS_INVALID_ARG);
    cascade_error_init(&err);
    assert_int_equal(cascade_scheduler_set_timesteps(s, 1001, &err), CASCADE_STATUS_INVALID_ARG);
    cascade_scheduler_free(s);
}

/* A step that draws noise needs a generator or injected noise; wrong channel counts fail;
 * the same seed gives the same step. */
static void test_scheduler_step_noise_contract(void **state) {
    (void)state;
    cascade_error      err;
    cascade_scheduler *s = test_scheduler_make_ok(IF_DDPM "}");
    int64_t            shape[4] = {2, 3, 4, 4};
    enum { N = 2 * 3 * 16 };
    float                x[N], m[2 * N], p1[N], p2[N], x0[N];
    cascade_rng          rng;
    cascade_step_options opt;
    test_fill_uniform(x, N, 1, -1, 1);
    test_fill_uniform(m, 2 * N, 2, -1, 1);
    cascade_error_init(&err);
    assert_int_equal(cascade_scheduler_set_timesteps(s, 10, &err), CASCADE_STATUS_OK);
    cascade_step_options_init(&opt);
    assert_int_equal(cascade_scheduler_step(s, 900, m, 6, x, shape, &opt, p1, x0, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "noise"));
    cascade_error_init(&err);
    assert_int_equal(cascade_scheduler_step(s, 900, m, 3, x, shape, &opt, p1, x0, &err),
                     CASCADE_STATUS_INVALID_ARG);
    cascade_error_init(&err);
    assert_int_equal(cascade_scheduler_step(s, 900, m, 5, x, shape, &opt, p1, x0, &err),
                     CASCADE_STATUS_INVALID_ARG);
    cascade_error_init(&err);
    assert_int_equal(cascade_scheduler_step(s, 1000, m, 6, x, shape, &opt, p1, x0, &err),
                     CASCADE_STATUS_INVALID_ARG);
    /* t = 0 draws no noise */
    cascade_error_init(&err);
    assert_int_equal(cascade_scheduler_step(s, 0, m, 6, x, shape, &opt, p1, x0, &err),
                     CASCADE_STATUS_OK);
    for (int i = 0; i < N; i++)
        assert_true(fabsf(x0[i]) <= 1.0f); /* thresholded */
    cascade_rng_init(&rng, 7);
    opt.rng = &rng;
    assert_int_equal(cascade_scheduler_step(s, 900, m, 6, x, shape, &opt, p1, NULL, &err),
                     CASCADE_STATUS_OK);
    cascade_rng_init(&rng, 7);
    assert_int_equal(cascade_scheduler_step(s, 900, m, 6, x, shape, &opt, p2, NULL, &err),
                     CASCADE_STATUS_OK);
    assert_memory_equal(p1, p2, sizeof p1);
    cascade_scheduler_free(s);
}

/* add_noise is sqrt(abar_t) x0 + sqrt(1 - abar_t) noise per batch item. */
static void test_scheduler_add_noise(void **state) {
    (void)state;
    cascade_error      err;
    cascade_scheduler *s = test_scheduler_make_ok(IF_DDPM "}");
    int64_t            shape[4] = {2, 1, 1, 2};
    float              x[4] = {1, -1, 0.5f, 0}, n[4] = {0.1f, 0.2f, -0.3f, 1}, out[4];
    double             t[2] = {0, 250};
    const float       *ac = cascade_scheduler_alphas_cumprod(s);
    cascade_error_init(&err);
    assert_int_equal(cascade_scheduler_add_noise(s, x, n, shape, t, 2, out, &err),
                     CASCADE_STATUS_OK);
    for (int i = 0; i < 4; i++) {
        float a = ac[(int)t[i / 2]];
        assert_float_equal(out[i], sqrtf(a) * x[i] + sqrtf(1 - a) * n[i], 1e-6);
    }
    double bad[1] = {1000};
    assert_int_equal(cascade_scheduler_add_noise(s, x, n, shape, bad, 1, out, &err),
                     CASCADE_STATUS_INVALID_ARG);
    cascade_error_init(&err);
    assert_int_equal(cascade_scheduler_add_noise(s, x, n, shape, t, 3, out, &err),
                     CASCADE_STATUS_INVALID_ARG);
    cascade_scheduler_free(s);
}

/* A file written by diffusers with lambda_min_clipped -Infinity loads (Python's JSON). */
static void test_scheduler_load_python_infinity(void **state) {
    (void)state;
    char       *dir = test_make_tmpdir();
    char        path[512];
    const char *json = "{\"_class_name\": \"DPMSolverMultistepScheduler\","
                       " \"lambda_min_clipped\": -Infinity, \"sample_max_value\": 1.0,"
                       " \"variance_type\": null, \"note\": \"-Infinity in a string\"}";
    snprintf(path, sizeof path, "%s/scheduler_config.json", dir);
    assert_true(test_write_file(path, json, strlen(json)));
    cascade_error      err;
    cascade_scheduler *s = NULL;
    cascade_error_init(&err);
    /* "note" is unknown: refused by name, after the -Infinity was read */
    assert_int_equal(cascade_scheduler_load(path, &s, &err), CASCADE_STATUS_UNSUPPORTED);
    assert_non_null(strstr(err.message, "note"));
    json = "{\"_class_name\": \"DPMSolverMultistepScheduler\", \"lambda_min_clipped\": -Infinity}";
    assert_true(test_write_file(path, json, strlen(json)));
    cascade_error_init(&err);
    assert_int_equal(cascade_scheduler_load(path, &s, &err), CASCADE_STATUS_OK);
    cascade_scheduler_free(s);
    remove(path);
    remove(dir);
    free(dir);
}

/* Every golden scheduler config loads (when the golden set is present). */
static void test_scheduler_golden_configs(void **state) {
    (void)state;
    static const char *const cases[] = {"scheduler_ddim",           "scheduler_ddim_eta",
                                        "scheduler_ddpm_if_stage1", "scheduler_ddpm_if_stage2",
                                        "scheduler_dpmpp_2m",       "scheduler_dpmpp_2m_if_thresh",
                                        "scheduler_euler",          "scheduler_euler_ancestral"};
    int                      loaded = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "%s/config.json", cases[i]);
        if (!test_golden_exists(rel)) continue;
        cascade_error      err;
        cascade_scheduler *s = NULL;
        cascade_error_init(&err);
        cascade_status st = cascade_scheduler_load(test_golden_path(rel), &s, &err);
        if (st != CASCADE_STATUS_OK) fprintf(stderr, "%s\n", err.message);
        assert_int_equal(st, CASCADE_STATUS_OK);
        cascade_scheduler_free(s);
        loaded++;
    }
    if (!loaded) skip();
}

#define SD_EULER_KARRAS                                                                            \
    "{\"_class_name\": \"EulerDiscreteScheduler\", \"beta_schedule\": \"scaled_linear\","          \
    " \"beta_start\": 0.00085, \"beta_end\": 0.012, \"use_karras_sigmas\": true" /* closed by      \
                                                                                    caller */

/* Karras sigmas run from sigma_max down to sigma_min (config values when set) and end in 0;
 * their timesteps, mapped back through the training sigmas, decrease inside [0, T). */
static void test_scheduler_euler_karras_bounds(void **state) {
    (void)state;
    cascade_error      err;
    cascade_scheduler *s = test_scheduler_make_ok(SD_EULER_KARRAS ", \"sigma_min\": 0.1, \"sigma_max\": 10.0}");
    assert_int_equal(cascade_scheduler_set_timesteps(s, 7, &err), CASCADE_STATUS_OK);
    size_t        n_sig, n_t;
    const float  *sig = cascade_scheduler_sigmas(s, &n_sig);
    const double *t = cascade_scheduler_timesteps(s, &n_t);
    assert_int_equal(n_t, 7);
    assert_int_equal(n_sig, 8);
    assert_float_equal(sig[0], 10.0f, 1e-5);
    assert_float_equal(sig[6], 0.1f, 1e-6);
    assert_float_equal(sig[7], 0.0f, 0);
    for (size_t i = 1; i < n_t; i++) {
        assert_true(sig[i] < sig[i - 1]);
        assert_true(t[i] < t[i - 1]);
    }
    assert_true(t[0] <= 999 && t[6] >= 0);
    cascade_scheduler_free(s);
    /* sigma_min must lie below sigma_max */
    assert_int_equal(test_scheduler_make(SD_EULER_KARRAS ", \"sigma_min\": 5, \"sigma_max\": 1}", &s, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "sigma_min"));
    assert_null(s);
}

/* DPM-Solver with Karras sigmas uses integer timesteps and repeats the last sigma as the
 * final one; algorithm_type dpmsolver is accepted, the SDE variants are refused by name. */
static void test_scheduler_dpm_karras_and_algorithms(void **state) {
    (void)state;
    cascade_error      err;
    cascade_scheduler *s = test_scheduler_make_ok("{\"_class_name\": \"DPMSolverMultistepScheduler\","
                                   " \"use_karras_sigmas\": true, \"solver_order\": 3,"
                                   " \"algorithm_type\": \"dpmsolver\"}");
    assert_int_equal(cascade_scheduler_set_timesteps(s, 9, &err), CASCADE_STATUS_OK);
    size_t        n_sig, n_t;
    const float  *sig = cascade_scheduler_sigmas(s, &n_sig);
    const double *t = cascade_scheduler_timesteps(s, &n_t);
    assert_int_equal(n_sig, n_t + 1);
    assert_float_equal(sig[n_t], sig[n_t - 1], 0);
    for (size_t i = 0; i < n_t; i++)
        assert_float_equal(t[i], floor(t[i]), 0);
    cascade_scheduler_free(s);
    assert_int_equal(test_scheduler_make("{\"_class_name\": \"DPMSolverMultistepScheduler\","
                          " \"algorithm_type\": \"sde-dpmsolver++\"}",
                          &s, &err),
                     CASCADE_STATUS_UNSUPPORTED);
    assert_non_null(strstr(err.message, "sde-dpmsolver++"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scheduler_if_config),
        cmocka_unit_test(test_scheduler_unknown_field),
        cmocka_unit_test(test_scheduler_bad_value),
        cmocka_unit_test(test_scheduler_bad_class_and_types),
        cmocka_unit_test(test_scheduler_rng_deterministic),
        cmocka_unit_test(test_scheduler_timesteps),
        cmocka_unit_test(test_scheduler_euler_scaling),
        cmocka_unit_test(test_scheduler_set_timesteps_errors),
        cmocka_unit_test(test_scheduler_step_noise_contract),
        cmocka_unit_test(test_scheduler_add_noise),
        cmocka_unit_test(test_scheduler_load_python_infinity),
        cmocka_unit_test(test_scheduler_golden_configs),
        cmocka_unit_test(test_scheduler_euler_karras_bounds),
        cmocka_unit_test(test_scheduler_dpm_karras_and_algorithms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
