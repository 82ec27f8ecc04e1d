/* Normalisations (group, layer, T5 RMS) and softmax, in two passes for accuracy. */
#include <math.h>

#include "cpu-ops.h"

typedef struct gn_job {
    const cascade_node *n;
    float              *out;
    const float        *x, *w, *b;
    int64_t             C, spatial, groups;
} gn_job;

static void gn_range(void *ctx, int64_t i0, int64_t i1) {
    const gn_job *j = ctx;
    int64_t       cpg = j->C / j->groups, len = cpg * j->spatial;
    float         eps = j->n->fparams[0];
    bool          silu = j->n->iparams[1] != 0;
    for (int64_t i = i0; i < i1; i++) { /* i = (batch, group) */
        int64_t      g = i % j->groups;
        const float *x = j->x + i * len;
        float       *y = j->out + i * len;
        double       s = 0, ss = 0;
        for (int64_t k = 0; k < len; k++) s += x[k];
        double mean = s / (double)len;
        for (int64_t k = 0; k < len; k++) ss += (x[k] - mean) * (x[k] - mean);
        float inv = (float)(1.0 / sqrt(ss / (double)len + eps));
        for (int64_t c = 0; c < cpg; c++) {
            int64_t ch = g * cpg + c;
            float   wv = j->w ? j->w[ch] : 1.0f, bv = j->b ? j->b[ch] : 0.0f;
            for (int64_t k = 0; k < j->spatial; k++) {
                int64_t o = c * j->spatial + k;
                float   v = (float)(x[o] - mean) * inv * wv + bv;
                y[o] = silu ? v / (1.0f + expf(-v)) : v;
            }
        }
    }
}

cascade_status cpu_group_norm(const cpu_exec *ex, const cascade_node *n, float *out,
                              const float *x, const float *w, const float *b, cascade_error *err) {
    (void)err;
    gn_job j = {n, out, x, w, b, n->shape[1], 1, n->iparams[0]};
    for (int i = 2; i < n->ndim; i++) j.spatial *= n->shape[i];
    cascade_threadpool_parallel_for(ex->tp, n->shape[0] * j.groups, 1, gn_range, &j);
    return CASCADE_STATUS_OK;
}

typedef struct row_job {
    const cascade_node *n;
    float              *out;
    const float        *x, *w, *b;
    int64_t             C;
} row_job;

static void row_range(void *ctx, int64_t r0, int64_t r1) {
    const row_job *j = ctx;
    int64_t        C = j->C;
    float          eps = j->n->fparams[0];
    for (int64_t r = r0; r < r1; r++) {
        const float *x = j->x + r * C;
        float       *y = j->out + r * C;
        if (j->n->op == CASCADE_OP_SOFTMAX) {
            float m = -INFINITY;
            for (int64_t c = 0; c < C; c++) m = x[c] > m ? x[c] : m;
            double s = 0;
            for (int64_t c = 0; c < C; c++) s += (y[c] = expf(x[c] - m));
            float inv = (float)(1.0 / s);
            for (int64_t c = 0; c < C; c++) y[c] *= inv;
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
    cascade_threadpool_parallel_for(ex->tp, rows, 1 + 4096 / (j.C ? j.C : 1), row_range, &j);
    return CASCADE_STATUS_OK;
}
