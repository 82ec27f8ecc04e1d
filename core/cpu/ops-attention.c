/* Attention per (batch, head): scores = q k^T * scale + bias, softmax over keys, then v.
 * The reference keeps one (Nq, Nk) score matrix per head in memory; the Vulkan kernel
 * does not. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "cpu-math.h"
#include "cpu-ops.h"

typedef struct softmax_job {
    float       *s;
    const float *bias; /* already offset to this (b, h), or NULL */
    int64_t      nk, bias_row_stride, bias_col_stride;
} softmax_job;

CPU_KERNEL static void softmax_rows(void *ctx, int64_t r0, int64_t r1) {
    const softmax_job *j = ctx;
    for (int64_t r = r0; r < r1; r++) {
        float *row = j->s + r * j->nk;
        if (j->bias) {
            const float *br = j->bias + r * j->bias_row_stride;
            for (int64_t c = 0; c < j->nk; c++) row[c] += br[c * j->bias_col_stride];
        }
        cpu_softmax_row(row, j->nk);
    }
}

uint64_t cpu_attention_scratch_bytes(const cascade_graph *g, const cascade_node *n) {
    const cascade_node *Q = cascade_graph_node(g, n->inputs[0]);
    const cascade_node *K = cascade_graph_node(g, n->inputs[1]);
    return sizeof(float) * (uint64_t)(Q->shape[2] * K->shape[2]); /* one head's scores */
}

cascade_status cpu_attention(const cpu_exec *ex, const cascade_node *n, float *out,
                             const float *q, const float *k, const float *v, const float *bias,
                             cascade_error *err) {
    const cascade_node *Q = cpu_in(ex, n, 0), *K = cpu_in(ex, n, 1), *V = cpu_in(ex, n, 2);
    int64_t B = Q->shape[0], H = Q->shape[1], Nq = Q->shape[2], D = Q->shape[3];
    int64_t Nk = K->shape[2], Dv = V->shape[3];
    int64_t ns = Nq * Nk;
    void   *owned;
    float  *s = cpu_scratch(ex, sizeof(float) * (size_t)(ns > 0 ? ns : 1), &owned);
    if (!s)
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                 "attention '%s': out of memory for %lldx%lld scores", n->name,
                                 (long long)Nq, (long long)Nk);
    const cascade_node *Bn = bias ? cpu_in(ex, n, 3) : NULL;
    int64_t bs[4] = {0, 0, 0, 0};
    if (Bn) {
        int64_t st = 1;
        for (int d = 3; d >= 0; d--) {
            bs[d] = Bn->shape[d] == 1 ? 0 : st;
            st *= Bn->shape[d];
        }
    }
    for (int64_t b = 0; b < B; b++) {
        for (int64_t h = 0; h < H; h++) {
            int64_t      bh = b * H + h;
            const float *qp = q + bh * Nq * D, *kp = k + bh * Nk * D, *vp = v + bh * Nk * Dv;
            cpu_sgemm(ex, false, true, Nq, Nk, D, n->fparams[0], qp, D, kp, D, 0.0f, s, Nk);
            softmax_job j = {s, Bn ? bias + b * bs[0] + h * bs[1] : NULL, Nk, bs[2], bs[3]};
            cascade_threadpool_parallel_for(ex->tp, Nq, cpu_min_chunk(Nk), softmax_rows,
                                            &j);
            cpu_sgemm(ex, false, false, Nq, Dv, Nk, 1.0f, s, Nk, vp, Dv, 0.0f, out + bh * Nq * Dv, Dv);
        }
    }
    free(owned);
    return CASCADE_STATUS_OK;
}
