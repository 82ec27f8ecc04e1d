/* Internal to the pipelines (cascade.c, guidance.c, inpaint.c). */
#ifndef CASCADE_PIPELINE_INTERNAL_H
#define CASCADE_PIPELINE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cascade/model-dir.h"
#include "cascade/pipeline.h"
#include "cascade/scheduler.h"

/* Overflow-checked a*b*c*d as size_t; false when it does not fit or a factor is < 1. */
bool pipe_numel(int64_t a, int64_t b, int64_t c, int64_t d, size_t *out);

/* mask (mb, 1, H, W) with mb 1 or B, binarised at 0.5 as IF's preprocess_mask_image does,
 * expanded to (B, 1, H, W) into out. */
void pipe_binarize_mask(const float *mask, int64_t mb, int64_t batch, size_t hw, float *out);
/* x = (1 - mask) keep + mask x per channel; x, keep: (B, C, hw), mask: (B, 1, hw). */
void pipe_blend_mask(float *x, const float *keep, const float *mask, int64_t batch,
                     int64_t channels, size_t hw);
/* Mean over factor x factor blocks: (n_planes, h, w) -> (n_planes, h / f, w / f). */
void pipe_downscale_area(const float *x, int64_t n_planes, int64_t h, int64_t w, int64_t f,
                         float *out);

/* The path of component name of md (FORMAT naming it when the index has none). */
cascade_status pipe_component(const cascade_model_dir *md, const char *name, const char **path,
                              cascade_error *err);
/* The scheduler of component name (its scheduler_config.json). */
/* The component must be one of classes (NULL-terminated; model_index.json's class name):
 * UNSUPPORTED naming the folder, the component and the class found otherwise. */
cascade_status pipe_expect_class(const cascade_model_dir *md, const char *name,
                                 const char *const *classes, cascade_error *err);
cascade_status pipe_load_scheduler(const cascade_model_dir *md, const char *name,
                                   cascade_scheduler **out, cascade_error *err);

#endif
