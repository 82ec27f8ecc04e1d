/* Shared by the Vulkan op tests (see ops-common.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cascade/vulkan.h"
#include "ops-common.h"
#include "test-common.h"

/* ---- graph helpers ---- */

cascade_value_id in4(cascade_graph *g, const char *name, int32_t nd, int64_t a, int64_t b,
                     int64_t c, int64_t d) {
    int64_t sh[4] = {a, b, c, d};
    return cascade_graph_input(g, name, CASCADE_DTYPE_F32, nd, sh);
}

/* A constant filled from a seed, as F32 or converted to F16 / BF16. */
cascade_value_id konst(cascade_graph *g, const char *name, cascade_dtype dt, int32_t nd,
                       const int64_t *sh, uint64_t seed, float lo, float hi) {
    int64_t n = 1;
    for (int32_t i = 0; i < nd; i++)
        n *= sh[i];
    float *f = malloc((size_t)n * sizeof *f);
    void  *d = malloc((size_t)n * 4);
    test_fill_uniform(f, (size_t)n, seed, lo, hi);
    cascade_convert(CASCADE_DTYPE_F32, f, dt, d, (size_t)n, NULL);
    cascade_value_id v = cascade_graph_constant_copy(g, name, dt, nd, sh, d);
    free(f);
    free(d);
    return v;
}

/* ---- fixture: one CPU backend, Vulkan fp32 and fp16 backends ---- */

fixture fx;

bool require_vulkan(void) {
    const char *v = getenv("CASCADE_REQUIRE_VULKAN");
    return v && strcmp(v, "1") == 0;
}

int ops_group_setup(void **state) {
    (void)state;
    cascade_error err;
    cascade_error_init(&err);
    cascade_cpu_options co;
    cascade_cpu_options_init(&co);
    co.n_threads = 1;
    if (cascade_backend_cpu_new(&co, &fx.cpu, &err)) {
        fprintf(stderr, "cpu backend: %s\n", err.message);
        return -1;
    }
    for (int p = 0; p < 4; p++) {
        cascade_vulkan_options vo;
        cascade_vulkan_options_init(&vo);
        vo.precision = p == 1 || p == OPS_COOPMAT ? CASCADE_VULKAN_PRECISION_FP16
                                                  : CASCADE_VULKAN_PRECISION_FP32;
        vo.weights_int8 = p == 2;
        vo.no_coopmat = p != OPS_COOPMAT; /* the plain GEMM stays the reference */
        vo.guards = true;
        cascade_error_init(&err);
        if (cascade_backend_vulkan_new(&vo, &fx.vk[p], &err) && p == 0)
            snprintf(fx.why, sizeof fx.why, "%s", err.message);
    }
    if (!cascade_vulkan_backend_uses_coopmat(fx.vk[OPS_COOPMAT])) {
        cascade_backend_free(fx.vk[OPS_COOPMAT]);
        fx.vk[OPS_COOPMAT] = NULL;
    }
    return 0;
}

int ops_group_teardown(void **state) {
    (void)state;
    cascade_backend_free(fx.vk[OPS_COOPMAT]);
    cascade_backend_free(fx.vk[2]);
    cascade_backend_free(fx.vk[1]);
    cascade_backend_free(fx.vk[0]);
    cascade_backend_free(fx.cpu);
    return 0;
}

/* Needs a Vulkan backend: skips without one, fails when CASCADE_REQUIRE_VULKAN=1. */
cascade_backend *need_vulkan(int precision) {
    if (!fx.vk[0]) {
        if (require_vulkan()) fail_msg("CASCADE_REQUIRE_VULKAN=1 but no Vulkan: %s", fx.why);
        skip();
    }
    if (precision > 0 && !fx.vk[precision]) {
        if (require_vulkan())
            fail_msg("CASCADE_REQUIRE_VULKAN=1 but no Vulkan backend %d", precision);
        skip();
    }
    return fx.vk[precision];
}

bool ops_coopmat_probe(const char **why) {
    cascade_error err;
    cascade_error_init(&err);
    cascade_vulkan_options vo;
    cascade_vulkan_options_init(&vo);
    vo.precision = CASCADE_VULKAN_PRECISION_FP16;
    cascade_backend           *be = NULL;
    cascade_vulkan_device_info info;
    *why = "no Vulkan device with 16-bit storage";
    if (cascade_backend_vulkan_new(&vo, &be, &err)) return false;
    if (cascade_vulkan_backend_device(be, &info))
        cascade_vulkan_coopmat_pick(&info, true, false, getenv("CASCADE_VK_COOPMAT"), why);
    bool on = cascade_vulkan_backend_uses_coopmat(be);
    cascade_backend_free(be);
    return on;
}

/* ---- running a graph ---- */

static void fill_inputs(cascade_plan *plan, const cascade_graph *g) {
    cascade_error err;
    for (int32_t i = 0; i < cascade_graph_n_nodes(g); i++) {
        const cascade_node *n = cascade_graph_node(g, i);
        if (n->op != CASCADE_OP_INPUT) continue;
        int64_t numel = 1;
        for (int32_t d = 0; d < n->ndim; d++)
            numel *= n->shape[d];
        cascade_error_init(&err);
        if (n->dtype == CASCADE_DTYPE_I32) {
            int32_t *ids = malloc((size_t)numel * 4 + 4);
            for (int64_t j = 0; j < numel; j++)
                ids[j] = (int32_t)((j * 5 + 3) % 7);
            assert_int_equal(cascade_plan_write(plan, i, ids, (size_t)numel * 4, &err), 0);
            free(ids);
        } else {
            float *x = malloc((size_t)numel * 4 + 4);
            bool   t = strcmp(n->name, "t") == 0 || strstr(n->name, "/t") != NULL;
            test_fill_uniform(x, (size_t)numel, 1000 + (uint64_t)i, t ? 0.0f : -1.5f,
                              t ? 1000.0f : 1.5f);
            assert_int_equal(cascade_plan_write(plan, i, x, (size_t)numel * 4, &err), 0);
            free(x);
        }
    }
}

void run_on(cascade_backend *be, const cascade_graph *g, cascade_value_id out, run_result *r) {
    cascade_error err;
    cascade_error_init(&err);
    cascade_plan  *plan = NULL;
    cascade_status st = cascade_plan_new(be, g, &plan, &err);
    if (st)
        fail_msg("%s: plan_new: %s: %s", cascade_backend_name(be), cascade_status_name(st),
                 err.message);
    fill_inputs(plan, g);
    /* twice: the recorded command buffer must replay to the same result */
    for (int rep = 0; rep < 2; rep++) {
        st = cascade_plan_run(plan, NULL, &err);
        if (st) fail_msg("%s: run: %s", cascade_backend_name(be), err.message);
    }
    const cascade_node *n = cascade_graph_node(g, out);
    int64_t             numel = 1;
    for (int32_t d = 0; d < n->ndim; d++)
        numel *= n->shape[d];
    r->n = (size_t)numel;
    r->out = malloc(r->n * 4 + 4);
    st = cascade_plan_read(plan, out, r->out, r->n * 4, &err);
    if (st) fail_msg("%s: read: %s", cascade_backend_name(be), err.message);
    st = cascade_vulkan_check_guards(plan, &err);
    if (st) fail_msg("%s: %s", cascade_backend_name(be), err.message);
    cascade_plan_free(plan);
}
