/* A diffusers model directory: model_index.json names the pipeline class and its
 * components ("unet": ["diffusers", "UNet2DConditionModel"], ...), each a subdirectory
 * holding config.json (or scheduler_config.json) and its weights. */
#ifndef CASCADE_MODEL_DIR_H
#define CASCADE_MODEL_DIR_H

#include <stddef.h>

#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cascade_model_component {
    const char *name;       /* "unet" */
    const char *library;    /* "diffusers", "transformers"; NULL when null in the index */
    const char *class_name; /* "UNet2DConditionModel"; NULL when null */
    const char *path;       /* "<dir>/unet" */
} cascade_model_component;

typedef struct cascade_model_dir cascade_model_dir;

cascade_status cascade_model_dir_open(const char *path, cascade_model_dir **out,
                                      cascade_error *err);
void        cascade_model_dir_free(cascade_model_dir *md); /* NULL-safe */
const char *cascade_model_dir_path(const cascade_model_dir *md);
const char *cascade_model_dir_pipeline_class(const cascade_model_dir *md); /* "_class_name" */
/* "_diffusers_version" ("0.25.1"), or NULL when the index has none. */
const char *cascade_model_dir_diffusers_version(const cascade_model_dir *md);
size_t      cascade_model_dir_count(const cascade_model_dir *md);
const cascade_model_component *cascade_model_dir_component(const cascade_model_dir *md,
                                                            size_t i);
/* NULL when the pipeline has no such (non-null) component. */
const cascade_model_component *cascade_model_dir_find(const cascade_model_dir *md,
                                                       const char *name);

/* The config file of a component directory: config.json, else scheduler_config.json.
 * Returns a newly allocated path (free with free()) or NULL with an IO error. */
char *cascade_component_config_path(const char *component_dir, cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
