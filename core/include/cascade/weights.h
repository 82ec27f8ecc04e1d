/* The weights of one model component: one safetensors file or several shards (listed by a
 * "*.safetensors.index.json"), looked up by checkpoint name, checked against the shape
 * the model expects and converted to the runtime dtype at load. Pickled checkpoints
 * (.bin, .ckpt, .pth, .pt) are refused: unpickling runs arbitrary code. */
#ifndef CASCADE_WEIGHTS_H
#define CASCADE_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade/status.h"
#include "cascade/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cascade_weights cascade_weights;

/* Opens the weights in a component directory: model.safetensors,
 * diffusion_pytorch_model.safetensors, weights.safetensors, any single *.safetensors, or
 * the shards of a *.safetensors.index.json. dtype is what cascade_weights_get returns
 * (F32 for the CPU backend; F16 to keep device copies small). */
cascade_status cascade_weights_open_dir(const char *dir, cascade_dtype dtype,
                                        cascade_weights **out, cascade_error *err);
/* Opens one file. */
cascade_status cascade_weights_open_file(const char *path, cascade_dtype dtype,
                                         cascade_weights **out, cascade_error *err);
void cascade_weights_free(cascade_weights *w); /* NULL-safe */

bool   cascade_weights_has(const cascade_weights *w, const char *name);
size_t cascade_weights_count(const cascade_weights *w);
const char *cascade_weights_name(const cascade_weights *w, size_t i);

/* The tensor under name, in the weights' dtype, owned by w. ndim/shape is what the model
 * expects (shape NULL: any); a missing tensor or another shape is a FORMAT error naming
 * the file, the tensor and both shapes. Marks name as used. */
cascade_status cascade_weights_get(cascade_weights *w, const char *name, int32_t ndim,
                                   const int64_t *shape, const cascade_tensor **out,
                                   cascade_error *err);
/* Shorthands for a vector (a) and a matrix (a, b). */
cascade_status cascade_weights_get_1d(cascade_weights *w, const char *name, int64_t a,
                                      const cascade_tensor **out, cascade_error *err);
cascade_status cascade_weights_get_2d(cascade_weights *w, const char *name, int64_t a, int64_t b,
                                      const cascade_tensor **out, cascade_error *err);
/* The same, trying each name in turn (e.g. "shared.weight", "encoder.embed_tokens.weight"). */
cascade_status cascade_weights_get_any(cascade_weights *w, const char *const *names,
                                       size_t n_names, int32_t ndim, const int64_t *shape,
                                       const cascade_tensor **out, cascade_error *err);
/* Marks a tensor as used without loading it (aliases, buffers the engine recomputes). */
void cascade_weights_mark_used(cascade_weights *w, const char *name);
/* FORMAT naming the first tensor of the checkpoint the model did not use: a sign the
 * config and the weights disagree. */
cascade_status cascade_weights_check_all_used(const cascade_weights *w, cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
