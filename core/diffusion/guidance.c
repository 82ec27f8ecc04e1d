/* Classifier-free guidance as IF applies it, the bilinear upscale of stage II, and the U-Net
 * behind the denoiser seam (graphs planned on a backend, a plan kept per recent shape). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cascade/graph.h"
#include "cascade/model-dir.h"
#include "cascade/unet.h"
#include "cascade/weights.h"
#include "pipeline-internal.h"
#include "runtime/plan-cache.h"

bool pipe_numel(int64_t a, int64_t b, int64_t c, int64_t d, size_t *out) {
    int64_t shape[4] = {a, b, c, d}, n;
    if (a < 1 || b < 1 || c < 1 || d < 1 || !cascade_shape_numel(4, shape, &n) ||
        (uint64_t)n > SIZE_MAX / sizeof(float) / 4)
        return false;
    *out = (size_t)n;
    return true;
}

void cascade_guidance_combine(const float *model_out, int64_t batch, int64_t c_out, int64_t c_img,
                              int64_t hw, double guidance, float *out) {
    size_t per = (size_t)(c_out * hw), img = (size_t)(c_img * hw);
    float  g = (float)guidance;
    for (int64_t b = 0; b < batch; b++) {
        const float *u = model_out + (size_t)b * per;           /* uncond half first */
        const float *c = model_out + (size_t)(batch + b) * per; /* then the text half */
        float       *o = out + (size_t)b * per;
        for (size_t i = 0; i < img; i++)
            o[i] = u[i] + g * (c[i] - u[i]);
        /* the learned variance comes from the conditional half */
        memcpy(o + img, c + img, (per - img) * sizeof *o);
    }
}

void cascade_resize_bilinear_ac(const float *x, int64_t n_planes, int64_t in_h, int64_t in_w,
                                int64_t out_h, int64_t out_w, float *out) {
    /* align_corners: source = dst * (in - 1) / (out - 1), float32 as torch's CPU kernel */
    float sh = out_h > 1 ? (float)(in_h - 1) / (float)(out_h - 1) : 0.0f;
    float sw = out_w > 1 ? (float)(in_w - 1) / (float)(out_w - 1) : 0.0f;
    for (int64_t oy = 0; oy < out_h; oy++) {
        float   ry = sh * (float)oy;
        int64_t y0 = (int64_t)ry;
        if (y0 > in_h - 1) y0 = in_h - 1;
        int64_t y1 = y0 + (y0 < in_h - 1);
        float   ly = ry - (float)y0;
        ly = ly < 0 ? 0 : (ly > 1 ? 1 : ly);
        float ly0 = 1.0f - ly;
        for (int64_t ox = 0; ox < out_w; ox++) {
            float   rx = sw * (float)ox;
            int64_t x0 = (int64_t)rx;
            if (x0 > in_w - 1) x0 = in_w - 1;
            int64_t x1 = x0 + (x0 < in_w - 1);
            float   lx = rx - (float)x0;
            lx = lx < 0 ? 0 : (lx > 1 ? 1 : lx);
            float lx0 = 1.0f - lx;
            for (int64_t p = 0; p < n_planes; p++) {
                const float *src = x + (size_t)p * (size_t)(in_h * in_w);
                float        top = src[y0 * in_w + x0] * lx0 + src[y0 * in_w + x1] * lx;
                float        bot = src[y1 * in_w + x0] * lx0 + src[y1 * in_w + x1] * lx;
                out[(size_t)p * (size_t)(out_h * out_w) + (size_t)(oy * out_w + ox)] =
                    top * ly0 + bot * ly;
            }
        }
    }
}

/* ---- the U-Net denoiser ---- */

struct cascade_unet_denoiser {
    cascade_denoiser  seam;
    cascade_unet     *unet;
    cascade_unet_info info;
    cascade_weights  *weights;
    cascade_backend  *be;
    /* plans for the two most recent shapes (batch, height, width, seq): the dialog's
     * candidates (stage I, a batch of several) and a plain generate (a batch of one)
     * alternate, and each would otherwise replan the other away. A slot's data is the text
     * embeddings last written to it: the same ones (every step of a run) are not sent to the
     * device again. */
    cascade_plan_cache plans;
    float             *scratch; /* timesteps / labels (batch floats) */
    int64_t            scratch_n;
};

/* The U-Net's graph for one shape, key = (batch, height, width, seq). */
static cascade_status unet_graph(void *user, const int64_t key[4], cascade_graph **g,
                                 cascade_error *err) {
    cascade_unet_denoiser     *d = user;
    cascade_unet_build_options o;
    cascade_unet_build_options_init(&o, d->unet);
    o.batch = key[0];
    o.height = key[1];
    o.width = key[2];
    o.seq_len = key[3];
    cascade_status st = cascade_graph_new(g, err);
    if (!st) st = cascade_unet_build(d->unet, d->weights, *g, &o, err);
    if (!st) st = cascade_weights_check_all_used(d->weights, err);
    return st;
}

cascade_status cascade_unet_denoiser_estimate(cascade_unet_denoiser *d, int64_t batch, int64_t h,
                                              int64_t w, int64_t seq, uint64_t *bytes,
                                              cascade_error *err) {
    const int64_t key[4] = {batch, h, w, seq};
    *bytes = 0;
    if (cascade_plan_cache_find(&d->plans, d->be, d, key)) return CASCADE_STATUS_OK;
    cascade_graph        *g = NULL;
    cascade_plan_estimate est;
    cascade_status        st = unet_graph(d, key, &g, err);
    if (!st) st = cascade_plan_estimate_graph(d->be, g, &est, err);
    if (!st) *bytes = est.total_bytes;
    cascade_graph_free(g);
    return st;
}

/* The plan for the shape (kept or new) and room for batch timesteps. */
static cascade_status unet_plan_for(cascade_unet_denoiser *d, const int64_t key[4],
                                    cascade_plan_slot **out, cascade_error *err) {
    CASCADE_TRY(cascade_plan_cache_get(&d->plans, d->be, d, key, unet_graph, d, out, err));
    if (d->scratch_n < key[0]) {
        float *s = realloc(d->scratch, (size_t)key[0] * sizeof(float));
        if (!s) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "U-Net timesteps");
        d->scratch = s;
        d->scratch_n = key[0];
    }
    return CASCADE_STATUS_OK;
}

static cascade_status unet_forward(void *self, const float *sample, const int64_t shape[4],
                                   double timestep, const float *context, int64_t seq, int64_t dim,
                                   const float *class_labels, const cascade_cancel *cancel,
                                   float *out, cascade_error *err) {
    cascade_unet_denoiser *d = self;
    size_t                 n_in, n_out, n_ctx;
    if (shape[1] != d->info.in_channels ||
        !pipe_numel(shape[0], shape[1], shape[2], shape[3], &n_in))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "U-Net: sample has %lld channels, the model takes %lld",
                                 (long long)shape[1], (long long)d->info.in_channels);
    if (dim != d->info.encoder_dim || !pipe_numel(shape[0], seq, dim, 1, &n_ctx))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "U-Net: text embeddings of width %lld, the model takes %lld",
                                 (long long)dim, (long long)d->info.encoder_dim);
    if (d->info.needs_class_labels && !class_labels)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "U-Net: the model needs class labels (the noise level)");
    if (d->info.size_multiple > 1 &&
        (shape[2] % d->info.size_multiple || shape[3] % d->info.size_multiple))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "U-Net: %lldx%lld is not a multiple of %d", (long long)shape[2],
                                 (long long)shape[3], d->info.size_multiple);
    pipe_numel(shape[0], d->info.out_channels, shape[2], shape[3], &n_out);
    const int64_t      key[4] = {shape[0], shape[2], shape[3], seq};
    cascade_plan_slot *u = NULL;
    CASCADE_TRY(unet_plan_for(d, key, &u, err));
    cascade_plan *plan = u->plan;
    for (int64_t b = 0; b < shape[0]; b++)
        d->scratch[b] = (float)timestep;
    CASCADE_TRY(
        cascade_plan_write_named(plan, CASCADE_UNET_SAMPLE, sample, n_in * sizeof(float), err));
    CASCADE_TRY(cascade_plan_write_named(plan, CASCADE_UNET_TIMESTEP, d->scratch,
                                         (size_t)shape[0] * sizeof(float), err));
    if (!u->data || memcmp(u->data, context, n_ctx * sizeof(float))) {
        free(u->data);
        u->data = NULL;
        CASCADE_TRY(cascade_plan_write_named(plan, CASCADE_UNET_ENCODER_HIDDEN_STATES, context,
                                             n_ctx * sizeof(float), err));
        /* kept only once written: a failed write leaves no stale copy */
        if (!(u->data = malloc(n_ctx * sizeof(float))))
            return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "U-Net text embeddings");
        memcpy(u->data, context, n_ctx * sizeof(float));
    }
    if (d->info.needs_class_labels) {
        if (d->info.class_labels_dim > 0)
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "U-Net: vector class labels are not used by the pipelines");
        CASCADE_TRY(cascade_plan_write_named(plan, CASCADE_UNET_CLASS_LABELS, class_labels,
                                             (size_t)shape[0] * sizeof(float), err));
    }
    CASCADE_TRY(cascade_plan_run(plan, cancel, err));
    return cascade_plan_read_named(plan, CASCADE_UNET_OUT_SAMPLE, out, n_out * sizeof(float),
                                   err);
}

cascade_status cascade_unet_denoiser_new(const char *unet_dir, cascade_backend *be,
                                         cascade_dtype weight_dtype, cascade_unet_denoiser **out,
                                         cascade_error *err) {
    *out = NULL;
    cascade_unet_denoiser *d = calloc(1, sizeof *d);
    if (!d) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "U-Net denoiser");
    d->plans.n_slots = 2; /* a U-Net plan holds all its activations: two shapes at most */
    char          *cfg = cascade_component_config_path(unet_dir, err);
    cascade_status st = cfg ? CASCADE_STATUS_OK : (err ? err->status : CASCADE_STATUS_IO);
    if (!st) st = cascade_unet_new_from_file(cfg, &d->unet, err);
    free(cfg);
    if (!st) st = cascade_weights_open_dir(unet_dir, weight_dtype, &d->weights, err);
    if (st) {
        cascade_unet_denoiser_free(d);
        return st;
    }
    cascade_unet_get_info(d->unet, &d->info);
    d->be = be;
    d->seam.in_channels = d->info.in_channels;
    d->seam.out_channels = d->info.out_channels;
    d->seam.class_labels = d->info.needs_class_labels;
    d->seam.forward = unet_forward;
    d->seam.self = d;
    *out = d;
    return CASCADE_STATUS_OK;
}

void cascade_unet_denoiser_free(cascade_unet_denoiser *d) {
    if (!d) return;
    cascade_plan_cache_clear(&d->plans);
    free(d->scratch);
    cascade_weights_free(d->weights);
    cascade_unet_free(d->unet);
    free(d);
}

const cascade_denoiser *cascade_unet_denoiser_get(const cascade_unet_denoiser *d) {
    return &d->seam;
}

int64_t cascade_unet_denoiser_sample_size(const cascade_unet_denoiser *d) {
    return d->info.sample_size[0];
}

int64_t cascade_unet_denoiser_size_multiple(const cascade_unet_denoiser *d) {
    return d->info.size_multiple;
}
