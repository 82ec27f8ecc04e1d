/* Memory planning by liveness (internal to backends). Every value gets a byte range in one
 * arena; values whose lifetimes do not overlap share bytes. RESHAPE outputs alias their
 * input's storage (same bytes, different shape), so a chain of views is one allocation;
 * with CASCADE_PLAN_IN_PLACE_UNARY so do element-wise unary ops on their last reader's input.
 * Inputs, outputs and constants are not placed in the arena: backends keep them apart. */
#ifndef CASCADE_PLANNER_H
#define CASCADE_PLANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/backend.h"
#include "cascade/graph.h"
#include "cascade/status.h"

typedef enum cascade_placement {
    CASCADE_PLACE_ARENA = 0, /* offset into the shared activation arena */
    CASCADE_PLACE_OWN,       /* its own buffer: inputs and outputs, readable any time */
    CASCADE_PLACE_CONSTANT,  /* weights: uploaded once */
    CASCADE_PLACE_ALIAS,     /* shares the storage of alias_of (RESHAPE, or an in-place unary op) */
} cascade_placement;

typedef struct cascade_value_plan {
    cascade_placement placement;
    uint64_t          offset;   /* ARENA: byte offset; aligned to the plan's alignment */
    uint64_t          nbytes;   /* size of the value in its dtype */
    cascade_value_id  alias_of; /* ALIAS: the value whose storage this one uses (never ALIAS) */
    int32_t           last_use; /* index of the last node that reads it (or itself) */
} cascade_value_plan;

typedef struct cascade_memory_plan {
    int32_t             n_values;
    cascade_value_plan *values;     /* one per node */
    uint64_t            arena_bytes; /* peak of the arena after reuse */
    uint64_t            naive_bytes; /* sum of all ARENA values' sizes (no reuse) */
} cascade_memory_plan;

/* Flags of cascade_memory_plan_new_flags. */
enum {
    /* an element-wise unary op (UNARY, SCALE, CLAMP) whose input nothing reads afterwards
     * writes over its input (ALIAS): for backends whose kernels read x[k] before writing
     * y[k] at the same index (the CPU's; a Vulkan shader's bindings must not alias) */
    CASCADE_PLAN_IN_PLACE_UNARY = 1u << 0,
};

/* alignment: bytes (power of two; e.g. minStorageBufferOffsetAlignment on Vulkan).
 * elem_size_of: bytes per element of a node's value as the backend stores it (NULL: the
 * node's dtype size). */
cascade_status cascade_memory_plan_new(const cascade_graph *g, uint64_t alignment,
                                       size_t (*elem_size_of)(const cascade_node *n, void *ud),
                                       void *ud, cascade_memory_plan **out, cascade_error *err);
cascade_status
     cascade_memory_plan_new_flags(const cascade_graph *g, uint64_t alignment,
                                   size_t (*elem_size_of)(const cascade_node *n, void *ud), void *ud,
                                   unsigned flags, cascade_memory_plan **out, cascade_error *err);
void cascade_memory_plan_free(cascade_memory_plan *mp); /* NULL-safe */

/* Fills activation_bytes, io_bytes, largest_value_bytes and (constants at the given element
 * size) weights_bytes of est from a plan made as cascade_memory_plan_new does; scratch,
 * limits and total are left to the backend (total = the sum of the four byte counts). */
cascade_status cascade_memory_plan_estimate(const cascade_graph *g, uint64_t alignment,
                                            size_t (*elem_size_of)(const cascade_node *n, void *ud),
                                            void *ud, unsigned flags, cascade_plan_estimate *est,
                                            cascade_error *err);

/* The value whose storage id uses (itself unless ALIAS). */
static inline cascade_value_id cascade_memory_plan_root(const cascade_memory_plan *mp,
                                                        cascade_value_id id) {
    return mp->values[id].placement == CASCADE_PLACE_ALIAS ? mp->values[id].alias_of : id;
}

#endif
