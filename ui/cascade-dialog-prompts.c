/* The prompt's "what this model can draw" menu: the model's prompts.json (styles, subjects
 * and the captions it was trained on) as a menu that fills in the prompt, so a designer sees
 * what the small default model knows instead of guessing. */
#include <glib/gi18n-lib.h>
#include <stdlib.h>
#include <string.h>

#include "cascade-dialog-private.h"
#include "cascade-job.h"
#include "cascade/model-prompts.h"
#include "cascade/model-search.h"

/* The stage I folder the dialog's Model field names (a cascade root means its stage1), or the
 * default model's. */
static gchar *stage1_dir(CascadeDialog *d) {
    const gchar *given = gtk_entry_get_text(GTK_ENTRY(d->model));
    if (!given || !*given) return cascade_job_default_model_dir();
    char  *s1 = cascade_model_stage_dir(given, "stage1");
    gchar *r = g_strdup(s1 ? s1 : given);
    free(s1);
    return r;
}

static void on_prompt_chosen(GtkMenuItem *item, CascadeDialog *d) {
    const gchar *prompt = g_object_get_data(G_OBJECT(item), "prompt");
    gtk_text_buffer_set_text(gtk_text_view_get_buffer(GTK_TEXT_VIEW(d->prompt)), prompt, -1);
    gtk_widget_grab_focus(d->prompt);
}

static GtkWidget *prompt_item(CascadeDialog *d, const gchar *label, const gchar *prompt) {
    GtkWidget *item = gtk_menu_item_new_with_label(label);
    g_object_set_data_full(G_OBJECT(item), "prompt", g_strdup(prompt), g_free);
    g_signal_connect(item, "activate", G_CALLBACK(on_prompt_chosen), d);
    return item;
}

static GtkWidget *note_item(const gchar *text) {
    GtkWidget *item = gtk_menu_item_new_with_label(text);
    gtk_widget_set_sensitive(item, FALSE);
    return item;
}

/* One submenu per style holding the prompts that end in ", <style>" (shown without it);
 * prompts in no style go straight into the menu. */
static void fill_menu(CascadeDialog *d, GtkMenuShell *menu, const cascade_model_prompts *mp) {
    gboolean *placed = g_new0(gboolean, mp->n_prompts + 1);
    for (size_t s = 0; s < mp->n_styles; s++) {
        g_autofree gchar *suffix = g_strconcat(", ", mp->styles[s], NULL);
        GtkWidget        *sub = gtk_menu_new();
        for (size_t i = 0; i < mp->n_prompts; i++) {
            if (placed[i] || !g_str_has_suffix(mp->prompts[i], suffix)) continue;
            g_autofree gchar *subject =
                g_strndup(mp->prompts[i], strlen(mp->prompts[i]) - strlen(suffix));
            gtk_menu_shell_append(GTK_MENU_SHELL(sub), prompt_item(d, subject, mp->prompts[i]));
            placed[i] = TRUE;
        }
        GtkWidget *item = gtk_menu_item_new_with_label(mp->styles[s]);
        gtk_menu_item_set_submenu(GTK_MENU_ITEM(item), sub);
        gtk_menu_shell_append(menu, item);
    }
    for (size_t i = 0; i < mp->n_prompts; i++)
        if (!placed[i]) gtk_menu_shell_append(menu, prompt_item(d, mp->prompts[i], mp->prompts[i]));
    g_free(placed);
}

/* Rebuilt at every click: the Model field may name another folder by then. */
static void on_toggled(GtkToggleButton *button, CascadeDialog *d) {
    if (!gtk_toggle_button_get_active(button)) return;
    GtkWidget             *menu = gtk_menu_new();
    g_autofree gchar      *dir = stage1_dir(d);
    cascade_model_prompts *mp = NULL;
    cascade_error          err;
    cascade_error_init(&err);
    if (!dir)
        gtk_menu_shell_append(GTK_MENU_SHELL(menu), note_item(_("No model is installed")));
    else if (cascade_model_prompts_load(dir, &mp, &err))
        gtk_menu_shell_append(GTK_MENU_SHELL(menu), note_item(err.message));
    else if (!mp || !mp->n_prompts)
        gtk_menu_shell_append(GTK_MENU_SHELL(menu),
                              note_item(_("This model lists no prompts: try any text")));
    else
        fill_menu(d, GTK_MENU_SHELL(menu), mp);
    cascade_model_prompts_free(mp);
    gtk_widget_show_all(menu);
    gtk_menu_button_set_popup(GTK_MENU_BUTTON(button), menu);
}

GtkWidget *dialog_prompt_menu_button(CascadeDialog *d) {
    GtkWidget *b = gtk_menu_button_new();
    const gchar *tip = _("What this model was trained to draw: choose one to fill in the prompt");
    gtk_button_set_image(GTK_BUTTON(b),
                         gtk_image_new_from_icon_name("view-list-symbolic", GTK_ICON_SIZE_BUTTON));
    gtk_widget_set_name(b, "prompt-ideas");
    gtk_widget_set_tooltip_text(b, tip);
    gtk_widget_set_valign(b, GTK_ALIGN_START);
    atk_object_set_name(gtk_widget_get_accessible(b), tip);
    /* a placeholder menu until the first click builds the real one */
    gtk_menu_button_set_popup(GTK_MENU_BUTTON(b), gtk_menu_new());
    g_signal_connect(b, "toggled", G_CALLBACK(on_toggled), d);
    return b;
}
