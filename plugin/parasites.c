/* What the plug-in keeps in an image, as persistent parasites (saved in XCF): the recipe a
 * result layer carries, its key-file text, version included, so the layer can be regenerated
 * or varied ("Generate" opened on such a layer starts from it); and the shape last generated
 * on an image, which "Generate" opened on that image starts from. */
#include "config-plugin.h"

#include <string.h>

#include "cascade-plugin.h"
#include "cascade/aspect.h"

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

void cascade_shape_parasite_attach(gint32 image, const gchar *aspect) {
    if (!aspect || !*aspect) return;
    /* not undoable: GIMP pushes an undo step only for undoable parasites, and remembering the
     * shape is no edit of the image (undoing the run keeps it, as last values are kept) */
    GimpParasite *p = gimp_parasite_new(CASCADE_SHAPE_PARASITE_NAME, GIMP_PARASITE_PERSISTENT,
                                        strlen(aspect) + 1, aspect);
    gimp_image_attach_parasite(image, p);
    gimp_parasite_free(p);
}

gchar *cascade_shape_parasite_read(gint32 image) {
    GimpParasite *p = gimp_image_get_parasite(image, CASCADE_SHAPE_PARASITE_NAME);
    if (!p) return NULL;
    glong  size = gimp_parasite_data_size(p);
    gchar *text = g_strndup(gimp_parasite_data(p), size > 0 && size < 64 ? (gsize)size : 0);
    gimp_parasite_free(p);
    double        ratio = 0;
    cascade_error err;
    cascade_error_init(&err);
    /* from a file: only a shape the run would accept */
    if (!g_utf8_validate(text, -1, NULL) ||
        cascade_aspect_parse(text, &ratio, &err) != CASCADE_STATUS_OK)
        g_clear_pointer(&text, g_free);
    return text;
}
