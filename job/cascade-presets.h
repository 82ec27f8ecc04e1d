/* Presets: the installed ones (presets/<name>.json, installed with the plug-in) and the
 * user's own (<user dir>/<name>.json, see cascade_presets_user_dir), listed for the
 * dialog's picker, and saving the current recipe as a user preset. File format: see
 * cascade-recipe.h (cascade_recipe_apply_preset_file). GLib + json-glib, no GTK. */
#ifndef CASCADE_PRESETS_H
#define CASCADE_PRESETS_H

#include <glib.h>

#include "cascade-recipe.h"

G_BEGIN_DECLS

typedef struct {
    gchar   *id;          /* file stem: what CascadeRecipe.preset holds */
    gchar   *name;        /* display name (translated for the installed presets) */
    gchar   *description; /* translated for the installed presets; "" when none */
    gchar   *path;        /* the JSON file */
    gboolean user;        /* one of the user's own */
    gchar   *style;       /* an installed style preset: the style text it sets; else NULL
                             (quality presets and the user's own, which set everything) */
} CascadePresetInfo;

void cascade_preset_info_free(CascadePresetInfo *info); /* NULL-safe */

/* Directories searched, in order (a user preset hides an installed one of the same id):
 * $CASCADE_PRESETS_DIR if set, else the installed directory, else the source tree's
 * presets/; then the user directory. g_strfreev. */
gchar **cascade_presets_dirs(void);
/* The user's preset directory: $CASCADE_USER_PRESETS_DIR (for tests), else the folder set
 * with cascade_presets_set_user_dir, else g_get_user_config_dir()/gimp-cascade/presets.
 * g_free. */
gchar *cascade_presets_user_dir(void);
/* The user's preset folder of this front end (the plug-in: <GIMP profile>/gimp-cascade/
 * presets, so presets live and move with the GIMP profile); NULL: the default. Main thread,
 * before any preset is listed. */
void cascade_presets_set_user_dir(const gchar *dir);

/* Every readable preset, sorted with the installed ones first in a fixed order (draft,
 * balanced, best, then by name), each a CascadePresetInfo (the array frees them). Files
 * that do not parse are skipped with a g_warning naming them. */
GPtrArray *cascade_presets_list(void);

/* Looks up a preset by id; NULL when there is none (free with cascade_preset_info_free). */
CascadePresetInfo *cascade_presets_find(const gchar *id);

/* Writes r's preset-able values (steps, guidance, stage II, noise level, negative prompt,
 * style, batch, backend; models when set) as <user dir>/<id>.json, where id is name made
 * file-safe; *id_out (may be NULL) receives it. FALSE + error when it cannot be written. */
gboolean cascade_presets_save_user(const CascadeRecipe *r, const gchar *name,
                                   const gchar *description, gchar **id_out, GError **error);

G_END_DECLS

#endif
