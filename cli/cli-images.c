/* What every image-making command shares: number parsing, the progress line, PNG results. */
#include <errno.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli-images.h"
#include "cascade/resample.h"

#include "cascade/inpaint-blend.h"

bool cli_parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0; /* strtol saturates out-of-range input at LONG_MAX: refused, not clamped */
    long  v = strtol(s, &end, 10);
    if (!*s || *end || errno == ERANGE || v < lo || v > hi) return false;
    *out = v;
    return true;
}

bool cli_parse_double(const char *s, double lo, double hi, double *out) {
    char  *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}

double cli_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_on_progress(void *ud, int stage, int step, int total, const float *x0,
                        const int64_t shape[4]) {
    (void)x0;
    cli_progress_state *ps = ud;
    if (ps->quiet) return;
    if (!ps->tty) {
        if (step == total || (total >= 4 && step % (total / 4) == 0))
            fprintf(stderr, "stage %d %lldpx: step %d/%d %.1fs\n", stage, (long long)shape[3],
                    step, total, cli_now_s() - ps->t0);
        return;
    }
    int width = 30, done = total > 0 ? step * width / total : width;
    fprintf(stderr, "\rstage %d %lldpx [", stage, (long long)shape[3]);
    for (int i = 0; i < width; i++) fputc(i < done ? '#' : '.', stderr);
    fprintf(stderr, "] %d/%d %.1fs", step, total, cli_now_s() - ps->t0);
    if (step == total) fputc('\n', stderr);
    fflush(stderr);
}

/* (B, 3, H, W) in [-1, 1] -> 8-bit RGB, image b; RGBA when alpha (H * W bytes) is given. */
static cascade_status to_image(const float *x, const int64_t shape[4], int64_t b,
                               const uint8_t *alpha, cascade_image **out, cascade_error *err) {
    int64_t H = shape[2], W = shape[3];
    int32_t C = alpha ? 4 : 3;
    CASCADE_TRY(cascade_image_new(W, H, C, out, err));
    const float *p = x + b * 3 * H * W;
    for (int64_t c = 0; c < 3; c++)
        for (int64_t i = 0; i < H * W; i++) {
            float v = (p[c * H * W + i] + 1.0f) * 127.5f;
            v = v < 0 ? 0 : (v > 255 ? 255 : v);
            (*out)->pixels[i * C + c] = (uint8_t)lrintf(v);
        }
    for (int64_t i = 0; alpha && i < H * W; i++) (*out)->pixels[i * 4 + 3] = alpha[i];
    return CASCADE_STATUS_OK;
}

static char *numbered(const char *path, long i, long n) {
    if (n == 1) return g_strdup(path);
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return g_strdup_printf("%s-%ld", path, i + 1);
    return g_strdup_printf("%.*s-%ld%s", (int)(dot - path), path, i + 1, dot);
}

cascade_status cli_check_outputs(const char *output, long batch, cascade_error *err) {
    for (long b = 0; b < batch; b++) {
        char          *path = numbered(output, b, batch);
        cascade_status st = cascade_image_check_output(path, err);
        g_free(path);
        if (st) return st;
    }
    return CASCADE_STATUS_OK;
}

cascade_status cli_blend_inpainted(const float *x, const float *mask, int64_t batch, int64_t h,
                                   int64_t w, long feather, bool colour_match, bool quiet,
                                   float *results, cascade_error *err) {
    size_t n = (size_t)(3 * h * w);
    float *one = malloc(n * sizeof *one);
    if (!one) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "out of memory");
    cascade_blend_options bo;
    cascade_blend_options_init(&bo);
    bo.feather = feather;
    bo.match_colour = colour_match;
    cascade_status st = CASCADE_STATUS_OK;
    for (int64_t b = 0; b < batch && !st; b++) {
        cascade_blend_report rep;
        float               *res = results + (size_t)b * n;
        st = cascade_inpaint_blend(x, res, mask, h, w, &bo, one, &rep, err);
        if (st) break;
        memcpy(res, one, n * sizeof *one);
        if (!quiet && isfinite(rep.edge_before))
            fprintf(stderr, "blended into the surroundings: colour step at the mask's edge %.1f "
                            "-> %.1f (RGB 0-255)\n",
                    rep.edge_before, rep.edge_after);
    }
    free(one);
    return st;
}

void cli_warn_prompt_cut(const char *cmd, int64_t n_tokens, int64_t max_tokens) {
    if (max_tokens > 0 && n_tokens > max_tokens)
        fprintf(stderr,
                "cascade %s: warning: the prompt is %lld tokens; the model reads the first %lld, "
                "the rest has no effect\n",
                cmd, (long long)n_tokens, (long long)max_tokens);
}

cascade_status cli_write_images(const char *output, long seed, const float *img,
                                const int64_t shape[4], const uint8_t *alpha,
                                const cascade_cancel *cancel, cascade_error *err) {
    for (int64_t b = 0; b < shape[0]; b++) {
        cascade_image *im = NULL;
        CASCADE_TRY(to_image(img, shape, b, alpha, &im, err));
        char          *path = numbered(output, (long)b, (long)shape[0]);
        /* whole or not at all, and Ctrl-C still cancels while it is written */
        cascade_status st = cascade_image_write_png_cancel(path, im, cancel, err);
        if (!st)
            fprintf(stderr, "wrote %s (%lldx%lld, seed %llu)\n", path, (long long)shape[3],
                    (long long)shape[2], (unsigned long long)seed + (unsigned long long)b);
        g_free(path);
        cascade_image_free(im);
        if (st) return st;
    }
    return CASCADE_STATUS_OK;
}

/* planes (n, h, w) -> (n, oh, ow) by core's one rule (cascade_resample_planes), malloc'd;
 * NULL when out of memory. */
float *cli_resize_planes(const float *x, int64_t n, int64_t h, int64_t w, int64_t oh,
                         int64_t ow) {
    float *y = malloc(sizeof *y * (size_t)(n * oh * ow));
    if (y && cascade_resample_planes(x, n, h, w, oh, ow, y, NULL)) {
        free(y);
        return NULL;
    }
    return y;
}

/* An 8-bit PNG as planar floats in [-1, 1]; its alpha (h * w bytes) into *alpha when it
 * has one, else NULL. */
cascade_status cli_read_rgb(const char *path, float **out, uint8_t **alpha, int64_t *h,
                            int64_t *w, cascade_error *err) {
    cascade_image *im = NULL;
    CASCADE_TRY(cascade_image_read_png(path, &im, err));
    int64_t  HW = im->width * im->height;
    float   *x = malloc(sizeof *x * (size_t)(3 * HW));
    uint8_t *a = im->channels == 4 ? malloc((size_t)HW) : NULL;
    if (!x || (im->channels == 4 && !a)) {
        free(x);
        cascade_image_free(im);
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    for (int64_t i = 0; i < HW; i++) {
        for (int c = 0; c < 3; c++)
            x[c * HW + i] = im->pixels[i * im->channels + c] / 127.5f - 1.0f;
        if (a) a[i] = im->pixels[i * 4 + 3];
    }
    *alpha = a;
    *h = im->height;
    *w = im->width;
    *out = x;
    cascade_image_free(im);
    return CASCADE_STATUS_OK;
}

cascade_status cli_read_mask(const char *path, int64_t h, int64_t w, float **out,
                             cascade_error *err) {
    cascade_image *mk = NULL;
    CASCADE_TRY(cascade_image_read_png(path, &mk, err));
    cascade_status st = CASCADE_STATUS_OK;
    float         *m = NULL;
    if (mk->width != w || mk->height != h) {
        st = cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                               "%s is %lldx%lld but the image is %lldx%lld: they must match", path,
                               (long long)mk->width, (long long)mk->height, (long long)w,
                               (long long)h);
    } else if (!(m = malloc(sizeof *m * (size_t)(h * w)))) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    } else {
        for (int64_t i = 0; i < h * w; i++) { /* luminance, times alpha when it has one */
            const uint8_t *q = mk->pixels + i * mk->channels;
            float          v = (0.299f * q[0] + 0.587f * q[1] + 0.114f * q[2]) / 255.0f;
            if (mk->channels == 4) v *= q[3] / 255.0f;
            m[i] = v;
        }
        *out = m;
    }
    cascade_image_free(mk);
    return st;
}
