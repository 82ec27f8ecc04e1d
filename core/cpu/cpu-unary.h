/* The element-wise unary ops (activations, scale, clamp) over a span, inline so that each
 * kernel calling it (the unary op, the group norm's fused activation) is compiled with it for
 * its own instruction set (CPU_KERNEL). */
#ifndef CASCADE_CPU_UNARY_H
#define CASCADE_CPU_UNARY_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cascade/graph.h"
#include "cpu-math.h"
#include "cpu-ops.h"

static inline float gelu_tanh(float x) {
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

/* erf for GELU without a libm call per element, so gcc vectorises the loop (scalar erff was
 * a sixth of the shipped stage II's time): erf(x) = x P(x^2) / Q(x^2) on |x| <= 3.92, +-1
 * beyond (where erf rounds to 1 in float). The rational was fitted for this file (weighted
 * least squares iterated towards minimax, against the double erf); max abs error 4.1e-7 as
 * evaluated in float, against erff's ~6e-8. |x| is clamped on its bits: a float compare may
 * trap, so gcc would not turn it into a vector select (a NaN clamps to 3.92, and GELU's
 * factor x keeps the NaN). */
static inline float erf_rational(float x) {
    x = cpu_clamp_magnitude(x, 0x407ae148u); /* 3.92f */
    float t = x * x;
    float p = 1.992062812e-08f;
    p = p * t - 1.994376829e-06f;
    p = p * t + 1.490102732e-04f;
    p = p * t + 3.973884683e-03f;
    p = p * t + 5.140047084e-02f;
    p = p * t + 2.061371089e-01f;
    p = p * t + 1.128378778e+00f;
    float q = 1.024362722e-03f;
    q = q * t + 1.489125627e-02f;
    q = q * t + 1.175741456e-01f;
    q = q * t + 5.160130273e-01f;
    q = q * t + 1.0f;
    return x * p / q;
}

/* y[i] = exp, sin or cos of x[i] for i in [i0, i1): the vector formulas of cpu-math.h, then
 * libm for the few inputs past their range (inf, NaN, overflow, huge angles). In blocks whose
 * inputs are kept aside: y may be x. */
CPU_KERNEL_HELPER void unary_with_libm_edges(cascade_unary op, float *y, const float *x, int64_t i0,
                                             int64_t i1) {
    const bool want_cos = op == CASCADE_UNARY_COS;
    for (int64_t b = i0; b < i1; b += 64) {
        int64_t m = i1 - b < 64 ? i1 - b : 64;
        float   in[64];
        memcpy(in, x + b, sizeof(float) * (size_t)m);
        if (op == CASCADE_UNARY_EXP) {
            for (int64_t i = 0; i < m; i++)
                y[b + i] = cpu_exp(in[i]);
            for (int64_t i = 0; i < m; i++)
                if (!cpu_exp_in_range(in[i])) y[b + i] = expf(in[i]);
        } else {
            for (int64_t i = 0; i < m; i++)
                y[b + i] = cpu_sincos(in[i], want_cos);
            for (int64_t i = 0; i < m; i++)
                if (!cpu_sincos_in_range(in[i])) y[b + i] = want_cos ? cosf(in[i]) : sinf(in[i]);
        }
    }
}

/* y[i] = f(x[i]) for i in [i0, i1) with n's op (UNARY, SCALE, CLAMP); y may be x. */
CPU_KERNEL_HELPER void cpu_unary_span(const cascade_node *n, float *y, const float *x, int64_t i0,
                                      int64_t i1) {
    if (n->op == CASCADE_OP_SCALE) {
        float s = n->fparams[0], b = n->fparams[1];
        for (int64_t i = i0; i < i1; i++)
            y[i] = x[i] * s + b;
        return;
    }
    if (n->op == CASCADE_OP_CLAMP) {
        float lo = n->fparams[0], hi = n->fparams[1];
        for (int64_t i = i0; i < i1; i++)
            y[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
        return;
    }
    float alpha = n->fparams[0];
    switch ((cascade_unary)n->iparams[0]) {
    case CASCADE_UNARY_SILU:
        for (int64_t i = i0; i < i1; i++)
            y[i] = x[i] * cpu_sigmoid(x[i]);
        break;
    case CASCADE_UNARY_GELU:
        for (int64_t i = i0; i < i1; i++)
            y[i] = 0.5f * x[i] * (1.0f + erf_rational(x[i] * 0.70710678118654752f));
        break;
    case CASCADE_UNARY_GELU_TANH:
        for (int64_t i = i0; i < i1; i++)
            y[i] = gelu_tanh(x[i]);
        break;
    case CASCADE_UNARY_QUICK_GELU:
        for (int64_t i = i0; i < i1; i++)
            y[i] = x[i] / (1.0f + expf(-1.702f * x[i]));
        break;
    case CASCADE_UNARY_RELU:
        for (int64_t i = i0; i < i1; i++)
            y[i] = x[i] > 0 ? x[i] : 0;
        break;
    case CASCADE_UNARY_LEAKY_RELU:
        for (int64_t i = i0; i < i1; i++)
            y[i] = x[i] > 0 ? x[i] : alpha * x[i];
        break;
    case CASCADE_UNARY_SIGMOID:
        for (int64_t i = i0; i < i1; i++)
            y[i] = cpu_sigmoid(x[i]);
        break;
    case CASCADE_UNARY_TANH:
        for (int64_t i = i0; i < i1; i++)
            y[i] = tanhf(x[i]);
        break;
    case CASCADE_UNARY_EXP:
    case CASCADE_UNARY_SIN:
    case CASCADE_UNARY_COS:
        unary_with_libm_edges((cascade_unary)n->iparams[0], y, x, i0, i1);
        break;
    case CASCADE_UNARY_NEG:
        for (int64_t i = i0; i < i1; i++)
            y[i] = -x[i];
        break;
    case CASCADE_UNARY_SQRT:
        for (int64_t i = i0; i < i1; i++)
            y[i] = sqrtf(x[i]);
        break;
    case CASCADE_UNARY_ABS:
        for (int64_t i = i0; i < i1; i++)
            y[i] = fabsf(x[i]);
        break;
    default: break;
    }
}

#endif
