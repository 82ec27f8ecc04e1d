/* Family: UpscalerJS super-resolution models under TensorFlow.js (../shared/golden/sr_<model>_x<s>,
 * README_sr.md). These cases have no produced_by.class: a case is ours when its folder holds
 * input.safetensors and output.safetensors and case.json names an "architecture".
 *
 * The models are not in the repository: tools/upscalers/fetch.sh fetches the npm packages and
 * converts them into $CASCADE_SR_MODELS (default: <source root>/models/upscalers), one folder
 * per case id (esrgan-slim_x2, ...). A case whose model is missing is SKIPPED with a note.
 *
 * Checks, per input tensor (random16, photo48), on the raw network output (NHWC, before
 * clipping): fp32 |got - want| <= atol + rtol |want| (tolerance.f32); and after UpscalerJS'
 * postprocessing rounded to uint8: max |diff| <= tolerance.u8.max_abs with at most
 * max_fraction_differing of the values differing. With --precision fp16 the u8 image must
 * reach tolerance.f16.min_psnr_db instead of the fp32 bound.
 *
 * $CASCADE_SR_MAX_PIXELS (h*w of an input) leaves out the larger inputs of a case (the
 * smallest one always runs): the Vulkan tests set it, since lavapipe runs these convolutions
 * ~50x slower than the CPU backend; the 'slow' suite runs every input on Vulkan. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade/upscaler.h"
#include "golden.h"

static bool sr_matches(const golden_case *c) {
    if (c->class_name || !json_object_has_member(c->json, "architecture")) return false;
    char *in = golden_path(c, "input.safetensors"), *out = golden_path(c, "output.safetensors");
    bool  ok = g_file_test(in, G_FILE_TEST_IS_REGULAR) && g_file_test(out, G_FILE_TEST_IS_REGULAR);
    g_free(in), g_free(out);
    return ok;
}

/* $CASCADE_SR_MODELS, else $CASCADE_SOURCE_DIR/models/upscalers, else models/upscalers. */
static char *models_dir(void) {
    const char *e = getenv("CASCADE_SR_MODELS");
    if (e && *e) return g_strdup(e);
    const char *src = getenv("CASCADE_SOURCE_DIR");
    return g_build_filename(src && *src ? src : ".", "models", "upscalers", NULL);
}

/* case.json tolerance.<kind>.<key>, or def. */
static double member_double(JsonObject *root, const char *kind, const char *key, double def) {
    JsonNode *t = json_object_has_member(root, "tolerance")
                      ? json_object_get_member(root, "tolerance")
                      : NULL;
    if (!t || !JSON_NODE_HOLDS_OBJECT(t)) return def;
    JsonObject *to = json_node_get_object(t);
    JsonNode   *k = json_object_has_member(to, kind) ? json_object_get_member(to, kind) : NULL;
    if (!k || !JSON_NODE_HOLDS_OBJECT(k)) return def;
    JsonObject *ko = json_node_get_object(k);
    JsonNode   *v = json_object_has_member(ko, key) ? json_object_get_member(ko, key) : NULL;
    return v && JSON_NODE_HOLDS_VALUE(v) ? json_node_get_double(v) : def;
}

/* UpscalerJS postprocessing, then rounding to the nearest byte. */
static uint8_t to_u8(float y, float range) {
    float v = fminf(fmaxf(y, 0.0f), range) * (255.0f / range);
    return (uint8_t)fminf(floorf(v + 0.5f), 255.0f);
}

/* Runs the untiled network on x (NHWC, (1, h, w, 3)) and returns its raw output (NHWC). */
static cascade_status run_net(const golden_case *c, const cascade_upscaler *u, const float *x,
                              int64_t h, int64_t w, float *y, cascade_error *err) {
    const int64_t  s = cascade_upscaler_scale(u), C = 3, H = h * s, W = w * s;
    cascade_graph *g = NULL;
    cascade_plan  *p = NULL;
    float         *nchw = malloc(sizeof(float) * (size_t)(C * H * W));
    cascade_status st = nchw
                            ? CASCADE_STATUS_OK
                            : cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
    if (st == CASCADE_STATUS_OK) {
        /* NHWC -> NCHW at the boundary */
        for (int64_t ch = 0; ch < C; ch++)
            for (int64_t i = 0; i < h * w; i++)
                nchw[ch * h * w + i] = x[i * C + ch];
        st = cascade_upscaler_build_graph(u, h, w, &g, err);
    }
    if (st == CASCADE_STATUS_OK) st = cascade_plan_new(c->be, g, &p, err);
    if (st == CASCADE_STATUS_OK)
        st = cascade_plan_write_named(p, "input", nchw, sizeof(float) * (size_t)(C * h * w), err);
    if (st == CASCADE_STATUS_OK) st = cascade_plan_run(p, NULL, err);
    if (st == CASCADE_STATUS_OK)
        st = cascade_plan_read_named(p, "output", nchw, sizeof(float) * (size_t)(C * H * W), err);
    if (st == CASCADE_STATUS_OK)
        for (int64_t ch = 0; ch < C; ch++)
            for (int64_t i = 0; i < H * W; i++)
                y[i * C + ch] = nchw[ch * H * W + i];
    cascade_plan_free(p);
    cascade_graph_free(g);
    free(nchw);
    return st;
}

/* The largest h*w an input may have ($CASCADE_SR_MAX_PIXELS; 0: no limit). */
static int64_t max_pixels(void) {
    const char *e = getenv("CASCADE_SR_MAX_PIXELS");
    return e && *e ? g_ascii_strtoll(e, NULL, 10) : 0;
}

static cascade_status sr_run(const golden_case *c, golden_result *r, cascade_error *err) {
    const char *id =
        json_object_has_member(c->json, "id") ? json_object_get_string_member(c->json, "id") : NULL;
    if (!id)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: case.json has no id", c->name);
    char *mdir = models_dir();
    char *dir = g_build_filename(mdir, id, NULL);
    char *cfg = g_build_filename(dir, "config.json", NULL);
    bool  have = g_file_test(cfg, G_FILE_TEST_IS_REGULAR);
    g_free(cfg), g_free(mdir);
    if (!have) {
        golden_skip(r,
                    "model %s not fetched: run tools/upscalers/fetch.sh (or set CASCADE_SR_MODELS)",
                    dir);
        g_free(dir);
        return CASCADE_STATUS_OK;
    }
    const bool   fp16 = !strcmp(c->precision, "fp16");
    const double atol32 = member_double(c->json, "f32", "atol", NAN);
    const double rtol = member_double(c->json, "f32", "rtol", 0);
    const double u8_abs = member_double(c->json, "u8", "max_abs", 1);
    const double u8_frac = member_double(c->json, "u8", "max_fraction_differing", 0.001);
    const double min_psnr = member_double(c->json, "f16", "min_psnr_db", 50);
    if (isnan(atol32)) {
        g_free(dir);
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: no tolerance.f32.atol", c->name);
    }

    cascade_upscaler    *u = NULL;
    cascade_safetensors *in = NULL, *out = NULL;
    cascade_status       st = cascade_upscaler_load(dir, &u, err);
    g_free(dir);
    if (st == CASCADE_STATUS_OK) st = golden_open_io(c, "input.safetensors", &in, err);
    if (st == CASCADE_STATUS_OK) st = golden_open_io(c, "output.safetensors", &out, err);
    const int64_t scale =
        json_object_has_member(c->json, "scale") ? json_object_get_int_member(c->json, "scale") : 0;
    if (st == CASCADE_STATUS_OK && cascade_upscaler_scale(u) != scale)
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: converted model is x%d, case x%lld",
                               c->name, cascade_upscaler_scale(u), (long long)scale);
    const float range = u ? (float)cascade_upscaler_value_range(u) : 1.0f;
    int64_t     limit = max_pixels(), smallest = INT64_MAX, n_left_out = 0;
    double      worst_psnr = INFINITY;
    for (size_t i = 0; st == CASCADE_STATUS_OK && i < cascade_safetensors_count(in); i++) {
        const cascade_st_entry *e = cascade_safetensors_entry(in, i);
        if (e->ndim == 4 && e->shape[1] * e->shape[2] < smallest)
            smallest = e->shape[1] * e->shape[2];
    }
    if (limit > 0 && limit < smallest) limit = smallest;
    for (size_t i = 0; st == CASCADE_STATUS_OK && i < cascade_safetensors_count(in); i++) {
        const cascade_st_entry *e = cascade_safetensors_entry(in, i);
        cascade_tensor         *x = NULL, *want = NULL;
        if (e->ndim != 4 || e->shape[0] != 1 || e->shape[3] != 3) {
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: input '%s' is not (1, H, W, 3)",
                                   c->name, e->name);
            break;
        }
        if (limit > 0 && e->shape[1] * e->shape[2] > limit) {
            if (c->verbose)
                printf("  %s/%s: left out (%lldx%lld > CASCADE_SR_MAX_PIXELS)\n", c->name, e->name,
                       (long long)e->shape[1], (long long)e->shape[2]);
            n_left_out++;
            continue;
        }
        st = golden_load(in, e->name, CASCADE_DTYPE_F32, &x, err);
        if (st == CASCADE_STATUS_OK) st = golden_load(out, e->name, CASCADE_DTYPE_F32, &want, err);
        const int64_t h = e->shape[1], w = e->shape[2];
        const size_t  n = (size_t)(h * scale * w * scale * 3);
        if (st == CASCADE_STATUS_OK && (size_t)cascade_tensor_numel(want) != n)
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: output '%s' has %lld values, "
                                   "expected %zu",
                                   c->name, e->name, (long long)cascade_tensor_numel(want), n);
        float *got = st == CASCADE_STATUS_OK ? malloc(sizeof(float) * n) : NULL;
        if (st == CASCADE_STATUS_OK && !got)
            st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
        if (st == CASCADE_STATUS_OK) st = run_net(c, u, x->data, h, w, got, err);
        if (st == CASCADE_STATUS_OK) {
            const float *wv = want->data;
            if (!fp16)
                golden_check_values(c, e->name, got, wv, n, atol32, rtol, r);
            else
                r->n_checked++;
            size_t n_diff = 0;
            int    max_d = 0;
            double se = 0;
            for (size_t k = 0; k < n; k++) {
                int d = abs((int)to_u8(got[k], range) - (int)to_u8(wv[k], range));
                n_diff += d != 0;
                max_d = d > max_d ? d : max_d;
                se += (double)d * d;
            }
            double psnr = se > 0 ? 10 * log10(255.0 * 255.0 / (se / (double)n)) : INFINITY;
            if (c->verbose)
                printf("  %s/%s: u8 max |diff| %d, %zu of %zu differ, PSNR %.2f dB\n", c->name,
                       e->name, max_d, n_diff, n, psnr);
            if (psnr < worst_psnr) worst_psnr = psnr;
            if (fp16 && psnr < min_psnr)
                golden_fail(r, "%s: fp16 PSNR %.2f dB < %.1f", e->name, psnr, min_psnr);
            if (!fp16 && (max_d > u8_abs || (double)n_diff > u8_frac * (double)n))
                golden_fail(r, "%s: u8 max |diff| %d (<= %g), %zu of %zu differ (<= %g%%)", e->name,
                            max_d, u8_abs, n_diff, n, 100 * u8_frac);
        }
        free(got);
        cascade_tensor_free(x);
        cascade_tensor_free(want);
    }
    if (st == CASCADE_STATUS_OK && r->verdict == GOLDEN_PASS)
        snprintf(r->note, sizeof r->note, "u8 PSNR >= %.2f dB%s", worst_psnr,
                 n_left_out ? " (larger inputs left out: CASCADE_SR_MAX_PIXELS)" : "");
    cascade_safetensors_close(out);
    cascade_safetensors_close(in);
    cascade_upscaler_free(u);
    return st;
}

const golden_family golden_family_sr = {"sr", sr_matches, sr_run};
