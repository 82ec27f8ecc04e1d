/* The op graph of the out-of-memory tests and its reference (see oom-graph.h). */
#include "oom-graph.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cascade/tensor.h"
#include "fail-alloc.h"
#include "test-common.h"

enum { C_IN = OOM_C_IN, C_OUT = OOM_C_OUT, S = OOM_S, T = OOM_T, D_OUT = OOM_D_OUT };

void oom_graph_case_init(oom_graph_case *c) {
    memset(c, 0, sizeof *c);
    c->atol = c->rtol = 1e-4;
    test_fill_uniform(c->x, C_IN * T, 7, -1.0f, 1.0f);
    for (int i = 0; i < C_OUT * C_IN * 9; i++)
        c->w[i] = (float)((i * 7) % 11 - 5) / 16.0f;
    for (int i = 0; i < C_OUT; i++)
        c->b[i] = 0.1f * (float)(i + 1);
    for (int i = 0; i < D_OUT * C_OUT; i++)
        c->w2[i] = (float)((i * 5) % 7 - 3) / 8.0f;
    for (int i = 0; i < D_OUT; i++)
        c->b2[i] = -0.05f * (float)i;
    /* conv2d 3x3, padding 1: y (C_OUT, S, S); tokens t (T, C_OUT) = y transposed */
    double t[T][C_OUT];
    for (int o = 0; o < C_OUT; o++)
        for (int i = 0; i < S; i++)
            for (int j = 0; j < S; j++) {
                double s = c->b[o];
                for (int ci = 0; ci < C_IN; ci++)
                    for (int ki = 0; ki < 3; ki++)
                        for (int kj = 0; kj < 3; kj++) {
                            int yi = i + ki - 1, xj = j + kj - 1;
                            if (yi < 0 || yi >= S || xj < 0 || xj >= S) continue;
                            s += (double)c->w[((o * C_IN + ci) * 3 + ki) * 3 + kj] *
                                 c->x[(ci * S + yi) * S + xj];
                        }
                t[i * S + j][o] = s;
            }
    /* attention(t, t, t) with scale 0.5, then linear */
    for (int n = 0; n < T; n++) {
        double p[T], mx = -INFINITY, sum = 0, a[C_OUT] = {0};
        for (int m = 0; m < T; m++) {
            p[m] = 0;
            for (int d = 0; d < C_OUT; d++)
                p[m] += 0.5 * t[n][d] * t[m][d];
            mx = p[m] > mx ? p[m] : mx;
        }
        for (int m = 0; m < T; m++)
            sum += (p[m] = exp(p[m] - mx));
        for (int m = 0; m < T; m++)
            for (int d = 0; d < C_OUT; d++)
                a[d] += p[m] / sum * t[m][d];
        for (int k = 0; k < D_OUT; k++) {
            double s = c->b2[k];
            for (int d = 0; d < C_OUT; d++)
                s += (double)c->w2[k * C_OUT + d] * a[d];
            c->want[n * D_OUT + k] = (float)s;
        }
    }
}

static cascade_value_id f16_constant(cascade_graph *g, const char *name, int32_t nd,
                                     const int64_t *sh, const float *f, size_t n) {
    uint16_t h[C_OUT * C_IN * 9];
    assert_true(n <= sizeof h / sizeof h[0]);
    assert_int_equal(cascade_convert(CASCADE_DTYPE_F32, f, CASCADE_DTYPE_F16, h, n, NULL), 0);
    return cascade_graph_constant_copy(g, name, CASCADE_DTYPE_F16, nd, sh, h);
}

cascade_status oom_graph_build(const oom_graph_case *c, cascade_graph **out, cascade_error *err) {
    cascade_graph *g = NULL;
    CASCADE_TRY(cascade_graph_new(&g, err));
    const int64_t         xs[4] = {1, C_IN, S, S}, ws[4] = {C_OUT, C_IN, 3, 3}, bs[1] = {C_OUT};
    const int64_t         w2s[2] = {D_OUT, C_OUT}, b2s[1] = {D_OUT}, rs[4] = {1, 1, C_OUT, T};
    const int32_t         perm[4] = {0, 1, 3, 2};
    cascade_value_id      x = cascade_graph_input(g, "x", CASCADE_DTYPE_F32, 4, xs);
    cascade_value_id      w = f16_constant(g, "w", 4, ws, c->w, C_OUT * C_IN * 9);
    cascade_value_id      b = cascade_graph_constant_copy(g, "b", CASCADE_DTYPE_F32, 1, bs, c->b);
    cascade_conv2d_params cp;
    cascade_conv2d_params_init(&cp);
    cp.pad[0] = cp.pad[1] = cp.pad[2] = cp.pad[3] = 1;
    cascade_value_id y = cascade_graph_conv2d(g, x, w, b, &cp);
    cascade_value_id t = cascade_graph_permute(g, cascade_graph_reshape(g, y, 4, rs), perm);
    cascade_value_id a = cascade_graph_attention(g, t, t, t, CASCADE_NO_VALUE, 0.5f);
    cascade_value_id w2 = f16_constant(g, "w2", 2, w2s, c->w2, D_OUT * C_OUT);
    cascade_value_id b2 = cascade_graph_constant_copy(g, "b2", CASCADE_DTYPE_F32, 1, b2s, c->b2);
    cascade_graph_mark_output(g, cascade_graph_linear(g, a, w2, b2), "out");
    cascade_status st = cascade_graph_status(g, err);
    if (st) {
        cascade_graph_free(g);
        return st;
    }
    *out = g;
    return CASCADE_STATUS_OK;
}

cascade_status oom_graph_run(const oom_graph_case *c, cascade_backend *be, cascade_error *err) {
    cascade_graph *g = NULL;
    cascade_plan  *p = NULL;
    float          got[T * D_OUT];
    fail_alloc_mark("graph");
    cascade_status st = oom_graph_build(c, &g, err);
    if (!st) fail_alloc_mark("plan");
    if (!st) st = cascade_plan_new(be, g, &p, err);
    if (!st) fail_alloc_mark("run");
    if (!st) st = cascade_plan_write_named(p, "x", c->x, sizeof c->x, err);
    if (!st) st = cascade_plan_run(p, NULL, err);
    if (!st) st = cascade_plan_read_named(p, "out", got, sizeof got, err);
    if (!st) {
        test_diff d;
        if (!test_compare(got, c->want, T * D_OUT, c->atol, c->rtol, &d)) {
            test_diff_print("op graph", got, c->want, T * D_OUT, &d);
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "op graph: wrong result");
        }
    }
    cascade_plan_free(p);
    cascade_graph_free(g);
    return st;
}
