/* Element functions written so gcc vectorises the loops that call them (a libm call per
 * element does not vectorise without -ffast-math): exp, and the softmax of a row built on it.
 * Used by the attention, softmax and SiLU kernels. */
#ifndef CASCADE_CPU_MATH_H
#define CASCADE_CPU_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* exp(x) for x in about [-87.3, 88.7]: 2^k p(r) with k = round(x / ln 2), r = x - k ln 2
 * (ln 2 split in two, Cody-Waite) and p the degree-6 Taylor polynomial, |r| <= ln 2 / 2 where
 * its truncation error is below 1.2e-7 relative. Rounding uses the 1.5 * 2^23 trick and the
 * scale is added to the exponent bits, so there is no branch and no float compare. */
static inline float cpu_exp_core(float x) {
    const float shift = 12582912.0f; /* 1.5 * 2^23 */
    float       kf = x * 1.44269504088896341f + shift;
    uint32_t    kb;
    memcpy(&kb, &kf, sizeof kb);
    kf -= shift;
    float r = x - kf * 0.693145751953125f; /* ln 2, high part (exact product) */
    r -= kf * 1.428606765330187e-06f;       /* ln 2, low part */
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t pb;
    memcpy(&pb, &p, sizeof pb);
    pb += (kb - 0x4b400000u) << 23; /* k into the exponent */
    memcpy(&p, &pb, sizeof p);
    return p;
}

/* exp(x) for x <= 0 (softmax's shifted scores): 0 below -87.3 (where expf is below 2^-126)
 * and for -inf, NaN kept. Clamps and selects on the bits (integer compares vectorise). */
static inline float cpu_exp_nonpositive(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    const uint32_t a = b & 0x7fffffffu;
    /* masks as negated comparisons: gcc if-converts these, not `cond ? ~0u : 0u` (a loop
     * calling that stayed scalar: "control flow in loop") */
    const uint32_t kept = (uint32_t) - (int32_t)(a <= 0x42aea000u); /* |x| <= 87.3125 */
    const uint32_t nan = (uint32_t) - (int32_t)(a > 0x7f800000u);
    const uint32_t c = (b & 0x80000000u) | (a < 0x42aea000u ? a : 0x42aea000u);
    float          xc;
    memcpy(&xc, &c, sizeof xc);
    float    e = cpu_exp_core(xc);
    uint32_t eb;
    memcpy(&eb, &e, sizeof eb);
    eb = (eb & kept & ~nan) | (0x7fc00000u & nan);
    memcpy(&e, &eb, sizeof e);
    return e;
}

/* The logistic 1 / (1 + exp(-x)) for any x, from e = exp(-|x|) <= 1: 1 / (1 + e) for x >= 0,
 * e / (1 + e) below (full relative precision for very negative x; nothing overflows). */
static inline float cpu_sigmoid(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    const uint32_t neg = (uint32_t) - (int32_t)(b >> 31); /* all ones for x < 0 */
    const uint32_t nb = b | 0x80000000u;                 /* -|x| */
    float          m;
    memcpy(&m, &nb, sizeof m);
    const float e = cpu_exp_nonpositive(m);
    const float s = 1.0f / (1.0f + e); /* sigmoid(|x|) */
    const float es = e * s;
    uint32_t    sb, esb;
    memcpy(&sb, &s, sizeof sb);
    memcpy(&esb, &es, sizeof esb);
    sb = (esb & neg) | (sb & ~neg); /* a select on the bits, which gcc vectorises */
    float r;
    memcpy(&r, &sb, sizeof r);
    return r;
}

/* In place: row[c] = softmax(row)[c] over n values; a row that is all -inf gives zeros. The
 * maximum and the sum are kept in 8 lanes, so the loops vectorise without reassociating
 * anything gcc may not. */
static inline void cpu_softmax_row(float *row, int64_t n) {
    float   mx[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY,
                     -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    int64_t c = 0;
    for (; c + 8 <= n; c += 8)
        for (int l = 0; l < 8; l++) mx[l] = row[c + l] > mx[l] ? row[c + l] : mx[l];
    float m = -INFINITY;
    for (int l = 0; l < 8; l++) m = mx[l] > m ? mx[l] : m;
    for (; c < n; c++) m = row[c] > m ? row[c] : m;
    if (m == -INFINITY) m = 0; /* a row masked with -inf gives zeros, not NaN */
    for (c = 0; c < n; c++) row[c] = cpu_exp_nonpositive(row[c] - m);
    float acc[8] = {0};
    for (c = 0; c + 8 <= n; c += 8)
        for (int l = 0; l < 8; l++) acc[l] += row[c + l];
    double sum = 0;
    for (int l = 0; l < 8; l++) sum += acc[l];
    for (; c < n; c++) sum += row[c];
    const float inv = sum > 0 ? (float)(1.0 / sum) : 0.0f;
    for (c = 0; c < n; c++) row[c] *= inv;
}

#endif
