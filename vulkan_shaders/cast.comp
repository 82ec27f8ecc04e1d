#version 450
/* CAST: the value keeps the backend's storage type; the rounding of the target dtype is
 * applied (fp16, bf16) or the value moves between float and int storage.
 * Bindings: 0 in, 1 out (each declared as float storage and as int). */
#include "types.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { cascade_pc_cast p; };
layout(binding = 0) readonly buffer XF { T xf[]; };
layout(binding = 0) readonly buffer XI { int xi[]; };
layout(binding = 1) writeonly buffer OF { T of[]; };
layout(binding = 1) writeonly buffer OI { int oi[]; };

void main() {
    uint i = GLOBAL_INDEX;
    if (i >= p.n) return;
    switch (p.mode) {
    case 0: of[i] = xf[i]; break;
    case 1: of[i] = T(unpackHalf2x16(packHalf2x16(vec2(float(xf[i]), 0.0))).x); break;
    case 2: {
        uint u = floatBitsToUint(float(xf[i]));
        u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u; /* round to nearest even */
        of[i] = T(uintBitsToFloat(u));
        break;
    }
    case 3: oi[i] = int(trunc(float(xf[i]))); break;
    case 4: of[i] = T(float(xi[i])); break;
    default: oi[i] = xi[i]; break;
    }
}
