/* The Vulkan backend's own behaviour, beyond single ops: int8 weights (exact on the grid,
 * their size), the liveness plan's reuse and device memory accounting, refusing a plan
 * that will not fit (then retrying on the CPU), cancel, device listing. Runs under the
 * validation layer with guard bytes on; skips without Vulkan unless
 * CASCADE_REQUIRE_VULKAN=1. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cascade/backend.h"
#include "cascade/graph.h"
#include "cascade/vulkan.h"
#include "ops-common.h"
#include "test-common.h"

/* Dequantization is exact: weights already on the int8 grid (q * scale per row, with a
 * row reaching +-127) come back unchanged, so int8 Vulkan matches the CPU at fp32 NMSE on
 * a linear and a grouped conv. */
static void test_vulkan_int8_exact_on_grid(void **state) {
    (void)state;
    cascade_backend *vk = need_vulkan(2);
    for (int kind = 0; kind < 2; kind++) {
        cascade_error err;
        cascade_error_init(&err);
        cascade_graph *g = NULL;
        assert_int_equal(cascade_graph_new(&g, &err), 0);
        /* linear: w (17, 65) on x (3, 65); conv: w (6, 2, 3, 3), groups 2, on x (1, 4, 9, 7) */
        int64_t ws[4] = {17, 65, 1, 1}, rows = 17, len = 65;
        if (kind) ws[0] = 6, ws[1] = 2, ws[2] = 3, ws[3] = 3, rows = 6, len = 18;
        float *w = malloc(sizeof *w * (size_t)(rows * len));
        test_fill_uniform(w, (size_t)(rows * len), 77, -1, 1);
        for (int64_t r = 0; r < rows; r++) {
            float s = 0.01f * (float)(r + 1); /* a different scale per row */
            for (int64_t i = 0; i < len; i++) {
                float q = rintf(w[r * len + i] * 127.0f);
                w[r * len + i] = (i == r % len ? (r % 2 ? -127.0f : 127.0f) : q) * s;
            }
        }
        cascade_value_id out;
        if (kind == 0) {
            cascade_value_id x = in4(g, "x", 2, 3, 65, 1, 1);
            cascade_value_id wv = cascade_graph_constant_copy(g, "w", CASCADE_DTYPE_F32, 2, ws, w);
            out = cascade_graph_linear(g, x, wv, CASCADE_NO_VALUE);
        } else {
            cascade_value_id x = in4(g, "x", 4, 1, 4, 9, 7);
            cascade_value_id wv = cascade_graph_constant_copy(g, "w", CASCADE_DTYPE_F32, 4, ws, w);
            cascade_conv2d_params p;
            cascade_conv2d_params_init(&p);
            p.groups = 2;
            p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
            out = cascade_graph_conv2d(g, x, wv, CASCADE_NO_VALUE, &p);
        }
        free(w);
        cascade_graph_mark_output(g, out, "out");
        assert_int_equal(cascade_graph_status(g, &err), 0);
        run_result want, got;
        run_on(fx.cpu, g, out, &want);
        run_on(vk, g, out, &got);
        test_diff d;
        test_compare(got.out, want.out, got.n, 1e30, 0, &d);
        fprintf(stderr, "# int8 on grid (%s): nmse %.3g (max %.1g)\n", kind ? "conv" : "linear",
                d.nmse, NMSE_F32);
        free(got.out);
        free(want.out);
        cascade_graph_free(g);
        assert_true(d.nmse <= NMSE_F32);
    }
}

/* int8 weights take about a quarter of fp32's device memory (plus a scale per row), and
 * the option is reported by the backend. */
static void test_vulkan_int8_weights_smaller(void **state) {
    (void)state;
    need_vulkan(2);
    cascade_error err;
    cascade_error_init(&err);
    cascade_graph *g = NULL;
    assert_int_equal(cascade_graph_new(&g, &err), 0);
    /* x (3, 256) @ w (64, 256)^T + b (64) */
    int64_t          ws[2] = {64, 256}, bs[1] = {64};
    cascade_value_id x = in4(g, "x", 2, 3, 256, 1, 1);
    cascade_value_id wv = konst(g, "w", CASCADE_DTYPE_F32, 2, ws, 11, -0.5f, 0.5f);
    cascade_value_id b = konst(g, "b", CASCADE_DTYPE_F32, 1, bs, 12, -1, 1);
    cascade_graph_mark_output(g, cascade_graph_linear(g, x, wv, b), "out");
    uint64_t w[2];
    for (int i = 0; i < 2; i++) {
        cascade_backend *be = fx.vk[i ? 2 : 0];
        cascade_plan    *plan = NULL;
        assert_int_equal(cascade_plan_new(be, g, &plan, &err), 0);
        cascade_memory_stats ms;
        cascade_backend_memory_stats(be, &ms);
        w[i] = ms.weights_bytes;
        cascade_plan_free(plan);
    }
    fprintf(stderr, "# weights: fp32 %llu bytes, int8 %llu bytes\n", (unsigned long long)w[0],
            (unsigned long long)w[1]);
    /* w (64, 256): 65536 bytes fp32 -> 16384 int8 + 256 scales; the bias stays fp32 (256) */
    assert_int_equal(w[0], 64 * 256 * 4 + 64 * 4);
    assert_int_equal(w[1], 64 * 256 + 64 * 4 + 64 * 4);
    assert_true(cascade_vulkan_backend_uses_int8(fx.vk[2]));
    assert_false(cascade_vulkan_backend_uses_int8(fx.vk[0]));
    cascade_graph_free(g);
}

/* The liveness plan reuses activation memory: planned peak below naive on a chain. */
static void test_vulkan_memory_plan_reuses(void **state) {
    (void)state;
    cascade_backend *vk = need_vulkan(0);
    cascade_error    err;
    cascade_error_init(&err);
    cascade_graph *g = NULL;
    assert_int_equal(cascade_graph_new(&g, &err), 0);
    cascade_value_id x = in4(g, "x", 4, 1, 8, 32, 32);
    for (int i = 0; i < 8; i++)
        x = cascade_graph_unary(g, i % 2 ? CASCADE_UNARY_SILU : CASCADE_UNARY_TANH, x);
    cascade_graph_mark_output(g, x, "out");
    cascade_plan *plan = NULL;
    assert_int_equal(cascade_plan_new(vk, g, &plan, &err), 0);
    cascade_memory_stats ms;
    cascade_backend_memory_stats(vk, &ms);
    fprintf(stderr, "# memory: planned %llu bytes, naive %llu bytes, budget %llu\n",
            (unsigned long long)ms.planned_peak_bytes, (unsigned long long)ms.naive_bytes,
            (unsigned long long)ms.device_budget_bytes);
    assert_true(ms.planned_peak_bytes > 0);
    assert_true(ms.planned_peak_bytes * 3 <= ms.naive_bytes);
    /* the device holds at least the arena while the plan lives, and frees it after */
    assert_true(ms.device_bytes >= ms.planned_peak_bytes);
    assert_true(ms.device_peak_bytes >= ms.device_bytes);
    uint64_t held = ms.device_bytes;
    cascade_plan_free(plan);
    cascade_backend_memory_stats(vk, &ms);
    assert_true(ms.device_bytes + 2 * 8 * 32 * 32 * 4 <= held); /* at least its input and output */
    cascade_graph_free(g);
}

/* A plan that does not fit the device memory left is refused up front with OUT_OF_MEMORY
 * and a message saying what it needs and what is available; nothing stays allocated, and
 * the caller can run the same graph on the CPU backend instead. */
static void test_vulkan_oom_refused_cpu_retry(void **state) {
    (void)state;
    need_vulkan(0);
    cascade_memory_stats ms;
    cascade_backend_memory_stats(fx.vk[0], &ms);
    cascade_vulkan_options vo;
    cascade_vulkan_options_init(&vo);
    vo.precision = CASCADE_VULKAN_PRECISION_FP32;
    /* what a fresh backend holds (staging, a dummy buffer) plus 64 KiB */
    vo.max_device_bytes = ms.device_bytes + (64u << 10);
    cascade_backend *vk = NULL;
    cascade_error    err;
    cascade_error_init(&err);
    assert_int_equal(cascade_backend_vulkan_new(&vo, &vk, &err), 0);
    cascade_memory_stats before;
    cascade_backend_memory_stats(vk, &before);
    cascade_graph *g = NULL;
    assert_int_equal(cascade_graph_new(&g, &err), 0);
    cascade_value_id x = in4(g, "x", 4, 1, 8, 64, 64); /* 128 KiB in, 128 KiB out */
    cascade_graph_mark_output(g, cascade_graph_unary(g, CASCADE_UNARY_SILU, x), "out");
    cascade_plan  *plan = NULL;
    cascade_status st = cascade_plan_new(vk, g, &plan, &err);
    fprintf(stderr, "# %s: %s\n", cascade_status_name(st), err.message);
    assert_int_equal(st, CASCADE_STATUS_OUT_OF_MEMORY);
    assert_null(plan);
    assert_non_null(strstr(err.message, "available"));
    cascade_memory_stats after;
    cascade_backend_memory_stats(vk, &after);
    assert_int_equal(after.device_bytes, before.device_bytes);
    /* the retry on the CPU */
    run_result r;
    run_on(fx.cpu, g, cascade_graph_find(g, "out"), &r);
    assert_int_equal(r.n, 8 * 64 * 64);
    free(r.out);
    cascade_graph_free(g);
    assert_int_equal(cascade_vulkan_validation_messages(vk), 0);
    cascade_backend_free(vk);
}

/* A raised cancel flag stops a run with CANCELLED and leaves the plan usable. */
static void test_vulkan_cancel(void **state) {
    (void)state;
    cascade_backend *vk = need_vulkan(0);
    cascade_error    err;
    cascade_error_init(&err);
    cascade_graph *g = NULL;
    assert_int_equal(cascade_graph_new(&g, &err), 0);
    cascade_value_id x = in4(g, "x", 2, 3, 5, 1, 1);
    cascade_graph_mark_output(g, cascade_graph_scale(g, x, 2, 1), "out");
    cascade_plan *plan = NULL;
    assert_int_equal(cascade_plan_new(vk, g, &plan, &err), 0);
    cascade_cancel c;
    cascade_cancel_init(&c);
    cascade_cancel_raise(&c);
    assert_int_equal(cascade_plan_run(plan, &c, &err), CASCADE_STATUS_CANCELLED);
    cascade_error_init(&err);
    assert_int_equal(cascade_plan_run(plan, NULL, &err), 0);
    cascade_plan_free(plan);
    cascade_graph_free(g);
}

/* Device listing finds the device the backend runs on. */
static void test_vulkan_list_devices(void **state) {
    (void)state;
    cascade_backend           *vk = need_vulkan(0);
    cascade_vulkan_device_info info, *list = NULL;
    int                        n = 0;
    cascade_error              err;
    cascade_error_init(&err);
    assert_true(cascade_vulkan_backend_device(vk, &info));
    assert_int_equal(cascade_vulkan_list_devices(&list, &n, &err), 0);
    assert_true(n >= 1 && info.index < n);
    assert_string_equal(list[info.index].name, info.name);
    fprintf(stderr, "# device %d: %s (%s), fp16 storage %d\n", info.index, info.name,
            cascade_vulkan_device_type_name(info.type), info.fp16_storage);
    free(list);
}

/* Everything above ran without a single validation-layer message (last in the group). */
static void test_vulkan_backend_validation_silent(void **state) {
    (void)state;
    need_vulkan(0);
    for (int p = 0; p < 3; p++)
        if (fx.vk[p]) assert_int_equal(cascade_vulkan_validation_messages(fx.vk[p]), 0);
}

/* The tensor-core GEMM is picked only for fp16 plans on a device reporting everything the
 * kernel needs; a made-up device lacking one thing at a time is refused, and
 * CASCADE_VK_COOPMAT=0 or the option switches it off. On the real device the fixture's plain
 * backends never use it. */
static void test_vulkan_coopmat_pick(void **state) {
    (void)state;
    cascade_vulkan_device_info ok;
    memset(&ok, 0, sizeof ok);
    ok.coopmat_nv = true;
    ok.fp16_arith = true;
    ok.vulkan_memory_model = true;
    ok.subgroup_size = 32;
    ok.n_coopmat = 2;
    /* VkComponentTypeNV: 0 fp16, 1 fp32; VkScopeNV 3: subgroup */
    ok.coopmat[0] = (cascade_vulkan_coopmat_shape){16, 8, 16, 0, 0, 0, 0, 3};
    ok.coopmat[1] = (cascade_vulkan_coopmat_shape){16, 16, 16, 0, 0, 1, 1, 3};
    const char *why = NULL;
    assert_true(cascade_vulkan_coopmat_pick(&ok, true, false, "1", &why));
    assert_non_null(strstr(why, "used"));
    /* opt-in: unset or anything but 1 keeps the plain GEMM */
    assert_false(cascade_vulkan_coopmat_pick(&ok, true, false, NULL, &why));
    assert_non_null(strstr(why, "CASCADE_VK_COOPMAT=1"));
    assert_false(cascade_vulkan_coopmat_pick(&ok, true, false, "0", &why));
    assert_false(cascade_vulkan_coopmat_pick(&ok, true, true, "1", NULL));
    assert_false(cascade_vulkan_coopmat_pick(&ok, false, false, "1", &why));
    assert_non_null(strstr(why, "fp32"));
    for (int lack = 0; lack < 8; lack++) {
        cascade_vulkan_device_info d = ok;
        switch (lack) {
        case 0: d.coopmat_nv = false; break;
        case 1: d.fp16_arith = false; break;
        case 2: d.subgroup_size = 64; break;
        case 3: d.n_coopmat = 1; break;                /* only the 16x8x16 shape */
        case 4: d.coopmat[1].c_type = 0; break;        /* fp16 accumulation */
        case 5: d.coopmat[1].scope = 2; break;         /* workgroup scope */
        case 6: d.vulkan_memory_model = false; break;
        default: d.coopmat[1].k = 8; break;
        }
        assert_false(cascade_vulkan_coopmat_pick(&d, true, false, "1", &why));
        assert_null(strstr(why, "CASCADE_VK_COOPMAT"));
        fprintf(stderr, "# lacking %d: %s\n", lack, why);
    }
    for (int p = 0; p < 3; p++)
        assert_false(cascade_vulkan_backend_uses_coopmat(fx.vk[p]));
    assert_false(cascade_vulkan_backend_uses_coopmat(fx.cpu));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vulkan_coopmat_pick),
        cmocka_unit_test(test_vulkan_int8_exact_on_grid),
        cmocka_unit_test(test_vulkan_int8_weights_smaller),
        cmocka_unit_test(test_vulkan_memory_plan_reuses),
        cmocka_unit_test(test_vulkan_oom_refused_cpu_retry),
        cmocka_unit_test(test_vulkan_cancel),
        cmocka_unit_test(test_vulkan_list_devices),
        cmocka_unit_test(test_vulkan_backend_validation_silent),
    };
    return cmocka_run_group_tests_name("vulkan-backend", tests, ops_group_setup,
                                       ops_group_teardown);
}
