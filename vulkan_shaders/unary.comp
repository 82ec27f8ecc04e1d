#version 450
/* Unary activations (op = cascade_unary), scale (op 100) and clamp (op 101).
 * Bindings: 0 x, 1 out. */
#include "types.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { cascade_pc_unary p; };
layout(binding = 0) readonly buffer X { T x[]; };
layout(binding = 1) writeonly buffer O { T o[]; };

/* Abramowitz-Stegun 7.1.26 is too coarse for fp32 checks; use the erfc continued
 * approximation from Numerical Recipes (erfcc), relative error < 1.2e-7. */
float erf_(float v) {
    float z = abs(v);
    float t = 1.0 / (1.0 + 0.5 * z);
    float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
              t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
              t * (-0.82215223 + t * 0.17087277)))))))));
    return v >= 0.0 ? 1.0 - r : r - 1.0;
}

float sigmoid_(float v) { return 1.0 / (1.0 + exp(-v)); }

/* tanh via exp of a negative argument, so large |v| cannot overflow */
float tanh_(float v) {
    float e = exp(-2.0 * abs(v));
    float t = (1.0 - e) / (1.0 + e);
    return v >= 0.0 ? t : -t;
}

void main() {
    uint i = GLOBAL_INDEX;
    if (i >= p.n) return;
    float v = float(x[i]);
    float r;
    switch (p.op) {
    case 0: r = v * sigmoid_(v); break;                                   /* SiLU */
    case 1: r = 0.5 * v * (1.0 + erf_(v * 0.70710678118654752)); break;   /* GELU */
    case 2: r = 0.5 * v * (1.0 + tanh_(0.79788456080286536 * (v + 0.044715 * v * v * v))); break;
    case 3: r = v * sigmoid_(1.702 * v); break;                           /* quick GELU */
    case 4: r = max(v, 0.0); break;
    case 5: r = v >= 0.0 ? v : v * p.f0; break;
    case 6: r = sigmoid_(v); break;
    case 7: r = tanh_(v); break;
    case 8: r = exp(v); break;
    case 9: r = sin(v); break;
    case 10: r = cos(v); break;
    case 11: r = -v; break;
    case 12: r = sqrt(v); break;
    case 13: r = abs(v); break;
    case 100: r = v * p.f0 + p.f1; break;
    default: r = min(max(v, p.f0), p.f1); break;
    }
    o[i] = T(r);
}
