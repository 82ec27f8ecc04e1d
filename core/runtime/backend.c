/* Backend-independent entry points: argument checks, then the backend's vtable. */
#include "cascade/backend.h"

#include <string.h>
#include <time.h>

#include "map-guard.h"
#include "runtime/planner.h"

void cascade_backend_free(cascade_backend *be) {
    if (be) be->vt->destroy(be);
}

const char *cascade_backend_name(const cascade_backend *be) { return be->vt->name; }

cascade_status cascade_plan_new(cascade_backend *be, const cascade_graph *g, cascade_plan **out,
                                cascade_error *err) {
    *out = NULL;
    CASCADE_TRY(cascade_graph_status(g, err));
    for (int32_t i = 0; i < cascade_graph_n_nodes(g); i++) {
        const cascade_node *n = cascade_graph_node(g, i);
        if (!be->vt->supports(be, g, n))
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "%s backend: op %s (node '%s') is not supported",
                                     be->vt->name, cascade_op_name(n->op), n->name);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cascade_status st = be->vt->plan_new(be, g, out, err);
    /* weights mapped from a file that shrank on disk read as zeros (map-guard.h) */
    if (st == CASCADE_STATUS_OK) st = cascade_map_guard_check("plan's upload", err);
    if (st != CASCADE_STATUS_OK && *out) {
        cascade_plan_free(*out);
        *out = NULL;
    }
    if (st == CASCADE_STATUS_OK) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        cascade_backend_counters *c = &be->counters;
        c->plans_built++;
        c->plan_ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
        for (int32_t i = 0; i < cascade_graph_n_nodes(g); i++) {
            const cascade_node *n = cascade_graph_node(g, i);
            if (n->op != CASCADE_OP_CONSTANT || !n->constant) continue;
            c->constants_bound++;
            c->constant_bytes += (uint64_t)cascade_tensor_nbytes(n->constant);
        }
    }
    return st;
}

void cascade_backend_get_counters(const cascade_backend *be, cascade_backend_counters *out) {
    *out = be->counters;
}

void cascade_plan_free(cascade_plan *p) {
    if (p) p->backend->vt->plan_free(p->backend, p);
}

cascade_status cascade_plan_run(cascade_plan *p, const cascade_cancel *cancel,
                                cascade_error *err) {
    if (cascade_cancel_is_raised(cancel))
        return cascade_error_set(err, CASCADE_STATUS_CANCELLED, "cancelled");
    cascade_status st = p->backend->vt->plan_run(p->backend, p, cancel, err);
    if (st == CASCADE_STATUS_OK) st = cascade_map_guard_check("run", err);
    return st;
}

static size_t value_bytes(const cascade_node *n) {
    int64_t numel = 0;
    cascade_shape_numel(n->ndim, n->shape, &numel);
    size_t es = n->dtype == CASCADE_DTYPE_I32 ? 4 : cascade_dtype_size(n->dtype);
    return (size_t)numel * es;
}

cascade_status cascade_plan_write(cascade_plan *p, cascade_value_id id, const void *src,
                                  size_t n_bytes, cascade_error *err) {
    const cascade_node *n = cascade_graph_node(p->graph, id);
    if (!n || n->op != CASCADE_OP_INPUT)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "plan write: value %d is not an input", id);
    if (n_bytes != value_bytes(n))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "plan write: input '%s' takes %zu bytes, got %zu", n->name,
                                 value_bytes(n), n_bytes);
    return p->backend->vt->value_write(p->backend, p, id, src, n_bytes, err);
}

cascade_status cascade_plan_read(const cascade_plan *p, cascade_value_id id, void *dst,
                                 size_t n_bytes, cascade_error *err) {
    const cascade_node *n = cascade_graph_node(p->graph, id);
    if (!n || !(n->is_output || n->op == CASCADE_OP_INPUT))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "plan read: value %d is not an output", id);
    int64_t numel = 0;
    cascade_shape_numel(n->ndim, n->shape, &numel);
    size_t want = (size_t)numel * 4;
    if (n_bytes != want)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "plan read: output '%s' has %zu bytes, asked for %zu", n->name,
                                 want, n_bytes);
    return p->backend->vt->value_read(p->backend, p, id, dst, n_bytes, err);
}

cascade_status cascade_plan_write_named(cascade_plan *p, const char *name, const void *src,
                                        size_t n_bytes, cascade_error *err) {
    cascade_value_id id = cascade_graph_find(p->graph, name);
    if (id == CASCADE_NO_VALUE)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "plan: no input named '%s'",
                                 name);
    return cascade_plan_write(p, id, src, n_bytes, err);
}

cascade_status cascade_plan_read_named(const cascade_plan *p, const char *name, void *dst,
                                       size_t n_bytes, cascade_error *err) {
    cascade_value_id id = cascade_graph_find(p->graph, name);
    if (id == CASCADE_NO_VALUE)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "plan: no output named '%s'",
                                 name);
    return cascade_plan_read(p, id, dst, n_bytes, err);
}

void cascade_backend_memory_stats(const cascade_backend *be, cascade_memory_stats *out) {
    memset(out, 0, sizeof *out);
    if (be->vt->memory_stats) be->vt->memory_stats(be, out);
}

cascade_status cascade_plan_estimate_graph(cascade_backend *be, const cascade_graph *g,
                                           cascade_plan_estimate *out, cascade_error *err) {
    memset(out, 0, sizeof *out);
    CASCADE_TRY(cascade_graph_status(g, err));
    if (be->vt->plan_estimate) return be->vt->plan_estimate(be, g, out, err);
    return cascade_memory_plan_estimate(g, 64, NULL, NULL, 0, out, err);
}
