#include "text-common.h"

#include <stdlib.h>
#include <string.h>

bool cascade_text_py_isspace(gunichar c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
           c == 0x202f || c == 0x205f || c == 0x3000;
}

void cascade_text_py_lstrip(const char **s, const char *end) {
    while (*s < end) {
        const char *next = g_utf8_next_char(*s);
        if (!cascade_text_py_isspace(g_utf8_get_char(*s))) break;
        *s = next;
    }
}

void cascade_text_py_rstrip(const char *s, const char **end) {
    while (*end > s) {
        const char *prev = g_utf8_find_prev_char(s, *end);
        if (!prev || !cascade_text_py_isspace(g_utf8_get_char(prev))) break;
        *end = prev;
    }
}

cascade_status cascade_id_buf_push(cascade_id_buf *b, const int32_t *ids, size_t n,
                                   cascade_error *err) {
    if (n > SIZE_MAX / sizeof(int32_t) - b->n)
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "tokenizer: too many ids");
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 16;
        while (cap < b->n + n) cap = cap > SIZE_MAX / 8 ? b->n + n : cap * 2;
        int32_t *v = realloc(b->v, cap * sizeof *v);
        if (!v) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "tokenizer: no memory");
        b->v = v;
        b->cap = cap;
    }
    if (n) memcpy(b->v + b->n, ids, n * sizeof *ids);
    b->n += n;
    return CASCADE_STATUS_OK;
}

void cascade_tok_def_clear(cascade_tok_def *d) {
    g_free(d->content);
    d->content = NULL;
}

cascade_status cascade_tok_def_parse(JsonNode *node, const char *file, const char *field,
                                     cascade_tok_def *out, cascade_error *err) {
    cascade_tok_def d = {0};
    if (JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING) {
        d.content = g_strdup(json_node_get_string(node));
        d.lstrip = d.rstrip = true;
    } else if (JSON_NODE_HOLDS_OBJECT(node)) {
        JsonObject *o = json_node_get_object(node);
        JsonNode   *content = json_object_get_member(o, "content");
        if (!content || !JSON_NODE_HOLDS_VALUE(content) ||
            json_node_get_value_type(content) != G_TYPE_STRING)
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: field '%s': token object without a string 'content'",
                                     file, field);
        d.content = g_strdup(json_node_get_string(content));
        d.lstrip = json_object_get_boolean_member_with_default(o, "lstrip", FALSE);
        d.rstrip = json_object_get_boolean_member_with_default(o, "rstrip", FALSE);
        /* single_word/normalized/special only matter to the fast tokenizers' pipeline;
         * the slow tokenizers of 4.31 do not read them when splitting. */
    } else {
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "%s: field '%s': expected a token string or object", file, field);
    }
    if (d.content[0] == '\0') {
        g_free(d.content);
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: field '%s': empty token", file,
                                 field);
    }
    cascade_tok_def_clear(out);
    *out = d;
    return CASCADE_STATUS_OK;
}

static bool string_is(JsonNode *n, const char *want) {
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING &&
           strcmp(json_node_get_string(n), want) == 0;
}

cascade_status cascade_text_shared_key(const char *k, JsonNode *v, const char *path, bool *known,
                                       cascade_error *err) {
    static const char *const bookkeeping[] = {
        "name_or_path",     "special_tokens_map_file", "tokenizer_file",   "vocab_file",
        "merges_file",      "processor_class",         "model_input_names",
    };
    *known = true;
    if (!strcmp(k, "padding_side") || !strcmp(k, "truncation_side")) {
        if (!string_is(v, "right"))
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "%s: field '%s': only \"right\" is implemented", path, k);
    } else if (!strcmp(k, "split_special_tokens")) {
        if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_BOOLEAN ||
            json_node_get_boolean(v))
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "%s: field '%s': only false is implemented", path, k);
    } else if (!strcmp(k, "extra_special_tokens")) {
        if (!JSON_NODE_HOLDS_NULL(v) &&
            !(JSON_NODE_HOLDS_OBJECT(v) && json_object_get_size(json_node_get_object(v)) == 0))
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "%s: field '%s': must be empty", path, k);
    } else {
        /* Bookkeeping: paths are ours, the inputs are always ids and mask. */
        *known = false;
        for (size_t i = 0; i < G_N_ELEMENTS(bookkeeping); i++)
            if (!strcmp(k, bookkeeping[i])) *known = true;
    }
    return CASCADE_STATUS_OK;
}

cascade_status cascade_text_check_added_decoder(JsonNode *node, const char *file,
                                                int32_t (*id_of)(const void *tok,
                                                                 const char *content),
                                                const void *tok, cascade_error *err) {
    if (!node || JSON_NODE_HOLDS_NULL(node)) return CASCADE_STATUS_OK;
    if (!JSON_NODE_HOLDS_OBJECT(node))
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: field 'added_tokens_decoder': expected an object", file);
    JsonObject    *o = json_node_get_object(node);
    GList         *members = json_object_get_members(o);
    cascade_status st = CASCADE_STATUS_OK;
    for (GList *l = members; l && st == CASCADE_STATUS_OK; l = l->next) {
        const char *key = l->data;
        char       *end = NULL;
        long        id = strtol(key, &end, 10);
        JsonNode   *v = json_object_get_member(o, key);
        JsonNode   *c = JSON_NODE_HOLDS_OBJECT(v)
                            ? json_object_get_member(json_node_get_object(v), "content")
                            : NULL;
        const char *content =
            (c && JSON_NODE_HOLDS_VALUE(c) && json_node_get_value_type(c) == G_TYPE_STRING)
                ? json_node_get_string(c)
                : NULL;
        if (end == key || *end || !content || id != id_of(tok, content))
            st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                   "%s: field 'added_tokens_decoder[%s]': token not in the "
                                   "vocabulary at that id (added tokens are not implemented)",
                                   file, key);
    }
    g_list_free(members);
    return st;
}

const cascade_special_tok *cascade_special_next(const cascade_special_tok *s, size_t n,
                                                const bool first_byte[256], const char *p,
                                                const char *end, const char **at) {
    for (; p < end; p++) {
        if (!first_byte[(unsigned char)*p]) continue;
        const cascade_special_tok *best = NULL;
        for (size_t i = 0; i < n; i++) {
            if (s[i].len <= (size_t)(end - p) && !memcmp(p, s[i].text, s[i].len) &&
                (!best || s[i].len > best->len))
                best = &s[i];
        }
        if (best) {
            *at = p;
            return best;
        }
    }
    return NULL;
}

cascade_status cascade_text_encode_rows(cascade_text_row_fn row, const void *tok,
                                        const char *const *texts, size_t n, int32_t max_length,
                                        int32_t *ids, int32_t *mask, const char *who,
                                        cascade_error *err) {
    if (!tok || (n && (!texts || !ids || !mask)))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: NULL argument", who);
    if (max_length < 1)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "%s: max_length %d < 1", who,
                                 (int)max_length);
    if (n > SIZE_MAX / sizeof(int32_t) / (size_t)max_length)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "%s: %zu rows of %d ids overflow", who, n, (int)max_length);
    for (size_t i = 0; i < n; i++) {
        const size_t   off = i * (size_t)max_length;
        cascade_status st = row(tok, texts[i], max_length, ids + off, mask + off, err);
        if (st) {
            cascade_error_prefix(err, "batch row %zu: ", i);
            return st;
        }
    }
    return CASCADE_STATUS_OK;
}

/* In-place str.replace(from, to) with strlen(to) < strlen(from). */
static void replace_all(char *s, const char *from, const char *to) {
    const size_t nf = strlen(from), nt = strlen(to);
    char        *r = s, *w = s;
    while (*r) {
        if (!strncmp(r, from, nf)) {
            memmove(w, to, nt);
            w += nt;
            r += nf;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

void cascade_text_clean_up_spaces(char *s) {
    static const char *const pairs[][2] = {
        {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) replace_all(s, pairs[i][0], pairs[i][1]);
}
