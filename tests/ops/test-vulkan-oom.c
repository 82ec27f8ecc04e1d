/* Injected out-of-memory and device loss on the Vulkan backend (issue 14), as ncnn's _oom
 * tests do: host allocations failing in turn (tests/common/fail-alloc.h) while a backend is
 * made and while the op graph of tests/common/oom-graph.h is planned and run; device
 * allocations failing in turn (cascade_vulkan_inject_faults) in the same places and through a
 * pipeline run of the tiny cascade; and a device lost at a submission. Every failure must come
 * back as OUT_OF_MEMORY or DEVICE_LOST with a message, free the host and device memory it
 * took, and leave the validation layer silent; a lost device refuses later work. With no
 * Vulkan device each case skips, unless CASCADE_REQUIRE_VULKAN=1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cascade/backend.h"
#include "cascade/pipeline.h"
#include "cascade/vulkan.h"
#include "fail-alloc.h"
#include "oom-graph.h"
#include "test-common.h"
#include "tiny-cascade.h"

static cascade_backend *g_vk, *g_vk16; /* fp32; fp16 with int8 weights (NULL: unsupported) */
static char             g_why[512];
static oom_graph_case   g_case, g_case16;

static bool require_vulkan(void) {
    const char *v = getenv("CASCADE_REQUIRE_VULKAN");
    return v && strcmp(v, "1") == 0;
}

static void vk_options(cascade_vulkan_options *vo) {
    cascade_vulkan_options_init(vo);
    vo->precision = CASCADE_VULKAN_PRECISION_FP32; /* the reference's tolerance is fp32's */
}

static int group_setup(void **state) {
    (void)state;
    cascade_vulkan_options vo;
    cascade_error          err;
    vk_options(&vo);
    cascade_error_init(&err);
    if (cascade_backend_vulkan_new(&vo, &g_vk, &err))
        snprintf(g_why, sizeof g_why, "%s", err.message);
    vo.precision = CASCADE_VULKAN_PRECISION_FP16;
    vo.weights_int8 = true;
    cascade_error_init(&err);
    if (g_vk && cascade_backend_vulkan_new(&vo, &g_vk16, &err))
        fprintf(stderr, "# no fp16 backend: %s\n", err.message);
    oom_graph_case_init(&g_case);
    /* fp16 storage (u = 2^-11) and int8 weights (per-channel scale max|w| / 127, half a step
     * of error each, on weights of magnitude <= 5/16 and sums of up to 18 terms of |x| <= 1)
     * keep the outputs, of magnitude about 1, within 2e-2 */
    g_case16 = g_case;
    g_case16.atol = g_case16.rtol = 2e-2;
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    cascade_backend_free(g_vk16);
    cascade_backend_free(g_vk);
    return 0;
}

static cascade_backend *need_vulkan(void) {
    if (!g_vk) {
        if (require_vulkan()) fail_msg("CASCADE_REQUIRE_VULKAN=1 but no Vulkan: %s", g_why);
        skip();
    }
    return g_vk;
}

static uint64_t device_bytes(const cascade_backend *be) {
    cascade_memory_stats ms;
    cascade_backend_memory_stats(be, &ms);
    return ms.device_bytes;
}

/* status and message as expected: the status, and needle in the message */
static void assert_failed_with(cascade_status st, const cascade_error *err, cascade_status want,
                               const char *needle) {
    if (st != want || !strcasestr(err->message, needle))
        fail_msg("got %s '%s'; want %s mentioning '%s'", cascade_status_name(st), err->message,
                 cascade_status_name(want), needle);
}

/* ---- host allocations ------------------------------------------------------------------- */

static cascade_status backend_new_free(void *ctx, cascade_error *err) {
    (void)ctx;
    cascade_vulkan_options vo;
    cascade_backend       *be = NULL;
    vk_options(&vo);
    cascade_status st = cascade_backend_vulkan_new(&vo, &be, err);
    if (!st && cascade_vulkan_validation_messages(be))
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "validation messages");
    cascade_backend_free(be);
    return st;
}

/* Every host allocation of making a Vulkan backend (device probing, context) failing in turn
 * gives OUT_OF_MEMORY and frees all. */
static void test_vulkan_oom_host_backend_new(void **state) {
    (void)state;
    need_vulkan();
    fail_alloc_report r;
    fail_alloc_sweep("vulkan backend_new", backend_new_free, NULL, 200, &r);
    assert_true(r.allocations >= 3); /* context, device list, properties */
    assert_int_equal(r.runs, r.allocations);
}

static cascade_status list_devices(void *ctx, cascade_error *err) {
    (void)ctx;
    cascade_vulkan_device_info *list = NULL;
    int                         n = 0;
    cascade_status              st = cascade_vulkan_list_devices(&list, &n, err);
    if (!st && (n < 1 || !list))
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "no device listed");
    free(list);
    return st;
}

/* Every host allocation of listing the devices failing in turn gives OUT_OF_MEMORY (not a
 * shorter list) and frees all. */
static void test_vulkan_oom_host_list_devices(void **state) {
    (void)state;
    need_vulkan();
    fail_alloc_report r;
    fail_alloc_sweep("vulkan list_devices", list_devices, NULL, 200, &r);
    assert_true(r.allocations >= 3); /* device handles, the list, extension lists */
    assert_int_equal(r.runs, r.allocations);
}

typedef struct on_backend {
    cascade_backend      *be;
    const oom_graph_case *c;
} on_backend;

/* The op graph on a shared backend; the device memory it took must be given back too. */
static cascade_status op_graph_on_vulkan(void *ctx, cascade_error *err) {
    const on_backend *o = ctx;
    uint64_t          before = device_bytes(o->be);
    cascade_status    st = oom_graph_run(o->c, o->be, err);
    uint64_t          after = device_bytes(o->be);
    if (after != before) {
        cascade_error_init(err);
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%lld device bytes still held",
                               (long long)(after - before));
    }
    return st;
}

/* Every host allocation of building, planning (tables, constant conversion, recorder) and
 * running the op graph on Vulkan failing in turn gives OUT_OF_MEMORY and frees all host and
 * device memory; the clean run matches the reference. */
static void test_vulkan_oom_host_op_graph(void **state) {
    (void)state;
    on_backend        o = {need_vulkan(), &g_case};
    fail_alloc_report r;
    fail_alloc_sweep("vulkan op graph", op_graph_on_vulkan, &o, 1000, &r);
    assert_true(r.allocations >= 10);
    assert_int_equal(r.runs, r.allocations);
    assert_int_equal(cascade_vulkan_validation_messages(o.be), 0);
}

/* The same on an fp16 backend with int8 weights, whose plans also mark fp32 islands
 * (vk-fuse.c) and quantize the weights (vk-quant.c). */
static void test_vulkan_oom_host_op_graph_fp16_int8(void **state) {
    (void)state;
    need_vulkan();
    if (!g_vk16) skip(); /* the device has no 16-bit storage: nothing of this to test */
    on_backend        o = {g_vk16, &g_case16};
    fail_alloc_report r;
    fail_alloc_sweep("vulkan fp16 int8 op graph", op_graph_on_vulkan, &o, 1000, &r);
    assert_true(r.allocations >= 14); /* and the int8 and fp32-island tables, packing */
    assert_int_equal(r.runs, r.allocations);
    assert_int_equal(cascade_vulkan_validation_messages(o.be), 0);
}

/* ---- device allocations ------------------------------------------------------------------ */

/* Device allocation n (n = 1, 2, ...) of the op graph's plan and run failing in turn gives
 * OUT_OF_MEMORY naming it and frees all host and device memory, until n is past the last
 * allocation and the run succeeds with the right result. */
static void test_vulkan_oom_device_op_graph(void **state) {
    (void)state;
    cascade_backend *be = need_vulkan();
    uint32_t         n = 1;
    for (;; n++) {
        assert_true(n < 500);
        cascade_error err;
        cascade_error_init(&err);
        uint64_t bytes = device_bytes(be), faults = cascade_vulkan_faults_injected(be);
        fail_alloc_track(true);
        assert_true(cascade_vulkan_inject_faults(be, n, 0));
        cascade_status st = oom_graph_run(&g_case, be, &err);
        cascade_vulkan_inject_faults(be, 0, 0);
        size_t live = fail_alloc_live(NULL);
        fail_alloc_track(false);
        assert_int_equal(live, 0);
        assert_int_equal(device_bytes(be), bytes);
        if (cascade_vulkan_faults_injected(be) == faults) {
            if (st) fprintf(stderr, "%s\n", err.message);
            assert_int_equal(st, CASCADE_STATUS_OK); /* no fault: the right result */
            break;
        }
        assert_failed_with(st, &err, CASCADE_STATUS_OUT_OF_MEMORY, "out of device memory");
        if (n == 1) fprintf(stderr, "# device allocation 1 failing: %s\n", err.message);
    }
    fprintf(stderr, "# vulkan op graph: %u device allocations failed in turn\n", n - 1);
    /* two slabs or more and the arena (buffer and memory each), the descriptor pool, the
     * command buffer, a descriptor set per dispatch */
    assert_true(n - 1 >= 8);
    assert_int_equal(cascade_vulkan_validation_messages(be), 0);
}

/* Device allocation n of making a backend (its transfer command buffer, staging and dummy
 * buffers) failing in turn gives OUT_OF_MEMORY and frees all, until the backend is made. */
static void test_vulkan_oom_device_backend_new(void **state) {
    (void)state;
    need_vulkan();
    uint32_t n = 1;
    for (;; n++) {
        assert_true(n < 100);
        cascade_vulkan_options vo;
        cascade_backend       *be = NULL;
        cascade_error          err;
        vk_options(&vo);
        vo.fault_alloc = n;
        cascade_error_init(&err);
        fail_alloc_track(true);
        cascade_status st = cascade_backend_vulkan_new(&vo, &be, &err);
        if (st == CASCADE_STATUS_OK) {
            /* the fault is still pending (not swallowed): the backend made no more allocations */
            assert_int_equal(cascade_vulkan_faults_injected(be), 0);
            assert_int_equal(cascade_vulkan_validation_messages(be), 0);
            cascade_backend_free(be);
        }
        size_t live = fail_alloc_live(NULL);
        fail_alloc_track(false);
        assert_int_equal(live, 0);
        if (st == CASCADE_STATUS_OK) break;
        assert_null(be);
        assert_failed_with(st, &err, CASCADE_STATUS_OUT_OF_MEMORY, "out of device memory");
    }
    assert_true(n - 1 >= 5); /* command buffer, staging and dummy buffers with their memory */
}

/* ---- device lost ------------------------------------------------------------------------- */

static cascade_backend *fresh_backend(void) {
    cascade_vulkan_options vo;
    cascade_backend       *be = NULL;
    cascade_error          err;
    vk_options(&vo);
    cascade_error_init(&err);
    assert_int_equal(cascade_backend_vulkan_new(&vo, &be, &err), 0);
    return be;
}

/* A device lost at a run's submission gives DEVICE_LOST saying so; the backend then refuses
 * runs, writes, reads and new plans with DEVICE_LOST, and still frees everything. */
static void test_vulkan_device_lost_run(void **state) {
    (void)state;
    need_vulkan();
    fail_alloc_track(true);
    cascade_backend *be = fresh_backend();
    cascade_graph   *g = NULL;
    cascade_plan    *p = NULL, *p2 = NULL;
    cascade_error    err;
    float            out[OOM_T * OOM_D_OUT];
    cascade_error_init(&err);
    assert_int_equal(oom_graph_build(&g_case, &g, &err), 0);
    assert_int_equal(cascade_plan_new(be, g, &p, &err), 0);
    assert_int_equal(cascade_plan_write_named(p, "x", g_case.x, sizeof g_case.x, &err), 0);
    assert_true(cascade_vulkan_inject_faults(be, 0, 1));
    cascade_status st = cascade_plan_run(p, NULL, &err);
    fprintf(stderr, "# %s: %s\n", cascade_status_name(st), err.message);
    assert_failed_with(st, &err, CASCADE_STATUS_DEVICE_LOST, "lost");
    assert_int_equal(cascade_vulkan_faults_injected(be), 1);
    cascade_error_init(&err);
    assert_failed_with(cascade_plan_run(p, NULL, &err), &err, CASCADE_STATUS_DEVICE_LOST,
                       "was lost earlier");
    cascade_error_init(&err);
    assert_failed_with(cascade_plan_write_named(p, "x", g_case.x, sizeof g_case.x, &err), &err,
                       CASCADE_STATUS_DEVICE_LOST, "lost");
    cascade_error_init(&err);
    assert_failed_with(cascade_plan_read_named(p, "out", out, sizeof out, &err), &err,
                       CASCADE_STATUS_DEVICE_LOST, "lost");
    cascade_error_init(&err);
    assert_failed_with(cascade_plan_new(be, g, &p2, &err), &err, CASCADE_STATUS_DEVICE_LOST,
                       "lost");
    assert_null(p2);
    assert_int_equal(cascade_vulkan_validation_messages(be), 0);
    cascade_plan_free(p);
    assert_int_equal(device_bytes(be) > 0, 1); /* staging and dummy stay with the backend */
    cascade_backend_free(be);
    cascade_graph_free(g);
    size_t live = fail_alloc_live(NULL);
    fail_alloc_track(false);
    assert_int_equal(live, 0);
}

/* A device lost while a plan uploads its constants fails the plan with DEVICE_LOST; its
 * device memory is given back and later plans are refused. */
static void test_vulkan_device_lost_plan(void **state) {
    (void)state;
    need_vulkan();
    fail_alloc_track(true);
    cascade_backend *be = fresh_backend();
    cascade_graph   *g = NULL;
    cascade_plan    *p = NULL;
    cascade_error    err;
    cascade_error_init(&err);
    assert_int_equal(oom_graph_build(&g_case, &g, &err), 0);
    uint64_t bytes = device_bytes(be);
    assert_true(cascade_vulkan_inject_faults(be, 0, 1));
    assert_failed_with(cascade_plan_new(be, g, &p, &err), &err, CASCADE_STATUS_DEVICE_LOST, "lost");
    assert_null(p);
    assert_int_equal(device_bytes(be), bytes);
    cascade_error_init(&err);
    assert_failed_with(cascade_plan_new(be, g, &p, &err), &err, CASCADE_STATUS_DEVICE_LOST,
                       "was lost earlier");
    assert_null(p);
    assert_int_equal(cascade_vulkan_validation_messages(be), 0);
    cascade_backend_free(be);
    cascade_graph_free(g);
    size_t live = fail_alloc_live(NULL);
    fail_alloc_track(false);
    assert_int_equal(live, 0);
}

/* ---- the tiny cascade on Vulkan ---------------------------------------------------------- */

typedef struct tiny_vk {
    char *root, *s1, *s2;
} tiny_vk;

static int tiny_setup(void **state) {
    tiny_vk *t = calloc(1, sizeof *t);
    assert_non_null(t);
    *state = t;
    t->root = tiny_cascade_make();
    if (!t->root) return 0;
    size_t n = strlen(t->root) + 16;
    t->s1 = malloc(n);
    t->s2 = malloc(n);
    assert_non_null(t->s1);
    assert_non_null(t->s2);
    snprintf(t->s1, n, "%s/stage1", t->root);
    snprintf(t->s2, n, "%s/stage2", t->root);
    return 0;
}

static int tiny_teardown(void **state) {
    tiny_vk *t = *state;
    if (t->root) tiny_cascade_rm_tree(t->root);
    free(t->root);
    free(t->s1);
    free(t->s2);
    free(t);
    return 0;
}

/* Loads the cascade on be and generates one image (one step per stage) with a fault armed
 * once loaded; frees all. */
static cascade_status tiny_generate(const tiny_vk *t, cascade_backend *be, uint32_t alloc_nth,
                                    uint32_t submit_nth, cascade_error *err) {
    cascade_pipeline        *p = NULL;
    cascade_pipeline_options o;
    cascade_generate_params  g;
    float                   *img = NULL;
    int64_t                  shape[4];
    cascade_pipeline_options_init(&o);
    o.model_dir = t->s1;
    o.sr_model_dir = t->s2;
    o.backend = be;
    cascade_status st = cascade_pipeline_load(&o, &p, err);
    if (!st) {
        cascade_generate_params_init(&g);
        g.prompt = "A red fox";
        g.steps1 = g.steps2 = 1;
        g.max_length = 8;
        g.seed = 3;
        cascade_vulkan_inject_faults(be, alloc_nth, submit_nth);
        st = cascade_pipeline_generate(p, &g, &img, shape, err);
        cascade_vulkan_inject_faults(be, 0, 0);
    }
    free(img);
    cascade_pipeline_free(p);
    return st;
}

/* Device allocations of a pipeline run (text encoder, both U-Nets: plans and recording)
 * failing at a spread of positions give OUT_OF_MEMORY and free all host and device memory,
 * and a device lost at a spread of submissions gives DEVICE_LOST; past the last one, the run
 * succeeds. */
static void test_vulkan_faults_tiny_cascade(void **state) {
    tiny_vk *t = *state;
    need_vulkan();
    if (!t->root) skip();
    cascade_backend *be = fresh_backend();
    uint64_t         bytes = device_bytes(be);
    cascade_error    err;
    /* device allocations: n grows geometrically (there is one per dispatch) until success */
    int n_oom = 0;
    for (uint32_t n = 1;; n = n < 8 ? n + 1 : n + n / 2) {
        assert_true(n < 100000);
        cascade_error_init(&err);
        uint64_t faults = cascade_vulkan_faults_injected(be);
        fail_alloc_track(true);
        cascade_status st = tiny_generate(t, be, n, 0, &err);
        size_t         live = fail_alloc_live(NULL);
        fail_alloc_track(false);
        assert_int_equal(live, 0);
        assert_int_equal(device_bytes(be), bytes);
        if (cascade_vulkan_faults_injected(be) == faults) {
            if (st) fprintf(stderr, "%s\n", err.message);
            assert_int_equal(st, CASCADE_STATUS_OK);
            break;
        }
        assert_failed_with(st, &err, CASCADE_STATUS_OUT_OF_MEMORY, "out of device memory");
        n_oom++;
    }
    fprintf(stderr, "# tiny cascade: %d runs with a device allocation failing\n", n_oom);
    assert_true(n_oom >= 10);
    assert_int_equal(cascade_vulkan_validation_messages(be), 0);
    cascade_backend_free(be);
    /* device lost: each run on a new backend (a lost one stays lost) */
    int n_lost = 0;
    for (uint32_t n = 1;; n = n < 4 ? n + 1 : n * 2) {
        assert_true(n < 100000);
        fail_alloc_track(true);
        be = fresh_backend();
        cascade_error_init(&err);
        cascade_status st = tiny_generate(t, be, 0, n, &err);
        bool           lost = cascade_vulkan_faults_injected(be) > 0;
        assert_int_equal(cascade_vulkan_validation_messages(be), 0);
        cascade_backend_free(be);
        size_t live = fail_alloc_live(NULL);
        fail_alloc_track(false);
        assert_int_equal(live, 0);
        if (!lost) {
            assert_int_equal(st, CASCADE_STATUS_OK);
            break;
        }
        assert_failed_with(st, &err, CASCADE_STATUS_DEVICE_LOST, "lost");
        if (n == 1) fprintf(stderr, "# device lost at submission 1: %s\n", err.message);
        n_lost++;
    }
    fprintf(stderr, "# tiny cascade: %d runs with the device lost\n", n_lost);
    assert_true(n_lost >= 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vulkan_oom_host_backend_new),
        cmocka_unit_test(test_vulkan_oom_host_list_devices),
        cmocka_unit_test(test_vulkan_oom_host_op_graph),
        cmocka_unit_test(test_vulkan_oom_host_op_graph_fp16_int8),
        cmocka_unit_test(test_vulkan_oom_device_op_graph),
        cmocka_unit_test(test_vulkan_oom_device_backend_new),
        cmocka_unit_test(test_vulkan_device_lost_run),
        cmocka_unit_test(test_vulkan_device_lost_plan),
        cmocka_unit_test_setup_teardown(test_vulkan_faults_tiny_cascade, tiny_setup, tiny_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
