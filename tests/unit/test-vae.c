/* AutoencoderKL (cascade_vae): config and weight errors name the field or tensor, shapes are
 * checked, the legacy attention names load, the pipelines' VAE folders load and decode as
 * diffusers did (their vae_decoded debug tensors), plans are reused, and the budget picks
 * tiles (blended as a convex combination of the tiles' own decodes) or refuses up front. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cascade/backend.h"
#include "cascade/safetensors.h"
#include "cascade/tiler.h"
#include "cascade/vae.h"
#include "test-common.h"

#define CASE "vae" /* config.json + weights.safetensors: widths [16, 32], f = 2 */

#define SKIP_WITHOUT(rel)                                                                          \
    do {                                                                                           \
        if (!test_golden_exists(rel)) {                                                            \
            skip();                                                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static cascade_backend *cpu(void) {
    cascade_backend    *be = NULL;
    cascade_cpu_options o;
    cascade_cpu_options_init(&o);
    assert_int_equal(cascade_backend_cpu_new(&o, &be, NULL), CASCADE_STATUS_OK);
    return be;
}

/* ---- fixtures: a VAE folder with an edited config or weights ---- */

typedef enum { EDIT_NONE, EDIT_DROP, EDIT_RESHAPE, EDIT_LEGACY } weight_edit;

typedef struct tmp_vae {
    char *dir, *cfg, *weights;
} tmp_vae;

static const char *legacy_name(const char *name, char *buf, size_t n) {
    static const char *const map[][2] = {{".to_q.", ".query."},
                                         {".to_k.", ".key."},
                                         {".to_v.", ".value."},
                                         {".to_out.0.", ".proj_attn."}};
    for (size_t i = 0; i < G_N_ELEMENTS(map); i++) {
        const char *p = strstr(name, map[i][0]);
        if (p) {
            snprintf(buf, n, "%.*s%s%s", (int)(p - name), name, map[i][1],
                     p + strlen(map[i][0]));
            return buf;
        }
    }
    return name;
}

/* The golden VAE with config.json's text replaced (NULL: as is) and the weights edited. */
static tmp_vae make_vae(const char *config_text, weight_edit edit, const char *name) {
    tmp_vae t = {0};
    t.dir = test_make_tmpdir();
    assert_non_null(t.dir);
    t.cfg = g_build_filename(t.dir, "config.json", NULL);
    t.weights = g_build_filename(t.dir, "weights.safetensors", NULL);
    gchar *text = NULL;
    gsize  len = 0;
    if (config_text) {
        text = g_strdup(config_text);
        len = strlen(text);
    } else {
        assert_true(g_file_get_contents(test_golden_path(CASE "/config.json"), &text, &len, NULL));
    }
    assert_true(test_write_file(t.cfg, text, len));
    g_free(text);
    test_weight_edit e = {.drop = edit == EDIT_DROP ? name : NULL,
                          .grow = edit == EDIT_RESHAPE ? name : NULL,
                          .rename = edit == EDIT_LEGACY ? legacy_name : NULL};
    assert_true(test_edit_weights(test_golden_path(CASE "/weights.safetensors"), t.weights, &e));
    return t;
}

static void free_vae(tmp_vae *t) {
    g_unlink(t->cfg);
    g_unlink(t->weights);
    g_rmdir(t->dir);
    g_free(t->cfg);
    g_free(t->weights);
    free(t->dir);
}

/* Loads a folder, expecting status want and a message holding needle (may be NULL). */
static void expect_load(const char *dir, cascade_status want, const char *needle) {
    cascade_backend *be = cpu();
    cascade_vae     *v = NULL;
    cascade_error    err;
    cascade_error_init(&err);
    cascade_status st = cascade_vae_load(dir, be, CASCADE_DTYPE_F32, &v, &err);
    if (st != want) fprintf(stderr, "# got %s: %s\n", cascade_status_name(st), err.message);
    assert_int_equal(st, want);
    if (want != CASCADE_STATUS_OK) assert_null(v);
    if (needle) assert_non_null(strstr(err.message, needle));
    cascade_vae_free(v);
    cascade_backend_free(be);
}

static const char *const base_config =
    "{\"_class_name\": \"AutoencoderKL\", \"act_fn\": \"silu\", \"block_out_channels\": [16, 32],"
    " \"down_block_types\": [\"DownEncoderBlock2D\", \"DownEncoderBlock2D\"], \"in_channels\": 3,"
    " \"latent_channels\": 4, \"layers_per_block\": 1, \"norm_num_groups\": 8, \"out_channels\": 3,"
    " \"sample_size\": 16, \"scaling_factor\": 0.18215, \"force_upcast\": true,"
    " \"up_block_types\": [\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]}";

/* base_config with the first `from` replaced by `to`, loaded with the golden weights. */
static void expect_config(const char *from, const char *to, cascade_status want,
                          const char *needle) {
    const char *p = strstr(base_config, from);
    assert_non_null(p);
    char text[1024];
    snprintf(text, sizeof text, "%.*s%s%s", (int)(p - base_config), base_config, to,
             p + strlen(from));
    tmp_vae t = make_vae(text, EDIT_NONE, NULL);
    expect_load(t.dir, want, needle);
    free_vae(&t);
}

/* ---- config and weights ---- */

/* An unknown config field is UNSUPPORTED naming it; the golden config itself loads. */
static void test_vae_config_unknown_field(void **state) {
    (void)state;
    SKIP_WITHOUT(CASE "/weights.safetensors");
    expect_config("{", "{", CASCADE_STATUS_OK, NULL);
    expect_config("{", "{\"tile_magic\": 3, ", CASCADE_STATUS_UNSUPPORTED, "tile_magic");
}

/* Unsupported block types and activations are UNSUPPORTED naming the value; inconsistent
 * sizes are FORMAT naming the field; later diffusers' switches are honoured. */
static void test_vae_config_unsupported_values(void **state) {
    (void)state;
    SKIP_WITHOUT(CASE "/weights.safetensors");
    expect_config("\"UpDecoderBlock2D\"]", "\"AttnUpDecoderBlock2D\"]",
                  CASCADE_STATUS_UNSUPPORTED, "AttnUpDecoderBlock2D");
    expect_config("\"silu\"", "\"mish\"", CASCADE_STATUS_UNSUPPORTED, "mish");
    expect_config("\"down_block_types\": [\"DownEncoderBlock2D\"", "\"down_block_types\": [null",
                  CASCADE_STATUS_UNSUPPORTED, "down_block_types");
    expect_config("\"_class_name\": \"AutoencoderKL\"", "\"_class_name\": \"AutoencoderTiny\"",
                  CASCADE_STATUS_UNSUPPORTED, "AutoencoderTiny");
    expect_config("\"norm_num_groups\": 8", "\"norm_num_groups\": 5", CASCADE_STATUS_FORMAT,
                  "norm_num_groups");
    expect_config("[16, 32]", "[16, 32, 32]", CASCADE_STATUS_FORMAT, "block_out_channels");
    expect_config("{", "{\"shift_factor\": 0.5, ", CASCADE_STATUS_UNSUPPORTED, "shift_factor");
    expect_config("{", "{\"shift_factor\": null, \"latents_mean\": null, ", CASCADE_STATUS_OK,
                  NULL);
    /* without the mid-block attention its tensors are left over */
    expect_config("{", "{\"mid_block_add_attention\": false, ", CASCADE_STATUS_FORMAT,
                  "attentions");
}

/* A missing or misshapen tensor is a FORMAT error naming it. */
static void test_vae_weights_missing_and_wrong_shape(void **state) {
    (void)state;
    SKIP_WITHOUT(CASE "/weights.safetensors");
    const char *gone = "decoder.mid_block.attentions.0.to_q.weight";
    tmp_vae     t = make_vae(NULL, EDIT_DROP, gone);
    expect_load(t.dir, CASCADE_STATUS_FORMAT, gone);
    free_vae(&t);
    const char *bad = "encoder.down_blocks.0.downsamplers.0.conv.weight";
    t = make_vae(NULL, EDIT_RESHAPE, bad);
    expect_load(t.dir, CASCADE_STATUS_FORMAT, bad);
    free_vae(&t);
}

/* ---- running ---- */

typedef struct fixture {
    cascade_backend *be;
    cascade_vae     *v;
} fixture;

static void open_vae(fixture *f, const char *dir) {
    f->be = cpu();
    cascade_error err;
    cascade_error_init(&err);
    cascade_status st = cascade_vae_load(dir, f->be, CASCADE_DTYPE_F32, &f->v, &err);
    if (st) fprintf(stderr, "# %s\n", err.message);
    assert_int_equal(st, CASCADE_STATUS_OK);
}

static void close_vae(fixture *f) {
    cascade_vae_free(f->v);
    cascade_backend_free(f->be);
}

/* Decodes (b, 4, h, w) latents into a new buffer, expecting status want. */
static float *decode(fixture *f, const float *lat, int64_t b, int64_t h, int64_t w,
                     cascade_status want, cascade_error *err) {
    int64_t s = cascade_vae_downscale(f->v), shape[4] = {b, 4, h, w};
    float  *img = calloc((size_t)(b * 3 * h * s * w * s), sizeof *img);
    cascade_error_init(err);
    cascade_status st = cascade_vae_decode(f->v, lat, shape, img, err);
    if (st != want) fprintf(stderr, "# got %s: %s\n", cascade_status_name(st), err->message);
    assert_int_equal(st, want);
    return img;
}

/* Old checkpoints' query/key/value/proj_attn load and decode exactly as to_q/.../to_out.0. */
static void test_vae_legacy_attention_names(void **state) {
    (void)state;
    SKIP_WITHOUT(CASE "/weights.safetensors");
    tmp_vae t = make_vae(NULL, EDIT_LEGACY, NULL);
    fixture a, b;
    open_vae(&a, test_golden_path(CASE));
    open_vae(&b, t.dir);
    float lat[2 * 4 * 8 * 8];
    test_fill_uniform(lat, G_N_ELEMENTS(lat), 7, -2.0f, 2.0f);
    cascade_error err;
    float        *x = decode(&a, lat, 2, 8, 8, CASCADE_STATUS_OK, &err);
    float        *y = decode(&b, lat, 2, 8, 8, CASCADE_STATUS_OK, &err);
    assert_memory_equal(x, y, sizeof *x * 2 * 3 * 16 * 16);
    free(x);
    free(y);
    close_vae(&a);
    close_vae(&b);
    free_vae(&t);
}

/* Sizes that are not multiples of f, wrong channel counts and empty shapes are INVALID_ARG. */
static void test_vae_bad_shapes(void **state) {
    (void)state;
    SKIP_WITHOUT(CASE "/weights.safetensors");
    fixture f;
    open_vae(&f, test_golden_path(CASE));
    float         buf[3 * 15 * 16] = {0}, out[4 * 8 * 8];
    cascade_error err;
    cascade_error_init(&err);
    assert_int_equal(cascade_vae_encode(f.v, buf, (int64_t[]){1, 3, 15, 16}, NULL, out, &err),
                     CASCADE_STATUS_INVALID_ARG);
    assert_non_null(strstr(err.message, "multiple"));
    cascade_error_init(&err);
    assert_int_equal(cascade_vae_encode(f.v, buf, (int64_t[]){1, 3, 16, 13}, NULL, out, &err),
                     CASCADE_STATUS_INVALID_ARG);
    cascade_error_init(&err);
    assert_int_equal(cascade_vae_decode(f.v, buf, (int64_t[]){1, 3, 8, 8}, out, &err),
                     CASCADE_STATUS_INVALID_ARG);
    cascade_error_init(&err);
    assert_int_equal(cascade_vae_decode(f.v, buf, (int64_t[]){0, 4, 8, 8}, out, &err),
                     CASCADE_STATUS_INVALID_ARG);
    close_vae(&f);
}

/* The pipelines' VAE folders load with their own sizes and decode what diffusers decoded
 * (debug tensors vae_decode_input -> vae_decoded, the vae case's tolerance). */
static void test_vae_pipeline_folders(void **state) {
    (void)state;
    static const struct {
        const char *dir;
        int64_t     f;
        double      scale;
    } cases[] = {{"pipeline_sd_x4_upscaler", 4, 0.08333}, {"pipeline_sd", 2, 0.18215}};
    int ran = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "%s/vae/config.json", cases[i].dir);
        if (!test_golden_exists(rel)) continue;
        ran++;
        fixture f;
        snprintf(rel, sizeof rel, "%s/vae", cases[i].dir);
        open_vae(&f, test_golden_path(rel));
        assert_int_equal(cascade_vae_downscale(f.v), cases[i].f);
        assert_int_equal(cascade_vae_latent_channels(f.v), 4);
        assert_true(fabs(cascade_vae_scaling_factor(f.v) - cases[i].scale) < 1e-12);
        snprintf(rel, sizeof rel, "%s/io.safetensors", cases[i].dir);
        cascade_safetensors *io = NULL;
        cascade_tensor      *in = NULL, *want = NULL;
        assert_int_equal(cascade_safetensors_open(test_golden_path(rel), &io, NULL), 0);
        assert_int_equal(
            cascade_safetensors_load(io, "vae_decode_input", CASCADE_DTYPE_F32, &in, NULL), 0);
        assert_int_equal(
            cascade_safetensors_load(io, "vae_decoded", CASCADE_DTYPE_F32, &want, NULL), 0);
        cascade_error err;
        float *got = decode(&f, in->data, in->shape[0], in->shape[2], in->shape[3],
                            CASCADE_STATUS_OK, &err);
        size_t    n = (size_t)cascade_tensor_numel(want);
        test_diff d;
        bool      ok = test_compare(got, want->data, n, 2e-5, 1e-4, &d);
        if (!ok) test_diff_print(cases[i].dir, got, want->data, n, &d);
        assert_true(ok);
        free(got);
        cascade_tensor_free(in);
        cascade_tensor_free(want);
        cascade_safetensors_close(io);
        close_vae(&f);
    }
    if (!ran) skip();
}

/* A second call of the same shape reuses the plan (no new weights converted or uploaded). */
static void test_vae_plan_reuse(void **state) {
    (void)state;
    SKIP_WITHOUT(CASE "/weights.safetensors");
    fixture f;
    open_vae(&f, test_golden_path(CASE));
    float lat[1 * 4 * 8 * 8];
    test_fill_uniform(lat, G_N_ELEMENTS(lat), 3, -1.0f, 1.0f);
    cascade_error        err;
    cascade_memory_stats a, b;
    free(decode(&f, lat, 1, 8, 8, CASCADE_STATUS_OK, &err));
    cascade_backend_memory_stats(f.be, &a);
    free(decode(&f, lat, 1, 8, 8, CASCADE_STATUS_OK, &err));
    cascade_backend_memory_stats(f.be, &b);
    assert_int_equal(a.weights_bytes, b.weights_bytes);
    free(decode(&f, lat, 1, 4, 16, CASCADE_STATUS_OK, &err)); /* new shape: a new plan */
    cascade_backend_memory_stats(f.be, &b);
    assert_true(b.weights_bytes > a.weights_bytes);
    close_vae(&f);
}

/* ---- tiles and the budget ---- */

/* Tiled decode of 2x4x64x64 latents against the untiled decode and against each tile
 * decoded on its own. The blend is a convex combination (weights >= 0 summing to 1), so every
 * tiled pixel lies within the range of the tiles that cover it and equals the one tile whose
 * core holds it (both checked to 1e-5 with tiles of 16, overlap 4: 6x6 windows of 15): the
 * blending adds no seam of its own, and |tiled - untiled| <= max over the covering tiles of
 * |tile - untiled|. That is the cost of tiling itself: each window has its own GroupNorm
 * statistics and mid-block attention, and zero padding at its border reaches the decoder's
 * receptive field (about 10 latent px here) into it, so the error is a border fraction that
 * falls as 1/window: checked to shrink from tiles of 16 to tiles of 32 and to stay under
 * 10 % of the output's rms with windows of 30 latent px (measured 22 % and 7 %). */
static void test_vae_tiled_vs_untiled(void **state) {
    (void)state;
    SKIP_WITHOUT(CASE "/weights.safetensors");
    fixture f;
    open_vae(&f, test_golden_path(CASE));
    const int64_t B = 2, h = 64, w = 64, S = 2, H = h * S, W = w * S;
    float        *lat = malloc(sizeof *lat * (size_t)(B * 4 * h * w));
    test_fill_uniform(lat, (size_t)(B * 4 * h * w), 11, -2.0f, 2.0f);
    cascade_error err;
    float        *ref = decode(&f, lat, B, h, w, CASCADE_STATUS_OK, &err);
    cascade_vae_run_info info;
    cascade_vae_last_run(f.v, &info);
    assert_int_equal(info.tiled, 0);
    cascade_vae_options o;
    cascade_vae_options_init(&o);
    o.tile_latent = 16;
    o.overlap_latent = 4;
    cascade_vae_set_options(f.v, &o);
    float *tiled = decode(&f, lat, B, h, w, CASCADE_STATUS_OK, &err);
    cascade_vae_last_run(f.v, &info);
    assert_int_equal(info.tiled, 1);
    assert_int_equal(info.n_tiles, 36);
    assert_int_equal(info.overlap, 4);

    /* the same geometry from the tiler; each window decoded on its own (untiled: fits) */
    cascade_tiler_params tp = {.width = w, .height = h, .scale = (int32_t)S, .tile = 12,
                               .context = 0, .feather = 4};
    cascade_tiler *t = NULL;
    assert_int_equal(cascade_tiler_new(&tp, &t, NULL), 0);
    const int64_t wh = cascade_tiler_window_height(t), ww = cascade_tiler_window_width(t);
    assert_int_equal(wh, info.window_h);
    size_t npx = (size_t)(B * 3 * H * W);
    float *lo = malloc(sizeof *lo * npx), *hi = malloc(sizeof *hi * npx);
    for (size_t k = 0; k < npx; k++)
        lo[k] = INFINITY, hi[k] = -INFINITY;
    float *win = malloc(sizeof *win * (size_t)(B * 4 * wh * ww));
    double core_err = 0;
    for (int32_t i = 0; i < cascade_tiler_count(t); i++) {
        cascade_tile tl;
        cascade_tiler_get(t, i, &tl);
        for (int64_t b = 0; b < B; b++)
            for (int64_t c = 0; c < 4; c++)
                for (int64_t y = 0; y < wh; y++)
                    memcpy(win + ((b * 4 + c) * wh + y) * ww,
                           lat + ((b * 4 + c) * h + tl.y.in0 + y) * w + tl.x.in0,
                           sizeof *win * (size_t)ww);
        float *dec = decode(&f, win, B, wh, ww, CASCADE_STATUS_OK, &err);
        for (int64_t b = 0; b < B; b++)
            for (int64_t c = 0; c < 3; c++)
                for (int64_t Y = tl.y.out0; Y < tl.y.out1; Y++)
                    for (int64_t X = tl.x.out0; X < tl.x.out1; X++) {
                        float  v = dec[((b * 3 + c) * wh * S + Y - tl.y.in0 * S) * ww * S + X -
                                      tl.x.in0 * S];
                        size_t k = (size_t)(((b * 3 + c) * H + Y) * W + X);
                        lo[k] = fminf(lo[k], v);
                        hi[k] = fmaxf(hi[k], v);
                        float wgt = cascade_tiler_weight(t, &tl.y, Y, h) *
                                    cascade_tiler_weight(t, &tl.x, X, w);
                        if (wgt == 1.0f) core_err = fmax(core_err, fabs(tiled[k] - v));
                    }
        free(dec);
    }
    double out_of_range = 0, err16 = 0, err32 = 0, rms = 0;
    for (size_t k = 0; k < npx; k++) {
        out_of_range = fmax(out_of_range, fmax(lo[k] - tiled[k], tiled[k] - hi[k]));
        err16 += fabs(tiled[k] - ref[k]);
        rms += (double)ref[k] * ref[k];
    }
    rms = sqrt(rms / (double)npx);
    o.tile_latent = 32;
    o.overlap_latent = 0; /* a quarter: 8 */
    cascade_vae_set_options(f.v, &o);
    float *tiled32 = decode(&f, lat, B, h, w, CASCADE_STATUS_OK, &err);
    cascade_vae_last_run(f.v, &info);
    assert_int_equal(info.window_h, 30);
    for (size_t k = 0; k < npx; k++)
        err32 += fabs(tiled32[k] - ref[k]);
    free(tiled32);
    err16 /= (double)npx;
    err32 /= (double)npx;
    fprintf(stderr,
            "# core |diff| %.3g, out of range %.3g; mean |tiled - untiled| %.3g (tiles of 16), "
            "%.3g (tiles of 32), output rms %.3g\n",
            core_err, out_of_range, err16, err32, rms);
    assert_true(core_err <= 1e-5);
    assert_true(out_of_range <= 1e-5);
    assert_true(err32 < err16);
    assert_true(err32 < 0.1 * rms);

    /* encode: tiles of 32 latent px (64 image px), blended the same way, same bound */
    cascade_vae_options_init(&o);
    cascade_vae_set_options(f.v, &o);
    size_t nl = (size_t)(B * 4 * (H / S) * (W / S));
    float *mu0 = malloc(sizeof *mu0 * nl), *mu1 = malloc(sizeof *mu1 * nl);
    float *img = malloc(sizeof *img * npx);
    for (size_t k = 0; k < npx; k++)
        img[k] = fminf(fmaxf(ref[k], -1.0f), 1.0f);
    const int64_t ishape[4] = {B, 3, H, W};
    assert_int_equal(cascade_vae_encode(f.v, img, ishape, NULL, mu0, &err), 0);
    o.tile_latent = 32;
    cascade_vae_set_options(f.v, &o);
    assert_int_equal(cascade_vae_encode(f.v, img, ishape, NULL, mu1, &err), 0);
    cascade_vae_last_run(f.v, &info);
    assert_int_equal(info.tiled, 1);
    double e_abs = 0, e_sd = 0;
    for (size_t k = 0; k < nl; k++) {
        e_abs += fabs(mu1[k] - mu0[k]);
        e_sd += (double)mu0[k] * mu0[k];
    }
    fprintf(stderr, "# encode: mean |tiled - untiled| %.3g (rms %.3g)\n", e_abs / (double)nl,
            sqrt(e_sd / (double)nl));
    assert_true(e_abs / (double)nl < 0.1 * sqrt(e_sd / (double)nl));
    free(img);
    free(mu0);
    free(mu1);
    free(win);
    free(lo);
    free(hi);
    cascade_tiler_free(t);
    free(tiled);
    free(ref);
    free(lat);
    close_vae(&f);
}

/* A budget below the untiled plan makes the decode tile itself within it; a budget below
 * the smallest tile is OUT_OF_MEMORY before anything runs, naming the sizes; cancel stops. */
static void test_vae_budget(void **state) {
    (void)state;
    SKIP_WITHOUT(CASE "/weights.safetensors");
    fixture f;
    open_vae(&f, test_golden_path(CASE));
    const int64_t h = 48, w = 40;
    float        *lat = malloc(sizeof *lat * (size_t)(4 * h * w));
    test_fill_uniform(lat, (size_t)(4 * h * w), 5, -2.0f, 2.0f);
    cascade_error        err;
    cascade_vae_run_info info;
    free(decode(&f, lat, 1, h, w, CASCADE_STATUS_OK, &err));
    cascade_vae_last_run(f.v, &info);
    assert_int_equal(info.tiled, 0);
    uint64_t untiled = info.planned_bytes;
    assert_true(untiled > 0);

    cascade_vae_options o;
    cascade_vae_options_init(&o);
    o.max_bytes = (size_t)(untiled / 3);
    cascade_vae_set_options(f.v, &o);
    free(decode(&f, lat, 1, h, w, CASCADE_STATUS_OK, &err));
    cascade_vae_last_run(f.v, &info);
    assert_int_equal(info.tiled, 1);
    assert_true(info.planned_bytes <= o.max_bytes);
    assert_true(info.n_tiles > 1);

    o.max_bytes = 4096;
    cascade_vae_set_options(f.v, &o);
    float *img = decode(&f, lat, 1, h, w, CASCADE_STATUS_OUT_OF_MEMORY, &err);
    assert_non_null(strstr(err.message, "MiB"));
    assert_non_null(strstr(err.message, "[1, 4, 48, 40]"));
    free(img);

    cascade_cancel cancel;
    cascade_cancel_init(&cancel);
    cascade_cancel_raise(&cancel);
    cascade_vae_options_init(&o);
    o.cancel = &cancel;
    cascade_vae_set_options(f.v, &o);
    free(decode(&f, lat, 1, h, w, CASCADE_STATUS_CANCELLED, &err));
    free(lat);
    close_vae(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vae_config_unknown_field),
        cmocka_unit_test(test_vae_config_unsupported_values),
        cmocka_unit_test(test_vae_weights_missing_and_wrong_shape),
        cmocka_unit_test(test_vae_legacy_attention_names),
        cmocka_unit_test(test_vae_bad_shapes),
        cmocka_unit_test(test_vae_pipeline_folders),
        cmocka_unit_test(test_vae_plan_reuse),
        cmocka_unit_test(test_vae_tiled_vs_untiled),
        cmocka_unit_test(test_vae_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
