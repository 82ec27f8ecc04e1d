/* Output size for an aspect ratio: one rule for every front end (CLI, dialog, plug-in) and
 * both pipeline kinds (IF cascade, Stable Diffusion). The U-Nets are convolutional, so any
 * size in the model's multiples works; keeping the model's own pixel count keeps the time
 * and memory of a run what they are at the model's square size. */
#ifndef CASCADE_ASPECT_H
#define CASCADE_ASPECT_H

#include <stdint.h>

#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parses "W:H" (positive integers, e.g. "16:9"; "" means 1:1) into *ratio = W / H. A ratio
 * beyond 1:8 or 8:1 is refused: the first stage would be a few pixels across. INVALID_ARG
 * naming text otherwise. */
cascade_status cascade_aspect_parse(const char *text, double *ratio, cascade_error *err);

/* The size of about base_h x base_w pixels with width / height = ratio, each side rounded to
 * the nearest positive multiple of multiple. */
void cascade_aspect_size(int64_t base_h, int64_t base_w, int64_t multiple, double ratio,
                         int64_t *height, int64_t *width);

#ifdef __cplusplus
}
#endif

#endif
