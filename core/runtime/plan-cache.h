/* Plans kept per shape (internal to core): a few slots, each a graph and its plan for one key
 * (an owner and up to four sizes), the least recently used one replaced. The U-Net denoiser
 * keeps its plans here (candidates and single images alternate shapes) and so do the
 * upscaler's tile windows (a layer's chunks come in a few sizes). */
#ifndef CASCADE_RUNTIME_PLAN_CACHE_H
#define CASCADE_RUNTIME_PLAN_CACHE_H

#include <stdint.h>

#include "cascade/backend.h"

enum { CASCADE_PLAN_CACHE_SLOTS = 3 };

typedef struct cascade_plan_slot {
    const void      *owner; /* what the graph was built from (NULL: empty slot) */
    cascade_backend *be;    /* what the plan runs on */
    int64_t          key[4];
    cascade_graph *graph;
    cascade_plan  *plan;
    uint64_t       last_use;
    void          *data; /* the user's, free()d with the slot */
} cascade_plan_slot;

typedef struct cascade_plan_cache {
    cascade_plan_slot slot[CASCADE_PLAN_CACHE_SLOTS];
    int               n_slots; /* in use, 1..CASCADE_PLAN_CACHE_SLOTS (0: all) */
    uint64_t          uses;
} cascade_plan_cache;

/* Builds the graph for key into *g (a new graph, freed by the caller on failure). */
typedef cascade_status (*cascade_graph_build_fn)(void *user, const int64_t key[4],
                                                 cascade_graph **g, cascade_error *err);

/* The slot holding owner's plan for key on be, or NULL. */
cascade_plan_slot *cascade_plan_cache_find(cascade_plan_cache *c, const cascade_backend *be,
                                           const void *owner, const int64_t key[4]);
/* The slot for owner and key on be: a kept one, else the least recently used slot, its old plan
 * freed before the new one is built (so no more than the slots' plans ever coexist). */
cascade_status cascade_plan_cache_get(cascade_plan_cache *c, cascade_backend *be,
                                      const void *owner, const int64_t key[4],
                                      cascade_graph_build_fn build, void *user,
                                      cascade_plan_slot **out, cascade_error *err);
/* Frees every slot's plan, graph and data. */
void cascade_plan_cache_clear(cascade_plan_cache *c);

#endif
