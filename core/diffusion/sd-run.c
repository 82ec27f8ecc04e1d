/* One Stable Diffusion latent run (cascade/sd.h): the image-side preparation of diffusers
 * 0.25.1's StableDiffusion{,Img2Img,Inpaint,Upscale}Pipeline around the shared denoising
 * loop (diffusion-loop.c), and the VAE at both ends. */
#include <stdlib.h>
#include <string.h>

#include "cascade/sd.h"
#include "pipeline-internal.h"

void cascade_sd_args_init(cascade_sd_args *a) {
    memset(a, 0, sizeof *a);
    a->batch = 1;
    a->steps = 50;
    a->guidance_scale = 7.5;
    a->strength = 0.8;
}

/* One noise source for the whole run, handed to the loop too, so a seeded run never draws
 * the same values twice. */
typedef struct sd_noise {
    cascade_noise_fn  fn;
    void             *user;
    cascade_rng       rng;
    cascade_item_rngs items; /* seed_per_item */
} sd_noise;

static cascade_status sd_draw(void *user, const char *what, float *out, size_t n,
                              cascade_error *err) {
    sd_noise *ns = user;
    if (ns->fn) return ns->fn(ns->user, what, out, n, err);
    if (ns->items.n)
        cascade_item_rngs_normal(&ns->items, out, n);
    else
        cascade_rng_normal(&ns->rng, out, n);
    return CASCADE_STATUS_OK;
}

/* Repeats items (each per floats) from nb (1 or B) to B. */
static void repeat_batch(const float *src, int64_t nb, int64_t batch, size_t per, float *dst) {
    for (int64_t b = 0; b < batch; b++)
        memcpy(dst + (size_t)b * per, src + (size_t)(nb == batch ? b : b % nb) * per,
               per * sizeof *dst);
}

/* scaling_factor * vae.encode(image).sample(noise drawn as what), at the image's own batch
 * nb, repeated to B (diffusers encodes first, then repeats the latents). With per-item seeds
 * every item encodes its own copy (its own posterior sample, as a batch of one would). */
static cascade_status encode_latents(const cascade_sd_args *a, sd_noise *ns, const char *what,
                                     const float *image, int64_t nb, int64_t H, int64_t W,
                                     size_t per_lat, float *out, cascade_error *err) {
    float *copies = NULL;
    if (ns->items.n && nb != a->batch) {
        size_t per_img = (size_t)(3 * H * W);
        if (!(copies = malloc((size_t)a->batch * per_img * sizeof *copies)))
            return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "SD: image copies");
        repeat_batch(image, nb, a->batch, per_img, copies);
        image = copies;
        nb = a->batch;
    }
    size_t         n = (size_t)nb * per_lat;
    float         *noise = malloc(n * sizeof *noise), *lat = malloc(n * sizeof *lat);
    cascade_status st = CASCADE_STATUS_OK;
    if (!noise || !lat) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "SD: image latents");
        goto done;
    }
    if ((st = sd_draw(ns, what, noise, n, err))) goto done;
    int64_t shape[4] = {nb, 3, H, W};
    if ((st = cascade_vae_encode(a->vae, image, shape, noise, lat, err))) goto done;
    float sf = (float)cascade_vae_scaling_factor(a->vae);
    for (size_t i = 0; i < n; i++)
        lat[i] *= sf;
    repeat_batch(lat, nb, a->batch, per_lat, out);
done:
    free(copies);
    free(noise);
    free(lat);
    return st;
}

static cascade_status check(const cascade_sd_args *a, int64_t f, int64_t lc, cascade_error *err) {
    if (!a->denoiser || !a->scheduler || !a->vae || !a->cond)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "SD: denoiser, scheduler, VAE and text embeddings are needed");
    if (a->batch < 1 || a->height < 1 || a->width < 1 || a->height % f || a->width % f)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "SD: %lldx%lld is not a positive multiple of the VAE's %lld",
                                 (long long)a->width, (long long)a->height, (long long)f);
    int64_t ib = a->image_batch > 0 ? a->image_batch : 1;
    int64_t mb = a->mask_batch > 0 ? a->mask_batch : 1;
    if (a->task != CASCADE_SD_TASK_TEXT2IMG &&
        (!a->image || (ib != 1 && ib != a->batch) || a->batch % ib))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "SD: this task needs an image (1 or %lld of them)",
                                 (long long)a->batch);
    if (a->task == CASCADE_SD_TASK_INPAINT && (!a->mask || (mb != 1 && mb != a->batch)))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "SD: inpainting needs a mask (1 or %lld of them)",
                                 (long long)a->batch);
    int64_t in = a->denoiser->in_channels;
    bool    ok = true;
    switch (a->task) {
    case CASCADE_SD_TASK_TEXT2IMG:
    case CASCADE_SD_TASK_IMG2IMG: ok = in == lc; break;
    case CASCADE_SD_TASK_INPAINT: ok = in == lc || in == 2 * lc + 1; break;
    case CASCADE_SD_TASK_UPSCALE: ok = in == lc + 3 && a->low_res_scheduler; break;
    }
    if (!ok)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "SD: a U-Net with %lld input channels cannot run this task with "
                                 "%lld latent channels%s",
                                 (long long)in, (long long)lc,
                                 a->task == CASCADE_SD_TASK_UPSCALE ? " (or no low_res_scheduler)"
                                                                    : "");
    return CASCADE_STATUS_OK;
}

cascade_status cascade_sd_run(const cascade_sd_args *a, float *latents, float *image,
                              cascade_error *err) {
    if (!a || !a->vae)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "SD: no VAE");
    const int64_t f = cascade_vae_downscale(a->vae), lc = cascade_vae_latent_channels(a->vae);
    CASCADE_TRY(check(a, f, lc, err));
    const int64_t B = a->batch, H = a->height, W = a->width, h = H / f, w = W / f;
    const int64_t ib = a->image_batch > 0 ? a->image_batch : 1;
    const int64_t mb = a->mask_batch > 0 ? a->mask_batch : 1;
    size_t        per_lat, per_img, n_lat, hw_lat;
    if (!pipe_numel(lc, h, w, 1, &per_lat) || !pipe_numel(3, H, W, 1, &per_img) ||
        !pipe_numel(B, lc, h, w, &n_lat) || !pipe_numel(h, w, 1, 1, &hw_lat))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "SD: size overflows");
    const bool nine = a->task == CASCADE_SD_TASK_INPAINT && a->denoiser->in_channels != lc;

    sd_noise ns = {.fn = a->noise_fn, .user = a->noise_user};
    cascade_rng_init(&ns.rng, a->seed);
    float *out = malloc(n_lat * sizeof *out), *start = NULL, *mask_lat = NULL, *extra = NULL;
    float *tmp = NULL;
    cascade_status st = a->seed_per_item ? cascade_item_rngs_init(&ns.items, a->seed, B, err)
                                         : CASCADE_STATUS_OK;
    if (st) goto done;
    if (!out) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "SD: latents");
        goto done;
    }

    cascade_diffusion_args d;
    cascade_diffusion_args_init(&d);
    d.style = CASCADE_LOOP_SD;
    d.denoiser = a->denoiser;
    d.scheduler = a->scheduler;
    d.batch = B;
    d.channels = lc;
    d.height = h;
    d.width = w;
    d.steps = a->steps;
    d.guidance_scale = a->guidance_scale;
    d.eta = a->eta;
    d.cond = a->cond;
    d.uncond = a->uncond;
    d.seq = a->seq;
    d.dim = a->dim;
    d.noise_fn = sd_draw;
    d.noise_user = &ns;
    d.progress = a->progress;
    d.user_data = a->user_data;
    d.cancel = a->cancel;
    d.tap = a->tap;
    d.tap_user = a->tap_user;

    /* the image latents the run starts from (img2img; inpainting below full strength or by
     * blending): drawn before the loop's "initial", as diffusers' prepare_latents does */
    bool need_start = a->task == CASCADE_SD_TASK_IMG2IMG ||
                      (a->task == CASCADE_SD_TASK_INPAINT && (!nine || a->strength < 1.0));
    if (need_start) {
        if (!(start = malloc(n_lat * sizeof *start))) {
            st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "SD: image latents");
            goto done;
        }
        if ((st = encode_latents(a, &ns, "image_latents", a->image, ib, H, W, per_lat, start,
                                 err)))
            goto done;
        d.image = start;
        d.strength = a->strength;
    } else if (a->task == CASCADE_SD_TASK_INPAINT) {
        d.strength = a->strength; /* 1: pure noise, the image only through the mask latents */
    }

    if (a->task == CASCADE_SD_TASK_INPAINT) {
        /* the mask binarised at full size, nearest-resized to the latents (every f-th px) */
        size_t hw = (size_t)(H * W);
        mask_lat = malloc((size_t)B * hw_lat * sizeof *mask_lat);
        if (!mask_lat) {
            st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "SD: mask");
            goto done;
        }
        for (int64_t b = 0; b < B; b++)
            for (int64_t y = 0; y < h; y++)
                for (int64_t x = 0; x < w; x++) {
                    float m = a->mask[(size_t)(b % mb) * hw + (size_t)(y * f * W + x * f)];
                    mask_lat[(size_t)b * hw_lat + (size_t)(y * w + x)] = m >= 0.5f ? 1.0f : 0.0f;
                }
        if (!nine) {
            d.mask = mask_lat;
            d.mask_batch = B;
        } else {
            /* 9 channels: [mask | latents of the image with the mask cleared] */
            int64_t nb = ib > mb ? ib : mb;
            size_t  n_masked = (size_t)nb * per_img;
            float  *lat = malloc(n_lat * sizeof *lat);
            tmp = malloc(n_masked * sizeof *tmp);
            extra = malloc((size_t)B * (per_lat + hw_lat) * sizeof *extra);
            if (!lat || !tmp || !extra) {
                free(lat);
                st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "SD: masked image");
                goto done;
            }
            for (int64_t b = 0; b < nb; b++)
                for (size_t i = 0; i < per_img; i++) {
                    float m = a->mask[(size_t)(b % mb) * hw + i % hw];
                    tmp[(size_t)b * per_img + i] =
                        m >= 0.5f ? 0.0f : a->image[(size_t)(b % ib) * per_img + i];
                }
            st = encode_latents(a, &ns, "masked_image_latents", tmp, nb, H, W, per_lat, lat, err);
            for (int64_t b = 0; !st && b < B; b++) {
                float *dst = extra + (size_t)b * (per_lat + hw_lat);
                memcpy(dst, mask_lat + (size_t)b * hw_lat, hw_lat * sizeof *dst);
                memcpy(dst + hw_lat, lat + (size_t)b * per_lat, per_lat * sizeof *dst);
            }
            free(lat);
            if (st) goto done;
            d.extra = extra;
            d.extra_channels = 1 + lc;
        }
    }

    if (a->task == CASCADE_SD_TASK_UPSCALE) {
        /* the low-res image at the latents' size, noised to noise_level ("augmentation" is
         * drawn before the latents' "initial") */
        size_t per_low = (size_t)(3 * h * w), n_low = (size_t)B * per_low;
        extra = malloc(n_low * sizeof *extra);
        tmp = malloc(n_low * sizeof *tmp);
        if (!extra || !tmp) {
            st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "SD: low-res image");
            goto done;
        }
        int64_t max_level = cascade_scheduler_num_train_timesteps(a->low_res_scheduler);
        if (a->noise_level < 0 || a->noise_level >= max_level) {
            st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                   "SD upscale: noise_level %lld is not in [0, %lld)",
                                   (long long)a->noise_level, (long long)max_level);
            goto done;
        }
        repeat_batch(a->image, ib, B, per_low, extra);
        if ((st = sd_draw(&ns, "augmentation", tmp, n_low, err))) goto done;
        int64_t shape[4] = {B, 3, h, w};
        double  level = (double)a->noise_level;
        if ((st = cascade_scheduler_add_noise(a->low_res_scheduler, extra, tmp, shape, &level, 1,
                                              extra, err)))
            goto done;
        d.extra = extra;
        d.extra_channels = 3;
        d.noise_level = a->noise_level;
    }

    if ((st = cascade_diffusion_run(&d, out, err))) goto done;
    if (latents) memcpy(latents, out, n_lat * sizeof *out);
    if (image) {
        float sf = (float)cascade_vae_scaling_factor(a->vae);
        for (size_t i = 0; i < n_lat; i++)
            out[i] /= sf;
        int64_t shape[4] = {B, lc, h, w};
        st = cascade_vae_decode(a->vae, out, shape, image, err);
    }
done:
    cascade_item_rngs_clear(&ns.items);
    free(out);
    free(start);
    free(mask_lat);
    free(extra);
    free(tmp);
    return st;
}
