/* See cascade/inpaint-blend.h. */
#include "cascade/inpaint-blend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cascade_blend_options_init(cascade_blend_options *o) {
    o->feather = -1;
    o->match_colour = true;
    o->ring = -1;
}

static double to_linear(double v) { /* [-1, 1] sRGB -> [0, 1] linear */
    double s = fmin(fmax((v + 1.0) * 0.5, 0.0), 1.0);
    return s <= 0.04045 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4);
}

static double from_linear(double l) { /* [0, 1] linear -> [-1, 1] sRGB */
    l = fmin(fmax(l, 0.0), 1.0);
    double s = l <= 0.0031308 ? l * 12.92 : 1.055 * pow(l, 1.0 / 2.4) - 0.055;
    return s * 2.0 - 1.0;
}

/* Box blur of radius r along one axis (clamped at the borders), src -> dst. */
static void box_pass(const float *src, float *dst, int64_t h, int64_t w, int64_t r, bool rows) {
    int64_t n = rows ? w : h, lines = rows ? h : w;
    for (int64_t l = 0; l < lines; l++) {
        double acc = 0;
        int64_t stride = rows ? 1 : w;
        const float *s = src + (rows ? l * w : l);
        float       *d = dst + (rows ? l * w : l);
        for (int64_t k = -r; k <= r; k++)
            acc += s[(k < 0 ? 0 : k >= n ? n - 1 : k) * stride];
        for (int64_t i = 0; i < n; i++) {
            d[i * stride] = (float)(acc / (double)(2 * r + 1));
            int64_t out = i - r, in = i + r + 1;
            acc += s[(in >= n ? n - 1 : in) * stride] - s[(out < 0 ? 0 : out) * stride];
        }
    }
}

/* Two box passes per axis: close to a Gaussian of radius r. */
static void blur(const float *src, float *dst, float *tmp, int64_t h, int64_t w, int64_t r) {
    box_pass(src, tmp, h, w, r, true);
    box_pass(tmp, dst, h, w, r, false);
    box_pass(dst, tmp, h, w, r, true);
    box_pass(tmp, dst, h, w, r, false);
}

/* Mean colour (sRGB 0..255) of img over the pixels where sel is set; false when none. */
static bool mean_rgb(const float *img, const unsigned char *sel, size_t hw, double rgb[3]) {
    double  acc[3] = {0, 0, 0};
    size_t  n = 0;
    for (size_t i = 0; i < hw; i++)
        if (sel[i]) {
            for (int c = 0; c < 3; c++)
                acc[c] += fmin(fmax((img[c * hw + i] + 1.0) * 127.5, 0.0), 255.0);
            n++;
        }
    for (int c = 0; c < 3; c++)
        rgb[c] = n ? acc[c] / (double)n : 0.0;
    return n > 0;
}

static double dist3(const double a[3], const double b[3]) {
    return sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                (a[2] - b[2]) * (a[2] - b[2]));
}

cascade_status cascade_inpaint_blend(const float *orig, const float *gen, const float *mask,
                                     int64_t h, int64_t w, const cascade_blend_options *o,
                                     float *out, cascade_blend_report *report,
                                     cascade_error *err) {
    if (h < 1 || w < 1 || h > 65536 || w > 65536)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "inpaint blend: bad size");
    cascade_blend_options def;
    cascade_blend_options_init(&def);
    if (!o) o = &def;
    size_t  hw = (size_t)h * (size_t)w;
    int64_t autor = (int64_t)llround(0.02 * (double)(h < w ? h : w));
    int64_t feather = o->feather < 0 ? (autor < 1 ? 1 : autor) : o->feather;
    int64_t ring = o->ring > 0 ? o->ring : (autor < 2 ? 2 : autor);
    float  *soft = malloc(hw * sizeof *soft), *tmp = malloc(hw * sizeof *tmp);
    float  *near = malloc(hw * sizeof *near);
    unsigned char *outer = malloc(hw), *inner = malloc(hw);
    if (!soft || !tmp || !near || !outer || !inner) {
        free(soft), free(tmp), free(near), free(outer), free(inner);
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "inpaint blend");
    }
    /* the rings: within `ring` pixels of the edge, outside (mask 0) and inside (mask >= .5) */
    blur(mask, near, tmp, h, w, ring);
    for (size_t i = 0; i < hw; i++) {
        outer[i] = mask[i] <= 0.0f && near[i] > 0.01f;
        inner[i] = mask[i] >= 0.5f && near[i] < 0.99f;
    }
    /* the drift, as a linear-light gain per channel measured on the outer ring */
    double gain[3] = {1, 1, 1};
    if (o->match_colour) {
        double mo[3] = {0, 0, 0}, mg[3] = {0, 0, 0};
        size_t n = 0;
        for (size_t i = 0; i < hw; i++)
            if (outer[i]) {
                for (int c = 0; c < 3; c++) {
                    mo[c] += to_linear(orig[c * hw + i]);
                    mg[c] += to_linear(gen[c * hw + i]);
                }
                n++;
            }
        for (int c = 0; n && c < 3; c++) /* bounded: a ring of one colour must not blow up */
            gain[c] = mg[c] > 1e-6 ? fmin(fmax(mo[c] / mg[c], 0.5), 2.0) : 1.0;
    }
    /* the feathered mask: 0 at the edge, 1 `feather` pixels inside it (2 b - 1 of a blur b
     * that is 1/2 on a straight edge) */
    if (feather > 0) {
        blur(mask, soft, tmp, h, w, feather);
        for (size_t i = 0; i < hw; i++)
            soft[i] = fminf(mask[i], fmaxf(0.0f, 2.0f * soft[i] - 1.0f));
    } else
        memcpy(soft, mask, hw * sizeof *soft);
    double before_in[3], before_out[3];
    bool   edge = mean_rgb(orig, outer, hw, before_out);
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < hw; i++) {
            float g = gen[c * hw + i];
            if (gain[c] != 1.0 && mask[i] > 0.0f)
                g = (float)from_linear(to_linear(g) * gain[c]);
            float m = mask[i] > 0.0f ? soft[i] : 0.0f;
            out[c * hw + i] = m * g + (1.0f - m) * orig[c * hw + i];
        }
    if (report) {
        report->gain[0] = gain[0], report->gain[1] = gain[1], report->gain[2] = gain[2];
        report->edge_before = report->edge_after = NAN;
        if (edge) {
            /* before: the model's output pasted through the hard mask */
            double after_in[3];
            float *pasted = malloc(3 * hw * sizeof *pasted);
            if (pasted) {
                for (int c = 0; c < 3; c++)
                    for (size_t i = 0; i < hw; i++)
                        pasted[c * hw + i] = mask[i] >= 0.5f ? gen[c * hw + i] : orig[c * hw + i];
                if (mean_rgb(pasted, inner, hw, before_in))
                    report->edge_before = dist3(before_in, before_out);
                free(pasted);
            }
            if (mean_rgb(out, inner, hw, after_in)) report->edge_after = dist3(after_in, before_out);
        }
    }
    free(soft), free(tmp), free(near), free(outer), free(inner);
    return CASCADE_STATUS_OK;
}
