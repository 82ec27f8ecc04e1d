/* Where the CLI finds models: --model DIR, else $CASCADE_MODEL, else the default model that
 * ships with the project (installed data dir, then the source tree). */
#ifndef CASCADE_CLI_MODEL_PATHS_H
#define CASCADE_CLI_MODEL_PATHS_H

/* The model directory to use (malloc'd), or NULL when none was given and none is installed. */
char *cli_model_dir(const char *given);
/* "<model>/<component>" when that directory exists, else model itself (a component dir given
 * directly). malloc'd. */
char *cli_component_dir(const char *model, const char *component);

#endif
