/* Graph construction: shape inference and argument checks for every op. */
#include "cascade/graph.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cascade_graph {
    cascade_node  *nodes;
    int32_t        n_nodes, cap_nodes;
    GStringChunk  *strings;   /* node names */
    GPtrArray     *owned;     /* cascade_tensor* made by constant_copy */
    char           scope[256];
    cascade_error  error;     /* sticky */
};

static const char *const op_names[CASCADE_OP_COUNT] = {
    [CASCADE_OP_INPUT] = "input",         [CASCADE_OP_CONSTANT] = "constant",
    [CASCADE_OP_ADD] = "add",             [CASCADE_OP_SUB] = "sub",
    [CASCADE_OP_MUL] = "mul",             [CASCADE_OP_DIV] = "div",
    [CASCADE_OP_UNARY] = "unary",         [CASCADE_OP_SCALE] = "scale",
    [CASCADE_OP_CLAMP] = "clamp",         [CASCADE_OP_MATMUL] = "matmul",
    [CASCADE_OP_LINEAR] = "linear",       [CASCADE_OP_CONV2D] = "conv2d",
    [CASCADE_OP_GROUP_NORM] = "group_norm", [CASCADE_OP_LAYER_NORM] = "layer_norm",
    [CASCADE_OP_RMS_NORM] = "rms_norm",   [CASCADE_OP_SOFTMAX] = "softmax",
    [CASCADE_OP_ATTENTION] = "attention", [CASCADE_OP_RESHAPE] = "reshape",
    [CASCADE_OP_PERMUTE] = "permute",     [CASCADE_OP_CONCAT] = "concat",
    [CASCADE_OP_SLICE] = "slice",         [CASCADE_OP_UPSAMPLE_NEAREST] = "upsample_nearest",
    [CASCADE_OP_RESIZE_BILINEAR] = "resize_bilinear", [CASCADE_OP_AVG_POOL2D] = "avg_pool2d",
    [CASCADE_OP_GET_ROWS] = "get_rows",   [CASCADE_OP_MEAN] = "mean",
    [CASCADE_OP_CAST] = "cast",
};

const char *cascade_op_name(cascade_op op) {
    return (unsigned)op < CASCADE_OP_COUNT && op_names[op] ? op_names[op] : "?";
}

bool cascade_op_is_elementwise_unary(cascade_op op) {
    return op == CASCADE_OP_UNARY || op == CASCADE_OP_SCALE || op == CASCADE_OP_CLAMP;
}

cascade_status cascade_graph_new(cascade_graph **out, cascade_error *err) {
    *out = NULL;
    cascade_graph *g = calloc(1, sizeof *g);
    if (!g) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "graph: out of memory");
    g->strings = g_string_chunk_new(4096);
    g->owned = g_ptr_array_new_with_free_func((GDestroyNotify)cascade_tensor_free);
    cascade_error_init(&g->error);
    *out = g;
    return CASCADE_STATUS_OK;
}

void cascade_graph_free(cascade_graph *g) {
    if (!g) return;
    free(g->nodes);
    g_string_chunk_free(g->strings);
    g_ptr_array_free(g->owned, TRUE);
    free(g);
}

cascade_status cascade_graph_status(const cascade_graph *g, cascade_error *err) {
    if (g->error.status != CASCADE_STATUS_OK)
        return cascade_error_set(err, g->error.status, "%s", g->error.message);
    return CASCADE_STATUS_OK;
}

int32_t cascade_graph_n_nodes(const cascade_graph *g) { return g->n_nodes; }

const cascade_node *cascade_graph_node(const cascade_graph *g, cascade_value_id id) {
    return (id >= 0 && id < g->n_nodes) ? &g->nodes[id] : NULL;
}

cascade_value_id cascade_graph_find(const cascade_graph *g, const char *name) {
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const cascade_node *n = &g->nodes[i];
        if ((n->op == CASCADE_OP_INPUT || n->is_output) && n->name && strcmp(n->name, name) == 0)
            return i;
    }
    return CASCADE_NO_VALUE;
}

void cascade_graph_set_scope(cascade_graph *g, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->scope, sizeof g->scope, fmt, ap);
    va_end(ap);
}

bool cascade_graph_shape(const cascade_graph *g, cascade_value_id id, int32_t *ndim,
                         int64_t *shape) {
    const cascade_node *n = cascade_graph_node(g, id);
    if (!n) return false;
    *ndim = n->ndim;
    memcpy(shape, n->shape, sizeof(int64_t) * (size_t)n->ndim);
    return true;
}

/* ---- helpers ---- */

static cascade_value_id fail(cascade_graph *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static cascade_value_id fail(cascade_graph *g, const char *fmt, ...) {
    if (g->error.status == CASCADE_STATUS_OK) {
        char    msg[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        cascade_error_set(&g->error, CASCADE_STATUS_INVALID_ARG, "graph%s%s: %s",
                          g->scope[0] ? " " : "", g->scope, msg);
    }
    return CASCADE_NO_VALUE;
}

static bool failed(const cascade_graph *g) { return g->error.status != CASCADE_STATUS_OK; }

/* Checks ids (absent optional inputs are CASCADE_NO_VALUE and pass when optional). */
static bool valid(cascade_graph *g, cascade_value_id id, const char *what) {
    if (failed(g)) return false;
    if (id < 0 || id >= g->n_nodes) {
        fail(g, "%s: invalid value id %d", what, id);
        return false;
    }
    return true;
}

static const cascade_node *N(const cascade_graph *g, cascade_value_id id) { return &g->nodes[id]; }

static const char *fmt_shape(const cascade_node *n, char *buf, size_t sz) {
    return cascade_shape_format(n->ndim, n->shape, buf, sz);
}

static cascade_node *push(cascade_graph *g, cascade_op op, cascade_dtype dt, int32_t ndim,
                          const int64_t *shape) {
    if (failed(g)) return NULL;
    if (ndim < 0 || ndim > CASCADE_MAX_DIMS) {
        fail(g, "%s: %d dims (max %d)", cascade_op_name(op), ndim, CASCADE_MAX_DIMS);
        return NULL;
    }
    int64_t numel;
    if (!cascade_shape_numel(ndim, shape, &numel) ||
        (uint64_t)numel > (UINT64_MAX / 16)) {
        fail(g, "%s: invalid or overflowing shape", cascade_op_name(op));
        return NULL;
    }
    /* shape may point into g->nodes (a builder passing X->shape): copy it before a realloc
     * moves the array */
    int64_t shape_copy[CASCADE_MAX_DIMS];
    memcpy(shape_copy, shape, sizeof(int64_t) * (size_t)ndim);
    shape = shape_copy;
    if (g->n_nodes == g->cap_nodes) {
        int32_t cap = g->cap_nodes ? g->cap_nodes * 2 : 256;
        cascade_node *nn = realloc(g->nodes, sizeof *nn * (size_t)cap);
        if (!nn) {
            cascade_error_set(&g->error, CASCADE_STATUS_OUT_OF_MEMORY, "graph: out of memory");
            return NULL;
        }
        g->nodes = nn;
        g->cap_nodes = cap;
    }
    cascade_node *n = &g->nodes[g->n_nodes++];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->dtype = dt;
    n->ndim = ndim;
    memcpy(n->shape, shape, sizeof(int64_t) * (size_t)ndim);
    for (int i = 0; i < CASCADE_NODE_MAX_INPUTS; i++) n->inputs[i] = CASCADE_NO_VALUE;
    char name[320];
    snprintf(name, sizeof name, "%s%s%s", g->scope, g->scope[0] ? "/" : "", cascade_op_name(op));
    n->name = g_string_chunk_insert_const(g->strings, name);
    return n;
}

static cascade_value_id id_of(const cascade_graph *g, const cascade_node *n) {
    return n ? (cascade_value_id)(n - g->nodes) : CASCADE_NO_VALUE;
}

static void set_inputs(cascade_node *n, int32_t count, const cascade_value_id *ids) {
    n->n_inputs = count;
    for (int32_t i = 0; i < count; i++) n->inputs[i] = ids[i];
}

/* ---- leaves ---- */

cascade_value_id cascade_graph_input(cascade_graph *g, const char *name, cascade_dtype dtype,
                                     int32_t ndim, const int64_t *shape) {
    if (failed(g)) return CASCADE_NO_VALUE;
    if (cascade_graph_find(g, name) != CASCADE_NO_VALUE)
        return fail(g, "input '%s' defined twice", name);
    cascade_node *n = push(g, CASCADE_OP_INPUT, dtype, ndim, shape);
    if (!n) return CASCADE_NO_VALUE;
    n->name = g_string_chunk_insert_const(g->strings, name);
    return id_of(g, n);
}

cascade_value_id cascade_graph_constant(cascade_graph *g, const char *name,
                                        const cascade_tensor *t) {
    if (failed(g)) return CASCADE_NO_VALUE;
    if (!t || !t->data) return fail(g, "constant '%s': no data", name);
    if (!cascade_tensor_is_contiguous(t)) return fail(g, "constant '%s': not contiguous", name);
    cascade_node *n = push(g, CASCADE_OP_CONSTANT, t->dtype, t->ndim, t->shape);
    if (!n) return CASCADE_NO_VALUE;
    n->name = g_string_chunk_insert_const(g->strings, name);
    n->constant = t;
    return id_of(g, n);
}

cascade_value_id cascade_graph_constant_copy(cascade_graph *g, const char *name,
                                             cascade_dtype dtype, int32_t ndim,
                                             const int64_t *shape, const void *data) {
    if (failed(g)) return CASCADE_NO_VALUE;
    cascade_tensor *t = NULL;
    if (cascade_tensor_new(dtype, ndim, shape, &t, &g->error) != CASCADE_STATUS_OK)
        return CASCADE_NO_VALUE;
    memcpy(t->data, data, cascade_tensor_nbytes(t));
    g_ptr_array_add(g->owned, t);
    return cascade_graph_constant(g, name, t);
}

void cascade_graph_mark_output(cascade_graph *g, cascade_value_id id, const char *name) {
    if (!valid(g, id, "mark_output")) return;
    cascade_node *n = &g->nodes[id];
    if (n->op == CASCADE_OP_CONSTANT) {
        fail(g, "output '%s' is a constant", name);
        return;
    }
    n->is_output = true;
    if (name && n->op != CASCADE_OP_INPUT) n->name = g_string_chunk_insert_const(g->strings, name);
}

/* ---- elementwise ---- */

static bool broadcast_shape(const cascade_node *a, const cascade_node *b, int32_t *ndim,
                            int64_t *shape) {
    int32_t nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int32_t i = 0; i < nd; i++) {
        int32_t ia = a->ndim - nd + i, ib = b->ndim - nd + i;
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1) return false;
        shape[i] = da == 1 ? db : da;
    }
    *ndim = nd;
    return true;
}

static cascade_value_id binary(cascade_graph *g, cascade_op op, cascade_value_id a,
                               cascade_value_id b) {
    if (!valid(g, a, cascade_op_name(op)) || !valid(g, b, cascade_op_name(op)))
        return CASCADE_NO_VALUE;
    int32_t nd;
    int64_t shape[CASCADE_MAX_DIMS];
    if (!broadcast_shape(N(g, a), N(g, b), &nd, shape)) {
        char s1[96], s2[96];
        return fail(g, "%s: shapes %s and %s do not broadcast", cascade_op_name(op),
                    fmt_shape(N(g, a), s1, sizeof s1), fmt_shape(N(g, b), s2, sizeof s2));
    }
    cascade_node *n = push(g, op, CASCADE_DTYPE_F32, nd, shape);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 2, (cascade_value_id[]){a, b});
    return id_of(g, n);
}

cascade_value_id cascade_graph_add(cascade_graph *g, cascade_value_id a, cascade_value_id b) {
    return binary(g, CASCADE_OP_ADD, a, b);
}
cascade_value_id cascade_graph_sub(cascade_graph *g, cascade_value_id a, cascade_value_id b) {
    return binary(g, CASCADE_OP_SUB, a, b);
}
cascade_value_id cascade_graph_mul(cascade_graph *g, cascade_value_id a, cascade_value_id b) {
    return binary(g, CASCADE_OP_MUL, a, b);
}
cascade_value_id cascade_graph_div(cascade_graph *g, cascade_value_id a, cascade_value_id b) {
    return binary(g, CASCADE_OP_DIV, a, b);
}

static cascade_node *unary_like(cascade_graph *g, cascade_op op, cascade_value_id x) {
    if (!valid(g, x, cascade_op_name(op))) return NULL;
    cascade_node *n = push(g, op, CASCADE_DTYPE_F32, N(g, x)->ndim, N(g, x)->shape);
    if (n) set_inputs(n, 1, &x);
    return n;
}

cascade_value_id cascade_graph_unary(cascade_graph *g, cascade_unary kind, cascade_value_id x) {
    if ((unsigned)kind >= CASCADE_UNARY_COUNT) return fail(g, "unary: unknown kind %d", kind);
    cascade_node *n = unary_like(g, CASCADE_OP_UNARY, x);
    if (!n) return CASCADE_NO_VALUE;
    n->iparams[0] = kind;
    n->fparams[0] = 0.01f;
    return id_of(g, n);
}

cascade_value_id cascade_graph_leaky_relu(cascade_graph *g, cascade_value_id x, float alpha) {
    cascade_value_id id = cascade_graph_unary(g, CASCADE_UNARY_LEAKY_RELU, x);
    if (id != CASCADE_NO_VALUE) g->nodes[id].fparams[0] = alpha;
    return id;
}

cascade_value_id cascade_graph_scale(cascade_graph *g, cascade_value_id x, float scale,
                                     float bias) {
    cascade_node *n = unary_like(g, CASCADE_OP_SCALE, x);
    if (!n) return CASCADE_NO_VALUE;
    n->fparams[0] = scale;
    n->fparams[1] = bias;
    return id_of(g, n);
}

cascade_value_id cascade_graph_clamp(cascade_graph *g, cascade_value_id x, float lo, float hi) {
    if (!(lo <= hi)) return fail(g, "clamp: lo %g > hi %g", lo, hi);
    cascade_node *n = unary_like(g, CASCADE_OP_CLAMP, x);
    if (!n) return CASCADE_NO_VALUE;
    n->fparams[0] = lo;
    n->fparams[1] = hi;
    return id_of(g, n);
}

/* ---- linear algebra ---- */

cascade_value_id cascade_graph_matmul(cascade_graph *g, cascade_value_id a, cascade_value_id b,
                                      bool b_transposed) {
    if (!valid(g, a, "matmul") || !valid(g, b, "matmul")) return CASCADE_NO_VALUE;
    const cascade_node *A = N(g, a), *B = N(g, b);
    char                s1[96], s2[96];
    if (A->ndim < 2 || B->ndim < 2) return fail(g, "matmul: operands need >= 2 dims");
    int64_t M = A->shape[A->ndim - 2], K = A->shape[A->ndim - 1];
    int64_t Kb = b_transposed ? B->shape[B->ndim - 1] : B->shape[B->ndim - 2];
    int64_t Nn = b_transposed ? B->shape[B->ndim - 2] : B->shape[B->ndim - 1];
    if (K != Kb)
        return fail(g, "matmul: inner dims differ: %s @ %s%s", fmt_shape(A, s1, sizeof s1),
                    fmt_shape(B, s2, sizeof s2), b_transposed ? "^T" : "");
    /* batch dims broadcast */
    cascade_node ba = *A, bb = *B;
    ba.ndim -= 2;
    bb.ndim -= 2;
    int32_t nd;
    int64_t shape[CASCADE_MAX_DIMS];
    if (!broadcast_shape(&ba, &bb, &nd, shape))
        return fail(g, "matmul: batch dims of %s and %s do not broadcast",
                    fmt_shape(A, s1, sizeof s1), fmt_shape(B, s2, sizeof s2));
    shape[nd] = M;
    shape[nd + 1] = Nn;
    cascade_node *n = push(g, CASCADE_OP_MATMUL, CASCADE_DTYPE_F32, nd + 2, shape);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 2, (cascade_value_id[]){a, b});
    n->iparams[0] = b_transposed;
    return id_of(g, n);
}

cascade_value_id cascade_graph_linear(cascade_graph *g, cascade_value_id x, cascade_value_id w,
                                      cascade_value_id bias) {
    if (!valid(g, x, "linear") || !valid(g, w, "linear")) return CASCADE_NO_VALUE;
    if (bias != CASCADE_NO_VALUE && !valid(g, bias, "linear bias")) return CASCADE_NO_VALUE;
    const cascade_node *X = N(g, x), *W = N(g, w);
    char                s1[96], s2[96];
    if (W->ndim != 2 || X->ndim < 1 || X->shape[X->ndim - 1] != W->shape[1])
        return fail(g, "linear: input %s does not fit weight %s (out, in)",
                    fmt_shape(X, s1, sizeof s1), fmt_shape(W, s2, sizeof s2));
    if (bias != CASCADE_NO_VALUE && (N(g, bias)->ndim != 1 || N(g, bias)->shape[0] != W->shape[0]))
        return fail(g, "linear: bias %s for %lld outputs", fmt_shape(N(g, bias), s1, sizeof s1),
                    (long long)W->shape[0]);
    int64_t shape[CASCADE_MAX_DIMS];
    memcpy(shape, X->shape, sizeof shape);
    shape[X->ndim - 1] = W->shape[0];
    cascade_node *n = push(g, CASCADE_OP_LINEAR, CASCADE_DTYPE_F32, X->ndim, shape);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 3, (cascade_value_id[]){x, w, bias});
    return id_of(g, n);
}

void cascade_conv2d_params_init(cascade_conv2d_params *p) {
    memset(p, 0, sizeof *p);
    p->stride[0] = p->stride[1] = 1;
    p->dilation[0] = p->dilation[1] = 1;
    p->groups = 1;
}

cascade_value_id cascade_graph_conv2d(cascade_graph *g, cascade_value_id x, cascade_value_id w,
                                      cascade_value_id bias, const cascade_conv2d_params *p) {
    if (!valid(g, x, "conv2d") || !valid(g, w, "conv2d")) return CASCADE_NO_VALUE;
    if (bias != CASCADE_NO_VALUE && !valid(g, bias, "conv2d bias")) return CASCADE_NO_VALUE;
    const cascade_node *X = N(g, x), *W = N(g, w);
    char                s1[96], s2[96];
    if (X->ndim != 4 || W->ndim != 4) return fail(g, "conv2d: input and weight need 4 dims");
    int32_t groups = p->groups;
    if (groups < 1 || X->shape[1] % groups || W->shape[0] % groups ||
        W->shape[1] * groups != X->shape[1])
        return fail(g, "conv2d: input %s does not fit weight %s with %d groups",
                    fmt_shape(X, s1, sizeof s1), fmt_shape(W, s2, sizeof s2), groups);
    for (int i = 0; i < 2; i++)
        if (p->stride[i] < 1 || p->dilation[i] < 1) return fail(g, "conv2d: bad stride/dilation");
    for (int i = 0; i < 4; i++)
        if (p->pad[i] < 0) return fail(g, "conv2d: negative padding");
    if (bias != CASCADE_NO_VALUE && (N(g, bias)->ndim != 1 || N(g, bias)->shape[0] != W->shape[0]))
        return fail(g, "conv2d: bias %s for %lld outputs", fmt_shape(N(g, bias), s1, sizeof s1),
                    (long long)W->shape[0]);
    int64_t kh = W->shape[2], kw = W->shape[3];
    int64_t eh = (kh - 1) * p->dilation[0] + 1, ew = (kw - 1) * p->dilation[1] + 1;
    int64_t ih = X->shape[2] + p->pad[0] + p->pad[2], iw = X->shape[3] + p->pad[1] + p->pad[3];
    if (ih < eh || iw < ew)
        return fail(g, "conv2d: kernel %lldx%lld larger than padded input %s", (long long)kh,
                    (long long)kw, fmt_shape(X, s1, sizeof s1));
    int64_t shape[4] = {X->shape[0], W->shape[0], (ih - eh) / p->stride[0] + 1,
                        (iw - ew) / p->stride[1] + 1};
    cascade_node *n = push(g, CASCADE_OP_CONV2D, CASCADE_DTYPE_F32, 4, shape);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 3, (cascade_value_id[]){x, w, bias});
    n->iparams[0] = p->stride[0];
    n->iparams[1] = p->stride[1];
    n->iparams[2] = p->pad[0];
    n->iparams[3] = p->pad[1];
    n->iparams[4] = p->pad[2];
    n->iparams[5] = p->pad[3];
    n->iparams[6] = p->dilation[0];
    n->iparams[7] = p->dilation[1];
    n->iparams[8] = groups;
    return id_of(g, n);
}

/* ---- normalisation ---- */

static bool check_affine(cascade_graph *g, cascade_value_id v, int64_t c, const char *what) {
    if (v == CASCADE_NO_VALUE) return true;
    if (!valid(g, v, what)) return false;
    if (N(g, v)->ndim != 1 || N(g, v)->shape[0] != c) {
        char s[96];
        fail(g, "%s: parameter %s for %lld channels", what, fmt_shape(N(g, v), s, sizeof s),
             (long long)c);
        return false;
    }
    return true;
}

cascade_value_id cascade_graph_group_norm(cascade_graph *g, cascade_value_id x,
                                          cascade_value_id w, cascade_value_id b,
                                          int32_t groups, float eps, bool silu) {
    if (!valid(g, x, "group_norm")) return CASCADE_NO_VALUE;
    const cascade_node *X = N(g, x);
    if (X->ndim < 2) return fail(g, "group_norm: input needs (N, C, ...)");
    if (groups < 1 || X->shape[1] % groups)
        return fail(g, "group_norm: %lld channels not divisible by %d groups",
                    (long long)X->shape[1], groups);
    if (!check_affine(g, w, X->shape[1], "group_norm") ||
        !check_affine(g, b, X->shape[1], "group_norm"))
        return CASCADE_NO_VALUE;
    cascade_node *n = push(g, CASCADE_OP_GROUP_NORM, CASCADE_DTYPE_F32, X->ndim, X->shape);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 3, (cascade_value_id[]){x, w, b});
    n->iparams[0] = groups;
    n->iparams[1] = silu;
    n->fparams[0] = eps;
    return id_of(g, n);
}

static cascade_value_id last_dim_norm(cascade_graph *g, cascade_op op, cascade_value_id x,
                                      cascade_value_id w, cascade_value_id b, float eps) {
    if (!valid(g, x, cascade_op_name(op))) return CASCADE_NO_VALUE;
    const cascade_node *X = N(g, x);
    if (X->ndim < 1) return fail(g, "%s: scalar input", cascade_op_name(op));
    int64_t c = X->shape[X->ndim - 1];
    if (!check_affine(g, w, c, cascade_op_name(op)) || !check_affine(g, b, c, cascade_op_name(op)))
        return CASCADE_NO_VALUE;
    cascade_node *n = push(g, op, CASCADE_DTYPE_F32, X->ndim, X->shape);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 3, (cascade_value_id[]){x, w, b});
    n->fparams[0] = eps;
    return id_of(g, n);
}

cascade_value_id cascade_graph_layer_norm(cascade_graph *g, cascade_value_id x,
                                          cascade_value_id w, cascade_value_id b, float eps) {
    return last_dim_norm(g, CASCADE_OP_LAYER_NORM, x, w, b, eps);
}

cascade_value_id cascade_graph_rms_norm(cascade_graph *g, cascade_value_id x, cascade_value_id w,
                                        float eps) {
    return last_dim_norm(g, CASCADE_OP_RMS_NORM, x, w, CASCADE_NO_VALUE, eps);
}

cascade_value_id cascade_graph_softmax(cascade_graph *g, cascade_value_id x) {
    cascade_node *n = unary_like(g, CASCADE_OP_SOFTMAX, x);
    return id_of(g, n);
}

cascade_value_id cascade_graph_attention(cascade_graph *g, cascade_value_id q,
                                         cascade_value_id k, cascade_value_id v,
                                         cascade_value_id bias, float scale) {
    if (!valid(g, q, "attention") || !valid(g, k, "attention") || !valid(g, v, "attention"))
        return CASCADE_NO_VALUE;
    const cascade_node *Q = N(g, q), *K = N(g, k), *V = N(g, v);
    char                s1[96], s2[96], s3[96];
    if (Q->ndim != 4 || K->ndim != 4 || V->ndim != 4 || Q->shape[0] != K->shape[0] ||
        Q->shape[1] != K->shape[1] || K->shape[0] != V->shape[0] || K->shape[1] != V->shape[1] ||
        Q->shape[3] != K->shape[3] || K->shape[2] != V->shape[2])
        return fail(g, "attention: q %s, k %s, v %s do not fit (B, H, N, D)",
                    fmt_shape(Q, s1, sizeof s1), fmt_shape(K, s2, sizeof s2),
                    fmt_shape(V, s3, sizeof s3));
    if (bias != CASCADE_NO_VALUE) {
        if (!valid(g, bias, "attention bias")) return CASCADE_NO_VALUE;
        const cascade_node *Bi = N(g, bias);
        int64_t want[4] = {Q->shape[0], Q->shape[1], Q->shape[2], K->shape[2]};
        bool    ok = Bi->ndim == 4;
        for (int i = 0; ok && i < 4; i++) ok = Bi->shape[i] == want[i] || Bi->shape[i] == 1;
        if (!ok)
            return fail(g, "attention: bias %s does not broadcast to (%lld, %lld, %lld, %lld)",
                        fmt_shape(Bi, s1, sizeof s1), (long long)want[0], (long long)want[1],
                        (long long)want[2], (long long)want[3]);
    }
    int64_t       shape[4] = {Q->shape[0], Q->shape[1], Q->shape[2], V->shape[3]};
    cascade_node *n = push(g, CASCADE_OP_ATTENTION, CASCADE_DTYPE_F32, 4, shape);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 4, (cascade_value_id[]){q, k, v, bias});
    n->fparams[0] = scale;
    return id_of(g, n);
}

/* ---- shape ops ---- */

cascade_value_id cascade_graph_reshape(cascade_graph *g, cascade_value_id x, int32_t ndim,
                                       const int64_t *shape) {
    if (!valid(g, x, "reshape")) return CASCADE_NO_VALUE;
    const cascade_node *X = N(g, x);
    if (ndim < 0 || ndim > CASCADE_MAX_DIMS) return fail(g, "reshape: %d dims", ndim);
    int64_t s[CASCADE_MAX_DIMS], known = 1, total;
    int     infer = -1;
    cascade_shape_numel(X->ndim, X->shape, &total);
    for (int32_t i = 0; i < ndim; i++) {
        s[i] = shape[i];
        if (s[i] == -1) {
            if (infer >= 0) return fail(g, "reshape: more than one -1");
            infer = i;
        } else if (s[i] < 0) {
            return fail(g, "reshape: negative dim");
        } else {
            known *= s[i];
        }
    }
    if (infer >= 0) {
        if (known == 0 || total % known) return fail(g, "reshape: cannot infer -1");
        s[infer] = total / known;
        known = total;
    }
    if (known != total) {
        char s1[96], s2[96];
        return fail(g, "reshape: %s to %s changes the element count", fmt_shape(X, s1, sizeof s1),
                    cascade_shape_format(ndim, s, s2, sizeof s2));
    }
    cascade_node *n = push(g, CASCADE_OP_RESHAPE, X->dtype, ndim, s);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 1, &x);
    return id_of(g, n);
}

cascade_value_id cascade_graph_permute(cascade_graph *g, cascade_value_id x,
                                       const int32_t *perm) {
    if (!valid(g, x, "permute")) return CASCADE_NO_VALUE;
    const cascade_node *X = N(g, x);
    int64_t             s[CASCADE_MAX_DIMS] = {0};
    bool                seen[CASCADE_MAX_DIMS] = {false};
    for (int32_t i = 0; i < X->ndim; i++) {
        if (perm[i] < 0 || perm[i] >= X->ndim || seen[perm[i]])
            return fail(g, "permute: invalid permutation");
        seen[perm[i]] = true;
        s[i] = X->shape[perm[i]];
    }
    int32_t       nd = X->ndim; /* X dangles once push() grows the node array */
    cascade_node *n = push(g, CASCADE_OP_PERMUTE, X->dtype, nd, s);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 1, &x);
    for (int32_t i = 0; i < nd; i++) n->iparams[i] = perm[i];
    return id_of(g, n);
}

static int32_t norm_axis(int32_t axis, int32_t ndim) { return axis < 0 ? axis + ndim : axis; }

cascade_value_id cascade_graph_concat(cascade_graph *g, int32_t n_in, const cascade_value_id *xs,
                                      int32_t axis) {
    if (failed(g)) return CASCADE_NO_VALUE;
    if (n_in < 1 || n_in > CASCADE_NODE_MAX_INPUTS)
        return fail(g, "concat: %d inputs (1..%d)", n_in, CASCADE_NODE_MAX_INPUTS);
    for (int32_t i = 0; i < n_in; i++)
        if (!valid(g, xs[i], "concat")) return CASCADE_NO_VALUE;
    const cascade_node *A = N(g, xs[0]);
    axis = norm_axis(axis, A->ndim);
    if (axis < 0 || axis >= A->ndim) return fail(g, "concat: axis out of range");
    int64_t s[CASCADE_MAX_DIMS];
    memcpy(s, A->shape, sizeof s);
    for (int32_t i = 1; i < n_in; i++) {
        const cascade_node *B = N(g, xs[i]);
        bool                ok = B->ndim == A->ndim && B->dtype == A->dtype;
        for (int32_t d = 0; ok && d < A->ndim; d++) ok = d == axis || B->shape[d] == A->shape[d];
        if (!ok) {
            char s1[96], s2[96];
            return fail(g, "concat: %s and %s differ off axis %d", fmt_shape(A, s1, sizeof s1),
                        fmt_shape(B, s2, sizeof s2), axis);
        }
        s[axis] += B->shape[axis];
    }
    cascade_node *n = push(g, CASCADE_OP_CONCAT, A->dtype, A->ndim, s);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, n_in, xs);
    n->iparams[0] = axis;
    return id_of(g, n);
}

cascade_value_id cascade_graph_slice(cascade_graph *g, cascade_value_id x, int32_t axis,
                                     int64_t start, int64_t len, int64_t step) {
    if (!valid(g, x, "slice")) return CASCADE_NO_VALUE;
    const cascade_node *X = N(g, x);
    axis = norm_axis(axis, X->ndim);
    if (axis < 0 || axis >= X->ndim) return fail(g, "slice: axis out of range");
    if (step < 1 || start < 0 || len < 1 || start + (len - 1) * step >= X->shape[axis] ||
        start > INT32_MAX || step > INT32_MAX)
        return fail(g, "slice: start %lld, len %lld, step %lld outside dim of %lld",
                    (long long)start, (long long)len, (long long)step,
                    (long long)X->shape[axis]);
    int64_t s[CASCADE_MAX_DIMS];
    memcpy(s, X->shape, sizeof s);
    s[axis] = len;
    cascade_node *n = push(g, CASCADE_OP_SLICE, X->dtype, X->ndim, s);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 1, &x);
    n->iparams[0] = axis;
    n->iparams[1] = (int32_t)start;
    n->iparams[2] = (int32_t)step;
    return id_of(g, n);
}

static const cascade_node *image_input(cascade_graph *g, cascade_value_id x, const char *what) {
    if (!valid(g, x, what)) return NULL;
    if (N(g, x)->ndim != 4) {
        fail(g, "%s: input needs (N, C, H, W)", what);
        return NULL;
    }
    return N(g, x);
}

cascade_value_id cascade_graph_upsample_nearest(cascade_graph *g, cascade_value_id x,
                                                int32_t fh, int32_t fw) {
    const cascade_node *X = image_input(g, x, "upsample_nearest");
    if (!X) return CASCADE_NO_VALUE;
    if (fh < 1 || fw < 1) return fail(g, "upsample_nearest: factor < 1");
    int64_t       s[4] = {X->shape[0], X->shape[1], X->shape[2] * fh, X->shape[3] * fw};
    cascade_node *n = push(g, CASCADE_OP_UPSAMPLE_NEAREST, CASCADE_DTYPE_F32, 4, s);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 1, &x);
    n->iparams[0] = fh;
    n->iparams[1] = fw;
    return id_of(g, n);
}

cascade_value_id cascade_graph_resize_bilinear(cascade_graph *g, cascade_value_id x,
                                               int64_t out_h, int64_t out_w,
                                               bool align_corners) {
    const cascade_node *X = image_input(g, x, "resize_bilinear");
    if (!X) return CASCADE_NO_VALUE;
    if (out_h < 1 || out_w < 1 || out_h > INT32_MAX || out_w > INT32_MAX)
        return fail(g, "resize_bilinear: bad output size");
    int64_t       s[4] = {X->shape[0], X->shape[1], out_h, out_w};
    cascade_node *n = push(g, CASCADE_OP_RESIZE_BILINEAR, CASCADE_DTYPE_F32, 4, s);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 1, &x);
    n->iparams[0] = (int32_t)out_h;
    n->iparams[1] = (int32_t)out_w;
    n->iparams[2] = align_corners;
    return id_of(g, n);
}

cascade_value_id cascade_graph_avg_pool2d(cascade_graph *g, cascade_value_id x, int32_t kh,
                                          int32_t kw, int32_t sh, int32_t sw) {
    const cascade_node *X = image_input(g, x, "avg_pool2d");
    if (!X) return CASCADE_NO_VALUE;
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || X->shape[2] < kh || X->shape[3] < kw)
        return fail(g, "avg_pool2d: bad kernel/stride");
    int64_t s[4] = {X->shape[0], X->shape[1], (X->shape[2] - kh) / sh + 1,
                    (X->shape[3] - kw) / sw + 1};
    cascade_node *n = push(g, CASCADE_OP_AVG_POOL2D, CASCADE_DTYPE_F32, 4, s);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 1, &x);
    n->iparams[0] = kh;
    n->iparams[1] = kw;
    n->iparams[2] = sh;
    n->iparams[3] = sw;
    return id_of(g, n);
}

cascade_value_id cascade_graph_get_rows(cascade_graph *g, cascade_value_id table,
                                        cascade_value_id ids) {
    if (!valid(g, table, "get_rows") || !valid(g, ids, "get_rows")) return CASCADE_NO_VALUE;
    const cascade_node *T = N(g, table), *I = N(g, ids);
    if (T->ndim != 2) return fail(g, "get_rows: table needs (V, D)");
    if (I->dtype != CASCADE_DTYPE_I32) return fail(g, "get_rows: ids must be I32");
    if (I->ndim + 1 > CASCADE_MAX_DIMS) return fail(g, "get_rows: too many dims");
    int64_t s[CASCADE_MAX_DIMS];
    memcpy(s, I->shape, sizeof(int64_t) * (size_t)I->ndim);
    s[I->ndim] = T->shape[1];
    cascade_node *n = push(g, CASCADE_OP_GET_ROWS, CASCADE_DTYPE_F32, I->ndim + 1, s);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 2, (cascade_value_id[]){table, ids});
    return id_of(g, n);
}

cascade_value_id cascade_graph_mean(cascade_graph *g, cascade_value_id x, int32_t axis) {
    if (!valid(g, x, "mean")) return CASCADE_NO_VALUE;
    const cascade_node *X = N(g, x);
    axis = norm_axis(axis, X->ndim);
    if (axis < 0 || axis >= X->ndim || X->shape[axis] < 1) return fail(g, "mean: bad axis");
    int64_t s[CASCADE_MAX_DIMS];
    memcpy(s, X->shape, sizeof s);
    s[axis] = 1;
    cascade_node *n = push(g, CASCADE_OP_MEAN, CASCADE_DTYPE_F32, X->ndim, s);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 1, &x);
    n->iparams[0] = axis;
    return id_of(g, n);
}

cascade_value_id cascade_graph_cast(cascade_graph *g, cascade_value_id x, cascade_dtype dtype) {
    if (!valid(g, x, "cast")) return CASCADE_NO_VALUE;
    if (dtype != CASCADE_DTYPE_F32 && dtype != CASCADE_DTYPE_I32)
        return fail(g, "cast: only to F32 or I32");
    cascade_node *n = push(g, CASCADE_OP_CAST, dtype, N(g, x)->ndim, N(g, x)->shape);
    if (!n) return CASCADE_NO_VALUE;
    set_inputs(n, 1, &x);
    n->iparams[0] = dtype;
    return id_of(g, n);
}
