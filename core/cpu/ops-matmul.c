/* GEMM-backed ops: batched matmul with broadcasting and nn.Linear, through BLAS. */
#include <cblas.h>
#include <string.h>

#include "cpu-ops.h"

/* Offset of batch index bi of a (..., R, C) operand whose batch dims broadcast to out's. */
static int64_t batch_offset(const cascade_node *x, const cascade_node *out, int64_t bi) {
    int     nb_out = out->ndim - 2, nb_x = x->ndim - 2;
    int64_t off = 0, stride = x->shape[x->ndim - 2] * x->shape[x->ndim - 1];
    for (int d = nb_out - 1; d >= 0; d--) {
        int64_t c = bi % out->shape[d];
        bi /= out->shape[d];
        int xd = d - (nb_out - nb_x);
        if (xd >= 0) {
            if (x->shape[xd] != 1) off += c * stride;
            stride *= x->shape[xd];
        }
    }
    return off;
}

cascade_status cpu_matmul(const cpu_exec *ex, const cascade_node *n, float *out, const float *a,
                          const float *b, cascade_error *err) {
    (void)err;
    const cascade_node *A = cpu_in(ex, n, 0), *B = cpu_in(ex, n, 1);
    bool                bt = n->iparams[0] != 0;
    int64_t M = n->shape[n->ndim - 2], N = n->shape[n->ndim - 1], K = A->shape[A->ndim - 1];
    int64_t mn = M * N, batches = mn > 0 ? cpu_numel(n) / mn : 0;
    for (int64_t bi = 0; bi < batches; bi++) {
        const float *pa = a + batch_offset(A, n, bi), *pb = b + batch_offset(B, n, bi);
        float       *pc = out + bi * M * N;
        if (K == 0) {
            memset(pc, 0, sizeof(float) * (size_t)(M * N));
            continue;
        }
        cpu_sgemm(ex, false, bt, M, N, K, 1.0f, pa, K, pb, bt ? K : N, 0.0f, pc, N);
    }
    return CASCADE_STATUS_OK;
}

cascade_status cpu_linear(const cpu_exec *ex, const cascade_node *n, float *out, const float *x,
                          const float *w, const float *bias, cascade_error *err) {
    (void)err;
    const cascade_node *W = cpu_in(ex, n, 1);
    int64_t             N = W->shape[0], K = W->shape[1];
    int64_t             R = cpu_numel(n) / (N ? N : 1);
    if (bias) {
        for (int64_t r = 0; r < R; r++) memcpy(out + r * N, bias, sizeof(float) * (size_t)N);
    }
    cpu_sgemm(ex, false, true, R, N, K, 1.0f, x, K, w, K, bias ? 1.0f : 0.0f, out, N);
    return CASCADE_STATUS_OK;
}
