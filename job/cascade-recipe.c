/* CascadeRecipe: defaults, deep copies, validation and the key-file / preset formats.
 *
 * Every field is described once, in `fields` below (key, kind, offset, range), and init,
 * copy, to_string, from_string and the preset reader all walk that table, so a new field
 * is one line there plus its member in the struct. */
#include "cascade-recipe.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <stddef.h>
#include <string.h>

#include "cascade/aspect.h"
#include "io-json.h"

#define GROUP "cascade-recipe"

G_DEFINE_QUARK(cascade - recipe - error - quark, cascade_recipe_error)

typedef enum { F_STRING, F_INT, F_DOUBLE, F_BOOL, F_UINT64, F_MODE } field_kind;

typedef struct {
    const char *key;
    field_kind  kind;
    size_t      offset;
    double      lo, hi;    /* F_INT, F_DOUBLE: inclusive range */
    gboolean    in_preset; /* may a preset file set it */
} field;

#define OFF(m) offsetof(CascadeRecipe, m)
static const field fields[] = {
    {"mode", F_MODE, OFF(mode), 0, 0, FALSE},
    {"prompt", F_STRING, OFF(prompt), 0, 0, FALSE},
    {"negative-prompt", F_STRING, OFF(negative_prompt), 0, 0, TRUE},
    {"style", F_STRING, OFF(style), 0, 0, TRUE},
    {"model", F_STRING, OFF(model_dir), 0, 0, TRUE},
    {"sr-model", F_STRING, OFF(sr_model_dir), 0, 0, TRUE},
    {"stage3-model", F_STRING, OFF(stage3_dir), 0, 0, TRUE},
    {"upscaler", F_STRING, OFF(upscaler_dir), 0, 0, TRUE},
    {"preset", F_STRING, OFF(preset), 0, 0, TRUE},
    {"backend", F_STRING, OFF(backend), 0, 0, TRUE},
    {"seed", F_UINT64, OFF(seed), 0, 0, TRUE},
    {"random-seed", F_BOOL, OFF(random_seed), 0, 0, TRUE},
    {"steps1", F_INT, OFF(steps1), 0, 1000, TRUE}, /* 0: the model's */
    {"steps2", F_INT, OFF(steps2), 0, 1000, TRUE},
    {"guidance1", F_DOUBLE, OFF(guidance1), -1, 100, TRUE}, /* -1: the model's */
    {"guidance2", F_DOUBLE, OFF(guidance2), -1, 100, TRUE},
    {"stage2", F_BOOL, OFF(stage2), 0, 0, TRUE},
    {"noise-level", F_INT, OFF(noise_level), 0, 999, TRUE},
    {"batch", F_INT, OFF(batch), 1, 16, TRUE},
    {"candidate", F_INT, OFF(candidate), -1, 15, FALSE},
    {"context-margin", F_INT, OFF(context_margin), 0, 4096, TRUE},
    {"upscale-factor", F_INT, OFF(upscale_factor), 2, 8, TRUE},
    {"tile", F_INT, OFF(tile), 0, 8192, TRUE},
    {"upscale-source", F_STRING, OFF(upscale_source), 0, 0, FALSE},
    {"strength", F_DOUBLE, OFF(strength), 0, 1, TRUE},
    {"aspect", F_STRING, OFF(aspect), 0, 0, TRUE},
    {"feather", F_INT, OFF(feather), -1, 4096, TRUE},
    {"colour-match", F_BOOL, OFF(colour_match), 0, 0, TRUE},
    {"inpaint-strength", F_DOUBLE, OFF(inpaint_strength), 0.01, 1, TRUE},
    {"expand-left", F_INT, OFF(expand_left), 0, 8192, TRUE},
    {"expand-top", F_INT, OFF(expand_top), 0, 8192, TRUE},
    {"expand-right", F_INT, OFF(expand_right), 0, 8192, TRUE},
    {"expand-bottom", F_INT, OFF(expand_bottom), 0, 8192, TRUE},
};
#undef OFF

static const char *const mode_names[] = {"generate", "inpaint", "upscale", "variations",
                                         "outpaint"};

#define FIELD_PTR(r, f, type) ((type *)((char *)(r) + (f)->offset))

const gchar *cascade_mode_to_string(CascadeMode mode) {
    return (guint)mode < G_N_ELEMENTS(mode_names) ? mode_names[mode] : "generate";
}

void cascade_recipe_init(CascadeRecipe *r) {
    memset(r, 0, sizeof *r);
    r->mode = CASCADE_MODE_GENERATE;
    r->prompt = g_strdup("");
    r->negative_prompt = g_strdup("");
    r->style = g_strdup("");
    r->aspect = g_strdup("1:1");
    r->feather = -1;
    r->colour_match = TRUE;
    r->inpaint_strength = 1.0;
    r->model_dir = g_strdup("");
    r->sr_model_dir = g_strdup("");
    r->stage3_dir = g_strdup("");
    r->upscaler_dir = g_strdup("");
    r->preset = g_strdup("balanced");
    r->backend = g_strdup("auto");
    r->seed = 0;
    r->random_seed = TRUE;
    /* the model's recommendation (its generation_defaults.json, else the engine's defaults:
     * cascade_pipeline_recommended), so there is one source of default settings */
    r->steps1 = CASCADE_RECIPE_MODEL_STEPS;
    r->steps2 = CASCADE_RECIPE_MODEL_STEPS;
    r->guidance1 = CASCADE_RECIPE_MODEL_GUIDANCE;
    r->guidance2 = CASCADE_RECIPE_MODEL_GUIDANCE;
    r->stage2 = TRUE;
    r->noise_level = 250;
    r->batch = 1;
    r->candidate = -1;
    r->context_margin = 32;
    r->upscale_factor = 4;
    r->tile = 0;
    r->upscale_source = g_strdup("layer");
    r->strength = 0.6;
}

void cascade_recipe_clear(CascadeRecipe *r) {
    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
        if (fields[i].kind == F_STRING) g_clear_pointer(FIELD_PTR(r, &fields[i], gchar *), g_free);
}

void cascade_recipe_copy(CascadeRecipe *dst, const CascadeRecipe *src) {
    *dst = *src;
    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
        if (fields[i].kind == F_STRING) {
            gchar **p = FIELD_PTR(dst, &fields[i], gchar *);
            *p = g_strdup(*p ? *p : "");
        }
}

static gboolean blank(const gchar *s) {
    if (!s) return TRUE;
    for (; *s; s++)
        if (!g_ascii_isspace(*s)) return FALSE;
    return TRUE;
}

gboolean cascade_recipe_validate(const CascadeRecipe *r, GError **error) {
    if ((guint)r->mode >= G_N_ELEMENTS(mode_names)) {
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_INVALID,
                    _("Unknown mode %d (field “mode”)"), (int)r->mode);
        return FALSE;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
        const field *f = &fields[i];
        double       v;
        if (f->kind == F_INT)
            v = *FIELD_PTR(r, f, const gint);
        else if (f->kind == F_DOUBLE)
            v = *FIELD_PTR(r, f, const gdouble);
        else
            continue;
        if (!(v >= f->lo && v <= f->hi)) {
            g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_INVALID,
                        _("“%s” is %g; it must be between %g and %g"), f->key, v, f->lo, f->hi);
            return FALSE;
        }
    }
    if (r->mode != CASCADE_MODE_UPSCALE && blank(r->prompt)) {
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_INVALID,
                    _("The prompt is empty (field “prompt”): describe what to draw"));
        return FALSE;
    }
    if (r->mode == CASCADE_MODE_UPSCALE && r->upscale_factor != 2 && r->upscale_factor != 3 &&
        r->upscale_factor != 4 && r->upscale_factor != 8) {
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_INVALID,
                    _("“upscale-factor” is %d; it must be 2, 3, 4 or 8"), r->upscale_factor);
        return FALSE;
    }
    if (g_strcmp0(r->upscale_source, "layer") && g_strcmp0(r->upscale_source, "visible")) {
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_INVALID,
                    _("“upscale-source” is “%s”; it must be layer or visible"),
                    r->upscale_source ? r->upscale_source : "");
        return FALSE;
    }
    if (r->mode == CASCADE_MODE_VARIATIONS && !(r->strength > 0)) {
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_INVALID,
                    _("“strength” is 0: a variation must change the layer (0 < strength ≤ 1)"));
        return FALSE;
    }
    if (r->mode == CASCADE_MODE_OUTPAINT &&
        r->expand_left + r->expand_top + r->expand_right + r->expand_bottom == 0) {
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_INVALID,
                    _("Nothing to expand: “expand-left”, “expand-top”, “expand-right” and "
                      "“expand-bottom” are all 0; give at least one side a margin in pixels"));
        return FALSE;
    }
    if (r->candidate >= r->batch) {
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_INVALID,
                    _("“candidate” is %d but the batch has only %d images"), r->candidate,
                    r->batch);
        return FALSE;
    }
    double        ratio;
    cascade_error aerr;
    cascade_error_init(&aerr);
    if (cascade_aspect_parse(r->aspect, &ratio, &aerr)) {
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_INVALID,
                    _("“aspect” is “%s”; it must be a shape such as 16:9, at most 8:1"),
                    r->aspect);
        return FALSE;
    }
    if (r->tile != 0 && r->tile < 16) {
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_INVALID,
                    _("“tile” is %d; it must be 0 (automatic) or at least 16"), r->tile);
        return FALSE;
    }
    return TRUE;
}

gchar *cascade_recipe_full_prompt(const CascadeRecipe *r) {
    const gchar *p = r->prompt ? r->prompt : "";
    if (blank(r->style)) return g_strdup(p);
    g_autofree gchar *base = g_strstrip(g_strdup(p));
    g_autofree gchar *style = g_strstrip(g_strdup(r->style));
    return *base ? g_strdup_printf("%s, %s", base, style) : g_strdup(style);
}

gchar *cascade_recipe_to_string(const CascadeRecipe *r) {
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_key_file_set_string(kf, GROUP, "version", CASCADE_UI_VERSION);
    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
        const field *f = &fields[i];
        switch (f->kind) {
        case F_STRING: {
            const gchar *s = *FIELD_PTR(r, f, gchar *const);
            g_key_file_set_string(kf, GROUP, f->key, s ? s : "");
            break;
        }
        case F_INT: g_key_file_set_integer(kf, GROUP, f->key, *FIELD_PTR(r, f, const gint)); break;
        case F_DOUBLE: {
            /* the shortest of 15 digits or the exact 17 that reads back the same double: 0.6,
             * not 0.59999999999999998 */
            char          buf[G_ASCII_DTOSTR_BUF_SIZE];
            const gdouble v = *FIELD_PTR(r, f, const gdouble);
            g_ascii_formatd(buf, sizeof buf, "%.15g", v);
            if (g_ascii_strtod(buf, NULL) != v) g_ascii_dtostr(buf, sizeof buf, v);
            g_key_file_set_value(kf, GROUP, f->key, buf);
            break;
        }
        case F_BOOL:
            g_key_file_set_boolean(kf, GROUP, f->key, *FIELD_PTR(r, f, const gboolean));
            break;
        case F_UINT64:
            g_key_file_set_uint64(kf, GROUP, f->key, *FIELD_PTR(r, f, const guint64));
            break;
        case F_MODE:
            g_key_file_set_string(kf, GROUP, f->key, cascade_mode_to_string(r->mode));
            break;
        }
    }
    return g_key_file_to_data(kf, NULL, NULL);
}

static const field *find_field(const gchar *key) {
    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
        if (!strcmp(fields[i].key, key)) return &fields[i];
    return NULL;
}

/* Sets field f of r from its text value (already unescaped); FALSE + error naming the key. */
static gboolean set_field(CascadeRecipe *r, const field *f, const gchar *text, GError **error) {
    gchar *end = NULL;
    switch (f->kind) {
    case F_STRING: {
        gchar **p = FIELD_PTR(r, f, gchar *);
        g_free(*p);
        *p = g_strdup(text);
        return TRUE;
    }
    case F_MODE:
        for (guint m = 0; m < G_N_ELEMENTS(mode_names); m++)
            if (!strcmp(text, mode_names[m])) {
                r->mode = (CascadeMode)m;
                return TRUE;
            }
        break;
    case F_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "1"))
            *FIELD_PTR(r, f, gboolean) = TRUE;
        else if (!strcmp(text, "false") || !strcmp(text, "0"))
            *FIELD_PTR(r, f, gboolean) = FALSE;
        else
            break;
        return TRUE;
    case F_UINT64: {
        guint64 v = 0;
        if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT64, &v, NULL)) break;
        *FIELD_PTR(r, f, guint64) = v;
        return TRUE;
    }
    case F_INT: {
        gint64 v = 0;
        if (!g_ascii_string_to_signed(text, 10, (gint64)f->lo, (gint64)f->hi, &v, NULL)) break;
        *FIELD_PTR(r, f, gint) = (gint)v;
        return TRUE;
    }
    case F_DOUBLE: {
        gdouble v = g_ascii_strtod(text, &end);
        if (!*text || !end || *end || !(v >= f->lo && v <= f->hi)) break;
        *FIELD_PTR(r, f, gdouble) = v;
        return TRUE;
    }
    }
    if (f->kind == F_INT || f->kind == F_DOUBLE)
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_PARSE,
                    _("Bad value “%s” for “%s”: expected a number from %g to %g"), text, f->key,
                    f->lo, f->hi);
    else
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_PARSE,
                    _("Bad value “%s” for “%s”"), text, f->key);
    return FALSE;
}

gboolean cascade_recipe_from_string(CascadeRecipe *r, const gchar *text, GError **error) {
    g_autoptr(GKeyFile) kf = g_key_file_new();
    GError *e = NULL;
    if (!g_key_file_load_from_data(kf, text ? text : "", (gsize)-1, G_KEY_FILE_NONE, &e)) {
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_PARSE, _("Not a recipe: %s"),
                    e->message);
        g_error_free(e);
        return FALSE;
    }
    g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
    for (gsize g = 0; groups[g]; g++)
        if (strcmp(groups[g], GROUP)) {
            g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_PARSE,
                        _("Unknown group “[%s]” in a recipe (expected [%s])"), groups[g], GROUP);
            return FALSE;
        }
    if (!g_key_file_has_group(kf, GROUP)) {
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_PARSE,
                    _("Not a recipe: the group [%s] is missing"), GROUP);
        return FALSE;
    }
    g_auto(GStrv) keys = g_key_file_get_keys(kf, GROUP, NULL, NULL);
    CascadeRecipe tmp;
    cascade_recipe_copy(&tmp, r);
    for (gsize k = 0; keys[k]; k++) {
        if (!strcmp(keys[k], "version")) continue;
        const field *f = find_field(keys[k]);
        if (!f) {
            g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_PARSE,
                        _("Unknown key “%s” in the recipe"), keys[k]);
            goto fail;
        }
        g_autofree gchar *v = f->kind == F_STRING || f->kind == F_MODE
                                  ? g_key_file_get_string(kf, GROUP, keys[k], NULL)
                                  : g_key_file_get_value(kf, GROUP, keys[k], NULL);
        if (!v) {
            g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_PARSE,
                        _("Bad value for “%s”"), keys[k]);
            goto fail;
        }
        if (f->kind != F_STRING) g_strstrip(v);
        if (!set_field(&tmp, f, v, error)) goto fail;
    }
    cascade_recipe_clear(r);
    *r = tmp;
    return TRUE;
fail:
    cascade_recipe_clear(&tmp);
    return FALSE;
}

/* A JSON scalar as the text set_field reads; NULL for arrays, objects and null. */
static gchar *json_scalar_text(JsonNode *n) {
    if (!JSON_NODE_HOLDS_VALUE(n)) return NULL;
    switch (json_node_get_value_type(n)) {
    case G_TYPE_STRING: return g_strdup(json_node_get_string(n));
    case G_TYPE_INT64: return g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(n));
    case G_TYPE_BOOLEAN: return g_strdup(json_node_get_boolean(n) ? "true" : "false");
    case G_TYPE_DOUBLE: {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        return g_strdup(g_ascii_dtostr(buf, sizeof buf, json_node_get_double(n)));
    }
    default: return NULL;
    }
}

gboolean cascade_recipe_apply_preset_file(CascadeRecipe *r, const gchar *path, GError **error) {
    g_autoptr(JsonParser) parser = NULL;
    JsonNode     *root = NULL;
    cascade_error e;
    cascade_error_init(&e);
    /* the project's one strict reader: a hostile file (deep nesting, duplicate keys) is an
     * error for this preset, never a crash of the dialog */
    if (cascade_io_json_load_file(path, "preset", CASCADE_IO_JSON_PY_INFINITY, &parser, &root,
                                  &e) != CASCADE_STATUS_OK) {
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_PARSE, "%s", e.message);
        return FALSE;
    }
    JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    JsonNode   *vn = o ? json_object_get_member(o, "values") : NULL;
    if (!vn || !JSON_NODE_HOLDS_OBJECT(vn)) {
        g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_PARSE,
                    _("%s: a preset is an object with a “values” object"), path);
        return FALSE;
    }
    g_autoptr(GList) members = json_object_get_members(o);
    for (GList *l = members; l; l = l->next)
        if (strcmp(l->data, "name") && strcmp(l->data, "description") &&
            strcmp(l->data, "values")) {
            g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_PARSE,
                        _("%s: unknown member “%s” (a preset has name, description, values)"), path,
                        (const char *)l->data);
            return FALSE;
        }
    JsonObject *values = json_node_get_object(vn);
    g_autoptr(GList) keys = json_object_get_members(values);
    CascadeRecipe tmp;
    cascade_recipe_copy(&tmp, r);
    for (GList *l = keys; l; l = l->next) {
        const field *f = find_field(l->data);
        if (!f || !f->in_preset) {
            g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_PARSE,
                        f ? _("%s: a preset may not set “%s”")
                          : _("%s: unknown key “%s” in the preset's values"),
                        path, (const char *)l->data);
            goto fail;
        }
        g_autofree gchar *v = json_scalar_text(json_object_get_member(values, l->data));
        if (!v) {
            g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_PARSE,
                        _("%s: “%s” must be a string, number or boolean"), path,
                        (const char *)l->data);
            goto fail;
        }
        GError *fe = NULL;
        if (!set_field(&tmp, f, v, &fe)) {
            g_set_error(error, CASCADE_RECIPE_ERROR, CASCADE_RECIPE_ERROR_PARSE, "%s: %s", path,
                        fe->message);
            g_error_free(fe);
            goto fail;
        }
    }
    /* the preset's name (its file's stem) unless the preset itself sets one */
    if (!json_object_has_member(values, "preset")) {
        g_autofree gchar *base = g_path_get_basename(path);
        gchar            *dot = strrchr(base, '.');
        if (dot) *dot = '\0';
        g_free(tmp.preset);
        tmp.preset = g_strdup(base);
    }
    cascade_recipe_clear(r);
    *r = tmp;
    return TRUE;
fail:
    cascade_recipe_clear(&tmp);
    return FALSE;
}
