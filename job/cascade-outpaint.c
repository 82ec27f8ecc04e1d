/* Outpainting geometry: the border mask and the context boxes (see cascade-outpaint.h). */
#include "cascade-outpaint.h"

gint cascade_outpaint_overlap(gint margin, gint old_extent) {
    if (margin <= 0 || old_extent < 4) return 0;
    return MIN(CLAMP(margin / 10, 2, 64), old_extent / 4);
}

void cascade_outpaint_init(CascadeOutpaint *o, gint width, gint height, gint left, gint top,
                           gint right, gint bottom) {
    *o = (CascadeOutpaint){width, height, left, top, right, bottom, {0, 0, 0, 0}};
    o->overlap[0] = cascade_outpaint_overlap(left, width);
    o->overlap[1] = cascade_outpaint_overlap(top, height);
    o->overlap[2] = cascade_outpaint_overlap(right, width);
    o->overlap[3] = cascade_outpaint_overlap(bottom, height);
}

gint cascade_outpaint_width(const CascadeOutpaint *o) {
    return o->width + o->left + o->right;
}

gint cascade_outpaint_height(const CascadeOutpaint *o) {
    return o->height + o->top + o->bottom;
}

/* d pixels inside the old content from a side's edge, over an overlap of n: 255 n/(n+1) at
 * the edge down to 255/(n+1), 0 past it. */
static guint ramp(gint d, gint n) {
    return d < n ? (guint)(255 * (n - d) / (n + 1)) : 0;
}

guint8 cascade_outpaint_mask_at(const CascadeOutpaint *o, gint x, gint y) {
    gint x0 = o->left, x1 = o->left + o->width, y0 = o->top, y1 = o->top + o->height;
    if (x < x0 || x >= x1 || y < y0 || y >= y1) return 255; /* the new border */
    guint v = 0;
    if (o->left > 0) v = MAX(v, ramp(x - x0, o->overlap[0]));
    if (o->top > 0) v = MAX(v, ramp(y - y0, o->overlap[1]));
    if (o->right > 0) v = MAX(v, ramp(x1 - 1 - x, o->overlap[2]));
    if (o->bottom > 0) v = MAX(v, ramp(y1 - 1 - y, o->overlap[3]));
    return (guint8)v;
}

/* Boxes of length len spread over total (the first at 0, the last flush with the end), a
 * quarter of a box overlapping the next at least; appended with the given depth side. */
static void along(GArray *boxes, gboolean vertical_side, gint at, gint depth, gint total,
                  gint len) {
    gint n = total <= len ? 1 : 1 + (total - len + len * 3 / 4 - 1) / MAX(len * 3 / 4, 1);
    for (gint k = 0; k < n; k++) {
        gint               p = n > 1 ? (gint)((gint64)k * (total - len) / (n - 1)) : 0;
        CascadeOutpaintBox b = vertical_side ? (CascadeOutpaintBox){at, p, depth, len}
                                             : (CascadeOutpaintBox){p, at, len, depth};
        g_array_append_val(boxes, b);
    }
}

GArray *cascade_outpaint_boxes(const CascadeOutpaint *o) {
    GArray    *boxes = g_array_new(FALSE, FALSE, sizeof(CascadeOutpaintBox));
    gint       W = cascade_outpaint_width(o), H = cascade_outpaint_height(o);
    const gint margins[4] = {o->left, o->top, o->right, o->bottom};
    for (gint s = 0; s < 4; s++) {
        gint m = margins[s];
        if (m <= 0) continue;
        gboolean vertical = s == 0 || s == 2; /* the left and right strips run top to bottom */
        gint     across = vertical ? W : H, length = vertical ? H : W;
        gint     edge = MAX(CASCADE_OUTPAINT_BOX_EDGE, 2 * m);
        gint     len = MIN(edge, length);
        /* square where the canvas allows; on a canvas thinner than the box along the side,
         * no deeper than twice its length (a squashed box paints squashed shapes), but
         * always the whole margin and its overlap */
        gint depth = MIN(edge, across);
        depth = MIN(depth, MAX(2 * len, m + 2 * o->overlap[s] + 1));
        depth = MIN(depth, across);
        gint at = s < 2 ? 0 : across - depth;
        along(boxes, vertical, at, depth, length, len);
    }
    return boxes;
}
