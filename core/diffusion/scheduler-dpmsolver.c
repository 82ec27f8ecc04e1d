/* DPMSolverMultistepScheduler (diffusers 0.25.1): Lu et al. 2022's multistep solver in
 * log-SNR lambda, orders 1-3 with midpoint or heun second-order updates, on the data
 * prediction x0 (algorithm_type dpmsolver++) or on the noise prediction eps (dpmsolver).
 * sigmas are float32 (numpy interp of float32 values at integer timesteps is exact), or
 * Karras et al.'s with use_karras_sigmas; every coefficient is float32 as in torch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler-internal.h"

static cascade_status dpm_configure(cascade_scheduler *s, cascade_config *cfg, cascade_error *err) {
    static const char *const preds[] = {"epsilon", "sample", "v_prediction", NULL};
    static const char *const algos[] = {"dpmsolver++", "deis", "dpmsolver", NULL};
    static const char *const types[] = {"midpoint", "heun", "logrho", "bh1", "bh2", NULL};
    static const char *const variances[] = {"learned", "learned_range", NULL};
    int                      i;
    int64_t                  order;
    bool                     flag;
    CASCADE_TRY(sched_config_betas(s, cfg, false, false, err));
    CASCADE_TRY(cascade_config_int(cfg, "solver_order", 2, &order, err));
    if (order < 1 || order > 3)
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "%s: solver_order %lld is not supported (1, 2 or 3)",
                                 cascade_config_path(cfg), (long long)order);
    s->solver_order = (int)order;
    CASCADE_TRY(sched_config_prediction(s, cfg, preds, err));
    CASCADE_TRY(sched_config_threshold(s, cfg, false, err));
    /* "deis" is renamed to dpmsolver++ by the reference; the sde variants are not here */
    CASCADE_TRY(sched_config_enum(cfg, "algorithm_type", "dpmsolver++", algos, &i, err));
    s->solver_noise_pred = i == 2;
    CASCADE_TRY(sched_config_enum(cfg, "solver_type", "midpoint", types, &i, err));
    s->solver_heun = i == 1; /* logrho, bh1, bh2 fall back to midpoint, as in diffusers */
    CASCADE_TRY(cascade_config_bool(cfg, "lower_order_final", true, &s->lower_order_final, err));
    CASCADE_TRY(cascade_config_bool(cfg, "euler_at_final", false, &s->euler_at_final, err));
    CASCADE_TRY(cascade_config_bool(cfg, "use_karras_sigmas", false, &s->karras_sigmas, err));
    CASCADE_TRY(cascade_config_bool(cfg, "use_lu_lambdas", false, &flag, err));
    if (flag)
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "%s: use_lu_lambdas true is not supported",
                                 cascade_config_path(cfg));
    /* the reference saves its default as -Infinity (read as a number by the config reader) */
    CASCADE_TRY(
        cascade_config_float(cfg, "lambda_min_clipped", -INFINITY, &s->lambda_min_clipped, err));
    s->variance = SCHED_VAR_NONE;
    if (cascade_config_has(cfg, "variance_type") && !cascade_config_is_null(cfg, "variance_type")) {
        CASCADE_TRY(sched_config_enum(cfg, "variance_type", NULL, variances, &i, err));
        s->variance = i == 0 ? SCHED_VAR_LEARNED : SCHED_VAR_LEARNED_RANGE;
        /* the reference drops the variance channels for epsilon only: with sample or
         * v_prediction it mixes the 2C-channel output with the C-channel sample and fails */
        if (s->prediction != SCHED_PRED_EPSILON)
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "%s: variance_type \"%s\" is not supported with "
                                     "prediction_type other than \"epsilon\"",
                                     cascade_config_path(cfg), variances[i]);
    } else {
        const char *ignored;
        CASCADE_TRY(cascade_config_string(cfg, "variance_type", NULL, &ignored, err));
    }
    CASCADE_TRY(sched_config_spacing(s, cfg, "linspace", err));
    return CASCADE_STATUS_OK;
}

static cascade_status dpm_set_timesteps(cascade_scheduler *s, int64_t n, cascade_error *err) {
    int64_t T = s->T;
    /* lambda_min_clipped cuts the schedule where log-SNR falls below it (torch.searchsorted
     * over the ascending flipped lambdas): clipped = #{lambda_t < lambda_min_clipped} */
    int64_t clipped = 0;
    for (int64_t t = 0; t < T; t++) {
        float ac = s->alphas_cumprod[t];
        float lambda = logf(sqrtf(ac)) - logf(sqrtf(1.0f - ac));
        if (lambda < s->lambda_min_clipped) clipped++;
    }
    int64_t last = T - clipped;
    if (last < 1)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "DPMSolverMultistepScheduler: lambda_min_clipped leaves no "
                                 "timestep");
    double        *ts = malloc((size_t)(n + 1) * sizeof *ts);
    float         *train = malloc((size_t)T * sizeof *train);
    float         *sig = malloc((size_t)(n + 1) * sizeof *sig);
    cascade_status st = CASCADE_STATUS_OK;
    if (!ts || !train || !sig) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "DPM-Solver timesteps");
        goto done;
    }
    /* n + 1 points, reversed, the last (smallest) dropped */
    switch (s->spacing) {
    case SCHED_SPACING_LINSPACE:
        sched_linspace(0, (double)(last - 1), n + 1, ts);
        for (int64_t i = 0, j = n; i < j; i++, j--) {
            double tmp = ts[i];
            ts[i] = ts[j];
            ts[j] = tmp;
        }
        for (int64_t i = 0; i < n; i++)
            ts[i] = sched_round(ts[i]);
        break;
    case SCHED_SPACING_LEADING: {
        int64_t ratio = last / (n + 1);
        for (int64_t i = 0; i < n; i++)
            ts[i] = (double)((n - i) * ratio + s->steps_offset);
        break;
    }
    case SCHED_SPACING_TRAILING: {
        double ratio = (double)T / (double)n;
        /* np.arange(last, 0, -ratio) holds ceil(last / ratio) values: fewer than n when
         * lambda_min_clipped cut the schedule, and the reference would shorten the run */
        if (ceil((double)last / ratio) < (double)n) {
            st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                   "DPMSolverMultistepScheduler: timestep_spacing \"trailing\" "
                                   "with lambda_min_clipped %g leaves fewer than %lld steps",
                                   s->lambda_min_clipped, (long long)n);
            goto done;
        }
        for (int64_t i = 0; i < n; i++)
            ts[i] = sched_round((double)last - (double)i * ratio) - 1;
        break;
    }
    }
    for (int64_t i = 0; i < n; i++)
        if (ts[i] < 0 || ts[i] >= (double)T) {
            st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                   "DPMSolverMultistepScheduler: %lld steps give timestep %g",
                                   (long long)n, ts[i]);
            goto done;
        }
    sched_train_sigmas(s, train);
    if (s->karras_sigmas) {
        /* Karras sigmas over the whole training range; their timesteps (rounded) replace
         * the spaced ones, and the last sigma repeats as the final one */
        double *k = malloc((size_t)n * sizeof *k);
        if (!k) {
            st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "DPM-Solver sigmas");
            goto done;
        }
        sched_karras_sigmas(train[0], train[T - 1], n, k);
        for (int64_t t = 0; t < T; t++)
            train[t] = logf(train[t]); /* log_sigmas */
        for (int64_t i = 0; i < n; i++) {
            ts[i] = sched_round(sched_sigma_to_t(k[i], train, T));
            sig[i] = (float)k[i];
        }
        sig[n] = sig[n - 1];
        free(k);
    } else {
        for (int64_t i = 0; i < n; i++)
            sig[i] = (float)sched_interp(ts[i], train, T);
        sig[n] = train[0]; /* the final sigma: that of timestep 0 */
    }
    st = sched_set_run(s, ts, n, sig, (size_t)n + 1, err);
done:
    free(ts);
    free(train);
    free(sig);
    return st;
}

/* alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma alpha_t, lambda = log alpha - log sigma */
static void alpha_sigma(float sigma, float *alpha_t, float *sigma_t, float *lambda) {
    float a = 1.0f / sqrtf(sigma * sigma + 1.0f);
    float sg = sigma * a;
    *alpha_t = a;
    *sigma_t = sg;
    *lambda = logf(a) - logf(sg);
}

/* convert_model_output: dpmsolver++ works on the (thresholded) data prediction x0;
 * dpmsolver on the noise prediction eps, thresholded through x0 when configured. */
static cascade_status convert_output(const cascade_scheduler *s, float a, float sg,
                                     const float *model, size_t mstride, const float *sample,
                                     float *out, size_t batch, size_t chw, cascade_error *err) {
    if (!s->solver_noise_pred) {
        sched_x0_from_output(s->prediction, a, sg, model, mstride, sample, out, batch, chw);
        return sched_postprocess_x0(s, out, batch, chw, err);
    }
    for (size_t b = 0; b < batch; b++) {
        const float *m = model + b * mstride, *x = sample + b * chw;
        float       *e = out + b * chw;
        for (size_t i = 0; i < chw; i++) {
            switch (s->prediction) {
            case SCHED_PRED_EPSILON: e[i] = m[i]; break;
            case SCHED_PRED_SAMPLE: e[i] = (x[i] - a * m[i]) / sg; break;
            case SCHED_PRED_V: e[i] = a * m[i] + sg * x[i]; break;
            }
        }
    }
    if (!s->thresholding) return CASCADE_STATUS_OK;
    size_t n = batch * chw;
    for (size_t i = 0; i < n; i++) /* x0 = (x - sigma eps) / alpha */
        out[i] = (sample[i] - sg * out[i]) / a;
    CASCADE_TRY(sched_postprocess_x0(s, out, batch, chw, err));
    for (size_t i = 0; i < n; i++) /* eps = (x - alpha x0) / sigma */
        out[i] = (sample[i] - a * out[i]) / sg;
    return CASCADE_STATUS_OK;
}

static cascade_status dpm_step(cascade_scheduler *s, double timestep, const float *model,
                               int64_t model_channels, const float *sample, const int64_t shape[4],
                               const cascade_step_options *opt, float *prev, float *x0_out,
                               cascade_error *err) {
    (void)opt; /* dpmsolver++ is deterministic */
    bool   learned = s->variance != SCHED_VAR_NONE;
    size_t batch, chw;
    CASCADE_TRY(sched_check_shapes(s, model_channels, shape, learned, &batch, &chw, err));
    size_t n = batch * chw, mstride = model_channels == shape[1] ? chw : 2 * chw;

    if (s->step_index < 0) {
        int64_t i = sched_index_for_timestep(s, timestep);
        s->step_index = i < 0 ? s->n_steps - 1 : i; /* the reference's fallback */
    }
    int64_t k = s->step_index;
    if (k >= s->n_steps)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "DPMSolverMultistepScheduler: more steps than timesteps");
    if (s->history_numel != n) {
        for (int i = 0; i < 3; i++) {
            free(s->history[i]);
            s->history[i] = NULL;
        }
        s->history_numel = 0;
        for (int i = 0; i < 3; i++)
            if (!(s->history[i] = calloc(n, sizeof(float))))
                return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "DPM-Solver history");
        s->history_numel = n;
    }
    int64_t steps = s->n_steps;
    bool    lower_final =
        k == steps - 1 && (s->euler_at_final || (s->lower_order_final && steps < 15));
    bool lower_second = k == steps - 2 && s->lower_order_final && steps < 15;

    /* convert_model_output: x0 (dpmsolver++) or eps (dpmsolver) from the first C channels
     * (learned variance dropped), thresholded; it becomes the newest history entry */
    float *m0 = s->history[0]; /* rotate: oldest buffer is reused for the newest */
    s->history[0] = s->history[1];
    s->history[1] = s->history[2];
    s->history[2] = m0;
    float a_s0, s_s0, l_s0;
    alpha_sigma(s->sigmas[k], &a_s0, &s_s0, &l_s0);
    CASCADE_TRY(convert_output(s, a_s0, s_s0, model, mstride, sample, m0, batch, chw, err));
    if (x0_out) memcpy(x0_out, m0, n * sizeof *m0);

    float a_t, s_t, l_t;
    alpha_sigma(s->sigmas[k + 1], &a_t, &s_t, &l_t);
    float h = l_t - l_s0;
    int   order = s->solver_order == 1 || s->lower_order_nums < 1 || lower_final    ? 1
                  : s->solver_order == 2 || s->lower_order_nums < 2 || lower_second ? 2
                                                                                    : 3;
    /* x_t = c_x sample - c_d0 D0 + c_d1 D1 - c_d2 D2 with D0 = m0 and the divided
     * differences D1, D2 of the history (diffusers' multistep updates); the data and the
     * noise predictions differ only in the coefficients. */
    float c_x, c_d0, c_d1 = 0, c_d2 = 0;
    if (!s->solver_noise_pred) {
        c_x = s_t / s_s0;
        c_d0 = a_t * (expf(-h) - 1.0f);
        if (order == 2 && !s->solver_heun)
            c_d1 = -0.5f * c_d0;
        else
            c_d1 = a_t * ((expf(-h) - 1.0f) / h + 1.0f);
        c_d2 = a_t * ((expf(-h) - 1.0f + h) / (h * h) - 0.5f);
    } else {
        c_x = a_t / a_s0;
        c_d0 = s_t * (expf(h) - 1.0f);
        if (order == 2 && !s->solver_heun)
            c_d1 = -0.5f * c_d0;
        else
            c_d1 = -(s_t * ((expf(h) - 1.0f) / h - 1.0f));
        c_d2 = s_t * ((expf(h) - 1.0f - h) / (h * h) - 0.5f);
    }
    if (order == 1) {
        for (size_t i = 0; i < n; i++)
            prev[i] = c_x * sample[i] - c_d0 * m0[i];
    } else if (order == 2) {
        const float *m1 = s->history[1];
        float        a1, s1, l_s1;
        alpha_sigma(s->sigmas[k - 1], &a1, &s1, &l_s1);
        float h0 = l_s0 - l_s1, r0 = h0 / h, inv_r0 = 1.0f / r0;
        for (size_t i = 0; i < n; i++) {
            float d1 = inv_r0 * (m0[i] - m1[i]);
            prev[i] = c_x * sample[i] - c_d0 * m0[i] + c_d1 * d1;
        }
    } else {
        const float *m1 = s->history[1], *m2 = s->history[0];
        float        a1, s1, l_s1, a2, s2, l_s2;
        alpha_sigma(s->sigmas[k - 1], &a1, &s1, &l_s1);
        alpha_sigma(s->sigmas[k - 2], &a2, &s2, &l_s2);
        float h0 = l_s0 - l_s1, h1 = l_s1 - l_s2;
        float r0 = h0 / h, r1 = h1 / h;
        float inv_r0 = 1.0f / r0, inv_r1 = 1.0f / r1;
        float c_mix = r0 / (r0 + r1), inv_sum = 1.0f / (r0 + r1);
        for (size_t i = 0; i < n; i++) {
            float d1_0 = inv_r0 * (m0[i] - m1[i]), d1_1 = inv_r1 * (m1[i] - m2[i]);
            float d1 = d1_0 + c_mix * (d1_0 - d1_1);
            float d2 = inv_sum * (d1_0 - d1_1);
            prev[i] = c_x * sample[i] - c_d0 * m0[i] + c_d1 * d1 - c_d2 * d2;
        }
    }
    if (s->lower_order_nums < s->solver_order) s->lower_order_nums++;
    s->step_index++;
    return CASCADE_STATUS_OK;
}

/* add_noise with the run's sigmas (diffusers' DPMSolverMultistepScheduler.add_noise):
 * alpha_t x0 + sigma_t noise at sigma of t, which differs from the training schedule's
 * sqrt(abar_t) when the run uses Karras sigmas. */
static cascade_status dpm_add_noise(const cascade_scheduler *s, const float *x0,
                                    const float *noise, const int64_t shape[4], const double *t,
                                    size_t n_t, float *out, cascade_error *err) {
    size_t batch = (size_t)shape[0], chw = (size_t)(shape[1] * shape[2] * shape[3]);
    for (size_t b = 0; b < batch; b++) {
        float sigma;
        CASCADE_TRY(sched_run_sigma(s, t[n_t == 1 ? 0 : b], &sigma, err));
        float a, sg, l;
        alpha_sigma(sigma, &a, &sg, &l);
        for (size_t i = b * chw; i < (b + 1) * chw; i++)
            out[i] = a * x0[i] + sg * noise[i];
    }
    return CASCADE_STATUS_OK;
}

const sched_solver sched_solver_dpmsolver = {
    .class_name = "DPMSolverMultistepScheduler",
    .kind = CASCADE_SCHEDULER_KIND_DPMSOLVER,
    .configure = dpm_configure,
    .set_timesteps = dpm_set_timesteps,
    .step = dpm_step,
    .add_noise = dpm_add_noise,
};
