/* Finding the default model: the CLI and the plug-in look in the same places, in the same
 * order ($CASCADE_MODEL, then the installed copy, then the source tree). The places are the
 * caller's (each front end knows where it was installed); the rule is here, once.
 *
 * A default model is a cascade root holding stage1/ (IFPipeline layout) and optionally
 * stage2/ (IFSuperResolutionPipeline), or a single pipeline directory. */
#ifndef CASCADE_MODEL_SEARCH_H
#define CASCADE_MODEL_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* dir holds a model_index.json (a diffusers pipeline directory). */
bool cascade_model_is_pipeline_dir(const char *dir);

/* The default cascade root (malloc'd): $CASCADE_MODEL when set and non-empty (taken as
 * given, so a wrong path fails later with its name), else the first of candidates[0..n)
 * that holds stage1/ or is itself a pipeline directory; NULL when none does. */
char *cascade_model_default_root(const char *const *candidates, size_t n);

/* root/stage (malloc'd) when that is a pipeline directory, else NULL. */
char *cascade_model_stage_dir(const char *root, const char *stage);

#ifdef __cplusplus
}
#endif

#endif
