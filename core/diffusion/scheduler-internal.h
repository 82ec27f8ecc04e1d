/* Internal to the schedulers: the shared state, the three axes' helpers and each solver's
 * table of functions. See cascade/scheduler.h for the public contract. */
#ifndef CASCADE_SCHEDULER_INTERNAL_H
#define CASCADE_SCHEDULER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/config.h"
#include "cascade/scheduler.h"
#include "cascade/status.h"

typedef enum sched_prediction {
    SCHED_PRED_EPSILON = 0,
    SCHED_PRED_SAMPLE,
    SCHED_PRED_V,
} sched_prediction;

typedef enum sched_spacing {
    SCHED_SPACING_LEADING = 0,
    SCHED_SPACING_LINSPACE,
    SCHED_SPACING_TRAILING,
} sched_spacing;

typedef enum sched_variance {
    SCHED_VAR_NONE = 0, /* DPM-Solver's variance_type null */
    SCHED_VAR_FIXED_SMALL,
    SCHED_VAR_FIXED_SMALL_LOG,
    SCHED_VAR_FIXED_LARGE,
    SCHED_VAR_FIXED_LARGE_LOG,
    SCHED_VAR_LEARNED,
    SCHED_VAR_LEARNED_RANGE,
} sched_variance;

typedef struct sched_solver sched_solver;

struct cascade_scheduler {
    const sched_solver    *solver;
    cascade_scheduler_kind kind;

    /* axis 1: the noise schedule (float32 as torch keeps them) */
    int64_t       T; /* num_train_timesteps */
    float        *betas, *alphas, *alphas_cumprod;
    sched_spacing spacing;
    int64_t       steps_offset;
    /* the sigma schedule of the Euler and DPM-Solver runs (use_karras_sigmas: Karras et al.
     * 2022's rho = 7 spacing between sigma_min and sigma_max, NAN when the config leaves them
     * to the schedule; interpolation_type log_linear) */
    bool   karras_sigmas, log_linear;
    double sigma_min, sigma_max;

    /* axis 2: prediction type and x0 post-processing */
    sched_prediction prediction;
    bool             thresholding;
    double           dynamic_thresholding_ratio, sample_max_value;
    bool             clip_sample;
    double           clip_sample_range;
    sched_variance   variance;

    /* axis 3: solver options */
    float  final_alpha_cumprod; /* DDIM (set_alpha_to_one) */
    int    solver_order;        /* DPM-Solver: 1..3 */
    bool   solver_noise_pred;   /* DPM-Solver algorithm_type dpmsolver (else dpmsolver++) */
    bool   solver_heun;         /* DPM-Solver solver_type heun (else midpoint) */
    bool   lower_order_final, euler_at_final;
    double lambda_min_clipped;

    /* run state (set_timesteps) */
    int64_t n_steps; /* num_inference_steps; 0 before set_timesteps */
    double *timesteps;
    float  *sigmas; /* NULL or n_sigmas values */
    size_t  n_sigmas;
    float   init_noise_sigma;
    int64_t step_index; /* -1: taken from the first timestep seen */

    /* DPM-Solver history: the last solver_order converted outputs, newest last */
    float *history[3];
    size_t history_numel;
    int    lower_order_nums;
};

/* One solver: parses its own config fields (the shared ones are read before), and runs. */
struct sched_solver {
    const char            *class_name;
    cascade_scheduler_kind kind;
    cascade_status (*configure)(cascade_scheduler *s, cascade_config *cfg, cascade_error *err);
    cascade_status (*set_timesteps)(cascade_scheduler *s, int64_t n, cascade_error *err);
    /* NULL: identity */
    cascade_status (*scale_model_input)(cascade_scheduler *s, double t, const float *x, size_t n,
                                        float *out, cascade_error *err);
    cascade_status (*step)(cascade_scheduler *s, double t, const float *model_output,
                           int64_t model_channels, const float *sample, const int64_t shape[4],
                           const cascade_step_options *opt, float *prev, float *x0,
                           cascade_error *err);
    /* NULL: the variance-preserving sqrt(abar) x0 + sqrt(1 - abar) noise */
    cascade_status (*add_noise)(const cascade_scheduler *s, const float *x0, const float *noise,
                                const int64_t shape[4], const double *t, size_t n_t, float *out,
                                cascade_error *err);
};

extern const sched_solver sched_solver_ddpm;
extern const sched_solver sched_solver_ddim;
extern const sched_solver sched_solver_dpmsolver;
extern const sched_solver sched_solver_euler;
extern const sched_solver sched_solver_euler_ancestral;

/* ---- config helpers (scheduler.c) ---- */

/* Reads a string field and maps it through names[] (NULL-terminated) to its index; a value
 * not listed is UNSUPPORTED naming field and value. */
cascade_status sched_config_enum(cascade_config *cfg, const char *key, const char *def,
                                 const char *const *names, int *out, cascade_error *err);
/* Reads the beta schedule fields (num_train_timesteps, beta_start, beta_end, beta_schedule,
 * trained_betas, and rescale_betas_zero_snr when has_rescale) and fills betas, alphas and
 * alphas_cumprod. allow_sigmoid: DDPM's extra schedule. */
cascade_status sched_config_betas(cascade_scheduler *s, cascade_config *cfg, bool has_rescale,
                                  bool allow_sigmoid, cascade_error *err);
/* prediction_type with the values the solver accepts (NULL-terminated, diffusers spelling). */
cascade_status sched_config_prediction(cascade_scheduler *s, cascade_config *cfg,
                                       const char *const *accepted, cascade_error *err);
/* thresholding, dynamic_thresholding_ratio, sample_max_value (+ clip_sample,
 * clip_sample_range when with_clip) */
cascade_status sched_config_threshold(cascade_scheduler *s, cascade_config *cfg, bool with_clip,
                                      cascade_error *err);
/* timestep_spacing (with default) and steps_offset */
cascade_status sched_config_spacing(cascade_scheduler *s, cascade_config *cfg, const char *def,
                                    cascade_error *err);

/* ---- noise schedule helpers (scheduler-schedule.c) ---- */

typedef enum sched_beta_schedule {
    SCHED_BETAS_LINEAR = 0,
    SCHED_BETAS_SCALED_LINEAR,
    SCHED_BETAS_SQUAREDCOS_CAP_V2,
    SCHED_BETAS_SIGMOID,
} sched_beta_schedule;

/* betas (T floats) as diffusers builds them in float32. */
void sched_make_betas(sched_beta_schedule kind, double beta_start, double beta_end, int64_t T,
                      float *betas);
/* rescale_zero_terminal_snr (arXiv:2305.08891, Algorithm 1), in place, float32. */
void sched_rescale_zero_terminal_snr(float *betas, int64_t T);
/* alphas = 1 - betas; alphas_cumprod = cumprod (torch accumulates in double, stores float). */
void sched_make_alphas(const float *betas, int64_t T, float *alphas, float *alphas_cumprod);
/* numpy linspace(start, stop, num) in double (endpoint included, last value exact). */
void sched_linspace(double start, double stop, int64_t num, double *out);
/* numpy interp(x, arange(len), fp) for x in [0, len - 1], in double. */
double sched_interp(double x, const float *fp, int64_t len);
/* numpy round (half to even). */
double sched_round(double x);
/* Integer timesteps as DDPM/DDIM space them (reversed); out holds n values. */
void sched_integer_timesteps(const cascade_scheduler *s, int64_t n, double *out);
/* sqrt((1 - abar) / abar) in float32 for every training timestep. */
void sched_train_sigmas(const cascade_scheduler *s, float *out);
/* torch.linspace(start, end, steps) in float32 (both ends exact). */
void sched_linspace_f32(float start, float end, int64_t steps, float *out);
/* Karras et al. 2022's schedule (rho = 7) from sigma_max down to sigma_min, n values, in
 * double as diffusers' _convert_to_karras computes it with numpy. */
void sched_karras_sigmas(double sigma_min, double sigma_max, int64_t n, double *out);
/* diffusers' _sigma_to_t: the fractional training timestep whose log-sigma (log_sigmas: T
 * float32 values, ascending) interpolates log(sigma) linearly, clamped to [0, T - 1]. */
double sched_sigma_to_t(double sigma, const float *log_sigmas, int64_t T);

/* ---- run-state helpers (scheduler.c) ---- */

/* Replaces the run's timesteps (n values, copied) and sigmas (n_sigmas, NULL for none),
 * resets step index and history. */
cascade_status sched_set_run(cascade_scheduler *s, const double *timesteps, int64_t n,
                             const float *sigmas, size_t n_sigmas, cascade_error *err);
/* Index of timestep in the run (diffusers _init_step_index: the second match when the
 * timestep repeats); -1 when absent. */
int64_t sched_index_for_timestep(const cascade_scheduler *s, double t);
/* The sigma of timestep t in the run for add_noise (its first occurrence, as diffusers'
 * (timesteps == t).nonzero() finds it); INVALID_ARG naming the scheduler when absent. */
cascade_status sched_run_sigma(const cascade_scheduler *s, double t, float *sigma,
                               cascade_error *err);
/* The training timestep t as an index into alphas_cumprod; INVALID_ARG unless an integer
 * in [0, T). */
cascade_status sched_train_index(const cascade_scheduler *s, double t, int64_t *out,
                                 cascade_error *err);

/* ---- prediction-type helpers (scheduler.c) ---- */

/* x0 from the model output for the variance-preserving schedulers, in diffusers' float32
 * order: epsilon (x - sb m) / sa; sample m; v sa x - sb m. sa = sqrt(abar), sb =
 * sqrt(1 - abar). model is read with model_stride floats per batch item (C*H*W of the
 * first C channels), x and x0 with chw. */
void sched_x0_from_output(sched_prediction p, float sa, float sb, const float *model,
                          size_t model_stride, const float *x, float *x0, size_t batch, size_t chw);
/* Clip to +-clip_sample_range or dynamic thresholding, as configured; x0: (B, chw). */
cascade_status sched_postprocess_x0(const cascade_scheduler *s, float *x0, size_t batch, size_t chw,
                                    cascade_error *err);
/* Dynamic thresholding (Imagen): per batch item s = quantile(|x|, ratio) (torch.quantile,
 * linear), clamped to [1, max], x = clamp(x, -s, s) / s. Allocation-free apart from one
 * scratch buffer; returns false when it cannot allocate. */
bool sched_threshold(float *x, size_t batch, size_t chw, double ratio, double max_value);

/* Fills out (n floats) with the step's noise: opt->noise or opt->rng. */
cascade_status sched_step_noise(const cascade_step_options *opt, float *out, size_t n,
                                const char *who, cascade_error *err);
/* Validates shape and channels: model_channels must be C, or 2 C when learned_ok. Sets
 * *batch and *chw. */
cascade_status sched_check_shapes(const cascade_scheduler *s, int64_t model_channels,
                                  const int64_t shape[4], bool learned_ok, size_t *batch,
                                  size_t *chw, cascade_error *err);

#endif
