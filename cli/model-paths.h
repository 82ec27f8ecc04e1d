/* Where the CLI finds models: --model DIR, else $CASCADE_MODEL, else the default model that
 * ships with the project (installed data dir, then the source tree). The default model is a
 * cascade: <root>/stage1 (IFPipeline layout) and <root>/stage2 (IFSuperResolutionPipeline). */
#ifndef CASCADE_CLI_MODEL_PATHS_H
#define CASCADE_CLI_MODEL_PATHS_H

#include "cascade/status.h"

/* The stage I model directory (malloc'd): given, else the default's stage1 (or the default
 * root itself when it is a pipeline directory). NULL when none is given or installed. */
char *cli_model_dir(const char *given);
/* The stage II directory (malloc'd): given_sr; else, when no --model was given either, the
 * default model's stage2 if it has one; else NULL (no stage II). */
char *cli_sr_model_dir(const char *given_sr, const char *given_model);
/* "<model>/<component>" when that directory exists, else model itself (a component dir given
 * directly). malloc'd. */
char *cli_component_dir(const char *model, const char *component);

#endif
