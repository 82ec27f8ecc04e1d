/* CPU reference kernels on small cases whose results are known in closed form. */
#include <math.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cascade/backend.h"

typedef struct fixture {
    cascade_backend *be;
    cascade_graph   *g;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    cascade_cpu_options o;
    cascade_cpu_options_init(&o);
    o.n_threads = 2;
    if (cascade_backend_cpu_new(&o, &f->be, NULL) || cascade_graph_new(&f->g, NULL)) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    cascade_graph_free(f->g);
    cascade_backend_free(f->be);
    free(f);
    return 0;
}

/* Runs f->g with inputs named in[i] and reads output "y" into out. */
static void run(fixture *f, int n_in, const char *const *names, const float *const *data,
                const size_t *sizes, float *out, size_t n_out) {
    cascade_plan *p = NULL;
    cascade_error err;
    cascade_error_init(&err);
    if (cascade_plan_new(f->be, f->g, &p, &err)) fail_msg("plan: %s", err.message);
    for (int i = 0; i < n_in; i++)
        assert_int_equal(cascade_plan_write_named(p, names[i], data[i], sizes[i] * 4, &err), 0);
    if (cascade_plan_run(p, NULL, &err)) fail_msg("run: %s", err.message);
    assert_int_equal(cascade_plan_read_named(p, "y", out, n_out * 4, &err), 0);
    cascade_plan_free(p);
}

static cascade_value_id in(fixture *f, const char *name, int nd, const int64_t *s) {
    return cascade_graph_input(f->g, name, CASCADE_DTYPE_F32, nd, s);
}

/* matmul with a transposed, broadcast right operand equals the hand product. */
static void test_cpu_matmul_transposed_broadcast(void **state) {
    fixture         *f = *state;
    cascade_value_id a = in(f, "a", 3, (int64_t[]){2, 2, 3});
    cascade_value_id b = in(f, "b", 2, (int64_t[]){2, 3}); /* (N, K), shared by both batches */
    cascade_graph_mark_output(f->g, cascade_graph_matmul(f->g, a, b, true), "y");
    float av[12] = {1, 2, 3, 4, 5, 6, -1, 0, 1, 2, 2, 2};
    float bv[6] = {1, 0, 1, 0, 1, 0};
    float y[8];
    run(f, 2, (const char *[]){"a", "b"}, (const float *[]){av, bv}, (size_t[]){12, 6}, y, 8);
    float want[8] = {4, 2, 10, 5, 0, 0, 4, 2};
    for (int i = 0; i < 8; i++) assert_float_equal(y[i], want[i], 1e-6);
}

/* y = matmul(a (M, K), b (K, N), or (N, K) when bt) and z = linear(a, w (N, K), bias (N)),
 * run on the CPU backend, against sums in doubles. shared: a product of 2 GFLOP is added so the
 * plan runs on both threads and products of 2^20 multiply-adds or more are split into pieces
 * (small plans stay on one thread). */
static void check_products_against_definition(fixture *f, int M, int N, int K, bool bt,
                                              bool shared) {
    cascade_graph_free(f->g);
    assert_int_equal(cascade_graph_new(&f->g, NULL), CASCADE_STATUS_OK);
    cascade_value_id a = in(f, "a", 2, (int64_t[]){M, K});
    cascade_value_id b = in(f, "b", 2, bt ? (int64_t[]){N, K} : (int64_t[]){K, N});
    cascade_value_id w = in(f, "w", 2, (int64_t[]){N, K});
    cascade_value_id bias = in(f, "bias", 1, (int64_t[]){N});
    cascade_graph_mark_output(f->g, cascade_graph_matmul(f->g, a, b, bt), "y");
    cascade_graph_mark_output(f->g, cascade_graph_linear(f->g, a, w, bias), "z");
    enum { BIG = 1024 };
    if (shared) {
        cascade_value_id big = in(f, "big", 2, (int64_t[]){BIG, BIG});
        cascade_graph_mark_output(f->g, cascade_graph_matmul(f->g, big, big, false), "big_y");
    }
    size_t na = (size_t)M * K, nb = (size_t)N * K, ny = (size_t)M * N;
    float *av = malloc(na * 4), *bv = malloc(nb * 4), *wv = malloc(nb * 4);
    float *biasv = malloc((size_t)N * 4), *y = malloc(ny * 4), *z = malloc(ny * 4);
    float *bigv = shared ? calloc((size_t)BIG * BIG, 4) : NULL;
    for (size_t i = 0; i < na; i++) av[i] = (float)sin(0.7 * (double)i + 0.3);
    for (size_t i = 0; i < nb; i++) bv[i] = (float)cos(1.3 * (double)i);
    for (size_t i = 0; i < nb; i++) wv[i] = (float)sin(0.37 * (double)i + 1.0);
    for (int n = 0; n < N; n++) biasv[n] = 0.25f * (float)n - 1.0f;
    cascade_plan *p = NULL;
    cascade_error err;
    cascade_error_init(&err);
    if (cascade_plan_new(f->be, f->g, &p, &err)) fail_msg("plan: %s", err.message);
    const char  *names[] = {"a", "b", "w", "bias", "big"};
    const float *data[] = {av, bv, wv, biasv, bigv};
    size_t       sizes[] = {na, nb, nb, (size_t)N, (size_t)BIG * BIG};
    for (int i = 0; i < (shared ? 5 : 4); i++)
        assert_int_equal(cascade_plan_write_named(p, names[i], data[i], sizes[i] * 4, &err), 0);
    if (cascade_plan_run(p, NULL, &err)) fail_msg("run: %s", err.message);
    assert_int_equal(cascade_plan_read_named(p, "y", y, ny * 4, &err), 0);
    assert_int_equal(cascade_plan_read_named(p, "z", z, ny * 4, &err), 0);
    cascade_plan_free(p);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double want_y = 0, mag_y = 0, want_z = biasv[n], mag_z = fabs(biasv[n]);
            for (int k = 0; k < K; k++) {
                double ty = (double)av[m * K + k] * (bt ? bv[n * K + k] : bv[k * N + n]);
                double tz = (double)av[m * K + k] * wv[n * K + k];
                want_y += ty, mag_y += fabs(ty), want_z += tz, mag_z += fabs(tz);
            }
            float gy = y[m * N + n], gz = z[m * N + n];
            if (!(fabs(gy - want_y) <= 1e-6 * mag_y + 1e-6) ||
                !(fabs(gz - want_z) <= 1e-6 * mag_z + 1e-6))
                fail_msg("%dx%dx%d%s: [%d,%d] matmul %.7g want %.7g, linear %.7g want %.7g", M, N,
                         K, bt ? " (b transposed)" : "", m, n, gy, want_y, gz, want_z);
        }
    free(av), free(bv), free(wv), free(biasv), free(y), free(z), free(bigv);
}

/* Products of up to 2^22 multiply-adds are computed by cpu-gemm-small.c on CPUs with AVX2 and
 * FMA, larger ones by BLAS; both must meet the definition. Row counts that leave a partial tile
 * of 4 rows (1, 2, 7), column counts that leave a partial panel of 16 (1, 17, 33), k past one
 * panel of 128 (129, 300), b transposed and not, a product split over two threads, and one
 * product past the limit. */
static void test_cpu_products_match_definition(void **state) {
    check_products_against_definition(*state, 1, 1, 1, false, false);
    check_products_against_definition(*state, 2, 17, 5, true, false);
    check_products_against_definition(*state, 7, 16, 129, false, false);
    check_products_against_definition(*state, 13, 33, 300, true, false);
    check_products_against_definition(*state, 64, 141, 32, true, false);
    check_products_against_definition(*state, 16, 1024, 48, false, false);
    /* 2.1 M multiply-adds on 2 threads: rows or columns in pieces */
    check_products_against_definition(*state, 70, 150, 200, false, true);
    check_products_against_definition(*state, 150, 70, 200, true, true);
    /* 5.2 M multiply-adds: BLAS */
    check_products_against_definition(*state, 64, 130, 630, true, false);
}

/* conv2d with padding 1 of a 3x3 all-ones kernel counts the in-bounds neighbours. */
static void test_cpu_conv2d_padding_counts_neighbours(void **state) {
    fixture         *f = *state;
    cascade_value_id x = in(f, "x", 4, (int64_t[]){1, 1, 3, 4});
    cascade_value_id w = in(f, "w", 4, (int64_t[]){1, 1, 3, 3});
    cascade_value_id b = in(f, "b", 1, (int64_t[]){1});
    cascade_conv2d_params p;
    cascade_conv2d_params_init(&p);
    p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
    cascade_graph_mark_output(f->g, cascade_graph_conv2d(f->g, x, w, b, &p), "y");
    float xv[12], wv[9], bv[1] = {0.5f}, y[12];
    for (int i = 0; i < 12; i++) xv[i] = 1;
    for (int i = 0; i < 9; i++) wv[i] = 1;
    run(f, 3, (const char *[]){"x", "w", "b"}, (const float *[]){xv, wv, bv}, (size_t[]){12, 9, 1}, y, 12);
    float want[12] = {4, 6, 6, 4, 6, 9, 9, 6, 4, 6, 6, 4};
    for (int i = 0; i < 12; i++) assert_float_equal(y[i], want[i] + 0.5f, 1e-6);
}

/* One conv of a (1, C, H, W) input with (O, C, kh, kw) weights and a bias, run on the CPU
 * backend, against the sum over the kernel with zeros outside the image (in doubles).
 * pad = top, left, bottom, right; dil = dilation h, w. */
static void check_conv_against_definition(fixture *f, int C, int O, int H, int W, int kh, int kw,
                                          const int32_t pad[4], const int32_t dil[2]) {
    cascade_graph_free(f->g);
    assert_int_equal(cascade_graph_new(&f->g, NULL), CASCADE_STATUS_OK);
    int OH = H + pad[0] + pad[2] - dil[0] * (kh - 1), OW = W + pad[1] + pad[3] - dil[1] * (kw - 1);
    cascade_value_id x = in(f, "x", 4, (int64_t[]){1, C, H, W});
    cascade_value_id w = in(f, "w", 4, (int64_t[]){O, C, kh, kw});
    cascade_value_id b = in(f, "b", 1, (int64_t[]){O});
    cascade_conv2d_params p;
    cascade_conv2d_params_init(&p);
    memcpy(p.pad, pad, sizeof p.pad);
    memcpy(p.dilation, dil, sizeof p.dilation);
    cascade_graph_mark_output(f->g, cascade_graph_conv2d(f->g, x, w, b, &p), "y");
    size_t nx = (size_t)C * H * W, nw = (size_t)O * C * kh * kw, ny = (size_t)O * OH * OW;
    float *xv = malloc(nx * 4), *wv = malloc(nw * 4), *bv = malloc((size_t)O * 4), *y = malloc(ny * 4);
    for (size_t i = 0; i < nx; i++) xv[i] = (float)sin(0.7 * (double)i + 0.3);
    for (size_t i = 0; i < nw; i++) wv[i] = (float)cos(1.3 * (double)i);
    for (int o = 0; o < O; o++) bv[o] = 0.25f * (float)o - 1.0f;
    run(f, 3, (const char *[]){"x", "w", "b"}, (const float *[]){xv, wv, bv},
        (size_t[]){nx, nw, (size_t)O}, y, ny);
    for (int o = 0; o < O; o++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                double want = bv[o], mag = fabs(bv[o]);
                for (int ci = 0; ci < C; ci++)
                    for (int ki = 0; ki < kh; ki++)
                        for (int kj = 0; kj < kw; kj++) {
                            int iy = oy - pad[0] + ki * dil[0], ix = ox - pad[1] + kj * dil[1];
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            double t = (double)xv[(ci * H + iy) * W + ix] *
                                       wv[((o * C + ci) * kh + ki) * kw + kj];
                            want += t;
                            mag += fabs(t);
                        }
                float got = y[((size_t)o * OH + oy) * OW + ox];
                if (!(fabs(got - want) <= 1e-6 * mag + 1e-6))
                    fail_msg("conv C%d O%d %dx%d k%dx%d: [%d,%d,%d] got %.7g want %.7g", C, O, H, W,
                             kh, kw, o, oy, ox, got, want);
            }
    free(xv);
    free(wv);
    free(bv);
    free(y);
}

/* "same"-width convs (dilated; padded on one side only) equal the definition on a 5x7 image
 * (the CPU copies such columns plane-wise). */
static void test_cpu_conv2d_same_width_matches_direct(void **state) {
    check_conv_against_definition(*state, 2, 3, 5, 7, 3, 3, (int32_t[]){2, 2, 2, 2},
                                  (int32_t[]){2, 2});
    check_conv_against_definition(*state, 2, 3, 5, 7, 3, 3, (int32_t[]){1, 2, 1, 0},
                                  (int32_t[]){1, 1});
}

/* Convs with up to 320 output channels take the direct path (ops-conv-direct.c) on CPUs with
 * AVX2 and FMA, im2col + BLAS elsewhere; both must meet the definition. The direct path's two tile
 * shapes with channel counts that leave a partial block, rows that end mid-tile, asymmetric,
 * zero and wide padding, non-square kernels, and an input large enough to be padded in several
 * bands of rows. */
static void test_cpu_conv2d_direct_matches_definition(void **state) {
    static const int32_t one[2] = {1, 1};
    /* rows of at most 8: 8 channels by 8 pixels, 10 channels leave a block of 2 */
    check_conv_against_definition(*state, 3, 10, 5, 7, 3, 3, (int32_t[]){1, 1, 1, 1}, one);
    /* wider rows: 4 channels by 16 pixels; 21 wide ends mid-tile, 9 channels leave 1 */
    check_conv_against_definition(*state, 2, 9, 6, 21, 5, 3, (int32_t[]){2, 0, 2, 2}, one);
    check_conv_against_definition(*state, 5, 8, 9, 19, 3, 3, (int32_t[]){0, 0, 0, 0}, one);
    check_conv_against_definition(*state, 3, 12, 4, 10, 3, 3, (int32_t[]){3, 3, 3, 3}, one);
    check_conv_against_definition(*state, 4, 64, 6, 33, 1, 3, (int32_t[]){0, 1, 0, 1}, one);
    /* 40 rows: padded and computed in bands of 8 */
    check_conv_against_definition(*state, 64, 8, 40, 40, 3, 3, (int32_t[]){1, 1, 1, 1}, one);
    /* more channels than the direct path takes: im2col + BLAS */
    check_conv_against_definition(*state, 3, 330, 5, 6, 3, 3, (int32_t[]){1, 1, 1, 1}, one);
}

/* group norm output has zero mean and unit variance per group (no affine). */
static void test_cpu_group_norm_normalises(void **state) {
    fixture         *f = *state;
    cascade_value_id x = in(f, "x", 4, (int64_t[]){1, 4, 2, 2});
    cascade_graph_mark_output(
        f->g, cascade_graph_group_norm(f->g, x, CASCADE_NO_VALUE, CASCADE_NO_VALUE, 2, 0.0f, false), "y");
    float xv[16], y[16];
    for (int i = 0; i < 16; i++) xv[i] = (float)(i * i) * 0.1f;
    run(f, 1, (const char *[]){"x"}, (const float *[]){xv}, (size_t[]){16}, y, 16);
    for (int gi = 0; gi < 2; gi++) {
        double s = 0, ss = 0;
        for (int k = 0; k < 8; k++) s += y[gi * 8 + k], ss += y[gi * 8 + k] * y[gi * 8 + k];
        assert_float_equal(s / 8, 0.0, 1e-5);
        assert_float_equal(ss / 8, 1.0, 1e-4);
    }
}

/* A group norm followed by an element-wise op on it alone (a resnet's norm and GELU) runs as
 * one pass; the result is the norm's, then the op's, computed here from the definitions. The
 * norm's output read by a second op as well keeps its own value. */
static void test_cpu_group_norm_then_gelu(void **state) {
    fixture         *f = *state;
    cascade_value_id x = in(f, "x", 4, (int64_t[]){2, 4, 3, 5});
    cascade_value_id w = in(f, "w", 1, (int64_t[]){4});
    cascade_value_id b = in(f, "b", 1, (int64_t[]){4});
    cascade_value_id n1 = cascade_graph_group_norm(f->g, x, w, b, 2, 1e-5f, false);
    cascade_value_id y1 = cascade_graph_unary(f->g, CASCADE_UNARY_GELU, n1);
    cascade_value_id n2 = cascade_graph_group_norm(f->g, x, w, b, 2, 1e-5f, false);
    cascade_value_id y2 = cascade_graph_add(f->g, cascade_graph_scale(f->g, n2, 3.0f, 0.5f), n2);
    cascade_graph_mark_output(
        f->g, cascade_graph_add(f->g, cascade_graph_scale(f->g, y1, 1000.0f, 0.0f), y2), "y");
    float xv[120], wv[4] = {1.5f, -0.5f, 2.0f, 0.25f}, bv[4] = {0.1f, -0.3f, 0.0f, 1.0f}, y[120];
    for (int i = 0; i < 120; i++)
        xv[i] = sinf((float)i * 0.37f) * 3.0f + (float)(i % 7);
    run(f, 3, (const char *[]){"x", "w", "b"}, (const float *[]){xv, wv, bv}, (size_t[]){120, 4, 4},
        y, 120);
    for (int bi = 0; bi < 2; bi++)
        for (int gi = 0; gi < 2; gi++) {
            const float *xg = xv + (bi * 4 + gi * 2) * 15;
            double       s = 0, ss = 0;
            for (int k = 0; k < 30; k++)
                s += xg[k];
            double mean = s / 30;
            for (int k = 0; k < 30; k++)
                ss += (xg[k] - mean) * (xg[k] - mean);
            double inv = 1.0 / sqrt(ss / 30 + 1e-5);
            for (int k = 0; k < 30; k++) {
                int    ch = gi * 2 + k / 15;
                double nv = (xg[k] - mean) * inv * wv[ch] + bv[ch];
                double gelu = 0.5 * nv * (1.0 + erf(nv / sqrt(2.0)));
                double want = 1000.0 * gelu + (3.0 * nv + 0.5) + nv;
                assert_float_equal(y[(bi * 4 + gi * 2) * 15 + k], want, 2e-3);
            }
        }
}

/* Broadcasting binary ops, whose dims the CPU merges where both inputs walk alike, equal the
 * element-by-element definition: a per-channel term (B, C, 1, 1), a per-row one (1, 1, H, 1),
 * a middle dim broadcast (B, 1, H, W) and an operand broadcast on the left (1, C, 1, W). */
static void test_cpu_binary_broadcast_patterns(void **state) {
    fixture *f = *state;
    enum { B = 2, C = 3, H = 4, W = 5, NUM = B * C * H * W };
    static const int64_t shapes[4][4] = {{B, C, 1, 1}, {1, 1, H, 1}, {B, 1, H, W}, {1, C, 1, W}};
    cascade_value_id     x = in(f, "x", 4, (int64_t[]){B, C, H, W});
    cascade_value_id     ys[4];
    for (int k = 0; k < 4; k++) {
        char name[8];
        snprintf(name, sizeof name, "b%d", k);
        cascade_value_id b = in(f, name, 4, shapes[k]);
        ys[k] = k % 2 ? cascade_graph_sub(f->g, b, x) : cascade_graph_add(f->g, x, b);
    }
    cascade_value_id y = cascade_graph_add(
        f->g, cascade_graph_add(f->g, cascade_graph_scale(f->g, ys[0], 1.0f, 0.0f),
                                cascade_graph_scale(f->g, ys[1], 10.0f, 0.0f)),
        cascade_graph_add(f->g, cascade_graph_scale(f->g, ys[2], 100.0f, 0.0f),
                          cascade_graph_scale(f->g, ys[3], 1000.0f, 0.0f)));
    cascade_graph_mark_output(f->g, y, "y");
    float xv[NUM], bv[4][NUM], out[NUM];
    size_t sizes[5] = {NUM};
    for (int i = 0; i < NUM; i++) xv[i] = (float)(i % 17) * 0.25f - 2.0f;
    for (int k = 0; k < 4; k++) {
        sizes[k + 1] = (size_t)(shapes[k][0] * shapes[k][1] * shapes[k][2] * shapes[k][3]);
        for (size_t i = 0; i < sizes[k + 1]; i++) bv[k][i] = (float)((int)i * (k + 3) % 11) - 5.0f;
    }
    run(f, 5, (const char *[]){"x", "b0", "b1", "b2", "b3"},
        (const float *[]){xv, bv[0], bv[1], bv[2], bv[3]}, sizes, out, NUM);
    for (int bi = 0; bi < B; bi++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++) {
                    int    idx[4] = {bi, c, h, w};
                    float  xe = xv[((bi * C + c) * H + h) * W + w];
                    double want = 0, scale[4] = {1, 10, 100, 1000};
                    for (int k = 0; k < 4; k++) {
                        int64_t o = 0;
                        for (int d = 0; d < 4; d++) o = o * shapes[k][d] + (shapes[k][d] == 1 ? 0 : idx[d]);
                        double be = bv[k][o];
                        want += scale[k] * (k % 2 ? be - xe : xe + be);
                    }
                    assert_float_equal(out[((bi * C + c) * H + h) * W + w], want, 1e-2);
                }
}

/* Attention with one key returns that key's value whatever the scores. */
static void test_cpu_attention_single_key(void **state) {
    fixture         *f = *state;
    cascade_value_id q = in(f, "q", 4, (int64_t[]){1, 1, 3, 2});
    cascade_value_id k = in(f, "k", 4, (int64_t[]){1, 1, 1, 2});
    cascade_value_id v = in(f, "v", 4, (int64_t[]){1, 1, 1, 2});
    cascade_graph_mark_output(f->g, cascade_graph_attention(f->g, q, k, v, CASCADE_NO_VALUE, 0.7f), "y");
    float qv[6] = {1, 2, 3, 4, 5, 6}, kv[2] = {1, -1}, vv[2] = {7, -3}, y[6];
    run(f, 3, (const char *[]){"q", "k", "v"}, (const float *[]){qv, kv, vv}, (size_t[]){6, 2, 2}, y, 6);
    for (int i = 0; i < 3; i++) {
        assert_float_equal(y[2 * i], 7, 1e-6);
        assert_float_equal(y[2 * i + 1], -3, 1e-6);
    }
}

/* An additive -huge bias masks a key out; the rest is the plain softmax average. */
static void test_cpu_attention_masked_key(void **state) {
    fixture         *f = *state;
    cascade_value_id q = in(f, "q", 4, (int64_t[]){1, 1, 1, 1});
    cascade_value_id k = in(f, "k", 4, (int64_t[]){1, 1, 3, 1});
    cascade_value_id v = in(f, "v", 4, (int64_t[]){1, 1, 3, 1});
    cascade_value_id m = in(f, "m", 4, (int64_t[]){1, 1, 1, 3});
    cascade_graph_mark_output(f->g, cascade_graph_attention(f->g, q, k, v, m, 1.0f), "y");
    float qv[1] = {1}, kv[3] = {0, 0, 5}, vv[3] = {1, 3, 100}, mv[3] = {0, 0, -3.4e38f}, y[1];
    run(f, 4, (const char *[]){"q", "k", "v", "m"}, (const float *[]){qv, kv, vv, mv},
        (size_t[]){1, 3, 3, 3}, y, 1);
    assert_float_equal(y[0], 2.0, 1e-6);
}

/* Bilinear 2x2 -> 4x4 (align_corners false) matches PyTorch's half-pixel rule. */
static void test_cpu_resize_bilinear_half_pixel(void **state) {
    fixture         *f = *state;
    cascade_value_id x = in(f, "x", 4, (int64_t[]){1, 1, 2, 2});
    cascade_graph_mark_output(f->g, cascade_graph_resize_bilinear(f->g, x, 4, 4, false), "y");
    float xv[4] = {1, 2, 3, 4}, y[16];
    run(f, 1, (const char *[]){"x"}, (const float *[]){xv}, (size_t[]){4}, y, 16);
    float row0[4] = {1, 1.25f, 1.75f, 2};
    for (int i = 0; i < 4; i++) assert_float_equal(y[i], row0[i], 1e-6);
    assert_float_equal(y[15], 4, 1e-6);
    assert_float_equal(y[5], 1.75f, 1e-6); /* (0.25, 0.25) from the corner */
}

/* permute, slice and concat move elements where the index algebra says. */
static void test_cpu_permute_slice_concat(void **state) {
    fixture         *f = *state;
    cascade_value_id x = in(f, "x", 3, (int64_t[]){2, 3, 4});
    cascade_value_id p = cascade_graph_permute(f->g, x, (int32_t[]){2, 0, 1}); /* (4, 2, 3) */
    cascade_value_id s = cascade_graph_slice(f->g, p, 0, 1, 2, 2);             /* rows 1, 3 */
    cascade_value_id c = cascade_graph_concat(f->g, 2, (cascade_value_id[]){s, s}, 2); /* (2,2,6) */
    cascade_graph_mark_output(f->g, c, "y");
    float xv[24], y[24];
    for (int i = 0; i < 24; i++) xv[i] = (float)i;
    run(f, 1, (const char *[]){"x"}, (const float *[]){xv}, (size_t[]){24}, y, 24);
    /* y[a][b][c] = x[b][c % 3][w] with w = 1 + 2a */
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (int cc = 0; cc < 6; cc++)
                assert_float_equal(y[(a * 2 + b) * 6 + cc], xv[b * 12 + (cc % 3) * 4 + 1 + 2 * a], 0);
}

/* get_rows refuses an id outside the table instead of reading past it. */
static void test_cpu_get_rows_out_of_range(void **state) {
    fixture         *f = *state;
    float            table[6] = {1, 2, 3, 4, 5, 6};
    cascade_value_id t = cascade_graph_constant_copy(f->g, "t", CASCADE_DTYPE_F32, 2, (int64_t[]){3, 2}, table);
    cascade_value_id ids = cascade_graph_input(f->g, "ids", CASCADE_DTYPE_I32, 1, (int64_t[]){2});
    cascade_graph_mark_output(f->g, cascade_graph_get_rows(f->g, t, ids), "y");
    cascade_plan *p = NULL;
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(cascade_plan_new(f->be, f->g, &p, &err), CASCADE_STATUS_OK);
    int32_t good[2] = {2, 0}, bad[2] = {1, 3};
    float   y[4];
    assert_int_equal(cascade_plan_write_named(p, "ids", good, sizeof good, &err), 0);
    assert_int_equal(cascade_plan_run(p, NULL, &err), 0);
    assert_int_equal(cascade_plan_read_named(p, "y", y, sizeof y, &err), 0);
    assert_float_equal(y[0], 5, 0);
    assert_float_equal(y[3], 2, 0);
    assert_int_equal(cascade_plan_write_named(p, "ids", bad, sizeof bad, &err), 0);
    assert_int_equal(cascade_plan_run(p, NULL, &err), CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "outside the table"));
    cascade_plan_free(p);
}

/* cast: an F16 constant cast to F32 keeps its values (the CPU holds it widened to fp32; it
 * was read as integers before), and F32 -> I32 truncates, saturating instead of overflowing. */
static void test_cpu_cast_values(void **state) {
    fixture *f = *state;
    uint16_t h[4] = {cascade_fp32_to_fp16(1.5f), cascade_fp32_to_fp16(-2.25f),
                     cascade_fp32_to_fp16(0.0f), cascade_fp32_to_fp16(65504.0f)};
    cascade_value_id c =
        cascade_graph_constant_copy(f->g, "h", CASCADE_DTYPE_F16, 1, (int64_t[]){4}, h);
    cascade_value_id x = in(f, "x", 1, (int64_t[]){4});
    cascade_value_id i = cascade_graph_cast(f->g, x, CASCADE_DTYPE_I32);
    cascade_value_id back = cascade_graph_cast(f->g, i, CASCADE_DTYPE_F32);
    cascade_value_id y = cascade_graph_concat(
        f->g, 2, (cascade_value_id[]){cascade_graph_cast(f->g, c, CASCADE_DTYPE_F32), back}, 0);
    cascade_graph_mark_output(f->g, y, "y");
    const float  xv[4] = {2.9f, -2.9f, 3e9f, NAN};
    float        out[8];
    run(f, 1, (const char *const[]){"x"}, (const float *const[]){xv}, (const size_t[]){4}, out, 8);
    assert_float_equal(out[0], 1.5f, 0);
    assert_float_equal(out[1], -2.25f, 0);
    assert_float_equal(out[2], 0.0f, 0);
    assert_float_equal(out[3], 65504.0f, 0);
    assert_float_equal(out[4], 2.0f, 0);
    assert_float_equal(out[5], -2.0f, 0);
    assert_float_equal(out[6], 2147483647.0f, 0);
    assert_float_equal(out[7], 0.0f, 0);
}

/* A plan with enough work to share (two 64-channel 3x3 convs at 160 px: 3.8 GFLOP, over the
 * backend's 2 GFLOP floor) runs its ops split over 2 threads; its output equals the same plan
 * on a one-thread backend (bit for bit with the direct conv, where each output is computed by
 * one piece whichever thread takes it; to rounding with BLAS, whose edge kernels depend on how
 * the product was split). The kernels against their definitions are the tests above. */
static void test_cpu_shared_plan_matches_one_thread(void **state) {
    fixture *f = *state;
    enum { C = 64, S = 160 };
    cascade_value_id x = in(f, "x", 4, (int64_t[]){1, C, S, S});
    cascade_value_id w = in(f, "w", 4, (int64_t[]){C, C, 3, 3});
    cascade_conv2d_params p;
    cascade_conv2d_params_init(&p);
    p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
    cascade_value_id h = cascade_graph_conv2d(f->g, x, w, CASCADE_NO_VALUE, &p);
    h = cascade_graph_group_norm(f->g, h, CASCADE_NO_VALUE, CASCADE_NO_VALUE, 8, 1e-5f, true);
    cascade_graph_mark_output(f->g, cascade_graph_conv2d(f->g, h, w, CASCADE_NO_VALUE, &p), "y");
    size_t nx = (size_t)C * S * S, nw = (size_t)C * C * 9;
    float *xv = malloc(nx * 4), *wv = malloc(nw * 4), *y2 = malloc(nx * 4), *y1 = malloc(nx * 4);
    for (size_t i = 0; i < nx; i++) xv[i] = (float)sin(0.37 * (double)i);
    for (size_t i = 0; i < nw; i++) wv[i] = (float)cos(0.91 * (double)i) * 0.05f;
    const char *const  names[] = {"x", "w"};
    const float *const data[] = {xv, wv};
    const size_t       sizes[] = {nx, nw};
    run(f, 2, names, data, sizes, y2, nx);
    cascade_backend   *two = f->be;
    cascade_cpu_options o;
    cascade_cpu_options_init(&o);
    o.n_threads = 1;
    assert_int_equal(cascade_backend_cpu_new(&o, &f->be, NULL), CASCADE_STATUS_OK);
    run(f, 2, names, data, sizes, y1, nx);
    cascade_backend_free(f->be);
    f->be = two;
    double worst = 0;
    for (size_t i = 0; i < nx; i++) worst = fmax(worst, fabs((double)y1[i] - y2[i]) / (1 + fabs(y1[i])));
    assert_true(worst <= 1e-5);
    free(xv);
    free(wv);
    free(y2);
    free(y1);
}

/* A raised cancel flag stops a run before it starts. */
static void test_cpu_cancel(void **state) {
    fixture         *f = *state;
    cascade_value_id x = in(f, "x", 1, (int64_t[]){4});
    cascade_graph_mark_output(f->g, cascade_graph_scale(f->g, x, 2, 0), "y");
    cascade_plan  *p = NULL;
    cascade_cancel c;
    cascade_cancel_init(&c);
    cascade_cancel_raise(&c);
    assert_int_equal(cascade_plan_new(f->be, f->g, &p, NULL), CASCADE_STATUS_OK);
    assert_int_equal(cascade_plan_run(p, &c, NULL), CASCADE_STATUS_CANCELLED);
    cascade_plan_free(p);
}

/* Writing the wrong number of bytes into an input is refused. */
static void test_cpu_write_size_checked(void **state) {
    fixture         *f = *state;
    cascade_value_id x = in(f, "x", 1, (int64_t[]){4});
    cascade_graph_mark_output(f->g, cascade_graph_scale(f->g, x, 2, 0), "y");
    cascade_plan *p = NULL;
    float         v[3] = {0};
    assert_int_equal(cascade_plan_new(f->be, f->g, &p, NULL), CASCADE_STATUS_OK);
    assert_int_equal(cascade_plan_write_named(p, "x", v, sizeof v, NULL), CASCADE_STATUS_INVALID_ARG);
    cascade_plan_free(p);
}

/* Unary activations agree with their closed forms at a few points. */
static void test_cpu_unary_values(void **state) {
    fixture         *f = *state;
    cascade_value_id x = in(f, "x", 1, (int64_t[]){3});
    cascade_value_id a = cascade_graph_unary(f->g, CASCADE_UNARY_SILU, x);
    cascade_value_id b = cascade_graph_unary(f->g, CASCADE_UNARY_GELU_TANH, x);
    cascade_value_id c = cascade_graph_unary(f->g, CASCADE_UNARY_GELU, x);
    cascade_graph_mark_output(f->g, cascade_graph_concat(f->g, 3, (cascade_value_id[]){a, b, c}, 0), "y");
    float xv[3] = {-1, 0, 2}, y[9];
    run(f, 1, (const char *[]){"x"}, (const float *[]){xv}, (size_t[]){3}, y, 9);
    assert_float_equal(y[0], -1.0 / (1.0 + exp(1.0)), 1e-6);
    assert_float_equal(y[2], 2.0 / (1.0 + exp(-2.0)), 1e-6);
    assert_float_equal(y[5], 0.5 * 2 * (1 + tanh(0.7978845608 * (2 + 0.044715 * 8))), 1e-6);
    assert_float_equal(y[6], 0.5 * -1 * (1 + erf(-1 / sqrt(2.0))), 1e-6);
}

/* GELU (erf form) stays within 1e-6 (1 + |x|) of the closed form with the double erf over
 * [-8, 8] (the CPU's rational erf measured 1.7e-7; a tanh-style erf would be off by 1e-4),
 * on a length that is no multiple of a vector width, and keeps NaN and +inf. */
static void test_cpu_gelu_matches_erf(void **state) {
    fixture        *f = *state;
    enum { N = 16003 };
    cascade_value_id x = in(f, "x", 1, (int64_t[]){N});
    cascade_graph_mark_output(f->g, cascade_graph_unary(f->g, CASCADE_UNARY_GELU, x), "y");
    static float xv[N], y[N];
    for (int i = 0; i < N - 3; i++) xv[i] = -8.0f + 16.0f * (float)i / (float)(N - 4);
    xv[N - 3] = NAN;
    xv[N - 2] = INFINITY;
    xv[N - 1] = 1.0f;
    run(f, 1, (const char *[]){"x"}, (const float *[]){xv}, (size_t[]){N}, y, N);
    double worst = 0;
    for (int i = 0; i < N - 3; i++) {
        double v = xv[i], d = fabs(y[i] - 0.5 * v * (1 + erf(v / sqrt(2.0)))) / (1 + fabs(v));
        if (d > worst) worst = d;
    }
    assert_true(worst <= 1e-6);
    assert_true(isnan(y[N - 3]));
    assert_true(isinf(y[N - 2]) && y[N - 2] > 0);
}

/* SiLU through the CPU's vectorised exp (cpu-math.h) stays within 3e-7 relative of the
 * double closed form over [-85, 90] (very negative x included, where 1 - sigmoid(|x|) would
 * round to 0), is about 0 below, and keeps NaN. */
static void test_cpu_exp_based_ops(void **state) {
    fixture *f = *state;
    enum { N = 8003 };
    cascade_value_id x = in(f, "x", 1, (int64_t[]){N});
    cascade_graph_mark_output(f->g, cascade_graph_unary(f->g, CASCADE_UNARY_SILU, x), "y");
    static float xv[N], y[N];
    for (int i = 0; i < N - 2; i++) xv[i] = -85.0f + 175.0f * (float)i / (float)(N - 3);
    xv[N - 2] = -95.0f;
    xv[N - 1] = NAN;
    run(f, 1, (const char *[]){"x"}, (const float *[]){xv}, (size_t[]){N}, y, N);
    double worst = 0;
    for (int i = 0; i < N - 2; i++) {
        double v = xv[i], want = v / (1 + exp(-v));
        double d = fabs(y[i] - want) / (fabs(want) + 1e-30);
        if (d > worst) worst = d;
    }
    assert_true(worst <= 3e-7);
    assert_true(fabsf(y[N - 2]) < 1e-30f);
    assert_true(isnan(y[N - 1]));
}

/* exp, sin and cos of t = x * 1 (so the op may run in place over t), on a length that is no
 * multiple of a vector width: within 3e-7 relative (exp) or 1e-7 absolute (sin, cos, angles up
 * to 1000 as in timestep embeddings) of the double functions, and as libm past the vector
 * formulas' range (overflow, results below 2^-126, angles past 1e6, inf, NaN). */
static void check_unary_against_libm(fixture *f, cascade_unary kind) {
    enum { N = 4003, EDGES = 7 };
    cascade_graph_free(f->g);
    assert_int_equal(cascade_graph_new(&f->g, NULL), CASCADE_STATUS_OK);
    cascade_value_id x = in(f, "x", 1, (int64_t[]){N});
    cascade_value_id t = cascade_graph_scale(f->g, x, 1.0f, 0.0f);
    cascade_graph_mark_output(f->g, cascade_graph_unary(f->g, kind, t), "y");
    static float xv[N], y[N];
    const float  edges[EDGES] = {95.0f, -100.0f, 3.0e6f, -1.0e7f, INFINITY, -INFINITY, NAN};
    const bool   is_exp = kind == CASCADE_UNARY_EXP;
    for (int i = 0; i < N - EDGES; i++)
        xv[i] = is_exp ? -87.0f + 175.6f * (float)i / (float)(N - EDGES - 1)
                       : -1000.0f + 2000.0f * (float)i / (float)(N - EDGES - 1);
    memcpy(xv + N - EDGES, edges, sizeof edges);
    run(f, 1, (const char *[]){"x"}, (const float *[]){xv}, (size_t[]){N}, y, N);
    for (int i = 0; i < N; i++) {
        double v = xv[i];
        double want = is_exp ? exp(v) : kind == CASCADE_UNARY_SIN ? sin(v) : cos(v);
        float  libm = is_exp ? expf(xv[i]) : kind == CASCADE_UNARY_SIN ? sinf(xv[i]) : cosf(xv[i]);
        bool   vector = is_exp ? fabs(v) <= 87.3125 : fabs(v) <= 1e6;
        bool   ok = !vector ? (isnan(libm) ? isnan(y[i]) : y[i] == libm)
                    : is_exp  ? fabs(y[i] - want) <= 3e-7 * want
                              : fabs(y[i] - want) <= 1e-7;
        if (!ok) fail_msg("unary %d of %.9g: got %.9g want %.9g", (int)kind, v, y[i], want);
    }
}

static void test_cpu_exp_sin_cos(void **state) {
    check_unary_against_libm(*state, CASCADE_UNARY_EXP);
    check_unary_against_libm(*state, CASCADE_UNARY_SIN);
    check_unary_against_libm(*state, CASCADE_UNARY_COS);
}

/* Softmax over a row stays within 3e-7 (1 + |x - max|) relative of the double softmax (the
 * float difference x - max alone is that far off), and a row of -inf gives zeros. */
static void test_cpu_softmax_rows(void **state) {
    fixture *f = *state;
    enum { R = 3, C = 1001 };
    cascade_value_id x = in(f, "x", 2, (int64_t[]){R, C});
    cascade_graph_mark_output(f->g, cascade_graph_softmax(f->g, x), "y");
    static float xv[R * C], y[R * C];
    for (int i = 0; i < C; i++) {
        xv[i] = 30.0f * sinf(0.37f * (float)i);         /* wide range */
        xv[C + i] = (float)(i % 7) * 1e-3f;             /* near-uniform */
        xv[2 * C + i] = -INFINITY;                      /* fully masked */
    }
    run(f, 1, (const char *[]){"x"}, (const float *[]){xv}, (size_t[]){R * C}, y, R * C);
    for (int r = 0; r < 2; r++) {
        double m = -INFINITY, s = 0, worst = 0;
        for (int i = 0; i < C; i++) m = fmax(m, xv[r * C + i]);
        for (int i = 0; i < C; i++) s += exp((double)xv[r * C + i] - m);
        for (int i = 0; i < C; i++) {
            double want = exp((double)xv[r * C + i] - m) / s;
            double d = fabs(y[r * C + i] - want) / (want * (1 + fabs(xv[r * C + i] - m)));
            if (want > 1e-30 && d > worst) worst = d;
        }
        assert_true(worst <= 3e-7);
    }
    for (int i = 0; i < C; i++) assert_true(y[2 * C + i] == 0.0f);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_cpu_matmul_transposed_broadcast), T(test_cpu_binary_broadcast_patterns),
        T(test_cpu_conv2d_padding_counts_neighbours),
        T(test_cpu_conv2d_same_width_matches_direct),
        T(test_cpu_conv2d_direct_matches_definition),
        T(test_cpu_products_match_definition),
        T(test_cpu_group_norm_normalises),
        T(test_cpu_group_norm_then_gelu),
        T(test_cpu_attention_single_key),
        T(test_cpu_attention_masked_key),
        T(test_cpu_resize_bilinear_half_pixel),
        T(test_cpu_permute_slice_concat),
        T(test_cpu_get_rows_out_of_range),
        T(test_cpu_cast_values),
        T(test_cpu_shared_plan_matches_one_thread),
        T(test_cpu_cancel),
        T(test_cpu_write_size_checked),
        T(test_cpu_unary_values),
        T(test_cpu_gelu_matches_erf),
        T(test_cpu_exp_based_ops),
        T(test_cpu_exp_sin_cos),
        T(test_cpu_softmax_rows),
    };
    return cmocka_run_group_tests_name("cpu-ops", tests, NULL, NULL);
}
