/* The grid of a batch's candidates: a GtkFlowBox of thumbnails (enlarged with nearest
 * neighbour so 64 px stays crisp), each child carrying its batch index and seed, kept in
 * index order, single selection. */
#include <glib/gi18n-lib.h>

#include "cascade-widgets.h"

#define THUMB_KEY "cascade-thumb-size"
#define INDEX_KEY "cascade-candidate-index"
#define SEED_KEY  "cascade-candidate-seed"

GtkWidget *cascade_candidate_grid_new(gint thumb_size) {
    GtkWidget *fb = gtk_flow_box_new();
    gtk_flow_box_set_selection_mode(GTK_FLOW_BOX(fb), GTK_SELECTION_SINGLE);
    gtk_flow_box_set_homogeneous(GTK_FLOW_BOX(fb), TRUE);
    gtk_flow_box_set_max_children_per_line(GTK_FLOW_BOX(fb), 8);
    gtk_flow_box_set_min_children_per_line(GTK_FLOW_BOX(fb), 4);
    gtk_flow_box_set_activate_on_single_click(GTK_FLOW_BOX(fb), TRUE);
    gtk_widget_set_name(fb, "candidates");
    gtk_widget_set_valign(fb, GTK_ALIGN_START);
    gtk_flow_box_set_row_spacing(GTK_FLOW_BOX(fb), 4);
    gtk_flow_box_set_column_spacing(GTK_FLOW_BOX(fb), 4);
    g_object_set_data(G_OBJECT(fb), THUMB_KEY, GINT_TO_POINTER(thumb_size));
    return fb;
}

static GtkFlowBoxChild *child_of(GtkWidget *grid, gint index) {
    for (gint i = 0;; i++) {
        GtkFlowBoxChild *c = gtk_flow_box_get_child_at_index(GTK_FLOW_BOX(grid), i);
        if (!c) return NULL;
        if (GPOINTER_TO_INT(g_object_get_data(G_OBJECT(c), INDEX_KEY)) == index) return c;
    }
}

void cascade_candidate_grid_set(GtkWidget *grid, gint index, guint64 seed, const guint8 *rgb,
                                gint width, gint height, gint rowstride) {
    g_return_if_fail(index >= 0 && rgb && width > 0 && height > 0);
    gint       t = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(grid), THUMB_KEY));
    GdkPixbuf *pb = cascade_pixbuf_from_rgb(rgb, width, height, rowstride);
    double     s = MIN((double)t / width, (double)t / height);
    GdkPixbuf *thumb =
        gdk_pixbuf_scale_simple(pb, MAX(1, (gint)(width * s)), MAX(1, (gint)(height * s)),
                                s >= 1 ? GDK_INTERP_NEAREST : GDK_INTERP_BILINEAR);
    g_object_unref(pb);
    GtkFlowBoxChild *old = child_of(grid, index);
    if (old) gtk_widget_destroy(GTK_WIDGET(old));
    GtkWidget *img = gtk_image_new_from_pixbuf(thumb);
    g_object_unref(thumb);
    gchar seed_text[24]; /* G_GUINT64_FORMAT cannot sit inside a translatable string */
    g_snprintf(seed_text, sizeof seed_text, "%" G_GUINT64_FORMAT, seed);
    gchar *tip = g_strdup_printf(_("Candidate %d, seed %s"), index + 1, seed_text);
    gtk_widget_set_tooltip_text(img, tip);
    atk_object_set_name(gtk_widget_get_accessible(img), tip);
    g_free(tip);
    GtkWidget *child = gtk_flow_box_child_new();
    gtk_widget_set_valign(child, GTK_ALIGN_START);
    gtk_container_add(GTK_CONTAINER(child), img);
    g_object_set_data(G_OBJECT(child), INDEX_KEY, GINT_TO_POINTER(index));
    guint64 *sp = g_new(guint64, 1);
    *sp = seed;
    g_object_set_data_full(G_OBJECT(child), SEED_KEY, sp, g_free);
    gtk_widget_show_all(child);
    /* keep the grid in index order */
    gint pos = 0;
    for (GtkFlowBoxChild *c; (c = gtk_flow_box_get_child_at_index(GTK_FLOW_BOX(grid), pos)); pos++)
        if (GPOINTER_TO_INT(g_object_get_data(G_OBJECT(c), INDEX_KEY)) > index) break;
    gtk_flow_box_insert(GTK_FLOW_BOX(grid), child, pos);
}

void cascade_candidate_grid_clear(GtkWidget *grid) {
    GList *children = gtk_container_get_children(GTK_CONTAINER(grid));
    for (GList *l = children; l; l = l->next)
        gtk_widget_destroy(l->data);
    g_list_free(children);
}

gint cascade_candidate_grid_count(GtkWidget *grid) {
    GList *children = gtk_container_get_children(GTK_CONTAINER(grid));
    gint   n = (gint)g_list_length(children);
    g_list_free(children);
    return n;
}

gint cascade_candidate_grid_get_selected(GtkWidget *grid) {
    GList *sel = gtk_flow_box_get_selected_children(GTK_FLOW_BOX(grid));
    gint   index = sel ? GPOINTER_TO_INT(g_object_get_data(G_OBJECT(sel->data), INDEX_KEY)) : -1;
    g_list_free(sel);
    return index;
}

void cascade_candidate_grid_select(GtkWidget *grid, gint index) {
    GtkFlowBoxChild *c = index >= 0 ? child_of(grid, index) : NULL;
    if (c)
        gtk_flow_box_select_child(GTK_FLOW_BOX(grid), c);
    else
        gtk_flow_box_unselect_all(GTK_FLOW_BOX(grid));
}

guint64 cascade_candidate_grid_get_seed(GtkWidget *grid, gint index) {
    GtkFlowBoxChild *c = child_of(grid, index);
    guint64         *sp = c ? g_object_get_data(G_OBJECT(c), SEED_KEY) : NULL;
    return sp ? *sp : 0;
}
