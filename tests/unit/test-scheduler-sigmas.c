/* DPMSolverMultistepScheduler and EulerDiscreteScheduler options that no golden case
 * exercises, checked against closed forms of diffusers 0.25.1 (scheduling_dpmsolver_multistep.py,
 * scheduling_euler_discrete.py) computed here in double precision from Stable Diffusion's
 * scaled_linear betas (or the cosine schedule). The inventory of options and what checks
 * each is at the top of test-scheduler-options.c. */
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

#define SD_BETAS                                                                                   \
    " \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012"

/* Training sigmas sqrt((1 - abar) / abar) of the scaled_linear betas
 * (torch.linspace(sqrt(0.00085), sqrt(0.012), T) ** 2), or of the squaredcos_cap_v2 ones
 * (1 - alpha_bar(t + 1/T) / alpha_bar(t), capped at 0.999), in double from alphas_cumprod
 * rounded to float32 as torch stores them (1 - abar near t = 0 depends on that rounding). */
static void ref_train_sigmas(bool cosine, double *sig, double *abar_out) {
    double acc = 1, r0 = sqrt(0.00085), r1 = sqrt(0.012);
    for (int i = 0; i < T; i++) {
        double beta;
        if (cosine) {
            double c1 = cos(((double)i / T + 0.008) / 1.008 * M_PI / 2);
            double c2 = cos(((double)(i + 1) / T + 0.008) / 1.008 * M_PI / 2);
            beta = fmin(1 - (c2 * c2) / (c1 * c1), 0.999);
        } else {
            double r = r0 + (r1 - r0) * i / (T - 1);
            beta = r * r;
        }
        acc *= 1 - beta;
        double a = (float)acc;
        if (abar_out) abar_out[i] = a;
        sig[i] = sqrt((1 - a) / a);
    }
}

static void run_set(cascade_scheduler *s, int64_t n) {
    cascade_error err;
    cascade_error_init(&err);
    cascade_status st = cascade_scheduler_set_timesteps(s, n, &err);
    if (st) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
}

static void run_step(cascade_scheduler *s, double t, const float *m, int64_t mc, const float *x,
                     const cascade_step_options *opt, float *prev, float *x0) {
    static const int64_t shape[4] = {B, C, 4, 4};
    cascade_error        err;
    cascade_error_init(&err);
    cascade_status st = cascade_scheduler_step(s, t, m, mc, x, shape, opt, prev, x0, &err);
    if (st) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
}

/* DPM-Solver's alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma alpha_t, lambda */
typedef struct dpm_point {
    double a, s, l;
} dpm_point;

static dpm_point dpm_at(double sigma) {
    dpm_point p = {.a = 1 / sqrt(sigma * sigma + 1)};
    p.s = sigma * p.a;
    p.l = log(p.a) - log(p.s);
    return p;
}

/* solver_order 1 with prediction_type sample / v_prediction, for dpmsolver++ (on x0:
 * x_t = sigma_t/sigma_s x - alpha_t (e^-h - 1) x0) and dpmsolver (on eps:
 * x_t = alpha_t/alpha_s x - sigma_t (e^h - 1) eps); first step of 10, t 999 -> 899. */
static void test_sigmas_dpm_prediction(void **state) {
    (void)state;
    static const char *const algos[] = {"dpmsolver++", "dpmsolver"};
    static const char *const preds[] = {"sample", "v_prediction"};
    static float             x[N], m[N], prev[N], conv[N];
    static double            sig[T], want_conv[N], want[N];
    ref_train_sigmas(false, sig, NULL);
    test_fill_uniform(x, N, 21, -10, 10);
    test_fill_uniform(m, N, 22, -1.5f, 1.5f);
    dpm_point ps = dpm_at(sig[999]), pt = dpm_at(sig[899]);
    double    h = pt.l - ps.l;
    for (int a = 0; a < 2; a++) {
        for (int p = 0; p < 2; p++) {
            char json[256];
            snprintf(json, sizeof json,
                     "{\"_class_name\": \"DPMSolverMultistepScheduler\", \"solver_order\": 1,"
                     " \"algorithm_type\": \"%s\", \"prediction_type\": \"%s\"," SD_BETAS "}",
                     algos[a], preds[p]);
            cascade_scheduler *s = test_scheduler_make_ok(json);
            run_set(s, 10);
            size_t        nt;
            const double *ts = cascade_scheduler_timesteps(s, &nt);
            assert_float_equal(ts[0], 999, 0);
            assert_float_equal(ts[1], 899, 0);
            for (int i = 0; i < N; i++) {
                if (a == 0) {
                    want_conv[i] = p == 0 ? m[i] : ps.a * x[i] - ps.s * m[i];
                    want[i] = pt.s / ps.s * x[i] - pt.a * (exp(-h) - 1) * want_conv[i];
                } else {
                    want_conv[i] = p == 0 ? (x[i] - ps.a * m[i]) / ps.s : ps.a * m[i] + ps.s * x[i];
                    want[i] = pt.a / ps.a * x[i] - pt.s * (exp(h) - 1) * want_conv[i];
                }
            }
            run_step(s, 999, m, C, x, NULL, prev, conv);
            test_expect_close(json, conv, want_conv, N, 1e-5, 1e-4);
            test_expect_close(json, prev, want, N, 1e-5, 1e-4);
            cascade_scheduler_free(s);
        }
    }
}

/* solver_type heun with dpmsolver++ (order 2): the second step is
 * x_t = sigma_t/sigma_s0 x - alpha_t (e^-h - 1) D0 + alpha_t ((e^-h - 1)/h + 1) D1,
 * D0 = m0, D1 = (m0 - m1) / r0, r0 = h0 / h, m the x0 estimates of the two steps. */
static void test_sigmas_dpm_heun(void **state) {
    (void)state;
    static float  xa[N], xb[N], ma[N], mb[N], prev[N];
    static double sig[T], x0a[N], x0b[N], want[N], mid[N];
    ref_train_sigmas(false, sig, NULL);
    test_fill_uniform(xa, N, 31, -14, 14);
    test_fill_uniform(xb, N, 32, -10, 10);
    test_fill_uniform(ma, N, 33, -1.5f, 1.5f);
    test_fill_uniform(mb, N, 34, -1.5f, 1.5f);
    dpm_point p1 = dpm_at(sig[999]), p0 = dpm_at(sig[899]), pt = dpm_at(sig[799]);
    double    h = pt.l - p0.l, r0 = (p0.l - p1.l) / h;
    for (int i = 0; i < N; i++) {
        x0a[i] = (xa[i] - p1.s * ma[i]) / p1.a;
        x0b[i] = (xb[i] - p0.s * mb[i]) / p0.a;
        double d1 = (x0b[i] - x0a[i]) / r0,
               base = pt.s / p0.s * xb[i] - pt.a * (exp(-h) - 1) * x0b[i];
        want[i] = base + pt.a * ((exp(-h) - 1) / h + 1) * d1;
        mid[i] = base - 0.5 * pt.a * (exp(-h) - 1) * d1;
    }
    test_expect_distinct(want, mid, N, 1e-5, 1e-4);
    cascade_scheduler *s = test_scheduler_make_ok("{\"_class_name\": \"DPMSolverMultistepScheduler\","
                                   " \"solver_type\": \"heun\"," SD_BETAS "}");
    run_set(s, 10);
    run_step(s, 999, ma, C, xa, NULL, prev, NULL);
    run_step(s, 899, mb, C, xb, NULL, prev, NULL);
    test_expect_close("dpm++ heun", prev, want, N, 1e-5, 1e-4);
    cascade_scheduler_free(s);
}

/* Runs 4 steps of a 6-step run (model outputs with mc channels, the first C of each
 * channel pair block taken from one fixed draw) and returns the last prev_sample. */
static void dpm_chain(const char *json, int64_t mc, float *out) {
    static float       x[N], m[2 * N], prev[N];
    cascade_scheduler *s = test_scheduler_make_ok(json);
    run_set(s, 6);
    const double *ts = cascade_scheduler_timesteps(s, NULL);
    test_fill_uniform(x, N, 41, -14, 14);
    for (int k = 0; k < 4; k++) {
        float mk[N];
        test_fill_uniform(mk, N, 50 + (uint64_t)k, -1.5f, 1.5f);
        for (int b = 0; b < B; b++) { /* (B, mc, H, W): the first C channels are mk's */
            memcpy(m + (size_t)b * mc * HW, mk + b * C * HW, C * HW * sizeof(float));
            if (mc == 2 * C) test_fill_uniform(m + (size_t)b * mc * HW + C * HW, C * HW, 99, -1, 1);
        }
        run_step(s, ts[k], m, mc, x, NULL, prev, NULL);
        memcpy(x, prev, sizeof x);
    }
    memcpy(out, x, sizeof x);
    cascade_scheduler_free(s);
}

/* The reference renames algorithm_type deis to dpmsolver++ and solver_type logrho / bh1 /
 * bh2 to midpoint; variance_type learned drops the variance channels as learned_range does.
 * Each run equals its canonical one bit for bit; heun (a different solver) does not. */
static void test_sigmas_dpm_aliases(void **state) {
    (void)state;
    static const char *const alias[] = {"\"algorithm_type\": \"deis\"",
                                        "\"solver_type\": \"logrho\"", "\"solver_type\": \"bh1\"",
                                        "\"solver_type\": \"bh2\""};
    static float             base[N], got[N];
    char                     json[256];
    dpm_chain("{\"_class_name\": \"DPMSolverMultistepScheduler\"," SD_BETAS "}", C, base);
    for (size_t k = 0; k < sizeof alias / sizeof alias[0]; k++) {
        snprintf(json, sizeof json,
                 "{\"_class_name\": \"DPMSolverMultistepScheduler\", %s," SD_BETAS "}", alias[k]);
        dpm_chain(json, C, got);
        assert_memory_equal(got, base, sizeof base);
    }
    dpm_chain("{\"_class_name\": \"DPMSolverMultistepScheduler\", \"variance_type\": "
              "\"learned\"," SD_BETAS "}",
              2 * C, got);
    assert_memory_equal(got, base, sizeof base);
    dpm_chain(
        "{\"_class_name\": \"DPMSolverMultistepScheduler\", \"solver_type\": \"heun\"," SD_BETAS
        "}",
        C, got);
    assert_true(memcmp(got, base, sizeof base) != 0);
}

/* leading spacing: step_ratio = T // (n + 1), timesteps (n - i) ratio + steps_offset;
 * sigmas interpolate the training sigmas there and end with that of timestep 0. */
static void test_sigmas_dpm_leading(void **state) {
    (void)state;
    static double sig[T];
    double        want_sig[10];
    ref_train_sigmas(false, sig, NULL);
    cascade_scheduler *s =
        test_scheduler_make_ok("{\"_class_name\": \"DPMSolverMultistepScheduler\","
                " \"timestep_spacing\": \"leading\", \"steps_offset\": 1," SD_BETAS "}");
    run_set(s, 9);
    size_t        nt, ns;
    const double *ts = cascade_scheduler_timesteps(s, &nt);
    const float  *sg = cascade_scheduler_sigmas(s, &ns);
    assert_int_equal(nt, 9);
    assert_int_equal(ns, 10);
    for (int i = 0; i < 9; i++) {
        assert_float_equal(ts[i], (9 - i) * (T / 10) + 1, 0);
        want_sig[i] = sig[(9 - i) * (T / 10) + 1];
    }
    want_sig[9] = sig[0];
    test_expect_close("dpm leading sigmas", sg, want_sig, 10, 1e-7, 1e-5);
    cascade_scheduler_free(s);
}

/* lambda_min_clipped: the last usable timestep is T - #{t: lambda_t < lambda_min_clipped},
 * lambda_t = log sqrt(abar_t) - log sqrt(1 - abar_t); linspace spaces n + 1 points over
 * [0, last - 1] and drops the smallest, trailing starts at last - 1. With the cosine
 * schedule -5.1 clips 4 timesteps. Where trailing would give fewer than n steps (the
 * reference shortens the run) set_timesteps refuses. */
static void test_sigmas_dpm_lambda_min_clipped(void **state) {
    (void)state;
    static double sig[T], abar[T];
    double        want_sig[11];
    ref_train_sigmas(true, sig, abar);
    int clipped = 0, clipped_far = 0;
    for (int t = 0; t < T; t++) {
        double lambda = 0.5 * log(abar[t]) - 0.5 * log(1 - abar[t]);
        clipped += lambda < -5.1;
        clipped_far += lambda < -1.5;
    }
    assert_true(clipped > 0 && clipped < T / 10);
    int last = T - clipped;
    for (int sp = 0; sp < 2; sp++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{\"_class_name\": \"DPMSolverMultistepScheduler\","
                 " \"beta_schedule\": \"squaredcos_cap_v2\", \"lambda_min_clipped\": -5.1,"
                 " \"timestep_spacing\": \"%s\"}",
                 sp ? "trailing" : "linspace");
        cascade_scheduler *s = test_scheduler_make_ok(json);
        run_set(s, 10);
        size_t        nt, ns;
        const double *ts = cascade_scheduler_timesteps(s, &nt);
        const float  *sg = cascade_scheduler_sigmas(s, &ns);
        assert_int_equal(nt, 10);
        assert_int_equal(ns, 11);
        for (int i = 0; i < 10; i++) {
            double want = sp ? nearbyint(last - i * (T / 10.0)) - 1
                             : nearbyint((double)(last - 1) * (10 - i) / 10);
            assert_float_equal(ts[i], want, 0);
            want_sig[i] = sig[(int)want];
        }
        want_sig[10] = sig[0];
        test_expect_close(json, sg, want_sig, 11, 1e-7, 1e-5);
        cascade_scheduler_free(s);
    }
    /* -1.5 clips enough that np.arange(last, 0, -100) has fewer than 10 values */
    assert_true(ceil((T - clipped_far) / (T / 10.0)) < 10);
    cascade_scheduler *s =
        test_scheduler_make_ok("{\"_class_name\": \"DPMSolverMultistepScheduler\","
                " \"beta_schedule\": \"squaredcos_cap_v2\","
                " \"lambda_min_clipped\": -1.5, \"timestep_spacing\": \"trailing\"}");
    cascade_error err;
    cascade_error_init(&err);
    assert_true(test_error_is(cascade_scheduler_set_timesteps(s, 10, &err), &err,
                              CASCADE_STATUS_INVALID_ARG, "lambda_min_clipped"));
    cascade_scheduler_free(s);
}

/* Euler, linspace, 10 steps: the first step goes from sigma(999) to sigma(888).
 * prediction_type sample / original_sample: x0 = m, prev = x + (x - x0)/sigma (sigma' - sigma).
 * s_churn (epsilon): gamma = min(s_churn / (len(sigmas) - 1), sqrt 2 - 1) when
 * s_tmin <= sigma <= s_tmax, else 0; sigma_hat = sigma (1 + gamma);
 * x_hat = x + s_noise z sqrt(sigma_hat^2 - sigma^2); x0 = x_hat - sigma_hat m;
 * prev = x_hat + (x_hat - x0)/sigma_hat (sigma' - sigma_hat).
 * timestep_type continuous without v_prediction is the discrete schedule. */
static void test_sigmas_euler_sample_and_churn(void **state) {
    (void)state;
    static float  x[N], m[N], z[N], prev[N], x0[N], ref_prev[N];
    static double sig[T], want[N], want_x0[N], other[N];
    ref_train_sigmas(false, sig, NULL);
    test_fill_uniform(x, N, 61, -14, 14);
    test_fill_uniform(m, N, 62, -1.5f, 1.5f);
    test_fill_uniform(z, N, 63, -2, 2);
    double s0 = sig[999], s1 = sig[888];
    for (int i = 0; i < N; i++) {
        want_x0[i] = m[i];
        want[i] = x[i] + (x[i] - m[i]) / s0 * (s1 - s0);
    }
    static const char *const sample_preds[] = {"sample", "original_sample"};
    for (int p = 0; p < 2; p++) {
        char json[256];
        snprintf(
            json, sizeof json,
            "{\"_class_name\": \"EulerDiscreteScheduler\", \"prediction_type\": \"%s\"," SD_BETAS
            "}",
            sample_preds[p]);
        cascade_scheduler *s = test_scheduler_make_ok(json);
        run_set(s, 10);
        const double *ts = cascade_scheduler_timesteps(s, NULL);
        assert_float_equal(ts[1], 888, 0);
        run_step(s, 999, m, C, x, NULL, prev, x0);
        test_expect_close(json, x0, want_x0, N, 0, 0);
        test_expect_close(json, prev, want, N, 1e-5, 1e-4);
        cascade_scheduler_free(s);
    }

    cascade_scheduler   *s = test_scheduler_make_ok("{\"_class_name\": \"EulerDiscreteScheduler\"," SD_BETAS "}");
    cascade_step_options opt;
    cascade_step_options_init(&opt);
    opt.s_churn = 2.0;
    opt.s_noise = 0.5;
    opt.noise = z;
    double gamma = fmin(2.0 / 10, sqrt(2.0) - 1), sh = s0 * (1 + gamma);
    for (int i = 0; i < N; i++) {
        double xh = x[i] + 0.5 * z[i] * sqrt(sh * sh - s0 * s0);
        want[i] = xh + (xh - (xh - sh * m[i])) / sh * (s1 - sh);
        other[i] = x[i] + m[i] * (s1 - s0); /* gamma 0 */
    }
    test_expect_distinct(want, other, N, 1e-5, 1e-4);
    run_set(s, 10);
    run_step(s, 999, m, C, x, &opt, prev, NULL);
    test_expect_close("euler churn", prev, want, N, 1e-5, 1e-4);
    /* sigma outside [s_tmin, s_tmax]: no churn */
    for (int k = 0; k < 2; k++) {
        opt.s_tmin = k ? s0 * 1.01 : 0;
        opt.s_tmax = k ? INFINITY : s0 * 0.99;
        run_set(s, 10);
        run_step(s, 999, m, C, x, &opt, prev, NULL);
        test_expect_close("euler s_tmin/s_tmax", prev, other, N, 1e-5, 1e-4);
    }
    /* continuous timesteps: the same schedule and step as discrete */
    cascade_scheduler *sc = test_scheduler_make_ok("{\"_class_name\": \"EulerDiscreteScheduler\","
                                    " \"timestep_type\": \"continuous\"," SD_BETAS "}");
    run_set(s, 10);
    run_set(sc, 10);
    size_t nd, ncont;
    assert_memory_equal(cascade_scheduler_timesteps(s, &nd),
                        cascade_scheduler_timesteps(sc, &ncont), 10 * sizeof(double));
    assert_int_equal(nd, ncont);
    run_step(s, 999, m, C, x, NULL, ref_prev, NULL);
    run_step(sc, 999, m, C, x, NULL, prev, NULL);
    assert_memory_equal(prev, ref_prev, sizeof prev);
    cascade_scheduler_free(sc);
    cascade_scheduler_free(s);
}

/* diffusers' _sigma_to_t: interpolate log sigma between the training log-sigmas */
static double ref_sigma_to_t(double sigma, const double *sig) {
    double ls = log(sigma);
    int    low = 0;
    for (int i = 0; i < T; i++)
        if (ls - log(sig[i]) >= 0) low = i;
    if (low > T - 2) low = T - 2;
    double lo = log(sig[low]), hi = log(sig[low + 1]);
    double w = fmin(fmax((lo - ls) / (lo - hi), 0), 1);
    return (1 - w) * low + w * (low + 1);
}

/* Euler schedules: leading + steps_offset (timesteps (n-1-i) (T // n) + offset, sigmas
 * there, init_noise_sigma sqrt(max^2 + 1)); interpolation_type log_linear alone
 * (exp(linspace(log sigma(T-1), log sigma(0), n + 1)) then 0); Karras sigmas between the
 * configured sigma_max and sigma_min ((max^(1/7) + i/(n-1) (min^(1/7) - max^(1/7)))^7,
 * timesteps mapped back by _sigma_to_t). */
static void test_sigmas_euler_schedules(void **state) {
    (void)state;
    static double sig[T];
    double        want[12];
    size_t        nt, ns;
    ref_train_sigmas(false, sig, NULL);

    cascade_scheduler *s =
        test_scheduler_make_ok("{\"_class_name\": \"EulerDiscreteScheduler\","
                " \"timestep_spacing\": \"leading\", \"steps_offset\": 1," SD_BETAS "}");
    run_set(s, 10);
    const double *ts = cascade_scheduler_timesteps(s, &nt);
    const float  *sg = cascade_scheduler_sigmas(s, &ns);
    assert_int_equal(nt, 10);
    assert_int_equal(ns, 11);
    for (int i = 0; i < 10; i++) {
        assert_float_equal(ts[i], (9 - i) * 100 + 1, 0);
        want[i] = sig[(9 - i) * 100 + 1];
    }
    want[10] = 0;
    test_expect_close("euler leading sigmas", sg, want, 11, 1e-7, 1e-5);
    double init = sqrt(sig[901] * sig[901] + 1);
    float  got_init = cascade_scheduler_init_noise_sigma(s);
    test_expect_close("euler leading init_noise_sigma", &got_init, &init, 1, 1e-7, 1e-5);
    cascade_scheduler_free(s);

    s = test_scheduler_make_ok("{\"_class_name\": \"EulerDiscreteScheduler\","
                " \"interpolation_type\": \"log_linear\"," SD_BETAS "}");
    run_set(s, 10);
    ts = cascade_scheduler_timesteps(s, &nt);
    sg = cascade_scheduler_sigmas(s, &ns);
    assert_int_equal(nt, 10);
    assert_int_equal(ns, 12);
    assert_float_equal(ts[0], 999, 0);
    assert_float_equal(ts[9], 0, 0);
    for (int i = 0; i <= 10; i++)
        want[i] = exp(log(sig[999]) + i / 10.0 * (log(sig[0]) - log(sig[999])));
    want[11] = 0;
    test_expect_close("euler log_linear sigmas", sg, want, 12, 1e-7, 1e-5);
    cascade_scheduler_free(s);

    s = test_scheduler_make_ok("{\"_class_name\": \"EulerDiscreteScheduler\", \"use_karras_sigmas\": true,"
                " \"sigma_min\": 0.1, \"sigma_max\": 10.0," SD_BETAS "}");
    run_set(s, 7);
    ts = cascade_scheduler_timesteps(s, &nt);
    sg = cascade_scheduler_sigmas(s, &ns);
    assert_int_equal(nt, 7);
    assert_int_equal(ns, 8);
    double lo = pow(0.1, 1 / 7.0), hi = pow(10.0, 1 / 7.0);
    for (int i = 0; i < 7; i++) {
        want[i] = pow(hi + i / 6.0 * (lo - hi), 7);
        double t = ref_sigma_to_t(want[i], sig);
        if (fabs(ts[i] - t) > 2e-3) fail_msg("karras timestep %d: %g, want %g", i, ts[i], t);
    }
    want[7] = 0;
    test_expect_close("euler karras sigmas", sg, want, 8, 1e-7, 1e-5);
    cascade_scheduler_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigmas_dpm_prediction),
        cmocka_unit_test(test_sigmas_dpm_heun),
        cmocka_unit_test(test_sigmas_dpm_aliases),
        cmocka_unit_test(test_sigmas_dpm_leading),
        cmocka_unit_test(test_sigmas_dpm_lambda_min_clipped),
        cmocka_unit_test(test_sigmas_euler_sample_and_churn),
        cmocka_unit_test(test_sigmas_euler_schedules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
