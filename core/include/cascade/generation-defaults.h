/* The sampling settings a model folder recommends: <dir>/generation_defaults.json, written by
 * tools/train/export.py beside model_index.json (diffusers ignores it):
 *   {"steps": 30, "guidance": 7.0, "noise_level": 250, "strength": 0.8}
 * Every field is optional. "strength" is stage II's: it starts from stage I's image enlarged
 * and re-noised to that strength (IFImg2ImgSuperResolutionPipeline) instead of pure noise.
 * Read by core (the pipeline's stage II strength) and by every front end (one parser). */
#ifndef CASCADE_GENERATION_DEFAULTS_H
#define CASCADE_GENERATION_DEFAULTS_H

#include "cascade/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cascade_generation_defaults {
    long   steps;       /* denoising steps, 1..1000 */
    double guidance;    /* classifier-free guidance scale, 0..100 */
    long   noise_level; /* stage II noise augmentation, 0..999 */
    double strength;    /* stage II start, (0, 1]; 1 = pure noise */
} cascade_generation_defaults;

/* The engine's own defaults for a stage (1: 50 steps, guidance 7; 2: 25 steps, guidance 4;
 * noise level 250, strength 1), used where a model folder recommends nothing. The one
 * source of default settings: the CLI, the dialog and the plug-in all start here. */
void cascade_generation_defaults_init(cascade_generation_defaults *d, int stage);

/* The settings for a stage's model folder dir (may be NULL): the engine's defaults with the
 * folder's recommendations over them. Errors as cascade_generation_defaults_load. */
cascade_status cascade_generation_defaults_resolve(const char *dir, int stage,
                                                   cascade_generation_defaults *d,
                                                   cascade_error *err);

/* Reads <dir>/generation_defaults.json over *d (fields the file lacks keep their values). A
 * folder without the file leaves *d as it is; a malformed file, an unknown field or a value
 * out of range is FORMAT naming the file and the field. */
cascade_status cascade_generation_defaults_load(const char *dir, cascade_generation_defaults *d,
                                                cascade_error *err);

#ifdef __cplusplus
}
#endif

#endif
