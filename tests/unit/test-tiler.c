/* Tiler geometry (pure arithmetic, no network): the blend weights form a partition of unity,
 * every counted output pixel has its context inside the window, one window size serves all
 * tiles, and the memory budget bounds the tile and the peak for canvases of any size. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cascade/tiler.h"
#include "test-common.h"

static cascade_tiler *make(int64_t w, int64_t h, int32_t scale, int32_t tile, int32_t context,
                           int32_t feather) {
    cascade_tiler_params p = {.width = w,
                              .height = h,
                              .scale = scale,
                              .tile = tile,
                              .context = context,
                              .feather = feather};
    cascade_tiler       *t = NULL;
    cascade_error        err;
    cascade_error_init(&err);
    cascade_status st = cascade_tiler_new(&p, &t, &err);
    if (st) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
    assert_non_null(t);
    return t;
}

/* Checks one axis (0: x, 1: y) of t: weights sum to 1 at every output coordinate, the
 * weighted span lies inside the window's output, and the window holds `context` input pixels
 * beyond the weighted span wherever the image has them. */
static void check_axis(const cascade_tiler *t, int axis, int64_t extent, int32_t scale,
                       int32_t context) {
    const int32_t n = axis ? cascade_tiler_rows(t) : cascade_tiler_cols(t);
    const int64_t window = axis ? cascade_tiler_window_height(t) : cascade_tiler_window_width(t);
    assert_true(window >= 1 && window <= extent);
    double *sum = calloc((size_t)(extent * scale), sizeof(double));
    assert_non_null(sum);
    for (int32_t i = 0; i < n; i++) {
        cascade_tile tl;
        cascade_tiler_get(t, axis ? i * cascade_tiler_cols(t) : i, &tl);
        const cascade_tile_span *s = axis ? &tl.y : &tl.x;
        assert_int_equal(s->in_len, window);
        assert_true(s->in0 >= 0 && s->in0 + s->in_len <= extent);
        assert_true(s->out0 >= s->in0 * scale && s->out1 <= (s->in0 + s->in_len) * scale);
        int64_t lo = s->out0 / scale - context, hi = (s->out1 + scale - 1) / scale + context;
        assert_true(s->in0 <= (lo < 0 ? 0 : lo));
        assert_true(s->in0 + s->in_len >= (hi > extent ? extent : hi));
        for (int64_t X = 0; X < extent * scale; X++) {
            float w = cascade_tiler_weight(t, s, X, extent);
            assert_true(w >= 0.0f && w <= 1.0f);
            if (X < s->out0 || X >= s->out1) assert_true(w == 0.0f);
            sum[X] += w;
        }
    }
    for (int64_t X = 0; X < extent * scale; X++) {
        if (fabs(sum[X] - 1.0) > 1e-6)
            fprintf(stderr, "axis %d X %lld: sum %.9f\n", axis, (long long)X, sum[X]);
        assert_true(fabs(sum[X] - 1.0) <= 1e-6);
    }
    free(sum);
}

/* Over awkward sizes and parameters, both axes are partitions of unity with full context. */
static void test_tiler_partition_of_unity(void **state) {
    (void)state;
    static const int64_t sizes[] = {1, 3, 17, 63, 65, 130, 257};
    static const int32_t cfg[][4] = {/* scale, tile, context, feather */
                                     {2, 16, 4, 8},  {4, 32, 10, 8}, {3, 7, 0, 0},
                                     {8, 20, 32, 6}, {2, 1, 2, 2},   {4, 64, 3, 9}};
    for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++)
        for (size_t c = 0; c < sizeof cfg / sizeof *cfg; c++) {
            int64_t        w = sizes[a], h = sizes[(a + 3) % 7];
            cascade_tiler *t = make(w, h, cfg[c][0], cfg[c][1], cfg[c][2], cfg[c][3]);
            assert_int_equal(cascade_tiler_count(t), cascade_tiler_cols(t) * cascade_tiler_rows(t));
            assert_int_equal(cascade_tiler_cols(t), (w + cfg[c][1] - 1) / cfg[c][1]);
            assert_true(cascade_tiler_feather(t) % 2 == 0 && cascade_tiler_feather(t) <= cfg[c][3]);
            check_axis(t, 0, w, cfg[c][0], cfg[c][2]);
            check_axis(t, 1, h, cfg[c][0], cfg[c][2]);
            cascade_tiler_free(t);
        }
}

/* Accumulating a constant tile output everywhere reproduces the constant (weights sum to 1
 * in 2-D too, and each output pixel is read from the right place of its tile's window). */
static void test_tiler_accumulate_identity(void **state) {
    (void)state;
    const int64_t  w = 45, h = 38;
    const int32_t  S = 2;
    cascade_tiler *t = make(w, h, S, 12, 3, 4);
    const int64_t  ww = cascade_tiler_window_width(t), wh = cascade_tiler_window_height(t);
    float         *src = malloc(sizeof(float) * (size_t)(2 * ww * S * wh * S));
    float         *acc = calloc((size_t)(w * S * h * S * 2), sizeof(float));
    assert_non_null(src);
    assert_non_null(acc);
    for (int32_t i = 0; i < cascade_tiler_count(t); i++) {
        cascade_tile tl;
        cascade_tiler_get(t, i, &tl);
        /* channel 0: the output x coordinate this window pixel maps to; channel 1: y */
        for (int64_t y = 0; y < wh * S; y++)
            for (int64_t x = 0; x < ww * S; x++) {
                src[y * ww * S + x] = (float)(tl.x.in0 * S + x);
                src[(wh * S + y) * ww * S + x] = (float)(tl.y.in0 * S + y);
            }
        cascade_tiler_accumulate(t, &tl, src, 2, acc, 0, h * S);
    }
    for (int64_t Y = 0; Y < h * S; Y++)
        for (int64_t X = 0; X < w * S; X++) {
            assert_float_equal(acc[(Y * w * S + X) * 2 + 0], (float)X, 1e-3);
            assert_float_equal(acc[(Y * w * S + X) * 2 + 1], (float)Y, 1e-3);
        }
    free(acc);
    free(src);
    cascade_tiler_free(t);
}

/* A 10000 x 10000 canvas at x4 under a 512 MiB budget: the chosen tile's window and the
 * blended band fit the budget, and the geometry stays consistent (no network is run). */
static void test_tiler_huge_canvas_budget(void **state) {
    (void)state;
    const uint64_t budget = 512ull << 20;
    const double   bpp = 4.0 * (64 * 10 + 48 * 16); /* RDN-like working set per input pixel */
    const int32_t  context = 32, feather = 8, S = 4;
    int32_t        tile = cascade_tiler_tile_for_budget(budget, bpp, context, feather, 32, 4096);
    assert_true(tile >= 32 && tile <= 4096);
    assert_true((double)(tile + feather + 2 * context) * (tile + feather + 2 * context) * bpp <=
                (double)budget);
    cascade_tiler *t = make(10000, 10000, S, tile, context, feather);
    while (cascade_tiler_peak_bytes(t, bpp, 3) > budget && tile > 32) { /* as upscale.c does */
        cascade_tiler_free(t);
        tile = tile * 7 / 8;
        t = make(10000, 10000, S, tile, context, feather);
    }
    uint64_t peak = cascade_tiler_peak_bytes(t, bpp, 3);
    fprintf(stderr, "# 10000x10000 x4: tile %d, %d tiles, window %lldx%lld, peak %.1f MiB\n", tile,
            cascade_tiler_count(t), (long long)cascade_tiler_window_width(t),
            (long long)cascade_tiler_window_height(t), (double)peak / 1048576.0);
    assert_true(peak <= budget);
    assert_true(cascade_tiler_count(t) > 1);
    /* tiles cover the canvas edge to edge, rows in order */
    cascade_tile first, last;
    cascade_tiler_get(t, 0, &first);
    cascade_tiler_get(t, cascade_tiler_count(t) - 1, &last);
    assert_int_equal(first.x.out0, 0);
    assert_int_equal(first.y.out0, 0);
    assert_int_equal(last.x.out1, 10000 * S);
    assert_int_equal(last.y.out1, 10000 * S);
    assert_int_equal(last.x.in0 + last.x.in_len, 10000);
    check_axis(t, 0, 10000, S, context);
    cascade_tiler_free(t);
    /* a smaller budget gives a smaller tile */
    assert_true(cascade_tiler_tile_for_budget(budget / 16, bpp, context, feather, 32, 4096) < tile);
}

/* Sizes out of range are INVALID_ARG, naming them, and leave *out NULL. */
static void test_tiler_rejects_bad_params(void **state) {
    (void)state;
    static const cascade_tiler_params bad[] = {
        {.width = 0, .height = 5, .scale = 2, .tile = 4},
        {.width = 5, .height = 5, .scale = 0, .tile = 4},
        {.width = 5, .height = 5, .scale = 2, .tile = 0},
        {.width = 5, .height = 5, .scale = 2, .tile = 4, .context = -1},
        {.width = 1ll << 40, .height = 5, .scale = 2, .tile = 4},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cascade_tiler *t = (cascade_tiler *)&t;
        cascade_error  err;
        cascade_error_init(&err);
        assert_int_equal(cascade_tiler_new(&bad[i], &t, &err), CASCADE_STATUS_INVALID_ARG);
        assert_null(t);
        assert_non_null(strstr(err.message, "tiler"));
    }
    cascade_tiler_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiler_partition_of_unity),
        cmocka_unit_test(test_tiler_accumulate_identity),
        cmocka_unit_test(test_tiler_huge_canvas_budget),
        cmocka_unit_test(test_tiler_rejects_bad_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
