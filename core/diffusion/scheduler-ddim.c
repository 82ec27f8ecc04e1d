/* DDIMScheduler (diffusers 0.25.1): Song et al. 2020, eq. 12, with eta scaling the
 * stochastic part (eta = 0 deterministic, eta = 1 DDPM-like). Float32 as the reference. */
#include <math.h>
#include <stdlib.h>

#include "scheduler-internal.h"

static cascade_status ddim_configure(cascade_scheduler *s, cascade_config *cfg,
                                     cascade_error *err) {
    static const char *const preds[] = {"epsilon", "sample", "v_prediction", NULL};
    bool                     one;
    CASCADE_TRY(sched_config_betas(s, cfg, true, false, err));
    CASCADE_TRY(cascade_config_bool(cfg, "set_alpha_to_one", true, &one, err));
    CASCADE_TRY(sched_config_prediction(s, cfg, preds, err));
    CASCADE_TRY(sched_config_threshold(s, cfg, true, err));
    CASCADE_TRY(sched_config_spacing(s, cfg, "leading", err));
    /* the "previous" alphas_cumprod of the last step */
    s->final_alpha_cumprod = one ? 1.0f : s->alphas_cumprod[0];
    return CASCADE_STATUS_OK;
}

static cascade_status ddim_set_timesteps(cascade_scheduler *s, int64_t n, cascade_error *err) {
    double *t = malloc((size_t)n * sizeof *t);
    if (!t) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "DDIM timesteps");
    sched_integer_timesteps(s, n, t);
    cascade_status st = sched_set_run(s, t, n, NULL, 0, err);
    free(t);
    return st;
}

static cascade_status ddim_step(cascade_scheduler *s, double timestep, const float *model,
                                int64_t model_channels, const float *sample, const int64_t shape[4],
                                const cascade_step_options *opt, float *prev, float *x0_out,
                                cascade_error *err) {
    size_t  batch, chw;
    int64_t t;
    CASCADE_TRY(sched_check_shapes(s, model_channels, shape, false, &batch, &chw, err));
    CASCADE_TRY(sched_train_index(s, timestep, &t, err));
    if (!(opt->eta >= 0))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "DDIMScheduler: eta %g < 0",
                                 opt->eta);
    size_t n = batch * chw;

    /* 1-2. alphas and betas */
    int64_t prev_t = t - s->T / s->n_steps;
    float   ac_t = s->alphas_cumprod[t];
    float   ac_prev = prev_t >= 0 ? s->alphas_cumprod[prev_t] : s->final_alpha_cumprod;
    float   beta_prod_t = 1.0f - ac_t, beta_prod_prev = 1.0f - ac_prev;
    float   sa = sqrtf(ac_t), sb = sqrtf(beta_prod_t);

    float         *x0 = x0_out ? x0_out : malloc(n * sizeof *x0);
    float         *eps = malloc(n * sizeof *eps);
    float         *noise = opt->eta > 0 ? malloc(n * sizeof *noise) : NULL;
    cascade_status st = CASCADE_STATUS_OK;
    if (!x0 || !eps || (opt->eta > 0 && !noise)) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "DDIM step");
        goto done;
    }
    if (opt->eta > 0 && (st = sched_step_noise(opt, noise, n, "DDIMScheduler", err))) goto done;

    /* 3. x0 and eps estimates */
    sched_x0_from_output(s->prediction, sa, sb, model, chw, sample, x0, batch, chw);
    for (size_t i = 0; i < n; i++) {
        switch (s->prediction) {
        case SCHED_PRED_EPSILON: eps[i] = model[i]; break;
        case SCHED_PRED_SAMPLE: eps[i] = (sample[i] - sa * x0[i]) / sb; break;
        case SCHED_PRED_V: eps[i] = sa * model[i] + sb * sample[i]; break;
        }
    }
    /* 4. clip or threshold x0 */
    if ((st = sched_postprocess_x0(s, x0, batch, chw, err))) goto done;

    /* 5. sigma_t(eta) */
    float variance = (beta_prod_prev / beta_prod_t) * (1.0f - ac_t / ac_prev);
    float std_dev = (float)opt->eta * sqrtf(variance);
    if (opt->use_clipped_model_output)
        for (size_t i = 0; i < n; i++)
            eps[i] = (sample[i] - sa * x0[i]) / sb;

    /* 6-7. direction to x_t and x_{t-1} */
    float c_dir = sqrtf(1.0f - ac_prev - std_dev * std_dev);
    float c_x0 = sqrtf(ac_prev);
    for (size_t i = 0; i < n; i++) {
        float dir = c_dir * eps[i];
        prev[i] = c_x0 * x0[i] + dir;
    }
    if (opt->eta > 0)
        for (size_t i = 0; i < n; i++)
            prev[i] = prev[i] + std_dev * noise[i];
done:
    if (x0 != x0_out) free(x0);
    free(eps);
    free(noise);
    return st;
}

const sched_solver sched_solver_ddim = {
    .class_name = "DDIMScheduler",
    .kind = CASCADE_SCHEDULER_KIND_DDIM,
    .configure = ddim_configure,
    .set_timesteps = ddim_set_timesteps,
    .step = ddim_step,
};
