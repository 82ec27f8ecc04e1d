/* Shared between cascade-dialog.c (building the dialog, recipe <-> widgets) and
 * cascade-dialog-run.c (runs, host reports, presets, the modal loop). */
#ifndef CASCADE_DIALOG_PRIVATE_H
#define CASCADE_DIALOG_PRIVATE_H

#include "cascade-dialog.h"

G_BEGIN_DECLS

/* Response of the Generate button: starts a stage-I-only run (the dialog stays open). */
#define CASCADE_RESPONSE_GENERATE 1

struct _CascadeDialog {
    GtkDialog      parent;
    CascadeRecipe  recipe; /* fields without a widget (mode, sr-model, upscaler, ...) */
    CascadeUiHost *host;
    gboolean       running, updating;
    GtkWidget     *target_label, *status_label, *progress, *preview, *grid;
    GtkWidget     *prompt, *negative, *style, *style_preset, *preset, *save_preset, *model;
    GtkWidget     *advanced;    /* the expander of the rarely changed settings */
    GHashTable    *style_texts; /* style preset id -> the style text it sets */
    GtkWidget     *seed, *random_seed, *reroll;
    GtkWidget     *steps1, *steps2, *guidance1, *guidance2, *stage2, *noise_level, *batch;
    GtkWidget     *aspect; /* generate: the image's shape */
    GtkWidget     *feather, *colour_match, *inpaint_strength; /* inpaint: the blend */
    GtkWidget     *expand[4]; /* outpaint: pixels added left, top, right, bottom */
    GtkWidget     *margin, *tile, *backend, *strength, *stage3, *upscaler;
    GtkWidget     *generate_button, *ok_button;
    /* upscale: the source (active layer or the whole visible image), the installed upscalers
     * (d->upscalers, of CascadeUpscalerInfo, in the picker's order), the estimate line and
     * the warning about a very large job; the sizes the host gave (0: not known) */
    GtkWidget *source_layer, *source_visible, *upscaler_model, *upscale_estimate, *upscale_warning,
        *upscale_warning_label;
    GPtrArray *upscalers;
    gint       layer_width, layer_height, image_width, image_height;
    GtkWidget     *prompt_section, *quality_section, *expand_section, *inpaint_section,
        *upscale_section,
        *variations_section, *candidates_section, *output_column;
    GtkSizeGroup *label_group; /* one width for the labels of every section */
};

/* cascade-dialog.c */
void dialog_recipe_to_widgets(CascadeDialog *d, const CascadeRecipe *r);
/* The recipe the widgets show (dst uninitialised or cleared). */
void dialog_widgets_to_recipe(CascadeDialog *d, CascadeRecipe *dst);
void dialog_fill_presets(CascadeDialog *d, const gchar *select_id);
void dialog_update_sensitivity(CascadeDialog *d);
/* A spin button whose lowest value stands for "automatic" shows and reads it as "auto". */
void dialog_spin_show_auto(GtkWidget *spin);

/* cascade-dialog-models.c */
/* entry gets a folder chooser behind a folder icon (icon_tip its tooltip). */
void dialog_folder_entry(CascadeDialog *d, GtkWidget *entry, const gchar *icon_tip);
/* Shows the prompt for a diffusion mode, or an upscale whose Upscaler entry names an x4
 * diffusion upscaler (it is guided by one); the window grows to show it. */
void dialog_show_prompt(CascadeDialog *d, gboolean diffusion);

/* cascade-dialog-upscale.c */
/* The Upscaling section's rows into grid g: source, upscaler picker, tile, estimate, warning. */
void dialog_build_upscale(CascadeDialog *d, GtkWidget *g);
/* Lists the installed upscalers (and those of the Upscaler folder entry) in the picker and
 * selects the one upscaler/factor resolve to; updates d->recipe's upscaler and factor. */
void dialog_fill_upscalers(CascadeDialog *d, const gchar *upscaler, gint factor);
void dialog_on_upscaler_model_changed(GtkComboBox *combo, CascadeDialog *d);
void dialog_on_upscaler_folder_changed(GtkEntry *entry, CascadeDialog *d);
/* Recomputes the estimate line and the warning for the chosen model, source and tile. */
void dialog_update_upscale_estimate(CascadeDialog *d);
/* Before a very large upscale runs: TRUE when there is nothing to warn about or the user
 * confirmed. */
gboolean dialog_confirm_upscale(CascadeDialog *d);

/* cascade-dialog-size.c */
/* The Size combo (generate: the new image's shape), its entries the common shapes. */
GtkWidget *dialog_build_size(CascadeDialog *d);
/* Selects aspect ("W:H"; NULL or "": 1:1), added to the list when it is not one of its own. */
void dialog_select_size(CascadeDialog *d, const gchar *aspect);

/* cascade-dialog-prompts.c */
/* A menu button listing what the model in the Model field (or the default model) was
 * trained to draw (its prompts.json); choosing an entry sets the prompt. */
GtkWidget *dialog_prompt_menu_button(CascadeDialog *d);

/* cascade-dialog-run.c */
void dialog_on_response(GtkDialog *dialog, gint response, gpointer ud);
void dialog_on_params_changed(CascadeDialog *d); /* candidates are stale, preset is custom */
void dialog_on_preset_changed(GtkComboBox *combo, CascadeDialog *d);
void dialog_on_style_preset_changed(GtkComboBox *combo, CascadeDialog *d);
/* The style picker shows the style preset whose text the Style field holds ("None" when
 * empty, "Custom" when typed). */
void dialog_sync_style_preset(CascadeDialog *d);
/* While Random is on, the seed field says so instead of showing a seed no run will use. */
void dialog_show_seed(CascadeDialog *d);
void dialog_on_save_preset(GtkButton *b, CascadeDialog *d);
void     dialog_on_reroll(GtkButton *b, CascadeDialog *d);
gboolean dialog_on_text_key(GtkWidget *w, GdkEventKey *ev, CascadeDialog *d);
void     dialog_on_candidate_selected(GtkFlowBox *fb, CascadeDialog *d);
void     dialog_on_close(GtkDialog *dialog, gpointer ud); /* Esc */

G_END_DECLS

#endif
