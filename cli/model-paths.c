#include "model-paths.h"

#include <glib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool is_pipeline_dir(const char *dir) {
    char *idx = g_build_filename(dir, "model_index.json", NULL);
    bool  ok = g_file_test(idx, G_FILE_TEST_IS_REGULAR);
    g_free(idx);
    return ok;
}

/* The default model's root: $CASCADE_MODEL, the installed copy, the source tree's. */
static char *default_root(void) {
    const char *env = getenv("CASCADE_MODEL");
    if (env && *env) return strdup(env);
    static const char *const candidates[] = {CASCADE_MODEL_INSTALL_DIR, CASCADE_MODEL_SOURCE_DIR};
    for (size_t i = 0; i < G_N_ELEMENTS(candidates); i++) {
        char *s1 = g_build_filename(candidates[i], "stage1", NULL);
        bool  ok = is_pipeline_dir(s1) || is_pipeline_dir(candidates[i]);
        g_free(s1);
        if (ok) return strdup(candidates[i]);
    }
    return NULL;
}

static char *stage_of(const char *root, const char *stage) {
    char *s = g_build_filename(root, stage, NULL);
    char *r = is_pipeline_dir(s) ? strdup(s) : NULL;
    g_free(s);
    return r;
}

char *cli_model_dir(const char *given) {
    if (given) {
        char *s1 = stage_of(given, "stage1"); /* a cascade root given as --model */
        return s1 ? s1 : strdup(given);
    }
    char *root = default_root();
    if (!root) return NULL;
    char *s1 = stage_of(root, "stage1");
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
    char *s2 = stage_of(root, "stage2");
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
