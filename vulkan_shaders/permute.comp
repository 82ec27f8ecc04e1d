#version 450
/* out[i] = in[sum_d idx_d(i) * st[d]] for a contiguous out of shape ne[0..ndim).
 * Bindings: 0 in, 1 out. */
#include "types.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { cascade_pc_permute p; };
layout(binding = 0) readonly buffer X { T x[]; };
layout(binding = 1) writeonly buffer O { T o[]; };

void main() {
    uint i = GLOBAL_INDEX;
    if (i >= p.n) return;
    uint r = i, src = 0;
    for (int d = int(p.ndim) - 1; d >= 0; d--) {
        src += (r % p.ne[d]) * p.st[d];
        r /= p.ne[d];
    }
    o[i] = x[src];
}
