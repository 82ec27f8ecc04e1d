/* Backends execute graphs. A plan is a graph bound to one backend: its kernels, its memory
 * plan and (on GPUs) its recorded commands; it is made once and run at every step, with
 * only the inputs rewritten in between. Models never call a backend; callers do. */
#ifndef CASCADE_BACKEND_H
#define CASCADE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/cancel.h"
#include "cascade/graph.h"
#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cascade_backend cascade_backend;
typedef struct cascade_plan    cascade_plan;

typedef struct cascade_memory_stats {
    uint64_t weights_bytes;       /* constants resident on the backend */
    uint64_t planned_peak_bytes;  /* intermediates after liveness reuse, largest plan */
    uint64_t naive_bytes;         /* intermediates if every value had its own buffer */
    uint64_t io_bytes;            /* inputs and outputs in their own buffers, largest plan */
    uint64_t scratch_bytes;       /* temporaries ops hold while they run (im2col columns,
                                     attention scores), largest plan; 0 where not counted */
    uint64_t device_budget_bytes; /* what the device says is available; 0 if unknown */
    uint64_t device_bytes;        /* device memory allocated now (0 on the CPU backend) */
    uint64_t device_peak_bytes;   /* most device memory allocated at once so far */
} cascade_memory_stats;

/* What a plan of a graph would hold on a backend, worked out without making it (a liveness
 * walk over the graph; nothing is allocated or uploaded). Models use it to pick a batch or
 * tile size that fits a memory budget before planning. */
typedef struct cascade_plan_estimate {
    uint64_t activation_bytes;    /* intermediates after liveness reuse, as the backend stores
                                     them */
    uint64_t io_bytes;            /* inputs and outputs, each in its own buffer */
    uint64_t weights_bytes;       /* constants the plan copies or uploads (0: used in place) */
    uint64_t scratch_bytes;       /* the largest temporary one op allocates while it runs */
    uint64_t largest_value_bytes; /* the largest single value */
    uint64_t value_limit_bytes;   /* the largest value the backend can bind; 0: no limit */
    uint64_t total_bytes;         /* activation + io + weights + scratch */
} cascade_plan_estimate;

typedef struct cascade_backend_vtable {
    const char *name; /* "cpu", "vulkan" */
    void (*destroy)(cascade_backend *be);
    bool (*supports)(const cascade_backend *be, const cascade_graph *g, const cascade_node *n);
    cascade_status (*plan_new)(cascade_backend *be, const cascade_graph *g, cascade_plan **out,
                               cascade_error *err);
    cascade_status (*plan_run)(cascade_backend *be, cascade_plan *p, const cascade_cancel *cancel,
                               cascade_error *err);
    cascade_status (*value_write)(cascade_backend *be, cascade_plan *p, cascade_value_id id,
                                  const void *src, size_t n_bytes, cascade_error *err);
    cascade_status (*value_read)(cascade_backend *be, const cascade_plan *p, cascade_value_id id,
                                 void *dst, size_t n_bytes, cascade_error *err);
    void (*plan_free)(cascade_backend *be, cascade_plan *p);
    void (*memory_stats)(const cascade_backend *be, cascade_memory_stats *out);
    /* May be NULL: the generic estimate (dtype sizes, no scratch, no limit) is used. */
    cascade_status (*plan_estimate)(const cascade_backend *be, const cascade_graph *g,
                                    cascade_plan_estimate *out, cascade_error *err);
} cascade_backend_vtable;

/* What a backend has been asked to build so far (cascade_plan_new keeps them): a session
 * that reuses plans shows it by these not moving between runs. */
typedef struct cascade_backend_counters {
    uint64_t plans_built;     /* plans made */
    uint64_t plan_ns;         /* time spent making them (constant upload included) */
    uint64_t constants_bound; /* constant tensors (weights) bound or uploaded by those plans */
    uint64_t constant_bytes;  /* their bytes, as the graph holds them */
} cascade_backend_counters;

struct cascade_backend {
    const cascade_backend_vtable *vt;
    void                         *impl;
    cascade_backend_counters      counters; /* zeroed by the backend's calloc */
};

/* Every plan remembers its backend and graph (both borrowed: they must outlive it). */
struct cascade_plan {
    cascade_backend     *backend;
    const cascade_graph *graph;
    void                *impl;
};

typedef struct cascade_cpu_options {
    int n_threads; /* 0: one per online core */
} cascade_cpu_options;

void           cascade_cpu_options_init(cascade_cpu_options *opt);
cascade_status cascade_backend_cpu_new(const cascade_cpu_options *opt, cascade_backend **out,
                                       cascade_error *err);
void           cascade_backend_free(cascade_backend *be); /* NULL-safe */
const char    *cascade_backend_name(const cascade_backend *be);

/* Makes a plan; fails with UNSUPPORTED naming the first node the backend cannot run, or
 * with the graph's own build error. */
cascade_status cascade_plan_new(cascade_backend *be, const cascade_graph *g, cascade_plan **out,
                                cascade_error *err);
void           cascade_plan_free(cascade_plan *p); /* NULL-safe */
cascade_status cascade_plan_run(cascade_plan *p, const cascade_cancel *cancel,
                                cascade_error *err);
/* Writes an INPUT (n_bytes must equal its size in its dtype). */
cascade_status cascade_plan_write(cascade_plan *p, cascade_value_id id, const void *src,
                                  size_t n_bytes, cascade_error *err);
/* Reads an output value after a run, as F32 unless the value's dtype is I32. */
cascade_status cascade_plan_read(const cascade_plan *p, cascade_value_id id, void *dst,
                                 size_t n_bytes, cascade_error *err);
/* Convenience: write/read by name. */
cascade_status cascade_plan_write_named(cascade_plan *p, const char *name, const void *src,
                                        size_t n_bytes, cascade_error *err);
cascade_status cascade_plan_read_named(const cascade_plan *p, const char *name, void *dst,
                                       size_t n_bytes, cascade_error *err);
void cascade_backend_memory_stats(const cascade_backend *be, cascade_memory_stats *out);
/* The plans made on be so far (cascade_backend_counters). */
void cascade_backend_get_counters(const cascade_backend *be, cascade_backend_counters *out);
/* What cascade_plan_new(be, g) would hold (see cascade_plan_estimate); fails with the graph's
 * build error. Nothing is allocated beyond the walk itself. */
cascade_status cascade_plan_estimate_graph(cascade_backend *be, const cascade_graph *g,
                                           cascade_plan_estimate *out, cascade_error *err);

/* What a run on be may still allocate: $CASCADE_MEMORY_BUDGET_MIB when set (MiB, a limit of
 * the user's own), else the device's budget (Vulkan), else the host's available memory
 * (MemAvailable). 0 when unknown. */
uint64_t cascade_backend_available_bytes(const cascade_backend *be);
/* OUT_OF_MEMORY naming what, the bytes it needs, what is available and what to change, when
 * need_bytes exceeds cascade_backend_available_bytes(be); OK otherwise (or when unknown).
 * Called before allocating: by the CPU backend for every plan, and by the pipelines for a
 * whole run before its first step. */
cascade_status cascade_backend_check_fits(const cascade_backend *be, uint64_t need_bytes,
                                          const char *what, cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
