#include "model-paths.h"

#include <glib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>


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

