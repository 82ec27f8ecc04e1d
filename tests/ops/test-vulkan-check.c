/* CASCADE_VK_CHECK (cascade_vulkan_options.check): a checked plan runs node by node against
 * the CPU's kernels. On a small U-Net-like graph (timestep embedding with the fused sin/cos
 * product, convs, group norms, attention, down/upsampling, a skip concat) every node agrees
 * in fp32, fp16 and int8 and the outputs are those of the CPU reference and of the unchecked
 * plan; a fault injected into one node's result on the device is caught at that node and
 * named. Runs under the validation layer with guard bytes on; skips without Vulkan unless
 * CASCADE_REQUIRE_VULKAN=1. */
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

/* fp16 and int8 bounds as test-backend-ops states them for its conv/norm/attention block */
#define NMSE_F16_BLOCK 1e-4
#define NMSE_Q8        1e-4

/* checked backends: fp32, fp16, fp32 + int8 weights (fx.vk[0..2] are their unchecked twins) */
static cascade_backend *chk[3];

static int setup(void **state) {
    unsetenv("CASCADE_VK_CHECK"); /* fx.vk[] are the unchecked twins, whatever the caller set */
    if (ops_group_setup(state)) return -1;
    for (int p = 0; p < 3 && fx.vk[0]; p++) {
        cascade_vulkan_options vo;
        cascade_vulkan_options_init(&vo);
        vo.precision = p == 1 ? CASCADE_VULKAN_PRECISION_FP16 : CASCADE_VULKAN_PRECISION_FP32;
        vo.weights_int8 = p == 2;
        vo.no_coopmat = true;
        vo.guards = true;
        vo.check = true;
        cascade_error err;
        cascade_error_init(&err);
        if (cascade_backend_vulkan_new(&vo, &chk[p], &err))
            fprintf(stderr, "# checked backend %d: %s\n", p, err.message);
    }
    return 0;
}

static int teardown(void **state) {
    for (int p = 0; p < 3; p++)
        cascade_backend_free(chk[p]);
    return ops_group_teardown(state);
}

/* The checked backend of a precision (0 fp32, 1 fp16, 2 int8); skips as need_vulkan does. */
static cascade_backend *need_checked(int precision) {
    need_vulkan(precision);
    if (!chk[precision]) {
        if (require_vulkan()) fail_msg("CASCADE_REQUIRE_VULKAN=1 but no checked backend");
        skip();
    }
    return chk[precision];
}

static cascade_value_id conv3(cascade_graph *g, cascade_value_id x, int64_t cin, int64_t cout,
                              int32_t stride, uint64_t seed, cascade_dtype wdt) {
    int64_t               ws[4] = {cout, cin, 3, 3}, bs[1] = {cout};
    cascade_conv2d_params p;
    cascade_conv2d_params_init(&p);
    p.stride[0] = p.stride[1] = stride;
    p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
    return cascade_graph_conv2d(g, x, konst(g, "w", wdt, 4, ws, seed, -0.3f, 0.3f),
                                konst(g, "b", CASCADE_DTYPE_F32, 1, bs, seed + 1, -0.5f, 0.5f), &p);
}

/* A small U-Net over awkward sizes: sample (1, 4, 9, 7), timestep t (1). */
static cascade_value_id build_unet(cascade_graph *g) {
    cascade_value_id x = in4(g, "sample", 4, 1, 4, 9, 7);
    int64_t          ts[1] = {1}, one[2] = {1, 1}, fs[2] = {1, 8};
    cascade_graph_set_scope(g, "time_embedding");
    cascade_value_id t = cascade_graph_input(g, "t", CASCADE_DTYPE_F32, 1, ts);
    float            fr[8];
    for (int i = 0; i < 8; i++)
        fr[i] = 1.0f / (float)(1 << i);
    cascade_value_id arg =
        cascade_graph_mul(g, cascade_graph_reshape(g, t, 2, one),
                          cascade_graph_constant_copy(g, "freqs", CASCADE_DTYPE_F32, 2, fs, fr));
    cascade_value_id sc[2] = {cascade_graph_unary(g, CASCADE_UNARY_SIN, arg),
                              cascade_graph_unary(g, CASCADE_UNARY_COS, arg)};
    int64_t          lw[2] = {8, 16}, lb[1] = {8}, e4[4] = {1, 8, 1, 1};
    cascade_value_id temb =
        cascade_graph_linear(g, cascade_graph_concat(g, 2, sc, 1),
                             konst(g, "lw", CASCADE_DTYPE_F32, 2, lw, 5, -0.4f, 0.4f),
                             konst(g, "lb", CASCADE_DTYPE_F32, 1, lb, 6, -0.1f, 0.1f));
    temb = cascade_graph_reshape(g, cascade_graph_unary(g, CASCADE_UNARY_SILU, temb), 4, e4);

    cascade_graph_set_scope(g, "down.0");
    cascade_value_id h = conv3(g, x, 4, 8, 1, 11, CASCADE_DTYPE_F16);
    h = cascade_graph_add(g, h, temb);
    cascade_value_id skip =
        cascade_graph_group_norm(g, h, CASCADE_NO_VALUE, CASCADE_NO_VALUE, 2, 1e-5f, true);
    h = conv3(g, skip, 8, 8, 2, 21, CASCADE_DTYPE_F32); /* (1, 8, 5, 4) */

    cascade_graph_set_scope(g, "mid");
    int64_t          cs[1] = {8};
    cascade_value_id n = cascade_graph_group_norm(
        g, h, konst(g, "gw", CASCADE_DTYPE_F32, 1, cs, 31, 0.5f, 1.5f),
        konst(g, "gb", CASCADE_DTYPE_F32, 1, cs, 32, -0.2f, 0.2f), 4, 1e-5f, false);
    int64_t          sq[4] = {1, 1, 8, 20}, back[4] = {1, 8, 5, 4};
    int32_t          perm[4] = {0, 1, 3, 2};
    cascade_value_id s = cascade_graph_permute(g, cascade_graph_reshape(g, n, 4, sq), perm);
    cascade_value_id a = cascade_graph_attention(g, s, s, s, CASCADE_NO_VALUE, 0.35f);
    a = cascade_graph_reshape(g, cascade_graph_permute(g, a, perm), 4, back);
    h = cascade_graph_add(g, h, a);

    cascade_graph_set_scope(g, "up.0");
    h = cascade_graph_upsample_nearest(g, h, 2, 2); /* (1, 8, 10, 8) */
    h = cascade_graph_slice(g, cascade_graph_slice(g, h, 2, 0, 9, 1), 3, 0, 7, 1);
    cascade_value_id cat[2] = {h, skip};
    h = conv3(g, cascade_graph_concat(g, 2, cat, 1), 16, 4, 1, 41, CASCADE_DTYPE_F32);
    cascade_graph_set_scope(g, "%s", "");
    return h;
}

static cascade_graph *unet_graph(cascade_value_id *out) {
    cascade_error err;
    cascade_error_init(&err);
    cascade_graph *g = NULL;
    assert_int_equal(cascade_graph_new(&g, &err), 0);
    *out = build_unet(g);
    if (*out != CASCADE_NO_VALUE) cascade_graph_mark_output(g, *out, "out");
    if (cascade_graph_status(g, &err)) fail_msg("graph: %s", err.message);
    return g;
}

/* The first node named name. */
static cascade_value_id node_named(const cascade_graph *g, const char *name) {
    for (int32_t i = 0; i < cascade_graph_n_nodes(g); i++)
        if (!strcmp(cascade_graph_node(g, i)->name, name)) return i;
    fail_msg("no node '%s'", name);
    return CASCADE_NO_VALUE;
}

/* A checked plan passes on the U-Net at each precision (every node agrees with the CPU) and
 * its output is the CPU reference's (within the precision's bound) and exactly the
 * unchecked plan's. */
static void check_passes(int precision) {
    cascade_backend *vk = need_checked(precision);
    assert_true(cascade_vulkan_backend_checks(vk));
    assert_false(cascade_vulkan_backend_checks(fx.vk[precision]));
    cascade_value_id out;
    cascade_graph   *g = unet_graph(&out);
    uint64_t         msgs = cascade_vulkan_validation_messages(vk);
    run_result       want, got, plain;
    run_on(fx.cpu, g, out, &want);
    run_on(vk, g, out, &got); /* fails the test on any error, the check's included */
    run_on(fx.vk[precision], g, out, &plain);
    assert_int_equal(got.n, want.n);
    test_diff d;
    test_compare(got.out, want.out, got.n, 1e30, 0, &d);
    double max = precision == 2 ? NMSE_Q8 : precision ? NMSE_F16_BLOCK : NMSE_F32;
    fprintf(stderr, "# checked unet %s: nmse %.3g vs cpu (max %.1g)\n",
            precision == 2 ? "int8"
            : precision    ? "fp16"
                           : "fp32",
            d.nmse, max);
    bool same = memcmp(got.out, plain.out, got.n * sizeof *got.out) == 0;
    free(got.out);
    free(want.out);
    free(plain.out);
    cascade_graph_free(g);
    assert_true(d.n_bad == 0 && d.nmse <= max);
    assert_true(same);
    assert_int_equal(cascade_vulkan_validation_messages(vk), msgs);
}

static void test_vk_check_unet_passes_fp32(void **state) {
    (void)state;
    check_passes(0);
}

static void test_vk_check_unet_passes_fp16(void **state) {
    (void)state;
    check_passes(1);
}

static void test_vk_check_unet_passes_int8(void **state) {
    (void)state;
    check_passes(2);
}

/* A wrong value in one node's device result fails the run with FORMAT naming that node, its
 * op and the element; once cleared, the same plan passes again. */
static void fault_is_named(int precision, const char *name, const char *op, int64_t index,
                           float delta) {
    cascade_backend *vk = need_checked(precision);
    cascade_value_id out;
    cascade_graph   *g = unet_graph(&out);
    cascade_error    err;
    cascade_error_init(&err);
    cascade_plan *plan = NULL;
    assert_int_equal(cascade_plan_new(vk, g, &plan, &err), 0);
    float *x = calloc(1, 4 * 9 * 7 * sizeof *x), t = 500.0f;
    test_fill_uniform(x, 4 * 9 * 7, 7, -1.5f, 1.5f);
    assert_int_equal(cascade_plan_write_named(plan, "sample", x, 4 * 9 * 7 * sizeof *x, &err), 0);
    assert_int_equal(cascade_plan_write_named(plan, "t", &t, sizeof t, &err), 0);
    free(x);
    cascade_value_id id = node_named(g, name);
    assert_int_equal(cascade_vulkan_check_inject(plan, id, index, delta, &err), 0);
    cascade_status st = cascade_plan_run(plan, NULL, &err);
    fprintf(stderr, "# %s\n", err.message);
    char want_node[160], want_op[64], want_idx[64];
    snprintf(want_node, sizeof want_node, "node %d '%s'", id, name);
    snprintf(want_op, sizeof want_op, "(%s)", op);
    snprintf(want_idx, sizeof want_idx, "at index %lld:", (long long)index);
    assert_true(test_error_is(st, &err, CASCADE_STATUS_FORMAT, want_node));
    assert_non_null(strstr(err.message, want_op));
    assert_non_null(strstr(err.message, want_idx));
    assert_non_null(strstr(err.message, "CASCADE_VK_CHECK"));
    cascade_error_init(&err);
    assert_int_equal(cascade_vulkan_check_inject(plan, CASCADE_NO_VALUE, 0, 0, &err), 0);
    st = cascade_plan_run(plan, NULL, &err);
    if (st) fail_msg("after clearing the fault: %s", err.message);
    assert_int_equal(cascade_vulkan_check_guards(plan, &err), 0);
    cascade_plan_free(plan);
    cascade_graph_free(g);
}

static void test_vk_check_names_faulty_group_norm_fp32(void **state) {
    (void)state;
    fault_is_named(0, "mid/group_norm", "group_norm", 3, 0.5f);
}

static void test_vk_check_names_faulty_conv_fp32(void **state) {
    (void)state;
    /* the first conv: later nodes (which would inherit the error) are never reached */
    fault_is_named(0, "down.0/conv2d", "conv2d", 100, -0.25f);
}

static void test_vk_check_names_faulty_attention_fp16(void **state) {
    (void)state;
    fault_is_named(1, "mid/attention", "attention", 77, 0.5f);
}

static void test_vk_check_names_faulty_linear_int8(void **state) {
    (void)state;
    fault_is_named(2, "time_embedding/linear", "linear", 2, 0.5f);
}

/* Faults go only into checked Vulkan plans, on computed values, within their elements. */
static void test_vk_check_inject_refused(void **state) {
    (void)state;
    cascade_backend *vk = need_checked(0);
    cascade_value_id out;
    cascade_graph   *g = unet_graph(&out);
    cascade_error    err;
    cascade_error_init(&err);
    cascade_plan *checked = NULL, *plain = NULL, *cpu = NULL;
    assert_int_equal(cascade_plan_new(vk, g, &checked, &err), 0);
    assert_int_equal(cascade_plan_new(fx.vk[0], g, &plain, &err), 0);
    assert_int_equal(cascade_plan_new(fx.cpu, g, &cpu, &err), 0);
    /* each refusal into a fresh err: the first error set in one is kept */
    struct {
        cascade_plan    *plan;
        cascade_value_id id;
        int64_t          index;
        const char      *needle;
    } bad[] = {
        {plain, out, 0, "CASCADE_VK_CHECK"},                   /* unchecked Vulkan plan */
        {cpu, out, 0, "CASCADE_VK_CHECK"},                     /* CPU plan */
        {checked, node_named(g, "sample"), 0, "not computed"}, /* an input */
        {checked, out, 4 * 9 * 7, "no float element"},         /* past the end */
        {checked, out, -1, "no float element"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cascade_error_init(&err);
        cascade_status st =
            cascade_vulkan_check_inject(bad[i].plan, bad[i].id, bad[i].index, 1, &err);
        assert_true(test_error_is(st, &err, CASCADE_STATUS_INVALID_ARG, bad[i].needle));
    }
    cascade_error_init(&err);
    assert_int_equal(cascade_vulkan_check_inject(checked, out, 4 * 9 * 7 - 1, 1, &err), 0);
    cascade_plan_free(cpu);
    cascade_plan_free(plain);
    cascade_plan_free(checked);
    cascade_graph_free(g);
}

/* $CASCADE_VK_CHECK=1 turns the check on for backends made while it is set; 0 does not. */
static void test_vk_check_env(void **state) {
    (void)state;
    need_vulkan(0);
    for (int on = 0; on < 2; on++) {
        setenv("CASCADE_VK_CHECK", on ? "1" : "0", 1);
        cascade_backend *be = NULL;
        cascade_error    err;
        cascade_error_init(&err);
        cascade_status st = cascade_backend_vulkan_new(NULL, &be, &err);
        unsetenv("CASCADE_VK_CHECK");
        if (st) fail_msg("vulkan backend: %s", err.message);
        bool checks = cascade_vulkan_backend_checks(be);
        cascade_backend_free(be);
        assert_int_equal(checks, on);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vk_check_env),
        cmocka_unit_test(test_vk_check_unet_passes_fp32),
        cmocka_unit_test(test_vk_check_unet_passes_fp16),
        cmocka_unit_test(test_vk_check_unet_passes_int8),
        cmocka_unit_test(test_vk_check_names_faulty_group_norm_fp32),
        cmocka_unit_test(test_vk_check_names_faulty_conv_fp32),
        cmocka_unit_test(test_vk_check_names_faulty_attention_fp16),
        cmocka_unit_test(test_vk_check_names_faulty_linear_int8),
        cmocka_unit_test(test_vk_check_inject_refused),
    };
    return cmocka_run_group_tests_name("vulkan-check", tests, setup, teardown);
}
