#version 450
/* Mean over the middle axis of outer x len x inner; one invocation per output element.
 * Bindings: 0 x, 1 out. */
#include "types.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { cascade_pc_reduce p; };
layout(binding = 0) readonly buffer X { T x[]; };
layout(binding = 1) writeonly buffer O { T o[]; };

void main() {
    uint i = GLOBAL_INDEX;
    if (i >= p.outer * p.inner) return;
    uint a = i / p.inner, c = i % p.inner;
    float s = 0.0;
    for (uint k = 0u; k < p.len; k++) s += float(x[(a * p.len + k) * p.inner + c]);
    o[i] = T(s / float(p.len));
}
