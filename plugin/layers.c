/* Results into the image. Every result layer is built off-image (created, filled, given
 * its parasite and mask) and only then inserted, all insertions inside one undo group, so
 * an error before that point leaves the image exactly as it was, and the user's own
 * layers are never written to. */
#include "config-plugin.h"

#include <glib/gi18n-lib.h>

#include "cascade-plugin.h"

#define NAME_PROMPT_CHARS 32

gchar *cascade_layers_name(const gchar *prefix, const gchar *prompt, guint64 seed) {
    gchar *p = g_strdup(prompt ? prompt : "");
    g_strstrip(p);
    g_strdelimit(p, "\r\n\t", ' ');
    if (g_utf8_strlen(p, -1) > NAME_PROMPT_CHARS) {
        gchar *cut = g_utf8_substring(p, 0, NAME_PROMPT_CHARS);
        g_free(p);
        p = g_strconcat(cut, "…", NULL);
        g_free(cut);
    }
    gchar *name = prefix ? g_strdup_printf("%s: %s #%" G_GUINT64_FORMAT, prefix, p, seed)
                         : g_strdup_printf("%s #%" G_GUINT64_FORMAT, p, seed);
    g_free(p);
    return name;
}

gint32 cascade_layers_new(gint32 image, const gchar *name, gint width, gint height,
                          GError **error) {
    GimpImageType type;
    switch (gimp_image_base_type(image)) {
    case GIMP_RGB: type = GIMP_RGBA_IMAGE; break;
    case GIMP_GRAY: type = GIMP_GRAYA_IMAGE; break;
    default:
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                    _("Indexed images are not supported: convert the image to RGB first "
                      "(Image → Mode → RGB)."));
        return -1;
    }
    gint32 layer = gimp_layer_new(image, name, width, height, type, 100.0, GIMP_LAYER_MODE_NORMAL);
    if (layer < 0)
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                    _("Could not create a %d × %d layer."), width, height);
    return layer;
}

/* Deletes built layers that were never inserted. */
static void discard(GArray *layers) {
    for (guint i = 0; i < layers->len; i++)
        gimp_item_delete(g_array_index(layers, gint32, i));
}

/* The recipe a single result was made with: its own seed, reproducible alone. */
static void recipe_of_item(CascadeRecipe *dst, const CascadeRecipe *r, guint64 seed) {
    cascade_recipe_copy(dst, r);
    dst->seed = seed;
    dst->random_seed = FALSE;
    dst->batch = 1;
    dst->candidate = -1;
}

static gint32 build_result(gint32 image, const gchar *prefix, const CascadeRecipe *r,
                           const CascadeImage *px, guint64 seed, GError **error) {
    gchar *name = cascade_layers_name(prefix, r->prompt, seed);
    gint32 layer = cascade_layers_new(image, name, px->width, px->height, error);
    g_free(name);
    if (layer < 0) return -1;
    cascade_drawable_write(layer, 0, 0, px);
    CascadeRecipe item;
    recipe_of_item(&item, r, seed);
    cascade_parasite_attach(layer, &item);
    cascade_recipe_clear(&item);
    return layer;
}

gboolean cascade_layers_insert_generated(gint32 image, const CascadeRecipe *r, GPtrArray *results,
                                         const guint64 *seeds, gboolean interactive,
                                         CascadeInserted *out, GError **error) {
    if (!results || results->len == 0) {
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                    _("The model returned no image."));
        return FALSE;
    }
    const CascadeImage *first = g_ptr_array_index(results, 0);
    gboolean            new_image = !gimp_image_is_valid(image);
    if (new_image) {
        image = gimp_image_new(first->width, first->height, GIMP_RGB);
        if (image < 0) {
            g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                        _("Could not create a new image."));
            return FALSE;
        }
        gimp_image_undo_disable(image);
    }
    GArray *built = g_array_new(FALSE, FALSE, sizeof(gint32));
    for (guint i = 0; i < results->len; i++) {
        gint32 layer = build_result(image, NULL, r, g_ptr_array_index(results, i), seeds[i], error);
        if (layer < 0) {
            discard(built);
            g_array_unref(built);
            if (new_image) gimp_image_delete(image);
            return FALSE;
        }
        g_array_append_val(built, layer);
    }

    gimp_image_undo_group_start(image);
    gint32 parent = 0, top = g_array_index(built, gint32, 0);
    if (built->len > 1) {
        /* a batch: one group, named from the prompt and the first seed */
        gchar *name = cascade_layers_name(NULL, r->prompt, seeds[0]);
        gchar *group_name = g_strdup_printf(_("%s (%u variations)"), name, built->len);
        parent = top = gimp_layer_group_new(image);
        gimp_item_set_name(parent, group_name);
        gimp_image_insert_layer(image, parent, 0, -1);
        g_free(group_name), g_free(name);
    }
    /* in batch order from the top: the first variation is the one you see */
    for (gint i = (gint)built->len - 1; i >= 0; i--)
        gimp_image_insert_layer(image, g_array_index(built, gint32, i), parent, parent ? 0 : -1);
    gimp_image_undo_group_end(image);
    g_array_unref(built);

    if (new_image) {
        gimp_image_undo_enable(image);
        if (interactive) gimp_display_new(image);
    }
    out->image = image;
    out->layer = top;
    return TRUE;
}

gboolean cascade_layers_insert_inpainted(gint32 image, const CascadeRecipe *r,
                                         const CascadeSelectionCrop *crop, GPtrArray *results,
                                         const guint64 *seeds, CascadeInserted *out,
                                         GError **error) {
    if (!results || results->len == 0) {
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                    _("The model returned no image."));
        return FALSE;
    }
    const CascadeImage *px = g_ptr_array_index(results, 0);
    if (px->width != crop->width || px->height != crop->height) {
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                    _("The inpainted image is %d × %d, the selection's crop %d × %d."), px->width,
                    px->height, crop->width, crop->height);
        return FALSE;
    }
    gint32 layer = build_result(image, _("Inpaint"), r, px, seeds[0], error);
    if (layer < 0) return FALSE;
    gimp_layer_set_offsets(layer, crop->x, crop->y);

    gimp_image_undo_group_start(image);
    gimp_image_insert_layer(image, layer, 0, -1);
    /* the mask is the selection itself (soft values kept), over the crop */
    gint32 mask = gimp_layer_create_mask(layer, GIMP_ADD_MASK_BLACK);
    gimp_layer_add_mask(layer, mask);
    cascade_channel_write(mask, 0, 0, crop->mask);
    gimp_image_undo_group_end(image);
    out->image = image;
    out->layer = layer;
    return TRUE;
}

gboolean cascade_layers_insert_built(gint32 image, gint32 layer, gint x, gint y, GError **error) {
    (void)error;
    gint w = gimp_drawable_width(layer), h = gimp_drawable_height(layer);
    gimp_image_undo_group_start(image);
    if (x + w > gimp_image_width(image) || y + h > gimp_image_height(image))
        gimp_image_resize(image, MAX(gimp_image_width(image), x + w),
                          MAX(gimp_image_height(image), y + h), 0, 0);
    gimp_layer_set_offsets(layer, x, y);
    gimp_image_insert_layer(image, layer, 0, -1);
    gimp_image_undo_group_end(image);
    return TRUE;
}
