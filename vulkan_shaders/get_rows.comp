#version 450
/* out[r, :] = table[ids[r], :]; ids outside [0, V) read row 0 rather than out of bounds.
 * Bindings: 0 table, 1 ids, 2 out. */
#include "types.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { cascade_pc_rows p; };
layout(binding = 0) readonly buffer X { T t[]; };
layout(binding = 1) readonly buffer I { int ids[]; };
layout(binding = 2) writeonly buffer O { T o[]; };

void main() {
    uint i = GLOBAL_INDEX;
    if (i >= p.n_ids * p.D) return;
    uint r = i / p.D, c = i % p.D;
    int id = ids[r];
    uint row = (id < 0 || uint(id) >= p.V) ? 0u : uint(id);
    o[i] = t[row * p.D + c];
}
