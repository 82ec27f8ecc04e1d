/* job_resample: 8-bit interleaved pixels through core's one resize rule
 * (cascade_resample_planes: a tent filter, antialiased when shrinking), as planes of floats and
 * back, rounded. Used to bring an inpainting crop to the model's size and the result back. */
#include <math.h>
#include <stdlib.h>

#include "cascade-job-private.h"
#include "cascade/resample.h"

void job_resample(const guint8 *src, gint sw, gint sh, gint channels, guint8 *dst, gint dw,
                  gint dh) {
    const gsize in_px = (gsize)sw * sh, out_px = (gsize)dw * dh;
    float      *x = g_new(float, in_px * channels), *y = g_new(float, out_px * channels);
    for (gsize i = 0; i < in_px; i++)
        for (gint c = 0; c < channels; c++) x[c * in_px + i] = src[i * channels + c];
    /* sizes are positive here and the taps small: allocation failure aborts as g_new does */
    if (cascade_resample_planes(x, channels, sh, sw, dh, dw, y, NULL)) g_error("out of memory");
    for (gsize i = 0; i < out_px; i++)
        for (gint c = 0; c < channels; c++) {
            long v = lrintf(y[c * out_px + i]);
            dst[i * channels + c] = (guint8)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    g_free(x);
    g_free(y);
}
