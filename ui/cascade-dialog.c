/* CascadeDialog: building the dialog, and moving a recipe into and out of its widgets.
 *
 * Layout, as GIMP's filter dialogs: settings on the left in bold-titled sections with
 * mnemonic labels (Prompt; Settings; Inpainting or Upscaling by mode), the live preview,
 * the progress bar and the candidate grid on the right, Cancel / Generate / OK below.
 * Generate is the default (Enter, also from the prompt; Shift+Enter is a new line) until a
 * candidate is picked, then OK is; Ctrl+Enter is always OK; Esc cancels a run, or the
 * dialog when nothing runs. */
#include <glib/gi18n-lib.h>
#include <stdlib.h>
#include <string.h>

#include "cascade-dialog-private.h"
#include "cascade-presets.h"
#include "cascade-upscalers.h"
#include "cascade-widgets.h"
#ifdef CASCADE_HAVE_VULKAN
#include "cascade/vulkan.h"
#endif

G_DEFINE_TYPE(CascadeDialog, cascade_dialog, GTK_TYPE_DIALOG)

/* The tallest the settings column grows before it scrolls on a 768 px tall screen: with the
 * target line and the buttons the dialog stays within 1366 x 768 less a panel and a title
 * bar. A taller screen gives the column its extra height (settings_max_height). */
#define SETTINGS_MAX_HEIGHT 540
#define SMALL_SCREEN_HEIGHT 768

static void cascade_dialog_finalize(GObject *o) {
    CascadeDialog *d = CASCADE_DIALOG(o);
    g_clear_object(&d->label_group);
    g_clear_pointer(&d->style_texts, g_hash_table_unref);
    g_clear_pointer(&d->upscalers, g_ptr_array_unref);
    cascade_recipe_clear(&d->recipe);
    G_OBJECT_CLASS(cascade_dialog_parent_class)->finalize(o);
}

static void cascade_dialog_class_init(CascadeDialogClass *klass) {
    G_OBJECT_CLASS(klass)->finalize = cascade_dialog_finalize;
    /* $CASCADE_LOCALEDIR: the catalogues of a build tree (build/po), for trying them out */
    const gchar *dir = g_getenv("CASCADE_LOCALEDIR");
    bindtextdomain(GETTEXT_PACKAGE, dir && *dir ? dir : CASCADE_LOCALEDIR);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
}

static void cascade_dialog_init(CascadeDialog *d) {
    cascade_recipe_init(&d->recipe);
    d->label_group = gtk_size_group_new(GTK_SIZE_GROUP_HORIZONTAL);
    d->style_texts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

/* ---- building blocks ------------------------------------------------------------------- */

static GtkWidget *section(const gchar *title, GtkWidget *body) {
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
    GtkWidget *label = gtk_label_new(NULL);
    gchar     *markup = g_markup_printf_escaped("<b>%s</b>", title);
    gtk_label_set_markup(GTK_LABEL(label), markup);
    g_free(markup);
    gtk_label_set_xalign(GTK_LABEL(label), 0);
    gtk_widget_set_margin_start(body, 12);
    gtk_box_pack_start(GTK_BOX(box), label, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), body, TRUE, TRUE, 0);
    return box;
}

static GtkWidget *form(CascadeDialog *d) {
    GtkWidget *g = gtk_grid_new();
    g_object_set_data(G_OBJECT(g), "cascade-label-group", d->label_group);
    gtk_grid_set_row_spacing(GTK_GRID(g), 6);
    gtk_grid_set_column_spacing(GTK_GRID(g), 12);
    return g;
}

/* label (with mnemonic) in column 0, widget spanning the rest of the row */
static void row(GtkWidget *grid, gint y, const gchar *mnemonic, GtkWidget *w, GtkWidget *focus) {
    GtkWidget    *l = gtk_label_new_with_mnemonic(mnemonic);
    GtkSizeGroup *group = g_object_get_data(G_OBJECT(grid), "cascade-label-group");
    if (group) gtk_size_group_add_widget(group, l);
    gtk_label_set_xalign(GTK_LABEL(l), 0);
    gtk_label_set_yalign(GTK_LABEL(l), 0.5);
    gtk_label_set_mnemonic_widget(GTK_LABEL(l), focus ? focus : w);
    gtk_grid_attach(GTK_GRID(grid), l, 0, y, 1, 1);
    gtk_widget_set_hexpand(w, TRUE);
    gtk_grid_attach(GTK_GRID(grid), w, 1, y, 1, 1);
}

static GtkWidget *spin(CascadeDialog *d, const gchar *name, double lo, double hi, double step,
                       guint digits, const gchar *tip) {
    GtkWidget *s = gtk_spin_button_new_with_range(lo, hi, step);
    gtk_spin_button_set_digits(GTK_SPIN_BUTTON(s), digits);
    gtk_entry_set_activates_default(GTK_ENTRY(s), TRUE);
    gtk_widget_set_name(s, name);
    gtk_widget_set_tooltip_text(s, tip);
    g_signal_connect_swapped(s, "value-changed", G_CALLBACK(dialog_on_params_changed), d);
    return s;
}

/* A spin button whose lowest value stands for "the model's recommendation" shows it as
 * "auto" (and reads "auto" back), rather than a 0 or -1 that looks like a real setting. */
static gboolean on_auto_output(GtkSpinButton *s, gpointer data) {
    (void)data;
    GtkAdjustment *a = gtk_spin_button_get_adjustment(s);
    if (gtk_adjustment_get_value(a) > gtk_adjustment_get_lower(a)) return FALSE;
    gtk_entry_set_text(GTK_ENTRY(s), _("auto"));
    return TRUE;
}

static gint on_auto_input(GtkSpinButton *s, gdouble *value, gpointer data) {
    (void)data;
    const gchar *t = gtk_entry_get_text(GTK_ENTRY(s));
    if (g_strcmp0(t, _("auto")) && g_ascii_strcasecmp(t, "auto")) return FALSE;
    *value = gtk_adjustment_get_lower(gtk_spin_button_get_adjustment(s));
    return TRUE;
}

void dialog_spin_show_auto(GtkWidget *s) {
    gtk_spin_button_set_numeric(GTK_SPIN_BUTTON(s), FALSE); /* a numeric one drops the word */
    g_signal_connect(s, "output", G_CALLBACK(on_auto_output), NULL);
    g_signal_connect(s, "input", G_CALLBACK(on_auto_input), NULL);
}

static GtkWidget *auto_spin(CascadeDialog *d, const gchar *name, double lo, double hi,
                            double step, guint digits, const gchar *tip) {
    GtkWidget *s = spin(d, name, lo, hi, step, digits, tip);
    dialog_spin_show_auto(s);
    return s;
}

static GtkWidget *text_view(CascadeDialog *d, const gchar *name, gint lines, GtkWidget **view) {
    *view = gtk_text_view_new();
    gtk_text_view_set_wrap_mode(GTK_TEXT_VIEW(*view), GTK_WRAP_WORD_CHAR);
    gtk_text_view_set_accepts_tab(GTK_TEXT_VIEW(*view), FALSE);
    gtk_text_view_set_left_margin(GTK_TEXT_VIEW(*view), 4);
    gtk_text_view_set_right_margin(GTK_TEXT_VIEW(*view), 4);
    gtk_text_view_set_top_margin(GTK_TEXT_VIEW(*view), 3);
    gtk_widget_set_name(*view, name);
    g_signal_connect(*view, "key-press-event", G_CALLBACK(dialog_on_text_key), d);
    g_signal_connect_swapped(gtk_text_view_get_buffer(GTK_TEXT_VIEW(*view)), "changed",
                             G_CALLBACK(dialog_on_params_changed), d);
    GtkWidget *sw = gtk_scrolled_window_new(NULL, NULL);
    gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(sw), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
    gtk_scrolled_window_set_shadow_type(GTK_SCROLLED_WINDOW(sw), GTK_SHADOW_IN);
    gtk_scrolled_window_set_min_content_height(GTK_SCROLLED_WINDOW(sw), lines * 20 + 6);
    gtk_container_add(GTK_CONTAINER(sw), *view);
    return sw;
}

static GtkWidget *entry(CascadeDialog *d, const gchar *name, const gchar *placeholder) {
    GtkWidget *e = gtk_entry_new();
    gtk_entry_set_placeholder_text(GTK_ENTRY(e), placeholder);
    gtk_entry_set_activates_default(GTK_ENTRY(e), TRUE);
    gtk_widget_set_name(e, name);
    g_signal_connect_swapped(e, "changed", G_CALLBACK(dialog_on_params_changed), d);
    return e;
}

static GtkWidget *check(CascadeDialog *d, const gchar *name, const gchar *mnemonic) {
    GtkWidget *c = gtk_check_button_new_with_mnemonic(mnemonic);
    gtk_widget_set_name(c, name);
    g_signal_connect_swapped(c, "toggled", G_CALLBACK(dialog_on_params_changed), d);
    return c;
}

static GtkWidget *icon_button(const gchar *icon, const gchar *name, const gchar *tip) {
    GtkWidget *b = gtk_button_new_from_icon_name(icon, GTK_ICON_SIZE_BUTTON);
    gtk_widget_set_name(b, name);
    gtk_widget_set_tooltip_text(b, tip);
    atk_object_set_name(gtk_widget_get_accessible(b), tip);
    return b;
}

static void fill_backends(CascadeDialog *d) {
    GtkComboBoxText *c = GTK_COMBO_BOX_TEXT(d->backend);
    gtk_combo_box_text_append(c, "auto", _("Automatic (GPU when there is one)"));
    gtk_combo_box_text_append(c, "cpu", _("CPU"));
#ifdef CASCADE_HAVE_VULKAN
    gtk_combo_box_text_append(c, "vulkan", _("Vulkan"));
    gtk_combo_box_text_append(c, "vulkan-fp16", _("Vulkan, half precision"));
    cascade_vulkan_device_info *devs = NULL;
    int                         n = 0;
    cascade_error               err;
    cascade_error_init(&err);
    if (!cascade_vulkan_list_devices(&devs, &n, &err))
        for (int i = 0; i < n; i++) {
            gchar *id = g_strdup_printf("vulkan:%s", devs[i].name);
            /* lavapipe and the like: Vulkan run by the CPU, far slower than the CPU backend */
            gchar *label =
                devs[i].type == CASCADE_VULKAN_DEVICE_CPU
                    ? g_strdup_printf(_("Vulkan: %s (CPU emulation, slow)"), devs[i].name)
                    : g_strdup_printf(_("Vulkan: %s"), devs[i].name);
            gtk_combo_box_text_append(c, id, label);
            g_free(id), g_free(label);
        }
    free(devs);
#endif
}

static const gchar *mode_title(CascadeMode mode) {
    switch (mode) {
    case CASCADE_MODE_INPAINT: return _("Inpaint Selection");
    case CASCADE_MODE_UPSCALE: return _("Upscale Layer");
    case CASCADE_MODE_VARIATIONS: return _("Variations of Layer");
    case CASCADE_MODE_OUTPAINT: return _("Expand Canvas and Fill");
    default: return _("Generate from Text");
    }
}

/* While Random is on the seed field shows no number: the one it holds is not the one the
 * next run uses. */
static gboolean on_seed_output(GtkSpinButton *spin, CascadeDialog *d) {
    gboolean random = gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(d->random_seed));
    gtk_spin_button_set_numeric(spin, !random); /* a numeric spin button drops the words */
    if (!random) return FALSE;
    gtk_entry_set_text(GTK_ENTRY(spin), _("random"));
    return TRUE;
}

static gint on_seed_input(GtkSpinButton *spin, gdouble *value, CascadeDialog *d) {
    if (!gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(d->random_seed))) return FALSE;
    *value = gtk_adjustment_get_value(gtk_spin_button_get_adjustment(spin)); /* kept as is */
    return TRUE;
}

void dialog_show_seed(CascadeDialog *d) {
    GtkSpinButton *spin = GTK_SPIN_BUTTON(d->seed);
    if (on_seed_output(spin, d)) return;
    gchar text[24];
    g_snprintf(text, sizeof text, "%.0f", gtk_spin_button_get_value(spin));
    gtk_entry_set_text(GTK_ENTRY(spin), text);
}

static GtkWidget *build_settings(CascadeDialog *d) {
    GtkWidget *left = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);

    GtkWidget *g = form(d);
    GtkWidget *prompt_box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    gtk_box_pack_start(GTK_BOX(prompt_box), text_view(d, "prompt", 3, &d->prompt), TRUE, TRUE, 0);
    gtk_box_pack_start(GTK_BOX(prompt_box), dialog_prompt_menu_button(d), FALSE, FALSE, 0);
    row(g, 0, _("_Prompt:"), prompt_box, d->prompt);
    row(g, 1, _("_Negative:"), text_view(d, "negative", 2, &d->negative), d->negative);
    /* the style presets have a picker of their own, so that a quality preset chosen after
     * a style visibly keeps it (one list mixing both hid which style was still on) */
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    d->style_preset = gtk_combo_box_text_new();
    gtk_widget_set_name(d->style_preset, "style-preset");
    gtk_widget_set_tooltip_text(d->style_preset, _("A style preset: its text is appended to the "
                                                   "prompt and its negative prompt is used"));
    d->style = entry(d, "style", _("No style"));
    gtk_widget_set_tooltip_text(d->style, _("Appended to the prompt, e.g. by a style preset"));
    gtk_box_pack_start(GTK_BOX(box), d->style_preset, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), d->style, TRUE, TRUE, 0);
    row(g, 2, _("St_yle:"), box, d->style_preset);
    d->prompt_section = section(_("Prompt"), g);
    gtk_box_pack_start(GTK_BOX(left), d->prompt_section, FALSE, FALSE, 0);

    g = form(d);
    box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    d->preset = gtk_combo_box_text_new();
    gtk_widget_set_name(d->preset, "preset");
    d->save_preset = icon_button("document-save-as", "save-preset",
                                 _("Save these settings as a preset of your own"));
    gtk_box_pack_start(GTK_BOX(box), d->preset, TRUE, TRUE, 0);
    gtk_box_pack_start(GTK_BOX(box), d->save_preset, FALSE, FALSE, 0);
    row(g, 0, _("Pre_set:"), box, d->preset);
    box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    d->seed =
        spin(d, "seed", 0, 4294967295.0, 1, 0, _("The same seed and settings give the same image"));
    d->random_seed = check(d, "random-seed", _("R_andom"));
    gtk_widget_set_tooltip_text(d->random_seed, _("Draw a new seed at every run"));
    d->reroll = icon_button("view-refresh", "reroll", _("Draw a new seed now"));
    gtk_box_pack_start(GTK_BOX(box), d->seed, TRUE, TRUE, 0);
    gtk_box_pack_start(GTK_BOX(box), d->random_seed, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), d->reroll, FALSE, FALSE, 0);
    row(g, 1, _("S_eed:"), box, d->seed);
    d->steps1 = auto_spin(d, "steps1", 0, 1000, 1, 0,
                          _("Denoising steps of the first, small stage (auto: what the model "
                            "recommends)"));
    row(g, 2, _("S_teps:"), d->steps1, NULL);
    d->guidance1 = auto_spin(d, "guidance1", -1, 100, 0.5, 1,
                             _("How closely the image follows the prompt (classifier-free "
                               "guidance; auto: what the model recommends)"));
    row(g, 3, _("G_uidance:"), d->guidance1, NULL);
    d->stage2 = check(d, "stage2", _("Super-_resolution to 256 px (stage II)"));
    gtk_grid_attach(GTK_GRID(g), d->stage2, 0, 4, 2, 1);
    d->batch = spin(d, "batch", 1, 16, 1, 0, _("How many variations to make at once"));
    row(g, 5, _("Num_ber of variations:"), d->batch, NULL);
    d->aspect = dialog_build_size(d);
    row(g, 6, _("Si_ze:"), d->aspect, NULL);

    /* the rarely changed settings, folded away so the dialog fits a 768 px screen */
    GtkWidget *more = form(d);
    d->model = entry(d, "model", _("Default model"));
    dialog_folder_entry(d, d->model, _("Choose a model folder"));
    row(more, 0, _("_Model:"), d->model, NULL);
    d->steps2 = auto_spin(d, "steps2", 0, 1000, 1, 0,
                          _("Denoising steps of the 256 px stage (auto: what the model "
                            "recommends)"));
    row(more, 1, _("Stage _II steps:"), d->steps2, NULL);
    d->guidance2 = auto_spin(d, "guidance2", -1, 100, 0.5, 1,
                             _("Guidance of the 256 px stage (auto: what the model recommends)"));
    row(more, 2, _("Stage II gui_dance:"), d->guidance2, NULL);
    d->noise_level = spin(d, "noise-level", 0, 999, 10, 0,
                          _("Noise added to the first stage's small image before super-resolution"));
    row(more, 3, _("Noise _level:"), d->noise_level, NULL);
    d->backend = gtk_combo_box_text_new();
    gtk_widget_set_name(d->backend, "backend");
    fill_backends(d);
    g_signal_connect_swapped(d->backend, "changed", G_CALLBACK(dialog_on_params_changed), d);
    row(more, 4, _("De_vice:"), d->backend, NULL);
    d->stage3 = entry(d, "stage3-model", _("The model's stage3/ folder, if any"));
    dialog_folder_entry(d, d->stage3, _("Choose an x4 upscaler folder"));
    gtk_widget_set_tooltip_text(d->stage3,
                                _("An x4 diffusion upscaler (IF's stage III) run after stage II: "
                                  "the image grows four times, with the same prompt"));
    row(more, 5, _("Stage III _folder:"), d->stage3, NULL);
    d->upscaler = entry(d, "upscaler", _("The installed upscalers"));
    gtk_widget_set_tooltip_text(d->upscaler, _("A GAN upscaler, a folder of them, or an x4 "
                                               "diffusion upscaler folder (it enlarges ×4, "
                                               "guided by the prompt): listed under Upscaler"));
    dialog_folder_entry(d, d->upscaler, _("Choose an upscaler folder"));
    g_signal_connect(d->upscaler, "changed", G_CALLBACK(dialog_on_upscaler_folder_changed), d);
    row(more, 6, _("Upscaler _folder:"), d->upscaler, NULL);
    gtk_widget_set_margin_top(more, 6);
    d->advanced = gtk_expander_new_with_mnemonic(_("Ot_her settings"));
    gtk_widget_set_name(d->advanced, "advanced");
    gtk_container_add(GTK_CONTAINER(d->advanced), more);
    gtk_grid_attach(GTK_GRID(g), d->advanced, 0, 7, 2, 1);
    d->quality_section = section(_("Settings"), g);
    gtk_box_pack_start(GTK_BOX(left), d->quality_section, FALSE, FALSE, 0);

    /* outpaint: the four margins (mnemonics free in that mode: the rows it hides use them) */
    g = form(d);
    static const struct {
        const gchar *name, *label, *tip;
    } sides[4] = {
        {"expand-left", N_("Le_ft (px):"), N_("Pixels added to the canvas on the left")},
        {"expand-top", N_("A_bove (px):"), N_("Pixels added to the canvas at the top")},
        {"expand-right", N_("Ri_ght (px):"), N_("Pixels added to the canvas on the right")},
        {"expand-bottom", N_("Belo_w (px):"), N_("Pixels added to the canvas at the bottom")},
    };
    for (gint i = 0; i < 4; i++) {
        d->expand[i] = spin(d, sides[i].name, 0, 8192, 16, 0, _(sides[i].tip));
        row(g, i, _(sides[i].label), d->expand[i], NULL);
    }
    d->expand_section = section(_("Expand canvas"), g);
    gtk_box_pack_start(GTK_BOX(left), d->expand_section, FALSE, FALSE, 0);

    g = form(d);
    d->margin = spin(d, "context-margin", 0, 4096, 8, 0,
                     _("Pixels around the selection the model sees as context"));
    row(g, 0, _("Conte_xt margin (px):"), d->margin, NULL);
    d->feather = auto_spin(d, "feather", -1, 512, 1, 0,
                      _("Pixels over which the new content fades in inside the selection's edge "
                        "(−1: automatic, from the area's size)"));
    row(g, 1, _("Mas_k feather (px):"), d->feather, NULL);
    d->colour_match = check(d, "colour-match", _("Match colours to the surroundings"));
    gtk_widget_set_tooltip_text(d->colour_match,
                                _("Remove the model's colour drift, measured just outside the "
                                  "selection, from what it repaints"));
    gtk_grid_attach(GTK_GRID(g), d->colour_match, 1, 2, 1, 1);
    d->inpaint_strength = gtk_scale_new_with_range(GTK_ORIENTATION_HORIZONTAL, 0.05, 1.0, 0.05);
    gtk_scale_set_digits(GTK_SCALE(d->inpaint_strength), 2);
    gtk_scale_set_value_pos(GTK_SCALE(d->inpaint_strength), GTK_POS_RIGHT);
    gtk_widget_set_name(d->inpaint_strength, "inpaint-strength");
    gtk_widget_set_tooltip_text(d->inpaint_strength,
                                _("1 repaints the selection from the prompt; lower values keep "
                                  "more of what is there"));
    g_signal_connect_swapped(d->inpaint_strength, "value-changed",
                             G_CALLBACK(dialog_on_params_changed), d);
    row(g, 3, _("Repaint strength (ho_w far):"), d->inpaint_strength, NULL);
    d->inpaint_section = section(_("Inpainting"), g);
    gtk_box_pack_start(GTK_BOX(left), d->inpaint_section, FALSE, FALSE, 0);

    g = form(d);
    d->strength = gtk_scale_new_with_range(GTK_ORIENTATION_HORIZONTAL, 0.01, 1.0, 0.05);
    gtk_scale_set_digits(GTK_SCALE(d->strength), 2);
    gtk_scale_set_value_pos(GTK_SCALE(d->strength), GTK_POS_RIGHT);
    gtk_widget_set_hexpand(d->strength, TRUE);
    gtk_widget_set_name(d->strength, "strength");
    gtk_widget_set_tooltip_text(d->strength,
                                _("How far the variations may move from the layer: near 0 keeps "
                                  "it, 1 repaints it from the prompt alone"));
    g_signal_connect_swapped(d->strength, "value-changed", G_CALLBACK(dialog_on_params_changed), d);
    row(g, 0, _("Strength (ho_w far):"), d->strength, NULL);
    d->variations_section = section(_("Variations"), g);
    gtk_box_pack_start(GTK_BOX(left), d->variations_section, FALSE, FALSE, 0);

    g = form(d);
    dialog_build_upscale(d, g);
    d->upscale_section = section(_("Upscaling"), g);
    gtk_box_pack_start(GTK_BOX(left), d->upscale_section, FALSE, FALSE, 0);
    /* upscaling's own settings first, above the device (and the prompt: a GAN takes none) */
    if (d->recipe.mode == CASCADE_MODE_UPSCALE)
        gtk_box_reorder_child(GTK_BOX(left), d->upscale_section, 0);
    /* the margins are what Expand Canvas is about: right under the prompt, not scrolled off */
    if (d->recipe.mode == CASCADE_MODE_OUTPAINT)
        gtk_box_reorder_child(GTK_BOX(left), d->expand_section, 1);

    g_signal_connect(d->preset, "changed", G_CALLBACK(dialog_on_preset_changed), d);
    g_signal_connect(d->style_preset, "changed", G_CALLBACK(dialog_on_style_preset_changed), d);
    g_signal_connect(d->seed, "output", G_CALLBACK(on_seed_output), d);
    g_signal_connect(d->seed, "input", G_CALLBACK(on_seed_input), d);
    g_signal_connect(d->save_preset, "clicked", G_CALLBACK(dialog_on_save_preset), d);
    g_signal_connect(d->reroll, "clicked", G_CALLBACK(dialog_on_reroll), d);
    return left;
}

static GtkWidget *build_output(CascadeDialog *d) {
    GtkWidget *right = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
    GtkWidget *frame = gtk_frame_new(NULL);
    gtk_frame_set_shadow_type(GTK_FRAME(frame), GTK_SHADOW_IN);
    d->preview = cascade_preview_area_new(256);
    gtk_container_add(GTK_CONTAINER(frame), d->preview);
    gtk_box_pack_start(GTK_BOX(right), section(_("Preview"), frame), FALSE, FALSE, 0);
    d->progress = gtk_progress_bar_new();
    gtk_widget_set_name(d->progress, "progress");
    gtk_progress_bar_set_show_text(GTK_PROGRESS_BAR(d->progress), TRUE);
    gtk_progress_bar_set_text(GTK_PROGRESS_BAR(d->progress), _("Ready"));
    gtk_widget_set_margin_start(d->progress, 12);
    gtk_box_pack_start(GTK_BOX(right), d->progress, FALSE, FALSE, 0);
    d->grid = cascade_candidate_grid_new(64);
    g_signal_connect(d->grid, "selected-children-changed", G_CALLBACK(dialog_on_candidate_selected),
                     d);
    GtkWidget *sw = gtk_scrolled_window_new(NULL, NULL);
    gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(sw), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
    gtk_scrolled_window_set_min_content_height(GTK_SCROLLED_WINDOW(sw), 150);
    gtk_container_add(GTK_CONTAINER(sw), d->grid);
    d->candidates_section = section(_("Candidates"), sw);
    gtk_widget_set_tooltip_text(d->candidates_section,
                                _("Generate makes quick small candidates; pick one, then OK "
                                  "finishes it at full quality"));
    gtk_box_pack_start(GTK_BOX(right), d->candidates_section, TRUE, TRUE, 0);
    d->status_label = gtk_label_new(NULL);
    gtk_widget_set_name(d->status_label, "status");
    gtk_label_set_line_wrap(GTK_LABEL(d->status_label), TRUE);
    gtk_label_set_max_width_chars(GTK_LABEL(d->status_label), 40);
    gtk_label_set_xalign(GTK_LABEL(d->status_label), 0);
    gtk_label_set_selectable(GTK_LABEL(d->status_label), TRUE);
    gtk_box_pack_end(GTK_BOX(right), d->status_label, FALSE, FALSE, 0);
    return right;
}

/* On a 1080 px screen the inpainting settings sat below a 540 px column's fold with room to
 * spare: the column may grow with the monitor's work area (the parent's, else the primary
 * one), keeping the 768 px screen's margin for panels, title bar and buttons. */
static gint settings_max_height(GtkWindow *parent) {
    GdkDisplay *display = gdk_display_get_default();
    GdkWindow  *pw = parent ? gtk_widget_get_window(GTK_WIDGET(parent)) : NULL;
    GdkMonitor *m = pw ? gdk_display_get_monitor_at_window(display, pw) : NULL;
    if (!m) m = gdk_display_get_primary_monitor(display);
    if (!m && gdk_display_get_n_monitors(display) > 0) m = gdk_display_get_monitor(display, 0);
    if (!m) return SETTINGS_MAX_HEIGHT;
    GdkRectangle area;
    gdk_monitor_get_workarea(m, &area);
    return MAX(SETTINGS_MAX_HEIGHT, area.height - (SMALL_SCREEN_HEIGHT - SETTINGS_MAX_HEIGHT));
}

static gboolean on_key(GtkWidget *w, GdkEventKey *ev, gpointer ud) {
    (void)ud;
    if ((ev->keyval == GDK_KEY_Return || ev->keyval == GDK_KEY_KP_Enter) &&
        (ev->state & GDK_CONTROL_MASK)) {
        gtk_dialog_response(GTK_DIALOG(w), GTK_RESPONSE_OK);
        return TRUE;
    }
    return FALSE;
}

GtkWidget *cascade_dialog_new(const CascadeRecipe *recipe, CascadeUiHost *host, GtkWindow *parent) {
    g_return_val_if_fail(recipe && host, NULL);
    CascadeDialog *d = g_object_new(CASCADE_TYPE_DIALOG, "use-header-bar", FALSE, NULL);
    cascade_recipe_clear(&d->recipe);
    cascade_recipe_copy(&d->recipe, recipe);
    d->host = host;
    gtk_window_set_title(GTK_WINDOW(d), mode_title(recipe->mode));
    gtk_window_set_role(GTK_WINDOW(d), "gimp-cascade");
    if (parent) {
        gtk_window_set_transient_for(GTK_WINDOW(d), parent);
        gtk_window_set_position(GTK_WINDOW(d), GTK_WIN_POS_CENTER_ON_PARENT);
    }
    gtk_dialog_add_button(GTK_DIALOG(d), _("_Cancel"), GTK_RESPONSE_CANCEL);
    d->generate_button =
        gtk_dialog_add_button(GTK_DIALOG(d), _("_Generate"), CASCADE_RESPONSE_GENERATE);
    gtk_widget_set_name(d->generate_button, "generate");
    gtk_widget_set_tooltip_text(d->generate_button,
                                _("Make quick small candidates to choose from (Enter)"));
    d->ok_button = gtk_dialog_add_button(
        GTK_DIALOG(d), recipe->mode == CASCADE_MODE_UPSCALE ? _("_Upscale") : _("_OK"),
        GTK_RESPONSE_OK);
    gtk_widget_set_name(d->ok_button, "ok");
    gtk_widget_set_tooltip_text(d->ok_button, _("Run at full quality and create the layer "
                                                "(Ctrl+Enter)"));

    GtkWidget *content = gtk_dialog_get_content_area(GTK_DIALOG(d));
    gtk_container_set_border_width(GTK_CONTAINER(content), 12);
    gtk_box_set_spacing(GTK_BOX(content), 12);
    const gchar *target = host->describe_target ? host->describe_target(host) : NULL;
    d->target_label = gtk_label_new(target ? target : "");
    gtk_label_set_xalign(GTK_LABEL(d->target_label), 0);
    gtk_label_set_ellipsize(GTK_LABEL(d->target_label), PANGO_ELLIPSIZE_MIDDLE);
    gtk_style_context_add_class(gtk_widget_get_style_context(d->target_label), "dim-label");
    gtk_box_pack_start(GTK_BOX(content), d->target_label, FALSE, FALSE, 0);
    GtkWidget *hbox = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 18);
    /* the settings scroll past SETTINGS_MAX_HEIGHT (Other settings open, a large font), so
     * the dialog and its buttons still fit a 768 px screen */
    GtkWidget *scroll = gtk_scrolled_window_new(NULL, NULL);
    gtk_widget_set_name(scroll, "settings-scroll");
    /* a scrollbar that stays: an overlay one shows only under the pointer, and the rows cut
     * off at the bottom then looked like the whole dialog */
    gtk_scrolled_window_set_overlay_scrolling(GTK_SCROLLED_WINDOW(scroll), FALSE);
    gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroll), GTK_POLICY_NEVER,
                                   GTK_POLICY_AUTOMATIC);
    gtk_scrolled_window_set_propagate_natural_height(GTK_SCROLLED_WINDOW(scroll), TRUE);
    gtk_scrolled_window_set_propagate_natural_width(GTK_SCROLLED_WINDOW(scroll), TRUE);
    gtk_scrolled_window_set_max_content_height(GTK_SCROLLED_WINDOW(scroll),
                                               settings_max_height(parent));
    gtk_container_add(GTK_CONTAINER(scroll), build_settings(d));
    gtk_box_pack_start(GTK_BOX(hbox), scroll, TRUE, TRUE, 0);
    d->output_column = build_output(d);
    gtk_box_pack_start(GTK_BOX(hbox), d->output_column, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(content), hbox, TRUE, TRUE, 0);
    gtk_widget_show_all(content);
    if (!target) gtk_widget_hide(d->target_label);

    /* upscale mode has only the device in there: no reason to fold it away */
    gtk_expander_set_expanded(GTK_EXPANDER(d->advanced), recipe->mode == CASCADE_MODE_UPSCALE);
    dialog_fill_presets(d, recipe->preset);
    dialog_recipe_to_widgets(d, recipe);
    g_signal_connect(d, "response", G_CALLBACK(dialog_on_response), NULL);
    g_signal_connect(d, "close", G_CALLBACK(dialog_on_close), NULL);
    g_signal_connect(d, "key-press-event", G_CALLBACK(on_key), NULL);
    gtk_dialog_set_default_response(GTK_DIALOG(d), recipe->mode == CASCADE_MODE_UPSCALE ||
                                                           recipe->mode == CASCADE_MODE_OUTPAINT
                                                       ? GTK_RESPONSE_OK
                                                       : CASCADE_RESPONSE_GENERATE);
    dialog_update_sensitivity(d);
    gtk_widget_grab_focus(recipe->mode == CASCADE_MODE_UPSCALE ? d->upscaler_model : d->prompt);
    return GTK_WIDGET(d);
}

/* ---- recipe <-> widgets ------------------------------------------------------------------ */

static void set_text(GtkWidget *view, const gchar *s) {
    gtk_text_buffer_set_text(gtk_text_view_get_buffer(GTK_TEXT_VIEW(view)), s ? s : "", -1);
}

static gchar *get_text(GtkWidget *view) {
    GtkTextBuffer *b = gtk_text_view_get_buffer(GTK_TEXT_VIEW(view));
    GtkTextIter    s, e;
    gtk_text_buffer_get_bounds(b, &s, &e);
    return gtk_text_buffer_get_text(b, &s, &e, FALSE);
}

void dialog_fill_presets(CascadeDialog *d, const gchar *select_id) {
    gboolean was = d->updating;
    d->updating = TRUE;
    GtkComboBoxText *c = GTK_COMBO_BOX_TEXT(d->preset), *st = GTK_COMBO_BOX_TEXT(d->style_preset);
    gtk_combo_box_text_remove_all(c);
    gtk_combo_box_text_remove_all(st);
    g_hash_table_remove_all(d->style_texts);
    gtk_combo_box_text_append(c, "", _("Custom"));
    gtk_combo_box_text_append(st, "", _("None"));
    GPtrArray *list = cascade_presets_list();
    for (guint i = 0; i < list->len; i++) {
        CascadePresetInfo *p = list->pdata[i];
        gtk_combo_box_text_append(p->style ? st : c, p->id, p->name);
        if (p->style) g_hash_table_insert(d->style_texts, g_strdup(p->id), g_strdup(p->style));
    }
    g_ptr_array_unref(list);
    /* TRANSLATORS: the style picker when the style was typed rather than picked */
    gtk_combo_box_text_append(st, "custom", _("Custom"));
    if (!gtk_combo_box_set_active_id(GTK_COMBO_BOX(c), select_id ? select_id : ""))
        gtk_combo_box_set_active_id(GTK_COMBO_BOX(c), "");
    d->updating = was;
    dialog_sync_style_preset(d);
}

void dialog_sync_style_preset(CascadeDialog *d) {
    const gchar   *text = gtk_entry_get_text(GTK_ENTRY(d->style));
    const gchar   *id = *text ? "custom" : "";
    GHashTableIter it;
    gpointer       k, v;
    g_hash_table_iter_init(&it, d->style_texts);
    while (*text && g_hash_table_iter_next(&it, &k, &v))
        if (!strcmp(v, text)) id = k;
    gboolean was = d->updating;
    d->updating = TRUE;
    gtk_combo_box_set_active_id(GTK_COMBO_BOX(d->style_preset), id);
    d->updating = was;
}

void dialog_recipe_to_widgets(CascadeDialog *d, const CascadeRecipe *r) {
    gboolean was = d->updating;
    d->updating = TRUE;
    set_text(d->prompt, r->prompt);
    set_text(d->negative, r->negative_prompt);
    gtk_entry_set_text(GTK_ENTRY(d->style), r->style ? r->style : "");
    gtk_entry_set_text(GTK_ENTRY(d->model), r->model_dir ? r->model_dir : "");
    gtk_entry_set_text(GTK_ENTRY(d->stage3), r->stage3_dir ? r->stage3_dir : "");
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(d->seed), (double)MIN(r->seed, G_MAXUINT32));
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(d->random_seed), r->random_seed);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(d->steps1), r->steps1);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(d->steps2), r->steps2);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(d->guidance1), r->guidance1);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(d->guidance2), r->guidance2);
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(d->stage2), r->stage2);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(d->noise_level), r->noise_level);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(d->batch), r->batch);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(d->margin), r->context_margin);
    const gint expand[4] = {r->expand_left, r->expand_top, r->expand_right, r->expand_bottom};
    for (gint i = 0; i < 4; i++)
        gtk_spin_button_set_value(GTK_SPIN_BUTTON(d->expand[i]), expand[i]);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(d->feather), r->feather);
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(d->colour_match), r->colour_match);
    gtk_range_set_value(GTK_RANGE(d->inpaint_strength), r->inpaint_strength);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(d->tile), r->tile);
    gtk_range_set_value(GTK_RANGE(d->strength), r->strength);
    /* the upscaler: the recipe's own folder shows in the folder entry unless it is one of
     * the installed models; the picker selects what upscaler and factor resolve to */
    g_free(d->recipe.upscaler_dir);
    d->recipe.upscaler_dir = g_strdup(r->upscaler_dir ? r->upscaler_dir : "");
    d->recipe.upscale_factor = r->upscale_factor;
    if (d->recipe.mode == CASCADE_MODE_UPSCALE) { /* the other modes have no picker */
        GPtrArray *installed = cascade_upscalers_list(NULL);
        gboolean   listed =
            cascade_upscalers_find(installed, r->upscaler_dir, r->upscale_factor) >= 0;
        g_ptr_array_unref(installed);
        gtk_entry_set_text(GTK_ENTRY(d->upscaler),
                           listed || !r->upscaler_dir ? "" : r->upscaler_dir);
        dialog_fill_upscalers(d, r->upscaler_dir, r->upscale_factor);
    }
    gboolean visible = !g_strcmp0(r->upscale_source, "visible");
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(visible ? d->source_visible : d->source_layer),
                                 TRUE);
    const gchar *be = r->backend && *r->backend ? r->backend : "auto";
    if (!gtk_combo_box_set_active_id(GTK_COMBO_BOX(d->backend), be)) {
        gtk_combo_box_text_append(GTK_COMBO_BOX_TEXT(d->backend), be, be);
        gtk_combo_box_set_active_id(GTK_COMBO_BOX(d->backend), be);
    }
    dialog_select_size(d, r->aspect);
    if (!gtk_combo_box_set_active_id(GTK_COMBO_BOX(d->preset), r->preset ? r->preset : ""))
        gtk_combo_box_set_active_id(GTK_COMBO_BOX(d->preset), "");
    d->updating = was;
    dialog_sync_style_preset(d);
    dialog_update_sensitivity(d);
    dialog_show_seed(d);
}

void dialog_widgets_to_recipe(CascadeDialog *d, CascadeRecipe *dst) {
    cascade_recipe_copy(dst, &d->recipe);
    g_free(dst->prompt);
    dst->prompt = get_text(d->prompt);
    g_free(dst->negative_prompt);
    dst->negative_prompt = get_text(d->negative);
    g_free(dst->style);
    dst->style = g_strdup(gtk_entry_get_text(GTK_ENTRY(d->style)));
    g_free(dst->model_dir);
    dst->model_dir = g_strdup(gtk_entry_get_text(GTK_ENTRY(d->model)));
    g_free(dst->stage3_dir);
    dst->stage3_dir = g_strdup(gtk_entry_get_text(GTK_ENTRY(d->stage3)));
    /* upscaler and upscale-factor: d->recipe's, which the upscaler picker keeps */
    dst->seed = (guint64)gtk_spin_button_get_value(GTK_SPIN_BUTTON(d->seed));
    dst->random_seed = gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(d->random_seed));
    dst->steps1 = gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(d->steps1));
    dst->steps2 = gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(d->steps2));
    dst->guidance1 = gtk_spin_button_get_value(GTK_SPIN_BUTTON(d->guidance1));
    dst->guidance2 = gtk_spin_button_get_value(GTK_SPIN_BUTTON(d->guidance2));
    dst->stage2 = gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(d->stage2));
    dst->noise_level = gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(d->noise_level));
    dst->batch = gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(d->batch));
    dst->context_margin = gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(d->margin));
    gint *expand[4] = {&dst->expand_left, &dst->expand_top, &dst->expand_right, &dst->expand_bottom};
    for (gint i = 0; i < 4; i++)
        *expand[i] = gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(d->expand[i]));
    dst->feather = gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(d->feather));
    dst->colour_match = gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(d->colour_match));
    dst->inpaint_strength = gtk_range_get_value(GTK_RANGE(d->inpaint_strength));
    dst->tile = gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(d->tile));
    dst->strength = gtk_range_get_value(GTK_RANGE(d->strength));
    g_free(dst->upscale_source);
    dst->upscale_source = g_strdup(
        gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(d->source_visible)) ? "visible" : "layer");
    const gchar *be = gtk_combo_box_get_active_id(GTK_COMBO_BOX(d->backend));
    g_free(dst->backend);
    dst->backend = g_strdup(be ? be : "auto");
    const gchar *aspect = gtk_combo_box_get_active_id(GTK_COMBO_BOX(d->aspect));
    g_free(dst->aspect);
    dst->aspect = g_strdup(aspect ? aspect : "1:1");
    const gchar *preset = gtk_combo_box_get_active_id(GTK_COMBO_BOX(d->preset));
    g_free(dst->preset);
    dst->preset = g_strdup(preset ? preset : "");
    dst->candidate = -1;
}

/* A form row: the widget and its mnemonic label. */
static void show_row(GtkWidget *w, gboolean visible) {
    GList *labels = gtk_widget_list_mnemonic_labels(w);
    for (GList *l = labels; l; l = l->next)
        gtk_widget_set_visible(l->data, visible);
    g_list_free(labels);
    gtk_widget_set_visible(w, visible);
}

void dialog_update_sensitivity(CascadeDialog *d) {
    CascadeMode mode = d->recipe.mode;
    gboolean    diffusion = mode != CASCADE_MODE_UPSCALE, idle = !d->running;
    gboolean    outpaint = mode == CASCADE_MODE_OUTPAINT;
    /* the dialog runs no upscale, and no outpainting: its boxes exist only once the canvas
     * has grown, so there are no candidates to preview */
    gboolean candidates = diffusion && !outpaint;
    dialog_show_prompt(d, diffusion);
    gtk_widget_set_visible(d->candidates_section, candidates);
    gtk_widget_set_visible(d->output_column, candidates);
    gtk_widget_set_visible(d->generate_button, candidates);
    gtk_widget_set_visible(d->expand_section, outpaint);
    /* outpainting blends as inpainting does; its context and strength are its own */
    gtk_widget_set_visible(d->inpaint_section, mode == CASCADE_MODE_INPAINT || outpaint);
    show_row(d->margin, !outpaint);
    show_row(d->inpaint_strength, !outpaint);
    gtk_widget_set_visible(d->upscale_section, mode == CASCADE_MODE_UPSCALE);
    gtk_widget_set_visible(d->variations_section, mode == CASCADE_MODE_VARIATIONS);
    /* the diffusion-only settings */
    GtkWidget *const diff_only[] = {
        d->preset,    d->save_preset, d->model,  d->seed,      d->random_seed, d->reroll, d->steps1,
        d->guidance1, d->stage2,      d->steps2, d->guidance2, d->noise_level};
    show_row(d->batch, candidates); /* outpainting makes one layer */
    for (gsize i = 0; i < G_N_ELEMENTS(diff_only); i++) {
        GtkWidget *w = diff_only[i];
        GtkWidget *lbl = NULL;
        GList     *labels = gtk_widget_list_mnemonic_labels(w);
        if (labels) lbl = labels->data;
        g_list_free(labels);
        gtk_widget_set_visible(w, diffusion);
        if (lbl) gtk_widget_set_visible(lbl, diffusion);
    }
    gboolean s2 = gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(d->stage2));
    /* stage III follows a generated image's stage II */
    GList *s3_labels = gtk_widget_list_mnemonic_labels(d->stage3);
    for (GList *l = s3_labels; l; l = l->next)
        gtk_widget_set_visible(l->data, mode == CASCADE_MODE_GENERATE);
    g_list_free(s3_labels);
    gtk_widget_set_visible(d->stage3, mode == CASCADE_MODE_GENERATE);
    GList *up_labels = gtk_widget_list_mnemonic_labels(d->upscaler);
    for (GList *l = up_labels; l; l = l->next)
        gtk_widget_set_visible(l->data, mode == CASCADE_MODE_UPSCALE);
    g_list_free(up_labels);
    gtk_widget_set_visible(d->upscaler, mode == CASCADE_MODE_UPSCALE);
    /* the shape of a new image: inpainting and variations keep their source's */
    GList *aspect_labels = gtk_widget_list_mnemonic_labels(d->aspect);
    for (GList *l = aspect_labels; l; l = l->next)
        gtk_widget_set_visible(l->data, mode == CASCADE_MODE_GENERATE);
    g_list_free(aspect_labels);
    gtk_widget_set_visible(d->aspect, mode == CASCADE_MODE_GENERATE);
    gtk_widget_set_sensitive(d->stage3, s2);
    gtk_widget_set_sensitive(d->steps2, s2);
    gtk_widget_set_sensitive(d->guidance2, s2);
    gtk_widget_set_sensitive(d->noise_level, s2);
    gtk_widget_set_sensitive(d->seed,
                             !gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(d->random_seed)));
    gtk_widget_set_sensitive(d->generate_button, idle);
    gtk_widget_set_sensitive(d->ok_button, idle);
    gtk_widget_set_sensitive(gtk_widget_get_parent(d->prompt_section), idle);
}
