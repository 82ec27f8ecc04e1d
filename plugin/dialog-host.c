/* The dialog's host (CascadeUiHost): the dialog's preview and candidate runs go to a
 * CascadeJob whose reports, delivered on the main loop, become the dialog's report calls.
 * The dialog is GTK3 in this same process: libgimp-2.0 links no GTK (only libgimpui-2.0,
 * GTK2, does, and it is not used), so GTK3 and libgimp live side by side. */
#include "config-plugin.h"

#include <glib/gi18n-lib.h>
#include <gtk/gtk.h>

#include "cascade-dialog.h"
#include "cascade-plugin.h"

typedef struct {
    CascadeUiHost       host;
    CascadeDialog      *dialog;
    CascadeJob         *job;
    const gchar        *target;
    const CascadeImage *image, *mask; /* inpaint: the crop the preview runs repaint */
} DialogHost;

static gboolean free_job_idle(gpointer job) {
    cascade_job_free(job);
    return G_SOURCE_REMOVE;
}

static void host_progress(gint stage, gint step, gint total, gpointer user_data) {
    DialogHost *h = user_data;
    cascade_dialog_report_progress(h->dialog, stage, step, total);
}

static void host_preview(gint index, const CascadeImage *im, gpointer user_data) {
    DialogHost *h = user_data;
    if (im->channels == 3)
        cascade_dialog_report_preview(h->dialog, index, im->pixels, im->width, im->height,
                                      im->width * 3);
}

static void host_done(GPtrArray *results, const guint64 *seeds, const GError *error,
                      gpointer user_data) {
    DialogHost *h = user_data;
    for (guint i = 0; results && i < results->len; i++)
        cascade_dialog_report_candidate_image(h->dialog, (gint)i, seeds[i],
                                              g_ptr_array_index(results, i));
    if (results) g_ptr_array_unref(results);
    cascade_dialog_report_finished(h->dialog, error);
    /* the job's thread is finishing: join it outside its own callback */
    g_idle_add(free_job_idle, h->job);
    h->job = NULL;
}

static gboolean host_start(CascadeUiHost *host, const CascadeRecipe *recipe, gboolean stage1_only,
                           GError **error) {
    DialogHost *h = host->user_data;
    if (h->job) {
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                    _("A run is already in progress."));
        return FALSE;
    }
    CascadeRecipe r;
    cascade_recipe_copy(&r, recipe);
    if (stage1_only) r.stage2 = FALSE;
    CascadeJobCallbacks cb = {host_progress, host_preview, host_done, h};
    h->job = cascade_job_start_cached(&r, r.mode == CASCADE_MODE_GENERATE ? NULL : h->image,
                                      r.mode == CASCADE_MODE_INPAINT ? h->mask : NULL, &cb,
                                      cascade_worker_cache(), error);
    cascade_recipe_clear(&r);
    return h->job != NULL;
}

static void host_cancel(CascadeUiHost *host) {
    DialogHost *h = host->user_data;
    if (h->job) cascade_job_cancel(h->job);
}

static const gchar *host_describe(CascadeUiHost *host) {
    return ((DialogHost *)host->user_data)->target;
}

gboolean cascade_worker_dialog(CascadeRecipe *r, const gchar *target, const CascadeImage *image,
                               const CascadeImage *mask, gint32 gimp_image, gint32 drawable,
                               const gchar *image_shape, GError **error) {
    if (!gtk_init_check(NULL, NULL)) {
        g_set_error(error, CASCADE_PLUGIN_ERROR, CASCADE_PLUGIN_ERROR_FAILED,
                    _("Cannot open the dialog: no display."));
        return FALSE;
    }
    DialogHost h = {.target = target, .image = image, .mask = mask};
    h.host = (CascadeUiHost){host_start, host_cancel, host_describe, &h};
    GtkWidget *dialog = cascade_dialog_new(r, &h.host, NULL);
    h.dialog = CASCADE_DIALOG(dialog);
    cascade_dialog_set_image_shape(h.dialog, image_shape);
    if (r->mode == CASCADE_MODE_UPSCALE && gimp_image_is_valid(gimp_image)) {
        gboolean layer = gimp_item_is_valid(drawable) && !gimp_item_is_group(drawable);
        cascade_dialog_set_upscale_sizes(h.dialog, layer ? gimp_drawable_width(drawable) : 0,
                                         layer ? gimp_drawable_height(drawable) : 0,
                                         gimp_image_width(gimp_image),
                                         gimp_image_height(gimp_image));
    }
    /* above GIMP's image window (the X11 window of the display this call came from) */
    gint32 display = cascade_engine_display();
    if (display > 0)
        cascade_dialog_set_transient_for_handle(h.dialog,
                                                (guint32)gimp_display_get_window_handle(display));
    CascadeRecipe out;
    cascade_recipe_copy(&out, r);
    gint response = cascade_dialog_run_recipe(h.dialog, &out);
    if (h.job) { /* closed while running: stop and wait */
        cascade_job_cancel(h.job);
        cascade_job_free(h.job);
        h.job = NULL;
    }
    /* reports still queued go to the dialog before it goes, then its own destruction */
    while (g_main_context_iteration(NULL, FALSE))
        continue;
    gtk_widget_destroy(dialog);
    while (g_main_context_iteration(NULL, FALSE))
        continue;
    if (response != GTK_RESPONSE_OK) {
        cascade_recipe_clear(&out);
        return FALSE;
    }
    if (out.candidate >= 0) { /* rerun the chosen candidate alone, with its own seed */
        out.seed += (guint64)out.candidate;
        out.batch = 1;
        out.candidate = -1;
    }
    cascade_recipe_clear(r);
    *r = out;
    return TRUE;
}
