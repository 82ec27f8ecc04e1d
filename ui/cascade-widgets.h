/* The dialog's small widgets: the live preview area and the grid of batch candidates.
 * GTK3, main thread only. */
#ifndef CASCADE_WIDGETS_H
#define CASCADE_WIDGETS_H

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* A new pixbuf holding a copy of 8-bit RGB rows. */
GdkPixbuf *cascade_pixbuf_from_rgb(const guint8 *rgb, gint width, gint height, gint rowstride);

/* A square area showing the latest image (scaled to fit, crisp when enlarged), or a hint
 * when there is none. */
GtkWidget *cascade_preview_area_new(gint size);
/* Shows rgb (width x height, rowstride bytes per row; copied). */
void     cascade_preview_area_set_rgb(GtkWidget *area, const guint8 *rgb, gint width, gint height,
                                      gint rowstride);
void     cascade_preview_area_clear(GtkWidget *area);
gboolean cascade_preview_area_has_image(GtkWidget *area);

/* A grid of candidate thumbnails (GtkFlowBox, single selection). */
GtkWidget *cascade_candidate_grid_new(gint thumb_size);
/* Adds or replaces candidate index (copied), with its seed in the tooltip. */
void cascade_candidate_grid_set(GtkWidget *grid, gint index, guint64 seed, const guint8 *rgb,
                                gint width, gint height, gint rowstride);
void cascade_candidate_grid_clear(GtkWidget *grid);
gint cascade_candidate_grid_count(GtkWidget *grid);
/* The selected candidate's index, -1 when none; select -1 clears the selection. */
gint cascade_candidate_grid_get_selected(GtkWidget *grid);
void cascade_candidate_grid_select(GtkWidget *grid, gint index);
/* The seed a candidate was made with (0 when absent). */
guint64 cascade_candidate_grid_get_seed(GtkWidget *grid, gint index);

G_END_DECLS

#endif
