/* The thread pool covers every index once, and without a pool the caller does the work
 * itself (the CPU backend's plans with little work); the graph's matrix-product count. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <cmocka.h>

#include "cascade/graph.h"
#include "runtime/threadpool.h"

enum { N = 10007 };

typedef struct cover {
    _Atomic int hits[N];
    pthread_t   caller;
    _Atomic int other_threads; /* ranges run off the calling thread */
} cover;

static void mark(void *ctx, int64_t b, int64_t e) {
    cover *c = ctx;
    if (!pthread_equal(pthread_self(), c->caller)) atomic_fetch_add(&c->other_threads, 1);
    for (int64_t i = b; i < e; i++) atomic_fetch_add(&c->hits[i], 1);
}

static void run_cover(cascade_threadpool *tp, int64_t n, int64_t min_chunk, int *other) {
    static cover c;
    for (int i = 0; i < N; i++) atomic_store(&c.hits[i], 0);
    atomic_store(&c.other_threads, 0);
    c.caller = pthread_self();
    cascade_threadpool_parallel_for(tp, n, min_chunk, mark, &c);
    for (int64_t i = 0; i < n; i++) assert_int_equal(atomic_load(&c.hits[i]), 1);
    for (int64_t i = n; i < N; i++) assert_int_equal(atomic_load(&c.hits[i]), 0);
    *other = atomic_load(&c.other_threads);
}

static void test_threadpool_covers_once(void **state) {
    (void)state;
    for (int threads = 1; threads <= 4; threads++) {
        cascade_threadpool *tp = NULL;
        assert_int_equal(cascade_threadpool_new(threads, &tp, NULL), CASCADE_STATUS_OK);
        assert_int_equal(cascade_threadpool_size(tp), threads);
        int other = 0;
        for (int rep = 0; rep < 50; rep++) {
            run_cover(tp, N, 1, &other);
            run_cover(tp, 1 + rep * 97, 7, &other);
            run_cover(tp, N, N, &other); /* one chunk: no worker needed */
            assert_int_equal(other, 0);
        }
        cascade_threadpool_free(tp);
    }
}

static void test_threadpool_null_runs_inline(void **state) {
    (void)state;
    int other = -1;
    run_cover(NULL, N, 1, &other);
    assert_int_equal(other, 0);
    assert_int_equal(cascade_threadpool_size(NULL), 1);
}

/* conv 3x3 (2 -> 4 channels, 5x6 output, batch 2): 2 x outputs x (2 x 3 x 3) multiply-adds;
 * linear (3 rows, 8 -> 5): 2 x 15 x 8; element-wise ops count nothing. */
static void test_graph_matmul_flops(void **state) {
    (void)state;
    cascade_graph *g = NULL;
    assert_int_equal(cascade_graph_new(&g, NULL), CASCADE_STATUS_OK);
    cascade_value_id x = cascade_graph_input(g, "x", CASCADE_DTYPE_F32, 4, (int64_t[]){2, 2, 5, 6});
    cascade_value_id w = cascade_graph_input(g, "w", CASCADE_DTYPE_F32, 4, (int64_t[]){4, 2, 3, 3});
    cascade_conv2d_params p;
    cascade_conv2d_params_init(&p);
    p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
    cascade_value_id y = cascade_graph_conv2d(g, x, w, CASCADE_NO_VALUE, &p);
    cascade_value_id a = cascade_graph_input(g, "a", CASCADE_DTYPE_F32, 2, (int64_t[]){3, 8});
    cascade_value_id lw = cascade_graph_input(g, "lw", CASCADE_DTYPE_F32, 2, (int64_t[]){5, 8});
    cascade_value_id l = cascade_graph_linear(g, a, lw, CASCADE_NO_VALUE);
    cascade_graph_mark_output(g, cascade_graph_unary(g, CASCADE_UNARY_SILU, y), "y");
    cascade_graph_mark_output(g, l, "l");
    assert_float_equal(cascade_graph_matmul_flops(g), 2.0 * (2 * 4 * 5 * 6) * (2 * 3 * 3) + 2.0 * 15 * 8,
                       1e-6);
    cascade_graph_free(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threadpool_covers_once),
        cmocka_unit_test(test_threadpool_null_runs_inline),
        cmocka_unit_test(test_graph_matmul_flops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
