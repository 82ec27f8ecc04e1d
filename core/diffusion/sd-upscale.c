/* The x4 diffusion upscaler over images of any size (cascade_sd_pipeline_upscale): the low-res
 * image is cut by the shared tiler into overlapping windows of one size, each window is
 * edge-replicated up to the U-Net's size multiple and upscaled by one SD run (the prompt
 * encoded once for all), and the outputs are blended linearly across the overlaps. */
#include <stdlib.h>
#include <string.h>

#include "cascade/tiler.h"
#include "pipeline-internal.h"
#include "sd-internal.h"

enum { SD_TILE_DEFAULT = 128, SD_TILE_CONTEXT = 8, SD_TILE_FEATHER = 16 };

/* Progress over all tiles: each tile's steps count once. */
typedef struct tile_progress {
    cascade_progress_fn fn;
    void               *user;
    int                 tile, n_tiles;
} tile_progress;

static void on_tile_progress(void *ud, int stage, int step, int total, const float *x0,
                             const int64_t shape[4]) {
    (void)stage;
    tile_progress *tp = ud;
    tp->fn(tp->user, 3, tp->tile * total + step, tp->n_tiles * total, x0, shape);
}

/* The window at (x0, y0) of size (wh, ww) from img (3, H, W), edge-replicated to (ph, pw). */
static void cut_window(const float *img, int64_t H, int64_t W, int64_t y0, int64_t x0, int64_t wh,
                       int64_t ww, int64_t ph, int64_t pw, float *out) {
    for (int64_t c = 0; c < 3; c++)
        for (int64_t y = 0; y < ph; y++)
            for (int64_t x = 0; x < pw; x++) {
                int64_t sy = y0 + (y < wh ? y : wh - 1), sx = x0 + (x < ww ? x : ww - 1);
                out[(c * ph + y) * pw + x] = img[(c * H + sy) * W + sx];
            }
}

cascade_status cascade_sd_pipeline_upscale(cascade_sd_pipeline *p, const cascade_sd_params *g,
                                           const float *image, int64_t height, int64_t width,
                                           float **out, int64_t shape[4], cascade_error *err) {
    *out = NULL;
    if (!image || height < 1 || width < 1 || height > 4096 || width > 4096)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "SD upscale: image %lldx%lld (1..4096 a side)", (long long)width,
                                 (long long)height);
    const int64_t f = p->factor, m = cascade_unet_denoiser_size_multiple(p->unet);
    cascade_tiler_params tp = {.width = width,
                               .height = height,
                               .scale = (int32_t)f,
                               .tile = (int32_t)(g->tile > 0 ? g->tile : SD_TILE_DEFAULT),
                               .context = SD_TILE_CONTEXT,
                               .feather = SD_TILE_FEATHER};
    cascade_tiler  *t = NULL;
    cascade_sd_args a;
    float          *cond = NULL, *uncond = NULL, *win = NULL, *res = NULL, *crop = NULL,
          *acc = NULL, *img = NULL;
    cascade_status st = cascade_tiler_new(&tp, &t, err);
    if (!st) st = sd_prepare(p, g, CASCADE_SD_TASK_UPSCALE, &a, &cond, &uncond, err);
    if (st) goto done;
    const int64_t ww = cascade_tiler_window_width(t), wh = cascade_tiler_window_height(t);
    const int64_t pw = (ww + m - 1) / m * m, ph = (wh + m - 1) / m * m;
    const int64_t B = g->batch, OH = height * f, OW = width * f;
    size_t        n_acc, n_res;
    if (!pipe_numel(B, OH, OW, 3, &n_acc) || !pipe_numel(B, 3, ph * f, pw * f, &n_res)) {
        st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "SD upscale: size overflows");
        goto done;
    }
    win = malloc((size_t)(3 * ph * pw) * sizeof *win);
    res = malloc(n_res * sizeof *res);
    crop = malloc((size_t)(3 * wh * f * ww * f) * sizeof *crop);
    acc = calloc(n_acc, sizeof *acc);
    img = malloc(n_acc * sizeof *img);
    if (!win || !res || !crop || !acc || !img) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                               "SD upscale: %lldx%lld output", (long long)OW, (long long)OH);
        goto done;
    }
    if ((st = sd_check_size(p, ph * f, pw * f, err))) goto done;
    tile_progress prog = {g->progress, g->user_data, 0, cascade_tiler_count(t)};
    if (g->progress) {
        a.progress = on_tile_progress;
        a.user_data = &prog;
    }
    a.height = ph * f;
    a.width = pw * f;
    a.image = win;
    a.image_batch = 1;
    for (int32_t i = 0; i < cascade_tiler_count(t); i++) {
        cascade_tile tl;
        cascade_tiler_get(t, i, &tl);
        prog.tile = i;
        cut_window(image, height, width, tl.y.in0, tl.x.in0, wh, ww, ph, pw, win);
        /* each tile draws its own noise from the seed, offset so tiles differ */
        a.seed = g->seed + (uint64_t)i * 0x9E3779B97F4A7C15ull;
        if ((st = cascade_sd_run(&a, NULL, res, err))) goto done;
        for (int64_t b = 0; b < B; b++) {
            const float *r = res + (size_t)b * (size_t)(3 * ph * f * pw * f);
            for (int64_t c = 0; c < 3; c++)
                for (int64_t y = 0; y < wh * f; y++)
                    memcpy(crop + (c * wh * f + y) * ww * f, r + (c * ph * f + y) * pw * f,
                           (size_t)(ww * f) * sizeof *crop);
            cascade_tiler_accumulate(t, &tl, crop, 3, acc + (size_t)b * (size_t)(OH * OW * 3), 0,
                                     OH);
        }
    }
    for (int64_t b = 0; b < B; b++) /* interleaved -> planar */
        for (int64_t i = 0; i < OH * OW; i++)
            for (int64_t c = 0; c < 3; c++)
                img[((size_t)b * 3 + (size_t)c) * (size_t)(OH * OW) + (size_t)i] =
                    acc[((size_t)b * (size_t)(OH * OW) + (size_t)i) * 3 + (size_t)c];
    shape[0] = B, shape[1] = 3, shape[2] = OH, shape[3] = OW;
    *out = img;
    img = NULL;
done:
    free(cond);
    free(uncond);
    free(win);
    free(res);
    free(crop);
    free(acc);
    free(img);
    cascade_tiler_free(t);
    return st;
}
