/* The dialog's Size control (generate): the new image's shape "W:H", at about the model's
 * pixel count. It starts from the recipe's shape, or, when the host gives one, from the shape
 * last used on the image the dialog was opened on (the plug-in keeps it in a parasite of
 * that image), so each image keeps its own format. */
#include <glib/gi18n-lib.h>

#include "cascade-dialog-private.h"
#include "cascade/aspect.h"

#define SIZE_TIP                                                                                   \
    N_("The new image's shape, at about the model's pixel count (the same time as a square)")

GtkWidget *dialog_build_size(CascadeDialog *d) {
    GtkWidget *c = gtk_combo_box_text_new();
    gtk_widget_set_name(c, "aspect");
    gtk_widget_set_tooltip_text(c, _(SIZE_TIP));
    static const struct {
        const char *id, *label;
    } shapes[] = {{"1:1", N_("Square (1:1)")},    {"4:3", N_("Landscape (4:3)")},
                  {"3:2", N_("Landscape (3:2)")}, {"16:9", N_("Wide (16:9)")},
                  {"3:4", N_("Portrait (3:4)")},  {"2:3", N_("Portrait (2:3)")},
                  {"9:16", N_("Tall (9:16)")}};
    for (gsize i = 0; i < G_N_ELEMENTS(shapes); i++)
        gtk_combo_box_text_append(GTK_COMBO_BOX_TEXT(c), shapes[i].id, _(shapes[i].label));
    g_signal_connect_swapped(c, "changed", G_CALLBACK(dialog_on_params_changed), d);
    return c;
}

void dialog_select_size(CascadeDialog *d, const gchar *aspect) {
    const gchar *id = aspect && *aspect ? aspect : "1:1";
    if (!gtk_combo_box_set_active_id(GTK_COMBO_BOX(d->aspect), id)) { /* a preset's own */
        gtk_combo_box_text_append(GTK_COMBO_BOX_TEXT(d->aspect), id, id);
        gtk_combo_box_set_active_id(GTK_COMBO_BOX(d->aspect), id);
    }
}

void cascade_dialog_set_image_shape(CascadeDialog *d, const gchar *aspect) {
    g_return_if_fail(CASCADE_IS_DIALOG(d));
    if (d->recipe.mode != CASCADE_MODE_GENERATE || !aspect) return;
    /* it comes from a file (the image's parasite): only a shape the run would accept */
    double        ratio = 0;
    cascade_error err;
    cascade_error_init(&err);
    if (cascade_aspect_parse(aspect, &ratio, &err) != CASCADE_STATUS_OK) return;
    /* not an edit: the preset the settings came from stays selected */
    gboolean was = d->updating;
    d->updating = TRUE;
    dialog_select_size(d, aspect);
    d->updating = was;
    gchar *tip = g_strdup_printf("%s\n%s", _(SIZE_TIP),
                                 _("It starts from the shape last used on this image."));
    gtk_widget_set_tooltip_text(d->aspect, tip);
    g_free(tip);
}
