#version 450
/* Group norm (+ fused SiLU), layer norm and T5 RMS norm: one workgroup per row of L
 * elements, two passes over global memory (mean, then centred variance) for accuracy.
 * Bindings: 0 x, 1 weight, 2 bias (dummies when absent), 3 out. */
#include "types.glsl"
#include "reduce.glsl"
layout(local_size_x = RED_WG) in;
layout(push_constant) uniform PC { cascade_pc_norm p; };
layout(binding = 0) readonly buffer X { T x[]; };
layout(binding = 1) readonly buffer Wt { T w[]; };
layout(binding = 2) readonly buffer Bs { T b[]; };
layout(binding = 3) writeonly buffer O { T o[]; };

void main() {
    uint row = ROW_INDEX;
    if (row >= p.rows) return;
    uint base = row * p.L, t = gl_LocalInvocationID.x;
    float mean = 0.0;
    if (p.mode == 0u) {
        float s = 0.0;
        for (uint i = t; i < p.L; i += RED_WG) s += float(x[base + i]);
        mean = wg_sum(s) / float(p.L);
    }
    float q = 0.0;
    for (uint i = t; i < p.L; i += RED_WG) {
        float d = float(x[base + i]) - mean;
        q += d * d;
    }
    float rstd = inversesqrt(wg_sum(q) / float(p.L) + p.eps);
    uint cbase = (row % p.G) * (p.L / p.S);
    for (uint i = t; i < p.L; i += RED_WG) {
        uint c = cbase + i / p.S;
        float v = (float(x[base + i]) - mean) * rstd;
        if ((p.flags & 2u) != 0u) v *= float(w[c]);
        if ((p.flags & 4u) != 0u) v += float(b[c]);
        if ((p.flags & 1u) != 0u) v = v / (1.0 + exp(-v));
        o[base + i] = T(v);
    }
}
