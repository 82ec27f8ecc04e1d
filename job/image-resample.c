/* job_resample: separable resampling of 8-bit pixels with a triangle (tent) filter whose
 * support grows with the shrink factor, like PIL's antialiased BILINEAR. Used to bring an
 * inpainting crop to the model's size and the result back. */
#include <math.h>

#include "cascade-job-private.h"

typedef struct {
    gint    first, n; /* source taps first .. first + n - 1 */
    gfloat *w;        /* n weights, summing to 1 */
} taps;

static taps *make_taps(gint src, gint dst) {
    taps  *t = g_new0(taps, dst);
    double scale = (double)src / dst, support = scale > 1.0 ? scale : 1.0;
    for (gint i = 0; i < dst; i++) {
        double centre = (i + 0.5) * scale;
        gint   lo = (gint)floor(centre - support), hi = (gint)ceil(centre + support);
        lo = lo < 0 ? 0 : lo;
        hi = hi > src ? src : hi;
        t[i].first = lo;
        t[i].n = hi - lo;
        t[i].w = g_new0(gfloat, t[i].n > 0 ? t[i].n : 1);
        double sum = 0;
        for (gint k = 0; k < t[i].n; k++) {
            double d = fabs((lo + k + 0.5 - centre) / support);
            double w = d < 1.0 ? 1.0 - d : 0.0;
            t[i].w[k] = (gfloat)w;
            sum += w;
        }
        if (sum <= 0) { /* cannot happen for src >= 1, but never divide by zero */
            t[i].n = 1;
            t[i].first = (gint)(centre < src ? centre : src - 1);
            t[i].w[0] = 1;
            sum = 1;
        }
        for (gint k = 0; k < t[i].n; k++)
            t[i].w[k] /= (gfloat)sum;
    }
    return t;
}

static void free_taps(taps *t, gint n) {
    for (gint i = 0; i < n; i++)
        g_free(t[i].w);
    g_free(t);
}

void job_resample(const guint8 *src, gint sw, gint sh, gint channels, guint8 *dst, gint dw,
                  gint dh) {
    taps   *tx = make_taps(sw, dw), *ty = make_taps(sh, dh);
    gfloat *tmp = g_new(gfloat, (gsize)dw * sh * channels); /* horizontal pass */
    for (gint y = 0; y < sh; y++)
        for (gint x = 0; x < dw; x++)
            for (gint c = 0; c < channels; c++) {
                float acc = 0;
                for (gint k = 0; k < tx[x].n; k++)
                    acc += tx[x].w[k] * src[((gsize)y * sw + tx[x].first + k) * channels + c];
                tmp[((gsize)y * dw + x) * channels + c] = acc;
            }
    for (gint y = 0; y < dh; y++)
        for (gint x = 0; x < dw; x++)
            for (gint c = 0; c < channels; c++) {
                float acc = 0;
                for (gint k = 0; k < ty[y].n; k++)
                    acc += ty[y].w[k] * tmp[((gsize)(ty[y].first + k) * dw + x) * channels + c];
                long v = lrintf(acc);
                dst[((gsize)y * dw + x) * channels + c] = (guint8)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    g_free(tmp);
    free_taps(tx, dw);
    free_taps(ty, dh);
}
