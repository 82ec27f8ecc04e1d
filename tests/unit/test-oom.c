/* Injected out-of-memory on the CPU backend (issue 14), as ncnn's _oom tests do: an op graph
 * (conv2d with fp16 weights, attention, linear) made, planned and run, and the tiny golden
 * cascade loaded and run for one step per stage, each with its 1st, 2nd, 3rd ... host
 * allocation failing (tests/common/fail-alloc.h). Every failing run must return
 * OUT_OF_MEMORY with a message and free all it took; the run that no longer fails must give
 * the right answer. */
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
#include "cascade/pipeline.h"
#include "cascade/tensor.h"
#include "fail-alloc.h"
#include "oom-graph.h"
#include "test-common.h"
#include "tiny-cascade.h"

/* ---- the op graph (tests/common/oom-graph.h) -------------------------------------------- */

typedef struct cpu_case {
    oom_graph_case g;
    int            n_threads;
} cpu_case;

/* A CPU backend, then the graph built, planned, run and checked, all freed again. */
static cascade_status op_graph_on_cpu(void *ctx, cascade_error *err) {
    const cpu_case     *c = ctx;
    cascade_backend    *be = NULL;
    cascade_cpu_options co;
    cascade_cpu_options_init(&co);
    co.n_threads = c->n_threads;
    fail_alloc_mark("backend");
    cascade_status st = cascade_backend_cpu_new(&co, &be, err);
    if (!st) st = oom_graph_run(&c->g, be, err);
    cascade_backend_free(be);
    return st;
}

/* Every host allocation of making a CPU backend, building, planning and running an op graph
 * failing in turn gives OUT_OF_MEMORY and frees all; the clean run matches the reference. */
static void test_oom_cpu_op_graph(void **state) {
    (void)state;
    cpu_case c;
    oom_graph_case_init(&c.g);
    c.n_threads = 2;
    fail_alloc_report r;
    fail_alloc_sweep("cpu op graph", op_graph_on_cpu, &c, 1000, &r);
    assert_true(r.allocations >= 10);        /* backend, graph, plan tables, arena, conversions */
    assert_int_equal(r.runs, r.allocations); /* every one failed once */
}

/* ---- the tiny cascade ------------------------------------------------------------------- */

typedef struct tiny_case {
    char   *root, *s1, *s2;
    float  *want; /* the image of an uninjected run: a failed run leaves nothing behind */
    int64_t want_shape[4];
} tiny_case;

static void generate_params(cascade_generate_params *g) {
    cascade_generate_params_init(g);
    g->prompt = "A red fox";
    g->steps1 = 1;
    g->steps2 = 1;
    g->max_length = 8;
    g->seed = 3;
}

/* Loads the cascade on a new CPU backend and generates one image; *img stays NULL on
 * failure. */
static cascade_status tiny_generate(const tiny_case *t, float **img, int64_t shape[4],
                                    cascade_error *err) {
    cascade_backend         *be = NULL;
    cascade_pipeline        *p = NULL;
    cascade_cpu_options      co;
    cascade_pipeline_options o;
    cascade_generate_params  g;
    cascade_cpu_options_init(&co);
    co.n_threads = 2;
    *img = NULL;
    fail_alloc_mark("backend");
    cascade_status st = cascade_backend_cpu_new(&co, &be, err);
    if (!st) {
        cascade_pipeline_options_init(&o);
        o.model_dir = t->s1;
        o.sr_model_dir = t->s2;
        o.backend = be;
        fail_alloc_mark("load");
        st = cascade_pipeline_load(&o, &p, err);
    }
    if (!st) {
        generate_params(&g);
        fail_alloc_mark("generate");
        st = cascade_pipeline_generate(p, &g, img, shape, err);
    }
    cascade_pipeline_free(p);
    cascade_backend_free(be);
    return st;
}

static cascade_status tiny_op(void *ctx, cascade_error *err) {
    const tiny_case *t = ctx;
    float           *img = NULL;
    int64_t          shape[4];
    cascade_status   st = tiny_generate(t, &img, shape, err);
    if (!st &&
        (memcmp(shape, t->want_shape, sizeof shape) ||
         memcmp(img, t->want, sizeof(float) * (size_t)(shape[0] * shape[1] * shape[2] * shape[3]))))
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "tiny cascade: the image changed");
    free(img);
    return st;
}

static int tiny_setup(void **state) {
    tiny_case *t = calloc(1, sizeof *t);
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
    tiny_case *t = *state;
    if (t->root) tiny_cascade_rm_tree(t->root);
    free(t->root);
    free(t->s1);
    free(t->s2);
    free(t->want);
    free(t);
    return 0;
}

/* Host allocations of loading the tiny cascade (T5, both U-Nets, schedulers) and generating
 * one step per stage, failing in turn, give OUT_OF_MEMORY and free all; the image that
 * finally comes is the uninjected one. About a thousand allocations: 500 runs (the first ones
 * of each phase, then a stride) keep the ASan build within its timeout; CASCADE_SLOW_TESTS=1
 * (the slow suite) fails every one. */
static void test_oom_tiny_cascade(void **state) {
    tiny_case *t = *state;
    if (!t->root) skip();
    cascade_error err;
    cascade_error_init(&err);
    cascade_status st = tiny_generate(t, &t->want, t->want_shape, &err);
    if (st) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
    assert_int_equal(t->want_shape[2], 32);
    for (int64_t i = 0; i < 3 * 32 * 32; i++)
        assert_true(isfinite(t->want[i]));
    fail_alloc_report r;
    const char       *slow = getenv("CASCADE_SLOW_TESTS");
    bool              all = slow && strcmp(slow, "1") == 0;
    fail_alloc_sweep("tiny cascade", tiny_op, t, all ? 4096 : 500, &r);
    assert_true(r.allocations > 500);
    assert_true(r.runs >= (all ? r.allocations : 450));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_cpu_op_graph),
        cmocka_unit_test_setup_teardown(test_oom_tiny_cascade, tiny_setup, tiny_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
