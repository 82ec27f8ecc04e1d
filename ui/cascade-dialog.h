/* CascadeDialog: the GTK3 dialog of the three procedures (generate, inpaint, upscale).
 *
 * Prompt and negative prompt, model/preset pickers, seed (random or fixed, re-roll),
 * steps, guidance, batch, stage II on/off, context margin (inpaint), factor and tile
 * (upscale), backend/device; a progress bar, a live preview, a grid of the batch's
 * candidates to pick from, Generate (Enter) and Cancel (Esc). Talks only to the host
 * (ui-host.h), never to GIMP. */
#ifndef CASCADE_DIALOG_H
#define CASCADE_DIALOG_H

#include <gtk/gtk.h>

#include "cascade-job.h"
#include "cascade-recipe.h"
#include "ui-host.h"

G_BEGIN_DECLS

#define CASCADE_TYPE_DIALOG (cascade_dialog_get_type())
G_DECLARE_FINAL_TYPE(CascadeDialog, cascade_dialog, CASCADE, DIALOG, GtkDialog)

/* A dialog editing a copy of recipe (its mode picks which controls show). host is borrowed
 * and must outlive the dialog. parent may be NULL. */
GtkWidget *cascade_dialog_new(const CascadeRecipe *recipe, CascadeUiHost *host,
                              GtkWindow *parent);

/* Makes the dialog transient for a window of another process given by its native handle
 * (GIMP 2.10: gimp_display_get_window_handle(), an X11 window id), so it stays above GIMP's
 * image window and centres on it. A no-op for 0 or when not running on X11. */
void cascade_dialog_set_transient_for_handle(CascadeDialog *dialog, guint32 handle);

/* Upscale mode: the sizes of what it may enlarge, the active layer and the whole image (0 x 0:
 * none), for the result's size and the estimate of time and memory shown before running. */
void cascade_dialog_set_upscale_sizes(CascadeDialog *dialog, gint layer_width, gint layer_height,
                                      gint image_width, gint image_height);

/* Generate mode opened on an image: aspect ("W:H") is the shape last used on that image,
 * which Size starts from instead of the recipe's (last values); the preset stays selected.
 * Other modes, NULL, or text that is no valid shape (it may come from a file): no change. */
void cascade_dialog_set_image_shape(CascadeDialog *dialog, const gchar *aspect);

/* Runs the dialog modally. GTK_RESPONSE_OK: the user accepted; *out (init'ed by the
 * caller) receives the final recipe, with `candidate` set to the chosen batch item or -1.
 * With a candidate, `seed` is that batch's base seed (the item's own is seed + candidate)
 * and `random_seed` is FALSE, so the recipe reproduces the picked image whichever way the
 * caller runs it (candidate kept, or folded into seed with batch 1 and candidate -1).
 * Any other response: cancelled, *out untouched. */
gint cascade_dialog_run_recipe(CascadeDialog *dialog, CascadeRecipe *out);

/* Host -> dialog, main thread only. */
void cascade_dialog_report_progress(CascadeDialog *dialog, gint stage, gint step, gint total);
void cascade_dialog_report_preview(CascadeDialog *dialog, gint index, const guint8 *rgb,
                                   gint width, gint height, gint rowstride);
void cascade_dialog_report_candidate(CascadeDialog *dialog, gint index, guint64 seed,
                                     const guint8 *rgb, gint width, gint height,
                                     gint rowstride);
/* The same for a job's result as it comes (cascade-job.h): RGB, or RGBA (an inpainted crop of
 * a layer with alpha), shown over a checkerboard as GIMP shows transparency. */
void cascade_dialog_report_candidate_image(CascadeDialog *dialog, gint index, guint64 seed,
                                           const CascadeImage *image);
/* error NULL: success; G_IO_ERROR_CANCELLED: cancelled (no message shown); else shown. */
void cascade_dialog_report_finished(CascadeDialog *dialog, const GError *error);

G_END_DECLS

#endif
