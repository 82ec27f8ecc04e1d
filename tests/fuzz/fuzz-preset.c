/* libFuzzer harness: a preset file (presets/<name>.json or the user's own), through both
 * readers the dialog uses: cascade_recipe_apply_preset_file, and cascade_presets_list, which
 * reads every preset of the preset folders (here: one installed and one user folder, each
 * holding the fuzzed file) for the picker. A refusal is a GError naming the file and leaves
 * the recipe as it was; the list skips a file that does not apply. Nothing may crash or
 * raise a GLib critical whatever the JSON types. */
#include <stddef.h>
#include <stdint.h>

#include "cascade-presets.h"
#include "cascade-recipe.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *installed, *user;
    fuzz_init();
    if (!installed) {
        installed = fuzz_path("installed");
        user = fuzz_path("user");
        g_mkdir_with_parents(installed, 0700);
        g_mkdir_with_parents(user, 0700);
        g_setenv("CASCADE_PRESETS_DIR", installed, TRUE);
        g_setenv("CASCADE_USER_PRESETS_DIR", user, TRUE);
    }
    char *path = fuzz_write("installed/fuzz.json", data, size);
    g_free(fuzz_write("user/mine.json", data, size));

    CascadeRecipe r;
    cascade_recipe_init(&r);
    g_autofree gchar *before = cascade_recipe_to_string(&r);
    GError           *e = NULL;
    gboolean          ok = cascade_recipe_apply_preset_file(&r, path, &e);
    if (!ok) {
        FUZZ_ASSERT(e && strstr(e->message, path));
        g_error_free(e);
        g_autofree gchar *after = cascade_recipe_to_string(&r);
        FUZZ_ASSERT(!strcmp(before, after));
    } else {
        FUZZ_ASSERT(!e && r.preset);
    }
    cascade_recipe_clear(&r);

    GPtrArray *list = cascade_presets_list();
    FUZZ_ASSERT(list->len == (ok ? 2u : 0u));
    for (guint i = 0; i < list->len; i++) {
        const CascadePresetInfo *info = list->pdata[i];
        FUZZ_ASSERT(info->id && info->name && info->description && info->path);
        CascadePresetInfo *found = cascade_presets_find(info->id);
        FUZZ_ASSERT(found);
        cascade_preset_info_free(found);
    }
    g_ptr_array_unref(list);
    g_free(path);
    return 0;
}
