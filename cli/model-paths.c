#include "model-paths.h"

#include <glib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

