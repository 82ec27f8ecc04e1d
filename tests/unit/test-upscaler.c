/* Whole-image upscaling (upscale.c over tiler.c and esrgan.c) with the real UpscalerJS models
 * that tools/upscalers/fetch.sh converts (tests whose model is not fetched are left out):
 * tiled equals untiled on a photograph, progress per tile, cancel between tiles, alpha
 * enlarged separately, the tile plan of a 10000x10000 canvas within the memory budget, and
 * argument errors. The network's numbers against TensorFlow.js are golden-sr.c's job.
 * $CASCADE_SLOW_TESTS=1 adds esrgan-thick (receptive field wider than the context cap). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <sys/wait.h>

#include "cascade/backend.h"
#include "cascade/image-io.h"
#include "cascade/upscaler.h"
#include "test-common.h"

static char path_buf[4096];

/* $CASCADE_SR_MODELS/<id>, else <source>/models/upscalers/<id>; NULL when not fetched. */
static const char *model_dir(const char *id) {
    const char *e = getenv("CASCADE_SR_MODELS"), *src = getenv("CASCADE_SOURCE_DIR");
    if (e && *e)
        snprintf(path_buf, sizeof path_buf, "%s/%s", e, id);
    else
        snprintf(path_buf, sizeof path_buf, "%s/models/upscalers/%s", src && *src ? src : ".", id);
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/model.safetensors", path_buf);
    FILE *f = fopen(cfg, "rb");
    if (!f) return NULL;
    fclose(f);
    return path_buf;
}

typedef struct fixture {
    cascade_upscaler *u;
    cascade_backend  *be;
    cascade_image    *photo;
} fixture;

/* Loads model `id` and the crop (x0, y0, w, h) of ../shared/images/astronaut.png (main() runs
 * these tests only when both are there). */
static bool setup_model(fixture *f, const char *id, int64_t x0, int64_t y0, int64_t w, int64_t h) {
    memset(f, 0, sizeof *f);
    const char *dir = model_dir(id);
    char        img[4096];
    snprintf(img, sizeof img, "%s/../images/astronaut.png", test_golden_dir());
    FILE *pf = fopen(img, "rb");
    if (!dir || !pf) {
        if (pf) fclose(pf);
        fprintf(stderr, "# %s not fetched (tools/upscalers/fetch.sh) or %s missing\n", id, img);
        return false;
    }
    fclose(pf);
    cascade_error err;
    cascade_error_init(&err);
    cascade_image *full = NULL;
    assert_int_equal(cascade_upscaler_load(dir, &f->u, &err), CASCADE_STATUS_OK);
    assert_int_equal(cascade_image_read_png(img, &full, &err), CASCADE_STATUS_OK);
    assert_true(x0 + w <= full->width && y0 + h <= full->height);
    assert_int_equal(cascade_image_new(w, h, 3, &f->photo, &err), CASCADE_STATUS_OK);
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                f->photo->pixels[(y * w + x) * 3 + c] =
                    full->pixels[((y0 + y) * full->width + x0 + x) * full->channels + c];
    cascade_image_free(full);
    cascade_cpu_options copt;
    cascade_cpu_options_init(&copt);
    assert_int_equal(cascade_backend_cpu_new(&copt, &f->be, &err), CASCADE_STATUS_OK);
    return true;
}

static void teardown_model(fixture *f) {
    cascade_backend_free(f->be);
    cascade_image_free(f->photo);
    cascade_upscaler_free(f->u);
}

/* Upscales img (channels 3 or 4) with options opt into a new buffer. */
static uint8_t *run(fixture *f, const uint8_t *px, int64_t w, int64_t h, int32_t ch,
                    const cascade_upscale_options *opt, cascade_status want) {
    const int64_t s = cascade_upscaler_scale(f->u);
    uint8_t      *out = calloc((size_t)(w * s * h * s * ch), 1);
    assert_non_null(out);
    cascade_error err;
    cascade_error_init(&err);
    cascade_status st = cascade_upscale_image(f->u, f->be, px, w, h, ch, (size_t)(w * ch), out,
                                              (size_t)(w * s * ch), opt, &err);
    if (st != want) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(st, want);
    return out;
}

typedef struct progress_log {
    int32_t         calls, last_done, total;
    int32_t         cancel_after; /* raise cancel once this many tiles are done (0: never) */
    cascade_cancel *cancel;
} progress_log;

static void on_progress(int32_t done, int32_t total, void *ud) {
    progress_log *l = ud;
    assert_int_equal(done, l->last_done + 1);
    assert_true(l->total == 0 || l->total == total);
    l->calls++, l->last_done = done, l->total = total;
    if (l->cancel_after && done == l->cancel_after) cascade_cancel_raise(l->cancel);
}

/* Tiled vs untiled on a photo crop: with context >= the receptive field the blended tiles
 * reproduce the untiled bytes up to float summation order (max |diff| <= 1, < 0.1 % differ),
 * reporting once per tile. */
static void tiled_vs_untiled(const char *id, int64_t w, int64_t h, int32_t tile, int max_abs,
                             double max_frac) {
    fixture f;
    assert_true(setup_model(&f, id, 150, 90, w, h));
    cascade_upscale_options opt;
    cascade_upscale_options_init(&opt);
    opt.tile = 4096;
    uint8_t     *whole = run(&f, f.photo->pixels, w, h, 3, &opt, CASCADE_STATUS_OK);
    progress_log log = {0};
    opt.tile = tile;
    opt.progress = on_progress;
    opt.user_data = &log;
    uint8_t *tiled = run(&f, f.photo->pixels, w, h, 3, &opt, CASCADE_STATUS_OK);
    assert_true(log.total > 1);
    assert_int_equal(log.calls, log.total);
    const int64_t s = cascade_upscaler_scale(f.u);
    const size_t  n = (size_t)(w * s * h * s * 3);
    size_t        n_diff = 0;
    int           max_d = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)tiled[i] - (int)whole[i]);
        n_diff += d != 0;
        max_d = d > max_d ? d : max_d;
    }
    fprintf(stderr,
            "# %s %lldx%lld, %d tiles of %d (context %d, rf %d): max |diff| %d, %zu of "
            "%zu values differ\n",
            id, (long long)w, (long long)h, log.total, tile,
            cascade_upscaler_receptive_field(f.u) < 32 ? cascade_upscaler_receptive_field(f.u) : 32,
            cascade_upscaler_receptive_field(f.u), max_d, n_diff, n);
    assert_true(max_d <= max_abs);
    assert_true((double)n_diff <= max_frac * (double)n);
    free(tiled);
    free(whole);
    teardown_model(&f);
}

/* esrgan-slim x4: 6 tiles reproduce the untiled output. */
static void test_upscaler_tiled_equals_untiled_slim(void **state) {
    (void)state;
    tiled_vs_untiled("esrgan-slim_x4", 90, 70, 32, 1, 0.001);
}

/* esrgan-medium x2 (10 dense blocks): the same. */
static void test_upscaler_tiled_equals_untiled_medium(void **state) {
    (void)state;
    tiled_vs_untiled("esrgan-medium_x2", 100, 76, 40, 1, 0.001);
}

/* esrgan-thick x2 (receptive field 154 px > the 32 px context cap): the ramps hide the seams;
 * slow: main() adds it with $CASCADE_SLOW_TESTS=1 only. */
static void test_upscaler_tiled_thick(void **state) {
    (void)state;
    tiled_vs_untiled("esrgan-thick_x2", 136, 112, 48, 2, 0.01);
}

/* Cancel raised after the 2nd tile stops before the 3rd: CANCELLED, 2 progress calls. */
static void test_upscaler_cancel_between_tiles(void **state) {
    (void)state;
    fixture f;
    assert_true(setup_model(&f, "esrgan-slim_x2", 0, 0, 96, 64));
    cascade_cancel cancel;
    cascade_cancel_init(&cancel);
    progress_log            log = {.cancel_after = 2, .cancel = &cancel};
    cascade_upscale_options opt;
    cascade_upscale_options_init(&opt);
    opt.tile = 32;
    opt.cancel = &cancel;
    opt.progress = on_progress;
    opt.user_data = &log;
    free(run(&f, f.photo->pixels, 96, 64, 3, &opt, CASCADE_STATUS_CANCELLED));
    assert_int_equal(log.calls, 2);
    assert_true(log.total > 2);
    teardown_model(&f);
}

/* RGBA: colour is what the RGB run gives; alpha is enlarged (bilinearly), not dropped. */
static void test_upscaler_alpha_enlarged(void **state) {
    (void)state;
    fixture       f;
    const int64_t w = 40, h = 24;
    assert_true(setup_model(&f, "esrgan-slim_x2", 200, 200, w, h));
    uint8_t *rgba = malloc((size_t)(w * h * 4));
    assert_non_null(rgba);
    for (int64_t i = 0; i < w * h; i++) {
        memcpy(rgba + i * 4, f.photo->pixels + i * 3, 3);
        rgba[i * 4 + 3] = (uint8_t)(i % w < w / 2 ? 0 : 200); /* left half transparent */
    }
    cascade_upscale_options opt;
    cascade_upscale_options_init(&opt);
    opt.tile = 16;
    uint8_t      *rgb = run(&f, f.photo->pixels, w, h, 3, &opt, CASCADE_STATUS_OK);
    uint8_t      *out = run(&f, rgba, w, h, 4, &opt, CASCADE_STATUS_OK);
    const int64_t W = w * 2, H = h * 2;
    for (int64_t Y = 0; Y < H; Y++)
        for (int64_t X = 0; X < W; X++) {
            for (int c = 0; c < 3; c++)
                assert_int_equal(out[(Y * W + X) * 4 + c], rgb[(Y * W + X) * 3 + c]);
            uint8_t a = out[(Y * W + X) * 4 + 3];
            if (X < W / 2 - 2)
                assert_int_equal(a, 0);
            else if (X >= W / 2 + 2)
                assert_int_equal(a, 200);
            else
                assert_true(a <= 200);
        }
    /* the two output columns at the step are interpolated between 0 and 200 */
    assert_int_equal(out[(W / 2 - 1) * 4 + 3], 50);
    assert_int_equal(out[(W / 2) * 4 + 3], 150);
    free(out);
    free(rgb);
    free(rgba);
    teardown_model(&f);
}

/* Streamed rows (issue 14 item 7): cascade_upscale_stream reads the input in order and writes
 * the output in order, holding only a band of rows: input rows are never read more than one
 * window plus a tile row's worth ahead of the output written, and the bytes equal the
 * whole-image run, for RGB and RGBA over several tile rows. */
typedef struct stream_log {
    const uint8_t *src;
    uint8_t       *dst;
    int64_t        w, s, read, written, max_ahead;
    int32_t        ch;
} stream_log;

static cascade_status log_read(void *io, uint8_t *rows, size_t stride, int64_t n,
                               cascade_error *err) {
    (void)err;
    stream_log *l = io;
    for (int64_t y = 0; y < n; y++)
        memcpy(rows + (size_t)y * stride, l->src + (size_t)((l->read + y) * l->w * l->ch),
               (size_t)(l->w * l->ch));
    l->read += n;
    int64_t ahead = l->read - l->written / l->s;
    if (ahead > l->max_ahead) l->max_ahead = ahead;
    return CASCADE_STATUS_OK;
}

static cascade_status log_write(void *io, const uint8_t *rows, size_t stride, int64_t n,
                                cascade_error *err) {
    (void)err;
    stream_log  *l = io;
    const size_t row = (size_t)(l->w * l->s * l->ch);
    for (int64_t y = 0; y < n; y++)
        memcpy(l->dst + (size_t)(l->written + y) * row, rows + (size_t)y * stride, row);
    l->written += n;
    return CASCADE_STATUS_OK;
}

static void test_upscaler_stream_rows(void **state) {
    (void)state;
    fixture       f;
    const int64_t w = 48, h = 120;
    assert_true(setup_model(&f, "esrgan-slim_x2", 120, 60, w, h));
    const int64_t s = cascade_upscaler_scale(f.u);
    for (int32_t ch = 3; ch <= 4; ch++) {
        uint8_t *src = malloc((size_t)(w * h * ch));
        assert_non_null(src);
        for (int64_t i = 0; i < w * h; i++) {
            memcpy(src + i * ch, f.photo->pixels + i * 3, 3);
            if (ch == 4) src[i * 4 + 3] = (uint8_t)((i / w) * 2); /* alpha ramps down the image */
        }
        cascade_upscale_options opt;
        cascade_upscale_options_init(&opt);
        opt.tile = 16;
        uint8_t   *whole = run(&f, src, w, h, ch, &opt, CASCADE_STATUS_OK);
        stream_log l = {.src = src, .w = w, .s = s, .ch = ch};
        l.dst = calloc((size_t)(w * s * h * s * ch), 1);
        assert_non_null(l.dst);
        cascade_error err;
        cascade_error_init(&err);
        cascade_status st = cascade_upscale_stream(f.u, f.be, w, h, ch, log_read, log_write, &l,
                                                   &opt, &err);
        if (st) fail_msg("%s", err.message);
        assert_int_equal(l.read, h);
        assert_int_equal(l.written, h * s);
        assert_memory_equal(l.dst, whole, (size_t)(w * s * h * s * ch));
        cascade_tiler_params tp;
        assert_int_equal(cascade_upscale_plan_tiles(f.u, f.be, w, h, &opt, &tp, NULL, &err),
                         CASCADE_STATUS_OK);
        /* a window (tile + context on both sides) and one tile row, never the image */
        const int64_t bound = tp.tile + 2 * tp.context + 2 * tp.tile + 4;
        fprintf(stderr, "# stream %d channels: %lld input rows ahead at most (bound %lld of %lld)\n",
                ch, (long long)l.max_ahead, (long long)bound, (long long)h);
        assert_true(l.max_ahead <= bound);
        assert_true(bound < h);
        free(l.dst);
        free(whole);
        free(src);
    }
    teardown_model(&f);
}

/* The plan for a 10000 x 10000 canvas at x4 under 256 MiB: several tiles, the peak (one
 * window's planned activations + the blended band of output rows) within the budget,
 * context = receptive field; 128 MiB gives smaller tiles, still within it. (The band is
 * width*scale wide: at x4 on a 10000-wide canvas the smallest, 32-px tile row needs 73 MiB.)
 * No network runs on the canvas. */
static void test_upscaler_plan_huge_canvas(void **state) {
    (void)state;
    fixture f;
    assert_true(setup_model(&f, "esrgan-slim_x4", 0, 0, 8, 8));
    cascade_upscale_options opt;
    cascade_upscale_options_init(&opt);
    opt.memory_budget = 256ull << 20;
    cascade_tiler_params tp, tp_small;
    uint64_t             peak = 0, peak_small = 0;
    cascade_error        err;
    cascade_error_init(&err);
    assert_int_equal(cascade_upscale_plan_tiles(f.u, f.be, 10000, 10000, &opt, &tp, &peak, &err),
                     CASCADE_STATUS_OK);
    fprintf(stderr, "# esrgan-slim_x4 10000x10000, 256 MiB: tile %d, context %d, peak %.1f MiB\n",
            tp.tile, tp.context, (double)peak / 1048576.0);
    assert_true(peak > 0 && peak <= opt.memory_budget);
    assert_true(tp.tile >= 32 && tp.tile < 10000);
    assert_int_equal(tp.context, cascade_upscaler_receptive_field(f.u));
    assert_int_equal(tp.scale, 4);
    opt.memory_budget = 128ull << 20;
    assert_int_equal(
        cascade_upscale_plan_tiles(f.u, f.be, 10000, 10000, &opt, &tp_small, &peak_small, &err),
        CASCADE_STATUS_OK);
    assert_true(tp_small.tile < tp.tile);
    assert_true(peak_small <= opt.memory_budget);
    teardown_model(&f);
}

/* A missing model directory is an IO error naming its path, *out stays NULL. */
static void test_upscaler_load_missing(void **state) {
    (void)state;
    cascade_error     err;
    cascade_upscaler *u = (cascade_upscaler *)&u;
    cascade_error_init(&err);
    assert_int_equal(cascade_upscaler_load("/nonexistent/sr-model", &u, &err), CASCADE_STATUS_IO);
    assert_null(u);
    assert_non_null(strstr(err.message, "/nonexistent/sr-model"));
}

/* A config.json nested 80,000 deep (issue 14) or with a duplicate key is a FORMAT error
 * naming the file, from the strict reader, not a stack overflow. */
static void test_upscaler_hostile_config(void **state) {
    (void)state;
    char *dir = test_make_tmpdir();
    char *cfg = g_build_filename(dir, "config.json", NULL);
    assert_true(test_write_nested_json(cfg, 80000));
    static const char *const dup = "{\"scale\": 2, \"scale\": 2}";
    for (int k = 0; k < 2; k++) {
        if (k == 1) assert_true(test_write_file(cfg, dup, strlen(dup)));
        cascade_error     err;
        cascade_upscaler *u = (cascade_upscaler *)&u;
        cascade_error_init(&err);
        assert_int_equal(cascade_upscaler_load(dir, &u, &err), CASCADE_STATUS_FORMAT);
        assert_null(u);
        assert_non_null(strstr(err.message, "config.json"));
        assert_non_null(strstr(err.message, k == 0 ? "nested too deeply" : "twice"));
    }
    remove(cfg);
    remove(dir);
    g_free(cfg);
    free(dir);
}

/* Bad channel counts, strides and sizes are INVALID_ARG. */
static void test_upscaler_bad_args(void **state) {
    (void)state;
    cascade_error err;
    fixture       f;
    assert_true(setup_model(&f, "esrgan-slim_x2", 0, 0, 8, 8));
    uint8_t px[8 * 8 * 4] = {0}, out[16 * 16 * 4];
    cascade_error_init(&err);
    assert_int_equal(cascade_upscale_image(f.u, f.be, px, 8, 8, 2, 16, out, 64, NULL, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "channels"));
    cascade_error_init(&err);
    assert_int_equal(cascade_upscale_image(f.u, f.be, px, 8, 8, 3, 8, out, 48, NULL, &err),
                     CASCADE_STATUS_INVALID_ARG);
    cascade_error_init(&err);
    assert_int_equal(cascade_upscale_image(f.u, f.be, px, 0, 8, 3, 24, out, 48, NULL, &err),
                     CASCADE_STATUS_INVALID_ARG);
    teardown_model(&f);
}

/* Runs `cascade ARGS...`; returns the exit status, stderr in *err (g_free). */
static int run_cli(const char *const *args, char **err) {
    const char *exe = getenv("CASCADE_CLI");
    GPtrArray  *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)(exe ? exe : "build/cli/cascade"));
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (gpointer)*a);
    g_ptr_array_add(argv, NULL);
    gint    wait = 0;
    GError *e = NULL;
    char   *out = NULL;
    if (!g_spawn_sync(NULL, (gchar **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, err,
                      &wait, &e))
        fail_msg("spawn: %s", e->message);
    g_free(out);
    g_ptr_array_free(argv, TRUE);
    return WIFEXITED(wait) ? WEXITSTATUS(wait) : 128;
}

/* `cascade upscale`: --help exits 0; a missing model, a bad option value and a missing
 * output each exit non-zero with a message naming them. */
static void test_upscaler_cli_errors(void **state) {
    (void)state;
    char *err = NULL;
    assert_int_equal(run_cli((const char *const[]){"upscale", "--help", NULL}, &err), 0);
    g_free(err);
    assert_int_equal(run_cli((const char *const[]){"upscale", "--model", "/nonexistent/m", "in.png",
                                                   "-o", "out.png", NULL},
                             &err),
                     1);
    assert_non_null(strstr(err, "/nonexistent/m"));
    g_free(err);
    assert_int_not_equal(run_cli((const char *const[]){"upscale", "--model", "m", "--tile", "zero",
                                                       "in.png", "-o", "o.png", NULL},
                                 &err),
                         0);
    assert_non_null(strstr(err, "--tile"));
    g_free(err);
    assert_int_not_equal(
        run_cli((const char *const[]){"upscale", "--model", "m", "in.png", NULL}, &err), 0);
    assert_non_null(strstr(err, "-o OUT.png"));
    g_free(err);
}

/* `cascade upscale` on an RGBA PNG writes an RGBA PNG scale times larger, tiled. */
static void test_upscaler_cli_rgba(void **state) {
    (void)state;
    fixture f;
    assert_true(setup_model(&f, "esrgan-slim_x2", 100, 100, 30, 20));
    char          *dir = test_make_tmpdir(), in[4096], out[4096];
    cascade_image *img = NULL, *back = NULL;
    cascade_error  e;
    cascade_error_init(&e);
    assert_int_equal(cascade_image_new(30, 20, 4, &img, &e), CASCADE_STATUS_OK);
    for (int64_t i = 0; i < 30 * 20; i++) {
        memcpy(img->pixels + i * 4, f.photo->pixels + i * 3, 3);
        img->pixels[i * 4 + 3] = 128;
    }
    snprintf(in, sizeof in, "%s/in.png", dir);
    snprintf(out, sizeof out, "%s/out.png", dir);
    assert_int_equal(cascade_image_write_png(in, img, &e), CASCADE_STATUS_OK);
    char *err = NULL;
    int   rc = run_cli((const char *const[]){"upscale", "--model", model_dir("esrgan-slim_x2"),
                                             "--scale", "2", "--tile", "16", in, "-o", out, NULL},
                       &err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(err, "tile 4/4"));
    g_free(err);
    assert_int_equal(cascade_image_read_png(out, &back, &e), CASCADE_STATUS_OK);
    assert_int_equal(back->width, 60);
    assert_int_equal(back->height, 40);
    assert_int_equal(back->channels, 4);
    for (int64_t i = 0; i < 60 * 40; i++)
        assert_int_equal(back->pixels[i * 4 + 3], 128);
    /* an output folder that does not exist is refused before any tile runs (issue 14) */
    char bad_out[4200];
    snprintf(bad_out, sizeof bad_out, "%s/no-such-folder/out.png", dir);
    assert_int_equal(run_cli((const char *const[]){"upscale", "--model", model_dir("esrgan-slim_x2"),
                                                   "--tile", "16", in, "-o", bad_out, NULL},
                             &err),
                     1);
    assert_non_null(strstr(err, "no-such-folder"));
    assert_null(strstr(err, "tile 1/"));
    g_free(err);
    /* the wrong --scale is refused */
    assert_int_equal(
        run_cli((const char *const[]){"upscale", "--model", model_dir("esrgan-slim_x2"), "--scale",
                                      "4", in, "-o", out, NULL},
                &err),
        1);
    assert_non_null(strstr(err, "x2"));
    g_free(err);
    remove(in), remove(out), remove(dir);
    free(dir);
    cascade_image_free(back);
    cascade_image_free(img);
    teardown_model(&f);
}

static bool have_models(const char *const *ids) {
    for (; *ids; ids++)
        if (!model_dir(*ids)) {
            fprintf(stderr, "# %s not fetched (tools/upscalers/fetch.sh): its tests are left out\n",
                    *ids);
            return false;
        }
    char img[4096];
    snprintf(img, sizeof img, "%s/../images/astronaut.png", test_golden_dir());
    FILE *f = fopen(img, "rb");
    if (f)
        fclose(f);
    else
        fprintf(stderr, "# %s missing: model tests left out\n", img);
    return f != NULL;
}

int main(void) {
    /* cmocka prints a skipped test as "not ok # SKIP", which meson counts as a failure, so
       tests whose models are not fetched are left out of the list instead */
    static const char *const fast[] = {"esrgan-slim_x2", "esrgan-slim_x4", "esrgan-medium_x2",
                                       NULL};
    static const char *const thick[] = {"esrgan-thick_x2", NULL};
    struct CMUnitTest        tests[16];
    size_t                   n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_upscaler_load_missing);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_upscaler_hostile_config);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_upscaler_cli_errors);
    if (have_models(fast)) {
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_upscaler_tiled_equals_untiled_slim);
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_upscaler_tiled_equals_untiled_medium);
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_upscaler_cancel_between_tiles);
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_upscaler_alpha_enlarged);
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_upscaler_stream_rows);
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_upscaler_plan_huge_canvas);
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_upscaler_bad_args);
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_upscaler_cli_rgba);
    }
    const char *slow = getenv("CASCADE_SLOW_TESTS");
    if (slow && !strcmp(slow, "1") && have_models(thick))
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_upscaler_tiled_thick);
    return _cmocka_run_group_tests("upscaler", tests, n, NULL, NULL);
}
