/* Tile plans kept between upscale calls (cascade_upscale_plans): the plug-in enlarges a
 * layer chunk by chunk, and every chunk of one size would otherwise build and plan the network
 * again. Three windows are kept: an inner chunk's, the last column's and the last row's. */
#include <stdlib.h>

#include "cascade/upscaler.h"
#include "runtime/plan-cache.h"

struct cascade_upscale_plans {
    cascade_plan_cache cache;
};

cascade_upscale_plans *cascade_upscale_plans_new(void) {
    return calloc(1, sizeof(cascade_upscale_plans));
}

void cascade_upscale_plans_free(cascade_upscale_plans *c) {
    if (!c) return;
    cascade_plan_cache_clear(&c->cache);
    free(c);
}

static cascade_status build_window(void *user, const int64_t key[4], cascade_graph **g,
                                   cascade_error *err) {
    return cascade_upscaler_build_graph(user, key[0], key[1], g, err);
}

cascade_status cascade_upscale_plans_get(cascade_upscale_plans *c, const cascade_upscaler *u,
                                         cascade_backend *be, int64_t h, int64_t w,
                                         cascade_plan **out, cascade_error *err) {
    const int64_t      key[4] = {h, w, 0, 0};
    cascade_plan_slot *s = NULL;
    *out = NULL;
    CASCADE_TRY(cascade_plan_cache_get(&c->cache, be, u, key, build_window, (void *)u, &s, err));
    *out = s->plan;
    return CASCADE_STATUS_OK;
}
