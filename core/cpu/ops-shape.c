/* Data movement: permute, concat, slice, resampling, row gathers. Values are 4 bytes wide
 * (F32 or I32), so movement ops copy uint32 words whatever the dtype. */
#include <math.h>
#include <string.h>

#include "cpu-ops.h"

typedef struct permute_job {
    const uint32_t *x;
    uint32_t       *out;
    int32_t         nd;
    int64_t         oshape[CASCADE_MAX_DIMS], xstride_of_out[CASCADE_MAX_DIMS];
} permute_job;

CPU_KERNEL static void permute_rows(void *ctx, int64_t r0, int64_t r1) {
    const permute_job *j = ctx;
    int64_t            inner = j->oshape[j->nd - 1], is = j->xstride_of_out[j->nd - 1];
    for (int64_t r = r0; r < r1; r++) {
        int64_t rem = r, off = 0;
        for (int d = j->nd - 2; d >= 0; d--) {
            off += (rem % j->oshape[d]) * j->xstride_of_out[d];
            rem /= j->oshape[d];
        }
        uint32_t       *o = j->out + r * inner;
        const uint32_t *s = j->x + off;
        for (int64_t i = 0; i < inner; i++) o[i] = s[i * is];
    }
}

cascade_status cpu_permute(const cpu_exec *ex, const cascade_node *n, void *out, const void *x,
                           cascade_error *err) {
    (void)err;
    const cascade_node *X = cpu_in(ex, n, 0);
    permute_job         j = {.x = x, .out = out, .nd = n->ndim};
    int64_t             xs[CASCADE_MAX_DIMS];
    cascade_shape_contiguous_strides(X->ndim, X->shape, xs);
    for (int d = 0; d < n->ndim; d++) {
        j.oshape[d] = n->shape[d];
        j.xstride_of_out[d] = xs[n->iparams[d]];
    }
    if (n->ndim == 0) {
        memcpy(out, x, 4);
        return CASCADE_STATUS_OK;
    }
    int64_t inner = n->shape[n->ndim - 1];
    int64_t rows = inner ? cpu_numel(n) / inner : 0;
    cascade_threadpool_parallel_for(ex->tp, rows, cpu_min_chunk(inner), permute_rows, &j);
    return CASCADE_STATUS_OK;
}

cascade_status cpu_concat(const cpu_exec *ex, const cascade_node *n, void *out,
                          const void *const *xs, cascade_error *err) {
    (void)err;
    int     axis = n->iparams[0];
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= n->shape[d];
    for (int d = axis + 1; d < n->ndim; d++) inner *= n->shape[d];
    uint32_t *o = out;
    for (int64_t i = 0; i < outer; i++) {
        for (int k = 0; k < n->n_inputs; k++) {
            int64_t blk = cpu_in(ex, n, k)->shape[axis] * inner;
            memcpy(o, (const uint32_t *)xs[k] + i * blk, sizeof(uint32_t) * (size_t)blk);
            o += blk;
        }
    }
    return CASCADE_STATUS_OK;
}

cascade_status cpu_slice(const cpu_exec *ex, const cascade_node *n, void *out, const void *x,
                         cascade_error *err) {
    (void)err;
    const cascade_node *X = cpu_in(ex, n, 0);
    int                 axis = n->iparams[0];
    int64_t             start = n->iparams[1], step = n->iparams[2], len = n->shape[axis];
    int64_t             outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= n->shape[d];
    for (int d = axis + 1; d < n->ndim; d++) inner *= n->shape[d];
    const uint32_t *s = x;
    uint32_t       *o = out;
    for (int64_t i = 0; i < outer; i++)
        for (int64_t k = 0; k < len; k++)
            memcpy(o + (i * len + k) * inner, s + (i * X->shape[axis] + start + k * step) * inner,
                   sizeof(uint32_t) * (size_t)inner);
    return CASCADE_STATUS_OK;
}

typedef struct resample_job {
    const cascade_node *n;
    float              *out;
    const float        *x;
    int64_t             H, W, OH, OW;
} resample_job;

CPU_KERNEL static void resample_planes(void *ctx, int64_t p0, int64_t p1) {
    const resample_job *j = ctx;
    const cascade_node *n = j->n;
    for (int64_t p = p0; p < p1; p++) {
        const float *x = j->x + p * j->H * j->W;
        float       *y = j->out + p * j->OH * j->OW;
        if (n->op == CASCADE_OP_UPSAMPLE_NEAREST) {
            /* each input row widened once, then copied for the other fh - 1 output rows */
            int64_t fh = n->iparams[0], fw = n->iparams[1];
            for (int64_t iy = 0; iy < j->H; iy++) {
                float       *row = y + iy * fh * j->OW;
                const float *src = x + iy * j->W;
                if (fw == 2)
                    for (int64_t ix = 0; ix < j->W; ix++)
                        row[2 * ix] = row[2 * ix + 1] = src[ix];
                else
                    for (int64_t ox = 0; ox < j->OW; ox++)
                        row[ox] = src[ox / fw];
                for (int64_t k = 1; k < fh; k++)
                    memcpy(row + k * j->OW, row, sizeof *row * (size_t)j->OW);
            }
        } else if (n->op == CASCADE_OP_AVG_POOL2D) {
            int64_t kh = n->iparams[0], kw = n->iparams[1], sh = n->iparams[2], sw = n->iparams[3];
            for (int64_t oy = 0; oy < j->OH; oy++)
                for (int64_t ox = 0; ox < j->OW; ox++) {
                    float s = 0;
                    for (int64_t a = 0; a < kh; a++)
                        for (int64_t b = 0; b < kw; b++) s += x[(oy * sh + a) * j->W + ox * sw + b];
                    y[oy * j->OW + ox] = s / (float)(kh * kw);
                }
        } else { /* bilinear, PyTorch's source-index rule */
            bool   ac = n->iparams[2] != 0;
            double sy = ac ? (j->OH > 1 ? (double)(j->H - 1) / (double)(j->OH - 1) : 0)
                           : (double)j->H / (double)j->OH;
            double sx = ac ? (j->OW > 1 ? (double)(j->W - 1) / (double)(j->OW - 1) : 0)
                           : (double)j->W / (double)j->OW;
            for (int64_t oy = 0; oy < j->OH; oy++) {
                double fy = ac ? oy * sy : (oy + 0.5) * sy - 0.5;
                if (fy < 0) fy = 0;
                int64_t y0 = (int64_t)fy, y1 = y0 + 1 < j->H ? y0 + 1 : j->H - 1;
                float   ly = (float)(fy - (double)y0);
                for (int64_t ox = 0; ox < j->OW; ox++) {
                    double fx = ac ? ox * sx : (ox + 0.5) * sx - 0.5;
                    if (fx < 0) fx = 0;
                    int64_t x0 = (int64_t)fx, x1 = x0 + 1 < j->W ? x0 + 1 : j->W - 1;
                    float   lx = (float)(fx - (double)x0);
                    float   top = x[y0 * j->W + x0] * (1 - lx) + x[y0 * j->W + x1] * lx;
                    float   bot = x[y1 * j->W + x0] * (1 - lx) + x[y1 * j->W + x1] * lx;
                    y[oy * j->OW + ox] = top * (1 - ly) + bot * ly;
                }
            }
        }
    }
}

cascade_status cpu_resample(const cpu_exec *ex, const cascade_node *n, float *out,
                            const float *x, cascade_error *err) {
    (void)err;
    const cascade_node *X = cpu_in(ex, n, 0);
    resample_job j = {n, out, x, X->shape[2], X->shape[3], n->shape[2], n->shape[3]};
    cascade_threadpool_parallel_for(ex->tp, n->shape[0] * n->shape[1],
                                    cpu_min_chunk(n->shape[2] * n->shape[3]), resample_planes, &j);
    return CASCADE_STATUS_OK;
}

cascade_status cpu_get_rows(const cpu_exec *ex, const cascade_node *n, float *out,
                            const float *table, const int32_t *ids, cascade_error *err) {
    const cascade_node *T = cpu_in(ex, n, 0);
    int64_t             V = T->shape[0], D = T->shape[1], cnt = cpu_numel(n) / (D > 0 ? D : 1);
    for (int64_t i = 0; i < cnt; i++) {
        if (ids[i] < 0 || ids[i] >= V)
            return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                     "%s: id %d at position %lld is outside the table of %lld rows",
                                     n->name, ids[i], (long long)i, (long long)V);
        memcpy(out + i * D, table + (int64_t)ids[i] * D, sizeof(float) * (size_t)D);
    }
    return CASCADE_STATUS_OK;
}
