/* config.json of a model component. Every getter records the key it read; whatever no one
 * read is refused by cascade_config_check_all_used, so a config field the engine does not
 * implement can never be silently ignored. */
#include "cascade/config.h"

#include <math.h>
#include <string.h>

#include <glib.h>

#include "io-json.h"

struct cascade_config {
    char       *label;
    JsonParser *parser;
    JsonObject *root;
    char      **keys; /* file order */
    bool       *used;
    size_t      n_keys;
    GHashTable *index; /* key -> index + 1 */
};

cascade_status cascade_config_parse(const char *json, size_t len, const char *label,
                                    cascade_config **out, cascade_error *err) {
    *out = NULL;
    if (!label) label = "config";
    if (!json && len)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: NULL text", label);
    JsonParser    *parser = NULL;
    JsonNode      *root = NULL;
    cascade_status st = cascade_io_json_parse(json ? json : "", len, label, "config",
                                              CASCADE_IO_JSON_PY_INFINITY, &parser, &root, err);
    if (st != CASCADE_STATUS_OK) return st;

    cascade_config *cfg = g_new0(cascade_config, 1);
    cfg->label = g_strdup(label);
    cfg->parser = parser;
    cfg->root = json_node_get_object(root);
    cfg->index = g_hash_table_new(g_str_hash, g_str_equal);
    GList *members = json_object_get_members(cfg->root);
    cfg->n_keys = g_list_length(members);
    cfg->keys = g_new0(char *, cfg->n_keys + 1);
    cfg->used = g_new0(bool, cfg->n_keys + 1);
    size_t i = 0;
    for (GList *l = members; l; l = l->next, i++) {
        cfg->keys[i] = g_strdup(l->data);
        g_hash_table_insert(cfg->index, cfg->keys[i], GSIZE_TO_POINTER(i + 1));
    }
    g_list_free(members);
    *out = cfg;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_config_load(const char *path, cascade_config **out, cascade_error *err) {
    *out = NULL;
    char  *text = NULL;
    size_t len = 0;
    CASCADE_TRY(cascade_io_read_file(path, &text, &len, err));
    cascade_status st = cascade_config_parse(text, len, path, out, err);
    g_free(text);
    return st;
}

cascade_status cascade_config_load_optional(const char *dir, const char *name,
                                            cascade_config **out, cascade_error *err) {
    *out = NULL;
    char *path = g_build_filename(dir, name, NULL);
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_free(path);
        return CASCADE_STATUS_OK;
    }
    cascade_status st = cascade_config_load(path, out, err);
    g_free(path);
    static const char *const notes[] = {"_comment", NULL};
    if (!st) cascade_config_ignore(*out, notes);
    return st;
}

void cascade_config_free(cascade_config *cfg) {
    if (!cfg) return;
    if (cfg->index) g_hash_table_destroy(cfg->index);
    for (size_t i = 0; i < cfg->n_keys; i++) g_free(cfg->keys[i]);
    g_free(cfg->keys);
    g_free(cfg->used);
    if (cfg->parser) g_object_unref(cfg->parser);
    g_free(cfg->label);
    g_free(cfg);
}

const char *cascade_config_path(const cascade_config *cfg) { return cfg ? cfg->label : NULL; }

bool cascade_config_has(const cascade_config *cfg, const char *key) {
    return cfg && key && g_hash_table_contains(cfg->index, key);
}

bool cascade_config_is_null(const cascade_config *cfg, const char *key) {
    if (!cascade_config_has(cfg, key)) return false;
    return JSON_NODE_HOLDS_NULL(json_object_get_member(cfg->root, key));
}

static void mark_used(cascade_config *cfg, const char *key) {
    gsize i = GPOINTER_TO_SIZE(g_hash_table_lookup(cfg->index, key));
    if (i) cfg->used[i - 1] = true;
}

/* The member under key, marking it used; NULL when missing or null. */
static JsonNode *take(cascade_config *cfg, const char *key) {
    if (!cascade_config_has(cfg, key)) return NULL;
    mark_used(cfg, key);
    JsonNode *n = json_object_get_member(cfg->root, key);
    return JSON_NODE_HOLDS_NULL(n) ? NULL : n;
}

static cascade_status wrong_type(const cascade_config *cfg, const char *key, const char *want,
                                 JsonNode *got, cascade_error *err) {
    return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: field '%s' must be %s, got %s",
                             cfg->label, key, want, cascade_io_json_kind(got));
}

/* Element conversions shared by scalars and arrays; false on a type mismatch. */
static bool node_int(JsonNode *n, int64_t *out) {
    gint64 v;
    if (cascade_io_json_get_int(n, &v)) {
        *out = v;
        return true;
    }
    /* 64.0 where an integer is meant: accepted when exactly integral. */
    if (n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_DOUBLE) {
        double d = json_node_get_double(n);
        if (isfinite(d) && d == floor(d) && d >= -9.2e18 && d <= 9.2e18) {
            *out = (int64_t)d;
            return true;
        }
    }
    return false;
}

static bool node_float(JsonNode *n, double *out) {
    if (!n || !JSON_NODE_HOLDS_VALUE(n)) return false;
    GType t = json_node_get_value_type(n);
    if (t == G_TYPE_DOUBLE)
        *out = json_node_get_double(n);
    else if (t == G_TYPE_INT64)
        *out = (double)json_node_get_int(n);
    else
        return false;
    return !isnan(*out); /* +-inf are real config values (see CASCADE_IO_JSON_PY_INFINITY) */
}

static bool node_bool(JsonNode *n, bool *out) {
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
        return false;
    *out = json_node_get_boolean(n);
    return true;
}

cascade_status cascade_config_int(cascade_config *cfg, const char *key, int64_t def, int64_t *out,
                                  cascade_error *err) {
    JsonNode *n = take(cfg, key);
    *out = def;
    if (n && !node_int(n, out)) return wrong_type(cfg, key, "an integer", n, err);
    return CASCADE_STATUS_OK;
}

cascade_status cascade_config_float(cascade_config *cfg, const char *key, double def, double *out,
                                    cascade_error *err) {
    JsonNode *n = take(cfg, key);
    *out = def;
    if (n && !node_float(n, out)) return wrong_type(cfg, key, "a number", n, err);
    return CASCADE_STATUS_OK;
}

cascade_status cascade_config_bool(cascade_config *cfg, const char *key, bool def, bool *out,
                                   cascade_error *err) {
    JsonNode *n = take(cfg, key);
    *out = def;
    if (n && !node_bool(n, out)) return wrong_type(cfg, key, "true or false", n, err);
    return CASCADE_STATUS_OK;
}

cascade_status cascade_config_string(cascade_config *cfg, const char *key, const char *def,
                                     const char **out, cascade_error *err) {
    JsonNode *n = take(cfg, key);
    *out = def;
    if (!n) return CASCADE_STATUS_OK;
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return wrong_type(cfg, key, "a string", n, err);
    *out = json_node_get_string(n);
    return CASCADE_STATUS_OK;
}

typedef bool (*elem_fn)(JsonNode *n, void *out, size_t i);

static bool elem_int(JsonNode *n, void *out, size_t i) { return node_int(n, (int64_t *)out + i); }
static bool elem_float(JsonNode *n, void *out, size_t i) {
    return node_float(n, (double *)out + i);
}
static bool elem_bool(JsonNode *n, void *out, size_t i) { return node_bool(n, (bool *)out + i); }
/* null elements are allowed in string lists (diffusers writes e.g. [null, "CrossAttn..."]). */
static bool elem_string(JsonNode *n, void *out, size_t i) {
    const char **o = out;
    if (JSON_NODE_HOLDS_NULL(n)) {
        o[i] = NULL;
        return true;
    }
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) return false;
    o[i] = json_node_get_string(n);
    return true;
}

static cascade_status get_array(cascade_config *cfg, const char *key, bool scalar_ok, void *out,
                                size_t max, size_t *n_out, elem_fn fn, const char *want,
                                cascade_error *err) {
    JsonNode *n = take(cfg, key);
    *n_out = 0;
    if (!n) return CASCADE_STATUS_OK;
    if (!JSON_NODE_HOLDS_ARRAY(n)) {
        if (!scalar_ok || JSON_NODE_HOLDS_OBJECT(n))
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: field '%s' must be an array of %s, got %s", cfg->label,
                                     key, want, cascade_io_json_kind(n));
        if (max < 1)
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: field '%s' has more than %zu elements", cfg->label, key,
                                     max);
        if (!fn(n, out, 0)) return wrong_type(cfg, key, want, n, err);
        *n_out = 1;
        return CASCADE_STATUS_OK;
    }
    JsonArray *a = json_node_get_array(n);
    size_t     len = json_array_get_length(a);
    if (len > max)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: field '%s' has %zu elements, at most %zu are supported",
                                 cfg->label, key, len, max);
    for (size_t i = 0; i < len; i++) {
        JsonNode *e = json_array_get_element(a, (guint)i);
        if (!fn(e, out, i))
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: field '%s'[%zu] must be %s, got %s", cfg->label, key, i,
                                     want, cascade_io_json_kind(e));
    }
    *n_out = len;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_config_int_array(cascade_config *cfg, const char *key, bool scalar_ok,
                                        int64_t *out, size_t max, size_t *n, cascade_error *err) {
    return get_array(cfg, key, scalar_ok, out, max, n, elem_int, "an integer", err);
}

cascade_status cascade_config_float_array(cascade_config *cfg, const char *key, bool scalar_ok,
                                          double *out, size_t max, size_t *n, cascade_error *err) {
    return get_array(cfg, key, scalar_ok, out, max, n, elem_float, "a number", err);
}

cascade_status cascade_config_bool_array(cascade_config *cfg, const char *key, bool scalar_ok,
                                         bool *out, size_t max, size_t *n, cascade_error *err) {
    return get_array(cfg, key, scalar_ok, out, max, n, elem_bool, "true or false", err);
}

cascade_status cascade_config_string_array(cascade_config *cfg, const char *key, const char **out,
                                           size_t max, size_t *n, cascade_error *err) {
    return get_array(cfg, key, false, (void *)out, max, n, elem_string, "a string", err);
}

void cascade_config_ignore(cascade_config *cfg, const char *const *keys) {
    if (!cfg || !keys) return;
    for (size_t i = 0; keys[i]; i++) mark_used(cfg, keys[i]);
}

cascade_status cascade_config_check_all_used(const cascade_config *cfg, cascade_error *err) {
    for (size_t i = 0; i < cfg->n_keys; i++)
        if (!cfg->used[i])
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     /* a name is capped so the sentence survives */
                                     "%s: field '%.200s' is not supported by this engine",
                                     cfg->label, cfg->keys[i]);
    return CASCADE_STATUS_OK;
}
