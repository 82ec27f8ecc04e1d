/* Nearest upsampling + conv folded into a low-resolution conv (see upsample-fold.h).
 *
 * High-resolution output pixel (h*s + i) reads upsampled rows h*s + i + ky - p (ky < k,
 * p = k/2), i.e. low-resolution rows h + floor((i + ky - p) / s); with zero padding at the
 * high resolution, an out-of-range upsampled row is an out-of-range low-resolution row, so
 * zero padding at the low resolution reproduces it. The RDN x8 SR conv (192 input channels)
 * thereby runs on s^2 x fewer pixels, with no 3*s*s-channel high-resolution tensor. */
#include "upsample-fold.h"

#include <stdlib.h>

static int64_t floor_div(int64_t a, int64_t s) {
    return a >= 0 ? a / s : -((-a + s - 1) / s);
}

cascade_status cascade_upsample_conv_fold(const cascade_tensor *w, const cascade_tensor *b,
                                          int32_t s, cascade_tensor **wf, cascade_tensor **bf,
                                          int32_t *pad, cascade_error *err) {
    *wf = NULL;
    if (bf) *bf = NULL;
    if (!w || w->dtype != CASCADE_DTYPE_F32 || w->ndim != 4 || !cascade_tensor_is_contiguous(w) ||
        w->shape[2] != w->shape[3] || w->shape[2] % 2 == 0 || s < 1 || s > 64 ||
        (b && (b->dtype != CASCADE_DTYPE_F32 || b->ndim != 1 || b->shape[0] != w->shape[0])))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "upsample_conv_fold: unsupported kernel or scale %d", s);
    const int64_t O = w->shape[0], C = w->shape[1], k = w->shape[2], p = k / 2;
    /* low-resolution offsets reach floor(-p / s) .. floor((s - 1 + k - 1 - p) / s) */
    const int64_t lo = floor_div(-p, s), hi = floor_div(s - 1 + k - 1 - p, s);
    const int64_t r = -lo > hi ? -lo : hi, kf = 2 * r + 1;
    int64_t       ws[4] = {(int64_t)s * s * O, C, kf, kf}, bs[1] = {(int64_t)s * s * O};
    CASCADE_TRY(cascade_tensor_new(CASCADE_DTYPE_F32, 4, ws, wf, err));
    if (b && bf) {
        cascade_status st = cascade_tensor_new(CASCADE_DTYPE_F32, 1, bs, bf, err);
        if (st != CASCADE_STATUS_OK) {
            cascade_tensor_free(*wf);
            *wf = NULL;
            return st;
        }
    }
    const float *src = w->data;
    float       *dst = (*wf)->data;
    for (int64_t i = 0; i < s; i++)
        for (int64_t j = 0; j < s; j++)
            for (int64_t o = 0; o < O; o++) {
                const int64_t oc = (i * s + j) * O + o;
                for (int64_t c = 0; c < C; c++)
                    for (int64_t ky = 0; ky < k; ky++) {
                        const int64_t a = floor_div(i + ky - p, s) + r;
                        for (int64_t kx = 0; kx < k; kx++) {
                            const int64_t bb = floor_div(j + kx - p, s) + r;
                            dst[((oc * C + c) * kf + a) * kf + bb] +=
                                src[((o * C + c) * k + ky) * k + kx];
                        }
                    }
                if (b && bf) ((float *)(*bf)->data)[oc] = ((const float *)b->data)[o];
            }
    *pad = (int32_t)r;
    return CASCADE_STATUS_OK;
}
