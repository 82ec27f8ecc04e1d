/* Push-constant layouts, one per shader family. This file compiles as GLSL (VULKAN is
 * defined by glslc) and as C (core/vulkan/vk-push.h includes it and pins every layout with
 * _Static_assert on sizeof and offsetof). Only 32-bit scalars and arrays of them, so the
 * std430 push-constant layout and the C layout agree without padding rules. */
#ifndef CASCADE_PUSH_PARAMS_GLSL
#define CASCADE_PUSH_PARAMS_GLSL

#ifdef VULKAN
#define PC_U32 uint
#define PC_I32 int
#define PC_F32 float
#define PC_STRUCT_BEGIN(n) struct n {
#define PC_STRUCT_END(n) };
#else
#define PC_U32 uint32_t
#define PC_I32 int32_t
#define PC_F32 float
#define PC_STRUCT_BEGIN(n) typedef struct n {
#define PC_STRUCT_END(n) } n;
#endif

/* binary.comp: out (ne[0..3]) contiguous; a/b element strides per out dim, 0 = broadcast */
PC_STRUCT_BEGIN(cascade_pc_binary)
    PC_U32 ne[4];
    PC_U32 sa[4];
    PC_U32 sb[4];
    PC_U32 n;
    PC_U32 op; /* 0 add, 1 sub, 2 mul, 3 div; 4 sin(a*b), 5 cos(a*b) (SINCOS variant) */
PC_STRUCT_END(cascade_pc_binary)

/* unary.comp: op < 100 is a cascade_unary; 100 scale (x*f0+f1), 101 clamp(x, f0, f1) */
PC_STRUCT_BEGIN(cascade_pc_unary)
    PC_U32 n;
    PC_U32 op;
    PC_F32 f0;
    PC_F32 f1;
PC_STRUCT_END(cascade_pc_unary)

/* copy.comp: out[obase + o*os0 + m*os1 + i] = in[ibase + o*is0 + m*is1 + i]
 * over (o, m, i) < (n0, n1, n2): concat pieces, slices, materialised reshapes */
PC_STRUCT_BEGIN(cascade_pc_copy)
    PC_U32 n0;
    PC_U32 n1;
    PC_U32 n2;
    PC_U32 is0;
    PC_U32 is1;
    PC_U32 ibase;
    PC_U32 os0;
    PC_U32 os1;
    PC_U32 obase;
PC_STRUCT_END(cascade_pc_copy)

/* permute.comp: out (ne[0..5]) contiguous, st = input stride of each out dim */
PC_STRUCT_BEGIN(cascade_pc_permute)
    PC_U32 n;
    PC_U32 ndim;
    PC_U32 ne[6];
    PC_U32 st[6];
PC_STRUCT_END(cascade_pc_permute)

/* gemm.comp (MATMUL, LINEAR): C (nb0, nb1, M, N) = A (M, K) B (K, N) [+ bias (N)] */
PC_STRUCT_BEGIN(cascade_pc_matmul)
    PC_U32 M;
    PC_U32 N;
    PC_U32 K;
    PC_U32 nb1;     /* batch = z / nb1, z % nb1 */
    PC_U32 sa_b0;
    PC_U32 sa_b1;
    PC_U32 sa_m;
    PC_U32 sa_k;
    PC_U32 sb_b0;
    PC_U32 sb_b1;
    PC_U32 sb_k;
    PC_U32 sb_n;
    PC_U32 has_bias;
PC_STRUCT_END(cascade_pc_matmul)

/* gemm.comp (CONV2D as implicit GEMM): per group, (Og) x (Cg kh kw) @ (Cg kh kw) x (N OH OW) */
PC_STRUCT_BEGIN(cascade_pc_conv2d)
    PC_U32 N;
    PC_U32 C;
    PC_U32 H;
    PC_U32 W;
    PC_U32 O;
    PC_U32 OH;
    PC_U32 OW;
    PC_U32 kh;
    PC_U32 kw;
    PC_U32 sh;
    PC_U32 sw;
    PC_U32 pt;
    PC_U32 pl;
    PC_U32 dh;
    PC_U32 dw;
    PC_U32 groups;
    PC_U32 has_bias;
PC_STRUCT_END(cascade_pc_conv2d)

/* norm.comp: rows of L elements; channel of element i in row r is
 * (r % G) * (L / S) + i / S; mode 0 layer/group norm, 1 RMS norm */
PC_STRUCT_BEGIN(cascade_pc_norm)
    PC_U32 rows;
    PC_U32 L;
    PC_U32 G;
    PC_U32 S;
    PC_U32 mode;
    PC_U32 flags; /* 1 SiLU after, 2 has weight, 4 has bias */
    PC_F32 eps;
PC_STRUCT_END(cascade_pc_norm)

/* softmax.comp and mean.comp: outer x len x inner, reduced over len */
PC_STRUCT_BEGIN(cascade_pc_reduce)
    PC_U32 outer;
    PC_U32 len;
    PC_U32 inner;
PC_STRUCT_END(cascade_pc_reduce)

/* attention.comp: q (B,H,Nq,D), k (B,H,Nk,D), v (B,H,Nk,Dv) contiguous; bias strides
 * per (b, h, q, k), 0 = broadcast */
PC_STRUCT_BEGIN(cascade_pc_attention)
    PC_U32 H;
    PC_U32 Nq;
    PC_U32 Nk;
    PC_U32 D;
    PC_U32 Dv;
    PC_U32 has_bias;
    PC_U32 bs[4];
    PC_F32 scale;
PC_STRUCT_END(cascade_pc_attention)

/* resample.comp: x (NC, H, W) -> (NC, OH, OW); mode 0 nearest, 1 bilinear, 2 avg pool */
PC_STRUCT_BEGIN(cascade_pc_resample)
    PC_U32 n;
    PC_U32 mode;
    PC_U32 H;
    PC_U32 W;
    PC_U32 OH;
    PC_U32 OW;
    PC_U32 kh;
    PC_U32 kw;
    PC_U32 sh;
    PC_U32 sw;
    PC_U32 align_corners;
PC_STRUCT_END(cascade_pc_resample)

/* get_rows.comp: table (V, D), ids (n_ids) -> (n_ids, D) */
PC_STRUCT_BEGIN(cascade_pc_rows)
    PC_U32 V;
    PC_U32 D;
    PC_U32 n_ids;
PC_STRUCT_END(cascade_pc_rows)

/* cast.comp: mode 0 copy, 1 round through fp16, 2 round through bf16,
 * 3 float -> int (toward zero), 4 int -> float, 5 int copy */
PC_STRUCT_BEGIN(cascade_pc_cast)
    PC_U32 n;
    PC_U32 mode;
PC_STRUCT_END(cascade_pc_cast)

#endif
