#version 450
/* Strided 3-D copy: concat pieces, slices, reshapes that need their own storage.
 * Bindings: 0 in, 1 out. */
#include "types.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { cascade_pc_copy p; };
layout(binding = 0) readonly buffer X { T x[]; };
layout(binding = 1) writeonly buffer O { T o[]; };

void main() {
    uint i = GLOBAL_INDEX;
    if (i >= p.n0 * p.n1 * p.n2) return;
    uint i2 = i % p.n2, r = i / p.n2;
    uint i1 = r % p.n1, i0 = r / p.n1;
    o[p.obase + i0 * p.os0 + i1 * p.os1 + i2] = x[p.ibase + i0 * p.is0 + i1 * p.is1 + i2];
}
