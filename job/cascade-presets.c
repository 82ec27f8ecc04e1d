/* Presets: finding, listing and saving them (see cascade-presets.h). */
#include "cascade-presets.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "io-json.h"

/* The installed presets' names and descriptions, so that xgettext finds them (the JSON
 * files hold the English text; the picker shows its translation). tests/ui checks every
 * installed preset is listed here. */
static const char *const shipped_strings[] G_GNUC_UNUSED = {
    N_("Draft"),      N_("Few steps, stage I only: a quick look at the composition"),
    N_("Balanced"),   N_("The default: the steps and guidance the model recommends"),
    N_("Best"),       N_("Many steps in both stages: slow, for the final image"),
    N_("Flat emoji"), N_("Style: flat vector emoji with bold outlines and plain colours"),
    N_("Noto emoji"), N_("Style: glossy, rounded emoji in the Noto Color Emoji look"),
};

void cascade_preset_info_free(CascadePresetInfo *info) {
    if (!info) return;
    g_free(info->id);
    g_free(info->name);
    g_free(info->description);
    g_free(info->path);
    g_free(info->style);
    g_free(info);
}

/* Set once by the front end at start-up (the plug-in: a folder of the GIMP profile). */
static gchar *user_dir_override;

void cascade_presets_set_user_dir(const gchar *dir) {
    g_free(user_dir_override);
    user_dir_override = dir && *dir ? g_strdup(dir) : NULL;
}

gchar *cascade_presets_user_dir(void) {
    const gchar *env = g_getenv("CASCADE_USER_PRESETS_DIR");
    if (env && *env) return g_strdup(env);
    if (user_dir_override) return g_strdup(user_dir_override);
    return g_build_filename(g_get_user_config_dir(), "gimp-cascade", "presets", NULL);
}

gchar **cascade_presets_dirs(void) {
    GStrvBuilder *b = g_strv_builder_new();
    const gchar  *env = g_getenv("CASCADE_PRESETS_DIR");
    if (env && *env)
        g_strv_builder_add(b, env);
    else if (g_file_test(CASCADE_PRESETS_INSTALL_DIR, G_FILE_TEST_IS_DIR))
        g_strv_builder_add(b, CASCADE_PRESETS_INSTALL_DIR);
    else
        g_strv_builder_add(b, CASCADE_PRESETS_SOURCE_DIR);
    g_autofree gchar *user = cascade_presets_user_dir();
    g_strv_builder_add(b, user);
    gchar **dirs = g_strv_builder_end(b);
    g_strv_builder_unref(b);
    return dirs;
}

/* A member that is a JSON string, else def: a preset may hold any JSON there (apply only
 * checks the member names), and json-glib's *_with_default getters raise a critical (and
 * give NULL) for a non-string value. */
static const gchar *string_member(JsonObject *o, const gchar *key, const gchar *def) {
    JsonNode *n = json_object_get_member(o, key);
    return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
               ? json_node_get_string(n)
               : def;
}

/* Reads name and description of one preset file (checking it applies cleanly). */
static CascadePresetInfo *read_info(const gchar *path, gboolean user) {
    CascadeRecipe r;
    GError       *e = NULL;
    cascade_recipe_init(&r);
    if (!cascade_recipe_apply_preset_file(&r, path, &e)) {
        cascade_recipe_clear(&r);
        g_warning("%s", e->message);
        g_error_free(e);
        return NULL;
    }
    g_autoptr(JsonParser) p = NULL;
    JsonNode *root = NULL;
    if (cascade_io_json_load_file(path, "preset", CASCADE_IO_JSON_PY_INFINITY, &p, &root, NULL) !=
        CASCADE_STATUS_OK) {
        cascade_recipe_clear(&r);
        return NULL;
    }
    JsonObject        *o = json_node_get_object(root);
    CascadePresetInfo *info = g_new0(CascadePresetInfo, 1);
    g_autofree gchar  *base = g_path_get_basename(path);
    info->id = g_strndup(base, strlen(base) - strlen(".json"));
    const gchar *name = string_member(o, "name", info->id);
    const gchar *desc = string_member(o, "description", "");
    /* the user's own presets are in the user's words: not looked up in the catalogue */
    info->name = g_strdup(user || !*name ? name : g_dgettext(GETTEXT_PACKAGE, name));
    info->description = g_strdup(user || !*desc ? desc : g_dgettext(GETTEXT_PACKAGE, desc));
    info->path = g_strdup(path);
    info->user = user;
    /* the style as applying the preset set it (a number or boolean there is its text) */
    JsonObject *values = json_object_get_object_member(o, "values");
    if (!user && values && json_object_has_member(values, "style"))
        info->style = g_strdup(r.style ? r.style : "");
    cascade_recipe_clear(&r);
    return info;
}

static int order_of(const CascadePresetInfo *i) {
    static const char *const first[] = {"draft", "balanced", "best"};
    for (int k = 0; k < 3; k++)
        if (!i->user && !strcmp(i->id, first[k])) return k;
    return i->user ? 4 : 3;
}

static gint compare_infos(gconstpointer a, gconstpointer b) {
    const CascadePresetInfo *x = *(CascadePresetInfo *const *)a,
                            *y = *(CascadePresetInfo *const *)b;
    int ox = order_of(x), oy = order_of(y);
    if (ox != oy) return ox - oy;
    return g_utf8_collate(x->name, y->name);
}

GPtrArray *cascade_presets_list(void) {
    GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)cascade_preset_info_free);
    g_auto(GStrv) dirs = cascade_presets_dirs();
    for (guint d = 0; dirs[d]; d++) {
        gboolean user = dirs[d + 1] == NULL; /* the user directory is last */
        GDir    *dir = g_dir_open(dirs[d], 0, NULL);
        if (!dir) continue;
        const gchar *e;
        while ((e = g_dir_read_name(dir))) {
            if (!g_str_has_suffix(e, ".json") || strlen(e) <= strlen(".json")) continue;
            g_autofree gchar  *path = g_build_filename(dirs[d], e, NULL);
            CascadePresetInfo *info = read_info(path, user);
            if (!info) continue;
            for (guint k = 0; k < list->len; k++) /* a user preset hides an installed one */
                if (!strcmp(((CascadePresetInfo *)list->pdata[k])->id, info->id)) {
                    g_ptr_array_remove_index(list, k);
                    break;
                }
            g_ptr_array_add(list, info);
        }
        g_dir_close(dir);
    }
    g_ptr_array_sort(list, compare_infos);
    return list;
}

CascadePresetInfo *cascade_presets_find(const gchar *id) {
    if (!id || !*id) return NULL;
    g_autoptr(GPtrArray) list = cascade_presets_list();
    for (guint k = 0; k < list->len; k++) {
        CascadePresetInfo *i = list->pdata[k];
        if (!strcmp(i->id, id)) return g_ptr_array_steal_index(list, k);
    }
    return NULL;
}

/* "My Emoji 2" -> "my-emoji-2": ASCII letters and digits, other runs as one '-'. */
static gchar *file_safe(const gchar *name) {
    GString *s = g_string_new(NULL);
    for (const gchar *p = name; *p; p++) {
        if (g_ascii_isalnum(*p))
            g_string_append_c(s, g_ascii_tolower(*p));
        else if (s->len && s->str[s->len - 1] != '-')
            g_string_append_c(s, '-');
    }
    while (s->len && s->str[s->len - 1] == '-')
        g_string_truncate(s, s->len - 1);
    if (!s->len) g_string_append(s, "preset");
    return g_string_free(s, FALSE);
}

gboolean cascade_presets_save_user(const CascadeRecipe *r, const gchar *name,
                                   const gchar *description, gchar **id_out, GError **error) {
    g_autofree gchar *trimmed = g_strstrip(g_strdup(name ? name : ""));
    if (!*trimmed) {
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_INVALID,
                    _("A preset needs a name"));
        return FALSE;
    }
    CascadeRecipe check; /* ranges only: a preset carries no prompt and no candidate */
    cascade_recipe_copy(&check, r);
    g_free(check.prompt);
    check.prompt = g_strdup("-");
    check.mode = CASCADE_MODE_GENERATE;
    check.candidate = -1;
    gboolean valid = cascade_recipe_validate(&check, error);
    cascade_recipe_clear(&check);
    if (!valid) return FALSE;
    g_autofree gchar *id = file_safe(trimmed);
    g_autofree gchar *dir = cascade_presets_user_dir();
    if (g_mkdir_with_parents(dir, 0755) != 0) {
        int errsv = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv),
                    _("Could not create the folder %s: %s"), dir, g_strerror(errsv));
        return FALSE;
    }
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, trimmed);
    json_builder_set_member_name(b, "description");
    json_builder_add_string_value(b, description ? description : "");
    json_builder_set_member_name(b, "values");
    json_builder_begin_object(b);
#define STR(k, v)                                                                                  \
    json_builder_set_member_name(b, k);                                                            \
    json_builder_add_string_value(b, (v) ? (v) : "")
#define INT(k, v)                                                                                  \
    json_builder_set_member_name(b, k);                                                            \
    json_builder_add_int_value(b, v)
    STR("negative-prompt", r->negative_prompt);
    STR("style", r->style);
    if (r->model_dir && *r->model_dir) {
        STR("model", r->model_dir);
    }
    if (r->sr_model_dir && *r->sr_model_dir) {
        STR("sr-model", r->sr_model_dir);
    }
    if (r->upscaler_dir && *r->upscaler_dir) {
        STR("upscaler", r->upscaler_dir);
    }
    STR("backend", r->backend);
    INT("steps1", r->steps1);
    INT("steps2", r->steps2);
    json_builder_set_member_name(b, "guidance1");
    json_builder_add_double_value(b, r->guidance1);
    json_builder_set_member_name(b, "guidance2");
    json_builder_add_double_value(b, r->guidance2);
    json_builder_set_member_name(b, "stage2");
    json_builder_add_boolean_value(b, r->stage2);
    INT("noise-level", r->noise_level);
    INT("batch", r->batch);
#undef STR
#undef INT
    json_builder_end_object(b);
    json_builder_end_object(b);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    g_autofree gchar *path = g_strconcat(dir, G_DIR_SEPARATOR_S, id, ".json", NULL);
    if (!json_generator_to_file(gen, path, error)) return FALSE;
    if (id_out) *id_out = g_steal_pointer(&id);
    return TRUE;
}
