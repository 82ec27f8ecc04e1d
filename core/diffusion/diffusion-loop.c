/* One stage's denoising loop, as diffusers 0.25.1's IF and Stable Diffusion pipelines run
 * it (see cascade/pipeline.h for the steps): start from noise or a re-noised image, per
 * timestep the guided model output through the scheduler, optional mask blending. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline-internal.h"

void cascade_diffusion_args_init(cascade_diffusion_args *a) {
    memset(a, 0, sizeof *a);
    a->guidance_scale = 1.0;
    a->strength = 1.0;
    a->stage = 1;
}

/* The run's noise: the caller's source, or a generator seeded once per run. */
typedef struct noise_src {
    cascade_noise_fn fn;
    void            *user;
    cascade_rng      rng;
    char             what[32]; /* name of the next step draw */
} noise_src;

static cascade_status draw(noise_src *ns, const char *what, float *out, size_t n,
                           cascade_error *err) {
    if (ns->fn) return ns->fn(ns->user, what, out, n, err);
    cascade_rng_normal(&ns->rng, out, n);
    return CASCADE_STATUS_OK;
}

static cascade_status draw_step(void *user, float *out, size_t n, cascade_error *err) {
    noise_src *ns = user;
    return draw(ns, ns->what, out, n, err);
}

static cascade_status check_args(const cascade_diffusion_args *a, size_t *n, size_t *hw,
                                 int64_t *c_in, cascade_error *err) {
    if (!a->denoiser || !a->denoiser->forward || !a->scheduler || !a->cond)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "diffusion: denoiser, scheduler and text embeddings are needed");
    if (!pipe_numel(a->batch, a->channels, a->height, a->width, n) || a->steps < 1 ||
        !pipe_numel(a->height, a->width, 1, 1, hw) ||
        !pipe_numel(2 * a->batch, a->seq, a->dim, 1, &(size_t){0}))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "diffusion: bad batch, size, steps or embedding shape");
    if (a->guidance_scale > 1.0 && !a->uncond)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "diffusion: guidance %g needs the unconditional embeddings",
                                 a->guidance_scale);
    if (a->extra_channels < 0 || (a->extra_channels > 0) != (a->extra != NULL))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "diffusion: extra channels need their data and a count");
    *c_in = a->channels * (a->low_res ? 2 : 1) + a->extra_channels;
    const cascade_denoiser *d = a->denoiser;
    if (d->in_channels != *c_in)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "diffusion: the model takes %lld input channels, the stage "
                                 "gives %lld",
                                 (long long)d->in_channels, (long long)*c_in);
    if (d->out_channels != a->channels && d->out_channels != 2 * a->channels)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "diffusion: the model outputs %lld channels for %lld-channel "
                                 "images",
                                 (long long)d->out_channels, (long long)a->channels);
    if (a->low_res) {
        size_t lo;
        if (!a->image_noising_scheduler ||
            !pipe_numel(a->batch, a->channels, a->low_h, a->low_w, &lo))
            return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                     "diffusion: stage II needs the low-res size and an "
                                     "image_noising_scheduler");
        if (a->noise_level < 0 ||
            a->noise_level >= cascade_scheduler_num_train_timesteps(a->image_noising_scheduler))
            return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                     "diffusion: noise_level %lld out of range",
                                     (long long)a->noise_level);
    }
    if (d->class_labels && !a->low_res && !a->extra)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "diffusion: the model takes a noise level: give the low-res "
                                 "image (stage II)");
    if (a->image && !(a->strength > 0 && a->strength <= 1))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "diffusion: strength %g is not in (0, 1]", a->strength);
    if (a->mask && (!a->image || (a->mask_batch > 1 && a->mask_batch != a->batch)))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "diffusion: a mask needs the image and 1 or %lld items",
                                 (long long)a->batch);
    return CASCADE_STATUS_OK;
}

cascade_status cascade_diffusion_run(const cascade_diffusion_args *a, float *out,
                                     cascade_error *err) {
    size_t  n = 0, hw = 0;
    int64_t c_in = 0;
    CASCADE_TRY(check_args(a, &n, &hw, &c_in, err));
    const cascade_denoiser *d = a->denoiser;
    cascade_scheduler      *s = a->scheduler;
    const int64_t           B = a->batch, C = a->channels, c_out = d->out_channels;
    const bool              cfg = a->guidance_scale > 1.0;
    const int64_t           mult = cfg ? 2 : 1;
    const size_t            chw = n / (size_t)B, ctx_n = (size_t)(B * a->seq * a->dim);

    CASCADE_TRY(cascade_scheduler_set_timesteps(s, a->steps, err));
    size_t        nt;
    const double *ts = cascade_scheduler_timesteps(s, &nt);
    size_t        t_start = 0;
    if (a->image) { /* IF's get_timesteps(strength) */
        size_t init = (size_t)((double)nt * a->strength);
        init = init < nt ? init : nt;
        t_start = nt - init;
        if (t_start >= nt)
            return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                     "diffusion: strength %g leaves no step of %zu", a->strength,
                                     nt);
    }

    noise_src ns = {.fn = a->noise_fn, .user = a->noise_user};
    cascade_rng_init(&ns.rng, a->seed);
    float         *x = malloc(n * sizeof *x), *prev = malloc(n * sizeof *prev);
    float         *x0 = malloc(n * sizeof *x0), *noise = malloc(n * sizeof *noise);
    float         *in = malloc((size_t)mult * (size_t)c_in * hw * (size_t)B * sizeof *in);
    float         *mo = malloc((size_t)mult * (size_t)c_out * hw * (size_t)B * sizeof *mo);
    float         *guided = malloc((size_t)c_out * hw * (size_t)B * sizeof *guided);
    float         *ctx = malloc((size_t)mult * ctx_n * sizeof *ctx);
    float         *labels = malloc((size_t)mult * (size_t)B * sizeof *labels);
    float         *up = a->low_res ? malloc(n * sizeof *up) : NULL;
    float         *mask = a->mask ? malloc((size_t)B * hw * sizeof *mask) : NULL;
    /* SD's blend re-noises the image with the start noise at every step */
    const bool     sd = a->style == CASCADE_LOOP_SD;
    const bool     renoise = sd && a->mask && !a->extra;
    float         *start_noise = renoise ? malloc(n * sizeof *start_noise) : NULL;
    float         *kept = renoise ? malloc(n * sizeof *kept) : NULL;
    cascade_status st = CASCADE_STATUS_OK;
    if (!x || !prev || !x0 || !noise || !in || !mo || !guided || !ctx || !labels ||
        (a->low_res && !up) || (a->mask && !mask) ||
        (renoise && (!start_noise || !kept))) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "diffusion buffers");
        goto done;
    }
    int64_t shape[4] = {B, C, a->height, a->width};

    /* initial intermediate images */
    if ((st = draw(&ns, "initial", noise, n, err))) goto done;
    if (mask) pipe_binarize_mask(a->mask, a->mask_batch > 1 ? a->mask_batch : 1, B, hw, mask);
    if (renoise) memcpy(start_noise, noise, n * sizeof *noise);
    if (a->image && !(sd && a->strength >= 1.0)) { /* img2img: noised to the first timestep */
        double t0 = ts[t_start];
        if ((st = cascade_scheduler_add_noise(s, a->image, noise, shape, &t0, 1, x, err)))
            goto done;
        if (mask && !sd) pipe_blend_mask(x, a->image, mask, B, C, hw); /* IF: inside only */
    } else {
        float sigma = cascade_scheduler_init_noise_sigma(s);
        for (size_t i = 0; i < n; i++)
            x[i] = noise[i] * sigma;
    }
    /* stage II: the upscaled low-res image, noised to the augmentation level */
    if (a->low_res) {
        double lvl = (double)a->noise_level;
        cascade_resize_bilinear_ac(a->low_res, B * C, a->low_h, a->low_w, a->height, a->width, up);
        if ((st = draw(&ns, "augmentation", noise, n, err))) goto done;
        if ((st = cascade_scheduler_add_noise(a->image_noising_scheduler, up, noise, shape, &lvl, 1,
                                              up, err)))
            goto done;
    }
    /* [uncond; cond] embeddings and the class labels, fixed for the run */
    if (cfg) {
        memcpy(ctx, a->uncond, ctx_n * sizeof *ctx);
        memcpy(ctx + ctx_n, a->cond, ctx_n * sizeof *ctx);
    } else {
        memcpy(ctx, a->cond, ctx_n * sizeof *ctx);
    }
    for (int64_t i = 0; i < mult * B; i++)
        labels[i] = (float)a->noise_level;

    const bool   learned = cascade_scheduler_learned_variance(s);
    const size_t total = nt - t_start;
    for (size_t i = t_start; i < nt; i++) {
        size_t j = i - t_start;
        if (cascade_cancel_is_raised(a->cancel)) {
            st = cascade_error_set(err, CASCADE_STATUS_CANCELLED, "cancelled at step %zu of %zu",
                                   j + 1, total);
            goto done;
        }
        /* model input: [x | up | extra] per item, the batch doubled for guidance; SD scales
         * x alone, IF the whole input */
        size_t ex = (size_t)a->extra_channels * hw;
        for (int64_t k = 0; k < mult; k++)
            for (int64_t b = 0; b < B; b++) {
                float *dst = in + ((size_t)(k * B + b) * (size_t)c_in) * hw;
                if (sd) {
                    if ((st = cascade_scheduler_scale_model_input(s, ts[i], x + (size_t)b * chw,
                                                                  chw, dst, err)))
                        goto done;
                } else {
                    memcpy(dst, x + (size_t)b * chw, chw * sizeof *dst);
                }
                if (up) memcpy(dst + chw, up + (size_t)b * chw, chw * sizeof *dst);
                if (ex) memcpy(dst + (up ? 2 : 1) * chw, a->extra + (size_t)b * ex, ex * sizeof *dst);
            }
        size_t n_in = (size_t)(mult * B * c_in) * hw;
        if (!sd && (st = cascade_scheduler_scale_model_input(s, ts[i], in, n_in, in, err)))
            goto done;
        int64_t in_shape[4] = {mult * B, c_in, a->height, a->width};
        if ((st = d->forward(d->self, in, in_shape, ts[i], ctx, a->seq, a->dim,
                             d->class_labels ? labels : NULL, a->cancel, mo, err)))
            goto done;
        int64_t out_shape[4] = {mult * B, c_out, a->height, a->width};
        if (a->tap) {
            a->tap(a->tap_user, j, "unet_input", in, in_shape);
            a->tap(a->tap_user, j, "unet_output", mo, out_shape);
        }
        if (cfg)
            cascade_guidance_combine(mo, B, c_out, C, (int64_t)hw, a->guidance_scale, guided);
        else
            memcpy(guided, mo, (size_t)(B * c_out) * hw * sizeof *guided);
        int64_t mc = c_out;
        if (!learned && c_out == 2 * C) { /* drop the variance the scheduler does not use */
            for (int64_t b = 0; b < B; b++)
                memmove(guided + (size_t)b * chw, guided + (size_t)b * 2 * chw,
                        chw * sizeof *guided);
            mc = C;
        }
        int64_t g_shape[4] = {B, mc, a->height, a->width};
        if (a->tap) a->tap(a->tap_user, j, "guided_model_output", guided, g_shape);
        cascade_step_options opt;
        cascade_step_options_init(&opt);
        opt.eta = a->eta;
        opt.noise_fn = draw_step;
        opt.noise_user = &ns;
        snprintf(ns.what, sizeof ns.what, "step%zu", j);
        if ((st = cascade_scheduler_step(s, ts[i], guided, mc, x, shape, &opt, prev, x0, err)))
            goto done;
        if (a->tap) a->tap(a->tap_user, j, "prev_sample", prev, shape);
        if (renoise) { /* SD: the image at the next step's noise level outside the mask */
            if (i + 1 < nt) {
                double tn = ts[i + 1];
                if ((st = cascade_scheduler_add_noise(s, a->image, start_noise, shape, &tn, 1, kept,
                                                      err)))
                    goto done;
            } else {
                memcpy(kept, a->image, n * sizeof *kept);
            }
            pipe_blend_mask(prev, kept, mask, B, C, hw);
        } else if (mask && !sd) {
            pipe_blend_mask(prev, x, mask, B, C, hw); /* IF: keep x outside the mask */
        }
        float *tmp = x;
        x = prev;
        prev = tmp;
        if (a->progress) a->progress(a->user_data, a->stage, (int)(j + 1), (int)total, x0, shape);
    }
    memcpy(out, x, n * sizeof *out);
done:
    free(x);
    free(prev);
    free(x0);
    free(noise);
    free(in);
    free(mo);
    free(guided);
    free(ctx);
    free(labels);
    free(up);
    free(mask);
    free(start_noise);
    free(kept);
    return st;
}

