/* Normalisations (group, layer, T5 RMS) and softmax, in two passes for accuracy. */
#include <math.h>

#include "cpu-math.h"
#include "cpu-ops.h"
#include "cpu-unary.h"

typedef struct gn_job {
    const cascade_node *n, *act; /* act: an element-wise op applied after, or NULL */
    float              *out;
    const float        *x, *w, *b;
    int64_t             C, spatial, groups;
} gn_job;

/* Sum and sum of squares of x[0..len) - shift, in doubles: float partial sums over 8 lanes
 * and short blocks (so gcc vectorises them and each lane adds at most 32 values before
 * they go into the doubles), instead of one double add per element, which was latency-bound.
 * The shift (the group's first value) keeps sum of squares from cancelling against the mean. */
CPU_KERNEL_HELPER void shifted_moments(const float *x, int64_t len, float shift, double *s1,
                                       double *s2) {
    enum { LANES = 8, BLOCK = 256 };
    double  a = 0, b = 0;
    int64_t k = 0;
    for (; k + BLOCK <= len; k += BLOCK) {
        float s[LANES] = {0}, q[LANES] = {0};
        for (int64_t i = 0; i < BLOCK; i += LANES)
            for (int l = 0; l < LANES; l++) {
                float d = x[k + i + l] - shift;
                s[l] += d;
                q[l] += d * d;
            }
        for (int l = 0; l < LANES; l++) {
            a += s[l];
            b += q[l];
        }
    }
    for (; k < len; k++) {
        double d = (double)x[k] - shift;
        a += d;
        b += d * d;
    }
    *s1 = a;
    *s2 = b;
}

CPU_KERNEL static void gn_range(void *ctx, int64_t i0, int64_t i1) {
    const gn_job *j = ctx;
    int64_t       cpg = j->C / j->groups, len = cpg * j->spatial;
    float         eps = j->n->fparams[0];
    bool          silu = j->n->iparams[1] != 0;
    for (int64_t i = i0; i < i1; i++) { /* i = (batch, group) */
        int64_t      g = i % j->groups;
        const float *x = j->x + i * len;
        float       *y = j->out + i * len;
        if (len == 0) continue;
        double s1, s2;
        shifted_moments(x, len, x[0], &s1, &s2);
        double m = s1 / (double)len, var = s2 / (double)len - m * m;
        double mean = x[0] + m;
        double inv = 1.0 / sqrt((var > 0 ? var : 0) + eps);
        for (int64_t c = 0; c < cpg; c++) {
            int64_t ch = g * cpg + c;
            /* y = (x - mean) inv w + b, as one multiply-add per element */
            double       wv = j->w ? j->w[ch] : 1.0, bv = j->b ? j->b[ch] : 0.0;
            float        sc = (float)(inv * wv), sh = (float)(bv - mean * inv * wv);
            const float *xc = x + c * j->spatial;
            float       *yc = y + c * j->spatial;
            for (int64_t k = 0; k < j->spatial; k++) yc[k] = xc[k] * sc + sh;
            if (silu)
                for (int64_t k = 0; k < j->spatial; k++) yc[k] = yc[k] * cpu_sigmoid(yc[k]);
            if (j->act) cpu_unary_span(j->act, yc, yc, 0, j->spatial);
        }
    }
}

cascade_status cpu_group_norm(const cpu_exec *ex, const cascade_node *n, float *out,
                              const float *x, const float *w, const float *b, cascade_error *err) {
    return cpu_group_norm_then(ex, n, NULL, out, x, w, b, err);
}

cascade_status cpu_group_norm_then(const cpu_exec *ex, const cascade_node *n,
                                   const cascade_node *act, float *out, const float *x,
                                   const float *w, const float *b, cascade_error *err) {
    (void)err;
    gn_job j = {n, act, out, x, w, b, n->shape[1], 1, n->iparams[0]};
    for (int i = 2; i < n->ndim; i++) j.spatial *= n->shape[i];
    cascade_threadpool_parallel_for(ex->tp, n->shape[0] * j.groups,
                                    cpu_min_chunk(n->shape[1] / j.groups * j.spatial), gn_range,
                                    &j);
    return CASCADE_STATUS_OK;
}

typedef struct row_job {
    const cascade_node *n;
    float              *out;
    const float        *x, *w, *b;
    int64_t             C;
} row_job;

CPU_KERNEL static void row_range(void *ctx, int64_t r0, int64_t r1) {
    const row_job *j = ctx;
    int64_t        C = j->C;
    float          eps = j->n->fparams[0];
    for (int64_t r = r0; r < r1; r++) {
        const float *x = j->x + r * C;
        float       *y = j->out + r * C;
        if (j->n->op == CASCADE_OP_SOFTMAX) {
            if (y != x) memcpy(y, x, sizeof *y * (size_t)C);
            cpu_softmax_row(y, C);
        } else if (j->n->op == CASCADE_OP_RMS_NORM) {
            double ss = 0;
            for (int64_t c = 0; c < C; c++) ss += (double)x[c] * x[c];
            float inv = (float)(1.0 / sqrt(ss / (double)C + eps));
            for (int64_t c = 0; c < C; c++) y[c] = x[c] * inv * (j->w ? j->w[c] : 1.0f);
        } else {
            double s = 0, ss = 0;
            for (int64_t c = 0; c < C; c++) s += x[c];
            double mean = s / (double)C;
            for (int64_t c = 0; c < C; c++) ss += (x[c] - mean) * (x[c] - mean);
            float inv = (float)(1.0 / sqrt(ss / (double)C + eps));
            for (int64_t c = 0; c < C; c++)
                y[c] = (float)(x[c] - mean) * inv * (j->w ? j->w[c] : 1.0f) + (j->b ? j->b[c] : 0.0f);
        }
    }
}

cascade_status cpu_row_norm(const cpu_exec *ex, const cascade_node *n, float *out,
                            const float *x, const float *w, const float *b,
                            cascade_error *err) {
    (void)err;
    row_job j = {n, out, x, w, b, n->shape[n->ndim - 1]};
    int64_t rows = j.C ? cpu_numel(n) / j.C : 0;
    cascade_threadpool_parallel_for(ex->tp, rows, cpu_min_chunk(j.C), row_range, &j);
    return CASCADE_STATUS_OK;
}
