/* Blending an inpainted result into its surroundings, one rule for the CLI and the plug-in.
 *
 * The model repaints the whole crop it is given, so its colours drift from the original's
 * (a small model's most of all). The drift is measured where both images exist and must
 * agree: a ring just outside the mask. It is removed from the repainted pixels as a gain per
 * channel in linear light. Then the mask's edge is feathered inward, so the seam is a
 * gradient inside the selection and nothing outside it changes. */
#ifndef CASCADE_INPAINT_BLEND_H
#define CASCADE_INPAINT_BLEND_H

#include <stdbool.h>
#include <stdint.h>

#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cascade_blend_options {
    /* pixels over which the mask's edge fades in (inward); 0: none; < 0: automatic (2 % of
     * the image's shorter side, at least 1) */
    int64_t feather;
    bool    match_colour; /* remove the colour drift measured on the ring */
    int64_t ring;         /* the ring's width in pixels; <= 0: automatic (as feather) */
} cascade_blend_options;

void cascade_blend_options_init(cascade_blend_options *o); /* feather -1, match, ring -1 */

/* The seam, measured: the distance (0..441, RGB 0..255) between the mean colour of the
 * result just inside the mask's edge and of the original just outside it, before the blend
 * (a hard paste of the model's output) and after. NAN when the mask has no edge. */
typedef struct cascade_blend_report {
    double edge_before, edge_after;
    double gain[3]; /* the linear-light gains applied (1 when match_colour is off) */
} cascade_blend_report;

/* orig, gen: (3, h, w) in [-1, 1]; mask: (h, w) in [0, 1] (1 = repaint). Writes the blended
 * image into out (3, h, w): the original where the mask is 0, the colour-matched result where
 * the feathered mask is 1. report may be NULL. INVALID_ARG on bad sizes, OUT_OF_MEMORY. */
cascade_status cascade_inpaint_blend(const float *orig, const float *gen, const float *mask,
                                     int64_t h, int64_t w, const cascade_blend_options *o,
                                     float *out, cascade_blend_report *report,
                                     cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
