/* The default model's search order, shared by the CLI and the plug-in (model-search.h). */
#include "cascade/model-search.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

bool cascade_model_is_pipeline_dir(const char *dir) {
    char *idx = g_build_filename(dir, "model_index.json", NULL);
    bool  ok = g_file_test(idx, G_FILE_TEST_IS_REGULAR);
    g_free(idx);
    return ok;
}

char *cascade_model_stage_dir(const char *root, const char *stage) {
    char *s = g_build_filename(root, stage, NULL);
    char *r = cascade_model_is_pipeline_dir(s) ? strdup(s) : NULL;
    g_free(s);
    return r;
}

char *cascade_model_default_root(const char *const *candidates, size_t n) {
    const char *env = getenv("CASCADE_MODEL");
    if (env && *env) return strdup(env);
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i]) continue;
        char *s1 = cascade_model_stage_dir(candidates[i], "stage1");
        bool  ok = s1 || cascade_model_is_pipeline_dir(candidates[i]);
        free(s1);
        if (ok) return strdup(candidates[i]);
    }
    return NULL;
}

char *cascade_model_default(void) {
    static const char *const places[] = {CASCADE_MODEL_INSTALL_DIR, CASCADE_MODEL_SOURCE_DIR};
    return cascade_model_default_root(places, sizeof places / sizeof *places);
}

cascade_status cascade_model_resolve(const char *model, const char *sr_model, bool want_sr,
                                     char **stage1, char **stage2, cascade_error *err) {
    const bool given = model && *model;
    char      *root = given ? strdup(model) : cascade_model_default();
    *stage1 = *stage2 = NULL;
    if (!root)
        return cascade_error_set(err, CASCADE_STATUS_IO,
                                 "no model is installed: give a model folder (or set "
                                 "CASCADE_MODEL)");
    char *s1 = cascade_model_stage_dir(root, "stage1"); /* a cascade root */
    *stage1 = s1 ? s1 : strdup(root);
    if (want_sr) *stage2 = sr_model && *sr_model ? strdup(sr_model) : cascade_model_stage_dir(root, "stage2");
    free(root);
    if (!*stage1 || (want_sr && sr_model && *sr_model && !*stage2)) {
        free(*stage1);
        free(*stage2);
        *stage1 = *stage2 = NULL;
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "model folder names");
    }
    return CASCADE_STATUS_OK;
}
