/* Resizing images between a user's size and a model's: the one rule the CLI, the job runner
 * and the plug-in use (an inpainting crop to the model's size and the result back, an alpha
 * channel to the result's size). */
#ifndef CASCADE_RESAMPLE_H
#define CASCADE_RESAMPLE_H

#include <stdint.h>

#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Separable resampling of n planes (n, h, w) -> (n, oh, ow) with a triangle (tent) filter on
 * pixel centres whose support grows with the shrink factor (antialiased when shrinking, as
 * PIL's BILINEAR; plain bilinear when enlarging); weights renormalised at the edges. y must
 * not overlap x. OUT_OF_MEMORY when the filter taps cannot be allocated. */
cascade_status cascade_resample_planes(const float *x, int64_t n, int64_t h, int64_t w,
                                       int64_t oh, int64_t ow, float *y, cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
