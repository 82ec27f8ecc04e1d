#version 450
/* Tiled GEMM through shared memory: 64x64 output tile per workgroup, K in steps of 32,
 * 256 invocations each computing 4x4 outputs (strided by 16), fp32 accumulation.
 * MATMUL/LINEAR: C[z] (M, N) = A[z] (M, K) B[z] (K, N) [+ bias (N)] with arbitrary
 *   element strides (transposed B, broadcast batch dims with stride 0).
 * CONV2D (implicit GEMM): per group g = z, A = weight rows (Og, Cg kh kw), B gathered
 *   from x (N, C, H, W) on the fly, C written to (N, O, OH, OW).
 * Q8 (int8 weight-only, LINEAR's b and CONV2D's w): binding 1 holds R fp32 scales, one per
 *   output channel, then the int8 weights row-major, four to a word; dequantized here.
 * COOPMAT (tensor cores, GL_NV_cooperative_matrix): the same tiles and loaders, but the
 *   shared tiles hold fp16 and each of the 8 subgroups of 32 multiplies a 16 x 32 strip of
 *   the 64 x 64 tile with 16 x 16 x 16 fp16 matrices into fp32 accumulators. Selected at plan
 *   time only on devices reporting that shape (core/vulkan/vk-coopmat.c).
 * Bindings: matmul: 0 a, 1 b, 2 bias, 3 out.  conv: 0 x, 1 w, 2 bias, 3 out. */
#include "types.glsl"
#ifdef COOPMAT
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#endif
#define BM 64
#define BN 64
#define BK 32
layout(local_size_x = 256) in;
layout(binding = 0) readonly buffer In0 { T in0[]; };
#ifdef Q8
layout(binding = 1) readonly buffer In1 { uint in1q[]; };
#else
layout(binding = 1) readonly buffer In1 { T in1[]; };
#endif
layout(binding = 2) readonly buffer Bias { T bias[]; };
layout(binding = 3) writeonly buffer O { T o[]; };

#ifdef CONV
layout(push_constant) uniform PC { cascade_pc_conv2d p; };
#else
layout(push_constant) uniform PC { cascade_pc_matmul p; };
#endif

#ifdef Q8
/* weight e (row-major index) of output channel `row` in a quantized constant of R rows */
float wq8(uint e, uint row, uint R) {
    int q = bitfieldExtract(int(in1q[R + e / 4u]), int(8u * (e % 4u)), 8);
    return float(q) * uintBitsToFloat(in1q[row]);
}
#endif

#ifdef CONV
/* a / d for a < 2^24 through a float reciprocal (r = 1 / d), corrected by one step: the
 * float estimate is off by less than 1 there, and integer division is scalarised on CPU
 * drivers (lavapipe) */
uint fdiv(uint a, uint d, float r) {
    uint q = uint(float(a) * r);
    if (q * d > a) q--;
    else if ((q + 1u) * d <= a) q++;
    return q;
}
#endif

/* 2 x 32 x 64 floats = 16 KiB, Vulkan's guaranteed maxComputeSharedMemorySize; BK = 32
 * rather than 16 halves the barriers per K, which CPU drivers (lavapipe) pay per
 * invocation group: conv time halved there */
#ifdef COOPMAT
/* fp16 tiles, k-major as in the plain kernel: A (m, k) at k BM + m is column-major with
 * stride BM, B (k, n) at k BN + n row-major with stride BN; one 16 x 16 fp32 staging block
 * per subgroup for the bounds-checked write-out */
shared float16_t As[BK * BM];
shared float16_t Bs[BK * BN];
shared float     Cs[8 * 256];
#define PUT_A(kk, mm, v) As[(kk) * BM + (mm)] = float16_t(v)
#define PUT_B(kk, nn, v) Bs[(kk) * BN + (nn)] = float16_t(v)
#else
shared float As[BK][BM];
shared float Bs[BK][BN];
#define PUT_A(kk, mm, v) As[kk][mm] = (v)
#define PUT_B(kk, nn, v) Bs[kk][nn] = (v)
#endif

uint M, Ncol, m0, n0, z;

/* One output element: bounds, bias, the op's layout. */
void store_out(uint m, uint n, float v) {
    if (m >= M || n >= Ncol) return;
#ifdef CONV
    uint oc = z * (p.O / p.groups) + m;
    if (p.has_bias != 0u) v += float(bias[oc]);
    uint sp = p.OH * p.OW, nb = n / sp;
    o[(nb * p.O + oc) * sp + n % sp] = T(v);
#else
    if (p.has_bias != 0u) v += float(bias[n]);
    o[(z * M + m) * Ncol + n] = T(v);
#endif
}

void main() {
    uint t = gl_LocalInvocationID.x;
    /* each invocation owns rows tm + 16 i and columns tn + 16 j (i, j < 4): neighbouring
     * invocations read neighbouring shared-memory words and write neighbouring outputs */
    uint tm = t / 16u, tn = t % 16u;
    m0 = gl_WorkGroupID.y * BM;
    n0 = gl_WorkGroupID.x * BN;
    z = gl_WorkGroupID.z;
#ifdef CONV
    uint Cg = p.C / p.groups, Og = p.O / p.groups;
    M = Og;
    Ncol = p.N * p.OH * p.OW;
    uint K = Cg * p.kh * p.kw, khw = p.kh * p.kw;
    uint abase = z * Og * K;
#else
    M = p.M;
    Ncol = p.N;
    uint K = p.K;
    uint zb0 = z / p.nb1, zb1 = z % p.nb1;
    uint abase = zb0 * p.sa_b0 + zb1 * p.sa_b1, bbase = zb0 * p.sb_b0 + zb1 * p.sb_b1;
#endif
#ifdef COOPMAT
    /* subgroup sg: rows 16 (sg % 4), columns 32 (sg / 4) + 16 j of the tile */
    uint sg = gl_SubgroupID, sm = 16u * (sg % 4u), sn = 32u * (sg / 4u);
    fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[2];
    acc[0] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
    acc[1] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
#else
    float acc[4][4];
    for (uint i = 0u; i < 4u; i++)
        for (uint j = 0u; j < 4u; j++) acc[i][j] = 0.0;
#endif
#ifdef CONV
    /* 256 invocations over BN = 64 columns: each one loads the same B-tile column at every
     * K step, so its output pixel's coordinates are worked out once, here */
    uint nn_t = t % BN, n_t = n0 + nn_t;
    bool n_ok = n_t < Ncol;
    int  ih0 = 0, iw0 = 0;
    uint xbase = 0u;
    if (n_ok) {
        uint ow = n_t % p.OW, r = n_t / p.OW, oh = r % p.OH, nb = r / p.OH;
        ih0 = int(oh * p.sh) - int(p.pt);
        iw0 = int(ow * p.sw) - int(p.pl);
        xbase = (nb * p.C + z * Cg) * p.H * p.W;
    }
    float r_khw = 1.0 / float(khw), r_kw = 1.0 / float(p.kw);
#endif

    for (uint k0 = 0u; k0 < K; k0 += BK) {
        for (uint e = t; e < BM * BK; e += 256u) {
            uint mm = e / BK, kk = e % BK, m = m0 + mm, k = k0 + kk;
            float v = 0.0;
#ifdef CONV
#ifdef Q8
            if (m < M && k < K) v = wq8(abase + m * K + k, z * Og + m, p.O);
#else
            if (m < M && k < K) v = float(in1[abase + m * K + k]);
#endif
#else
            if (m < M && k < K) v = float(in0[abase + m * p.sa_m + k * p.sa_k]);
#endif
            PUT_A(kk, mm, v);
        }
#ifdef CONV
        for (uint e = t; e < BN * BK; e += 256u) {
            uint kk = e / BN, k = k0 + kk; /* e % BN == nn_t */
            float v = 0.0;
            if (n_ok && k < K) {
                uint c = fdiv(k, khw, r_khw), kr = k - c * khw;
                uint ky = fdiv(kr, p.kw, r_kw), kx = kr - ky * p.kw;
                int  ih = ih0 + int(ky * p.dh), iw = iw0 + int(kx * p.dw);
                if (ih >= 0 && ih < int(p.H) && iw >= 0 && iw < int(p.W))
                    v = float(in0[xbase + (c * p.H + uint(ih)) * p.W + uint(iw)]);
            }
            PUT_B(kk, nn_t, v);
        }
#else
        for (uint e = t; e < BN * BK; e += 256u) {
            uint kk = e / BN, nn = e % BN, n = n0 + nn, k = k0 + kk;
            float v = 0.0;
            if (n < Ncol && k < K) {
#if defined(Q8)
                v = wq8(n * K + k, n, Ncol); /* LINEAR: w (N, K) */
#else
                v = float(in1[bbase + k * p.sb_k + n * p.sb_n]);
#endif
            }
            PUT_B(kk, nn, v);
        }
#endif
        barrier();
#ifdef COOPMAT
        for (uint kk = 0u; kk < BK; kk += 16u) {
            fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a, b0, b1;
            coopMatLoadNV(a, As, kk * BM + sm, BM, true);
            coopMatLoadNV(b0, Bs, kk * BN + sn, BN, false);
            coopMatLoadNV(b1, Bs, kk * BN + sn + 16u, BN, false);
            acc[0] = coopMatMulAddNV(a, b0, acc[0]);
            acc[1] = coopMatMulAddNV(a, b1, acc[1]);
        }
#else
        for (uint kk = 0u; kk < BK; kk++) {
            float a[4], b[4];
            for (uint i = 0u; i < 4u; i++) a[i] = As[kk][tm + 16u * i];
            for (uint j = 0u; j < 4u; j++) b[j] = Bs[kk][tn + 16u * j];
            for (uint i = 0u; i < 4u; i++)
                for (uint j = 0u; j < 4u; j++) acc[i][j] += a[i] * b[j];
        }
#endif
        barrier();
    }

#ifdef COOPMAT
    uint lane = gl_SubgroupInvocationID;
    for (uint j = 0u; j < 2u; j++) {
        coopMatStoreNV(acc[j], Cs, 256u * sg, 16u, false);
        subgroupMemoryBarrierShared();
        subgroupBarrier();
        for (uint e = lane; e < 256u; e += 32u)
            store_out(m0 + sm + e / 16u, n0 + sn + 16u * j + e % 16u, Cs[256u * sg + e]);
        subgroupBarrier();
    }
#else
    for (uint i = 0u; i < 4u; i++)
        for (uint j = 0u; j < 4u; j++) store_out(m0 + tm + 16u * i, n0 + tn + 16u * j, acc[i][j]);
#endif
}
