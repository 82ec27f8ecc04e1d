/* The recipe a result layer carries: a persistent parasite (saved in XCF) holding the
 * recipe's key-file text, version included, so the layer can be regenerated or varied;
 * "Generate" opened on such a layer starts from it. */
#include "config-plugin.h"

#include <string.h>

#include "cascade-plugin.h"

void cascade_parasite_attach(gint32 item, const CascadeRecipe *r) {
    gchar        *text = cascade_recipe_to_string(r);
    GimpParasite *p =
        gimp_parasite_new(CASCADE_PARASITE_NAME, GIMP_PARASITE_PERSISTENT | GIMP_PARASITE_UNDOABLE,
                          strlen(text) + 1, text);
    gimp_item_attach_parasite(item, p);
    gimp_parasite_free(p);
    g_free(text);
}

gboolean cascade_parasite_read(gint32 item, CascadeRecipe *r) {
    GimpParasite *p = gimp_item_get_parasite(item, CASCADE_PARASITE_NAME);
    if (!p) return FALSE;
    /* the data comes from a file: it need not be NUL-terminated */
    glong    size = gimp_parasite_data_size(p);
    gchar   *text = g_strndup(gimp_parasite_data(p), size > 0 ? (gsize)size : 0);
    gboolean ok = g_utf8_validate(text, -1, NULL) && cascade_recipe_from_string(r, text, NULL);
    g_free(text);
    gimp_parasite_free(p);
    return ok;
}
