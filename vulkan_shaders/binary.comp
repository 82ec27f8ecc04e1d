#version 450
/* Elementwise a (op) b with numpy broadcasting (strides of 0 on broadcast dims).
 * SINCOS (fp16 plans): a and b stay fp32 in memory and op 4 / 5 is sin / cos of a * b, so
 * a timestep embedding's angles never pass through fp16 (core/vulkan/vk-fuse.c).
 * Bindings: 0 a, 1 b, 2 out. */
#include "types.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { cascade_pc_binary p; };
#ifdef SINCOS
layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
#else
layout(binding = 0) readonly buffer A { T a[]; };
layout(binding = 1) readonly buffer B { T b[]; };
#endif
layout(binding = 2) writeonly buffer O { T o[]; };

void main() {
    uint i = GLOBAL_INDEX;
    if (i >= p.n) return;
    uint i3 = i % p.ne[3], r = i / p.ne[3];
    uint i2 = r % p.ne[2]; r /= p.ne[2];
    uint i1 = r % p.ne[1], i0 = r / p.ne[1];
    float x = float(a[i0 * p.sa[0] + i1 * p.sa[1] + i2 * p.sa[2] + i3 * p.sa[3]]);
    float y = float(b[i0 * p.sb[0] + i1 * p.sb[1] + i2 * p.sb[2] + i3 * p.sb[3]]);
    float z;
    switch (p.op) {
    case 0: z = x + y; break;
    case 1: z = x - y; break;
    case 2: z = x * y; break;
    case 4: z = sin(x * y); break;
    case 5: z = cos(x * y); break;
    default: z = x / y; break;
    }
    o[i] = T(z);
}
