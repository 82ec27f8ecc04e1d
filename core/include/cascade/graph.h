/* The op graph: a model's forward pass built once over fixed shapes, then executed by a
 * backend. Every node yields one value; a value id is the node's index. Builders never
 * abort: the first shape or argument error is recorded in the graph ("sticky") and every
 * later builder returns CASCADE_NO_VALUE, so a model checks cascade_graph_status() once.
 *
 * Layout conventions: images are NCHW, sequences (B, N, C), attention heads (B, H, N, D).
 * Node outputs are F32 (GET_ROWS and CAST follow their input/argument); constants may be
 * F32, F16, BF16 or I8 and backends convert them to what they compute in. */
#ifndef CASCADE_GRAPH_H
#define CASCADE_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/status.h"
#include "cascade/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t cascade_value_id;
#define CASCADE_NO_VALUE ((cascade_value_id)-1)

typedef enum cascade_op {
    CASCADE_OP_INPUT = 0,   /* written by the caller before each run */
    CASCADE_OP_CONSTANT,    /* weights and tables; data borrowed or graph-owned */
    CASCADE_OP_ADD,         /* a + b, numpy broadcasting */
    CASCADE_OP_SUB,         /* a - b */
    CASCADE_OP_MUL,         /* a * b */
    CASCADE_OP_DIV,         /* a / b */
    CASCADE_OP_UNARY,       /* iparams[0] = cascade_unary; fparams[0] = alpha (leaky relu) */
    CASCADE_OP_SCALE,       /* x * fparams[0] + fparams[1] */
    CASCADE_OP_CLAMP,       /* clamp(x, fparams[0], fparams[1]) */
    CASCADE_OP_MATMUL,      /* a (..., M, K) @ b (..., K, N) -> (..., M, N); iparams[0] = 1:
                               b is (..., N, K) (transposed); batch dims broadcast */
    CASCADE_OP_LINEAR,      /* x (..., K), w (N, K), [bias (N)] -> (..., N), as nn.Linear */
    CASCADE_OP_CONV2D,      /* x (N, C, H, W), w (O, C/groups, kh, kw), [bias (O)];
                               iparams: stride_h, stride_w, pad_top, pad_left, pad_bottom,
                               pad_right, dilation_h, dilation_w; iparams[8]... see conv2d */
    CASCADE_OP_GROUP_NORM,  /* x (N, C, ...), [w (C)], [b (C)]; iparams[0] = groups,
                               iparams[1] = 1: SiLU after; fparams[0] = eps */
    CASCADE_OP_LAYER_NORM,  /* over the last dim; [w], [b]; fparams[0] = eps */
    CASCADE_OP_RMS_NORM,    /* T5 norm over the last dim: x / sqrt(mean(x^2) + eps) * w */
    CASCADE_OP_SOFTMAX,     /* over the last dim */
    CASCADE_OP_ATTENTION,   /* q (B, H, Nq, D), k (B, H, Nk, D), v (B, H, Nk, Dv),
                               [bias broadcastable to (B, H, Nq, Nk)] -> (B, H, Nq, Dv);
                               softmax(q k^T * fparams[0] + bias) v */
    CASCADE_OP_RESHAPE,     /* same elements, new shape (a view where the backend can) */
    CASCADE_OP_PERMUTE,     /* iparams[0..ndim) = perm: out.shape[i] = in.shape[perm[i]] */
    CASCADE_OP_CONCAT,      /* inputs along axis iparams[0] (2..4 inputs) */
    CASCADE_OP_SLICE,       /* axis iparams[0], start iparams[1], step iparams[2] (>0);
                               length = out shape */
    CASCADE_OP_UPSAMPLE_NEAREST, /* x (N, C, H, W) -> (N, C, H*iparams[0], W*iparams[1]) */
    CASCADE_OP_RESIZE_BILINEAR,  /* x (N, C, H, W) -> (N, C, iparams[0], iparams[1]);
                                    iparams[2] = align_corners, iparams[3] = antialias (0) */
    CASCADE_OP_AVG_POOL2D,  /* x (N, C, H, W); kernel iparams[0..1], stride iparams[2..3] */
    CASCADE_OP_GET_ROWS,    /* table (V, D), ids I32 (...) -> (..., D) */
    CASCADE_OP_MEAN,        /* mean over axis iparams[0], kept as size 1 */
    CASCADE_OP_CAST,        /* to dtype iparams[0] */
    CASCADE_OP_COUNT
} cascade_op;

typedef enum cascade_unary {
    CASCADE_UNARY_SILU = 0,
    CASCADE_UNARY_GELU,      /* exact, erf */
    CASCADE_UNARY_GELU_TANH, /* tanh approximation (transformers' gelu_new) */
    CASCADE_UNARY_QUICK_GELU,/* x * sigmoid(1.702 x) */
    CASCADE_UNARY_RELU,
    CASCADE_UNARY_LEAKY_RELU,
    CASCADE_UNARY_SIGMOID,
    CASCADE_UNARY_TANH,
    CASCADE_UNARY_EXP,
    CASCADE_UNARY_SIN,
    CASCADE_UNARY_COS,
    CASCADE_UNARY_NEG,
    CASCADE_UNARY_SQRT,
    CASCADE_UNARY_ABS,
    CASCADE_UNARY_COUNT
} cascade_unary;

#define CASCADE_NODE_MAX_INPUTS 4
#define CASCADE_NODE_MAX_IPARAMS 12
#define CASCADE_NODE_MAX_FPARAMS 4

typedef struct cascade_node {
    cascade_op       op;
    cascade_dtype    dtype;
    int32_t          ndim;
    int64_t          shape[CASCADE_MAX_DIMS];
    int32_t          n_inputs;
    cascade_value_id inputs[CASCADE_NODE_MAX_INPUTS]; /* CASCADE_NO_VALUE for absent options */
    int32_t          iparams[CASCADE_NODE_MAX_IPARAMS];
    float            fparams[CASCADE_NODE_MAX_FPARAMS];
    const char      *name;     /* scope + op, for messages; graph-owned */
    const cascade_tensor *constant; /* CONSTANT only: borrowed or graph-owned host data */
    bool             is_output;    /* kept alive and readable after a run */
} cascade_node;

typedef struct cascade_graph cascade_graph;

cascade_status cascade_graph_new(cascade_graph **out, cascade_error *err);
void           cascade_graph_free(cascade_graph *g); /* NULL-safe */

/* The sticky build error, copied into err; OK when every builder succeeded. */
cascade_status cascade_graph_status(const cascade_graph *g, cascade_error *err);

int32_t             cascade_graph_n_nodes(const cascade_graph *g);
/* Floating-point operations of one run: 2 per multiply-add of every MATMUL, LINEAR, CONV2D
 * and ATTENTION node (the work tensor cores can do; the rest is bandwidth). */
double cascade_graph_matmul_flops(const cascade_graph *g);
const cascade_node *cascade_graph_node(const cascade_graph *g, cascade_value_id id);
/* Looks up an INPUT or output value by name; CASCADE_NO_VALUE when absent. */
cascade_value_id cascade_graph_find(const cascade_graph *g, const char *name);

/* Names later nodes "<scope>/<op>" so errors and CASCADE_VK_CHECK point at model code. */
void cascade_graph_set_scope(cascade_graph *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- leaves ---- */
cascade_value_id cascade_graph_input(cascade_graph *g, const char *name, cascade_dtype dtype,
                                     int32_t ndim, const int64_t *shape);
/* t is borrowed: it must outlive every plan made from the graph. */
cascade_value_id cascade_graph_constant(cascade_graph *g, const char *name,
                                        const cascade_tensor *t);
/* Copies data (contiguous, dtype) into the graph. */
cascade_value_id cascade_graph_constant_copy(cascade_graph *g, const char *name,
                                             cascade_dtype dtype, int32_t ndim,
                                             const int64_t *shape, const void *data);
void cascade_graph_mark_output(cascade_graph *g, cascade_value_id id, const char *name);

/* ---- ops (each returns the new value, or CASCADE_NO_VALUE after an error) ---- */
cascade_value_id cascade_graph_add(cascade_graph *g, cascade_value_id a, cascade_value_id b);
cascade_value_id cascade_graph_sub(cascade_graph *g, cascade_value_id a, cascade_value_id b);
cascade_value_id cascade_graph_mul(cascade_graph *g, cascade_value_id a, cascade_value_id b);
cascade_value_id cascade_graph_div(cascade_graph *g, cascade_value_id a, cascade_value_id b);
cascade_value_id cascade_graph_unary(cascade_graph *g, cascade_unary kind, cascade_value_id x);
cascade_value_id cascade_graph_leaky_relu(cascade_graph *g, cascade_value_id x, float alpha);
cascade_value_id cascade_graph_scale(cascade_graph *g, cascade_value_id x, float scale,
                                     float bias);
cascade_value_id cascade_graph_clamp(cascade_graph *g, cascade_value_id x, float lo, float hi);
cascade_value_id cascade_graph_matmul(cascade_graph *g, cascade_value_id a, cascade_value_id b,
                                      bool b_transposed);
/* bias may be CASCADE_NO_VALUE. */
cascade_value_id cascade_graph_linear(cascade_graph *g, cascade_value_id x, cascade_value_id w,
                                      cascade_value_id bias);

typedef struct cascade_conv2d_params {
    int32_t stride[2];   /* h, w */
    int32_t pad[4];      /* top, left, bottom, right (TF "same" can be asymmetric) */
    int32_t dilation[2];
    int32_t groups;
} cascade_conv2d_params;
/* stride 1, no padding, dilation 1, 1 group; then callers set what differs. */
void cascade_conv2d_params_init(cascade_conv2d_params *p);
cascade_value_id cascade_graph_conv2d(cascade_graph *g, cascade_value_id x, cascade_value_id w,
                                      cascade_value_id bias, const cascade_conv2d_params *p);

cascade_value_id cascade_graph_group_norm(cascade_graph *g, cascade_value_id x,
                                          cascade_value_id w, cascade_value_id b,
                                          int32_t groups, float eps, bool silu);
cascade_value_id cascade_graph_layer_norm(cascade_graph *g, cascade_value_id x,
                                          cascade_value_id w, cascade_value_id b, float eps);
cascade_value_id cascade_graph_rms_norm(cascade_graph *g, cascade_value_id x, cascade_value_id w,
                                        float eps);
cascade_value_id cascade_graph_softmax(cascade_graph *g, cascade_value_id x);
/* bias may be CASCADE_NO_VALUE; it broadcasts to (B, H, Nq, Nk). */
cascade_value_id cascade_graph_attention(cascade_graph *g, cascade_value_id q,
                                         cascade_value_id k, cascade_value_id v,
                                         cascade_value_id bias, float scale);

/* One dim of shape may be -1 (inferred). */
cascade_value_id cascade_graph_reshape(cascade_graph *g, cascade_value_id x, int32_t ndim,
                                       const int64_t *shape);
cascade_value_id cascade_graph_permute(cascade_graph *g, cascade_value_id x,
                                       const int32_t *perm);
cascade_value_id cascade_graph_concat(cascade_graph *g, int32_t n, const cascade_value_id *xs,
                                      int32_t axis);
/* Elements start, start+step, ... (len of them) along axis; negative axis counts back. */
cascade_value_id cascade_graph_slice(cascade_graph *g, cascade_value_id x, int32_t axis,
                                     int64_t start, int64_t len, int64_t step);
cascade_value_id cascade_graph_upsample_nearest(cascade_graph *g, cascade_value_id x,
                                                int32_t fh, int32_t fw);
cascade_value_id cascade_graph_resize_bilinear(cascade_graph *g, cascade_value_id x,
                                               int64_t out_h, int64_t out_w,
                                               bool align_corners);
cascade_value_id cascade_graph_avg_pool2d(cascade_graph *g, cascade_value_id x, int32_t kh,
                                          int32_t kw, int32_t sh, int32_t sw);
cascade_value_id cascade_graph_get_rows(cascade_graph *g, cascade_value_id table,
                                        cascade_value_id ids);
cascade_value_id cascade_graph_mean(cascade_graph *g, cascade_value_id x, int32_t axis);
cascade_value_id cascade_graph_cast(cascade_graph *g, cascade_value_id x, cascade_dtype dtype);

/* Shape of a value (ndim and up to CASCADE_MAX_DIMS dims); false for an invalid id. */
bool cascade_graph_shape(const cascade_graph *g, cascade_value_id id, int32_t *ndim,
                         int64_t *shape);

const char *cascade_op_name(cascade_op op);
/* UNARY, SCALE, CLAMP: y[k] = f(x[k]), one input, same shape (so they may run in place). */
bool        cascade_op_is_elementwise_unary(cascade_op op);

#ifdef __cplusplus
}
#endif

#endif
