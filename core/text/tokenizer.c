/* The T5 tokenizer as transformers 4.31's slow T5Tokenizer with legacy=True (what DeepFloyd
 * IF loads), on top of the SentencePiece shim:
 *
 *   text -> split out special-token strings (leftmost, longest first), strip whitespace
 *           beside them (Python str.strip semantics) -> SentencePiece on each text part
 *        -> ids (+ eos unless the ids already end in eos)
 *
 * Ids: SentencePiece pieces first, then extra_ids sentinels counted down from the end
 * (<extra_id_k> = sp_size + extra_ids - 1 - k), then special tokens that are in neither
 * (transformers' "added tokens", numbered in the order transformers adds them).
 *
 * The two JSON files are optional; every key in them is either implemented, known to be
 * bookkeeping only, or rejected as UNSUPPORTED with its name. */
#include "cascade/tokenizer.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io-json.h"
#include "sentencepiece-shim.h"
#include "text-common.h"

#define MAX_EXTRA_IDS (1 << 20) /* far above any real checkpoint; keeps id arithmetic small */

typedef cascade_special_tok special_tok;

struct cascade_tokenizer {
    cascade_spm *spm;
    int32_t      sp_size;
    int32_t      extra_ids;
    int32_t      vocab_size; /* sp_size + extra_ids, transformers' vocab_size */
    int32_t      n_added;    /* special tokens outside that vocabulary */
    int32_t      eos_id, pad_id, unk_id;
    bool         clean_up;
    special_tok *specials;
    size_t       n_specials;
    GHashTable  *by_text;         /* special text -> special_tok*, borrowed from specials */
    uint8_t     *is_special;      /* [vocab_size + n_added]: 1 for ids decode skips */
    bool         first_byte[256]; /* bytes a special token can start with */
};

/* ---- configuration as read from the JSON files (before ids are known) ---- */

typedef cascade_tok_def tok_def;

typedef struct tok_conf {
    tok_def   eos, unk, pad;
    tok_def  *additional; /* NULL with has_additional false: T5's <extra_id_N> list */
    size_t    n_additional;
    bool      has_additional;
    int64_t   extra_ids;
    bool      clean_up;
    JsonNode *added_tokens_decoder; /* checked against the ids once they are known */
} tok_conf;

static void tok_conf_clear(tok_conf *c) {
    cascade_tok_def_clear(&c->eos);
    cascade_tok_def_clear(&c->unk);
    cascade_tok_def_clear(&c->pad);
    for (size_t i = 0; i < c->n_additional; i++) cascade_tok_def_clear(&c->additional[i]);
    g_free(c->additional);
    c->additional = NULL;
    c->n_additional = 0;
    if (c->added_tokens_decoder) json_node_unref(c->added_tokens_decoder);
    c->added_tokens_decoder = NULL;
}

static cascade_status parse_additional(JsonNode *node, const char *file, tok_conf *c,
                                       cascade_error *err) {
    if (!JSON_NODE_HOLDS_ARRAY(node))
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: field 'additional_special_tokens': expected an array", file);
    JsonArray *a = json_node_get_array(node);
    guint      n = json_array_get_length(a);
    tok_def   *defs = g_new0(tok_def, n ? n : 1);
    for (guint i = 0; i < n; i++) {
        char field[64];
        snprintf(field, sizeof field, "additional_special_tokens[%u]", i);
        if (cascade_tok_def_parse(json_array_get_element(a, i), file, field, &defs[i], err)) {
            for (guint j = 0; j < i; j++) cascade_tok_def_clear(&defs[j]);
            g_free(defs);
            return err ? err->status : CASCADE_STATUS_FORMAT;
        }
    }
    for (size_t i = 0; i < c->n_additional; i++) cascade_tok_def_clear(&c->additional[i]);
    g_free(c->additional);
    c->additional = defs;
    c->n_additional = n;
    c->has_additional = true;
    return CASCADE_STATUS_OK;
}

static bool is_null(JsonNode *n) { return JSON_NODE_HOLDS_NULL(n); }

static bool string_is(JsonNode *n, const char *want) {
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING &&
           strcmp(json_node_get_string(n), want) == 0;
}

static bool bool_is(JsonNode *n, bool want) {
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_BOOLEAN &&
           (bool)json_node_get_boolean(n) == want;
}

/* Reads one of the two JSON files (tokenizer_config.json when is_config, else
 * special_tokens_map.json) into c. A missing file is not an error. */
static cascade_status read_json(const char *path, bool is_config, tok_conf *c, cascade_error *err) {
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) return CASCADE_STATUS_OK;
    JsonParser    *parser = NULL;
    JsonNode      *root = NULL;
    cascade_status st = cascade_io_json_load_file(path, "tokenizer file", CASCADE_IO_JSON_BIG_INT, &parser,
                                                  &root, err);
    if (st) return st;
    JsonObject *obj = json_node_get_object(root);
    GList      *members = json_object_get_members(obj);
    for (GList *l = members; l && st == CASCADE_STATUS_OK; l = l->next) {
        const char *k = l->data;
        JsonNode   *v = json_object_get_member(obj, k);
        if (!strcmp(k, "eos_token")) {
            st = cascade_tok_def_parse(v, path, k, &c->eos, err);
        } else if (!strcmp(k, "unk_token")) {
            st = cascade_tok_def_parse(v, path, k, &c->unk, err);
        } else if (!strcmp(k, "pad_token")) {
            st = cascade_tok_def_parse(v, path, k, &c->pad, err);
        } else if (!strcmp(k, "additional_special_tokens")) {
            if (!is_null(v)) st = parse_additional(v, path, c, err);
        } else if (!strcmp(k, "bos_token") || !strcmp(k, "sep_token") || !strcmp(k, "cls_token") ||
                   !strcmp(k, "mask_token")) {
            if (!is_null(v))
                st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                       "%s: field '%s': T5 has no such token", path, k);
        } else if (!is_config) {
            st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "%s: unknown field '%s'", path,
                                   k);
        } else if (!strcmp(k, "extra_ids")) {
            if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_INT64 ||
                json_node_get_int(v) < 0 || json_node_get_int(v) > MAX_EXTRA_IDS)
                st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                       "%s: field 'extra_ids': expected an integer in [0, %d]",
                                       path, MAX_EXTRA_IDS);
            else
                c->extra_ids = json_node_get_int(v);
        } else if (!strcmp(k, "clean_up_tokenization_spaces")) {
            if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_BOOLEAN)
                st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                       "%s: field '%s': expected true or false", path, k);
            else
                c->clean_up = json_node_get_boolean(v);
        } else if (!strcmp(k, "legacy")) {
            /* Absent or null means legacy in 4.31; the non-legacy mode is not implemented. */
            if (!is_null(v) && !bool_is(v, true))
                st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                       "%s: field 'legacy': only legacy=true is implemented", path);
        } else if (!strcmp(k, "tokenizer_class")) {
            if (!string_is(v, "T5Tokenizer") && !string_is(v, "T5TokenizerFast"))
                st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                       "%s: field 'tokenizer_class': only T5Tokenizer is "
                                       "implemented",
                                       path);
        } else if (!strcmp(k, "sp_model_kwargs")) {
            /* Options such as enable_sampling change the output; only none is implemented. */
            if (!is_null(v) &&
                !(JSON_NODE_HOLDS_OBJECT(v) && json_object_get_size(json_node_get_object(v)) == 0))
                st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                       "%s: field 'sp_model_kwargs': must be empty", path);
        } else if (!strcmp(k, "do_lower_case")) {
            if (!bool_is(v, false))
                st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                       "%s: field '%s': only false is implemented", path, k);
        } else if (!strcmp(k, "add_prefix_space")) {
            /* Newer transformers write it; it only acts in the non-legacy mode. */
            if (!is_null(v) && !bool_is(v, true))
                st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                       "%s: field 'add_prefix_space': only true is implemented",
                                       path);
        } else if (!strcmp(k, "added_tokens_decoder")) {
            if (c->added_tokens_decoder) json_node_unref(c->added_tokens_decoder);
            c->added_tokens_decoder = json_node_ref(v);
        } else if (!strcmp(k, "model_max_length")) {
            /* Bookkeeping: max length is always passed explicitly here. */
        } else {
            bool known = false;
            st = cascade_text_shared_key(k, v, path, &known, err);
            if (!st && !known)
                st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "%s: unknown field '%s'",
                                       path, k);
        }
    }
    g_list_free(members);
    g_object_unref(parser);
    return st;
}

/* ---- ids ---- */

/* transformers' _convert_token_to_id for "<extra_id_N>...": N from the leading digits. */
static cascade_status extra_id_of(const cascade_tokenizer *tok, const char *s, int32_t *id,
                                  cascade_error *err) {
    const char *p = s + strlen("<extra_id_");
    long long   num = 0;
    const char *d = p;
    while (*d >= '0' && *d <= '9' && num <= MAX_EXTRA_IDS) num = num * 10 + (*d++ - '0');
    if (d == p || *d != '>')
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "special token '%s' does not read as <extra_id_N>", s);
    if (num >= tok->extra_ids)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "special token '%s' is outside extra_ids (%d)", s,
                                 (int)tok->extra_ids);
    *id = tok->vocab_size - 1 - (int32_t)num;
    return CASCADE_STATUS_OK;
}

static const special_tok *find_special(const cascade_tokenizer *tok, const char *s) {
    return g_hash_table_lookup(tok->by_text, s);
}

/* Registers d as a no-split special token and gives it its id, as sanitize_special_tokens
 * does: a sentinel, a SentencePiece piece, or else the next added-token id. */
static cascade_status add_special(cascade_tokenizer *tok, const tok_def *d, const char *unk_text,
                                  int32_t *id_out, cascade_error *err) {
    const special_tok *have = find_special(tok, d->content);
    if (have) {
        if (id_out) *id_out = have->id;
        return CASCADE_STATUS_OK;
    }
    int32_t id = -1;
    if (!strncmp(d->content, "<extra_id_", strlen("<extra_id_"))) {
        CASCADE_TRY(extra_id_of(tok, d->content, &id, err));
    } else {
        id = cascade_spm_piece_to_id(tok->spm, d->content, strlen(d->content));
        if (id < 0 || (id == tok->unk_id && strcmp(d->content, unk_text) != 0)) {
            if (tok->n_added >= MAX_EXTRA_IDS)
                return cascade_error_set(err, CASCADE_STATUS_FORMAT, "too many special tokens");
            id = tok->vocab_size + tok->n_added++;
        }
    }
    special_tok *s = &tok->specials[tok->n_specials++];
    s->text = g_strdup(d->content);
    s->len = strlen(d->content);
    s->id = id;
    s->lstrip = d->lstrip;
    s->rstrip = d->rstrip;
    g_hash_table_insert(tok->by_text, s->text, s);
    tok->first_byte[(unsigned char)s->text[0]] = true;
    if (id_out) *id_out = id;
    return CASCADE_STATUS_OK;
}

/* The id transformers gives content: a special token's, else a SentencePiece piece's. */
static int32_t id_of_content(const void *t, const char *content) {
    const cascade_tokenizer *tok = t;
    const special_tok       *s = find_special(tok, content);
    if (s) return s->id;
    if (!strncmp(content, "<extra_id_", 10)) return -1;
    return cascade_spm_piece_to_id(tok->spm, content, strlen(content));
}

int32_t cascade_tokenizer_vocab_size(const cascade_tokenizer *tok) {
    return tok ? tok->vocab_size + tok->n_added : 0;
}
int32_t cascade_tokenizer_pad_id(const cascade_tokenizer *tok) { return tok ? tok->pad_id : -1; }
int32_t cascade_tokenizer_eos_id(const cascade_tokenizer *tok) { return tok ? tok->eos_id : -1; }

void cascade_tokenizer_free(cascade_tokenizer *tok) {
    if (!tok) return;
    for (size_t i = 0; i < tok->n_specials; i++) g_free(tok->specials[i].text);
    g_free(tok->specials);
    if (tok->by_text) g_hash_table_destroy(tok->by_text);
    g_free(tok->is_special);
    cascade_spm_free(tok->spm);
    g_free(tok);
}

/* path is a directory holding spiece.model (+ optional JSON files), or the model file
 * itself, which then loads with T5Tokenizer's defaults as T5Tokenizer(vocab_file) does. */
cascade_status cascade_tokenizer_load(const char *path, cascade_tokenizer **out,
                                      cascade_error *err) {
    if (!out)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "tokenizer_load: out is NULL");
    *out = NULL;
    if (!path || !*path)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "tokenizer_load: empty path");

    cascade_status     st = CASCADE_STATUS_OK;
    cascade_tokenizer *tok = NULL;
    tok_conf           conf = {.extra_ids = 100, .clean_up = true};
    const bool         is_dir = g_file_test(path, G_FILE_TEST_IS_DIR);
    char *model = is_dir ? g_build_filename(path, "spiece.model", NULL) : g_strdup(path);
    char *config = is_dir ? g_build_filename(path, "tokenizer_config.json", NULL) : NULL;
    char *map = is_dir ? g_build_filename(path, "special_tokens_map.json", NULL) : NULL;

    if (!g_file_test(model, G_FILE_TEST_IS_REGULAR)) {
        st = cascade_error_set(err, CASCADE_STATUS_IO, "%s: no such file (SentencePiece model)",
                               model);
        goto fail;
    }
    conf.eos = (tok_def){g_strdup("</s>"), true, true};
    conf.unk = (tok_def){g_strdup("<unk>"), true, true};
    conf.pad = (tok_def){g_strdup("<pad>"), true, true};
    /* special_tokens_map.json is applied after the config, as from_pretrained does. */
    if (config && (st = read_json(config, true, &conf, err))) goto fail;
    if (map && (st = read_json(map, false, &conf, err))) goto fail;

    tok = g_new0(cascade_tokenizer, 1);
    tok->by_text = g_hash_table_new(g_str_hash, g_str_equal);
    tok->clean_up = conf.clean_up;
    tok->extra_ids = (int32_t)conf.extra_ids;
    if ((st = cascade_spm_load(model, &tok->spm, err))) goto fail;
    tok->sp_size = cascade_spm_piece_size(tok->spm);
    if (tok->sp_size > INT32_MAX - 2 * MAX_EXTRA_IDS - 8) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: too many pieces", model);
        goto fail;
    }
    tok->vocab_size = tok->sp_size + tok->extra_ids;
    tok->unk_id = cascade_spm_piece_to_id(tok->spm, conf.unk.content, strlen(conf.unk.content));
    if (tok->unk_id < 0 || tok->unk_id >= tok->sp_size) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: unk token '%s' is not a piece",
                               model, conf.unk.content);
        goto fail;
    }

    if (!conf.has_additional) {
        conf.additional = g_new0(tok_def, conf.extra_ids ? conf.extra_ids : 1);
        for (int64_t i = 0; i < conf.extra_ids; i++)
            conf.additional[i] = (tok_def){g_strdup_printf("<extra_id_%d>", (int)i), true, true};
        conf.n_additional = (size_t)conf.extra_ids;
    } else if (conf.extra_ids > 0) {
        /* T5Tokenizer refuses a list whose distinct "extra_id" tokens miss the count. */
        GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
        for (size_t i = 0; i < conf.n_additional; i++)
            if (strstr(conf.additional[i].content, "extra_id"))
                g_hash_table_add(seen, conf.additional[i].content);
        const int64_t n = g_hash_table_size(seen);
        g_hash_table_destroy(seen);
        if (n != conf.extra_ids) {
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: field 'additional_special_tokens' holds %d extra_id "
                                   "tokens but 'extra_ids' is %d",
                                   path, (int)n, (int)conf.extra_ids);
            goto fail;
        }
    }

    /* Order as transformers' all_special_tokens: eos, unk, pad, then the additional ones. */
    tok->specials = g_new0(special_tok, 3 + conf.n_additional);
    st = add_special(tok, &conf.eos, conf.unk.content, &tok->eos_id, err);
    if (!st) st = add_special(tok, &conf.unk, conf.unk.content, NULL, err);
    if (!st) st = add_special(tok, &conf.pad, conf.unk.content, &tok->pad_id, err);
    for (size_t i = 0; !st && i < conf.n_additional; i++)
        st = add_special(tok, &conf.additional[i], conf.unk.content, NULL, err);
    if (st) { /* the token came from one of the folder's files: name the folder */
        cascade_error_prefix(err, "%s: ", path);
        goto fail;
    }
    if (config && (st = cascade_text_check_added_decoder(conf.added_tokens_decoder, config,
                                                          id_of_content, tok, err)))
        goto fail;
    tok->is_special = g_new0(uint8_t, (size_t)cascade_tokenizer_vocab_size(tok));
    for (size_t i = 0; i < tok->n_specials; i++) tok->is_special[tok->specials[i].id] = 1;

    tok_conf_clear(&conf);
    g_free(model);
    g_free(config);
    g_free(map);
    *out = tok;
    return CASCADE_STATUS_OK;

fail:
    cascade_tokenizer_free(tok);
    tok_conf_clear(&conf);
    g_free(model);
    g_free(config);
    g_free(map);
    return st;
}

/* ---- encoding ---- */

/* Ids of text before eos is appended (transformers' tokenize + convert_tokens_to_ids). */
static cascade_status encode_body(const cascade_tokenizer *tok, const char *text, cascade_id_buf *b,
                                  cascade_error *err) {
    const size_t n = strlen(text);
    if (!g_utf8_validate(text, (gssize)n, NULL))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "tokenizer: text is not valid UTF-8");
    const char        *p = text, *end = text + n;
    const special_tok *prev = NULL;
    while (p <= end) {
        const char        *at = end;
        const special_tok *s = cascade_special_next(tok->specials, tok->n_specials, tok->first_byte, p, end, &at);
        const char        *seg = p, *seg_end = at;
        if (prev && prev->rstrip) cascade_text_py_lstrip(&seg, seg_end);
        if (s && s->lstrip) cascade_text_py_rstrip(seg, &seg_end);
        if (seg < seg_end) {
            int32_t *ids = NULL;
            size_t   k = 0;
            CASCADE_TRY(cascade_spm_encode(tok->spm, seg, (size_t)(seg_end - seg), &ids, &k, err));
            cascade_status st = cascade_id_buf_push(b, ids, k, err);
            free(ids);
            if (st) return st;
        }
        if (!s) break;
        CASCADE_TRY(cascade_id_buf_push(b, &s->id, 1, err));
        prev = s;
        p = at + s->len;
    }
    return CASCADE_STATUS_OK;
}

cascade_status cascade_tokenizer_encode(const cascade_tokenizer *tok, const char *text,
                                        int32_t **ids, size_t *n_ids, cascade_error *err) {
    if (!ids || !n_ids)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "tokenizer_encode: NULL output");
    *ids = NULL;
    *n_ids = 0;
    if (!tok || !text)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "tokenizer_encode: NULL argument");
    cascade_id_buf         b = {0};
    cascade_status st = encode_body(tok, text, &b, err);
    /* _add_eos_if_not_present: a text that already ends in eos gets no second one. */
    if (!st && !(b.n > 0 && b.v[b.n - 1] == tok->eos_id))
        st = cascade_id_buf_push(&b, &tok->eos_id, 1, err);
    if (st) {
        free(b.v);
        return st;
    }
    *ids = b.v;
    *n_ids = b.n;
    return CASCADE_STATUS_OK;
}

/* transformers truncates the ids to max_length - 1 (room for eos) and then adds eos unless
 * the truncated ids end in one. For max_length 1 and a non-empty text it gives up on
 * truncating (and returns more than max_length ids); a fixed-size row holds [eos] instead. */
cascade_status cascade_tokenizer_encode_padded(const cascade_tokenizer *tok, const char *text,
                                               int32_t max_length, int32_t *ids, int32_t *mask,
                                               cascade_error *err) {
    if (!tok || !text || !ids || !mask)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "tokenizer_encode_padded: NULL argument");
    if (max_length < 1)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "tokenizer_encode_padded: max_length %d < 1", (int)max_length);
    cascade_id_buf         b = {0};
    cascade_status st = encode_body(tok, text, &b, err);
    if (st) {
        free(b.v);
        return st;
    }
    size_t keep = b.n;
    if (keep + 1 > (size_t)max_length) keep = (size_t)max_length - 1;
    size_t n = 0;
    for (; n < keep; n++) ids[n] = b.v[n];
    if (!(n > 0 && ids[n - 1] == tok->eos_id)) ids[n++] = tok->eos_id;
    free(b.v);
    for (size_t i = 0; i < (size_t)max_length; i++) {
        mask[i] = i < n;
        if (i >= n) ids[i] = tok->pad_id;
    }
    return CASCADE_STATUS_OK;
}

static cascade_status padded_row(const void *tok, const char *text, int32_t max_length,
                                 int32_t *ids, int32_t *mask, cascade_error *err) {
    return cascade_tokenizer_encode_padded(tok, text, max_length, ids, mask, err);
}

cascade_status cascade_tokenizer_encode_batch(const cascade_tokenizer *tok,
                                              const char *const *texts, size_t n,
                                              int32_t max_length, int32_t *ids, int32_t *mask,
                                              cascade_error *err) {
    return cascade_text_encode_rows(padded_row, tok, texts, n, max_length, ids, mask,
                                    "tokenizer_encode_batch", err);
}

/* ---- decoding ---- */

/* convert_tokens_to_string (SentencePiece decode, then str.strip()) and, when configured,
 * clean_up_tokenization, the English-punctuation space fix-ups transformers applies. */
cascade_status cascade_tokenizer_decode(const cascade_tokenizer *tok, const int32_t *ids,
                                        size_t n_ids, char **text, cascade_error *err) {
    if (!text)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG, "tokenizer_decode: NULL output");
    *text = NULL;
    if (!tok || (!ids && n_ids))
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "tokenizer_decode: NULL argument");
    const int32_t total = cascade_tokenizer_vocab_size(tok);
    int32_t      *keep = n_ids ? malloc(n_ids * sizeof *keep) : NULL;
    if (n_ids && !keep)
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "tokenizer_decode: no memory");
    size_t k = 0;
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || ids[i] >= total) {
            free(keep);
            return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                     "tokenizer_decode: id %d at position %zu is outside [0, %d)",
                                     (int)ids[i], i, (int)total);
        }
        if (tok->is_special[ids[i]]) continue; /* skip_special_tokens=True */
        /* A sentinel that is not special reaches SentencePiece as an unknown piece. */
        keep[k++] = ids[i] < tok->sp_size ? ids[i] : tok->unk_id;
    }
    char          *s = NULL;
    cascade_status st = cascade_spm_decode(tok->spm, keep, k, &s, err);
    free(keep);
    if (st) return st;
    const char *b = s, *e = s + strlen(s);
    cascade_text_py_lstrip(&b, e);
    cascade_text_py_rstrip(b, &e);
    memmove(s, b, (size_t)(e - b));
    s[e - b] = '\0';
    if (tok->clean_up) cascade_text_clean_up_spaces(s);
    *text = s;
    return CASCADE_STATUS_OK;
}
