#include "model-paths.h"

#include <glib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cascade/config.h"
#include "cascade/model-search.h"

/* The default model's root: $CASCADE_MODEL, the installed copy, the source tree's. */
static char *default_root(void) {
    static const char *const candidates[] = {CASCADE_MODEL_INSTALL_DIR, CASCADE_MODEL_SOURCE_DIR};
    return cascade_model_default_root(candidates, G_N_ELEMENTS(candidates));
}

char *cli_model_dir(const char *given) {
    if (given) {
        char *s1 = cascade_model_stage_dir(given, "stage1"); /* a cascade root given as --model */
        return s1 ? s1 : strdup(given);
    }
    char *root = default_root();
    if (!root) return NULL;
    char *s1 = cascade_model_stage_dir(root, "stage1");
    if (s1) {
        free(root);
        return s1;
    }
    return root;
}

char *cli_sr_model_dir(const char *given_sr, const char *given_model) {
    if (given_sr) return strdup(given_sr);
    char *root = given_model ? strdup(given_model) : default_root();
    if (!root) return NULL;
    char *s2 = cascade_model_stage_dir(root, "stage2");
    free(root);
    return s2;
}

char *cli_component_dir(const char *model, const char *component) {
    char *sub = g_build_filename(model, component, NULL);
    if (g_file_test(sub, G_FILE_TEST_IS_DIR)) {
        char *r = strdup(sub);
        g_free(sub);
        return r;
    }
    g_free(sub);
    return strdup(model);
}

static cascade_status range_error(cascade_config *cfg, const char *key, const char *range,
                                  cascade_error *err) {
    return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: \"%s\" must be %s",
                             cascade_config_path(cfg), key, range);
}

cascade_status cli_stage_defaults_load(const char *dir, cli_stage_defaults *d,
                                       cascade_error *err) {
    char *path = g_build_filename(dir, "generation_defaults.json", NULL);
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_free(path);
        return CASCADE_STATUS_OK;
    }
    cascade_config *cfg = NULL;
    cascade_status  st = cascade_config_load(path, &cfg, err);
    g_free(path);
    if (st) return st;
    int64_t steps = 0, noise = 0;
    double  guidance = 0;
    static const char *const notes[] = {"_comment", NULL};
    cascade_config_ignore(cfg, notes);
    if (!(st = cascade_config_int(cfg, "steps", d->steps, &steps, err)) &&
        !(st = cascade_config_float(cfg, "guidance", d->guidance, &guidance, err)) &&
        !(st = cascade_config_int(cfg, "noise_level", d->noise_level, &noise, err))) {
        if (steps < 1 || steps > 1000) st = range_error(cfg, "steps", "1..1000", err);
        else if (!(guidance >= 0 && guidance <= 100))
            st = range_error(cfg, "guidance", "0..100", err);
        else if (noise < 0 || noise > 999) st = range_error(cfg, "noise_level", "0..999", err);
        else st = cascade_config_check_all_used(cfg, err);
    }
    if (!st) {
        d->steps = (long)steps;
        d->guidance = guidance;
        d->noise_level = (long)noise;
    }
    cascade_config_free(cfg);
    return st;
}
