/* Scheduler front end: creation from config.json and dispatch on _class_name, the run state,
 * the prediction-type axis (x0 estimate, clipping, dynamic thresholding) and the seeded
 * noise generator. The solvers live in scheduler-<name>.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "cascade/tensor.h"
#include "scheduler-internal.h"

/* ---- seeded noise ---- */

void cascade_rng_init(cascade_rng *rng, uint64_t seed) {
    rng->state = seed;
    rng->has_spare = false;
    rng->spare = 0;
}

uint64_t cascade_rng_next_u64(cascade_rng *rng) { /* splitmix64 */
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void cascade_rng_normal(cascade_rng *rng, float *out, size_t n) {
    size_t i = 0;
    if (n && rng->has_spare) {
        out[i++] = rng->spare;
        rng->has_spare = false;
    }
    while (i < n) {
        double u1 = (double)((cascade_rng_next_u64(rng) >> 11) + 1) * 0x1p-53; /* (0, 1] */
        double u2 = (double)(cascade_rng_next_u64(rng) >> 11) * 0x1p-53;       /* [0, 1) */
        double r = sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
        out[i++] = (float)(r * cos(th));
        float z1 = (float)(r * sin(th));
        if (i < n)
            out[i++] = z1;
        else {
            rng->spare = z1;
            rng->has_spare = true;
        }
    }
}

cascade_status cascade_item_rngs_init(cascade_item_rngs *r, uint64_t seed, int64_t n,
                                      cascade_error *err) {
    r->n = 0;
    r->rows = n > 0 ? calloc((size_t)n, sizeof *r->rows) : NULL;
    if (!r->rows)
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "per-item generators");
    for (int64_t b = 0; b < n; b++)
        cascade_rng_init(&r->rows[b], seed + (uint64_t)b);
    r->n = n;
    return CASCADE_STATUS_OK;
}

void cascade_item_rngs_clear(cascade_item_rngs *r) {
    free(r->rows);
    r->rows = NULL;
    r->n = 0;
}

void cascade_item_rngs_normal(cascade_item_rngs *r, float *out, size_t n) {
    if (n % (size_t)r->n) {
        cascade_rng_normal(&r->rows[0], out, n);
        return;
    }
    size_t per = n / (size_t)r->n;
    for (int64_t b = 0; b < r->n; b++)
        cascade_rng_normal(&r->rows[b], out + (size_t)b * per, per);
}

/* ---- config helpers ---- */

cascade_status sched_config_enum(cascade_config *cfg, const char *key, const char *def,
                                 const char *const *names, int *out, cascade_error *err) {
    const char *v = NULL;
    CASCADE_TRY(cascade_config_string(cfg, key, def, &v, err));
    for (int i = 0; names[i]; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return CASCADE_STATUS_OK;
        }
    return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "%s: %s \"%s\" is not supported",
                             cascade_config_path(cfg), key, v);
}

static cascade_status bad_value(cascade_config *cfg, const char *key, const char *why,
                                cascade_error *err) {
    return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: %s %s", cascade_config_path(cfg),
                             key, why);
}

cascade_status sched_config_betas(cascade_scheduler *s, cascade_config *cfg, bool has_rescale,
                                  bool allow_sigmoid, cascade_error *err) {
    static const char *const schedules[] = {"linear", "scaled_linear", "squaredcos_cap_v2",
                                            "sigmoid", NULL};
    int64_t                  T;
    double                   beta_start, beta_end;
    int                      kind;
    bool                     rescale = false;
    CASCADE_TRY(cascade_config_int(cfg, "num_train_timesteps", 1000, &T, err));
    if (T < 2 || T > 1000000) return bad_value(cfg, "num_train_timesteps", "out of range", err);
    CASCADE_TRY(cascade_config_float(cfg, "beta_start", 0.0001, &beta_start, err));
    CASCADE_TRY(cascade_config_float(cfg, "beta_end", 0.02, &beta_end, err));
    CASCADE_TRY(sched_config_enum(cfg, "beta_schedule", "linear", schedules, &kind, err));
    if (kind == SCHED_BETAS_SIGMOID && !allow_sigmoid)
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "%s: beta_schedule \"sigmoid\" is not supported by %s",
                                 cascade_config_path(cfg), s->solver->class_name);
    if (has_rescale)
        CASCADE_TRY(cascade_config_bool(cfg, "rescale_betas_zero_snr", false, &rescale, err));

    s->T = T;
    s->betas = calloc((size_t)T, sizeof(float));
    s->alphas = calloc((size_t)T, sizeof(float));
    s->alphas_cumprod = calloc((size_t)T, sizeof(float));
    if (!s->betas || !s->alphas || !s->alphas_cumprod)
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "scheduler: %lld betas",
                                 (long long)T);

    size_t  n_trained = 0;
    double *trained = calloc((size_t)T + 1, sizeof(double));
    if (!trained) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "scheduler");
    cascade_status st = cascade_config_float_array(cfg, "trained_betas", false, trained, (size_t)T,
                                                   &n_trained, err);
    if (st == CASCADE_STATUS_OK && n_trained && n_trained != (size_t)T)
        st = bad_value(cfg, "trained_betas", "must hold num_train_timesteps values", err);
    if (st == CASCADE_STATUS_OK) {
        if (n_trained) {
            for (int64_t i = 0; i < T; i++)
                s->betas[i] = (float)trained[i];
        } else {
            sched_make_betas((sched_beta_schedule)kind, beta_start, beta_end, T, s->betas);
        }
        for (int64_t i = 0; i < T && st == CASCADE_STATUS_OK; i++)
            if (!(s->betas[i] > 0.0f && s->betas[i] < 1.0f) && !(rescale && i == T - 1))
                st = bad_value(cfg, "beta_start/beta_end/trained_betas",
                               "give betas outside (0, 1)", err);
    }
    free(trained);
    if (st != CASCADE_STATUS_OK) return st;
    if (rescale) sched_rescale_zero_terminal_snr(s->betas, T);
    sched_make_alphas(s->betas, T, s->alphas, s->alphas_cumprod);
    return CASCADE_STATUS_OK;
}

cascade_status sched_config_prediction(cascade_scheduler *s, cascade_config *cfg,
                                       const char *const *accepted, cascade_error *err) {
    int i;
    CASCADE_TRY(sched_config_enum(cfg, "prediction_type", "epsilon", accepted, &i, err));
    const char *v = accepted[i];
    if (!strcmp(v, "epsilon"))
        s->prediction = SCHED_PRED_EPSILON;
    else if (!strcmp(v, "v_prediction"))
        s->prediction = SCHED_PRED_V;
    else
        s->prediction = SCHED_PRED_SAMPLE; /* "sample", "original_sample" */
    return CASCADE_STATUS_OK;
}

cascade_status sched_config_threshold(cascade_scheduler *s, cascade_config *cfg, bool with_clip,
                                      cascade_error *err) {
    CASCADE_TRY(cascade_config_bool(cfg, "thresholding", false, &s->thresholding, err));
    CASCADE_TRY(cascade_config_float(cfg, "dynamic_thresholding_ratio", 0.995,
                                     &s->dynamic_thresholding_ratio, err));
    CASCADE_TRY(cascade_config_float(cfg, "sample_max_value", 1.0, &s->sample_max_value, err));
    if (!(s->dynamic_thresholding_ratio >= 0 && s->dynamic_thresholding_ratio <= 1))
        return bad_value(cfg, "dynamic_thresholding_ratio", "must be in [0, 1]", err);
    if (with_clip) {
        CASCADE_TRY(cascade_config_bool(cfg, "clip_sample", true, &s->clip_sample, err));
        CASCADE_TRY(
            cascade_config_float(cfg, "clip_sample_range", 1.0, &s->clip_sample_range, err));
    }
    return CASCADE_STATUS_OK;
}

cascade_status sched_config_spacing(cascade_scheduler *s, cascade_config *cfg, const char *def,
                                    cascade_error *err) {
    static const char *const spacings[] = {"leading", "linspace", "trailing", NULL};
    int                      sp;
    CASCADE_TRY(sched_config_enum(cfg, "timestep_spacing", def, spacings, &sp, err));
    s->spacing = (sched_spacing)sp;
    CASCADE_TRY(cascade_config_int(cfg, "steps_offset", 0, &s->steps_offset, err));
    if (s->steps_offset < 0 || s->steps_offset >= s->T)
        return bad_value(cfg, "steps_offset", "out of range", err);
    return CASCADE_STATUS_OK;
}

/* ---- creation ---- */

static const sched_solver *const solvers[] = {
    &sched_solver_ddpm,
    &sched_solver_ddim,
    &sched_solver_dpmsolver,
    &sched_solver_euler,
    &sched_solver_euler_ancestral,
};

bool cascade_scheduler_supports_class(const char *class_name) {
    if (!class_name) return false;
    if (strncmp(class_name, "diffusers.", 10) == 0) class_name += 10;
    for (size_t i = 0; i < sizeof solvers / sizeof solvers[0]; i++)
        if (strcmp(solvers[i]->class_name, class_name) == 0) return true;
    return false;
}

cascade_status cascade_scheduler_new(cascade_config *cfg, cascade_scheduler **out,
                                     cascade_error *err) {
    static const char *const metadata[] = {"_class_name", "_diffusers_version",
                                           "_use_default_values", NULL};
    *out = NULL;
    const char *cls = NULL;
    CASCADE_TRY(cascade_config_string(cfg, "_class_name", NULL, &cls, err));
    if (!cls)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: no _class_name",
                                 cascade_config_path(cfg));
    const sched_solver *solver = NULL;
    for (size_t i = 0; i < sizeof solvers / sizeof solvers[0]; i++)
        if (strcmp(solvers[i]->class_name, cls) == 0) solver = solvers[i];
    if (!solver)
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "%s: _class_name \"%s\" is not a supported scheduler",
                                 cascade_config_path(cfg), cls);
    cascade_config_ignore(cfg, metadata);

    cascade_scheduler *s = calloc(1, sizeof *s);
    if (!s) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "scheduler");
    s->solver = solver;
    s->kind = solver->kind;
    s->step_index = -1;
    s->init_noise_sigma = 1.0f;
    s->variance = SCHED_VAR_NONE;
    cascade_status st = solver->configure(s, cfg, err);
    if (st == CASCADE_STATUS_OK) st = cascade_config_check_all_used(cfg, err);
    if (st != CASCADE_STATUS_OK) {
        cascade_scheduler_free(s);
        return st;
    }
    *out = s;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_scheduler_load(const char *path, cascade_scheduler **out,
                                      cascade_error *err) {
    *out = NULL;
    cascade_config *cfg = NULL;
    cascade_status  st = cascade_config_load(path, &cfg, err);
    if (st == CASCADE_STATUS_OK) st = cascade_scheduler_new(cfg, out, err);
    cascade_config_free(cfg);
    return st;
}

static void free_history(cascade_scheduler *s) {
    for (int i = 0; i < 3; i++) {
        free(s->history[i]);
        s->history[i] = NULL;
    }
    s->history_numel = 0;
    s->lower_order_nums = 0;
}

void cascade_scheduler_free(cascade_scheduler *s) {
    if (!s) return;
    free_history(s);
    free(s->timesteps);
    free(s->sigmas);
    free(s->alphas_cumprod);
    free(s->alphas);
    free(s->betas);
    free(s);
}

cascade_scheduler_kind cascade_scheduler_get_kind(const cascade_scheduler *s) {
    return s->kind;
}
const char *cascade_scheduler_class_name(const cascade_scheduler *s) {
    return s->solver->class_name;
}
int64_t cascade_scheduler_num_train_timesteps(const cascade_scheduler *s) {
    return s->T;
}
const float *cascade_scheduler_alphas_cumprod(const cascade_scheduler *s) {
    return s->alphas_cumprod;
}
bool cascade_scheduler_learned_variance(const cascade_scheduler *s) {
    return s->variance == SCHED_VAR_LEARNED || s->variance == SCHED_VAR_LEARNED_RANGE;
}
float cascade_scheduler_init_noise_sigma(const cascade_scheduler *s) {
    return s->init_noise_sigma;
}

const double *cascade_scheduler_timesteps(const cascade_scheduler *s, size_t *n) {
    if (n) *n = s->timesteps ? (size_t)s->n_steps : 0;
    return s->timesteps;
}

const float *cascade_scheduler_sigmas(const cascade_scheduler *s, size_t *n) {
    if (n) *n = s->sigmas ? s->n_sigmas : 0;
    return s->sigmas;
}

/* ---- run state ---- */

cascade_status cascade_scheduler_set_timesteps(cascade_scheduler *s, int64_t n,
                                               cascade_error *err) {
    if (n < 1 || n > s->T)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "%s: num_inference_steps %lld must be in [1, %lld]",
                                 s->solver->class_name, (long long)n, (long long)s->T);
    return s->solver->set_timesteps(s, n, err);
}

cascade_status sched_set_run(cascade_scheduler *s, const double *timesteps, int64_t n,
                             const float *sigmas, size_t n_sigmas, cascade_error *err) {
    double *t = malloc((size_t)n * sizeof *t);
    float  *sg = sigmas ? malloc(n_sigmas * sizeof *sg) : NULL;
    if (!t || (sigmas && !sg)) {
        free(t);
        free(sg);
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "scheduler timesteps");
    }
    memcpy(t, timesteps, (size_t)n * sizeof *t);
    if (sg) memcpy(sg, sigmas, n_sigmas * sizeof *sg);
    free(s->timesteps);
    free(s->sigmas);
    s->timesteps = t;
    s->n_steps = n;
    s->sigmas = sg;
    s->n_sigmas = sg ? n_sigmas : 0;
    s->step_index = -1;
    free_history(s);
    return CASCADE_STATUS_OK;
}

int64_t sched_index_for_timestep(const cascade_scheduler *s, double t) {
    int64_t first = -1;
    for (int64_t i = 0; i < s->n_steps; i++)
        if (s->timesteps[i] == t) {
            if (first >= 0) return i; /* repeated: the second, so no sigma is skipped */
            first = i;
        }
    return first;
}

cascade_status sched_run_sigma(const cascade_scheduler *s, double t, float *sigma,
                               cascade_error *err) {
    for (int64_t i = 0; s->sigmas && i < s->n_steps; i++)
        if (s->timesteps[i] == t) {
            *sigma = s->sigmas[i];
            return CASCADE_STATUS_OK;
        }
    return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                             "%s: add_noise: timestep %g is not in the schedule (call "
                             "set_timesteps first)",
                             s->solver->class_name, t);
}

cascade_status sched_train_index(const cascade_scheduler *s, double t, int64_t *out,
                                 cascade_error *err) {
    if (!(t >= 0 && t < (double)s->T) || t != floor(t))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "%s: timestep %g is not an integer in [0, %lld)",
                                 s->solver->class_name, t, (long long)s->T);
    *out = (int64_t)t;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_scheduler_scale_model_input(cascade_scheduler *s, double timestep,
                                                   const float *sample, size_t n, float *out,
                                                   cascade_error *err) {
    if (s->solver->scale_model_input)
        return s->solver->scale_model_input(s, timestep, sample, n, out, err);
    if (out != sample) memmove(out, sample, n * sizeof *out);
    return CASCADE_STATUS_OK;
}

void cascade_step_options_init(cascade_step_options *opt) {
    memset(opt, 0, sizeof *opt);
    opt->s_tmax = INFINITY;
    opt->s_noise = 1.0;
}

cascade_status sched_check_shapes(const cascade_scheduler *s, int64_t model_channels,
                                  const int64_t shape[4], bool learned_ok, size_t *batch,
                                  size_t *chw, cascade_error *err) {
    int64_t numel;
    if (!cascade_shape_numel(4, shape, &numel) || shape[0] < 1 || shape[1] < 1 || shape[2] < 1 ||
        shape[3] < 1)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: bad sample shape",
                                 s->solver->class_name);
    if (model_channels != shape[1] && !(learned_ok && model_channels == 2 * shape[1]))
        return cascade_error_set(
            err, CASCADE_STATUS_INVALID_ARG, "%s: model output has %lld channels, sample %lld%s",
            s->solver->class_name, (long long)model_channels, (long long)shape[1],
            learned_ok ? " (or twice that with a learned variance)" : "");
    *batch = (size_t)shape[0];
    *chw = (size_t)(numel / shape[0]);
    return CASCADE_STATUS_OK;
}

cascade_status cascade_scheduler_step(cascade_scheduler *s, double timestep,
                                      const float *model_output, int64_t model_channels,
                                      const float *sample, const int64_t shape[4],
                                      const cascade_step_options *opt, float *prev_sample,
                                      float *pred_original_sample, cascade_error *err) {
    cascade_step_options defaults;
    if (!opt) {
        cascade_step_options_init(&defaults);
        opt = &defaults;
    }
    if (!s->timesteps)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "%s: step() before set_timesteps()", s->solver->class_name);
    return s->solver->step(s, timestep, model_output, model_channels, sample, shape, opt,
                           prev_sample, pred_original_sample, err);
}

cascade_status sched_step_noise(const cascade_step_options *opt, float *out, size_t n,
                                const char *who, cascade_error *err) {
    if (opt->noise) {
        memcpy(out, opt->noise, n * sizeof *out);
        return CASCADE_STATUS_OK;
    }
    if (opt->noise_fn) return opt->noise_fn(opt->noise_user, out, n, err);
    if (opt->rng) {
        cascade_rng_normal(opt->rng, out, n);
        return CASCADE_STATUS_OK;
    }
    return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                             "%s: this step draws noise: give a generator or the noise", who);
}

/* ---- add_noise ---- */

cascade_status cascade_scheduler_add_noise(const cascade_scheduler *s, const float *original,
                                           const float *noise, const int64_t shape[4],
                                           const double *timesteps, size_t n_timesteps, float *out,
                                           cascade_error *err) {
    size_t batch, chw;
    CASCADE_TRY(sched_check_shapes(s, shape[1], shape, false, &batch, &chw, err));
    if (n_timesteps != 1 && n_timesteps != batch)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "%s: add_noise: %zu timesteps for a batch of %zu",
                                 s->solver->class_name, n_timesteps, batch);
    if (s->solver->add_noise)
        return s->solver->add_noise(s, original, noise, shape, timesteps, n_timesteps, out, err);
    for (size_t b = 0; b < batch; b++) {
        int64_t t;
        CASCADE_TRY(sched_train_index(s, timesteps[n_timesteps == 1 ? 0 : b], &t, err));
        float  ac = s->alphas_cumprod[t];
        float  sa = sqrtf(ac), sb = sqrtf(1.0f - ac);
        size_t o = b * chw;
        for (size_t i = 0; i < chw; i++)
            out[o + i] = sa * original[o + i] + sb * noise[o + i];
    }
    return CASCADE_STATUS_OK;
}

/* ---- prediction type ---- */

void sched_x0_from_output(sched_prediction p, float sa, float sb, const float *model,
                          size_t model_stride, const float *x, float *x0, size_t batch,
                          size_t chw) {
    for (size_t b = 0; b < batch; b++) {
        const float *m = model + b * model_stride, *xs = x + b * chw;
        float       *o = x0 + b * chw;
        for (size_t i = 0; i < chw; i++) {
            switch (p) {
            case SCHED_PRED_EPSILON: o[i] = (xs[i] - sb * m[i]) / sa; break;
            case SCHED_PRED_SAMPLE: o[i] = m[i]; break;
            case SCHED_PRED_V: o[i] = sa * xs[i] - sb * m[i]; break;
            }
        }
    }
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

bool sched_threshold(float *x, size_t batch, size_t chw, double ratio, double max_value) {
    float *sorted = malloc(chw * sizeof *sorted);
    if (!sorted) return false;
    for (size_t b = 0; b < batch; b++) {
        float *v = x + b * chw;
        bool   nan = false;
        for (size_t i = 0; i < chw; i++) {
            sorted[i] = fabsf(v[i]);
            nan |= isnan(v[i]);
        }
        qsort(sorted, chw, sizeof *sorted, cmp_float);
        /* torch.quantile(linear): rank = q (n - 1) in float32, lerp between neighbours */
        float  rank = (float)ratio * (float)(chw - 1);
        size_t lo = (size_t)rank, hi = (size_t)ceilf(rank);
        if (hi >= chw) hi = chw - 1;
        float w = rank - (float)lo, a = sorted[lo], e = sorted[hi];
        float q = w < 0.5f ? a + w * (e - a) : e - (e - a) * (1.0f - w);
        if (nan) q = NAN;
        /* clamp(q, 1, sample_max_value); x = clamp(x, -q, q) / q */
        float sv = q < 1.0f ? 1.0f : q;
        if (sv > (float)max_value) sv = (float)max_value;
        if (nan) sv = NAN;
        for (size_t i = 0; i < chw; i++) {
            float c = v[i] < -sv ? -sv : v[i];
            c = c > sv ? sv : c;
            v[i] = c / sv;
        }
    }
    free(sorted);
    return true;
}

cascade_status sched_postprocess_x0(const cascade_scheduler *s, float *x0, size_t batch, size_t chw,
                                    cascade_error *err) {
    if (s->thresholding) {
        if (!sched_threshold(x0, batch, chw, s->dynamic_thresholding_ratio, s->sample_max_value))
            return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "%s: thresholding scratch",
                                     s->solver->class_name);
    } else if (s->clip_sample) {
        float r = (float)s->clip_sample_range;
        for (size_t i = 0; i < batch * chw; i++)
            x0[i] = x0[i] < -r ? -r : (x0[i] > r ? r : x0[i]);
    }
    return CASCADE_STATUS_OK;
}
