/* Element functions written so gcc vectorises the loops that call them (a libm call per
 * element does not vectorise without -ffast-math): exp, the softmax of a row built on it, sin
 * and cos. Used by the attention, softmax, SiLU and element-wise kernels. */
#ifndef CASCADE_CPU_MATH_H
#define CASCADE_CPU_MATH_H

#include <math.h>
#include <stdbool.h>
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

/* |x| clamped to the float whose bits are limit (NaN to it too), on the bits: an integer
 * compare vectorises, a float compare (which may trap) is not turned into a vector select */
static inline float cpu_clamp_magnitude(float x, uint32_t limit) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    uint32_t a = b & 0x7fffffffu;
    b = (b & 0x80000000u) | (a < limit ? a : limit);
    memcpy(&x, &b, sizeof x);
    return x;
}

/* exp(x) where cpu_exp_in_range(x) (|x| <= 87.3125), as close to expf (1.2e-7 relative);
 * callers take expf elsewhere (overflow, results near or below 2^-126, NaN). */
#define CPU_EXP_LIMIT_BITS 0x42aea000u /* 87.3125 */
static inline bool cpu_exp_in_range(float x) {
    return fabsf(x) <= 87.3125f; /* false for NaN */
}
static inline float cpu_exp(float x) {
    return cpu_exp_core(cpu_clamp_magnitude(x, CPU_EXP_LIMIT_BITS));
}

/* exp(x) for x <= 0 (softmax's shifted scores): 0 below -87.3 (where expf is below 2^-126)
 * and for -inf, NaN kept. Clamps and selects on the bits (integer compares vectorise). */
static inline float cpu_exp_nonpositive(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    const uint32_t a = b & 0x7fffffffu;
    /* masks as negated comparisons: gcc if-converts these, not `cond ? ~0u : 0u` (a loop
     * calling that stayed scalar: "control flow in loop") */
    const uint32_t kept = (uint32_t) - (int32_t)(a <= CPU_EXP_LIMIT_BITS);
    const uint32_t nan = (uint32_t) - (int32_t)(a > 0x7f800000u);
    float          e = cpu_exp(x);
    uint32_t       eb;
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

/* sin (cos: want_cos) of x where cpu_sincos_in_range(x), within 1e-7 absolute of the exact
 * value of x; callers take sinf / cosf elsewhere (inf, NaN, huge x). x is reduced in double:
 * k = round(x 2/pi) and r = x - k pi/2 with pi/2 in two parts (k pi/2's high part exact while
 * |k| < 2^20), |r| <= pi/4, where sin and cos are their Taylor polynomials to degree 11 and 12
 * (truncation below 1e-10). The quadrant k mod 4 picks the sign and which of the two. */
static inline bool cpu_sincos_in_range(float x) {
    return fabsf(x) <= 1.0e6f; /* false for NaN and inf */
}
static inline float cpu_sincos(float x, bool want_cos) {
    double d = cpu_clamp_magnitude(x, 0x49742400u); /* 1e6 */
    const double shift = 6755399441055744.0; /* 1.5 * 2^52: adding it rounds to an integer */
    double       kf = d * 0.63661977236758134 + shift;
    uint64_t     kb;
    memcpy(&kb, &kf, sizeof kb);
    kf -= shift;
    double r = d - kf * 1.5707963267341256; /* pi/2, high 33 bits */
    r -= kf * 6.0771005065061922e-11;       /* pi/2, the rest */
    double r2 = r * r;
    double ps = -1.0 / 39916800; /* sin r = r + r^3 ps(r^2) */
    ps = ps * r2 + 1.0 / 362880;
    ps = ps * r2 - 1.0 / 5040;
    ps = ps * r2 + 1.0 / 120;
    ps = ps * r2 - 1.0 / 6;
    double pc = 1.0 / 479001600; /* cos r = 1 + r^2 pc(r^2) */
    pc = pc * r2 - 1.0 / 3628800;
    pc = pc * r2 + 1.0 / 40320;
    pc = pc * r2 - 1.0 / 720;
    pc = pc * r2 + 1.0 / 24;
    pc = pc * r2 - 0.5;
    double s = r + r * r2 * ps, c = 1 + r2 * pc;
    /* sin(r + q pi/2) = sin r, cos r, -sin r, -cos r for q = 0..3; cos is sin a quadrant on */
    uint64_t q = kb + (want_cos ? 1u : 0u);
    uint64_t swap = (uint64_t) - (int64_t)(q & 1u), neg = (q & 2u) << 62;
    uint64_t sb, cb;
    memcpy(&sb, &s, sizeof sb);
    memcpy(&cb, &c, sizeof cb);
    uint64_t vb = ((cb & swap) | (sb & ~swap)) ^ neg;
    double   v;
    memcpy(&v, &vb, sizeof v);
    return (float)v;
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
