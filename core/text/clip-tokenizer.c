/* Loading transformers 4.31's slow CLIPTokenizer from a tokenizer/ folder:
 *
 *   vocab.json               token -> id; ids must be 0 .. N-1, each once
 *   merges.txt               "#version" header, then "left right" per line, highest priority
 *                            first; only the first 48894 merges count (as CLIPTokenizer reads
 *                            them); every part and every merged token must be in vocab.json
 *   tokenizer_config.json    optional; special tokens, model_max_length, decode options
 *   special_tokens_map.json  optional; special tokens, applied after the config
 *
 * Special tokens (bos, eos, unk, sep, pad, cls, mask, additional ones, in transformers'
 * order) are never split; one missing from vocab.json gets the next id after it, as
 * sanitize_special_tokens adds it. Every JSON key is implemented, known to change nothing
 * in the slow tokenizer, or refused as UNSUPPORTED with its name. */
#include "clip-tokenizer-internal.h"

#include <json-glib/json-glib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io-json.h"

#define MAX_VOCAB (1 << 24) /* far above CLIP's 49408; keeps id arithmetic small */

/* Special-token slots in SPECIAL_TOKENS_ATTRIBUTES order; additional ones follow. */
enum { SLOT_BOS, SLOT_EOS, SLOT_UNK, SLOT_SEP, SLOT_PAD, SLOT_CLS, SLOT_MASK, N_SLOTS };
static const char *const slot_key[N_SLOTS] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                              "pad_token", "cls_token", "mask_token"};

typedef struct clip_conf {
    cascade_tok_def  slot[N_SLOTS];
    cascade_tok_def *additional;
    size_t           n_additional;
    int64_t          model_max_length;
    bool             clean_up;
    clip_errors      errors;
    JsonNode        *added_tokens_decoder; /* checked once the ids are known */
    char            *decoder_file;
} clip_conf;

static void clip_conf_clear(clip_conf *c) {
    for (int i = 0; i < N_SLOTS; i++) cascade_tok_def_clear(&c->slot[i]);
    for (size_t i = 0; i < c->n_additional; i++) cascade_tok_def_clear(&c->additional[i]);
    g_free(c->additional);
    if (c->added_tokens_decoder) json_node_unref(c->added_tokens_decoder);
    g_free(c->decoder_file);
}

gunichar cascade_clip_byte_char(int b) {
    if ((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae) return (gunichar)b;
    /* the 68 others, in byte order, from U+0100 */
    if (b <= 0x20) return 0x100 + (gunichar)b;
    if (b <= 0xa0) return 0x100 + 0x21 + (gunichar)(b - 0x7f);
    return 0x100 + 0x21 + 0x22; /* 0xad */
}

int32_t cascade_clip_token_id(const cascade_clip_tokenizer *tok, const char *text) {
    gpointer v = g_hash_table_lookup(tok->ids, text);
    return v ? GPOINTER_TO_INT(v) - 1 : tok->unk_id;
}

static bool is_string(JsonNode *n) {
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING;
}

static bool is_bool(JsonNode *n) {
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_BOOLEAN;
}

static cascade_status parse_additional(JsonNode *v, const char *path, clip_conf *c,
                                       cascade_error *err) {
    if (JSON_NODE_HOLDS_NULL(v)) return CASCADE_STATUS_OK;
    if (!JSON_NODE_HOLDS_ARRAY(v))
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: field 'additional_special_tokens': expected an array", path);
    JsonArray *a = json_node_get_array(v);
    guint      n = json_array_get_length(a);
    for (size_t i = 0; i < c->n_additional; i++) cascade_tok_def_clear(&c->additional[i]);
    g_free(c->additional);
    c->additional = g_new0(cascade_tok_def, n ? n : 1);
    c->n_additional = 0;
    for (guint i = 0; i < n; i++) {
        char field[64];
        snprintf(field, sizeof field, "additional_special_tokens[%u]", i);
        CASCADE_TRY(cascade_tok_def_parse(json_array_get_element(a, i), path, field,
                                          &c->additional[i], err));
        c->n_additional = i + 1;
    }
    return CASCADE_STATUS_OK;
}

/* One config key of tokenizer_config.json that is not a special token. */
static cascade_status parse_config_key(const char *k, JsonNode *v, const char *path, clip_conf *c,
                                       cascade_error *err) {
    gint64 n = 0;
    if (!strcmp(k, "model_max_length")) {
        if (cascade_io_json_get_int(v, &n) && n >= 1) {
            c->model_max_length = n > INT32_MAX ? INT32_MAX : n;
        } else if (JSON_NODE_HOLDS_VALUE(v) && json_node_get_value_type(v) == G_TYPE_DOUBLE &&
                   json_node_get_double(v) >= 1e18) {
            c->model_max_length = INT32_MAX; /* int(1e30): transformers' "no limit" */
        } else {
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: field 'model_max_length': expected a positive integer, "
                                     "got %s",
                                     path, cascade_io_json_kind(v));
        }
    } else if (!strcmp(k, "errors")) {
        const char *e = is_string(v) ? json_node_get_string(v) : "";
        if (!strcmp(e, "replace")) c->errors = CLIP_ERRORS_REPLACE;
        else if (!strcmp(e, "ignore")) c->errors = CLIP_ERRORS_IGNORE;
        else if (!strcmp(e, "strict")) c->errors = CLIP_ERRORS_STRICT;
        else
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "%s: field 'errors': only \"replace\", \"ignore\" and "
                                     "\"strict\" are implemented",
                                     path);
    } else if (!strcmp(k, "clean_up_tokenization_spaces")) {
        if (!is_bool(v))
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: field '%s': expected true or false", path, k);
        c->clean_up = json_node_get_boolean(v);
    } else if (!strcmp(k, "tokenizer_class")) {
        if (!is_string(v) || strncmp(json_node_get_string(v), "CLIPTokenizer", 13) != 0)
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                     "%s: field 'tokenizer_class': not a CLIPTokenizer", path);
    } else if (!strcmp(k, "do_lower_case") || !strcmp(k, "add_prefix_space")) {
        /* Written by the CLIP conversions; CLIPTokenizer keeps neither as an attribute, so
         * 4.31 lower-cases through BasicTokenizer either way and adds no prefix space. */
        if (!is_bool(v) && !JSON_NODE_HOLDS_NULL(v))
            return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                     "%s: field '%s': expected true or false", path, k);
    } else if (!strcmp(k, "added_tokens_decoder")) {
        if (c->added_tokens_decoder) json_node_unref(c->added_tokens_decoder);
        c->added_tokens_decoder = json_node_ref(v);
        g_free(c->decoder_file);
        c->decoder_file = g_strdup(path);
    } else {
        bool known = false;
        CASCADE_TRY(cascade_text_shared_key(k, v, path, &known, err));
        if (!known)
            return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "%s: unknown field '%s'",
                                     path, k);
    }
    return CASCADE_STATUS_OK;
}

/* tokenizer_config.json (is_config) or special_tokens_map.json into c; a missing file is
 * not an error. */
static cascade_status read_config(const char *path, bool is_config, clip_conf *c,
                                  cascade_error *err) {
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) return CASCADE_STATUS_OK;
    JsonParser    *parser = NULL;
    JsonNode      *root = NULL;
    cascade_status st = cascade_io_json_load_file(path, "tokenizer file", CASCADE_IO_JSON_BIG_INT,
                                                  &parser, &root, err);
    if (st) return st;
    JsonObject *obj = json_node_get_object(root);
    GList      *members = json_object_get_members(obj);
    for (GList *l = members; l && !st; l = l->next) {
        const char *k = l->data;
        JsonNode   *v = json_object_get_member(obj, k);
        int         slot = -1;
        for (int i = 0; i < N_SLOTS; i++)
            if (!strcmp(k, slot_key[i])) slot = i;
        if (slot >= 0) {
            if (JSON_NODE_HOLDS_NULL(v)) cascade_tok_def_clear(&c->slot[slot]);
            else st = cascade_tok_def_parse(v, path, k, &c->slot[slot], err);
        } else if (!strcmp(k, "additional_special_tokens")) {
            st = parse_additional(v, path, c, err);
        } else if (!is_config) {
            st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "%s: unknown field '%s'", path,
                                   k);
        } else {
            st = parse_config_key(k, v, path, c, err);
        }
    }
    g_list_free(members);
    g_object_unref(parser);
    return st;
}

static cascade_status read_vocab(cascade_clip_tokenizer *tok, const char *path,
                                 cascade_error *err) {
    JsonParser    *parser = NULL;
    JsonNode      *root = NULL;
    cascade_status st = cascade_io_json_load_file(path, "vocabulary", 0, &parser, &root, err);
    if (st) return st;
    JsonObject *obj = json_node_get_object(root);
    guint       n = json_object_get_size(obj);
    if (n == 0 || n > MAX_VOCAB) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: %u tokens (expected 1 to %d)",
                               path, n, MAX_VOCAB);
        goto done;
    }
    tok->tokens = g_new0(char *, n);
    tok->n_vocab = tok->n_ids = (int32_t)n;
    GList *members = json_object_get_members(obj);
    for (GList *l = members; l && !st; l = l->next) {
        const char *k = l->data;
        JsonNode   *v = json_object_get_member(obj, k);
        gint64      id = -1;
        if (!cascade_io_json_get_int(v, &id)) {
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: token '%s': id is %s, expected an integer", path, k,
                                   cascade_io_json_kind(v));
        } else if (id < 0 || id >= (gint64)n) {
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: token '%s': id %lld outside [0, %u) (ids must number the "
                                   "tokens from 0)",
                                   path, k, (long long)id, n);
        } else if (tok->tokens[id]) {
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: tokens '%s' and '%s' have the same id %lld", path,
                                   tok->tokens[id], k, (long long)id);
        } else {
            tok->tokens[id] = g_strdup(k);
            g_hash_table_insert(tok->ids, tok->tokens[id], GINT_TO_POINTER((int)id + 1));
        }
    }
    g_list_free(members);
done:
    g_object_unref(parser);
    return st;
}

/* Vocab id of text[0..len), -1 when absent. */
static int32_t vocab_id(const cascade_clip_tokenizer *tok, const char *text, size_t len) {
    char    *s = g_strndup(text, len);
    gpointer v = g_hash_table_lookup(tok->ids, s);
    g_free(s);
    return v ? GPOINTER_TO_INT(v) - 1 : -1;
}

/* The next field of a merges line (cut at Python whitespace, as str.split() does). */
static bool next_field(const char **p, const char *end, const char **f, size_t *flen) {
    while (*p < end && cascade_text_py_isspace(g_utf8_get_char(*p))) *p = g_utf8_next_char(*p);
    if (*p >= end) return false;
    *f = *p;
    while (*p < end && !cascade_text_py_isspace(g_utf8_get_char(*p))) *p = g_utf8_next_char(*p);
    *flen = (size_t)(*p - *f);
    return true;
}

static cascade_status parse_merge(cascade_clip_tokenizer *tok, const char *path, int line,
                                  const char *p, const char *end, cascade_error *err) {
    const char *f[3];
    size_t      fl[3];
    int         nf = 0;
    while (nf < 3 && next_field(&p, end, &f[nf], &fl[nf])) nf++;
    if (nf != 2)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s: line %d: expected two tokens 'left right'", path, line);
    char   *joined = g_strdup_printf("%.*s%.*s", (int)fl[0], f[0], (int)fl[1], f[1]);
    int32_t a = vocab_id(tok, f[0], fl[0]), b = vocab_id(tok, f[1], fl[1]);
    int32_t m = vocab_id(tok, joined, strlen(joined));
    cascade_status st = CASCADE_STATUS_OK;
    if (a < 0 || b < 0 || m < 0) {
        const int k = a < 0 ? 0 : 1;
        if (a < 0 || b < 0)
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: line %d: '%.*s' is not a token of vocab.json", path, line,
                                   (int)fl[k], f[k]);
        else
            st = cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                   "%s: line %d: the merged token '%s' is not in vocab.json",
                                   path, line, joined);
    }
    g_free(joined);
    if (st) return st;
    const int32_t rank = tok->n_merges++;
    tok->pair_keys[rank] = (gint64)a << 32 | (gint64)b;
    tok->merged[rank] = m;
    /* dict(zip(merges, range(...))): a pair listed twice keeps its last rank */
    g_hash_table_replace(tok->ranks, &tok->pair_keys[rank], GINT_TO_POINTER(rank + 1));
    return CASCADE_STATUS_OK;
}

/* merges_handle.read().strip().split("\n")[1 : 48895], one merge per line. */
static cascade_status read_merges(cascade_clip_tokenizer *tok, const char *path,
                                  cascade_error *err) {
    char  *text = NULL;
    size_t len = 0;
    CASCADE_TRY(cascade_io_read_file(path, &text, &len, err));
    cascade_status st = CASCADE_STATUS_OK;
    const char    *bad = NULL;
    if (!g_utf8_validate(text, (gssize)len, &bad)) {
        st = cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: not valid UTF-8 (byte %zu)", path,
                               (size_t)(bad - text));
        goto done;
    }
    const char *p = text, *end = text + len;
    cascade_text_py_lstrip(&p, end);
    cascade_text_py_rstrip(p, &end);
    tok->ranks = g_hash_table_new(g_int64_hash, g_int64_equal);
    tok->pair_keys = g_new0(gint64, CLIP_MAX_MERGES);
    tok->merged = g_new0(int32_t, CLIP_MAX_MERGES);
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    p = nl ? nl + 1 : end; /* the "#version" header */
    for (int line = 2; p < end && tok->n_merges < CLIP_MAX_MERGES && !st; line++) {
        nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        st = parse_merge(tok, path, line, p, eol, err);
        p = nl ? nl + 1 : end;
    }
done:
    g_free(text);
    return st;
}

/* Gives def its id (vocab.json's, else the next added one) and registers it as no-split. */
static cascade_status add_special(cascade_clip_tokenizer *tok, const cascade_tok_def *def,
                                  int32_t *id_out, cascade_error *err) {
    gpointer v = g_hash_table_lookup(tok->ids, def->content);
    int32_t  id = v ? GPOINTER_TO_INT(v) - 1 : -1;
    if (id < 0) {
        if (tok->n_ids >= MAX_VOCAB + 1024)
            return cascade_error_set(err, CASCADE_STATUS_FORMAT, "too many special tokens");
        id = tok->n_ids++;
        tok->tokens = g_renew(char *, tok->tokens, tok->n_ids);
        tok->tokens[id] = g_strdup(def->content);
        g_hash_table_insert(tok->ids, tok->tokens[id], GINT_TO_POINTER(id + 1));
    }
    bool listed = false;
    for (size_t i = 0; i < tok->n_specials; i++) listed |= tok->specials[i].id == id;
    if (!listed) {
        cascade_special_tok *s = &tok->specials[tok->n_specials++];
        s->text = g_strdup(def->content);
        s->len = strlen(def->content);
        s->id = id;
        s->lstrip = def->lstrip;
        s->rstrip = def->rstrip;
        tok->first_byte[(unsigned char)s->text[0]] = true;
    }
    if (id_out) *id_out = id;
    return CASCADE_STATUS_OK;
}

static cascade_status resolve_specials(cascade_clip_tokenizer *tok, const clip_conf *c,
                                       const char *dir, cascade_error *err) {
    static const int must[] = {SLOT_BOS, SLOT_EOS, SLOT_UNK};
    for (size_t i = 0; i < G_N_ELEMENTS(must); i++)
        if (!c->slot[must[i]].content)
            return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: no %s is set", dir,
                                     slot_key[must[i]]);
    /* _add_tokens never adds the unk token itself: it must be in the vocabulary. */
    if (!g_hash_table_contains(tok->ids, c->slot[SLOT_UNK].content))
        return cascade_error_set(err, CASCADE_STATUS_FORMAT,
                                 "%s/vocab.json: the unk token '%s' is not in it", dir,
                                 c->slot[SLOT_UNK].content);
    tok->unk_id = cascade_clip_token_id(tok, c->slot[SLOT_UNK].content);
    tok->pad_id = -1;
    tok->specials = g_new0(cascade_special_tok, N_SLOTS + c->n_additional);
    int32_t *slot_id[N_SLOTS] = {&tok->bos_id, &tok->eos_id, NULL, NULL, &tok->pad_id};
    for (int i = 0; i < N_SLOTS; i++)
        if (c->slot[i].content) CASCADE_TRY(add_special(tok, &c->slot[i], slot_id[i], err));
    for (size_t i = 0; i < c->n_additional; i++)
        CASCADE_TRY(add_special(tok, &c->additional[i], NULL, err));
    tok->is_special = g_new0(uint8_t, (size_t)tok->n_ids);
    for (size_t i = 0; i < tok->n_specials; i++) tok->is_special[tok->specials[i].id] = 1;
    return CASCADE_STATUS_OK;
}

static int32_t id_of_content(const void *t, const char *content) {
    const cascade_clip_tokenizer *tok = t;
    gpointer                      v = g_hash_table_lookup(tok->ids, content);
    return v ? GPOINTER_TO_INT(v) - 1 : -1;
}

static void byte_tables(cascade_clip_tokenizer *tok) {
    for (int i = 0; i < CLIP_BYTE_CHARS; i++) tok->byte_of[i] = -1;
    for (int b = 0; b < 256; b++) {
        gunichar u = cascade_clip_byte_char(b);
        char     s[16];
        int      n = g_unichar_to_utf8(u, s);
        tok->byte_of[u] = (int16_t)b;
        tok->byte_id[b] = vocab_id(tok, s, (size_t)n);
        memcpy(s + n, "</w>", 5);
        tok->byte_end_id[b] = vocab_id(tok, s, strlen(s));
    }
}

int cascade_clip_tokenizer_is_dir(const char *dir) {
    if (!dir) return 0;
    char      *cfg = g_build_filename(dir, "tokenizer_config.json", NULL);
    char      *vocab = g_build_filename(dir, "vocab.json", NULL);
    char      *merges = g_build_filename(dir, "merges.txt", NULL);
    JsonParser *parser = NULL;
    JsonNode  *root = NULL;
    int        yes = g_file_test(vocab, G_FILE_TEST_IS_REGULAR) &&
              g_file_test(merges, G_FILE_TEST_IS_REGULAR);
    if (g_file_test(cfg, G_FILE_TEST_IS_REGULAR) &&
        !cascade_io_json_load_file(cfg, "tokenizer file", CASCADE_IO_JSON_BIG_INT, &parser, &root,
                                   NULL)) {
        JsonNode *cls = json_object_get_member(json_node_get_object(root), "tokenizer_class");
        if (cls && is_string(cls))
            yes = !strncmp(json_node_get_string(cls), "CLIPTokenizer", 13);
        g_object_unref(parser);
    }
    g_free(cfg);
    g_free(vocab);
    g_free(merges);
    return yes;
}

cascade_status cascade_clip_tokenizer_load(const char *dir, cascade_clip_tokenizer **out,
                                           cascade_error *err) {
    if (!out)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "clip_tokenizer_load: out is NULL");
    *out = NULL;
    if (!dir || !*dir)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "clip_tokenizer_load: empty path");
    cascade_status          st = CASCADE_STATUS_OK;
    cascade_clip_tokenizer *tok = NULL;
    /* CLIPTokenizer.__init__'s defaults */
    clip_conf c = {.model_max_length = CASCADE_CLIP_TOKENIZER_DEFAULT_MAX_LENGTH,
                   .clean_up = true,
                   .errors = CLIP_ERRORS_REPLACE};
    char *vocab = g_build_filename(dir, "vocab.json", NULL);
    char *merges = g_build_filename(dir, "merges.txt", NULL);
    char *config = g_build_filename(dir, "tokenizer_config.json", NULL);
    char *map = g_build_filename(dir, "special_tokens_map.json", NULL);
    char *added = g_build_filename(dir, "added_tokens.json", NULL);
    c.slot[SLOT_BOS] = (cascade_tok_def){g_strdup("<|startoftext|>"), true, true};
    c.slot[SLOT_EOS] = (cascade_tok_def){g_strdup("<|endoftext|>"), true, true};
    c.slot[SLOT_UNK] = (cascade_tok_def){g_strdup("<|endoftext|>"), true, true};
    c.slot[SLOT_PAD] = (cascade_tok_def){g_strdup("<|endoftext|>"), true, true};

    const char *need[] = {vocab, merges};
    for (size_t i = 0; i < 2; i++) {
        if (!g_file_test(need[i], G_FILE_TEST_IS_REGULAR)) {
            st = cascade_error_set(err, CASCADE_STATUS_IO,
                                   "%s: no such file (a CLIP tokenizer needs vocab.json and "
                                   "merges.txt)",
                                   need[i]);
            goto fail;
        }
    }
    if (g_file_test(added, G_FILE_TEST_EXISTS)) {
        st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                               "%s: added tokens are not implemented", added);
        goto fail;
    }
    if ((st = read_config(config, true, &c, err)) || (st = read_config(map, false, &c, err)))
        goto fail;

    tok = g_new0(cascade_clip_tokenizer, 1);
    tok->ids = g_hash_table_new(g_str_hash, g_str_equal);
    tok->model_max_length = (int32_t)c.model_max_length;
    tok->clean_up = c.clean_up;
    tok->errors = c.errors;
    if ((st = read_vocab(tok, vocab, err)) || (st = read_merges(tok, merges, err)) ||
        (st = resolve_specials(tok, &c, dir, err)) || (st = cascade_text_check_added_decoder(c.added_tokens_decoder, c.decoder_file,
                                                  id_of_content, tok, err)))
        goto fail;
    byte_tables(tok);
    *out = tok;
    tok = NULL;
fail:
    cascade_clip_tokenizer_free(tok);
    clip_conf_clear(&c);
    g_free(vocab);
    g_free(merges);
    g_free(config);
    g_free(map);
    g_free(added);
    return st;
}

void cascade_clip_tokenizer_free(cascade_clip_tokenizer *tok) {
    if (!tok) return;
    if (tok->ids) g_hash_table_destroy(tok->ids);
    for (int32_t i = 0; tok->tokens && i < tok->n_ids; i++) g_free(tok->tokens[i]);
    g_free(tok->tokens);
    if (tok->ranks) g_hash_table_destroy(tok->ranks);
    g_free(tok->pair_keys);
    g_free(tok->merged);
    for (size_t i = 0; i < tok->n_specials; i++) g_free(tok->specials[i].text);
    g_free(tok->specials);
    g_free(tok->is_special);
    g_free(tok);
}

int32_t cascade_clip_tokenizer_vocab_size(const cascade_clip_tokenizer *tok) {
    return tok ? tok->n_ids : 0;
}
int32_t cascade_clip_tokenizer_bos_id(const cascade_clip_tokenizer *tok) {
    return tok ? tok->bos_id : -1;
}
int32_t cascade_clip_tokenizer_eos_id(const cascade_clip_tokenizer *tok) {
    return tok ? tok->eos_id : -1;
}
int32_t cascade_clip_tokenizer_pad_id(const cascade_clip_tokenizer *tok) {
    return tok ? tok->pad_id : -1;
}
int32_t cascade_clip_tokenizer_model_max_length(const cascade_clip_tokenizer *tok) {
    return tok ? tok->model_max_length : 0;
}
