#version 450
/* Attention as one tiled kernel, flash-attention style: each workgroup owns BR query rows
 * of one (batch, head), streams keys in tiles of BC with an online softmax (running max m,
 * running sum l, rescaled accumulator), so no Nq x Nk score matrix ever reaches memory.
 * out = softmax(q k^T * scale + bias) v; D, Dv <= DMAX (checked by the backend).
 * Bindings: 0 q, 1 k, 2 v, 3 bias (dummy when absent), 4 out. */
#include "types.glsl"
#define WG 64
#define BR 8
#define BC 32
#define DMAX 256
layout(local_size_x = WG) in;
layout(push_constant) uniform PC { cascade_pc_attention p; };
layout(binding = 0) readonly buffer Q { T q[]; };
layout(binding = 1) readonly buffer K { T k[]; };
layout(binding = 2) readonly buffer V { T v[]; };
layout(binding = 3) readonly buffer Bias { T bias[]; };
layout(binding = 4) writeonly buffer O { T o[]; };

shared float Qs[BR][DMAX];
shared float Os[BR][DMAX];
shared float Ss[BR][BC];
shared float m_row[BR], l_row[BR], a_row[BR];

void main() {
    uint t = gl_LocalInvocationID.x;
    uint bh = gl_WorkGroupID.y, q0 = gl_WorkGroupID.x * BR;
    uint bi = bh / p.H, hi = bh % p.H;
    uint D = p.D, Dv = p.Dv;
    for (uint e = t; e < BR * D; e += WG) {
        uint r = e / D, d = e % D;
        Qs[r][d] = q0 + r < p.Nq ? float(q[(bh * p.Nq + q0 + r) * D + d]) * p.scale : 0.0;
    }
    for (uint e = t; e < BR * Dv; e += WG) Os[e / Dv][e % Dv] = 0.0;
    if (t < BR) {
        m_row[t] = -1.0 / 0.0;
        l_row[t] = 0.0;
    }
    barrier();

    for (uint k0 = 0u; k0 < p.Nk; k0 += BC) {
        uint nk = min(uint(BC), p.Nk - k0);
        for (uint e = t; e < BR * BC; e += WG) {
            uint r = e / BC, j = e % BC;
            float s = -1.0 / 0.0;
            if (j < nk && q0 + r < p.Nq) {
                uint kb = (bh * p.Nk + k0 + j) * D;
                s = 0.0;
                for (uint d = 0u; d < D; d++) s += Qs[r][d] * float(k[kb + d]);
                if (p.has_bias != 0u)
                    s += float(bias[bi * p.bs[0] + hi * p.bs[1] + (q0 + r) * p.bs[2] +
                                    (k0 + j) * p.bs[3]]);
            }
            Ss[r][j] = s;
        }
        barrier();
        if (t < BR) {
            float m_old = m_row[t], m_new = m_old;
            for (uint j = 0u; j < nk; j++) m_new = max(m_new, Ss[t][j]);
            /* a row masked so far (all -inf) contributes nothing and keeps scale 1 */
            bool none = m_new == -1.0 / 0.0;
            float a = none ? 1.0 : exp(m_old - m_new);
            float sum = 0.0;
            for (uint j = 0u; j < BC; j++) {
                float pj = (none || j >= nk) ? 0.0 : exp(Ss[t][j] - m_new);
                Ss[t][j] = pj;
                sum += pj;
            }
            l_row[t] = l_row[t] * a + sum;
            m_row[t] = m_new;
            a_row[t] = a;
        }
        barrier();
        for (uint e = t; e < BR * Dv; e += WG) {
            uint r = e / Dv, d = e % Dv;
            float acc = Os[r][d] * a_row[r];
            uint vb = (bh * p.Nk + k0) * Dv + d;
            for (uint j = 0u; j < nk; j++) acc += Ss[r][j] * float(v[vb + j * Dv]);
            Os[r][d] = acc;
        }
        barrier();
    }

    for (uint e = t; e < BR * Dv; e += WG) {
        uint r = e / Dv, d = e % Dv;
        if (q0 + r < p.Nq) o[(bh * p.Nq + q0 + r) * Dv + d] = T(Os[r][d] / l_row[r]);
    }
}
