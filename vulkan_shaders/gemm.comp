#version 450
/* Tiled GEMM through shared memory: 64x64 output tile per workgroup, K in steps of 32,
 * 256 invocations each computing 4x4 outputs (strided by 16), fp32 accumulation.
 * MATMUL/LINEAR: C[z] (M, N) = A[z] (M, K) B[z] (K, N) [+ bias (N)] with arbitrary
 *   element strides (transposed B, broadcast batch dims with stride 0).
 * CONV2D (implicit GEMM): per group g = z, A = weight rows (Og, Cg kh kw), B gathered
 *   from x (N, C, H, W) on the fly, C written to (N, O, OH, OW).
 * Q8 (int8 weight-only, LINEAR's b and CONV2D's w): binding 1 holds R fp32 scales, one per
 *   output channel, then the int8 weights row-major, four to a word; dequantized here.
 * COOPMAT (tensor cores, GL_NV_cooperative_matrix): the same loaders on a 128 x 128 tile
 *   held in fp16; the 8 subgroups of 32 form a 4 x 2 grid, each multiplying a 32 x 64 part
 *   of the tile as 2 x 4 blocks of 16 x 16 x 16 fp16 matrices into fp32 accumulators.
 *   Selected at plan time only on devices reporting that shape (core/vulkan/vk-coopmat.c).
 * Bindings: matmul: 0 a, 1 b, 2 bias, 3 out.  conv: 0 x, 1 w, 2 bias, 3 out. */
#include "types.glsl"
#ifdef COOPMAT
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#endif
#ifdef COOPMAT
#define BM 128 /* GEMM_TILE_COOPMAT in core/vulkan/vk-ops-matmul.c */
#define BN 128
#else
#define BM 64 /* GEMM_TILE */
#define BN 64
#endif
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
 * per subgroup for the bounds-checked write-out. 8 + 8 + 8 KiB. Every matrix offset and
 * stride is a multiple of 16 bytes. */
#define FM 2 /* 16-row blocks per subgroup: BM / 4 / 16 */
#define FN 4 /* 16-column blocks per subgroup: BN / 2 / 16 */
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
    /* subgroup sg: rows sm + 16 i (i < FM), columns sn + 16 j (j < FN) of the tile */
    uint sg = gl_SubgroupID, sm = 16u * FM * (sg % 4u), sn = 16u * FN * (sg / 4u);
    fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[FM * FN];
    for (uint i = 0u; i < FM * FN; i++) acc[i] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
#else
    float acc[4][4];
    for (uint i = 0u; i < 4u; i++)
        for (uint j = 0u; j < 4u; j++) acc[i][j] = 0.0;
#endif
#ifdef CONV
    /* 256 invocations over BN (64 or 128) columns: each one loads the same B-tile column at
     * every K step, so its output pixel's coordinates are worked out once, here */
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
            fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a[FM], b[FN];
            for (uint i = 0u; i < FM; i++)
                coopMatLoadNV(a[i], As, kk * BM + sm + 16u * i, BM, true);
            for (uint j = 0u; j < FN; j++)
                coopMatLoadNV(b[j], Bs, kk * BN + sn + 16u * j, BN, false);
            for (uint i = 0u; i < FM; i++)
                for (uint j = 0u; j < FN; j++)
                    acc[i * FN + j] = coopMatMulAddNV(a[i], b[j], acc[i * FN + j]);
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
    for (uint f = 0u; f < FM * FN; f++) {
        uint r0 = m0 + sm + 16u * (f / FN), c0 = n0 + sn + 16u * (f % FN);
        coopMatStoreNV(acc[f], Cs, 256u * sg, 16u, false);
        subgroupMemoryBarrierShared();
        subgroupBarrier();
        for (uint e = lane; e < 256u; e += 32u)
            store_out(r0 + e / 16u, c0 + e % 16u, Cs[256u * sg + e]);
        subgroupBarrier();
    }
#else
    for (uint i = 0u; i < 4u; i++)
        for (uint j = 0u; j < 4u; j++) store_out(m0 + tm + 16u * i, n0 + tn + 16u * j, acc[i][j]);
#endif
}
