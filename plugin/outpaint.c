/* Expand Canvas and Fill: the canvas grows by the recipe's margins and the new border is
 * inpainted box by box (job/cascade-outpaint.h) into one new layer. Everything is painted
 * off-image first, into a layer not yet inserted, which also remembers what earlier boxes
 * painted (its alpha); only when every box succeeded are the canvas resize and the
 * insertion made, in one undo group, so a failure or a cancel leaves the image as it was. */
#include "config-plugin.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "cascade-outpaint.h"
#include "cascade-plugin.h"

/* GIMP_MAX_IMAGE_SIZE: the largest canvas edge GIMP 2.10 allows */
#define GIMP_MAX_EDGE 524288

typedef struct {
    const CascadeOutpaint *g;
    gint32                 drawable, layer; /* the user's layer (read only), the one built */
    gint                   dx, dy;          /* the drawable's offsets in the old canvas */
} Canvas;

static gboolean in_old(const CascadeOutpaint *g, gint x, gint y) {
    return x >= g->left && x < g->left + g->width && y >= g->top && y < g->top + g->height;
}

/* Fills the box's unknown pixels (neither old content nor painted by an earlier box) with
 * the nearest known pixel's colour, found breadth-first, then softens the fill with a box
 * blur: the model starts from the old image's edges carried outwards (its background, its
 * colours), where a flat mean colour (the first version) made it draw a new object there. */
static void extend_edges(CascadeImage *im, const CascadeImage *mk, const CascadeImage *painted,
                         const CascadeOutpaint *g, const CascadeOutpaintBox *b) {
    const gint W = b->width, H = b->height;
    const gsize n = (gsize)W * H;
    guint8 *known = g_new0(guint8, n);
    gint   *queue = g_new(gint, n);
    gsize   head = 0, tail = 0;
    (void)mk;
    for (gsize p = 0; p < n; p++)
        if (painted->pixels[p * 4 + 3] > 0 ||
            in_old(g, b->x + (gint)(p % W), b->y + (gint)(p / W))) {
            known[p] = 1;
            queue[tail++] = (gint)p;
        }
    while (head < tail) {
        gint       p = queue[head++], x = p % W, y = p / W;
        const gint nb[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
        for (gint k = 0; k < 4; k++) {
            gint nx = nb[k][0], ny = nb[k][1];
            if (nx < 0 || ny < 0 || nx >= W || ny >= H) continue;
            gint q = ny * W + nx;
            if (known[q]) continue;
            known[q] = 2; /* filled */
            memcpy(im->pixels + (gsize)q * 3, im->pixels + (gsize)p * 3, 3);
            queue[tail++] = q;
        }
    }
    /* a box blur of the filled part (radius an eighth of the box's shorter side): the
     * nearest-pixel fill streaks along the rows and columns it was carried on */
    gint    r = MAX(1, MIN(W, H) / 16);
    guint8 *src = g_memdup2(im->pixels, n * 3);
    for (gint y = 0; y < H; y++)
        for (gint x = 0; x < W; x++) {
            gsize p = (gsize)y * W + x;
            if (known[p] != 2) continue;
            guint32 sum[3] = {0, 0, 0}, cnt = 0;
            for (gint j = MAX(0, y - r); j <= MIN(H - 1, y + r); j++)
                for (gint i = MAX(0, x - r); i <= MIN(W - 1, x + r); i++, cnt++)
                    for (gint k = 0; k < 3; k++)
                        sum[k] += src[((gsize)j * W + i) * 3 + k];
            for (gint k = 0; k < 3; k++)
                im->pixels[p * 3 + k] = (guint8)((sum[k] + cnt / 2) / cnt);
        }
    g_free(src);
    g_free(queue);
    g_free(known);
}

/* What box b shows the model: the old content and what earlier boxes painted, composited
 * as the finished image will show them, the rest carried out from their edges
 * (extend_edges); the mask: the border and overlap not yet painted.
 * painted: the layer's RGBA under b. FALSE when earlier boxes painted all of b's part. */
static gboolean box_inputs(const Canvas *c, const CascadeOutpaintBox *b,
                           const CascadeImage *painted, CascadeImage **image, CascadeImage **mask) {
    const CascadeOutpaint *g = c->g;
    CascadeImage          *old = cascade_drawable_read(c->drawable, b->x - g->left - c->dx,
                                                       b->y - g->top - c->dy, b->width, b->height, 3);
    CascadeImage          *im = cascade_job_image_new(b->width, b->height, 3);
    CascadeImage          *mk = cascade_job_image_new(b->width, b->height, 1);
    guint64                sum[3] = {0, 0, 0}, known = 0;
    gboolean               any = FALSE;
    for (gint j = 0; j < b->height; j++)
        for (gint i = 0; i < b->width; i++) {
            gsize         p = (gsize)j * b->width + i;
            const guint8 *o = old->pixels + p * 3, *d = painted->pixels + p * 4;
            guint8       *px = im->pixels + p * 3;
            guint         t = cascade_outpaint_mask_at(g, b->x + i, b->y + j);
            gboolean      old_px = in_old(g, b->x + i, b->y + j);
            if (d[3] > 0) { /* painted: as the layer mask will show it over the old pixels */
                for (gint k = 0; k < 3; k++)
                    px[k] = old_px ? (guint8)((d[k] * t + o[k] * (255 - t) + 127) / 255) : d[k];
            } else if (old_px) {
                for (gint k = 0; k < 3; k++)
                    px[k] = o[k];
                mk->pixels[p] = (guint8)t;
            } else {
                mk->pixels[p] = 255;
                any = TRUE;
                continue;
            }
            any = any || mk->pixels[p] > 0;
            for (gint k = 0; k < 3; k++)
                sum[k] += px[k];
            known++;
        }
    if (known)
        extend_edges(im, mk, painted, g, b);
    else /* a box with nothing known yet: neutral grey */
        for (gsize p = 0; p < (gsize)b->width * b->height; p++)
            for (gint k = 0; k < 3; k++)
                im->pixels[p * 3 + k] = 128;
    cascade_job_image_free(old);
    if (!any) {
        cascade_job_image_free(im);
        cascade_job_image_free(mk);
        return FALSE;
    }
    *image = im;
    *mask = mk;
    return TRUE;
}

/* Paints every box into c->layer; FALSE with an error (the layer then holds part of it). */
static gboolean paint_boxes(const Canvas *c, const CascadeRecipe *r, GError **error) {
    GArray       *boxes = cascade_outpaint_boxes(c->g);
    CascadeRecipe job;
    cascade_recipe_copy(&job, r);
    /* each box is an inpainting of its own, all with the call's seed, one image each */
    job.mode = CASCADE_MODE_INPAINT;
    job.random_seed = FALSE;
    job.batch = 1;
    job.candidate = -1;
    job.inpaint_strength = 1.0; /* the border has nothing to keep */
    gboolean ok = TRUE;
    gimp_progress_init(_("Expanding the canvas…"));
    for (guint k = 0; ok && k < boxes->len; k++) {
        const CascadeOutpaintBox *b = &g_array_index(boxes, CascadeOutpaintBox, k);
        CascadeImage *painted = cascade_drawable_read(c->layer, b->x, b->y, b->width, b->height, 4);
        CascadeImage *image = NULL, *mask = NULL;
        if (!box_inputs(c, b, painted, &image, &mask)) {
            cascade_job_image_free(painted);
            continue;
        }
        GPtrArray *results = NULL;
        guint64   *seeds = NULL;
        ok = cascade_worker_run_part(&job, image, mask, (gdouble)k / boxes->len, 1.0 / boxes->len,
                                     &results, &seeds, error);
        const CascadeImage *res = ok && results->len ? g_ptr_array_index(results, 0) : NULL;
        if (ok &&
            (!res || res->width != b->width || res->height != b->height || res->channels != 3)) {
            g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                        _("The model returned %d × %d, but %s is %d × %d."), res ? res->width : 0,
                        res ? res->height : 0, _("the context box"), b->width, b->height);
            ok = FALSE;
        }
        if (ok) {
            for (gsize p = 0; p < (gsize)b->width * b->height; p++)
                if (mask->pixels[p] > 0) {
                    for (gint k2 = 0; k2 < 3; k2++)
                        painted->pixels[p * 4 + k2] = res->pixels[p * 3 + k2];
                    painted->pixels[p * 4 + 3] = 255;
                }
            cascade_drawable_write(c->layer, b->x, b->y, painted);
        }
        if (results) g_ptr_array_unref(results);
        g_free(seeds);
        cascade_job_image_free(painted);
        cascade_job_image_free(image);
        cascade_job_image_free(mask);
    }
    gimp_progress_end();
    cascade_recipe_clear(&job);
    g_array_unref(boxes);
    return ok;
}

/* The border's mask into the layer mask, side strip by side strip (the interior stays 0). */
static void write_mask(const CascadeOutpaint *g, gint32 mask) {
    gint W = cascade_outpaint_width(g), H = cascade_outpaint_height(g);
    gint l = g->left ? g->left + g->overlap[0] : 0, t = g->top ? g->top + g->overlap[1] : 0;
    gint r = g->right ? g->right + g->overlap[2] : 0, b = g->bottom ? g->bottom + g->overlap[3] : 0;
    const gint rects[4][4] = {{0, 0, l, H}, {0, 0, W, t}, {W - r, 0, r, H}, {0, H - b, W, b}};
    for (gint s = 0; s < 4; s++) {
        gint x = rects[s][0], y = rects[s][1], w = rects[s][2], h = rects[s][3];
        if (w <= 0 || h <= 0) continue;
        gint band = MAX(1, (1 << 20) / w); /* rows at a time: about a megabyte */
        for (gint y0 = y; y0 < y + h; y0 += band) {
            gint          rows = MIN(band, y + h - y0);
            CascadeImage *m = cascade_job_image_new(w, rows, 1);
            for (gint j = 0; j < rows; j++)
                for (gint i = 0; i < w; i++)
                    m->pixels[(gsize)j * w + i] = cascade_outpaint_mask_at(g, x + i, y0 + j);
            cascade_channel_write(mask, x, y0, m);
            cascade_job_image_free(m);
        }
    }
}

gboolean cascade_outpaint_run(gint32 image, gint32 drawable, const CascadeRecipe *r,
                              CascadeInserted *out, GError **error) {
    CascadeOutpaint g;
    cascade_outpaint_init(&g, gimp_image_width(image), gimp_image_height(image), r->expand_left,
                          r->expand_top, r->expand_right, r->expand_bottom);
    gint64 W = (gint64)g.width + g.left + g.right, H = (gint64)g.height + g.top + g.bottom;
    if (W > GIMP_MAX_EDGE || H > GIMP_MAX_EDGE) {
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_CALLING,
                    _("The expanded canvas would be %d × %d px, larger than GIMP's largest "
                      "image (%d px a side)."),
                    (gint)W, (gint)H, GIMP_MAX_EDGE); /* at most 524288 + 2 x 8192 */
        return FALSE;
    }
    gchar *name = cascade_layers_name(_("Expanded"), r->prompt, r->seed);
    gint32 layer = cascade_layers_new(image, name, (gint)W, (gint)H, error);
    g_free(name);
    if (layer < 0) return FALSE;
    Canvas c = {&g, drawable, layer, 0, 0};
    gimp_drawable_offsets(drawable, &c.dx, &c.dy);
    if (!paint_boxes(&c, r, error)) {
        gimp_item_delete(layer);
        return FALSE;
    }
    CascadeRecipe item;
    cascade_recipe_copy(&item, r);
    item.random_seed = FALSE;
    item.batch = 1;
    item.candidate = -1;
    cascade_parasite_attach(layer, &item);
    cascade_recipe_clear(&item);

    gimp_image_undo_group_start(image);
    /* moves every layer by (left, top) with the old content; sizes and pixels stay */
    gimp_image_resize(image, (gint)W, (gint)H, g.left, g.top);
    gimp_image_insert_layer(image, layer, 0, 0);
    gimp_layer_set_offsets(layer, 0, 0);
    gint32 mask = gimp_layer_create_mask(layer, GIMP_ADD_MASK_BLACK);
    gimp_layer_add_mask(layer, mask);
    write_mask(&g, mask);
    gimp_image_undo_group_end(image);
    out->image = image;
    out->layer = layer;
    return TRUE;
}
