/* The liveness planner: values alive at the same time never share bytes, reuse happens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cascade/backend.h"
#include "cascade/graph.h"
#include "runtime/planner.h"

/* first node index at which value i is live, i.e. its definition */
static void check_no_overlap(const cascade_graph *g, const cascade_memory_plan *mp) {
    for (int32_t i = 0; i < mp->n_values; i++) {
        const cascade_value_plan *a = &mp->values[i];
        if (a->placement != CASCADE_PLACE_ARENA) continue;
        for (int32_t j = i + 1; j < mp->n_values; j++) {
            const cascade_value_plan *b = &mp->values[j];
            if (b->placement != CASCADE_PLACE_ARENA) continue;
            /* j is defined at j; i is live on [i, a->last_use] */
            if (j > a->last_use) continue;
            bool disjoint = a->offset + a->nbytes <= b->offset || b->offset + b->nbytes <= a->offset;
            if (!disjoint) fail_msg("values %d and %d overlap while both live", i, j);
        }
        assert_true(a->offset + a->nbytes <= mp->arena_bytes);
    }
    (void)g;
}

/* A long chain reuses memory: the arena is far below the naive sum. */
static void test_planner_chain_reuses(void **state) {
    (void)state;
    cascade_graph *g = NULL;
    assert_int_equal(cascade_graph_new(&g, NULL), CASCADE_STATUS_OK);
    cascade_value_id x = cascade_graph_input(g, "x", CASCADE_DTYPE_F32, 1, (int64_t[]){1000});
    cascade_value_id h = x;
    for (int i = 0; i < 20; i++) h = cascade_graph_unary(g, CASCADE_UNARY_SILU, cascade_graph_add(g, h, x));
    cascade_graph_mark_output(g, h, "y");
    cascade_memory_plan *mp = NULL;
    assert_int_equal(cascade_memory_plan_new(g, 64, NULL, NULL, &mp, NULL), CASCADE_STATUS_OK);
    check_no_overlap(g, mp);
    assert_true(mp->arena_bytes <= 3 * 4096);
    assert_true(mp->naive_bytes >= 39 * 4000);
    assert_int_equal(mp->values[x].placement, CASCADE_PLACE_OWN);
    assert_int_equal(mp->values[h].placement, CASCADE_PLACE_OWN);
    cascade_memory_plan_free(mp);
    cascade_graph_free(g);
}

/* A reshape aliases its input; the root stays alive as long as the alias is read. */
static void test_planner_reshape_alias(void **state) {
    (void)state;
    cascade_graph *g = NULL;
    assert_int_equal(cascade_graph_new(&g, NULL), CASCADE_STATUS_OK);
    cascade_value_id x = cascade_graph_input(g, "x", CASCADE_DTYPE_F32, 2, (int64_t[]){4, 6});
    cascade_value_id a = cascade_graph_scale(g, x, 2.0f, 0.0f);
    cascade_value_id r = cascade_graph_reshape(g, a, 1, (int64_t[]){24});
    cascade_value_id b = cascade_graph_scale(g, x, 3.0f, 0.0f);
    cascade_value_id c = cascade_graph_add(g, cascade_graph_reshape(g, b, 1, (int64_t[]){24}), r);
    cascade_graph_mark_output(g, c, "y");
    cascade_memory_plan *mp = NULL;
    assert_int_equal(cascade_memory_plan_new(g, 16, NULL, NULL, &mp, NULL), CASCADE_STATUS_OK);
    assert_int_equal(mp->values[r].placement, CASCADE_PLACE_ALIAS);
    assert_int_equal(mp->values[r].alias_of, a);
    assert_true(mp->values[a].last_use >= c);
    check_no_overlap(g, mp);
    /* a and b are live together, so they must not share bytes */
    assert_true(mp->values[a].offset != mp->values[b].offset);
    cascade_memory_plan_free(mp);
    cascade_graph_free(g);
}

/* Branching graphs (U-Net skips): a fan-out keeps its value until the last reader. */
static void test_planner_skip_connections(void **state) {
    (void)state;
    cascade_graph *g = NULL;
    assert_int_equal(cascade_graph_new(&g, NULL), CASCADE_STATUS_OK);
    cascade_value_id x = cascade_graph_input(g, "x", CASCADE_DTYPE_F32, 1, (int64_t[]){257});
    cascade_value_id skips[8];
    cascade_value_id h = x;
    for (int i = 0; i < 8; i++) h = skips[i] = cascade_graph_scale(g, h, 0.5f, 1.0f);
    for (int i = 7; i >= 0; i--) h = cascade_graph_add(g, h, skips[i]);
    cascade_graph_mark_output(g, h, "y");
    cascade_memory_plan *mp = NULL;
    assert_int_equal(cascade_memory_plan_new(g, 256, NULL, NULL, &mp, NULL), CASCADE_STATUS_OK);
    check_no_overlap(g, mp);
    for (int i = 0; i < 8; i++) assert_true(mp->values[skips[i]].offset % 256 == 0);
    cascade_memory_plan_free(mp);
    cascade_graph_free(g);
}

/* In place (CASCADE_PLAN_IN_PLACE_UNARY): an element-wise op writes over an input that nothing
 * reads afterwards, never over one still needed, an input or a value of another size. */
static void test_planner_in_place_unary(void **state) {
    (void)state;
    cascade_graph *g = NULL;
    assert_int_equal(cascade_graph_new(&g, NULL), CASCADE_STATUS_OK);
    cascade_value_id x = cascade_graph_input(g, "x", CASCADE_DTYPE_F32, 2, (int64_t[]){4, 64});
    cascade_value_id a = cascade_graph_add(g, x, x);
    cascade_value_id ga = cascade_graph_unary(g, CASCADE_UNARY_GELU, a); /* a's last reader */
    cascade_value_id sa = cascade_graph_scale(g, ga, 2.0f, 1.0f);        /* a chain of them */
    cascade_value_id b = cascade_graph_add(g, sa, x);
    cascade_value_id gb = cascade_graph_unary(g, CASCADE_UNARY_SILU, b); /* b is read again */
    cascade_value_id c = cascade_graph_add(g, gb, b);
    cascade_value_id gx = cascade_graph_unary(g, CASCADE_UNARY_SILU, x);   /* x is an input */
    cascade_value_id v = cascade_graph_reshape(g, c, 1, (int64_t[]){256}); /* c read via a view */
    cascade_value_id gc = cascade_graph_unary(g, CASCADE_UNARY_RELU, c);
    cascade_value_id d = cascade_graph_add(
        g, cascade_graph_add(g, cascade_graph_reshape(g, gc, 1, (int64_t[]){256}), v),
        cascade_graph_reshape(g, gx, 1, (int64_t[]){256}));
    cascade_graph_mark_output(g, d, "y");
    cascade_memory_plan *mp = NULL;
    assert_int_equal(
        cascade_memory_plan_new_flags(g, 64, NULL, NULL, CASCADE_PLAN_IN_PLACE_UNARY, &mp, NULL),
        CASCADE_STATUS_OK);
    assert_int_equal(mp->values[ga].placement, CASCADE_PLACE_ALIAS);
    assert_int_equal(mp->values[ga].alias_of, a);
    assert_int_equal(mp->values[sa].placement, CASCADE_PLACE_ALIAS);
    assert_int_equal(mp->values[sa].alias_of, a);
    assert_true(mp->values[a].last_use >= b); /* the chain keeps its root alive */
    assert_int_equal(mp->values[gb].placement, CASCADE_PLACE_ARENA);
    assert_int_equal(mp->values[gx].placement, CASCADE_PLACE_ARENA);
    assert_int_equal(mp->values[gc].placement, CASCADE_PLACE_ARENA);
    check_no_overlap(g, mp);
    cascade_memory_plan_free(mp);
    /* without the flag nothing is written in place */
    assert_int_equal(cascade_memory_plan_new(g, 64, NULL, NULL, &mp, NULL), CASCADE_STATUS_OK);
    assert_int_equal(mp->values[ga].placement, CASCADE_PLACE_ARENA);
    cascade_memory_plan_free(mp);
    cascade_graph_free(g);
}

/* Alignment must be a power of two. */
static void test_planner_rejects_bad_alignment(void **state) {
    (void)state;
    cascade_graph *g = NULL;
    assert_int_equal(cascade_graph_new(&g, NULL), CASCADE_STATUS_OK);
    cascade_memory_plan *mp = NULL;
    assert_int_equal(cascade_memory_plan_new(g, 24, NULL, NULL, &mp, NULL), CASCADE_STATUS_INVALID_ARG);
    assert_null(mp);
    cascade_graph_free(g);
}

/* The CPU backend's estimate is what its plan then holds: the arena it allocates (as the
 * backend's stats report), the input and output buffers, no copied F32 weights, and the
 * attention scores of one head as scratch. */
static void test_planner_cpu_estimate_matches_plan(void **state) {
    (void)state;
    cascade_graph *g = NULL;
    assert_int_equal(cascade_graph_new(&g, NULL), CASCADE_STATUS_OK);
    const int64_t    shape[4] = {1, 2, 40, 8};
    cascade_value_id q = cascade_graph_input(g, "q", CASCADE_DTYPE_F32, 4, shape);
    float            wdata[8 * 8] = {0};
    cascade_value_id w = cascade_graph_constant_copy(g, "w", CASCADE_DTYPE_F32, 2,
                                                     (int64_t[]){8, 8}, wdata);
    cascade_value_id h = cascade_graph_linear(g, cascade_graph_unary(g, CASCADE_UNARY_SILU, q), w,
                                              CASCADE_NO_VALUE);
    h = cascade_graph_attention(g, h, h, h, CASCADE_NO_VALUE, 0.5f);
    cascade_graph_mark_output(g, cascade_graph_add(g, h, q), "y");
    cascade_backend    *be = NULL;
    cascade_cpu_options o;
    cascade_cpu_options_init(&o);
    assert_int_equal(cascade_backend_cpu_new(&o, &be, NULL), CASCADE_STATUS_OK);
    cascade_plan_estimate est;
    assert_int_equal(cascade_plan_estimate_graph(be, g, &est, NULL), CASCADE_STATUS_OK);
    cascade_plan *p = NULL;
    assert_int_equal(cascade_plan_new(be, g, &p, NULL), CASCADE_STATUS_OK);
    cascade_memory_stats ms;
    cascade_backend_memory_stats(be, &ms);
    assert_int_equal(est.activation_bytes, ms.planned_peak_bytes);
    assert_int_equal(est.io_bytes, 2 * 640 * 4);      /* q and y */
    assert_int_equal(est.weights_bytes, 0);           /* F32: used in place */
    assert_int_equal(est.scratch_bytes, 40 * 40 * 4); /* one head's scores */
    assert_int_equal(est.largest_value_bytes, 640 * 4);
    assert_int_equal(est.value_limit_bytes, 0);
    assert_int_equal(est.total_bytes, est.activation_bytes + est.io_bytes + est.scratch_bytes);
    cascade_plan_free(p);
    cascade_backend_free(be);
    cascade_graph_free(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planner_chain_reuses),
        cmocka_unit_test(test_planner_reshape_alias),
        cmocka_unit_test(test_planner_skip_connections),
        cmocka_unit_test(test_planner_in_place_unary),
        cmocka_unit_test(test_planner_rejects_bad_alignment),
        cmocka_unit_test(test_planner_cpu_estimate_matches_plan),
    };
    return cmocka_run_group_tests_name("planner", tests, NULL, NULL);
}
