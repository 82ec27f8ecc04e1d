/* The noise-schedule axis: betas, alphas_cumprod and timestep spacing, with the reference's
 * precision (torch float32 for the betas, float64 numpy for spacing and interpolation). */
#include <math.h>

#include "scheduler-internal.h"

/* torch.linspace(start, end, steps, dtype=float32) on the CPU: both ends are rounded to
 * float first and the first half counts up from start, the second half down from end. */
void sched_linspace_f32(float start, float end, int64_t steps, float *out) {
    if (steps == 1) {
        out[0] = start;
        return;
    }
    float   step = (end - start) / (float)(steps - 1);
    int64_t halfway = steps / 2;
    for (int64_t i = 0; i < steps; i++)
        out[i] = i < halfway ? start + step * (float)i : end - step * (float)(steps - i - 1);
}

/* GLIDE's cosine schedule: alpha_bar(t) = cos((t + 0.008) / 1.008 * pi / 2)^2, computed in
 * double (Python floats) and stored as float32. */
static double alpha_bar_cosine(double t) {
    double c = cos((t + 0.008) / 1.008 * M_PI / 2);
    return c * c;
}

void sched_make_betas(sched_beta_schedule kind, double beta_start, double beta_end, int64_t T,
                      float *betas) {
    switch (kind) {
    case SCHED_BETAS_LINEAR:
        sched_linspace_f32((float)beta_start, (float)beta_end, T, betas);
        break;
    case SCHED_BETAS_SCALED_LINEAR:
        /* latent diffusion: linspace over sqrt(beta), squared */
        sched_linspace_f32((float)sqrt(beta_start), (float)sqrt(beta_end), T, betas);
        for (int64_t i = 0; i < T; i++)
            betas[i] = betas[i] * betas[i];
        break;
    case SCHED_BETAS_SQUAREDCOS_CAP_V2:
        for (int64_t i = 0; i < T; i++) {
            double t1 = (double)i / (double)T, t2 = (double)(i + 1) / (double)T;
            double b = 1 - alpha_bar_cosine(t2) / alpha_bar_cosine(t1);
            betas[i] = (float)(b < 0.999 ? b : 0.999);
        }
        break;
    case SCHED_BETAS_SIGMOID: {
        /* GeoDiff: sigmoid(linspace(-6, 6)) * (end - start) + start */
        sched_linspace_f32(-6.0f, 6.0f, T, betas);
        float range = (float)(beta_end - beta_start), start = (float)beta_start;
        for (int64_t i = 0; i < T; i++) {
            float sg = 1.0f / (1.0f + expf(-betas[i]));
            betas[i] = sg * range + start;
        }
        break;
    }
    }
}

void sched_make_alphas(const float *betas, int64_t T, float *alphas, float *alphas_cumprod) {
    double acc = 1.0; /* torch's CPU cumprod accumulates float in double */
    for (int64_t i = 0; i < T; i++) {
        alphas[i] = 1.0f - betas[i];
        acc *= alphas[i];
        alphas_cumprod[i] = (float)acc;
    }
}

void sched_rescale_zero_terminal_snr(float *betas, int64_t T) {
    /* sqrt(abar) shifted so the last is 0 and scaled so the first is unchanged */
    double acc = 1.0;
    for (int64_t i = 0; i < T; i++) {
        acc *= 1.0f - betas[i];
        betas[i] = sqrtf((float)acc); /* betas now holds sqrt(abar) */
    }
    float a0 = betas[0], aT = betas[T - 1];
    float scale = a0 / (a0 - aT);
    for (int64_t i = 0; i < T; i++) {
        float v = (betas[i] - aT) * scale;
        betas[i] = v * v; /* abar */
    }
    /* alphas = abar[i] / abar[i-1] (abar[0] for i = 0); betas = 1 - alphas, back to front */
    for (int64_t i = T - 1; i >= 1; i--)
        betas[i] = 1.0f - betas[i] / betas[i - 1];
    betas[0] = 1.0f - betas[0];
}

void sched_linspace(double start, double stop, int64_t num, double *out) {
    if (num == 1) {
        out[0] = start;
        return;
    }
    double step = (stop - start) / (double)(num - 1);
    for (int64_t i = 0; i < num; i++)
        out[i] = (double)i * step + start;
    out[num - 1] = stop;
}

double sched_round(double x) {
    return nearbyint(x); /* the default rounding mode rounds half to even, as numpy */
}

double sched_interp(double x, const float *fp, int64_t len) {
    if (x <= 0) return fp[0];
    if (x >= (double)(len - 1)) return fp[len - 1];
    int64_t j = (int64_t)floor(x);
    if (x == (double)j) return fp[j];
    double slope = ((double)fp[j + 1] - (double)fp[j]) / 1.0;
    return slope * (x - (double)j) + (double)fp[j];
}

void sched_integer_timesteps(const cascade_scheduler *s, int64_t n, double *out) {
    int64_t T = s->T;
    switch (s->spacing) {
    case SCHED_SPACING_LINSPACE:
        sched_linspace(0, (double)(T - 1), n, out);
        for (int64_t i = 0; i < n; i++)
            out[i] = sched_round(out[i]);
        break;
    case SCHED_SPACING_LEADING: {
        int64_t ratio = T / n;
        for (int64_t i = 0; i < n; i++)
            out[i] = (double)(i * ratio + s->steps_offset);
        break;
    }
    case SCHED_SPACING_TRAILING: {
        /* np.round(np.arange(T, 0, -T / n)) - 1, already descending */
        double ratio = (double)T / (double)n;
        for (int64_t i = 0; i < n; i++)
            out[i] = sched_round((double)T - (double)i * ratio) - 1;
        return;
    }
    }
    /* reverse: diffusers runs from the noisiest timestep down */
    for (int64_t i = 0, j = n - 1; i < j; i++, j--) {
        double tmp = out[i];
        out[i] = out[j];
        out[j] = tmp;
    }
}

void sched_train_sigmas(const cascade_scheduler *s, float *out) {
    for (int64_t i = 0; i < s->T; i++) {
        float a = s->alphas_cumprod[i];
        out[i] = sqrtf((1.0f - a) / a);
    }
}

void sched_karras_sigmas(double sigma_min, double sigma_max, int64_t n, double *out) {
    const double rho = 7.0;
    double       lo = pow(sigma_min, 1 / rho), hi = pow(sigma_max, 1 / rho);
    sched_linspace(0, 1, n, out);
    for (int64_t i = 0; i < n; i++)
        out[i] = pow(hi + out[i] * (lo - hi), rho);
}

double sched_sigma_to_t(double sigma, const float *log_sigmas, int64_t T) {
    if (T < 2) return 0;
    double log_sigma = log(sigma > 1e-10 ? sigma : 1e-10);
    /* low: the last index whose log-sigma is <= log_sigma (0 when none), at most T - 2 */
    int64_t low = 0;
    for (int64_t i = 0; i < T; i++)
        if (log_sigma - (double)log_sigmas[i] >= 0) low = i;
    if (low > T - 2) low = T - 2;
    float  lo = log_sigmas[low], hi = log_sigmas[low + 1];
    double w = ((double)lo - log_sigma) / (double)(lo - hi); /* numpy: float32 difference */
    w = w < 0 ? 0 : w > 1 ? 1 : w;
    return (1 - w) * (double)low + w * (double)(low + 1);
}
