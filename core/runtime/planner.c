/* Liveness-based placement of intermediates in one arena (best-fit over the gaps between
 * live blocks), as ggml-alloc does: a value's bytes are free again after its last reader. */
#include "planner.h"

#include <stdlib.h>
#include <string.h>

typedef struct block {
    uint64_t off, size;
} block;

typedef struct live_set {
    block  *b; /* sorted by offset */
    size_t  n, cap;
    uint64_t top; /* high-water mark */
} live_set;

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

static bool live_alloc(live_set *ls, uint64_t size, uint64_t align, uint64_t *off) {
    uint64_t best = 0, best_gap = 0;
    size_t   best_i = ls->n;
    bool     found = false;
    uint64_t prev_end = 0;
    for (size_t i = 0; i <= ls->n; i++) {
        uint64_t start = align_up(prev_end, align);
        uint64_t end = i < ls->n ? ls->b[i].off : UINT64_MAX;
        if (end >= start && end - start >= size) {
            uint64_t gap = end - start;
            if (!found || gap < best_gap) {
                found = true;
                best_gap = gap;
                best = start;
                best_i = i;
            }
        }
        if (i < ls->n) prev_end = ls->b[i].off + ls->b[i].size;
    }
    if (!found) return false;
    if (ls->n == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 64;
        block *nb = realloc(ls->b, sizeof *nb * cap);
        if (!nb) return false;
        ls->b = nb;
        ls->cap = cap;
    }
    memmove(ls->b + best_i + 1, ls->b + best_i, sizeof *ls->b * (ls->n - best_i));
    ls->b[best_i] = (block){best, size};
    ls->n++;
    if (best + size > ls->top) ls->top = best + size;
    *off = best;
    return true;
}

static void live_free(live_set *ls, uint64_t off) {
    for (size_t i = 0; i < ls->n; i++) {
        if (ls->b[i].off == off) {
            memmove(ls->b + i, ls->b + i + 1, sizeof *ls->b * (ls->n - i - 1));
            ls->n--;
            return;
        }
    }
}

/* Whether node i may write its output over value x: x's storage is an arena block of the
 * same size that nothing reads after node i (root_last: see cascade_memory_plan_new_flags). */
static bool can_overwrite(const cascade_memory_plan *mp, const int32_t *root_last,
                          cascade_value_id x, int32_t i, uint64_t nbytes) {
    if (x < 0) return false;
    cascade_value_id r = cascade_memory_plan_root(mp, x);
    return mp->values[r].placement == CASCADE_PLACE_ARENA && mp->values[r].nbytes == nbytes &&
           root_last[r] == i;
}

static size_t default_elem_size(const cascade_node *n, void *ud) {
    (void)ud;
    return cascade_dtype_size(n->dtype);
}

cascade_status cascade_memory_plan_new(const cascade_graph *g, uint64_t alignment,
                                       size_t (*elem_size_of)(const cascade_node *n, void *ud),
                                       void *ud, cascade_memory_plan **out, cascade_error *err) {
    return cascade_memory_plan_new_flags(g, alignment, elem_size_of, ud, 0, out, err);
}

cascade_status
cascade_memory_plan_new_flags(const cascade_graph *g, uint64_t alignment,
                              size_t (*elem_size_of)(const cascade_node *n, void *ud), void *ud,
                              unsigned flags, cascade_memory_plan **out, cascade_error *err) {
    *out = NULL;
    if (alignment == 0 || (alignment & (alignment - 1)))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "memory plan: alignment %llu is not a power of two",
                                 (unsigned long long)alignment);
    if (!elem_size_of) elem_size_of = default_elem_size;
    int32_t              n = cascade_graph_n_nodes(g);
    cascade_memory_plan *mp = calloc(1, sizeof *mp);
    int32_t             *root_last = calloc((size_t)n + 1, sizeof *root_last);
    live_set             ls = {0};
    if (!mp || !root_last) goto oom;
    mp->n_values = n;
    mp->values = calloc((size_t)n + 1, sizeof *mp->values);
    if (!mp->values) goto oom;
    /* in place: root_last first holds each value's last reader, then (per root, over the
     * values placed so far) the latest of its views' readers */
    const bool in_place = (flags & CASCADE_PLAN_IN_PLACE_UNARY) != 0;
    if (in_place) {
        for (int32_t i = 0; i < n; i++)
            root_last[i] = i;
        for (int32_t i = 0; i < n; i++) {
            const cascade_node *nd = cascade_graph_node(g, i);
            for (int32_t k = 0; k < nd->n_inputs; k++)
                if (nd->inputs[k] >= 0) root_last[nd->inputs[k]] = i;
        }
    }

    for (int32_t i = 0; i < n; i++) {
        const cascade_node *nd = cascade_graph_node(g, i);
        cascade_value_plan *vp = &mp->values[i];
        int64_t             numel = 0;
        cascade_shape_numel(nd->ndim, nd->shape, &numel);
        vp->nbytes = (uint64_t)numel * elem_size_of(nd, ud);
        vp->last_use = i;
        vp->alias_of = CASCADE_NO_VALUE;
        if (nd->op == CASCADE_OP_CONSTANT) vp->placement = CASCADE_PLACE_CONSTANT;
        else if (nd->op == CASCADE_OP_INPUT) vp->placement = CASCADE_PLACE_OWN;
        else if (nd->op == CASCADE_OP_RESHAPE) {
            vp->placement = CASCADE_PLACE_ALIAS;
            vp->alias_of = cascade_memory_plan_root(mp, nd->inputs[0]);
        } else if (in_place && cascade_op_is_elementwise_unary(nd->op) && !nd->is_output &&
                   can_overwrite(mp, root_last, nd->inputs[0], i, vp->nbytes)) {
            vp->placement = CASCADE_PLACE_ALIAS; /* y[k] = f(x[k]) into x's own bytes */
            vp->alias_of = cascade_memory_plan_root(mp, nd->inputs[0]);
        } else
            vp->placement = CASCADE_PLACE_ARENA;
        if (in_place && vp->placement == CASCADE_PLACE_ALIAS) {
            cascade_value_id r = vp->alias_of;
            if (root_last[i] > root_last[r]) root_last[r] = root_last[i];
        }
        for (int32_t k = 0; k < nd->n_inputs; k++)
            if (nd->inputs[k] >= 0) mp->values[nd->inputs[k]].last_use = i;
    }
    /* lifetimes and pinning gather at the storage root */
    for (int32_t i = 0; i < n; i++) root_last[i] = mp->values[i].last_use;
    for (int32_t i = 0; i < n; i++) {
        const cascade_node *nd = cascade_graph_node(g, i);
        cascade_value_id    r = cascade_memory_plan_root(mp, i);
        if (mp->values[i].last_use > root_last[r]) root_last[r] = mp->values[i].last_use;
        if (nd->is_output && mp->values[r].placement == CASCADE_PLACE_ARENA)
            mp->values[r].placement = CASCADE_PLACE_OWN;
    }
    for (int32_t i = 0; i < n; i++) mp->values[i].last_use = root_last[cascade_memory_plan_root(mp, i)];

    /* frees_at[i]: roots whose last reader is node i, as a linked list through root_last */
    int32_t *head = malloc(sizeof *head * ((size_t)n + 1)), *next = malloc(sizeof *next * ((size_t)n + 1));
    if (!head || !next) {
        free(head);
        free(next);
        goto oom;
    }
    for (int32_t i = 0; i < n; i++) head[i] = -1;
    for (int32_t i = 0; i < n; i++) {
        if (mp->values[i].placement != CASCADE_PLACE_ARENA) continue;
        int32_t l = mp->values[i].last_use;
        next[i] = head[l];
        head[l] = i;
    }
    bool ok = true;
    for (int32_t i = 0; i < n && ok; i++) {
        cascade_value_plan *vp = &mp->values[i];
        if (vp->placement == CASCADE_PLACE_ARENA) {
            uint64_t sz = align_up(vp->nbytes ? vp->nbytes : 1, alignment);
            ok = live_alloc(&ls, sz, alignment, &vp->offset);
            mp->naive_bytes += sz;
        }
        for (int32_t r = head[i]; r >= 0 && ok; r = next[r]) live_free(&ls, mp->values[r].offset);
    }
    free(head);
    free(next);
    if (!ok) goto oom;
    mp->arena_bytes = ls.top;
    free(ls.b);
    free(root_last);
    *out = mp;
    return CASCADE_STATUS_OK;
oom:
    free(ls.b);
    free(root_last);
    cascade_memory_plan_free(mp);
    return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "memory plan: out of memory");
}

void cascade_memory_plan_free(cascade_memory_plan *mp) {
    if (!mp) return;
    free(mp->values);
    free(mp);
}

cascade_status cascade_memory_plan_estimate(const cascade_graph *g, uint64_t alignment,
                                            size_t (*elem_size_of)(const cascade_node *n, void *ud),
                                            void *ud, unsigned flags, cascade_plan_estimate *est,
                                            cascade_error *err) {
    memset(est, 0, sizeof *est);
    cascade_memory_plan *mp = NULL;
    CASCADE_TRY(cascade_memory_plan_new_flags(g, alignment, elem_size_of, ud, flags, &mp, err));
    est->activation_bytes = mp->arena_bytes;
    for (int32_t i = 0; i < mp->n_values; i++) {
        const cascade_value_plan *vp = &mp->values[i];
        if (vp->nbytes > est->largest_value_bytes) est->largest_value_bytes = vp->nbytes;
        if (vp->placement == CASCADE_PLACE_OWN) est->io_bytes += vp->nbytes;
        if (vp->placement == CASCADE_PLACE_CONSTANT) est->weights_bytes += vp->nbytes;
    }
    cascade_memory_plan_free(mp);
    est->total_bytes = est->activation_bytes + est->io_bytes + est->weights_bytes;
    return CASCADE_STATUS_OK;
}
