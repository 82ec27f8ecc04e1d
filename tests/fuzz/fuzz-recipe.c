/* libFuzzer harness: recipe text (cascade_recipe_from_string), what a result layer's
 * parasite, a PDB argument and the last-values file carry. A refusal is a GError and leaves
 * the recipe as it was; an accepted text round-trips: to_string then from_string gives the
 * same text again. */
#include <stddef.h>
#include <stdint.h>

#include "cascade-recipe.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    /* the plug-in hands over NUL-terminated UTF-8 (procedures.c validates the file) */
    char *text = g_strndup((const char *)data, size);
    if (!g_utf8_validate(text, -1, NULL)) {
        g_free(text);
        return 0;
    }
    CascadeRecipe r;
    cascade_recipe_init(&r);
    g_autofree gchar *before = cascade_recipe_to_string(&r);
    GError           *e = NULL;
    if (!cascade_recipe_from_string(&r, text, &e)) {
        FUZZ_ASSERT(e && e->message && e->message[0]);
        g_error_free(e);
        g_autofree gchar *after = cascade_recipe_to_string(&r);
        FUZZ_ASSERT(!strcmp(before, after));
    } else {
        FUZZ_ASSERT(!e);
        g_autofree gchar *once = cascade_recipe_to_string(&r);
        CascadeRecipe     r2;
        cascade_recipe_init(&r2);
        FUZZ_ASSERT(cascade_recipe_from_string(&r2, once, NULL));
        g_autofree gchar *twice = cascade_recipe_to_string(&r2);
        FUZZ_ASSERT(!strcmp(once, twice));
        GError *ve = NULL;
        if (!cascade_recipe_validate(&r, &ve)) {
            FUZZ_ASSERT(ve && ve->message[0]);
            g_error_free(ve);
        }
        gchar *full = cascade_recipe_full_prompt(&r);
        FUZZ_ASSERT(full && g_utf8_validate(full, -1, NULL));
        g_free(full);
        cascade_recipe_clear(&r2);
    }
    cascade_recipe_clear(&r);
    g_free(text);
    return 0;
}
