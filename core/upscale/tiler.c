/* Tile geometry and blending (see tiler.h). Everything is separable: one axis at a time. */
#include "cascade/tiler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXTENT (1ll << 24) /* 16 M pixels per side */

typedef struct axis {
    int64_t extent;
    int32_t n;       /* tiles along the axis */
    int64_t window;  /* network input length */
    int32_t feather; /* even */
} axis;

struct cascade_tiler {
    cascade_tiler_params p;
    axis                 ax[2]; /* x, y */
    int32_t              feather;
};

static int64_t core_edge(const axis *a, int64_t i) {
    return i * a->extent / a->n;
}

static void axis_init(axis *a, int64_t extent, int32_t tile, int32_t context, int32_t feather) {
    a->extent = extent;
    a->n = (int32_t)((extent + tile - 1) / tile);
    int64_t max_core = (extent + a->n - 1) / a->n;
    a->feather = feather;
    int64_t w = max_core + (a->n > 1 ? a->feather + 2ll * context : 0);
    /* a single tile along the axis needs no context: the image border is the tile border */
    a->window = w < extent ? w : extent;
}

static void axis_span(const cascade_tiler *t, const axis *a, int32_t i, cascade_tile_span *s) {
    const int64_t half = a->feather / 2, S = t->p.scale;
    s->core0 = core_edge(a, i);
    s->core1 = core_edge(a, i + 1);
    int64_t in0 = s->core0 - half - t->p.context;
    if (in0 > a->extent - a->window) in0 = a->extent - a->window;
    if (in0 < 0) in0 = 0;
    s->in0 = in0;
    s->in_len = a->window;
    s->out0 = (s->core0 > 0 ? s->core0 - half : 0) * S;
    s->out1 = (s->core1 < a->extent ? s->core1 + half : a->extent) * S;
}

cascade_status cascade_tiler_new(const cascade_tiler_params *p, cascade_tiler **out,
                                 cascade_error *err) {
    if (!out) return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "tiler: no out");
    *out = NULL;
    if (!p || p->width < 1 || p->height < 1 || p->width > MAX_EXTENT || p->height > MAX_EXTENT)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "tiler: image %lldx%lld",
                                 p ? (long long)p->width : 0, p ? (long long)p->height : 0);
    if (p->scale < 1 || p->scale > 64 || p->tile < 1 || p->context < 0 || p->feather < 0 ||
        p->context > (1 << 16) || p->feather > (1 << 16))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "tiler: scale %d, tile %d, context %d, feather %d", p->scale,
                                 p->tile, p->context, p->feather);
    cascade_tiler *t = calloc(1, sizeof *t);
    if (!t) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "tiler: out of memory");
    t->p = *p;
    /* one even feather for both axes, no wider than the smallest core it ramps across */
    int64_t f = p->feather;
    for (int k = 0; k < 2; k++) {
        const int64_t ext = k ? p->height : p->width, n = (ext + p->tile - 1) / p->tile;
        if (n > 1 && f > ext / n) f = ext / n;
    }
    f &= ~1ll;
    axis_init(&t->ax[0], p->width, p->tile, p->context, (int32_t)f);
    axis_init(&t->ax[1], p->height, p->tile, p->context, (int32_t)f);
    t->feather = (int32_t)f;
    if ((int64_t)t->ax[0].n * t->ax[1].n > INT32_MAX) {
        free(t);
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "tiler: too many tiles");
    }
    *out = t;
    return CASCADE_STATUS_OK;
}

void cascade_tiler_free(cascade_tiler *t) {
    free(t);
}

int32_t cascade_tiler_cols(const cascade_tiler *t) {
    return t->ax[0].n;
}
int32_t cascade_tiler_rows(const cascade_tiler *t) {
    return t->ax[1].n;
}
int32_t cascade_tiler_count(const cascade_tiler *t) {
    return t->ax[0].n * t->ax[1].n;
}
int64_t cascade_tiler_window_width(const cascade_tiler *t) {
    return t->ax[0].window;
}
int64_t cascade_tiler_window_height(const cascade_tiler *t) {
    return t->ax[1].window;
}
int32_t cascade_tiler_feather(const cascade_tiler *t) {
    return t->feather;
}

void cascade_tiler_get(const cascade_tiler *t, int32_t index, cascade_tile *out) {
    memset(out, 0, sizeof *out);
    out->index = index;
    out->col = index % t->ax[0].n;
    out->row = index / t->ax[0].n;
    axis_span(t, &t->ax[0], out->col, &out->x);
    axis_span(t, &t->ax[1], out->row, &out->y);
}

float cascade_tiler_weight(const cascade_tiler *t, const cascade_tile_span *s, int64_t X,
                           int64_t extent) {
    if (X < s->out0 || X >= s->out1) return 0.0f;
    const int64_t S = t->p.scale;
    const double  F = (double)t->feather * (double)S, c = (double)X + 0.5;
    double        w = 1.0;
    if (F > 0 && s->core0 > 0) {
        double u = (c - ((double)s->core0 * S - F / 2)) / F;
        w *= u < 0 ? 0 : u > 1 ? 1 : u;
    }
    if (F > 0 && s->core1 < extent) {
        double d = (((double)s->core1 * S + F / 2) - c) / F;
        w *= d < 0 ? 0 : d > 1 ? 1 : d;
    }
    return (float)w;
}

void cascade_tiler_accumulate(const cascade_tiler *t, const cascade_tile *tile, const float *src,
                              int32_t channels, float *acc, int64_t acc_y0, int64_t acc_rows) {
    const int64_t S = t->p.scale, out_w = t->p.width * S;
    const int64_t src_w = tile->x.in_len * S, src_h = tile->y.in_len * S;
    const int64_t y0 = tile->y.out0 > acc_y0 ? tile->y.out0 : acc_y0;
    const int64_t y1 = tile->y.out1 < acc_y0 + acc_rows ? tile->y.out1 : acc_y0 + acc_rows;
    const int64_t x0 = tile->x.out0, x1 = tile->x.out1;
    for (int64_t Y = y0; Y < y1; Y++) {
        const float   wy = cascade_tiler_weight(t, &tile->y, Y, t->p.height);
        const int64_t sy = Y - tile->y.in0 * S;
        float        *row = acc + (Y - acc_y0) * out_w * channels;
        for (int64_t X = x0; X < x1; X++) {
            const float   w = wy * cascade_tiler_weight(t, &tile->x, X, t->p.width);
            const int64_t sx = X - tile->x.in0 * S;
            if (w == 0.0f) continue;
            for (int32_t ch = 0; ch < channels; ch++)
                row[X * channels + ch] += w * src[(ch * src_h + sy) * src_w + sx];
        }
    }
}

int32_t cascade_tiler_tile_for_budget(uint64_t budget_bytes, double bytes_per_pixel,
                                      int32_t context, int32_t feather, int32_t min_tile,
                                      int32_t max_tile) {
    if (min_tile < 1) min_tile = 1;
    if (max_tile < min_tile) max_tile = min_tile;
    if (!(bytes_per_pixel > 0)) return max_tile;
    double  edge = floor(sqrt((double)budget_bytes / bytes_per_pixel));
    double  core = edge - feather - 2.0 * context;
    int32_t t = core < min_tile ? min_tile : core > max_tile ? max_tile : (int32_t)core;
    return t;
}

uint64_t cascade_tiler_peak_bytes(const cascade_tiler *t, double bytes_per_pixel,
                                  int32_t channels) {
    const axis *ay = &t->ax[1];
    int64_t     band = 0; /* tallest tile row's output rows */
    for (int32_t r = 0; r < ay->n; r++) {
        cascade_tile_span s;
        axis_span(t, ay, r, &s);
        if (s.out1 - s.out0 > band) band = s.out1 - s.out0;
    }
    double net = bytes_per_pixel * (double)t->ax[0].window * (double)ay->window;
    double acc = (double)band * (double)t->p.width * t->p.scale * channels * sizeof(float);
    double total = net + acc;
    return total >= 1.8e19 ? UINT64_MAX : (uint64_t)total;
}
