/* What a model says it can draw: <model dir>/prompts.json, written beside model_index.json by
 * tools/train/export.py from the training captions:
 *   {"styles": ["flat style", ...], "subjects": ["red apple", ...],
 *    "prompts": ["red apple, flat style", ...]}
 * Each list is optional. Models from elsewhere have no such file; that is not an error. */
#ifndef CASCADE_MODEL_PROMPTS_H
#define CASCADE_MODEL_PROMPTS_H

#include <stddef.h>

#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most entries a list may hold (a real list has a few hundred). */
#define CASCADE_MODEL_PROMPTS_MAX 65536

typedef struct cascade_model_prompts {
    char **styles;   /* n_styles UTF-8 strings */
    size_t n_styles;
    char **subjects; /* n_subjects */
    size_t n_subjects;
    char **prompts;  /* n_prompts: every prompt the model was trained on */
    size_t n_prompts;
} cascade_model_prompts;

/* Reads <dir>/prompts.json. *out is NULL (and OK is returned) when the folder has no such
 * file; a malformed file is FORMAT naming it and the field. Free with _free. */
cascade_status cascade_model_prompts_load(const char *dir, cascade_model_prompts **out,
                                          cascade_error *err);
void cascade_model_prompts_free(cascade_model_prompts *p); /* NULL-safe */

#ifdef __cplusplus
}
#endif

#endif
