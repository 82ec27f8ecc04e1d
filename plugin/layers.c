/* Results into the image. Every result layer is built off-image (created, filled, given
 * its parasite and mask) and only then inserted, all insertions inside one undo group, so
 * an error before that point leaves the image exactly as it was, and the user's own
 * layers are never written to. */
#include "config-plugin.h"

#include <glib/gi18n-lib.h>
#include <math.h>

#include "cascade-plugin.h"

#define NAME_PROMPT_CHARS 32

/* The prompt as a name: one line, at most NAME_PROMPT_CHARS characters (g_free). */
static gchar *short_prompt(const gchar *prompt) {
    gchar *p = g_strdup(prompt ? prompt : "");
    g_strstrip(p);
    g_strdelimit(p, "\r\n\t", ' ');
    if (g_utf8_strlen(p, -1) > NAME_PROMPT_CHARS) {
        gchar *cut = g_utf8_substring(p, 0, NAME_PROMPT_CHARS);
        g_free(p);
        p = g_strconcat(cut, "…", NULL);
        g_free(cut);
    }
    return p;
}

/* The seed is not the name's last word: GIMP makes a duplicate layer name unique by
 * counting up a trailing "#<number>", which would turn "fox #42" into "fox #43", a name
 * showing another seed. "fox (seed 42)" becomes "fox (seed 42) #1" instead. */
gchar *cascade_layers_name(const gchar *prefix, const gchar *prompt, guint64 seed) {
    gchar *p = short_prompt(prompt);
    gchar  s[24];
    g_snprintf(s, sizeof s, "%" G_GUINT64_FORMAT, seed);
    /* TRANSLATORS: a result layer's name: the prompt, then the seed it was made with */
    gchar *named = g_strdup_printf(_("%s (seed %s)"), p, s);
    gchar *name = prefix ? g_strdup_printf("%s: %s", prefix, named) : g_strdup(named);
    g_free(named), g_free(p);
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

/* Inserts built layers (batch order) at the top of image, or directly above the layer
 * `above` (> 0) in its group, the caller holding an undo group: one layer as it is, several
 * in a new layer group named from the prompt and their seeds, the first variation on top.
 * Returns the layer or the group. */
static gint32 insert_batch(gint32 image, GArray *built, const gchar *prefix, const gchar *prompt,
                           const guint64 *seeds, gint32 above) {
    gint32 parent = 0, top = g_array_index(built, gint32, 0);
    gint32 at_parent = above > 0 ? MAX(gimp_item_get_parent(above), 0) : 0;
    gint   at = above > 0 ? gimp_image_get_item_position(image, above) : -1;
    if (built->len > 1) {
        gchar *p = short_prompt(prompt), first[24], last[24];
        g_snprintf(first, sizeof first, "%" G_GUINT64_FORMAT, seeds[0]);
        g_snprintf(last, sizeof last, "%" G_GUINT64_FORMAT, seeds[built->len - 1]);
        /* TRANSLATORS: a layer group of variations: the prompt, the first and last seed */
        gchar *named = g_strdup_printf(_("%s (seeds %s–%s)"), p, first, last);
        gchar *name = prefix ? g_strdup_printf("%s: %s", prefix, named) : g_strdup(named);
        parent = top = gimp_layer_group_new(image);
        gimp_item_set_name(parent, name);
        gimp_image_insert_layer(image, parent, at_parent, at);
        g_free(name), g_free(named), g_free(p);
    }
    for (gint i = (gint)built->len - 1; i >= 0; i--)
        gimp_image_insert_layer(image, g_array_index(built, gint32, i), parent ? parent : at_parent,
                                parent ? 0 : at);
    return top;
}

/* Where a generated layer goes in an image that was open: into the selection's bounding box
 * when there is a selection (scaled to cover the box, centred, cropped to it: filled, not
 * distorted), else centred on the canvas. The layer is inserted (GIMP scales only attached
 * layers); the caller holds the undo group. */
static void place_generated(gint32 image, gint32 layer) {
    gint     w = gimp_drawable_width(layer), h = gimp_drawable_height(layer);
    gboolean non_empty = FALSE;
    gint     x1 = 0, y1 = 0, x2 = 0, y2 = 0;
    gimp_selection_bounds(image, &non_empty, &x1, &y1, &x2, &y2);
    if (!non_empty || x2 <= x1 || y2 <= y1) {
        gimp_layer_set_offsets(layer, (gimp_image_width(image) - w) / 2,
                               (gimp_image_height(image) - h) / 2);
        return;
    }
    gint    bw = x2 - x1, bh = y2 - y1;
    gdouble scale = MAX((gdouble)bw / w, (gdouble)bh / h);
    gint    sw = MAX((gint)ceil(w * scale - 1e-9), bw), sh = MAX((gint)ceil(h * scale - 1e-9), bh);
    if (sw != w || sh != h) gimp_layer_scale(layer, sw, sh, TRUE);
    gimp_layer_resize(layer, bw, bh, -(sw - bw) / 2, -(sh - bh) / 2);
    gimp_layer_set_offsets(layer, x1, y1);
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
    gint32 top = insert_batch(image, built, NULL, r->prompt, seeds, -1);
    for (guint i = 0; !new_image && i < built->len; i++)
        place_generated(image, g_array_index(built, gint32, i));
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

/* Builds every result (each w x h, else an error naming `what`) as a layer at (x, y),
 * named with prefix; NULL (nothing left behind) on failure. */
static GArray *build_at(gint32 image, const CascadeRecipe *r, GPtrArray *results,
                        const guint64 *seeds, const gchar *prefix, const gchar *what, gint x,
                        gint y, gint w, gint h, GError **error) {
    if (!results || results->len == 0) {
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                    _("The model returned no image."));
        return NULL;
    }
    GArray *built = g_array_new(FALSE, FALSE, sizeof(gint32));
    for (guint i = 0; i < results->len; i++) {
        const CascadeImage *px = g_ptr_array_index(results, i);
        gint32              layer = -1;
        if (px->width != w || px->height != h)
            /* TRANSLATORS: what the result should fit ("the selection's crop", "the layer") */
            g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                        _("The model returned %d × %d, but %s is %d × %d."), px->width, px->height,
                        what, w, h);
        else
            layer = build_result(image, prefix, r, px, seeds[i], error);
        if (layer < 0) {
            discard(built);
            g_array_unref(built);
            return NULL;
        }
        gimp_layer_set_offsets(layer, x, y);
        g_array_append_val(built, layer);
    }
    return built;
}

gboolean cascade_layers_insert_inpainted(gint32 image, const CascadeRecipe *r,
                                         const CascadeSelectionCrop *crop, GPtrArray *results,
                                         const guint64 *seeds, CascadeInserted *out,
                                         GError **error) {
    GArray *built = build_at(image, r, results, seeds, _("Inpaint"), _("the selection's crop"),
                             crop->x, crop->y, crop->width, crop->height, error);
    if (!built) return FALSE;
    gimp_image_undo_group_start(image);
    gint32 top = insert_batch(image, built, _("Inpaint"), r->prompt, seeds, -1);
    /* each layer's mask is the selection itself (soft values kept), over the crop */
    for (guint i = 0; i < built->len; i++) {
        gint32 layer = g_array_index(built, gint32, i);
        gint32 mask = gimp_layer_create_mask(layer, GIMP_ADD_MASK_BLACK);
        gimp_layer_add_mask(layer, mask);
        cascade_channel_write(mask, 0, 0, crop->mask);
    }
    gimp_image_undo_group_end(image);
    g_array_unref(built);
    out->image = image;
    out->layer = top;
    return TRUE;
}

gboolean cascade_layers_insert_variations(gint32 image, gint32 source, const CascadeRecipe *r,
                                          GPtrArray *results, const guint64 *seeds,
                                          CascadeInserted *out, GError **error) {
    gint x = 0, y = 0;
    gimp_drawable_offsets(source, &x, &y);
    GArray *built = build_at(image, r, results, seeds, _("Variation"), _("the layer"), x, y,
                             gimp_drawable_width(source), gimp_drawable_height(source), error);
    if (!built) return FALSE;
    gimp_image_undo_group_start(image);
    gint32 top = insert_batch(image, built, _("Variation"), r->prompt, seeds, source);
    gimp_image_undo_group_end(image);
    g_array_unref(built);
    out->image = image;
    out->layer = top;
    return TRUE;
}

/* Enlarges mask (w x h) f times into big (w*f x h*f) by bilinear interpolation between
 * pixel centres, in bands of output rows so memory stays a few MB whatever the size. */
static void enlarge_mask(gint32 mask, gint32 big, gint f) {
    gint   w = gimp_drawable_width(mask), h = gimp_drawable_height(mask);
    gint   bw = w * f, bh = h * f, band = MAX(1, (4 << 20) / MAX(bw, 1));
    gint  *x0 = g_new(gint, bw);
    float *fx = g_new(float, bw);
    for (gint x = 0; x < bw; x++) {
        float sx = CLAMP((x + 0.5f) / f - 0.5f, 0.0f, (float)(w - 1));
        x0[x] = MIN((gint)sx, w - 1);
        fx[x] = sx - (float)x0[x];
    }
    for (gint oy = 0; oy < bh; oy += band) {
        gint rows = MIN(band, bh - oy);
        gint sy0 = (gint)CLAMP((oy + 0.5f) / f - 0.5f, 0.0f, (float)(h - 1));
        gint sy1 = MIN((gint)CLAMP((oy + rows - 0.5f) / f - 0.5f, 0.0f, h - 1.0f) + 1, h - 1);
        CascadeImage *src = cascade_channel_read(mask, 0, sy0, w, sy1 - sy0 + 1);
        CascadeImage *dst = cascade_job_image_new(bw, rows, 1);
        for (gint y = 0; y < rows; y++) {
            float         sy = CLAMP((oy + y + 0.5f) / f - 0.5f, 0.0f, (float)(h - 1));
            gint          ya = MIN((gint)sy, h - 1), yb = MIN(ya + 1, h - 1);
            float         fy = sy - (float)ya;
            const guint8 *ra = src->pixels + (gsize)(ya - sy0) * w;
            const guint8 *rb = src->pixels + (gsize)(yb - sy0) * w;
            guint8       *o = dst->pixels + (gsize)y * bw;
            for (gint x = 0; x < bw; x++) {
                gint  xa = x0[x], xb = MIN(xa + 1, w - 1);
                float top = ra[xa] + (ra[xb] - ra[xa]) * fx[x];
                float bot = rb[xa] + (rb[xb] - rb[xa]) * fx[x];
                o[x] = (guint8)(top + (bot - top) * fy + 0.5f);
            }
        }
        cascade_channel_write(big, 0, oy, dst);
        cascade_job_image_free(src);
        cascade_job_image_free(dst);
    }
    g_free(x0);
    g_free(fx);
}

gboolean cascade_layers_insert_upscaled(gint32 image, gint32 layer, gint32 source, gint factor,
                                        GError **error) {
    (void)error;
    gint x = 0, y = 0, w = gimp_drawable_width(layer), h = gimp_drawable_height(layer);
    gimp_drawable_offsets(source, &x, &y);
    gimp_image_undo_group_start(image);
    if (x + w > gimp_image_width(image) || y + h > gimp_image_height(image))
        gimp_image_resize(image, MAX(gimp_image_width(image), x + w),
                          MAX(gimp_image_height(image), y + h), 0, 0);
    gimp_layer_set_offsets(layer, x, y);
    gimp_image_insert_layer(image, layer, 0, -1);
    /* the source's layer mask, enlarged with it (an inpainted layer keeps its shape) */
    gint32 source_mask = gimp_layer_get_mask(source);
    if (source_mask > 0) {
        gint32 mask = gimp_layer_create_mask(layer, GIMP_ADD_MASK_WHITE);
        gimp_layer_add_mask(layer, mask);
        enlarge_mask(source_mask, mask, factor);
        gimp_layer_set_apply_mask(layer, gimp_layer_get_apply_mask(source));
    }
    gimp_image_undo_group_end(image);
    return TRUE;
}
