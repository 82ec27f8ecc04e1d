/* The selection as an inpainting mask: the soft selection channel (feathered edges keep
 * their partial values), or the Quick Mask channel while Quick Mask is on; its bounds
 * grown by a context margin and clipped to the canvas give the crop the model sees. */
#include "config-plugin.h"

#include <glib/gi18n-lib.h>

#include "cascade-plugin.h"

/* In Quick Mask mode GIMP keeps the mask being painted in a channel named "Qmask" and the
 * selection itself is empty until Quick Mask is switched off. */
#define QUICK_MASK_NAME "Qmask"

static gboolean any_set(const CascadeImage *mask) {
    gsize n = (gsize)mask->width * mask->height;
    for (gsize i = 0; i < n; i++)
        if (mask->pixels[i]) return TRUE;
    return FALSE;
}

/* Bounds of the non-zero values of a whole-canvas channel. */
static gboolean channel_bounds(gint32 channel, gint *x1, gint *y1, gint *x2, gint *y2) {
    gint          w = gimp_drawable_width(channel), h = gimp_drawable_height(channel);
    CascadeImage *all = cascade_channel_read(channel, 0, 0, w, h);
    gint          bx1 = w, by1 = h, bx2 = 0, by2 = 0;
    for (gint y = 0; y < h; y++)
        for (gint x = 0; x < w; x++)
            if (all->pixels[(gsize)y * w + x]) {
                bx1 = MIN(bx1, x), by1 = MIN(by1, y);
                bx2 = MAX(bx2, x + 1), by2 = MAX(by2, y + 1);
            }
    cascade_job_image_free(all);
    if (bx1 >= bx2) return FALSE;
    *x1 = bx1, *y1 = by1, *x2 = bx2, *y2 = by2;
    return TRUE;
}

gboolean cascade_selection_crop(gint32 image, gint margin, CascadeSelectionCrop *crop,
                                GError **error) {
    gboolean non_empty = FALSE;
    gint     x1 = 0, y1 = 0, x2 = 0, y2 = 0;
    gint32   channel = gimp_image_get_selection(image);
    gimp_selection_bounds(image, &non_empty, &x1, &y1, &x2, &y2);
    if (!non_empty) {
        gint32 qmask = gimp_image_get_channel_by_name(image, QUICK_MASK_NAME);
        if (qmask > 0 && channel_bounds(qmask, &x1, &y1, &x2, &y2)) {
            channel = qmask;
            non_empty = TRUE;
        }
    }
    if (!non_empty) {
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                    _("The selection is empty: select the area to repaint first."));
        return FALSE;
    }
    gint iw = gimp_image_width(image), ih = gimp_image_height(image);
    margin = MAX(margin, 0);
    crop->x = MAX(x1 - margin, 0);
    crop->y = MAX(y1 - margin, 0);
    crop->width = MIN(x2 + margin, iw) - crop->x;
    crop->height = MIN(y2 + margin, ih) - crop->y;
    crop->mask = cascade_channel_read(channel, crop->x, crop->y, crop->width, crop->height);
    if (crop->width <= 0 || crop->height <= 0 || !any_set(crop->mask)) {
        cascade_selection_crop_clear(crop);
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                    _("The selection is empty: select the area to repaint first."));
        return FALSE;
    }
    return TRUE;
}

void cascade_selection_crop_clear(CascadeSelectionCrop *crop) {
    cascade_job_image_free(crop->mask);
    crop->mask = NULL;
}
