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
