/* Diffusion schedulers, as diffusers 0.25.1 defines them: DDPMScheduler, DDIMScheduler,
 * DPMSolverMultistepScheduler, EulerDiscreteScheduler and EulerAncestralDiscreteScheduler.
 *
 * A scheduler is three independent choices (the axes of STYLE.md):
 *   - the noise schedule: betas -> alphas_cumprod (linear, scaled_linear, squaredcos_cap_v2,
 *     sigmoid, trained_betas, optional zero-terminal-SNR rescale) and the timestep spacing
 *     (leading, linspace, trailing);
 *   - the prediction type: what the model outputs (epsilon, sample, v_prediction), turned
 *     into an x0 estimate, optionally clipped or dynamically thresholded;
 *   - the solver: how x0 / eps move the sample to the previous timestep.
 * It is created from the component's scheduler_config.json and dispatched on _class_name.
 * Every config field the engine does not implement is an UNSUPPORTED error naming it.
 *
 * Numerics follow the reference: float32 where diffusers computes in torch float32 (betas,
 * alphas_cumprod, every per-step coefficient and tensor op), double where it uses float64
 * numpy (timestep spacing, sigma interpolation), so results meet the golden tolerances.
 *
 * Tensors are host float arrays, contiguous (B, C, H, W) with the shape given alongside.
 * A scheduler is single-threaded and keeps per-run state (step index, multistep history):
 * call cascade_scheduler_set_timesteps() before each run. */
#ifndef CASCADE_SCHEDULER_H
#define CASCADE_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/config.h"
#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Seeded normal noise ----------------------------------------------------------------
 * Our own generator, identical on every platform with an IEEE libm: splitmix64 produces
 * 64-bit words; two words give two uniforms u1 in (0, 1], u2 in [0, 1) (53 bits each);
 * Box-Muller in double gives r = sqrt(-2 ln u1), z0 = r cos(2 pi u2), z1 = r sin(2 pi u2),
 * rounded to float and emitted in that order (an odd count keeps z1 for the next call).
 * It is not torch's generator: a seed does not reproduce a PyTorch run; tests inject the
 * reference's noise instead (cascade_step_options.noise). */
typedef struct cascade_rng {
    uint64_t state;
    bool     has_spare;
    float    spare;
} cascade_rng;

void     cascade_rng_init(cascade_rng *rng, uint64_t seed);
uint64_t cascade_rng_next_u64(cascade_rng *rng);
/* n standard normal floats into out. */
void cascade_rng_normal(cascade_rng *rng, float *out, size_t n);

/* Per-item generators: draws into a batch of items whose row b comes from rows[b] (seeded
 * with seed + b), so item b of a batch is exactly what a batch of one seeded with seed + b
 * draws. A draw that is not split evenly over the rows (none in the pipelines) comes
 * from rows[0]. */
typedef struct cascade_item_rngs {
    int64_t      n;    /* items; 0 = not in use */
    cascade_rng *rows; /* n generators */
} cascade_item_rngs;
/* OUT_OF_MEMORY when the generators cannot be allocated; clear with _clear. */
cascade_status cascade_item_rngs_init(cascade_item_rngs *r, uint64_t seed, int64_t n,
                                      cascade_error *err);
void           cascade_item_rngs_clear(cascade_item_rngs *r);
void           cascade_item_rngs_normal(cascade_item_rngs *r, float *out, size_t n);

/* ---- Scheduler ------------------------------------------------------------------------- */

typedef struct cascade_scheduler cascade_scheduler;

typedef enum cascade_scheduler_kind {
    CASCADE_SCHEDULER_KIND_DDPM = 0,       /* DDPMScheduler */
    CASCADE_SCHEDULER_KIND_DDIM,           /* DDIMScheduler */
    CASCADE_SCHEDULER_KIND_DPMSOLVER,      /* DPMSolverMultistepScheduler */
    CASCADE_SCHEDULER_KIND_EULER,          /* EulerDiscreteScheduler */
    CASCADE_SCHEDULER_KIND_EULER_ANCESTRAL /* EulerAncestralDiscreteScheduler */
} cascade_scheduler_kind;

/* True when class_name ("DDPMScheduler", or "diffusers.DDPMScheduler") is implemented. */
bool cascade_scheduler_supports_class(const char *class_name);

/* Builds a scheduler from a parsed config (every field is consumed; an unknown field, an
 * unsupported value or a wrong type is an error naming it). cfg is borrowed. */
cascade_status cascade_scheduler_new(cascade_config *cfg, cascade_scheduler **out,
                                     cascade_error *err);
/* The same from a file (scheduler/scheduler_config.json). */
cascade_status cascade_scheduler_load(const char *path, cascade_scheduler **out,
                                      cascade_error *err);
void           cascade_scheduler_free(cascade_scheduler *s); /* NULL-safe */

cascade_scheduler_kind cascade_scheduler_get_kind(const cascade_scheduler *s);
const char            *cascade_scheduler_class_name(const cascade_scheduler *s);
int64_t                cascade_scheduler_num_train_timesteps(const cascade_scheduler *s);
/* alphas_cumprod after construction: num_train_timesteps floats, owned by s. */
const float *cascade_scheduler_alphas_cumprod(const cascade_scheduler *s);
/* True when the model is expected to output 2C channels (variance_type learned or
 * learned_range): step() then takes model_channels = 2 C. */
bool cascade_scheduler_learned_variance(const cascade_scheduler *s);

/* Sets the inference timesteps (1 <= n <= num_train_timesteps) and resets the run state. */
cascade_status cascade_scheduler_set_timesteps(cascade_scheduler *s, int64_t n, cascade_error *err);
/* The timesteps of the current run, in order of use (integers for DDPM/DDIM/DPM-Solver,
 * float32 values for the Euler schedulers); *n receives the count. NULL before
 * set_timesteps. Owned by s, valid until the next set_timesteps. */
const double *cascade_scheduler_timesteps(const cascade_scheduler *s, size_t *n);
/* sigmas of the current run (Euler: n + 1 values ending in 0; DPM-Solver: n + 1), or NULL
 * for schedulers without them. */
const float *cascade_scheduler_sigmas(const cascade_scheduler *s, size_t *n);
/* Scale of the initial noise x_T = N(0, 1) * init_noise_sigma (1 except for Euler). */
float cascade_scheduler_init_noise_sigma(const cascade_scheduler *s);

/* out = the model input for sample at timestep (identity except Euler: x / sqrt(sigma^2+1)).
 * sample, out: n floats; they may alias. */
cascade_status cascade_scheduler_scale_model_input(cascade_scheduler *s, double timestep,
                                                   const float *sample, size_t n, float *out,
                                                   cascade_error *err);

typedef struct cascade_step_options {
    double eta;                              /* DDIM: 0 deterministic, 1 DDPM-like (default 0) */
    bool   use_clipped_model_output;         /* DDIM (default false) */
    double s_churn, s_tmin, s_tmax, s_noise; /* Euler (defaults 0, 0, +inf, 1) */
    /* Where a step's noise comes from when it needs some: noise when non-NULL (a
     * sample-shaped (B, C, H, W) tensor, borrowed), else noise_fn (called only when the step
     * draws, with n = B*C*H*W), else rng. A step that needs noise and has none of them fails
     * with INVALID_ARG. */
    const float *noise;
    cascade_status (*noise_fn)(void *noise_user, float *out, size_t n, cascade_error *err);
    void        *noise_user;
    cascade_rng *rng;
} cascade_step_options;

void cascade_step_options_init(cascade_step_options *opt);

/* One denoising step at timestep (one of cascade_scheduler_timesteps(), in order).
 * model_output: (B, model_channels, H, W), model_channels = C, or 2 C when the scheduler
 * takes a learned variance; sample: (B, C, H, W) with shape = {B, C, H, W};
 * prev_sample: (B, C, H, W) out; pred_original_sample: (B, C, H, W) out, may be NULL
 * (the x0 estimate after thresholding; for DPM-Solver the converted model output).
 * Outputs must not alias the inputs. opt may be NULL (defaults). */
cascade_status cascade_scheduler_step(cascade_scheduler *s, double timestep,
                                      const float *model_output, int64_t model_channels,
                                      const float *sample, const int64_t shape[4],
                                      const cascade_step_options *opt, float *prev_sample,
                                      float *pred_original_sample, cascade_error *err);

/* The forward process: out = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise per batch item
 * (Euler: x0 + sigma_t noise; DPM-Solver: alpha_t x0 + sigma_t noise from the run's sigma
 * at t; for both t must be one of the run's timesteps). original, noise, out:
 * (B, C, H, W) with shape; timesteps: n_timesteps values, 1 (broadcast) or B. out may alias
 * original. */
cascade_status cascade_scheduler_add_noise(const cascade_scheduler *s, const float *original,
                                           const float *noise, const int64_t shape[4],
                                           const double *timesteps, size_t n_timesteps, float *out,
                                           cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
