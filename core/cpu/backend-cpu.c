/* The CPU reference backend: fp32 everywhere, intermediates placed in one arena by the
 * liveness planner. F32 constants are used in place; others are converted once per plan
 * (a per-backend cache keyed by tensor address could outlive the tensor). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cascade/backend.h"
#include "cpu-ops.h"
#include "runtime/planner.h"

typedef struct cpu_backend {
    int                  n_threads;
    cascade_threadpool  *tp; /* made by the first run that shares its work: see shared_pool */
    cascade_memory_stats stats;
} cpu_backend;

typedef struct cpu_plan {
    cascade_memory_plan *mp;
    uint8_t             *arena;
    void               **own;   /* per value: OWN buffers */
    const void         **cdata; /* per value: CONSTANT data as computed (fp32 / i32) */
    void               **converted; /* per value: owned converted copy, or NULL */
    void                *scratch;   /* shared by the ops' temporaries (they run one at a time) */
    size_t               scratch_bytes;
    int64_t              col_budget; /* cpu_col_budget_floats of the graph */
    bool                 one_thread; /* too little work to share: see CPU_SHARED_MIN_FLOPS */
} cpu_plan;

/* A plan with less matrix-product work than this per run stays on the calling thread. Its
 * hundreds of ops take some tens of microseconds each, about what handing half of one to
 * another thread and waiting for it costs. Measured on the shipped stage I (0.5 GFLOP a step,
 * ~600 nodes): 9.0 ms on one thread, 11-14 ms on two; stage II (26 GFLOP) and the IF-sized
 * U-Nets gain from every thread. */
#define CPU_SHARED_MIN_FLOPS 2e9

void cascade_cpu_options_init(cascade_cpu_options *opt) { opt->n_threads = 0; }

static void cpu_destroy(cascade_backend *be) {
    cpu_backend *cb = be->impl;
    cascade_threadpool_free(cb->tp);
    free(cb);
    free(be);
}

static bool cpu_supports(const cascade_backend *be, const cascade_graph *g, const cascade_node *n) {
    (void)be;
    (void)g;
    if (n->op == CASCADE_OP_CONSTANT)
        return n->dtype == CASCADE_DTYPE_F32 || n->dtype == CASCADE_DTYPE_F16 ||
               n->dtype == CASCADE_DTYPE_BF16 || n->dtype == CASCADE_DTYPE_I8 ||
               n->dtype == CASCADE_DTYPE_I32;
    if (n->op == CASCADE_OP_INPUT) return n->dtype == CASCADE_DTYPE_F32 || n->dtype == CASCADE_DTYPE_I32;
    return (unsigned)n->op < CASCADE_OP_COUNT;
}

static size_t elem4(const cascade_node *n, void *ud) {
    (void)n;
    (void)ud;
    return 4; /* everything is computed as F32 or I32 */
}

/* fp32 (or i32) view of constant i: in place when it already is, else a converted copy. */
static cascade_status constant_data(cpu_backend *cb, cpu_plan *cp, const cascade_node *n,
                                    int32_t i, cascade_error *err) {
    const cascade_tensor *t = n->constant;
    size_t                cnt = (size_t)cascade_tensor_numel(t);
    cb->stats.weights_bytes += 4 * cnt;
    if ((t->dtype == CASCADE_DTYPE_F32 || t->dtype == CASCADE_DTYPE_I32) &&
        ((uintptr_t)t->data & 3u) == 0) {
        cp->cdata[i] = t->data;
        return CASCADE_STATUS_OK;
    }
    void *conv = malloc(4 * (cnt ? cnt : 1));
    if (!conv)
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                 "cpu: out of memory converting constant '%s'", n->name);
    cp->converted[i] = conv;
    cp->cdata[i] = conv;
    cascade_dtype dst = t->dtype == CASCADE_DTYPE_I32 ? CASCADE_DTYPE_I32 : CASCADE_DTYPE_F32;
    return cascade_convert(t->dtype, t->data, dst, conv, cnt, err);
}

static void cpu_plan_free(cascade_backend *be, cascade_plan *p) {
    (void)be;
    if (!p) return;
    cpu_plan *cp = p->impl;
    if (cp) {
        if (cp->own && cp->mp)
            for (int32_t i = 0; i < cp->mp->n_values; i++) free(cp->own[i]);
        if (cp->converted && cp->mp)
            for (int32_t i = 0; i < cp->mp->n_values; i++) free(cp->converted[i]);
        free(cp->own);
        free(cp->converted);
        free(cp->cdata);
        free(cp->arena);
        free(cp->scratch);
        cascade_memory_plan_free(cp->mp);
        free(cp);
    }
    free(p);
}

static cascade_status cpu_plan_estimate(const cascade_backend *be, const cascade_graph *g,
                                        cascade_plan_estimate *out, cascade_error *err);

/* The largest temporary one op of g needs (ops run one at a time, so one buffer serves all). */
static uint64_t graph_scratch_bytes(const cascade_graph *g, int64_t col_budget) {
    uint64_t most = 0;
    for (int32_t i = 0; i < cascade_graph_n_nodes(g); i++) {
        const cascade_node *n = cascade_graph_node(g, i);
        uint64_t            s = n->op == CASCADE_OP_CONV2D      ? cpu_conv2d_scratch_bytes(g, n, col_budget)
                                : n->op == CASCADE_OP_ATTENTION ? cpu_attention_scratch_bytes(g, n)
                                                                : 0;
        if (s > most) most = s;
    }
    return most;
}

static cascade_status cpu_plan_new(cascade_backend *be, const cascade_graph *g, cascade_plan **out,
                                   cascade_error *err) {
    cpu_backend          *cb = be->impl;
    cascade_plan_estimate est;
    /* refused before the arena is allocated, with the numbers, when host memory cannot hold it */
    CASCADE_TRY(cpu_plan_estimate(be, g, &est, err));
    int32_t nn = cascade_graph_n_nodes(g);
    char    what[96];
    /* named by its last node (model code names nodes "<scope>/<op>") */
    snprintf(what, sizeof what, "the plan ending in '%.60s'",
             nn > 0 && cascade_graph_node(g, nn - 1)->name ? cascade_graph_node(g, nn - 1)->name
                                                          : "?");
    CASCADE_TRY(cascade_backend_check_fits(be, est.total_bytes, what, err));
    cascade_status st = CASCADE_STATUS_OUT_OF_MEMORY;
    cascade_plan  *p = calloc(1, sizeof *p);
    cpu_plan      *cp = calloc(1, sizeof *cp);
    if (!p || !cp) {
        free(p);
        free(cp);
        return cascade_error_set(err, st, "cpu: out of memory");
    }
    p->backend = be;
    p->graph = g;
    p->impl = cp;
    int32_t n = cascade_graph_n_nodes(g);
    st = cascade_memory_plan_new_flags(g, 64, elem4, NULL, CASCADE_PLAN_IN_PLACE_UNARY, &cp->mp,
                                       err);
    if (st != CASCADE_STATUS_OK) goto fail;
    cp->own = calloc((size_t)n + 1, sizeof *cp->own);
    cp->cdata = calloc((size_t)n + 1, sizeof *cp->cdata);
    cp->converted = calloc((size_t)n + 1, sizeof *cp->converted);
    cp->arena = malloc(cp->mp->arena_bytes ? cp->mp->arena_bytes : 1);
    cp->col_budget = cpu_col_budget_floats(g);
    cp->scratch_bytes = (size_t)graph_scratch_bytes(g, cp->col_budget);
    cp->one_thread = cascade_graph_matmul_flops(g) < CPU_SHARED_MIN_FLOPS;
    cp->scratch = cp->scratch_bytes ? malloc(cp->scratch_bytes) : NULL;
    if (!cp->own || !cp->cdata || !cp->converted || !cp->arena ||
        (cp->scratch_bytes && !cp->scratch)) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                               "cpu: out of memory for %llu bytes of activations",
                               (unsigned long long)cp->mp->arena_bytes);
        goto fail;
    }
    uint64_t io = 0;
    for (int32_t i = 0; i < n; i++) {
        const cascade_value_plan *vp = &cp->mp->values[i];
        if (vp->placement == CASCADE_PLACE_OWN) {
            io += vp->nbytes;
            cp->own[i] = calloc(1, vp->nbytes ? vp->nbytes : 1);
            if (!cp->own[i]) {
                st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "cpu: out of memory");
                goto fail;
            }
        } else if (vp->placement == CASCADE_PLACE_CONSTANT) {
            st = constant_data(cb, cp, cascade_graph_node(g, i), i, err);
            if (st != CASCADE_STATUS_OK) goto fail;
        }
    }
    if (cp->mp->arena_bytes > cb->stats.planned_peak_bytes) {
        cb->stats.planned_peak_bytes = cp->mp->arena_bytes;
        cb->stats.naive_bytes = cp->mp->naive_bytes;
    }
    if (io > cb->stats.io_bytes) cb->stats.io_bytes = io;
    if (cp->scratch_bytes > cb->stats.scratch_bytes) cb->stats.scratch_bytes = cp->scratch_bytes;
    *out = p;
    return CASCADE_STATUS_OK;
fail:
    cpu_plan_free(be, p);
    return st;
}

static void *value_ptr(const cpu_plan *cp, cascade_value_id id) {
    if (id < 0) return NULL;
    cascade_value_id r = cascade_memory_plan_root(cp->mp, id);
    switch (cp->mp->values[r].placement) {
    case CASCADE_PLACE_ARENA: return cp->arena + cp->mp->values[r].offset;
    case CASCADE_PLACE_OWN: return cp->own[r];
    case CASCADE_PLACE_CONSTANT: return (void *)cp->cdata[r];
    default: return NULL;
    }
}

cascade_status cpu_run_node(const cpu_exec *ex, const cascade_node *n, void *out,
                            void *const *in, cascade_error *err) {
    switch (n->op) {
    case CASCADE_OP_INPUT:
    case CASCADE_OP_CONSTANT:
    case CASCADE_OP_RESHAPE: return CASCADE_STATUS_OK;
    case CASCADE_OP_ADD:
    case CASCADE_OP_SUB:
    case CASCADE_OP_MUL:
    case CASCADE_OP_DIV: return cpu_binary(ex, n, out, in[0], in[1], err);
    case CASCADE_OP_UNARY:
    case CASCADE_OP_SCALE:
    case CASCADE_OP_CLAMP: return cpu_unary(ex, n, out, in[0], err);
    case CASCADE_OP_MATMUL: return cpu_matmul(ex, n, out, in[0], in[1], err);
    case CASCADE_OP_LINEAR: return cpu_linear(ex, n, out, in[0], in[1], in[2], err);
    case CASCADE_OP_CONV2D: return cpu_conv2d(ex, n, out, in[0], in[1], in[2], err);
    case CASCADE_OP_GROUP_NORM: return cpu_group_norm(ex, n, out, in[0], in[1], in[2], err);
    case CASCADE_OP_LAYER_NORM:
    case CASCADE_OP_RMS_NORM:
    case CASCADE_OP_SOFTMAX: return cpu_row_norm(ex, n, out, in[0], in[1], in[2], err);
    case CASCADE_OP_ATTENTION: return cpu_attention(ex, n, out, in[0], in[1], in[2], in[3], err);
    case CASCADE_OP_PERMUTE: return cpu_permute(ex, n, out, in[0], err);
    case CASCADE_OP_CONCAT: return cpu_concat(ex, n, out, (const void *const *)in, err);
    case CASCADE_OP_SLICE: return cpu_slice(ex, n, out, in[0], err);
    case CASCADE_OP_UPSAMPLE_NEAREST:
    case CASCADE_OP_RESIZE_BILINEAR:
    case CASCADE_OP_AVG_POOL2D: return cpu_resample(ex, n, out, in[0], err);
    case CASCADE_OP_GET_ROWS: return cpu_get_rows(ex, n, out, in[0], in[1], err);
    case CASCADE_OP_MEAN: return cpu_mean(ex, n, out, in[0], err);
    case CASCADE_OP_CAST: return cpu_cast(ex, n, out, in[0], err);
    case CASCADE_OP_COUNT: break;
    }
    return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "cpu: op %d", n->op);
}

static cascade_status run_node(const cpu_exec *ex, const cpu_plan *cp, const cascade_node *n,
                               cascade_value_id id, cascade_error *err) {
    void *in[CASCADE_NODE_MAX_INPUTS] = {0};
    for (int k = 0; k < n->n_inputs; k++) in[k] = value_ptr(cp, n->inputs[k]);
    return cpu_run_node(ex, n, value_ptr(cp, id), in, err);
}

/* Node i + 1 is an element-wise op that the plan runs in place on group norm i's output
 * (nothing else reads it), so the norm can apply it as it writes. */
static bool norm_then_act(const cpu_plan *cp, const cascade_graph *g, int32_t i) {
    if (i + 1 >= cascade_graph_n_nodes(g)) return false;
    const cascade_node *n = cascade_graph_node(g, i), *a = cascade_graph_node(g, i + 1);
    return n->op == CASCADE_OP_GROUP_NORM &&
           cascade_op_is_elementwise_unary(a->op) &&
           a->inputs[0] == i &&
           cascade_memory_plan_root(cp->mp, i + 1) == cascade_memory_plan_root(cp->mp, i);
}

/* The pool a plan's ops are split over, or NULL for the calling thread alone. The workers
 * start with the first plan that has enough work to share, so a process that only runs small
 * plans (the shipped stage I) keeps no idle threads and their stacks. */
static cascade_status shared_pool(cpu_backend *cb, const cpu_plan *cp, cascade_threadpool **tp,
                                  cascade_error *err) {
    *tp = NULL;
    if (cp->one_thread || cb->n_threads < 2) return CASCADE_STATUS_OK;
    if (!cb->tp) CASCADE_TRY(cascade_threadpool_new(cb->n_threads, &cb->tp, err));
    *tp = cb->tp;
    return CASCADE_STATUS_OK;
}

static cascade_status cpu_plan_run(cascade_backend *be, cascade_plan *p,
                                   const cascade_cancel *cancel, cascade_error *err) {
    cpu_backend        *cb = be->impl;
    cpu_plan           *cp = p->impl;
    cascade_threadpool *tp;
    CASCADE_TRY(shared_pool(cb, cp, &tp, err));
    cpu_exec ex = {p->graph, tp, cp->scratch, cp->scratch_bytes, cp->col_budget};
    int32_t  n = cascade_graph_n_nodes(p->graph);
    for (int32_t i = 0; i < n; i++) {
        if (cascade_cancel_is_raised(cancel))
            return cascade_error_set(err, CASCADE_STATUS_CANCELLED, "cancelled");
        const cascade_node *nd = cascade_graph_node(p->graph, i);
        if (norm_then_act(cp, p->graph, i)) {
            CASCADE_TRY(cpu_group_norm_then(&ex, nd, cascade_graph_node(p->graph, i + 1),
                                            value_ptr(cp, i), value_ptr(cp, nd->inputs[0]),
                                            value_ptr(cp, nd->inputs[1]),
                                            value_ptr(cp, nd->inputs[2]), err));
            i++; /* the op ran inside the norm */
            continue;
        }
        CASCADE_TRY(run_node(&ex, cp, nd, i, err));
    }
    return CASCADE_STATUS_OK;
}

static cascade_status cpu_value_write(cascade_backend *be, cascade_plan *p, cascade_value_id id,
                                      const void *src, size_t n_bytes, cascade_error *err) {
    (void)be;
    (void)err;
    memcpy(value_ptr(p->impl, id), src, n_bytes);
    return CASCADE_STATUS_OK;
}

static cascade_status cpu_value_read(cascade_backend *be, const cascade_plan *p,
                                     cascade_value_id id, void *dst, size_t n_bytes,
                                     cascade_error *err) {
    (void)be;
    (void)err;
    memcpy(dst, value_ptr(p->impl, id), n_bytes);
    return CASCADE_STATUS_OK;
}

static void cpu_memory_stats(const cascade_backend *be, cascade_memory_stats *out) {
    const cpu_backend *cb = be->impl;
    *out = cb->stats;
}

/* Constants are converted to a copy unless F32/I32; conv and attention use the scratch. */
static size_t weight4(const cascade_node *n, void *ud) {
    (void)ud;
    return n->dtype == CASCADE_DTYPE_F32 || n->dtype == CASCADE_DTYPE_I32 ? 0 : 4;
}

static cascade_status cpu_plan_estimate(const cascade_backend *be, const cascade_graph *g,
                                        cascade_plan_estimate *out, cascade_error *err) {
    (void)be;
    CASCADE_TRY(
        cascade_memory_plan_estimate(g, 64, elem4, NULL, CASCADE_PLAN_IN_PLACE_UNARY, out, err));
    cascade_plan_estimate w;
    CASCADE_TRY(
        cascade_memory_plan_estimate(g, 64, weight4, NULL, CASCADE_PLAN_IN_PLACE_UNARY, &w, err));
    out->weights_bytes = w.weights_bytes;
    out->scratch_bytes = graph_scratch_bytes(g, cpu_col_budget_floats(g));
    out->total_bytes =
        out->activation_bytes + out->io_bytes + out->weights_bytes + out->scratch_bytes;
    return CASCADE_STATUS_OK;
}

static const cascade_backend_vtable cpu_vtable = {
    .name = "cpu",
    .destroy = cpu_destroy,
    .supports = cpu_supports,
    .plan_new = cpu_plan_new,
    .plan_run = cpu_plan_run,
    .value_write = cpu_value_write,
    .value_read = cpu_value_read,
    .plan_free = cpu_plan_free,
    .memory_stats = cpu_memory_stats,
    .plan_estimate = cpu_plan_estimate,
};

cascade_status cascade_backend_cpu_new(const cascade_cpu_options *opt, cascade_backend **out,
                                       cascade_error *err) {
    *out = NULL;
    int n_threads = opt ? opt->n_threads : 0;
    if (n_threads <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = nc > 0 ? (int)nc : 1;
    }
    cascade_backend *be = calloc(1, sizeof *be);
    cpu_backend     *cb = calloc(1, sizeof *cb);
    if (!be || !cb) {
        free(be);
        free(cb);
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "cpu backend: out of memory");
    }
    cb->n_threads = n_threads;
    /* one OpenBLAS thread: products are split over the pool instead (cpu-gemm.c) */
    openblas_set_num_threads(1);
    be->vt = &cpu_vtable;
    be->impl = cb;
    *out = be;
    return CASCADE_STATUS_OK;
}
