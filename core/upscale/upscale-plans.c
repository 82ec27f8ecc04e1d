/* Tile plans kept between upscale calls (cascade_upscale_plans): the plug-in enlarges a
 * layer chunk by chunk, and every chunk of one size would otherwise build and plan the network
 * again. */
#include <stdlib.h>
#include <string.h>

#include "cascade/upscaler.h"

enum { KEPT_PLANS = 3 }; /* an inner chunk's window, the last column's and the last row's */

typedef struct kept_plan {
    const cascade_upscaler *u;
    cascade_backend        *be;
    int64_t                 h, w; /* window; 0: empty slot */
    cascade_graph          *g;
    cascade_plan           *p;
    uint64_t                last_use;
} kept_plan;

struct cascade_upscale_plans {
    kept_plan slot[KEPT_PLANS];
    uint64_t  uses;
};

cascade_upscale_plans *cascade_upscale_plans_new(void) {
    return calloc(1, sizeof(cascade_upscale_plans));
}

static void drop(kept_plan *k) {
    cascade_plan_free(k->p);
    cascade_graph_free(k->g);
    memset(k, 0, sizeof *k);
}

void cascade_upscale_plans_free(cascade_upscale_plans *c) {
    if (!c) return;
    for (int i = 0; i < KEPT_PLANS; i++)
        drop(&c->slot[i]);
    free(c);
}

cascade_status cascade_upscale_plans_get(cascade_upscale_plans *c, const cascade_upscaler *u,
                                         cascade_backend *be, int64_t h, int64_t w,
                                         cascade_plan **out, cascade_error *err) {
    *out = NULL;
    kept_plan *k = NULL;
    for (int i = 0; i < KEPT_PLANS && !k; i++)
        if (c->slot[i].p && c->slot[i].u == u && c->slot[i].be == be && c->slot[i].h == h &&
            c->slot[i].w == w)
            k = &c->slot[i];
    if (!k) {
        k = &c->slot[0];
        for (int i = 1; i < KEPT_PLANS; i++)
            if (c->slot[i].last_use < k->last_use) k = &c->slot[i];
        drop(k);
        cascade_status st = cascade_upscaler_build_graph(u, h, w, &k->g, err);
        if (!st) st = cascade_plan_new(be, k->g, &k->p, err);
        if (st) {
            drop(k);
            return st;
        }
        k->u = u;
        k->be = be;
        k->h = h;
        k->w = w;
    }
    k->last_use = ++c->uses;
    *out = k->p;
    return CASCADE_STATUS_OK;
}
