/* The live preview: a GtkDrawingArea holding a GdkPixbuf of the current x0 estimate, drawn
 * scaled to fit with nearest-neighbour filtering (a 64 px estimate stays crisp, not
 * smeared), centred on the theme's background, with a hint when empty. */
#include <glib/gi18n-lib.h>
#include <string.h>

#include "cascade-widgets.h"

#define KEY "cascade-preview-pixbuf"

GdkPixbuf *cascade_pixbuf_from_rgb(const guint8 *rgb, gint width, gint height, gint rowstride) {
    GdkPixbuf *pb = gdk_pixbuf_new(GDK_COLORSPACE_RGB, FALSE, 8, width, height);
    guint8    *dst = gdk_pixbuf_get_pixels(pb);
    gint       ds = gdk_pixbuf_get_rowstride(pb);
    for (gint y = 0; y < height; y++)
        memcpy(dst + (gsize)y * ds, rgb + (gsize)y * rowstride, (gsize)width * 3);
    return pb;
}

static gboolean on_draw(GtkWidget *w, cairo_t *cr, gpointer ud) {
    (void)ud;
    gint             W = gtk_widget_get_allocated_width(w), H = gtk_widget_get_allocated_height(w);
    GtkStyleContext *sc = gtk_widget_get_style_context(w);
    gtk_render_background(sc, cr, 0, 0, W, H);
    GdkPixbuf *pb = g_object_get_data(G_OBJECT(w), KEY);
    if (!pb) {
        PangoLayout *layout = gtk_widget_create_pango_layout(w, _("The preview appears here"));
        gint         tw, th;
        pango_layout_get_pixel_size(layout, &tw, &th);
        gtk_style_context_save(sc);
        gtk_style_context_add_class(sc, "dim-label");
        gtk_render_layout(sc, cr, (W - tw) / 2.0, (H - th) / 2.0, layout);
        gtk_style_context_restore(sc);
        g_object_unref(layout);
        return FALSE;
    }
    gint   pw = gdk_pixbuf_get_width(pb), ph = gdk_pixbuf_get_height(pb);
    double s = MIN((double)W / pw, (double)H / ph);
    cairo_save(cr);
    cairo_translate(cr, (W - pw * s) / 2, (H - ph * s) / 2);
    cairo_scale(cr, s, s);
    gdk_cairo_set_source_pixbuf(cr, pb, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr),
                             s >= 1 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
    return FALSE;
}

GtkWidget *cascade_preview_area_new(gint size) {
    GtkWidget *w = gtk_drawing_area_new();
    gtk_widget_set_size_request(w, size, size);
    gtk_widget_set_name(w, "preview");
    g_signal_connect(w, "draw", G_CALLBACK(on_draw), NULL);
    return w;
}

void cascade_preview_area_set_rgb(GtkWidget *area, const guint8 *rgb, gint width, gint height,
                                  gint rowstride) {
    g_return_if_fail(rgb && width > 0 && height > 0 && rowstride >= width * 3);
    g_object_set_data_full(G_OBJECT(area), KEY,
                           cascade_pixbuf_from_rgb(rgb, width, height, rowstride), g_object_unref);
    gtk_widget_queue_draw(area);
}

void cascade_preview_area_clear(GtkWidget *area) {
    g_object_set_data(G_OBJECT(area), KEY, NULL);
    gtk_widget_queue_draw(area);
}

gboolean cascade_preview_area_has_image(GtkWidget *area) {
    return g_object_get_data(G_OBJECT(area), KEY) != NULL;
}
