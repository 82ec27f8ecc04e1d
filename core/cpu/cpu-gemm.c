/* Row-major SGEMM split over the backend's own thread pool, each piece a single-threaded
 * OpenBLAS call. OpenBLAS's own threads busy-wait (sched_yield) for a while after each call,
 * and on a machine with as many cores as threads they then fight the pool's threads running
 * the element-wise ops: measured here, a quarter of the CPU time went to yielding. */
#include <cblas.h>

#include "cpu-ops.h"

typedef struct gemm_job {
    bool         ta, tb, split_n, small;
    int64_t      M, N, K, step;
    float        alpha, beta;
    const float *A, *B;
    float       *C;
    int64_t      lda, ldb, ldc;
} gemm_job;

/* Pieces [p0, p1): columns (split_n) or rows of C, step apiece. */
static void gemm_range(void *ctx, int64_t p0, int64_t p1) {
    const gemm_job *j = ctx;
    int64_t         lo = p0 * j->step, hi = p1 * j->step;
    int64_t         dim = j->split_n ? j->N : j->M;
    if (hi > dim) hi = dim;
    if (lo >= hi) return;
    const float *A = j->A, *B = j->B;
    float       *C = j->C;
    int64_t      m = j->M, n = j->N;
    if (j->split_n) { /* columns lo..hi of op(B) and C */
        B += j->tb ? lo * j->ldb : lo;
        C += lo;
        n = hi - lo;
    } else { /* rows lo..hi of op(A) and C */
        A += j->ta ? lo : lo * j->lda;
        C += lo * j->ldc;
        m = hi - lo;
    }
    if (j->small)
        cpu_gemm_small(j->tb, m, n, j->K, j->alpha, A, j->lda, B, j->ldb, j->beta, C, j->ldc);
    else
        cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans,
                    j->tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)j->K, j->alpha, A,
                    (int)j->lda, B, (int)j->ldb, j->beta, C, (int)j->ldc);
}

void cpu_sgemm(const cpu_exec *ex, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
               int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    const int threads = cascade_threadpool_size(ex->tp);
    /* the longer side of C, in pieces the kernels like (multiples of 64 columns / 16 rows),
     * a few per thread so uneven pieces even out; small products stay whole */
    gemm_job j = {ta, tb, N >= M, cpu_gemm_small_takes(ta, M, N, K), M, N, K, 0, alpha, beta,
                  A, B, C, lda, ldb, ldc};
    const int64_t dim = j.split_n ? N : M, align = j.split_n ? 64 : 16;
    int64_t       pieces = threads > 1 && M * N * K >= (int64_t)1 << 20 ? 2 * threads : 1;
    int64_t       step = (dim + pieces - 1) / pieces;
    step = (step + align - 1) / align * align;
    if (step <= 0 || step >= dim) {
        j.step = dim;
        gemm_range(&j, 0, 1);
        return;
    }
    j.step = step;
    cascade_threadpool_parallel_for(ex->tp, (dim + step - 1) / step, 1, gemm_range, &j);
}
