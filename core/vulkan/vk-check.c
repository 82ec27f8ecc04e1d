/* CASCADE_VK_CHECK=1 (cascade_vulkan_options.check): a debug aid that finds the first node
 * whose Vulkan result is wrong, where a stage-boundary golden test only says that something
 * upstream is. A checked plan records one command buffer per node instead of one for the
 * whole graph (the same kernels over the same memory placement, so a run that passes leaves
 * the same results as an unchecked one). Each run then submits node by node: the node's
 * inputs are read back from the device first (the arena may reuse an input's bytes for the
 * output), the node runs, its output is read back, and the CPU backend's kernel
 * (cpu_run_node) computes the same node from the same inputs. The first node past the
 * precision's tolerance fails the run with FORMAT, naming the node ("<scope>/<op>"), its op,
 * the worst element and the errors. Comparing each node on its own device inputs keeps
 * errors from accumulating, so the tolerance is the node's own rounding.
 *
 * Constants are given to the CPU as the device stores them (rounded to fp16 in fp16 plans,
 * quantized and dequantized when int8), from the host copy: a corrupted upload shows at
 * the first node reading it. A product fused into its sin/cos reader (vk-fuse.c) has no
 * result of its own on the device; it is formed on the CPU from its inputs for the reader.
 * Nothing here runs when the option is off. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/cpu-ops.h"
#include "runtime/threadpool.h"
#include "vk-internal.h"

/* Per element |vulkan - cpu| <= atol * max|x| + rtol * |cpu| (max|x| over both results of
 * the node), and NMSE <= max_nmse over the node. fp32: both compute in fp32 and differ only
 * in summation order and transcendental approximations (~1e-6 of the scale; the op tests
 * hold NMSE to 1e-9). fp16: the CPU's result is rounded to fp16 as the device stores it,
 * which leaves one unit in the last place (2^-10 relative) where the two straddle a
 * rounding boundary, plus the intermediates some kernels keep in fp16 (attention's NMSE
 * reaches 1e-4 in the op tests). A wrong kernel is off by far more than either. */
typedef struct check_tol {
    double atol, rtol, max_nmse;
} check_tol;

static const check_tol TOL_F32 = {1e-4, 1e-3, 1e-8};
static const check_tol TOL_F16 = {1e-2, 1e-2, 1e-4};

struct cascade_vk_check {
    VkCommandBuffer    *cmds; /* per node */
    bool               *ran;  /* per node: its command buffer holds a dispatch */
    int32_t             n;
    cascade_threadpool *tp; /* for the CPU kernels */
    cascade_value_id    fault_id;
    int64_t             fault_index;
    float               fault_delta;
    /* for the report when the plan is freed: runs, nodes checked per run, the node that came
     * nearest to its tolerance (its |diff| over the tolerance at its worst element) */
    uint32_t         runs, checked;
    cascade_value_id closest;
    double           closest_ratio;
};

void cascade_vk_check_free(cascade_vk_plan *p) {
    struct cascade_vk_check *c = p->check;
    if (!c) return;
    if (c->runs && c->closest < 0)
        fprintf(stderr, "cascade vulkan check: %u run(s), %u nodes each equal to the CPU's\n",
                c->runs, c->checked);
    else if (c->runs)
        fprintf(stderr,
                "cascade vulkan check: %u run(s), %u nodes each agree with the CPU; nearest "
                "to its tolerance: node %d '%s' at %.3g of it\n",
                c->runs, c->checked, c->closest, cascade_graph_node(p->g, c->closest)->name,
                c->closest_ratio);
    if (c->cmds && c->n > 0)
        vkFreeCommandBuffers(p->vk->dev, p->vk->cmd_pool, (uint32_t)c->n, c->cmds);
    cascade_threadpool_free(c->tp);
    free(c->cmds);
    free(c->ran);
    free(c);
    p->check = NULL;
}

cascade_status cascade_vk_check_record(cascade_vk_plan *p, cascade_error *err) {
    int32_t                  n = cascade_graph_n_nodes(p->g);
    struct cascade_vk_check *c = calloc(1, sizeof *c);
    if (!c) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan check: state");
    p->check = c;
    c->fault_id = CASCADE_NO_VALUE;
    c->closest = CASCADE_NO_VALUE;
    c->cmds = calloc((size_t)n + 1, sizeof *c->cmds);
    c->ran = calloc((size_t)n + 1, sizeof *c->ran);
    if (!c->cmds || !c->ran)
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan check: tables");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    CASCADE_TRY(cascade_threadpool_new(cores > 0 ? (int)cores : 1, &c->tp, err));
    if (n == 0) return CASCADE_STATUS_OK;
    VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                       .commandPool = p->vk->cmd_pool,
                                       .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                       .commandBufferCount = (uint32_t)n};
    CASCADE_VK_TRY(err, vkAllocateCommandBuffers(p->vk->dev, &cai, c->cmds));
    c->n = n;
    cascade_status st = CASCADE_STATUS_OK;
    for (int32_t i = 0; i < n && !st; i++) {
        uint32_t before = p->n_dispatches;
        p->cmd = c->cmds[i];
        st = cascade_vk_record_begin(p, err);
        if (st) break;
        st = cascade_vk_record_node(p, i, err);
        if (st) {
            vkEndCommandBuffer(p->cmd);
            break;
        }
        st = cascade_vk_record_end(p, err);
        c->ran[i] = p->n_dispatches != before;
    }
    p->cmd = VK_NULL_HANDLE; /* the per-node buffers are freed with the check's state */
    return st;
}

cascade_status cascade_vk_check_set_fault(cascade_vk_plan *p, cascade_value_id id, int64_t index,
                                          float delta, cascade_error *err) {
    struct cascade_vk_check *c = p->check;
    if (id != CASCADE_NO_VALUE) {
        if (id < 0 || id >= c->n || !c->ran[id])
            return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                     "vulkan check: value %d is not computed on the device", id);
        const cascade_node *n = cascade_graph_node(p->g, id);
        if (index < 0 || index >= cascade_vk_numel(n) || n->dtype == CASCADE_DTYPE_I32)
            return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                     "vulkan check: '%s' has no float element %lld", n->name,
                                     (long long)index);
    }
    c->fault_id = id;
    c->fault_index = index;
    c->fault_delta = delta;
    return CASCADE_STATUS_OK;
}

/* ---- host copies of values, 4 bytes an element (F32, or I32 for integer values) ---- */

/* Whether value id (an alias: its root) is stored as 4-byte words on the device. */
static bool stored_f32(const cascade_vk_plan *p, cascade_value_id id) {
    cascade_value_id r = cascade_memory_plan_root(p->mp, id);
    return cascade_graph_node(p->g, id)->dtype == CASCADE_DTYPE_I32 || !p->vk->fp16 ||
           (p->f32s && p->f32s[r]);
}

static cascade_status read_back(cascade_vk_plan *p, cascade_value_id id, void *dst,
                                cascade_error *err) {
    size_t                cnt = (size_t)cascade_vk_numel(cascade_graph_node(p->g, id));
    const cascade_vk_loc *l = &p->loc[id];
    if (cnt == 0) return CASCADE_STATUS_OK;
    if (stored_f32(p, id)) return cascade_vk_download(p->vk, l->buf, l->off, dst, cnt * 4, err);
    uint16_t *h = malloc(cnt * 2);
    if (!h) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan check: read");
    cascade_status st = cascade_vk_download(p->vk, l->buf, l->off, h, cnt * 2, err);
    if (!st) st = cascade_convert(CASCADE_DTYPE_F16, h, CASCADE_DTYPE_F32, dst, cnt, err);
    free(h);
    return st;
}

static cascade_status write_back(cascade_vk_plan *p, cascade_value_id id, const float *src,
                                 cascade_error *err) {
    size_t                cnt = (size_t)cascade_vk_numel(cascade_graph_node(p->g, id));
    const cascade_vk_loc *l = &p->loc[id];
    if (stored_f32(p, id)) return cascade_vk_upload(p->vk, l->buf, l->off, src, cnt * 4, err);
    uint16_t *h = malloc(cnt * 2);
    if (!h) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan check: write");
    cascade_status st = cascade_convert(CASCADE_DTYPE_F32, src, CASCADE_DTYPE_F16, h, cnt, err);
    if (!st) st = cascade_vk_upload(p->vk, l->buf, l->off, h, cnt * 2, err);
    free(h);
    return st;
}

/* Rounds to fp16 in place, as an fp16 plan stores a value (out of range: infinity). */
static void round_f16(float *x, size_t cnt) {
    for (size_t i = 0; i < cnt; i++)
        x[i] = cascade_fp16_to_fp32(cascade_fp32_to_fp16(x[i]));
}

/* Constant id's elements as the device holds them. */
static cascade_status constant_as_stored(const cascade_vk_plan *p, cascade_value_id id, void *dst,
                                         cascade_error *err) {
    const cascade_node   *n = cascade_graph_node(p->g, id);
    const cascade_tensor *t = n->constant;
    size_t                cnt = (size_t)cascade_tensor_numel(t);
    if (t->dtype == CASCADE_DTYPE_I32 && n->dtype == CASCADE_DTYPE_I32) {
        memcpy(dst, t->data, cnt * 4);
        return CASCADE_STATUS_OK;
    }
    float *f = dst;
    if (p->q8 && p->q8[id]) {
        uint8_t *q = malloc((size_t)cascade_vk_q8_bytes(n));
        if (!q) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan check: int8");
        cascade_status st = cascade_vk_q8_pack(n, q, err);
        if (!st) {
            size_t        rows = (size_t)n->shape[0], len = cnt / rows;
            const float  *scale = (const float *)(const void *)q;
            const int8_t *v = (const int8_t *)(q + 4 * rows);
            for (size_t r = 0; r < rows; r++)
                for (size_t i = 0; i < len; i++)
                    f[r * len + i] = scale[r] * (float)v[r * len + i];
        }
        free(q);
        return st;
    }
    CASCADE_TRY(cascade_convert(t->dtype, t->data, CASCADE_DTYPE_F32, f, cnt, err));
    if (!stored_f32(p, id)) round_f16(f, cnt);
    return CASCADE_STATUS_OK;
}

static void free_inputs(void **in) {
    for (int k = 0; k < CASCADE_NODE_MAX_INPUTS; k++) {
        free(in[k]);
        in[k] = NULL;
    }
}

static cascade_status host_value(cascade_vk_plan *p, cascade_value_id id, void **out,
                                 cascade_error *err);

/* The CPU's result for node id on host copies of its inputs, into out (numel * 4 bytes). */
static cascade_status cpu_node(cascade_vk_plan *p, cascade_value_id id, void *out,
                               cascade_error *err) {
    const cascade_node *n = cascade_graph_node(p->g, id);
    void               *in[CASCADE_NODE_MAX_INPUTS] = {0};
    cascade_status      st = CASCADE_STATUS_OK;
    for (int k = 0; k < n->n_inputs && !st; k++)
        if (n->inputs[k] != CASCADE_NO_VALUE) st = host_value(p, n->inputs[k], &in[k], err);
    if (!st && n->op == CASCADE_OP_RESHAPE) {
        /* a copying reshape (the CPU plan aliases every reshape, so cpu_run_node skips it) */
        memcpy(out, in[0], (size_t)cascade_vk_numel(n) * 4);
    } else if (!st) {
        cpu_exec ex = {.g = p->g, .tp = p->check->tp}; /* no plan scratch: ops allocate */
        st = cpu_run_node(&ex, n, out, in, err);
    }
    free_inputs(in);
    return st;
}

/* A malloc'd host copy of value id as the device has it now. */
static cascade_status host_value(cascade_vk_plan *p, cascade_value_id id, void **out,
                                 cascade_error *err) {
    const cascade_node *n = cascade_graph_node(p->g, id);
    cascade_value_id    r = cascade_memory_plan_root(p->mp, id);
    *out = malloc((size_t)cascade_vk_numel(n) * 4 + 4);
    if (!*out) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan check: input");
    if (cascade_graph_node(p->g, r)->op == CASCADE_OP_CONSTANT)
        return constant_as_stored(p, r, *out, err);
    if (p->angle && p->angle[id]) return cpu_node(p, id, *out, err); /* fused: not stored */
    return read_back(p, id, *out, err);
}

/* ---- comparison ---- */

typedef struct check_diff {
    double  max_abs, nmse;
    int64_t worst;       /* the element furthest past its tolerance (or nearest to it) */
    double  worst_ratio; /* its |delta| / tolerance */
    double  got, want;
} check_diff;

static double elem(const void *x, bool is_int, int64_t i) {
    return is_int ? (double)((const int32_t *)x)[i] : (double)((const float *)x)[i];
}

/* True when every element is within tol and the NMSE too. */
static bool compare(const void *got, const void *want, int64_t cnt, bool is_int,
                    const check_tol *tol, check_diff *d) {
    double scale = 0, se = 0, sw = 0;
    memset(d, 0, sizeof *d);
    d->worst = -1;
    for (int64_t i = 0; i < cnt; i++) {
        double g = elem(got, is_int, i), w = elem(want, is_int, i);
        if (isfinite(g) && fabs(g) > scale) scale = fabs(g);
        if (isfinite(w) && fabs(w) > scale) scale = fabs(w);
    }
    bool ok = true;
    for (int64_t i = 0; i < cnt; i++) {
        double g = elem(got, is_int, i), w = elem(want, is_int, i), ratio;
        if (!isfinite(g) || !isfinite(w)) {
            /* the same infinity, or NaN on both sides, agrees; anything else fails */
            bool same = (isnan(g) && isnan(w)) || g == w;
            ratio = same ? 0 : INFINITY;
            if (!same) d->max_abs = INFINITY;
        } else {
            double a = fabs(g - w), t = tol->atol * scale + tol->rtol * fabs(w);
            ratio = a == 0 ? 0 : t > 0 ? a / t : INFINITY;
            if (a > d->max_abs) d->max_abs = a;
            se += a * a;
            sw += w * w;
        }
        if (d->worst < 0 || ratio > d->worst_ratio) {
            d->worst = i;
            d->worst_ratio = ratio;
            d->got = g;
            d->want = w;
        }
        if (ratio > 1) ok = false;
    }
    d->nmse = sw > 0 ? se / sw : (se > 0 ? INFINITY : 0);
    return ok && d->nmse <= tol->max_nmse;
}

/* ---- the checked run ---- */

static cascade_status apply_fault(cascade_vk_plan *p, cascade_value_id id, float *tmp,
                                  cascade_error *err) {
    struct cascade_vk_check *c = p->check;
    CASCADE_TRY(read_back(p, id, tmp, err));
    tmp[c->fault_index] += c->fault_delta;
    return write_back(p, id, tmp, err);
}

static cascade_status check_node(cascade_vk_plan *p, cascade_value_id id, cascade_error *err) {
    struct cascade_vk_check *c = p->check;
    const cascade_node      *n = cascade_graph_node(p->g, id);
    int64_t                  cnt = cascade_vk_numel(n);
    bool                     is_int = n->dtype == CASCADE_DTYPE_I32;
    float                   *got = malloc((size_t)cnt * 4 + 4), *want = malloc((size_t)cnt * 4 + 4);
    cascade_status           st = CASCADE_STATUS_OK;
    if (!got || !want) st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan check");
    /* the CPU's result first: its inputs are read before the node may overwrite them */
    if (!st) st = cpu_node(p, id, want, err);
    /* the CPU's result as the device stores it, so only the computation is compared */
    if (!st && !stored_f32(p, id)) round_f16(want, (size_t)cnt);
    if (!st) st = cascade_vk_submit_wait(p->vk, c->cmds[id], err);
    if (!st && c->fault_id == id) st = apply_fault(p, id, got, err);
    if (!st) st = read_back(p, id, got, err);
    check_diff       d;
    const check_tol *tol = p->vk->fp16 ? &TOL_F16 : &TOL_F32;
    bool             ok = !st && compare(got, want, cnt, is_int, tol, &d);
    if (ok && cnt > 0 && d.worst_ratio > c->closest_ratio) {
        c->closest = id;
        c->closest_ratio = d.worst_ratio;
    }
    if (!st && !ok) {
        double rel = d.want != 0 ? fabs(d.got - d.want) / fabs(d.want) : INFINITY;
        st = cascade_error_set(
            err, CASCADE_STATUS_FORMAT,
            "CASCADE_VK_CHECK: node %d '%s' (%s) differs from the CPU at index %lld: vulkan "
            "%.7g, cpu %.7g (|diff| %.3g, rel %.3g); over the node max |diff| %.3g, nmse %.3g "
            "(%s tolerance: |diff| <= %g max|x| + %g |cpu|, nmse <= %g)",
            id, n->name, cascade_op_name(n->op), (long long)d.worst, d.got, d.want,
            fabs(d.got - d.want), rel, d.max_abs, d.nmse, p->vk->fp16 ? "fp16" : "fp32", tol->atol,
            tol->rtol, tol->max_nmse);
    }
    free(got);
    free(want);
    return st;
}

cascade_status cascade_vk_check_run(cascade_vk_plan *p, const cascade_cancel *cancel,
                                    cascade_error *err) {
    struct cascade_vk_check *c = p->check;
    uint32_t                 checked = 0;
    for (int32_t i = 0; i < c->n; i++) {
        if (!c->ran[i]) continue;
        if (cascade_cancel_is_raised(cancel))
            return cascade_error_set(err, CASCADE_STATUS_CANCELLED, "cancelled");
        CASCADE_TRY(check_node(p, i, err));
        checked++;
    }
    c->runs++;
    c->checked = checked;
    return CASCADE_STATUS_OK;
}
