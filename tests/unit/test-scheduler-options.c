/* Scheduler options that no golden case exercises, checked against closed forms of the
 * diffusers 0.25.1 formulas (scheduling_ddpm.py, scheduling_ddim.py and the shared beta
 * schedules) computed here in double precision, and the option values the engine refuses.
 * DPM-Solver and Euler: test-scheduler-sigmas.c.
 *
 * Inventory: each config field / value (and step option) the engine accepts, and what
 * checks it. "golden X" is /work/shared/golden/scheduler_X (diffusers 0.25.1, replayed by
 * tests/golden/golden-scheduler.c); "here" / "sigmas" name a test in this file or in
 * test-scheduler-sigmas.c; "refused" is UNSUPPORTED at load, tested where named.
 *
 * all classes
 *   num_train_timesteps 1000 / 500               golden all / variant_3, variant_4
 *   beta_start, beta_end                         golden all (0.0001..0.02, 0.00085..0.012, ...)
 *   beta_schedule linear                         golden variant_1, variant_4
 *                 scaled_linear                  golden ddim, dpmpp_2m, euler, variant_2/6/8
 *                 squaredcos_cap_v2              golden ddpm_if_*, dpmpp_2m_if_thresh,
 *                                                variant_3/5/7/9
 *                 sigmoid (DDPM only)            golden variant_0; other classes refused: here
 *   trained_betas (array)                        here: trained_betas
 *   rescale_betas_zero_snr (not DPM-Solver)      golden variant_4/5/6/8/9
 * DDPMScheduler
 *   variance_type fixed_small                    here: ddpm_variance
 *                 fixed_small_log                golden variant_0
 *                 fixed_large                    here: ddpm_variance
 *                 fixed_large_log                refused (sqrt of a log < 0: NaN): here
 *                 learned / learned_range        golden variant_5 / ddpm_if_stage1, _stage2
 *   prediction_type epsilon / sample             golden ddpm_if_* / variant_5
 *                   v_prediction                 here: ddpm_v_prediction
 *   thresholding, dynamic_thresholding_ratio,
 *     sample_max_value                           golden ddpm_if_*, variant_0
 *   clip_sample, clip_sample_range 1             golden variant_5
 *   clip_sample_range != 1                       here: ddpm_clip_range
 *   timestep_spacing leading + steps_offset      golden ddpm_if_* (0), variant_5 (1)
 *                    linspace / trailing         golden variant_0 / here: integer_spacing
 * DDIMScheduler
 *   set_alpha_to_one false / true                golden ddim, variant_1, variant_6 / here
 *   prediction_type epsilon / v_prediction       golden ddim, variant_1 / variant_6
 *                   sample                       here: ddim_sample_and_clip
 *   thresholding (+ ratio, max value)            golden variant_1, variant_6
 *   clip_sample (thresholding off), range != 1   here: ddim_sample_and_clip
 *   timestep_spacing leading + steps_offset      golden ddim (1), variant_1 (0)
 *                    trailing / linspace         golden variant_6 / here: integer_spacing
 *   step eta 0 / 1 / 0.5, use_clipped_model_output   golden ddim / ddim_eta, variant_6 /
 *                                                variant_1 (both with use_clipped_model_output)
 * DPMSolverMultistepScheduler
 *   solver_order 1 / 2 / 3                       sigmas: dpm_prediction / golden dpmpp_2m,
 *                                                variant_7 / variant_2; 4 refused: here
 *   algorithm_type dpmsolver++ / dpmsolver       golden dpmpp_2m / variant_7
 *                  deis (reference: dpmsolver++) sigmas: dpm_aliases
 *                  sde-dpmsolver, sde-dpmsolver++ refused: test-scheduler.c
 *   solver_type midpoint / heun                  golden dpmpp_2m / variant_7 (dpmsolver);
 *                                                heun with dpmsolver++: sigmas: dpm_heun
 *               logrho, bh1, bh2 (= midpoint)    sigmas: dpm_aliases
 *   lower_order_final true / false               golden dpmpp_2m / variant_7
 *   euler_at_final                               golden variant_2, variant_7
 *   use_karras_sigmas                            golden variant_2
 *   use_lu_lambdas true                          refused: here
 *   lambda_min_clipped -inf / finite             golden all / sigmas: dpm_lambda_min_clipped
 *   variance_type null / learned_range           golden dpmpp_2m / dpmpp_2m_if_thresh
 *                 learned                        sigmas: dpm_aliases
 *                 learned* with sample / v       refused (the reference fails): here
 *   prediction_type epsilon                      golden all DPM cases
 *                   sample / v_prediction        sigmas: dpm_prediction
 *   thresholding dpmsolver++ / dpmsolver         golden dpmpp_2m_if_thresh / variant_7
 *   timestep_spacing linspace / trailing         golden dpmpp_2m / variant_7
 *                    leading + steps_offset      sigmas: dpm_leading (variant_2's Karras sigmas
 *                                                replace its spaced timesteps)
 * EulerDiscreteScheduler
 *   prediction_type epsilon / v_prediction       golden euler, variant_3 / variant_8
 *                   sample, original_sample      sigmas: euler_sample_and_churn
 *   interpolation_type linear                    golden euler, variant_8
 *                      log_linear                golden variant_3 (under Karras); alone: sigmas
 *   use_karras_sigmas (sigma_min/max null)       golden variant_3, variant_8
 *   sigma_min, sigma_max                         sigmas: euler_schedules
 *   timestep_type discrete / continuous          golden all / sigmas: euler_sample_and_churn
 *                 continuous with v_prediction   refused: here
 *   timestep_spacing linspace / trailing         golden euler / variant_3, variant_8
 *                    leading + steps_offset      sigmas: euler_schedules
 *   step s_churn, s_tmin, s_tmax, s_noise        sigmas: euler_sample_and_churn
 * EulerAncestralDiscreteScheduler
 *   prediction_type epsilon / v_prediction       golden euler_ancestral, variant_9 / variant_4
 *                   sample                       refused (the reference raises): here
 *   timestep_spacing linspace/leading/trailing   golden euler_ancestral / variant_9 / variant_4
 */
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

enum { T = 1000, B = 2, C = 3, HW = 16, N = B * C * HW };

/* alphas_cumprod of diffusers' "linear" betas (torch.linspace(start, end, T)), in double,
 * rounded to float32 as torch stores them (1 - abar near t = 0 depends on that rounding) */
static void ref_abar_linear(double b0, double b1, double *abar) {
    double acc = 1;
    for (int i = 0; i < T; i++) {
        acc *= 1 - (b0 + (b1 - b0) * i / (T - 1));
        abar[i] = (float)acc;
    }
}

static void run_set(cascade_scheduler *s, int64_t n) {
    cascade_error err;
    cascade_error_init(&err);
    cascade_status st = cascade_scheduler_set_timesteps(s, n, &err);
    if (st) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
}

static void run_step(cascade_scheduler *s, double t, const float *m, const float *x,
                     const float *noise, double eta, float *prev, float *x0) {
    static const int64_t shape[4] = {B, C, 4, 4};
    cascade_step_options opt;
    cascade_error        err;
    cascade_step_options_init(&opt);
    opt.noise = noise;
    opt.eta = eta;
    cascade_error_init(&err);
    cascade_status st = cascade_scheduler_step(s, t, m, C, x, shape, &opt, prev, x0, &err);
    if (st) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
}

/* trained_betas replace the schedule: alphas_cumprod = cumprod(1 - trained_betas). */
static void test_options_trained_betas(void **state) {
    (void)state;
    static const char *const classes[] = {"DDPMScheduler", "DDIMScheduler",
                                          "DPMSolverMultistepScheduler", "EulerDiscreteScheduler",
                                          "EulerAncestralDiscreteScheduler"};
    static const double      betas[5] = {0.05, 0.1, 0.2, 0.3, 0.45};
    double                   abar[5], acc = 1;
    for (int i = 0; i < 5; i++)
        abar[i] = acc *= 1 - betas[i];
    for (size_t k = 0; k < sizeof classes / sizeof classes[0]; k++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{\"_class_name\": \"%s\", \"num_train_timesteps\": 5,"
                 " \"trained_betas\": [0.05, 0.1, 0.2, 0.3, 0.45]}",
                 classes[k]);
        cascade_scheduler *s = test_scheduler_make_ok(json);
        test_expect_close(classes[k], cascade_scheduler_alphas_cumprod(s), abar, 5, 1e-7, 1e-6);
        cascade_scheduler_free(s);
    }
}

static void fill_inputs(float *x, float *m, float *noise, float xr) {
    test_fill_uniform(x, N, 11, -xr, xr);
    test_fill_uniform(m, N, 12, -1.5f, 1.5f);
    test_fill_uniform(noise, N, 13, -2, 2);
}

/* DDPM step (Ho et al. eq. 7) from t to prev_t with the x0 given, plus the noise term:
 * var_small = (1 - abar_prev) / (1 - abar_t) beta_t, fixed_large uses beta_t itself. */
static void ref_ddpm(const double *abar, int t, int prev_t, const double *x0, const float *x,
                     const float *noise, bool large, double *prev) {
    double at = abar[t], ap = prev_t >= 0 ? abar[prev_t] : 1.0;
    double cur_alpha = at / ap, cur_beta = 1 - cur_alpha;
    double var = large ? cur_beta : (1 - ap) / (1 - at) * cur_beta;
    for (int i = 0; i < N; i++)
        prev[i] = sqrt(ap) * cur_beta / (1 - at) * x0[i] +
                  sqrt(cur_alpha) * (1 - ap) / (1 - at) * x[i] + sqrt(var) * noise[i];
}

/* variance_type fixed_small (default) and fixed_large, epsilon prediction, no clipping:
 * one step of a 10-step run at t = 100 (prev_t 0), where the two variances differ most. */
static void test_options_ddpm_variance(void **state) {
    (void)state;
    static float  x[N], m[N], noise[N], prev[N], x0[N];
    static double abar[T], rx0[N], want[N], other[N];
    ref_abar_linear(0.0001, 0.02, abar);
    fill_inputs(x, m, noise, 1);
    for (int i = 0; i < N; i++)
        rx0[i] = (x[i] - sqrt(1 - abar[100]) * m[i]) / sqrt(abar[100]);
    for (int large = 0; large <= 1; large++) {
        cascade_scheduler *s = test_scheduler_make_ok(large ? "{\"_class_name\": \"DDPMScheduler\","
                                               " \"variance_type\": \"fixed_large\","
                                               " \"clip_sample\": false}"
                                             : "{\"_class_name\": \"DDPMScheduler\","
                                               " \"clip_sample\": false}");
        run_set(s, 10);
        run_step(s, 100, m, x, noise, 0, prev, x0);
        ref_ddpm(abar, 100, 0, rx0, x, noise, large, want);
        ref_ddpm(abar, 100, 0, rx0, x, noise, !large, other);
        test_expect_distinct(want, other, N, 1e-5, 1e-4);
        test_expect_close("ddpm x0", x0, rx0, N, 1e-5, 1e-4);
        test_expect_close(large ? "fixed_large" : "fixed_small", prev, want, N, 1e-5, 1e-4);
        cascade_scheduler_free(s);
    }
}

/* prediction_type v_prediction: x0 = sqrt(abar_t) x - sqrt(1 - abar_t) v (t = 500 -> 400). */
static void test_options_ddpm_v_prediction(void **state) {
    (void)state;
    static float  x[N], m[N], noise[N], prev[N], x0[N];
    static double abar[T], rx0[N], want[N];
    ref_abar_linear(0.0001, 0.02, abar);
    fill_inputs(x, m, noise, 1);
    for (int i = 0; i < N; i++)
        rx0[i] = sqrt(abar[500]) * x[i] - sqrt(1 - abar[500]) * m[i];
    ref_ddpm(abar, 500, 400, rx0, x, noise, false, want);
    cascade_scheduler *s =
        test_scheduler_make_ok("{\"_class_name\": \"DDPMScheduler\","
                " \"prediction_type\": \"v_prediction\", \"clip_sample\": false}");
    run_set(s, 10);
    run_step(s, 500, m, x, noise, 0, prev, x0);
    test_expect_close("ddpm v x0", x0, rx0, N, 1e-5, 1e-4);
    test_expect_close("ddpm v prev", prev, want, N, 1e-5, 1e-4);
    cascade_scheduler_free(s);
}

/* clip_sample with clip_sample_range 2.5 (thresholding off) clamps x0 to [-2.5, 2.5]. */
static void test_options_ddpm_clip_range(void **state) {
    (void)state;
    static float  x[N], m[N], noise[N], prev[N], x0[N];
    static double abar[T], rx0[N], want[N];
    int           clipped = 0, inside = 0;
    ref_abar_linear(0.0001, 0.02, abar);
    fill_inputs(x, m, noise, 4);
    for (int i = 0; i < N; i++) {
        double v = (x[i] - sqrt(1 - abar[100]) * m[i]) / sqrt(abar[100]);
        rx0[i] = v < -2.5 ? -2.5 : v > 2.5 ? 2.5 : v;
        clipped += rx0[i] != v;
        inside += fabs(v) < 2.4;
    }
    assert_true(clipped > 0 && inside > 0); /* both sides of the range are exercised */
    ref_ddpm(abar, 100, 0, rx0, x, noise, false, want);
    cascade_scheduler *s = test_scheduler_make_ok("{\"_class_name\": \"DDPMScheduler\","
                                   " \"clip_sample\": true, \"clip_sample_range\": 2.5}");
    run_set(s, 10);
    run_step(s, 100, m, x, noise, 0, prev, x0);
    test_expect_close("ddpm clip x0", x0, rx0, N, 1e-5, 1e-4);
    test_expect_close("ddpm clip prev", prev, want, N, 1e-5, 1e-4);
    cascade_scheduler_free(s);
}

/* DDPM/DDIM integer timesteps: trailing np.round(np.arange(T, 0, -T/n)) - 1 and linspace
 * np.linspace(0, T-1, n).round()[::-1] (steps_offset ignored by both). */
static void test_options_integer_spacing(void **state) {
    (void)state;
    static const char *const classes[] = {"DDPMScheduler", "DDIMScheduler"};
    for (int k = 0; k < 2; k++) {
        for (int sp = 0; sp < 2; sp++) {
            char json[256];
            snprintf(json, sizeof json,
                     "{\"_class_name\": \"%s\", \"timestep_spacing\": \"%s\","
                     " \"steps_offset\": 1}",
                     classes[k], sp ? "linspace" : "trailing");
            cascade_scheduler *s = test_scheduler_make_ok(json);
            run_set(s, 7);
            size_t        nt;
            const double *t = cascade_scheduler_timesteps(s, &nt);
            assert_int_equal(nt, 7);
            for (int i = 0; i < 7; i++) {
                double want = sp ? nearbyint((double)(T - 1) * (6 - i) / 6)
                                 : nearbyint(T - i * (T / 7.0)) - 1;
                assert_float_equal(t[i], want, 0);
            }
            cascade_scheduler_free(s);
        }
    }
}

/* DDIM (eta 0): prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev) eps.
 * set_alpha_to_one true: the last step's abar_prev is 1, so prev = x0 (false: abar[0]);
 * prediction_type sample: x0 = m, eps = (x - sqrt(abar_t) x0) / sqrt(1 - abar_t);
 * clip_sample with range 2.5 and thresholding off clamps x0 (eps stays the model's). */
static void test_options_ddim_sample_and_clip(void **state) {
    (void)state;
    static float  x[N], m[N], noise[N], prev[N], x0[N];
    static double abar[T], rx0[N], want[N], other[N];
    ref_abar_linear(0.0001, 0.02, abar);
    fill_inputs(x, m, noise, 4);

    /* set_alpha_to_one (default true) against false, last step t = 0 of 10 */
    for (int one = 0; one <= 1; one++) {
        cascade_scheduler *s =
            test_scheduler_make_ok(one ? "{\"_class_name\": \"DDIMScheduler\","
                          " \"clip_sample\": false}"
                        : "{\"_class_name\": \"DDIMScheduler\","
                          " \"clip_sample\": false, \"set_alpha_to_one\": false}");
        double ap = one ? 1.0 : abar[0];
        for (int i = 0; i < N; i++) {
            rx0[i] = (x[i] - sqrt(1 - abar[0]) * m[i]) / sqrt(abar[0]);
            want[i] = sqrt(ap) * rx0[i] + sqrt(1 - ap) * m[i];
            double ap2 = one ? abar[0] : 1.0;
            other[i] = sqrt(ap2) * rx0[i] + sqrt(1 - ap2) * m[i];
        }
        test_expect_distinct(want, other, N, 1e-5, 1e-4);
        run_set(s, 10);
        run_step(s, 0, m, x, NULL, 0, prev, x0);
        test_expect_close("ddim set_alpha_to_one", prev, want, N, 1e-5, 1e-4);
        cascade_scheduler_free(s);
    }

    /* prediction_type sample, t = 500 -> 400 */
    cascade_scheduler *s = test_scheduler_make_ok("{\"_class_name\": \"DDIMScheduler\","
                                   " \"prediction_type\": \"sample\", \"clip_sample\": false}");
    for (int i = 0; i < N; i++) {
        double eps = (x[i] - sqrt(abar[500]) * m[i]) / sqrt(1 - abar[500]);
        rx0[i] = m[i];
        want[i] = sqrt(abar[400]) * m[i] + sqrt(1 - abar[400]) * eps;
    }
    run_set(s, 10);
    run_step(s, 500, m, x, NULL, 0, prev, x0);
    test_expect_close("ddim sample x0", x0, rx0, N, 1e-6, 1e-5);
    test_expect_close("ddim sample prev", prev, want, N, 1e-5, 1e-4);
    cascade_scheduler_free(s);

    /* clip_sample_range 2.5, epsilon, t = 100 -> 0 */
    s = test_scheduler_make_ok("{\"_class_name\": \"DDIMScheduler\", \"clip_sample\": true,"
                " \"clip_sample_range\": 2.5}");
    int clipped = 0;
    for (int i = 0; i < N; i++) {
        double v = (x[i] - sqrt(1 - abar[100]) * m[i]) / sqrt(abar[100]);
        rx0[i] = v < -2.5 ? -2.5 : v > 2.5 ? 2.5 : v;
        clipped += rx0[i] != v;
        want[i] = sqrt(abar[0]) * rx0[i] + sqrt(1 - abar[0]) * m[i];
    }
    assert_true(clipped > 0);
    run_set(s, 10);
    run_step(s, 100, m, x, NULL, 0, prev, x0);
    test_expect_close("ddim clip x0", x0, rx0, N, 1e-5, 1e-4);
    test_expect_close("ddim clip prev", prev, want, N, 1e-5, 1e-4);
    cascade_scheduler_free(s);
}

/* Values the engine refuses at load, each named in the message with its field. */
static void test_options_refused(void **state) {
    (void)state;
    static const struct {
        const char *json, *field, *value;
    } cases[] = {
        {"{\"_class_name\": \"DDPMScheduler\", \"variance_type\": \"fixed_large_log\"}",
         "variance_type", "fixed_large_log"},
        {"{\"_class_name\": \"DDIMScheduler\", \"beta_schedule\": \"sigmoid\"}", "beta_schedule",
         "sigmoid"},
        {"{\"_class_name\": \"EulerDiscreteScheduler\", \"beta_schedule\": \"sigmoid\"}",
         "beta_schedule", "sigmoid"},
        {"{\"_class_name\": \"DPMSolverMultistepScheduler\", \"solver_order\": 4}", "solver_order",
         "4"},
        {"{\"_class_name\": \"DPMSolverMultistepScheduler\", \"use_lu_lambdas\": true}",
         "use_lu_lambdas", "true"},
        {"{\"_class_name\": \"DPMSolverMultistepScheduler\", \"variance_type\": \"learned_range\","
         " \"prediction_type\": \"v_prediction\"}",
         "variance_type", "learned_range"},
        {"{\"_class_name\": \"DPMSolverMultistepScheduler\", \"variance_type\": \"learned\","
         " \"prediction_type\": \"sample\"}",
         "variance_type", "learned"},
        {"{\"_class_name\": \"EulerDiscreteScheduler\", \"timestep_type\": \"continuous\","
         " \"prediction_type\": \"v_prediction\"}",
         "timestep_type", "continuous"},
        {"{\"_class_name\": \"EulerAncestralDiscreteScheduler\", \"prediction_type\": \"sample\"}",
         "prediction_type", "sample"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        cascade_error      err;
        cascade_scheduler *s = NULL;
        cascade_status     st = test_scheduler_make(cases[k].json, &s, &err);
        if (!test_error_is(st, &err, CASCADE_STATUS_UNSUPPORTED, cases[k].field))
            fail_msg("%s", cases[k].json);
        if (!strstr(err.message, cases[k].value)) fail_msg("%s: %s", cases[k].json, err.message);
        assert_null(s);
    }
    /* the same fields with an accepted partner load */
    cascade_scheduler *s = test_scheduler_make_ok("{\"_class_name\": \"DPMSolverMultistepScheduler\","
                                   " \"variance_type\": \"learned_range\"}");
    cascade_scheduler_free(s);
    s = test_scheduler_make_ok("{\"_class_name\": \"EulerDiscreteScheduler\", \"timestep_type\": \"continuous\"}");
    cascade_scheduler_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_trained_betas),
        cmocka_unit_test(test_options_ddpm_variance),
        cmocka_unit_test(test_options_ddpm_v_prediction),
        cmocka_unit_test(test_options_ddpm_clip_range),
        cmocka_unit_test(test_options_integer_spacing),
        cmocka_unit_test(test_options_ddim_sample_and_clip),
        cmocka_unit_test(test_options_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
