/* cascade_plan_cache (runtime/plan-cache.h). */
#include "runtime/plan-cache.h"

#include <stdlib.h>
#include <string.h>

static int slots(const cascade_plan_cache *c) {
    return c->n_slots > 0 && c->n_slots <= CASCADE_PLAN_CACHE_SLOTS ? c->n_slots
                                                                     : CASCADE_PLAN_CACHE_SLOTS;
}

static void drop(cascade_plan_slot *s) {
    cascade_plan_free(s->plan);
    cascade_graph_free(s->graph);
    free(s->data);
    memset(s, 0, sizeof *s);
}

cascade_plan_slot *cascade_plan_cache_find(cascade_plan_cache *c, const cascade_backend *be,
                                           const void *owner, const int64_t key[4]) {
    for (int i = 0; i < slots(c); i++)
        if (c->slot[i].plan && c->slot[i].owner == owner && c->slot[i].be == be &&
            !memcmp(c->slot[i].key, key, sizeof c->slot[i].key))
            return &c->slot[i];
    return NULL;
}

cascade_status cascade_plan_cache_get(cascade_plan_cache *c, cascade_backend *be,
                                      const void *owner, const int64_t key[4],
                                      cascade_graph_build_fn build, void *user,
                                      cascade_plan_slot **out, cascade_error *err) {
    *out = NULL;
    cascade_plan_slot *s = cascade_plan_cache_find(c, be, owner, key);
    if (!s) {
        s = &c->slot[0];
        for (int i = 1; i < slots(c); i++)
            if (c->slot[i].last_use < s->last_use) s = &c->slot[i];
        drop(s);
        cascade_status st = build(user, key, &s->graph, err);
        if (!st) st = cascade_plan_new(be, s->graph, &s->plan, err);
        if (st) {
            drop(s);
            return st;
        }
        s->owner = owner;
        s->be = be;
        memcpy(s->key, key, sizeof s->key);
    }
    s->last_use = ++c->uses;
    *out = s;
    return CASCADE_STATUS_OK;
}

void cascade_plan_cache_clear(cascade_plan_cache *c) {
    for (int i = 0; i < CASCADE_PLAN_CACHE_SLOTS; i++) drop(&c->slot[i]);
    c->uses = 0;
}
