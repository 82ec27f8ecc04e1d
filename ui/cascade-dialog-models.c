/* CascadeDialog's model folders: the Model, Stage III and Upscaler entries (a folder
 * chooser behind each one's icon), and what the folder chosen means for the dialog: the
 * x4 diffusion upscaler is conditioned on a prompt, so Upscale Layer shows the prompt when
 * the upscaler is one (a GAN upscaler takes none). */
#include <glib/gi18n-lib.h>

#include "cascade-dialog-private.h"
#include "cascade-job.h"

static void on_browse(GtkEntry *e, GtkEntryIconPosition pos, GdkEvent *ev, CascadeDialog *d) {
    (void)pos, (void)ev;
    GtkFileChooserNative *fc = gtk_file_chooser_native_new(
        _("Choose a Model Folder"), GTK_WINDOW(d), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
        _("_Open"), _("_Cancel"));
    const gchar *cur = gtk_entry_get_text(e);
    if (*cur) gtk_file_chooser_set_filename(GTK_FILE_CHOOSER(fc), cur);
    if (gtk_native_dialog_run(GTK_NATIVE_DIALOG(fc)) == GTK_RESPONSE_ACCEPT) {
        gchar *dir = gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(fc));
        if (dir) gtk_entry_set_text(e, dir);
        g_free(dir);
    }
    g_object_unref(fc);
}

void dialog_folder_entry(CascadeDialog *d, GtkWidget *entry, const gchar *icon_tip) {
    gtk_entry_set_icon_from_icon_name(GTK_ENTRY(entry), GTK_ENTRY_ICON_SECONDARY, "folder-open");
    gtk_entry_set_icon_tooltip_text(GTK_ENTRY(entry), GTK_ENTRY_ICON_SECONDARY, icon_tip);
    g_signal_connect(entry, "icon-press", G_CALLBACK(on_browse), d);
}

static gboolean upscaler_is_diffusion(CascadeDialog *d) {
    if (d->recipe.mode != CASCADE_MODE_UPSCALE || !d->upscaler) return FALSE;
    CascadeRecipe r;
    cascade_recipe_copy(&r, &d->recipe);
    g_free(r.upscaler_dir);
    r.upscaler_dir = g_strdup(d->recipe.upscaler_dir); /* the upscaler picker's */
    gboolean yes = cascade_job_upscaler_is_diffusion(&r);
    cascade_recipe_clear(&r);
    return yes;
}

void dialog_show_prompt(CascadeDialog *d, gboolean diffusion) {
    gboolean show = diffusion || upscaler_is_diffusion(d);
    if (show == gtk_widget_get_visible(d->prompt_section)) return;
    gtk_widget_set_visible(d->prompt_section, show);
    if (!gtk_widget_get_realized(GTK_WIDGET(d))) return;
    GtkRequisition natural;
    gtk_widget_get_preferred_size(GTK_WIDGET(d), NULL, &natural);
    gtk_window_resize(GTK_WINDOW(d), natural.width, natural.height);
}
