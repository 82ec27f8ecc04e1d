#include "model-paths.h"

#include <glib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

char *cli_model_dir(const char *given) {
    if (given) return strdup(given);
    const char *env = getenv("CASCADE_MODEL");
    if (env && *env) return strdup(env);
    static const char *const candidates[] = {CASCADE_MODEL_INSTALL_DIR, CASCADE_MODEL_SOURCE_DIR};
    for (size_t i = 0; i < G_N_ELEMENTS(candidates); i++) {
        char *idx = g_build_filename(candidates[i], "model_index.json", NULL);
        bool  ok = g_file_test(idx, G_FILE_TEST_IS_REGULAR);
        g_free(idx);
        if (ok) return strdup(candidates[i]);
    }
    return NULL;
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
