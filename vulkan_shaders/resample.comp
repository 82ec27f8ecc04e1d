#version 450
/* Nearest upsample (mode 0), bilinear resize as torch F.interpolate (mode 1) and average
 * pooling without padding (mode 2), over x (NC, H, W) -> (NC, OH, OW).
 * Bindings: 0 in, 1 out. */
#include "types.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { cascade_pc_resample p; };
layout(binding = 0) readonly buffer X { T x[]; };
layout(binding = 1) writeonly buffer O { T o[]; };

float src_coord(uint d, uint n_in, uint n_out) {
    if (p.align_corners != 0u)
        return n_out > 1u ? float(d) * float(n_in - 1u) / float(n_out - 1u) : 0.0;
    return max((float(d) + 0.5) * (float(n_in) / float(n_out)) - 0.5, 0.0);
}

void main() {
    uint i = GLOBAL_INDEX;
    if (i >= p.n) return;
    uint ox = i % p.OW, r = i / p.OW;
    uint oy = r % p.OH, c = r / p.OH;
    uint base = c * p.H * p.W;
    float v;
    if (p.mode == 0u) {
        v = float(x[base + (oy * p.H / p.OH) * p.W + ox * p.W / p.OW]);
    } else if (p.mode == 1u) {
        float fy = src_coord(oy, p.H, p.OH), fx = src_coord(ox, p.W, p.OW);
        uint y0 = min(uint(fy), p.H - 1u), x0 = min(uint(fx), p.W - 1u);
        uint y1 = min(y0 + 1u, p.H - 1u), x1 = min(x0 + 1u, p.W - 1u);
        float ly = fy - float(y0), lx = fx - float(x0);
        float a = float(x[base + y0 * p.W + x0]), b = float(x[base + y0 * p.W + x1]);
        float cc = float(x[base + y1 * p.W + x0]), d = float(x[base + y1 * p.W + x1]);
        v = (1.0 - ly) * ((1.0 - lx) * a + lx * b) + ly * ((1.0 - lx) * cc + lx * d);
    } else {
        float s = 0.0;
        for (uint ky = 0u; ky < p.kh; ky++)
            for (uint kx = 0u; kx < p.kw; kx++)
                s += float(x[base + (oy * p.sh + ky) * p.W + ox * p.sw + kx]);
        v = s / float(p.kh * p.kw);
    }
    o[i] = T(v);
}
