/* Outpainting geometry ("Expand Canvas and Fill"): which pixels of the grown canvas are
 * repainted, how strongly (the mask), and the context boxes the inpainting job runs on.
 *
 * The inpainting job resamples whatever crop it is given to the model's square size, so a
 * long thin border cropped as one box would be squashed, and a whole large canvas scaled
 * down would leave the new border a few dozen model pixels wide. Instead each side's strip
 * is covered by square boxes of about the model's edge (at least twice the margin, so each
 * box sees as much known content as it paints), flush with the canvas edge and overlapping
 * by a quarter along the side; they are repainted in order, each seeing what the ones
 * before painted. Plain GLib: no GTK, no GIMP. */
#ifndef CASCADE_OUTPAINT_H
#define CASCADE_OUTPAINT_H

#include <glib.h>

G_BEGIN_DECLS

/* The output edge of the IF cascade's stage II: a box this size is painted at full
 * resolution. */
#define CASCADE_OUTPAINT_BOX_EDGE 256

typedef struct {
    gint width, height;            /* the canvas before growing */
    gint left, top, right, bottom; /* pixels added on each side, >= 0 */
    gint overlap[4];               /* px the mask reaches into the old content, per side
                                      (left, top, right, bottom; 0 where nothing is added) */
} CascadeOutpaint;

typedef struct {
    gint x, y, width, height; /* in the grown canvas */
} CascadeOutpaintBox;

/* The blend overlap of one side: a tenth of its margin, 2..64 px, at most a quarter of the
 * old content across (0 when margin is 0). */
gint cascade_outpaint_overlap(gint margin, gint old_extent);
void cascade_outpaint_init(CascadeOutpaint *o, gint width, gint height, gint left, gint top,
                           gint right, gint bottom);
gint cascade_outpaint_width(const CascadeOutpaint *o);  /* width + left + right */
gint cascade_outpaint_height(const CascadeOutpaint *o); /* height + top + bottom */
/* The mask at (x, y) of the grown canvas: 255 on the new border, falling linearly to 0
 * across the overlap into the old content, 0 elsewhere. */
guint8 cascade_outpaint_mask_at(const CascadeOutpaint *o, gint x, gint y);
/* The context boxes in the order they are painted (left, top, right, bottom side), each
 * inside the grown canvas; a box whose part of the border an earlier box already painted
 * is left out by the caller (its mask is then empty). GArray of CascadeOutpaintBox. */
GArray *cascade_outpaint_boxes(const CascadeOutpaint *o);

G_END_DECLS

#endif
