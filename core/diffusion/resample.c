/* cascade_resample_planes (cascade/resample.h): a tent filter, separable, taps per output
 * row and column computed once. */
#include "cascade/resample.h"

#include <math.h>
#include <stdlib.h>

typedef struct taps {
    int64_t first, n; /* source taps first .. first + n - 1 */
    float  *w;        /* n weights, summing to 1 */
} taps;

static void free_taps(taps *t, int64_t n) {
    for (int64_t i = 0; t && i < n; i++) free(t[i].w);
    free(t);
}

static taps *make_taps(int64_t src, int64_t dst) {
    taps *t = calloc((size_t)dst, sizeof *t);
    if (!t) return NULL;
    const double scale = (double)src / (double)dst, support = scale > 1.0 ? scale : 1.0;
    for (int64_t i = 0; i < dst; i++) {
        const double centre = ((double)i + 0.5) * scale;
        int64_t      lo = (int64_t)floor(centre - support), hi = (int64_t)ceil(centre + support);
        lo = lo < 0 ? 0 : lo;
        hi = hi > src ? src : hi;
        t[i].first = lo;
        t[i].n = hi - lo;
        if (!(t[i].w = calloc((size_t)(t[i].n > 0 ? t[i].n : 1), sizeof *t[i].w))) {
            free_taps(t, dst);
            return NULL;
        }
        double sum = 0;
        for (int64_t k = 0; k < t[i].n; k++) {
            const double d = fabs(((double)(lo + k) + 0.5 - centre) / support);
            const double wt = d < 1.0 ? 1.0 - d : 0.0;
            t[i].w[k] = (float)wt;
            sum += wt;
        }
        if (sum <= 0) { /* cannot happen for src >= 1, but never divide by zero */
            t[i].n = 1;
            t[i].first = (int64_t)(centre < (double)src ? centre : (double)(src - 1));
            t[i].w[0] = 1;
            sum = 1;
        }
        for (int64_t k = 0; k < t[i].n; k++) t[i].w[k] = (float)(t[i].w[k] / sum);
    }
    return t;
}

cascade_status cascade_resample_planes(const float *x, int64_t n, int64_t h, int64_t w,
                                       int64_t oh, int64_t ow, float *y, cascade_error *err) {
    if (n < 1 || h < 1 || w < 1 || oh < 1 || ow < 1)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "resample: empty image");
    taps  *tx = make_taps(w, ow), *ty = make_taps(h, oh);
    float *tmp = malloc(sizeof *tmp * (size_t)(h * ow)); /* one plane, resized across */
    if (!tx || !ty || !tmp) {
        free_taps(tx, ow);
        free_taps(ty, oh);
        free(tmp);
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "resample %lldx%lld",
                                 (long long)ow, (long long)oh);
    }
    for (int64_t p = 0; p < n; p++) {
        const float *src = x + p * h * w;
        float       *dst = y + p * oh * ow;
        for (int64_t r = 0; r < h; r++)
            for (int64_t c = 0; c < ow; c++) {
                float acc = 0;
                for (int64_t k = 0; k < tx[c].n; k++) acc += tx[c].w[k] * src[r * w + tx[c].first + k];
                tmp[r * ow + c] = acc;
            }
        for (int64_t r = 0; r < oh; r++)
            for (int64_t c = 0; c < ow; c++) {
                float acc = 0;
                for (int64_t k = 0; k < ty[r].n; k++) acc += ty[r].w[k] * tmp[(ty[r].first + k) * ow + c];
                dst[r * ow + c] = acc;
            }
    }
    free(tmp);
    free_taps(tx, ow);
    free_taps(ty, oh);
    return CASCADE_STATUS_OK;
}
