/* Family: diffusers.AutoencoderKL. decode(latents) is checked against "decoded" and
 * encode(image).latent_dist against "latent_mean", "latent_logvar" and "latent_std", with
 * every shape taken from io.safetensors and the model from the case folder (config.json +
 * weights.safetensors) through the public cascade_vae API, untiled (no budget). The
 * encode(noise) path is checked as mean + std * noise, the formula diffusers' sample() uses,
 * with noise = 1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cascade/vae.h"
#include "golden.h"

static bool vae_matches(const golden_case *c) {
    return c->class_name && !strcmp(c->class_name, "diffusers.AutoencoderKL");
}

static cascade_status check_if_present(const golden_case *c, const cascade_safetensors *io,
                                       const char *name, const float *got, size_t n,
                                       golden_result *r, cascade_error *err) {
    if (!cascade_safetensors_find(io, name)) return CASCADE_STATUS_OK;
    return golden_check(c, io, name, got, n, r, err);
}

static cascade_status vae_run_case(const golden_case *c, golden_result *r, cascade_error *err) {
    cascade_safetensors *io = NULL;
    cascade_vae         *v = NULL;
    cascade_tensor      *lat = NULL, *img = NULL;
    float               *out = NULL, *mean = NULL, *logvar = NULL, *std = NULL, *ones = NULL;
    cascade_dtype  wdt = golden_is_fp16(c) ? CASCADE_DTYPE_F16 : CASCADE_DTYPE_F32;
    cascade_status st;
    if ((st = golden_open_io(c, "io.safetensors", &io, err))) goto done;
    if ((st = cascade_vae_load(c->dir, c->be, wdt, &v, err))) goto done;
    if ((st = golden_load(io, "latents", CASCADE_DTYPE_F32, &lat, err))) goto done;
    if ((st = golden_load(io, "image", CASCADE_DTYPE_F32, &img, err))) goto done;
    if (lat->ndim != 4 || img->ndim != 4) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: latents and image must be 4-D",
                               c->name);
        goto done;
    }
    {
        int64_t f = cascade_vae_downscale(v);
        size_t  n_img = (size_t)(lat->shape[0] * 3 * lat->shape[2] * f * lat->shape[3] * f);
        out = malloc(sizeof *out * n_img);
        if (!out) goto oom;
        if ((st = cascade_vae_decode(v, lat->data, lat->shape, out, err))) goto done;
        if ((st = golden_check(c, io, "decoded", out, n_img, r, err))) goto done;
    }
    {
        int64_t f = cascade_vae_downscale(v), lc = cascade_vae_latent_channels(v);
        size_t  n = (size_t)(img->shape[0] * lc * (img->shape[2] / f) * (img->shape[3] / f));
        mean = malloc(sizeof *mean * n);
        logvar = malloc(sizeof *logvar * n);
        std = malloc(sizeof *std * n);
        ones = malloc(sizeof *ones * n);
        if (!mean || !logvar || !std || !ones) goto oom;
        if ((st = cascade_vae_encode_posterior(v, img->data, img->shape, mean, logvar, err)))
            goto done;
        for (size_t k = 0; k < n; k++)
            std[k] = expf(0.5f * logvar[k]);
        if ((st = check_if_present(c, io, "latent_mean", mean, n, r, err))) goto done;
        if ((st = check_if_present(c, io, "latent_logvar", logvar, n, r, err))) goto done;
        if ((st = check_if_present(c, io, "latent_std", std, n, r, err))) goto done;
        /* encode(noise = 1) - mean is std; encode(NULL) is the mean */
        for (size_t k = 0; k < n; k++)
            ones[k] = 1.0f;
        if ((st = cascade_vae_encode(v, img->data, img->shape, ones, std, err))) goto done;
        for (size_t k = 0; k < n; k++)
            std[k] -= mean[k];
        if ((st = check_if_present(c, io, "latent_std", std, n, r, err))) goto done;
        if ((st = cascade_vae_encode(v, img->data, img->shape, NULL, std, err))) goto done;
        if ((st = check_if_present(c, io, "latent_mean", std, n, r, err))) goto done;
    }
    goto done;
oom:
    st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "%s: out of memory", c->name);
done:
    free(ones);
    free(std);
    free(logvar);
    free(mean);
    free(out);
    cascade_tensor_free(img);
    cascade_tensor_free(lat);
    cascade_vae_free(v);
    cascade_safetensors_close(io);
    return st;
}

const golden_family golden_family_vae = {"vae", vae_matches, vae_run_case};
