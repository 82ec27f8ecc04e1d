/* EulerDiscreteScheduler and EulerAncestralDiscreteScheduler (diffusers 0.25.1): Karras et
 * al. 2022's Euler method in sigma space (Algorithm 2), the ancestral variant splitting each
 * step into a deterministic move to sigma_down and fresh noise of sigma_up. Timesteps are
 * float32, sigmas numpy-interpolated in double then stored as float32. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler-internal.h"

static cascade_status euler_common_config(cascade_scheduler *s, cascade_config *cfg,
                                          const char *const *preds, cascade_error *err) {
    CASCADE_TRY(sched_config_betas(s, cfg, true, false, err));
    CASCADE_TRY(sched_config_prediction(s, cfg, preds, err));
    CASCADE_TRY(sched_config_spacing(s, cfg, "linspace", err));
    /* zero terminal SNR would make the last sigma infinite: the reference uses 2^-24 */
    if (s->alphas_cumprod[s->T - 1] == 0.0f) s->alphas_cumprod[s->T - 1] = 0x1p-24f;
    /* before set_timesteps the schedule is every training step: sigma_max is the last */
    float a = s->alphas_cumprod[s->T - 1], mx = sqrtf((1.0f - a) / a);
    s->init_noise_sigma = s->spacing == SCHED_SPACING_LEADING ? sqrtf(mx * mx + 1.0f) : mx;
    return CASCADE_STATUS_OK;
}

static cascade_status euler_configure(cascade_scheduler *s, cascade_config *cfg,
                                      cascade_error *err) {
    static const char *const preds[] = {"epsilon", "v_prediction", "sample", "original_sample",
                                        NULL};
    static const char *const interps[] = {"linear", "log_linear", NULL};
    static const char *const types[] = {"discrete", "continuous", NULL};
    int                      i;
    CASCADE_TRY(euler_common_config(s, cfg, preds, err));
    CASCADE_TRY(sched_config_enum(cfg, "interpolation_type", "linear", interps, &i, err));
    s->log_linear = i == 1;
    CASCADE_TRY(cascade_config_bool(cfg, "use_karras_sigmas", false, &s->karras_sigmas, err));
    /* sigma_min / sigma_max bound the Karras sigmas; null leaves them to the schedule */
    CASCADE_TRY(cascade_config_float(cfg, "sigma_min", NAN, &s->sigma_min, err));
    CASCADE_TRY(cascade_config_float(cfg, "sigma_max", NAN, &s->sigma_max, err));
    if (!isnan(s->sigma_min) && !isnan(s->sigma_max) &&
        !(s->sigma_min > 0 && s->sigma_min < s->sigma_max))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "%s: sigma_min %g and sigma_max %g must satisfy 0 < min < max",
                                 cascade_config_path(cfg), s->sigma_min, s->sigma_max);
    CASCADE_TRY(sched_config_enum(cfg, "timestep_type", "discrete", types, &i, err));
    if (i == 1 && s->prediction == SCHED_PRED_V)
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "%s: timestep_type \"continuous\" with v_prediction is not "
                                 "supported",
                                 cascade_config_path(cfg));
    return CASCADE_STATUS_OK;
}

static cascade_status euler_a_configure(cascade_scheduler *s, cascade_config *cfg,
                                        cascade_error *err) {
    static const char *const preds[] = {"epsilon", "v_prediction", NULL};
    return euler_common_config(s, cfg, preds, err);
}

/* The run's sigmas (n_sig values, descending) and timesteps (n) from the spaced timesteps,
 * as diffusers 0.25.1's EulerDiscreteScheduler.set_timesteps: linear interpolation of the
 * training sigmas, or log-linear between their ends (n + 1 values, the reference's count);
 * then optionally Karras sigmas with timesteps mapped back through _sigma_to_t. */
static void euler_sigmas(const cascade_scheduler *s, int64_t n, const float *train,
                         float *log_train, float *scratch, double *ts, double *sig,
                         int64_t *n_sig) {
    int64_t T = s->T;
    if (s->log_linear) { /* torch.linspace(log max, log min, n + 1).exp() in float32 */
        sched_linspace_f32(logf(train[T - 1]), logf(train[0]), n + 1, scratch);
        for (int64_t i = 0; i <= n; i++)
            sig[i] = (double)expf(scratch[i]);
        *n_sig = n + 1;
    } else {
        for (int64_t i = 0; i < n; i++)
            sig[i] = sched_interp(ts[i], train, T);
        *n_sig = n;
    }
    if (s->karras_sigmas) {
        /* the ends of the schedule above, unless the config sets them */
        double mn = isnan(s->sigma_min) ? sig[*n_sig - 1] : s->sigma_min;
        double mx = isnan(s->sigma_max) ? sig[0] : s->sigma_max;
        for (int64_t i = 0; i < T; i++)
            log_train[i] = logf(train[i]);
        sched_karras_sigmas(mn, mx, n, sig);
        for (int64_t i = 0; i < n; i++)
            ts[i] = sched_sigma_to_t(sig[i], log_train, T);
        *n_sig = n;
    }
}

static cascade_status euler_set_timesteps(cascade_scheduler *s, int64_t n, cascade_error *err) {
    int64_t        T = s->T;
    double        *ts = malloc((size_t)n * sizeof *ts);
    float         *train = malloc((size_t)T * sizeof *train);
    float         *log_train = malloc((size_t)T * sizeof *log_train);
    double        *sig_d = malloc((size_t)(n + 1) * sizeof *sig_d);
    float         *sig = malloc((size_t)(n + 2) * sizeof *sig);
    cascade_status st = CASCADE_STATUS_OK;
    if (!ts || !train || !log_train || !sig_d || !sig) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "Euler timesteps");
        goto done;
    }
    switch (s->spacing) {
    case SCHED_SPACING_LINSPACE:
        sched_linspace(0, (double)(T - 1), n, ts);
        for (int64_t i = 0, j = n - 1; i < j; i++, j--) {
            double tmp = ts[i];
            ts[i] = ts[j];
            ts[j] = tmp;
        }
        break;
    case SCHED_SPACING_LEADING: {
        int64_t ratio = T / n;
        for (int64_t i = 0; i < n; i++)
            ts[i] = (double)((n - 1 - i) * ratio + s->steps_offset);
        break;
    }
    case SCHED_SPACING_TRAILING: {
        double ratio = (double)T / (double)n;
        for (int64_t i = 0; i < n; i++)
            ts[i] = sched_round((double)T - (double)i * ratio) - 1;
        break;
    }
    }
    for (int64_t i = 0; i < n; i++)
        ts[i] = (double)(float)ts[i]; /* np.float32 timesteps */
    sched_train_sigmas(s, train);
    int64_t n_sig;
    euler_sigmas(s, n, train, log_train, sig, ts, sig_d, &n_sig);
    for (int64_t i = 0; i < n; i++)
        ts[i] = (double)(float)ts[i]; /* Karras timesteps are stored as float32 too */
    for (int64_t i = 0; i < n_sig; i++)
        sig[i] = (float)sig_d[i];
    sig[n_sig] = 0.0f;
    st = sched_set_run(s, ts, n, sig, (size_t)n_sig + 1, err);
    if (st == CASCADE_STATUS_OK) {
        float mx = 0;
        for (int64_t i = 0; i <= n_sig; i++)
            mx = sig[i] > mx ? sig[i] : mx;
        /* leading spacing starts below sigma_max: the reference scales by sqrt(max^2 + 1) */
        s->init_noise_sigma = s->spacing == SCHED_SPACING_LEADING ? sqrtf(mx * mx + 1.0f) : mx;
    }
done:
    free(ts);
    free(train);
    free(log_train);
    free(sig_d);
    free(sig);
    return st;
}

static cascade_status euler_index(cascade_scheduler *s, double t, int64_t *k, cascade_error *err) {
    if (s->step_index < 0) {
        s->step_index = sched_index_for_timestep(s, t);
        if (s->step_index < 0)
            return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                     "%s: timestep %g is not in the schedule",
                                     s->solver->class_name, t);
    }
    if (s->step_index >= s->n_steps)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: more steps than timesteps",
                                 s->solver->class_name);
    *k = s->step_index;
    return CASCADE_STATUS_OK;
}

static cascade_status euler_scale(cascade_scheduler *s, double t, const float *x, size_t n,
                                  float *out, cascade_error *err) {
    if (!s->timesteps)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "%s: scale_model_input() before set_timesteps()",
                                 s->solver->class_name);
    int64_t k = 0;
    CASCADE_TRY(euler_index(s, t, &k, err));
    float sigma = s->sigmas[k];
    float d = sqrtf(sigma * sigma + 1.0f);
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] / d;
    return CASCADE_STATUS_OK;
}

/* x0 for the sigma parameterisation */
static void euler_x0(sched_prediction p, float sigma, const float *m, const float *x, float *x0,
                     size_t n) {
    float c_v = -sigma / sqrtf(sigma * sigma + 1.0f), d_v = sigma * sigma + 1.0f;
    for (size_t i = 0; i < n; i++) {
        switch (p) {
        case SCHED_PRED_EPSILON: x0[i] = x[i] - sigma * m[i]; break;
        case SCHED_PRED_V: x0[i] = m[i] * c_v + x[i] / d_v; break;
        case SCHED_PRED_SAMPLE: x0[i] = m[i]; break;
        }
    }
}

static cascade_status euler_step(cascade_scheduler *s, double timestep, const float *model,
                                 int64_t model_channels, const float *sample,
                                 const int64_t shape[4], const cascade_step_options *opt,
                                 float *prev, float *x0_out, cascade_error *err) {
    size_t  batch, chw;
    int64_t k = 0;
    CASCADE_TRY(sched_check_shapes(s, model_channels, shape, false, &batch, &chw, err));
    CASCADE_TRY(euler_index(s, timestep, &k, err));
    size_t n = batch * chw;
    float  sigma = s->sigmas[k];
    double gamma = 0.0;
    if (opt->s_tmin <= sigma && sigma <= opt->s_tmax) {
        gamma = opt->s_churn / (double)(s->n_sigmas - 1);
        if (gamma > sqrt(2.0) - 1) gamma = sqrt(2.0) - 1;
    }
    float          sigma_hat = sigma * (float)(gamma + 1);
    float         *x0 = x0_out ? x0_out : malloc(n * sizeof *x0);
    float         *xs = gamma > 0 ? malloc(n * sizeof *xs) : NULL;
    cascade_status st = CASCADE_STATUS_OK;
    if (!x0 || (gamma > 0 && !xs)) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "Euler step");
        goto done;
    }
    const float *x = sample;
    if (gamma > 0) { /* churn: raise the noise level to sigma_hat first */
        if ((st = sched_step_noise(opt, xs, n, "EulerDiscreteScheduler", err))) goto done;
        float c = sqrtf(sigma_hat * sigma_hat - sigma * sigma), sn = (float)opt->s_noise;
        for (size_t i = 0; i < n; i++)
            xs[i] = sample[i] + (xs[i] * sn) * c;
        x = xs;
    }
    if (s->prediction == SCHED_PRED_EPSILON) { /* the reference uses sigma_hat here only */
        for (size_t i = 0; i < n; i++)
            x0[i] = x[i] - sigma_hat * model[i];
    } else {
        euler_x0(s->prediction, sigma, model, x, x0, n);
    }
    float dt = s->sigmas[k + 1] - sigma_hat;
    for (size_t i = 0; i < n; i++) {
        float d = (x[i] - x0[i]) / sigma_hat;
        prev[i] = x[i] + d * dt;
    }
    s->step_index++;
done:
    if (x0 != x0_out) free(x0);
    free(xs);
    return st;
}

static cascade_status euler_a_step(cascade_scheduler *s, double timestep, const float *model,
                                   int64_t model_channels, const float *sample,
                                   const int64_t shape[4], const cascade_step_options *opt,
                                   float *prev, float *x0_out, cascade_error *err) {
    size_t  batch, chw;
    int64_t k = 0;
    CASCADE_TRY(sched_check_shapes(s, model_channels, shape, false, &batch, &chw, err));
    CASCADE_TRY(euler_index(s, timestep, &k, err));
    size_t         n = batch * chw;
    float         *x0 = x0_out ? x0_out : malloc(n * sizeof *x0);
    float         *noise = malloc(n * sizeof *noise);
    cascade_status st = CASCADE_STATUS_OK;
    if (!x0 || !noise) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "Euler ancestral step");
        goto done;
    }
    if ((st = sched_step_noise(opt, noise, n, "EulerAncestralDiscreteScheduler", err))) goto done;
    float sigma = s->sigmas[k], sigma_to = s->sigmas[k + 1];
    euler_x0(s->prediction, sigma, model, sample, x0, n);
    float up = sqrtf(sigma_to * sigma_to * (sigma * sigma - sigma_to * sigma_to) / (sigma * sigma));
    float down = sqrtf(sigma_to * sigma_to - up * up);
    float dt = down - sigma;
    for (size_t i = 0; i < n; i++) {
        float d = (sample[i] - x0[i]) / sigma;
        float p = sample[i] + d * dt;
        prev[i] = p + noise[i] * up;
    }
    s->step_index++;
done:
    if (x0 != x0_out) free(x0);
    free(noise);
    return st;
}

/* x0 + sigma_t noise, sigma_t of the run's timestep t */
static cascade_status euler_add_noise(const cascade_scheduler *s, const float *x0,
                                      const float *noise, const int64_t shape[4], const double *t,
                                      size_t n_t, float *out, cascade_error *err) {
    size_t batch = (size_t)shape[0], chw = (size_t)(shape[1] * shape[2] * shape[3]);
    for (size_t b = 0; b < batch; b++) {
        float sg;
        CASCADE_TRY(sched_run_sigma(s, t[n_t == 1 ? 0 : b], &sg, err));
        for (size_t i = b * chw; i < (b + 1) * chw; i++)
            out[i] = x0[i] + noise[i] * sg;
    }
    return CASCADE_STATUS_OK;
}

const sched_solver sched_solver_euler = {
    .class_name = "EulerDiscreteScheduler",
    .kind = CASCADE_SCHEDULER_KIND_EULER,
    .configure = euler_configure,
    .set_timesteps = euler_set_timesteps,
    .scale_model_input = euler_scale,
    .step = euler_step,
    .add_noise = euler_add_noise,
};

const sched_solver sched_solver_euler_ancestral = {
    .class_name = "EulerAncestralDiscreteScheduler",
    .kind = CASCADE_SCHEDULER_KIND_EULER_ANCESTRAL,
    .configure = euler_a_configure,
    .set_timesteps = euler_set_timesteps,
    .scale_model_input = euler_scale,
    .step = euler_a_step,
    .add_noise = euler_add_noise,
};
