/* Matrix products small enough that BLAS's fixed costs matter, computed here: C = alpha A op(B)
 * + beta C with A read in place (row-major, not transposed) and op(B) copied 16 columns by 128
 * rows at a time into an 8 KB panel on the stack, which tiles of 4 rows of A by 16 columns,
 * held in 8 vector registers, then read. The attention, linears and 1x1 convs of a 32 px U-Net
 * are such products: BLAS ran them at about the same speed, but touched its own 0.1 MB buffer
 * and its code pages for them, and for the shipped stage I that was its only use. */
#include <string.h>

#include "cpu-ops.h"

/* At most this many multiply-adds (M N K) per product. Up to it the U-Nets measured ran as fast
 * or faster (2 threads: the shipped stage I within 1 %, stage II and IF-I-style 1 % faster);
 * past it BLAS's cache blocking should win (it keeps a block of A in L2 across panels of B;
 * here every panel re-reads all of A). */
#define SMALL_MAX_MACS ((int64_t)1 << 22)
/* k values per panel: 16 x 128 floats (8 KB) of B stay in L1 while the rows of A stream */
#define SMALL_KC 128

/* a shuffle of two v8f by 8 constant indices (0-7: a's lanes, 8-15: b's); gcc and clang spell
 * it differently */
#if defined(__clang__)
#define SHUFFLE8(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
typedef int32_t v8i __attribute__((vector_size(32)));
#define SHUFFLE8(a, b, ...) __builtin_shuffle(a, b, (v8i){__VA_ARGS__})
#endif

/* The three steps of an 8 x 8 transpose, each on two vectors: their pairs, quads and halves
 * interleaved (AVX's unpck, shufps and perm2f128 in the x86-64-v3 copy). */
#define PAIRS_LO(a, b)  SHUFFLE8(a, b, 0, 8, 1, 9, 4, 12, 5, 13)
#define PAIRS_HI(a, b)  SHUFFLE8(a, b, 2, 10, 3, 11, 6, 14, 7, 15)
#define QUADS_LO(a, b)  SHUFFLE8(a, b, 0, 1, 8, 9, 4, 5, 12, 13)
#define QUADS_HI(a, b)  SHUFFLE8(a, b, 2, 3, 10, 11, 6, 7, 14, 15)
#define HALVES_LO(a, b) SHUFFLE8(a, b, 0, 1, 2, 3, 8, 9, 10, 11)
#define HALVES_HI(a, b) SHUFFLE8(a, b, 4, 5, 6, 7, 12, 13, 14, 15)

/* dst[16 k + q] = src[q ld + k] for q, k < 8: an 8 x 8 block of B's rows turned into 8 rows of
 * the panel in 24 shuffles. Stored one float at a time, the transposed panel had been a quarter
 * of a 64-row product's time. */
CPU_KERNEL_HELPER void transpose8(const float *src, int64_t ld, float *dst) {
    v8f r[8];
    for (int q = 0; q < 8; q++)
        LOAD8(r[q], src + q * ld);
    v8f t0 = PAIRS_LO(r[0], r[1]), t1 = PAIRS_HI(r[0], r[1]), t2 = PAIRS_LO(r[2], r[3]);
    v8f t3 = PAIRS_HI(r[2], r[3]), t4 = PAIRS_LO(r[4], r[5]), t5 = PAIRS_HI(r[4], r[5]);
    v8f t6 = PAIRS_LO(r[6], r[7]), t7 = PAIRS_HI(r[6], r[7]);
    v8f u0 = QUADS_LO(t0, t2), u1 = QUADS_HI(t0, t2), u2 = QUADS_LO(t1, t3), u3 = QUADS_HI(t1, t3);
    v8f u4 = QUADS_LO(t4, t6), u5 = QUADS_HI(t4, t6), u6 = QUADS_LO(t5, t7), u7 = QUADS_HI(t5, t7);
    const v8f k[8] = {HALVES_LO(u0, u4), HALVES_LO(u1, u5), HALVES_LO(u2, u6), HALVES_LO(u3, u7),
                      HALVES_HI(u0, u4), HALVES_HI(u1, u5), HALVES_HI(u2, u6), HALVES_HI(u3, u7)};
    for (int i = 0; i < 8; i++)
        memcpy(dst + 16 * i, &k[i], sizeof k[i]);
}

bool cpu_gemm_small_takes(bool ta, int64_t M, int64_t N, int64_t K) {
    return cpu_has_avx2_fma() && !ta && M * N * K <= SMALL_MAX_MACS;
}

typedef struct small_gemm {
    const float *A;
    float       *C;
    int64_t      lda, ldc;
    float        alpha, beta;
} small_gemm;

/* c[0..nj) = alpha t + (first ? beta c : c), t the 16 sums of one row of a tile (beta 0 reads
 * nothing from c, which may hold anything) */
CPU_KERNEL_HELPER void store_tile_row(const small_gemm *g, float *c, const v8f t[2], int nj,
                                      bool first) {
    v8f r0 = g->alpha * t[0], r1 = g->alpha * t[1];
    if (nj == 16) {
        if (!first || g->beta != 0.0f) {
            v8f o0, o1;
            LOAD8(o0, c);
            LOAD8(o1, c + 8);
            float b = first ? g->beta : 1.0f;
            r0 += b * o0, r1 += b * o1;
        }
        memcpy(c, &r0, sizeof r0);
        memcpy(c + 8, &r1, sizeof r1);
        return;
    }
    float r[16];
    memcpy(r, &r0, sizeof r0);
    memcpy(r + 8, &r1, sizeof r1);
    for (int jj = 0; jj < nj; jj++)
        c[jj] = r[jj] + (!first ? c[jj] : g->beta == 0.0f ? 0.0f : g->beta * c[jj]);
}

/* C's rows i0.. i0+mi-1 (mi <= 4), columns j0.. j0+nj-1 (nj <= 16) from kc values of k
 * starting at k0: bp[16 k + 0..15] holds op(B)'s row k0 + k. first: the first panel of k,
 * where beta applies. Rows past mi repeat the last: computed, never stored. */
CPU_KERNEL_HELPER void small_tile(const small_gemm *g, int64_t i0, int mi, int64_t j0, int nj,
                                  int64_t k0, int64_t kc, const float *bp, bool first) {
    const float *a[4];
    for (int q = 0; q < 4; q++)
        a[q] = g->A + (i0 + (q < mi ? q : mi - 1)) * g->lda + k0;
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3];
    v8f c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
    for (int64_t k = 0; k < kc; k++) {
        v8f b0, b1;
        LOAD8(b0, bp + k * 16);
        LOAD8(b1, bp + k * 16 + 8);
        float x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
        c00 += x0 * b0, c01 += x0 * b1, c10 += x1 * b0, c11 += x1 * b1;
        c20 += x2 * b0, c21 += x2 * b1, c30 += x3 * b0, c31 += x3 * b1;
    }
    const v8f rows[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
    for (int q = 0; q < mi; q++)
        store_tile_row(g, g->C + (i0 + q) * g->ldc + j0, rows[q], nj, first);
}

/* static, called below: clang 14 emits a target_clones function's dispatcher only in a
 * translation unit that calls it (exported, it was an undefined symbol at link time) */
CPU_KERNEL static void gemm_small_run(bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                                      const float *A, int64_t lda, const float *B, int64_t ldb,
                                      float beta, float *C, int64_t ldc) {
    const small_gemm g = {A, C, lda, ldc, alpha, beta};
    float            panel[SMALL_KC * 16];
    if (K <= 0) { /* no products: C = beta C */
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        return;
    }
    for (int64_t j0 = 0; j0 < N; j0 += 16) {
        int nj = N - j0 < 16 ? (int)(N - j0) : 16;
        for (int64_t k0 = 0; k0 < K; k0 += SMALL_KC) {
            int64_t kc = K - k0 < SMALL_KC ? K - k0 : SMALL_KC;
            /* op(B)'s rows k0.. as 16 columns, zeros past nj. Not read in place even when
             * contiguous: rows of B far apart (e.g. 4 KB) share cache sets, and every tile of 4
             * rows of A reads them again (a 16 x 1024 x 48 product ran 30 % slower) */
            if (nj < 16) memset(panel, 0, sizeof(float) * 16 * (size_t)kc);
            if (tb) { /* column jj of op(B) is row j0 + jj of B */
                int jj = 0;
                for (; jj + 8 <= nj; jj += 8) {
                    const float *src = B + (j0 + jj) * ldb + k0;
                    int64_t      k = 0;
                    for (; k + 8 <= kc; k += 8)
                        transpose8(src + k, ldb, panel + k * 16 + jj);
                    for (; k < kc; k++)
                        for (int q = 0; q < 8; q++)
                            panel[k * 16 + jj + q] = src[q * ldb + k];
                }
                for (; jj < nj; jj++)
                    for (int64_t k = 0; k < kc; k++)
                        panel[k * 16 + jj] = B[(j0 + jj) * ldb + k0 + k];
            } else if (nj == 16) /* a constant size: two vector moves, not a libc call */
                for (int64_t k = 0; k < kc; k++)
                    memcpy(panel + k * 16, B + (k0 + k) * ldb + j0, sizeof(float) * 16);
            else
                for (int64_t k = 0; k < kc; k++)
                    memcpy(panel + k * 16, B + (k0 + k) * ldb + j0, sizeof(float) * (size_t)nj);
            for (int64_t i0 = 0; i0 < M; i0 += 4)
                small_tile(&g, i0, M - i0 < 4 ? (int)(M - i0) : 4, j0, nj, k0, kc, panel, k0 == 0);
        }
    }
}

void cpu_gemm_small(bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                    int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    gemm_small_run(tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
