#version 450
/* Softmax over the last dim: one workgroup per row of len elements (inner must be 1).
 * Bindings: 0 x, 1 out. */
#include "types.glsl"
#include "reduce.glsl"
layout(local_size_x = RED_WG) in;
layout(push_constant) uniform PC { cascade_pc_reduce p; };
layout(binding = 0) readonly buffer X { T x[]; };
layout(binding = 1) writeonly buffer O { T o[]; };

void main() {
    uint row = ROW_INDEX;
    if (row >= p.outer) return; /* uniform per workgroup: barriers stay safe */
    uint base = row * p.len, t = gl_LocalInvocationID.x;
    float m = -1.0 / 0.0;
    for (uint i = t; i < p.len; i += RED_WG) m = max(m, float(x[base + i]));
    m = wg_max(m);
    float s = 0.0;
    for (uint i = t; i < p.len; i += RED_WG) s += exp(float(x[base + i]) - m);
    s = wg_sum(s);
    float inv = 1.0 / s;
    for (uint i = t; i < p.len; i += RED_WG) o[base + i] = T(exp(float(x[base + i]) - m) * inv);
}
