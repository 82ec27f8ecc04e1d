/* CPU vs Vulkan, op by op (ggml's test-backend-ops, ncnn's test_layer): every case builds a
 * tiny graph over awkward shapes, runs it on the CPU reference and on Vulkan (fp32 and,
 * where the device has 16-bit storage, fp16), and compares by NMSE. Every case also checks
 * the guard bytes around the device buffers and that the validation layer stayed silent.
 * With no Vulkan device each case skips, unless CASCADE_REQUIRE_VULKAN=1. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cascade/backend.h"
#include "cascade/graph.h"
#include "cascade/vulkan.h"
#include "ops-common.h"
#include "test-common.h"

#define NMSE_F16 3e-5
/* int8 weight-only, one scale per output channel: the step is max|w_row| / 127 and the
 * rounding error is uniform in half a step, RMS step / sqrt(12). For the uniform weights
 * these cases use (RMS max / sqrt(3)) that is a relative RMS weight error of
 * 1 / (127 * 2) = 3.9e-3, NMSE 1.6e-5, and a dot product with independent inputs keeps
 * the same relative error. 1e-4 leaves room for short rows (a row's max is then below the
 * distribution's) without admitting a wrong scale or row (NMSE ~1e-2 and more). */
#define NMSE_Q8 1e-4

typedef struct op_case op_case;
/* Builds the case's graph and returns the output value. */
typedef cascade_value_id (*build_fn)(cascade_graph *g, const op_case *c);

struct op_case {
    const char *name;
    build_fn    build;
    int64_t     s[8];     /* shapes and parameters, meaning per builder */
    int32_t     k;        /* an op parameter (unary kind, axis, ...) */
    double      max_nmse; /* fp32; 0: NMSE_F32 */
    double      max_nmse_f16; /* 0: NMSE_F16 */
};

/* ---- builders ---- */

static cascade_value_id b_binary(cascade_graph *g, const op_case *c) {
    /* s[0..3] a shape (4-d, leading 1s allowed), s[4..7] b shape; k = op */
    cascade_value_id a = in4(g, "a", 4, c->s[0], c->s[1], c->s[2], c->s[3]);
    cascade_value_id b = in4(g, "b", 4, c->s[4], c->s[5], c->s[6], c->s[7]);
    if (c->k == 3) b = cascade_graph_scale(g, cascade_graph_unary(g, CASCADE_UNARY_ABS, b), 1, 0.5f);
    switch (c->k) {
    case 0: return cascade_graph_add(g, a, b);
    case 1: return cascade_graph_sub(g, a, b);
    case 2: return cascade_graph_mul(g, a, b);
    default: return cascade_graph_div(g, a, b);
    }
}

static cascade_value_id b_unary(cascade_graph *g, const op_case *c) {
    cascade_value_id x = in4(g, "x", 3, c->s[0], c->s[1], c->s[2], 1);
    if (c->k == CASCADE_UNARY_SQRT) x = cascade_graph_unary(g, CASCADE_UNARY_ABS, x);
    if (c->k == CASCADE_UNARY_LEAKY_RELU) return cascade_graph_leaky_relu(g, x, 0.1f);
    return cascade_graph_unary(g, (cascade_unary)c->k, x);
}

static cascade_value_id b_scale(cascade_graph *g, const op_case *c) {
    cascade_value_id x = in4(g, "x", 2, c->s[0], c->s[1], 1, 1);
    return c->k ? cascade_graph_clamp(g, x, -0.3f, 0.6f) : cascade_graph_scale(g, x, 1.7f, -0.2f);
}

static cascade_value_id b_matmul(cascade_graph *g, const op_case *c) {
    /* a (s0, s1, M=s2, K=s3), b (s4, s5, K, N=s6) or (s4, s5, N, K) when k = 1 */
    cascade_value_id a = in4(g, "a", 4, c->s[0], c->s[1], c->s[2], c->s[3]);
    cascade_value_id b = c->k ? in4(g, "b", 4, c->s[4], c->s[5], c->s[6], c->s[3])
                              : in4(g, "b", 4, c->s[4], c->s[5], c->s[3], c->s[6]);
    return cascade_graph_matmul(g, a, b, c->k == 1);
}

static cascade_value_id b_linear(cascade_graph *g, const op_case *c) {
    /* x (s0, s1, K=s2), w (N=s3, K) of dtype s4 (cascade_dtype), bias if k */
    cascade_value_id x = in4(g, "x", 3, c->s[0], c->s[1], c->s[2], 1);
    int64_t          ws[2] = {c->s[3], c->s[2]}, bs[1] = {c->s[3]};
    cascade_value_id w = konst(g, "w", (cascade_dtype)c->s[4], 2, ws, 11, -0.5f, 0.5f);
    cascade_value_id b = c->k ? konst(g, "b", CASCADE_DTYPE_F32, 1, bs, 12, -1, 1) : CASCADE_NO_VALUE;
    return cascade_graph_linear(g, x, w, b);
}

static cascade_value_id b_conv(cascade_graph *g, const op_case *c) {
    /* x (1 or 2, C=s0, H=s1, W=s2), O=s3, kernel s4 x s5; k selects stride/pad/groups */
    cascade_value_id      x = in4(g, "x", 4, 2, c->s[0], c->s[1], c->s[2]);
    cascade_conv2d_params p;
    cascade_conv2d_params_init(&p);
    if (c->k == 1) { p.stride[0] = p.stride[1] = 2; p.pad[0] = 1; p.pad[1] = 0; p.pad[2] = 2; p.pad[3] = 1; }
    if (c->k == 2) { p.groups = 2; p.dilation[0] = 2; p.dilation[1] = 1; p.pad[0] = p.pad[2] = 2; }
    if (c->k == 0) { p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = (int32_t)(c->s[4] / 2); }
    int64_t          ws[4] = {c->s[3], c->s[0] / p.groups, c->s[4], c->s[5]}, bs[1] = {c->s[3]};
    cascade_value_id w = konst(g, "w", CASCADE_DTYPE_F32, 4, ws, 21, -0.4f, 0.4f);
    cascade_value_id b = konst(g, "b", CASCADE_DTYPE_F32, 1, bs, 22, -1, 1);
    return cascade_graph_conv2d(g, x, w, b, &p);
}

static cascade_value_id b_group_norm(cascade_graph *g, const op_case *c) {
    cascade_value_id x = in4(g, "x", 4, c->s[0], c->s[1], c->s[2], c->s[3]);
    int64_t          cs[1] = {c->s[1]};
    cascade_value_id w = konst(g, "w", CASCADE_DTYPE_F32, 1, cs, 31, 0.5f, 1.5f);
    cascade_value_id b = konst(g, "b", CASCADE_DTYPE_F32, 1, cs, 32, -0.5f, 0.5f);
    return cascade_graph_group_norm(g, x, w, b, (int32_t)c->s[4], 1e-5f, c->k != 0);
}

static cascade_value_id b_layer_norm(cascade_graph *g, const op_case *c) {
    cascade_value_id x = in4(g, "x", 3, c->s[0], c->s[1], c->s[2], 1);
    x = cascade_graph_scale(g, x, 3.0f, 1.0f); /* a mean and a spread to remove */
    int64_t          cs[1] = {c->s[2]};
    cascade_value_id w = konst(g, "w", CASCADE_DTYPE_F32, 1, cs, 41, 0.5f, 1.5f);
    if (c->k) return cascade_graph_rms_norm(g, x, w, 1e-6f);
    cascade_value_id b = konst(g, "b", CASCADE_DTYPE_F32, 1, cs, 42, -0.5f, 0.5f);
    return cascade_graph_layer_norm(g, x, w, b, 1e-5f);
}

static cascade_value_id b_softmax(cascade_graph *g, const op_case *c) {
    cascade_value_id x = in4(g, "x", 3, c->s[0], c->s[1], c->s[2], 1);
    return cascade_graph_softmax(g, cascade_graph_scale(g, x, 4.0f, 0.0f));
}

static cascade_value_id b_attention(cascade_graph *g, const op_case *c) {
    /* B=s0 H=s1 Nq=s2 Nk=s3 D=s4 Dv=s5; k: 0 no bias, 1 bias (1,1,Nq,Nk), 2 bias (B,1,1,Nk) */
    cascade_value_id q = in4(g, "q", 4, c->s[0], c->s[1], c->s[2], c->s[4]);
    cascade_value_id k = in4(g, "k", 4, c->s[0], c->s[1], c->s[3], c->s[4]);
    cascade_value_id v = in4(g, "v", 4, c->s[0], c->s[1], c->s[3], c->s[5]);
    cascade_value_id b = CASCADE_NO_VALUE;
    if (c->k == 1) b = in4(g, "bias", 4, 1, 1, c->s[2], c->s[3]);
    if (c->k == 2) b = in4(g, "bias", 4, c->s[0], 1, 1, c->s[3]);
    return cascade_graph_attention(g, q, k, v, b, 1.0f / 2.0f);
}

static cascade_value_id b_reshape_permute(cascade_graph *g, const op_case *c) {
    cascade_value_id x = in4(g, "x", 4, c->s[0], c->s[1], c->s[2], c->s[3]);
    if (c->k == 0) {
        int64_t sh[2] = {c->s[0] * c->s[1], -1};
        return cascade_graph_reshape(g, cascade_graph_scale(g, x, 2.0f, 0.0f), 2, sh);
    }
    int32_t perm[4] = {(int32_t)c->s[4], (int32_t)c->s[5], (int32_t)c->s[6], (int32_t)c->s[7]};
    return cascade_graph_permute(g, x, perm);
}

/* depth-to-space as the upscaler writes it (core/upscale/esrgan.c): x (1, s*s*C, H, W) ->
 * view (1, s, s, C, H, W) -> permute (0, 3, 4, 1, 5, 2) -> (1, C, H*s, W*s); C=s0 H=s1 W=s2
 * s=s3. A 6-d permute, which nothing else in the table exercises. */
static cascade_value_id b_depth_to_space(cascade_graph *g, const op_case *c) {
    int64_t          C = c->s[0], H = c->s[1], W = c->s[2], s = c->s[3];
    cascade_value_id x = in4(g, "x", 4, 1, s * s * C, H, W);
    int64_t          v6[6] = {1, s, s, C, H, W}, o4[4] = {1, C, H * s, W * s};
    const int32_t    perm[6] = {0, 3, 4, 1, 5, 2};
    x = cascade_graph_reshape(g, x, 6, v6);
    x = cascade_graph_permute(g, x, perm);
    return cascade_graph_reshape(g, x, 4, o4);
}

static cascade_value_id b_concat(cascade_graph *g, const op_case *c) {
    /* three inputs along axis k of (s0, s1, s2) with that axis sized s3, s4, s5 */
    cascade_value_id xs[3];
    for (int i = 0; i < 3; i++) {
        int64_t sh[3] = {c->s[0], c->s[1], c->s[2]};
        sh[c->k] = c->s[3 + i];
        char name[8];
        snprintf(name, sizeof name, "x%d", i);
        xs[i] = cascade_graph_input(g, name, CASCADE_DTYPE_F32, 3, sh);
    }
    return cascade_graph_concat(g, 3, xs, c->k);
}

static cascade_value_id b_slice(cascade_graph *g, const op_case *c) {
    cascade_value_id x = in4(g, "x", 3, c->s[0], c->s[1], c->s[2], 1);
    return cascade_graph_slice(g, x, c->k, c->s[3], c->s[4], c->s[5]);
}

static cascade_value_id b_resample(cascade_graph *g, const op_case *c) {
    /* x (1, C=s0, H=s1, W=s2); k 0 nearest (s3, s4), 1/2 bilinear to (s3, s4) with
     * align_corners = k - 1, 3 avg pool kernel (s3, s4) stride (s5, s6) */
    cascade_value_id x = in4(g, "x", 4, 1, c->s[0], c->s[1], c->s[2]);
    switch (c->k) {
    case 0: return cascade_graph_upsample_nearest(g, x, (int32_t)c->s[3], (int32_t)c->s[4]);
    case 1:
    case 2: return cascade_graph_resize_bilinear(g, x, c->s[3], c->s[4], c->k == 2);
    default:
        return cascade_graph_avg_pool2d(g, x, (int32_t)c->s[3], (int32_t)c->s[4], (int32_t)c->s[5],
                                        (int32_t)c->s[6]);
    }
}

static cascade_value_id b_get_rows(cascade_graph *g, const op_case *c) {
    /* table (V=s0, D=s1) of dtype s4, ids (s2, s3) I32 input */
    int64_t          ts[2] = {c->s[0], c->s[1]}, is[2] = {c->s[2], c->s[3]};
    cascade_value_id t = konst(g, "table", (cascade_dtype)c->s[4], 2, ts, 51, -2, 2);
    cascade_value_id ids = cascade_graph_input(g, "ids", CASCADE_DTYPE_I32, 2, is);
    cascade_value_id r = cascade_graph_get_rows(g, t, ids);
    return cascade_graph_cast(g, r, CASCADE_DTYPE_F32);
}

static cascade_value_id b_mean(cascade_graph *g, const op_case *c) {
    cascade_value_id x = in4(g, "x", 3, c->s[0], c->s[1], c->s[2], 1);
    return cascade_graph_mean(g, x, c->k);
}

static cascade_value_id b_cast(cascade_graph *g, const op_case *c) {
    cascade_value_id x = in4(g, "x", 2, c->s[0], c->s[1], 1, 1);
    x = cascade_graph_scale(g, x, 50.0f, 0.0f);
    (void)c; /* the graph casts only to F32 and I32 */
    cascade_value_id i = cascade_graph_cast(g, x, CASCADE_DTYPE_I32);
    return cascade_graph_cast(g, i, CASCADE_DTYPE_F32);
}

/* The sinusoidal timestep embedding: t (B) -> (B, 1) * freqs (1, half) -> [sin, cos] along
 * axis 1. Input "t" is filled with timesteps in [0, 1000), where fp16-stored angles would
 * be 0.5 apart; fp16 plans keep the factors fp32 and form the product inside sin/cos. */
static cascade_value_id b_time_proj(cascade_graph *g, const op_case *c) {
    int64_t          b = c->s[0], half = c->s[1], ts[1] = {b}, fs[2] = {1, half};
    cascade_value_id t = cascade_graph_input(g, "t", CASCADE_DTYPE_F32, 1, ts);
    float           *f = malloc(sizeof *f * (size_t)half);
    for (int64_t i = 0; i < half; i++) f[i] = expf(-9.2103404f * (float)i / (float)half);
    cascade_value_id fr = cascade_graph_constant_copy(g, "freqs", CASCADE_DTYPE_F32, 2, fs, f);
    free(f);
    int64_t          bs[2] = {b, 1};
    cascade_value_id arg = cascade_graph_mul(g, cascade_graph_reshape(g, t, 2, bs), fr);
    cascade_value_id parts[2] = {cascade_graph_unary(g, CASCADE_UNARY_SIN, arg),
                                 cascade_graph_unary(g, CASCADE_UNARY_COS, arg)};
    return cascade_graph_concat(g, 2, parts, 1);
}

/* A small U-Net-like block: conv, group norm + SiLU, attention over pixels, residual. */
static cascade_value_id b_block(cascade_graph *g, const op_case *c) {
    int64_t               C = c->s[0], H = c->s[1], W = c->s[2];
    cascade_value_id      x = in4(g, "x", 4, 1, C, H, W);
    cascade_conv2d_params p;
    cascade_conv2d_params_init(&p);
    p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
    int64_t          ws[4] = {C, C, 3, 3}, bs[1] = {C};
    cascade_value_id h = cascade_graph_conv2d(g, x, konst(g, "w", CASCADE_DTYPE_F32, 4, ws, 61, -0.2f, 0.2f),
                                              konst(g, "b", CASCADE_DTYPE_F32, 1, bs, 62, -1, 1), &p);
    h = cascade_graph_group_norm(g, h, CASCADE_NO_VALUE, CASCADE_NO_VALUE, 2, 1e-5f, true);
    int64_t sh[4] = {1, 1, C, H * W};
    cascade_value_id s = cascade_graph_reshape(g, h, 4, sh);
    int32_t perm[4] = {0, 1, 3, 2};
    s = cascade_graph_permute(g, s, perm); /* (1, 1, HW, C) */
    cascade_value_id a = cascade_graph_attention(g, s, s, s, CASCADE_NO_VALUE, 0.5f);
    a = cascade_graph_permute(g, a, perm);
    int64_t sh2[4] = {1, C, H, W};
    a = cascade_graph_reshape(g, a, 4, sh2);
    return cascade_graph_add(g, x, a);
}

#define BIN(nm, k, a0, a1, a2, a3, b0, b1, b2, b3)                                                \
    {nm, b_binary, {a0, a1, a2, a3, b0, b1, b2, b3}, k, 0, 0}
#define UN(nm, k) {nm, b_unary, {3, 17, 5}, k, 0, 0}

static const op_case cases[] = {
    BIN("add_bcast_4d", 0, 2, 3, 17, 5, 1, 3, 1, 5),
    BIN("add_same", 0, 1, 1, 1, 65, 1, 1, 1, 65),
    BIN("sub_scalar", 1, 1, 1, 3, 63, 1, 1, 1, 1),
    BIN("mul_rows", 2, 1, 2, 17, 65, 1, 1, 17, 1),
    BIN("div_bcast", 3, 2, 1, 3, 17, 1, 5, 3, 1),
    UN("unary_silu", CASCADE_UNARY_SILU),
    UN("unary_gelu", CASCADE_UNARY_GELU),
    UN("unary_gelu_tanh", CASCADE_UNARY_GELU_TANH),
    UN("unary_quick_gelu", CASCADE_UNARY_QUICK_GELU),
    UN("unary_relu", CASCADE_UNARY_RELU),
    UN("unary_leaky_relu", CASCADE_UNARY_LEAKY_RELU),
    UN("unary_sigmoid", CASCADE_UNARY_SIGMOID),
    UN("unary_tanh", CASCADE_UNARY_TANH),
    UN("unary_exp", CASCADE_UNARY_EXP),
    UN("unary_sin", CASCADE_UNARY_SIN),
    UN("unary_cos", CASCADE_UNARY_COS),
    UN("unary_neg", CASCADE_UNARY_NEG),
    UN("unary_sqrt", CASCADE_UNARY_SQRT),
    UN("unary_abs", CASCADE_UNARY_ABS),
    {"scale", b_scale, {17, 63}, 0, 0, 0},
    {"clamp", b_scale, {3, 65}, 1, 0, 0},
    {"matmul_2d", b_matmul, {1, 1, 17, 63, 1, 1, 65}, 0, 0, 1e-4},
    {"matmul_batch_bcast", b_matmul, {2, 3, 17, 33, 1, 1, 5}, 0, 0, 1e-4},
    {"matmul_bt", b_matmul, {1, 3, 65, 33, 1, 3, 17}, 1, 0, 1e-4},
    {"matmul_bt_bcast_a", b_matmul, {1, 1, 1, 67, 2, 3, 129}, 1, 0, 1e-4},
    /* several 64 x 64 tiles and K steps, ragged on every edge */
    {"matmul_multi_tile", b_matmul, {1, 1, 130, 150, 1, 1, 200}, 0, 0, 1e-4},
    {"linear_bias", b_linear, {2, 17, 63, 65, CASCADE_DTYPE_F32}, 1, 0, 1e-4},
    {"linear_f16_weight", b_linear, {1, 3, 65, 17, CASCADE_DTYPE_F16}, 0, 0, 1e-4},
    {"linear_bf16_weight", b_linear, {1, 1, 17, 3, CASCADE_DTYPE_BF16}, 1, 0, 1e-4},
    {"conv2d_3x3_pad", b_conv, {3, 17, 17, 5, 3, 3}, 0, 0, 1e-4},
    {"conv2d_stride2_asym", b_conv, {4, 17, 15, 65, 3, 3}, 1, 0, 1e-4},
    {"conv2d_groups_dil", b_conv, {6, 9, 7, 4, 3, 1}, 2, 0, 1e-4},
    {"conv2d_1x1", b_conv, {17, 5, 3, 63, 1, 1}, 0, 0, 1e-4},
    {"group_norm", b_group_norm, {2, 6, 5, 7, 3}, 0, 0, 0},
    {"group_norm_silu", b_group_norm, {1, 65, 3, 1, 13}, 1, 0, 0},
    {"layer_norm", b_layer_norm, {3, 17, 65}, 0, 0, 0},
    {"rms_norm", b_layer_norm, {1, 3, 63}, 1, 0, 0},
    {"softmax", b_softmax, {3, 17, 65}, 0, 0, 0},
    {"softmax_row1", b_softmax, {1, 3, 1}, 0, 0, 0},
    {"attention", b_attention, {2, 3, 17, 33, 8, 5}, 0, 0, 1e-4},
    {"attention_bias_qk", b_attention, {1, 2, 9, 65, 16, 16}, 1, 0, 1e-4},
    {"attention_bias_key", b_attention, {2, 1, 63, 17, 3, 7}, 2, 0, 1e-4},
    {"reshape", b_reshape_permute, {2, 3, 5, 7}, 0, 0, 0},
    {"permute_0231", b_reshape_permute, {2, 3, 5, 7, 0, 2, 3, 1}, 1, 0, 0},
    {"permute_3102", b_reshape_permute, {2, 3, 1, 17, 3, 1, 0, 2}, 1, 0, 0},
    {"depth_to_space_x2", b_depth_to_space, {3, 17, 5, 2}, 0, 0, 0},
    {"depth_to_space_x3", b_depth_to_space, {1, 3, 65, 3}, 0, 0, 0},
    {"concat_axis1", b_concat, {2, 0, 5, 3, 1, 17}, 1, 0, 0},
    {"concat_axis2", b_concat, {3, 2, 0, 1, 4, 7}, 2, 0, 0},
    {"slice_step2", b_slice, {2, 3, 17, 1, 8, 2}, 2, 0, 0},
    {"slice_axis0", b_slice, {5, 3, 7, 2, 3, 1}, 0, 0, 0},
    {"upsample_nearest", b_resample, {3, 5, 7, 2, 3}, 0, 0, 0},
    {"resize_bilinear_up", b_resample, {2, 5, 7, 17, 9}, 1, 0, 0},
    {"resize_bilinear_align", b_resample, {2, 5, 7, 17, 9}, 2, 0, 0},
    {"resize_bilinear_down", b_resample, {2, 17, 17, 5, 6}, 1, 0, 0},
    {"avg_pool_2x2", b_resample, {3, 17, 16, 2, 2, 2, 2}, 3, 0, 0},
    {"avg_pool_3s2", b_resample, {2, 9, 11, 3, 3, 2, 2}, 3, 0, 0},
    {"get_rows", b_get_rows, {65, 17, 3, 5, CASCADE_DTYPE_F32}, 0, 0, 0},
    {"get_rows_f16_table", b_get_rows, {7, 63, 1, 3, CASCADE_DTYPE_F16}, 0, 0, 0},
    {"mean_axis1", b_mean, {3, 17, 5}, 1, 0, 0},
    {"mean_last", b_mean, {3, 5, 65}, 2, 0, 0},
    {"cast_i32_roundtrip", b_cast, {5, 13}, 2, 0, 0},
    {"block_conv_gn_attn", b_block, {4, 5, 7}, 0, 0, 1e-4},
    /* fp16: only the output's own rounding (NMSE ~u^2/3 = 8e-8) */
    {"time_proj", b_time_proj, {3, 65}, 0, 0, 1e-6},
    {"time_proj_1", b_time_proj, {1, 1}, 0, 0, 1e-6},
};
#define N_CASES (sizeof cases / sizeof cases[0])

/* precision: 0 fp32, 1 fp16, 2 int8 weights, OPS_COOPMAT fp16 on the tensor-core GEMM (its
 * products are fp16 x fp16 into fp32, so it keeps the fp16 bounds) */
static void run_case(const op_case *c, int precision) {
    cascade_backend *vk = need_vulkan(precision);
    cascade_error    err;
    cascade_error_init(&err);
    cascade_graph *g = NULL;
    assert_int_equal(cascade_graph_new(&g, &err), 0);
    cascade_value_id out = c->build(g, c);
    if (out != CASCADE_NO_VALUE) cascade_graph_mark_output(g, out, "out");
    if (cascade_graph_status(g, &err)) fail_msg("%s: graph: %s", c->name, err.message);
    uint64_t   msgs = cascade_vulkan_validation_messages(vk);
    run_result want, got;
    run_on(fx.cpu, g, out, &want);
    run_on(vk, g, out, &got);
    assert_int_equal(got.n, want.n);
    test_diff d;
    test_compare(got.out, want.out, got.n, 1e30, 0, &d);
    double max = precision == 2 ? NMSE_Q8
                 : precision  ? (c->max_nmse_f16 > 0 ? c->max_nmse_f16 : NMSE_F16)
                              : (c->max_nmse > 0 ? c->max_nmse : NMSE_F32);
    static const char *const prec_name[] = {"fp32", "fp16", "int8", "coopmat"};
    char label[128];
    snprintf(label, sizeof label, "%s %s", c->name, prec_name[precision]);
    fprintf(stderr, "# %-28s nmse %.3g (max %.1g)\n", label, d.nmse, max);
    bool ok = d.n_bad == 0 && d.nmse <= max;
    if (!ok) test_diff_print(label, got.out, want.out, got.n, &d);
    free(got.out);
    free(want.out);
    cascade_graph_free(g);
    assert_true(ok);
    /* any validation-layer message fails the case */
    assert_int_equal(cascade_vulkan_validation_messages(vk), msgs);
}

static void test_ops_fp32(void **state) { run_case(*state, 0); }
static void test_ops_fp16(void **state) { run_case(*state, 1); }
static void test_ops_int8(void **state) { run_case(*state, 2); }
static void test_ops_coopmat(void **state) { run_case(*state, OPS_COOPMAT); }

/* Cases with a LINEAR or CONV2D weight, which the int8 option quantizes. */
static bool has_weights(const op_case *c) {
    return c->build == b_linear || c->build == b_conv || c->build == b_block;
}

/* Cases the tensor-core GEMM runs: every LINEAR, CONV2D and MATMUL. */
static bool has_gemm(const op_case *c) { return has_weights(c) || c->build == b_matmul; }

int main(void) {
    struct CMUnitTest tests[4 * N_CASES];
    static char       names[4 * N_CASES][96];
    static const char *const prec[] = {"fp32", "fp16", "int8", "coopmat"};
    void (*const fns[])(void **) = {test_ops_fp32, test_ops_fp16, test_ops_int8,
                                    test_ops_coopmat};
    const char *why = NULL;
    bool        coopmat = ops_coopmat_probe(&why);
    printf("# tensor-core GEMM cases %s: %s\n", coopmat ? "run" : "NOT RUN", why);
    size_t k = 0;
    for (size_t i = 0; i < N_CASES; i++)
        for (int p = 0; p < 4; p++) {
            if (p == 2 && !has_weights(&cases[i])) continue;
            if (p == OPS_COOPMAT && (!coopmat || !has_gemm(&cases[i]))) continue;
            snprintf(names[k], sizeof names[k], "test_ops_%s_%s", cases[i].name, prec[p]);
            tests[k] = (struct CMUnitTest){names[k], fns[p], NULL, NULL, (void *)&cases[i]};
            k++;
        }
    return _cmocka_run_group_tests("backend-ops", tests, k, ops_group_setup, ops_group_teardown);
}
