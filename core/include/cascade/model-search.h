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

#include "cascade/status.h"

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

/* The model folders a run uses, by the one rule every front end follows:
 *   model       a cascade root (its stage1/ and stage2/), or a pipeline folder itself; NULL or
 *               "": the default model (cascade_model_default_root over the places this build
 *               installs to and its source tree)
 *   sr_model    stage II's folder; NULL or "": model's stage2/, or, when no model was given,
 *               the default's; none when there is none or want_sr is false
 * *stage1 and *stage2 are malloc'd (free()); *stage2 may be NULL. IO naming what to do when
 * no model is given and none is installed. */
cascade_status cascade_model_resolve(const char *model, const char *sr_model, bool want_sr,
                                     char **stage1, char **stage2, cascade_error *err);
/* The default model's root (malloc'd) as cascade_model_resolve finds it; NULL: none. */
char *cascade_model_default(void);

#ifdef __cplusplus
}
#endif

#endif
