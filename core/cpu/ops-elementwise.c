/* Elementwise ops: broadcasting binary ops, unary activations, scale, clamp, cast, mean. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cpu-math.h"
#include "cpu-ops.h"
#include "cpu-unary.h"

int64_t cpu_numel(const cascade_node *n) {
    int64_t v = 1;
    for (int32_t i = 0; i < n->ndim; i++) v *= n->shape[i];
    return v;
}

/* Right-aligned 6-d view with stride 0 on broadcast dims. */
static void bcast_strides(const cascade_node *x, const cascade_node *out, int64_t *st) {
    int64_t s = 1;
    for (int i = CASCADE_MAX_DIMS - 1; i >= 0; i--) {
        int xi = x->ndim - (CASCADE_MAX_DIMS - i);
        int oi = out->ndim - (CASCADE_MAX_DIMS - i);
        (void)oi;
        int64_t d = xi >= 0 ? x->shape[xi] : 1;
        st[i] = d == 1 ? 0 : s;
        s *= d;
    }
}

typedef struct binary_job {
    const cascade_node *n;
    float              *out;
    const float        *a, *b;
    int64_t             oshape[CASCADE_MAX_DIMS], sa[CASCADE_MAX_DIMS], sb[CASCADE_MAX_DIMS];
} binary_job;

/* out = a op b over n floats, a contiguous and b contiguous (ib 1) or one value (ib 0). */
CPU_KERNEL_HELPER void binary_contiguous(cascade_op op, float *po, const float *pa, const float *pb,
                                         int64_t ib, int64_t n) {
    if (ib == 0) {
        const float v = pb[0];
        switch (op) {
        case CASCADE_OP_ADD: for (int64_t i = 0; i < n; i++) po[i] = pa[i] + v; break;
        case CASCADE_OP_SUB: for (int64_t i = 0; i < n; i++) po[i] = pa[i] - v; break;
        case CASCADE_OP_MUL: for (int64_t i = 0; i < n; i++) po[i] = pa[i] * v; break;
        default: for (int64_t i = 0; i < n; i++) po[i] = pa[i] / v; break;
        }
        return;
    }
    switch (op) {
    case CASCADE_OP_ADD: for (int64_t i = 0; i < n; i++) po[i] = pa[i] + pb[i]; break;
    case CASCADE_OP_SUB: for (int64_t i = 0; i < n; i++) po[i] = pa[i] - pb[i]; break;
    case CASCADE_OP_MUL: for (int64_t i = 0; i < n; i++) po[i] = pa[i] * pb[i]; break;
    default: for (int64_t i = 0; i < n; i++) po[i] = pa[i] / pb[i]; break;
    }
}

CPU_KERNEL static void binary_rows(void *ctx, int64_t r0, int64_t r1) {
    const binary_job *j = ctx;
    int64_t           inner = j->oshape[CASCADE_MAX_DIMS - 1];
    int64_t           ia = j->sa[CASCADE_MAX_DIMS - 1], ib = j->sb[CASCADE_MAX_DIMS - 1];
    for (int64_t r = r0; r < r1; r++) {
        int64_t rem = r, oa = 0, ob = 0;
        for (int d = CASCADE_MAX_DIMS - 2; d >= 0; d--) {
            int64_t c = rem % j->oshape[d];
            rem /= j->oshape[d];
            oa += c * j->sa[d];
            ob += c * j->sb[d];
        }
        const float *pa = j->a + oa, *pb = j->b + ob;
        float       *po = j->out + r * inner;
        if (ia == 1 && (ib == 1 || ib == 0)) { /* the common cases, as loops gcc vectorises */
            binary_contiguous(j->n->op, po, pa, pb, ib, inner);
            continue;
        }
        switch (j->n->op) {
        case CASCADE_OP_ADD: for (int64_t i = 0; i < inner; i++) po[i] = pa[i * ia] + pb[i * ib]; break;
        case CASCADE_OP_SUB: for (int64_t i = 0; i < inner; i++) po[i] = pa[i * ia] - pb[i * ib]; break;
        case CASCADE_OP_MUL: for (int64_t i = 0; i < inner; i++) po[i] = pa[i * ia] * pb[i * ib]; break;
        default: for (int64_t i = 0; i < inner; i++) po[i] = pa[i * ia] / pb[i * ib]; break;
        }
    }
}

/* Merges neighbouring dims that both inputs walk alike (on in memory, or both broadcast), so
 * that a row is a whole plane where it can be: U-Nets add a (B, C, 1, 1) time embedding to
 * (B, C, H, W), and at 8 px a row of 8 floats cost more to find than to add. */
static void coalesce(binary_job *j) {
    enum { M = CASCADE_MAX_DIMS };
    int64_t sh[M], sa[M], sb[M];
    int     k = M - 1;
    sh[k] = j->oshape[k];
    sa[k] = j->sa[k];
    sb[k] = j->sb[k];
    for (int d = M - 2; d >= 0; d--) {
        if (j->oshape[d] == 1) continue;
        if (j->sa[d] == sa[k] * sh[k] && j->sb[d] == sb[k] * sh[k]) {
            sh[k] *= j->oshape[d];
        } else {
            k--;
            sh[k] = j->oshape[d];
            sa[k] = j->sa[d];
            sb[k] = j->sb[d];
        }
    }
    for (int d = 0; d < M; d++) {
        bool kept = d >= k;
        j->oshape[d] = kept ? sh[d] : 1;
        j->sa[d] = kept ? sa[d] : 0;
        j->sb[d] = kept ? sb[d] : 0;
    }
}

cascade_status cpu_binary(const cpu_exec *ex, const cascade_node *n, float *out,
                          const float *a, const float *b, cascade_error *err) {
    (void)err;
    binary_job j = {.n = n, .out = out, .a = a, .b = b};
    for (int i = 0; i < CASCADE_MAX_DIMS; i++) {
        int oi = n->ndim - (CASCADE_MAX_DIMS - i);
        j.oshape[i] = oi >= 0 ? n->shape[oi] : 1;
    }
    bcast_strides(cpu_in(ex, n, 0), n, j.sa);
    bcast_strides(cpu_in(ex, n, 1), n, j.sb);
    coalesce(&j);
    int64_t inner = j.oshape[CASCADE_MAX_DIMS - 1];
    int64_t rows = inner ? cpu_numel(n) / inner : 0;
    cascade_threadpool_parallel_for(ex->tp, rows, cpu_min_chunk(inner), binary_rows, &j);
    return CASCADE_STATUS_OK;
}

typedef struct unary_job {
    const cascade_node *n;
    float              *out;
    const float        *x;
} unary_job;

CPU_KERNEL static void unary_range(void *ctx, int64_t i0, int64_t i1) {
    const unary_job *j = ctx;
    cpu_unary_span(j->n, j->out, j->x, i0, i1);
}

cascade_status cpu_unary(const cpu_exec *ex, const cascade_node *n, float *out, const float *x,
                         cascade_error *err) {
    (void)err;
    unary_job j = {n, out, x};
    cascade_threadpool_parallel_for(ex->tp, cpu_numel(n), CPU_MIN_PIECE_FLOATS, unary_range, &j);
    return CASCADE_STATUS_OK;
}

cascade_status cpu_cast(const cpu_exec *ex, const cascade_node *n, void *out, const void *x,
                        cascade_error *err) {
    (void)err;
    const cascade_node *X = cpu_in(ex, n, 0);
    int64_t             cnt = cpu_numel(n);
    /* every value is held in 4 bytes here: I32 as integers, the float types as fp32 */
    const bool in_int = X->dtype == CASCADE_DTYPE_I32, out_int = n->dtype == CASCADE_DTYPE_I32;
    const float *xf = x;
    float       *of = out;
    if (in_int && !out_int) {
        for (int64_t i = 0; i < cnt; i++) of[i] = (float)((const int32_t *)x)[i];
    } else if (out_int && !in_int) {
        for (int64_t i = 0; i < cnt; i++) /* truncation, saturated (NaN: 0) rather than UB */
            ((int32_t *)out)[i] = !(xf[i] == xf[i]) ? 0
                                  : xf[i] >= 2147483647.0f ? INT32_MAX
                                  : xf[i] <= -2147483648.0f ? INT32_MIN
                                                            : (int32_t)xf[i];
    } else if (n->dtype == CASCADE_DTYPE_F16 && X->dtype != CASCADE_DTYPE_F16) {
        for (int64_t i = 0; i < cnt; i++) of[i] = cascade_fp16_to_fp32(cascade_fp32_to_fp16(xf[i]));
    } else if (n->dtype == CASCADE_DTYPE_BF16 && X->dtype != CASCADE_DTYPE_BF16) {
        for (int64_t i = 0; i < cnt; i++) of[i] = cascade_bf16_to_fp32(cascade_fp32_to_bf16(xf[i]));
    } else {
        memcpy(out, x, (size_t)cnt * 4); /* the same type, or widening to fp32 */
    }
    return CASCADE_STATUS_OK;
}

cascade_status cpu_mean(const cpu_exec *ex, const cascade_node *n, float *out, const float *x,
                        cascade_error *err) {
    (void)err;
    const cascade_node *X = cpu_in(ex, n, 0);
    int                 axis = n->iparams[0];
    int64_t             outer = 1, inner = 1, len = X->shape[axis];
    for (int i = 0; i < axis; i++) outer *= X->shape[i];
    for (int i = axis + 1; i < X->ndim; i++) inner *= X->shape[i];
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            double s = 0;
            for (int64_t k = 0; k < len; k++) s += x[(o * len + k) * inner + i];
            out[o * inner + i] = (float)(s / (double)len);
        }
    }
    return CASCADE_STATUS_OK;
}
