/* Internal to core/upscale: folding "nearest upsampling by s, then a k x k 'same' conv" (RDN's
 * UpSampling2D + SR layer) into one conv at the low resolution followed by depth-to-space. */
#ifndef CASCADE_UPSCALE_UPSAMPLE_FOLD_H
#define CASCADE_UPSCALE_UPSAMPLE_FOLD_H

#include "cascade/status.h"
#include "cascade/tensor.h"

/* w: (O, C, k, k) F32 contiguous, k odd, zero padding k/2 on every side at the high
 * resolution; b: (O) or NULL. Makes *wf: (s*s*O, C, kf, kf) and *bf: (s*s*O) (NULL when b is),
 * to run with zero padding *pad at the low resolution, whose output channel (i*s + j)*O + o
 * is high-resolution pixel (h*s + i, w*s + j), channel o: TF's depth-to-space (DCR) order.
 * Exact up to summation order: every high-resolution tap lands on one low-resolution pixel,
 * so the taps that land on the same one are summed into one weight. */
cascade_status cascade_upsample_conv_fold(const cascade_tensor *w, const cascade_tensor *b,
                                          int32_t s, cascade_tensor **wf, cascade_tensor **bf,
                                          int32_t *pad, cascade_error *err);

#endif
