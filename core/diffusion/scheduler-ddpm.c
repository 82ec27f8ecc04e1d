/* DDPMScheduler (diffusers 0.25.1): ancestral sampling of Ho et al. 2020 with the posterior
 * variance choices of improved DDPM, as DeepFloyd IF uses it (squaredcos_cap_v2 betas,
 * learned_range variance, dynamic thresholding). All per-step math is float32, in the
 * reference's operation order. */
#include <math.h>
#include <stdlib.h>

#include "scheduler-internal.h"

static cascade_status ddpm_configure(cascade_scheduler *s, cascade_config *cfg,
                                     cascade_error *err) {
    static const char *const preds[] = {"epsilon", "sample", "v_prediction", NULL};
    static const char *const variances[] = {
        "fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log",
        "learned",     "learned_range",   NULL};
    int v;
    CASCADE_TRY(sched_config_betas(s, cfg, true, true, err));
    CASCADE_TRY(sched_config_enum(cfg, "variance_type", "fixed_small", variances, &v, err));
    if (v == 3) /* sqrt(log(beta)) of a beta < 1: NaN noise in the reference too */
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "%s: variance_type \"fixed_large_log\" is not supported (it "
                                 "takes the square root of a negative log variance)",
                                 cascade_config_path(cfg));
    s->variance = (sched_variance)(SCHED_VAR_FIXED_SMALL + v);
    CASCADE_TRY(sched_config_prediction(s, cfg, preds, err));
    CASCADE_TRY(sched_config_threshold(s, cfg, true, err));
    CASCADE_TRY(sched_config_spacing(s, cfg, "leading", err));
    return CASCADE_STATUS_OK;
}

static cascade_status ddpm_set_timesteps(cascade_scheduler *s, int64_t n, cascade_error *err) {
    double *t = malloc((size_t)n * sizeof *t);
    if (!t) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "DDPM timesteps");
    sched_integer_timesteps(s, n, t);
    cascade_status st = sched_set_run(s, t, n, NULL, 0, err);
    free(t);
    return st;
}

static cascade_status ddpm_step(cascade_scheduler *s, double timestep, const float *model,
                                int64_t model_channels, const float *sample, const int64_t shape[4],
                                const cascade_step_options *opt, float *prev, float *x0_out,
                                cascade_error *err) {
    bool    learned = s->variance == SCHED_VAR_LEARNED || s->variance == SCHED_VAR_LEARNED_RANGE;
    size_t  batch, chw;
    int64_t t;
    CASCADE_TRY(sched_check_shapes(s, model_channels, shape, learned, &batch, &chw, err));
    CASCADE_TRY(sched_train_index(s, timestep, &t, err));
    bool split = learned && model_channels == 2 * shape[1];
    if (learned && !split) /* the reference fails on the missing variance too */
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "DDPMScheduler: variance_type learned needs a model output of "
                                 "2 x %lld channels, got %lld",
                                 (long long)shape[1], (long long)model_channels);
    size_t mstride = split ? 2 * chw : chw, n = batch * chw;

    /* 1. alphas and betas of this (possibly skipping) step */
    int64_t prev_t = t - s->T / s->n_steps;
    float   ac_t = s->alphas_cumprod[t];
    float   ac_prev = prev_t >= 0 ? s->alphas_cumprod[prev_t] : 1.0f;
    float   beta_prod_t = 1.0f - ac_t, beta_prod_prev = 1.0f - ac_prev;
    float   cur_alpha = ac_t / ac_prev, cur_beta = 1.0f - cur_alpha;

    float         *x0 = x0_out ? x0_out : malloc(n * sizeof *x0);
    float         *noise = t > 0 ? malloc(n * sizeof *noise) : NULL;
    cascade_status st = CASCADE_STATUS_OK;
    if (!x0 || (t > 0 && !noise)) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "DDPM step");
        goto done;
    }
    if (t > 0 && (st = sched_step_noise(opt, noise, n, "DDPMScheduler", err))) goto done;

    /* 2-3. x0 estimate, clipped or thresholded */
    sched_x0_from_output(s->prediction, sqrtf(ac_t), sqrtf(beta_prod_t), model, mstride, sample, x0,
                         batch, chw);
    if ((st = sched_postprocess_x0(s, x0, batch, chw, err))) goto done;

    /* 4-5. posterior mean (formula 7 of Ho et al.) */
    float c_x0 = (sqrtf(ac_prev) * cur_beta) / beta_prod_t;
    float c_xt = sqrtf(cur_alpha) * beta_prod_prev / beta_prod_t;
    for (size_t i = 0; i < n; i++)
        prev[i] = c_x0 * x0[i] + c_xt * sample[i];

    /* 6. noise, with the variance of variance_type (only for t > 0) */
    if (t > 0) {
        float var = (1.0f - ac_prev) / (1.0f - ac_t) * cur_beta;
        var = var < 1e-20f ? 1e-20f : var;
        for (size_t b = 0; b < batch; b++) {
            const float *pv = model + b * mstride + chw; /* variance channels when split */
            for (size_t i = 0; i < chw; i++) {
                size_t k = b * chw + i;
                float  v;
                switch (s->variance) {
                case SCHED_VAR_FIXED_SMALL_LOG: v = expf(0.5f * logf(var)) * noise[k]; break;
                case SCHED_VAR_FIXED_LARGE: v = sqrtf(cur_beta) * noise[k]; break;
                case SCHED_VAR_LEARNED: v = sqrtf(pv[i]) * noise[k]; break;
                case SCHED_VAR_LEARNED_RANGE: {
                    /* interpolate log beta_t and log beta_tilde_t by (v + 1) / 2 */
                    float frac = (pv[i] + 1.0f) / 2.0f;
                    float lv = frac * logf(cur_beta) + (1.0f - frac) * logf(var);
                    v = expf(0.5f * lv) * noise[k];
                    break;
                }
                default: v = sqrtf(var) * noise[k]; break;
                }
                prev[k] = prev[k] + v;
            }
        }
    }
done:
    if (x0 != x0_out) free(x0);
    free(noise);
    return st;
}

const sched_solver sched_solver_ddpm = {
    .class_name = "DDPMScheduler",
    .kind = CASCADE_SCHEDULER_KIND_DDPM,
    .configure = ddpm_configure,
    .set_timesteps = ddpm_set_timesteps,
    .step = ddpm_step,
};
