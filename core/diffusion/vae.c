/* diffusers' AutoencoderKL (v0.25.1): loading, the plan cache (one plan per direction, kept
 * while the shape stays the same) and the public encode / decode entry points. The graphs
 * are in vae-graph.c, the budget and tiles in vae-run.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vae-internal.h"

void cascade_vae_options_init(cascade_vae_options *o) {
    memset(o, 0, sizeof *o);
}

void cascade_vae_set_options(cascade_vae *v, const cascade_vae_options *o) {
    if (!v) return;
    if (o)
        v->opt = *o;
    else
        cascade_vae_options_init(&v->opt);
}

static void plan_drop(vae_plan *p) {
    cascade_plan_free(p->p);
    cascade_graph_free(p->g);
    memset(p, 0, sizeof *p);
}

void cascade_vae_free(cascade_vae *v) {
    if (!v) return;
    plan_drop(&v->plans[VAE_ENCODE]);
    plan_drop(&v->plans[VAE_DECODE]);
    cascade_weights_free(v->w);
    free(v);
}

double cascade_vae_scaling_factor(const cascade_vae *v) { return v->cfg.scaling_factor; }
int64_t cascade_vae_latent_channels(const cascade_vae *v) { return v->cfg.latent_channels; }
int64_t cascade_vae_downscale(const cascade_vae *v) { return (int64_t)1 << (v->cfg.n_blocks - 1); }

void cascade_vae_last_run(const cascade_vae *v, cascade_vae_run_info *out) { *out = v->last; }

/* Builds both halves on the smallest input with the weights, so a missing or misshapen
 * tensor fails the load and every tensor of the checkpoint must be used. */
static cascade_status check_weights(cascade_vae *v, cascade_error *err) {
    int64_t        f = cascade_vae_downscale(v);
    cascade_status st = CASCADE_STATUS_OK;
    for (int d = 0; d < 2 && st == CASCADE_STATUS_OK; d++) {
        cascade_graph *g = NULL;
        st = cascade_graph_new(&g, err);
        if (st == CASCADE_STATUS_OK)
            st = vae_build(&v->cfg, v->w, (vae_dir)d, 1, d == VAE_ENCODE ? f : 1,
                           d == VAE_ENCODE ? f : 1, g, err);
        cascade_graph_free(g);
    }
    if (st == CASCADE_STATUS_OK) st = cascade_weights_check_all_used(v->w, err);
    return st;
}

cascade_status cascade_vae_load(const char *dir, cascade_backend *be, cascade_dtype weight_dtype,
                                cascade_vae **out, cascade_error *err) {
    if (!out) return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "vae_load: no out");
    *out = NULL;
    if (!dir || !be)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "vae_load: NULL argument");
    if (weight_dtype != CASCADE_DTYPE_F32 && weight_dtype != CASCADE_DTYPE_F16 &&
        weight_dtype != CASCADE_DTYPE_BF16)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "vae_load: weight dtype %s (F32, F16 or BF16)",
                                 cascade_dtype_name(weight_dtype));
    cascade_config *cfg = NULL;
    cascade_status  st;
    char           *path = malloc(strlen(dir) + 16);
    cascade_vae    *v = calloc(1, sizeof *v);
    if (!path || !v) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vae_load: out of memory");
        goto fail;
    }
    snprintf(v->dir, sizeof v->dir, "%s", dir);
    sprintf(path, "%s/config.json", dir);
    v->be = be;
    cascade_vae_options_init(&v->opt);
    if ((st = cascade_config_load(path, &cfg, err))) goto fail;
    if ((st = vae_cfg_parse(cfg, &v->cfg, err))) goto fail;
    if ((st = cascade_weights_open_dir(dir, weight_dtype, &v->w, err))) goto fail;
    if ((st = check_weights(v, err))) goto fail;
    cascade_config_free(cfg);
    free(path);
    *out = v;
    return CASCADE_STATUS_OK;
fail:
    cascade_config_free(cfg);
    free(path);
    cascade_vae_free(v);
    return st;
}

/* ---- plans ---- */

cascade_status vae_plan_bytes(cascade_vae *v, vae_dir dir, int64_t b, int64_t h, int64_t w,
                              cascade_plan_estimate *out, cascade_error *err) {
    cascade_graph *g = NULL;
    CASCADE_TRY(cascade_graph_new(&g, err));
    /* with the real weights (already loaded): the backend counts what it would copy */
    cascade_status st = vae_build(&v->cfg, v->w, dir, b, h, w, g, err);
    if (st == CASCADE_STATUS_OK) st = cascade_plan_estimate_graph(v->be, g, out, err);
    cascade_graph_free(g);
    return st;
}

cascade_status vae_plan_get(cascade_vae *v, vae_dir dir, int64_t b, int64_t h, int64_t w,
                            vae_plan **out, cascade_error *err) {
    vae_plan *p = &v->plans[dir], *other = &v->plans[1 - dir];
    *out = NULL;
    if (p->p && p->b == b && p->h == h && p->w == w) {
        *out = p;
        return CASCADE_STATUS_OK;
    }
    plan_drop(p);
    cascade_plan_estimate est;
    CASCADE_TRY(vae_plan_bytes(v, dir, b, h, w, &est, err));
    if (other->p && v->budget && other->bytes + est.total_bytes > v->budget)
        plan_drop(other); /* both would not fit: the idle direction goes */
    cascade_status st = cascade_graph_new(&p->g, err);
    if (st == CASCADE_STATUS_OK) st = vae_build(&v->cfg, v->w, dir, b, h, w, p->g, err);
    if (st == CASCADE_STATUS_OK) st = cascade_plan_new(v->be, p->g, &p->p, err);
    if (st != CASCADE_STATUS_OK) {
        plan_drop(p);
        return st;
    }
    p->b = b;
    p->h = h;
    p->w = w;
    p->bytes = est.total_bytes;
    p->in = cascade_graph_find(p->g, VAE_INPUT);
    p->out = cascade_graph_find(p->g, VAE_OUTPUT);
    *out = p;
    return CASCADE_STATUS_OK;
}

static size_t value_floats(const cascade_graph *g, cascade_value_id id) {
    const cascade_node *n = cascade_graph_node(g, id);
    int64_t             numel = 0;
    cascade_shape_numel(n->ndim, n->shape, &numel);
    return (size_t)numel;
}

cascade_status vae_plan_run(cascade_vae *v, vae_plan *p, const float *in, float *out,
                            cascade_error *err) {
    CASCADE_TRY(cascade_plan_write(p->p, p->in, in, sizeof *in * value_floats(p->g, p->in), err));
    CASCADE_TRY(cascade_plan_run(p->p, v->opt.cancel, err));
    return cascade_plan_read(p->p, p->out, out, sizeof *out * value_floats(p->g, p->out), err);
}

/* ---- entry points ---- */

/* INVALID_ARG unless shape is (B >= 1, channels, h, w) with h, w >= 1, multiples of mult,
 * and every size derived from it fits (f x larger for decode). */
static cascade_status check_shape(const cascade_vae *v, const char *what, const int64_t *shape,
                                  int64_t channels, int64_t mult, cascade_error *err) {
    int64_t f = cascade_vae_downscale(v), lim = ((int64_t)1 << 40) / (f * f);
    if (!shape || shape[0] < 1 || shape[1] != channels || shape[2] < 1 || shape[3] < 1 ||
        shape[0] > (1 << 20) || shape[2] > (1 << 20) || shape[3] > (1 << 20) ||
        shape[0] * shape[1] > lim / shape[2] / shape[3])
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "vae %s: %s: shape [%lld, %lld, %lld, %lld], expected (B, %lld, "
                                 "H, W)",
                                 what, v->dir, shape ? (long long)shape[0] : 0,
                                 shape ? (long long)shape[1] : 0, shape ? (long long)shape[2] : 0,
                                 shape ? (long long)shape[3] : 0, (long long)channels);
    if (shape[2] % mult || shape[3] % mult)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "vae %s: %s: image %lldx%lld is not a multiple of the VAE's "
                                 "scale factor %lld",
                                 what, v->dir, (long long)shape[3], (long long)shape[2],
                                 (long long)mult);
    return CASCADE_STATUS_OK;
}

cascade_status cascade_vae_decode(cascade_vae *v, const float *latents, const int64_t shape[4],
                                  float *image, cascade_error *err) {
    if (!v || !latents || !image)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "vae decode: NULL argument");
    CASCADE_TRY(check_shape(v, "decode", shape, v->cfg.latent_channels, 1, err));
    return vae_run(v, VAE_DECODE, latents, shape, image, err);
}

cascade_status cascade_vae_encode_posterior(cascade_vae *v, const float *image,
                                            const int64_t shape[4], float *mean, float *logvar,
                                            cascade_error *err) {
    if (!v || !image)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "vae encode: NULL argument");
    int64_t f = cascade_vae_downscale(v);
    CASCADE_TRY(check_shape(v, "encode", shape, v->cfg.in_channels, f, err));
    const int64_t b = shape[0], lc = v->cfg.latent_channels;
    const size_t  plane = (size_t)(shape[2] / f * (shape[3] / f));
    float        *moments = malloc(sizeof *moments * (size_t)(b * 2 * lc) * plane);
    if (!moments)
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                 "vae encode: out of memory for the posterior");
    cascade_status st = vae_run(v, VAE_ENCODE, image, shape, moments, err);
    /* DiagonalGaussianDistribution: chunk(2, dim=1), logvar clamped to [-30, 20] */
    for (int64_t i = 0; i < b && st == CASCADE_STATUS_OK; i++) {
        const float *m = moments + (size_t)(i * 2 * lc) * plane, *lv = m + (size_t)lc * plane;
        size_t       o = (size_t)(i * lc) * plane, n = (size_t)lc * plane;
        if (mean) memcpy(mean + o, m, sizeof *m * n);
        if (logvar)
            for (size_t k = 0; k < n; k++)
                logvar[o + k] = fminf(fmaxf(lv[k], -30.0f), 20.0f);
    }
    free(moments);
    return st;
}

cascade_status cascade_vae_encode(cascade_vae *v, const float *image, const int64_t shape[4],
                                  const float *noise, float *latents, cascade_error *err) {
    if (!v || !image || !latents)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "vae encode: NULL argument");
    if (!noise) return cascade_vae_encode_posterior(v, image, shape, latents, NULL, err);
    int64_t f = cascade_vae_downscale(v);
    CASCADE_TRY(check_shape(v, "encode", shape, v->cfg.in_channels, f, err));
    size_t n = (size_t)(shape[0] * v->cfg.latent_channels * (shape[2] / f) * (shape[3] / f));
    float *logvar = malloc(sizeof *logvar * n);
    if (!logvar)
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vae encode: out of memory");
    cascade_status st = cascade_vae_encode_posterior(v, image, shape, latents, logvar, err);
    /* sample(): mean + std * noise, std = exp(0.5 * logvar), in fp32 as torch does */
    for (size_t k = 0; k < n && st == CASCADE_STATUS_OK; k++)
        latents[k] = latents[k] + expf(0.5f * logvar[k]) * noise[k];
    free(logvar);
    return st;
}
