/* conv2d computed directly for stride-1 convolutions with few output channels: each step
 * takes a tile of output channels by output pixels of one row, keeps it in vector registers and
 * adds the whole receptive field to it, reading a zero-padded copy of a band of input rows.
 * With a few dozen output channels the GEMM path's fixed costs (the im2col copy of kh * kw times
 * the input, and BLAS packing both operands on every call) were as large as its arithmetic:
 * at 32 px a sixth of the shipped stage I's time. */
#include <string.h>

#include "cpu-ops.h"

/* Direct up to this many output channels, the most measured: at 2 threads here (an AMD EPYC,
 * where OpenBLAS runs its AVX2 kernels) it beat im2col + BLAS on every U-Net tried, by 10 % on
 * IF-II-style's 128 to 320-channel convs at 32 to 64 px, 20 % on the shipped stage II. Past it,
 * BLAS's cache blocking may win: a tile reuses each input value over 4 channels only. */
#define DIRECT_MAX_OUT_CHANNELS 320
/* Output rows per band at most: re-padding the kernel's reach at each band's edge costs little
 * next to the arithmetic, and small bands keep the scratch a fraction of the im2col columns'
 * budget */
#define DIRECT_BAND_ROWS 8

bool cpu_conv2d_is_direct(const cascade_graph *g, const cascade_node *n) {
    const cascade_node *Wn = cascade_graph_node(g, n->inputs[1]);
    int64_t             O = n->shape[1], kh = Wn->shape[2], kw = Wn->shape[3];
    return cpu_has_avx2_fma() && n->iparams[8] == 1 && n->iparams[0] == 1 && n->iparams[1] == 1 &&
           n->iparams[6] == 1 && n->iparams[7] == 1 && kh * kw > 1 && O <= DIRECT_MAX_OUT_CHANNELS;
}

/* The padded input of one band of output rows: the rows they read, each as wide as the output
 * rounded up to whole tiles plus the kernel's reach, so every tile loads in bounds and the
 * borders read zeros. A band is at most DIRECT_BAND_ROWS rows and stays within the conv
 * column budget (the scratch the im2col path would have had). */
typedef struct padded_geom {
    int64_t band, hp, wp; /* output rows per band; padded rows and width */
} padded_geom;

static padded_geom padded(const cascade_graph *g, const cascade_node *n, int64_t budget) {
    const cascade_node *X = cascade_graph_node(g, n->inputs[0]);
    const cascade_node *Wn = cascade_graph_node(g, n->inputs[1]);
    int64_t             C = X->shape[1], OH = n->shape[2], OW = n->shape[3];
    int64_t             kh = Wn->shape[2], kw = Wn->shape[3];
    padded_geom         p = {OH, 0, (OW + 15) / 16 * 16 + kw - 1};
    if (C * p.wp > 0) p.band = budget / (C * p.wp) - (kh - 1);
    if (p.band > DIRECT_BAND_ROWS) p.band = DIRECT_BAND_ROWS;
    if (p.band < 1) p.band = 1;
    if (p.band > OH) p.band = OH;
    p.hp = p.band + kh - 1;
    return p;
}

uint64_t cpu_conv2d_direct_scratch_bytes(const cascade_graph *g, const cascade_node *n,
                                         int64_t budget) {
    const cascade_node *X = cascade_graph_node(g, n->inputs[0]);
    padded_geom         p = padded(g, n, budget);
    return sizeof(float) * (uint64_t)(X->shape[1] * p.hp * p.wp);
}

typedef struct direct_job {
    const float *xp;   /* padded input of the band (C, hp, wp) */
    const float *w;    /* (O, C, kh, kw) */
    const float *bias; /* (O) or NULL */
    float       *out;  /* this image's (O, OH, OW) */
    int64_t      C, O, OH, OW, kh, kw, hp, wp;
    int64_t      oy0, rows; /* the band's output rows */
    int64_t      ocb;       /* channels a tile: 8 for rows of at most 8 (8 x 8), else 4 (4 x 16) */
} direct_job;

/* Stores the n <= 8 * count first floats of count vectors to dst (a row may end mid-tile). */
CPU_KERNEL_HELPER void store_row(float *dst, const v8f *v, int count, int64_t n) {
    if (n >= 8 * count) {
        memcpy(dst, v, sizeof(float) * 8 * (size_t)count);
        return;
    }
    float tmp[16];
    memcpy(tmp, v, sizeof(float) * 8 * (size_t)count);
    memcpy(dst, tmp, sizeof(float) * (size_t)n);
}

/* The weight rows of channels o.. o+count-1 (those past O repeat the last: computed, never
 * stored) and their biases. */
CPU_KERNEL_HELPER void tile_rows(const direct_job *j, int64_t o, int count, const float **wq,
                                 float *bq) {
    int64_t K = j->C * j->kh * j->kw;
    for (int q = 0; q < count; q++) {
        int64_t oq = o + q < j->O ? o + q : j->O - 1;
        wq[q] = j->w + oq * K;
        bq[q] = j->bias ? j->bias[oq] : 0.0f;
    }
}

/* Rows wider than 8: 4 channels from o by 16 pixels from x0 of row oy, in 8 named
 * accumulators (an array of them is kept on the stack by gcc, and ran 3 times slower). */
CPU_KERNEL_HELPER void tile_4x16(const direct_job *j, int64_t o, int64_t oy, int64_t x0) {
    const float *w[4];
    float        b[4];
    tile_rows(j, o, 4, w, b);
    v8f a00 = {0}, a01 = {0}, a10 = {0}, a11 = {0}, a20 = {0}, a21 = {0}, a30 = {0}, a31 = {0};
    a00 += b[0], a01 += b[0], a10 += b[1], a11 += b[1];
    a20 += b[2], a21 += b[2], a30 += b[3], a31 += b[3];
    for (int64_t c = 0, k = 0; c < j->C; c++)
        for (int64_t ky = 0; ky < j->kh; ky++) {
            const float *r = j->xp + (c * j->hp + oy - j->oy0 + ky) * j->wp + x0;
            for (int64_t kx = 0; kx < j->kw; kx++, k++) {
                v8f i0, i1;
                LOAD8(i0, r + kx);
                LOAD8(i1, r + kx + 8);
                float w0 = w[0][k], w1 = w[1][k], w2 = w[2][k], w3 = w[3][k];
                a00 += w0 * i0, a01 += w0 * i1, a10 += w1 * i0, a11 += w1 * i1;
                a20 += w2 * i0, a21 += w2 * i1, a30 += w3 * i0, a31 += w3 * i1;
            }
        }
    const v8f rows[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
    for (int q = 0; q < 4 && o + q < j->O; q++)
        store_row(j->out + ((o + q) * j->OH + oy) * j->OW + x0, rows[q], 2, j->OW - x0);
}

/* Rows of at most 8: 8 channels from o by the row's 8 pixels. */
CPU_KERNEL_HELPER void tile_8x8(const direct_job *j, int64_t o, int64_t oy) {
    const float *w[8];
    float        b[8];
    tile_rows(j, o, 8, w, b);
    v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
    a0 += b[0], a1 += b[1], a2 += b[2], a3 += b[3], a4 += b[4], a5 += b[5], a6 += b[6],
        a7 += b[7];
    for (int64_t c = 0, k = 0; c < j->C; c++)
        for (int64_t ky = 0; ky < j->kh; ky++) {
            const float *r = j->xp + (c * j->hp + oy - j->oy0 + ky) * j->wp;
            for (int64_t kx = 0; kx < j->kw; kx++, k++) {
                v8f i0;
                LOAD8(i0, r + kx);
                a0 += w[0][k] * i0, a1 += w[1][k] * i0, a2 += w[2][k] * i0;
                a3 += w[3][k] * i0, a4 += w[4][k] * i0, a5 += w[5][k] * i0;
                a6 += w[6][k] * i0, a7 += w[7][k] * i0;
            }
        }
    const v8f rows[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
    for (int q = 0; q < 8 && o + q < j->O; q++)
        store_row(j->out + ((o + q) * j->OH + oy) * j->OW, &rows[q], 1, j->OW);
}

/* items = (channel block, output row of the band) */
CPU_KERNEL static void direct_range(void *ctx, int64_t i0, int64_t i1) {
    const direct_job *j = ctx;
    for (int64_t i = i0; i < i1; i++) {
        int64_t o = i / j->rows * j->ocb, oy = j->oy0 + i % j->rows;
        if (j->ocb == 8)
            tile_8x8(j, o, oy);
        else
            for (int64_t x0 = 0; x0 < j->OW; x0 += 16) tile_4x16(j, o, oy, x0);
    }
}

typedef struct pad_job {
    const float *x; /* one image (C, H, W) */
    float       *xp;
    int64_t      H, W, hp, wp, y0, pl; /* y0: the input row of padded row 0 */
} pad_job;

static void pad_range(void *ctx, int64_t r0, int64_t r1) {
    const pad_job *j = ctx;
    for (int64_t r = r0; r < r1; r++) { /* r = (c, padded row) */
        int64_t c = r / j->hp, y = j->y0 + r % j->hp;
        float  *d = j->xp + r * j->wp;
        memset(d, 0, sizeof(float) * (size_t)j->wp);
        if (y < 0 || y >= j->H) continue;
        /* input column i lands at padded column i + pad_left (a negative pad crops) */
        int64_t a = j->pl < 0 ? -j->pl : 0, b = j->W;
        if (b > j->wp - j->pl) b = j->wp - j->pl;
        if (b > a)
            memcpy(d + a + j->pl, j->x + (c * j->H + y) * j->W + a,
                   sizeof(float) * (size_t)(b - a));
    }
}

cascade_status cpu_conv2d_direct(const cpu_exec *ex, const cascade_node *n, int64_t budget,
                                 float *out, const float *x, const float *w, const float *bias,
                                 cascade_error *err) {
    const cascade_node *X = cpu_in(ex, n, 0), *Wn = cpu_in(ex, n, 1);
    int64_t             B = X->shape[0], C = X->shape[1], H = X->shape[2], W = X->shape[3];
    int64_t             O = n->shape[1], OH = n->shape[2], OW = n->shape[3];
    int64_t             kh = Wn->shape[2], kw = Wn->shape[3];
    padded_geom         p = padded(ex->g, n, budget);
    void               *owned;
    float *xp = cpu_scratch(ex, (size_t)cpu_conv2d_direct_scratch_bytes(ex->g, n, budget), &owned);
    if (!xp)
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                 "conv2d '%s': out of memory for the padded input", n->name);
    int64_t ocb = OW <= 8 ? 8 : 4, blocks = (O + ocb - 1) / ocb;
    for (int64_t b = 0; b < B; b++)
        for (int64_t oy0 = 0; oy0 < OH; oy0 += p.band) {
            int64_t rows = OH - oy0 < p.band ? OH - oy0 : p.band;
            pad_job pj = {x + b * C * H * W, xp, H, W, rows + kh - 1, p.wp, oy0 - n->iparams[2],
                          n->iparams[3]};
            cascade_threadpool_parallel_for(ex->tp, C * pj.hp, cpu_min_chunk(p.wp), pad_range,
                                            &pj);
            direct_job j = {xp, w, bias, out + b * O * OH * OW, C, O, OH, OW, kh, kw,
                            pj.hp, p.wp, oy0, rows, ocb};
            cascade_threadpool_parallel_for(ex->tp, blocks * rows, 1, direct_range, &j);
        }
    free(owned);
    return CASCADE_STATUS_OK;
}
