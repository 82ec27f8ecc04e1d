/* A component folder inside a model folder. Which model folders a command uses is core's
 * one rule, cascade_model_resolve (cascade/model-search.h). */
#ifndef CASCADE_CLI_MODEL_PATHS_H
#define CASCADE_CLI_MODEL_PATHS_H

#include "cascade/status.h"

/* "<model>/<component>" when that directory exists, else model itself (a component dir given
 * directly). malloc'd. */
char *cli_component_dir(const char *model, const char *component);

#endif
