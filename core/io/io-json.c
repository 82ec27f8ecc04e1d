#include "io-json.h"
#include "io-reason.h"

#include <stdbool.h>
#include <stdio.h>
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

/* Strict RFC 8259 syntax check, iterative with bounded depth, run before json-glib: its
 * scanner also accepts comments, single-quoted strings and hex numbers, and it recurses
 * once per nesting level. Strings may not contain U+0000 (it would truncate names, so
 * "a\u0000b" and "a" would collide) or unpaired surrogates. On failure *why is set and
 * the byte offset returned through *at. */
typedef struct cur {
    const char *s;
    size_t      n, i;
    char       *patch; /* writable copy of s when a flag allows rewriting, else NULL */
    unsigned    flags; /* CASCADE_IO_JSON_* */
} cur;

static bool at_end(const cur *c) { return c->i >= c->n; }

static void skip_ws(cur *c) {
    while (!at_end(c) &&
           (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r'))
        c->i++;
}

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static int hex4(const cur *c, size_t at) {
    if (at + 4 > c->n) return -1;
    int v = 0;
    for (size_t k = 0; k < 4; k++) {
        char ch = c->s[at + k];
        int  d = is_digit(ch)               ? ch - '0'
                 : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10
                 : (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10
                                            : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

static const char *scan_string(cur *c) {
    c->i++; /* opening quote */
    for (;;) {
        if (at_end(c)) return "unterminated string";
        unsigned char ch = (unsigned char)c->s[c->i];
        if (ch == '"') {
            c->i++;
            return NULL;
        }
        if (ch < 0x20) return "control character in string";
        if (ch != '\\') {
            c->i++;
            continue;
        }
        c->i++;
        if (at_end(c)) return "unterminated escape";
        char e = c->s[c->i];
        if (strchr("\"\\/bfnrt", e) && e) {
            c->i++;
            continue;
        }
        if (e != 'u') return "invalid escape in string";
        int u = hex4(c, c->i + 1);
        if (u < 0) return "invalid \\u escape";
        c->i += 5;
        if (u == 0) return "\\u0000 in string is not supported";
        if (u >= 0xdc00 && u <= 0xdfff) return "unpaired surrogate in string";
        if (u >= 0xd800 && u <= 0xdbff) {
            if (c->i + 1 >= c->n || c->s[c->i] != '\\' || c->s[c->i + 1] != 'u')
                return "unpaired surrogate in string";
            int lo = hex4(c, c->i + 2);
            if (lo < 0xdc00 || lo > 0xdfff) return "unpaired surrogate in string";
            c->i += 6;
        }
    }
}

static const char *scan_number(cur *c) {
    bool neg = c->s[c->i] == '-';
    if (neg) c->i++;
    if (at_end(c) || !is_digit(c->s[c->i])) return "invalid number";
    size_t digits = c->i;
    if (c->s[c->i] == '0') {
        c->i++;
    } else {
        while (!at_end(c) && is_digit(c->s[c->i])) c->i++;
    }
    size_t n_digits = c->i - digits;
    bool   integer = true;
    if (!at_end(c) && c->s[c->i] == '.') {
        integer = false;
        c->i++;
        if (at_end(c) || !is_digit(c->s[c->i])) return "invalid number";
        while (!at_end(c) && is_digit(c->s[c->i])) c->i++;
    }
    if (!at_end(c) && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        integer = false;
        c->i++;
        if (!at_end(c) && (c->s[c->i] == '+' || c->s[c->i] == '-')) c->i++;
        if (at_end(c) || !is_digit(c->s[c->i])) return "invalid number";
        while (!at_end(c) && is_digit(c->s[c->i])) c->i++;
    }
    /* json-glib wraps integers outside int64 silently (-99999999999999999999 reads as 1) */
    const char *limit = neg ? "9223372036854775808" : "9223372036854775807";
    if (integer && (n_digits > 19 || (n_digits == 19 && memcmp(c->s + digits, limit, 19) > 0))) {
        if (!(c->flags & CASCADE_IO_JSON_BIG_INT)) {
            c->i = digits;
            return "integer outside the 64-bit range";
        }
        /* Same length, so byte offsets stay: "D.DDDDe<exp>" padded with spaces (JSON allows
         * whitespace after a number); json-glib then reads a double. */
        char   exp[24];
        int    le = snprintf(exp, sizeof exp, "e%zu", n_digits - 1);
        size_t k = n_digits - 2 - (size_t)le; /* fraction digits that fit; >= 9 here */
        if (k > 17) k = 17;
        char *w = c->patch + digits;
        w[0] = c->s[digits];
        w[1] = '.';
        memcpy(w + 2, c->s + digits + 1, k);
        memcpy(w + 2 + k, exp, (size_t)le);
        memset(w + 2 + k + (size_t)le, ' ', n_digits - 2 - k - (size_t)le);
    }
    return NULL;
}

static const char *scan_literal(cur *c) {
    static const char *const words[] = {"true", "false", "null"};
    for (size_t k = 0; k < 3; k++) {
        size_t l = strlen(words[k]);
        if (c->n - c->i >= l && memcmp(c->s + c->i, words[k], l) == 0) {
            c->i += l;
            return NULL;
        }
    }
    /* Python's json.dumps writes float('inf') as a bare Infinity (diffusers saves DPM-Solver's
     * lambda_min_clipped = -inf that way). Where allowed, it becomes a same-length number that
     * overflows to infinity when json-glib parses it; NaN has no such spelling. */
    static const struct {
        const char *word, *number;
    } inf[] = {{"-Infinity", "-1e999   "}, {"Infinity", "1e999   "}};
    for (size_t k = 0; k < 2; k++) {
        size_t l = strlen(inf[k].word);
        if (c->n - c->i >= l && memcmp(c->s + c->i, inf[k].word, l) == 0) {
            if (!(c->flags & CASCADE_IO_JSON_PY_INFINITY)) return "Infinity is not JSON";
            memcpy(c->patch + c->i, inf[k].number, l);
            c->i += l;
            return NULL;
        }
    }
    if (c->n - c->i >= 3 && memcmp(c->s + c->i, "NaN", 3) == 0) return "NaN is not supported";
    return "unexpected character";
}

static const char *check_syntax(const char *text, size_t len, char *patch, unsigned flags,
                                size_t *at) {
    cur         c = {text, len, 0, patch, flags};
    char        stack[CASCADE_IO_JSON_MAX_DEPTH];
    size_t      depth = 0, keys = 0;
    const char *why = NULL;
    enum { VALUE, KEY, AFTER } state = VALUE;

    for (;;) {
        skip_ws(&c);
        if (state == VALUE) {
            if (at_end(&c)) {
                why = "unexpected end";
                break;
            }
            char ch = c.s[c.i];
            if (ch == '{' || ch == '[') {
                if (depth == CASCADE_IO_JSON_MAX_DEPTH) {
                    why = "arrays/objects nested too deeply";
                    break;
                }
                stack[depth++] = ch;
                c.i++;
                skip_ws(&c);
                if (!at_end(&c) && c.s[c.i] == (ch == '{' ? '}' : ']')) {
                    c.i++;
                    depth--;
                    state = AFTER;
                } else {
                    state = ch == '{' ? KEY : VALUE;
                }
                continue;
            }
            if (ch == '"')
                why = scan_string(&c);
            else if ((ch == '-' && !(c.i + 1 < c.n && c.s[c.i + 1] == 'I')) || is_digit(ch))
                why = scan_number(&c);
            else
                why = scan_literal(&c);
            if (why) break;
            state = AFTER;
        } else if (state == KEY) {
            if (at_end(&c) || c.s[c.i] != '"') {
                why = "expected a quoted key";
                break;
            }
            if ((why = scan_string(&c))) break;
            if ((flags & CASCADE_IO_JSON_FEW_KEYS) && ++keys > CASCADE_IO_JSON_MAX_KEYS) {
                why = "too many keys (more than 262144)";
                break;
            }
            skip_ws(&c);
            if (at_end(&c) || c.s[c.i] != ':') {
                why = "expected ':' after a key";
                break;
            }
            c.i++;
            state = VALUE;
        } else { /* AFTER a value */
            if (depth == 0) {
                if (!at_end(&c)) why = "unexpected text after the end";
                break;
            }
            char open = stack[depth - 1];
            if (!at_end(&c) && c.s[c.i] == ',') {
                c.i++;
                state = open == '{' ? KEY : VALUE;
            } else if (!at_end(&c) && c.s[c.i] == (open == '{' ? '}' : ']')) {
                c.i++;
                depth--;
            } else {
                why = open == '{' ? "expected ',' or '}'" : "expected ',' or ']'";
                break;
            }
        }
    }
    *at = c.i;
    return why;
}

cascade_status cascade_io_json_parse(const char *text, size_t len, const char *label,
                                     const char *what, unsigned flags, JsonParser **parser_out,
                                     JsonNode **root_out, cascade_error *err) {
    cascade_status st = CASCADE_STATUS_OK;
    JsonParser    *parser = NULL;
    char          *patched = NULL;
    GError        *gerr = NULL;
    dup_check      dc = {NULL, NULL};

    *parser_out = NULL;
    *root_out = NULL;
    if (len > G_MAXSSIZE) {
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: %s is too large", label, what);
    }
    const char *bad = NULL;
    if (!g_utf8_validate(text, (gssize)len, &bad)) {
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: %s is not valid UTF-8 (byte %zu)",
                                 label, what, (size_t)(bad - text));
    }
    size_t at = 0;
    if (flags & (CASCADE_IO_JSON_PY_INFINITY | CASCADE_IO_JSON_BIG_INT)) {
        patched = g_malloc(len ? len : 1);
        if (len) memcpy(patched, text, len);
    }
    const char *why = check_syntax(text, len, patched, flags, &at);
    if (why) {
        g_free(patched);
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: %s is not valid JSON: %s at byte %zu", label, what, why, at);
    }
    if (patched) text = patched;
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
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: %s must be a JSON object, got %s",
                               label, what, cascade_io_json_kind(root));
        goto fail;
    }
    g_signal_handlers_disconnect_by_data(parser, &dc);
    g_hash_table_destroy(dc.seen);
    g_free(patched);
    *parser_out = parser;
    *root_out = root;
    return CASCADE_STATUS_OK;

fail:
    g_clear_error(&gerr);
    g_free(dc.first_dup);
    g_signal_handlers_disconnect_by_data(parser, &dc);
    g_object_unref(parser);
    g_hash_table_destroy(dc.seen);
    g_free(patched);
    return st;
}

cascade_status cascade_io_read_file(const char *path, char **text, size_t *len,
                                    cascade_error *err) {
    gsize   n = 0;
    GError *gerr = NULL;
    *text = NULL;
    *len = 0;
    if (!g_file_get_contents(path, text, &n, &gerr)) {
        cascade_status st = cascade_error_set(err, CASCADE_STATUS_IO, "%s: cannot read: %s", path,
                                              gerr ? gerr->message : "unknown error");
        g_clear_error(&gerr);
        return st;
    }
    *len = n;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_io_json_load_file(const char *path, const char *what, unsigned flags,
                                         JsonParser **parser_out, JsonNode **root_out,
                                         cascade_error *err) {
    char  *text = NULL;
    size_t len = 0;
    *parser_out = NULL;
    *root_out = NULL;
    CASCADE_TRY(cascade_io_read_file(path, &text, &len, err));
    cascade_status st = cascade_io_json_parse(text, len, path, what, flags, parser_out, root_out,
                                              err);
    g_free(text);
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
