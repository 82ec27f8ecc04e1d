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

/* The input row bilinear interpolation reads above (lo) and below (hi) output row Y, clamped
 * to the image: half-pixel centres, as upscale_alpha samples. */
static int64_t alpha_row_lo(int64_t Y, int64_t s, int64_t h) {
    int64_t y0 = (int64_t)floor((Y + 0.5) / (double)s - 0.5);
    return y0 < 0 ? 0 : y0 >= h ? h - 1 : y0;
}
static int64_t alpha_row_hi(int64_t Y, int64_t s, int64_t h) {
    int64_t y1 = (int64_t)floor((Y + 0.5) / (double)s - 0.5) + 1;
    return y1 < 0 ? 0 : y1 >= h ? h - 1 : y1;
}

/* Bilinear (half-pixel centres, clamped at the border) enlargement of the alpha channel for
 * output rows [Y0, Y1): cheap and smooth, which is what an alpha mask wants. in holds input
 * rows from in_y0 on (stride in_stride); out row Y goes to dst + (Y - Y0) * dst_stride. */
static void upscale_alpha(const uint8_t *in, int64_t in_y0, size_t in_stride, int64_t w,
                          int64_t h, int64_t s, int64_t Y0, int64_t Y1, uint8_t *dst,
                          size_t dst_stride) {
    for (int64_t Y = Y0; Y < Y1; Y++) {
        double  fy = (Y + 0.5) / (double)s - 0.5;
        double  ay = fy - floor(fy);
        int64_t ya = alpha_row_lo(Y, s, h), yb = alpha_row_hi(Y, s, h);
        const uint8_t *ra = in + (size_t)(ya - in_y0) * in_stride;
        const uint8_t *rb = in + (size_t)(yb - in_y0) * in_stride;
        for (int64_t X = 0; X < w * s; X++) {
            double  fx = (X + 0.5) / (double)s - 0.5;
            int64_t x0 = (int64_t)floor(fx);
            double  ax = fx - (double)x0;
            int64_t xa = x0 < 0 ? 0 : x0 >= w ? w - 1 : x0;
            int64_t xb = x0 + 1 < 0 ? 0 : x0 + 1 >= w ? w - 1 : x0 + 1;
            double  p00 = ra[xa * 4 + 3], p01 = ra[xb * 4 + 3];
            double  p10 = rb[xa * 4 + 3], p11 = rb[xb * 4 + 3];
            double  v = (1 - ay) * ((1 - ax) * p00 + ax * p01) + ay * ((1 - ax) * p10 + ax * p11);
            dst[(size_t)(Y - Y0) * dst_stride + (size_t)(X * 4 + 3)] = (uint8_t)floor(v + 0.5);
        }
    }
}

/* Converts accumulator rows [y0, y1) (band starting at band_y0) to bytes at dst (row y0 first). */
static void flush_rows(const float *band, int64_t band_y0, int64_t y0, int64_t y1, int64_t out_w,
                       int32_t channels, float range, uint8_t *dst, size_t dst_stride) {
    const float to255 = 255.0f / range;
    for (int64_t Y = y0; Y < y1; Y++) {
        const float *row = band + (Y - band_y0) * out_w * 3;
        uint8_t     *d = dst + (size_t)(Y - y0) * dst_stride;
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
        /* half of what the device (or, capped at 1 GiB, the host) can still hold */
        cascade_memory_stats ms = {0};
        cascade_backend_memory_stats(be, &ms);
        uint64_t half = cascade_backend_available_bytes(be) / 2;
        budget = ms.device_budget_bytes ? half
                 : half && half < DEFAULT_BUDGET ? half
                                                 : DEFAULT_BUDGET;
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

/* The input rows the tiles still need, read in order: rows [lo, hi) of the image, cap rows
 * of room. */
typedef struct in_band {
    uint8_t *rows;
    size_t   stride;
    int64_t  lo, hi, cap, height;
} in_band;

/* Reads on until row `end` (clamped to the image) is in the band. */
static cascade_status in_band_fill(in_band *b, int64_t end, cascade_upscale_read_fn read,
                                   void *io, cascade_error *err) {
    if (end > b->height) end = b->height;
    if (end <= b->hi) return CASCADE_STATUS_OK;
    if (end - b->lo > b->cap)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "upscale: input rows %lld..%lld exceed the band of %lld rows",
                                 (long long)b->lo, (long long)end, (long long)b->cap);
    CASCADE_TRY(read(io, b->rows + (size_t)(b->hi - b->lo) * b->stride, b->stride, end - b->hi, err));
    b->hi = end;
    return CASCADE_STATUS_OK;
}

/* Forgets rows above `lo`. */
static void in_band_drop(in_band *b, int64_t lo) {
    if (lo > b->hi) lo = b->hi;
    if (lo <= b->lo) return;
    memmove(b->rows, b->rows + (size_t)(lo - b->lo) * b->stride,
            (size_t)(b->hi - lo) * b->stride);
    b->lo = lo;
}

/* The blended output rows [y0, y0 + cap) as floats (acc), and room to convert them to bytes. */
typedef struct out_band {
    float   *acc;
    uint8_t *bytes;
    size_t   stride;
    int64_t  y0, cap, width;
    int32_t  channels;
    int64_t  scale;
    float    range;
} out_band;

/* Output rows [b->y0, y1) are final (no later tile touches them): converted, alpha added from
 * the input band, written, and the band slides down. */
static cascade_status out_band_flush(out_band *b, int64_t y1, in_band *ib,
                                     cascade_upscale_read_fn read, cascade_upscale_write_fn write,
                                     void *io, cascade_error *err) {
    if (b->channels == 4)
        CASCADE_TRY(in_band_fill(ib, alpha_row_hi(y1 - 1, b->scale, ib->height) + 1, read, io, err));
    flush_rows(b->acc, b->y0, b->y0, y1, b->width, b->channels, b->range, b->bytes, b->stride);
    if (b->channels == 4)
        upscale_alpha(ib->rows, ib->lo, ib->stride, b->width / b->scale,
                      ib->height, b->scale, b->y0, y1, b->bytes, b->stride);
    CASCADE_TRY(write(io, b->bytes, b->stride, y1 - b->y0, err));
    const int64_t shift = y1 - b->y0, row = b->width * 3;
    if (shift < b->cap) {
        memmove(b->acc, b->acc + shift * row, sizeof(float) * (size_t)((b->cap - shift) * row));
        memset(b->acc + (b->cap - shift) * row, 0, sizeof(float) * (size_t)(shift * row));
    } else {
        memset(b->acc, 0, sizeof(float) * (size_t)(b->cap * row));
    }
    b->y0 = y1;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_upscale_stream(const cascade_upscaler *u, cascade_backend *be,
                                      int64_t width, int64_t height, int32_t channels,
                                      cascade_upscale_read_fn read, cascade_upscale_write_fn write,
                                      void *io, const cascade_upscale_options *opt_in,
                                      cascade_error *err) {
    cascade_upscale_options opt = options_or_defaults(opt_in);
    if (!u || !be || !read || !write)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "upscale: missing argument");
    const int64_t s = cascade_upscaler_scale(u);
    if (channels != 3 && channels != 4)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "upscale: %d channels (RGB or RGBA only)", channels);
    if (width < 1 || height < 1 || width > (1 << 24) / s || height > (1 << 24) / s)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "upscale: image %lldx%lld",
                                 (long long)width, (long long)height);
    const float          range = (float)cascade_upscaler_value_range(u);
    const float          in_scale = (float)(cascade_upscaler_value_range(u) / 255.0);
    cascade_tiler_params tp;
    CASCADE_TRY(cascade_upscale_plan_tiles(u, be, width, height, &opt, &tp, NULL, err));

    cascade_tiler *t = NULL;
    cascade_graph *g = NULL;
    cascade_plan  *p = NULL;
    float         *in = NULL, *out = NULL, *band = NULL;
    uint8_t       *obytes = NULL;
    in_band        ib = {.stride = (size_t)(width * channels), .height = height};
    CASCADE_TRY(cascade_tiler_new(&tp, &t, err));
    const int64_t ww = cascade_tiler_window_width(t), wh = cascade_tiler_window_height(t);
    const int64_t out_w = width * s, out_h = height * s;
    const size_t  ostride = (size_t)(out_w * channels);
    const int32_t n_tiles = cascade_tiler_count(t), cols = cascade_tiler_cols(t);
    int64_t       cap = 0; /* tallest tile row's output, in rows */
    for (int32_t r = 0; r < cascade_tiler_rows(t); r++) {
        cascade_tile tl;
        cascade_tiler_get(t, r * cols, &tl);
        if (tl.y.out1 - tl.y.out0 > cap) cap = tl.y.out1 - tl.y.out0;
    }
    /* a window, the rows a flush's alpha reads above it, and their slack */
    ib.cap = wh + (cap + s - 1) / s + 4;
    cascade_status st = CASCADE_STATUS_OK;
    if (opt.plans) {
        st = cascade_upscale_plans_get(opt.plans, u, be, wh, ww, &p, err);
    } else {
        st = cascade_upscaler_build_graph(u, wh, ww, &g, err);
        if (st == CASCADE_STATUS_OK) st = cascade_plan_new(be, g, &p, err);
    }
    if (st == CASCADE_STATUS_OK) {
        in = malloc(sizeof(float) * (size_t)(3 * ww * wh));
        out = malloc(sizeof(float) * (size_t)(3 * ww * wh * s * s));
        band = calloc((size_t)(cap * out_w * 3), sizeof(float));
        obytes = malloc((size_t)cap * ostride);
        ib.rows = malloc((size_t)ib.cap * ib.stride);
        if (!in || !out || !band || !obytes || !ib.rows)
            st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                   "upscale: out of memory for %lldx%lld tiles", (long long)ww,
                                   (long long)wh);
    }
    out_band ob = {.acc = band,
                   .bytes = obytes,
                   .stride = ostride,
                   .cap = cap,
                   .width = out_w,
                   .channels = channels,
                   .scale = s,
                   .range = range};
    for (int32_t i = 0; i < n_tiles && st == CASCADE_STATUS_OK; i++) {
        if (cascade_cancel_is_raised(opt.cancel)) {
            st = cascade_error_set(err, CASCADE_STATUS_CANCELLED,
                                   "upscale: cancelled after %d of %d tiles", i, n_tiles);
            break;
        }
        cascade_tile tl;
        cascade_tiler_get(t, i, &tl);
        if (tl.col == 0) {
            if (tl.y.out0 > ob.y0) st = out_band_flush(&ob, tl.y.out0, &ib, read, write, io, err);
            if (st != CASCADE_STATUS_OK) break;
            int64_t keep = alpha_row_lo(ob.y0, s, height);
            in_band_drop(&ib, tl.y.in0 < keep ? tl.y.in0 : keep);
            st = in_band_fill(&ib, tl.y.in0 + wh, read, io, err);
            if (st != CASCADE_STATUS_OK) break;
        }
        /* window -> (1, 3, wh, ww) scaled to the network's value range */
        for (int64_t y = 0; y < wh; y++) {
            const uint8_t *row = ib.rows + (size_t)(tl.y.in0 + y - ib.lo) * ib.stride;
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
        cascade_tiler_accumulate(t, &tl, out, 3, band, ob.y0, cap);
        if (opt.progress) opt.progress(i + 1, n_tiles, opt.user_data);
    }
    if (st == CASCADE_STATUS_OK) {
        /* the last tile row in pieces of at most cap rows (the byte buffer's height) */
        while (st == CASCADE_STATUS_OK && ob.y0 < out_h)
            st = out_band_flush(&ob, ob.y0 + cap < out_h ? ob.y0 + cap : out_h, &ib, read,
                                write, io, err);
    }
    /* every input row is consumed, so a source that checks its file's end sees it */
    if (st == CASCADE_STATUS_OK && ib.hi < height) {
        in_band_drop(&ib, ib.hi);
        while (st == CASCADE_STATUS_OK && ib.hi < height) {
            int64_t n = height - ib.hi < ib.cap ? height - ib.hi : ib.cap;
            st = in_band_fill(&ib, ib.hi + n, read, io, err);
            in_band_drop(&ib, ib.hi);
        }
    }
    free(ib.rows);
    free(obytes);
    free(band);
    free(out);
    free(in);
    if (!opt.plans) cascade_plan_free(p); /* a kept one stays with its owner */
    cascade_graph_free(g);
    cascade_tiler_free(t);
    return st;
}

/* cascade_upscale_image's source and sink: cursors over the caller's buffers. */
typedef struct mem_io {
    const uint8_t *src;
    uint8_t       *dst;
    size_t         src_stride, dst_stride, row_in, row_out;
} mem_io;

static cascade_status mem_read(void *io, uint8_t *rows, size_t stride, int64_t n,
                               cascade_error *err) {
    (void)err;
    mem_io *m = io;
    for (int64_t y = 0; y < n; y++, m->src += m->src_stride)
        memcpy(rows + (size_t)y * stride, m->src, m->row_in);
    return CASCADE_STATUS_OK;
}

static cascade_status mem_write(void *io, const uint8_t *rows, size_t stride, int64_t n,
                                cascade_error *err) {
    (void)err;
    mem_io *m = io;
    for (int64_t y = 0; y < n; y++, m->dst += m->dst_stride)
        memcpy(m->dst, rows + (size_t)y * stride, m->row_out);
    return CASCADE_STATUS_OK;
}

cascade_status cascade_upscale_image(const cascade_upscaler *u, cascade_backend *be,
                                     const uint8_t *src, int64_t width, int64_t height,
                                     int32_t channels, size_t src_stride, uint8_t *dst,
                                     size_t dst_stride, const cascade_upscale_options *opt,
                                     cascade_error *err) {
    if (!u || !src || !dst)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "upscale: missing argument");
    const int64_t s = cascade_upscaler_scale(u);
    if (width < 1 || width > (1 << 24) / s || src_stride < (size_t)(width * channels) ||
        dst_stride < (size_t)(width * s * channels))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "upscale: image %lldx%lld, strides %zu/%zu", (long long)width,
                                 (long long)height, src_stride, dst_stride);
    mem_io m = {.src = src,
                .dst = dst,
                .src_stride = src_stride,
                .dst_stride = dst_stride,
                .row_in = (size_t)(width * channels),
                .row_out = (size_t)(width * s * channels)};
    return cascade_upscale_stream(u, be, width, height, channels, mem_read, mem_write, &m, opt,
                                  err);
}
