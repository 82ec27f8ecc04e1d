/* Graph construction: shape inference, broadcasting, sticky errors that name the op. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "cascade/graph.h"

static int setup(void **state) {
    cascade_graph *g = NULL;
    if (cascade_graph_new(&g, NULL) != CASCADE_STATUS_OK) return -1;
    *state = g;
    return 0;
}

static int teardown(void **state) {
    cascade_graph_free(*state);
    return 0;
}

/* Binary ops broadcast numpy-style: (2,1,4) + (3,1) -> (2,3,4). */
static void test_graph_broadcast_shape(void **state) {
    cascade_graph   *g = *state;
    cascade_value_id a = cascade_graph_input(g, "a", CASCADE_DTYPE_F32, 3, (int64_t[]){2, 1, 4});
    cascade_value_id b = cascade_graph_input(g, "b", CASCADE_DTYPE_F32, 2, (int64_t[]){3, 1});
    cascade_value_id c = cascade_graph_add(g, a, b);
    int32_t          nd;
    int64_t          s[CASCADE_MAX_DIMS];
    assert_true(cascade_graph_shape(g, c, &nd, s));
    assert_int_equal(nd, 3);
    assert_int_equal(s[0], 2);
    assert_int_equal(s[1], 3);
    assert_int_equal(s[2], 4);
    assert_int_equal(cascade_graph_status(g, NULL), CASCADE_STATUS_OK);
}

/* A shape error is recorded once, names op and shapes, and later builders return no value. */
static void test_graph_sticky_error_names_op(void **state) {
    cascade_graph   *g = *state;
    cascade_value_id a = cascade_graph_input(g, "a", CASCADE_DTYPE_F32, 2, (int64_t[]){2, 3});
    cascade_value_id b = cascade_graph_input(g, "b", CASCADE_DTYPE_F32, 2, (int64_t[]){4, 5});
    cascade_graph_set_scope(g, "down_blocks.0");
    assert_int_equal(cascade_graph_matmul(g, a, b, false), CASCADE_NO_VALUE);
    assert_int_equal(cascade_graph_add(g, a, a), CASCADE_NO_VALUE);
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(cascade_graph_status(g, &err), CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "matmul"));
    assert_non_null(strstr(err.message, "down_blocks.0"));
    assert_non_null(strstr(err.message, "[2, 3]"));
}

/* reshape infers one -1 and refuses a changed element count. */
static void test_graph_reshape_infer(void **state) {
    cascade_graph   *g = *state;
    cascade_value_id x = cascade_graph_input(g, "x", CASCADE_DTYPE_F32, 3, (int64_t[]){2, 3, 4});
    cascade_value_id r = cascade_graph_reshape(g, x, 2, (int64_t[]){-1, 4});
    int32_t          nd;
    int64_t          s[CASCADE_MAX_DIMS];
    assert_true(cascade_graph_shape(g, r, &nd, s));
    assert_int_equal(s[0], 6);
    assert_int_equal(cascade_graph_reshape(g, x, 2, (int64_t[]){5, 5}), CASCADE_NO_VALUE);
    assert_int_equal(cascade_graph_status(g, NULL), CASCADE_STATUS_INVALID_ARG);
}

/* conv2d output size follows stride, asymmetric padding and dilation. */
static void test_graph_conv2d_shape(void **state) {
    cascade_graph   *g = *state;
    cascade_value_id x = cascade_graph_input(g, "x", CASCADE_DTYPE_F32, 4, (int64_t[]){1, 4, 17, 16});
    cascade_value_id w = cascade_graph_input(g, "w", CASCADE_DTYPE_F32, 4, (int64_t[]){8, 2, 3, 3});
    cascade_conv2d_params p;
    cascade_conv2d_params_init(&p);
    p.stride[0] = p.stride[1] = 2;
    p.pad[0] = 0, p.pad[1] = 0, p.pad[2] = 1, p.pad[3] = 1; /* TF "same" for stride 2 */
    p.groups = 2;
    cascade_value_id y = cascade_graph_conv2d(g, x, w, CASCADE_NO_VALUE, &p);
    int32_t          nd;
    int64_t          s[CASCADE_MAX_DIMS];
    assert_true(cascade_graph_shape(g, y, &nd, s));
    assert_int_equal(s[1], 8);
    assert_int_equal(s[2], 9);
    assert_int_equal(s[3], 8);
}

/* Attention checks that q, k, v and the bias fit (B, H, N, D). */
static void test_graph_attention_checks(void **state) {
    cascade_graph   *g = *state;
    cascade_value_id q = cascade_graph_input(g, "q", CASCADE_DTYPE_F32, 4, (int64_t[]){2, 4, 5, 8});
    cascade_value_id k = cascade_graph_input(g, "k", CASCADE_DTYPE_F32, 4, (int64_t[]){2, 4, 7, 8});
    cascade_value_id v = cascade_graph_input(g, "v", CASCADE_DTYPE_F32, 4, (int64_t[]){2, 4, 7, 3});
    cascade_value_id bias = cascade_graph_input(g, "m", CASCADE_DTYPE_F32, 4, (int64_t[]){2, 1, 1, 7});
    cascade_value_id o = cascade_graph_attention(g, q, k, v, bias, 0.5f);
    int32_t          nd;
    int64_t          s[CASCADE_MAX_DIMS];
    assert_true(cascade_graph_shape(g, o, &nd, s));
    assert_int_equal(s[2], 5);
    assert_int_equal(s[3], 3);
    cascade_value_id bad = cascade_graph_input(g, "bad", CASCADE_DTYPE_F32, 4, (int64_t[]){2, 1, 1, 6});
    assert_int_equal(cascade_graph_attention(g, q, k, v, bad, 0.5f), CASCADE_NO_VALUE);
}

/* Inputs are found by name; a duplicate name is an error. */
static void test_graph_input_names(void **state) {
    cascade_graph   *g = *state;
    cascade_value_id a = cascade_graph_input(g, "sample", CASCADE_DTYPE_F32, 1, (int64_t[]){3});
    assert_int_equal(cascade_graph_find(g, "sample"), a);
    assert_int_equal(cascade_graph_find(g, "nope"), CASCADE_NO_VALUE);
    assert_int_equal(cascade_graph_input(g, "sample", CASCADE_DTYPE_F32, 1, (int64_t[]){3}),
                     CASCADE_NO_VALUE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_graph_broadcast_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graph_sticky_error_names_op, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graph_reshape_infer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graph_conv2d_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graph_attention_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graph_input_names, setup, teardown),
    };
    return cmocka_run_group_tests_name("graph", tests, NULL, NULL);
}
