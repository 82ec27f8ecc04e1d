/* CascadeDialog at work: Generate (a stage-I-only batch of candidates through the host),
 * the host's reports, cancel, picking a candidate, presets, the seed, and the modal loop
 * that hands the final recipe back. */
#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "cascade-dialog-private.h"
#ifdef GDK_WINDOWING_X11 /* defined by gtk/gtk.h, through the header above */
#include <gdk/gdkx.h>
#endif
#include "cascade-presets.h"
#include "cascade-widgets.h"

static void set_status(CascadeDialog *d, const gchar *message, gboolean error) {
    gtk_label_set_text(GTK_LABEL(d->status_label), message ? message : "");
    GtkStyleContext *sc = gtk_widget_get_style_context(d->status_label);
    if (error)
        gtk_style_context_add_class(sc, "error");
    else
        gtk_style_context_remove_class(sc, "error");
}

static void set_default(CascadeDialog *d) {
    gboolean picked = cascade_candidate_grid_get_selected(d->grid) >= 0;
    gtk_dialog_set_default_response(GTK_DIALOG(d), picked ||
                                                           d->recipe.mode == CASCADE_MODE_UPSCALE ||
                                                           d->recipe.mode == CASCADE_MODE_OUTPAINT
                                                       ? GTK_RESPONSE_OK
                                                       : CASCADE_RESPONSE_GENERATE);
}

static void start_candidates(CascadeDialog *d) {
    if (d->running) return;
    CascadeRecipe r;
    GError       *e = NULL;
    dialog_widgets_to_recipe(d, &r);
    r.stage2 = FALSE;
    if (!cascade_recipe_validate(&r, &e) || !d->host->start(d->host, &r, TRUE, &e)) {
        set_status(d, e ? e->message : _("Could not start"), TRUE);
        g_clear_error(&e);
        cascade_recipe_clear(&r);
        return;
    }
    cascade_recipe_clear(&r);
    d->running = TRUE;
    cascade_candidate_grid_clear(d->grid);
    cascade_preview_area_clear(d->preview);
    set_status(d, NULL, FALSE);
    gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(d->progress), 0);
    gtk_progress_bar_set_text(GTK_PROGRESS_BAR(d->progress), _("Starting…"));
    dialog_update_sensitivity(d);
    set_default(d);
}

static void cancel_run(CascadeDialog *d) {
    if (!d->running) return;
    gtk_progress_bar_set_text(GTK_PROGRESS_BAR(d->progress), _("Cancelling…"));
    d->host->cancel(d->host);
}

void dialog_on_response(GtkDialog *dialog, gint response, gpointer ud) {
    (void)ud;
    CascadeDialog *d = CASCADE_DIALOG(dialog);
    if (response == CASCADE_RESPONSE_GENERATE) {
        start_candidates(d);
        g_signal_stop_emission_by_name(dialog, "response"); /* the dialog stays open */
    } else if (d->running && (response == GTK_RESPONSE_CANCEL || response == GTK_RESPONSE_OK)) {
        /* while candidates are made, Cancel stops them and OK waits for them */
        if (response == GTK_RESPONSE_CANCEL) cancel_run(d);
        g_signal_stop_emission_by_name(dialog, "response");
    }
}

void dialog_on_close(GtkDialog *dialog, gpointer ud) {
    (void)ud;
    CascadeDialog *d = CASCADE_DIALOG(dialog);
    if (!d->running) return; /* Esc closes the dialog */
    cancel_run(d);           /* Esc stops the run first */
    g_signal_stop_emission_by_name(dialog, "close");
}

/* ---- host -> dialog ------------------------------------------------------------------------ */

void cascade_dialog_report_progress(CascadeDialog *d, gint stage, gint step, gint total) {
    g_return_if_fail(CASCADE_IS_DIALOG(d));
    if (total <= 0) return;
    gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(d->progress),
                                  CLAMP((double)step / total, 0.0, 1.0));
    gchar *text = stage == 3 ? g_strdup_printf(_("Tile %d of %d"), step, total)
                             : g_strdup_printf(_("Stage %s: step %d of %d"),
                                               stage == 2 ? "II" : "I", step, total);
    gtk_progress_bar_set_text(GTK_PROGRESS_BAR(d->progress), text);
    g_free(text);
}

void cascade_dialog_report_preview(CascadeDialog *d, gint index, const guint8 *rgb, gint width,
                                   gint height, gint rowstride) {
    g_return_if_fail(CASCADE_IS_DIALOG(d));
    (void)index; /* the preview follows whichever item is being made */
    cascade_preview_area_set_rgb(d->preview, rgb, width, height, rowstride);
}

void cascade_dialog_report_candidate(CascadeDialog *d, gint index, guint64 seed, const guint8 *rgb,
                                     gint width, gint height, gint rowstride) {
    g_return_if_fail(CASCADE_IS_DIALOG(d));
    cascade_candidate_grid_set(d->grid, index, seed, rgb, width, height, rowstride);
}

void cascade_dialog_report_candidate_image(CascadeDialog *d, gint index, guint64 seed,
                                           const CascadeImage *image) {
    g_return_if_fail(CASCADE_IS_DIALOG(d) && image && image->pixels);
    g_return_if_fail(image->channels == 3 || image->channels == 4);
    if (image->channels == 3) {
        cascade_dialog_report_candidate(d, index, seed, image->pixels, image->width, image->height,
                                        image->width * 3);
        return;
    }
    gsize   n = (gsize)image->width * image->height;
    guint8 *rgb = g_malloc(n * 3);
    for (gsize i = 0; i < n; i++) {
        gint  x = (gint)(i % (gsize)image->width), y = (gint)(i / (gsize)image->width);
        guint check = ((x / 8 + y / 8) & 1) ? 153 : 102; /* GIMP's mid-tone checks */
        guint a = image->pixels[i * 4 + 3];
        for (gint c = 0; c < 3; c++)
            rgb[i * 3 + c] =
                (guint8)((image->pixels[i * 4 + c] * a + check * (255 - a) + 127) / 255);
    }
    cascade_dialog_report_candidate(d, index, seed, rgb, image->width, image->height,
                                    image->width * 3);
    g_free(rgb);
}

void cascade_dialog_report_finished(CascadeDialog *d, const GError *error) {
    g_return_if_fail(CASCADE_IS_DIALOG(d));
    d->running = FALSE;
    GtkProgressBar *pb = GTK_PROGRESS_BAR(d->progress);
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        gtk_progress_bar_set_fraction(pb, 0);
        gtk_progress_bar_set_text(pb, _("Cancelled"));
    } else if (error) {
        gtk_progress_bar_set_fraction(pb, 0);
        gtk_progress_bar_set_text(pb, _("Failed"));
        set_status(d, error->message, TRUE);
    } else {
        gtk_progress_bar_set_fraction(pb, 1);
        gint n = cascade_candidate_grid_count(d->grid);
        gtk_progress_bar_set_text(pb, n > 1 ? _("Done: pick a candidate") : _("Done"));
        if (n == 1) cascade_candidate_grid_select(d->grid, 0);
    }
    dialog_update_sensitivity(d);
    set_default(d);
}

/* ---- user actions -----------------------------------------------------------------------------
 */

void dialog_on_candidate_selected(GtkFlowBox *fb, CascadeDialog *d) {
    GList *sel = gtk_flow_box_get_selected_children(fb);
    if (sel) {
        GtkWidget *img = gtk_bin_get_child(GTK_BIN(sel->data));
        GdkPixbuf *pb = gtk_image_get_pixbuf(GTK_IMAGE(img));
        gint       i = cascade_candidate_grid_get_selected(d->grid);
        gchar     *text = g_strdup_printf(_("Candidate %d: OK finishes it"), i + 1);
        if (pb && !d->running)
            cascade_preview_area_set_rgb(d->preview, gdk_pixbuf_get_pixels(pb),
                                         gdk_pixbuf_get_width(pb), gdk_pixbuf_get_height(pb),
                                         gdk_pixbuf_get_rowstride(pb));
        if (!d->running) gtk_progress_bar_set_text(GTK_PROGRESS_BAR(d->progress), text);
        g_free(text);
    }
    g_list_free(sel);
    set_default(d);
}

void dialog_on_params_changed(CascadeDialog *d) {
    if (d->updating) return;
    d->updating = TRUE;
    gtk_combo_box_set_active_id(GTK_COMBO_BOX(d->preset), ""); /* edited: a custom recipe */
    d->updating = FALSE;
    dialog_sync_style_preset(d);
    dialog_show_seed(d);
    /* candidates made with other settings can no longer be finished as they were */
    if (!d->running && cascade_candidate_grid_count(d->grid) > 0) {
        cascade_candidate_grid_clear(d->grid);
        gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(d->progress), 0);
        gtk_progress_bar_set_text(GTK_PROGRESS_BAR(d->progress), _("Ready"));
    }
    dialog_update_sensitivity(d);
    set_default(d);
}

void dialog_on_preset_changed(GtkComboBox *combo, CascadeDialog *d) {
    if (d->updating) return;
    const gchar *id = gtk_combo_box_get_active_id(combo);
    if (!id || !*id) return;
    CascadePresetInfo *info = cascade_presets_find(id);
    if (!info) return;
    CascadeRecipe r;
    GError       *e = NULL;
    dialog_widgets_to_recipe(d, &r);
    if (cascade_recipe_apply_preset_file(&r, info->path, &e)) {
        dialog_recipe_to_widgets(d, &r);
        gtk_widget_set_tooltip_text(d->preset, info->description);
        set_status(d, NULL, FALSE);
    } else {
        set_status(d, e->message, TRUE);
        g_error_free(e);
    }
    if (cascade_candidate_grid_count(d->grid) > 0 && !d->running)
        cascade_candidate_grid_clear(d->grid);
    cascade_recipe_clear(&r);
    cascade_preset_info_free(info);
}

void dialog_on_style_preset_changed(GtkComboBox *combo, CascadeDialog *d) {
    if (d->updating) return;
    const gchar *id = gtk_combo_box_get_active_id(combo);
    if (!id || !strcmp(id, "custom")) return; /* "Custom" only reports a typed style */
    CascadeRecipe r;
    GError       *e = NULL;
    dialog_widgets_to_recipe(d, &r);
    gchar *quality = g_strdup(r.preset); /* the quality preset stays the one chosen */
    /* a style replaces the previous one: its text and its negative prompt */
    g_free(r.style), g_free(r.negative_prompt);
    r.style = g_strdup(""), r.negative_prompt = g_strdup("");
    CascadePresetInfo *info = *id ? cascade_presets_find(id) : NULL;
    if (info && !cascade_recipe_apply_preset_file(&r, info->path, &e)) {
        set_status(d, e->message, TRUE);
        g_error_free(e);
    } else {
        g_free(r.preset);
        r.preset = g_strdup(quality);
        dialog_recipe_to_widgets(d, &r);
        gtk_widget_set_tooltip_text(d->style_preset, info ? info->description : NULL);
        set_status(d, NULL, FALSE);
    }
    if (cascade_candidate_grid_count(d->grid) > 0 && !d->running)
        cascade_candidate_grid_clear(d->grid);
    g_free(quality);
    cascade_recipe_clear(&r);
    cascade_preset_info_free(info);
}

void dialog_on_save_preset(GtkButton *b, CascadeDialog *d) {
    (void)b;
    GtkWidget *dlg = gtk_dialog_new_with_buttons(
        _("Save Preset"), GTK_WINDOW(d), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
        _("_Cancel"), GTK_RESPONSE_CANCEL, _("_Save"), GTK_RESPONSE_OK, NULL);
    gtk_dialog_set_default_response(GTK_DIALOG(dlg), GTK_RESPONSE_OK);
    GtkWidget *grid = gtk_grid_new();
    gtk_grid_set_row_spacing(GTK_GRID(grid), 6);
    gtk_grid_set_column_spacing(GTK_GRID(grid), 12);
    gtk_container_set_border_width(GTK_CONTAINER(grid), 12);
    GtkWidget *name = gtk_entry_new(), *desc = gtk_entry_new();
    gtk_widget_set_name(name, "preset-name");
    gtk_widget_set_name(desc, "preset-description");
    gtk_widget_set_name(dlg, "save-preset-dialog");
    gtk_entry_set_activates_default(GTK_ENTRY(name), TRUE);
    gtk_entry_set_activates_default(GTK_ENTRY(desc), TRUE);
    GtkWidget *ln = gtk_label_new_with_mnemonic(_("_Name:"));
    GtkWidget *ld = gtk_label_new_with_mnemonic(_("_Description:"));
    gtk_label_set_mnemonic_widget(GTK_LABEL(ln), name);
    gtk_label_set_mnemonic_widget(GTK_LABEL(ld), desc);
    gtk_label_set_xalign(GTK_LABEL(ln), 0);
    gtk_label_set_xalign(GTK_LABEL(ld), 0);
    gtk_grid_attach(GTK_GRID(grid), ln, 0, 0, 1, 1);
    gtk_grid_attach(GTK_GRID(grid), name, 1, 0, 1, 1);
    gtk_grid_attach(GTK_GRID(grid), ld, 0, 1, 1, 1);
    gtk_grid_attach(GTK_GRID(grid), desc, 1, 1, 1, 1);
    gtk_container_add(GTK_CONTAINER(gtk_dialog_get_content_area(GTK_DIALOG(dlg))), grid);
    gtk_widget_show_all(grid);
    while (gtk_dialog_run(GTK_DIALOG(dlg)) == GTK_RESPONSE_OK) {
        CascadeRecipe r;
        GError       *e = NULL;
        gchar        *id = NULL;
        dialog_widgets_to_recipe(d, &r);
        gboolean ok = cascade_presets_save_user(&r, gtk_entry_get_text(GTK_ENTRY(name)),
                                                gtk_entry_get_text(GTK_ENTRY(desc)), &id, &e);
        cascade_recipe_clear(&r);
        if (ok) {
            dialog_fill_presets(d, id);
            set_status(d, NULL, FALSE);
            g_free(id);
            break;
        }
        GtkWidget *msg =
            gtk_message_dialog_new(GTK_WINDOW(dlg), GTK_DIALOG_MODAL, GTK_MESSAGE_ERROR,
                                   GTK_BUTTONS_CLOSE, "%s", e->message);
        gtk_dialog_run(GTK_DIALOG(msg));
        gtk_widget_destroy(msg);
        g_error_free(e);
    }
    gtk_widget_destroy(dlg);
}

void dialog_on_reroll(GtkButton *b, CascadeDialog *d) {
    (void)b;
    /* a new fixed seed, shown, so the run can be repeated */
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(d->random_seed), FALSE);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(d->seed), g_random_int_range(0, G_MAXINT32));
}

gboolean dialog_on_text_key(GtkWidget *w, GdkEventKey *ev, CascadeDialog *d) {
    (void)w;
    if (ev->keyval != GDK_KEY_Return && ev->keyval != GDK_KEY_KP_Enter) return FALSE;
    if (ev->state & GDK_SHIFT_MASK) return FALSE; /* Shift+Enter: a new line */
    if (ev->state & GDK_CONTROL_MASK)
        gtk_dialog_response(GTK_DIALOG(d), GTK_RESPONSE_OK);
    else
        gtk_window_activate_default(GTK_WINDOW(d));
    return TRUE;
}

/* ---- transient for GIMP's window ------------------------------------------------------------ */

#ifdef GDK_WINDOWING_X11
static void on_realize_transient(GtkWidget *w, gpointer ud) {
    GdkDisplay *display = gtk_widget_get_display(w);
    if (!GDK_IS_X11_DISPLAY(display)) return;
    GdkWindow *parent = gdk_x11_window_foreign_new_for_display(display, GPOINTER_TO_UINT(ud));
    if (!parent) return; /* the window is gone: nothing to attach to */
    gdk_window_set_transient_for(gtk_widget_get_window(w), parent);
    g_object_set_data_full(G_OBJECT(w), "cascade-foreign-parent", parent, g_object_unref);
}
#endif

void cascade_dialog_set_transient_for_handle(CascadeDialog *d, guint32 handle) {
    g_return_if_fail(CASCADE_IS_DIALOG(d));
#ifdef GDK_WINDOWING_X11
    if (!handle) return;
    gtk_window_set_position(GTK_WINDOW(d), GTK_WIN_POS_CENTER_ON_PARENT);
    if (gtk_widget_get_realized(GTK_WIDGET(d)))
        on_realize_transient(GTK_WIDGET(d), GUINT_TO_POINTER(handle));
    else
        g_signal_connect(d, "realize", G_CALLBACK(on_realize_transient), GUINT_TO_POINTER(handle));
#else
    (void)handle;
#endif
}

/* ---- the modal loop ------------------------------------------------------------------------ */

gint cascade_dialog_run_recipe(CascadeDialog *d, CascadeRecipe *out) {
    g_return_val_if_fail(CASCADE_IS_DIALOG(d) && out, GTK_RESPONSE_CANCEL);
    gtk_widget_show(GTK_WIDGET(d));
    for (;;) {
        gint response = gtk_dialog_run(GTK_DIALOG(d));
        if (response != GTK_RESPONSE_OK) {
            if (d->running) { /* closed mid-run: stop it, and wait so no report comes late */
                d->host->cancel(d->host);
                while (d->running)
                    g_main_context_iteration(NULL, TRUE);
            }
            return response;
        }
        CascadeRecipe r;
        GError       *e = NULL;
        dialog_widgets_to_recipe(d, &r);
        gint pick = cascade_candidate_grid_get_selected(d->grid);
        if (pick >= 0) { /* the job reruns item `pick` of the same batch: seed + pick */
            r.candidate = pick;
            r.seed = cascade_candidate_grid_get_seed(d->grid, pick) - (guint64)pick;
            r.batch = MAX(r.batch, pick + 1);
            r.random_seed = FALSE; /* the recipe now names that image: never redraw its seed */
        }
        if (!cascade_recipe_validate(&r, &e)) {
            set_status(d, e->message, TRUE);
            g_error_free(e);
            cascade_recipe_clear(&r);
            continue;
        }
        if (!dialog_confirm_upscale(d)) { /* a very large job, not confirmed */
            cascade_recipe_clear(&r);
            continue;
        }
        cascade_recipe_clear(out);
        *out = r;
        return GTK_RESPONSE_OK;
    }
}
