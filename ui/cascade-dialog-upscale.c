/* CascadeDialog's upscale mode: the picker of installed upscalers (the factor follows the
 * model), the source (the active layer, or the whole image as it shows), and, before anything
 * runs, the result's size with an estimate of time and memory; a very large job is flagged in
 * the dialog and confirmed before it starts. */
#include <glib/gi18n-lib.h>
#include <string.h>

#include "cascade-dialog-private.h"
#include "cascade-upscalers.h"

/* label (with mnemonic, in the dialog's label column) and widget on row y of grid g */
static void form_row(CascadeDialog *d, GtkWidget *g, gint y, const gchar *mnemonic, GtkWidget *w) {
    GtkWidget *l = gtk_label_new_with_mnemonic(mnemonic);
    gtk_size_group_add_widget(d->label_group, l);
    gtk_label_set_xalign(GTK_LABEL(l), 0);
    gtk_label_set_mnemonic_widget(GTK_LABEL(l), w);
    gtk_grid_attach(GTK_GRID(g), l, 0, y, 1, 1);
    gtk_widget_set_hexpand(w, TRUE);
    gtk_grid_attach(GTK_GRID(g), w, 1, y, 1, 1);
}

void dialog_build_upscale(CascadeDialog *d, GtkWidget *g) {
    /* the source: the active layer into a new layer, or the whole image as it shows (all
     * visible layers merged) into a new image */
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
    d->source_layer = gtk_radio_button_new_with_mnemonic(NULL, _("Active _layer"));
    gtk_widget_set_name(d->source_layer, "source-layer");
    gtk_widget_set_tooltip_text(d->source_layer,
                                _("Enlarge the active layer into a new layer of this image"));
    d->source_visible = gtk_radio_button_new_with_mnemonic_from_widget(
        GTK_RADIO_BUTTON(d->source_layer), _("_Whole image (visible)"));
    gtk_widget_set_name(d->source_visible, "source-visible");
    gtk_widget_set_tooltip_text(d->source_visible,
                                _("Enlarge the image as it shows (all visible layers merged) "
                                  "into a new image; this image is not changed"));
    g_signal_connect_swapped(d->source_visible, "toggled",
                             G_CALLBACK(dialog_update_upscale_estimate), d);
    g_signal_connect_swapped(d->source_visible, "toggled", G_CALLBACK(dialog_on_params_changed), d);
    gtk_box_pack_start(GTK_BOX(box), d->source_layer, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), d->source_visible, FALSE, FALSE, 0);
    gtk_grid_attach(GTK_GRID(g), box, 0, 0, 2, 1);
    d->upscaler_model = gtk_combo_box_text_new();
    gtk_widget_set_name(d->upscaler_model, "upscaler-model");
    g_signal_connect(d->upscaler_model, "changed", G_CALLBACK(dialog_on_upscaler_model_changed), d);
    form_row(d, g, 1, _("Upscale_r:"), d->upscaler_model);
    d->tile = gtk_spin_button_new_with_range(0, 8192, 16);
    gtk_entry_set_activates_default(GTK_ENTRY(d->tile), TRUE);
    gtk_widget_set_name(d->tile, "tile");
    dialog_spin_show_auto(d->tile); /* 0 reads "auto", as the label says */
    gtk_widget_set_tooltip_text(d->tile,
                                _("Tile edge in pixels; 0 chooses it from the available memory"));
    g_signal_connect_swapped(d->tile, "value-changed", G_CALLBACK(dialog_on_params_changed), d);
    g_signal_connect_swapped(d->tile, "value-changed", G_CALLBACK(dialog_update_upscale_estimate),
                             d);
    form_row(d, g, 2, _("T_ile size (0 = automatic):"), d->tile);
    d->upscale_estimate = gtk_label_new(NULL);
    gtk_widget_set_name(d->upscale_estimate, "upscale-estimate");
    gtk_widget_set_tooltip_text(d->upscale_estimate,
                                _("Time as measured on the CPU (a GPU is faster); memory is the "
                                  "engine's peak, chunk by chunk, besides what GIMP holds"));
    gtk_label_set_xalign(GTK_LABEL(d->upscale_estimate), 0);
    gtk_label_set_line_wrap(GTK_LABEL(d->upscale_estimate), TRUE);
    gtk_label_set_max_width_chars(GTK_LABEL(d->upscale_estimate), 48);
    gtk_label_set_selectable(GTK_LABEL(d->upscale_estimate), TRUE);
    gtk_grid_attach(GTK_GRID(g), d->upscale_estimate, 0, 3, 2, 1);
    d->upscale_warning = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    gtk_widget_set_name(d->upscale_warning, "upscale-warning");
    gtk_box_pack_start(GTK_BOX(d->upscale_warning),
                       gtk_image_new_from_icon_name("dialog-warning", GTK_ICON_SIZE_BUTTON), FALSE,
                       FALSE, 0);
    d->upscale_warning_label = gtk_label_new(NULL);
    gtk_label_set_xalign(GTK_LABEL(d->upscale_warning_label), 0);
    gtk_label_set_line_wrap(GTK_LABEL(d->upscale_warning_label), TRUE);
    gtk_label_set_max_width_chars(GTK_LABEL(d->upscale_warning_label), 44);
    gtk_box_pack_start(GTK_BOX(d->upscale_warning), d->upscale_warning_label, TRUE, TRUE, 0);
    gtk_grid_attach(GTK_GRID(g), d->upscale_warning, 0, 4, 2, 1);
}

static const CascadeUpscalerInfo *chosen(CascadeDialog *d) {
    gint i = d->upscaler_model ? gtk_combo_box_get_active(GTK_COMBO_BOX(d->upscaler_model)) : -1;
    return d->upscalers && i >= 0 && (guint)i < d->upscalers->len
               ? g_ptr_array_index(d->upscalers, i)
               : NULL;
}

/* The model into d->recipe: the default's folder stays "" (the recipe stays portable). */
static void take_model(CascadeDialog *d, const CascadeUpscalerInfo *u) {
    g_autofree gchar *dflt = cascade_upscalers_resolve("", u->factor);
    g_free(d->recipe.upscaler_dir);
    d->recipe.upscaler_dir = g_strdup(dflt && !strcmp(dflt, u->dir) ? "" : u->dir);
    d->recipe.upscale_factor = u->factor;
}

void dialog_fill_upscalers(CascadeDialog *d, const gchar *upscaler, gint factor) {
    gboolean was = d->updating;
    d->updating = TRUE;
    GtkComboBoxText *c = GTK_COMBO_BOX_TEXT(d->upscaler_model);
    gtk_combo_box_text_remove_all(c);
    g_clear_pointer(&d->upscalers, g_ptr_array_unref);
    d->upscalers = cascade_upscalers_list(gtk_entry_get_text(GTK_ENTRY(d->upscaler)));
    for (guint i = 0; i < d->upscalers->len; i++) {
        const CascadeUpscalerInfo *u = g_ptr_array_index(d->upscalers, i);
        gtk_combo_box_text_append(c, u->dir, u->name);
    }
    gint at = cascade_upscalers_find(d->upscalers, upscaler, factor);
    /* a recipe naming no installed model keeps its own values: the run then says what is
     * missing, rather than silently taking another model */
    gtk_combo_box_set_active(GTK_COMBO_BOX(c), at);
    if (at >= 0) take_model(d, g_ptr_array_index(d->upscalers, at));
    gtk_widget_set_tooltip_text(d->upscaler_model, at >= 0 ? chosen(d)->dir : NULL);
    d->updating = was;
    dialog_update_upscale_estimate(d);
}

void dialog_on_upscaler_model_changed(GtkComboBox *combo, CascadeDialog *d) {
    (void)combo;
    const CascadeUpscalerInfo *u = chosen(d);
    if (d->updating || !u) return;
    take_model(d, u);
    gtk_widget_set_tooltip_text(d->upscaler_model, u->dir);
    dialog_update_upscale_estimate(d);
    dialog_on_params_changed(d); /* shows the prompt for a diffusion upscaler */
}

void dialog_on_upscaler_folder_changed(GtkEntry *entry, CascadeDialog *d) {
    if (d->updating) return;
    const gchar *dir = gtk_entry_get_text(entry);
    /* the folder's own model (or its esrgan-slim of the factor), else the current one */
    g_autofree gchar *keep = g_strdup(d->recipe.upscaler_dir);
    gint              f = d->recipe.upscale_factor;
    dialog_fill_upscalers(d, dir, f);
    if (!chosen(d)) dialog_fill_upscalers(d, keep, f);
    dialog_on_params_changed(d);
}

static gboolean visible_source(CascadeDialog *d) {
    return gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(d->source_visible));
}

/* The estimate for the current settings; FALSE when there is none (no model, no size). */
static gboolean estimate(CascadeDialog *d, CascadeUpscaleEstimate *e, GError **error) {
    const CascadeUpscalerInfo *u = chosen(d);
    gint                       w = visible_source(d) ? d->image_width : d->layer_width;
    gint                       h = visible_source(d) ? d->image_height : d->layer_height;
    if (!u || w <= 0 || h <= 0) return FALSE;
    return cascade_upscale_estimate(
        u, w, h, gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(d->tile)), e, error);
}

void dialog_update_upscale_estimate(CascadeDialog *d) {
    if (!d->upscale_estimate || d->recipe.mode != CASCADE_MODE_UPSCALE) return;
    CascadeUpscaleEstimate e;
    GError                *err = NULL;
    g_autofree gchar      *text = NULL, *warning = NULL;
    if (estimate(d, &e, &err)) {
        text = cascade_upscale_estimate_text(&e);
        warning = cascade_upscale_estimate_warning(&e);
    } else if (err) {
        text = g_strdup(err->message);
        g_error_free(err);
    } else if (!chosen(d)) {
        text = g_strdup(_("No upscaler is installed: choose an upscaler folder"));
    }
    gtk_label_set_text(GTK_LABEL(d->upscale_estimate), text ? text : "");
    gtk_widget_set_visible(d->upscale_estimate, text != NULL);
    gtk_label_set_text(GTK_LABEL(d->upscale_warning_label), warning ? warning : "");
    gtk_widget_set_visible(d->upscale_warning, warning != NULL);
}

gboolean dialog_confirm_upscale(CascadeDialog *d) {
    CascadeUpscaleEstimate e;
    if (d->recipe.mode != CASCADE_MODE_UPSCALE || !estimate(d, &e, NULL)) return TRUE;
    g_autofree gchar *warning = cascade_upscale_estimate_warning(&e);
    if (!warning) return TRUE;
    g_autofree gchar *size = cascade_upscale_estimate_text(&e);
    GtkWidget        *msg =
        gtk_message_dialog_new(GTK_WINDOW(d), GTK_DIALOG_MODAL, GTK_MESSAGE_WARNING,
                               GTK_BUTTONS_NONE, "%s", _("This is a very large upscale"));
    gtk_widget_set_name(msg, "upscale-confirm");
    gtk_message_dialog_format_secondary_text(GTK_MESSAGE_DIALOG(msg), "%s\n\n%s", size, warning);
    gtk_dialog_add_buttons(GTK_DIALOG(msg), _("_Cancel"), GTK_RESPONSE_CANCEL, _("_Upscale Anyway"),
                           GTK_RESPONSE_ACCEPT, NULL);
    gtk_dialog_set_default_response(GTK_DIALOG(msg), GTK_RESPONSE_CANCEL);
    gint response = gtk_dialog_run(GTK_DIALOG(msg));
    gtk_widget_destroy(msg);
    return response == GTK_RESPONSE_ACCEPT;
}

void cascade_dialog_set_upscale_sizes(CascadeDialog *d, gint layer_width, gint layer_height,
                                      gint image_width, gint image_height) {
    g_return_if_fail(CASCADE_IS_DIALOG(d));
    d->layer_width = layer_width, d->layer_height = layer_height;
    d->image_width = image_width, d->image_height = image_height;
    /* no layer to upscale (a layer group is active): the whole image only */
    gboolean layer = layer_width > 0 && layer_height > 0;
    gtk_widget_set_sensitive(d->source_layer, layer);
    if (!layer) gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(d->source_visible), TRUE);
    gtk_widget_set_sensitive(d->source_visible, image_width > 0 && image_height > 0);
    dialog_update_upscale_estimate(d);
}
