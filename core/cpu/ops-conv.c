/* conv2d: the direct path where it applies (ops-conv-direct.c), else im2col + GEMM in bands of
 * output rows so the column buffer stays small. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "cpu-ops.h"

/* At most 2 MiB of columns per band: cache-sized, and the scratch stays small next to the
 * activations */
#define COL_BUDGET_FLOATS (1 << 19)
/* ... and on small models at most half the largest activation, so that the scratch does not
 * outgrow the plan (the shipped stage I's whole im2col was larger than its planned
 * activations), but never under 256 KiB, where GEMMs on a few rows lose speed */
#define COL_BUDGET_MIN_FLOATS (1 << 16)

static bool is_pointwise(const cascade_node *n, int64_t kh, int64_t kw) {
    return kh == 1 && kw == 1 && n->iparams[0] == 1 && n->iparams[1] == 1 && n->iparams[2] == 0 &&
           n->iparams[3] == 0 && n->iparams[4] == 0 && n->iparams[5] == 0;
}

int64_t cpu_col_budget_floats(const cascade_graph *g) {
    int64_t largest = 0;
    for (int32_t i = 0; i < cascade_graph_n_nodes(g); i++) {
        const cascade_node *n = cascade_graph_node(g, i);
        if (n->op != CASCADE_OP_CONSTANT && cpu_numel(n) > largest) largest = cpu_numel(n);
    }
    int64_t budget = largest / 2;
    return budget < COL_BUDGET_MIN_FLOATS ? COL_BUDGET_MIN_FLOATS
           : budget > COL_BUDGET_FLOATS   ? COL_BUDGET_FLOATS
                                          : budget;
}

/* Output rows per im2col band: as many as fit budget floats of columns, at least one. */
static int64_t col_band(const cascade_node *n, int64_t Kdim, int64_t budget) {
    int64_t OH = n->shape[2], OW = n->shape[3], band = OH;
    if (Kdim * OW > 0) {
        band = budget / (Kdim * OW);
        if (band < 1) band = 1;
        if (band > OH) band = OH;
    }
    return band;
}

uint64_t cpu_conv2d_scratch_bytes(const cascade_graph *g, const cascade_node *n, int64_t budget) {
    const cascade_node *X = cascade_graph_node(g, n->inputs[0]);
    const cascade_node *Wn = cascade_graph_node(g, n->inputs[1]);
    int64_t             kh = Wn->shape[2], kw = Wn->shape[3];
    int64_t             Kdim = X->shape[1] / n->iparams[8] * kh * kw;
    if (is_pointwise(n, kh, kw)) return 0;
    if (cpu_conv2d_is_direct(g, n)) return cpu_conv2d_direct_scratch_bytes(g, n, budget);
    return sizeof(float) * (uint64_t)(Kdim * col_band(n, Kdim, budget) * n->shape[3]);
}

typedef struct im2col_job {
    const float *x; /* one image's group: (C, H, W) */
    float       *col; /* (C*kh*kw, rows*OW) */
    int64_t      C, H, W, kh, kw, OW, oh0, rows;
    int32_t      sh, sw, pt, pl, dh, dw;
} im2col_job;

/* One column row of a stride-1 conv whose output is as wide as its input ("same"
 * padding): the in-range rows are one shifted copy of the plane, since row ends wrap onto
 * the next row's start; the wrapped |off| values per row are then zeroed. One memcpy per
 * plane instead of one per output row (at 32 px those calls were most of im2col's time). */
CPU_KERNEL_HELPER void im2col_row_same(const im2col_job *j, float *dst, const float *src,
                                       int64_t ki, int64_t off) {
    int64_t W = j->W, y0 = 0, y1 = j->rows;
    int64_t iy0 = j->oh0 - j->pt + ki * j->dh; /* input row of output row 0 */
    if (iy0 < 0) y0 = -iy0 < y1 ? -iy0 : y1;
    if (iy0 + y1 > j->H) y1 = j->H - iy0 > y0 ? j->H - iy0 : y0;
    memset(dst, 0, sizeof(float) * (size_t)(y0 * W));
    memset(dst + y1 * W, 0, sizeof(float) * (size_t)((j->rows - y1) * W));
    if (y1 <= y0) return;
    float       *d = dst + y0 * W;
    const float *sp = src + (iy0 + y0) * W + off;
    int64_t      count = (y1 - y0) * W;
    if (off >= 0) {
        memcpy(d, sp, sizeof(float) * (size_t)(count - off));
        for (int64_t y = 0; y < y1 - y0; y++)
            for (int64_t x = W - off; x < W; x++) d[y * W + x] = 0.0f;
    } else {
        memcpy(d - off, sp - off, sizeof(float) * (size_t)(count + off));
        for (int64_t y = 0; y < y1 - y0; y++)
            for (int64_t x = 0; x < -off; x++) d[y * W + x] = 0.0f;
    }
}

CPU_KERNEL static void im2col_range(void *ctx, int64_t r0, int64_t r1) {
    const im2col_job *j = ctx;
    int64_t           ncols = j->rows * j->OW;
    for (int64_t r = r0; r < r1; r++) { /* r = (c, ki, kj) */
        int64_t c = r / (j->kh * j->kw), ki = (r / j->kw) % j->kh, kj = r % j->kw;
        float  *dst = j->col + r * ncols;
        const float *src = j->x + c * j->H * j->W;
        int64_t      off = kj * j->dw - j->pl;
        if (j->sw == 1 && j->OW == j->W && off > -j->W && off < j->W) {
            im2col_row_same(j, dst, src, ki, off);
            continue;
        }
        for (int64_t oy = 0; oy < j->rows; oy++) {
            int64_t iy = (j->oh0 + oy) * j->sh - j->pt + ki * j->dh;
            float  *d = dst + oy * j->OW;
            if (iy < 0 || iy >= j->H) {
                memset(d, 0, sizeof(float) * (size_t)j->OW);
                continue;
            }
            const float *srow = src + iy * j->W;
            if (j->sw == 1) {
                /* unit stride: ix = ox + off, so the in-range part is one contiguous copy */
                int64_t a = off < 0 ? -off : 0, b = j->W - off;
                if (a > j->OW) a = j->OW;
                if (b > j->OW) b = j->OW;
                if (b < a) b = a;
                memset(d, 0, sizeof(float) * (size_t)a);
                if (b > a) memcpy(d + a, srow + a + off, sizeof(float) * (size_t)(b - a));
                memset(d + b, 0, sizeof(float) * (size_t)(j->OW - b));
                continue;
            }
            for (int64_t ox = 0; ox < j->OW; ox++) {
                int64_t ix = ox * j->sw - j->pl + kj * j->dw;
                d[ox] = (ix >= 0 && ix < j->W) ? srow[ix] : 0.0f;
            }
        }
    }
}

typedef struct bias_job {
    float       *out; /* (O, plane) */
    const float *bias;
    int64_t      plane, start, count;
} bias_job;

CPU_KERNEL static void bias_range(void *ctx, int64_t o0, int64_t o1) {
    const bias_job *j = ctx;
    for (int64_t o = o0; o < o1; o++) {
        float *p = j->out + o * j->plane + j->start;
        for (int64_t i = 0; i < j->count; i++)
            p[i] = j->bias[o];
    }
}

/* Output positions [start, start + count) of each of the O planes set to their bias, which
 * the GEMM then adds to (beta 1): cheaper than GEMM's own zeroing pass plus a bias pass over
 * the whole output, and the band is still in cache when the GEMM reads it. */
static void fill_bias(const cpu_exec *ex, float *out, const float *bias, int64_t O, int64_t plane,
                      int64_t start, int64_t count) {
    if (!bias) return;
    bias_job j = {out, bias, plane, start, count};
    cascade_threadpool_parallel_for(ex->tp, O, cpu_min_chunk(count), bias_range, &j);
}

cascade_status cpu_conv2d(const cpu_exec *ex, const cascade_node *n, float *out, const float *x,
                          const float *w, const float *bias, cascade_error *err) {
    int64_t budget = ex->col_budget > 0 ? ex->col_budget : COL_BUDGET_FLOATS;
    if (cpu_conv2d_is_direct(ex->g, n))
        return cpu_conv2d_direct(ex, n, budget, out, x, w, bias, err);
    const cascade_node *X = cpu_in(ex, n, 0), *Wn = cpu_in(ex, n, 1);
    int64_t B = X->shape[0], C = X->shape[1], H = X->shape[2], Wd = X->shape[3];
    int64_t O = n->shape[1], OH = n->shape[2], OW = n->shape[3];
    int64_t kh = Wn->shape[2], kw = Wn->shape[3];
    int32_t groups = n->iparams[8];
    int64_t Cg = C / groups, Og = O / groups, Kdim = Cg * kh * kw;
    bool    pointwise = is_pointwise(n, kh, kw);
    int64_t band = col_band(n, Kdim, budget);
    float *col = NULL;
    void  *owned = NULL;
    if (!pointwise) {
        col = cpu_scratch(ex, sizeof(float) * (size_t)(Kdim * band * OW), &owned);
        if (!col)
            return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                     "conv2d '%s': out of memory for columns", n->name);
    }
    for (int64_t b = 0; b < B; b++) {
        for (int32_t gi = 0; gi < groups; gi++) {
            const float *xg = x + (b * C + gi * Cg) * H * Wd;
            const float *wg = w + gi * Og * Kdim;
            float       *og = out + (b * O + gi * Og) * OH * OW;
            const float *bg = bias ? bias + gi * Og : NULL;
            if (pointwise) {
                fill_bias(ex, og, bg, Og, OH * OW, 0, OH * OW);
                cpu_sgemm(ex, false, false, Og, OH * OW, Cg, 1.0f, wg, Cg, xg, OH * OW,
                          bg ? 1.0f : 0.0f, og, OH * OW);
                continue;
            }
            for (int64_t oh0 = 0; oh0 < OH; oh0 += band) {
                int64_t    rows = OH - oh0 < band ? OH - oh0 : band;
                im2col_job j = {xg, col, Cg, H, Wd, kh, kw, OW, oh0, rows,
                                n->iparams[0], n->iparams[1], n->iparams[2], n->iparams[3],
                                n->iparams[6], n->iparams[7]};
                cascade_threadpool_parallel_for(ex->tp, Kdim, cpu_min_chunk(rows * OW),
                                                im2col_range, &j);
                fill_bias(ex, og, bg, Og, OH * OW, oh0 * OW, rows * OW);
                cpu_sgemm(ex, false, false, Og, rows * OW, Kdim, 1.0f, wg, Kdim, col, rows * OW,
                          bg ? 1.0f : 0.0f, og + oh0 * OW, OH * OW);
            }
        }
    }
    free(owned);
    return CASCADE_STATUS_OK;
}
