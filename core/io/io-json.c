#include "io-json.h"

#include <string.h>

typedef struct dup_check {
    GHashTable *seen; /* "<object ptr>\n<name>" */
    char       *first_dup;
} dup_check;

static void on_object_member(JsonParser *parser, JsonObject *object, const gchar *name,
                             gpointer user_data) {
    (void)parser;
    dup_check *dc = user_data;
    char      *key = g_strdup_printf("%p\n%s", (void *)object, name);
    if (!g_hash_table_add(dc->seen, key) && !dc->first_dup) dc->first_dup = g_strdup(name);
}

/* Nesting depth of brackets outside strings; stops counting once past the limit. */
static size_t max_nesting(const char *s, size_t n) {
    size_t depth = 0, max = 0;
    int    in_str = 0, esc = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (esc) esc = 0;
            else if (c == '\\') esc = 1;
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max) max = depth;
            if (max > CASCADE_IO_JSON_MAX_DEPTH) return max;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return max;
}

cascade_status cascade_io_json_parse(const char *text, size_t len, const char *label,
                                     const char *what, JsonParser **parser_out,
                                     JsonNode **root_out, cascade_error *err) {
    cascade_status st = CASCADE_STATUS_OK;
    JsonParser    *parser = NULL;
    GError        *gerr = NULL;
    dup_check      dc = {NULL, NULL};

    *parser_out = NULL;
    *root_out = NULL;
    if (len > G_MAXSSIZE) {
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: %s is too large", label, what);
    }
    const char *bad = NULL;
    if (!g_utf8_validate(text, (gssize)len, &bad)) {
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: %s is not valid UTF-8 (byte %zu)", label, what,
                                 (size_t)(bad - text));
    }
    if (max_nesting(text, len) > CASCADE_IO_JSON_MAX_DEPTH) {
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: %s nests arrays/objects deeper than %d levels", label, what,
                                 CASCADE_IO_JSON_MAX_DEPTH);
    }
    dc.seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    parser = json_parser_new_immutable();
    g_signal_connect(parser, "object-member", G_CALLBACK(on_object_member), &dc);
    if (!json_parser_load_from_data(parser, text, (gssize)len, &gerr)) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: %s is not valid JSON: %s", label,
                               what, gerr ? gerr->message : "parse error");
        goto fail;
    }
    if (dc.first_dup) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: %s has the key '%s' twice", label,
                               what, dc.first_dup);
        goto fail;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (!root) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: %s is empty", label, what);
        goto fail;
    }
    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                               "%s: %s must be a JSON object, got %s", label, what,
                               cascade_io_json_kind(root));
        goto fail;
    }
    g_signal_handlers_disconnect_by_data(parser, &dc);
    g_hash_table_destroy(dc.seen);
    *parser_out = parser;
    *root_out = root;
    return CASCADE_STATUS_OK;

fail:
    g_clear_error(&gerr);
    g_free(dc.first_dup);
    g_signal_handlers_disconnect_by_data(parser, &dc);
    g_object_unref(parser);
    g_hash_table_destroy(dc.seen);
    return st;
}

const char *cascade_io_json_kind(JsonNode *node) {
    if (!node) return "nothing";
    switch (json_node_get_node_type(node)) {
    case JSON_NODE_OBJECT: return "an object";
    case JSON_NODE_ARRAY: return "an array";
    case JSON_NODE_NULL: return "null";
    case JSON_NODE_VALUE: break;
    }
    GType t = json_node_get_value_type(node);
    if (t == G_TYPE_INT64) return "an integer";
    if (t == G_TYPE_DOUBLE) return "a number";
    if (t == G_TYPE_BOOLEAN) return "a boolean";
    if (t == G_TYPE_STRING) return "a string";
    return "a value";
}

int cascade_io_json_get_int(JsonNode *node, gint64 *out) {
    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
        return 0;
    *out = json_node_get_int(node);
    return 1;
}
