/* Whole-image upscaling: tiles (tiler.c) through one plan of the network (esrgan.c), blended
 * into a band of output rows that is flushed as 8-bit pixels once no later tile touches it,
 * so memory is bounded by the tile size and the output width, not by the canvas. */
#include "cascade/upscaler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cascade/tiler.h"

#define DEFAULT_FEATHER     8
#define DEFAULT_MAX_CONTEXT 32
#define DEFAULT_BUDGET      (1ull << 30)
#define MIN_TILE            32
#define MAX_TILE            4096

void cascade_upscale_options_init(cascade_upscale_options *opt) {
    memset(opt, 0, sizeof *opt);
    opt->context = -1;
    opt->max_context = DEFAULT_MAX_CONTEXT;
    opt->feather = -1;
}

/* UpscalerJS postprocessing: clip to 0..range, scale to 0..255, round to nearest. */
static inline uint8_t to_u8(float y, float range, float to255) {
    float v = fminf(fmaxf(y, 0.0f), range) * to255;
    return (uint8_t)fminf(floorf(v + 0.5f), 255.0f);
}

/* Bytes per input pixel of one tile: the network's live activations (a liveness walk over
 * its layers, with a quarter more for a backend's scratch and concatenation copies) plus the
 * input and output buffers. Not measured from a backend plan: backends report only the
 * largest plan they ever made, which would make the estimate depend on earlier calls. */
static double bytes_per_pixel(const cascade_upscaler *u) {
    const int64_t C = cascade_upscaler_channels(u), s = cascade_upscaler_scale(u);
    return 1.25 * cascade_upscaler_activation_bytes_per_pixel(u) +
           (double)(C + C * s * s) * sizeof(float);
}

/* Bilinear (half-pixel centres, clamped at the border) enlargement of channel `ch`: cheap and
 * smooth, which is what an alpha mask wants. */
static void upscale_alpha(const uint8_t *src, int64_t w, int64_t h, size_t src_stride,
                          int32_t channels, int32_t ch, int64_t s, uint8_t *dst,
                          size_t dst_stride) {
    for (int64_t Y = 0; Y < h * s; Y++) {
        double  fy = (Y + 0.5) / (double)s - 0.5;
        int64_t y0 = (int64_t)floor(fy);
        double  ay = fy - (double)y0;
        int64_t ya = y0 < 0 ? 0 : y0 >= h ? h - 1 : y0;
        int64_t yb = y0 + 1 < 0 ? 0 : y0 + 1 >= h ? h - 1 : y0 + 1;
        for (int64_t X = 0; X < w * s; X++) {
            double  fx = (X + 0.5) / (double)s - 0.5;
            int64_t x0 = (int64_t)floor(fx);
            double  ax = fx - (double)x0;
            int64_t xa = x0 < 0 ? 0 : x0 >= w ? w - 1 : x0;
            int64_t xb = x0 + 1 < 0 ? 0 : x0 + 1 >= w ? w - 1 : x0 + 1;
            double  p00 = src[(size_t)ya * src_stride + (size_t)(xa * channels + ch)];
            double  p01 = src[(size_t)ya * src_stride + (size_t)(xb * channels + ch)];
            double  p10 = src[(size_t)yb * src_stride + (size_t)(xa * channels + ch)];
            double  p11 = src[(size_t)yb * src_stride + (size_t)(xb * channels + ch)];
            double  v = (1 - ay) * ((1 - ax) * p00 + ax * p01) + ay * ((1 - ax) * p10 + ax * p11);
            dst[(size_t)Y * dst_stride + (size_t)(X * channels + ch)] = (uint8_t)floor(v + 0.5);
        }
    }
}

/* Writes accumulator rows [y0, y1) (band starting at band_y0) as bytes. */
static void flush_rows(const float *band, int64_t band_y0, int64_t y0, int64_t y1, int64_t out_w,
                       int32_t channels, float range, uint8_t *dst, size_t dst_stride) {
    const float to255 = 255.0f / range;
    for (int64_t Y = y0; Y < y1; Y++) {
        const float *row = band + (Y - band_y0) * out_w * 3;
        uint8_t     *d = dst + (size_t)Y * dst_stride;
        for (int64_t X = 0; X < out_w; X++)
            for (int c = 0; c < 3; c++)
                d[X * channels + c] = to_u8(row[X * 3 + c], range, to255);
    }
}

/* A copy of the caller's options, or the defaults when there are none. */
static cascade_upscale_options options_or_defaults(const cascade_upscale_options *opt) {
    cascade_upscale_options o;
    if (opt)
        o = *opt;
    else
        cascade_upscale_options_init(&o);
    return o;
}

cascade_status cascade_upscale_plan_tiles(const cascade_upscaler *u, cascade_backend *be,
                                          int64_t width, int64_t height,
                                          const cascade_upscale_options *opt_in,
                                          cascade_tiler_params *out, uint64_t *peak_bytes,
                                          cascade_error *err) {
    cascade_upscale_options opt = options_or_defaults(opt_in);
    if (!u || !be || !out)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "upscale: missing argument");
    const int32_t s = cascade_upscaler_scale(u), rf = cascade_upscaler_receptive_field(u);
    const int32_t max_ctx = opt.max_context > 0 ? opt.max_context : DEFAULT_MAX_CONTEXT;
    *out = (cascade_tiler_params){.width = width,
                                  .height = height,
                                  .scale = s,
                                  .tile = opt.tile,
                                  .context = opt.context >= 0 ? opt.context
                                             : rf < max_ctx   ? rf
                                                              : max_ctx,
                                  .feather = opt.feather >= 0 ? opt.feather : DEFAULT_FEATHER};
    uint64_t budget = opt.memory_budget;
    if (!budget) {
        cascade_memory_stats ms = {0};
        cascade_backend_memory_stats(be, &ms);
        budget = ms.device_budget_bytes ? ms.device_budget_bytes / 2 : DEFAULT_BUDGET;
    }
    const double bpp = bytes_per_pixel(u);
    if (out->tile <= 0)
        out->tile = cascade_tiler_tile_for_budget(budget, bpp, out->context, out->feather, MIN_TILE,
                                                  MAX_TILE);
    /* the band of blended rows grows with the canvas width: shrink the tile until both fit */
    for (;;) {
        cascade_tiler *t = NULL;
        CASCADE_TRY(cascade_tiler_new(out, &t, err));
        uint64_t peak = cascade_tiler_peak_bytes(t, bpp, 3);
        cascade_tiler_free(t);
        if (peak_bytes) *peak_bytes = peak;
        if (opt.tile > 0 || peak <= budget || out->tile <= MIN_TILE) break;
        out->tile = out->tile * 7 / 8 > MIN_TILE ? out->tile * 7 / 8 : MIN_TILE;
    }
    return CASCADE_STATUS_OK;
}

cascade_status cascade_upscale_image(const cascade_upscaler *u, cascade_backend *be,
                                     const uint8_t *src, int64_t width, int64_t height,
                                     int32_t channels, size_t src_stride, uint8_t *dst,
                                     size_t dst_stride, const cascade_upscale_options *opt_in,
                                     cascade_error *err) {
    cascade_upscale_options opt = options_or_defaults(opt_in);
    if (!u || !be || !src || !dst)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "upscale: missing argument");
    const int64_t s = cascade_upscaler_scale(u);
    if (channels != 3 && channels != 4)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "upscale: %d channels (RGB or RGBA only)", channels);
    if (width < 1 || height < 1 || width > (1 << 24) / s || height > (1 << 24) / s ||
        src_stride < (size_t)(width * channels) || dst_stride < (size_t)(width * s * channels))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "upscale: image %lldx%lld, strides %zu/%zu", (long long)width,
                                 (long long)height, src_stride, dst_stride);
    const float          range = (float)cascade_upscaler_value_range(u);
    const float          in_scale = (float)(cascade_upscaler_value_range(u) / 255.0);
    cascade_tiler_params tp;
    CASCADE_TRY(cascade_upscale_plan_tiles(u, be, width, height, &opt, &tp, NULL, err));

    cascade_tiler *t = NULL;
    cascade_graph *g = NULL;
    cascade_plan  *p = NULL;
    float         *in = NULL, *out = NULL, *band = NULL;
    CASCADE_TRY(cascade_tiler_new(&tp, &t, err));
    const int64_t ww = cascade_tiler_window_width(t), wh = cascade_tiler_window_height(t);
    const int64_t out_w = width * s, out_h = height * s;
    const int32_t n_tiles = cascade_tiler_count(t), cols = cascade_tiler_cols(t);
    int64_t       cap = 0; /* tallest tile row's output, in rows */
    for (int32_t r = 0; r < cascade_tiler_rows(t); r++) {
        cascade_tile tl;
        cascade_tiler_get(t, r * cols, &tl);
        if (tl.y.out1 - tl.y.out0 > cap) cap = tl.y.out1 - tl.y.out0;
    }
    cascade_status st = cascade_upscaler_build_graph(u, wh, ww, &g, err);
    if (st == CASCADE_STATUS_OK) st = cascade_plan_new(be, g, &p, err);
    if (st == CASCADE_STATUS_OK) {
        in = malloc(sizeof(float) * (size_t)(3 * ww * wh));
        out = malloc(sizeof(float) * (size_t)(3 * ww * wh * s * s));
        band = calloc((size_t)(cap * out_w * 3), sizeof(float));
        if (!in || !out || !band)
            st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                   "upscale: out of memory for %lldx%lld tiles", (long long)ww,
                                   (long long)wh);
    }
    int64_t band_y0 = 0;
    for (int32_t i = 0; i < n_tiles && st == CASCADE_STATUS_OK; i++) {
        if (cascade_cancel_is_raised(opt.cancel)) {
            st = cascade_error_set(err, CASCADE_STATUS_CANCELLED,
                                   "upscale: cancelled after %d of "
                                   "%d tiles",
                                   i, n_tiles);
            break;
        }
        cascade_tile tl;
        cascade_tiler_get(t, i, &tl);
        if (tl.col == 0 && tl.y.out0 > band_y0) {
            /* rows above this tile row are final: write them out and slide the band */
            flush_rows(band, band_y0, band_y0, tl.y.out0, out_w, channels, range, dst, dst_stride);
            int64_t shift = tl.y.out0 - band_y0;
            memmove(band, band + shift * out_w * 3,
                    sizeof(float) * (size_t)((cap - shift) * out_w * 3));
            memset(band + (cap - shift) * out_w * 3, 0,
                   sizeof(float) * (size_t)(shift * out_w * 3));
            band_y0 = tl.y.out0;
        }
        /* window -> (1, 3, wh, ww) scaled to the network's value range */
        for (int64_t y = 0; y < wh; y++) {
            const uint8_t *row = src + (size_t)(tl.y.in0 + y) * src_stride;
            for (int64_t x = 0; x < ww; x++)
                for (int c = 0; c < 3; c++)
                    in[(c * wh + y) * ww + x] =
                        (float)row[(tl.x.in0 + x) * channels + c] * in_scale;
        }
        st = cascade_plan_write_named(p, "input", in, sizeof(float) * (size_t)(3 * ww * wh), err);
        if (st == CASCADE_STATUS_OK) st = cascade_plan_run(p, opt.cancel, err);
        if (st == CASCADE_STATUS_OK)
            st = cascade_plan_read_named(p, "output", out,
                                         sizeof(float) * (size_t)(3 * ww * wh * s * s), err);
        if (st != CASCADE_STATUS_OK) break;
        cascade_tiler_accumulate(t, &tl, out, 3, band, band_y0, cap);
        if (opt.progress) opt.progress(i + 1, n_tiles, opt.user_data);
    }
    if (st == CASCADE_STATUS_OK) {
        flush_rows(band, band_y0, band_y0, out_h, out_w, channels, range, dst, dst_stride);
        if (channels == 4) upscale_alpha(src, width, height, src_stride, 4, 3, s, dst, dst_stride);
    }
    free(band);
    free(out);
    free(in);
    cascade_plan_free(p);
    cascade_graph_free(g);
    cascade_tiler_free(t);
    return st;
}
